//! The guest's configuration state besides files: services, optional
//! features and capabilities, sysprep (firewall rules, updates and the
//! network have their own modules).
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
    /// How often each service was stopped (a restart counts): stopping
    /// VMTools under a guest-operations process loses that process.
    stops: BTreeMap<String, u64>,
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

    pub fn stop_count(&self, name: &str) -> u64 {
        self.stops
            .get(&name.to_ascii_lowercase())
            .copied()
            .unwrap_or(0)
    }

    /// Starts or stops an installed service; false when it is not installed.
    pub fn set_status(&mut self, name: &str, status: ServiceStatus) -> bool {
        let key = name.to_ascii_lowercase();
        let Some(service) = self.by_key.get_mut(&key) else {
            return false;
        };
        if service.status == ServiceStatus::Running && status == ServiceStatus::Stopped {
            *self.stops.entry(key).or_default() += 1;
        }
        service.status = status;
        true
    }

    /// `Restart-Service`: stop (when running) and start again.
    pub fn restart(&mut self, name: &str) -> bool {
        self.set_status(name, ServiceStatus::Stopped)
            && self.set_status(name, ServiceStatus::Running)
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

/// An AppX package as `Get-AppxPackage -AllUsers` lists it. Sysprep's
/// generalize fails for each package installed for a user but not
/// provisioned for all users (Microsoft: "Sysprep fails after you remove or
/// update Microsoft Store apps that include built-in Windows images").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AppxPackage {
    pub name: String,
    pub full_name: String,
    pub users: Vec<String>,
    pub provisioned: bool,
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
