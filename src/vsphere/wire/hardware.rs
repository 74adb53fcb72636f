//! A VM's virtual devices as `/api/vcenter/vm/{vm}/hardware/...` and the
//! device maps of `GET /api/vcenter/vm/{vm}` give them
//! (`VcenterVmHardware…` definitions of the 7.0.3 description).

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DiskHostBusAdapterType {
    Ide,
    Scsi,
    Sata,
    Nvme,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DiskBackingType {
    VmdkFile,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScsiAddressInfo {
    pub bus: i64,
    pub unit: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskBackingInfo {
    #[serde(rename = "type")]
    pub backing_type: DiskBackingType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vmdk_file: Option<String>,
}

/// `VcenterVmHardwareDiskInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskInfo {
    pub label: String,
    #[serde(rename = "type")]
    pub bus_type: DiskHostBusAdapterType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scsi: Option<ScsiAddressInfo>,
    pub backing: DiskBackingInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskSummary {
    pub disk: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EthernetEmulationType {
    E1000,
    E1000e,
    Pcnet32,
    Vmxnet,
    Vmxnet2,
    Vmxnet3,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MacAddressType {
    Manual,
    Generated,
    Assigned,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EthernetBackingType {
    StandardPortgroup,
    HostDevice,
    DistributedPortgroup,
    OpaqueNetwork,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConnectionState {
    Connected,
    RecoverableError,
    UnrecoverableError,
    NotConnected,
    Unknown,
}

/// `VcenterVmHardwareEthernetBackingInfo`: a distributed port group also
/// names its switch and port.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EthernetBackingInfo {
    #[serde(rename = "type")]
    pub backing_type: EthernetBackingType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetworkId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distributed_switch_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distributed_port: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_cookie: Option<i64>,
}

/// `VcenterVmHardwareEthernetInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EthernetInfo {
    pub label: String,
    #[serde(rename = "type")]
    pub emulation: EthernetEmulationType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upt_compatibility_enabled: Option<bool>,
    pub mac_type: MacAddressType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pci_slot_number: Option<i64>,
    pub wake_on_lan_enabled: bool,
    pub backing: EthernetBackingInfo,
    pub state: ConnectionState,
    pub start_connected: bool,
    pub allow_guest_control: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EthernetSummary {
    pub nic: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BootType {
    Bios,
    Efi,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BootNetworkProtocol {
    Ipv4,
    Ipv6,
}

/// `VcenterVmHardwareBootInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BootInfo {
    #[serde(rename = "type")]
    pub boot_type: BootType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub efi_legacy_boot: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_protocol: Option<BootNetworkProtocol>,
    pub delay: i64,
    pub retry: bool,
    pub retry_delay: i64,
    pub enter_setup_mode: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScsiAdapterType {
    Buslogic,
    Lsilogic,
    Lsilogicsas,
    Pvscsi,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScsiSharing {
    None,
    Virtual,
    Physical,
}

/// `VcenterVmHardwareAdapterScsiInfo`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScsiAdapterInfo {
    pub label: String,
    #[serde(rename = "type")]
    pub adapter_type: ScsiAdapterType,
    pub scsi: ScsiAddressInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pci_slot_number: Option<i64>,
    pub sharing: ScsiSharing,
}
