//! Access tokens (JWT) that must not be accepted, and the rotating refresh token (F2).

use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{
    PASSWORD, TestApp, assert_problem, column_values, cookie_value, jwt_claims, refresh_set_cookie,
    spawn_app,
};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `claims` with HS-`alg` and `key`, as an attacker who knows (or guesses) the key would.
fn forge(alg: Algorithm, key: &[u8], claims: &Value) -> String {
    encode(&Header::new(alg), claims, &EncodingKey::from_secret(key)).unwrap()
}

fn server_key(app: &TestApp) -> Vec<u8> {
    app.state.config.jwt_secret.expose().as_bytes().to_vec()
}

/// Asserts that the token gets the same 401 as no valid token at all.
async fn assert_refused(app: &TestApp, token: &str, what: &str) {
    let response = app.get_auth("/api/v1/me", token).await;
    assert_eq!(
        response.status(),
        StatusCode::UNAUTHORIZED,
        "{what} was accepted"
    );
    assert_eq!(response.headers()["www-authenticate"], "Bearer", "{what}");
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
}

#[tokio::test]
async fn tampered_access_tokens_are_refused() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("jwt@mail.ru").await;
    let claims = jwt_claims(&access);
    let key = server_key(&app);

    // The forging itself is faithful: the same claims with the server's key and HS256 pass.
    let control = forge(Algorithm::HS256, &key, &claims);
    assert_eq!(app.status_of_me(&control).await, StatusCode::OK);

    let with = |change: &dyn Fn(&mut Value)| {
        let mut changed = claims.clone();
        change(&mut changed);
        changed
    };

    // `alg: none`, unsigned, with the genuine claims (with and without a signature part).
    let none_header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = access.split('.').nth(1).unwrap();
    assert_refused(&app, &format!("{none_header}.{payload}."), "alg none").await;
    assert_refused(
        &app,
        &format!("{none_header}.{payload}"),
        "alg none, two parts",
    )
    .await;
    let signature = access.split('.').nth(2).unwrap();
    assert_refused(
        &app,
        &format!("{none_header}.{payload}.{signature}"),
        "alg none with the genuine signature",
    )
    .await;

    // A key that is not the server's.
    let wrong_key = b"0123456789abcdef0123456789abcdef-not-the-key";
    assert_refused(
        &app,
        &forge(Algorithm::HS256, wrong_key, &claims),
        "wrong key",
    )
    .await;
    // The right key, but another algorithm than HS256.
    assert_refused(&app, &forge(Algorithm::HS512, &key, &claims), "HS512").await;
    assert_refused(&app, &forge(Algorithm::HS384, &key, &claims), "HS384").await;

    // Claims changed after signing: the signature no longer matches.
    let raised = with(&|c| c["sub"] = json!("999"));
    let header = access.split('.').next().unwrap();
    let tampered = format!(
        "{header}.{}.{signature}",
        b64(serde_json::to_string(&raised).unwrap().as_bytes())
    );
    assert_refused(&app, &tampered, "payload changed after signing").await;

    // Signed with the right key, but the claims are wrong.
    let now = app.clock.now();
    let cases: Vec<(&str, Value)> = vec![
        ("expired", with(&|c| c["exp"] = json!(now - 3600))),
        (
            "exp as a string",
            with(&|c| c["exp"] = json!((now + 600).to_string())),
        ),
        (
            "exp missing",
            with(&|c| {
                c.as_object_mut().unwrap().remove("exp");
            }),
        ),
        ("wrong aud", with(&|c| c["aud"] = json!("lk-admin"))),
        (
            "aud missing",
            with(&|c| {
                c.as_object_mut().unwrap().remove("aud");
            }),
        ),
        ("wrong iss", with(&|c| c["iss"] = json!("someone-else"))),
        (
            "a refresh-type token",
            with(&|c| c["typ"] = json!("refresh")),
        ),
        (
            "typ missing",
            with(&|c| {
                c.as_object_mut().unwrap().remove("typ");
            }),
        ),
        (
            "another token version",
            with(&|c| c["ver"] = json!(c["ver"].as_i64().unwrap() + 1)),
        ),
        (
            "a session that does not exist",
            with(&|c| c["sid"] = json!(c["sid"].as_i64().unwrap() + 1000)),
        ),
        ("sub not a number", with(&|c| c["sub"] = json!("admin"))),
    ];
    for (what, forged_claims) in cases {
        assert_refused(&app, &forge(Algorithm::HS256, &key, &forged_claims), what).await;
    }

    // Not a JWT at all.
    for garbage in ["", "abc", "a.b.c", "Bearer"] {
        let response = app.get_auth("/api/v1/me", garbage).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{garbage:?}");
    }
    // Another scheme than Bearer.
    let basic = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", format!("Basic {access}"))
        .send()
        .await
        .unwrap();
    assert_problem(basic, StatusCode::UNAUTHORIZED, "unauthorized").await;

    // After all that, the genuine token still works.
    assert_eq!(app.status_of_me(&access).await, StatusCode::OK);
}

#[tokio::test]
async fn a_token_for_another_users_session_is_refused() {
    let app = spawn_app().await;
    let alice = app.signed_in_customer("alice@mail.ru").await;
    let bob = app.signed_in_customer("bob@mail.ru").await;
    let key = server_key(&app);
    // Alice's user id with Bob's session: a valid signature, but the session is not hers.
    let mut claims = jwt_claims(&alice);
    claims["sid"] = jwt_claims(&bob)["sid"].clone();
    assert_refused(
        &app,
        &forge(Algorithm::HS256, &key, &claims),
        "someone else's sid",
    )
    .await;
}

#[tokio::test]
async fn an_access_token_expires_after_fifteen_minutes() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("expiry@mail.ru").await;
    let claims = jwt_claims(&access);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        15 * 60
    );
    app.clock.advance(14 * 60);
    assert_eq!(app.status_of_me(&access).await, StatusCode::OK);
    app.clock.advance(60 + 6);
    assert_refused(&app, &access, "an expired access token").await;
    // The refresh cookie still gives a new one.
    let refreshed = app.refresh_from(&app.client).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let body: Value = refreshed.json().await.unwrap();
    assert_eq!(
        app.status_of_me(body["access_token"].as_str().unwrap())
            .await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refresh_token_is_not_an_access_token() {
    let app = spawn_app().await;
    app.confirmed_customer("cookie@mail.ru").await;
    let response = app
        .login_request(&app.client, "cookie@mail.ru", PASSWORD, false)
        .await;
    let refresh = cookie_value(&refresh_set_cookie(&response).unwrap());
    assert!(refresh.len() >= 40, "{refresh}");
    assert_refused(&app, &refresh, "the refresh token as a bearer token").await;
}

#[tokio::test]
async fn an_old_access_token_is_refused_after_a_password_change() {
    let app = spawn_app().await;
    let access = app.signed_in_customer("oldtoken@mail.ru").await;
    let new_password = "Совсем-новый-пароль-1";
    let changed = app
        .post_auth(
            "/api/v1/me/password",
            &access,
            &json!({ "current_password": PASSWORD, "new_password": new_password, "new_password_confirmation": new_password }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    // The same session, the old token version: refused although it has not expired.
    assert_refused(
        &app,
        &access,
        "an access token from before the password change",
    )
    .await;
    let renewed: Value = changed.json().await.unwrap();
    let renewed = renewed["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(renewed)["sid"], jwt_claims(&access)["sid"]);
    assert_eq!(app.status_of_me(renewed).await, StatusCode::OK);
    // The session's refresh cookie keeps working, with tokens of the new version.
    let refreshed = app.refresh_from(&app.client).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let body: Value = refreshed.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(jwt_claims(token)["ver"], jwt_claims(renewed)["ver"]);
    assert_eq!(app.status_of_me(token).await, StatusCode::OK);
}

#[tokio::test]
async fn refreshing_rotates_the_cookie_and_a_reused_one_ends_the_session() {
    let app = spawn_app().await;
    app.confirmed_customer("rotate@mail.ru").await;
    let login = app
        .login_request(&app.client, "rotate@mail.ru", PASSWORD, true)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let first = cookie_value(&refresh_set_cookie(&login).unwrap());
    let access: Value = login.json().await.unwrap();
    let access = access["access_token"].as_str().unwrap().to_owned();

    let rotated = app.refresh_with_token(&first).await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let second_cookie = refresh_set_cookie(&rotated).unwrap();
    let second = cookie_value(&second_cookie);
    assert_ne!(second, first, "the refresh token must rotate");
    assert!(second_cookie.contains("HttpOnly") && second_cookie.contains("Path=/api/v1/auth"));
    let body: Value = rotated.json().await.unwrap();
    let rotated_access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.status_of_me(&rotated_access).await, StatusCode::OK);

    // The first token again: a thief or a replay. It is refused and the cookie removed…
    let reused = app.refresh_with_token(&first).await;
    let removal = refresh_set_cookie(&reused).expect("the cookie is removed");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert_problem(reused, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    // …and the whole family dies: the rotated token, and the session's access tokens.
    let successor = app.refresh_with_token(&second).await;
    assert_problem(successor, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    assert_eq!(
        app.status_of_me(&rotated_access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.status_of_me(&access).await, StatusCode::UNAUTHORIZED);
    // Signing in again works.
    app.login("rotate@mail.ru", PASSWORD).await;
}

#[tokio::test]
async fn concurrent_use_of_one_refresh_token_never_yields_two_sessions() {
    let app = spawn_app().await;
    app.confirmed_customer("race@mail.ru").await;
    let login = app
        .login_request(&app.client, "race@mail.ru", PASSWORD, true)
        .await;
    let token = cookie_value(&refresh_set_cookie(&login).unwrap());

    let attempts = (0..8).map(|_| app.refresh_with_token(&token));
    let responses = futures_util::future::join_all(attempts).await;
    let mut winners = Vec::new();
    for response in responses {
        match response.status() {
            StatusCode::OK => winners.push(cookie_value(&refresh_set_cookie(&response).unwrap())),
            StatusCode::UNAUTHORIZED => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "one refresh token must rotate exactly once"
    );
    // The others were reuses: the session is revoked, so even the winner's token is dead.
    for winner in winners {
        let after = app.refresh_with_token(&winner).await;
        assert_eq!(after.status(), StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn refresh_without_a_valid_cookie_is_refused() {
    let app = spawn_app().await;
    let none = app.refresh_from(&app.client).await;
    assert_problem(none, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
    let garbage = app.refresh_with_token("not-a-token").await;
    assert_problem(garbage, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn logout_ends_only_the_session_its_access_token_or_refresh_cookie_names() {
    let app = spawn_app().await;
    app.confirmed_customer("logout@mail.ru").await;
    let phone = app.browser("logout@mail.ru", PASSWORD, false).await;
    let laptop = app.browser("logout@mail.ru", PASSWORD, true).await;

    let anonymous = app.logout(&app.client, None).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let out = app.logout(&phone.client, Some(&phone.access)).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let removal = refresh_set_cookie(&out).expect("logout removes the cookie");
    assert!(removal.contains("Max-Age=0"), "{removal}");
    assert_eq!(
        app.status_of_me(&phone.access).await,
        StatusCode::UNAUTHORIZED
    );
    // The laptop is another session and stays signed in.
    assert_eq!(app.status_of_me(&laptop.access).await, StatusCode::OK);
    assert_eq!(
        app.refresh_from(&laptop.client).await.status(),
        StatusCode::OK
    );

    // Once its access token has expired, the laptop signs out with its refresh cookie alone.
    let garbled = format!("{}x", laptop.access);
    let out = app.logout(&laptop.client, Some(&garbled)).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.status_of_me(&laptop.access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh_from(&laptop.client).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The cookie went with the session: nothing is left to sign out with.
    let again = app.logout(&laptop.client, None).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_and_link_tokens_are_stored_only_as_hashes() {
    use sha2::{Digest, Sha256};
    let app = spawn_app().await;
    let link = app.register("hashed@mail.ru").await;
    let confirmed = app
        .post("/api/v1/auth/confirm-email", &json!({ "token": link }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let login = app
        .login_request(&app.client, "hashed@mail.ru", PASSWORD, true)
        .await;
    let refresh = cookie_value(&refresh_set_cookie(&login).unwrap());

    let sha256 = |token: &str| hex::encode(Sha256::digest(token.as_bytes()));
    let refresh_hashes = column_values(&app, "refresh_tokens", "token_hash").await;
    assert_eq!(refresh_hashes, vec![sha256(&refresh)]);
    let link_hashes = column_values(&app, "one_time_tokens", "token_hash").await;
    assert_eq!(link_hashes, vec![sha256(&link)]);
    for table in ["refresh_tokens", "one_time_tokens"] {
        for value in column_values(&app, table, "token_hash").await {
            assert!(
                value != refresh && value != link,
                "a raw token stored in {table}"
            );
        }
    }
}

/// The meters call reads the session together with the meters; every way a session ends holds
/// there as on any other route.
#[tokio::test]
async fn the_meters_call_checks_its_session_as_every_route_does() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("meters.session@mail.ru", "720000032", "500")
        .await;
    let meters = format!("/api/v1/accounts/{account}/meters");
    assert_eq!(
        app.get_auth(&meters, &access).await.status(),
        StatusCode::OK
    );

    let stranger = app.signed_in_customer("meters.stranger@mail.ru").await;
    let theirs = app.get_auth(&meters, &stranger).await;
    assert_problem(theirs, StatusCode::NOT_FOUND, "not_found").await;
    let garbled = app.get_auth(&meters, &format!("{access}x")).await;
    assert_problem(garbled, StatusCode::UNAUTHORIZED, "invalid_token").await;

    // A password change keeps its own session but with a new token: the old one is refused.
    let changed = app
        .post_auth(
            "/api/v1/me/password",
            &access,
            &json!({
                "current_password": PASSWORD,
                "new_password": "Надёжный-пароль-31",
                "new_password_confirmation": "Надёжный-пароль-31",
            }),
        )
        .await;
    assert_eq!(changed.status(), StatusCode::OK);
    let renewed = changed.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old = app.get_auth(&meters, &access).await;
    assert_problem(old, StatusCode::UNAUTHORIZED, "invalid_token").await;
    assert_eq!(
        app.get_auth(&meters, &renewed).await.status(),
        StatusCode::OK
    );

    // Signed out: the session is over.
    let out = app.logout(&app.client, Some(&renewed)).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let ended = app.get_auth(&meters, &renewed).await;
    assert_problem(ended, StatusCode::UNAUTHORIZED, "invalid_token").await;
}
