//! Project chores: `cargo xtask run` starts the portal, `cargo xtask test` runs every test,
//! `cargo xtask openapi` writes the committed OpenAPI document, `cargo xtask bench` measures.

mod bench;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "openapi" => openapi(),
        "run" => run(),
        "test" => test(),
        "bench" => bench(),
        // Run by `bench` from the release build: the benchmarks proper and their reference server.
        "bench-run" => bench::run(root(), &std::env::args().skip(2).collect::<Vec<_>>()),
        "bench-hello" => bench::hello(&std::env::args().nth(2).unwrap_or_default()),
        _ => {
            eprintln!(
                "usage: cargo xtask <task>\n\ntasks:\n  \
                 run       start the portal with demo data on http://127.0.0.1:8080 (SQLite under ./data)\n  \
                 test      every test: SQLite, then PostgreSQL ($TEST_DATABASE_URL or the local server)\n  \
                 openapi   regenerate openapi/openapi.json\n  \
                 bench     [login|readings|meters|uploads|scale] [--quick]: benchmarks, written \
                 to docs/benchmarks.md"
            );
            bail!("unknown task {task:?}")
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_owned()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root());
    command
}

/// The document comes from the server's own code (`lk openapi`), so it cannot drift.
fn openapi() -> anyhow::Result<()> {
    let output = cargo()
        .args([
            "run",
            "--quiet",
            "--package",
            "api",
            "--bin",
            "lk",
            "--",
            "openapi",
        ])
        .output()
        .context("cannot run cargo")?;
    if !output.status.success() {
        bail!(
            "lk openapi failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let path = root().join("openapi/openapi.json");
    std::fs::create_dir_all(path.parent().unwrap())?;
    std::fs::write(&path, &output.stdout)?;
    println!("wrote {} ({} bytes)", path.display(), output.stdout.len());
    Ok(())
}

fn status(command: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let status = command
        .status()
        .with_context(|| format!("cannot run {shown}"))?;
    if !status.success() {
        bail!("{shown} failed with {status}");
    }
    Ok(())
}

/// Starts the portal as a developer or QA would use it: SQLite and .eml files under ./data.
fn run() -> anyhow::Result<()> {
    status(cargo().args(["build", "--release", "--package", "api", "--bin", "lk"]))?;
    let lk = root().join("target/release/lk");
    status(Command::new(&lk).arg("demo").current_dir(root()))?;
    status(Command::new(&lk).arg("serve").current_dir(root()))
}

/// Every test, on SQLite and then on PostgreSQL. The PostgreSQL server comes from
/// `TEST_DATABASE_URL`, by default the local one; set `TEST_DATABASE_URL=` (empty) to skip it.
fn test() -> anyhow::Result<()> {
    status(
        cargo()
            .args(["nextest", "run", "--workspace", "--no-fail-fast"])
            .env_remove("TEST_DATABASE_URL"),
    )?;
    let postgres = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    if postgres.is_empty() {
        println!("TEST_DATABASE_URL is empty: the PostgreSQL run is skipped");
        return Ok(());
    }
    println!("again on PostgreSQL ({postgres})");
    status(
        cargo()
            .args(["nextest", "run", "--package", "api", "--no-fail-fast"])
            .env("TEST_DATABASE_URL", &postgres),
    )
}

/// Builds `lk` and the load generator in release, then runs the benchmarks from that build (a
/// debug load generator would measure itself).
fn bench() -> anyhow::Result<()> {
    status(cargo().args([
        "build",
        "--release",
        "--package",
        "api",
        "--bin",
        "lk",
        "--package",
        "xtask",
    ]))?;
    status(
        Command::new(root().join("target/release/xtask"))
            .arg("bench-run")
            .args(std::env::args().skip(2))
            .current_dir(root()),
    )
}
