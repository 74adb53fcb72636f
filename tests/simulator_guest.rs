//! Guest-facing routes over HTTPS: tools start-up, guest info, processes,
//! file transfers and filesystem calls, and their preconditions.

mod simulator_support;

use gild::simulator::{SimulatorConfig, Timing};
use reqwest::StatusCode;
use serde_json::json;
use simulator_support::{error_type, Harness};
use std::time::Duration;

#[tokio::test]
async fn guest_info_is_503_until_tools_start() {
    // Tools take an hour here, so "not yet" is certain without sleeping.
    let timing = Timing {
        tools_start: Duration::from_secs(3600),
        ..Timing::instant()
    };
    let h = Harness::start(SimulatorConfig {
        timing,
        ..Default::default()
    })
    .await;
    let vm = h.clone_base("slow-tools").await;
    h.power_on(&vm).await;
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{vm}/tools")).await.1["run_state"],
        "NOT_RUNNING"
    );
    for route in [
        "guest/identity",
        "guest/networking",
        "guest/networking/interfaces",
        "guest/operations",
    ] {
        let (status, body) = h.get(&format!("/api/vcenter/vm/{vm}/{route}")).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{route}");
        assert_eq!(error_type(&body), "SERVICE_UNAVAILABLE", "{route}");
    }
    let (status, _) = h
        .run(&vm, r"C:\Windows\System32\cmd.exe", "/c exit 0")
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn after_power_on_the_guest_reports_dhcp_ip_hostname_and_os() {
    let h = Harness::default().await;
    let vm = h.clone_base("web-01").await;
    h.power_on(&vm).await;
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{vm}/tools")).await.1["run_state"],
        "RUNNING"
    );
    let (status, id) = h.get(&format!("/api/vcenter/vm/{vm}/guest/identity")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(id["host_name"], "WEB-01");
    assert_eq!(id["family"], "WINDOWS");
    assert!(id["full_name"]["default_message"]
        .as_str()
        .unwrap()
        .contains("Windows Server 2022"));
    assert!(
        id["ip_address"].as_str().unwrap().starts_with("10.20.30."),
        "{id}"
    );
    let (_, nics) = h
        .get(&format!("/api/vcenter/vm/{vm}/guest/networking/interfaces"))
        .await;
    assert_eq!(nics[0]["ip"]["ip_addresses"][0]["origin"], "DHCP");
    let (_, ops) = h
        .get(&format!("/api/vcenter/vm/{vm}/guest/operations"))
        .await;
    assert_eq!(ops["guest_operations_ready"], true);
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{vm}/guest/power")).await.1["state"],
        "RUNNING"
    );
}

#[tokio::test]
async fn guest_ops_on_a_powered_off_vm_are_not_allowed() {
    let h = Harness::default().await;
    let vm = h.vm_id("win2022-base");
    let (status, body) = h
        .run(&vm, r"C:\Windows\System32\cmd.exe", "/c exit 0")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_type(&body), "NOT_ALLOWED_IN_CURRENT_STATE");
}

#[tokio::test]
async fn bad_guest_credentials_are_401() {
    let h = Harness::default().await;
    let vm = h.clone_base("creds").await;
    h.power_on(&vm).await;
    let bad = json!({"interactive_session": false, "type": "USERNAME_PASSWORD", "user_name": "Administrator", "password": "nope"});
    let (status, body) = h
        .post(
            &format!("/api/vcenter/vm/{vm}/guest/processes?action=list"),
            json!({"credentials": bad}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error_type(&body), "UNAUTHENTICATED");
}

#[tokio::test]
async fn process_create_returns_pid_and_get_reports_exit_code() {
    let h = Harness::default().await;
    let vm = h.clone_base("proc").await;
    h.power_on(&vm).await;
    let (status, pid) = h
        .run(&vm, r"C:\Windows\System32\cmd.exe", "/c exit 3")
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let pid = pid.as_i64().expect("pid is an integer");
    let info = h.process_info(&vm, pid).await;
    assert_eq!(info["exit_code"], 3);
    assert!(info["finished"].is_string());
    let (_, list) = h
        .post(
            &format!("/api/vcenter/vm/{vm}/guest/processes?action=list"),
            json!({"credentials": h.credentials()}),
        )
        .await;
    assert!(list.as_array().unwrap().iter().any(|p| p["pid"] == pid));
}

#[tokio::test]
async fn unknown_program_is_404_with_file_error_details() {
    let h = Harness::default().await;
    let vm = h.clone_base("noprog").await;
    h.power_on(&vm).await;
    let (status, body) = h.run(&vm, r"C:\nope\missing.exe", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["data"]["reason"], "FILE_NOT_FOUND");
    assert_eq!(
        body["data"]["file_path"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some(r"c:\nope\missing.exe")
    );
}

#[tokio::test]
async fn unknown_pid_is_404() {
    let h = Harness::default().await;
    let vm = h.clone_base("nopid").await;
    h.power_on(&vm).await;
    let (status, body) = h
        .post(
            &format!("/api/vcenter/vm/{vm}/guest/processes/77777?action=get"),
            json!({"credentials": h.credentials()}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["data"]["pid"], 77777);
}

/// Creates a transfer ticket and returns the URL with `*` replaced.
async fn ticket(h: &Harness, vm: &str, spec: serde_json::Value) -> String {
    let (status, url) = h
        .post(
            &format!("/api/vcenter/vm/{vm}/guest/filesystem?action=create"),
            json!({"credentials": h.credentials(), "spec": spec}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{url}");
    let url = url.as_str().unwrap();
    assert!(url.contains("://*:"), "{url}");
    url.replace('*', "127.0.0.1")
}

#[tokio::test]
async fn file_transfer_round_trip_is_once_only() {
    let h = Harness::default().await;
    let vm = h.clone_base("xfer").await;
    h.power_on(&vm).await;
    let content = b"hello from the host\r\n".to_vec();
    let up = ticket(&h, &vm, json!({"path": r"C:\Windows\Temp\hello.txt", "attributes": {"size": content.len(), "overwrite": true}})).await;
    let resp = h.http.put(&up).body(content.clone()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let again = h.http.put(&up).body(content.clone()).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "a ticket works once");
    let vm_id = gild::vsphere::ids::VmId::new(vm.as_str());
    assert_eq!(
        h.sim
            .admin()
            .guest_file(&vm_id, r"c:/windows/temp/HELLO.txt"),
        Some(content.clone())
    );
    let down = ticket(&h, &vm, json!({"path": r"C:\Windows\Temp\hello.txt"})).await;
    let got = h
        .http
        .get(&down)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), content.as_slice());
}

#[tokio::test]
async fn large_upload_streams_to_disk_and_downloads_intact() {
    let h = Harness::default().await;
    let vm = h.clone_base("bigxfer").await;
    h.power_on(&vm).await;
    let content: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let up = ticket(
        &h,
        &vm,
        json!({"path": r"C:\big.bin", "attributes": {"size": content.len(), "overwrite": false}}),
    )
    .await;
    assert_eq!(
        h.http
            .put(&up)
            .body(content.clone())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let down = ticket(&h, &vm, json!({"path": r"C:\big.bin"})).await;
    let got = h
        .http
        .get(&down)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        got.as_ref() == content.as_slice(),
        "downloaded {} bytes",
        got.len()
    );
}

#[tokio::test]
async fn upload_onto_existing_file_without_overwrite_is_already_exists() {
    let h = Harness::default().await;
    let vm = h.clone_base("exists").await;
    h.power_on(&vm).await;
    let (status, body) = h
        .post(
            &format!("/api/vcenter/vm/{vm}/guest/filesystem?action=create"),
            json!({"credentials": h.credentials(), "spec": {"path": r"C:\Windows\System32\cmd.exe", "attributes": {"size": 1, "overwrite": false}}}),
        )
        .await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::BAD_REQUEST, "ALREADY_EXISTS")
    );
}

#[tokio::test]
async fn directories_and_files_can_be_created_listed_inspected_and_deleted() {
    let h = Harness::default().await;
    let vm = h.clone_base("fs").await;
    h.power_on(&vm).await;
    let creds = h.credentials();
    let base = format!("/api/vcenter/vm/{vm}/guest/filesystem");
    let (status, _) = h
        .post(
            &format!("{base}/directories?action=create"),
            json!({"credentials": creds, "path": r"C:\gild\work", "create_parents": true}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let up = ticket(
        &h,
        &vm,
        json!({"path": r"C:\gild\work\a.txt", "attributes": {"size": 3}}),
    )
    .await;
    h.http.put(&up).body("abc").send().await.unwrap();
    let (status, list) = h
        .post(
            &format!("{base}/files?action=list"),
            json!({"credentials": creds, "path": r"C:\gild\work"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["files"][0]["filename"], "a.txt");
    assert_eq!(list["status"], "END_OF_DATA");
    let encoded = "C%3A%5Cgild%5Cwork%5Ca.txt";
    let (status, info) = h
        .post(
            &format!("{base}/files/{encoded}?action=get"),
            json!({"credentials": creds}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(
        (info["type"].as_str(), info["size"].as_i64()),
        (Some("FILE"), Some(3))
    );
    let (status, _) = h
        .post(
            &format!("{base}/files/{encoded}?action=delete"),
            json!({"credentials": creds}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h
        .post(
            &format!("{base}/files/{encoded}?action=get"),
            json!({"credentials": creds}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = h
        .post(
            &format!("{base}/directories?action=delete"),
            json!({"credentials": creds, "path": r"C:\gild", "recursive": true}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn guest_shutdown_powers_the_vm_off() {
    let h = Harness::default().await;
    let vm = h.clone_base("shut").await;
    h.power_on(&vm).await;
    let (status, _) = h
        .post(
            &format!("/api/vcenter/vm/{vm}/guest/power?action=shutdown"),
            json!(null),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{vm}/power")).await.1["state"],
        "POWERED_OFF"
    );
}

#[tokio::test]
async fn guest_shutdown_with_a_delay_reports_shutting_down_first() {
    let timing = Timing {
        guest_shutdown: Duration::from_secs(3600),
        ..Timing::instant()
    };
    let h = Harness::start(SimulatorConfig {
        timing,
        ..Default::default()
    })
    .await;
    let vm = h.clone_base("slowshut").await;
    h.power_on(&vm).await;
    h.post(
        &format!("/api/vcenter/vm/{vm}/guest/power?action=shutdown"),
        json!(null),
    )
    .await;
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{vm}/guest/power")).await.1["state"],
        "SHUTTING_DOWN"
    );
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{vm}/power")).await.1["state"],
        "POWERED_ON"
    );
}

const UNATTEND: &str = r#"<?xml version="1.0" encoding="utf-8"?><unattend xmlns="urn:schemas-microsoft-com:unattend"></unattend>"#;

/// Uploads an unattend file and starts sysprep; returns the pid.
pub async fn run_sysprep(h: &Harness, vm: &str) -> i64 {
    let up = ticket(h, vm, json!({"path": r"C:\Windows\Temp\unattend.xml", "attributes": {"size": UNATTEND.len(), "overwrite": true}})).await;
    assert_eq!(
        h.http
            .put(&up)
            .body(UNATTEND)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let (status, pid) = h
        .run(
            vm,
            r"C:\Windows\System32\Sysprep\sysprep.exe",
            r"/generalize /oobe /shutdown /unattend:C:\Windows\Temp\unattend.xml",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{pid}");
    pid.as_i64().unwrap()
}

#[tokio::test]
async fn sysprep_generalize_powers_the_vm_off() {
    let h = Harness::default().await;
    let vm = h.clone_base("sysprep").await;
    h.power_on(&vm).await;
    run_sysprep(&h, &vm).await;
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{vm}/power")).await.1["state"],
        "POWERED_OFF"
    );
}
