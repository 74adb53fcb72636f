//! Every read route the simulator serves, held to VMware's 7.0.3 OpenAPI
//! description directly (not through gild's client, which calls only some
//! of them): each `GET` of `routes::API_OPERATIONS` and the `/rest` CIS
//! session answers, for a success and for its documented errors, a status
//! the operation declares and a body that validates against the schema
//! declared for that status (`support::openapi`, objects closed).

use crate::support::openapi::{error_type_of, spec};
use crate::support::Harness;
use gild::simulator::routes::API_OPERATIONS;
use reqwest::Method;
use serde_json::Value;

/// How a request authenticates.
enum Auth<'a> {
    /// The harness's own session.
    Harness,
    Token(&'a str),
    /// Basic credentials with this password (login).
    Password(&'a str),
}

/// Sends `method target`; returns status and JSON body (`Null` if empty).
async fn send(h: &Harness, method: Method, target: &str, auth: Auth<'_>) -> (u16, Value) {
    let req = h.http.request(method, h.url(target));
    let req = match auth {
        Auth::Harness => req.header("vmware-api-session-id", &h.token),
        Auth::Token(t) => req.header("vmware-api-session-id", t),
        Auth::Password(p) => req.basic_auth(h.sim.user(), Some(p)),
    };
    let resp = req.send().await.expect("request completes");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.expect("body reads");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (status, body)
}

/// Sends `method target` and validates the answer against the operation
/// the spec has for it (a failure is recorded, not raised, so one run
/// reports every violation).
async fn checked(
    h: &Harness,
    method: Method,
    target: &str,
    auth: Auth<'_>,
    failures: &mut Vec<String>,
) -> (u16, Value) {
    let (status, body) = send(h, method.clone(), target, auth).await;
    match spec().match_operation(method.as_str(), target) {
        Ok(op) => {
            if let Err(e) = spec().validate_response(op, status, &body) {
                failures.push(e);
            }
        }
        Err(e) => failures.push(e),
    }
    (status, body)
}

fn first_id(list: &Value, key: &str) -> String {
    list[0][key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .to_string()
}

#[tokio::test]
async fn every_served_read_route_answers_its_declared_schema_for_success_and_errors() {
    let h = Harness::default().await;
    let vm = h.powered_clone("contract-reads").await;
    let off = h.clone_base("contract-reads-off").await;
    let ids = [
        (
            "{datacenter}",
            first_id(&h.get("/api/vcenter/datacenter").await.1, "datacenter"),
        ),
        (
            "{datastore}",
            first_id(&h.get("/api/vcenter/datastore").await.1, "datastore"),
        ),
        (
            "{resource_pool}",
            first_id(
                &h.get("/api/vcenter/resource-pool").await.1,
                "resource_pool",
            ),
        ),
        (
            "{cluster}",
            first_id(&h.get("/api/vcenter/cluster").await.1, "cluster"),
        ),
        ("{disk}", "2000".to_string()),
        ("{nic}", "4000".to_string()),
    ];
    let mut failures = Vec::new();
    let mut checked_routes = 0;
    for (method, template) in API_OPERATIONS.iter().filter(|(m, _)| *m == "GET") {
        // Task ids come from a `?vmw-task=true` call; contract_schemas
        // covers them. The /rest session is checked below.
        if template.contains("{task}") || template.starts_with("/rest/") {
            continue;
        }
        let mut concrete = template.replace("{vm}", &vm);
        for (placeholder, id) in &ids {
            concrete = concrete.replace(placeholder, id);
        }
        let (status, body) =
            checked(&h, Method::GET, &concrete, Auth::Harness, &mut failures).await;
        if status != 200 {
            failures.push(format!("{method} {concrete}: {status} {body}"));
        }
        checked_routes += 1;
        // The same route for an object that does not exist: 404 NOT_FOUND
        // (for a device: an unknown device of a known VM).
        let missing = if template.contains("{disk}") || template.contains("{nic}") {
            Some(concrete.replace("/2000", "/2999").replace("/4000", "/4999"))
        } else if template.contains('{') {
            Some(
                template
                    .replace("{vm}", "vm-999999")
                    .replace("{datacenter}", "datacenter-999999")
                    .replace("{datastore}", "datastore-999999")
                    .replace("{resource_pool}", "resgroup-999999")
                    .replace("{cluster}", "domain-c999999"),
            )
        } else {
            None
        };
        if let Some(missing) = missing {
            let (status, body) =
                checked(&h, Method::GET, &missing, Auth::Harness, &mut failures).await;
            if status != 404 || error_type_of(&body).as_deref() != Some("NOT_FOUND") {
                failures.push(format!(
                    "GET {missing}: expected 404 NOT_FOUND, got {status} {body}"
                ));
            }
        }
    }
    // Guest views answer 503 while the guest's tools do not run.
    for suffix in [
        "guest/local-filesystem",
        "guest/networking/routes",
        "guest/networking",
        "guest/identity",
    ] {
        let target = format!("/api/vcenter/vm/{off}/{suffix}");
        let (status, body) = checked(&h, Method::GET, &target, Auth::Harness, &mut failures).await;
        if status != 503 {
            failures.push(format!("GET {target} of a powered-off VM: {status} {body}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked_routes >= 30, "only {checked_routes} routes checked");
}

#[tokio::test]
async fn rest_cis_session_routes_answer_as_cis_json_declares() {
    let h = Harness::default().await;
    let session = "/rest/com/vmware/cis/session";
    let mut f = Vec::new();

    // Wrong password: 401 in the /rest error form.
    let (status, body) = checked(&h, Method::POST, session, Auth::Password("wrong"), &mut f).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["type"], "com.vmware.vapi.std.errors.unauthenticated");

    // Login: 200 {"value": token}, and the token works on /api.
    let password = h.sim.password().expose();
    let (status, body) = checked(&h, Method::POST, session, Auth::Password(password), &mut f).await;
    assert_eq!(status, 200, "{body}");
    let token = body["value"].as_str().expect("token").to_string();
    let (status, _) = send(&h, Method::GET, "/api/vcenter/vm", Auth::Token(&token)).await;
    assert_eq!(status, 200);

    // Session info: POST ?~action=get, and the same read as a GET
    // (VMware's current reference).
    let get = "/rest/com/vmware/cis/session?~action=get";
    let (status, body) = checked(&h, Method::POST, get, Auth::Token(&token), &mut f).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"]["user"], h.sim.user());
    let (status, got) = send(&h, Method::GET, session, Auth::Token(&token)).await;
    assert_eq!(status, 200, "{got}");
    for key in ["user", "created_time"] {
        assert_eq!(got["value"][key], body["value"][key], "{key}: {got}");
    }

    // Logout: 200 without a body; then the token is gone (401 both ways).
    for expected in [200, 401] {
        let (status, body) =
            checked(&h, Method::DELETE, session, Auth::Token(&token), &mut f).await;
        assert_eq!(status, expected, "{body}");
    }

    // Any other /rest path is an OPERATION_NOT_FOUND in the /rest form.
    let (status, body) = send(&h, Method::GET, "/rest/vcenter/vm", Auth::Harness).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["type"], "com.vmware.vapi.std.errors.operation_not_found",
        "{body}"
    );
    assert!(f.is_empty(), "{}", f.join("\n"));
}
