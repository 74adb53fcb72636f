//! The simulator's `/api` operation list (`routes::API_OPERATIONS`) held
//! against VMware's 7.0.3 OpenAPI description and against the live router.

use crate::support::openapi::spec;
use crate::support::Harness;
use gild::simulator::routes::API_OPERATIONS;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[test]
fn every_served_operation_exists_in_the_7_0_3_openapi_description() {
    let spec = spec();
    for (method, path) in API_OPERATIONS {
        if crate::support::openapi::exception_for(method, path).is_some() {
            continue; // e.g. system?action=hello, added in 8.0.2.0
        }
        assert!(
            spec.ops
                .iter()
                .any(|op| op.key == *path && op.method == *method),
            "{method} {path} is not in the 7.0.3 description"
        );
    }
}

#[tokio::test]
async fn every_listed_operation_is_routed_by_the_simulator() {
    let h = Harness::default().await;
    let vm = h.powered_clone("routes").await;
    for (method, path) in API_OPERATIONS {
        if path.contains("session") && *method == "DELETE" {
            continue; // would end the harness's session for the rest of the loop
        }
        let concrete = path
            .replace("{vm}", &vm)
            .replace("{pid}", "1")
            .replace("{path}", "C%3A%5Cx")
            .replace("{disk}", "2000")
            .replace("{nic}", "4000")
            .replace("{datacenter}", "datacenter-1")
            .replace("{datastore}", "datastore-1")
            .replace("{resource_pool}", "resgroup-1")
            .replace("{cluster}", "domain-c1");
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
        let (status, body) = h.call(method.clone(), &concrete, body).await;
        let error_type = body["error_type"]
            .as_str()
            .or(body["type"].as_str())
            .unwrap_or("");
        assert!(
            !(status == StatusCode::NOT_FOUND && error_type.ends_with("OPERATION_NOT_FOUND")
                || error_type.ends_with("operation_not_found")),
            "{method} {path} is listed but not routed"
        );
    }
}
