//! Sessions (F2): «Запомнить меня», the list of sessions, ending one or all others.

use reqwest::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::helpers::{PASSWORD, TestApp, assert_problem, refresh_set_cookie, spawn_app};

fn unix(value: &Value) -> i64 {
    OffsetDateTime::parse(value.as_str().unwrap(), &Rfc3339)
        .unwrap()
        .unix_timestamp()
}

async fn sessions(app: &TestApp, access: &str) -> Vec<Value> {
    let response = app.get_auth("/api/v1/me/sessions", access).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn without_remember_me_the_cookie_lives_with_the_browser_and_the_session_twelve_hours() {
    let app = spawn_app().await;
    app.confirmed_customer("short@mail.ru").await;
    let login = app
        .login_request(&app.client, "short@mail.ru", PASSWORD, false)
        .await;
    assert_eq!(login.status(), StatusCode::OK);
    let cookie = refresh_set_cookie(&login).unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/api/v1/auth"),
        "{cookie}"
    );
    // A browser-session cookie: neither Max-Age nor Expires.
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "{cookie}"
    );
    let body: Value = login.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();

    let list = sessions(&app, &access).await;
    assert_eq!(list.len(), 1);
    let session = &list[0];
    assert_eq!(session["remember_me"], false);
    assert_eq!(session["current"], true);
    let lifetime = unix(&session["expires_at"]) - unix(&session["created_at"]);
    assert!(lifetime > 0 && lifetime <= 12 * 3600, "{lifetime}");

    // A refresh keeps it a browser-session cookie and does not extend the session.
    app.clock.advance(11 * 3600);
    let refreshed = app.refresh_from(&app.client).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    let cookie = refresh_set_cookie(&refreshed).unwrap();
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "{cookie}"
    );
    app.clock.advance(3600 + 1);
    let late = app.refresh_from(&app.client).await;
    assert_problem(late, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn with_remember_me_the_session_lasts_thirty_days() {
    let app = spawn_app().await;
    app.confirmed_customer("long@mail.ru").await;
    let login = app
        .login_request(&app.client, "long@mail.ru", PASSWORD, true)
        .await;
    let cookie = refresh_set_cookie(&login).unwrap();
    assert!(cookie.contains("Max-Age=2592000"), "{cookie}");
    let body: Value = login.json().await.unwrap();
    let access = body["access_token"].as_str().unwrap().to_owned();
    let list = sessions(&app, &access).await;
    assert_eq!(list[0]["remember_me"], true);
    assert_eq!(
        unix(&list[0]["expires_at"]) - unix(&list[0]["created_at"]),
        30 * 24 * 3600
    );

    // Past twelve hours, and past a week, the cookie still works; after thirty days it does not.
    app.clock.advance(13 * 3600);
    assert_eq!(app.refresh_from(&app.client).await.status(), StatusCode::OK);
    app.clock.advance(7 * 24 * 3600);
    let refreshed = app.refresh_from(&app.client).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    // The rotated cookie lives as long as the session has left, not another thirty days.
    let cookie = refresh_set_cookie(&refreshed).unwrap();
    let max_age: i64 = cookie
        .split(';')
        .find_map(|p| p.trim().strip_prefix("Max-Age="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        max_age <= 30 * 24 * 3600 - (7 * 24 + 13) * 3600,
        "{max_age}"
    );
    app.clock.advance(23 * 24 * 3600);
    let late = app.refresh_from(&app.client).await;
    assert_problem(late, StatusCode::UNAUTHORIZED, "invalid_refresh_token").await;
}

#[tokio::test]
async fn a_user_sees_their_sessions_and_ends_one_or_all_others() {
    let app = spawn_app().await;
    app.confirmed_customer("many@mail.ru").await;
    app.confirmed_customer("stranger@mail.ru").await;
    let desk = app.browser("many@mail.ru", PASSWORD, true).await;
    let phone = app.browser("many@mail.ru", PASSWORD, false).await;
    let tablet = app.browser("many@mail.ru", PASSWORD, false).await;
    let stranger = app.browser("stranger@mail.ru", PASSWORD, false).await;

    let list = sessions(&app, &desk.access).await;
    let mut ids: Vec<i64> = list.iter().map(|s| s["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    let mut expected = vec![desk.session_id, phone.session_id, tablet.session_id];
    expected.sort_unstable();
    assert_eq!(ids, expected, "only this user's open sessions: {list:#?}");
    let current: Vec<i64> = list
        .iter()
        .filter(|s| s["current"] == true)
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(current, vec![desk.session_id]);
    for session in &list {
        assert_eq!(session["ip"], "127.0.0.1");
        for field in ["created_at", "last_seen_at", "expires_at"] {
            unix(&session[field]);
        }
    }

    // Someone else's session, one that does not exist, and a malformed id: 404, nothing ends.
    for path in [
        format!("/api/v1/me/sessions/{}", stranger.session_id),
        "/api/v1/me/sessions/999999".to_owned(),
        "/api/v1/me/sessions/abc".to_owned(),
    ] {
        let response = app.delete_auth(&path, &desk.access).await;
        assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(app.status_of_me(&stranger.access).await, StatusCode::OK);
    assert_eq!(
        app.refresh_from(&stranger.client).await.status(),
        StatusCode::OK
    );

    // End the phone's session: its access token and its refresh cookie stop working.
    let ended = app
        .delete_auth(
            &format!("/api/v1/me/sessions/{}", phone.session_id),
            &desk.access,
        )
        .await;
    assert_eq!(ended.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.status_of_me(&phone.access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh_from(&phone.client).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sessions(&app, &desk.access).await.len(), 2);
    // Already ended: 404.
    let again = app
        .delete_auth(
            &format!("/api/v1/me/sessions/{}", phone.session_id),
            &desk.access,
        )
        .await;
    assert_problem(again, StatusCode::NOT_FOUND, "not_found").await;

    // End all others: the tablet goes, this session stays, the stranger is untouched.
    let others = app.delete_auth("/api/v1/me/sessions", &desk.access).await;
    assert_eq!(others.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.status_of_me(&tablet.access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.refresh_from(&tablet.client).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.status_of_me(&desk.access).await, StatusCode::OK);
    assert_eq!(
        app.refresh_from(&desk.client).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.status_of_me(&stranger.access).await, StatusCode::OK);
    let left = sessions(&app, &desk.access).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], desk.session_id);

    // Ending the current session signs out.
    let own = app
        .delete_auth(
            &format!("/api/v1/me/sessions/{}", desk.session_id),
            &desk.access,
        )
        .await;
    assert_eq!(own.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.status_of_me(&desk.access).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn session_routes_need_a_signed_in_user() {
    let app = spawn_app().await;
    let list = app
        .client
        .get(app.url("/api/v1/me/sessions"))
        .send()
        .await
        .unwrap();
    assert_problem(list, StatusCode::UNAUTHORIZED, "unauthorized").await;
    let end = app
        .client
        .delete(app.url("/api/v1/me/sessions/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(end.status(), StatusCode::UNAUTHORIZED);
    let end_all = app
        .client
        .delete(app.url("/api/v1/me/sessions"))
        .send()
        .await
        .unwrap();
    assert_eq!(end_all.status(), StatusCode::UNAUTHORIZED);
}
