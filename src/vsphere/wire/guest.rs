//! What runs inside the guest: identity, networking, processes, files; and tasks.

use super::*;

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

/// `GET /api/vcenter/vm/{vm}/guest/networking` (`VcenterVmGuestNetworkingInfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestNetworkingInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_values: Option<DnsAssignedValues>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsConfigInfo>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DnsAssignedValues {
    pub host_name: String,
    pub domain_name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DnsConfigInfo {
    pub ip_addresses: Vec<String>,
    pub search_domains: Vec<String>,
}

/// An item of `GET /api/vcenter/vm/{vm}/guest/networking/routes`
/// (`VcenterVmGuestNetworkingRoutesInfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GuestRouteInfo {
    pub network: String,
    pub prefix_length: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface_index: Option<i64>,
}

/// A value of `GET /api/vcenter/vm/{vm}/guest/local-filesystem`, keyed by
/// mount point (`VcenterVmGuestLocalFilesystemInfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LocalFilesystemInfo {
    pub capacity: i64,
    pub free_space: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mappings: Option<Vec<VirtualDiskMapping>>,
}

/// Which virtual disk (device key) backs a guest filesystem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VirtualDiskMapping {
    pub disk: String,
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
