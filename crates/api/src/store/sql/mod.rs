//! The SQL of both backends, written once. Both dialects take `$1` placeholders, `RETURNING`
//! and `ON CONFLICT`; the macro stamps the same bodies out for each concrete sqlx database, so
//! every query is type-checked against SQLite and PostgreSQL alike.

mod accounts;
mod applications;
mod identity;
pub(crate) mod request;

/// Every column of `MeterRecord`, of the meters `m`, as a literal that queries can `concat!`.
macro_rules! meter_columns {
    () => {
        "m.id, m.account_id, m.name, m.kind, m.serial_number, m.place, m.installed_on, \
         m.last_verification, m.next_verification, m.whole_digits, m.decimals, m.monthly_limit"
    };
}

/// The `SELECT` of every column of `MeterRecord`, as a literal that queries can `concat!` to.
macro_rules! select_meters {
    () => {
        concat!(
            "SELECT ",
            $crate::store::sql::meter_columns!(),
            " FROM meters m"
        )
    };
}

/// The `SELECT` of every column of `ReadingRecord`, as a literal that queries can `concat!` to.
macro_rules! select_readings {
    () => {
        "SELECT r.id, r.meter_id, r.billing_month, r.value, r.taken_on, r.source, r.status, \
         r.reason, r.consumption, r.rollover, r.updated_at FROM readings r"
    };
}

pub(crate) use {meter_columns, select_meters, select_readings};

pub(crate) use accounts::accounts_sql;
pub(crate) use applications::applications_sql;
pub(crate) use identity::identity_sql;

/// The structs and the `Store`/`Tx` impls of one backend, with every area's queries.
macro_rules! sql_backend {
    ($store:ident, $tx:ident, $db:ty) => {
        pub struct $tx {
            tx: sqlx::Transaction<'static, $db>,
            /// The backend's turn to write, if it hands them out (SQLite); given back after
            /// the transaction ends.
            _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
        }

        #[async_trait::async_trait]
        impl crate::store::Store for $store {
            fn backend(&self) -> &'static str {
                Self::BACKEND
            }

            async fn ping(&self) -> crate::store::StoreResult<()> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map(|_| ())
            }

            async fn begin(&self) -> crate::store::StoreResult<Box<dyn crate::store::Tx>> {
                let (tx, turn) = self.begin_write().await?;
                Ok(Box::new($tx { tx, _turn: turn }))
            }
        }

        #[async_trait::async_trait]
        impl crate::store::Tx for $tx {
            async fn commit(self: Box<Self>) -> crate::store::StoreResult<()> {
                self.tx.commit().await
            }
        }

        crate::store::sql::identity_sql!($store, $tx, $db);
        crate::store::sql::accounts_sql!($store, $tx, $db);
        crate::store::sql::applications_sql!($store, $tx, $db);
    };
}

pub(crate) use sql_backend;

/// Values per `IN (…)` list and rows per multi-row `INSERT` in bulk statements: far below the
/// bind limits of SQLite (32,766) and PostgreSQL (65,535), large enough that round trips vanish.
pub(crate) const CHUNK: usize = 1000;

/// Placeholders for bulk statements. PostgreSQL takes only `$1, $2, …`; SQLite takes those too,
/// but looks each `$N` up by name in a list when binding, which is quadratic in a statement with
/// thousands of them, so bulk statements give it plain `?` (bound by position).
pub(crate) fn placeholders(numbered: bool, count: usize) -> String {
    value_rows(numbered, 1, &vec!["?"; count])[1..]
        .trim_end_matches(')')
        .to_owned()
}

/// The rows of a multi-row `VALUES`: `rows` times `(…)` with the items of `row`, where each `?`
/// is a placeholder (numbered on from `$1` when `numbered`) and anything else is SQL as it is.
pub(crate) fn value_rows(numbered: bool, rows: usize, row: &[&str]) -> String {
    let mut out = String::with_capacity(rows * row.len() * 7);
    let mut n = 0;
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for (i, item) in row.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if *item == "?" && numbered {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            } else {
                out.push_str(item);
            }
        }
        out.push(')');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_number_rows_in_order() {
        assert_eq!(super::placeholders(true, 2), "$1, $2");
        assert_eq!(super::placeholders(false, 2), "?, ?");
        assert_eq!(
            super::value_rows(true, 2, &["?", "'x'", "?"]),
            "($1, 'x', $2), ($3, 'x', $4)"
        );
        assert_eq!(super::value_rows(false, 1, &["?", "0"]), "(?, 0)");
    }
}
