//! `journey`: the customer's main journey, endpoint by endpoint, on SQLite and on PostgreSQL:
//! throughput and latency of each call under the same load, and the server's peak memory.

use std::sync::Arc;

use reqwest::multipart::{Form, Part};
use serde_json::json;

use super::load::{self, Load, Outcome};
use super::report::Section;
use super::server::{Backend, Database, Lk, fresh_dir};
use super::{Ctx, flows};

const WORKERS: usize = 16;

/// One customer per worker, each with an account of three meters of their own.
struct Customer {
    email: String,
    access: String,
    account: i64,
    meters: Vec<i64>,
}

/// The calls of the journey in the order a customer makes them (manual: sign in, the main page,
/// «Передача показаний», the history, «Приборы учета» and an application).
const STEPS: &[&str] = &[
    "POST /auth/login",
    "GET /me",
    "GET /accounts",
    "GET /accounts/{id}/meters",
    "POST /meters/{id}/readings",
    "GET /meters/{id}/readings",
    "POST /meters/{id}/applications",
    "GET /applications",
];

/// The smallest valid PNG signature and header; the server recognises files by content.
fn photo() -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    data.resize(64 * 1024, 7);
    data
}

async fn step(
    client: reqwest::Client,
    base: String,
    customers: Arc<Vec<Customer>>,
    name: &'static str,
    worker: usize,
    iteration: u64,
) -> Result<(), String> {
    let customer = &customers[worker % customers.len()];
    let meter = customer.meters[iteration as usize % customer.meters.len()];
    let url = |path: &str| format!("{base}/api/v1{path}");
    let get = |path: &str| client.get(url(path)).bearer_auth(&customer.access).send();
    match name {
        "POST /auth/login" => {
            let request = client
                .post(url("/auth/login"))
                .json(&json!({ "email": customer.email, "password": flows::PASSWORD }))
                .send();
            load::check(request.await, 200).await
        }
        "GET /me" => load::check(get("/me").await, 200).await,
        "GET /accounts" => load::check(get("/accounts").await, 200).await,
        "GET /accounts/{id}/meters" => {
            load::check(
                get(&format!("/accounts/{}/meters", customer.account)).await,
                200,
            )
            .await
        }
        "POST /meters/{id}/readings" => {
            // Growing values: a later submission in the month replaces the earlier one.
            let value = format!("{}.{:03}", 1 + iteration / 1000, iteration % 1000);
            let request = client
                .post(url(&format!("/meters/{meter}/readings")))
                .bearer_auth(&customer.access)
                .json(&json!({ "value": value }))
                .send();
            load::check(request.await, 201).await
        }
        "GET /meters/{id}/readings" => {
            load::check(get(&format!("/meters/{meter}/readings")).await, 200).await
        }
        "POST /meters/{id}/applications" => {
            let file = Part::bytes(photo())
                .file_name("счётчик.png")
                .mime_str("image/png")
                .map_err(|e| e.to_string())?;
            let form = Form::new()
                .text(
                    "text",
                    format!("Фото счётчика, заявление {worker}-{iteration}."),
                )
                .part("files", file);
            let request = client
                .post(url(&format!("/meters/{meter}/applications")))
                .bearer_auth(&customer.access)
                .multipart(form)
                .send();
            load::check(request.await, 201).await
        }
        "GET /applications" => load::check(get("/applications").await, 200).await,
        other => Err(format!("unknown step {other}")),
    }
}

/// Every step on one backend: (step, outcome) and the server's peak resident memory.
async fn on(
    ctx: &Ctx,
    backend: Backend,
    label: &str,
) -> anyhow::Result<(Vec<(&'static str, Outcome)>, u64)> {
    let dir = fresh_dir(&ctx.work, &format!("journey-{label}"))?;
    let db = Database::create(&backend, &dir).await?;
    let lk = Lk::new(&ctx.lk, &dir, &db.url);
    let server = lk.serve().await?;
    let client = load::client();
    let key = lk.api_key()?;
    let accounts =
        flows::billing_accounts(&client, &server, &key, 760_000_000, WORKERS as u64).await?;
    let mut customers = Vec::new();
    for (index, account) in accounts.iter().enumerate() {
        let email = format!("journey{index}@bench.ru");
        flows::customer(&client, &server, &email).await?;
        let access = flows::login(&client, &server, &email).await?;
        let ids = flows::link_accounts(
            &client,
            &server,
            &email,
            &access,
            std::slice::from_ref(account),
        )
        .await?;
        let meters = flows::meter_ids(&client, &server, &access, ids[0]).await?;
        customers.push(Customer {
            email,
            access,
            account: ids[0],
            meters,
        });
    }
    let customers = Arc::new(customers);
    let load = Load::closed(WORKERS, ctx.warmup(), ctx.duration(5));
    let mut outcomes = Vec::new();
    for &name in STEPS {
        let (client, base, customers) = (client.clone(), server.base.clone(), customers.clone());
        let outcome = load::run(load, move |worker, iteration| {
            step(
                client.clone(),
                base.clone(),
                customers.clone(),
                name,
                worker,
                iteration,
            )
        })
        .await;
        outcome.check(&format!("{name} on {label}"))?;
        println!(
            "  {label}: {name}: {:.0}/s, p99 {:.1} ms",
            outcome.rate(),
            outcome.p99_ms()
        );
        outcomes.push((name, outcome));
    }
    let (peak, _) = server.memory()?;
    server.stop();
    db.drop_database().await?;
    Ok((outcomes, peak))
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let mut section = Section::new("journey", "The customer journey, endpoint by endpoint");
    let load = Load::closed(WORKERS, ctx.warmup(), ctx.duration(5));
    section.method(format!(
        "{WORKERS} customers, each with an account of 3 meters pushed through the integration \
         API and linked through its activation e-mail. For each call of the journey in turn, \
         {WORKERS} workers (one per customer) send it back to back for {} s after a {} ms \
         warm-up; submissions go to the customer's own meters, applications carry a 64 KiB PNG. \
         `lk serve` (release, `RUST_LOG=info`, logging every request to a file) on a fresh \
         SQLite file, then on a fresh PostgreSQL database. Peak memory is VmHWM of the server \
         process after the whole journey.",
        load.duration.as_secs(),
        load.warmup.as_millis()
    ));
    for (backend, label, title) in ctx.backends() {
        let (outcomes, peak) = on(ctx, backend, label).await?;
        for (name, outcome) in outcomes {
            section.figure(
                format!("{title}: {name}"),
                format!(
                    "{:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                    outcome.rate(),
                    outcome.p50_ms(),
                    outcome.p99_ms()
                ),
            );
        }
        section.figure(
            format!("{title}: peak memory of lk"),
            format!("{:.0} MiB", peak as f64 / 1024.0 / 1024.0),
        );
    }
    section.note(
        "Login is bound by argon2id (19 MiB, 2 passes) by design; `login` measures the raw \
         rate of the same machine. Every other call verifies the JWT and reads the session with \
         its user before it does its own work. The application calls run last, so \
         `GET /applications` lists the few hundred applications each customer filed a moment \
         before, with their files.",
    );
    Ok(section)
}
