use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::sql::{request, sql_backend};
use super::{
    AccountMeters, AccountRecord, LinkedAccount, MeterRecord, NewReading, NewSession,
    ReadingRecord, Store as _, StoreResult, SubmissionBasis, UserRecord,
};

/// The production backend: several API instances may share one database.
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    const BACKEND: &'static str = "postgres";
    /// PostgreSQL numbers its placeholders.
    const NUMBERED: bool = true;

    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        // Migrations take an advisory lock, so instances starting together apply them once.
        sqlx::migrate!("../../migrations/postgres")
            .run(&pool)
            .await?;
        Ok(Self { pool })
    }

    /// Writers need no turns: PostgreSQL locks rows.
    async fn begin_write(
        &self,
    ) -> sqlx::Result<(
        sqlx::Transaction<'static, Postgres>,
        Option<tokio::sync::OwnedMutexGuard<()>>,
    )> {
        Ok((self.pool.begin().await?, None))
    }

    async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        None
    }
}

sql_backend!(PgStore, PgTx, Postgres);

#[async_trait::async_trait]
impl super::RequestReads for PgStore {
    async fn user_in_session(
        &self,
        user_id: i64,
        session_id: i64,
        now: i64,
    ) -> StoreResult<Option<UserRecord>> {
        sqlx::query_as(request::USER_IN_SESSION)
            .bind(user_id)
            .bind(session_id)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
    }

    async fn accounts_of_user(&self, user_id: i64) -> StoreResult<Vec<LinkedAccount>> {
        sqlx::query_as(request::ACCOUNTS_OF_USER)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
    }

    async fn account_of_user(
        &self,
        user_id: i64,
        account_id: i64,
    ) -> StoreResult<Option<AccountRecord>> {
        sqlx::query_as(request::ACCOUNT_OF_USER)
            .bind(account_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
    }

    async fn meters_of_user_account(
        &self,
        user_id: i64,
        account_id: i64,
        month: &str,
    ) -> StoreResult<AccountMeters> {
        let meters: Vec<MeterRecord> = sqlx::query_as(request::METERS_OF_USER_ACCOUNT)
            .bind(account_id)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        if meters.is_empty() {
            return Ok(AccountMeters::default());
        }
        let readings = sqlx::query_as(request::RECENT_READINGS)
            .bind(account_id)
            .bind(month)
            .fetch_all(&self.pool)
            .await?;
        Ok(AccountMeters { meters, readings })
    }

    async fn meter_of_user(&self, user_id: i64, meter_id: i64) -> StoreResult<Option<MeterRecord>> {
        sqlx::query_as(request::METER_OF_USER)
            .bind(meter_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
    }

    async fn meter_for_submission(
        &self,
        user_id: i64,
        meter_id: i64,
        month: &str,
    ) -> StoreResult<Option<SubmissionBasis>> {
        sqlx::query_as(request::METER_FOR_SUBMISSION)
            .bind(meter_id)
            .bind(user_id)
            .bind(month)
            .fetch_optional(&self.pool)
            .await
    }

    async fn readings_of_meter(&self, meter_id: i64) -> StoreResult<Vec<ReadingRecord>> {
        sqlx::query_as(request::READINGS_OF_METER)
            .bind(meter_id)
            .fetch_all(&self.pool)
            .await
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        sqlx::query_as(request::USER_BY_EMAIL)
            .bind(email)
            .fetch_optional(&self.pool)
            .await
    }
}

#[async_trait::async_trait]
impl super::HotWrites for PgStore {
    async fn save_reading_if_unchanged(
        &self,
        reading: &NewReading,
        revision: i64,
    ) -> StoreResult<Option<ReadingRecord>> {
        sqlx::query_as(request::SAVE_READING_IF_UNCHANGED)
            .bind(reading.meter_id)
            .bind(&reading.billing_month)
            .bind(reading.value)
            .bind(&reading.taken_on)
            .bind(reading.source.as_str())
            .bind(reading.submitted_by)
            .bind(reading.consumption)
            .bind(i64::from(reading.rollover))
            .bind(i64::from(reading.confirmed_implausible))
            .bind(reading.now)
            .bind(revision)
            .fetch_optional(&self.pool)
            .await
    }

    async fn hit(&self, events: &[(&str, i64)], now: i64) -> StoreResult<Vec<(i64, i64)>> {
        // One transaction for all the keys of an attempt: one commit to wait for.
        let mut tx = self.pool.begin().await?;
        let mut counts = Vec::with_capacity(events.len());
        for &(key, window_secs) in events {
            counts.push(
                sqlx::query_as(request::COUNT_HIT)
                    .bind(key)
                    .bind(now)
                    .bind(window_secs)
                    .fetch_one(&mut *tx)
                    .await?,
            );
        }
        tx.commit().await?;
        Ok(counts)
    }

    async fn forgive_hit(&self, key: &str) -> StoreResult<()> {
        sqlx::query(request::FORGIVE_HIT)
            .bind(key)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    async fn reset_hits(&self, key: &str) -> StoreResult<()> {
        sqlx::query(request::RESET_HITS)
            .bind(key)
            .execute(&self.pool)
            .await
            .map(|_| ())
    }

    async fn start_session(&self, session: &NewSession<'_>, forgiven: &str) -> StoreResult<i64> {
        let mut tx = self.begin().await?;
        tx.reset_hits(forgiven).await?;
        let id = tx.create_session(session).await?;
        tx.commit().await?;
        Ok(id)
    }
}
