use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};

fn batch() -> Value {
    json!({ "accounts": [{
        "number": "730000001",
        "address": "г. Пенза, ул. Тестовая, д. 1",
        "last_payment_amount": "321.50",
        "last_payment_date": "2026-10-20",
        "meters": [{
            "name": "ГВС1", "kind": "hot_water", "serial_number": "X-1",
            "installed_on": "2024-01-01", "last_verification": "2024-01-01", "next_verification": "2032-01-01",
            "readings": [{ "date": "2026-09-25", "value": "10.500" }, { "date": "2026-10-25", "value": "11.250" }]
        }]
    }]})
}

#[tokio::test]
async fn the_bulk_upsert_is_idempotent() {
    let app = spawn_app().await;
    let key = app.api_key().await;
    let first: Value = app
        .client
        .put(app.url("/api/v1/integration/accounts"))
        .bearer_auth(&key)
        .json(&batch())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["accounts"]["created"], 1);
    assert_eq!(first["meters"]["created"], 1);
    assert_eq!(first["readings"]["created"], 2);
    let second: Value = app
        .client
        .put(app.url("/api/v1/integration/accounts"))
        .bearer_auth(&key)
        .json(&batch())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        second["accounts"],
        json!({ "created": 0, "updated": 0, "unchanged": 1 })
    );
    assert_eq!(
        second["meters"],
        json!({ "created": 0, "updated": 0, "unchanged": 1 })
    );
    assert_eq!(
        second["readings"],
        json!({ "created": 0, "updated": 0, "unchanged": 2 })
    );

    let mut changed = batch();
    changed["accounts"][0]["last_payment_amount"] = json!("400");
    let third: Value = app
        .client
        .put(app.url("/api/v1/integration/accounts"))
        .bearer_auth(&key)
        .json(&changed)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(third["accounts"]["updated"], 1);
    // The new amount links the account.
    let (access, account) = app
        .customer_with_account("int@mail.ru", "730000001", "400.00")
        .await;
    let meters = app.meters(&access, account).await;
    assert_eq!(meters[0]["previous_reading"]["value"], "11.250");
}

#[tokio::test]
async fn a_bad_batch_names_each_place_and_changes_nothing() {
    let app = spawn_app().await;
    let key = app.api_key().await;
    let mut bad = batch();
    bad["accounts"][0]["meters"][0]["kind"] = json!("gas");
    bad["accounts"][0]["meters"][0]["readings"][1]["value"] = json!("1,2345");
    // No date is `null` or no field; an empty string is not a date.
    bad["accounts"][0]["meters"][0]["next_verification"] = json!("");
    let response = app
        .client
        .put(app.url("/api/v1/integration/accounts"))
        .bearer_auth(&key)
        .json(&bad)
        .send()
        .await
        .unwrap();
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"accounts[0].meters[0].kind"), "{fields:?}");
    assert!(
        fields.contains(&"accounts[0].meters[0].readings[1].value"),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"accounts[0].meters[0].next_verification"),
        "{fields:?}"
    );
    assert!(
        app.state
            .store
            .account_by_number("730000001")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_named_by_its_place() {
    let app = spawn_app().await;
    let key = app.api_key().await;
    let put = |body: serde_json::Value| {
        app.client
            .put(app.url("/api/v1/integration/accounts"))
            .bearer_auth(&key)
            .json(&body)
            .send()
    };
    let mut bad = batch();
    bad["accounts"][0]["meters"][0]["whole_digits"] = json!("five");
    let problem = assert_problem(
        put(bad).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        problem["errors"][0]["field"], "accounts[0].meters[0].whole_digits",
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["code"], "invalid_type");

    let mut unknown = batch();
    unknown["accounts"][0]["colour"] = json!("red");
    let problem = assert_problem(
        put(unknown).await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(
        problem["errors"][0]["field"], "accounts[0].colour",
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["code"], "unknown_field");

    // An enumerated value names what it may be.
    let response = app
        .client
        .post(app.url("/api/v1/integration/readings/1/status"))
        .bearer_auth(&key)
        .json(&json!({ "status": "bogus" }))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "status", "{problem}");
    assert_eq!(problem["errors"][0]["code"], "invalid_value");
    let detail = problem["errors"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("accepted") && detail.contains("rejected"),
        "{detail}"
    );
}

#[tokio::test]
async fn keys_and_tokens_stay_on_their_own_routes() {
    let app = spawn_app().await;
    app.load_demo().await;
    let key = app.api_key().await;
    let (access, account) = app
        .customer_with_account("roles@mail.ru", "720000032", "500")
        .await;

    for path in [
        "/api/v1/me",
        "/api/v1/accounts",
        &format!("/api/v1/accounts/{account}/meters"),
    ] {
        let response = app.get_auth(path, &key).await;
        assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_token").await;
    }
    let response = app.get_auth("/api/v1/integration/readings", &access).await;
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    let response = app
        .client
        .put(app.url("/api/v1/integration/accounts"))
        .bearer_auth(&access)
        .json(&batch())
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
    let response = app
        .client
        .get(app.url("/api/v1/integration/readings"))
        .send()
        .await
        .unwrap();
    assert_problem(response, StatusCode::UNAUTHORIZED, "invalid_api_key").await;

    let mut tx = app.state.store.begin().await.unwrap();
    let names: Vec<String> = app
        .state
        .store
        .api_keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.name)
        .collect();
    assert!(tx.revoke_api_key(&names[0], 1).await.unwrap());
    tx.commit().await.unwrap();
    let revoked = app.get_auth("/api/v1/integration/readings", &key).await;
    assert_problem(revoked, StatusCode::UNAUTHORIZED, "invalid_api_key").await;
}

#[tokio::test]
async fn billing_exports_submissions_and_reports_their_fate_to_the_customer() {
    let app = spawn_app().await;
    app.load_demo().await;
    let key = app.api_key().await;
    let (access, account) = app
        .customer_with_account("fate@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС1").await;
    assert_eq!(
        app.submit(&access, meter, json!({ "value": "0.009" }))
            .await
            .status(),
        StatusCode::CREATED
    );

    let page: Value = app
        .get_auth("/api/v1/integration/readings?after=0", &key)
        .await
        .json()
        .await
        .unwrap();
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["account_number"], "720000032");
    assert_eq!(items[0]["meter_name"], "ГВС1");
    assert_eq!(items[0]["value"], "0.009");
    // Billing sees how the reading was decided: 0.002 before it in the demo data.
    assert_eq!(items[0]["consumption"], "0.007");
    assert_eq!(items[0]["rollover"], false);
    assert_eq!(items[0]["confirmed_implausible"], false);
    let cursor = page["next_cursor"].as_i64().unwrap();
    let empty: Value = app
        .get_auth(
            &format!("/api/v1/integration/readings?after={cursor}"),
            &key,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(empty["items"], json!([]));
    assert_eq!(empty["next_cursor"], cursor);

    let id = items[0]["id"].as_i64().unwrap();
    let no_reason = app
        .post_auth(
            &format!("/api/v1/integration/readings/{id}/status"),
            &key,
            &json!({ "status": "rejected" }),
        )
        .await;
    assert_problem(
        no_reason,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let unknown = app
        .post_auth(
            "/api/v1/integration/readings/999999/status",
            &key,
            &json!({ "status": "accepted" }),
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND, "not_found").await;
    let rejected = app
        .post_auth(
            &format!("/api/v1/integration/readings/{id}/status"),
            &key,
            &json!({ "status": "rejected", "reason": "Показание не совпадает с актом" }),
        )
        .await;
    assert_eq!(rejected.status(), StatusCode::OK);
    let history: Value = app
        .get_auth(&format!("/api/v1/meters/{meter}/readings"), &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history[0]["status"], "rejected");
    assert_eq!(history[0]["reason"], "Показание не совпадает с актом");

    let bad_query = app
        .get_auth("/api/v1/integration/readings?after=-1", &key)
        .await;
    assert_problem(bad_query, StatusCode::BAD_REQUEST, "invalid_query").await;
}

#[tokio::test]
async fn export_after_a_cursor_under_concurrent_inserts_misses_and_repeats_nothing() {
    let app = spawn_app().await;
    let key = app.api_key().await;
    // One account with 45 meters: every submission below is a reading of its own.
    let meters: Vec<Value> = (1..=45)
        .map(|n| json!({ "name": format!("ГВС{n}"), "kind": "hot_water", "serial_number": format!("S-{n}"), "next_verification": "2032-01-01" }))
        .collect();
    let batch = json!({ "accounts": [{ "number": "730000045", "last_payment_amount": "100", "meters": meters }] });
    let response = app
        .client
        .put(app.url("/api/v1/integration/accounts"))
        .bearer_auth(&key)
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (access, account) = app
        .customer_with_account("export@mail.ru", "730000045", "100")
        .await;
    let meters: Vec<i64> = app
        .meters(&access, account)
        .await
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(meters.len(), 45);

    // Five writers submit while a reader follows the cursor with small pages.
    let writers: Vec<_> = meters
        .chunks(9)
        .map(|chunk| {
            let client = app.client.clone();
            let urls: Vec<String> = chunk
                .iter()
                .map(|m| app.url(&format!("/api/v1/meters/{m}/readings")))
                .collect();
            let token = access.clone();
            tokio::spawn(async move {
                for url in urls {
                    let status = client
                        .post(&url)
                        .bearer_auth(&token)
                        .json(&json!({ "value": "1.000" }))
                        .send()
                        .await
                        .unwrap()
                        .status();
                    assert_eq!(status, StatusCode::CREATED);
                }
            })
        })
        .collect();
    let mut seen: Vec<i64> = Vec::new();
    let mut cursor = 0;
    for _ in 0..2000 {
        let page: Value = app
            .get_auth(
                &format!("/api/v1/integration/readings?after={cursor}&limit=4"),
                &key,
            )
            .await
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            seen.push(item["cursor"].as_i64().unwrap());
        }
        cursor = page["next_cursor"].as_i64().unwrap();
        if seen.len() >= 45 {
            break;
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
    let expected: Vec<i64> = (1..=45).collect();
    assert_eq!(seen, expected, "every submission exactly once, in order");
}

#[tokio::test]
async fn a_replaced_reading_is_exported_again_with_its_new_value() {
    let app = spawn_app().await;
    app.load_demo().await;
    let key = app.api_key().await;
    let (access, account) = app
        .customer_with_account("again@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС1").await;
    assert_eq!(
        app.submit(&access, meter, json!({ "value": "0.009" }))
            .await
            .status(),
        StatusCode::CREATED
    );
    let first: Value = app
        .get_auth("/api/v1/integration/readings", &key)
        .await
        .json()
        .await
        .unwrap();
    let cursor = first["next_cursor"].as_i64().unwrap();
    assert_eq!(
        app.submit(&access, meter, json!({ "value": "0.010" }))
            .await
            .status(),
        StatusCode::CREATED
    );
    let next: Value = app
        .get_auth(
            &format!("/api/v1/integration/readings?after={cursor}"),
            &key,
        )
        .await
        .json()
        .await
        .unwrap();
    let items = next["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(
        items[0]["id"], first["items"][0]["id"],
        "the same reading, replaced"
    );
    assert_eq!(items[0]["value"], "0.010");

    // A verdict on the first export's value does not land on the replacement.
    let id = items[0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/integration/readings/{id}/status");
    let verdict = |cursor: &Value| json!({ "status": "rejected", "reason": "Не совпадает с актом", "cursor": cursor });
    assert_problem(
        app.post_auth(&path, &key, &verdict(&first["items"][0]["cursor"]))
            .await,
        StatusCode::CONFLICT,
        "reading_replaced",
    )
    .await;
    assert_eq!(
        latest_reading(&app, &access, meter).await["status"],
        "sent",
        "untouched"
    );
    let recorded = app
        .post_auth(&path, &key, &verdict(&items[0]["cursor"]))
        .await;
    assert_eq!(recorded.status(), StatusCode::OK);
    assert_eq!(
        latest_reading(&app, &access, meter).await["status"],
        "rejected"
    );
}

/// The newest reading of a meter as its customer sees it.
async fn latest_reading(app: &TestApp, access: &str, meter: i64) -> Value {
    let history: Value = app
        .get_auth(&format!("/api/v1/meters/{meter}/readings"), access)
        .await
        .json()
        .await
        .unwrap();
    history[0].clone()
}

#[tokio::test]
async fn an_account_without_meters_lists_none_and_stays_private() {
    let app = spawn_app().await;
    let key = app.api_key().await;
    let mut account = batch();
    account["accounts"][0]["meters"] = json!([]);
    let response = app
        .client
        .put(app.url("/api/v1/integration/accounts"))
        .bearer_auth(&key)
        .json(&account)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (access, id) = app
        .customer_with_account("nometers@mail.ru", "730000001", "321.50")
        .await;
    let meters: Value = app
        .get_auth(&format!("/api/v1/accounts/{id}/meters"), &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(meters, json!([]));
    let stranger = app.signed_in_customer("stranger@mail.ru").await;
    assert_problem(
        app.get_auth(&format!("/api/v1/accounts/{id}/meters"), &stranger)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}
