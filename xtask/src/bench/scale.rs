//! `scale`: `lk import` of 1,000,000 accounts with 3 meters each and 12 months of readings
//! (36 million CSV rows), then the p50 of the meters call at 1,000,000 accounts against 1,000.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;

use super::load::{self, Load, Outcome};
use super::report::{Section, ratio};
use super::server::{Backend, Database, Lk, fresh_dir};
use super::{Ctx, flows};

const FIRST_NUMBER: u64 = 700_000_000;
const MONTHS: u32 = 12;
const HEADER: &str = "account_number,address,last_payment_amount,last_payment_date,meter_name,\
                      meter_kind,serial_number,place,installed_on,last_verification,\
                      next_verification,whole_digits,decimals,reading_date,reading_value";

fn amount(i: u64) -> String {
    format!("{}.{:02}", 100 + i % 5000, i % 100)
}

/// (year, month) of the 12 months before this one, oldest first.
fn months() -> Vec<(i32, u8)> {
    let today = time::OffsetDateTime::now_utc().date();
    let (mut year, mut month) = (today.year(), u8::from(today.month()));
    let mut out = Vec::new();
    for _ in 0..MONTHS {
        if month == 1 {
            year -= 1;
            month = 12;
        } else {
            month -= 1;
        }
        out.push((year, month));
    }
    out.reverse();
    out
}

/// A billing export as `lk import` reads it: one row per reading, every column filled.
fn generate(path: &Path, accounts: u64) -> anyhow::Result<u64> {
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 22, file);
    writeln!(out, "{HEADER}")?;
    let months = months();
    let meters = [
        ("ГВС1", "hot_water", "Ванная", 1_234u64),
        ("ГВС2", "hot_water", "Кухня", 987),
        ("ОТП1", "heating", "Квартира", 456),
    ];
    let mut rows = 0;
    for i in 0..accounts {
        let number = FIRST_NUMBER + i;
        let amount = amount(i);
        for (m, (name, kind, place, step)) in meters.iter().enumerate() {
            let base = (i % 1000) * 1000;
            for (k, (year, month)) in months.iter().enumerate() {
                let value = base + (k as u64 + 1) * step;
                writeln!(
                    out,
                    "{number},\"г. Пенза, ул. Масштабная, д. {}, кв. {}\",{amount},2024-07-20,\
                     {name},{kind},{m}{number:09},{place},2023-03-15,2023-03-15,2031-03-15,5,3,\
                     {year:04}-{month:02}-25,{}.{:03}",
                    i / 100 % 1000,
                    i % 100 + 1,
                    value / 1000,
                    value % 1000
                )?;
                rows += 1;
            }
        }
    }
    out.flush()?;
    out.into_inner()?.sync_all()?;
    Ok(rows)
}

struct Imported {
    rows: u64,
    generate_secs: f64,
    import_secs: f64,
    csv_bytes: u64,
    db_bytes: u64,
    output: String,
}

/// Generates and imports `accounts` into a fresh SQLite database under `dir`.
fn import(lk: &Lk, dir: &Path, accounts: u64) -> anyhow::Result<Imported> {
    let csv = dir.join("billing.csv");
    let started = Instant::now();
    let rows = generate(&csv, accounts)?;
    let generate_secs = started.elapsed().as_secs_f64();
    let csv_bytes = std::fs::metadata(&csv)?.len();
    let started = Instant::now();
    let output = lk.run(&["import", csv.to_str().context("a UTF-8 path")?])?;
    let import_secs = started.elapsed().as_secs_f64();
    anyhow::ensure!(
        output.contains(&format!("rows read: {rows}")) && output.contains("rejected rows: 0"),
        "the import did not take every row:\n{output}"
    );
    std::fs::remove_file(&csv)?;
    let db_bytes = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("lk.sqlite3"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    Ok(Imported {
        rows,
        generate_secs,
        import_secs,
        csv_bytes,
        db_bytes,
        output,
    })
}

/// The meters call, one request at a time, for a customer with the account in the middle.
async fn meters_latency(
    ctx: &Ctx,
    lk: &Lk,
    accounts: u64,
    duration: Duration,
) -> anyhow::Result<Outcome> {
    let server = lk.serve().await?;
    let client = load::client();
    let email = format!("scale{accounts}@bench.ru");
    flows::customer(&client, &server, &email).await?;
    let access = flows::login(&client, &server, &email).await?;
    let middle = accounts / 2;
    let ids = flows::link_accounts(
        &client,
        &server,
        &email,
        &access,
        &[((FIRST_NUMBER + middle).to_string(), amount(middle))],
    )
    .await?;
    let url = server.url(&format!("/api/v1/accounts/{}/meters", ids[0]));
    let probe = client.get(&url).bearer_auth(&access).send().await?;
    let meters: Vec<serde_json::Value> = probe.json().await?;
    anyhow::ensure!(
        meters.len() == 3 && meters.iter().all(|m| !m["previous_reading"].is_null()),
        "unexpected meters: {meters:?}"
    );
    let outcome = load::run(Load::closed(1, ctx.warmup(), duration), move |_, _| {
        let request = client.get(&url).bearer_auth(&access).send();
        async move { load::check(request.await, 200).await }
    })
    .await;
    outcome.check("GET meters")?;
    server.stop();
    Ok(outcome)
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let (large, small) = if ctx.quick {
        (20_000, 1_000)
    } else {
        (1_000_000, 1_000)
    };
    let duration = ctx.duration(10);

    let mut results = Vec::new();
    for accounts in [small, large] {
        let dir = fresh_dir(&ctx.work, &format!("scale-{accounts}"))?;
        let db = Database::create(&Backend::Sqlite, &dir).await?;
        let lk = Lk::new(&ctx.lk, &dir, &db.url);
        println!("  generating and importing {accounts} accounts…");
        let imported = tokio::task::block_in_place(|| import(&lk, &dir, accounts))?;
        println!(
            "  {} rows imported in {:.1} s",
            imported.rows, imported.import_secs
        );
        let latency = meters_latency(ctx, &lk, accounts, duration).await?;
        std::fs::remove_dir_all(&dir).ok();
        results.push((accounts, imported, latency));
    }
    let (_, _, small_latency) = &results[0];
    let (large_accounts, imported, large_latency) = &results[1];

    let mut section = Section::new("scale", "A million accounts");
    section.method(format!(
        "A CSV as billing would export it (every column of `lk import`, one row per reading): \
         {large_accounts} accounts × 3 meters (ГВС1, ГВС2, ОТП1) × {MONTHS} months of readings; \
         imported with `lk import` (release) into a fresh SQLite database, timed from start to \
         exit (durable: synchronous = FULL)."
    ));
    section.method(format!(
        "Then `lk serve` on that database, a customer links the account in the middle, and one \
         worker calls `GET /api/v1/accounts/{{id}}/meters` back to back for {} s; the same on a \
         database of {small} accounts imported the same way.",
        duration.as_secs()
    ));
    section.figure(
        "CSV rows / size",
        format!(
            "{} / {:.2} GB (generated in {:.0} s)",
            imported.rows,
            imported.csv_bytes as f64 / 1e9,
            imported.generate_secs
        ),
    );
    section.figure(
        format!("`lk import` of {large_accounts} accounts"),
        format!(
            "{:.1} s ({:.0} rows/s)",
            imported.import_secs,
            imported.rows as f64 / imported.import_secs
        ),
    );
    section.figure(
        "database size after the import",
        format!("{:.2} GB", imported.db_bytes as f64 / 1e9),
    );
    for (accounts, _, latency) in &results {
        section.figure(
            format!("GET meters p50 / p99 at {accounts} accounts"),
            format!("{:.2} ms / {:.2} ms", latency.p50_ms(), latency.p99_ms()),
        );
    }
    section.target(
        format!("`lk import` of {large_accounts} accounts, 36 rows each"),
        "< 120 s",
        format!("{:.1} s", imported.import_secs),
        imported.import_secs < 120.0,
    );
    let r = ratio(large_latency.p50_ms(), small_latency.p50_ms());
    section.target(
        format!("p50 of GET meters at {large_accounts} ÷ at {small} accounts"),
        "≤ 1.5",
        format!("{r:.2}"),
        r <= 1.5,
    );
    let summary: Vec<&str> = imported
        .output
        .lines()
        .filter(|l| {
            l.starts_with("accounts:") || l.starts_with("meters:") || l.starts_with("readings:")
        })
        .collect();
    section.note(format!("`lk import` said: {}", summary.join("; ")));
    section.note(
        "How the import keeps up: the CSV is read and checked on its own thread while the batch \
         before is written; a row whose account and meter columns repeat the row before is not \
         checked again (only its reading is); each batch of 2,000 accounts is one unit of work \
         that reads what exists in bulk (`IN` lists), works out what is new or changed, and \
         writes new rows with multi-row `INSERT`s of 1,000 rows (SQLite gets `?` placeholders, \
         which it binds by position; `$N` names are looked up one by one, which is quadratic in \
         such a statement), each chunk of readings built while the one before runs. Billing's \
         readings touch two indexes, not three: `export_seq` is unique only where set (migration \
         0005), and new databases have 16 KiB pages; together with the chunk overlap these took \
         the import of a million accounts from 136 s to 113 s.",
    );
    Ok(section)
}
