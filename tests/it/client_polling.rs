//! Waits on a VM's state (Tools, power) are held by the PropertyCollector
//! (`WaitForUpdatesEx`) and fall back to polling where it is refused.
//! Every other wait polls through `Client::poll_until`, whose
//! pause is a quarter of the time waited so far, between a quarter of the
//! poll interval and the interval itself for the first 16 intervals, then
//! a sixteenth of the wait (at most 8 intervals): proven by counting the
//! polls the simulator saw over a known wait.
//!
//! With the test interval of 10 ms, one second of waiting is about 47
//! polls (at 2.5, 5, 7.5, 10, 12.5, 16, 20, 25, 31, 39 ms, every 10 ms
//! up to 160 ms, then ever further apart); polling at a fixed interval
//! would be about 100. The bounds leave room for a slow machine (fewer
//! polls) but not for a fixed interval.

use gild::simulator::{self, FaultSpec, Simulator, SimulatorConfig, Timing};
use gild::vsphere::wire::{GuestCredentials, ProcessSpec};
use gild::vsphere::{Client, RetryPolicy, VsphereError};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(1);
const AT_MOST: u64 = 65;
const AT_LEAST: u64 = 5;

async fn start(faults: &str, timing: Timing) -> Simulator {
    simulator::start(SimulatorConfig {
        faults: FaultSpec::parse(faults).expect("fault spec parses"),
        timing,
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts")
}

async fn connect(sim: &Simulator) -> Client {
    let cfg = crate::support::client_config(sim, RetryPolicy::instant(3));
    assert_eq!(cfg.timeouts.poll_interval, Duration::from_millis(10));
    Client::connect(cfg).await.expect("client connects")
}

use crate::support::clone_base;

fn count(sim: &Simulator, key: &str) -> u64 {
    sim.admin().route_counts().get(key).copied().unwrap_or(0)
}

fn assert_backed_off(polls: u64, what: &str) {
    assert!(
        (AT_LEAST..=AT_MOST).contains(&polls),
        "{what}: {polls} polls in {WAIT:?}, expected {AT_LEAST}..={AT_MOST} (about 47 with back-off, 100 without)"
    );
}

#[tokio::test]
async fn run_program_polls_a_hanging_process_with_growing_pauses() {
    let sim = start("process-hang=cmd.exe", Timing::instant()).await;
    let client = connect(&sim).await;
    let vm = clone_base(&client, "win-poll-proc").await;
    client.power_on(&vm).await.expect("power on");
    client
        .wait_for_tools(&vm, Duration::from_secs(20))
        .await
        .expect("Tools");
    let creds = GuestCredentials {
        user_name: sim.guest_user().to_string(),
        password: sim.guest_password().clone(),
    };
    let spec = ProcessSpec {
        path: r"C:\Windows\System32\cmd.exe".into(),
        arguments: Some("/c exit 0".into()),
        ..ProcessSpec::default()
    };
    let e = client
        .run_program(&vm, &creds, &spec, WAIT)
        .await
        .expect_err("the process hangs");
    assert!(matches!(e, VsphereError::Deadline { .. }), "{e}");
    assert_backed_off(
        count(
            &sim,
            "POST /api/vcenter/vm/{vm}/guest/processes/{pid}?action=get",
        ),
        "process get",
    );
}

const WAIT_FOR_UPDATES: &str = "POST /sdk/vim25/{release}/PropertyCollector/{mo}/WaitForUpdatesEx";

/// Waits `WAIT` for Tools that never start on a fresh clone, under
/// `faults`: the wait ends in a deadline error naming the VM.
async fn wait_for_tools_that_never_start(faults: &str) -> Simulator {
    let sim = start(faults, Timing::instant()).await;
    let client = connect(&sim).await;
    let vm = clone_base(&client, "win-poll-tools").await;
    client.power_on(&vm).await.expect("power on");
    let e = client
        .wait_for_tools(&vm, WAIT)
        .await
        .expect_err("Tools never start");
    let text = e.to_string();
    assert!(
        matches!(e, VsphereError::Deadline { .. }) && text.contains(vm.as_str()),
        "{text}"
    );
    sim
}

/// The wait is held by vCenter (`WaitForUpdatesEx`), not polled: one look
/// first, then a watch whose requests do not grow with the wait.
#[tokio::test]
async fn waiting_for_tools_that_never_start_is_one_held_wait_not_polls() {
    let sim = wait_for_tools_that_never_start("tools-never-start vm=win-poll-tools").await;
    assert_eq!(
        count(&sim, "GET /api/vcenter/vm/{vm}/tools"),
        1,
        "the one look"
    );
    let waits = count(&sim, WAIT_FOR_UPDATES);
    assert!(
        (2..=3).contains(&waits),
        "initial values, then held: {waits}"
    );
    assert_eq!(
        count(
            &sim,
            "POST /sdk/vim25/{release}/PropertyCollector/{mo}/DestroyPropertyCollector"
        ),
        1,
        "the wait's collector is destroyed after it"
    );
}

/// A vCenter that refuses the PropertyCollector calls still gets its wait,
/// polled through `/api` with the usual back-off.
#[tokio::test]
async fn waiting_for_tools_without_a_property_collector_polls_with_back_off() {
    let sim = wait_for_tools_that_never_start(
        "tools-never-start vm=win-poll-tools; busy route=/sdk/vim25/{release}/PropertyCollector/{mo}/CreatePropertyCollector",
    )
    .await;
    assert_eq!(count(&sim, WAIT_FOR_UPDATES), 0);
    assert_backed_off(count(&sim, "GET /api/vcenter/vm/{vm}/tools"), "tools get");
}

/// Tools that come up mid-wait end it as soon as the simulator sees them,
/// through the watch; a re-login on the way (the session expired) loses
/// the session's collector, and the watch starts over on the new one.
#[tokio::test]
async fn a_watched_wait_ends_when_tools_start_even_across_a_re_login() {
    let timing = Timing {
        tools_start: Duration::from_millis(600),
        ..Timing::instant()
    };
    let sim = start("session-expiry=300ms", timing).await;
    let client = connect(&sim).await;
    let vm = clone_base(&client, "win-watch-tools").await;
    client.power_on(&vm).await.expect("power on");
    let tools = client
        .wait_for_tools(&vm, Duration::from_secs(10))
        .await
        .expect("Tools start within the wait");
    assert_eq!(tools.run_state, gild::vsphere::wire::ToolsRunState::Running);
    assert!(
        count(
            &sim,
            "POST /sdk/vim25/{release}/PropertyCollector/{mo}/CreatePropertyCollector"
        ) >= 1
    );
    assert!(
        count(&sim, "GET /api/vcenter/vm/{vm}/tools") <= 3,
        "a look before and after the watch, no polls"
    );
}

#[tokio::test]
async fn waiting_for_an_ip_backs_off_and_asks_tools_before_the_guest() {
    let sim = start("tools-never-start vm=win-poll-ip", Timing::instant()).await;
    let client = connect(&sim).await;
    let vm = clone_base(&client, "win-poll-ip").await;
    client.power_on(&vm).await.expect("power on");
    client
        .wait_for_ip(&vm, WAIT)
        .await
        .expect_err("no IP without Tools");
    assert_backed_off(count(&sim, "GET /api/vcenter/vm/{vm}/tools"), "tools get");
    assert_eq!(
        count(&sim, "GET /api/vcenter/vm/{vm}/guest/identity"),
        0,
        "guest identity answers 503 without Tools; polls do not spend retries on it"
    );
}

#[tokio::test]
async fn wait_task_polls_a_running_task_with_growing_pauses() {
    let timing = Timing {
        task: WAIT,
        ..Timing::instant()
    };
    let sim = start("", timing).await;
    let client = connect(&sim).await;
    let vm = clone_base(&client, "win-poll-task").await;
    let task = client.rename(&vm, "win-poll-task-2").await.expect("rename");
    client
        .wait_task(&task, Duration::from_secs(20))
        .await
        .expect("the task ends after a second");
    assert_backed_off(
        count(&sim, "GET /sdk/vim25/{release}/Task/{task}/info"),
        "task info",
    );
}
