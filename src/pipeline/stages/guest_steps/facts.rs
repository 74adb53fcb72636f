//! What `collect-facts.ps1` reports, as the stages read it.

use serde::Deserialize;

/// What `collect-facts.ps1` reports (scripts/README.md). Fields a guest
/// does not report stay at their defaults, so an older script's result
/// still reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct GuestFacts {
    pub hostname: String,
    pub os: GuestOsFacts,
    /// The display language of the account (`Get-UICulture`).
    pub language: Option<String>,
    /// The language Windows was installed in.
    pub install_language: Option<String>,
    pub services: Vec<ServiceFact>,
    pub features: Vec<FeatureFact>,
    pub firewall_rules: Vec<RuleFact>,
    pub installed_kbs: Vec<String>,
    pub reboot_pending: bool,
    /// Why (`component_based_servicing`, `windows_update`).
    pub reboot_pending_sources: Vec<String>,
    /// The `ssh_host_*` files in `C:\ProgramData\ssh`.
    pub ssh_host_keys: Vec<String>,
    pub last_boot_time: Option<String>,
    pub tools_conf: ToolsConfFact,
    pub authorized_keys: KeysFact,
    pub sysprep: SysprepFact,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SysprepFact {
    pub rearms_left: Option<u32>,
    pub image_state: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct GuestOsFacts {
    pub caption: String,
    pub version: String,
    pub build: u32,
    pub ubr: Option<u32>,
    pub display_version: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServiceFact {
    pub name: String,
    pub status: String,
    pub start_type: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct FeatureFact {
    pub name: String,
    pub state: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleFact {
    pub name: String,
    pub display_name: Option<String>,
    pub protocol: String,
    pub local_port: serde_json::Value,
    pub direction: String,
    pub enabled: serde_json::Value,
}

impl RuleFact {
    pub(super) fn is(&self, name: &str) -> bool {
        self.display_name
            .as_deref()
            .unwrap_or(&self.name)
            .eq_ignore_ascii_case(name)
            || self.name.eq_ignore_ascii_case(name)
    }

    /// `Inbound UDP 4789 enabled=true`: the rule as a check shows it read back.
    pub(in crate::pipeline::stages) fn describe(&self) -> String {
        format!(
            "{} {} {} enabled={}",
            self.direction,
            self.protocol,
            self.port(),
            self.enabled()
        )
    }

    pub(in crate::pipeline::stages) fn port(&self) -> String {
        match &self.local_port {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        }
    }

    pub(in crate::pipeline::stages) fn enabled(&self) -> bool {
        matches!(&self.enabled, serde_json::Value::Bool(true))
            || self
                .enabled
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("true"))
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ToolsConfFact {
    pub exists: bool,
    pub exclude_nics: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct KeysFact {
    pub exists: bool,
    pub ascii: Option<bool>,
    pub acl: Vec<String>,
}

impl GuestFacts {
    pub(super) fn service(&self, name: &str) -> String {
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .map_or("not installed".into(), |s| {
                format!("{}/{}", s.status, s.start_type)
            })
    }

    pub(super) fn feature(&self, name: &str) -> String {
        self.features
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map_or("absent".into(), |f| f.state.clone())
    }

    pub(in crate::pipeline::stages) fn rule(&self, name: &str) -> Option<&RuleFact> {
        self.firewall_rules.iter().find(|r| r.is(name))
    }
}
