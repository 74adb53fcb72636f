//! The simulator's PropertyCollector (VI/JSON): a session's own collector,
//! one filter, `WaitForUpdatesEx` answering the initial values, then only
//! changes, then nothing (204) once `maxWaitSeconds` pass; the faults
//! VMware documents for a wrong version, a wrong property, another
//! session and a destroyed collector.

use crate::support::Harness;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PC: &str = "PropertyCollector";

/// A collector of the harness's session with a filter on `vm`'s `paths`.
async fn collector(h: &Harness, vm: &str, paths: &[&str]) -> String {
    let (status, pc) = h
        .vi(
            Method::POST,
            &format!("{PC}/propertyCollector/CreatePropertyCollector"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pc}");
    assert_eq!(pc["type"], "PropertyCollector");
    let id = pc["value"].as_str().unwrap().to_string();
    assert_ne!(id, "propertyCollector", "a collector of its own");
    let spec = json!({"spec": {"_typeName": "PropertyFilterSpec",
        "propSet": [{"_typeName": "PropertySpec", "type": "VirtualMachine", "pathSet": paths}],
        "objectSet": [{"_typeName": "ObjectSpec", "obj": {"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": vm}}]},
        "partialUpdates": false});
    let (status, filter) = h
        .vi(
            Method::POST,
            &format!("{PC}/{}/CreateFilter", enc(&id)),
            Some(spec),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{filter}");
    assert_eq!(filter["type"], "PropertyFilter");
    id
}

/// Collector ids look like vCenter's (`session[...]...`): percent-encoded
/// in a path.
fn enc(id: &str) -> String {
    id.replace('[', "%5B").replace(']', "%5D")
}

async fn wait(h: &Harness, pc: &str, version: &str, secs: i64) -> (StatusCode, Value) {
    h.vi(
        Method::POST,
        &format!("{PC}/{}/WaitForUpdatesEx", enc(pc)),
        Some(json!({"version": version, "options": {"_typeName": "WaitOptions", "maxWaitSeconds": secs}})),
    )
    .await
}

fn change<'a>(set: &'a Value, name: &str) -> &'a Value {
    set["filterSet"][0]["objectSet"][0]["changeSet"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no change of {name} in {set}"))
}

#[tokio::test]
async fn wait_for_updates_reports_the_initial_values_then_a_change_then_nothing() {
    let h = Harness::default().await;
    let vm = h.clone_base("watched").await;
    let pc = collector(&h, &vm, &["runtime.powerState", "guest.toolsRunningStatus"]).await;
    let (status, first) = wait(&h, &pc, "", 1).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["_typeName"], "UpdateSet");
    assert_eq!(first["filterSet"][0]["objectSet"][0]["kind"], "enter");
    assert_eq!(
        change(&first, "runtime.powerState")["val"],
        json!({"_typeName": "VirtualMachinePowerState", "_value": "poweredOff"})
    );
    let version = first["version"].as_str().unwrap().to_string();

    h.power_on(&vm).await;
    let (status, next) = wait(&h, &pc, &version, 1).await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_eq!(next["filterSet"][0]["objectSet"][0]["kind"], "modify");
    assert_eq!(
        change(&next, "runtime.powerState")["val"]["_value"],
        "poweredOn"
    );
    assert_eq!(
        change(&next, "guest.toolsRunningStatus")["val"]["_value"],
        "guestToolsRunning"
    );

    let later = next["version"].as_str().unwrap();
    let (status, none) = wait(&h, &pc, later, 1).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "no change within maxWaitSeconds is null: {none}"
    );
}

#[tokio::test]
async fn a_wrong_version_property_or_session_is_refused_as_vcenter_documents() {
    let h = Harness::default().await;
    let vm = h.clone_base("watched").await;
    let pc = collector(&h, &vm, &["runtime.powerState"]).await;
    let (status, fault) = wait(&h, &pc, "41", 0).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fault["_typeName"], "InvalidCollectorVersion", "{fault}");

    let spec = json!({"spec": {"propSet": [{"type": "VirtualMachine", "pathSet": ["config.bogus"]}],
        "objectSet": [{"obj": {"type": "VirtualMachine", "value": vm}}]}, "partialUpdates": false});
    let (_, fault) = h
        .vi(
            Method::POST,
            &format!("{PC}/{}/CreateFilter", enc(&pc)),
            Some(spec),
        )
        .await;
    assert_eq!(fault["_typeName"], "InvalidProperty", "{fault}");

    let mut stranger = h.http.post(h.url(&format!(
        "/sdk/vim25/8.0.3.0/{PC}/{}/WaitForUpdatesEx",
        enc(&pc)
    )));
    let second = h.login().await;
    stranger = stranger
        .header("vmware-api-session-id", second)
        .json(&json!({"version": ""}));
    let fault: Value = stranger.send().await.unwrap().json().await.unwrap();
    assert_eq!(
        fault["_typeName"], "ManagedObjectNotFound",
        "another session does not see this session's collector: {fault}"
    );
}

#[tokio::test]
async fn a_destroyed_collector_is_gone_and_the_default_one_stays() {
    let h = Harness::default().await;
    let vm = h.clone_base("watched").await;
    let pc = collector(&h, &vm, &["runtime.powerState"]).await;
    let h = &h;
    let destroy = |id: String| async move {
        h.vi(
            Method::POST,
            &format!("{PC}/{}/DestroyPropertyCollector", enc(&id)),
            None,
        )
        .await
    };
    assert_eq!(destroy(pc.clone()).await.0, StatusCode::NO_CONTENT);
    let (_, fault) = wait(h, &pc, "", 0).await;
    assert_eq!(fault["_typeName"], "ManagedObjectNotFound", "{fault}");
    let (status, fault) = destroy("propertyCollector".into()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fault["_typeName"], "InvalidArgument", "{fault}");
}

#[tokio::test]
async fn a_deleted_vm_leaves_the_filter() {
    let h = Harness::default().await;
    let vm = h.clone_base("doomed").await;
    let pc = collector(&h, &vm, &["runtime.powerState"]).await;
    let version = wait(&h, &pc, "", 0).await.1["version"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = h
        .call(Method::DELETE, &format!("/api/vcenter/vm/{vm}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, gone) = wait(&h, &pc, &version, 1).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone["filterSet"][0]["objectSet"][0]["kind"], "leave");
}
