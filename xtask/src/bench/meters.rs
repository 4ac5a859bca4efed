//! `meters`: `GET /api/v1/accounts/{id}/meters` per second against actix-web's hello world on the
//! same machine, with the same load generator and concurrency.

use super::load::{self, Load};
use super::report::{Section, ratio};
use super::server::{Backend, Database, Lk, Server, free_port, fresh_dir};
use super::{Ctx, flows};

const WORKERS: usize = 16;

/// A customer with the demo account 720000032 linked: (access token, account id).
pub async fn demo_customer(
    client: &reqwest::Client,
    server: &Server,
    email: &str,
) -> anyhow::Result<(String, i64)> {
    flows::customer(client, server, email).await?;
    let access = flows::login(client, server, email).await?;
    let ids = flows::link_accounts(
        client,
        server,
        email,
        &access,
        &[("720000032".to_owned(), "500.00".to_owned())],
    )
    .await?;
    Ok((access, ids[0]))
}

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let load = Load::closed(WORKERS, ctx.warmup(), ctx.duration(10));
    let client = load::client();

    let port = free_port()?;
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command.args(["bench-hello", &format!("127.0.0.1:{port}")]);
    let hello = Server::spawn_other(command, port).await?;
    let url = hello.url("/");
    let hello_client = client.clone();
    let reference = load::run(load, move |_, _| {
        let request = hello_client.get(&url).send();
        async move { load::check(request.await, 200).await }
    })
    .await;
    reference.check("hello world")?;
    hello.stop();

    let dir = fresh_dir(&ctx.work, "meters")?;
    let db = Database::create(&Backend::Sqlite, &dir).await?;
    let lk = Lk::new(&ctx.lk, &dir, &db.url);
    lk.run(&["demo"])?;
    let server = lk.serve().await?;
    let (access, account) = demo_customer(&client, &server, "meters@bench.ru").await?;
    let url = server.url(&format!("/api/v1/accounts/{account}/meters"));
    let meters_client = client.clone();
    let meters = load::run(load, move |_, _| {
        let request = meters_client.get(&url).bearer_auth(&access).send();
        async move { load::check(request.await, 200).await }
    })
    .await;
    meters.check("GET meters")?;
    server.stop();

    let mut section = Section::new("meters", "The meters of an account");
    section.method(format!(
        "{WORKERS} workers send requests back to back for {} s after a {} ms warm-up, first to \
         actix-web's hello world (a tiny server inside xtask, `xtask bench-hello`, with \
         actix-web's default number of workers, as `lk`), then \
         `GET /api/v1/accounts/{{id}}/meters` to `lk serve` on SQLite with the demo data (the \
         account 720000032 with ГВС1, ГВС2, ОТП1, linked by a customer).",
        load.duration.as_secs(),
        load.warmup.as_millis()
    ));
    section.figure("hello world requests/s", format!("{:.0}", reference.rate()));
    section.figure("GET meters requests/s", format!("{:.0}", meters.rate()));
    section.figure(
        "GET meters latency p50 / p99",
        format!("{:.2} ms / {:.2} ms", meters.p50_ms(), meters.p99_ms()),
    );
    section.figure(
        "hello world latency p50 / p99",
        format!(
            "{:.2} ms / {:.2} ms",
            reference.p50_ms(),
            reference.p99_ms()
        ),
    );
    let r = ratio(meters.rate(), reference.rate());
    section.target(
        "GET meters/s ÷ hello world/s",
        "≥ 0.5",
        format!("{r:.2}"),
        r >= 0.5,
    );
    section.note(
        "Per request `lk` verifies the JWT, reads the user and session, then the account's \
         meters (through the user's links) and their recent readings in one read transaction, \
         builds the JSON and counts the request in its metrics; the hello world does none of \
         it. SQLite answers these reads on the calling thread through rusqlite \
         (`store/sqlite_inline.rs`): through sqlx each query was a hop to its connection \
         thread and back, over half the server's CPU time. The load generator's own cost per \
         request is the same for both and takes a share of the same two cores. The session is read \
         in the same read transaction as the meters: perf on 2026-12-05 showed the server's two \
         workers going to sleep about 2,000 times a second on SQLite's one mutex of the WAL \
         index (`unixShmLock`), which every read transaction takes to begin and to end, while \
         the cores were 17 % idle; with one transaction per request instead of two, four runs \
         gave 0.48–0.51 where four before gave 0.43–0.60, with the hello world between 53,000 \
         and 83,000 requests/s.",
    );
    Ok(section)
}
