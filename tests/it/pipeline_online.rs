//! `gild validate --online` against the simulator: login, then every
//! inventory object resolved; each missing one is a finding at its field.

use super::pipeline_load::fixture;
use gild::pipeline::validate::{check_text, online, Options};
use gild::pipeline::Vars;
use gild::simulator::{self, Simulator, SimulatorConfig};

/// The valid fixture pointed at the simulator, with the vCenter password
/// in a private file.
fn pipeline_for(sim: &Simulator, dir: &std::path::Path, password: &str) -> String {
    let pw = dir.join("vc.pw");
    std::fs::write(&pw, password).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let ca = sim.ca_pem_path().expect("the simulator serves HTTPS");
    std::fs::read_to_string(fixture("valid.yaml"))
        .unwrap()
        .replace("https://${VC_HOST}/", sim.base_url().as_str())
        .replace("administrator@vsphere.local", sim.user())
        .replace(
            "password_env: GILD_FIXTURE_VCENTER_PASSWORD",
            &format!(
                "password_file: {}\n  ca_file: {}",
                pw.display(),
                ca.display()
            ),
        )
}

async fn online_findings(text: String) -> Vec<gild::report::Diagnostic> {
    let report = check_text(
        &fixture("valid.yaml"),
        text,
        &Vars::empty(),
        Options { online: true },
    );
    let loaded = report.loaded.expect("the pipeline loads");
    online::check(&loaded).await
}

#[tokio::test]
async fn a_pipeline_whose_inventory_exists_has_no_online_findings() {
    let sim = simulator::start(SimulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = pipeline_for(&sim, dir.path(), sim.password().expose());
    let found = online_findings(text).await;
    assert!(found.is_empty(), "{found:#?}");
}

#[tokio::test]
async fn each_missing_object_is_reported_at_its_field() {
    let sim = simulator::start(SimulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = pipeline_for(&sim, dir.path(), sim.password().expose())
        .replace("datastore: datastore1", "datastore: nope-ds")
        .replace("vm: /dc1/vm/win2022-base", "vm: ghost-vm");
    let found = online_findings(text).await;
    let summary: Vec<(&str, usize)> = found.iter().map(|d| (d.rule_id, d.line)).collect();
    // With ca_file added, source.vm is on line 12 and placement.datastore on 17.
    assert_eq!(
        summary,
        vec![
            ("pipeline-online-missing", 17),
            ("pipeline-online-missing", 12)
        ]
    );
    assert!(found[1].message.contains("ghost-vm"), "{:?}", found[1]);
}

#[tokio::test]
async fn a_wrong_password_is_a_login_finding_that_does_not_echo_it() {
    let sim = simulator::start(SimulatorConfig::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let text = pipeline_for(&sim, dir.path(), "Wrong-Passw0rd-xyz");
    let found = online_findings(text).await;
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule_id, "pipeline-online-login");
    assert!(
        !found[0].message.contains("Wrong-Passw0rd-xyz"),
        "{}",
        found[0].message
    );
}
