//! `cargo xtask bench [name…] [--quick]`: builds `lk` in release, starts it on a fresh DATA_DIR
//! and database on 127.0.0.1, drives it with the load generator below, prints a table and writes
//! docs/benchmarks.md. Each figure is compared with a baseline measured in the same run on the
//! same machine the same way, because the server and the load generator share its cores.

mod flows;
mod journey;
mod load;
mod login;
mod meters;
mod readings;
mod report;
mod scale;
mod server;
mod uploads;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;

pub use report::ORDER as NAMES;

/// What every benchmark needs to know.
pub struct Ctx {
    /// The workspace.
    pub root: PathBuf,
    /// Scratch space: target/bench.
    pub work: PathBuf,
    /// The release `lk`.
    pub lk: PathBuf,
    /// A smoke run: short durations, small data; the figures are not representative.
    pub quick: bool,
    /// The PostgreSQL server for the PostgreSQL figures.
    pub postgres: String,
    pub cores: usize,
}

impl Ctx {
    /// How long one measurement lasts.
    pub fn duration(&self, full_secs: u64) -> Duration {
        Duration::from_secs(if self.quick {
            full_secs.min(2)
        } else {
            full_secs
        })
    }

    /// Both databases, as (backend, label for scratch names, title for the report).
    pub fn backends(&self) -> [(server::Backend, &'static str, &'static str); 2] {
        [
            (server::Backend::Sqlite, "sqlite", "SQLite"),
            (
                server::Backend::Postgres(self.postgres.clone()),
                "postgres",
                "PostgreSQL",
            ),
        ]
    }

    pub fn warmup(&self) -> Duration {
        Duration::from_millis(if self.quick { 300 } else { 1000 })
    }
}

fn first_line_with(path: &str, prefix: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|l| l.starts_with(prefix))
        .map(|l| l.split_once(':').map_or(l, |(_, v)| v).trim().to_owned())
}

fn now_text() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute()
    )
}

fn git_commit(root: &std::path::Path) -> String {
    std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn header(ctx: &Ctx, date: &str, load_before: &str) -> String {
    let memory = first_line_with("/proc/meminfo", "MemTotal")
        .and_then(|kb| kb.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or("unknown".to_owned(), |kb| {
            format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0)
        });
    let cpu = first_line_with("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into());
    format!(
        "# Benchmarks\n\n\
         Written by `cargo xtask bench` (see README, «Benchmarks»); do not edit by hand. Each \
         section is replaced when its benchmark runs again.\n\n\
         The server (`lk`, release build) and the load generator (Rust, inside `xtask`: tokio + \
         reqwest, N workers back to back for a fixed time, latencies in an HDR histogram) share \
         the same cores, so every figure is compared with a baseline measured in the same run, \
         on the same machine, the same way. Everything runs on 127.0.0.1.\n\n\
         Last run: {date}, commit `{commit}`, on `nproc` = {cores} ({cpu}), {memory} of \
         memory; load average before the run: {load_before}. Other builds may have been \
         running on the machine at the same time, which costs both a figure and its baseline.\n\n\
         Commands:\n\n\
         ```sh\n\
         cargo xtask bench            # everything (about 10 minutes on 2 cores)\n\
         cargo xtask bench login      # or readings, meters, uploads, scale, journey\n\
         cargo xtask bench --quick    # a smoke run: short and small, written to target/bench/\n\
         ```\n",
        commit = git_commit(&ctx.root),
        cores = ctx.cores,
    )
}

/// The benchmarks proper; runs in the release build of xtask.
pub fn run(root: PathBuf, args: &[String]) -> anyhow::Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let mut names: Vec<&str> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    for name in &names {
        if !NAMES.contains(name) {
            bail!("unknown benchmark {name:?}: choose from {NAMES:?}");
        }
    }
    if names.is_empty() {
        names = NAMES.to_vec();
    }
    let ctx = Ctx {
        work: root.join("target/bench"),
        lk: root.join("target/release/lk"),
        quick,
        postgres: std::env::var("BENCH_DATABASE_URL")
            .or_else(|_| std::env::var("TEST_DATABASE_URL"))
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        root,
    };
    std::fs::create_dir_all(&ctx.work)?;
    let load_before = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let date = now_text();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(ctx.cores)
        .enable_all()
        .build()?;
    let mut sections = Vec::new();
    for name in names {
        println!("\n>>> bench {name}{}", if quick { " (quick)" } else { "" });
        let started = std::time::Instant::now();
        let section = runtime.block_on(async {
            match name {
                "login" => login::run(&ctx).await,
                "readings" => readings::run(&ctx).await,
                "meters" => meters::run(&ctx).await,
                "uploads" => uploads::run(&ctx).await,
                "scale" => scale::run(&ctx).await,
                "journey" => journey::run(&ctx).await,
                _ => unreachable!("checked above"),
            }
        })?;
        section.print();
        println!("  ({name} took {:.0} s)", started.elapsed().as_secs_f64());
        sections.push(section);
    }
    let path = if quick {
        ctx.work.join("benchmarks-quick.md")
    } else {
        ctx.root.join("docs/benchmarks.md")
    };
    report::write(&path, &header(&ctx, &date, &load_before), &sections, &date)?;
    println!("\nwrote {}", path.display());
    Ok(())
}

/// The reference for the meters benchmark: actix-web's hello world, with the same number of
/// workers as `lk` (actix-web's default).
pub fn hello(addr: &str) -> anyhow::Result<()> {
    use actix_web::{App, HttpServer, web};
    let addr = addr.to_owned();
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new()
                .route("/", web::get().to(|| async { "Hello, world!" }))
                .route("/healthz", web::get().to(|| async { "ok" }))
        })
        .bind(&addr)?
        .run()
        .await
    })?;
    Ok(())
}
