//! What each stage will create or change, for `gild build --dry-run`: a
//! reviewer reads the plan before anything touches vCenter.

use super::config::{Pipeline, Runtime, StageConfig};
use super::engine::{default_timeout, Names};

pub fn creates(stage: &StageConfig, p: &Pipeline, names: &Names) -> String {
    let what = match stage {
        StageConfig::Preflight(_) => "reads the inventory; changes nothing".to_string(),
        StageConfig::Clone(_) => format!(
            "creates VM {} from {} in {} (datastore {}), powers it on",
            names.build_vm, p.source.vm, p.placement.folder, p.placement.datastore
        ),
        StageConfig::Hardware(o) => format!(
            "checks virtual hardware >= vmx-{}{}",
            o.min_version.unwrap_or(super::target::MIN_HARDWARE_VERSION),
            if o.upgrade {
                ", upgrades when older"
            } else {
                ""
            }
        ),
        StageConfig::Tools(o) => format!(
            "waits for VMware Tools >= {}{}",
            o.min_version.clone().unwrap_or_else(|| "11.0.6".into()),
            if o.upgrade {
                ", upgrades when older"
            } else {
                ""
            }
        ),
        StageConfig::ToolsConf(_) if p.target.requires_empty_exclude_nics() => {
            "writes tools.conf exclude-nics= (empty)".into()
        }
        StageConfig::ToolsConf(_) => "reads tools.conf (left as the image has it)".into(),
        StageConfig::Network(_) => "checks the VM's IPv4 address".into(),
        StageConfig::Openssh(o) => format!(
            "installs OpenSSH server, writes {} to administrators_authorized_keys",
            o.public_key_file.display()
        ),
        StageConfig::ContainerRuntime(o) => {
            let rt = o.runtime.unwrap_or_else(|| p.target.default_runtime());
            match rt {
                Runtime::None => {
                    "enables the Containers feature (no runtime: WMCO installs containerd)".into()
                }
                rt => format!("enables the Containers feature, installs {rt:?}"),
            }
        }
        StageConfig::Firewall(o) => {
            if o.vxlan.unwrap_or(p.target.needs_vxlan_port()) {
                "opens TCP 10250 and UDP 4789".into()
            } else {
                "opens TCP 10250".into()
            }
        }
        StageConfig::KubernetesNode(o) => format!(
            "uploads the node binaries in {} to C:\\k (SHA-256 checked), opens UDP 4789, saves start-node.ps1 from {}",
            o.binaries.display(),
            o.netplan.display()
        ),
        StageConfig::WindowsUpdate(o) => format!(
            "installs Windows updates, up to {} reboot rounds",
            o.max_rounds.unwrap_or(5)
        ),
        StageConfig::Scripts(o) => format!("runs {} user script(s)", o.run.len()),
        StageConfig::Unattend(_) => "renders, lints and uploads unattend.xml".into(),
        StageConfig::Sysprep(_) => "runs sysprep /generalize /oobe /shutdown".into(),
        StageConfig::Template(_) => format!("marks {} as a template", names.build_vm),
        StageConfig::Publish(_) => format!(
            "renames it to {} in {}, keeps the {} newest templates of {}",
            names.template, p.template.folder, p.template.keep, p.name
        ),
        StageConfig::Machineset(_) => "writes machineset.yaml".into(),
    };
    let timeout = stage
        .timeout()
        .unwrap_or_else(|| default_timeout(stage.name()));
    format!("{what} (timeout {})", humantime::format_duration(timeout))
}
