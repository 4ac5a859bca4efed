//! Applications about meters, their files, and the audit log of meter corrections.

use async_trait::async_trait;

use super::{MeterRecord, StoreResult};

/// An application with what its readers need to see next to it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ApplicationRecord {
    pub id: i64,
    pub user_id: i64,
    pub meter_id: i64,
    pub text: String,
    /// `new`, `in_progress`, `answered` or `closed`.
    pub status: String,
    pub operator_id: Option<i64>,
    pub answer: Option<String>,
    pub answered_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub meter_name: String,
    pub serial_number: String,
    pub account_number: String,
    pub customer_name: String,
    pub customer_email: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AttachmentInfo {
    pub id: i64,
    pub application_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttachmentFile {
    pub file_name: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

pub struct NewAttachment<'a> {
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub sha256: &'a str,
    pub data: &'a [u8],
}

/// One corrected field of a meter: who, when, old and new value.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MeterChange {
    pub id: i64,
    pub meter_id: i64,
    pub operator_id: i64,
    pub operator_name: String,
    pub application_id: Option<i64>,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub changed_at: i64,
}

/// Meter data an operator may correct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterCorrection {
    pub serial_number: String,
    pub installed_on: Option<String>,
    pub last_verification: Option<String>,
    pub next_verification: Option<String>,
}

#[async_trait]
pub trait ApplicationStore: Send + Sync {
    /// Newest first.
    async fn applications_of_user(&self, user_id: i64) -> StoreResult<Vec<ApplicationRecord>>;
    async fn application_of_user(
        &self,
        user_id: i64,
        id: i64,
    ) -> StoreResult<Option<ApplicationRecord>>;
    async fn application(&self, id: i64) -> StoreResult<Option<ApplicationRecord>>;
    /// The operators' queue, oldest first, optionally of one status.
    async fn application_queue(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<ApplicationRecord>>;
    /// The files of these applications, in the order they were attached (one query per
    /// thousand applications, however many there are).
    async fn attachments_of(&self, application_ids: &[i64]) -> StoreResult<Vec<AttachmentInfo>>;
    async fn attachment(
        &self,
        application_id: i64,
        attachment_id: i64,
    ) -> StoreResult<Option<AttachmentFile>>;
    async fn meter(&self, meter_id: i64) -> StoreResult<Option<MeterRecord>>;
    /// Newest first.
    async fn meter_changes(&self, meter_id: i64) -> StoreResult<Vec<MeterChange>>;
}

#[async_trait]
pub trait ApplicationTx: Send {
    async fn application_by_id(&mut self, id: i64) -> StoreResult<Option<ApplicationRecord>>;
    async fn insert_application(
        &mut self,
        user_id: i64,
        meter_id: i64,
        text: &str,
        now: i64,
    ) -> StoreResult<i64>;
    async fn insert_attachment(
        &mut self,
        application_id: i64,
        file: &NewAttachment<'_>,
        now: i64,
    ) -> StoreResult<i64>;
    /// Moves an application to `status` if it is in one of `from`; false otherwise.
    async fn move_application(
        &mut self,
        id: i64,
        from: &[&str],
        status: &str,
        operator_id: i64,
        now: i64,
    ) -> StoreResult<bool>;
    async fn answer_application(
        &mut self,
        id: i64,
        operator_id: i64,
        answer: &str,
        now: i64,
    ) -> StoreResult<bool>;
    async fn meter_for_update(&mut self, meter_id: i64) -> StoreResult<Option<MeterRecord>>;
    async fn correct_meter(
        &mut self,
        meter_id: i64,
        correction: &MeterCorrection,
        now: i64,
    ) -> StoreResult<()>;
    #[allow(clippy::too_many_arguments)]
    async fn record_meter_change(
        &mut self,
        meter_id: i64,
        operator_id: i64,
        application_id: Option<i64>,
        field: &str,
        old_value: Option<&str>,
        new_value: Option<&str>,
        now: i64,
    ) -> StoreResult<()>;
}
