//! A VM: its info, clone spec, power, hardware and VMware Tools.

use super::*;

// ---------- VM ----------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HardwareInfo {
    pub version: HardwareVersion,
    pub upgrade_policy: HardwareUpgradePolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_version: Option<HardwareVersion>,
    pub upgrade_status: HardwareUpgradeStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_error: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HardwareUpgradeSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<HardwareVersion>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmIdentity {
    pub name: String,
    pub bios_uuid: String,
    pub instance_uuid: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuInfo {
    pub count: i64,
    pub cores_per_socket: i64,
    pub hot_add_enabled: bool,
    pub hot_remove_enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryInfo {
    #[serde(rename = "size_MiB")]
    pub size_mib: i64,
    pub hot_add_enabled: bool,
}

/// `GET /api/vcenter/vm/{vm}` (`VcenterVMInfo`). Device maps gild does not
/// inspect stay as raw JSON so that a newer vCenter's extra fields pass
/// through untouched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmInfo {
    #[serde(rename = "guest_OS")]
    pub guest_os: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<VmIdentity>,
    pub power_state: PowerState,
    /// Absent before 6.7U1's instant clone; `false` for every VM that is
    /// not an instant-clone parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instant_clone_frozen: Option<bool>,
    pub hardware: HardwareInfo,
    pub boot: serde_json::Value,
    pub boot_devices: Vec<serde_json::Value>,
    pub cpu: CpuInfo,
    pub memory: MemoryInfo,
    pub disks: BTreeMap<String, serde_json::Value>,
    pub nics: BTreeMap<String, serde_json::Value>,
    pub cdroms: BTreeMap<String, serde_json::Value>,
    pub floppies: BTreeMap<String, serde_json::Value>,
    pub parallel_ports: BTreeMap<String, serde_json::Value>,
    pub serial_ports: BTreeMap<String, serde_json::Value>,
    pub sata_adapters: BTreeMap<String, serde_json::Value>,
    pub scsi_adapters: BTreeMap<String, serde_json::Value>,
    /// Added in 7.0 (VcenterVMInfo); `default` so an older vCenter's answer still reads.
    #[serde(default)]
    pub nvme_adapters: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClonePlacement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder: Option<FolderId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_pool: Option<ResourcePoolId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<HostId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datastore: Option<DatastoreId>,
}

/// Body of `POST /api/vcenter/vm?action=clone` (`VcenterVMCloneSpec`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloneSpec {
    pub source: VmId,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<ClonePlacement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_on: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PowerInfo {
    pub state: PowerState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean_power_off: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestPowerInfo {
    pub state: GuestPowerState,
    pub operations_ready: bool,
}

// ---------- tools ----------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolsInfo {
    pub auto_update_supported: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_attempt_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
    /// `(MJR<<10) + (MNR<<5) + REV`; decode with [`ToolsVersion::from_number`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_number: Option<i64>,
    /// The same number as a decimal string (`"12421"`), not `12.1.5`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub upgrade_policy: ToolsUpgradePolicy,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_status: Option<ToolsVersionStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub install_type: Option<ToolsInstallType>,
    pub run_state: ToolsRunState,
}

/// A VMware Tools version decoded from `version_number`
/// (`(MJR<<10) + (MNR<<5) + REV`; 11.0.6 is 11270).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ToolsVersion {
    pub major: u32,
    pub minor: u32,
    pub revision: u32,
}

impl ToolsVersion {
    pub fn from_number(n: i64) -> Self {
        let n = n.max(0) as u32;
        ToolsVersion {
            major: n / 1024,
            minor: (n % 1024) / 32,
            revision: n % 32,
        }
    }

    pub fn to_number(self) -> i64 {
        ((self.major << 10) + (self.minor << 5) + self.revision) as i64
    }

    /// Parses `11.0.6`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut it = s.trim().split('.').map(|p| p.parse::<u32>());
        let major = it.next()?.ok()?;
        let minor = it.next().unwrap_or(Ok(0)).ok()?;
        let revision = it.next().unwrap_or(Ok(0)).ok()?;
        if it.next().is_some() || minor > 31 || revision > 31 {
            return None;
        }
        Some(ToolsVersion {
            major,
            minor,
            revision,
        })
    }
}

impl std::fmt::Display for ToolsVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.revision)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolsUpdateSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrade_policy: Option<ToolsUpgradePolicy>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolsUpgradeSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line_options: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolsInstallerInfo {
    pub is_connected: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_version_number_round_trips_the_seed_minimum() {
        let v = ToolsVersion::parse("11.0.6").unwrap();
        assert_eq!(v.to_number(), 11270);
        assert_eq!(ToolsVersion::from_number(11270), v);
        assert!(ToolsVersion::from_number(12352) > v); // 12.2.0
    }

    #[test]
    fn hardware_version_orders_numerically_and_keeps_wire_form() {
        let v: HardwareVersion = serde_json::from_str("\"VMX_15\"").unwrap();
        assert!(v >= HardwareVersion(15) && v < HardwareVersion(19));
        assert_eq!(
            serde_json::to_string(&HardwareVersion(9)).unwrap(),
            "\"VMX_09\""
        );
    }
}
