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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the API and the SPA (migrates the database first).
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
}

impl Cli {
    pub async fn run(self) -> anyhow::Result<()> {
        if let Command::Openapi = self.command {
            print!("{}", crate::openapi::document());
            return Ok(());
        }
        let config = Config::from_env()?;
        telemetry::init(config.log_json);
        match self.command {
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
            Command::Openapi => unreachable!("handled above"),
        }
        Ok(())
    }
}

/// A password never comes as an argument (it would show in the process list and history).
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Пароль оператора: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    anyhow::ensure!(!password.is_empty(), "no password given on standard input");
    Ok(password)
}
