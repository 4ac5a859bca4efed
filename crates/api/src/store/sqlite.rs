use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::sql::sql_backend;
use super::sqlite_inline::{InlineReads, Writer};

/// The embedded default: one file in WAL mode, migrated at start.
pub struct SqliteStore {
    pool: SqlitePool,
    /// The reads of nearly every request, on the calling thread (see `sqlite_inline`).
    pub(super) inline: InlineReads,
    /// The hot writes (see `sqlite_inline`): submissions and sessions on `durable`, rate-limit
    /// counts on `counters`, each in one hop to a blocking thread.
    pub(super) durable: Arc<Writer>,
    pub(super) counters: Arc<Writer>,
    /// Units of work of this process take turns to write (see `begin_write`).
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteStore {
    const BACKEND: &'static str = "sqlite";
    /// Bulk statements bind by position (`?`): see `sql::placeholders`.
    const NUMBERED: bool = false;

    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL under WAL loses nothing on a process crash; FULL also survives power loss.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // For a new database: 16 KiB pages make bulk imports about a tenth faster (fewer
            // pages to split and write) and cost reads of single rows nothing measurable.
            .page_size(16384);
        let path = options.get_filename().to_path_buf();
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../../migrations/sqlite").run(&pool).await?;
        Ok(Self {
            pool,
            inline: InlineReads::new(path.clone()),
            durable: Arc::new(Writer::durable(path.clone())),
            counters: Arc::new(Writer::forgetful(path)),
            writer: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    /// `BEGIN IMMEDIATE` takes the write lock up front: a unit of work that reads and then
    /// writes cannot fail half-way because another connection wrote in between.
    ///
    /// SQLite has one writer at a time. Units of work of this process queue for their turn here,
    /// in order, before they take a connection: otherwise each waiting one holds a connection
    /// that readers need while SQLite's busy handler sleeps and polls (up to 100 ms a nap), and
    /// the write lock sits idle between the naps.
    async fn begin_write(
        &self,
    ) -> sqlx::Result<(
        sqlx::Transaction<'static, Sqlite>,
        Option<tokio::sync::OwnedMutexGuard<()>>,
    )> {
        let turn = self.write_turn().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok((tx, turn))
    }

    /// The turn to write, for units of work and for single statements that write alike.
    pub(super) async fn write_turn(&self) -> Option<tokio::sync::OwnedMutexGuard<()>> {
        Some(self.writer.clone().lock_owned().await)
    }
}

sql_backend!(SqliteStore, SqliteTx, Sqlite);
