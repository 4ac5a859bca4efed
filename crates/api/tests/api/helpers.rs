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

    /// Every .eml written so far, as text, oldest first (the sender writes one at a time).
    pub fn sent_mail(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.outbox_dir()) else {
            return Vec::new();
        };
        let mut files: Vec<(std::time::SystemTime, String)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
            .filter_map(|e| {
                let modified = e.metadata().ok()?.modified().ok()?;
                Some((modified, std::fs::read_to_string(e.path()).ok()?))
            })
            .collect();
        files.sort_by_key(|(modified, _)| *modified);
        files.into_iter().map(|(_, text)| text).collect()
    }

    /// Waits for the `nth` (from 1) message to `to` whose text contains `needle`.
    pub async fn wait_for_mail(&self, to: &str, needle: &str, nth: usize) -> String {
        for _ in 0..100 {
            let matching: Vec<String> = self
                .sent_mail()
                .into_iter()
                .filter(|m| {
                    m.contains(&format!("To: {}", to.trim().to_lowercase())) && m.contains(needle)
                })
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
// ---------------------------------------------------------------------------------------------
// Sessions, cookies and tokens.

/// The `Set-Cookie` header that sets the refresh cookie, if the response has one.
pub fn refresh_set_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("lk_refresh="))
        .map(str::to_owned)
}

/// The value of a `Set-Cookie` header: `lk_refresh=VALUE; …` → `VALUE`.
pub fn cookie_value(set_cookie: &str) -> String {
    set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.split_once('='))
        .map(|(_, value)| value.to_owned())
        .unwrap_or_default()
}

/// The claims of a JWT, read without checking it.
pub fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT has three parts");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url payload");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// A signed-in browser of its own: its cookie jar holds the session's refresh cookie.
pub struct Browser {
    pub client: Client,
    pub access: String,
    /// The session id the access token belongs to.
    pub session_id: i64,
}

impl TestApp {
    /// `POST /auth/login` from `client`.
    pub async fn login_request(
        &self,
        client: &Client,
        email: &str,
        password: &str,
        remember_me: bool,
    ) -> Response {
        client
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": password, "remember_me": remember_me }))
            .send()
            .await
            .unwrap()
    }

    /// Signs in from a new browser.
    pub async fn browser(&self, email: &str, password: &str, remember_me: bool) -> Browser {
        let client = new_client();
        let response = self
            .login_request(&client, email, password, remember_me)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        let access = body["access_token"].as_str().unwrap().to_owned();
        let session_id = jwt_claims(&access)["sid"].as_i64().unwrap();
        Browser {
            client,
            access,
            session_id,
        }
    }

    /// `POST /auth/logout` with whatever cookie `client` holds and, if given, `access` as the
    /// bearer.
    pub async fn logout(&self, client: &Client, access: Option<&str>) -> Response {
        let mut request = client.post(self.url("/api/v1/auth/logout"));
        if let Some(access) = access {
            request = request.bearer_auth(access);
        }
        request.send().await.unwrap()
    }

    /// `POST /auth/refresh` with whatever cookie `client` holds.
    pub async fn refresh_from(&self, client: &Client) -> Response {
        client
            .post(self.url("/api/v1/auth/refresh"))
            .send()
            .await
            .unwrap()
    }

    /// `POST /auth/refresh` with exactly this refresh token as the cookie.
    pub async fn refresh_with_token(&self, refresh_token: &str) -> Response {
        Client::new()
            .post(self.url("/api/v1/auth/refresh"))
            .header("cookie", format!("lk_refresh={refresh_token}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn status_of_me(&self, access: &str) -> StatusCode {
        self.get_auth("/api/v1/me", access).await.status()
    }

    pub async fn me(&self, access: &str) -> Value {
        let response = self.get_auth("/api/v1/me", access).await;
        assert_eq!(response.status(), StatusCode::OK);
        response.json().await.unwrap()
    }

    pub async fn patch_auth(&self, path: &str, token: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn delete_auth(&self, path: &str, token: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Registers and confirms a customer without signing in.
    pub async fn confirmed_customer(&self, email: &str) {
        let token = self.register(email).await;
        let confirmed = self
            .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
            .await;
        assert_eq!(confirmed.status(), StatusCode::OK);
    }

    /// Every message to `to` containing `needle`, oldest first.
    pub fn mails_to(&self, to: &str, needle: &str) -> Vec<String> {
        self.sent_mail()
            .into_iter()
            .filter(|m| {
                m.contains(&format!("To: {}", to.trim().to_lowercase())) && m.contains(needle)
            })
            .collect()
    }

    /// Waits until `n` messages to `to` contain `needle`, and returns them oldest first.
    pub async fn wait_for_mails(&self, to: &str, needle: &str, n: usize) -> Vec<String> {
        for _ in 0..100 {
            let found = self.mails_to(to, needle);
            if found.len() >= n {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "fewer than {n} mails to {to} containing {needle:?}; sent: {:#?}",
            self.sent_mail()
        );
    }

    /// The tokens of the links starting with `prefix` in the first `n` messages to `to` that
    /// hold one, oldest first (waiting for them as `wait_for_mails` does).
    pub async fn mailed_tokens(&self, to: &str, prefix: &str, n: usize) -> Vec<String> {
        self.wait_for_mails(to, prefix, n)
            .await
            .iter()
            .map(|mail| token_in(mail, prefix))
            .collect()
    }

    /// Waits until the outbox has nothing left to send, so that "no mail" can be asserted.
    pub async fn wait_for_outbox_drained(&self) {
        for _ in 0..100 {
            if self.state.store.pending_mail().await.unwrap() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the outbox did not drain");
    }
}

// ---------------------------------------------------------------------------------------------
// Looking into the database behind the API, for what the API does not show.

/// One row of the mail outbox.
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub recipient: String,
    pub subject: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
}

type OutboxTuple = (String, String, i64, Option<String>, Option<i64>);

/// The outbox, oldest first, read with a connection of its own.
pub async fn outbox_rows(app: &TestApp) -> Vec<OutboxRow> {
    use sqlx::Connection;
    const SQL: &str =
        "SELECT recipient, subject, attempts, last_error, sent_at FROM outbox ORDER BY id";
    let url = app.state.config.database_url.expose().to_owned();
    let rows: Vec<OutboxTuple> = if url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&mut db).await.unwrap()
    } else {
        let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_as(SQL).fetch_all(&mut db).await.unwrap()
    };
    rows.into_iter()
        .map(
            |(recipient, subject, attempts, last_error, sent_at)| OutboxRow {
                recipient,
                subject,
                attempts,
                last_error,
                sent_at,
            },
        )
        .collect()
}

/// When the user gave their consent, and to which version of the text.
pub async fn consent_of(app: &TestApp, email: &str) -> (i64, String) {
    use sqlx::Connection;
    const SQL: &str = "SELECT consent_at, consent_version FROM users WHERE email = $1";
    let url = app.state.config.database_url.expose().to_owned();
    if url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_as(SQL)
            .bind(email)
            .fetch_one(&mut db)
            .await
            .unwrap()
    } else {
        let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_as(SQL)
            .bind(email)
            .fetch_one(&mut db)
            .await
            .unwrap()
    }
}

/// Every value of `column` in `table` (text columns only), read with a connection of its own.
pub async fn column_values(app: &TestApp, table: &str, column: &str) -> Vec<String> {
    use sqlx::Connection;
    let sql = sqlx::AssertSqlSafe(format!("SELECT {column} FROM {table} ORDER BY 1"));
    let url = app.state.config.database_url.expose().to_owned();
    if url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut db).await.unwrap()
    } else {
        let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::query_scalar(sql).fetch_all(&mut db).await.unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// A real SMTP receiver (mailin-embedded) on 127.0.0.1, and a little MIME decoding.

/// A message as the SMTP receiver got it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    pub raw: String,
    /// The decoded `Subject`.
    pub subject: String,
    /// Every text part, decoded, one after another.
    pub text: String,
}

#[derive(Clone, Default)]
struct Recorder {
    inbox: std::sync::Arc<std::sync::Mutex<Vec<ReceivedMail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for Recorder {
    fn data_start(
        &mut self,
        _domain: &str,
        _from: &str,
        _is8bit: bool,
        to: &[String],
    ) -> mailin_embedded::Response {
        self.to = to.to_vec();
        self.data.clear();
        mailin_embedded::response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> mailin_embedded::Response {
        let raw = String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned();
        let (subject, text) = decode_message(&raw);
        self.inbox.lock().unwrap().push(ReceivedMail {
            to: std::mem::take(&mut self.to),
            raw,
            subject,
            text,
        });
        mailin_embedded::response::OK
    }
}

/// An SMTP server in a thread of this test process; it lives as long as the process.
pub struct SmtpReceiver {
    pub port: u16,
    inbox: std::sync::Arc<std::sync::Mutex<Vec<ReceivedMail>>>,
}

impl SmtpReceiver {
    /// Starts a receiver on a random free port.
    pub fn start() -> Self {
        Self::serve(TcpListener::bind("127.0.0.1:0").unwrap())
    }

    /// Starts a receiver on `port` (which must be free).
    pub fn start_on(port: u16) -> Self {
        Self::serve(TcpListener::bind(("127.0.0.1", port)).unwrap())
    }

    fn serve(listener: TcpListener) -> Self {
        let port = listener.local_addr().unwrap().port();
        let recorder = Recorder::default();
        let inbox = recorder.inbox.clone();
        let mut server = mailin_embedded::Server::new(recorder);
        server
            .with_name("smtp.test")
            .with_ssl(mailin_embedded::SslConfig::None)
            .unwrap()
            .with_num_threads(2)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            let _ = server.serve();
        });
        Self { port, inbox }
    }

    /// The URL the app sends through: plain SMTP to this receiver.
    pub fn url(&self) -> String {
        smtp_url(self.port)
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.inbox.lock().unwrap().clone()
    }

    /// Messages to `to` whose decoded text contains `needle`, in the order received.
    pub fn received_by(&self, to: &str, needle: &str) -> Vec<ReceivedMail> {
        self.received()
            .into_iter()
            .filter(|m| m.to.iter().any(|r| r.eq_ignore_ascii_case(to)) && m.text.contains(needle))
            .collect()
    }

    /// Waits (up to ten seconds) for the `nth` (from 1) such message.
    pub async fn wait_for(&self, to: &str, needle: &str, nth: usize) -> ReceivedMail {
        for _ in 0..200 {
            if let Some(mail) = self.received_by(to, needle).get(nth - 1) {
                return mail.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "no mail to {to} containing {needle:?} arrived over SMTP; received: {:#?}",
            self.received()
        );
    }
}

/// Plain SMTP, no TLS, to a receiver on this machine (as documented for `SMTP_URL`).
pub fn smtp_url(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}?tls=none")
}

/// A port on which nothing listens (it was free a moment ago).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Splits a message (or a part) into unfolded headers and the body.
fn split_message(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The subject and the decoded text of every `text/*` part of a MIME message.
pub fn decode_message(raw: &str) -> (String, String) {
    let (headers, body) = split_message(raw);
    let subject = decode_words(header(&headers, "subject").unwrap_or_default());
    (subject, decode_entity(&headers, body))
}

fn decode_entity(headers: &[(String, String)], body: &str) -> String {
    let content_type = header(headers, "content-type").unwrap_or("text/plain");
    if content_type.to_ascii_lowercase().starts_with("multipart/") {
        let boundary = content_type
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
            .map(|(_, v)| v.trim_matches('"').to_owned())
            .expect("a multipart message names its boundary");
        let delimiter = format!("--{boundary}");
        return body
            .split(&delimiter)
            .skip(1)
            .take_while(|part| !part.starts_with("--"))
            .map(|part| {
                let part = part.trim_start_matches(['\r', '\n']);
                let (part_headers, part_body) = split_message(part);
                decode_entity(&part_headers, part_body)
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    if !content_type.to_ascii_lowercase().starts_with("text/") {
        return String::new();
    }
    let encoding = header(headers, "content-transfer-encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    match encoding.as_str() {
        "base64" => {
            use base64::Engine;
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("valid base64 body");
            String::from_utf8(bytes).expect("UTF-8 text")
        }
        "quoted-printable" => {
            let joined = body.replace("=\r\n", "").replace("=\n", "");
            String::from_utf8(decode_hex_escapes(&joined, false)).expect("UTF-8 text")
        }
        _ => body.to_owned(),
    }
}

/// `=XX` escapes to bytes; in RFC 2047 Q words `_` is a space too.
fn decode_hex_escapes(text: &str, underscore_is_space: bool) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'=');
                        i += 1;
                    }
                }
            }
            b'_' if underscore_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`) in a header value.
pub fn decode_words(value: &str) -> String {
    let mut out = String::new();
    // Whether the previous token was an encoded word; `None` before the first token.
    let mut previous_was_word: Option<bool> = None;
    for token in value.split_whitespace() {
        let word = token
            .strip_prefix("=?")
            .and_then(|t| t.strip_suffix("?="))
            .and_then(|t| {
                let mut parts = t.splitn(3, '?');
                Some((parts.next()?, parts.next()?, parts.next()?))
            });
        match word {
            Some((_charset, encoding, text)) => {
                let bytes = if encoding.eq_ignore_ascii_case("b") {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .expect("base64 encoded word")
                } else {
                    decode_hex_escapes(text, true)
                };
                // Whitespace between adjacent encoded words is not part of the text.
                if previous_was_word == Some(false) {
                    out.push(' ');
                }
                out.push_str(&String::from_utf8(bytes).expect("UTF-8 encoded word"));
                previous_was_word = Some(true);
            }
            None => {
                if previous_was_word.is_some() {
                    out.push(' ');
                }
                out.push_str(token);
                previous_was_word = Some(false);
            }
        }
    }
    out
}
