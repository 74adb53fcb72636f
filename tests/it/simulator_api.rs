//! `/api` behaviour of the simulator over real HTTPS: session, inventory,
//! VM lifecycle and the vCenter-shaped error bodies.

use crate::support::{error_type, Harness};
use gild::simulator::SimulatorConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn wrong_password_is_refused_with_401_unauthenticated_body() {
    let h = Harness::default().await;
    let resp = h
        .http
        .post(h.url("/api/session"))
        .basic_auth(h.sim.user(), Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(error_type(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn missing_or_unknown_token_answers_401_and_logout_ends_the_session() {
    let h = Harness::default().await;
    let resp = h.http.get(h.url("/api/vcenter/vm")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, info) = h.get("/api/session").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["user"], h.sim.user());
    let (status, _) = h.call(Method::DELETE, "/api/session", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = h.get("/api/vcenter/vm").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_type(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn unknown_route_and_wrong_method_answer_with_vapi_bodies() {
    let h = Harness::default().await;
    let (status, body) = h.get("/api/vcenter/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_type(&body), "OPERATION_NOT_FOUND");
    let (status, body) = h.call(Method::PUT, "/api/vcenter/datacenter", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_type(&body), "OPERATION_NOT_FOUND");
    let vm = h.vm_id("win2022-base");
    let (status, body) = h.act(&vm, "power?action=explode").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_type(&body), "OPERATION_NOT_FOUND");
}

#[tokio::test]
async fn malformed_json_body_is_400_invalid_argument() {
    let h = Harness::default().await;
    let resp = h
        .http
        .post(h.url("/api/vcenter/vm?action=clone"))
        .header("vmware-api-session-id", &h.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(error_type(&body), "INVALID_ARGUMENT");
}

#[tokio::test]
async fn inventory_lists_filter_by_repeated_names_and_datacenters() {
    let h = Harness::default().await;
    let (_, dcs) = h.get("/api/vcenter/datacenter").await;
    assert_eq!(dcs.as_array().unwrap().len(), 2);
    let dc2 = dcs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "dc2")
        .unwrap()["datacenter"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(dc2.starts_with("datacenter-"));
    let (_, folders) = h
        .get(&format!(
            "/api/vcenter/folder?names=templates&type=VIRTUAL_MACHINE&datacenters={dc2}"
        ))
        .await;
    assert_eq!(folders.as_array().unwrap().len(), 1, "{folders}");
    assert!(folders[0]["folder"]
        .as_str()
        .unwrap()
        .starts_with("group-v"));
    let (_, both) = h
        .get("/api/vcenter/datastore?names=datastore1&names=datastore2")
        .await;
    assert_eq!(both.as_array().unwrap().len(), 2);
    assert!(both[0]["free_space"].as_i64().unwrap() > 0);
    let (_, pools) = h.get("/api/vcenter/resource-pool?names=gild").await;
    assert!(pools[0]["resource_pool"]
        .as_str()
        .unwrap()
        .starts_with("resgroup-"));
    let (_, clusters) = h.get("/api/vcenter/cluster").await;
    assert!(clusters[0]["cluster"]
        .as_str()
        .unwrap()
        .starts_with("domain-c"));
    let (_, nets) = h.get("/api/vcenter/network?names=VM%20Network").await;
    assert!(nets[0]["network"].as_str().unwrap().starts_with("network-"));
}

#[tokio::test]
async fn bad_enum_filter_value_is_400_invalid_argument() {
    let h = Harness::default().await;
    for path in [
        "/api/vcenter/vm?power_states=SLEEPY",
        "/api/vcenter/folder?type=SHOEBOX",
        "/api/vcenter/datastore?types=FLOPPY",
    ] {
        let (status, body) = h.get(path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(error_type(&body), "INVALID_ARGUMENT", "{path}");
    }
}

#[tokio::test]
async fn templates_are_absent_from_the_vm_list_but_answer_get_and_refuse_power_on() {
    let h = Harness::default().await;
    let (_, vms) = h.get("/api/vcenter/vm").await;
    let names: Vec<&str> = vms
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"win2022-base") && !names.contains(&"win2019-template"),
        "{names:?}"
    );
    let template = h.vm_id("win2019-template");
    let (status, info) = h.get(&format!("/api/vcenter/vm/{template}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(info["name"], "win2019-template");
    let (status, body) = h.act(&template, "power?action=start").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_type(&body), "UNSUPPORTED");
}

#[tokio::test]
async fn clone_copies_the_vm_and_consumes_datastore_space() {
    let h = Harness::default().await;
    let free_before = h.get("/api/vcenter/datastore?names=datastore1").await.1[0]["free_space"]
        .as_i64()
        .unwrap();
    let id = h.clone_base("build-1").await;
    assert!(id.starts_with("vm-"));
    let (_, info) = h.get(&format!("/api/vcenter/vm/{id}")).await;
    assert_eq!(info["hardware"]["version"], "VMX_19");
    assert_eq!(info["power_state"], "POWERED_OFF");
    let free_after = h.get("/api/vcenter/datastore?names=datastore1").await.1[0]["free_space"]
        .as_i64()
        .unwrap();
    assert_eq!(free_before - free_after, 40 * 1024 * 1024 * 1024);
    let (_, listed) = h.get("/api/vcenter/vm?names=build-1").await;
    assert_eq!(listed[0]["vm"], id.as_str());
}

/// vCenter refuses a duplicate name within one folder (VMs and templates
/// alike) and allows it in another folder.
#[tokio::test]
async fn clone_fails_with_already_exists_only_on_a_name_taken_in_its_folder() {
    let h = Harness::default().await;
    let source = h.vm_id("win2022-base");
    let windows = h.get("/api/vcenter/folder?names=windows").await.1[0]["folder"]
        .as_str()
        .unwrap()
        .to_string();
    let clone = |name: &str, folder: Option<&str>| {
        let mut spec = json!({"source": source, "name": name});
        if let Some(f) = folder {
            spec["placement"] = json!({"folder": f});
        }
        h.post("/api/vcenter/vm?action=clone", spec)
    };
    for (taken, folder) in [
        ("win2022-base", None),
        ("win2019-template", Some(windows.as_str())),
    ] {
        let (status, body) = clone(taken, folder).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{taken}");
        assert_eq!(error_type(&body), "ALREADY_EXISTS");
    }
    // The template's name is free in the base VM's folder.
    let (status, body) = clone("win2019-template", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, listed) = h.get("/api/vcenter/vm?names=win2019-template").await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
}

#[tokio::test]
async fn clone_onto_a_full_datastore_is_unable_to_allocate_resource() {
    let h = Harness::default().await;
    let small = h.get("/api/vcenter/datastore?names=small-ds").await.1[0]["datastore"]
        .as_str()
        .unwrap()
        .to_string();
    let source = h.vm_id("win2022-base");
    let (status, body) = h
        .post(
            "/api/vcenter/vm?action=clone",
            json!({"source": source, "name": "too-big", "placement": {"datastore": small}}),
        )
        .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(error_type(&body), "UNABLE_TO_ALLOCATE_RESOURCE");
}

#[tokio::test]
async fn clone_of_unknown_source_is_not_found() {
    let h = Harness::default().await;
    let (status, body) = h
        .post(
            "/api/vcenter/vm?action=clone",
            json!({"source": "vm-999999", "name": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(error_type(&body), "NOT_FOUND");
}

#[tokio::test]
async fn powered_on_vm_cannot_be_deleted_until_stopped() {
    let h = Harness::default().await;
    let vm = h.clone_base("doomed").await;
    h.power_on(&vm).await;
    let (status, body) = h
        .call(Method::DELETE, &format!("/api/vcenter/vm/{vm}"), None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_type(&body), "NOT_ALLOWED_IN_CURRENT_STATE");
    let (status, _) = h.act(&vm, "power?action=stop").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h
        .call(Method::DELETE, &format!("/api/vcenter/vm/{vm}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h.get(&format!("/api/vcenter/vm/{vm}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn power_start_twice_is_already_in_desired_state() {
    let h = Harness::default().await;
    let vm = h.clone_base("twice").await;
    h.power_on(&vm).await;
    let (status, body) = h.act(&vm, "power?action=start").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_type(&body), "ALREADY_IN_DESIRED_STATE");
    assert_eq!(h.vm_get(&vm, "power").await["state"], "POWERED_ON");
}

#[tokio::test]
async fn hardware_upgrade_only_when_powered_off() {
    let h = Harness::default().await;
    let vm = h.clone_base("hw").await;
    h.power_on(&vm).await;
    let path = format!("/api/vcenter/vm/{vm}/hardware?action=upgrade");
    let (status, body) = h.post(&path, json!({"version": "VMX_21"})).await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::BAD_REQUEST, "NOT_ALLOWED_IN_CURRENT_STATE")
    );
    h.act(&vm, "power?action=stop").await;
    let (status, _) = h.post(&path, json!({"version": "VMX_21"})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h.vm_get(&vm, "hardware").await["version"], "VMX_21");
    let (status, body) = h.post(&path, json!({"version": "VMX_15"})).await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT")
    );
}

#[tokio::test]
async fn tools_report_version_number_and_policy_changes() {
    let h = Harness::default().await;
    let vm = h.vm_id("win2022-base");
    let (_, tools) = h.get(&format!("/api/vcenter/vm/{vm}/tools")).await;
    assert_eq!(tools["version_number"], (12 << 10) + (1 << 5) + 5);
    assert_eq!(tools["run_state"], "NOT_RUNNING");
    let (status, _) = h
        .call(
            Method::PATCH,
            &format!("/api/vcenter/vm/{vm}/tools"),
            Some(json!({"upgrade_policy": "UPGRADE_AT_POWER_CYCLE"})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.vm_get(&vm, "tools").await["upgrade_policy"],
        "UPGRADE_AT_POWER_CYCLE"
    );
    let (status, body) = h.act(&vm, "tools/installer?action=connect").await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::BAD_REQUEST, "NOT_ALLOWED_IN_CURRENT_STATE")
    );
}

#[tokio::test]
async fn hello_negotiates_the_newest_common_release() {
    let h = Harness::default().await;
    let resp = h
        .http
        .post(h.url("/api/vcenter/system?action=hello"))
        .json(&json!({"api_releases": ["9.1.0.0", "8.0.3.0", "8.0.2.0"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.json::<serde_json::Value>().await.unwrap()["api_release"],
        "8.0.3.0"
    );
    let (_, none) = h
        .post(
            "/api/vcenter/system?action=hello",
            json!({"api_releases": ["7.0.0.0"]}),
        )
        .await;
    assert_eq!(none["api_release"], "");
}

#[tokio::test]
async fn inventory_file_seeds_the_world() {
    let inventory =
        gild::simulator::Inventory::load(std::path::Path::new("tests/data/inventory.yaml"))
            .unwrap();
    let h = Harness::start(SimulatorConfig {
        inventory,
        ..Default::default()
    })
    .await;
    let (_, vms) = h.get("/api/vcenter/vm?power_states=POWERED_ON").await;
    assert_eq!(vms.as_array().unwrap().len(), 1, "{vms}");
    assert_eq!(vms[0]["name"], "jump-host");
    let (_, hosts) = h.get("/api/vcenter/host").await;
    let names: Vec<&str> = hosts
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["esxi-a.lab.example", "esxi-b.lab.example"]);
}

/// Polls an `/api` task until it leaves RUNNING. With instant timing the
/// background clone finishes within a few scheduler turns.
async fn finished_task(h: &Harness, task: &serde_json::Value) -> serde_json::Value {
    let id = task.as_str().expect("task id string");
    for _ in 0..100 {
        let (status, info) = h.get(&format!("/api/cis/tasks/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{info}");
        if info["status"] != "RUNNING" {
            return info;
        }
        tokio::task::yield_now().await;
    }
    panic!("task {id} still running after 100 polls");
}

#[tokio::test]
async fn clone_as_a_task_answers_202_and_the_task_reports_the_new_vm() {
    let h = Harness::default().await;
    let source = h.vm_id("win2022-base");
    let spec = json!({"source": source, "name": "via-task"});
    let (status, task) = h
        .post("/api/vcenter/vm?action=clone&vmw-task=true", spec.clone())
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let info = finished_task(&h, &task).await;
    assert_eq!(info["status"], "SUCCEEDED", "{info}");
    let id = info["result"].as_str().unwrap();
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{id}")).await.1["name"],
        "via-task"
    );
    let (_, task) = h
        .post("/api/vcenter/vm?action=clone&vmw-task=true", spec)
        .await;
    let info = finished_task(&h, &task).await;
    assert_eq!(info["status"], "FAILED");
    assert_eq!(info["error"]["error_type"], "ALREADY_EXISTS");
}
