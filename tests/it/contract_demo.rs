//! `gild demo` (the README's main-job command until the pipeline lands) runs
//! end to end on the embedded simulator: exit 0 and one line per step.

use assert_cmd::Command;
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
