use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, spawn_app};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xff\xff?\0\x05\xfe\x02\xfe\xa7\x35\x81\x84\0\0\0\0IEND\xaeB`\x82";
const TEXT: &str =
    "Добрый день. Неверно указан номер ПУ ГВС2. Актуальный - 28#####. Фото акта прилагаю.";

fn png(name: &str) -> Part {
    Part::bytes(PNG.to_vec())
        .file_name(name.to_owned())
        .mime_str("image/png")
        .unwrap()
}

async fn file_application(
    app: &TestApp,
    access: &str,
    meter: i64,
    form: Form,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/v1/meters/{meter}/applications")))
        .bearer_auth(access)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn operator(app: &TestApp) -> String {
    app.login(api::demo::OPERATOR_EMAIL, api::demo::OPERATOR_PASSWORD)
        .await
}

#[tokio::test]
async fn a_file_an_answer_and_the_mails_go_round() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("apply@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС2").await;

    let form = Form::new().text("text", TEXT).part("files", png("акт.png"));
    let response = file_application(&app, &access, meter, form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let filed: Value = response.json().await.unwrap();
    assert_eq!(filed["status"], "new");
    assert_eq!(filed["text"], TEXT);
    assert_eq!(filed["serial_number"], "23_8995270");
    assert_eq!(filed["files"][0]["file_name"], "акт.png");
    assert_eq!(filed["files"][0]["content_type"], "image/png");
    let id = filed["id"].as_i64().unwrap();
    let copy = app
        .wait_for_mail("apply@mail.ru", "Фото акта прилагаю", 1)
        .await;
    assert!(copy.contains("ГВС2 23_8995270"));

    let operator = operator(&app).await;
    let queue: Value = app
        .get_auth("/api/v1/operator/applications?status=new", &operator)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(queue[0]["id"], id);
    assert_eq!(queue[0]["customer_email"], "apply@mail.ru");
    let file_url = queue[0]["files"][0]["url"].as_str().unwrap().to_owned();
    let download = app.get_auth(&file_url, &operator).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.bytes().await.unwrap().as_ref(), PNG);

    let taken = app
        .post_auth(
            &format!("/api/v1/operator/applications/{id}/take"),
            &operator,
            &json!({}),
        )
        .await;
    assert_eq!(taken.status(), StatusCode::OK);
    let in_progress: Value = app
        .get_auth(
            "/api/v1/operator/applications?status=in_progress",
            &operator,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(in_progress.as_array().unwrap().len(), 1);

    let empty = app
        .post_auth(
            &format!("/api/v1/operator/applications/{id}/answer"),
            &operator,
            &json!({ "text": "  " }),
        )
        .await;
    let problem =
        assert_problem(empty, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(problem["errors"][0]["field"], "text");
    assert_eq!(problem["errors"][0]["detail"], "Напишите ответ заявителю.");
    let answered = app
        .post_auth(
            &format!("/api/v1/operator/applications/{id}/answer"),
            &operator,
            &json!({ "text": "Номер прибора исправлен на 28_1234567." }),
        )
        .await;
    assert_eq!(answered.status(), StatusCode::OK);

    let mine: Value = app
        .get_auth(&format!("/api/v1/applications/{id}"), &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["status"], "answered");
    assert_eq!(mine["answer"], "Номер прибора исправлен на 28_1234567.");
    assert!(mine["answered_at"].is_string());
    let list: Value = app
        .get_auth("/api/v1/applications", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["id"], id);
    let mail = app.wait_for_mail("apply@mail.ru", "28_1234567", 1).await;
    assert!(mail.contains("Ответ на заявление"));

    let closed = app
        .post_auth(
            &format!("/api/v1/operator/applications/{id}/close"),
            &operator,
            &json!({}),
        )
        .await;
    assert_eq!(closed.status(), StatusCode::OK);
    let again = app
        .post_auth(
            &format!("/api/v1/operator/applications/{id}/answer"),
            &operator,
            &json!({ "text": "Ещё" }),
        )
        .await;
    assert_problem(again, StatusCode::CONFLICT, "application_closed").await;
}

#[tokio::test]
async fn bad_forms_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("bad@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС1").await;

    let mut big = PNG.to_vec();
    big.resize(10 * 1024 * 1024 + 1, 0);
    let form = Form::new()
        .text("text", TEXT)
        .part("files", Part::bytes(big).file_name("big.png"));
    let response = file_application(&app, &access, meter, form).await;
    assert_problem(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    let fake = Part::bytes(b"MZ\x90\0 this is an executable".to_vec())
        .file_name("photo.jpg")
        .mime_str("image/jpeg")
        .unwrap();
    let response = file_application(
        &app,
        &access,
        meter,
        Form::new().text("text", TEXT).part("files", fake),
    )
    .await;
    assert_problem(
        response,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let long = "ж".repeat(4001);
    let response = file_application(&app, &access, meter, Form::new().text("text", long)).await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["field"], "text");

    let response = file_application(&app, &access, meter, Form::new().text("text", "   ")).await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let mut six = Form::new().text("text", TEXT);
    for n in 0..6 {
        six = six.part("files", png(&format!("{n}.png")));
    }
    let response = file_application(&app, &access, meter, six).await;
    let problem = assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(problem["errors"][0]["code"], "too_many_files");

    let response = file_application(
        &app,
        &access,
        meter,
        Form::new().text("text", TEXT).text("priority", "high"),
    )
    .await;
    assert_problem(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let json_body = app
        .post_auth(
            &format!("/api/v1/meters/{meter}/applications"),
            &access,
            &json!({ "text": TEXT }),
        )
        .await;
    assert_problem(
        json_body,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let list: Value = app
        .get_auth("/api/v1/applications", &access)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!([]), "nothing stored by a refused form");

    // 4000 Cyrillic characters and five files are fine.
    let mut five = Form::new().text("text", "ж".repeat(4000));
    for n in 0..5 {
        five = five.part("files", png(&format!("{n}.png")));
    }
    assert_eq!(
        file_application(&app, &access, meter, five).await.status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn file_names_are_for_display_only_and_downloads_are_safe() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("names@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС1").await;
    let pdf =
        Part::bytes(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec())
            .file_name("../../etc/passwd")
            .mime_str("text/plain")
            .unwrap();
    let response = file_application(
        &app,
        &access,
        meter,
        Form::new().text("text", TEXT).part("files", pdf),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let filed: Value = response.json().await.unwrap();
    assert_eq!(filed["files"][0]["file_name"], "passwd.pdf");
    assert_eq!(filed["files"][0]["content_type"], "application/pdf");
    let download = app
        .get_auth(filed["files"][0]["url"].as_str().unwrap(), &access)
        .await;
    assert_eq!(download.status(), StatusCode::OK);
    let headers = download.headers();
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let disposition = headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("passwd.pdf"),
        "{disposition}"
    );
}

#[tokio::test]
async fn strangers_get_404_and_customers_get_403_on_operator_routes() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (owner, account) = app
        .customer_with_account("owner@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&owner, account, "ГВС1").await;
    let response = file_application(
        &app,
        &owner,
        meter,
        Form::new().text("text", TEXT).part("files", png("a.png")),
    )
    .await;
    let filed: Value = response.json().await.unwrap();
    let id = filed["id"].as_i64().unwrap();
    let file_url = filed["files"][0]["url"].as_str().unwrap().to_owned();

    let stranger = app.signed_in_customer("stranger@mail.ru").await;
    assert_problem(
        app.get_auth(&format!("/api/v1/applications/{id}"), &stranger)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get_auth(&file_url, &stranger).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let response = file_application(&app, &stranger, meter, Form::new().text("text", TEXT)).await;
    assert_problem(response, StatusCode::NOT_FOUND, "not_found").await;
    let other_file = app
        .get_auth(
            &format!("/api/v1/applications/{id}/attachments/999"),
            &owner,
        )
        .await;
    assert_problem(other_file, StatusCode::NOT_FOUND, "not_found").await;

    for path in [
        "/api/v1/operator/applications".to_owned(),
        format!("/api/v1/operator/applications/{id}"),
        format!("/api/v1/operator/meters/{meter}"),
    ] {
        assert_problem(
            app.get_auth(&path, &owner).await,
            StatusCode::FORBIDDEN,
            "operator_only",
        )
        .await;
    }
    let patch = app
        .client
        .patch(app.url(&format!("/api/v1/operator/meters/{meter}")))
        .bearer_auth(&owner)
        .json(&json!({ "serial_number": "X" }))
        .send()
        .await
        .unwrap();
    assert_problem(patch, StatusCode::FORBIDDEN, "operator_only").await;
    let answer = app
        .post_auth(
            &format!("/api/v1/operator/applications/{id}/answer"),
            &owner,
            &json!({ "text": "сам себе" }),
        )
        .await;
    assert_problem(answer, StatusCode::FORBIDDEN, "operator_only").await;

    // Operators have routes of their own: a customer's route answers them as anyone else.
    let operator = operator(&app).await;
    assert_problem(
        app.get_auth(&format!("/api/v1/applications/{id}"), &operator)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let opened = app
        .get_auth(&format!("/api/v1/operator/applications/{id}"), &operator)
        .await;
    assert_eq!(opened.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_operators_correction_is_recorded_in_the_audit_log() {
    let app = spawn_app().await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("audit@mail.ru", "720000033", "1234.56")
        .await;
    let meter = app.meter_id(&access, account, "ГВС1").await;
    let response = file_application(
        &app,
        &access,
        meter,
        Form::new()
            .text("text", "Поверка проведена 01.05.2026, акт прилагаю.")
            .part("files", png("акт.png")),
    )
    .await;
    let id = response.json::<Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();

    let operator = operator(&app).await;
    let bad = app
        .client
        .patch(app.url(&format!("/api/v1/operator/meters/{meter}")))
        .bearer_auth(&operator)
        .json(&json!({ "next_verification": "01.05.2032" }))
        .send()
        .await
        .unwrap();
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let corrected = app.client.patch(app.url(&format!("/api/v1/operator/meters/{meter}"))).bearer_auth(&operator)
        .json(&json!({ "serial_number": "28_7654321", "last_verification": "2026-05-01", "next_verification": "2032-05-01", "application_id": id }))
        .send().await.unwrap();
    assert_eq!(corrected.status(), StatusCode::OK);
    let body: Value = corrected.json().await.unwrap();
    assert_eq!(body["serial_number"], "28_7654321");
    let changes = body["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 3);
    let serial = changes
        .iter()
        .find(|c| c["field"] == "serial_number")
        .unwrap();
    assert_eq!(serial["old_value"], "23_1111111");
    assert_eq!(serial["new_value"], "28_7654321");
    assert_eq!(serial["application_id"], id);
    assert_eq!(serial["operator_name"], "Оператор Демо");
    assert!(serial["changed_at"].is_string());

    // The customer's meter now takes readings again.
    let meters = app.meters(&access, account).await;
    let fixed = meters.iter().find(|m| m["id"] == meter).unwrap();
    assert_eq!(fixed["serial_number"], "28_7654321");
    assert_eq!(fixed["verification_status"], "valid");
    assert_eq!(fixed["accepts_readings"], true);

    // The operator sees the account with its customers and the corrected meter.
    let account_view: Value = app
        .get_auth("/api/v1/operator/accounts/720000033", &operator)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        account_view["last_payment_amount"], "1234.56",
        "{account_view}"
    );
    assert_eq!(account_view["customers"][0]["email"], "audit@mail.ru");
    let listed = account_view["meters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == meter)
        .unwrap()
        .clone();
    assert_eq!(listed["changes"].as_array().unwrap().len(), 3);
    assert_problem(
        app.get_auth("/api/v1/operator/accounts/799999999", &operator)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_problem(
        app.get_auth("/api/v1/operator/accounts/720000033", &access)
            .await,
        StatusCode::FORBIDDEN,
        "operator_only",
    )
    .await;

    // The same correction again records nothing new.
    let same = app
        .client
        .patch(app.url(&format!("/api/v1/operator/meters/{meter}")))
        .bearer_auth(&operator)
        .json(&json!({ "serial_number": "28_7654321" }))
        .send()
        .await
        .unwrap();
    let body: Value = same.json().await.unwrap();
    assert_eq!(body["changes"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn filing_is_limited_per_user() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.rate_limits.applications_per_user = api::config::Limit {
            max: 2,
            window: std::time::Duration::from_secs(3600),
        };
    })
    .await;
    app.load_demo().await;
    let (access, account) = app
        .customer_with_account("limit@mail.ru", "720000032", "500")
        .await;
    let meter = app.meter_id(&access, account, "ГВС1").await;
    for _ in 0..2 {
        let response = file_application(&app, &access, meter, Form::new().text("text", TEXT)).await;
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let third = file_application(&app, &access, meter, Form::new().text("text", TEXT)).await;
    assert!(third.headers().contains_key("retry-after"));
    assert_problem(third, StatusCode::TOO_MANY_REQUESTS, "too_many_requests").await;
}
