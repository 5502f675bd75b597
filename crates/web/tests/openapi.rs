//! The API is a contract: its OpenAPI document is snapshot-tested, so any change to a route, a
//! field or an error answer shows up in review (`cargo insta review` after an intended change).

#[test]
fn openapi_document_is_stable() {
    let doc = vaora_web::api::openapi_json();
    let parsed: serde_json::Value = serde_json::from_str(&doc).expect("the document is JSON");
    assert!(parsed["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "OpenAPI 3.1");
    insta::assert_snapshot!("openapi", doc);
}
