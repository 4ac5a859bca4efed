use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use api::app::{AppState, Application};
use api::clock::Clock;
use api::config::Config;
use api::store;
use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

pub const PASSWORD: &str = "Тёплый-дом-2024";

/// A fresh, empty database: a SQLite file in `dir`, or a new PostgreSQL database when
/// `TEST_DATABASE_URL` names a server.
pub async fn fresh_database_url(dir: &std::path::Path) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(server) if !server.is_empty() => {
            use sqlx::Connection;
            let name = format!("lk_test_{}", random_suffix());
            let mut admin = sqlx::PgConnection::connect(&server)
                .await
                .expect("TEST_DATABASE_URL reachable");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut admin)
                .await
                .expect("create test database");
            let base = server
                .rsplit_once('/')
                .map_or(server.as_str(), |(base, _)| base);
            format!("{base}/{name}")
        }
        _ => format!("sqlite://{}", dir.join("lk.sqlite3").display()),
    }
}

pub fn random_suffix() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

pub struct TestApp {
    pub address: String,
    pub client: Client,
    pub clock: Clock,
    pub state: actix_web::web::Data<AppState>,
    pub data_dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server with the test configuration changed by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    api::telemetry::init(false);
    let data_dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(data_dir.path()).await;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = Config::for_data_dir(data_dir.path(), &url).unwrap();
    config.public_base_url = format!("http://127.0.0.1:{port}");
    adjust(&mut config);
    let store = store::connect(&url).await.expect("open the test database");
    let clock = Clock::default();
    let app = Application::with_store(config, clock.clone(), store, listener).unwrap();
    let state = app.state.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: new_client(),
        clock,
        state,
        data_dir,
    }
}

/// A browser-like client: keeps cookies.
pub fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_auth(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    pub fn outbox_dir(&self) -> PathBuf {
        self.data_dir.path().join("outbox")
    }

    /// Every .eml written so far, as text.
    pub fn sent_mail(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.outbox_dir()) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect()
    }

    /// Waits for the `nth` (from 1) message to `to` whose text contains `needle`.
    pub async fn wait_for_mail(&self, to: &str, needle: &str, nth: usize) -> String {
        for _ in 0..100 {
            let matching: Vec<String> = self
                .sent_mail()
                .into_iter()
                .filter(|m| m.contains(&format!("To: {to}")) && m.contains(needle))
                .collect();
            if matching.len() >= nth {
                return matching.into_iter().next_back().unwrap();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no mail to {to} containing {needle:?}; sent: {:#?}",
            self.sent_mail()
        );
    }

    /// Registers a customer and returns the link token from the confirmation e-mail.
    pub async fn register(&self, email: &str) -> String {
        let response = self
            .post("/api/v1/auth/register", &registration(email))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::ACCEPTED,
            "{}",
            response.text().await.unwrap()
        );
        let mail = self.wait_for_mail(email, "/confirm-email?token=", 1).await;
        token_in(&mail, "/confirm-email?token=")
    }

    /// Registers, confirms and signs in a customer; returns the access token.
    pub async fn signed_in_customer(&self, email: &str) -> String {
        let token = self.register(email).await;
        let confirmed = self
            .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
            .await;
        assert_eq!(confirmed.status(), StatusCode::OK);
        self.login(email, PASSWORD).await
    }

    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self
            .post(
                "/api/v1/auth/login",
                &json!({ "email": email, "password": password }),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }
}

pub fn registration(email: &str) -> Value {
    json!({
        "email": email,
        "full_name": "Иванов Иван Иванович",
        "phone": "7(987)-654-32-10",
        "password": PASSWORD,
        "password_confirmation": PASSWORD,
        "consent": true,
    })
}

/// The token of the link `prefix…` in a message.
pub fn token_in(mail: &str, prefix: &str) -> String {
    let start = mail
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} in {mail}"))
        + prefix.len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Asserts a problem+json answer with `status` and `code`, and returns its body.
pub async fn assert_problem(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    body
}

pub fn field_codes(problem: &Value) -> Vec<(String, String)> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap().to_owned(),
                        e["code"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

impl TestApp {
    /// Loads the demo accounts (720000032 with last payment 500.00 …) and the demo operator.
    pub async fn load_demo(&self) {
        api::demo::load(
            self.state.store.as_ref(),
            &self.state.hasher,
            self.clock.now(),
        )
        .await
        .unwrap();
    }

    /// A new API key for integration calls.
    pub async fn api_key(&self) -> String {
        let key = format!("lk_test_{}", random_suffix());
        let mut tx = self.state.store.begin().await.unwrap();
        tx.insert_api_key(
            &format!("test-{}", random_suffix()),
            &api::auth::hash_token(&key),
            0,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        key
    }

    /// A signed-in customer with `number` linked through its activation e-mail; returns the
    /// access token and the account id.
    pub async fn customer_with_account(
        &self,
        email: &str,
        number: &str,
        amount: &str,
    ) -> (String, i64) {
        let access = self.signed_in_customer(email).await;
        let response = self
            .post_auth(
                "/api/v1/accounts",
                &access,
                &json!({ "number": number, "last_payment_amount": amount }),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::ACCEPTED,
            "{}",
            response.text().await.unwrap()
        );
        let mail = self
            .wait_for_mail(email, "/accounts/confirm?token=", 1)
            .await;
        let token = token_in(&mail, "/accounts/confirm?token=");
        let confirmed = self
            .post("/api/v1/accounts/confirm", &json!({ "token": token }))
            .await;
        assert_eq!(confirmed.status(), StatusCode::OK);
        let body: Value = confirmed.json().await.unwrap();
        (access, body["account_id"].as_i64().unwrap())
    }

    pub async fn meters(&self, access: &str, account_id: i64) -> Vec<Value> {
        let response = self
            .get_auth(&format!("/api/v1/accounts/{account_id}/meters"), access)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    /// The id of the meter named `name` (ГВС1 …).
    pub async fn meter_id(&self, access: &str, account_id: i64, name: &str) -> i64 {
        let meters = self.meters(access, account_id).await;
        meters.iter().find(|m| m["name"] == name).unwrap()["id"]
            .as_i64()
            .unwrap()
    }

    pub async fn submit(&self, access: &str, meter_id: i64, body: Value) -> Response {
        self.post_auth(
            &format!("/api/v1/meters/{meter_id}/readings"),
            access,
            &body,
        )
        .await
    }
}
