//! kubernetes_node: a plain Kubernetes Windows node with Flannel VXLAN
//! (seed 004). The node binaries come from a local folder named in the
//! pipeline, with a `SHA256SUMS` (the `sha256sum` format release pages
//! publish): every file is hashed here first, so a truncated download or
//! a swapped file fails before anything is uploaded. They go to the guest
//! with that manifest; install-kubernetes-node.ps1 checks them again,
//! copies them to `C:\k`, opens UDP 4789 and saves the seed's `start.ps1`
//! invocation (parameters from the address plan, `NetPlan::start_ps1_parameters`)
//! as `C:\k\start-node.ps1`. The stage then reads each installed file back
//! and hashes it, and reads the firewall rule and the saved script back
//! through collect-facts.ps1 and a download — never the script's own word.
//!
//! An admin kubeconfig is refused unless `allow_admin_kubeconfig: true`:
//! the image is cloned for every node, so each clone would carry
//! cluster-admin credentials.

use super::guest_steps::{collect_facts, run as run_script, GuestFacts};
use super::Build;
use crate::cluster::{kubeconfig, netplan};
use crate::pipeline::config::KubernetesNodeOptions;
use crate::pipeline::error::StageError;
use crate::pipeline::guest::{sha256_hex, Arg};
use crate::pipeline::sums::{self, Listed};
use std::path::Path;

/// What start.ps1 needs beside it (install-kubernetes-node.ps1's `$Required`).
pub const NODE_FILES: [&str; 7] = [
    "kubelet.exe",
    "kube-proxy.exe",
    "flanneld.exe",
    "start.ps1",
    "cni/flannel.exe",
    "cni/host-local.exe",
    "cni/win-overlay.exe",
];

const INSTALL_DIR: &str = r"C:\k";
/// Flannel's VXLAN port on Windows (seed 004: VNI 4096, Port 4789).
const VXLAN_RULE: &str = "OverlayTraffic4789UDP";

pub async fn run(b: &mut Build<'_>, o: &KubernetesNodeOptions) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let plan_path = b.local_path(&o.netplan);
    let params = plan_parameters(&plan_path)?;
    let kubeconfig = match &o.kubeconfig {
        Some(p) => Some(read_kubeconfig(&b.local_path(p), o.allow_admin_kubeconfig)?),
        None => None,
    };
    let dir = b.local_path(&o.binaries);
    // Before any upload: a mismatch must leave the guest untouched.
    let (files, manifest) = verify_local(&dir)?;

    let source = b.guest(&vm).path("k8s-node");
    let creds = &b.job.secrets.guest;
    b.client
        .create_directory(&vm, creds, &format!(r"{source}\cni"), true)
        .await
        .map_err(StageError::vsphere(format!("create {source} in the guest")))?;
    for f in &files {
        let target = format!(r"{source}\{}", f.guest_name());
        b.client
            .upload_file(&vm, creds, &f.path, &target, true)
            .await
            .map_err(StageError::vsphere(format!("upload {}", f.path.display())))?;
    }
    b.guest(&vm)
        .upload(manifest.into_bytes(), &format!(r"{source}\SHA256SUMS"))
        .await?;

    let interface = o
        .interface_name
        .clone()
        .unwrap_or_else(|| "Ethernet".into());
    let mut args: Vec<Arg> = vec![Arg::Value("SourceDir", source.clone())];
    for (name, value) in &params {
        args.push(Arg::Value(name, value.clone()));
    }
    args.push(Arg::Value("InterfaceName", interface.clone()));
    if let Some(bytes) = kubeconfig {
        let path = b.guest(&vm).path("k8s-node-kubeconfig");
        b.facts.uploaded.insert(path.clone(), sha256_hex(&bytes));
        b.guest(&vm).upload(bytes, &path).await?;
        args.push(Arg::Value("KubeconfigPath", path));
        if o.allow_admin_kubeconfig {
            args.push(Arg::Switch("AllowAdminKubeconfig"));
        }
    }
    run_script(b, &vm, "install-kubernetes-node.ps1", &args).await?;

    // Read back to disk, not memory: kubelet.exe alone is over 100 MB.
    let scratch = tempfile::tempdir().map_err(|e| {
        input(
            &std::env::temp_dir(),
            format!("a folder for the read-back: {e}"),
        )
    })?;
    for (i, f) in files.iter().enumerate() {
        let installed = format!(r"{INSTALL_DIR}\{}", f.guest_name());
        let local = scratch.path().join(i.to_string());
        b.client
            .download_file(&vm, &b.job.secrets.guest, &installed, &local)
            .await
            .map_err(StageError::vsphere(format!("read {installed} back")))?;
        let have = sums::hash_file(&local).map_err(|e| input(&local, e.to_string()))?;
        b.checks
            .expect_eq(format!("{installed} SHA-256"), &f.sha256, have)?;
    }
    let facts = collect_facts(b, &vm).await?;
    let (observed, open) = vxlan_rule(&facts);
    b.checks.expect(
        format!("firewall rule {VXLAN_RULE}"),
        "Inbound UDP 4789 enabled",
        observed,
        open,
    )?;
    let start_node = format!(r"{INSTALL_DIR}\start-node.ps1");
    let script = b
        .client
        .download_bytes(&vm, &b.job.secrets.guest, &start_node)
        .await
        .map_err(StageError::vsphere(format!("read {start_node} back")))?;
    let script = String::from_utf8_lossy(&script);
    let wanted = start_command(&params, &interface);
    b.checks.expect(
        format!("{start_node} invokes start.ps1"),
        wanted.clone(),
        script
            .lines()
            .find(|l| l.starts_with(r".\start.ps1"))
            .unwrap_or("no start.ps1 line")
            .to_string(),
        script.lines().any(|l| l == wanted),
    )?;
    Ok(format!(
        "{} node files in {INSTALL_DIR} (SHA-256 checked before upload and read back), UDP 4789 open, start-node.ps1 with {}",
        files.len(),
        params
            .iter()
            .map(|(k, v)| format!("-{k} {v}"))
            .collect::<Vec<_>>()
            .join(" ")
    ))
}

/// The VXLAN rule as collect-facts.ps1 read it back, and whether it lets
/// Flannel's overlay in.
fn vxlan_rule(facts: &GuestFacts) -> (String, bool) {
    let rule = facts.rule(VXLAN_RULE);
    let observed = rule.map_or("no rule".into(), |r| r.describe());
    let open = rule.is_some_and(|r| {
        r.direction.eq_ignore_ascii_case("Inbound")
            && r.protocol.eq_ignore_ascii_case("UDP")
            && r.port() == "4789"
            && r.enabled()
    });
    (observed, open)
}

/// The seed's start.ps1 invocation as install-kubernetes-node.ps1 saves it
/// (ManagementIP is read on the clone when start-node.ps1 runs).
fn start_command(params: &[(&'static str, String)], interface: &str) -> String {
    let value = |k: &str| {
        params
            .iter()
            .find(|(n, _)| *n == k)
            .map_or("", |(_, v)| v.as_str())
    };
    format!(
        r".\start.ps1 -ManagementIP $ManagementIP -NetworkMode overlay -ClusterCIDR {} -ServiceCIDR {} -KubeDnsServiceIP {} -InterfaceName '{interface}' -LogDir '{INSTALL_DIR}'",
        value("ClusterCIDR"),
        value("ServiceCIDR"),
        value("KubeDnsServiceIP")
    )
}

fn input(path: &Path, reason: impl Into<String>) -> StageError {
    StageError::Input {
        what: "kubernetes_node.binaries",
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The address plan's start.ps1 parameters; a plan `gild netplan check`
/// finds errors in is refused with its first error.
fn plan_parameters(path: &Path) -> Result<Vec<(&'static str, String)>, StageError> {
    let checked = netplan::check_path(path);
    let bad = |reason: String| StageError::Input {
        what: "kubernetes_node.netplan",
        path: path.to_path_buf(),
        reason,
    };
    if let Some(d) = checked
        .diagnostics
        .iter()
        .find(|d| d.severity == crate::report::Severity::Error)
    {
        return Err(bad(format!(
            "{}:{}: {} (run `gild netplan check`)",
            d.line, d.col, d.message
        )));
    }
    let plan = checked
        .plan
        .ok_or_else(|| bad("the plan could not be read".into()))?;
    Ok(plan.start_ps1_parameters().into())
}

fn read_kubeconfig(path: &Path, allow_admin: bool) -> Result<Vec<u8>, StageError> {
    let bad = |reason: String| StageError::Input {
        what: "kubernetes_node.kubeconfig",
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
    let reasons = kubeconfig::admin_reasons(&String::from_utf8_lossy(&bytes));
    if !reasons.is_empty() && !allow_admin {
        return Err(bad(format!(
            "an admin kubeconfig ({}): every clone of this image would carry cluster-admin credentials. \
             Give nodes their own bootstrap credentials, or set allow_admin_kubeconfig: true to copy it anyway",
            reasons.join("; ")
        )));
    }
    Ok(bytes)
}

/// Every file SHA256SUMS in `dir` lists, hashed and compared; each of
/// [`NODE_FILES`] must be listed. Names stay inside `dir`.
fn verify_local(dir: &Path) -> Result<(Vec<Listed>, String), StageError> {
    let (files, manifest) = sums::verify_folder(dir)
        .map_err(|e| input(&e.path, format!("{}; nothing was uploaded", e.reason)))?;
    if let Some(missing) = NODE_FILES
        .iter()
        .find(|n| !files.iter().any(|f| f.name.eq_ignore_ascii_case(n)))
    {
        return Err(input(
            &dir.join("SHA256SUMS"),
            format!(
                "does not list {missing} (start.ps1 needs {})",
                NODE_FILES.join(", ")
            ),
        ));
    }
    Ok((files, manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &[u8])]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut sums = String::new();
        for (name, bytes) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
            sums.push_str(&format!("{}  {name}\n", sha256_hex(bytes)));
        }
        std::fs::write(dir.path().join("SHA256SUMS"), sums).unwrap();
        dir
    }

    fn node_files() -> Vec<(&'static str, &'static [u8])> {
        NODE_FILES.iter().map(|n| (*n, n.as_bytes())).collect()
    }

    fn facts(rules: serde_json::Value) -> GuestFacts {
        serde_json::from_value(serde_json::json!({ "firewall_rules": rules })).unwrap()
    }

    #[test]
    fn the_vxlan_rule_must_be_read_back_inbound_udp_4789_and_enabled() {
        let rule = |proto: &str, port: u16, enabled: bool| {
            serde_json::json!([{ "name": "{5f1c}", "display_name": VXLAN_RULE, "protocol": proto,
                "local_port": port.to_string(), "direction": "Inbound", "enabled": enabled }])
        };
        assert_eq!(
            vxlan_rule(&facts(rule("UDP", 4789, true))),
            ("Inbound UDP 4789 enabled=true".to_string(), true)
        );
        assert!(!vxlan_rule(&facts(rule("UDP", 4789, false))).1);
        assert!(!vxlan_rule(&facts(rule("TCP", 4789, true))).1);
        assert!(!vxlan_rule(&facts(rule("UDP", 8472, true))).1);
        assert_eq!(
            vxlan_rule(&facts(serde_json::json!([]))),
            ("no rule".to_string(), false)
        );
    }

    #[test]
    fn a_complete_folder_verifies() {
        let dir = folder(&node_files());
        assert_eq!(verify_local(dir.path()).unwrap().0.len(), 7);
    }

    #[test]
    fn a_changed_file_or_a_missing_one_or_a_path_outside_is_refused() {
        let dir = folder(&node_files());
        std::fs::write(dir.path().join("kubelet.exe"), b"truncated").unwrap();
        let e = verify_local(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("kubelet.exe") && e.contains("SHA256SUMS says"),
            "{e}"
        );

        let dir = folder(&node_files()[1..]);
        let e = verify_local(dir.path()).unwrap_err().to_string();
        assert!(e.contains("does not list kubelet.exe"), "{e}");

        let dir = folder(&node_files());
        let sums = format!("{}  ../secret\n", "0".repeat(64));
        std::fs::write(dir.path().join("SHA256SUMS"), sums).unwrap();
        let e = verify_local(dir.path()).unwrap_err().to_string();
        assert!(e.contains("relative file name"), "{e}");
    }
}
