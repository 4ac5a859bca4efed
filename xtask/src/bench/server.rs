//! The server under test: `lk` (release) on a fresh DATA_DIR and database, on loopback only.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Where the benchmark's databases live.
#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// A fresh database on this PostgreSQL server (its URL names an existing database).
    Postgres(String),
}

/// A fresh database for one benchmark, dropped again when it ends (PostgreSQL).
pub struct Database {
    pub url: String,
    admin_url: Option<String>,
    name: String,
}

impl Database {
    pub async fn create(backend: &Backend, data_dir: &Path) -> anyhow::Result<Self> {
        match backend {
            Backend::Sqlite => Ok(Self {
                url: format!("sqlite://{}", data_dir.join("lk.sqlite3").display()),
                admin_url: None,
                name: String::new(),
            }),
            Backend::Postgres(server) => {
                use sqlx::Connection;
                let name = format!("lk_bench_{:016x}", rand::random::<u64>());
                let mut admin = sqlx::PgConnection::connect(server)
                    .await
                    .with_context(|| format!("cannot connect to PostgreSQL at {server}"))?;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut admin)
                    .await?;
                let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
                Ok(Self {
                    url: format!("{base}/{name}"),
                    admin_url: Some(server.clone()),
                    name,
                })
            }
        }
    }

    pub async fn drop_database(self) -> anyhow::Result<()> {
        if let Some(admin_url) = self.admin_url {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&mut admin)
            .await?;
        }
        Ok(())
    }
}

/// A fresh directory under `target/bench/`.
pub fn fresh_dir(root: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = root.join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `lk` with the environment of one benchmark instance.
#[derive(Debug, Clone)]
pub struct Lk {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub env: Vec<(String, String)>,
}

/// Limits are lifted: a benchmark sends far more than a person would from one address.
const LIFTED_LIMITS: &[&str] = &[
    "RATE_LIMIT_LOGIN_PER_ACCOUNT",
    "RATE_LIMIT_LOGIN_PER_IP",
    "RATE_LIMIT_MAIL_PER_ADDRESS",
    "RATE_LIMIT_MAIL_PER_IP",
    "RATE_LIMIT_LINK_PER_ACCOUNT_NUMBER",
    "RATE_LIMIT_LINK_PER_USER",
    "RATE_LIMIT_APPLICATIONS_PER_USER",
];

impl Lk {
    pub fn new(binary: &Path, data_dir: &Path, database_url: &str) -> Self {
        let mut env: Vec<(String, String)> = LIFTED_LIMITS
            .iter()
            .map(|key| (key.to_string(), "1000000/1m".to_owned()))
            .collect();
        env.push(("MAIL_TRANSPORT".into(), "file".into()));
        Self {
            binary: binary.to_owned(),
            data_dir: data_dir.to_owned(),
            database_url: database_url.to_owned(),
            env,
        }
    }

    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.data_dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DATA_DIR", &self.data_dir)
            .env("DATABASE_URL", &self.database_url)
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs an administration command and returns its standard output.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self
            .command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run lk {args:?}"))?;
        if !output.status.success() {
            bail!(
                "lk {args:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// A new API key for integration calls.
    pub fn api_key(&self) -> anyhow::Result<String> {
        let out = self.run(&["api-key", "create", "--name", "bench"])?;
        // Log lines may share standard output with the key.
        out.lines()
            .map(str::trim)
            .find(|line| line.starts_with("lk_"))
            .map(str::to_owned)
            .context("lk api-key create printed no key")
    }

    /// `lk serve` on a free loopback port, once it answers `/healthz`.
    pub async fn serve(&self) -> anyhow::Result<Server> {
        let port = free_port()?;
        let log = std::fs::File::create(self.data_dir.join("server.log"))?;
        let child = self
            .command()
            .arg("serve")
            .env("LISTEN_ADDR", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start lk serve")?;
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir: self.data_dir.clone(),
        };
        server.wait_ready().await?;
        Ok(server)
    }
}

/// A server process this benchmark started; stopped when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
}

impl Server {
    /// Starts another program that serves HTTP on `port` (the hello-world reference).
    pub async fn spawn_other(mut command: Command, port: u16) -> anyhow::Result<Self> {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start the reference server")?;
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir: PathBuf::new(),
        };
        server.wait_ready().await?;
        Ok(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let client = super::load::client();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if let Ok(response) = client.get(self.url("/healthz")).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("the server on {} did not become ready", self.base)
    }

    /// Peak and current resident memory of the server process, in bytes (VmHWM, VmRSS).
    pub fn memory(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status
                .lines()
                .find(|l| l.starts_with(name))
                .with_context(|| format!("no {name} in /proc status"))?;
            let kb: u64 = line
                .trim_start_matches(name)
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()?;
            Ok(kb * 1024)
        };
        Ok((field("VmHWM:")?, field("VmRSS:")?))
    }

    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
