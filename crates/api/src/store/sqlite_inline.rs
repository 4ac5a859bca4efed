//! [`RequestReads`] for SQLite, answered on the calling thread through rusqlite, and
//! [`HotWrites`], made through rusqlite on a blocking thread.
//!
//! sqlx runs each SQLite connection on a thread of its own: a query is a message to that thread
//! and its rows a message back, two thread wake-ups that cost several times the query itself (on
//! `GET /accounts/{id}/meters` they were over half of the server's CPU time). These reads touch a
//! few rows by key, so they run where they are asked, on connections of their own. In WAL mode
//! readers never wait for the writer, and every read sees everything committed before it began,
//! so a change a handler makes through sqlx is visible to the next request's reads here.
//!
//! A hot write's unit of work (a submission, a login's session, a rate-limit count: a few
//! statements and a commit) holds the database's one write lock: through sqlx that is a hop to
//! the connection's thread and back per statement while it is held, here one hop to a blocking
//! thread for all of it. A login used to make ten such hops, each waking a thread that took a
//! core from the password hashing.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, named_params};

use super::sql::request;
use super::{
    AccountMeters, AccountRecord, HotWrites, LinkedAccount, MeterRecord, NewReading, NewSession,
    ReadingRecord, RequestReads, SqliteStore, StoreResult, SubmissionBasis, UserRecord,
};

/// Idle read connections to one database file, opened on first need: at most as many as threads
/// that read at once, since a read never waits while it holds one.
pub struct InlineReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl InlineReads {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let connection = Connection::open(&self.path)?;
        // Readers wait only while SQLite recovers a WAL index after a crash.
        connection.busy_timeout(Duration::from_secs(10))?;
        connection.pragma_update(None, "query_only", true)?;
        Ok(connection)
    }

    /// Runs `read` on an idle connection (a new one when none is idle).
    fn read<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.open().map_err(driver_error)?,
        };
        let result = read(&connection).map_err(driver_error);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(connection);
        result
    }

    fn rows<T>(
        &self,
        sql: &str,
        params: &[(&str, &dyn rusqlite::ToSql)],
        row: fn(&Row) -> rusqlite::Result<T>,
    ) -> StoreResult<Vec<T>> {
        self.read(|connection| {
            connection
                .prepare_cached(sql)?
                .query_map(params, row)?
                .collect()
        })
    }

    fn row<T>(
        &self,
        sql: &str,
        params: &[(&str, &dyn rusqlite::ToSql)],
        row: fn(&Row) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        self.read(|connection| {
            connection
                .prepare_cached(sql)?
                .query_row(params, row)
                .optional()
        })
    }
}

/// A connection that writes, opened on first need; used only with the store's turn to write, so
/// never by two threads at once.
pub struct Writer {
    path: PathBuf,
    synchronous: &'static str,
    connection: Mutex<Option<Connection>>,
}

impl Writer {
    /// As the sqlx pool opens its connections: every commit waits for the disk
    /// (`synchronous = FULL`), so it survives a power cut.
    pub fn durable(path: PathBuf) -> Self {
        Self::new(path, "FULL")
    }

    /// For rate-limit counts: a commit does not wait for the disk (`synchronous = NORMAL`). A
    /// power cut may lose the last counts, never the database, and the next durable commit
    /// takes them to the disk with it (WAL is one file, synced whole).
    pub fn forgetful(path: PathBuf) -> Self {
        Self::new(path, "NORMAL")
    }

    fn new(path: PathBuf, synchronous: &'static str) -> Self {
        Self {
            path,
            synchronous,
            connection: Mutex::new(None),
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let connection = Connection::open(&self.path)?;
        connection.busy_timeout(Duration::from_secs(10))?;
        connection.pragma_update(None, "synchronous", self.synchronous)?;
        connection.pragma_update(None, "foreign_keys", true)?;
        Ok(connection)
    }

    /// Runs `work` in a transaction that holds the write lock from its start, and commits it.
    fn write<T>(
        &self,
        work: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        let mut slot = self
            .connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(self.open().map_err(driver_error)?);
        }
        let connection = slot.as_mut().expect("opened above");
        let unit = || {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let done = work(&tx)?;
            tx.commit()?;
            Ok(done)
        };
        unit().map_err(driver_error)
    }
}

impl SqliteStore {
    /// Runs `work` on `writer` in one hop to a blocking thread, in this process's turn to write.
    async fn in_one_hop<T: Send + 'static>(
        &self,
        writer: &Arc<Writer>,
        work: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let _turn = self.write_turn().await;
        let writer = Arc::clone(writer);
        tokio::task::spawn_blocking(move || writer.write(work))
            .await
            .map_err(|e| sqlx::Error::AnyDriverError(Box::new(e)))?
    }
}

#[async_trait::async_trait]
impl HotWrites for SqliteStore {
    async fn save_reading_if_unchanged(
        &self,
        reading: &NewReading,
        revision: i64,
    ) -> StoreResult<Option<ReadingRecord>> {
        let reading = reading.clone();
        self.in_one_hop(&self.durable, move |tx| {
            let moved = tx
                .prepare_cached(request::NEXT_REVISION)?
                .execute(named_params! {"$1": reading.meter_id, "$11": revision})?;
            if moved == 0 {
                return Ok(None);
            }
            tx.prepare_cached(request::SAVE_READING)?
                .query_row(
                    named_params! {
                        "$1": reading.meter_id,
                        "$2": reading.billing_month,
                        "$3": reading.value,
                        "$4": reading.taken_on,
                        "$5": reading.source.as_str(),
                        "$6": reading.submitted_by,
                        "$7": reading.consumption,
                        "$8": reading.rollover,
                        "$9": reading.confirmed_implausible,
                        "$10": reading.now,
                    },
                    self::reading,
                )
                .map(Some)
        })
        .await
    }

    async fn hit(&self, events: &[(&str, i64)], now: i64) -> StoreResult<Vec<(i64, i64)>> {
        let events: Vec<(String, i64)> = events
            .iter()
            .map(|&(key, window)| (key.to_owned(), window))
            .collect();
        self.in_one_hop(&self.counters, move |tx| {
            let mut count = tx.prepare_cached(request::COUNT_HIT)?;
            events
                .iter()
                .map(|(key, window)| {
                    count.query_row(named_params! {"$1": key, "$2": now, "$3": window}, |row| {
                        Ok((row.get(0)?, row.get(1)?))
                    })
                })
                .collect()
        })
        .await
    }

    async fn forgive_hit(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.in_one_hop(&self.counters, move |tx| {
            tx.prepare_cached(request::FORGIVE_HIT)?
                .execute(named_params! {"$1": key})
                .map(|_| ())
        })
        .await
    }

    async fn reset_hits(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.in_one_hop(&self.counters, move |tx| {
            tx.prepare_cached(request::RESET_HITS)?
                .execute(named_params! {"$1": key})
                .map(|_| ())
        })
        .await
    }

    async fn start_session(&self, session: &NewSession<'_>, forgiven: &str) -> StoreResult<i64> {
        let NewSession {
            user_id,
            remember,
            now,
            expires_at,
            ..
        } = *session;
        let (user_agent, ip) = (session.user_agent.to_owned(), session.ip.to_owned());
        let (refresh_hash, forgiven) = (session.refresh_hash.to_owned(), forgiven.to_owned());
        self.in_one_hop(&self.durable, move |tx| {
            tx.prepare_cached(request::RESET_HITS)?
                .execute(named_params! {"$1": forgiven})?;
            let id: i64 = tx.prepare_cached(request::INSERT_SESSION)?.query_row(
                named_params! {
                    "$1": user_id,
                    "$2": remember,
                    "$3": now,
                    "$4": expires_at,
                    "$5": user_agent,
                    "$6": ip,
                },
                |row| row.get(0),
            )?;
            tx.prepare_cached(request::INSERT_REFRESH_TOKEN)?
                .execute(named_params! {"$1": refresh_hash, "$2": id, "$3": now})?;
            Ok(id)
        })
        .await
    }
}

/// The user behind an access token, if its session is open at `now`.
fn session_user(
    connection: &Connection,
    user_id: i64,
    session_id: i64,
    now: i64,
) -> rusqlite::Result<Option<UserRecord>> {
    connection
        .prepare_cached(request::USER_IN_SESSION)?
        .query_row(
            named_params! {"$1": user_id, "$2": session_id, "$3": now},
            user,
        )
        .optional()
}

/// The account's meters and their recent readings, both from the snapshot of one transaction.
fn account_meters(
    snapshot: &Connection,
    user_id: i64,
    account_id: i64,
    month: &str,
) -> rusqlite::Result<AccountMeters> {
    let meters = snapshot
        .prepare_cached(request::METERS_OF_USER_ACCOUNT)?
        .query_map(named_params! {"$1": account_id, "$2": user_id}, meter)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if meters.is_empty() {
        return Ok(AccountMeters::default());
    }
    let readings = snapshot
        .prepare_cached(request::RECENT_READINGS)?
        .query_map(named_params! {"$1": account_id, "$2": month}, reading)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(AccountMeters { meters, readings })
}

fn driver_error(error: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::AnyDriverError(Box::new(error))
}

#[async_trait::async_trait]
impl RequestReads for SqliteStore {
    async fn user_in_session(
        &self,
        user_id: i64,
        session_id: i64,
        now: i64,
    ) -> StoreResult<Option<UserRecord>> {
        self.inline
            .read(|connection| session_user(connection, user_id, session_id, now))
    }

    async fn accounts_of_user(&self, user_id: i64) -> StoreResult<Vec<LinkedAccount>> {
        self.inline.rows(
            request::ACCOUNTS_OF_USER,
            named_params! {"$1": user_id},
            linked_account,
        )
    }

    async fn account_of_user(
        &self,
        user_id: i64,
        account_id: i64,
    ) -> StoreResult<Option<AccountRecord>> {
        self.inline.row(
            request::ACCOUNT_OF_USER,
            named_params! {"$1": account_id, "$2": user_id},
            account,
        )
    }

    async fn meters_of_user_account(
        &self,
        user_id: i64,
        account_id: i64,
        month: &str,
    ) -> StoreResult<AccountMeters> {
        self.inline.read(|connection| {
            let snapshot = connection.unchecked_transaction()?;
            account_meters(&snapshot, user_id, account_id, month)
        })
    }

    async fn meters_in_session(
        &self,
        user_id: i64,
        session_id: i64,
        now: i64,
        account_id: i64,
        month: &str,
    ) -> StoreResult<Option<(UserRecord, AccountMeters)>> {
        // Every read transaction takes and releases the WAL index's one mutex, which the
        // server's threads otherwise queue for: the session and the meters in one.
        self.inline.read(|connection| {
            let snapshot = connection.unchecked_transaction()?;
            let Some(user) = session_user(&snapshot, user_id, session_id, now)? else {
                return Ok(None);
            };
            let meters = account_meters(&snapshot, user_id, account_id, month)?;
            Ok(Some((user, meters)))
        })
    }

    async fn meter_of_user(&self, user_id: i64, meter_id: i64) -> StoreResult<Option<MeterRecord>> {
        self.inline.row(
            request::METER_OF_USER,
            named_params! {"$1": meter_id, "$2": user_id},
            meter,
        )
    }

    async fn meter_for_submission(
        &self,
        user_id: i64,
        meter_id: i64,
        month: &str,
    ) -> StoreResult<Option<SubmissionBasis>> {
        self.inline.row(
            request::METER_FOR_SUBMISSION,
            named_params! {"$1": meter_id, "$2": user_id, "$3": month},
            |row| {
                Ok(SubmissionBasis {
                    meter: meter(row)?,
                    previous_value: row.get(12)?,
                    previous_taken_on: row.get(13)?,
                    revision: row.get(14)?,
                })
            },
        )
    }

    async fn readings_of_meter(&self, meter_id: i64) -> StoreResult<Vec<ReadingRecord>> {
        self.inline.rows(
            request::READINGS_OF_METER,
            named_params! {"$1": meter_id},
            reading,
        )
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        self.inline
            .row(request::USER_BY_EMAIL, named_params! {"$1": email}, user)
    }
}

// Each mapper reads its row by position, in the order of its list of columns (the fields of its
// record); a test checks every query selects exactly those columns in that order.
#[cfg(test)]
const USER_COLUMNS: &[&str] = &[
    "id",
    "email",
    "full_name",
    "phone",
    "password_hash",
    "role",
    "email_confirmed_at",
    "token_version",
    "created_at",
];

fn user(row: &Row) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: row.get(0)?,
        email: row.get(1)?,
        full_name: row.get(2)?,
        phone: row.get(3)?,
        password_hash: row.get(4)?,
        role: row.get(5)?,
        email_confirmed_at: row.get(6)?,
        token_version: row.get(7)?,
        created_at: row.get(8)?,
    })
}

#[cfg(test)]
const LINKED_ACCOUNT_COLUMNS: &[&str] = &[
    "id",
    "number",
    "address",
    "status",
    "is_current",
    "created_at",
    "activated_at",
];

fn linked_account(row: &Row) -> rusqlite::Result<LinkedAccount> {
    Ok(LinkedAccount {
        id: row.get(0)?,
        number: row.get(1)?,
        address: row.get(2)?,
        status: row.get(3)?,
        is_current: row.get(4)?,
        created_at: row.get(5)?,
        activated_at: row.get(6)?,
    })
}

#[cfg(test)]
const ACCOUNT_COLUMNS: &[&str] = &[
    "id",
    "number",
    "address",
    "last_payment_kopecks",
    "last_payment_date",
];

fn account(row: &Row) -> rusqlite::Result<AccountRecord> {
    Ok(AccountRecord {
        id: row.get(0)?,
        number: row.get(1)?,
        address: row.get(2)?,
        last_payment_kopecks: row.get(3)?,
        last_payment_date: row.get(4)?,
    })
}

#[cfg(test)]
const METER_COLUMNS: &[&str] = &[
    "id",
    "account_id",
    "name",
    "kind",
    "serial_number",
    "place",
    "installed_on",
    "last_verification",
    "next_verification",
    "whole_digits",
    "decimals",
    "monthly_limit",
];

fn meter(row: &Row) -> rusqlite::Result<MeterRecord> {
    Ok(MeterRecord {
        id: row.get(0)?,
        account_id: row.get(1)?,
        name: row.get(2)?,
        kind: row.get(3)?,
        serial_number: row.get(4)?,
        place: row.get(5)?,
        installed_on: row.get(6)?,
        last_verification: row.get(7)?,
        next_verification: row.get(8)?,
        whole_digits: row.get(9)?,
        decimals: row.get(10)?,
        monthly_limit: row.get(11)?,
    })
}

#[cfg(test)]
const READING_COLUMNS: &[&str] = &[
    "id",
    "meter_id",
    "billing_month",
    "value",
    "taken_on",
    "source",
    "status",
    "reason",
    "consumption",
    "rollover",
    "updated_at",
];

fn reading(row: &Row) -> rusqlite::Result<ReadingRecord> {
    Ok(ReadingRecord {
        id: row.get(0)?,
        meter_id: row.get(1)?,
        billing_month: row.get(2)?,
        value: row.get(3)?,
        taken_on: row.get(4)?,
        source: row.get(5)?,
        status: row.get(6)?,
        reason: row.get(7)?,
        consumption: row.get(8)?,
        rollover: row.get(9)?,
        updated_at: row.get(10)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_query_selects_the_columns_its_mapper_reads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lk.sqlite3");
        crate::store::SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let connection = Connection::open(&path).unwrap();
        for (sql, columns) in [
            (request::USER_IN_SESSION, USER_COLUMNS),
            (request::USER_BY_EMAIL, USER_COLUMNS),
            (request::ACCOUNTS_OF_USER, LINKED_ACCOUNT_COLUMNS),
            (request::ACCOUNT_OF_USER, ACCOUNT_COLUMNS),
            (request::METERS_OF_USER_ACCOUNT, METER_COLUMNS),
            (request::METER_OF_USER, METER_COLUMNS),
            (request::RECENT_READINGS, READING_COLUMNS),
            (request::SAVE_READING, READING_COLUMNS),
            (
                request::METER_FOR_SUBMISSION,
                [
                    METER_COLUMNS,
                    &["previous_value", "previous_taken_on", "revision"],
                ]
                .concat()
                .as_slice(),
            ),
            (request::READINGS_OF_METER, READING_COLUMNS),
        ] {
            let statement = connection.prepare(sql).unwrap();
            assert_eq!(statement.column_names(), columns, "{sql}");
        }
    }
}
