//! The `lk` command: serve, migrate, create an operator, print the OpenAPI document.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::Application;
use crate::auth::PasswordHasher;
use crate::clock::Clock;
use crate::config::Config;
use crate::{identity, store, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "lk",
    version,
    about = "Личный кабинет: the portal's server and administration"
)]
pub struct Cli {
    /// `serve` when none is given.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API and the SPA (migrates the database first); `lk` alone does this.
    Serve,
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Create an operator; the password is read from standard input or asked for.
    CreateOperator {
        #[arg(long)]
        email: String,
        #[arg(long)]
        full_name: String,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Manage integrators' API keys (stored hashed; a key is shown once, when created).
    ApiKey {
        #[command(subcommand)]
        action: ApiKeyAction,
    },
    /// Import billing data from a CSV file (see `crates/api/src/import.rs` for the columns).
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
    },
    /// Load the demo data (account 720000032 with last payment 500.00, …) and a demo operator.
    Demo,
}

#[derive(Debug, Subcommand)]
enum ApiKeyAction {
    /// Create a key and print it.
    Create {
        #[arg(long)]
        name: String,
    },
    /// Revoke the key with this name.
    Revoke {
        #[arg(long)]
        name: String,
    },
    /// List keys (names and dates, never the keys).
    List,
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        let command = self.command.unwrap_or(Command::Serve);
        if let Command::Openapi = command {
            print!("{}", crate::openapi::document());
            return Ok(());
        }
        let config = Config::from_env()?;
        telemetry::init(config.log_json);
        match command {
            Command::Serve => {
                let app = Application::build(config, Clock::default()).await?;
                let state = &app.state.config;
                tracing::info!(
                    port = app.port(),
                    public_url = %state.public_base_url,
                    spa = state.spa_dir.is_some(),
                    "Личный кабинет is listening"
                );
                app.run_until_stopped().await?;
            }
            Command::Migrate => {
                let store = store::connect(config.database_url.expose()).await?;
                println!("migrated the {} database", store.backend());
            }
            Command::CreateOperator { email, full_name } => {
                let password = read_password()?;
                let store = store::connect(config.database_url.expose()).await?;
                let hasher = PasswordHasher::new(1)?;
                let id = identity::create_operator(
                    store.as_ref(),
                    &hasher,
                    &email,
                    &full_name,
                    &password,
                    Clock::default().now(),
                )
                .await?;
                println!("operator {email} created (id {id})");
            }
            Command::ApiKey { action } => {
                let store = store::connect(config.database_url.expose()).await?;
                api_key(store.as_ref(), action).await?;
            }
            Command::Import { file } => {
                let store = store::connect(config.database_url.expose()).await?;
                let size = std::fs::metadata(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
                    .len();
                let progress = indicatif::ProgressBar::new(size).with_style(
                    indicatif::ProgressStyle::with_template(
                        "{bar:40} {bytes}/{total_bytes} {elapsed} (осталось {eta})",
                    )?,
                );
                let input = std::io::BufReader::new(std::fs::File::open(&file)?);
                let report =
                    crate::import::import(store.as_ref(), input, Clock::default().now(), &progress)
                        .await?;
                progress.finish();
                let s = report.summary;
                println!("rows read: {}", report.rows);
                println!(
                    "accounts: {} created, {} updated, {} unchanged",
                    s.accounts.created, s.accounts.updated, s.accounts.unchanged
                );
                println!(
                    "meters:   {} created, {} updated, {} unchanged",
                    s.meters.created, s.meters.updated, s.meters.unchanged
                );
                println!(
                    "readings: {} created, {} updated, {} unchanged",
                    s.readings.created, s.readings.updated, s.readings.unchanged
                );
                println!("rejected rows: {}", report.rejected.len());
                for (line, reason) in &report.rejected {
                    println!("  line {line}: {reason}");
                }
            }
            Command::Demo => {
                let store = store::connect(config.database_url.expose()).await?;
                let hasher = PasswordHasher::new(1)?;
                let summary =
                    crate::demo::load(store.as_ref(), &hasher, Clock::default().now()).await?;
                println!(
                    "demo data: {} accounts, {} meters, {} readings created",
                    summary.accounts.created, summary.meters.created, summary.readings.created
                );
                println!(
                    "link account 720000032 with last payment 500.00; demo operator: {} / {}",
                    crate::demo::OPERATOR_EMAIL,
                    crate::demo::OPERATOR_PASSWORD
                );
            }
            Command::Openapi => unreachable!("handled above"),
        }
        Ok(())
    }
}

/// A password never comes as an argument (it would show in the process list and history): it
/// is typed at a prompt, unseen and twice, or piped in on standard input.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let password = read_line()?;
        anyhow::ensure!(!password.is_empty(), "no password given on standard input");
        return Ok(password);
    }
    let typed = |prompt: &str| -> anyhow::Result<String> {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
        let _hidden = crate::os::HiddenTyping::start();
        read_line()
    };
    let password = typed("Пароль оператора: ")?;
    anyhow::ensure!(!password.is_empty(), "no password typed");
    anyhow::ensure!(
        typed("Повторите пароль: ")? == password,
        "the passwords typed differ"
    );
    Ok(password)
}

fn read_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn api_key(store: &dyn store::Store, action: ApiKeyAction) -> anyhow::Result<()> {
    let now = Clock::default().now();
    match action {
        ApiKeyAction::Create { name } => {
            // The prefix tells a key from a user's token at a glance (and in leaked logs).
            let key = format!("lk_{}", crate::auth::new_secret_token().0);
            let hash = crate::auth::hash_token(&key);
            let mut tx = store.begin().await?;
            tx.insert_api_key(&name, &hash, now).await.map_err(|e| {
                if store::is_unique_violation(&e) {
                    anyhow::anyhow!("an API key named {name:?} exists already")
                } else {
                    e.into()
                }
            })?;
            tx.commit().await?;
            println!("{key}");
            eprintln!("API key {name:?} created: keep it now, it is not shown again");
        }
        ApiKeyAction::Revoke { name } => {
            let mut tx = store.begin().await?;
            let revoked = tx.revoke_api_key(&name, now).await?;
            tx.commit().await?;
            anyhow::ensure!(revoked, "no active API key named {name:?}");
            println!("API key {name:?} revoked");
        }
        ApiKeyAction::List => {
            for key in store.api_keys().await? {
                let state = if key.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                let created = crate::routes::me::timestamp(key.created_at)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                println!("{}\t{}\tcreated {}", key.name, state, created);
            }
        }
    }
    Ok(())
}
