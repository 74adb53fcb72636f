//! The kubernetes_node stage (seed 004) on the simulator: the node files
//! from a local folder reach `C:\k` verified by SHA-256 before upload and
//! read back after, UDP 4789 is read back open, `start-node.ps1` carries
//! the address plan's parameters; a checksum mismatch fails before
//! anything is uploaded; an admin kubeconfig is refused unless allowed.

use crate::support::build::BuildEnv;
use gild::pipeline::engine::OnError;
use gild::pipeline::guest::sha256_hex;
use gild::pipeline::stages::NODE_FILES;
use gild::pipeline::state::BuildStatus;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A node folder with distinct contents per file and its SHA256SUMS, and
/// the seed's address plan.
fn node_folder(root: &Path) -> PathBuf {
    let bin = root.join("bin");
    let mut sums = String::new();
    for name in NODE_FILES {
        let path = bin.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let bytes = format!("test stand-in for {name}\n").repeat(100);
        std::fs::write(&path, &bytes).unwrap();
        sums.push_str(&format!("{}  {name}\n", sha256_hex(bytes.as_bytes())));
    }
    std::fs::write(bin.join("SHA256SUMS"), sums).unwrap();
    bin
}

/// The shipped k8s-flannel-node pipeline, pointed at `bin`, with
/// `extra` options for its kubernetes_node stage.
fn pipeline(bin: &Path, extra: &str) -> String {
    let repo = env!("CARGO_MANIFEST_DIR");
    std::fs::read_to_string(format!("{repo}/pipelines/k8s-flannel-node.yaml"))
        .unwrap()
        .replace("${GILD_VCENTER_URL}", "https://vcenter.example.com/")
        .replace("${GILD_VCENTER_USER}", "administrator@vsphere.local")
        .replace("../unattend/", &format!("{repo}/unattend/"))
        .replace(
            "binaries: k8s-node/bin",
            &format!("binaries: {}", bin.display()),
        )
        .replace(
            "netplan: k8s-node/netplan.yaml",
            &format!("netplan: {repo}/pipelines/k8s-node/netplan.yaml{extra}"),
        )
}

fn checks(env: &BuildEnv) -> Vec<Value> {
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(env.dir.path().join("out/manifest.json")).expect("manifest"),
    )
    .unwrap();
    manifest["checks"].as_array().unwrap().clone()
}

/// The VM (build VM or published template) whose name starts with `prefix`.
fn vm_named(env: &BuildEnv, prefix: &str) -> gild::vsphere::wire::VmId {
    env.sim
        .admin()
        .vms()
        .into_iter()
        .find(|v| v.name.starts_with(prefix))
        .unwrap_or_else(|| panic!("no VM named {prefix}*"))
        .id
}

fn error_of(outcome: &gild::pipeline::engine::BuildOutcome) -> String {
    outcome
        .error
        .as_ref()
        .map(gild::pipeline::engine::error_chain)
        .unwrap_or_default()
}

#[tokio::test]
async fn the_node_files_reach_c_k_verified_and_start_node_carries_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let bin = node_folder(dir.path());
    let env = BuildEnv::start(&pipeline(&bin, ""), "").await;
    let (outcome, lines) = env.build().await;
    assert_eq!(outcome.status, BuildStatus::Succeeded, "{lines:#?}");
    let checks = checks(&env);
    let check = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}: {checks:#?}"))
            .clone()
    };
    // Each installed file was downloaded back and hashed.
    for name in NODE_FILES {
        let installed = format!(r"C:\k\{}", name.replace('/', "\\"));
        let c = check(&format!("{installed} SHA-256"));
        let want = sha256_hex(std::fs::read(bin.join(name)).unwrap().as_slice());
        assert_eq!(
            (&c["observed"], c["passed"].as_bool()),
            (&Value::from(want), Some(true))
        );
    }
    // UDP 4789, as collect-facts.ps1 read the guest's firewall back.
    let c = check("firewall rule OverlayTraffic4789UDP");
    assert_eq!(c["observed"], "Inbound UDP 4789 enabled=true", "{c}");
    let c = check(r"C:\k\start-node.ps1 invokes start.ps1");
    assert_eq!(c["passed"], true, "{c}");
    assert!(
        c["observed"].as_str().unwrap().contains(
            "-ClusterCIDR 10.244.0.0/16 -ServiceCIDR 10.96.0.0/12 -KubeDnsServiceIP 10.96.0.10"
        ),
        "{c}"
    );
    // No kubeconfig went into the image.
    let vm = vm_named(&env, "k8s-flannel-node-2");
    assert!(env.sim.admin().guest_file(&vm, r"C:\k\config").is_none());
    assert!(env
        .sim
        .admin()
        .guest_file(&vm, r"C:\k\kubelet.exe")
        .is_some());
}

#[tokio::test]
async fn a_checksum_mismatch_fails_before_anything_is_uploaded() {
    let dir = tempfile::tempdir().unwrap();
    let bin = node_folder(dir.path());
    std::fs::write(bin.join("cni/flannel.exe"), b"a truncated download").unwrap();
    let env = BuildEnv::start(&pipeline(&bin, ""), "").await;
    let mut options = env.options();
    options.on_error = OnError::Keep;
    let (outcome, lines) = env
        .build_with(options, &gild::pipeline::interrupt::Interrupt::new(), None)
        .await;
    assert_eq!(outcome.status, BuildStatus::Failed, "{lines:#?}");
    let err = error_of(&outcome);
    assert!(
        err.starts_with("stage kubernetes_node failed on k8s-flannel-node-build-"),
        "{err}"
    );
    assert!(
        err.contains("flannel.exe") && err.contains("SHA256SUMS says"),
        "{err}"
    );
    // The kept build VM has none of the files: the check ran first.
    let vm = vm_named(&env, "k8s-flannel-node-build-");
    for name in ["kubelet.exe", "SHA256SUMS", r"cni\flannel.exe"] {
        let path = format!(r"C:\gild\k8s-node\{name}");
        assert!(
            env.sim.admin().guest_file(&vm, &path).is_none(),
            "{path} was uploaded"
        );
    }
}

#[tokio::test]
async fn an_admin_kubeconfig_is_refused_with_the_reason_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let bin = node_folder(dir.path());
    let admin = dir.path().join("admin.conf");
    std::fs::write(
        &admin,
        "apiVersion: v1\nkind: Config\nusers:\n- name: kubernetes-admin\n  user:\n    token: not-a-real-token\n",
    )
    .unwrap();
    let option = format!("\n    kubeconfig: {}", admin.display());
    let env = BuildEnv::start(&pipeline(&bin, &option), "").await;
    let (outcome, lines) = env.build().await;
    assert_eq!(outcome.status, BuildStatus::Failed, "{lines:#?}");
    let err = error_of(&outcome);
    assert!(err.contains("kubernetes_node.kubeconfig"), "{err}");
    assert!(err.contains("user kubernetes-admin"), "{err}");
    assert!(
        err.contains("every clone of this image would carry cluster-admin credentials"),
        "{err}"
    );
    assert!(err.contains("allow_admin_kubeconfig: true"), "{err}");

    // Explicitly overridden, it is copied to C:\k\config.
    let option = format!("{option}\n    allow_admin_kubeconfig: true");
    let env = BuildEnv::start(&pipeline(&bin, &option), "").await;
    let (outcome, lines) = env.build().await;
    assert_eq!(outcome.status, BuildStatus::Succeeded, "{lines:#?}");
    let vm = vm_named(&env, "k8s-flannel-node-2");
    assert_eq!(
        env.sim.admin().guest_file(&vm, r"C:\k\config"),
        Some(std::fs::read(&admin).unwrap())
    );
}

#[test]
fn validate_names_a_missing_node_folder_or_plan_at_its_field() {
    let path = format!(
        "{}/pipelines/k8s-flannel-node.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut vars = gild::pipeline::Vars::empty();
    vars.set("GILD_VCENTER_URL", "https://vcenter.example/")
        .set("GILD_VCENTER_USER", "gild@vsphere.local");
    let text = std::fs::read_to_string(&path).unwrap();
    let missing = |from: &str, to: &str| {
        let report = gild::pipeline::validate::check_text(
            Path::new(&path),
            text.replace(from, to),
            &vars,
            gild::pipeline::validate::Options::default(),
        );
        report
            .diagnostics
            .into_iter()
            .filter(|d| d.rule_id == "pipeline-file-missing")
            .map(|d| d.message)
            .collect::<Vec<_>>()
    };
    assert!(missing("", "").is_empty());
    let found = missing("binaries: k8s-node/bin", "binaries: k8s-node/no-such-bin");
    assert!(
        found.len() == 1 && found[0].contains("binaries: folder"),
        "{found:?}"
    );
    let found = missing(
        "netplan: k8s-node/netplan.yaml",
        "netplan: k8s-node/nope.yaml",
    );
    assert!(
        found.len() == 1 && found[0].contains("netplan: file"),
        "{found:?}"
    );
}

/// The shipped node files are text stand-ins: `gild validate` says so (a
/// warning, so the shipped pipeline still validates), and stops saying it
/// once every `.exe` is a Windows executable.
#[test]
fn validate_warns_when_a_node_exe_is_not_a_windows_executable() {
    let repo = env!("CARGO_MANIFEST_DIR");
    let path = format!("{repo}/pipelines/k8s-flannel-node.yaml");
    let mut vars = gild::pipeline::Vars::empty();
    vars.set("GILD_VCENTER_URL", "https://vcenter.example/")
        .set("GILD_VCENTER_USER", "gild@vsphere.local");
    let stand_ins = |text: String| {
        gild::pipeline::validate::check_text(
            Path::new(&path),
            text,
            &vars,
            gild::pipeline::validate::Options::default(),
        )
        .diagnostics
        .into_iter()
        .filter(|d| d.rule_id == "pipeline-node-file-stand-in")
        .collect::<Vec<_>>()
    };
    let shipped = stand_ins(std::fs::read_to_string(&path).unwrap());
    assert_eq!(shipped.len(), 1, "{shipped:#?}");
    assert_eq!(shipped[0].severity, gild::report::Severity::Warning);
    for exe in [
        "kubelet.exe",
        "kube-proxy.exe",
        "flanneld.exe",
        "cni/win-overlay.exe",
    ] {
        assert!(shipped[0].message.contains(exe), "{}", shipped[0].message);
    }
    assert!(!shipped[0].message.contains("start.ps1"));

    // The same folder with a DOS header in front of every file.
    let dir = tempfile::tempdir().unwrap();
    let bin = node_folder(dir.path());
    let mut sums = String::new();
    for name in NODE_FILES {
        let bytes = format!("MZ\u{90}\0 {name}");
        std::fs::write(bin.join(name), &bytes).unwrap();
        sums.push_str(&format!("{}  {name}\n", sha256_hex(bytes.as_bytes())));
    }
    std::fs::write(bin.join("SHA256SUMS"), sums).unwrap();
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "binaries: k8s-node/bin",
        &format!("binaries: {}", bin.display()),
    );
    assert!(stand_ins(text).is_empty());
}
