//! Rate limits (R4): 429 with `Retry-After`, per account, per address and per IP.

use std::time::Duration;

use api::config::Limit;
use reqwest::{Response, StatusCode};
use serde_json::json;

use crate::helpers::{PASSWORD, TestApp, assert_problem, registration, spawn_app_with};

/// Asserts a 429 problem whose `Retry-After` is a number of seconds within the window.
async fn assert_limited(response: Response, window_secs: u64) -> u64 {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("a 429 tells when to retry")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds");
    assert!(
        (1..=window_secs).contains(&retry_after),
        "Retry-After {retry_after} outside 1..={window_secs}"
    );
    let problem =
        assert_problem(response, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
    assert!(problem["detail"].as_str().unwrap().contains("мин"));
    retry_after
}

async fn attempt(app: &TestApp, email: &str, password: &str) -> Response {
    app.post(
        "/api/v1/auth/login",
        &json!({ "email": email, "password": password }),
    )
    .await
}

fn limit(max: u32, secs: u64) -> Limit {
    Limit {
        max,
        window: Duration::from_secs(secs),
    }
}

#[tokio::test]
async fn failed_logins_lock_the_account_for_a_while() {
    let app = spawn_app_with(|c| c.rate_limits.login_per_account = limit(3, 900)).await;
    app.confirmed_customer("locked@mail.ru").await;
    app.confirmed_customer("bystander@mail.ru").await;

    // A success resets the count of failures.
    for _ in 0..2 {
        let wrong = attempt(&app, "locked@mail.ru", "не-тот-пароль").await;
        assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    assert_eq!(
        attempt(&app, "locked@mail.ru", PASSWORD).await.status(),
        StatusCode::OK
    );

    // Three failures, in any letter case of the address…
    for email in ["locked@mail.ru", "LOCKED@mail.ru", "Locked@Mail.RU"] {
        let wrong = attempt(&app, email, "не-тот-пароль").await;
        assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    // …and even the right password is refused for now.
    assert_limited(attempt(&app, "locked@mail.ru", PASSWORD).await, 900).await;
    // Other accounts are not affected.
    assert_eq!(
        attempt(&app, "bystander@mail.ru", PASSWORD).await.status(),
        StatusCode::OK
    );
    // Unknown addresses are limited the same way (the answer does not tell them apart).
    for _ in 0..3 {
        let wrong = attempt(&app, "nobody@mail.ru", "не-тот-пароль").await;
        assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    assert_limited(attempt(&app, "nobody@mail.ru", "не-тот-пароль").await, 900).await;

    // Malformed addresses belong to nobody: they get the same answer, counted per IP only.
    for _ in 0..5 {
        let junk = attempt(&app, &"x".repeat(5000), "не-тот-пароль").await;
        assert_problem(junk, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }

    app.clock.advance(901);
    assert_eq!(
        attempt(&app, "locked@mail.ru", PASSWORD).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_password_reset_lifts_the_lock_of_wrong_guesses() {
    let app = spawn_app_with(|c| c.rate_limits.login_per_account = limit(3, 900)).await;
    app.confirmed_customer("guessed@mail.ru").await;
    for _ in 0..3 {
        let wrong = attempt(&app, "guessed@mail.ru", "не-тот-пароль").await;
        assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    assert_limited(attempt(&app, "guessed@mail.ru", PASSWORD).await, 900).await;

    // The owner proves themselves through the mailbox…
    let forgot = app
        .post(
            "/api/v1/auth/forgot-password",
            &json!({ "email": "guessed@mail.ru" }),
        )
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let mail = app
        .wait_for_mail("guessed@mail.ru", "/reset-password?token=", 1)
        .await;
    let token = crate::helpers::token_in(&mail, "/reset-password?token=");
    let new_password = "Совсем-новый-пароль-7";
    let reset = app
        .post(
            "/api/v1/auth/reset-password",
            &json!({ "token": token, "password": new_password, "password_confirmation": new_password }),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    // …and signs in at once with the new password, not 15 minutes later.
    assert_eq!(
        attempt(&app, "guessed@mail.ru", new_password)
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn guesses_sent_at_once_are_limited_as_if_one_by_one() {
    let app = spawn_app_with(|c| c.rate_limits.login_per_account = limit(3, 900)).await;
    app.confirmed_customer("burst@mail.ru").await;
    let guesses = (0..12).map(|i| {
        let app = &app;
        async move {
            attempt(app, "burst@mail.ru", &format!("догадка-{i}"))
                .await
                .status()
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let checked = answers
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let refused = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, refused), (3, 9), "{answers:?}");
}

#[tokio::test]
async fn a_signed_in_user_repeating_the_password_gets_the_guesses_of_a_login() {
    let app = spawn_app_with(|c| c.rate_limits.login_per_account = limit(3, 900)).await;
    let access = app.signed_in_customer("stolen.token@mail.ru").await;
    let change = |current: &str| {
        json!({
            "current_password": current,
            "new_password": "Надёжный-пароль-31",
            "new_password_confirmation": "Надёжный-пароль-31",
        })
    };
    // The right password, checked and then refused for the new one, costs no guess.
    let common = json!({
        "current_password": PASSWORD,
        "new_password": "iloveyou",
        "new_password_confirmation": "iloveyou",
    });
    for _ in 0..3 {
        let refused = app.post_auth("/api/v1/me/password", &access, &common).await;
        assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    for guess in ["догадка-1", "догадка-2", "догадка-3"] {
        let wrong = app
            .post_auth("/api/v1/me/password", &access, &change(guess))
            .await;
        assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    // The fourth is refused before it is checked, on every route that checks the password.
    let fourth = app
        .post_auth("/api/v1/me/password", &access, &change(PASSWORD))
        .await;
    assert_limited(fourth, 900).await;
    let email = app
        .post_auth(
            "/api/v1/me/email",
            &access,
            &json!({ "new_email": "new.address@mail.ru", "current_password": PASSWORD }),
        )
        .await;
    assert_limited(email, 900).await;
    assert_limited(attempt(&app, "stolen.token@mail.ru", PASSWORD).await, 900).await;

    app.clock.advance(901);
    let changed = app
        .post_auth("/api/v1/me/password", &access, &change(PASSWORD))
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
}

#[tokio::test]
async fn logins_from_one_ip_are_limited() {
    let app = spawn_app_with(|c| c.rate_limits.login_per_ip = limit(3, 600)).await;
    for n in 0..3 {
        let response = app
            .post(
                "/api/v1/auth/login",
                &json!({ "email": format!("user{n}@mail.ru"), "password": "не-тот-пароль" }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let fourth = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "user9@mail.ru", "password": "не-тот-пароль" }),
        )
        .await;
    assert_limited(fourth, 600).await;
    app.clock.advance(601);
    let later = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "user9@mail.ru", "password": "не-тот-пароль" }),
        )
        .await;
    assert_eq!(later.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn behind_a_proxy_the_ip_limit_counts_the_address_the_proxy_saw() {
    let app = spawn_app_with(|c| {
        c.trust_proxy = true;
        c.rate_limits.login_per_ip = limit(2, 600);
    })
    .await;
    // nginx appends the address it saw; whatever stands to its left came from the client.
    let login_via_proxy = |forwarded_for: String| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("X-Forwarded-For", forwarded_for)
            .json(&json!({ "email": "nobody@mail.ru", "password": "не-тот-пароль" }))
            .send()
    };
    for n in 0..2 {
        let forged = format!("10.0.0.{n}, 198.51.100.7");
        assert_eq!(
            login_via_proxy(forged).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let third = login_via_proxy("10.0.0.99, 198.51.100.7".into())
        .await
        .unwrap();
    assert_limited(third, 600).await;
    // Another client behind the same proxy is not held back.
    let neighbour = login_via_proxy("198.51.100.8".into()).await.unwrap();
    assert_eq!(neighbour.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn mail_to_one_address_is_limited_across_every_mail_sending_endpoint() {
    let app = spawn_app_with(|c| c.rate_limits.mail_per_address = limit(3, 3600)).await;
    let register = app
        .post("/api/v1/auth/register", &registration("flood@mail.ru"))
        .await;
    assert_eq!(register.status(), StatusCode::ACCEPTED);
    let resend = app
        .post(
            "/api/v1/auth/resend-confirmation",
            &json!({ "email": "flood@mail.ru" }),
        )
        .await;
    assert_eq!(resend.status(), StatusCode::ACCEPTED);
    let forgot = app
        .post(
            "/api/v1/auth/forgot-password",
            &json!({ "email": "FLOOD@mail.ru" }),
        )
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);

    // The address has had its three messages this hour, whichever endpoint asks.
    for (path, body) in [
        (
            "/api/v1/auth/forgot-password",
            json!({ "email": "flood@mail.ru" }),
        ),
        (
            "/api/v1/auth/resend-confirmation",
            json!({ "email": "flood@mail.ru" }),
        ),
        ("/api/v1/auth/register", registration("flood@mail.ru")),
    ] {
        assert_limited(app.post(path, &body).await, 3600).await;
    }
    app.wait_for_outbox_drained().await;
    assert_eq!(app.mails_to("flood@mail.ru", "").len(), 3);

    // Another address is not affected; after the window the address is served again.
    let other = app
        .post(
            "/api/v1/auth/forgot-password",
            &json!({ "email": "calm@mail.ru" }),
        )
        .await;
    assert_eq!(other.status(), StatusCode::ACCEPTED);
    app.clock.advance(3601);
    let later = app
        .post(
            "/api/v1/auth/forgot-password",
            &json!({ "email": "flood@mail.ru" }),
        )
        .await;
    assert_eq!(later.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn mail_a_stranger_asks_for_does_not_stop_the_owner_linking_an_account() {
    let app = spawn_app_with(|c| c.rate_limits.mail_per_address = limit(2, 3600)).await;
    app.load_demo().await;
    let access = app.signed_in_customer("owner@mail.ru").await;
    for _ in 0..3 {
        app.post(
            "/api/v1/auth/forgot-password",
            &json!({ "email": "owner@mail.ru" }),
        )
        .await;
    }
    let linked = app
        .post_auth(
            "/api/v1/accounts",
            &access,
            &json!({ "number": "720000032", "last_payment_amount": "500" }),
        )
        .await;
    assert_eq!(linked.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn one_account_cannot_mail_address_after_address() {
    let app = spawn_app_with(|c| c.rate_limits.mail_per_address = limit(2, 3600)).await;
    let change_to = |access: String, address: &'static str| {
        let body = json!({ "new_email": address, "current_password": PASSWORD });
        let app = &app;
        async move { app.post_auth("/api/v1/me/email", &access, &body).await }
    };
    let access = app.signed_in_customer("mover@mail.ru").await;
    // The mail of registration went to mover@mail.ru: one of its two letters an hour.
    let first = change_to(access.clone(), "first@mail.ru").await;
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    // Each new address is fresh, but the account's own address has had its two.
    assert_limited(change_to(access, "second@mail.ru").await, 3600).await;
    app.clock.advance(3601);
    let access = app.login("mover@mail.ru", PASSWORD).await;
    let third = change_to(access, "third@mail.ru").await;
    assert_eq!(third.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn registrations_from_one_ip_are_limited() {
    let app = spawn_app_with(|c| c.rate_limits.mail_per_ip = limit(2, 3600)).await;
    for email in ["first@mail.ru", "second@mail.ru"] {
        let response = app
            .post("/api/v1/auth/register", &registration(email))
            .await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
    }
    let third = app
        .post("/api/v1/auth/register", &registration("third@mail.ru"))
        .await;
    assert_limited(third, 3600).await;
    assert!(
        app.state
            .store
            .user_by_email("third@mail.ru")
            .await
            .unwrap()
            .is_none(),
        "a refused registration creates nothing"
    );
}
