//! Proves the contract helper itself: operation look-up by method + concrete
//! path + query action, query parameter checks, and schema validation that
//! fails on a renamed or missing field (so the contract tests built on it
//! cannot pass vacuously).

use crate::support::openapi::{exception_for, spec};
use serde_json::json;

#[test]
fn spec_files_load_and_cover_the_api_paths_gild_uses() {
    let s = spec();
    assert!(
        s.ops.len() > 300,
        "only {} /api operations loaded",
        s.ops.len()
    );
    for (m, p) in [
        ("POST", "/api/session"),
        ("GET", "/api/vcenter/vm"),
        ("GET", "/api/cis/tasks/{task}"),
    ] {
        assert!(s.find_operation(m, p).is_some(), "{m} {p} missing");
    }
}

#[test]
fn concrete_path_matches_template_segment_by_segment() {
    let op = spec()
        .find_operation("GET", "/api/vcenter/vm/vm-42/power")
        .expect("power get");
    assert_eq!(op.key, "/api/vcenter/vm/{vm}/power");
    assert_eq!(op.method, "GET");
}

#[test]
fn query_action_selects_the_operation() {
    let s = spec();
    let start = s
        .find_operation("post", "/api/vcenter/vm/vm-42/power?action=start")
        .expect("start");
    assert_eq!(start.key, "/api/vcenter/vm/{vm}/power?action=start");
    let stop = s
        .find_operation("POST", "/api/vcenter/vm/vm-42/power?action=stop")
        .expect("stop");
    assert_eq!(stop.key, "/api/vcenter/vm/{vm}/power?action=stop");
    assert!(s
        .find_operation("POST", "/api/vcenter/vm/vm-42/power?action=explode")
        .is_none());
    assert!(
        s.find_operation("POST", "/api/vcenter/vm/vm-42/power")
            .is_none(),
        "power without action is GET only"
    );
}

#[test]
fn most_specific_query_key_wins_for_task_variant() {
    let s = spec();
    let plain = s
        .find_operation("POST", "/api/vcenter/vm?action=clone")
        .expect("clone");
    assert_eq!(plain.key, "/api/vcenter/vm?action=clone");
    let task = s
        .find_operation("POST", "/api/vcenter/vm?action=clone&vmw-task=true")
        .expect("clone task");
    assert_eq!(task.key, "/api/vcenter/vm?action=clone&vmw-task=true");
}

#[test]
fn url_encoded_guest_path_matches_files_path_parameter() {
    let op = spec()
        .find_operation(
            "POST",
            "/api/vcenter/vm/vm-7/guest/filesystem/files/C%3A%5CWindows%5Ctemp%5Ca.txt?action=get",
        )
        .expect("files get");
    assert_eq!(
        op.key,
        "/api/vcenter/vm/{vm}/guest/filesystem/files/{path}?action=get"
    );
}

#[test]
fn list_filters_must_be_declared_and_enum_values_valid() {
    let s = spec();
    assert!(s
        .find_operation("GET", "/api/vcenter/vm?names=a&names=b&folders=group-v3")
        .is_some());
    assert!(s
        .find_operation("GET", "/api/vcenter/vm?power_states=POWERED_ON")
        .is_some());
    let bad_enum = s
        .match_operation("GET", "/api/vcenter/vm?power_states=ON")
        .unwrap_err();
    assert!(bad_enum.contains("not one of"), "{bad_enum}");
    // /rest used `filter.names`; /api does not declare it.
    let undeclared = s
        .match_operation("GET", "/api/vcenter/vm?filter.names=a")
        .unwrap_err();
    assert!(undeclared.contains("not declared"), "{undeclared}");
    assert!(s
        .find_operation("GET", "/api/vcenter/folder?type=VIRTUAL_MACHINE")
        .is_some());
    let repeated = s
        .match_operation("GET", "/api/vcenter/folder?type=DATASTORE&type=HOST")
        .unwrap_err();
    assert!(repeated.contains("single-valued"), "{repeated}");
}

#[test]
fn wrong_method_does_not_match() {
    let err = spec()
        .match_operation("DELETE", "/api/vcenter/vm/vm-1/power")
        .unwrap_err();
    assert!(
        err.contains("GET /api/vcenter/vm/{vm}/power"),
        "error lists the same-path ops: {err}"
    );
}

#[test]
fn valid_power_info_passes_and_renamed_field_fails() {
    let s = spec();
    let op = s
        .find_operation("GET", "/api/vcenter/vm/vm-1/power")
        .expect("op");
    s.validate_response(op, 200, &json!({"state": "POWERED_ON"}))
        .expect("valid body");
    let renamed = s
        .validate_response(op, 200, &json!({"power_state": "POWERED_ON"}))
        .unwrap_err();
    assert!(renamed.contains("state"), "{renamed}");
    let bad_enum = s
        .validate_response(op, 200, &json!({"state": "ON"}))
        .unwrap_err();
    assert!(bad_enum.contains("ON"), "{bad_enum}");
}

#[test]
fn nested_renamed_field_fails_in_vm_info() {
    let s = spec();
    let op = s
        .find_operation("GET", "/api/vcenter/vm/vm-1/guest/identity")
        .expect("op");
    let good = json!({"name": "WINDOWS_9_SERVER_64", "family": "WINDOWS", "host_name": "win",
        "full_name": {"id": "x", "default_message": "Microsoft Windows Server 2022", "args": []}});
    s.validate_response(op, 200, &good).expect("valid identity");
    let mut bad = good.clone();
    bad["full_name"] =
        json!({"id": "x", "defaultMessage": "Microsoft Windows Server 2022", "args": []});
    assert!(
        s.validate_response(op, 200, &bad).is_err(),
        "camelCase field must be refused"
    );
}

#[test]
fn mixed_case_field_names_are_enforced() {
    let s = spec();
    let op = s.find_operation("GET", "/api/vcenter/vm").expect("op");
    s.validate_response(op, 200, &json!([{"vm": "vm-1", "name": "a", "power_state": "POWERED_OFF", "memory_size_MiB": 4096}]))
        .expect("valid list");
    assert!(s
        .validate_response(op, 200, &json!([{"vm": "vm-1", "name": "a", "power_state": "POWERED_OFF", "memory_size_mib": 4096}]))
        .is_err());
}

#[test]
fn status_without_body_refuses_a_body() {
    let s = spec();
    let op = s
        .find_operation("POST", "/api/vcenter/vm/vm-1/power?action=start")
        .expect("op");
    s.validate_response(op, 204, &serde_json::Value::Null)
        .expect("204 no body");
    assert!(s.validate_response(op, 204, &json!({"ok": true})).is_err());
    assert!(
        s.validate_response(op, 200, &json!("x")).is_err(),
        "200 is not declared for start"
    );
}

#[test]
fn error_body_must_match_contract_status_mapping() {
    let s = spec();
    let op = s
        .find_operation("POST", "/api/vcenter/vm?action=clone")
        .expect("op");
    let body = |t: &str| json!({"error_type": t, "messages": [{"id": "x", "default_message": "m", "args": []}]});
    s.validate_response(op, 400, &body("ALREADY_EXISTS"))
        .expect("400 ALREADY_EXISTS");
    s.validate_response(op, 500, &body("UNABLE_TO_ALLOCATE_RESOURCE"))
        .expect("500 allocate");
    let wrong = s
        .validate_response(op, 400, &body("UNABLE_TO_ALLOCATE_RESOURCE"))
        .unwrap_err();
    assert!(wrong.contains("HTTP 500"), "{wrong}");
    let no_args =
        json!({"error_type": "NOT_FOUND", "messages": [{"id": "x", "default_message": "m"}]});
    assert!(
        s.validate_response(op, 404, &no_args).is_err(),
        "messages[].args is required"
    );
}

#[test]
fn request_body_schema_catches_renamed_credentials_field() {
    let s = spec();
    let op = s
        .find_operation("POST", "/api/vcenter/vm/vm-1/guest/processes?action=create")
        .expect("op");
    let good = json!({"credentials": {"interactive_session": false, "type": "USERNAME_PASSWORD",
        "user_name": "Administrator", "password": "p"}, "spec": {"path": "C:\\Windows\\System32\\cmd.exe", "arguments": "/c exit 0"}});
    s.validate_request_body(op, &good)
        .expect("valid create body");
    let mut bad = good.clone();
    bad["credentials"]["username"] = json!("Administrator");
    assert!(
        s.validate_request_body(op, &bad).is_err(),
        "username is not a field"
    );
    let clone = s
        .find_operation("POST", "/api/vcenter/vm?action=clone")
        .expect("clone");
    s.validate_request_body(
        clone,
        &json!({"source": "vm-1", "name": "b", "placement": {"folder": "group-v3"}}),
    )
    .expect("bare CloneSpec body");
    assert!(
        s.validate_request_body(clone, &json!({"spec": {"source": "vm-1", "name": "b"}}))
            .is_err(),
        "bodies are not wrapped"
    );
}

#[test]
fn tolerances_are_narrow() {
    let s = spec();
    let hw = s
        .find_operation("GET", "/api/vcenter/vm/vm-1/hardware")
        .expect("hw");
    let body = |v: &str| json!({"version": v, "upgrade_policy": "NEVER", "upgrade_status": "NONE"});
    s.validate_response(hw, 200, &body("VMX_19"))
        .expect("7.0.3 value");
    s.validate_response(hw, 200, &body("VMX_21"))
        .expect("8.0.2 value tolerated");
    assert!(s.validate_response(hw, 200, &body("VMX_99")).is_err());
    let tools = s
        .find_operation("GET", "/api/vcenter/vm/vm-1/tools")
        .expect("tools");
    let t = json!({"auto_update_supported": false, "upgrade_policy": "MANUAL", "run_state": "RUNNING", "guest_reboot_status": "NOT_REQUIRED"});
    s.validate_response(tools, 200, &t)
        .expect("9.1 field tolerated");
    let mut t2 = t.clone();
    t2["some_future_field"] = json!(1);
    assert!(s.validate_response(tools, 200, &t2).is_err());
}

#[test]
fn documented_exceptions_cover_only_their_routes() {
    assert!(exception_for(
        "POST",
        "/sdk/vim25/8.0.3.0/VirtualMachine/vm-1/MarkAsTemplate"
    )
    .is_some());
    assert!(exception_for("POST", "/api/vcenter/system?action=hello").is_some());
    assert!(exception_for("GET", "/_sim/requests").is_some());
    assert!(exception_for("POST", "/api/vcenter/system?action=other").is_none());
    assert!(exception_for("GET", "/api/vcenter/vm").is_none());
}

#[test]
fn undeclared_401_403_503_are_accepted_as_vapi_errors_of_the_right_type() {
    let s = spec();
    // Process get declares no 403; CONTRACT.md says every operation may answer it.
    let op = s
        .find_operation("POST", "/api/vcenter/vm/vm-1/guest/processes/7?action=get")
        .expect("op");
    assert!(!op.responses.contains_key(&403));
    let body = |t: &str| json!({"error_type": t, "messages": [{"id": "x", "default_message": "m", "args": []}]});
    s.validate_response(op, 403, &body("UNAUTHORIZED"))
        .expect("403 UNAUTHORIZED");
    assert!(
        s.validate_response(op, 403, &body("NOT_FOUND")).is_err(),
        "error_type must match the status"
    );
    assert!(
        s.validate_response(op, 403, &json!({"error": "denied"}))
            .is_err(),
        "must be a vAPI error body"
    );
    let session = s
        .find_operation("DELETE", "/api/session")
        .expect("session delete");
    s.validate_response(session, 403, &body("UNAUTHORIZED"))
        .expect("also in session.json, which lacks VapiStdErrorsError");
}
