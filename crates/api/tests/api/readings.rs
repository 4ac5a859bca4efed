use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, assert_problem, spawn_app, spawn_app_with, token_in};

#[tokio::test]
async fn linking_needs_the_right_amount_and_an_activation_email() {
    let app = spawn_app().await;
    app.load_demo().await;
    let access = app.signed_in_customer("family@mail.ru").await;

    for (number, amount) in [("720000032", "499.99"), ("799999999", "500.00")] {
        let response = app
            .post_auth(
                "/api/v1/accounts",
                &access,
                &json!({ "number": number, "last_payment_amount": amount }),
            )
            .await;
        let problem = assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "account_not_matched",
        )
        .await;
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("8(8412)21-07-21")
        );
    }
    let response = app
        .post_auth(
            "/api/v1/accounts",
            &access,
            &json!({ "number": "72#####32", "last_payment_amount": "5e2" }),
        )
        .await;
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
    assert_eq!(fields, ["number", "last_payment_amount"]);

    // 500, 500.00 and 500,00 are the same amount.
    let response = app
        .post_auth(
            "/api/v1/accounts",
            &access,
            &json!({ "number": "720000032", "last_payment_amount": "500,00" }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let mail = app
        .wait_for_mail("family@mail.ru", "/accounts/confirm?token=", 1)
        .await;
    assert!(
        mail.contains("*****0032") && !mail.contains("720000032"),
        "only the last 4 digits: {mail}"
    );

    let accounts: Value = app
        .get_auth("/api/v1/accounts", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(accounts[0]["status"], "pending");
    let id = accounts[0]["id"].as_i64().unwrap();
    let pending = app
        .get_auth(&format!("/api/v1/accounts/{id}/meters"), &access)
        .await;
    assert_problem(pending, StatusCode::NOT_FOUND, "not_found").await;

    let token = token_in(&mail, "/accounts/confirm?token=");
    let confirmed = app
        .post("/api/v1/accounts/confirm", &json!({ "token": token }))
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let accounts: Value = app
        .get_auth("/api/v1/accounts", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(accounts[0]["status"], "active");
    assert_eq!(accounts[0]["current"], true);
    assert_eq!(accounts[0]["number"], "720000032");

    let again = app
        .post_auth(
            "/api/v1/accounts",
            &access,
            &json!({ "number": "720000032", "last_payment_amount": "500" }),
        )
        .await;
    assert_problem(again, StatusCode::CONFLICT, "account_already_linked").await;

    // A second family member links the same account.
    let (_, other_account) = app
        .customer_with_account("spouse@mail.ru", "720000032", "500")
        .await;
    assert_eq!(other_account, id);

    let unlinked = app
        .client
        .delete(app.url(&format!("/api/v1/accounts/{id}")))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(unlinked.status(), StatusCode::NO_CONTENT);
    let accounts: Value = app
        .get_auth("/api/v1/accounts", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(accounts.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn the_sixth_wrong_amount_locks_the_number_for_everyone() {
    let app = spawn_app().await;
    app.load_demo().await;
    let attacker = app.signed_in_customer("guess@mail.ru").await;
    for attempt in 1..=5 {
        let amount = format!("{attempt}.00");
        let response = app
            .post_auth(
                "/api/v1/accounts",
                &attacker,
                &json!({ "number": "720000032", "last_payment_amount": amount }),
            )
            .await;
        assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "account_not_matched",
        )
        .await;
    }
    let sixth = app
        .post_auth(
            "/api/v1/accounts",
            &attacker,
            &json!({ "number": "720000032", "last_payment_amount": "500.00" }),
        )
        .await;
    assert!(sixth.headers().contains_key("retry-after"));
    let problem = assert_problem(
        sixth,
        StatusCode::TOO_MANY_REQUESTS,
        "account_number_locked",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("8(8412)21-07-21")
    );

    let owner = app.signed_in_customer("owner@mail.ru").await;
    let locked = app
        .post_auth(
            "/api/v1/accounts",
            &owner,
            &json!({ "number": "720000032", "last_payment_amount": "500.00" }),
        )
        .await;
    assert_problem(
        locked,
        StatusCode::TOO_MANY_REQUESTS,
        "account_number_locked",
    )
    .await;
    // Another number is not locked.
    let other = app
        .post_auth(
            "/api/v1/accounts",
            &owner,
            &json!({ "number": "720000034", "last_payment_amount": "780" }),
        )
        .await;
    assert_eq!(other.status(), StatusCode::ACCEPTED);
    // The lock passes with its window.
    app.clock.advance(3601);
    let owner = app.login("owner@mail.ru", PASSWORD).await;
    let later = app
        .post_auth(
            "/api/v1/accounts",
            &owner,
            &json!({ "number": "720000032", "last_payment_amount": "500.00" }),
        )
        .await;
    assert_eq!(later.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn meters_show_their_cards_and_previous_readings() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("meters@mail.ru", "720000032", "500")
        .await;
    let meters = app.meters(&access, account).await;
    let names: Vec<&str> = meters.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ГВС1", "ГВС2", "ОТП1"]);
    let hot = &meters[0];
    assert_eq!(hot["serial_number"], "23_8994120");
    assert_eq!(hot["unit"], "м³");
    assert_eq!(hot["verification_status"], "valid");
    assert_eq!(hot["accepts_readings"], true);
    assert_eq!(hot["previous_reading"]["value"], "0.002");
    assert_eq!(hot["previous_reading"]["date"], "2024-07-26");
    assert_eq!(hot["previous_reading"]["source"], "billing");
    assert_eq!(hot["previous_reading"]["status"], "accepted");
    assert!(hot["current_reading"].is_null());
    assert_eq!(meters[2]["unit"], "Гкал");
    assert_eq!(meters[2]["kind"], "heating");
}

#[tokio::test]
async fn a_reading_below_the_previous_is_refused_and_a_right_one_replaces_this_months() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("submit@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС1").await;

    let below = app
        .submit(&access, meter, json!({ "value": "0.001" }))
        .await;
    let problem = assert_problem(
        below,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reading_below_previous",
    )
    .await;
    assert!(
        problem["detail"].as_str().unwrap().contains("0.002"),
        "{problem}"
    );
    assert_eq!(problem["errors"][0]["field"], "value");

    for bad in ["abc", "-1", "0.0001", "123456.000", "", "1e3"] {
        let response = app.submit(&access, meter, json!({ "value": bad })).await;
        assert_problem(
            response,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    let wrong_type = app.submit(&access, meter, json!({ "value": 0.009 })).await;
    assert_problem(
        wrong_type,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let equal = app
        .submit(&access, meter, json!({ "value": "0,002" }))
        .await;
    assert_eq!(equal.status(), StatusCode::CREATED);
    let created = app
        .submit(&access, meter, json!({ "value": "0,009" }))
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let reading: Value = created.json().await.unwrap();
    assert_eq!(reading["value"], "0.009");
    assert_eq!(reading["consumption"], "0.007");
    assert_eq!(reading["source"], "customer");
    assert_eq!(reading["status"], "sent");

    let history: Value = app
        .get_auth(&format!("/api/v1/meters/{meter}/readings"), &access)
        .await
        .json()
        .await
        .unwrap();
    let values: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["0.009", "0.002"], "one reading per month counts");
    let meters = app.meters(&access, account).await;
    assert_eq!(meters[0]["current_reading"]["value"], "0.009");
    assert_eq!(meters[0]["previous_reading"]["value"], "0.002");
}

#[tokio::test]
async fn implausible_consumption_needs_confirmation_and_rollover_a_declaration() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("big@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС1").await;
    // 0.002 in July 2024; the limit scales with the months since then, so go far beyond it.
    let huge = app
        .submit(&access, meter, json!({ "value": "99999.000" }))
        .await;
    assert_problem(
        huge,
        StatusCode::UNPROCESSABLE_ENTITY,
        "implausible_consumption",
    )
    .await;
    let confirmed = app
        .submit(
            &access,
            meter,
            json!({ "value": "99999.000", "confirm_implausible": true }),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::CREATED);

    let heating = app.meter_id(&access, account, "ОТП1").await;
    let needless = app
        .submit(
            &access,
            heating,
            json!({ "value": "2.000", "rollover": true }),
        )
        .await;
    assert_problem(
        needless,
        StatusCode::UNPROCESSABLE_ENTITY,
        "rollover_not_possible",
    )
    .await;

    // Next month the drum passes 99999.999 and starts again from zero.
    app.clock.advance(32 * 24 * 3600);
    let access = app.login("big@mail.ru", PASSWORD).await;
    let undeclared = app
        .submit(&access, meter, json!({ "value": "0.500" }))
        .await;
    assert_problem(
        undeclared,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reading_below_previous",
    )
    .await;
    let rolled = app
        .submit(
            &access,
            meter,
            json!({ "value": "0.500", "rollover": true }),
        )
        .await;
    assert_eq!(rolled.status(), StatusCode::CREATED);
    let body: Value = rolled.json().await.unwrap();
    assert_eq!(body["rollover"], true);
    assert_eq!(body["consumption"], "1.500");
}

#[tokio::test]
async fn expired_verification_refuses_readings_and_says_why() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("old@mail.ru", "720000033", "1234.56")
        .await;
    let meters = app.meters(&access, account).await;
    let expired = meters.iter().find(|m| m["name"] == "ГВС1").unwrap();
    assert_eq!(expired["verification_status"], "expired");
    assert_eq!(expired["accepts_readings"], false);
    assert_eq!(expired["refusal"]["code"], "verification_expired");
    let response = app
        .submit(
            &access,
            expired["id"].as_i64().unwrap(),
            json!({ "value": "200.000" }),
        )
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "verification_expired",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("заявление"));
}

#[tokio::test]
async fn outside_the_window_the_portal_says_when_it_opens() {
    // A one-day window that is never today, here or in Penza (up to a day ahead of UTC).
    let app = spawn_app_with(|config| {
        let today = time::OffsetDateTime::now_utc().day();
        let day = if (10..=20).contains(&today) { 1 } else { 15 };
        config.branch.window = domain::SubmissionWindow::new(day, day).unwrap();
    })
    .await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("window@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС1").await;
    let response = app
        .submit(&access, meter, json!({ "value": "0.009" }))
        .await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "outside_submission_window",
    )
    .await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Передать показания можно будет с"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_new_month_compares_with_last_months_reading() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("months@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС1").await;
    assert_eq!(
        app.submit(&access, meter, json!({ "value": "1.000" }))
            .await
            .status(),
        StatusCode::CREATED
    );
    app.clock.advance(32 * 24 * 3600);
    let access = app.login("months@mail.ru", PASSWORD).await;
    let below = app
        .submit(&access, meter, json!({ "value": "0.500" }))
        .await;
    let problem = assert_problem(
        below,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reading_below_previous",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("1.000"));
    assert_eq!(
        app.submit(&access, meter, json!({ "value": "1.500" }))
            .await
            .status(),
        StatusCode::CREATED
    );
    let history: Value = app
        .get_auth(&format!("/api/v1/meters/{meter}/readings"), &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history.as_array().unwrap().len(), 3);
    assert_eq!(history[0]["consumption"], "0.500");
}

#[tokio::test]
async fn another_customer_gets_404_on_everything_of_the_first() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (first, account) = app
        .customer_with_account("first@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&first, account, "ГВС1").await;
    let stranger = app.signed_in_customer("stranger@mail.ru").await;

    let get = |path: String| {
        let app = &app;
        let token = stranger.clone();
        async move { app.get_auth(&path, &token).await }
    };
    assert_problem(
        get(format!("/api/v1/accounts/{account}/meters")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        get(format!("/api/v1/meters/{meter}/readings")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let submit = app
        .submit(&stranger, meter, json!({ "value": "1.000" }))
        .await;
    assert_problem(submit, StatusCode::NOT_FOUND, "not_found").await;
    let delete = app
        .client
        .delete(app.url(&format!("/api/v1/accounts/{account}")))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_problem(delete, StatusCode::NOT_FOUND, "not_found").await;
    let current = app
        .client
        .put(app.url(&format!("/api/v1/accounts/{account}/current")))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_problem(current, StatusCode::NOT_FOUND, "not_found").await;
    let list: Value = app
        .get_auth("/api/v1/accounts", &stranger)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]));
    // Nothing changed for the owner.
    assert_eq!(app.meters(&first, account).await.len(), 3);
}

#[tokio::test]
async fn concurrent_submissions_never_leave_a_reading_below_its_predecessor() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("race@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС2").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let client = app.client.clone();
        let url = app.url(&format!("/api/v1/meters/{meter}/readings"));
        let token = access.clone();
        let value = format!("{}.000", if i % 2 == 0 { 5 + i } else { 0 });
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({ "value": value }))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        let status = task.await.unwrap();
        assert!(
            status == StatusCode::CREATED || status == StatusCode::UNPROCESSABLE_ENTITY,
            "{status}"
        );
    }
    let history: Value = app
        .get_auth(&format!("/api/v1/meters/{meter}/readings"), &access)
        .await
        .json()
        .await
        .unwrap();
    let values: Vec<f64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap().parse().unwrap())
        .collect();
    assert_eq!(values.len(), 2);
    assert!(values[0] >= values[1], "{values:?}");
    assert!(
        values[0] >= 5.0,
        "only the even submissions are valid: {values:?}"
    );
}
