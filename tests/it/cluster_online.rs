//! `gild machineset check --online` against `gild simulator serve`: the
//! template must exist and be a template (found through VI/JSON, since
//! `/api/vcenter/vm` leaves templates out), and the network, datastore,
//! folder and resource pool must exist. Inventory: the simulator's
//! built-in one (`src/simulator/default_inventory.yaml`), or the one
//! `serve --for PIPELINE` builds.

use crate::support::harness::{serve_process, serve_process_with};
use assert_cmd::Command;
use gild::cli::bench::serve::ServeProcess;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The seed's filled-in MachineSet, placed on the default inventory's
/// template, network, datastore, folder and pool.
fn machineset() -> String {
    let seed = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cluster/machineset/seed-filled.yaml");
    std::fs::read_to_string(seed)
        .unwrap()
        .replace(
            "template: /dc1/vm/templates/win20h2-wmco",
            "template: /dc1/vm/templates/windows/win2019-template",
        )
        .replace("folder: /dc1/vm/ocp49-x7k2p", "folder: /dc1/vm/builds")
}

/// `gild machineset check --online --format json` with the served
/// simulator's URL, user and CA, the password in `VC_PW`.
fn check_online(
    serve: &ServeProcess,
    dir: &Path,
    yaml: &str,
    password: &str,
) -> (i32, String, String) {
    let file = dir.join("ms.yaml");
    std::fs::write(&file, yaml).unwrap();
    let b = &serve.banner;
    let mut cmd = Command::cargo_bin("gild").unwrap();
    cmd.env_remove("RUST_LOG")
        .env_remove("GILD_VCENTER_URL")
        .env("VC_PW", password)
        // The template's disk size silences the diskGiB note.
        .args(["machineset", "check", "--online", "--format", "json"])
        .args(["--template-disk-gib", "128"])
        .args([
            "--vcenter-url",
            &b.url,
            "--user",
            &b.user,
            "--password-env",
            "VC_PW",
        ]);
    if let Some(ca) = &b.ca_file {
        cmd.arg("--ca-file").arg(ca);
    }
    let out = cmd.arg(&file).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// (rule, line, message) of each JSON Lines diagnostic above a note
/// (a bare template name gets a note offline).
fn findings(stdout: &str) -> Vec<(String, u64, String)> {
    stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["severity"] != "note")
        .map(|v| {
            (
                v["rule_id"].as_str().unwrap().to_string(),
                v["line"].as_u64().unwrap(),
                v["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_machineset_matching_the_inventory_passes_online() {
    let serve = serve_process().await;
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = check_online(&serve, dir.path(), &machineset(), &serve.banner.password);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    // A bare template name is found in whichever VM folder holds it.
    let bare = machineset().replace(
        "template: /dc1/vm/templates/windows/win2019-template",
        "template: win2019-template",
    );
    let (code, out, err) = check_online(&serve, dir.path(), &bare, &serve.banner.password);
    assert_eq!((code, findings(&out)), (0, vec![]), "{err}");
}

/// The instance UUID of the VM or template `name` in `folder`, read from
/// the served simulator as any client would (`FindChild`, then the VM's
/// identity).
async fn instance_uuid(serve: &ServeProcess, folder: &str, name: &str) -> String {
    let b = &serve.banner;
    let mut cfg = gild::vsphere::ClientConfig::new(
        b.url.parse().unwrap(),
        &b.user,
        gild::secret::Secret::new(b.password.clone()),
    );
    cfg.tls.ca_file = b.ca_file.clone();
    let client = gild::vsphere::Client::connect(cfg).await.unwrap();
    let folder = client.find_folder(folder).await.unwrap();
    let vm = client.find_child_vm(&folder, name).await.unwrap().unwrap();
    let info = client.vm(&vm).await.unwrap();
    client.logout().await.unwrap();
    info.identity.unwrap().instance_uuid
}

/// openshift/api: a MachineSet may name its template by instance UUID.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_named_by_instance_uuid_is_found_and_checked() {
    let serve = serve_process().await;
    let dir = tempfile::tempdir().unwrap();
    let by = |template: &str| {
        machineset().replace(
            "template: /dc1/vm/templates/windows/win2019-template",
            &format!("template: {template}"),
        )
    };
    let pw = serve.banner.password.clone();
    let template = instance_uuid(&serve, "/dc1/vm/templates/windows", "win2019-template").await;
    let (code, out, err) = check_online(&serve, dir.path(), &by(&template), &pw);
    assert_eq!((code, findings(&out)), (0, vec![]), "{template}: {err}");

    let vm = instance_uuid(&serve, "/dc1/vm", "win2022-base").await;
    let (code, out, _) = check_online(&serve, dir.path(), &by(&vm), &pw);
    let found = findings(&out);
    assert_eq!(code, 1);
    assert_eq!(
        (found[0].0.as_str(), found[0].1),
        ("template-not-template", 42),
        "{found:?}"
    );

    let nobody = "50311e5a-0000-4000-8000-00000000ffff";
    let (code, out, _) = check_online(&serve, dir.path(), &by(nobody), &pw);
    let found = findings(&out);
    assert_eq!(code, 1);
    assert_eq!(
        (found[0].0.as_str(), found[0].1),
        ("inventory-missing", 42),
        "{found:?}"
    );
    assert!(found[0].2.contains(nobody), "{}", found[0].2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_missing_or_wrong_object_fails_at_its_line() {
    let serve = serve_process().await;
    let dir = tempfile::tempdir().unwrap();
    let good = machineset();
    // (text replaced, replacement, rule, line in seed-filled.yaml, words in the message)
    let cases = [
        (
            "template: /dc1/vm/templates/windows/win2019-template",
            "template: /dc1/vm/templates/windows/no-such-template",
            "inventory-missing",
            42,
            "template `/dc1/vm/templates/windows/no-such-template` does not exist",
        ),
        (
            "template: /dc1/vm/templates/windows/win2019-template",
            "template: /dc1/vm/win2022-base",
            "template-not-template",
            42,
            "`/dc1/vm/win2022-base` is a virtual machine, not a template",
        ),
        (
            "template: /dc1/vm/templates/windows/win2019-template",
            "template: win2022-base",
            "template-not-template",
            42,
            "is a virtual machine",
        ),
        (
            "networkName: \"VM Network\"",
            "networkName: \"No Such Network\"",
            "inventory-missing",
            38,
            "network `No Such Network` does not exist",
        ),
        (
            "datastore: datastore1",
            "datastore: no-such-ds",
            "inventory-missing",
            47,
            "datastore `no-such-ds` does not exist",
        ),
        (
            "folder: /dc1/vm/builds",
            "folder: /dc1/vm/no-such-folder",
            "inventory-missing",
            48,
            "folder `/dc1/vm/no-such-folder` does not exist",
        ),
        (
            "resourcePool: /dc1/host/cluster1/Resources",
            "resourcePool: /dc1/host/cluster1/Resources/no-such-pool",
            "inventory-missing",
            49,
            "resource pool `/dc1/host/cluster1/Resources/no-such-pool` does not exist",
        ),
        // dc1 and dc2 both have a folder named `templates`.
        (
            "folder: /dc1/vm/builds",
            "folder: templates",
            "inventory-ambiguous",
            48,
            "folder name `templates` matches 2 objects",
        ),
    ];
    for (from, to, rule, line, words) in cases {
        assert!(good.contains(from), "{from}");
        let (code, out, err) = check_online(
            &serve,
            dir.path(),
            &good.replace(from, to),
            &serve.banner.password,
        );
        let found = findings(&out);
        assert_eq!(code, 1, "{to}: {found:?} {err}");
        assert_eq!(found.len(), 1, "{to}: {found:?}");
        assert_eq!((found[0].0.as_str(), found[0].1), (rule, line), "{to}");
        assert!(found[0].2.contains(words), "{to}: {}", found[0].2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_are_a_clear_error_without_the_password() {
    let serve = serve_process().await;
    let dir = tempfile::tempdir().unwrap();
    let wrong = "Wr0ng-Passw0rd-7781";
    let (code, out, err) = check_online(&serve, dir.path(), &machineset(), wrong);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("cannot log in to vCenter"), "{err}");
    assert!(err.contains(&serve.banner.user), "{err}");
    assert!(!err.contains(wrong) && !out.contains(wrong), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_vcenter_can_come_from_the_pipeline_file() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = dir.path().join("p.yaml");
    std::fs::write(&pipeline, crate::cluster_machineset::PIPELINE).unwrap();
    let serve = serve_process_with(&["--for", pipeline.to_str().unwrap()]).await;
    let b = &serve.banner;
    // The pipeline's source VM exists in the served inventory, as a VM.
    let file = dir.path().join("ms.yaml");
    std::fs::write(
        &file,
        machineset()
            .replace(
                "template: /dc1/vm/templates/windows/win2019-template",
                "template: /dc1/vm/golden/win20h2-base",
            )
            .replace("folder: /dc1/vm/builds", "folder: /dc1/vm/gild-builds"),
    )
    .unwrap();
    let mut cmd = Command::cargo_bin("gild").unwrap();
    cmd.env_remove("RUST_LOG")
        .env("GILD_VCENTER_PASSWORD", &b.password)
        .args([
            "machineset",
            "check",
            "--online",
            "--format",
            "json",
            "--pipeline",
        ])
        .arg(&pipeline)
        .args(["--vcenter-url", &b.url]);
    if let Some(ca) = &b.ca_file {
        cmd.arg("--ca-file").arg(ca);
    }
    let out = cmd.arg(&file).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let found = findings(&stdout);
    let rules: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    // Offline: the template is the pipeline's source VM; online: it is a VM.
    assert!(
        rules.contains(&"template-not-template"),
        "{found:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!rules.contains(&"inventory-missing"), "{found:?}");
}
