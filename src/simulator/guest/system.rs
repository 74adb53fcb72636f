//! The guest's configuration state besides files: services, optional
//! features and capabilities, firewall rules, updates, sysprep.
//!
//! Defaults model a fresh Windows Server install from a vSphere template as
//! the seeds describe it: VMware Tools installed, no OpenSSH server, no
//! container runtime, no kubelet firewall rule — everything the pipeline must
//! change starts in the state that forces it to.

use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ServiceStatus {
    Running,
    Stopped,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum StartType {
    Automatic,
    Manual,
    Disabled,
}

impl StartType {
    /// `sc.exe config start=` and `Set-Service -StartupType` spellings.
    pub fn parse(text: &str) -> Option<Self> {
        match text.to_ascii_lowercase().as_str() {
            "auto" | "automatic" | "delayed-auto" | "automaticdelayedstart" => {
                Some(StartType::Automatic)
            }
            "demand" | "manual" => Some(StartType::Manual),
            "disabled" => Some(StartType::Disabled),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Service {
    pub name: String,
    pub display_name: String,
    pub status: ServiceStatus,
    pub start_type: StartType,
}

/// Installed services, keyed by lowercase name (service names are case-insensitive).
#[derive(Clone, Debug, Default)]
pub struct Services {
    by_key: BTreeMap<String, Service>,
}

impl Services {
    pub fn get(&self, name: &str) -> Option<&Service> {
        self.by_key.get(&name.to_ascii_lowercase())
    }

    pub fn get_mut(&mut self, name: &str) -> Option<&mut Service> {
        self.by_key.get_mut(&name.to_ascii_lowercase())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Service> {
        self.by_key.values()
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|s| s.status == ServiceStatus::Running)
    }

    /// Installs (or reconfigures) a service; returns whether anything changed.
    pub fn install(
        &mut self,
        name: &str,
        display_name: &str,
        start_type: StartType,
        status: ServiceStatus,
    ) -> bool {
        let service = Service {
            name: name.to_string(),
            display_name: display_name.to_string(),
            status,
            start_type,
        };
        let previous = self
            .by_key
            .insert(name.to_ascii_lowercase(), service.clone());
        previous.as_ref() != Some(&service)
    }

    /// What a boot does: automatic services start, the rest stay as they are.
    pub fn boot(&mut self) {
        for service in self.by_key.values_mut() {
            service.status = match service.start_type {
                StartType::Automatic => ServiceStatus::Running,
                StartType::Manual | StartType::Disabled => ServiceStatus::Stopped,
            };
        }
    }

    pub fn stop_all(&mut self) {
        for service in self.by_key.values_mut() {
            service.status = ServiceStatus::Stopped;
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum FeatureState {
    /// An optional feature (`Get-WindowsFeature`) that is off, or a capability not present.
    Available,
    /// Enabled but waiting for the reboot that completes it.
    InstallPending,
    Installed,
}

/// The `Containers` optional feature and `Add-WindowsCapability` items.
#[derive(Clone, Debug, Default)]
pub struct Features {
    by_name: BTreeMap<String, FeatureState>,
}

impl Features {
    pub fn state(&self, name: &str) -> Option<FeatureState> {
        self.by_name
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, s)| *s)
    }

    pub fn set(&mut self, name: &str, state: FeatureState) {
        let key = self
            .by_name
            .keys()
            .find(|k| k.eq_ignore_ascii_case(name))
            .cloned()
            .unwrap_or_else(|| name.to_string());
        self.by_name.insert(key, state);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, FeatureState)> {
        self.by_name.iter().map(|(k, v)| (k.as_str(), *v))
    }

    /// A reboot completes pending installs.
    pub fn boot(&mut self) {
        for state in self.by_name.values_mut() {
            if *state == FeatureState::InstallPending {
                *state = FeatureState::Installed;
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FirewallRule {
    pub name: String,
    pub protocol: Protocol,
    pub local_port: u16,
    pub direction: Direction,
    pub enabled: bool,
}

/// Inbound/outbound rules keyed by rule name (what `New-NetFirewallRule -Name` sets).
#[derive(Clone, Debug, Default)]
pub struct Firewall {
    rules: Vec<FirewallRule>,
}

impl Firewall {
    pub fn rules(&self) -> &[FirewallRule] {
        &self.rules
    }

    /// Creates or updates the rule of that name; returns whether anything changed.
    pub fn ensure(&mut self, rule: FirewallRule) -> bool {
        match self
            .rules
            .iter_mut()
            .find(|r| r.name.eq_ignore_ascii_case(&rule.name))
        {
            Some(existing) if *existing == rule => false,
            Some(existing) => {
                *existing = rule;
                true
            }
            None => {
                self.rules.push(rule);
                true
            }
        }
    }

    /// Whether an enabled inbound rule admits this protocol and port.
    pub fn allows_inbound(&self, protocol: Protocol, port: u16) -> bool {
        self.rules.iter().any(|r| {
            r.enabled
                && r.direction == Direction::Inbound
                && r.protocol == protocol
                && r.local_port == port
        })
    }
}

/// Windows Update state: what is installed and whether a reboot is owed.
#[derive(Clone, Debug, Default)]
pub struct Updates {
    pub installed: Vec<String>,
    pub pending_reboot: bool,
    /// The build revision Windows reports now.
    pub ubr: u32,
    /// The revision an installed cumulative update brings: Windows
    /// replaces its files during the restart, so the UBR changes only then
    /// and a check made before the reboot still sees the old one.
    pub staged_ubr: Option<u32>,
}

impl Updates {
    /// The guest restarted: a staged cumulative update takes effect.
    pub fn restarted(&mut self) {
        self.pending_reboot = false;
        if let Some(ubr) = self.staged_ubr.take() {
            self.ubr = self.ubr.max(ubr);
        }
    }

    pub fn is_installed(&self, kb: &str) -> bool {
        self.installed.iter().any(|k| k.eq_ignore_ascii_case(kb))
    }
}

/// Microsoft allows three rearms of the licensing clock per image; a
/// generalize without `SkipRearm=1` spends one, and once none are left sysprep
/// refuses to generalize.
pub const DEFAULT_REARM_BUDGET: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SysprepState {
    pub run_count: u32,
    pub rearms_left: u32,
    /// `HKLM\SYSTEM\Setup\Status\SysprepStatus` image state.
    pub image_state: String,
    /// While set (the sysprep-failure fault), every run fails and writes setuperr.log.
    pub fail_injected: bool,
}

impl Default for SysprepState {
    fn default() -> Self {
        SysprepState {
            run_count: 0,
            rearms_left: DEFAULT_REARM_BUDGET,
            image_state: "IMAGE_STATE_COMPLETE".into(),
            fail_injected: false,
        }
    }
}
