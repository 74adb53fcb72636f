//! The address watch (`src/pipeline/stages/address.rs`): the network stage
//! records the first usable address, later stages re-read it a poll
//! interval apart, sysprep completes the watch and reads it once more.
//! Fault `address-flap` makes the guest's reported address change, so
//! each of those checks is seen failing as well as passing.

use crate::pipeline_build::ok;
use crate::support::build::*;
use gild::pipeline::engine::{self, BuildJob, BuildOutcome};
use gild::pipeline::interrupt::Interrupt;
use gild::pipeline::progress::Reporter;
use gild::pipeline::state::{BuildStatus, StageRecord, StageStatus, StartMode};
use gild::secret::Secret;
use gild::simulator::{Admin, FaultSpec};
use gild::vsphere::{Client, ClientConfig, Timeouts};
use std::path::Path;
use std::time::Duration;

/// A client whose poll interval is zero, so the watch polls at the start
/// of every later stage and the stage that sees a change is known.
async fn eager_client(env: &BuildEnv) -> Client {
    let mut config = ClientConfig::new(
        env.sim.base_url().clone(),
        env.sim.user(),
        Secret::new(VC_PASSWORD),
    );
    config.tls.ca_file = env.sim.ca_pem_path().map(Path::to_path_buf);
    config.timeouts = Timeouts {
        poll_interval: Duration::ZERO,
        ..Timeouts::for_tests()
    };
    config.retry = gild::vsphere::RetryPolicy::instant(8);
    Client::connect(config).await.expect("connect")
}

async fn run(
    env: &BuildEnv,
    job: &BuildJob,
    client: &Client,
    spy: Option<&dyn Reporter>,
) -> (BuildOutcome, Vec<String>) {
    env.run_job_on(client, job, &Interrupt::new(), spy).await
}

/// Whether a progress line has `text`.
fn saw(lines: &[String], text: &str) -> bool {
    lines.iter().any(|l| l.contains(text))
}

fn flap(vm: &str) -> FaultSpec {
    FaultSpec::parse(&format!("address-flap vm={vm}")).expect("fault spec")
}

fn state_records(outcome: &BuildOutcome) -> Vec<StageRecord> {
    let path = outcome.state_file.as_ref().expect("state file");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("state")).expect("json");
    serde_json::from_value(state["stages"].clone()).expect("stage records")
}

fn error_of(outcome: &BuildOutcome) -> String {
    outcome
        .error
        .as_ref()
        .map(engine::error_chain)
        .unwrap_or_default()
}

/// The build failed in `stage` on `vm`; its error chain.
fn failed_at(outcome: &BuildOutcome, lines: &[String], stage: &str, vm: &str) -> String {
    assert_eq!(outcome.status, BuildStatus::Failed, "{lines:#?}");
    let err = error_of(outcome);
    assert!(
        err.starts_with(&format!("stage {stage} failed on {vm}")),
        "{err}"
    );
    err
}

/// "changed: A → B" in `text`: both addresses, which differ and lie in
/// the pipeline's expected subnet (10.20.30.0/24).
fn changed_addresses(text: &str) -> (String, String) {
    let rest = text
        .split("changed: ")
        .nth(1)
        .unwrap_or_else(|| panic!("no change named: {text}"));
    let mut parts = rest.split(" → ");
    let from = parts.next().unwrap_or_default().to_string();
    let to: String = parts
        .next()
        .unwrap_or_default()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    assert_ne!(from, to, "{text}");
    for ip in [&from, &to] {
        assert!(ip.starts_with("10.20.30."), "{ip} in {text}");
    }
    (from, to)
}

fn only_source_left(env: &BuildEnv, lines: &[String]) {
    assert_eq!(
        env.vm_names(),
        vec!["win2022-base".to_string()],
        "the build VM is gone: {lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_changes_fails_the_stage_that_sees_it_and_names_both() {
    let env = BuildEnv::start(&wmco_pipeline("win", "{name}-fixed", ""), "").await;
    let client = eager_client(&env).await;
    let job = env.job(env.options());
    env.sim.admin().set_faults(flap(&job.names.build_vm));
    let (outcome, lines) = run(&env, &job, &client, None).await;
    // The network stage saw the first report; openssh's opening poll,
    // a poll interval (zero) later, sees the other lease.
    let err = failed_at(&outcome, &lines, "openssh", &job.names.build_vm);
    assert!(err.contains("address stable: expected 10.20.30."), "{err}");
    let (from, _) = changed_addresses(&err);
    assert!(saw(&lines, " network Passed"), "{lines:#?}");
    assert!(saw(&lines, " openssh Failed"), "{lines:#?}");
    let records = state_records(&outcome);
    let network = records
        .iter()
        .find(|r| r.stage == "network")
        .expect("network");
    assert!(
        network.message.starts_with(&from),
        "the recorded address is the one that changed: {}",
        network.message
    );
    let openssh = records
        .iter()
        .find(|r| r.stage == "openssh")
        .expect("openssh");
    let check = openssh.checks.last().expect("the failed check");
    assert_eq!(
        (check.name.as_str(), check.passed),
        ("address stable", false)
    );
    only_source_left(&env, &lines);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_steady_address_passes_and_the_reports_carry_its_poll_count() {
    let env = BuildEnv::start(&wmco_pipeline("win", "{name}-fixed", ""), "").await;
    let (outcome, lines) = env.build().await;
    ok(&outcome, &lines);
    let out = env.dir.path().join("out");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest"))
            .expect("json");
    let checks = manifest["checks"].as_array().expect("checks");
    let named = |name: &str| -> Vec<&serde_json::Value> {
        checks.iter().filter(|c| c["name"] == name).collect()
    };
    let ip = manifest["ip_address"]
        .as_str()
        .or_else(|| manifest["facts"]["ip_address"].as_str())
        .map(str::to_string);
    let stable = named("address stable");
    assert_eq!(stable.len(), 1, "recorded once, when complete: {checks:#?}");
    assert_eq!(stable[0]["passed"], true);
    let observed = stable[0]["observed"].as_str().unwrap_or_default();
    assert!(observed.ends_with(" over 3 polls"), "{observed}");
    if let Some(ip) = &ip {
        assert!(observed.starts_with(ip.as_str()), "{observed} vs {ip}");
    }
    let stage = stable[0]["stage"].as_str().unwrap_or_default();
    assert!(
        ![
            "preflight",
            "clone",
            "hardware",
            "tools",
            "tools_conf",
            "template",
            "publish"
        ]
        .contains(&stage),
        "completed after network, by sysprep at the latest: {stage}"
    );
    let before = named("address unchanged before sysprep");
    assert_eq!(before.len(), 1, "{checks:#?}");
    assert_eq!(
        (before[0]["stage"].as_str(), before[0]["passed"].as_bool()),
        (Some("sysprep"), Some(true))
    );

    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit");
    let case = junit
        .lines()
        .find(|l| l.contains("name=\"address stable\""))
        .unwrap_or_else(|| panic!("{junit}"));
    assert!(!case.contains("<failure"), "{case}");
    assert!(
        case.contains(" over 3 polls"),
        "the poll count is in the case: {case}"
    );
    // One read in network, two more over the build, one before sysprep.
    let identity = env
        .sim
        .admin()
        .route_counts()
        .get("GET /api/vcenter/vm/{vm}/guest/identity")
        .copied();
    assert_eq!(identity, Some(4));
}

/// Switches fault `address-flap` on for the build VM once a stage has
/// recorded the completed watch.
struct FlapAfterWatch {
    admin: Admin,
    vm: String,
    at: std::sync::Mutex<Option<String>>,
}

impl Reporter for FlapAfterWatch {
    fn stage_started(&self, _: &str, _: &str) {}
    fn stage_finished(&self, _: &str, r: &StageRecord, _: bool) {
        let complete = r
            .checks
            .iter()
            .any(|c| c.name == "address stable" && c.passed);
        if complete && r.status == StageStatus::Passed {
            self.admin.set_faults(flap(&self.vm));
            *self.at.lock().unwrap() = Some(r.stage.clone());
        }
    }
    fn note(&self, _: &str, _: &str) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sysprep_reads_the_address_again_and_fails_when_it_changed_after_the_watch() {
    let env = BuildEnv::start(&wmco_pipeline("win", "{name}-fixed", ""), "").await;
    let client = eager_client(&env).await;
    let job = env.job(env.options());
    let spy = FlapAfterWatch {
        admin: env.sim.admin(),
        vm: job.names.build_vm.clone(),
        at: Default::default(),
    };
    let (outcome, lines) = run(&env, &job, &client, Some(&spy)).await;
    // Network, then openssh's and container_runtime's opening polls.
    assert_eq!(
        spy.at.lock().unwrap().as_deref(),
        Some("container_runtime"),
        "{lines:#?}"
    );
    let err = failed_at(&outcome, &lines, "sysprep", &job.names.build_vm);
    assert!(err.contains("address unchanged before sysprep"), "{err}");
    changed_addresses(&err);
    let records = state_records(&outcome);
    let sysprep = records
        .iter()
        .find(|r| r.stage == "sysprep")
        .expect("sysprep");
    assert!(
        sysprep
            .checks
            .iter()
            .any(|c| c.name == "no reboot pending" && c.passed),
        "the re-read comes after the other pre-checks: {:#?}",
        sysprep.checks
    );
    only_source_left(&env, &lines);
}

/// The stages up to network, and nothing after: the watch cannot wait for
/// later stages or sysprep.
fn up_to_network() -> Vec<String> {
    let names = gild::pipeline::config::STAGE_NAMES;
    let end = names.iter().position(|s| *s == "network").expect("network");
    names[..=end].iter().map(|s| s.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_without_sysprep_completes_the_watch_in_its_last_guest_stage() {
    let env = BuildEnv::start(&wmco_pipeline("win", "{name}-fixed", ""), "").await;
    let mut options = env.options();
    options.only = up_to_network();
    let (outcome, lines) = env.build_with(options, &Interrupt::new(), None).await;
    ok(&outcome, &lines);
    let records = state_records(&outcome);
    let network = records
        .iter()
        .find(|r| r.stage == "network")
        .expect("network");
    let stable = network
        .checks
        .iter()
        .find(|c| c.name == "address stable")
        .unwrap_or_else(|| panic!("{:#?}", network.checks));
    assert!(
        stable.passed && stable.observed.ends_with(" over 3 polls"),
        "{stable:?}"
    );
    assert!(
        network.message.contains("stable over 3 polls"),
        "{}",
        network.message
    );
    assert!(
        records
            .iter()
            .filter(|r| r.stage == "sysprep")
            .all(|r| r.status == StageStatus::Skipped),
        "{records:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_fails_the_last_guest_stage_of_a_run_without_sysprep() {
    let env = BuildEnv::start(&wmco_pipeline("win", "{name}-fixed", ""), "").await;
    let mut options = env.options();
    options.only = up_to_network();
    let job = env.job(options);
    env.sim.admin().set_faults(flap(&job.names.build_vm));
    let (outcome, lines) = env.run_job(&job, &Interrupt::new(), None).await;
    let err = failed_at(&outcome, &lines, "network", &job.names.build_vm);
    assert!(err.contains("address stable"), "{err}");
    changed_addresses(&err);
    only_source_left(&env, &lines);
}

/// Raises the interrupt once network has passed: the state file then
/// holds the recorded address and a watch of one poll.
struct StopAfterNetwork(Interrupt);

impl Reporter for StopAfterNetwork {
    fn stage_started(&self, _: &str, _: &str) {}
    fn stage_finished(&self, _: &str, r: &StageRecord, _: bool) {
        if r.stage == "network" {
            self.0.raise("SIGINT");
        }
    }
    fn note(&self, _: &str, _: &str) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_resumed_after_network_rebuilds_the_watch_from_the_state_file() {
    let env = BuildEnv::start(&wmco_pipeline("win", "{name}-fixed", ""), "").await;
    let mut options = env.options();
    options.on_error = engine::OnError::Keep;
    let interrupt = Interrupt::new();
    let spy = StopAfterNetwork(interrupt.clone());
    let (first, _) = env
        .build_with(options.clone(), &interrupt, Some(&spy))
        .await;
    assert_eq!(first.status, BuildStatus::Interrupted);
    let before = state_records(&first);
    assert!(
        !before
            .iter()
            .flat_map(|r| &r.checks)
            .any(|c| c.name == "address stable"),
        "one poll so far: {before:#?}"
    );
    options.start = StartMode::Resume;
    let (second, lines) = env.build_with(options, &Interrupt::new(), None).await;
    ok(&second, &lines);
    assert!(saw(&lines, "network Passed (resumed)"), "{lines:#?}");
    let records = state_records(&second);
    let after_network: Vec<_> = records
        .iter()
        .filter(|r| r.stage != "network")
        .flat_map(|r| &r.checks)
        .collect();
    let stable: Vec<_> = after_network
        .iter()
        .filter(|c| c.name == "address stable")
        .collect();
    assert_eq!(stable.len(), 1, "{after_network:#?}");
    assert!(stable[0].passed && stable[0].observed.ends_with(" over 3 polls"));
    assert!(
        after_network
            .iter()
            .any(|c| c.name == "address unchanged before sysprep" && c.passed),
        "{after_network:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_that_cannot_finish_within_the_stage_budget_fails_the_stage() {
    // 200 polls 10 ms apart do not fit in a 1 s stage.
    let pipeline = wmco_pipeline("win", "{name}-fixed", "").replace(
        "  - stage: network\n",
        "  - stage: network\n    stable_polls: 200\n    timeout: 1s\n",
    );
    let env = BuildEnv::start(&pipeline, "").await;
    let mut options = env.options();
    options.only = up_to_network();
    let job = env.job(options);
    let (outcome, lines) = env.run_job(&job, &Interrupt::new(), None).await;
    let err = failed_at(&outcome, &lines, "network", &job.names.build_vm);
    assert!(
        err.contains(
            "address stable: expected the same address over 200 polls, at least 10ms apart"
        ) && err.contains("for waiting ran out"),
        "{err}"
    );
    only_source_left(&env, &lines);
}
