//! `gild simulator serve` as a process: start-up lines and bad input.

use assert_cmd::Command;
use std::io::{BufRead, BufReader};

#[test]
fn malformed_inventory_file_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.yaml");
    std::fs::write(&path, "datacenters:\n  - name: dc1\n    vmz: []\n").unwrap();
    let out = Command::cargo_bin("gild")
        .unwrap()
        .args(["simulator", "serve", "--inventory"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("inv.yaml") && err.contains("vmz"), "{err}");
}

#[test]
fn bad_fault_spec_exits_2() {
    let out = Command::cargo_bin("gild")
        .unwrap()
        .args(["simulator", "serve", "--faults", "explode"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault"));
}

#[test]
fn serve_prints_url_credentials_and_ca_path_one_line_each() {
    let bin = assert_cmd::cargo::cargo_bin("gild");
    // A state dir of our own: the killed process cannot clean up a temp dir.
    let state = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(bin)
        .args([
            "simulator",
            "serve",
            "--password",
            "pw-from-flag",
            "--state-dir",
        ])
        .arg(state.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .take(4)
        .map(|l| l.unwrap())
        .collect();
    child.kill().unwrap();
    let _ = child.wait();
    assert!(lines[0].starts_with("url: https://127.0.0.1:"), "{lines:?}");
    assert_eq!(
        lines[1],
        "vcenter credentials: administrator@vsphere.local pw-from-flag"
    );
    assert!(
        lines[2].starts_with("guest credentials: Administrator "),
        "{lines:?}"
    );
    let ca = lines[3].strip_prefix("ca file: ").unwrap();
    assert!(ca.starts_with(state.path().to_str().unwrap()), "{ca}");
    assert!(std::fs::read_to_string(ca)
        .unwrap()
        .contains("BEGIN CERTIFICATE"));
}
