//! The client against a flaky vCenter: a fifth of the calls answer 503 and
//! one in twenty connections drops (issue 6, "Proven under faults"). Every
//! client operation, in the order a build uses them, must succeed with no
//! duplicate VM and a bounded number of requests; sessions that expire
//! mid-sequence are renewed without the caller noticing. Targeted tests pin
//! down each recovery path (a transfer redone with a new URL, a VI task
//! read back before it is asked for again).

use gild::simulator::{self, FaultSpec, Simulator, SimulatorConfig};
use gild::vsphere::wire::{
    ClonePlacement, CloneSpec, GuestCredentials, PowerState, ProcessSpec, ToolsUpdateSpec,
    ToolsUpgradePolicy, ToolsUpgradeSpec, VmId,
};
use gild::vsphere::{Client, ClientConfig, ListFilter, RetryPolicy, Timeouts};
use std::collections::BTreeMap;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const BUILD_VM: &str = "win-flaky";
const SECOND_VM: &str = "win-flaky-2";
const FINAL_NAME: &str = "win-flaky-golden";

/// The fault pairs (503 seed, drop seed) the sequence runs under; (3, 5)
/// is the one from the issue that failed `gild demo` 2 runs in 5.
const SEEDS: [(u64, u64); 4] = [(3, 5), (1, 2), (7, 11), (2024, 6)];

fn flaky(unavailable_seed: u64, drop_seed: u64) -> String {
    format!(
        "unavailable rate=0.2 seed={unavailable_seed}; drop rate=0.05 seed={drop_seed}; \
         process-hang=args:gild-hang"
    )
}

async fn start(faults: &str, accept_api_token_for_vi: bool) -> Simulator {
    simulator::start(SimulatorConfig {
        faults: FaultSpec::parse(faults).expect("fault spec parses"),
        accept_api_token_for_vi,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

/// The shipped retry policy (attempts, time budget) without its pauses, so
/// the tests prove the defaults hold up and still run fast.
fn config(sim: &Simulator) -> ClientConfig {
    crate::support::client_config(
        sim,
        RetryPolicy {
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
            ..RetryPolicy::default()
        },
    )
}

fn guest(sim: &Simulator) -> GuestCredentials {
    GuestCredentials {
        user_name: sim.guest_user().to_string(),
        password: sim.guest_password().clone(),
    }
}

fn total(counts: &BTreeMap<String, u64>) -> u64 {
    counts.values().sum()
}

fn vms_named(sim: &Simulator, name: &str) -> usize {
    sim.admin().vms().iter().filter(|v| v.name == name).count()
}

fn cmd(arguments: &str) -> ProcessSpec {
    ProcessSpec {
        path: r"C:\Windows\System32\cmd.exe".into(),
        arguments: Some(arguments.into()),
        ..ProcessSpec::default()
    }
}

/// Every client operation that succeeds, in build order: log in, resolve
/// the placement, clone, configure and boot, guest processes and files,
/// reboot and shut down, then the VI/JSON template steps, a second VM
/// deleted through `/api`, and log out. `between` runs at each phase
/// boundary (the expiry test ends every session there). Panics, naming the
/// step, on the first failure.
async fn every_operation(sim: &Simulator, between: &dyn Fn()) {
    let client = Client::connect(config(sim)).await.expect("log in");
    let creds = guest(sim);
    client.session_info().await.expect("read the session");

    // Inventory.
    client.find_datacenter("dc1").await.expect("datacenter");
    let folder = client.find_folder("/dc1/vm/builds").await.expect("folder");
    let templates = client
        .find_folder("/dc1/vm/templates")
        .await
        .expect("template folder");
    let datastore = client
        .find_datastore("/dc1/datastore/datastore1")
        .await
        .expect("datastore");
    let pool = client
        .find_resource_pool("/dc1/host/cluster1/Resources/gild")
        .await
        .expect("pool");
    client.find_cluster("cluster1").await.expect("cluster");
    client.find_network("VM Network").await.expect("network");
    let source = client
        .find_vm("/dc1/vm/win2022-base")
        .await
        .expect("source VM");
    client
        .list_vms(&ListFilter::new().power_state(PowerState::PoweredOff))
        .await
        .expect("list VMs");
    between();

    // Clone and configure while powered off.
    let spec = CloneSpec {
        source: source.clone(),
        name: BUILD_VM.into(),
        placement: Some(ClonePlacement {
            folder: Some(folder.clone()),
            datastore: Some(datastore),
            resource_pool: Some(pool),
            ..ClonePlacement::default()
        }),
        power_on: Some(false),
    };
    let vm = client.clone_vm(&spec).await.expect("clone");
    assert_eq!(vms_named(sim, BUILD_VM), 1, "one clone, not two");
    client.vm(&vm).await.expect("get VM");
    client.hardware(&vm).await.expect("get hardware");
    client
        .upgrade_hardware(&vm, None)
        .await
        .expect("upgrade hardware");
    client
        .update_tools(
            &vm,
            &ToolsUpdateSpec {
                upgrade_policy: Some(ToolsUpgradePolicy::Manual),
            },
        )
        .await
        .expect("set the Tools policy");
    between();

    // Boot and wait for the guest.
    client.power_on(&vm).await.expect("power on");
    client.power(&vm).await.expect("get power");
    client
        .wait_for_guest_operations(&vm, WAIT)
        .await
        .expect("wait for Tools");
    client.wait_for_ip(&vm, WAIT).await.expect("wait for an IP");
    client.guest_identity(&vm).await.expect("guest identity");
    client
        .guest_interfaces(&vm)
        .await
        .expect("guest interfaces");
    client.guest_power(&vm).await.expect("guest power");
    client.tools(&vm).await.expect("get Tools");
    client
        .tools_installer(&vm)
        .await
        .expect("get the Tools installer");
    client
        .connect_tools_installer(&vm)
        .await
        .expect("connect the Tools installer");
    client
        .disconnect_tools_installer(&vm)
        .await
        .expect("disconnect the Tools installer");
    client
        .upgrade_tools(&vm, &ToolsUpgradeSpec::default())
        .await
        .expect("upgrade Tools");
    between();

    // Guest processes.
    let exit = client
        .run_program(&vm, &creds, &cmd("/c exit 0"), WAIT)
        .await
        .expect("run cmd.exe");
    assert_eq!(exit.exit_code, 0);
    client
        .list_processes(&vm, &creds)
        .await
        .expect("list processes");
    let pid = client
        .start_process(&vm, &creds, &cmd("/c rem gild-hang"))
        .await
        .expect("start a hanging process");
    client.process(&vm, &creds, pid).await.expect("get process");
    client
        .kill_process(&vm, &creds, pid)
        .await
        .expect("end the process");
    between();

    // Guest files, in memory and streamed.
    let dir = r"C:\gild-flaky";
    let small = r"C:\gild-flaky\small.txt";
    let big = r"C:\gild-flaky\big.bin";
    client
        .create_directory(&vm, &creds, dir, true)
        .await
        .expect("create a directory");
    client
        .upload_bytes(&vm, &creds, &b"flaky but fine\r\n"[..], small, false)
        .await
        .expect("upload bytes");
    let local = tempfile::tempdir().expect("temp dir");
    let content: Vec<u8> = (0..600 * 1024u32).map(|i| (i % 253) as u8).collect();
    let src = local.path().join("big.bin");
    std::fs::write(&src, &content).expect("write the local file");
    client
        .upload_file(&vm, &creds, &src, big, true)
        .await
        .expect("upload a file");
    client
        .file_info(&vm, &creds, big)
        .await
        .expect("get file info");
    client
        .list_files(&vm, &creds, dir)
        .await
        .expect("list files");
    let back = client
        .download_bytes(&vm, &creds, small)
        .await
        .expect("download bytes");
    assert_eq!(&back[..], b"flaky but fine\r\n");
    let dst = local.path().join("back.bin");
    client
        .download_file(&vm, &creds, big, &dst)
        .await
        .expect("download a file");
    assert!(
        std::fs::read(&dst).expect("read back") == content,
        "downloaded bytes differ"
    );
    client
        .delete_file(&vm, &creds, small)
        .await
        .expect("delete a file");
    client
        .delete_directory(&vm, &creds, dir, true)
        .await
        .expect("delete the directory");
    between();

    // Reboot, then shut down.
    client.guest_reboot(&vm).await.expect("reboot the guest");
    client
        .wait_for_guest_operations(&vm, WAIT)
        .await
        .expect("wait for Tools after the reboot");
    client
        .guest_shutdown(&vm)
        .await
        .expect("shut the guest down");
    wait_powered_off(&client, &vm).await;
    between();

    // VI/JSON: the template steps of a build.
    assert!(!client
        .is_template(&vm)
        .await
        .expect("read the template flag"));
    client
        .set_annotation(&vm, "gild build under faults")
        .await
        .expect("annotate");
    let task = client.rename(&vm, FINAL_NAME).await.expect("rename");
    client
        .wait_task(&task, WAIT)
        .await
        .expect("wait for rename");
    between();
    assert_eq!(
        client
            .find_child_vm(&folder, FINAL_NAME)
            .await
            .expect("find by name"),
        Some(vm.clone())
    );
    client.child_vms(&folder).await.expect("list the folder");
    let task = client
        .move_into_folder(&templates, &vm)
        .await
        .expect("move into the template folder");
    client.wait_task(&task, WAIT).await.expect("wait for move");
    client
        .mark_as_template(&vm)
        .await
        .expect("mark as template");
    assert!(client.is_template(&vm).await.expect("template flag"));
    let task = client.destroy(&vm).await.expect("destroy");
    client
        .wait_task(&task, WAIT)
        .await
        .expect("wait for destroy");
    between();

    // A second VM, deleted through /api.
    let second = client
        .clone_vm(&CloneSpec {
            source,
            name: SECOND_VM.into(),
            placement: None,
            power_on: None,
        })
        .await
        .expect("second clone");
    assert_eq!(vms_named(sim, SECOND_VM), 1, "one clone, not two");
    client
        .power_on(&second)
        .await
        .expect("power on the second VM");
    client.power_off(&second).await.expect("power off");
    client
        .delete_vm(&second)
        .await
        .expect("delete the second VM");

    client.close().await.expect("log out");
    for name in [BUILD_VM, FINAL_NAME, SECOND_VM] {
        assert_eq!(vms_named(sim, name), 0, "{name} left behind");
    }
}

async fn wait_powered_off(client: &Client, vm: &VmId) {
    let start = std::time::Instant::now();
    while client.power(vm).await.expect("get power").state != PowerState::PoweredOff {
        assert!(start.elapsed() < WAIT, "{vm} never powered off");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Requests the sequence makes with no faults at all.
async fn baseline() -> BTreeMap<String, u64> {
    let sim = start("process-hang=args:gild-hang", true).await;
    every_operation(&sim, &|| {}).await;
    sim.admin().route_counts()
}

#[tokio::test]
async fn every_operation_succeeds_under_503s_and_drops_with_no_duplicate_and_bounded_requests() {
    let clean = total(&baseline().await);
    for (unavailable, dropped) in SEEDS {
        let sim = start(&flaky(unavailable, dropped), true).await;
        every_operation(&sim, &|| {}).await;
        let log = sim.admin().request_log();
        let faulted = log
            .iter()
            .filter(|e| e.status == 503 || e.status == 0)
            .count();
        let requests = log.len() as u64;
        eprintln!("seeds {unavailable}/{dropped}: {requests} requests ({faulted} faulted), fault-free {clean}");
        assert!(
            faulted * 10 >= log.len(),
            "seeds {unavailable}/{dropped}: only {faulted} of {} requests faulted",
            log.len()
        );
        // A fault costs a repeat, and for a non-idempotent call one read
        // back first: at a quarter of calls failing that stays well under
        // twice the fault-free count.
        assert!(
            requests <= clean * 2,
            "seeds {unavailable}/{dropped}: {requests} requests, fault-free {clean}: {:?}",
            sim.admin().route_counts()
        );
    }
}

#[tokio::test]
async fn sessions_that_expire_mid_sequence_are_renewed_transparently() {
    // Without the /api token on VI/JSON the client holds two sessions
    // (/api and SessionManager's); both end at every phase boundary.
    let sim = start(&flaky(3, 5), false).await;
    let admin = sim.admin();
    let expiries = std::sync::atomic::AtomicU64::new(0);
    every_operation(&sim, &|| {
        admin.expire_sessions();
        expiries.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .await;
    let counts = sim.admin().route_counts();
    let logins = counts.get("POST /api/session").copied().unwrap_or(0);
    let expired = expiries.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        logins > expired,
        "{logins} /api logins for {expired} expiries"
    );
    let vi_logins = counts
        .get("POST /sdk/vim25/{release}/SessionManager/{mo}/Login")
        .copied()
        .unwrap_or(0);
    assert!(
        vi_logins >= 2,
        "the VI session was renewed too: {vi_logins}"
    );
}

/// A running clone for the targeted tests (no faults yet).
async fn running(client: &Client, name: &str) -> VmId {
    crate::support::running_clone(client, name, WAIT).await
}

fn count(sim: &Simulator, key: &str) -> u64 {
    sim.admin().route_counts().get(key).copied().unwrap_or(0)
}

const TRANSFER_CREATE: &str = "POST /api/vcenter/vm/{vm}/guest/filesystem?action=create";

#[tokio::test]
async fn a_put_answered_503_is_redone_with_a_fresh_transfer_url() {
    let sim = start("", true).await;
    let client = Client::connect(config(&sim)).await.expect("log in");
    let vm = running(&client, "win-put").await;
    sim.admin().set_faults(
        FaultSpec::parse("unavailable route=/guestFile method=PUT next=1").expect("spec"),
    );
    client
        .upload_bytes(&vm, &guest(&sim), &b"x"[..], r"C:\put.txt", false)
        .await
        .expect("upload succeeds on the second transfer");
    assert_eq!(count(&sim, TRANSFER_CREATE), 2, "a new URL for the repeat");
    assert_eq!(count(&sim, "PUT /guestFile"), 2);
    assert_eq!(
        sim.admin().guest_file(&vm, r"C:\put.txt").as_deref(),
        Some(&b"x"[..])
    );
}

#[tokio::test]
async fn a_dropped_download_is_redone_with_a_fresh_transfer_url() {
    let sim = start("", true).await;
    let client = Client::connect(config(&sim)).await.expect("log in");
    let vm = running(&client, "win-get").await;
    let creds = guest(&sim);
    client
        .upload_bytes(&vm, &creds, &b"payload"[..], r"C:\get.txt", false)
        .await
        .expect("upload");
    sim.admin()
        .set_faults(FaultSpec::parse("drop route=/guestFile method=GET next=1").expect("spec"));
    let got = client
        .download_bytes(&vm, &creds, r"C:\get.txt")
        .await
        .expect("download succeeds on the second transfer");
    assert_eq!(&got[..], b"payload");
    assert_eq!(count(&sim, TRANSFER_CREATE), 3, "upload, download, repeat");
    assert_eq!(count(&sim, "GET /guestFile"), 2);
}

#[tokio::test]
async fn a_transfer_that_keeps_failing_gives_up_within_the_retry_policy() {
    let sim = start("", true).await;
    let mut cfg = config(&sim);
    cfg.retry = RetryPolicy::instant(3);
    let client = Client::connect(cfg).await.expect("log in");
    let vm = running(&client, "win-put-down").await;
    sim.admin()
        .set_faults(FaultSpec::parse("unavailable route=/guestFile").expect("spec"));
    let e = client
        .upload_bytes(&vm, &guest(&sim), &b"x"[..], r"C:\never.txt", true)
        .await
        .expect_err("the transfer server never answers");
    assert_eq!(e.status(), Some(503), "{e}");
    assert!(e.to_string().contains(r"C:\never.txt"), "{e}");
    assert_eq!(count(&sim, "PUT /guestFile"), 3, "three attempts in all");
}

#[tokio::test]
async fn vi_task_starts_that_get_no_answer_are_read_back_then_asked_again() {
    let sim = start("", true).await;
    let client = Client::connect(config(&sim)).await.expect("log in");
    let base = client.find_vm("win2022-base").await.expect("base");
    let vm = client
        .clone_vm(&CloneSpec {
            source: base,
            name: "win-vi".into(),
            placement: None,
            power_on: None,
        })
        .await
        .expect("clone");
    let vi = "/sdk/vim25/{release}/VirtualMachine/{mo}";
    sim.admin().set_faults(
        FaultSpec::parse(&format!(
            "drop route={vi}/Rename_Task next=1; unavailable route={vi}/MarkAsTemplate next=1; \
             unavailable route={vi}/ReconfigVM_Task next=1; drop route={vi}/Destroy_Task next=1"
        ))
        .expect("spec"),
    );
    client
        .set_annotation(&vm, "note")
        .await
        .expect("annotation after one 503");
    let task = client.rename(&vm, "win-vi-2").await.expect("rename");
    client.wait_task(&task, WAIT).await.expect("rename task");
    assert_eq!(client.vm(&vm).await.expect("get").name, "win-vi-2");
    client
        .mark_as_template(&vm)
        .await
        .expect("mark after one 503");
    let task = client.destroy(&vm).await.expect("destroy");
    client.wait_task(&task, WAIT).await.expect("destroy task");
    assert!(sim.admin().vms().iter().all(|v| v.id != vm));
    for method in [
        "Rename_Task",
        "MarkAsTemplate",
        "ReconfigVM_Task",
        "Destroy_Task",
    ] {
        assert_eq!(
            count(&sim, &format!("POST {vi}/{method}")),
            2,
            "{method}: the failed call and one repeat"
        );
    }
    // Each repeat came after reading the state back: the config read.
    assert!(count(&sim, &format!("GET {vi}/config")) >= 4);
}

#[tokio::test]
async fn a_failed_login_wrapped_by_a_stage_prints_every_cause_with_alternate_display() {
    // A port that was just free: nothing listens, the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = url::Url::parse(&format!("https://127.0.0.1:{port}/")).expect("url");
    let mut cfg = ClientConfig::new(url, "administrator@vsphere.local", "pw-s3cret".into());
    cfg.retry = RetryPolicy::never();
    cfg.timeouts = Timeouts::for_tests();
    let err = Client::connect(cfg).await.expect_err("nothing listens");
    let stage = gild::pipeline::error::StageError::vsphere("preflight: log in to vCenter")(err);
    let error = anyhow::Error::new(stage);
    let layers: Vec<String> = error.chain().map(ToString::to_string).collect();
    let shown = format!("{error:#}");
    // The stage, the client's call with its URL, reqwest, and the OS's
    // refusal at the bottom: each layer once, joined by ": ".
    assert!(layers.len() >= 4, "{layers:#?}");
    assert!(layers[0].contains("preflight"), "{shown}");
    assert!(
        layers[1].contains(&format!("127.0.0.1:{port}")) && layers[1].contains("cannot connect"),
        "{shown}"
    );
    assert!(
        layers
            .last()
            .is_some_and(|l| l.to_lowercase().contains("refused")),
        "the root cause is the refused connection: {shown}"
    );
    for layer in &layers {
        assert!(
            shown.contains(layer.as_str()),
            "{layer:?} missing from {shown}"
        );
    }
    assert!(!shown.contains("pw-s3cret"), "{shown}");
}
