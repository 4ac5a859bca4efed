use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::sql::sql_backend;

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
