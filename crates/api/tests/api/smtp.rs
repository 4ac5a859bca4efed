//! E-mail over real SMTP (a mailin-embedded receiver in this process): the whole sign-up flow
//! with the link read from the received message, and an SMTP outage during registration (R5).

use std::time::Duration;

use api::config::{MailTransport, Secret};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, SmtpReceiver, assert_problem, free_port, outbox_rows, refresh_set_cookie,
    registration, smtp_url, spawn_app_with, token_in,
};

#[tokio::test]
async fn register_confirm_login_refresh_logout_over_smtp() {
    let smtp = SmtpReceiver::start();
    let url = smtp.url();
    let app = spawn_app_with(|c| c.mail.transport = MailTransport::Smtp(Secret::new(url))).await;

    let registered = app
        .post("/api/v1/auth/register", &registration("smtp.user@mail.ru"))
        .await;
    assert_eq!(registered.status(), StatusCode::ACCEPTED);

    let mail = smtp
        .wait_for("smtp.user@mail.ru", "/confirm-email?token=", 1)
        .await;
    assert_eq!(mail.subject, "Подтверждение регистрации");
    assert!(mail.text.contains("Иванов Иван Иванович"), "{}", mail.text);
    assert!(
        mail.raw.contains("noreply@lk.tplus58.ru") && mail.raw.contains("Message-ID: <"),
        "{}",
        mail.raw
    );
    let token = token_in(&mail.text, "/confirm-email?token=");
    // The link opens the SPA at the public address.
    let link = format!("{}/confirm-email?token={token}", app.address);
    assert!(mail.text.contains(&link), "{}", mail.text);
    // Nothing went to the file outbox.
    assert!(app.sent_mail().is_empty());

    let confirmed = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);

    let login = app
        .login_request(&app.client, "smtp.user@mail.ru", PASSWORD, false)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    assert!(refresh_set_cookie(&login).is_some());
    let body: Value = login.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.me(&access).await["email"], "smtp.user@mail.ru");

    let refreshed = app.refresh_from(&app.client).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let body: Value = refreshed.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.status_of_me(&access).await, StatusCode::OK);

    let logout = app.logout(&app.client, Some(&access)).await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.status_of_me(&access).await, StatusCode::UNAUTHORIZED);
    let after = app.refresh_from(&app.client).await;
    assert_problem(after, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;

    // Exactly one message was delivered, to the right envelope recipient.
    let all = smtp.received();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0].to, vec!["smtp.user@mail.ru".to_owned()]);
}

#[tokio::test]
async fn a_message_queued_while_smtp_is_down_is_sent_when_it_is_back() {
    let port = free_port();
    let app = spawn_app_with(|c| {
        c.mail.transport = MailTransport::Smtp(Secret::new(smtp_url(port)));
    })
    .await;

    // The API answers as usual although nothing listens on the SMTP port.
    let registered = app
        .post("/api/v1/auth/register", &registration("outage@mail.ru"))
        .await;
    assert_eq!(registered.status(), StatusCode::ACCEPTED);

    // The sender tried, failed and keeps the message for a later attempt.
    let mut failed = None;
    for _ in 0..100 {
        let rows = outbox_rows(&app).await;
        if rows.first().is_some_and(|r| r.last_error.is_some()) {
            failed = Some(rows);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows = failed.expect("the first delivery attempt should have failed");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].recipient, "outage@mail.ru");
    assert_eq!(rows[0].subject, "Подтверждение регистрации");
    assert!(
        rows[0].attempts >= 1 && rows[0].sent_at.is_none(),
        "{rows:?}"
    );
    assert_eq!(app.state.store.pending_mail().await.unwrap(), 1);

    // SMTP comes back. Move the app's clock past the back-off instead of waiting for it.
    let smtp = SmtpReceiver::start_on(port);
    for _ in 0..40 {
        if !smtp.received().is_empty() {
            break;
        }
        app.clock.advance(30);
        app.state.mailer.wake();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let mail = smtp
        .wait_for("outage@mail.ru", "/confirm-email?token=", 1)
        .await;
    let rows = outbox_rows(&app).await;
    assert!(
        rows[0].sent_at.is_some() && rows[0].attempts >= 2,
        "{rows:?}"
    );
    assert_eq!(smtp.received().len(), 1, "sent once, not once per attempt");

    // The link from the late message works.
    let token = token_in(&mail.text, "/confirm-email?token=");
    let confirmed = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    app.login("outage@mail.ru", PASSWORD).await;
}
