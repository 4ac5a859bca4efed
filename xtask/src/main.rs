//! Project chores: `cargo xtask run` starts the portal, `cargo xtask test` runs every test,
//! `cargo xtask web` builds the SPA, `cargo xtask openapi` writes the committed OpenAPI document,
//! `cargo xtask bench` measures.

mod bench;
mod web;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  run       build the SPA and the server, load the demo data, start the portal (SQLite, e-mails as .eml files)
  test      run every test: Rust tests on SQLite and PostgreSQL, the system tests, then the browser tests
  e2e       the browser tests: headless Chromium against lk serve, mail through maildev
  system    the system tests: schemathesis, kill -9, SMTP outage, two instances behind nginx
  web       build the SPA into crates/web/dist (wasm-bindgen, wasm-opt, hashed file names)
  openapi   regenerate openapi/openapi.json
  bench     [login|readings|meters|uploads|scale|journey] [--quick]: benchmarks, written to docs/benchmarks.md";

fn main() -> anyhow::Result<()> {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "run" => run(),
        "test" => test(),
        "web" => web::build(),
        "e2e" => e2e(),
        "system" => system(),
        "openapi" => openapi(),
        "bench" => bench(),
        // Run by `bench` from the release build: the benchmarks proper and their reference server.
        "bench-run" => bench::run(root(), &std::env::args().skip(2).collect::<Vec<_>>()),
        "bench-hello" => bench::hello(&std::env::args().nth(2).unwrap_or_default()),
        _ => {
            eprintln!("{USAGE}");
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
    web::build()?;
    status(cargo().args(["build", "--release", "--package", "api", "--bin", "lk"]))?;
    let lk = root().join("target/release/lk");
    status(Command::new(&lk).arg("demo").current_dir(root()))?;
    status(Command::new(&lk).arg("serve").current_dir(root()))
}

/// Every test: the Rust tests on SQLite and then on PostgreSQL, the system tests, then the
/// browser tests. The PostgreSQL server comes from `TEST_DATABASE_URL`, by default the local
/// one; set `TEST_DATABASE_URL=` (empty) to skip it.
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
    } else {
        drop_test_databases(&postgres);
        println!("again on PostgreSQL ({postgres})");
        status(
            cargo()
                // The same build as the first run (`--workspace`), only the database tests again.
                .args([
                    "nextest",
                    "run",
                    "--workspace",
                    "--no-fail-fast",
                    "-E",
                    "package(api)",
                ])
                .env("TEST_DATABASE_URL", &postgres),
        )?;
    }
    system()?;
    e2e()
}

/// Test databases are made fresh per test (`lk_test_…`); drop the ones earlier runs left.
fn drop_test_databases(server: &str) {
    let listed = Command::new("psql")
        .args([
            server,
            "-Atc",
            "SELECT datname FROM pg_database WHERE datname ~ '^lk_(test|conformance|system)_'",
        ])
        .output();
    let Ok(listed) = listed else { return };
    for name in String::from_utf8_lossy(&listed.stdout)
        .lines()
        .filter(|n| !n.is_empty())
    {
        let _ = Command::new("psql")
            .args([
                server,
                "-qc",
                &format!("DROP DATABASE IF EXISTS \"{name}\""),
            ])
            .status();
    }
}

/// The browser tests (tests/e2e): the SPA and `lk` are built, the npm packages installed from
/// the lock file, then every scenario runs against a fresh stack.
fn e2e() -> anyhow::Result<()> {
    web::build()?;
    status(cargo().args(["build", "--package", "api", "--bin", "lk"]))?;
    let dir = root().join("tests/e2e");
    if !dir.join("node_modules/.bin/maildev").exists() {
        status(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir),
        )?;
    }
    status(Command::new("node").arg("run.mjs").current_dir(&dir))
}

/// The system tests (tests/system, Python): schemathesis against the served OpenAPI document,
/// kill -9 under load, an SMTP outage, two instances behind nginx. They run the debug `lk` from
/// a virtualenv under target/ made from the pinned requirements.
fn system() -> anyhow::Result<()> {
    status(cargo().args(["build", "--package", "api", "--bin", "lk"]))?;
    let dir = root().join("tests/system");
    let venv = root().join("target/system-venv");
    let python = venv.join("bin/python");
    let requirements = dir.join("requirements.txt");
    let stamp = venv.join("requirements.txt");
    let installed = std::fs::read(&stamp).ok() == std::fs::read(&requirements).ok();
    if !installed {
        status(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
        status(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "-r"])
                .arg(&requirements),
        )?;
        std::fs::copy(&requirements, &stamp)?;
    }
    status(
        Command::new(&python)
            .arg(dir.join("run.py"))
            .env("LK_BIN", root().join("target/debug/lk")),
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
        "--bin",
        "xtask",
    ]))?;
    status(
        Command::new(root().join("target/release/xtask"))
            .arg("bench-run")
            .args(std::env::args().skip(2))
            .current_dir(root()),
    )
}
