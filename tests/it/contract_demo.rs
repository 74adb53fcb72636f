//! `gild demo` (a connectivity check now that `gild build` is the main job)
//! runs end to end on the embedded simulator: exit 0 and one line per step;
//! against a flaky vCenter it still succeeds, and when a step fails after
//! the clone the build VM is removed.

use assert_cmd::Command;
use gild::simulator::{self, FaultSpec, Simulator, SimulatorConfig};
use predicates::prelude::*;

#[test]
fn demo_on_the_embedded_simulator_runs_every_step_and_exits_zero() {
    let assert = Command::cargo_bin("gild")
        .expect("gild binary")
        .args(["demo", "--name", "demo-under-test"])
        .env_remove("GILD_VC_URL")
        .timeout(std::time::Duration::from_secs(120))
        .assert()
        .success();
    let out = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    for step in [
        "log in",
        "resolve folder, datastore and pool",
        "resolve source VM",
        "clone build VM",
        "power on",
        "wait for VMware Tools",
        "wait for an IP address",
        "run cmd.exe /c exit 0",
        "file round trip",
        "power off",
        "delete build VM",
        "log out",
    ] {
        assert!(
            out.lines()
                .any(|l| l.contains(step) && !l.contains("FAILED")),
            "step {step:?} missing or failed in:\n{out}"
        );
    }
    assert!(
        out.contains("demo-under-test = vm-"),
        "the clone line names the new VM id:\n{out}"
    );
    assert!(out.contains("exit code 0"), "{out}");
    assert!(out.contains("demo finished in"), "{out}");
    // The Tools line prints a decoded version (MAJOR.MINOR.REV), the IP line an address.
    assert!(
        predicate::str::is_match(r"Tools \d+\.\d+\.\d+ running")
            .expect("regex")
            .eval(&out),
        "{out}"
    );
    assert!(
        predicate::str::is_match(r"wait for an IP address .*\d+\.\d+\.\d+\.\d+")
            .expect("regex")
            .eval(&out),
        "{out}"
    );
}

#[test]
fn demo_with_a_missing_password_variable_is_bad_input() {
    Command::cargo_bin("gild")
        .expect("gild binary")
        .args([
            "demo",
            "--url",
            "https://127.0.0.1:9/",
            "--password-env",
            "GILD_TEST_SURELY_UNSET_PASSWORD",
        ])
        .env_remove("GILD_TEST_SURELY_UNSET_PASSWORD")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("GILD_TEST_SURELY_UNSET_PASSWORD"));
}

#[test]
fn demo_with_an_unknown_source_vm_is_bad_input_with_one_error_line() {
    let out = Command::cargo_bin("gild")
        .expect("gild binary")
        .args(["demo", "--source", "/dc1/vm/no-such-vm"])
        .env_remove("GILD_VC_URL")
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run gild demo");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("no-such-vm"), "{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("resolve source VM") && stdout.contains("FAILED"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("clone build VM"),
        "nothing is cloned after a failed look-up:\n{stdout}"
    );
}

/// `gild demo --url` against an in-process simulator started with `faults`.
async fn demo_against(faults: &str, extra: &[&str]) -> (std::process::Output, Simulator) {
    let sim = simulator::start(SimulatorConfig {
        faults: FaultSpec::parse(faults).expect("fault spec parses"),
        ..SimulatorConfig::default()
    })
    .await
    .expect("simulator starts");
    let mut args = vec![
        "demo".to_string(),
        "--url".into(),
        sim.base_url().to_string(),
        "--ca-file".into(),
        sim.ca_pem_path().expect("TLS on").display().to_string(),
        "--user".into(),
        sim.user().to_string(),
        "--guest-user".into(),
        sim.guest_user().to_string(),
        "--name".into(),
        "demo-flaky".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    let password = sim.password().expose().to_string();
    let guest_password = sim.guest_password().expose().to_string();
    // The binary runs on a blocking thread so this runtime keeps serving it.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("gild"))
            .args(&args)
            .env("GILD_VC_PASSWORD", password)
            .env("GILD_GUEST_PASSWORD", guest_password)
            .output()
            .expect("run gild demo")
    })
    .await
    .expect("the demo thread ends");
    (output, sim)
}

/// How many VMs the default inventory holds, for "nothing was left".
async fn default_vm_count() -> usize {
    let sim = simulator::start(SimulatorConfig::default())
        .await
        .expect("simulator starts");
    let n = sim.admin().vms().len();
    sim.shutdown().await;
    n
}

/// The issue's fault mix: a fifth of the calls answer 503, one connection
/// in twenty drops.
fn flaky(unavailable_seed: u64, drop_seed: u64) -> String {
    format!("unavailable rate=0.2 seed={unavailable_seed}; drop rate=0.05 seed={drop_seed}")
}

#[tokio::test]
async fn demo_against_a_flaky_vcenter_succeeds_for_every_seed_with_no_duplicate_vm() {
    // The issue's pair (3, 5) failed 2 runs in 5 at the file round trip: a
    // transfer URL's PUT or GET answered 503 and was not redone. Five seed
    // pairs, each a different sequence of failed calls.
    for (unavailable, dropped) in [(3, 5), (8, 13), (21, 34), (1, 2), (2024, 6)] {
        let (out, sim) = demo_against(&flaky(unavailable, dropped), &[]).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "seeds {unavailable}/{dropped}: {:?}\n{stdout}\n{stderr}",
            out.status,
        );
        assert!(stdout.contains("bytes match"), "{stdout}");
        assert!(stdout.contains("demo finished in"), "{stdout}");
        // A clone repeated after a lost answer would make a second VM that
        // no guard owns: exactly one clone is answered with success, and
        // the inventory is back to the default's VMs.
        let clones_made = sim
            .admin()
            .request_log()
            .iter()
            .filter(|e| e.method == "POST" && e.route == "/api/vcenter/vm?action=clone")
            .filter(|e| (200..300).contains(&e.status))
            .count();
        assert_eq!(clones_made, 1, "seeds {unavailable}/{dropped}: {stdout}");
        assert!(sim.admin().vm_by_name("demo-flaky").is_none(), "{stdout}");
        assert_eq!(
            sim.admin().vms().len(),
            default_vm_count().await,
            "{stdout}"
        );
        assert!(!stderr.contains("left in vCenter"), "{stderr}");
    }
}

#[tokio::test]
async fn a_demo_that_fails_after_the_clone_removes_its_build_vm() {
    let (out, sim) = demo_against("tools-never-start vm=demo-flaky", &["--wait-secs", "1"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("wait for VMware Tools") && stdout.contains("FAILED"),
        "{stdout}"
    );
    assert!(
        stdout.contains("cleanup: build VM vm-") && stdout.contains("powered off and deleted"),
        "{stdout}"
    );
    assert!(!stderr.contains("left in vCenter"), "{stderr}");
    let error: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error.len(), 1, "{stderr}");
    assert!(
        error[0].contains("VMware Tools") && error[0].contains("vm-"),
        "the error names the wait and the VM: {stderr}"
    );
    // /_sim state: the build VM is gone and nothing else changed.
    assert!(sim.admin().vm_by_name("demo-flaky").is_none());
    assert_eq!(
        sim.admin().vms().len(),
        default_vm_count().await,
        "{stdout}"
    );
    assert!(sim.admin().vm_by_name("win2022-base").is_some());
    assert!(stdout.contains("log out"), "{stdout}");
}

#[tokio::test]
async fn a_build_vm_that_cannot_be_deleted_is_named_as_left_in_vcenter() {
    // Every delete answers 503: after its retries the guard cannot remove
    // the VM, and the demo must say which VM is left rather than exit as
    // though it had cleaned up.
    let (out, sim) = demo_against(
        "tools-never-start vm=demo-flaky; unavailable route=/api/vcenter/vm/{vm} method=DELETE",
        &["--wait-secs", "1"],
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let left = sim
        .admin()
        .vm_by_name("demo-flaky")
        .expect("the VM is left");
    assert!(
        stderr.contains("cleanup: delete VM") && stderr.contains("SERVICE_UNAVAILABLE"),
        "the cleanup failure is reported with vCenter's answer: {stderr}"
    );
    assert!(
        stderr.contains(&format!("build VM {} was left in vCenter", left.id)),
        "the guard names the VM left behind: {stderr}"
    );
    assert!(!stdout.contains("deleted"), "{stdout}");
}
