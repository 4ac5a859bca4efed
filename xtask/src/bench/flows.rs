//! The flows a benchmark needs before it measures, done the way a customer or an integrator does
//! them: register, confirm through the e-mailed link (an .eml under DATA_DIR/outbox), log in,
//! link accounts, push billing data.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

use super::server::Server;

pub const PASSWORD: &str = "Тёплый-дом-2024";

/// The tokens of every link `prefix…` in the messages to `to` so far.
fn tokens_in_outbox(outbox: &Path, to: &str, prefix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(outbox) else {
        return Vec::new();
    };
    let to_line = format!("To: {to}");
    let mut tokens = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        if !text.contains(&to_line) {
            continue;
        }
        let text = text.replace("=\r\n", "").replace("=\n", "");
        if let Some(start) = text.find(prefix) {
            let token: String = text[start + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if !tokens.contains(&token) {
                tokens.push(token);
            }
        }
    }
    tokens
}

/// Waits until `count` messages with links `prefix…` reached `to`; returns their tokens.
async fn wait_tokens(
    server: &Server,
    to: &str,
    prefix: &str,
    count: usize,
) -> anyhow::Result<Vec<String>> {
    let outbox = server.data_dir.join("outbox");
    let started = Instant::now();
    loop {
        let tokens = tokens_in_outbox(&outbox, to, prefix);
        if tokens.len() >= count {
            return Ok(tokens);
        }
        if started.elapsed() > Duration::from_secs(120) {
            bail!("only {} of {count} {prefix} mails to {to}", tokens.len());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(
    client: &reqwest::Client,
    url: String,
    token: Option<&str>,
    body: Value,
    status: u16,
) -> anyhow::Result<Value> {
    let mut request = client.post(&url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let got = response.status().as_u16();
    let text = response.text().await?;
    if got != status {
        bail!("POST {url}: expected {status}, got {got}: {text}");
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A confirmed customer able to log in.
pub async fn customer(
    client: &reqwest::Client,
    server: &Server,
    email: &str,
) -> anyhow::Result<()> {
    post(
        client,
        server.url("/api/v1/auth/register"),
        None,
        json!({
            "email": email,
            "full_name": "Иванов Иван Иванович",
            "phone": "79876543210",
            "password": PASSWORD,
            "password_confirmation": PASSWORD,
            "consent": true,
        }),
        202,
    )
    .await?;
    let token = wait_tokens(server, email, "/confirm-email?token=", 1).await?;
    post(
        client,
        server.url("/api/v1/auth/confirm-email"),
        None,
        json!({ "token": token[0] }),
        200,
    )
    .await?;
    Ok(())
}

/// Logs in; returns the access token.
pub async fn login(
    client: &reqwest::Client,
    server: &Server,
    email: &str,
) -> anyhow::Result<String> {
    let body = post(
        client,
        server.url("/api/v1/auth/login"),
        None,
        json!({ "email": email, "password": PASSWORD, "remember_me": true }),
        200,
    )
    .await?;
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the login answer")
}

/// Links accounts (number, last payment) to a signed-in customer through their activation
/// e-mails; returns the account ids.
pub async fn link_accounts(
    client: &reqwest::Client,
    server: &Server,
    email: &str,
    access: &str,
    accounts: &[(String, String)],
) -> anyhow::Result<Vec<i64>> {
    for (number, amount) in accounts {
        post(
            client,
            server.url("/api/v1/accounts"),
            Some(access),
            json!({ "number": number, "last_payment_amount": amount }),
            202,
        )
        .await?;
    }
    let tokens = wait_tokens(server, email, "/accounts/confirm?token=", accounts.len()).await?;
    let mut ids = Vec::new();
    for token in tokens {
        let body = post(
            client,
            server.url("/api/v1/accounts/confirm"),
            None,
            json!({ "token": token }),
            200,
        )
        .await?;
        ids.push(body["account_id"].as_i64().context("no account_id")?);
    }
    Ok(ids)
}

/// The ids of an account's meters.
pub async fn meter_ids(
    client: &reqwest::Client,
    server: &Server,
    access: &str,
    account_id: i64,
) -> anyhow::Result<Vec<i64>> {
    let response = client
        .get(server.url(&format!("/api/v1/accounts/{account_id}/meters")))
        .bearer_auth(access)
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "meters: {}",
        response.status()
    );
    let meters: Vec<Value> = response.json().await?;
    meters
        .iter()
        .map(|m| m["id"].as_i64().context("a meter without id"))
        .collect()
}

/// Billing's accounts `first..first + count`, each with ГВС1, ГВС2 and ОТП1 and no readings,
/// pushed through the integration API; returns (number, last payment) of each.
pub async fn billing_accounts(
    client: &reqwest::Client,
    server: &Server,
    api_key: &str,
    first: u64,
    count: u64,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut created = Vec::new();
    let numbers: Vec<u64> = (first..first + count).collect();
    for chunk in numbers.chunks(500) {
        let accounts: Vec<Value> = chunk
            .iter()
            .map(|n| {
                let meter = |name: &str, kind: &str| {
                    json!({
                        "name": name, "kind": kind, "serial_number": format!("{name}-{n}"),
                        "installed_on": "2024-01-15", "last_verification": "2024-01-15",
                        "next_verification": "2032-01-15",
                    })
                };
                json!({
                    "number": n.to_string(),
                    "address": format!("г. Пенза, ул. Нагрузочная, д. {}, кв. {}", n / 100 % 1000, n % 100),
                    "last_payment_amount": "100.00",
                    "last_payment_date": "2024-07-20",
                    "meters": [meter("ГВС1", "hot_water"), meter("ГВС2", "hot_water"), meter("ОТП1", "heating")],
                })
            })
            .collect();
        let response = client
            .put(server.url("/api/v1/integration/accounts"))
            .bearer_auth(api_key)
            .json(&json!({ "accounts": accounts }))
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        anyhow::ensure!(status.is_success(), "integration upsert: {status}: {text}");
        created.extend(chunk.iter().map(|n| (n.to_string(), "100.00".to_owned())));
    }
    Ok(created)
}
