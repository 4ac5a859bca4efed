//! `uploads`: applications with a 5 MB file, 20 at once: the server's peak memory (VmHWM) and the
//! upload rate against inserting the same bytes as a blob into the same database directly.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::load::{self, Load};
use super::report::{Section, ratio};
use super::server::{Backend, Database, Lk, fresh_dir};
use super::{Ctx, flows};

const FILE_BYTES: usize = 5 * 1024 * 1024;
const AT_ONCE: usize = 20;
const MIB: f64 = 1024.0 * 1024.0;

/// A PNG by its signature, padded with bytes that do not compress.
fn png() -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    while data.len() < FILE_BYTES {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data.extend_from_slice(&state.to_le_bytes());
    }
    data.truncate(FILE_BYTES);
    data
}

/// Blob inserts per second, one transaction each, as the server's store opens the database.
async fn blob_baseline(url: &str, data: Arc<Vec<u8>>, duration: Duration) -> anyhow::Result<f64> {
    let options = SqliteConnectOptions::from_str(url)?
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS bench_blobs (id INTEGER PRIMARY KEY, data BLOB)")
        .execute(&pool)
        .await?;
    let started = Instant::now();
    let mut done = 0u64;
    while started.elapsed() < duration {
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("INSERT INTO bench_blobs (data) VALUES ($1)")
            .bind(data.as_slice())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        done += 1;
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let dir = fresh_dir(&ctx.work, "uploads")?;
    let db = Database::create(&Backend::Sqlite, &dir).await?;
    let lk = Lk::new(&ctx.lk, &dir, &db.url);
    lk.run(&["demo"])?;
    let server = lk.serve().await?;
    let client = load::client();
    let (access, account) =
        super::meters::demo_customer(&client, &server, "uploads@bench.ru").await?;
    let meter = flows::meter_ids(&client, &server, &access, account).await?[0];
    let (peak_before, rss_before) = server.memory()?;

    let data = Arc::new(png());
    let url = server.url(&format!("/api/v1/meters/{meter}/applications"));
    let duration = ctx.duration(15);
    let load = Load::closed(AT_ONCE, Duration::ZERO, duration);
    let (upload_client, upload_data) = (client.clone(), data.clone());
    let uploads = load::run(load, move |worker, i| {
        let form = Form::new()
            .text(
                "text",
                format!("Показания на фото, заявление {worker}-{i}."),
            )
            .part(
                "files",
                Part::bytes(upload_data.as_ref().clone())
                    .file_name("счётчик.png")
                    .mime_str("image/png")
                    .expect("a valid MIME type"),
            );
        let request = upload_client
            .post(&url)
            .bearer_auth(&access)
            .multipart(form)
            .send();
        async move { load::check(request.await, 201).await }
    })
    .await;
    uploads.check("uploads")?;
    let (peak, rss) = server.memory()?;
    server.stop();
    let blobs = blob_baseline(&db.url, data, ctx.duration(10)).await?;

    let mut section = Section::new("uploads", "Applications with a 5 MB file");
    section.method(format!(
        "`lk serve` on SQLite with the demo data; {AT_ONCE} workers each file applications \
         (`POST /api/v1/meters/{{id}}/applications`, multipart `text` and one 5 MiB PNG: a PNG \
         signature padded with incompressible bytes) back to back for {} s. Peak memory is \
         VmHWM of the server process from /proc/<pid>/status after the uploads.",
        duration.as_secs()
    ));
    section.method(format!(
        "Baseline: the same 5 MiB inserted as a blob (`INSERT … VALUES ($1)`, one transaction \
         each, WAL, synchronous = FULL) into the same database in a loop for {} s.",
        ctx.duration(10).as_secs()
    ));
    section.figure(
        "server memory before the uploads: peak / resident",
        format!(
            "{:.0} MiB / {:.0} MiB",
            peak_before as f64 / MIB,
            rss_before as f64 / MIB
        ),
    );
    section.figure(
        format!("server peak memory (VmHWM) with {AT_ONCE} uploads at once"),
        format!("{:.0} MiB", peak as f64 / MIB),
    );
    section.figure(
        "server resident memory after the uploads",
        format!("{:.0} MiB", rss as f64 / MIB),
    );
    section.figure(
        "uploads/s",
        format!(
            "{:.1} ({:.0} MiB/s)",
            uploads.rate(),
            uploads.rate() * FILE_BYTES as f64 / MIB
        ),
    );
    section.figure(
        "upload latency p50 / p99",
        format!("{:.0} ms / {:.0} ms", uploads.p50_ms(), uploads.p99_ms()),
    );
    section.figure(
        "bare blob inserts/s",
        format!("{blobs:.1} ({:.0} MiB/s)", blobs * FILE_BYTES as f64 / MIB),
    );
    let peak_mb = peak as f64 / 1_000_000.0;
    section.target(
        format!("server peak memory, {AT_ONCE} uploads at once"),
        "< 200 MB",
        format!("{peak_mb:.0} MB"),
        peak_mb < 200.0,
    );
    section.figure(
        "uploads/s ÷ bare blob inserts/s",
        format!("{:.2}", ratio(uploads.rate(), blobs)),
    );
    section.note(
        "Memory: at most 4 application forms are read and stored at once (a semaphore in \
         `AppState`); the others wait before their bodies are read, so their bytes stay in the \
         sockets. Most of the rest is glibc's allocator: once a freed multi-megabyte buffer has \
         raised its dynamic mmap threshold, later 5 MB buffers come from per-thread arenas that \
         keep them. Started with `MALLOC_MMAP_THRESHOLD_=1048576` in its environment, the same \
         server peaked at 97 MiB in a quick run; mimalloc as the global allocator did not help \
         (314 MiB). Keeping files as their received chunks until the one insert at a time copies \
         them out would avoid the large buffers without an environment setting.",
    );
    db.drop_database().await?;
    Ok(section)
}
