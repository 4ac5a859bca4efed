use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn probes_answer() {
    let app = spawn_app().await;
    let health: Value = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: Value = ready.json().await.unwrap();
    let expected = if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(ready["database"], expected);
}

#[tokio::test]
async fn probes_answer_head_requests() {
    let app = spawn_app().await;
    for probe in ["/healthz", "/readyz"] {
        let response = app.client.head(app.url(probe)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{probe}");
    }
}

#[tokio::test]
async fn info_tells_branch_hotline_and_window() {
    let app = spawn_app().await;
    let info: Value = app
        .client
        .get(app.url("/api/v1/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["hotline"], "8(8412)21-07-21");
    assert!(info["branch"].as_str().unwrap().contains("Т Плюс"));
    assert_eq!(info["submission_window"]["first_day"], 1);
    assert_eq!(info["submission_window"]["last_day"], 31);
    assert_eq!(info["submission_window"]["open_now"], true);
    let today = info["today"].as_str().unwrap();
    assert_eq!(today.len(), 10, "ISO date expected, got {today}");
    assert_eq!(info["submission_window"]["next_opening"], today);
}

#[tokio::test]
async fn a_configured_window_is_reported_with_its_next_opening() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.branch.window = domain::SubmissionWindow::new(15, 25).unwrap();
    })
    .await;
    let info: Value = app
        .client
        .get(app.url("/api/v1/info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["submission_window"]["first_day"], 15);
    let next = info["submission_window"]["next_opening"].as_str().unwrap();
    let open_now = info["submission_window"]["open_now"].as_bool().unwrap();
    let day: u32 = next[8..].parse().unwrap();
    if open_now {
        assert!((15..=25).contains(&day))
    } else {
        assert_eq!(day, 15)
    }
}

#[tokio::test]
async fn malformed_json_is_a_400_problem() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/register"))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::BAD_REQUEST, "malformed_json").await;
}

#[tokio::test]
async fn wrong_content_type_is_a_415_problem() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;
}

#[tokio::test]
async fn a_huge_body_is_a_413_problem() {
    let app = spawn_app().await;
    let huge = format!("{{\"email\": \"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let response = app
        .client
        .post(app.url("/api/v1/auth/forgot-password"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

#[tokio::test]
async fn wrong_shape_and_unknown_fields_are_422_with_the_field() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/v1/auth/login",
            &serde_json::json!({ "email": "a@mail.ru" }),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "password");
    assert_eq!(problem["errors"][0]["code"], "required");

    let response = app
        .post(
            "/api/v1/auth/forgot-password",
            &serde_json::json!({ "email": "a@mail.ru", "admin": true }),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "admin");

    // A value of the wrong type is reported at its field, in Russian.
    let response = app
        .post(
            "/api/v1/auth/login",
            &serde_json::json!({ "email": 5, "password": "x" }),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "email");
    assert_eq!(problem["errors"][0]["code"], "invalid_type");
    assert_eq!(
        problem["errors"][0]["detail"],
        "Значение поля имеет неверный тип."
    );

    // serde would build a struct out of an array; a body must be an object.
    let token = app.signed_in_customer("array@mail.ru").await;
    let response = app
        .patch_auth("/api/v1/me", &token, &serde_json::json!([null, null]))
        .await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_are_problems() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/no-such-thing"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    let response = app
        .client
        .get(app.url("/api/v1/auth/register"))
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    let response = app
        .client
        .delete(app.url("/api/v1/info"))
        .send()
        .await
        .unwrap();
    assert_problem(
        response,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn metrics_count_requests_by_route() {
    let app = spawn_app().await;
    app.client
        .get(app.url("/api/v1/info"))
        .send()
        .await
        .unwrap();
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            "lk_http_requests_total{method=\"GET\",route=\"/api/v1/info\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("lk_outbox_pending_messages"));
}

#[tokio::test]
async fn docs_are_served_from_the_binary() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(
        !html.contains("cdn"),
        "the docs page must not load from a CDN"
    );
    let bundle = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), StatusCode::OK);
    // Swagger UI would send the document's URL to validator.swagger.io.
    let initializer = app
        .client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "{initializer}"
    );
    // Without the slash, the same page, its links resolved under /docs/.
    let page = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("swagger-ui") && html.contains(r#"<base href="/docs/">"#),
        "{html}"
    );
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/api/v1/info"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    assert_eq!(response.headers()["x-frame-options"], "DENY");
    let request_id = response.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
}
