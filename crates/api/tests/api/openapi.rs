use crate::helpers::spawn_app;

/// Integrators code against the committed document: it must be what the server serves.
/// Regenerate it with `cargo xtask openapi`.
#[tokio::test]
async fn committed_openapi_equals_the_served_one() {
    let app = spawn_app().await;
    let served: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/openapi.json");
    let committed_text = std::fs::read_to_string(committed_path)
        .expect("openapi/openapi.json is committed (run `cargo xtask openapi`)");
    let committed: serde_json::Value = serde_json::from_str(&committed_text).unwrap();
    assert!(
        served == committed,
        "openapi/openapi.json differs from the served document: run `cargo xtask openapi`"
    );
    assert_eq!(
        committed_text,
        api::openapi::document(),
        "run `cargo xtask openapi`"
    );
}

#[tokio::test]
async fn every_operation_documents_its_errors() {
    let document: serde_json::Value = serde_json::from_str(&api::openapi::document()).unwrap();
    for (path, item) in document["paths"].as_object().unwrap() {
        assert!(
            path.starts_with("/api/v1/")
                || ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]
                    .contains(&path.as_str()),
            "{path}"
        );
        let documents_itself = ["/openapi.json", "/docs"].contains(&path.as_str());
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|s| s.starts_with('2')),
                "{method} {path} has no success"
            );
            assert!(
                documents_itself || responses.contains_key("500"),
                "{method} {path} must document 500"
            );
            if operation.get("security").is_some() {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} must document 401"
                );
            }
        }
    }
}
