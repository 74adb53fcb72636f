//! The guest-side checks of `gild build` on the simulator: the tools stage
//! holds the guest's Windows to the target (build and revision, en-US
//! display language), windows_update raises the revision through its
//! SYSTEM task and records it, and sysprep's pre-checks fail the stage by
//! name before sysprep runs.

use crate::pipeline_build::{fails_in, ok};
use crate::support::build::*;
use gild::pipeline::engine::BuildOutcome;
use gild::simulator::guest::GuestOs;
use std::path::Path;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_below_the_targets_revision_fails_the_tools_stage() {
    // 20348.587 (March 2022) predates KB5012637's 20348.681.
    fails_in(
        &wmco_pipeline("win", "{name}-fixed", ""),
        "tools",
        "",
        |inv| inv.datacenters[0].vms[0].os_ubr = Some(587),
        "20348.587 is older than 20348.681",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_update_brings_an_old_image_to_the_target_and_records_kbs_and_revision() {
    let pipeline = wmco_pipeline("win", "{name}-fixed", "  - stage: windows_update\n");
    let env = BuildEnv::start_with(&pipeline, "", |inv| {
        inv.datacenters[0].vms[0].os_ubr = Some(587)
    })
    .await;
    let (outcome, lines) = env.build().await;
    ok(&outcome, &lines);
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(env.dir.path().join("out/manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(manifest["os"]["build"], 20348);
    assert_eq!(manifest["os"]["ubr"], 2762, "{}", manifest["os"]);
    let updates = manifest["updates_installed"].to_string();
    assert!(updates.contains("KB5044281"), "{updates}");
    assert!(
        lines.iter().any(|l| l.contains(" windows_update Passed")),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_that_keeps_failing_fails_windows_update_naming_it_and_its_hresult() {
    let pipeline = wmco_pipeline("win", "{name}-fixed", "  - stage: windows_update\n");
    let (outcome, _) = build_with_source(&pipeline, |g| g.fail_update_install("KB890830")).await;
    let err = error_of(&outcome);
    assert!(err.starts_with("stage windows_update failed"), "{err}");
    // Round 1 installs the cumulative update (result code 3, a result);
    // round 2 offers only the failing one (result code 4, a failure).
    assert!(
        err.contains("result code 4: KB890830 Failed 0x80073712"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_whose_display_language_is_not_en_us_fails_the_tools_stage() {
    let pipeline = wmco_pipeline("win", "{name}-fixed", "");
    let (outcome, _) = build_with_source(&pipeline, |g| g.set_display_language("de-DE")).await;
    let err = error_of(&outcome);
    assert!(err.starts_with("stage tools failed on win-build-"), "{err}");
    assert!(
        err.contains("display language") && err.contains("de-DE (installed as en-US)"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appx_package_that_blocks_generalize_fails_sysprep_before_it_runs() {
    let pipeline = wmco_pipeline("win", "{name}-fixed", "");
    let (outcome, _) = build_with_source(&pipeline, |g| {
        g.install_appx_for_user(
            "Microsoft.BingWeather",
            "Microsoft.BingWeather_4.53.51922.0_x64__8wekyb3d8bbwe",
            "WIN\\Administrator",
        )
    })
    .await;
    let err = error_of(&outcome);
    assert!(
        err.starts_with("stage sysprep failed on win-build-"),
        "{err}"
    );
    assert!(
        err.contains("Microsoft.BingWeather_4.53.51922.0_x64__8wekyb3d8bbwe"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_published_template_carries_no_openssh_host_keys() {
    let env = BuildEnv::start(&wmco_pipeline("win", "{name}-fixed", ""), "").await;
    let (outcome, lines) = env.build().await;
    ok(&outcome, &lines);
    let name = outcome.template.expect("template").name;
    let template = env.sim.admin().vm_by_name(&name).expect("template").id;
    let keys = env
        .sim
        .admin()
        .with_guest(&template, |g| g.ssh_host_keys())
        .expect("guest");
    assert!(keys.is_empty(), "{keys:?}");
}

#[test]
fn the_wmco_4_9_base_vm_is_modelled_as_20h2_build_19042() {
    let loaded = crate::pipeline_shipped::loaded("wmco-4.9-20h2-docker.yaml");
    let pipeline = loaded.pipeline();
    let inventory = gild::pipeline::simulate::inventory_for(pipeline);
    let base = &inventory.datacenters[0].vms[0];
    assert_eq!(base.release(), Some(GuestOs::WindowsServer20H2));
    assert_eq!(
        base.guest_os, "WINDOWS_SERVER_2019",
        "vSphere has no 20H2 type"
    );
    let target = pipeline.target;
    assert!(target.accepts_os(19042, 1052).is_ok());
    assert!(
        target.accepts_os(17763, 6414).is_err(),
        "2019 lacks KB4565351"
    );
}

/// A wmco-4.10 (Docker) pipeline for an air-gapped guest: OpenSSH from a
/// verified Features-on-Demand folder, container_runtime given `extra`.
fn docker_pipeline(fod: &Path, extra: &str) -> String {
    wmco_pipeline("win", "{name}-fixed", "")
        .replace("target: wmco-4.11+", "target: wmco-4.10")
        .replace(
            "  - stage: openssh\n",
            &format!(
                "  - stage: openssh\n    offline_source: {}\n",
                fod.display()
            ),
        )
        .replace(
            "  - stage: container_runtime\n",
            &format!("  - stage: container_runtime\n{extra}"),
        )
}

/// A local offline folder: `file` and a SHA256SUMS with the sum of
/// `summed` (so a different `content` is a tampered file).
fn offline_dir(file: &str, content: &str, summed: &str) -> tempfile::TempDir {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(file), content).unwrap();
    let sum = hex::encode(Sha256::digest(summed.as_bytes()));
    std::fs::write(dir.path().join("SHA256SUMS"), format!("{sum}  {file}\n")).unwrap();
    dir
}

const OPENSSH_CAB: &str = "OpenSSH-Server-Package~31bf3856ad364e35~amd64~~.cab";
const DOCKER_ZIP: &str = "docker-24.0.7.zip";

async fn air_gapped_build(pipeline: &str) -> (BuildOutcome, Vec<String>) {
    build_with_source(pipeline, |g| {
        g.set_internet(gild::simulator::guest::Internet::None)
    })
    .await
}

/// Builds `pipeline` after `change` to the source VM's guest (the clone copies it).
async fn build_with_source(
    pipeline: &str,
    change: impl FnOnce(&mut gild::simulator::guest::WindowsGuest),
) -> (BuildOutcome, Vec<String>) {
    let env = BuildEnv::start(pipeline, "").await;
    let source = env
        .sim
        .admin()
        .vm_by_name("win2022-base")
        .expect("source")
        .id;
    env.sim.admin().with_guest(&source, change).expect("guest");
    env.build().await
}

fn error_of(outcome: &BuildOutcome) -> String {
    outcome
        .error
        .as_ref()
        .map(gild::pipeline::engine::error_chain)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_air_gapped_guest_gets_docker_from_the_verified_offline_source() {
    let fod = offline_dir(OPENSSH_CAB, "cab", "cab");
    let (outcome, _) = air_gapped_build(&docker_pipeline(fod.path(), "")).await;
    let err = error_of(&outcome);
    assert!(err.starts_with("stage container_runtime failed"), "{err}");
    assert!(
        err.contains("Unable to connect to the remote server"),
        "{err}"
    );

    let dir = offline_dir(DOCKER_ZIP, "zip bytes", "zip bytes");
    let pipeline = docker_pipeline(
        fod.path(),
        &format!("    offline_source: {}\n", dir.path().display()),
    );
    let (outcome, lines) = air_gapped_build(&pipeline).await;
    ok(&outcome, &lines);
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" container_runtime Passed")),
        "{lines:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_offline_file_fails_the_stage_before_anything_is_uploaded() {
    let fod = offline_dir(OPENSSH_CAB, "cab", "cab");
    let dir = offline_dir(DOCKER_ZIP, "tampered", "zip bytes");
    let pipeline = docker_pipeline(
        fod.path(),
        &format!("    offline_source: {}\n", dir.path().display()),
    );
    let (outcome, _) = air_gapped_build(&pipeline).await;
    let err = error_of(&outcome);
    assert!(err.starts_with("stage container_runtime failed"), "{err}");
    assert!(
        err.contains("container_runtime.offline_source")
            && err.contains("docker-24.0.7.zip: SHA-256"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_source_whose_address_sits_on_an_hns_adapter_tools_conf_makes_it_reportable() {
    // Tools' default exclude-nics hides vEthernet (Ethernet0), which holds
    // the lease; the tools_conf stage's `exclude-nics=` makes vCenter see it.
    let pipeline = wmco_pipeline("win", "{name}-fixed", "");
    let (outcome, lines) = build_with_source(&pipeline, |g| g.create_hns_network()).await;
    ok(&outcome, &lines);

    let without = pipeline.replace("  - stage: tools_conf\n", "").replace(
        "  - stage: network\n",
        "  - stage: network\n    timeout: 1s\n",
    );
    let (outcome, _) = build_with_source(&without, |g| g.create_hns_network()).await;
    let err = error_of(&outcome);
    assert!(err.starts_with("stage network failed"), "{err}");
    assert!(err.contains("IPv4 address reported"), "{err}");
}
