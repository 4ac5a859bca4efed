//! Personal accounts, their links to users, meters, readings and API keys.

use async_trait::async_trait;

use super::StoreResult;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AccountRecord {
    pub id: i64,
    pub number: String,
    pub address: String,
    pub last_payment_kopecks: Option<i64>,
    pub last_payment_date: Option<String>,
}

/// An account as one user sees it in «Мои лицевые счета».
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkedAccount {
    pub id: i64,
    pub number: String,
    pub address: String,
    /// `pending` until the activation link is used, then `active`.
    pub status: String,
    pub is_current: i64,
    pub created_at: i64,
    pub activated_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MeterRecord {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub kind: String,
    pub serial_number: String,
    pub place: String,
    pub installed_on: Option<String>,
    pub last_verification: Option<String>,
    pub next_verification: Option<String>,
    pub whole_digits: i64,
    pub decimals: i64,
    /// Thousandths per month; `None` means the default of the meter's kind.
    pub monthly_limit: Option<i64>,
}

/// An account's meters and, for each, its reading of a month and its latest one before it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountMeters {
    pub meters: Vec<MeterRecord>,
    pub readings: Vec<ReadingRecord>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadingSource {
    Customer,
    Operator,
    Billing,
}

impl ReadingSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Operator => "operator",
            Self::Billing => "billing",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReadingRecord {
    pub id: i64,
    pub meter_id: i64,
    pub billing_month: String,
    /// Thousandths.
    pub value: i64,
    pub taken_on: String,
    pub source: String,
    pub status: String,
    pub reason: Option<String>,
    pub consumption: Option<i64>,
    pub rollover: i64,
    pub updated_at: i64,
}

/// What a submission is decided against: the meter, its previous reading, and the revision they
/// were read at (the reading is saved only if the meter is still at it).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SubmissionBasis {
    #[sqlx(flatten)]
    pub meter: MeterRecord,
    /// Thousandths; `None` when the meter has no reading of an earlier month.
    pub previous_value: Option<i64>,
    pub previous_taken_on: Option<String>,
    pub revision: i64,
}

/// A reading a customer or an operator submits.
/// Owned, so that a backend can hand it to a thread of its own (SQLite's writer).
#[derive(Debug, Clone)]
pub struct NewReading {
    pub meter_id: i64,
    pub billing_month: String,
    pub value: i64,
    pub taken_on: String,
    pub source: ReadingSource,
    pub submitted_by: i64,
    pub consumption: Option<i64>,
    pub rollover: bool,
    pub confirmed_implausible: bool,
    pub now: i64,
}

/// A submitted reading as integrators take it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ExportedReading {
    pub export_seq: i64,
    pub id: i64,
    pub account_number: String,
    pub meter_id: i64,
    pub meter_name: String,
    pub serial_number: String,
    pub billing_month: String,
    pub value: i64,
    pub decimals: i64,
    pub taken_on: String,
    pub source: String,
    pub status: String,
    /// Thousandths since the previous reading.
    pub consumption: Option<i64>,
    pub rollover: i64,
    pub confirmed_implausible: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictOutcome {
    Recorded,
    /// No submitted reading has the id.
    NotFound,
    /// The reading was replaced after the export the verdict was about.
    Replaced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created,
    Updated,
    Unchanged,
}

/// An account as billing describes it.
pub struct AccountData<'a> {
    pub number: &'a str,
    pub address: &'a str,
    pub last_payment_kopecks: Option<i64>,
    pub last_payment_date: Option<&'a str>,
}

/// A meter as billing describes it; billing knows it by account and name (ГВС1 …).
pub struct MeterData<'a> {
    pub account_id: i64,
    pub name: &'a str,
    pub kind: &'a str,
    pub serial_number: &'a str,
    pub place: &'a str,
    pub installed_on: Option<&'a str>,
    pub last_verification: Option<&'a str>,
    pub next_verification: Option<&'a str>,
    pub whole_digits: i64,
    pub decimals: i64,
}

/// A reading billing has taken. Kept as values, not text: an import has tens of millions, and
/// their text is written only when their statement is built.
#[derive(Debug, Clone, Copy)]
pub struct BillingReading {
    pub meter_id: i64,
    pub billing_month: domain::BillingMonth,
    pub value: i64,
    pub taken_on: time::Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkRequest {
    /// A pending link exists now (new or again).
    Pending,
    /// The user has this account already.
    AlreadyActive,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRecord {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

/// A user linked to an account, as operators see them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountHolder {
    pub user_id: i64,
    pub full_name: String,
    pub email: String,
    pub phone: String,
    pub status: String,
    pub created_at: i64,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Everyone who linked the account (or asked to), oldest link first.
    async fn holders_of_account(&self, account_id: i64) -> StoreResult<Vec<AccountHolder>>;
    async fn account_by_number(&self, number: &str) -> StoreResult<Option<AccountRecord>>;
    async fn meters_of_account(&self, account_id: i64) -> StoreResult<Vec<MeterRecord>>;
    /// Customer and operator readings saved after the export cursor, in cursor order.
    async fn exported_readings(&self, after: i64, limit: i64) -> StoreResult<Vec<ExportedReading>>;
    /// An active API key by the hash of its secret.
    async fn api_key_by_hash(&self, hash: &str) -> StoreResult<Option<ApiKeyRecord>>;
    async fn api_keys(&self) -> StoreResult<Vec<ApiKeyRecord>>;
}

#[async_trait]
pub trait AccountTx: Send {
    async fn request_link(
        &mut self,
        user_id: i64,
        account_id: i64,
        now: i64,
    ) -> StoreResult<LinkRequest>;
    /// Activates a pending link; it becomes the current account if the user has none.
    async fn activate_link(&mut self, user_id: i64, account_id: i64, now: i64)
    -> StoreResult<bool>;
    /// Removes a link; another active one becomes current if this one was.
    async fn unlink(&mut self, user_id: i64, account_id: i64) -> StoreResult<bool>;
    async fn set_current_account(&mut self, user_id: i64, account_id: i64) -> StoreResult<bool>;

    /// Billing's verdict on a submitted reading; with `exported_as`, only if the reading still
    /// has that export number (it gets a new one when its month's reading is replaced).
    async fn set_reading_status(
        &mut self,
        id: i64,
        exported_as: Option<i64>,
        status: &str,
        reason: Option<&str>,
        now: i64,
    ) -> StoreResult<VerdictOutcome>;

    // Billing data in bulk (`integration::apply`): the rows of many accounts in few statements.
    /// The accounts with these numbers.
    async fn accounts_by_numbers(&mut self, numbers: &[&str]) -> StoreResult<Vec<AccountRecord>>;
    /// Inserts new accounts; returns the id and number of each.
    async fn insert_accounts(
        &mut self,
        accounts: &[AccountData<'_>],
        now: i64,
    ) -> StoreResult<Vec<(i64, String)>>;
    async fn update_account(
        &mut self,
        id: i64,
        account: &AccountData<'_>,
        now: i64,
    ) -> StoreResult<()>;
    /// The meters of these accounts.
    async fn meters_of_accounts(&mut self, account_ids: &[i64]) -> StoreResult<Vec<MeterRecord>>;
    /// Inserts new meters; returns the id, account id and name of each.
    async fn insert_meters(
        &mut self,
        meters: &[MeterData<'_>],
        now: i64,
    ) -> StoreResult<Vec<(i64, i64, String)>>;
    /// Changes a meter's data and raises its revision (see `SubmissionBasis`).
    async fn update_meter(&mut self, id: i64, meter: &MeterData<'_>, now: i64) -> StoreResult<()>;
    /// Raises the revision of these meters (see `SubmissionBasis`): their readings changed.
    async fn readings_changed(&mut self, meter_ids: &[i64]) -> StoreResult<()>;
    /// Every reading of these meters.
    async fn readings_of_meters(&mut self, meter_ids: &[i64]) -> StoreResult<Vec<ReadingRecord>>;
    /// Inserts readings billing has taken (accepted, from billing); none may exist yet.
    async fn insert_billing_readings(
        &mut self,
        readings: &[BillingReading],
        now: i64,
    ) -> StoreResult<()>;
    /// Billing took a submitted reading with the same value: it is accepted and stays as it was.
    async fn accept_reading(&mut self, id: i64, now: i64) -> StoreResult<()>;
    /// Billing's own value replaces the reading of its month.
    async fn replace_with_billing_reading(
        &mut self,
        id: i64,
        reading: &BillingReading,
        now: i64,
    ) -> StoreResult<()>;

    async fn insert_api_key(&mut self, name: &str, key_hash: &str, now: i64) -> StoreResult<i64>;
    async fn revoke_api_key(&mut self, name: &str, now: i64) -> StoreResult<bool>;
}
