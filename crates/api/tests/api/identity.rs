use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, TestApp, assert_problem, consent_of, field_codes, refresh_set_cookie, registration,
    spawn_app, spawn_app_with, token_in,
};

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
    // A second click is refused, with what to do instead.
    let again = assert_problem(again, StatusCode::BAD_REQUEST, "email_already_confirmed").await;
    assert!(again["detail"].as_str().unwrap().contains("Войдите"));

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

    let logout = app.logout(&app.client, Some(&access2)).await;
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
    // `detail` alone tells what is wrong, for clients that show nothing else.
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("406-ФЗ") && detail.contains("«+»"),
        "{detail}"
    );
    assert!(app.sent_mail().is_empty());

    let problem = assert_problem(
        app.post("/api/v1/auth/register", &registration("someone@gmail.com"))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["detail"], problem["errors"][0]["detail"]);
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

// ---------------------------------------------------------------------------------------------
// F1 Registration: every field with good and bad input.

#[tokio::test]
async fn registration_accepts_every_valid_form_of_each_field() {
    let app = spawn_app().await;
    let long_password = "я".repeat(128);
    let mut form = registration("Ivan@Почта.РФ");
    form["full_name"] = json!("  Петров   Пётр  ");
    form["phone"] = json!(" 7 (912) 345-67-89 ");
    form["password"] = json!(long_password);
    form["password_confirmation"] = json!(long_password);
    let response = app.post("/api/v1/auth/register", &form).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "accepted");
    assert!(body["detail"].as_str().unwrap().contains("ivan@почта.рф"));

    // Stored normalised; the mail goes to the punycode form of the domain.
    let mail = app
        .wait_for_mail("ivan@xn--80a1acny.xn--p1ai", "/confirm-email?token=", 1)
        .await;
    assert!(mail.contains("Петров Пётр"));
    let token = token_in(&mail, "/confirm-email?token=");
    let confirmed = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    // Either form of the address signs in.
    app.login("ivan@xn--80a1acny.xn--p1ai", &long_password)
        .await;
    let access = app.login("IVAN@почта.рф", &long_password).await;
    let me = app.me(&access).await;
    assert_eq!(me["email"], "ivan@почта.рф");
    assert_eq!(me["full_name"], "Петров Пётр");
    assert_eq!(me["phone"], "79123456789");
    assert_eq!(me["role"], "customer");

    // The consent is stored with its time and the version of its text.
    let (consent_at, version) = consent_of(&app, "ivan@почта.рф").await;
    assert_eq!(version, api::identity::CONSENT_VERSION);
    assert!((consent_at - app.clock.now()).abs() < 60, "{consent_at}");

    // The other Russian domains, a Latin name with an apostrophe and hyphen, and a short
    // password of any script.
    for (email, name, password) in [
        ("old@sovet.su", "O'Neil John-Paul", "абвгдежз"),
        ("user@mail.xn--p1ai", "Анна Каренина", "x7#Lq!9z"),
        (
            "user+tag@sub.domain.ru",
            "Ли Си",
            "correct horse battery staple",
        ),
    ] {
        let mut form = registration(email);
        form["full_name"] = json!(name);
        form["password"] = json!(password);
        form["password_confirmation"] = json!(password);
        let response = app.post("/api/v1/auth/register", &form).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED, "{email}");
    }
    let stored = app
        .state
        .store
        .user_by_email("user@mail.рф")
        .await
        .unwrap()
        .expect("stored with the Unicode domain");
    assert_eq!(stored.full_name, "Анна Каренина");
}

#[tokio::test]
async fn registration_refuses_each_bad_field_with_its_code() {
    let app = spawn_app().await;
    let too_long_name = "Я".repeat(151);
    let too_long_password = "я".repeat(129);
    // (field to change, value, field with the error, code)
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("email", json!(""), "email", "email_required"),
        ("email", json!("not-an-address"), "email", "email_invalid"),
        ("email", json!("user@@mail.ru"), "email", "email_invalid"),
        (
            "email",
            json!("user@gmail.com"),
            "email",
            "email_foreign_domain",
        ),
        (
            "email",
            json!("user@yahoo.com"),
            "email",
            "email_foreign_domain",
        ),
        (
            "email",
            json!("user@mail.ru.com"),
            "email",
            "email_foreign_domain",
        ),
        ("full_name", json!(""), "full_name", "full_name_required"),
        ("full_name", json!("   "), "full_name", "full_name_required"),
        (
            "full_name",
            json!("Иван2 Петров"),
            "full_name",
            "full_name_invalid_characters",
        ),
        (
            "full_name",
            json!("Иван <script>"),
            "full_name",
            "full_name_invalid_characters",
        ),
        ("full_name", json!("Я"), "full_name", "full_name_too_short"),
        (
            "full_name",
            json!(too_long_name),
            "full_name",
            "full_name_too_long",
        ),
        (
            "full_name",
            json!("-Иван Петров"),
            "full_name",
            "full_name_misplaced_punctuation",
        ),
        ("phone", json!(""), "phone", "phone_required"),
        ("phone", json!("+79876543210"), "phone", "phone_plus_sign"),
        (
            "phone",
            json!("+7 (987) 654-32-10"),
            "phone",
            "phone_plus_sign",
        ),
        ("phone", json!("89876543210"), "phone", "phone_invalid"),
        ("phone", json!("7987654321"), "phone", "phone_invalid"),
        ("phone", json!("798765432101"), "phone", "phone_invalid"),
        ("phone", json!("7987654321a"), "phone", "phone_invalid"),
        (
            "password",
            json!("Шесть7!"),
            "password",
            "password_too_short",
        ),
        (
            "password",
            json!(too_long_password),
            "password",
            "password_too_long",
        ),
        (
            "password",
            json!("qwerty123"),
            "password",
            "password_too_common",
        ),
        (
            "password",
            json!("Password1"),
            "password",
            "password_too_common",
        ),
        (
            "password",
            json!("bad.user-2024"),
            "password",
            "password_similar_to_email",
        ),
        (
            "password_confirmation",
            json!("Тёплый-дом-2025"),
            "password_confirmation",
            "password_mismatch",
        ),
        ("consent", json!(false), "consent", "consent_required"),
    ];
    for (field, value, error_field, code) in cases {
        let mut form = registration("bad.user@mail.ru");
        form[field] = value.clone();
        if field == "password" {
            form["password_confirmation"] = value.clone();
        }
        let problem = assert_problem(
            app.post("/api/v1/auth/register", &form).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(
            field_codes(&problem),
            vec![(error_field.to_owned(), code.to_owned())],
            "{field} = {value}"
        );
        let detail = problem["errors"][0]["detail"].as_str().unwrap();
        assert!(
            !detail.is_empty() && !detail.is_ascii(),
            "a Russian message: {detail}"
        );
        match code {
            "email_foreign_domain" => assert!(detail.contains("406-ФЗ"), "{detail}"),
            "phone_plus_sign" => assert!(detail.contains("+"), "{detail}"),
            _ => {}
        }
    }

    // Missing fields, wrong types and unknown fields are refused too.
    let mut missing = registration("bad.user@mail.ru");
    missing.as_object_mut().unwrap().remove("consent");
    let mut wrong_type = registration("bad.user@mail.ru");
    wrong_type["consent"] = json!("yes");
    let mut unknown = registration("bad.user@mail.ru");
    unknown["role"] = json!("operator");
    for form in [missing, wrong_type, unknown] {
        assert_problem(
            app.post("/api/v1/auth/register", &form).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }

    // Nothing was created and nothing sent.
    assert!(
        app.state
            .store
            .user_by_email("bad.user@mail.ru")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(app.state.store.pending_mail().await.unwrap(), 0);
    assert!(app.sent_mail().is_empty());
}

#[tokio::test]
async fn an_unconfirmed_account_gets_403_only_with_the_right_password() {
    let app = spawn_app().await;
    app.register("waiting@mail.ru").await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "nobody@mail.ru", "password": "не-тот-пароль" }),
        )
        .await;
    let wrong = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "waiting@mail.ru", "password": "не-тот-пароль" }),
        )
        .await;
    assert_eq!(wrong.status(), unknown.status());
    assert_eq!(
        wrong.json::<Value>().await.unwrap(),
        unknown.json::<Value>().await.unwrap()
    );

    let right = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "Waiting@Mail.ru", "password": PASSWORD }),
        )
        .await;
    assert!(
        refresh_set_cookie(&right).is_none(),
        "no session for an unconfirmed account"
    );
    let problem = assert_problem(right, StatusCode::FORBIDDEN, "email_not_confirmed").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Отправить повторно"),
        "the message offers the resend: {problem}"
    );
}

#[tokio::test]
async fn the_answer_is_the_same_for_existing_and_unknown_addresses() {
    let app = spawn_app_with(|c| c.rate_limits.mail_per_address.max = 100).await;
    let email = "same.answer@mail.ru";

    /// Every answer that must not tell whether `email` is registered.
    async fn answers(app: &TestApp, email: &str) -> Vec<(&'static str, u16, Value)> {
        let mut out = Vec::new();
        for (name, path, body) in [
            (
                "forgot",
                "/api/v1/auth/forgot-password",
                json!({ "email": email }),
            ),
            (
                "resend",
                "/api/v1/auth/resend-confirmation",
                json!({ "email": email }),
            ),
            (
                "login",
                "/api/v1/auth/login",
                json!({ "email": email, "password": "не-тот-пароль" }),
            ),
        ] {
            let response = app.post(path, &body).await;
            let status = response.status().as_u16();
            out.push((name, status, response.json::<Value>().await.unwrap()));
        }
        out
    }

    let unknown = answers(&app, email).await;
    app.wait_for_outbox_drained().await;
    assert!(
        app.mails_to(email, "").is_empty(),
        "nothing is sent to an unknown address"
    );
    assert_eq!(unknown[0].1, 202);
    assert_eq!(unknown[1].1, 202);
    assert_eq!(unknown[2].1, 401);

    let first = app
        .post("/api/v1/auth/register", &registration(email))
        .await;
    let first = (first.status(), first.json::<Value>().await.unwrap());
    let unconfirmed = answers(&app, email).await;
    assert_eq!(unconfirmed, unknown);
    let again = app
        .post("/api/v1/auth/register", &registration(email))
        .await;
    assert_eq!(
        (again.status(), again.json::<Value>().await.unwrap()),
        first
    );

    let token = app.wait_for_mail(email, "/confirm-email?token=", 1).await;
    let token = token_in(&token, "/confirm-email?token=");
    let confirmed = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let confirmed = answers(&app, email).await;
    assert_eq!(confirmed, unknown);
    let again = app
        .post("/api/v1/auth/register", &registration(email))
        .await;
    assert_eq!(
        (again.status(), again.json::<Value>().await.unwrap()),
        first
    );
    // The owner is told of the attempts instead.
    app.wait_for_mails(email, "уже зарегистрирован", 2).await;
}

#[tokio::test]
async fn resend_confirmation_gives_a_new_working_link() {
    let app = spawn_app().await;
    let first = app.register("resend@mail.ru").await;
    let response = app
        .post(
            "/api/v1/auth/resend-confirmation",
            &json!({ "email": "RESEND@mail.ru" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let tokens = app
        .mailed_tokens("resend@mail.ru", "/confirm-email?token=", 2)
        .await;
    let second = tokens
        .iter()
        .find(|t| **t != first)
        .expect("a new link")
        .clone();
    let confirmed = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": second }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    app.login("resend@mail.ru", PASSWORD).await;

    // Once confirmed, a resend sends nothing (and answers the same).
    let after = app
        .post(
            "/api/v1/auth/resend-confirmation",
            &json!({ "email": "resend@mail.ru" }),
        )
        .await;
    assert_eq!(after.status(), StatusCode::ACCEPTED);
    app.wait_for_outbox_drained().await;
    assert_eq!(
        app.mails_to("resend@mail.ru", "/confirm-email?token=")
            .len(),
        2
    );

    // A malformed address is a field error, not a silent 202.
    let bad = app
        .post(
            "/api/v1/auth/resend-confirmation",
            &json!({ "email": "user@gmail.com" }),
        )
        .await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        field_codes(&problem),
        vec![("email".to_owned(), "email_foreign_domain".to_owned())]
    );
}

#[tokio::test]
async fn a_confirmation_link_works_until_its_day_is_over() {
    let app = spawn_app().await;
    let token = app.register("just-in-time@mail.ru").await;
    app.clock.advance(24 * 3600 - 60);
    let confirmed = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let app = spawn_app().await;
    app.confirmed_customer("slow@mail.ru").await;
    let forgot = app
        .post(
            "/api/v1/auth/forgot-password",
            &json!({ "email": "slow@mail.ru" }),
        )
        .await;
    assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    let mail = app
        .wait_for_mail("slow@mail.ru", "/reset-password?token=", 1)
        .await;
    assert!(mail.contains("Ссылка действует 1 час"), "{mail}");
    let token = token_in(&mail, "/reset-password?token=");
    app.clock.advance(3600 + 1);
    let new_password = "Опоздавший-пароль-9";
    let late = app
        .post(
            "/api/v1/auth/reset-password",
            &json!({ "token": token, "password": new_password, "password_confirmation": new_password }),
        )
        .await;
    assert_problem(late, StatusCode::BAD_REQUEST, "token_expired").await;
    // Nothing changed.
    app.login("slow@mail.ru", PASSWORD).await;

    // A fresh link used within the hour works.
    app.post(
        "/api/v1/auth/forgot-password",
        &json!({ "email": "slow@mail.ru" }),
    )
    .await;
    let fresh = app
        .mailed_tokens("slow@mail.ru", "/reset-password?token=", 2)
        .await
        .into_iter()
        .find(|t| *t != token)
        .unwrap();
    app.clock.advance(59 * 60);
    let mismatch = app
        .post(
            "/api/v1/auth/reset-password",
            &json!({ "token": fresh, "password": new_password, "password_confirmation": "другой-пароль-9" }),
        )
        .await;
    let problem = assert_problem(
        mismatch,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        field_codes(&problem),
        vec![(
            "password_confirmation".to_owned(),
            "password_mismatch".to_owned()
        )]
    );
    let reset = app
        .post(
            "/api/v1/auth/reset-password",
            &json!({ "token": fresh, "password": new_password, "password_confirmation": new_password }),
        )
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    app.login("slow@mail.ru", new_password).await;
    let wrong = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "slow@mail.ru", "password": PASSWORD }),
        )
        .await;
    assert_problem(wrong, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    app.wait_for_mail(
        "slow@mail.ru",
        "Пароль от вашего личного кабинета изменён",
        1,
    )
    .await;
}

#[tokio::test]
async fn a_link_works_only_for_its_own_purpose_and_only_by_post() {
    let app = spawn_app().await;
    let confirm = app.register("purpose@mail.ru").await;

    // A GET (a mail scanner opening the link) does not use the token up.
    let get = app
        .client
        .get(app.url(&format!("/api/v1/auth/confirm-email?token={confirm}")))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), StatusCode::METHOD_NOT_ALLOWED);

    // The confirmation token does not reset a password or change an e-mail.
    let as_reset = app
        .post(
            "/api/v1/auth/reset-password",
            &json!({ "token": confirm, "password": "Новый-пароль-42", "password_confirmation": "Новый-пароль-42" }),
        )
        .await;
    assert_problem(as_reset, StatusCode::BAD_REQUEST, "token_invalid").await;
    let as_change = app
        .post(
            "/api/v1/auth/confirm-email-change",
            &json!({ "token": confirm }),
        )
        .await;
    assert_problem(as_change, StatusCode::BAD_REQUEST, "token_invalid").await;
    // …and it still confirms.
    let confirmed = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": confirm }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);

    // A reset token does not confirm anything else.
    app.post(
        "/api/v1/auth/forgot-password",
        &json!({ "email": "purpose@mail.ru" }),
    )
    .await;
    let mail = app
        .wait_for_mail("purpose@mail.ru", "/reset-password?token=", 1)
        .await;
    let reset = token_in(&mail, "/reset-password?token=");
    for path in [
        "/api/v1/auth/confirm-email",
        "/api/v1/auth/confirm-email-change",
    ] {
        let response = app.post(path, &json!({ "token": reset })).await;
        assert_problem(response, StatusCode::BAD_REQUEST, "token_invalid").await;
    }
    // Made-up tokens.
    for token in ["", "x", &"A".repeat(43)] {
        let response = app
            .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
            .await;
        assert_problem(response, StatusCode::BAD_REQUEST, "token_invalid").await;
    }
    app.login("purpose@mail.ru", PASSWORD).await;
}

#[tokio::test]
async fn the_login_e_mail_is_case_insensitive() {
    let app = spawn_app().await;
    app.confirmed_customer("Mixed.Case@Mail.RU").await;
    let stored = app
        .state
        .store
        .user_by_email("mixed.case@mail.ru")
        .await
        .unwrap()
        .expect("stored in lower case");
    assert_eq!(stored.email, "mixed.case@mail.ru");
    for email in [
        "mixed.case@mail.ru",
        "MIXED.CASE@MAIL.RU",
        "  Mixed.Case@mail.ru ",
    ] {
        app.login(email, PASSWORD).await;
    }
    // The password is not case-insensitive.
    let upper = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "mixed.case@mail.ru", "password": PASSWORD.to_uppercase() }),
        )
        .await;
    assert_problem(upper, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    // A second registration in another case is the same address.
    let again = app
        .post("/api/v1/auth/register", &registration("MIXED.case@mail.ru"))
        .await;
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    app.wait_for_mail("mixed.case@mail.ru", "уже зарегистрирован", 1)
        .await;
}

// ---------------------------------------------------------------------------------------------
// F7 Settings: profile, e-mail, password.

#[tokio::test]
async fn the_profile_follows_the_registration_rules() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("profile@mail.ru").await;
    let before = app.me(&access).await;

    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({ "phone": "+79876543210" }),
            "phone",
            "phone_plus_sign",
        ),
        (
            json!({ "phone": "8 987 654 32 10" }),
            "phone",
            "phone_invalid",
        ),
        (json!({ "phone": "" }), "phone", "phone_required"),
        (
            json!({ "full_name": "Иван123" }),
            "full_name",
            "full_name_invalid_characters",
        ),
        (
            json!({ "full_name": "" }),
            "full_name",
            "full_name_required",
        ),
        (
            json!({ "full_name": "Я" }),
            "full_name",
            "full_name_too_short",
        ),
        (
            json!({ "full_name": "Иван--Петров" }),
            "full_name",
            "full_name_misplaced_punctuation",
        ),
        // One good field and one bad: nothing is saved.
        (
            json!({ "full_name": "Сидоров Сидор", "phone": "+79001112233" }),
            "phone",
            "phone_plus_sign",
        ),
        (
            json!({ "full_name": "Сидоров 1", "phone": "79001112233" }),
            "full_name",
            "full_name_invalid_characters",
        ),
    ];
    for (body, field, code) in cases {
        let response = app.patch_auth("/api/v1/me", &access, &body).await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(
            field_codes(&problem),
            vec![(field.to_owned(), code.to_owned())],
            "{body}"
        );
        if code == "phone_plus_sign" {
            assert!(
                problem["errors"][0]["detail"]
                    .as_str()
                    .unwrap()
                    .contains("+")
            );
        }
    }
    assert_eq!(
        app.me(&access).await,
        before,
        "a refused change saves nothing"
    );

    let unknown = app
        .patch_auth("/api/v1/me", &access, &json!({ "email": "x@mail.ru" }))
        .await;
    assert_problem(
        unknown,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    // Good input, normalised as at registration.
    let response = app
        .patch_auth(
            "/api/v1/me",
            &access,
            &json!({ "full_name": "  Сидорова   Анна-Мария ", "phone": "7(900)-111-22-33" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let after: Value = response.json().await.unwrap();
    assert_eq!(after["full_name"], "Сидорова Анна-Мария");
    assert_eq!(after["phone"], "79001112233");
    assert_eq!(after["email"], before["email"]);
    // One field alone leaves the other as it is.
    let response = app
        .patch_auth("/api/v1/me", &access, &json!({ "phone": "79001112244" }))
        .await;
    let after: Value = response.json().await.unwrap();
    assert_eq!(after["full_name"], "Сидорова Анна-Мария");
    assert_eq!(after["phone"], "79001112244");
    assert_eq!(app.me(&access).await, after);

    let anonymous = app
        .client
        .patch(app.url("/api/v1/me"))
        .json(&json!({ "phone": "79001112233" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_password_change_checks_the_current_password_and_the_new_one() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("pw.rules@mail.ru").await;
    let good = "Надёжный-пароль-31";
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({ "current_password": "не-тот-пароль", "new_password": good, "new_password_confirmation": good }),
            "current_password",
            "wrong_password",
        ),
        (
            json!({ "current_password": PASSWORD, "new_password": good, "new_password_confirmation": "Надёжный-пароль-32" }),
            "new_password_confirmation",
            "password_mismatch",
        ),
        (
            json!({ "current_password": PASSWORD, "new_password": "iloveyou", "new_password_confirmation": "iloveyou" }),
            "new_password",
            "password_too_common",
        ),
        (
            json!({ "current_password": PASSWORD, "new_password": "short", "new_password_confirmation": "short" }),
            "new_password",
            "password_too_short",
        ),
        (
            json!({ "current_password": PASSWORD, "new_password": "my-pw.rules-1", "new_password_confirmation": "my-pw.rules-1" }),
            "new_password",
            "password_similar_to_email",
        ),
    ];
    for (body, field, code) in cases {
        let response = app.post_auth("/api/v1/me/password", &access, &body).await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(
            field_codes(&problem),
            vec![(field.to_owned(), code.to_owned())]
        );
    }
    // Nothing changed: the token is still good and the old password still signs in.
    assert_eq!(app.status_of_me(&access).await, StatusCode::OK);
    app.login("pw.rules@mail.ru", PASSWORD).await;
    app.wait_for_outbox_drained().await;
    assert!(
        app.mails_to("pw.rules@mail.ru", "Пароль от вашего")
            .is_empty()
    );

    let changed = app
        .post_auth(
            "/api/v1/me/password",
            &access,
            &json!({ "current_password": PASSWORD, "new_password": good, "new_password_confirmation": good }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    app.wait_for_mail(
        "pw.rules@mail.ru",
        "Пароль от вашего личного кабинета изменён",
        1,
    )
    .await;
    app.login("pw.rules@mail.ru", good).await;
}

/// Asks for an e-mail change and returns the token from the message to the new address.
async fn request_email_change(app: &TestApp, access: &str, new_email: &str) -> String {
    let response = app
        .post_auth(
            "/api/v1/me/email",
            access,
            &json!({ "new_email": new_email, "current_password": PASSWORD }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let mail = app
        .wait_for_mail(&new_email.to_lowercase(), "/confirm-email-change?token=", 1)
        .await;
    token_in(&mail, "/confirm-email-change?token=")
}

#[tokio::test]
async fn an_e_mail_change_takes_effect_only_when_the_new_address_confirms_it() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("old.address@mail.ru").await;
    let other_device = app.browser("old.address@mail.ru", PASSWORD, true).await;

    // The current password is required, and checked.
    let wrong = app
        .post_auth(
            "/api/v1/me/email",
            &access,
            &json!({ "new_email": "new.address@yandex.ru", "current_password": "не-тот-пароль" }),
        )
        .await;
    let problem =
        assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(
        field_codes(&problem),
        vec![("current_password".to_owned(), "wrong_password".to_owned())]
    );
    let missing = app
        .post_auth(
            "/api/v1/me/email",
            &access,
            &json!({ "new_email": "new.address@yandex.ru" }),
        )
        .await;
    assert_problem(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // The new address follows the registration rules and must be new.
    for (new_email, code) in [
        ("new.address@gmail.com", "email_foreign_domain"),
        ("not-an-address", "email_invalid"),
        ("OLD.ADDRESS@mail.ru", "email_unchanged"),
    ] {
        let response = app
            .post_auth(
                "/api/v1/me/email",
                &access,
                &json!({ "new_email": new_email, "current_password": PASSWORD }),
            )
            .await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
        assert_eq!(
            field_codes(&problem),
            vec![("new_email".to_owned(), code.to_owned())]
        );
    }
    app.wait_for_outbox_drained().await;
    assert!(app.mails_to("new.address@yandex.ru", "").is_empty());

    let token = request_email_change(&app, &access, "New.Address@Yandex.ru").await;
    // Not yet: the old address still signs in, the new one does not.
    assert_eq!(app.me(&access).await["email"], "old.address@mail.ru");
    app.login("old.address@mail.ru", PASSWORD).await;
    let early = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "new.address@yandex.ru", "password": PASSWORD }),
        )
        .await;
    assert_problem(early, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    let confirmed = app
        .post(
            "/api/v1/auth/confirm-email-change",
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let body: Value = confirmed.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("new.address@yandex.ru")
    );

    // The old address is told, with the new one named.
    let notice = app
        .wait_for_mail("old.address@mail.ru", "new.address@yandex.ru", 1)
        .await;
    assert!(notice.contains("8(8412)21-07-21"), "{notice}");
    // Other sessions end; the one that asked goes on, with the new address.
    assert_eq!(
        app.status_of_me(&other_device.access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh_from(&other_device.client).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.me(&access).await["email"], "new.address@yandex.ru");
    // The new address signs in; the old one no longer does.
    let access = app.login("NEW.ADDRESS@yandex.ru", PASSWORD).await;
    assert_eq!(app.me(&access).await["email"], "new.address@yandex.ru");
    let old = app
        .post(
            "/api/v1/auth/login",
            &json!({ "email": "old.address@mail.ru", "password": PASSWORD }),
        )
        .await;
    assert_problem(old, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    // The link works once.
    let again = app
        .post(
            "/api/v1/auth/confirm-email-change",
            &json!({ "token": token }),
        )
        .await;
    assert_problem(again, StatusCode::BAD_REQUEST, "token_invalid").await;
}

#[tokio::test]
async fn an_address_taken_meanwhile_is_a_conflict() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("mover@mail.ru").await;
    let token = request_email_change(&app, &access, "wanted@mail.ru").await;
    // Someone registers the address before the link is used.
    app.register("wanted@mail.ru").await;
    let response = app
        .post(
            "/api/v1/auth/confirm-email-change",
            &json!({ "token": token }),
        )
        .await;
    assert_problem(response, StatusCode::CONFLICT, "email_taken").await;
    // Nothing changed for the mover, who is still signed in.
    assert_eq!(app.me(&access).await["email"], "mover@mail.ru");
    app.login("mover@mail.ru", PASSWORD).await;
    app.wait_for_outbox_drained().await;
    assert!(
        app.mails_to("mover@mail.ru", "изменён на").is_empty(),
        "no change notice for a change that did not happen"
    );
}

#[tokio::test]
async fn an_e_mail_change_link_expires_after_a_day() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("slow.mover@mail.ru").await;
    let token = request_email_change(&app, &access, "later@mail.ru").await;
    app.clock.advance(24 * 3600 + 1);
    let late = app
        .post(
            "/api/v1/auth/confirm-email-change",
            &json!({ "token": token }),
        )
        .await;
    assert_problem(late, StatusCode::BAD_REQUEST, "token_expired").await;
    let access = app.login("slow.mover@mail.ru", PASSWORD).await;
    assert_eq!(app.me(&access).await["email"], "slow.mover@mail.ru");
}

// ---------------------------------------------------------------------------------------------
// The operator CLI path.

#[tokio::test]
async fn the_cli_creates_a_confirmed_operator_who_can_sign_in() {
    let app = spawn_app().await;
    let state = &app.state;
    let password = "Операторский-пароль-7";
    let id = api::identity::create_operator(
        state.store.as_ref(),
        &state.hasher,
        "  Operator@Tplus.RU ",
        "Смирнова  Ольга",
        password,
        app.clock.now(),
    )
    .await
    .unwrap();

    let access = app.login("operator@tplus.ru", password).await;
    let me = app.me(&access).await;
    assert_eq!(me["id"], id);
    assert_eq!(me["role"], "operator");
    assert_eq!(me["email"], "operator@tplus.ru");
    assert_eq!(me["full_name"], "Смирнова Ольга");

    // The same rules as for customers, and one account per address.
    for (email, name, password) in [
        (
            "operator@tplus.ru",
            "Другой Оператор",
            "Операторский-пароль-8",
        ),
        (
            "operator@gmail.com",
            "Другой Оператор",
            "Операторский-пароль-8",
        ),
        ("second@tplus.ru", "Оператор 2", "Операторский-пароль-8"),
        ("second@tplus.ru", "Другой Оператор", "12345678"),
    ] {
        let result = api::identity::create_operator(
            state.store.as_ref(),
            &state.hasher,
            email,
            name,
            password,
            app.clock.now(),
        )
        .await;
        assert!(result.is_err(), "{email} / {name} / {password} accepted");
    }
    assert!(
        state
            .store
            .user_by_email("second@tplus.ru")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn concurrent_registrations_of_one_address_all_get_the_same_answer() {
    let app = spawn_app_with(|c| {
        c.rate_limits.mail_per_address.max = 100;
        c.max_concurrent_hashes = 4;
    })
    .await;
    let form = registration("twice@mail.ru");
    let requests = (0..6).map(|_| app.post("/api/v1/auth/register", &form));
    let responses = futures_util::future::join_all(requests).await;
    let mut answers = Vec::new();
    for response in responses {
        let status = response.status();
        answers.push((status, response.text().await.unwrap()));
    }
    for answer in &answers {
        assert_eq!(answer, &answers[0]);
    }
    assert_eq!(answers[0].0, StatusCode::ACCEPTED);
    // One account; its owner gets one confirmation and a notice for each other attempt.
    app.wait_for_mails("twice@mail.ru", "/confirm-email?token=", 1)
        .await;
    app.wait_for_mails("twice@mail.ru", "уже зарегистрирован", 5)
        .await;
    app.wait_for_outbox_drained().await;
    assert_eq!(app.mails_to("twice@mail.ru", "").len(), 6);
}

#[tokio::test]
async fn a_password_reset_voids_every_link_asked_for_before_it() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("owner@mail.ru").await;
    // Whoever held the session and the password asks to move the account to their address…
    let change_token = request_email_change(&app, &access, "thief@mail.ru").await;
    // …the owner is told at once, at the current address…
    let notice = app
        .wait_for_mail("owner@mail.ru", "Запрошена смена адреса", 1)
        .await;
    assert!(notice.contains("thief@mail.ru"), "{notice}");
    // …asks for two reset links and uses the second.
    for _ in 0..2 {
        let forgot = app
            .post(
                "/api/v1/auth/forgot-password",
                &json!({ "email": "owner@mail.ru" }),
            )
            .await;
        assert_eq!(forgot.status(), StatusCode::ACCEPTED);
    }
    let tokens = app
        .mailed_tokens("owner@mail.ru", "/reset-password?token=", 2)
        .await;
    let new_password = "Пароль-только-мой-1";
    let body = |token: &str| json!({ "token": token, "password": new_password, "password_confirmation": new_password });
    let reset = app
        .post("/api/v1/auth/reset-password", &body(&tokens[1]))
        .await;
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);

    let earlier_reset = app
        .post("/api/v1/auth/reset-password", &body(&tokens[0]))
        .await;
    assert_problem(earlier_reset, StatusCode::BAD_REQUEST, "token_invalid").await;
    let stolen_change = app
        .post(
            "/api/v1/auth/confirm-email-change",
            &json!({ "token": change_token }),
        )
        .await;
    assert_problem(stolen_change, StatusCode::BAD_REQUEST, "token_invalid").await;
    let access = app.login("owner@mail.ru", new_password).await;
    assert_eq!(app.me(&access).await["email"], "owner@mail.ru");
}

#[tokio::test]
async fn a_half_filled_form_gets_every_missing_field_named_at_once() {
    let app = spawn_app().await;
    let response = app
        .post(
            "/api/v1/auth/register",
            &json!({ "email": "half@mail.ru", "phone": "79876543210" }),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let required = |field: &str| (field.to_owned(), "required".to_owned());
    assert_eq!(
        field_codes(&problem),
        vec![
            required("full_name"),
            required("password"),
            required("password_confirmation"),
            required("consent"),
        ]
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("password_confirmation: Обязательное поле не заполнено."),
        "{problem}"
    );
    // Nothing was registered.
    assert!(app.mails_to("half@mail.ru", "").is_empty());
}

#[tokio::test]
async fn a_password_is_the_same_however_its_letters_were_composed() {
    let app = spawn_app().await;
    // «ё» as one character (NFC) and as «е» with a combining diaeresis (NFD).
    let decomposed = PASSWORD.replace('ё', "е\u{308}");
    assert_ne!(decomposed, PASSWORD);
    let mut form = registration("composed@mail.ru");
    form["password"] = json!(decomposed);
    form["password_confirmation"] = json!(PASSWORD);
    let registered = app.post("/api/v1/auth/register", &form).await;
    assert_eq!(registered.status(), StatusCode::ACCEPTED);
    let mail = app
        .wait_for_mail("composed@mail.ru", "/confirm-email?token=", 1)
        .await;
    let token = token_in(&mail, "/confirm-email?token=");
    let confirmed = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    app.login("composed@mail.ru", PASSWORD).await;
    app.login("composed@mail.ru", &decomposed).await;
}
