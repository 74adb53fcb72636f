//! The seed inventory: what the simulated vCenter contains at start.
//!
//! Read from YAML or JSON (serde_norway reads both) with unknown fields
//! refused, so a typo in a test fixture is an error naming the file, line
//! and field instead of a silently missing VM. Cross references (a VM's
//! datastore, folder, cluster) are checked after parsing and reported by
//! their field path (`datacenters[0].vms[1].datastore`).

use super::error::SimulatorError;
use crate::vsphere::wire::{DatastoreType, HardwareVersion, NetworkType, PowerState};
use serde::Deserialize;
use std::path::Path;

const GIB: u64 = 1024 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    pub datacenters: Vec<DatacenterSeed>,
    /// IPv4 subnet the simulated DHCP server leases from, as `a.b.c.0/24`.
    #[serde(default = "default_subnet")]
    pub dhcp_subnet: String,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatacenterSeed {
    pub name: String,
    /// VM folders below the datacenter's `vm` folder, as paths (`templates/windows`).
    #[serde(default)]
    pub folders: Vec<String>,
    #[serde(default)]
    pub clusters: Vec<ClusterSeed>,
    #[serde(default)]
    pub datastores: Vec<DatastoreSeed>,
    #[serde(default)]
    pub networks: Vec<NetworkSeed>,
    #[serde(default)]
    pub vms: Vec<VmSeed>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSeed {
    pub name: String,
    #[serde(default = "yes")]
    pub ha_enabled: bool,
    #[serde(default = "yes")]
    pub drs_enabled: bool,
    /// Child pools of the cluster's root pool `Resources`.
    #[serde(default)]
    pub resource_pools: Vec<String>,
    /// ESXi host names; a cluster without the field has one host,
    /// `esxi-01.<cluster>.sim`.
    #[serde(default)]
    pub hosts: Option<Vec<String>>,
}

impl ClusterSeed {
    pub fn host_names(&self) -> Vec<String> {
        self.hosts
            .clone()
            .unwrap_or_else(|| vec![format!("esxi-01.{}.sim", self.name)])
    }
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatastoreSeed {
    pub name: String,
    #[serde(rename = "type", default = "default_datastore_type")]
    pub datastore_type: DatastoreType,
    pub capacity_gib: u64,
    pub free_gib: u64,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSeed {
    pub name: String,
    #[serde(rename = "type", default = "default_network_type")]
    pub network_type: NetworkType,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmSeed {
    pub name: String,
    /// Folder path below the datacenter's `vm` folder; empty = the `vm` folder itself.
    #[serde(default)]
    pub folder: String,
    pub datastore: String,
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub resource_pool: Option<String>,
    #[serde(default)]
    pub network: Option<String>,
    #[serde(default)]
    pub template: bool,
    #[serde(default = "default_power")]
    pub power_state: PowerState,
    /// vAPI guest OS enum value.
    #[serde(default = "default_guest_os")]
    pub guest_os: String,
    #[serde(default = "default_hardware")]
    pub hardware_version: HardwareVersion,
    #[serde(default = "default_cpus")]
    pub cpu_count: i64,
    #[serde(default = "default_memory")]
    pub memory_mib: i64,
    #[serde(default = "default_disk")]
    pub disk_gib: u64,
    /// How much of the system disk the installed guest fills (Windows,
    /// updates, page file): `C:\` reports `disk_gib` minus the boot
    /// partitions minus this as free space.
    #[serde(default = "default_guest_used")]
    pub guest_used_gib: u64,
    #[serde(default = "default_tools")]
    pub tools_version: String,
    /// Guest hostname; defaults to the VM name cut to 15 characters (NetBIOS).
    #[serde(default)]
    pub hostname: Option<String>,
    /// The modelled Windows release (`windows-server-20h2`), where the vAPI
    /// guest type alone is ambiguous: vSphere has no type for the
    /// Semi-Annual Channel releases 2004 and 20H2, which run as
    /// WINDOWS_SERVER_2019. Absent: the LTSC release of `guest_os`.
    #[serde(default)]
    pub os: Option<String>,
    /// The image's build revision (UBR); absent: the release's baseline.
    #[serde(default)]
    pub os_ubr: Option<u32>,
}

fn yes() -> bool {
    true
}
fn default_subnet() -> String {
    "10.20.30.0/24".into()
}
fn default_datastore_type() -> DatastoreType {
    DatastoreType::Vmfs
}
fn default_network_type() -> NetworkType {
    NetworkType::DistributedPortgroup
}
fn default_power() -> PowerState {
    PowerState::PoweredOff
}
fn default_guest_os() -> String {
    // Windows Server 2022's id in the 7.0.3 enum (windows2019srvNext_64Guest).
    "WINDOWS_SERVER_2021".into()
}
fn default_hardware() -> HardwareVersion {
    HardwareVersion(19)
}
fn default_cpus() -> i64 {
    2
}
fn default_memory() -> i64 {
    4096
}
fn default_disk() -> u64 {
    40
}
fn default_guest_used() -> u64 {
    // A Windows Server 2022 Desktop Experience install with a page file;
    // Microsoft's minimum system disk is 32 GB.
    16
}
fn default_tools() -> String {
    "12.1.5".into()
}

impl VmSeed {
    /// The Windows release the guest model runs (see [`VmSeed::os`]).
    pub fn release(&self) -> Option<crate::simulator::guest::GuestOs> {
        match &self.os {
            Some(name) => crate::simulator::guest::GuestOs::from_release_name(name),
            None => crate::simulator::guest::GuestOs::from_vapi(&self.guest_os),
        }
    }

    pub fn disk_bytes(&self) -> u64 {
        self.disk_gib.saturating_mul(GIB)
    }

    pub fn guest_used_bytes(&self) -> u64 {
        self.guest_used_gib.saturating_mul(GIB)
    }

    pub fn hostname(&self) -> String {
        self.hostname
            .clone()
            .unwrap_or_else(|| netbios_name(&self.name))
    }
}

impl DatastoreSeed {
    pub fn capacity_bytes(&self) -> u64 {
        self.capacity_gib.saturating_mul(GIB)
    }
    pub fn free_bytes(&self) -> u64 {
        self.free_gib.saturating_mul(GIB)
    }
}

/// Windows host names are at most 15 characters of letters, digits and dashes.
pub fn netbios_name(vm_name: &str) -> String {
    let cleaned: String = vm_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c.to_ascii_uppercase()
            } else {
                '-'
            }
        })
        .take(15)
        .collect();
    if cleaned.is_empty() {
        "WIN-SIM".into()
    } else {
        cleaned
    }
}

impl Inventory {
    /// The built-in inventory: `dc1` with a Windows Server 2022 base VM and a
    /// template folder, plus `dc2` with a same-named folder so look-ups by
    /// inventory path (not bare name) matter.
    pub fn builtin() -> Self {
        let text = include_str!("default_inventory.yaml");
        // The built-in text is covered by a unit test; an error here is a build defect.
        Self::parse(text, "built-in inventory").unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn load(path: &Path) -> Result<Self, SimulatorError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimulatorError::Read {
            what: "inventory file",
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, SimulatorError> {
        let inventory: Inventory =
            serde_norway::from_str(text).map_err(|e| SimulatorError::Inventory {
                origin: origin.to_string(),
                message: e.to_string(),
            })?;
        inventory
            .validate()
            .map_err(|message| SimulatorError::Inventory {
                origin: origin.to_string(),
                message,
            })?;
        Ok(inventory)
    }

    /// Cross-reference checks serde cannot express.
    fn validate(&self) -> Result<(), String> {
        parse_subnet(&self.dhcp_subnet).ok_or_else(|| {
            format!(
                "dhcp_subnet: expected an IPv4 /24 like 10.20.30.0/24, got {:?}",
                self.dhcp_subnet
            )
        })?;
        let mut vm_names = std::collections::HashSet::new();
        for (d, dc) in self.datacenters.iter().enumerate() {
            for (s, ds) in dc.datastores.iter().enumerate() {
                if ds.free_gib > ds.capacity_gib {
                    return Err(format!(
                        "datacenters[{d}].datastores[{s}].free_gib: {} exceeds capacity_gib {}",
                        ds.free_gib, ds.capacity_gib
                    ));
                }
            }
            for (v, vm) in dc.vms.iter().enumerate() {
                let at = format!("datacenters[{d}].vms[{v}]");
                // vCenter keeps VM names unique per folder, not globally.
                let folder = vm.folder.trim_matches('/').to_string();
                if !vm_names.insert((d, folder, vm.name.clone())) {
                    return Err(format!(
                        "{at}.name: a VM named {:?} already exists in folder {:?}",
                        vm.name, vm.folder
                    ));
                }
                if !dc.datastores.iter().any(|ds| ds.name == vm.datastore) {
                    return Err(format!(
                        "{at}.datastore: no datastore named {:?} in datacenter {:?}",
                        vm.datastore, dc.name
                    ));
                }
                if !vm.folder.is_empty()
                    && !dc
                        .folders
                        .iter()
                        .any(|f| f.trim_matches('/') == vm.folder.trim_matches('/'))
                {
                    return Err(format!(
                        "{at}.folder: no folder {:?} in datacenter {:?} (list it under folders)",
                        vm.folder, dc.name
                    ));
                }
                if let Some(c) = &vm.cluster {
                    if !dc.clusters.iter().any(|cl| &cl.name == c) {
                        return Err(format!(
                            "{at}.cluster: no cluster named {c:?} in datacenter {:?}",
                            dc.name
                        ));
                    }
                }
                if let Some(n) = &vm.network {
                    if !dc.networks.iter().any(|net| &net.name == n) {
                        return Err(format!(
                            "{at}.network: no network named {n:?} in datacenter {:?}",
                            dc.name
                        ));
                    }
                }
                if crate::vsphere::wire::ToolsVersion::parse(&vm.tools_version).is_none() {
                    return Err(format!(
                        "{at}.tools_version: expected MAJOR.MINOR.REV like 12.1.5, got {:?}",
                        vm.tools_version
                    ));
                }
                if crate::simulator::guest::GuestOs::from_vapi(&vm.guest_os).is_none() {
                    return Err(format!("{at}.guest_os: expected WINDOWS_SERVER_2019, WINDOWS_SERVER_2021 (2022) or WINDOWS_SERVER_2025, got {:?}", vm.guest_os));
                }
                match (&vm.os, vm.release()) {
                    (Some(name), None) => {
                        let known: Vec<&str> = crate::simulator::guest::ALL_RELEASES
                            .iter()
                            .map(|r| r.release_name())
                            .collect();
                        return Err(format!(
                            "{at}.os: expected one of {}, got {name:?}",
                            known.join(", ")
                        ));
                    }
                    (Some(name), Some(release))
                        if !release.vapi_guest_os().eq_ignore_ascii_case(&vm.guest_os) =>
                    {
                        return Err(format!(
                            "{at}.os: {name} runs as guest_os {}, not {:?}",
                            release.vapi_guest_os(),
                            vm.guest_os
                        ));
                    }
                    _ => {}
                }
                if vm.guest_used_gib >= vm.disk_gib {
                    return Err(format!(
                        "{at}.guest_used_gib: {} does not fit on a disk of disk_gib {}",
                        vm.guest_used_gib, vm.disk_gib
                    ));
                }
                if vm.template && vm.power_state != PowerState::PoweredOff {
                    return Err(format!("{at}.power_state: a template must be POWERED_OFF"));
                }
            }
        }
        Ok(())
    }

    pub fn subnet_prefix(&self) -> [u8; 3] {
        parse_subnet(&self.dhcp_subnet).unwrap_or([10, 20, 30])
    }
}

fn parse_subnet(text: &str) -> Option<[u8; 3]> {
    let (addr, len) = text.split_once('/')?;
    if len != "24" {
        return None;
    }
    let ip: std::net::Ipv4Addr = addr.parse().ok()?;
    let o = ip.octets();
    Some([o[0], o[1], o[2]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_inventory_has_the_windows_base_vm_and_two_datacenters() {
        let inv = Inventory::builtin();
        assert_eq!(inv.datacenters.len(), 2);
        let base = inv.datacenters[0]
            .vms
            .iter()
            .find(|v| v.name == "win2022-base")
            .unwrap();
        assert!(base.hardware_version <= HardwareVersion(19));
        assert!(base.tools_version.starts_with("12."));
    }

    #[test]
    fn unknown_field_error_names_origin_field_and_line() {
        let text =
            "datacenters:\n  - name: dc1\n    vms:\n      - name: a\n        datastor: ds1\n";
        let err = Inventory::parse(text, "inv.yaml").unwrap_err().to_string();
        assert!(
            err.contains("inv.yaml") && err.contains("datastor") && err.contains("line 5"),
            "{err}"
        );
    }

    #[test]
    fn vm_names_repeat_across_folders_but_not_within_one() {
        let head = "datacenters:\n  - name: dc1\n    folders: [a, b]\n    datastores: [{name: ds1, capacity_gib: 100, free_gib: 50}]\n";
        let across = format!("{head}    vms: [{{name: x, folder: a, datastore: ds1}}, {{name: x, folder: b, datastore: ds1}}]\n");
        Inventory::parse(&across, "inv.yaml").unwrap();
        let within = format!("{head}    vms: [{{name: x, folder: a, datastore: ds1}}, {{name: x, folder: a, datastore: ds1}}]\n");
        let err = Inventory::parse(&within, "inv.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("datacenters[0].vms[1].name") && err.contains("already exists"),
            "{err}"
        );
    }

    #[test]
    fn dangling_datastore_reference_is_reported_by_field_path() {
        let text = "datacenters:\n  - name: dc1\n    datastores: [{name: ds1, capacity_gib: 10, free_gib: 5}]\n    vms: [{name: a, datastore: nope}]\n";
        let err = Inventory::parse(text, "inv.yaml").unwrap_err().to_string();
        assert!(
            err.contains("datacenters[0].vms[0].datastore") && err.contains("nope"),
            "{err}"
        );
    }
}
