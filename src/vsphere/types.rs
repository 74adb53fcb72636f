//! Wire types of the vSphere Automation `/api` operations gild uses.
//!
//! Field names and enum values follow VMware's OpenAPI description
//! (`shared/vsphere-api/7.0.3/vcenter.json`, definitions `Vcenter…`); the
//! contract tests validate serialised values of these types against those
//! schemas, so a renamed field fails a test rather than a build on a real
//! vCenter. Both the client (deserialising) and the simulator (serialising)
//! use them. Optional fields are skipped when unset because vCenter leaves
//! them out rather than sending `null`.

use super::ids::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

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

// ---------- session ----------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: String,
    pub created_time: String,
    pub last_accessed_time: String,
}

// ---------- inventory summaries ----------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmSummary {
    pub vm: VmId,
    pub name: String,
    pub power_state: PowerState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<i64>,
    #[serde(rename = "memory_size_MiB", skip_serializing_if = "Option::is_none")]
    pub memory_size_mib: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FolderSummary {
    pub folder: FolderId,
    pub name: String,
    #[serde(rename = "type")]
    pub folder_type: FolderType,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatacenterSummary {
    pub datacenter: DatacenterId,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatastoreSummary {
    pub datastore: DatastoreId,
    pub name: String,
    #[serde(rename = "type")]
    pub datastore_type: DatastoreType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_space: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourcePoolSummary {
    pub resource_pool: ResourcePoolId,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    pub cluster: ClusterId,
    pub name: String,
    pub ha_enabled: bool,
    pub drs_enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSummary {
    pub network: NetworkId,
    pub name: String,
    #[serde(rename = "type")]
    pub network_type: NetworkType,
}

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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_number: Option<i64>,
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

// ---------- guest info ----------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalizableMessage {
    pub id: String,
    pub default_message: String,
    pub args: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestIdentity {
    pub name: String,
    pub family: GuestOsFamily,
    pub full_name: LocalizableMessage,
    pub host_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IpAddressInfo {
    pub ip_address: String,
    pub prefix_length: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<IpAddressOrigin>,
    pub state: IpAddressState,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DhcpConfigInfo {
    pub ipv4_enabled: bool,
    pub ipv6_enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IpConfigInfo {
    pub ip_addresses: Vec<IpAddressInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhcp: Option<DhcpConfigInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestInterfaceInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpConfigInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestOperationsInfo {
    pub guest_operations_ready: bool,
    pub interactive_guest_operations_ready: bool,
}

// ---------- guest operations ----------

/// `VcenterVmGuestCredentials`. Deliberately not `Serialize`: the client
/// builds the JSON by hand through [`GuestCredentials::to_wire`], so the
/// password is exposed in exactly one place.
#[derive(Clone, Debug)]
pub struct GuestCredentials {
    pub user_name: String,
    pub password: crate::secret::Secret,
}

impl GuestCredentials {
    pub fn to_wire(&self) -> serde_json::Value {
        serde_json::json!({
            "interactive_session": false,
            "type": "USERNAME_PASSWORD",
            "user_name": self.user_name,
            "password": self.password.expose(),
        })
    }
}

/// The credentials object as the simulator receives it.
#[derive(Clone, Debug, Deserialize)]
pub struct WireCredentials {
    pub interactive_session: bool,
    #[serde(rename = "type")]
    pub credentials_type: String,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub password: Option<crate::secret::Secret>,
    #[serde(default)]
    pub saml_token: Option<crate::secret::Secret>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessSpec {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_variables: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_minimized: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub name: String,
    pub owner: String,
    pub command: String,
    pub started: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessSummary {
    pub name: String,
    pub pid: GuestPid,
    pub owner: String,
    pub command: String,
    pub started: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowsFileAttributesCreateSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FileCreationAttributes {
    pub size: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overwrite: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows: Option<WindowsFileAttributesCreateSpec>,
}

/// `VcenterVmGuestFilesystemTransfersCreateSpec`: with `attributes` an
/// upload (PUT to the returned URL), without a download (GET).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransferSpec {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<FileCreationAttributes>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowsFileAttributesInfo {
    pub hidden: bool,
    pub read_only: bool,
    pub created: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileAttributesInfo {
    pub last_modified: String,
    pub last_accessed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symlink_target: Option<String>,
    pub filesystem_family: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub win_attributes: Option<WindowsFileAttributesInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestFileInfo {
    #[serde(rename = "type")]
    pub file_type: GuestFileType,
    pub size: i64,
    pub attributes: FileAttributesInfo,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestFileSummary {
    pub filename: String,
    #[serde(rename = "type")]
    pub file_type: GuestFileType,
    pub size: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestFileList {
    pub files: Vec<GuestFileSummary>,
    pub total: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_index: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_index: Option<i64>,
    /// `READY` or `END_OF_DATA`.
    pub status: String,
}

// ---------- tasks ----------

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Pending,
    Running,
    Blocked,
    Succeeded,
    Failed,
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
