//! The vSphere client against the embedded simulator, over real HTTPS.

use gild::simulator::faults::FaultSpec;
use gild::simulator::{self, Simulator, SimulatorConfig};
use gild::vsphere::wire::ErrorType;
use gild::vsphere::wire::VmId;
use gild::vsphere::wire::{ClonePlacement, CloneSpec, GuestCredentials, PowerState, ProcessSpec};
use gild::vsphere::{Client, ClientConfig, RetryPolicy, TlsOptions, VsphereError};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(20);

async fn sim() -> Simulator {
    sim_with(SimulatorConfig::default()).await
}

async fn sim_with(config: SimulatorConfig) -> Simulator {
    simulator::start(config).await.expect("simulator starts")
}

fn config(sim: &Simulator) -> ClientConfig {
    crate::support::client_config(sim, RetryPolicy::instant(4))
}

async fn connect(sim: &Simulator) -> Client {
    Client::connect(config(sim)).await.expect("client connects")
}

fn guest(sim: &Simulator) -> GuestCredentials {
    GuestCredentials {
        user_name: sim.guest_user().to_string(),
        password: sim.guest_password().clone(),
    }
}

fn count(sim: &Simulator, method: &str, route: &str) -> usize {
    sim.admin()
        .request_log()
        .iter()
        .filter(|e| e.method == method && e.route == route)
        .count()
}

/// Clones the base VM, powers it on and waits for guest operations.
async fn running_clone(client: &Client, name: &str) -> VmId {
    crate::support::running_clone(client, name, LONG).await
}

#[tokio::test]
async fn login_reads_the_session_and_close_deletes_it() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let info = client.session_info().await.unwrap();
    assert_eq!(info.user, sim.user());
    client.close().await.unwrap();
    assert_eq!(count(&sim, "DELETE", "/api/session"), 1);
}

#[tokio::test]
async fn wrong_password_is_refused_with_one_clear_line() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.password = "not-the-password".into();
    let e = Client::connect(cfg).await.unwrap_err();
    assert_eq!(e.error_type(), Some(ErrorType::Unauthenticated));
    let text = e.to_string();
    assert!(
        text.starts_with("log in to https://127.0.0.1:") && text.contains(sim.user()),
        "{text}"
    );
    assert!(
        !text.contains("not-the-password") && !text.contains('\n'),
        "{text}"
    );
    assert_eq!(
        count(&sim, "POST", "/api/session"),
        1,
        "a refused login is not retried"
    );
}

#[tokio::test]
async fn expired_session_is_renewed_once_and_the_call_repeated() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let vm = client.find_vm("win2022-base").await.unwrap();
    sim.admin().expire_sessions();
    let power = client
        .power(&vm)
        .await
        .expect("call succeeds after re-login");
    assert_eq!(power.state, PowerState::PoweredOff);
    assert_eq!(count(&sim, "POST", "/api/session"), 2);
    assert_eq!(count(&sim, "GET", "/api/vcenter/vm/{vm}/power"), 2);
}

#[tokio::test]
async fn lookups_by_name_and_by_path_agree_and_paths_disambiguate_folders() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let by_name = client.find_vm("win2022-base").await.unwrap();
    assert_eq!(
        client.find_vm("/dc1/vm/win2022-base").await.unwrap(),
        by_name
    );
    let t1 = client.find_folder("/dc1/vm/templates").await.unwrap();
    let t2 = client.find_folder("/dc2/vm/templates").await.unwrap();
    assert_ne!(t1, t2);
    let e = client.find_folder("templates").await.unwrap_err();
    assert!(matches!(e, VsphereError::Ambiguous { .. }), "{e}");
    assert!(
        e.to_string().contains(t1.as_str()) && e.to_string().contains(t2.as_str()),
        "{e}"
    );
    client
        .find_datastore("/dc1/datastore/datastore1")
        .await
        .unwrap();
    client
        .find_network("/dc1/network/VM Network")
        .await
        .unwrap();
    client.find_cluster("/dc1/host/cluster1").await.unwrap();
    client
        .find_resource_pool("/dc1/host/cluster1/Resources/gild")
        .await
        .unwrap();
    let e = client.find_vm("/dc1/vm/builds/ghost").await.unwrap_err();
    assert!(e.is_not_found());
    assert_eq!(e.to_string(), "VM /dc1/vm/builds/ghost not found");
}

#[tokio::test]
async fn clone_power_tools_and_ip_come_up_in_order() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let base = client.find_vm("win2022-base").await.unwrap();
    let folder = client.find_folder("/dc1/vm/builds").await.unwrap();
    let spec = CloneSpec {
        source: base.clone(),
        name: "win-build-1".into(),
        placement: Some(ClonePlacement {
            folder: Some(folder),
            ..Default::default()
        }),
        power_on: None,
    };
    let vm = client.clone_vm(&spec).await.unwrap();
    assert_eq!(
        client.find_vm("/dc1/vm/builds/win-build-1").await.unwrap(),
        vm
    );
    let taken = client.clone_vm(&spec).await.unwrap_err();
    assert!(taken.is_already_exists(), "{taken}");
    assert!(
        taken.to_string().starts_with(&format!(
            "clone {base} to \"win-build-1\": vCenter said ALREADY_EXISTS"
        )),
        "{taken}"
    );

    client.power_on(&vm).await.unwrap();
    assert_eq!(
        client.power(&vm).await.unwrap().state,
        PowerState::PoweredOn
    );
    client.wait_for_guest_operations(&vm, LONG).await.unwrap();
    let ip = client.wait_for_ip(&vm, LONG).await.unwrap();
    assert!(ip.starts_with("10.20.30."), "{ip}");
    assert!(client.tools(&vm).await.unwrap().version_number.is_some());
    assert!(!client.guest_interfaces(&vm).await.unwrap().is_empty());

    let e = client.delete_vm(&vm).await.unwrap_err();
    assert_eq!(
        e.error_type(),
        Some(ErrorType::NotAllowedInCurrentState),
        "{e}"
    );
    client.power_off(&vm).await.unwrap();
    client.delete_vm(&vm).await.unwrap();
    assert!(client.vm(&vm).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn run_program_returns_the_exit_code() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let vm = running_clone(&client, "win-proc").await;
    let spec = ProcessSpec {
        path: r"C:\Windows\System32\cmd.exe".into(),
        arguments: Some("/c exit 3".into()),
        ..Default::default()
    };
    let exit = client
        .run_program(&vm, &guest(&sim), &spec, LONG)
        .await
        .unwrap();
    assert_eq!(exit.exit_code, 3);

    let bad = GuestCredentials {
        user_name: "Administrator".into(),
        password: "wrong".into(),
    };
    let e = client
        .run_program(&vm, &bad, &spec, LONG)
        .await
        .unwrap_err();
    assert!(e.is_unauthenticated(), "{e}");
    assert_eq!(
        count(&sim, "POST", "/api/session"),
        1,
        "bad guest credentials must not cause a vCenter re-login"
    );
}

#[tokio::test]
async fn hanging_program_fails_at_its_deadline_naming_vm_and_program() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let vm = running_clone(&client, "win-hang").await;
    sim.admin()
        .set_faults(FaultSpec::parse("process-hang=cmd.exe").unwrap());
    let spec = ProcessSpec {
        path: r"C:\Windows\System32\cmd.exe".into(),
        arguments: Some("/c exit 0".into()),
        ..Default::default()
    };
    let e = client
        .run_program(&vm, &guest(&sim), &spec, Duration::from_millis(200))
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, VsphereError::Deadline { .. }), "{text}");
    assert!(
        text.contains("cmd.exe") && text.contains(vm.as_str()) && text.contains("200ms"),
        "{text}"
    );
}

#[tokio::test]
async fn upload_and_download_round_trip_a_streamed_file() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let vm = running_clone(&client, "win-files").await;
    let creds = guest(&sim);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("payload.bin");
    let content: Vec<u8> = (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &content).unwrap();

    client
        .create_directory(&vm, &creds, r"C:\gild\in", true)
        .await
        .unwrap();
    let sent = client
        .upload_file(&vm, &creds, &src, r"C:\gild\in\payload.bin", false)
        .await
        .unwrap();
    assert_eq!(sent, content.len() as u64);
    assert_eq!(
        client
            .file_info(&vm, &creds, r"C:\gild\in\payload.bin")
            .await
            .unwrap()
            .size,
        content.len() as i64
    );

    let back = dir.path().join("back.bin");
    let got = client
        .download_file(&vm, &creds, r"C:\gild\in\payload.bin", &back)
        .await
        .unwrap();
    assert_eq!(got, content.len() as u64);
    assert!(
        std::fs::read(&back).unwrap() == content,
        "downloaded bytes differ"
    );

    client
        .upload_bytes(&vm, &creds, &b"hello"[..], r"C:\gild\in\small.txt", false)
        .await
        .unwrap();
    assert_eq!(
        &client
            .download_bytes(&vm, &creds, r"C:\gild\in\small.txt")
            .await
            .unwrap()[..],
        b"hello"
    );
    let e = client
        .upload_bytes(&vm, &creds, &b"again"[..], r"C:\gild\in\small.txt", false)
        .await
        .unwrap_err();
    assert!(e.is_already_exists(), "{e}");
    let names: Vec<String> = client
        .list_files(&vm, &creds, r"C:\gild\in")
        .await
        .unwrap()
        .files
        .into_iter()
        .map(|f| f.filename)
        .collect();
    assert!(names.iter().any(|n| n == "small.txt"), "{names:?}");
    client
        .delete_file(&vm, &creds, r"C:\gild\in\small.txt")
        .await
        .unwrap();
    client
        .delete_directory(&vm, &creds, r"C:\gild", true)
        .await
        .unwrap();
    assert!(client
        .file_info(&vm, &creds, r"C:\gild\in\payload.bin")
        .await
        .unwrap_err()
        .is_not_found());
}

#[tokio::test]
async fn transient_503_on_a_read_is_retried() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let vm = client.find_vm("win2022-base").await.unwrap();
    sim.admin().set_faults(
        FaultSpec::parse("unavailable route=/api/vcenter/vm/{vm}/power method=GET next=2").unwrap(),
    );
    assert_eq!(
        client.power(&vm).await.unwrap().state,
        PowerState::PoweredOff
    );
    assert_eq!(count(&sim, "GET", "/api/vcenter/vm/{vm}/power"), 3);
}

#[tokio::test]
async fn dropped_clone_is_retried_only_after_finding_no_vm() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let base = client.find_vm("win2022-base").await.unwrap();
    sim.admin()
        .set_faults(FaultSpec::parse("drop route=/api/vcenter/vm?action=clone next=1").unwrap());
    let spec = CloneSpec {
        source: base,
        name: "win-drop".into(),
        placement: None,
        power_on: None,
    };
    let vm = client.clone_vm(&spec).await.unwrap();
    assert_eq!(client.find_vm("win-drop").await.unwrap(), vm);
    assert_eq!(
        count(&sim, "POST", "/api/vcenter/vm?action=clone"),
        2,
        "dropped once, then retried once"
    );
}

#[tokio::test]
async fn dropped_clone_whose_vm_exists_is_not_repeated() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let base = client.find_vm("win2022-base").await.unwrap();
    let spec = CloneSpec {
        source: base,
        name: "win-there".into(),
        placement: None,
        power_on: None,
    };
    let first = client.clone_vm(&spec).await.unwrap();
    // The answer of a clone that went through is lost: the client must find
    // the VM instead of cloning again.
    sim.admin()
        .set_faults(FaultSpec::parse("drop route=/api/vcenter/vm?action=clone next=1").unwrap());
    assert_eq!(client.clone_vm(&spec).await.unwrap(), first);
    assert_eq!(
        count(&sim, "POST", "/api/vcenter/vm?action=clone"),
        2,
        "the first clone, then the dropped one only"
    );
}

#[tokio::test]
async fn untrusted_certificate_is_one_line_suggesting_ca_file_or_thumbprint() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.tls = TlsOptions::default();
    let e = Client::connect(cfg).await.unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, VsphereError::UntrustedCertificate { .. }),
        "{text}"
    );
    let origin = sim.base_url().origin().ascii_serialization();
    assert!(
        text.contains(&origin) && text.contains("ca_file") && text.contains("thumbprint"),
        "{text}"
    );
    assert!(!text.contains('\n'));
}

#[tokio::test]
async fn thumbprint_pin_accepts_the_right_certificate_only() {
    let sim = sim().await;
    let mut cfg = config(&sim);
    cfg.tls = TlsOptions {
        thumbprint: Some("00".repeat(32)),
        ..TlsOptions::default()
    };
    let e = Client::connect(cfg.clone()).await.unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, VsphereError::UntrustedCertificate { .. }),
        "{text}"
    );
    // The refusal names the server's real thumbprint; pinning that one works.
    let real = text
        .split_whitespace()
        .find(|w| w.len() == 95 && w.matches(':').count() == 31)
        .unwrap_or_else(|| panic!("no thumbprint in {text}"));
    cfg.tls.thumbprint = Some(real.to_string());
    let client = Client::connect(cfg)
        .await
        .expect("pinned certificate is accepted");
    client.close().await.unwrap();
}

#[tokio::test]
async fn vi_json_marks_a_template_and_renames_through_a_task() {
    let sim = sim_with(SimulatorConfig {
        accept_api_token_for_vi: false,
        ..SimulatorConfig::default()
    })
    .await;
    let client = connect(&sim).await;
    let base = client.find_vm("win2022-base").await.unwrap();
    let spec = CloneSpec {
        source: base,
        name: "win-golden".into(),
        placement: None,
        power_on: None,
    };
    let vm = client.clone_vm(&spec).await.unwrap();
    assert!(!client.is_template(&vm).await.unwrap());
    let task = client.rename(&vm, "win-golden-2").await.unwrap();
    client.wait_task(&task, LONG).await.unwrap();
    assert_eq!(client.vm(&vm).await.unwrap().name, "win-golden-2");
    client.mark_as_template(&vm).await.unwrap();
    assert!(client.is_template(&vm).await.unwrap());
    assert_eq!(
        count(
            &sim,
            "POST",
            "/sdk/vim25/{release}/SessionManager/{mo}/Login"
        ),
        1,
        "the SessionManager fallback ran once"
    );
    client.close().await.unwrap();
}

#[tokio::test]
async fn many_calls_share_one_kept_alive_connection() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let vm = client.find_vm("win2022-base").await.unwrap();
    let other_handle = client.clone();
    for _ in 0..20 {
        other_handle.power(&vm).await.unwrap();
    }
    assert_eq!(sim.admin().connection_count(), 1);
}

#[tokio::test]
async fn dropping_an_unclosed_client_still_logs_out() {
    let sim = sim().await;
    let client = connect(&sim).await;
    client.session_info().await.unwrap();
    drop(client);
    // The guard's logout runs on a spawned task: wait for it, bounded.
    let deadline = std::time::Instant::now() + LONG;
    while count(&sim, "DELETE", "/api/session") == 0 {
        assert!(std::time::Instant::now() < deadline, "no logout after drop");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn busy_power_on_is_checked_then_retried() {
    let sim = sim().await;
    let client = connect(&sim).await;
    let base = client.find_vm("win2022-base").await.unwrap();
    let spec = CloneSpec {
        source: base,
        name: "win-busy".into(),
        placement: None,
        power_on: None,
    };
    let vm = client.clone_vm(&spec).await.unwrap();
    sim.admin().set_faults(
        FaultSpec::parse("busy route=/api/vcenter/vm/{vm}/power?action=start next=1").unwrap(),
    );
    client.power_on(&vm).await.unwrap();
    assert_eq!(
        client.power(&vm).await.unwrap().state,
        PowerState::PoweredOn
    );
    assert_eq!(
        count(&sim, "POST", "/api/vcenter/vm/{vm}/power?action=start"),
        2
    );
}

#[tokio::test]
async fn tools_policy_hardware_and_guest_shutdown_work_on_a_clone() {
    use gild::vsphere::wire::{GuestPowerState, ToolsUpdateSpec, ToolsUpgradePolicy};
    let sim = sim().await;
    let client = connect(&sim).await;
    let vm = running_clone(&client, "win-tools").await;
    assert!(client.hardware(&vm).await.unwrap().version.0 >= 15);
    let manual = ToolsUpdateSpec {
        upgrade_policy: Some(ToolsUpgradePolicy::Manual),
    };
    client.update_tools(&vm, &manual).await.unwrap();
    assert_eq!(
        client.tools(&vm).await.unwrap().upgrade_policy,
        ToolsUpgradePolicy::Manual
    );
    assert_eq!(
        client.guest_power(&vm).await.unwrap().state,
        GuestPowerState::Running
    );
    client.guest_shutdown(&vm).await.unwrap();
    let deadline = std::time::Instant::now() + LONG;
    while client.power(&vm).await.unwrap().state != PowerState::PoweredOff {
        assert!(
            std::time::Instant::now() < deadline,
            "the VM never powered off after a guest shutdown"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn apipa_address_is_reported_as_such() {
    let sim = sim().await;
    sim.admin().set_faults(FaultSpec::parse("apipa").unwrap());
    let client = connect(&sim).await;
    let vm = running_clone(&client, "win-apipa").await;
    let ip = client.wait_for_ip(&vm, LONG).await.unwrap();
    assert!(gild::vsphere::is_apipa(&ip), "{ip}");
}
