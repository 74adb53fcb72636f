//! Guest-facing routes over HTTPS: tools start-up, guest info, processes,
//! file transfers and filesystem calls, and their preconditions.

use crate::support::{error_type, Harness};
use gild::simulator::Timing;
use reqwest::StatusCode;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn guest_info_is_503_until_tools_start() {
    // Tools take an hour here, so "not yet" is certain without sleeping.
    let timing = Timing {
        tools_start: Duration::from_secs(3600),
        ..Timing::instant()
    };
    let h = Harness::with_timing(timing).await;
    let vm = h.powered_clone("slow-tools").await;
    assert_eq!(h.vm_get(&vm, "tools").await["run_state"], "NOT_RUNNING");
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
    let vm = h.powered_clone("web-01").await;
    assert_eq!(h.vm_get(&vm, "tools").await["run_state"], "RUNNING");
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
    assert_eq!(h.vm_get(&vm, "guest/power").await["state"], "RUNNING");
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
    let vm = h.powered_clone("creds").await;
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
    let vm = h.powered_clone("proc").await;
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
    let vm = h.powered_clone("noprog").await;
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
    let vm = h.powered_clone("nopid").await;
    let (status, body) = h
        .post(
            &format!("/api/vcenter/vm/{vm}/guest/processes/77777?action=get"),
            json!({"credentials": h.credentials()}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["data"]["pid"], 77777);
}

#[tokio::test]
async fn file_transfer_round_trip_is_once_only() {
    let h = Harness::default().await;
    let vm = h.powered_clone("xfer").await;
    let content = b"hello from the host\r\n".to_vec();
    let up = h.ticket(&vm, json!({"path": r"C:\Windows\Temp\hello.txt", "attributes": {"size": content.len(), "overwrite": true}})).await;
    let resp = h.http.put(&up).body(content.clone()).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let again = h.http.put(&up).body(content.clone()).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND, "a ticket works once");
    let vm_id = gild::vsphere::wire::VmId::new(vm.as_str());
    assert_eq!(
        h.sim
            .admin()
            .guest_file(&vm_id, r"c:/windows/temp/HELLO.txt"),
        Some(content.clone())
    );
    let down = h
        .ticket(&vm, json!({"path": r"C:\Windows\Temp\hello.txt"}))
        .await;
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
    let vm = h.powered_clone("bigxfer").await;
    let content: Vec<u8> = (0..6 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let up = h.ticket(&vm, json!({"path": r"C:\big.bin", "attributes": {"size": content.len(), "overwrite": false}}),
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
    let down = h.ticket(&vm, json!({"path": r"C:\big.bin"})).await;
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
    let vm = h.powered_clone("exists").await;
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
    let vm = h.powered_clone("fs").await;
    let creds = h.credentials();
    let base = format!("/api/vcenter/vm/{vm}/guest/filesystem");
    let (status, _) = h
        .post(
            &format!("{base}/directories?action=create"),
            json!({"credentials": creds, "path": r"C:\gild\work", "create_parents": true}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let up = h
        .ticket(
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
    let vm = h.powered_clone("shut").await;
    let (status, _) = h.act(&vm, "guest/power?action=shutdown").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h.vm_get(&vm, "power").await["state"], "POWERED_OFF");
}

#[tokio::test]
async fn guest_shutdown_with_a_delay_reports_shutting_down_first() {
    let timing = Timing {
        guest_shutdown: Duration::from_secs(3600),
        ..Timing::instant()
    };
    let h = Harness::with_timing(timing).await;
    let vm = h.powered_clone("slowshut").await;
    h.act(&vm, "guest/power?action=shutdown").await;
    assert_eq!(h.vm_get(&vm, "guest/power").await["state"], "SHUTTING_DOWN");
    assert_eq!(h.vm_get(&vm, "power").await["state"], "POWERED_ON");
}

#[tokio::test]
async fn sysprep_generalize_powers_the_vm_off() {
    let h = Harness::default().await;
    let vm = h.powered_clone("sysprep").await;
    let (status, pid) = h.run_sysprep(&vm).await;
    assert_eq!(status, StatusCode::CREATED, "{pid}");
    assert_eq!(h.vm_get(&vm, "power").await["state"], "POWERED_OFF");
}

#[tokio::test]
async fn guest_reboot_brings_tools_back_and_reset_suspend_change_power() {
    let h = Harness::default().await;
    let vm = h.powered_clone("cycle").await;
    let (status, _) = h.act(&vm, "guest/power?action=reboot").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h.vm_get(&vm, "tools").await["run_state"], "RUNNING");
    let (status, _) = h.act(&vm, "power?action=reset").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = h.act(&vm, "power?action=suspend").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h.vm_get(&vm, "power").await["state"], "SUSPENDED");
    assert_eq!(h.vm_get(&vm, "guest/power").await["state"], "STANDBY");
    let (status, body) = h.act(&vm, "guest/power?action=reboot").await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::BAD_REQUEST, "NOT_ALLOWED_IN_CURRENT_STATE")
    );
    h.power_on(&vm).await;
    assert_eq!(h.vm_get(&vm, "power").await["state"], "POWERED_ON");
}

#[tokio::test]
async fn tools_upgrade_and_installer_work_on_a_running_vm() {
    let h = Harness::default().await;
    let vm = h.powered_clone("toolsup").await;
    let installer = format!("/api/vcenter/vm/{vm}/tools/installer");
    assert_eq!(
        h.post(&format!("{installer}?action=connect"), json!(null))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.get(&installer).await.1["is_connected"], true);
    assert_eq!(
        h.post(&format!("{installer}?action=disconnect"), json!(null))
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(h.get(&installer).await.1["is_connected"], false);
    let before = h.vm_get(&vm, "tools").await;
    assert_eq!(before["version_status"], "SUPPORTED_OLD");
    let (status, _) = h
        .post(
            &format!("/api/vcenter/vm/{vm}/tools?action=upgrade"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let after = h.vm_get(&vm, "tools").await;
    assert_eq!(after["version_status"], "CURRENT");
    assert!(after["version_number"].as_i64() > before["version_number"].as_i64());
    let (status, body) = h
        .post(
            &format!("/api/vcenter/vm/{vm}/tools?action=upgrade"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::BAD_REQUEST, "ALREADY_IN_DESIRED_STATE")
    );
}

#[tokio::test]
async fn stopping_the_vmtools_service_in_the_guest_stops_tools_reporting() {
    let h = Harness::default().await;
    let vm = h.powered_clone("svc").await;
    let id = gild::vsphere::wire::VmId::new(vm.as_str());
    let stopped = h.sim.admin().with_guest(&id, |g| {
        g.set_service_status("VMTools", gild::simulator::guest::ServiceStatus::Stopped)
    });
    assert_eq!(stopped, Some(Ok(())));
    assert_eq!(h.vm_get(&vm, "tools").await["run_state"], "NOT_RUNNING");
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{vm}/guest/operations"))
            .await
            .0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn upload_larger_than_announced_is_refused() {
    let h = Harness::default().await;
    let vm = h.powered_clone("liar").await;
    let url = h
        .ticket(
            &vm,
            json!({"path": r"C:\liar.txt", "attributes": {"size": 3}}),
        )
        .await;
    let resp = h
        .http
        .put(url)
        .body("more than three bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let id = gild::vsphere::wire::VmId::new(vm.as_str());
    assert!(h.sim.admin().guest_file(&id, r"C:\liar.txt").is_none());
}

// ---------- tools.conf exclude-nics and what vCenter reports ----------

/// A powered-on clone whose address sits on an HNS vSwitch's host adapter
/// (`vEthernet (Ethernet0)`), as on a node where hybrid-overlay has run.
async fn hns_node(h: &Harness, name: &str) -> (String, gild::vsphere::wire::VmId) {
    let vm = h.powered_clone(name).await;
    let id = gild::vsphere::wire::VmId::new(vm.as_str());
    h.sim.admin().with_guest(&id, |g| g.create_hns_network());
    (vm, id)
}

async fn reported_address(h: &Harness, vm: &str) -> (Option<String>, usize) {
    let (status, id) = h.get(&format!("/api/vcenter/vm/{vm}/guest/identity")).await;
    assert_eq!(status, StatusCode::OK, "{id}");
    let (_, nics) = h
        .get(&format!("/api/vcenter/vm/{vm}/guest/networking/interfaces"))
        .await;
    let addresses = nics[0]["ip"]["ip_addresses"].as_array().map_or(0, Vec::len);
    (id["ip_address"].as_str().map(str::to_string), addresses)
}

fn repair_tools_conf(h: &Harness, id: &gild::vsphere::wire::VmId) {
    let exit = h.sim.admin().with_guest(id, |g| {
        crate::guest_model::run_script(g, "repair-tools-conf.ps1", r"-ResultPath C:\gild\t.json")
            .exit_code
    });
    assert_eq!(exit, Some(0));
}

#[tokio::test]
async fn default_tools_conf_hides_the_hns_adapters_address_until_exclude_nics_is_emptied() {
    let h = Harness::default().await;
    let (vm, id) = hns_node(&h, "hns-inst").await;
    // Tools report the guest, but its only address is on an excluded NIC.
    assert_eq!(reported_address(&h, &vm).await, (None, 0));
    repair_tools_conf(&h, &id);
    // Instant timing re-reads tools.conf on every look.
    let (ip, addresses) = reported_address(&h, &vm).await;
    assert!(
        ip.as_deref().is_some_and(|ip| ip.starts_with("10.20.30.")),
        "{ip:?}"
    );
    assert_eq!(addresses, 1);
}

#[tokio::test]
async fn a_repaired_tools_conf_is_not_reported_before_tools_re_read_it() {
    // The re-read is an hour away, so "not yet" is certain without sleeping;
    // the tick itself is covered in guest_scripts with explicit instants.
    let timing = Timing {
        tools_conf_poll: Duration::from_secs(3600),
        ..Timing::instant()
    };
    let h = Harness::with_timing(timing).await;
    let (vm, id) = hns_node(&h, "hns-slow").await;
    assert_eq!(reported_address(&h, &vm).await, (None, 0));
    repair_tools_conf(&h, &id);
    assert_eq!(reported_address(&h, &vm).await, (None, 0));
    let tools_running = h.sim.admin().with_guest(&id, |g| g.vmtools_running());
    assert_eq!(tools_running, Some(true), "no restart was needed or made");
}

#[tokio::test]
async fn without_an_hns_adapter_the_default_tools_conf_still_reports_the_address() {
    let h = Harness::default().await;
    let vm = h.powered_clone("plain").await;
    let (ip, addresses) = reported_address(&h, &vm).await;
    assert!(ip.is_some());
    assert_eq!(addresses, 1);
}
