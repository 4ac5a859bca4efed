//! The multipart form of an application under fuzz (issue #7): generated bodies, well-formed or
//! not (odd boundaries, missing headers, unknown fields, traversal in file names, files that
//! are almost images, bodies cut short), never make the server fail: each gets 201 or a
//! problem with a 4xx status (a body that ends inside a boundary after 15 s of silence), and
//! the server keeps answering.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use reqwest::StatusCode;

use crate::helpers::{TestApp, spawn_app_with};

/// One part of a generated form.
#[derive(Debug, Clone)]
struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

fn part() -> impl Strategy<Value = Part> {
    let name = prop_oneof![
        Just("text".to_owned()),
        Just("files".to_owned()),
        Just("files[]".to_owned()),
        Just("file".to_owned()),
        "[a-zа-я_\\[\\]\"]{0,12}",
    ];
    let file_name = proptest::option::of(prop_oneof![
        Just("../../etc/passwd".to_owned()),
        Just("..\\..\\boot.ini".to_owned()),
        Just("фото счётчика.jpg".to_owned()),
        Just(String::new()),
        any::<String>(),
    ]);
    let content_type = proptest::option::of(prop_oneof![
        Just("image/png".to_owned()),
        Just("image/jpeg".to_owned()),
        Just("application/pdf".to_owned()),
        Just("text/plain; charset=utf-8".to_owned()),
        "[ -~]{0,30}",
    ]);
    let data = prop_oneof![
        // Text, Cyrillic or not, sometimes too long.
        any::<String>().prop_map(String::into_bytes),
        "[а-яё ]{3990,4010}".prop_map(String::into_bytes),
        // What the server recognises, followed by anything.
        (
            prop_oneof![
                Just(b"\x89PNG\r\n\x1a\n".to_vec()),
                Just(vec![0xFF, 0xD8, 0xFF]),
                Just(b"%PDF-".to_vec()),
                Just(b"\x89PNG\r\n".to_vec()),
            ],
            proptest::collection::vec(any::<u8>(), 0..512),
        )
            .prop_map(|(head, tail)| [head, tail].concat()),
        proptest::collection::vec(any::<u8>(), 0..1024),
    ];
    (name, file_name, content_type, data).prop_map(|(name, file_name, content_type, data)| Part {
        name,
        file_name,
        content_type,
        data,
    })
}

/// A body: its parts, the boundary it announces, the boundary it uses, and where it is cut.
#[derive(Debug, Clone)]
struct Body {
    parts: Vec<Part>,
    announced: String,
    used: String,
    cut: Option<usize>,
    content_type: Option<String>,
}

fn body() -> impl Strategy<Value = Body> {
    let boundary = "[A-Za-z0-9'()+_,./:=?-]{1,70}";
    (
        proptest::collection::vec(part(), 0..8),
        boundary,
        proptest::option::weighted(0.2, boundary),
        proptest::option::weighted(0.2, any::<usize>()),
        proptest::option::weighted(
            0.1,
            prop_oneof![
                Just("multipart/form-data".to_owned()),
                Just("application/json".to_owned()),
                "[ -~]{0,40}",
            ],
        ),
    )
        .prop_map(|(parts, announced, other, cut, content_type)| Body {
            parts,
            used: other.unwrap_or_else(|| announced.clone()),
            announced,
            cut,
            content_type,
        })
}

impl Body {
    fn content_type(&self) -> String {
        self.content_type
            .clone()
            .unwrap_or_else(|| format!("multipart/form-data; boundary=\"{}\"", self.announced))
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for part in &self.parts {
            out.extend_from_slice(format!("--{}\r\n", self.used).as_bytes());
            let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", part.name);
            if let Some(file_name) = &part.file_name {
                disposition.push_str(&format!("; filename=\"{file_name}\""));
            }
            out.extend_from_slice(disposition.as_bytes());
            out.extend_from_slice(b"\r\n");
            if let Some(content_type) = &part.content_type {
                out.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&part.data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{}--\r\n", self.used).as_bytes());
        if let Some(cut) = self.cut {
            out.truncate(cut % (out.len() + 1));
        }
        out
    }
}

async fn send(
    app: &TestApp,
    client: &reqwest::Client,
    access: &str,
    meter: i64,
    body: &Body,
) -> Result<(), String> {
    let response = client
        .post(app.url(&format!("/api/v1/meters/{meter}/applications")))
        .bearer_auth(access)
        .header("content-type", body.content_type())
        .body(body.bytes())
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let allowed = [
        StatusCode::CREATED,
        StatusCode::BAD_REQUEST,
        StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        StatusCode::UNPROCESSABLE_ENTITY,
    ];
    if !allowed.contains(&status) {
        return Err(format!(
            "answered {status}: {}",
            response.text().await.unwrap_or_default()
        ));
    }
    if status != StatusCode::CREATED && content_type != "application/problem+json" {
        return Err(format!("{status} as {content_type}, not a problem"));
    }
    if status != StatusCode::CREATED {
        let problem: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
        let detail = problem["detail"].as_str().unwrap_or_default();
        if !is_russian(detail) {
            return Err(format!("{status} with a detail not in Russian: {detail}"));
        }
    }
    Ok(())
}

/// Russian prose: Cyrillic, and no Latin word but the format names the customer needs.
fn is_russian(detail: &str) -> bool {
    const ALLOWED: [&str; 9] = [
        "UTF",
        "multipart",
        "form",
        "data",
        "text",
        "files",
        "JPEG",
        "PNG",
        "PDF",
    ];
    detail.chars().any(|c| matches!(c, 'а'..='я' | 'А'..='Я'))
        && detail
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|word| word.len() > 1)
            .all(|word| ALLOWED.contains(&word))
}

#[test]
fn generated_forms_never_make_the_server_fail() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (app, access, meter) = runtime.block_on(async {
        // Many applications are filed on purpose here.
        let app = spawn_app_with(|c| c.rate_limits.applications_per_user.max = u32::MAX).await;
        app.load_demo().await;
        let (access, account) = app
            .customer_with_account("fuzz@mail.ru", "720000032", "500")
            .await;
        let meter = app.meter_id(&access, account, "ГВС1").await;
        (app, access, meter)
    });
    // A connection per request: the server closes one whose body it did not read to the end,
    // and a pooled client could send the next request on it before it sees the close.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    let mut runner = TestRunner::new(Config::with_cases(cases));
    runner
        .run(&body(), |body| {
            runtime
                .block_on(send(&app, &client, &access, meter, &body))
                .map_err(TestCaseError::fail)
        })
        .unwrap();
    let alive = runtime.block_on(async { app.get_auth("/api/v1/me", &access).await.status() });
    assert_eq!(alive, StatusCode::OK);
}
