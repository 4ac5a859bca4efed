use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_problem, field_codes, registration, spawn_app, token_in};

#[tokio::test]
async fn register_confirm_login_refresh_logout() {
    let app = spawn_app().await;
    let token = app.register("ivanov@mail.ru").await;

    // Not confirmed yet: the right password gets a clear message.
    let response = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "ivanov@mail.ru", "password": PASSWORD }),
        )
        .await;
    assert_problem(response, StatusCode::FORBIDDEN, "email_not_confirmed").await;

    let confirmed = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let again = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
        .await;
    assert_problem(again, StatusCode::BAD_REQUEST, "token_invalid").await;

    let response = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "IVANOV@mail.ru", "password": PASSWORD, "remember_me": true }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Max-Age"),
        "{cookie}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    let access = body["access_token"].as_str().unwrap().to_owned();

    let me: Value = app
        .get_auth("/api/v1/me", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "ivanov@mail.ru");
    assert_eq!(me["phone"], "79876543210");
    assert_eq!(me["role"], "customer");

    let refreshed = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    let body: Value = refreshed.json().await.unwrap();
    let access2 = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get_auth("/api/v1/me", &access2).await.status(),
        StatusCode::OK
    );

    let logout = app
        .client
        .post(app.url("/api/v1/auth/logout"))
        .bearer_auth(&access2)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.get_auth("/api/v1/me", &access2).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let after = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .send()
        .await
        .unwrap();
    assert_problem(after, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn registration_refuses_bad_fields_with_their_codes() {
    let app = spawn_app().await;
    let mut form = registration("someone@gmail.com");
    form["phone"] = json!("+79876543210");
    form["password"] = json!("password");
    form["password_confirmation"] = json!("password");
    form["consent"] = json!(false);
    form["full_name"] = json!("   ");
    let problem = assert_problem(
        app.post("/api/v1/auth/register", &form).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let codes = field_codes(&problem);
    for expected in [
        ("email", "email_foreign_domain"),
        ("phone", "phone_plus_sign"),
        ("password", "password_too_common"),
        ("consent", "consent_required"),
    ] {
        assert!(
            codes.contains(&(expected.0.into(), expected.1.into())),
            "{expected:?} not in {codes:?}"
        );
    }
    assert!(
        problem["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("406-ФЗ")
    );
    assert!(codes.iter().any(|(f, _)| f == "full_name"));
    assert!(app.sent_mail().is_empty());
}

#[tokio::test]
async fn registering_a_taken_address_answers_the_same_and_tells_its_owner() {
    let app = spawn_app().await;
    let first = app
        .post("/api/v1/auth/register", &registration("owner@mail.ru"))
        .await;
    let first_status = first.status();
    let first_body: Value = first.json().await.unwrap();
    let second = app
        .post("/api/v1/auth/register", &registration("Owner@Mail.ru"))
        .await;
    assert_eq!(second.status(), first_status);
    assert_eq!(second.json::<Value>().await.unwrap(), first_body);
    let notice = app
        .wait_for_mail("owner@mail.ru", "уже зарегистрирован", 1)
        .await;
    assert!(notice.contains("/forgot-password"));
}

#[tokio::test]
async fn forgot_password_answers_the_same_and_the_link_works_once() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("forgot@mail.ru").await;
    let known = app
        .post(
            "/api/v1/auth/forgot-password",
            &json!({ "email": "forgot@mail.ru" }),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/auth/forgot-password",
            &json!({ "email": "nobody@mail.ru" }),
        )
        .await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    let known: Value = known.json().await.unwrap();
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(known["status"], unknown["status"]);

    let mail = app
        .wait_for_mail("forgot@mail.ru", "/reset-password?token=", 1)
        .await;
    let token = token_in(&mail, "/reset-password?token=");
    let weak = app
        .post(
            "/api/v1/auth/reset-password",
            &json!({ "token": token, "password": "123", "password_confirmation": "123" }),
        )
        .await;
    assert_problem(weak, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let new_password = "Новый-пароль-2025";
    let reset = app
        .post("/api/v1/auth/reset-password", &json!({ "token": token, "password": new_password, "password_confirmation": new_password }))
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    let reuse = app
        .post("/api/v1/auth/reset-password", &json!({ "token": token, "password": new_password, "password_confirmation": new_password }))
        .await;
    assert_problem(reuse, StatusCode::BAD_REQUEST, "token_invalid").await;
    // Every session ended with the reset.
    assert_eq!(
        app.get_auth("/api/v1/me", &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.login("forgot@mail.ru", new_password).await;
}

#[tokio::test]
async fn a_confirmation_link_expires_after_a_day() {
    let app = spawn_app().await;
    let token = app.register("late@mail.ru").await;
    app.clock.advance(24 * 3600 + 1);
    let late = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
        .await;
    assert_problem(late, StatusCode::BAD_REQUEST, "token_expired").await;
    let user = app
        .state
        .store
        .user_by_email("late@mail.ru")
        .await
        .unwrap()
        .unwrap();
    assert!(user.email_confirmed_at.is_none());
}

#[tokio::test]
async fn a_password_change_voids_older_access_tokens_but_keeps_this_session() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("change@mail.ru").await;
    let other_device = app.login("change@mail.ru", PASSWORD).await;
    let new_password = "Другой-пароль-77";
    let response = app
        .post_auth(
            "/api/v1/me/password",
            &access,
            &json!({ "current_password": PASSWORD, "new_password": new_password, "new_password_confirmation": new_password }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let renewed = body["access_token"].as_str().unwrap();
    assert_eq!(
        app.get_auth("/api/v1/me", &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get_auth("/api/v1/me", &other_device).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get_auth("/api/v1/me", renewed).await.status(),
        StatusCode::OK
    );
    app.login("change@mail.ru", new_password).await;
}
