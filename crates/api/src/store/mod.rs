//! Persistence behind two traits: [`Store`] for reads and single-statement writes, and [`Tx`] for
//! a unit of work that commits as a whole (a change together with the e-mail it causes). SQLite
//! and PostgreSQL implement both from one body of SQL (`sql.rs`); the URL scheme picks one.

mod accounts;
mod applications;
mod postgres;
mod sql;
mod sqlite;
mod sqlite_inline;

use std::sync::Arc;

use async_trait::async_trait;

pub use accounts::*;
pub use applications::*;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

pub type StoreResult<T> = Result<T, sqlx::Error>;

/// Opens the database named by `url` and brings its schema up to date.
pub async fn connect(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else {
        let scheme = url.split(':').next().unwrap_or_default();
        anyhow::bail!(
            "DATABASE_URL has an unsupported scheme {scheme:?}: use sqlite://path or postgres://…"
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Customer,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Operator => "operator",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "customer" => Some(Self::Customer),
            "operator" => Some(Self::Operator),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub phone: String,
    pub password_hash: String,
    pub role: String,
    pub email_confirmed_at: Option<i64>,
    pub token_version: i64,
    pub created_at: i64,
}

impl UserRecord {
    pub fn role(&self) -> Role {
        Role::parse(&self.role).unwrap_or(Role::Customer)
    }
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub full_name: &'a str,
    pub phone: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub confirmed: bool,
    pub consent_version: &'a str,
    pub now: i64,
}

/// What a one-time e-mailed token is for; a token works only for its own purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    ConfirmEmail,
    ResetPassword,
    ChangeEmail,
    ActivateAccount,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConfirmEmail => "confirm_email",
            Self::ResetPassword => "reset_password",
            Self::ChangeEmail => "change_email",
            Self::ActivateAccount => "activate_account",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub payload: Option<String>,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOutcome {
    /// The token was valid and is now used up.
    Taken {
        user_id: i64,
        payload: Option<String>,
    },
    Expired,
    /// Used before: by its own link, or discarded by a later change (see `discard_tokens`).
    Used,
    /// Unknown, or meant for another purpose.
    Invalid,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRecord {
    pub id: i64,
    pub user_id: i64,
    pub remember: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    pub user_agent: String,
    pub ip: String,
}

pub struct NewSession<'a> {
    pub user_id: i64,
    pub remember: bool,
    pub now: i64,
    pub expires_at: i64,
    pub user_agent: &'a str,
    pub ip: &'a str,
    pub refresh_hash: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    Rotated {
        session_id: i64,
        user_id: i64,
        remember: bool,
        expires_at: i64,
    },
    /// The token had been used before: the session is now revoked.
    Reused,
    /// Unknown token, or its session ended or expired.
    Invalid,
}

/// A message as it will be sent; written to the outbox in the transaction that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// The recipient in its ASCII (punycode) form.
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxRecord {
    pub id: i64,
    pub message_id: String,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attempts: i64,
}

/// The database: reads and single-statement writes, and units of work.
#[async_trait]
pub trait Store:
    RequestReads + HotWrites + IdentityStore + AccountStore + ApplicationStore + Send + Sync + 'static
{
    /// Which backend this is, for logs and `/readyz`.
    fn backend(&self) -> &'static str;
    async fn ping(&self) -> StoreResult<()>;
    /// Starts a unit of work that holds the write lock (SQLite) until it commits.
    async fn begin(&self) -> StoreResult<Box<dyn Tx>>;
}

/// The reads on the path of nearly every customer request: who is signed in, their accounts, an
/// account's meters and their readings. Apart from the rest because SQLite answers them on the
/// calling thread (`sqlite::InlineReads`): through sqlx each query is a hop to its connection
/// thread and back, which costs several times the query itself. The SQL is `sql::request`.
#[async_trait]
pub trait RequestReads: Send + Sync {
    /// The user behind an access token, if its session is still open at `now`.
    async fn user_in_session(
        &self,
        user_id: i64,
        session_id: i64,
        now: i64,
    ) -> StoreResult<Option<UserRecord>>;
    async fn accounts_of_user(&self, user_id: i64) -> StoreResult<Vec<LinkedAccount>>;
    /// The account if the user has an active link to it.
    async fn account_of_user(
        &self,
        user_id: i64,
        account_id: i64,
    ) -> StoreResult<Option<AccountRecord>>;
    /// The meters of the account if the user has an active link to it, each with its reading of
    /// `month` and its latest one before it: no meters both when it has none and when it is not
    /// theirs (`account_of_user` tells which).
    async fn meters_of_user_account(
        &self,
        user_id: i64,
        account_id: i64,
        month: &str,
    ) -> StoreResult<AccountMeters>;
    /// `meters_of_user_account` for the user behind an access token, whose session is read as
    /// `user_in_session` reads it; `None` when it is not open. SQLite reads both at once.
    async fn meters_in_session(
        &self,
        user_id: i64,
        session_id: i64,
        now: i64,
        account_id: i64,
        month: &str,
    ) -> StoreResult<Option<(UserRecord, AccountMeters)>> {
        let Some(user) = self.user_in_session(user_id, session_id, now).await? else {
            return Ok(None);
        };
        let meters = self
            .meters_of_user_account(user_id, account_id, month)
            .await?;
        Ok(Some((user, meters)))
    }
    /// The meter if it belongs to an account the user has an active link to.
    async fn meter_of_user(&self, user_id: i64, meter_id: i64) -> StoreResult<Option<MeterRecord>>;
    /// `meter_of_user` with what a reading of `month` is decided against.
    async fn meter_for_submission(
        &self,
        user_id: i64,
        meter_id: i64,
        month: &str,
    ) -> StoreResult<Option<SubmissionBasis>>;
    /// Newest month first.
    async fn readings_of_meter(&self, meter_id: i64) -> StoreResult<Vec<ReadingRecord>>;
    /// The user signing in (or the like) with this normalised address.
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
}

/// The writes on the path of the busiest requests: a reading's submission, a rate-limit count,
/// a new session. Apart from the rest because each backend makes them its own fastest way:
/// SQLite each in one hop to a blocking thread (`sqlite_inline`), PostgreSQL in as few round
/// trips as it can. The SQL is `sql::request`.
#[async_trait]
pub trait HotWrites: Send + Sync {
    /// Saves the reading of its month (replacing an earlier one) if its meter is still at
    /// `revision` (see `SubmissionBasis`), and moves the meter to the next revision; `None` when
    /// something changed the meter or its readings since it was read.
    async fn save_reading_if_unchanged(
        &self,
        reading: &NewReading,
        revision: i64,
    ) -> StoreResult<Option<ReadingRecord>>;

    /// Counts one event against each `(key, window_secs)`, each in its fixed window, in one
    /// transaction, and returns each key's count so far and its window's start, in order.
    async fn hit(&self, events: &[(&str, i64)], now: i64) -> StoreResult<Vec<(i64, i64)>>;
    /// Takes back one event counted against `key` (an attempt that turned out right).
    async fn forgive_hit(&self, key: &str) -> StoreResult<()>;
    async fn reset_hits(&self, key: &str) -> StoreResult<()>;

    /// Opens a session with its first refresh token and forgets the events counted against
    /// `forgiven` (the wrong guesses before a right password), in one unit of work.
    async fn start_session(&self, session: &NewSession<'_>, forgiven: &str) -> StoreResult<i64>;
}

/// A unit of work: nothing of it is visible to others, or kept, until `commit`.
#[async_trait]
pub trait Tx: IdentityTx + AccountTx + ApplicationTx + Send {
    async fn commit(self: Box<Self>) -> StoreResult<()>;
}

/// Users, sessions, rate-limit counters and the outbox, outside a unit of work.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    async fn user_by_id(&self, id: i64) -> StoreResult<Option<UserRecord>>;
    async fn open_sessions(&self, user_id: i64, now: i64) -> StoreResult<Vec<SessionRecord>>;
    /// Deletes what no request can use any more: rate-limit counters whose window started
    /// before `counters_before`; one-time tokens, sessions (with their refresh tokens) and sent
    /// or abandoned mail that expired, ended or left before `records_before`. Returns the
    /// number of rows deleted.
    async fn purge_stale(&self, counters_before: i64, records_before: i64) -> StoreResult<u64>;

    /// Takes the oldest due message for `lock_secs`, so that no other sender takes it meanwhile.
    async fn claim_mail(&self, now: i64, lock_secs: i64) -> StoreResult<Option<OutboxRecord>>;
    async fn mail_sent(&self, id: i64, now: i64) -> StoreResult<()>;
    /// Records a failed attempt; `retry_at` `None` means the sender gives up on the message.
    async fn mail_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
        now: i64,
    ) -> StoreResult<()>;
    /// Messages not yet sent nor given up on.
    async fn pending_mail(&self) -> StoreResult<i64>;
}

/// Users, tokens, sessions and the outbox, inside a unit of work.
#[async_trait]
pub trait IdentityTx: Send {
    /// Forgets the events counted against `key` (see `IdentityStore::hit`).
    async fn reset_hits(&mut self, key: &str) -> StoreResult<()>;
    async fn user_by_email(&mut self, email: &str) -> StoreResult<Option<UserRecord>>;
    async fn user_by_id(&mut self, id: i64) -> StoreResult<Option<UserRecord>>;
    /// Fails with a unique violation when the e-mail is taken.
    async fn insert_user(&mut self, user: &NewUser<'_>) -> StoreResult<i64>;
    async fn confirm_email(&mut self, user_id: i64, now: i64) -> StoreResult<()>;
    async fn update_profile(
        &mut self,
        user_id: i64,
        full_name: &str,
        phone: &str,
        now: i64,
    ) -> StoreResult<()>;
    /// Sets the password and invalidates every access token issued before.
    async fn set_password(&mut self, user_id: i64, hash: &str, now: i64) -> StoreResult<()>;
    /// Sets the e-mail (which confirms it); a unique violation when another user has it.
    async fn set_email(&mut self, user_id: i64, email: &str, now: i64) -> StoreResult<()>;

    async fn insert_token(
        &mut self,
        user_id: i64,
        purpose: TokenPurpose,
        token_hash: &str,
        payload: Option<&str>,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<()>;
    /// Uses a token up if it is valid for `purpose` at `now`.
    async fn take_token(
        &mut self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: i64,
    ) -> StoreResult<TokenOutcome>;
    /// Uses up every unused token of the user for `purpose`: links mailed before a password or
    /// an address changed must not outlive the change.
    async fn discard_tokens(
        &mut self,
        user_id: i64,
        purpose: TokenPurpose,
        now: i64,
    ) -> StoreResult<()>;

    async fn create_session(&mut self, session: &NewSession<'_>) -> StoreResult<i64>;
    /// Replaces a refresh token with a new one; a reused token revokes its session.
    async fn rotate_refresh(
        &mut self,
        old_hash: &str,
        new_hash: &str,
        now: i64,
    ) -> StoreResult<RefreshOutcome>;
    /// Ends one of the user's sessions; false when it is not theirs or already ended.
    async fn revoke_session(
        &mut self,
        user_id: i64,
        session_id: i64,
        now: i64,
    ) -> StoreResult<bool>;
    /// Ends the open session a refresh token (current or used) belongs to; false when none.
    async fn revoke_session_of_refresh(&mut self, token_hash: &str, now: i64) -> StoreResult<bool>;
    /// Ends every session of the user but `keep`.
    async fn revoke_other_sessions(
        &mut self,
        user_id: i64,
        keep: Option<i64>,
        now: i64,
    ) -> StoreResult<()>;

    async fn enqueue_mail(&mut self, mail: &OutgoingMail, now: i64) -> StoreResult<()>;
}

/// True when the error is a violated unique constraint, on either backend.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}
