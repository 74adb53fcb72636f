//! Every JSON body on the wire, judged by VMware's schemas (issue 2,
//! section 4): gild's client drives every operation it has against the
//! simulator through a recording proxy, error cases included; each
//! simulator response must validate against the schema the 7.0.3 OpenAPI
//! files declare for that operation and status, and each client request
//! body against the operation's body parameter. `contract_openapi.rs`
//! proves the validator fails on renamed fields, so this cannot pass
//! vacuously.

use crate::support::openapi::{exception_for, spec};
use crate::support::scenario;
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_recorded_request_and_response_body_matches_the_declared_schema() {
    let rec = scenario::start().await;
    scenario::drive_every_client_operation(&rec).await;
    let s = spec();

    let mut failures = Vec::new();
    let mut statuses = BTreeSet::new();
    let mut request_bodies = 0;
    let mut responses = 0;
    for x in rec.recorder.exchanges() {
        if exception_for(&x.method, &x.target).is_some() {
            continue;
        }
        let op = match s.match_operation(&x.method, &x.target) {
            Ok(op) => op,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        if let Some(body) = x.request_body.as_ref().filter(|b| !b.is_null()) {
            request_bodies += 1;
            if let Err(e) = s.validate_request_body(op, body) {
                failures.push(e);
            }
        } else if x.request_len > 0 {
            failures.push(format!(
                "{} {}: the request body is not JSON",
                x.method, x.target
            ));
        }
        match &x.response_body {
            Some(body) => {
                responses += 1;
                statuses.insert(x.status);
                if let Err(e) = s.validate_response(op, x.status, body) {
                    failures.push(e);
                }
            }
            None => failures.push(format!(
                "{} {} answered {} with a non-JSON body",
                x.method, x.target, x.status
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} contract violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(responses >= 60, "only {responses} responses were checked");
    assert!(
        request_bodies >= 15,
        "only {request_bodies} request bodies were checked"
    );
    for status in [200, 201, 204, 400, 401, 404, 503] {
        assert!(
            statuses.contains(&status),
            "no response with status {status} was checked (saw {statuses:?})"
        );
    }
}

/// The credentials object is where a field rename would hurt most (guest
/// operations would all fail on a real vCenter): check the client's body
/// for process create field by field, not only through the schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_process_create_body_carries_contract_credentials_fields() {
    let rec = scenario::start().await;
    scenario::drive_every_client_operation(&rec).await;
    let create = rec
        .recorder
        .exchanges()
        .into_iter()
        .find(|x| x.method == "POST" && x.target.ends_with("/guest/processes?action=create"))
        .expect("a process create was recorded");
    let body = create.request_body.expect("JSON body");
    let creds = body
        .get("credentials")
        .and_then(|c| c.as_object())
        .expect("credentials object");
    let mut keys: Vec<&str> = creds.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["interactive_session", "password", "type", "user_name"]
    );
    assert_eq!(creds["type"], "USERNAME_PASSWORD");
    assert!(
        body["spec"]["path"]
            .as_str()
            .is_some_and(|p| p.ends_with(".exe")),
        "spec.path: {body}"
    );
}
