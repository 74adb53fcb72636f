//! Every fault kind, set at start, through the in-process admin handle and
//! through the `/_sim` HTTP prefix; plus the request log and connection count.

use crate::support::{error_type, Harness};
use gild::simulator::{FaultSpec, SimulatorConfig};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

fn faults(spec: &str) -> FaultSpec {
    FaultSpec::parse(spec).expect("fault spec parses")
}

#[tokio::test]
async fn latency_fault_delays_the_answer() {
    let h = Harness::default().await;
    h.sim
        .admin()
        .set_faults(faults("latency=150ms route=/api/vcenter/datacenter"));
    let started = Instant::now();
    let (status, _) = h.get("/api/vcenter/datacenter").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unavailable_next_n_fails_exactly_n_calls_with_503() {
    let h = Harness::default().await;
    h.sim
        .admin()
        .set_faults(faults("unavailable route=/api/vcenter/vm next=2"));
    for _ in 0..2 {
        let (status, body) = h.get("/api/vcenter/vm").await;
        assert_eq!(
            (status, error_type(&body)),
            (StatusCode::SERVICE_UNAVAILABLE, "SERVICE_UNAVAILABLE")
        );
    }
    assert_eq!(h.get("/api/vcenter/vm").await.0, StatusCode::OK);
}

#[tokio::test]
async fn busy_every_nth_call_answers_500_resource_busy() {
    let h = Harness::default().await;
    h.sim.admin().set_faults(faults(
        "busy every=3 route=/api/vcenter/vm/{vm}/power method=GET",
    ));
    let vm = h.vm_id("win2022-base");
    let statuses: Vec<u16> = {
        let mut out = vec![];
        for _ in 0..6 {
            let (status, body) = h.get(&format!("/api/vcenter/vm/{vm}/power")).await;
            if status == StatusCode::INTERNAL_SERVER_ERROR {
                assert_eq!(error_type(&body), "RESOURCE_BUSY");
            }
            out.push(status.as_u16());
        }
        out
    };
    assert_eq!(statuses, [200, 200, 500, 200, 200, 500]);
}

#[tokio::test]
async fn drop_fault_closes_the_connection_without_an_answer() {
    let h = Harness::default().await;
    h.sim
        .admin()
        .set_faults(faults("drop route=/api/vcenter/cluster next=1"));
    let first = h
        .http
        .get(h.url("/api/vcenter/cluster"))
        .header("vmware-api-session-id", &h.token)
        .send()
        .await;
    assert!(first.is_err(), "expected a connection error, got {first:?}");
    assert_eq!(h.get("/api/vcenter/cluster").await.0, StatusCode::OK);
}

#[tokio::test]
async fn session_expiry_makes_the_next_call_401_and_relogin_works() {
    let mut h = Harness::start(SimulatorConfig {
        faults: faults("session-expiry=0s"),
        ..Default::default()
    })
    .await;
    let (status, body) = h.get("/api/vcenter/vm").await;
    assert_eq!(
        (status, error_type(&body)),
        (StatusCode::UNAUTHORIZED, "UNAUTHENTICATED")
    );
    h.sim.admin().clear_faults();
    h.token = h.login().await;
    assert_eq!(h.get("/api/vcenter/vm").await.0, StatusCode::OK);
}

#[tokio::test]
async fn admin_can_expire_sessions() {
    let h = Harness::default().await;
    h.sim.admin().expire_sessions();
    assert_eq!(h.get("/api/vcenter/vm").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tools_never_start_keeps_guest_info_unavailable() {
    let h = Harness::default().await;
    h.sim
        .admin()
        .set_faults(faults("tools-never-start vm=stuck"));
    let stuck = h.clone_base("stuck").await;
    let fine = h.clone_base("fine").await;
    h.power_on(&stuck).await;
    h.power_on(&fine).await;
    assert_eq!(h.vm_get(&stuck, "tools").await["run_state"], "NOT_RUNNING");
    assert_eq!(
        h.get(&format!("/api/vcenter/vm/{stuck}/guest/identity"))
            .await
            .0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(h.vm_get(&fine, "tools").await["run_state"], "RUNNING");
}

#[tokio::test]
async fn apipa_fault_reports_a_link_local_address() {
    let h = Harness::default().await;
    h.sim.admin().set_faults(faults("apipa"));
    let vm = h.powered_clone("nodhcp").await;
    let (_, id) = h.get(&format!("/api/vcenter/vm/{vm}/guest/identity")).await;
    assert!(
        id["ip_address"].as_str().unwrap().starts_with("169.254."),
        "{id}"
    );
    let (_, nics) = h
        .get(&format!("/api/vcenter/vm/{vm}/guest/networking/interfaces"))
        .await;
    assert_eq!(nics[0]["ip"]["ip_addresses"][0]["origin"], "LINKLAYER");
}

#[tokio::test]
async fn address_flap_changes_the_address_each_report_and_every_route_agrees() {
    let h = Harness::default().await;
    let vm = h.powered_clone("twodhcp").await;
    let steady = h.clone_base("steady").await;
    h.power_on(&steady).await;
    // Switched on for one VM while it runs: the next report changes.
    h.sim.admin().set_faults(faults("address-flap vm=twodhcp"));
    let identity = |vm: String| {
        let h = &h;
        async move {
            let (_, id) = h.get(&format!("/api/vcenter/vm/{vm}/guest/identity")).await;
            id["ip_address"].as_str().expect("an address").to_string()
        }
    };
    let interfaces = |vm: String| {
        let h = &h;
        async move {
            let (_, nics) = h
                .get(&format!("/api/vcenter/vm/{vm}/guest/networking/interfaces"))
                .await;
            nics[0]["ip"]["ip_addresses"][0]["ip_address"]
                .as_str()
                .expect("an address")
                .to_string()
        }
    };
    let route_hosts = |vm: String| {
        let h = &h;
        async move {
            let (_, routes) = h
                .get(&format!("/api/vcenter/vm/{vm}/guest/networking/routes"))
                .await;
            routes
                .as_array()
                .expect("routes")
                .iter()
                .filter(|r| r["prefix_length"] == 32)
                .filter_map(|r| r["network"].as_str())
                .filter(|n| *n != "127.0.0.1" && !n.ends_with(".255"))
                .map(String::from)
                .collect::<Vec<_>>()
        }
    };
    let first = identity(vm.clone()).await;
    assert_eq!(
        route_hosts(vm.clone()).await,
        vec![first.clone()],
        "routes show the last report"
    );
    let second = interfaces(vm.clone()).await;
    assert_ne!(first, second, "each report shows the other lease");
    assert_eq!(route_hosts(vm.clone()).await, vec![second.clone()]);
    assert_eq!(
        h.sim
            .admin()
            .vm_by_name("twodhcp")
            .unwrap()
            .ip_address
            .as_deref(),
        Some(second.as_str())
    );
    assert_eq!(
        identity(vm.clone()).await,
        first,
        "and back: two leases, alternating"
    );
    let network = |ip: &str| ip.parse::<std::net::Ipv4Addr>().unwrap().octets()[..3].to_vec();
    assert_eq!(
        network(&first),
        network(&second),
        "both leases are on the segment"
    );
    // The other VM keeps its lease; switched off, this one settles on its first.
    let other = identity(steady.clone()).await;
    assert_eq!(identity(steady.clone()).await, other);
    h.sim.admin().clear_faults();
    let settled = identity(vm.clone()).await;
    assert_eq!(identity(vm.clone()).await, settled);
    assert_eq!(interfaces(vm.clone()).await, settled);
}

#[tokio::test]
async fn process_hang_never_finishes_and_process_exit_forces_the_code() {
    let h = Harness::default().await;
    h.sim.admin().set_faults(faults(
        "process-hang=cmd.exe next=1; process-exit=cmd.exe code=42",
    ));
    let vm = h.powered_clone("procfault").await;
    let (_, hung) = h
        .run(&vm, r"C:\Windows\System32\cmd.exe", "/c exit 0")
        .await;
    let info = h.process_info(&vm, hung.as_i64().unwrap()).await;
    assert!(
        info.get("exit_code").is_none() && info.get("finished").is_none(),
        "{info}"
    );
    let (_, forced) = h
        .run(&vm, r"C:\Windows\System32\cmd.exe", "/c exit 0")
        .await;
    assert_eq!(
        h.process_info(&vm, forced.as_i64().unwrap()).await["exit_code"],
        42
    );
}

#[tokio::test]
async fn sysprep_fail_fault_leaves_the_vm_running_with_setuperr_log() {
    let h = Harness::default().await;
    h.sim.admin().set_faults(faults("sysprep-fail"));
    let vm = h.powered_clone("badprep").await;
    let (_, pid) = h.run_sysprep(&vm).await;
    let info = h.process_info(&vm, pid.as_i64().unwrap()).await;
    assert_ne!(info["exit_code"], 0);
    assert_eq!(h.vm_get(&vm, "power").await["state"], "POWERED_ON");
    let id = gild::vsphere::wire::VmId::new(vm.as_str());
    assert!(h
        .sim
        .admin()
        .guest_file(&id, r"C:\Windows\System32\Sysprep\Panther\setuperr.log")
        .is_some());
}

#[tokio::test]
async fn transfer_break_cuts_a_download_short() {
    let h = Harness::default().await;
    let vm = h.powered_clone("cut").await;
    let stored = h
        .upload(&vm, r"C:\blob.bin", vec![7u8; 300_000])
        .await
        .unwrap();
    assert_eq!(stored.status(), StatusCode::OK);
    h.sim
        .admin()
        .set_faults(faults("transfer-break=1000 method=GET"));
    let url = h.ticket(&vm, json!({"path": r"C:\blob.bin"})).await;
    // Depending on buffering the cut lands before or after the headers; either
    // way the client must not receive the whole file.
    let complete = match h.http.get(url).send().await {
        Err(_) => None,
        Ok(resp) => resp.bytes().await.ok().map(|b| b.len()),
    };
    assert_eq!(complete, None, "the download must fail mid-stream");
}

#[tokio::test]
async fn transfer_break_cuts_an_upload_and_stores_nothing() {
    let h = Harness::default().await;
    h.sim
        .admin()
        .set_faults(faults("transfer-break=1000 method=PUT"));
    let vm = h.powered_clone("cutup").await;
    let result = h.upload(&vm, r"C:\half.bin", vec![1u8; 200_000]).await;
    assert!(
        result.is_err(),
        "expected a broken connection, got {result:?}"
    );
    let id = gild::vsphere::wire::VmId::new(vm.as_str());
    assert!(h.sim.admin().guest_file(&id, r"C:\half.bin").is_none());
}

#[tokio::test]
async fn faults_given_at_start_apply_from_the_first_call() {
    let sim = gild::simulator::start(SimulatorConfig {
        faults: faults("unavailable route=/api/session next=1"),
        ..Default::default()
    })
    .await
    .unwrap();
    let http = crate::support::client_for(&sim);
    let url = format!("{}api/session", sim.base_url());
    let first = http
        .post(&url)
        .basic_auth(sim.user(), Some(sim.password().expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::SERVICE_UNAVAILABLE);
    let second = http
        .post(&url)
        .basic_auth(sim.user(), Some(sim.password().expose()))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn admin_http_prefix_sets_faults_and_reports_state_without_a_session() {
    let h = Harness::default().await;
    let put = h
        .http
        .put(h.url("/_sim/faults"))
        .body("busy route=/api/vcenter/network next=1")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), StatusCode::NO_CONTENT);
    let listed = h.admin_get("/_sim/faults").await;
    assert_eq!(listed, json!(["busy route=/api/vcenter/network next=1"]));
    assert_eq!(
        h.get("/api/vcenter/network").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    let bad = h
        .http
        .put(h.url("/_sim/faults"))
        .body("explode")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let vms = h.admin_get("/_sim/vms").await;
    assert!(vms
        .as_array()
        .unwrap()
        .iter()
        .any(|v| v["name"] == "win2022-base" && v["template"] == false));
    let base = h.vm_id("win2022-base");
    let services = h.admin_get(&format!("/_sim/vms/{base}/services")).await;
    assert!(
        services
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "VMTools"),
        "{services}"
    );
    let conf = h
        .http
        .get(h.url(&format!("/_sim/vms/{base}/file")))
        .query(&[("path", r"C:\ProgramData\VMware\VMware Tools\tools.conf")])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(conf.contains("exclude-nics"), "{conf}");
    let requests = h.admin_get("/_sim/requests").await;
    assert_eq!(requests["counts"]["GET /api/vcenter/network"], 1);
    let conns = h.admin_get("/_sim/connections").await;
    assert!(conns["connections"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn request_log_counts_routes_and_one_client_uses_one_connection() {
    let h = Harness::default().await;
    let vm = h.vm_id("win2022-base");
    for _ in 0..20 {
        assert_eq!(
            h.get(&format!("/api/vcenter/vm/{vm}/power")).await.0,
            StatusCode::OK
        );
    }
    h.act(&vm, "power?action=start").await;
    let admin = h.sim.admin();
    let counts = admin.route_counts();
    assert_eq!(counts.get("GET /api/vcenter/vm/{vm}/power"), Some(&20));
    assert_eq!(
        counts.get("POST /api/vcenter/vm/{vm}/power?action=start"),
        Some(&1)
    );
    assert!(admin
        .request_log()
        .iter()
        .any(|e| e.route == "/api/session" && e.status == 201));
    assert_eq!(admin.connection_count(), 1);
}
