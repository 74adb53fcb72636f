//! VI/JSON (`/sdk/vim25/{release}`) routes: login, token reuse, templates,
//! tasks and fault bodies.

use crate::support::Harness;
use gild::simulator::SimulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SDK: &str = "/sdk/vim25/8.0.3.0";

/// Polls a task MoRef once (instant timing: it is already done).
async fn task_info(h: &Harness, task: &Value) -> Value {
    assert_eq!(task["type"], "Task", "{task}");
    let id = task["value"].as_str().expect("task MoRef value");
    let (status, info) = h.vi(Method::GET, &format!("Task/{id}/info"), None).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["_typeName"], "TaskInfo");
    info
}

#[tokio::test]
async fn service_content_needs_no_session_and_names_the_managers() {
    let h = Harness::default().await;
    let url = h.url(&format!("{SDK}/ServiceInstance/ServiceInstance/content"));
    let content: Value = h.http.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(content["sessionManager"]["value"], "SessionManager");
    assert_eq!(content["propertyCollector"]["type"], "PropertyCollector");
    let old = h.url("/sdk/vim25/6.5.0.0/ServiceInstance/ServiceInstance/content");
    assert_eq!(
        h.http.get(old).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn login_returns_token_header_and_bad_password_is_invalid_login() {
    let mut h = Harness::default().await;
    let url = h.url(&format!("{SDK}/SessionManager/SessionManager/Login"));
    let login = |password: String| {
        h.http
            .post(&url)
            .json(&json!({"userName": h.sim.user(), "password": password}))
            .send()
    };
    let ok = login(h.sim.password().expose().to_string()).await.unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let token = ok.headers()["vmware-api-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(
        ok.json::<Value>().await.unwrap()["_typeName"],
        "UserSession"
    );
    let bad = login("nope".into()).await.unwrap();
    assert_eq!(bad.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let fault: Value = bad.json().await.unwrap();
    assert_eq!(fault["_typeName"], "InvalidLogin");
    assert!(fault["faultMessage"].is_array());
    h.token = token;
    let vm = h.vm_id("win2022-base");
    assert_eq!(
        h.vi(Method::GET, &format!("VirtualMachine/{vm}/config"), None)
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn api_token_is_accepted_on_sdk_unless_configured_like_pre_8u3() {
    let h = Harness::default().await;
    let vm = h.vm_id("win2022-base");
    let config = format!("VirtualMachine/{vm}/config");
    assert_eq!(h.vi(Method::GET, &config, None).await.0, StatusCode::OK);
    let old = Harness::start(SimulatorConfig {
        accept_api_token_for_vi: false,
        ..Default::default()
    })
    .await;
    let (status, fault) = old.vi(Method::GET, &config, None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fault["_typeName"], "NotAuthenticated");
}

#[tokio::test]
async fn mark_as_template_needs_power_off_then_hides_the_vm_from_the_list() {
    let h = Harness::default().await;
    let vm = h.powered_clone("golden").await;
    let mark = format!("VirtualMachine/{vm}/MarkAsTemplate");
    let (status, fault) = h.vi(Method::POST, &mark, None).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fault["_typeName"], "InvalidPowerState");
    h.act(&vm, "power?action=stop").await;
    assert_eq!(
        h.vi(Method::POST, &mark, None).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, config) = h
        .vi(Method::GET, &format!("VirtualMachine/{vm}/config"), None)
        .await;
    assert_eq!(config["_typeName"], "VirtualMachineConfigInfo");
    assert_eq!(config["template"], true);
    assert_eq!(config["version"], "vmx-19");
    let (_, listed) = h.get("/api/vcenter/vm?names=golden").await;
    assert_eq!(listed.as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn rename_task_succeeds_and_duplicate_name_fails_in_task_info() {
    let h = Harness::default().await;
    let vm = h.clone_base("old-name").await;
    let rename = format!("VirtualMachine/{vm}/Rename_Task");
    let (status, task) = h
        .vi(Method::POST, &rename, Some(json!({"newName": "new-name"})))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(task_info(&h, &task).await["state"], "success");
    assert!(h.sim.admin().vm_by_name("new-name").is_some());
    let (_, task) = h
        .vi(
            Method::POST,
            &rename,
            Some(json!({"newName": "win2022-base"})),
        )
        .await;
    let info = task_info(&h, &task).await;
    assert_eq!(info["state"], "error");
    assert_eq!(info["error"]["fault"]["_typeName"], "DuplicateName");
}

#[tokio::test]
async fn unknown_vi_method_answers_with_a_vi_fault_body() {
    let h = Harness::default().await;
    let vm = h.vm_id("win2022-base");
    let (status, fault) = h
        .vi(
            Method::POST,
            &format!("VirtualMachine/{vm}/Explode_Task"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(fault["_typeName"], "MethodNotFound");
}

#[tokio::test]
async fn destroy_task_removes_a_powered_off_vm() {
    let h = Harness::default().await;
    let vm = h.clone_base("to-destroy").await;
    let (_, task) = h
        .vi(
            Method::POST,
            &format!("VirtualMachine/{vm}/Destroy_Task"),
            None,
        )
        .await;
    assert_eq!(task_info(&h, &task).await["state"], "success");
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{vm}")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn untrusted_certificate_is_refused_and_plain_http_has_no_ca() {
    let h = Harness::default().await;
    let bare = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(bare.get(h.url("/api/vcenter/vm")).send().await.is_err());
    let plain = gild::simulator::start(SimulatorConfig {
        tls: false,
        ..Default::default()
    })
    .await
    .unwrap();
    assert!(plain.ca_pem_path().is_none());
    assert_eq!(plain.base_url().scheme(), "http");
    let resp = reqwest::get(format!("{}api/vcenter/vm", plain.base_url()))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}
