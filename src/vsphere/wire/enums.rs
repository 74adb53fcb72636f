//! Enumerations, exactly as the OpenAPI description spells their values.

use super::*;

// ---------- enums ----------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PowerState {
    PoweredOff,
    PoweredOn,
    Suspended,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GuestPowerState {
    Running,
    ShuttingDown,
    Resetting,
    Standby,
    NotRunning,
    Unavailable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ToolsRunState {
    NotRunning,
    Running,
    ExecutingScripts,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ToolsVersionStatus {
    NotInstalled,
    Current,
    Unmanaged,
    TooOldUnsupported,
    SupportedOld,
    SupportedNew,
    TooNew,
    Blacklisted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ToolsUpgradePolicy {
    Manual,
    UpgradeAtPowerCycle,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ToolsInstallType {
    Unknown,
    Msi,
    Tar,
    Osp,
    OpenVmTools,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HardwareUpgradePolicy {
    Never,
    AfterCleanShutdown,
    Always,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HardwareUpgradeStatus {
    None,
    Pending,
    Success,
    Failed,
}

/// `VMX_15` and friends. Kept as a number so comparisons ("vmx-15 or
/// later") are arithmetic; (de)serialised as `VMX_NN`. 7.0.3's enum ends
/// at VMX_19; 8.0.0.1, 8.0.2.0 and 9.0.0.0 add VMX_20..VMX_22.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HardwareVersion(pub u8);

impl HardwareVersion {
    pub fn parse(s: &str) -> Option<Self> {
        let n = s.strip_prefix("VMX_").or_else(|| s.strip_prefix("vmx-"))?;
        n.parse().ok().map(HardwareVersion)
    }
}

impl std::fmt::Display for HardwareVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VMX_{:02}", self.0)
    }
}

impl Serialize for HardwareVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HardwareVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        HardwareVersion::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("not a hardware version: {s}")))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GuestOsFamily {
    Windows,
    Linux,
    Netware,
    Solaris,
    Darwin,
    Other,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FolderType {
    Datacenter,
    Datastore,
    Host,
    Network,
    VirtualMachine,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DatastoreType {
    Vmfs,
    Nfs,
    Nfs41,
    Cifs,
    Vsan,
    Vffs,
    Vvol,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NetworkType {
    StandardPortgroup,
    DistributedPortgroup,
    OpaqueNetwork,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IpAddressState {
    Preferred,
    Deprecated,
    Invalid,
    Inaccessible,
    Unknown,
    Tentative,
    Duplicate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IpAddressOrigin {
    Other,
    Manual,
    Dhcp,
    Linklayer,
    Random,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum GuestFileType {
    File,
    Directory,
    Symlink,
}
