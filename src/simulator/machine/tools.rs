//! VMware Tools: status, upgrade policy, upgrade and the installer ISO.

use super::{Machine, Refusal};
use crate::vsphere::wire::*;
use tokio::time::Instant;

/// The tools build the simulated hosts ship; an upgrade installs it.
pub const BUNDLED_TOOLS: ToolsVersion = ToolsVersion {
    major: 12,
    minor: 4,
    revision: 5,
};

impl Machine {
    // ---------- VMware Tools ----------

    pub fn tools_info(&self, now: Instant) -> ToolsInfo {
        let status = if self.tools_version >= BUNDLED_TOOLS {
            ToolsVersionStatus::Current
        } else {
            ToolsVersionStatus::SupportedOld
        };
        ToolsInfo {
            auto_update_supported: true,
            install_attempt_count: Some(1),
            error: None,
            version_number: Some(self.tools_version.to_number()),
            // vCenter sends the version number again as a decimal string
            // (vmware.vmware_rest 4.9.0 `vcenter_vm_tools_info` sample:
            // `version: '10346'` beside `version_number: 10346`); the
            // dotted form is the client's to derive.
            version: Some(self.tools_version.to_number().to_string()),
            upgrade_policy: self.tools_upgrade_policy,
            version_status: Some(status),
            install_type: Some(ToolsInstallType::Msi),
            run_state: if self.tools_running(now) {
                ToolsRunState::Running
            } else {
                ToolsRunState::NotRunning
            },
        }
    }

    pub fn set_tools_upgrade_policy(&mut self, policy: ToolsUpgradePolicy) {
        self.tools_upgrade_policy = policy;
    }

    /// Installs the hosts' bundled tools through the running ones.
    pub fn upgrade_tools(&mut self, now: Instant) -> Result<(), Refusal> {
        self.require_guest(now)?;
        if self.tools_version >= BUNDLED_TOOLS {
            return Err(Refusal::AlreadyDone(format!(
                "VMware Tools {} is already current",
                self.tools_version
            )));
        }
        self.tools_version = BUNDLED_TOOLS;
        Ok(())
    }

    /// Connects or disconnects the tools installer ISO.
    pub fn set_installer(&mut self, connect: bool) -> Result<(), Refusal> {
        self.require_powered_on()?;
        if connect && self.installer_connected {
            return Err(Refusal::AlreadyDone(
                "The tools installer is already connected".into(),
            ));
        }
        self.installer_connected = connect;
        Ok(())
    }
}
