//! `gild build` as a user runs it: the binary, its exit codes and output
//! formats, and what a build killed with SIGKILL leaves for `gild cleanup`
//! and `--resume` against one `gild simulator serve --for` process.

use crate::support::harness::serve_process_with;
use assert_cmd::Command as Cmd;
use gild::cli::bench::serve::ServeProcess;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

const SHIPPED: &str = "pipelines/wmco-ws2022.yaml";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The binary with nothing of the caller's environment that could point
/// it at another vCenter or state directory.
fn gild(tmp: &Path) -> Cmd {
    Cmd::from_std(gild_std(tmp))
}

fn gild_std(tmp: &Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_gild"));
    for v in [
        "GILD_VCENTER_URL",
        "GILD_VCENTER_USER",
        "GILD_VCENTER_CA_FILE",
        "GILD_VCENTER_PASSWORD",
        "GILD_GUEST_PASSWORD",
        "GILD_ADMIN_PASSWORD",
        "GILD_LOG_FORMAT",
    ] {
        cmd.env_remove(v);
    }
    cmd.env("GILD_STATE_DIR", tmp.join("state"))
        .current_dir(tmp);
    cmd
}

#[test]
fn build_on_the_simulator_prints_each_stage_and_ends_with_template_and_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gild(tmp.path())
        .args(["build", repo(SHIPPED).to_str().unwrap(), "--simulator"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let all = format!("{stdout}{stderr}");
    for stage in [
        "preflight",
        "clone",
        "tools_conf",
        "openssh",
        "sysprep",
        "publish",
        "machineset",
    ] {
        assert!(
            all.contains(&format!("[ ok ] {stage}")),
            "stage {stage} line:\n{all}"
        );
    }
    assert!(
        all.contains("throwaway"),
        "says it made throwaway credentials:\n{all}"
    );
    // Not a terminal: no colour or cursor codes in a CI log.
    assert!(
        !all.contains('\u{1b}'),
        "ANSI escape in non-TTY output:\n{all:?}"
    );
    let manifest = tmp.path().join("out/wmco-ws2022/manifest.json");
    assert!(
        stdout.contains("template wmco-ws2022-") && stdout.contains("manifest "),
        "{stdout}"
    );
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert!(
        m["template"]["name"]
            .as_str()
            .unwrap()
            .starts_with("wmco-ws2022-"),
        "{m}"
    );
}

#[test]
fn json_log_format_writes_only_json_events_and_a_build_finished_event() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gild(tmp.path())
        .args([
            "build",
            repo(SHIPPED).to_str().unwrap(),
            "--simulator",
            "--log-format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let finished: Vec<_> = events
        .iter()
        .filter(|e| e["event"] == "stage_finished")
        .map(|e| e["record"]["stage"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(finished.first().map(String::as_str), Some("preflight"));
    assert_eq!(finished.last().map(String::as_str), Some("machineset"));
    let end = events.last().unwrap();
    assert_eq!(end["event"], "build_finished", "{end}");
    assert_eq!(end["status"], "succeeded", "{end}");
    assert!(end["error"].is_null(), "{end}");
}

#[test]
fn a_failing_build_exits_1_naming_stage_vm_and_cause() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gild(tmp.path())
        .args([
            "build",
            repo(SHIPPED).to_str().unwrap(),
            "--simulator",
            "--simulator-faults",
            "apipa",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("stage network failed on wmco-ws2022-build-") && stderr.contains("169.254"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("powered off and deleted"),
        "cleanup is reported:\n{stdout}"
    );
}

#[test]
fn bad_input_exits_2_and_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.yaml");
    std::fs::write(&bad, "name: x\ntarget: wmco-4.11+\nvcenter:\n  url: https://v/\n  user: u\n  password: hunter2hunter2\n").unwrap();
    let out = gild(tmp.path())
        .args(["build", bad.to_str().unwrap(), "--simulator"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.yaml:6"), "names file:line: {stderr}");
    assert!(
        !stderr.contains("hunter2hunter2"),
        "never echoes the value: {stderr}"
    );
}

/// A served simulator for the shipped pipeline, slowed so a build can be
/// killed mid-way, and the environment a build needs to reach it.
async fn served() -> (ServeProcess, Vec<(&'static str, String)>) {
    let sim = serve_process_with(&[
        "--for",
        repo(SHIPPED).to_str().unwrap(),
        "--faults",
        "latency=40ms",
    ])
    .await;
    let b = &sim.banner;
    let env = vec![
        ("GILD_VCENTER_URL", b.url.clone()),
        ("GILD_VCENTER_USER", b.user.clone()),
        ("GILD_VCENTER_PASSWORD", b.password.clone()),
        ("GILD_GUEST_PASSWORD", b.guest_password.clone()),
        (
            "GILD_ADMIN_PASSWORD",
            "Admin-Pass-For-Kill-Test-1!".to_string(),
        ),
        (
            "GILD_VCENTER_CA_FILE",
            b.ca_file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        ),
    ];
    (sim, env)
}

/// Starts `gild build` against the served simulator and SIGKILLs it right
/// after `stage` reported success: no cleanup code of gild's runs.
async fn build_killed_after(tmp: &Path, env: &[(&str, String)], stage: &str) {
    let mut cmd = tokio::process::Command::from(gild_std(tmp));
    cmd.args([
        "build",
        repo(SHIPPED).to_str().unwrap(),
        "--log-format",
        "json",
    ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let e: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        seen.push(line);
        if e["event"] == "stage_finished" && e["record"]["stage"] == stage {
            child.start_kill().unwrap(); // SIGKILL
            break;
        }
    }
    let status = child.wait().await.unwrap();
    assert!(!status.success(), "killed after {stage}, lines: {seen:#?}");
}

/// Runs gild with `args` against the served simulator; it must succeed.
/// Returns stdout and stderr together.
fn run_served(tmp: &Path, env: &[(&str, String)], args: &[&str]) -> String {
    let mut cmd = gild(tmp);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?}: {text}");
    text
}

async fn vm_names(sim: &ServeProcess) -> Vec<(String, bool)> {
    let b = &sim.banner;
    let mut http = reqwest::Client::builder();
    if let Some(ca) = &b.ca_file {
        http = http.add_root_certificate(
            reqwest::Certificate::from_pem(&std::fs::read(ca).unwrap()).unwrap(),
        );
    }
    let inv: Value = http
        .build()
        .unwrap()
        .get(format!("{}_sim/vms", b.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    inv.as_array()
        .unwrap()
        .iter()
        .map(|vm| {
            (
                vm["name"].as_str().unwrap().to_string(),
                vm["template"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigkill_gild_cleanup_removes_the_build_vm_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let (sim, env) = served().await;
    let before = vm_names(&sim).await;
    build_killed_after(tmp.path(), &env, "tools_conf").await;
    let left = vm_names(&sim).await;
    assert!(
        left.iter()
            .any(|(n, _)| n.starts_with("wmco-ws2022-build-")),
        "SIGKILL leaves the build VM: {left:?}"
    );
    let text = run_served(
        tmp.path(),
        &env,
        &["cleanup", repo(SHIPPED).to_str().unwrap()],
    );
    assert!(
        text.contains("wmco-ws2022-build-"),
        "names what it removed: {text}"
    );
    assert_eq!(
        vm_names(&sim).await,
        before,
        "back to the source VM alone, unchanged"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_sigkill_resume_finishes_the_same_vm_into_one_template() {
    let tmp = tempfile::tempdir().unwrap();
    let (sim, env) = served().await;
    build_killed_after(tmp.path(), &env, "openssh").await;
    let killed_vm: Vec<_> = vm_names(&sim)
        .await
        .into_iter()
        .filter(|(n, _)| n.starts_with("wmco-ws2022-build-"))
        .collect();
    assert_eq!(killed_vm.len(), 1, "{killed_vm:?}");
    let text = run_served(
        tmp.path(),
        &env,
        &["build", repo(SHIPPED).to_str().unwrap(), "--resume"],
    );
    assert!(text.contains("resum"), "says it resumed: {text}");
    // The stages done before the kill are not run again.
    assert!(!text.contains("[ ok ] clone "), "clone ran again: {text}");
    let after = vm_names(&sim).await;
    let templates: Vec<_> = after
        .iter()
        .filter(|(_, t)| *t)
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(templates.len(), 1, "{after:?}");
    assert!(templates[0].starts_with("wmco-ws2022-2"), "{after:?}");
    assert!(
        !after
            .iter()
            .any(|(n, _)| n.starts_with("wmco-ws2022-build-")),
        "no build VM left: {after:?}"
    );
    sim.stop().await;
}

#[test]
fn every_shipped_pipeline_builds_on_the_simulator() {
    let mut shipped: Vec<PathBuf> = std::fs::read_dir(repo("pipelines"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    shipped.sort();
    assert!(shipped.len() >= 4, "{shipped:?}");
    for p in shipped {
        let tmp = tempfile::tempdir().unwrap();
        let out = gild(tmp.path())
            .args(["build", p.to_str().unwrap(), "--simulator"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}{}",
            p.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if p.to_string_lossy().contains("wmco-4.9") {
            // The seed's base VM is modelled as 20H2, not the 2019 type it runs as.
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(all.contains("OS 19042."), "{all}");
        }
    }
}
