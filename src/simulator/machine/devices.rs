//! The VM's virtual devices as vCenter reports them: one boot disk on a SCSI
//! controller, one NIC on the VM's network, a CD/DVD drive on a SATA
//! controller (where the tools installer ISO is mounted), EFI firmware.
//!
//! Device keys follow vCenter's numbering by controller type: SCSI
//! controller 1000, SCSI disks from 2000, NICs from 4000, SATA controller
//! 15000, SATA devices from 16000 (ansible-collections/vmware.vmware_rest
//! 4.9.0, recorded samples of `vcenter_vm_info`: nic `4000`, sata adapter
//! `15000`, SATA devices `16000`..`16002`; `vcenter_vm_hardware_disk_info`:
//! SCSI disk `2000`). Device maps the client never reads
//! (floppies, ports) stay empty.

use super::{Machine, PowerState};
use crate::vsphere::wire::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const SCSI_ADAPTER_KEY: &str = "1000";
pub const DISK_KEY: &str = "2000";
pub const NIC_KEY: &str = "4000";
const SATA_ADAPTER_KEY: &str = "15000";
const CDROM_KEY: &str = "16000";

/// The inventory facts a device view needs that the machine does not own:
/// its datastore's name (disk paths) and its network (NIC backing).
#[derive(Clone, Debug)]
pub struct DeviceContext {
    pub datastore_name: String,
    pub network: Option<NetworkRef>,
}

#[derive(Clone, Debug)]
pub struct NetworkRef {
    pub id: NetworkId,
    pub name: String,
    pub network_type: NetworkType,
}

/// A typed device map as the raw JSON map `VmInfo` carries.
fn values<T: serde::Serialize>(devices: BTreeMap<String, T>) -> BTreeMap<String, Value> {
    devices
        .into_iter()
        .map(|(k, v)| (k, serde_json::to_value(v).unwrap_or(Value::Null)))
        .collect()
}

fn to_map<T: serde::Serialize>(key: &str, device: T) -> BTreeMap<String, Value> {
    let mut map = BTreeMap::new();
    map.insert(
        key.to_string(),
        serde_json::to_value(device).unwrap_or(Value::Null),
    );
    map
}

impl Machine {
    pub fn hardware_info(&self) -> HardwareInfo {
        HardwareInfo {
            version: self.hardware,
            upgrade_policy: HardwareUpgradePolicy::Never,
            upgrade_version: None,
            upgrade_status: self.hardware_upgrade_status,
            upgrade_error: None,
        }
    }

    pub fn cpu_info(&self) -> CpuInfo {
        CpuInfo {
            count: self.cpu_count,
            cores_per_socket: 1,
            hot_add_enabled: false,
            hot_remove_enabled: false,
        }
    }

    pub fn memory_info(&self) -> MemoryInfo {
        MemoryInfo {
            size_mib: self.memory_mib,
            hot_add_enabled: false,
        }
    }

    /// `/hardware/boot`: Windows Server images boot UEFI.
    pub fn boot_info(&self) -> BootInfo {
        BootInfo {
            boot_type: BootType::Efi,
            efi_legacy_boot: Some(false),
            network_protocol: Some(BootNetworkProtocol::Ipv4),
            delay: 0,
            retry: false,
            retry_delay: 10000,
            enter_setup_mode: false,
        }
    }

    /// Disks by key (one: the system disk, a thick VMDK named after the VM).
    pub fn disks(&self, ctx: &DeviceContext) -> BTreeMap<String, DiskInfo> {
        let mut disks = BTreeMap::new();
        disks.insert(
            DISK_KEY.to_string(),
            DiskInfo {
                label: "Hard disk 1".into(),
                bus_type: DiskHostBusAdapterType::Scsi,
                scsi: Some(ScsiAddressInfo { bus: 0, unit: 0 }),
                backing: DiskBackingInfo {
                    backing_type: DiskBackingType::VmdkFile,
                    vmdk_file: Some(format!("[{}] {1}/{1}.vmdk", ctx.datastore_name, self.name)),
                },
                capacity: Some(self.disk_bytes as i64),
            },
        );
        disks
    }

    /// NICs by key: one, on the VM's network, connected while powered on.
    pub fn nics(&self, ctx: &DeviceContext) -> BTreeMap<String, EthernetInfo> {
        let mut nics = BTreeMap::new();
        let Some(net) = &ctx.network else {
            return nics;
        };
        let backing = match net.network_type {
            NetworkType::StandardPortgroup => EthernetBackingInfo {
                backing_type: EthernetBackingType::StandardPortgroup,
                network: Some(net.id.clone()),
                network_name: Some(net.name.clone()),
                distributed_switch_uuid: None,
                distributed_port: None,
                connection_cookie: None,
            },
            NetworkType::DistributedPortgroup => EthernetBackingInfo {
                backing_type: EthernetBackingType::DistributedPortgroup,
                network: Some(net.id.clone()),
                network_name: None,
                distributed_switch_uuid: Some(dvs_uuid(&net.id)),
                distributed_port: Some((self.id_number() % 64).to_string()),
                connection_cookie: Some(self.id_number() as i64 * 7919 % 1_000_000_007),
            },
            NetworkType::OpaqueNetwork => EthernetBackingInfo {
                backing_type: EthernetBackingType::OpaqueNetwork,
                network: Some(net.id.clone()),
                network_name: None,
                distributed_switch_uuid: None,
                distributed_port: None,
                connection_cookie: None,
            },
        };
        nics.insert(
            NIC_KEY.to_string(),
            EthernetInfo {
                label: "Network adapter 1".into(),
                emulation: EthernetEmulationType::Vmxnet3,
                upt_compatibility_enabled: Some(false),
                mac_type: MacAddressType::Assigned,
                mac_address: Some(self.mac_address()),
                pci_slot_number: Some(192),
                wake_on_lan_enabled: false,
                backing,
                state: if self.power == PowerState::PoweredOn {
                    ConnectionState::Connected
                } else {
                    ConnectionState::NotConnected
                },
                start_connected: true,
                allow_guest_control: true,
            },
        );
        nics
    }

    pub fn scsi_adapters(&self) -> BTreeMap<String, ScsiAdapterInfo> {
        let mut adapters = BTreeMap::new();
        adapters.insert(
            SCSI_ADAPTER_KEY.to_string(),
            ScsiAdapterInfo {
                label: "SCSI controller 0".into(),
                adapter_type: ScsiAdapterType::Lsilogicsas,
                scsi: ScsiAddressInfo { bus: 0, unit: 7 },
                pci_slot_number: Some(160),
                sharing: ScsiSharing::None,
            },
        );
        adapters
    }

    /// The CD/DVD drive: the tools installer ISO while it is connected,
    /// otherwise an empty client device.
    fn cdrom(&self) -> Value {
        let (backing, state) = if self.installer_connected {
            (
                json!({"type": "ISO_FILE", "iso_file": "[] /vmimages/tools-isoimages/windows.iso"}),
                "CONNECTED",
            )
        } else {
            (
                json!({"type": "CLIENT_DEVICE", "device_access_type": "PASSTHRU"}),
                "NOT_CONNECTED",
            )
        };
        json!({"type": "SATA", "label": "CD/DVD drive 1", "sata": {"bus": 0, "unit": 0},
               "backing": backing, "state": state, "start_connected": false,
               "allow_guest_control": true})
    }

    /// `GET /api/vcenter/vm/{vm}` (`VcenterVMInfo`).
    pub fn info(&self, ctx: &DeviceContext) -> VmInfo {
        VmInfo {
            guest_os: self.guest_os.clone(),
            name: self.name.clone(),
            identity: Some(VmIdentity {
                name: self.name.clone(),
                bios_uuid: self.bios_uuid.clone(),
                instance_uuid: self.instance_uuid.clone(),
            }),
            power_state: self.power,
            instant_clone_frozen: Some(false),
            hardware: self.hardware_info(),
            boot: serde_json::to_value(self.boot_info()).unwrap_or(Value::Null),
            boot_devices: vec![],
            cpu: self.cpu_info(),
            memory: self.memory_info(),
            disks: values(self.disks(ctx)),
            nics: values(self.nics(ctx)),
            cdroms: to_map(CDROM_KEY, self.cdrom()),
            floppies: BTreeMap::new(),
            parallel_ports: BTreeMap::new(),
            serial_ports: BTreeMap::new(),
            sata_adapters: to_map(
                SATA_ADAPTER_KEY,
                json!({"label": "SATA controller 0", "type": "AHCI", "bus": 0, "pci_slot_number": 32}),
            ),
            scsi_adapters: values(self.scsi_adapters()),
            nvme_adapters: BTreeMap::new(),
        }
    }
}

/// What Windows Setup's UEFI/GPT layout puts before `C:\` on the system
/// disk: a 100 MB EFI system partition, the 16 MB MSR and a Windows RE
/// tools partition of at least 300 MB, here 500 (Microsoft, "UEFI/GPT-based
/// hard drive partitions").
const BOOT_PARTITIONS_BYTES: u64 = (100 + 16 + 500) * 1024 * 1024;

impl Machine {
    /// `GET /api/vcenter/vm/{vm}/guest/local-filesystem`: what VMware Tools
    /// reports of the guest's volumes, `C:\` on the system disk. Tools must
    /// be running (503 otherwise, like vCenter).
    pub fn local_filesystems(
        &self,
        now: tokio::time::Instant,
    ) -> Result<BTreeMap<String, LocalFilesystemInfo>, super::Refusal> {
        if !self.tools_running(now) {
            return Err(super::Refusal::ToolsNotRunning(self.id.clone()));
        }
        let capacity = self.disk_bytes.saturating_sub(BOOT_PARTITIONS_BYTES);
        let mut volumes = BTreeMap::new();
        volumes.insert(
            "C:\\".to_string(),
            LocalFilesystemInfo {
                capacity: capacity as i64,
                free_space: capacity.saturating_sub(self.guest_used_bytes) as i64,
                filesystem: Some("NTFS".into()),
                mappings: Some(vec![VirtualDiskMapping {
                    disk: DISK_KEY.to_string(),
                }]),
            },
        );
        Ok(volumes)
    }
}

/// A distributed switch uuid in vCenter's spaced-hex form
/// (`50 2a 8c 3e 1f 0b 4d 6a-9c 7e 21 5d 3f 80 aa 01`), derived from the
/// port group id so it is stable.
fn dvs_uuid(network: &NetworkId) -> String {
    let n: u64 = network
        .as_str()
        .rsplit('-')
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let bytes: Vec<String> = (0..16u64)
        .map(|i| {
            format!(
                "{:02x}",
                if i == 0 {
                    0x50
                } else {
                    (n * 31 + i * 17) & 0xff
                }
            )
        })
        .collect();
    format!("{}-{}", bytes[..8].join(" "), bytes[8..].join(" "))
}
