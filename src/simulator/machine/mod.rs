//! One simulated VM: where it sits in the inventory, its virtual hardware,
//! its power and VMware Tools life cycle, its guest model and its guest
//! processes.
//!
//! [`Machine`] owns these rules (the tokio mini-redis `Db` pattern): its
//! fields are private and every change is one method that checks what
//! vCenter checks — a template never powers on, hardware is upgraded only
//! while powered off, a suspended VM cannot be reset — and keeps the guest
//! model in step with the power state: a power-off stops the guest's
//! services and kills its processes, a reset reboots it, a suspend freezes
//! it (its processes and pending power changes resume with the VM). A
//! method that refuses returns a [`Refusal`]; the `/api` and `/sdk` layers
//! turn it into their own error bodies, so both sides enforce one rule.
//!
//! Time-driven state is derived from timestamps at read time: a VM records
//! when it booted and when a pending power change is due, and
//! [`Machine::settle`] applies what has become due. Every method that
//! depends on time takes `now`, so tests pass instants instead of sleeping
//! and no background task can race a test.

mod devices;
mod power;
mod process;
#[cfg(test)]
mod tests;
mod tools;

pub use devices::{DeviceContext, NetworkRef, DISK_KEY, NIC_KEY, SCSI_ADAPTER_KEY};
pub use process::{GuestProcess, PROCESS_RETENTION};
pub use tools::BUNDLED_TOOLS;

use super::faults::{FaultEngine, FaultKind};
use super::guest::{GuestOs, GuestTiming, PowerEffect, WindowsGuest};
use super::inventory::VmSeed;
use super::timing::Timing;
use crate::vsphere::wire::*;
use process::Processes;
use tokio::time::Instant;

/// The newest virtual hardware the simulated hosts run (ESXi 8.0U2).
pub const NEWEST_HARDWARE: HardwareVersion = HardwareVersion(21);

/// Where a VM sits in the inventory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    pub datacenter: DatacenterId,
    pub folder: FolderId,
    pub datastore: DatastoreId,
    pub cluster: Option<ClusterId>,
    /// The host it runs on: the first host of its cluster.
    pub host: Option<HostId>,
    pub resource_pool: Option<ResourcePoolId>,
    pub network: Option<NetworkId>,
}

/// What [`Machine::from_seed`] needs: the seed entry, the ids the world
/// resolved for it and the DHCP lease it gets.
pub struct MachineSeed<'a> {
    pub id: VmId,
    pub vm: &'a VmSeed,
    pub placement: Placement,
    pub lease_octet: u8,
}

/// The guest faults decided once per boot (fault rules `tools-never-start`
/// and `apipa` name the VM).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BootFaults {
    pub tools_never_start: bool,
    pub apipa: bool,
}

impl BootFaults {
    pub fn for_vm(faults: &FaultEngine, vm_name: &str) -> Self {
        let has = |kind: FaultKind| {
            faults
                .for_vm(vm_name, |k| (*k == kind).then_some(()))
                .is_some()
        };
        BootFaults {
            tools_never_start: has(FaultKind::ToolsNeverStart),
            apipa: has(FaultKind::Apipa),
        }
    }
}

#[derive(Clone, Debug)]
struct Boot {
    at: Instant,
    faults: BootFaults,
    /// Whether the guest report vCenter serves now shows the second lease
    /// (fault `address-flap`); a new boot starts on the first.
    second_lease: bool,
}

/// A power change the guest has started and the VM will show later.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    PowerOff,
    Reboot,
}

/// Why a [`Machine`] refused a change, in vCenter's categories.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The change is already in effect (`ALREADY_IN_DESIRED_STATE`).
    #[error("{0}")]
    AlreadyDone(String),
    /// Not possible in the VM's power state (`NOT_ALLOWED_IN_CURRENT_STATE`,
    /// VI `InvalidPowerState`).
    #[error("{message}")]
    PowerState { state: PowerState, message: String },
    /// VMware Tools must be running (`SERVICE_UNAVAILABLE`).
    #[error("VMware Tools is not running in virtual machine {0}")]
    ToolsNotRunning(VmId),
    /// Not supported for this VM (`UNSUPPORTED`, VI `NotSupported`).
    #[error("{0}")]
    Unsupported(String),
    /// A bad value (`INVALID_ARGUMENT`, VI `InvalidName`).
    #[error("{0}")]
    Invalid(String),
    /// No such object (`NOT_FOUND`, VI `ManagedObjectNotFound`).
    #[error("{what} {id} was not found")]
    NotFound { what: &'static str, id: String },
}

#[derive(Clone)]
pub struct Machine {
    id: VmId,
    name: String,
    placement: Placement,
    template: bool,
    power: PowerState,
    boot: Option<Boot>,
    /// When the VM was suspended: the guest's clock stands still from then.
    suspended_at: Option<Instant>,
    pending: Option<(Instant, Pending)>,
    /// Whether the last power-off was the guest's own shutdown.
    clean_power_off: bool,
    hardware: HardwareVersion,
    hardware_upgrade_status: HardwareUpgradeStatus,
    guest_os: String,
    cpu_count: i64,
    memory_mib: i64,
    disk_bytes: u64,
    /// What the installed guest fills of the system disk.
    guest_used_bytes: u64,
    tools_version: ToolsVersion,
    tools_upgrade_policy: ToolsUpgradePolicy,
    installer_connected: bool,
    lease_octet: u8,
    bios_uuid: String,
    instance_uuid: String,
    guest: WindowsGuest,
    processes: Processes,
    timing: Timing,
    /// `config.annotation` (the Notes field), set through ReconfigVM_Task.
    annotation: String,
    /// `config.createDate`.
    created: chrono::DateTime<chrono::Utc>,
}

impl Machine {
    pub fn from_seed(seed: MachineSeed<'_>, now: Instant) -> Self {
        let MachineSeed {
            id,
            vm,
            placement,
            lease_octet,
        } = seed;
        let mut machine = Machine {
            bios_uuid: uuid_for(&id, UuidKind::Bios),
            instance_uuid: uuid_for(&id, UuidKind::Instance),
            id,
            name: vm.name.clone(),
            placement,
            template: vm.template,
            power: PowerState::PoweredOff,
            boot: None,
            suspended_at: None,
            pending: None,
            clean_power_off: true,
            hardware: vm.hardware_version,
            hardware_upgrade_status: HardwareUpgradeStatus::None,
            guest_os: vm.guest_os.clone(),
            cpu_count: vm.cpu_count,
            memory_mib: vm.memory_mib,
            disk_bytes: vm.disk_bytes(),
            guest_used_bytes: vm.guest_used_bytes(),
            // The inventory loader refuses an unparsable version.
            tools_version: ToolsVersion::parse(&vm.tools_version).unwrap_or(BUNDLED_TOOLS),
            tools_upgrade_policy: ToolsUpgradePolicy::Manual,
            installer_connected: false,
            lease_octet,
            guest: {
                let guest = WindowsGuest::new(
                    vm.release().unwrap_or(GuestOs::WindowsServer2022),
                    &vm.hostname(),
                );
                match vm.os_ubr {
                    Some(ubr) => guest.with_ubr(ubr),
                    None => guest,
                }
            },
            processes: Processes::default(),
            timing: Timing::instant(),
            annotation: String::new(),
            created: chrono::Utc::now(),
        };
        if vm.power_state == PowerState::PoweredOn {
            machine.boot(now, BootFaults::default());
        } else {
            machine.guest.power_off();
        }
        machine
    }

    /// The copy a clone makes: same hardware, disk and guest (with a new
    /// hostname, shut down: a clone starts powered off), new identity.
    pub fn clone_as(&self, id: VmId, name: &str, placement: Placement, lease_octet: u8) -> Self {
        let mut copy = self.clone();
        copy.bios_uuid = uuid_for(&id, UuidKind::Bios);
        copy.instance_uuid = uuid_for(&id, UuidKind::Instance);
        copy.id = id;
        copy.name = name.to_string();
        copy.placement = placement;
        copy.template = false;
        copy.power = PowerState::PoweredOff;
        copy.boot = None;
        copy.suspended_at = None;
        copy.pending = None;
        copy.clean_power_off = true;
        copy.installer_connected = false;
        copy.lease_octet = lease_octet;
        copy.processes = Processes::default();
        copy.guest = self.guest.cloned(&super::inventory::netbios_name(name));
        copy.guest.power_off();
        // A clone's Notes are the source's (vCenter copies the config),
        // its creation time is its own.
        copy.created = chrono::Utc::now();
        copy
    }

    pub fn set_timing(&mut self, timing: &Timing) {
        self.timing = timing.clone();
        self.guest.set_timing(GuestTiming {
            sysprep: timing.sysprep,
            script: timing.process_default,
            max_shutdown_delay: timing.guest_shutdown,
            tools_conf_poll: timing.tools_conf_poll,
        });
    }

    // ---------- reading ----------

    pub fn id(&self) -> &VmId {
        &self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    pub fn is_template(&self) -> bool {
        self.template
    }

    pub fn power(&self) -> PowerState {
        self.power
    }

    /// The power change the guest has started, if any.
    pub fn pending(&self) -> Option<Pending> {
        self.pending.map(|(_, what)| what)
    }

    pub fn hardware_version(&self) -> HardwareVersion {
        self.hardware
    }

    pub fn disk_bytes(&self) -> u64 {
        self.disk_bytes
    }

    pub fn tools_version(&self) -> ToolsVersion {
        self.tools_version
    }

    pub fn installer_connected(&self) -> bool {
        self.installer_connected
    }

    pub fn bios_uuid(&self) -> &str {
        &self.bios_uuid
    }

    pub fn instance_uuid(&self) -> &str {
        &self.instance_uuid
    }

    pub fn guest(&self) -> &WindowsGuest {
        &self.guest
    }

    /// The guest model, for what happens inside it (files, credentials,
    /// services); power changes go through the machine's own methods.
    pub fn guest_mut(&mut self) -> &mut WindowsGuest {
        &mut self.guest
    }

    /// Whether the current boot found no DHCP server (fault `apipa`).
    pub fn apipa(&self) -> bool {
        self.boot.as_ref().is_some_and(|b| b.faults.apipa)
    }

    pub fn summary(&self) -> VmSummary {
        VmSummary {
            vm: self.id.clone(),
            name: self.name.clone(),
            power_state: self.power,
            cpu_count: Some(self.cpu_count),
            memory_size_mib: Some(self.memory_mib),
        }
    }

    /// Tools run once `tools_start` has passed since boot, unless a fault
    /// keeps them down or the guest's VMTools service is stopped.
    pub fn tools_running(&self, now: Instant) -> bool {
        match &self.boot {
            Some(boot)
                if self.power == PowerState::PoweredOn
                    && self.pending() != Some(Pending::Reboot) =>
            {
                !boot.faults.tools_never_start
                    && now >= boot.at + self.timing.tools_start
                    && self.guest.vmtools_running()
            }
            _ => false,
        }
    }

    /// Whether Tools have sent their first guest report (identity, NICs):
    /// `ip_assign` after they started.
    pub fn guest_reported(&self, now: Instant) -> bool {
        self.boot.as_ref().is_some_and(|boot| {
            self.tools_running(now)
                && now >= boot.at + self.timing.tools_start + self.timing.ip_assign
        })
    }

    /// The guest's IPv4 address as vCenter shows it: once Tools have
    /// reported, and only while the adapter holding it is not excluded by
    /// the tools.conf vmtoolsd last loaded (`tools_reported_adapters`).
    pub fn guest_ip(&self, now: Instant, subnet: [u8; 3]) -> Option<String> {
        let boot = self.boot.as_ref()?;
        if !self.guest_reported(now) || !self.guest.lease_reported() {
            return None;
        }
        let host = if boot.second_lease {
            self.second_lease_octet()
        } else {
            self.lease_octet
        };
        Some(if boot.faults.apipa {
            // Windows picks a 169.254/16 address when DHCP does not answer.
            format!("169.254.{}.{}", self.lease_octet, 17 + self.lease_octet / 2)
        } else {
            format!("{}.{}.{}.{host}", subnet[0], subnet[1], subnet[2])
        })
    }

    /// vCenter serves a new guest report (a read of the guest's identity or
    /// interfaces). With fault `address-flap` on this VM each report shows
    /// the other of two leases, as when two DHCP servers answer on the
    /// segment or a lease is being renumbered; without it the guest keeps
    /// its first lease. Tools really sends a report every guestinfo poll
    /// (30 s); the simulator ties the change to the read instead, so it
    /// shows under instant timing, where no time passes, and a test knows
    /// which read sees it. The fault is asked at each report, not at boot,
    /// so a test can switch it on in the middle of a build. Before Tools'
    /// first report there is nothing to serve and nothing changes.
    pub fn next_guest_report(&mut self, now: Instant, faults: &FaultEngine) {
        if !self.guest_reported(now) {
            return;
        }
        let flapping = faults
            .for_vm(&self.name, |k| (*k == FaultKind::AddressFlap).then_some(()))
            .is_some();
        if let Some(boot) = self.boot.as_mut() {
            boot.second_lease = flapping && !boot.second_lease;
        }
    }

    /// The second DHCP server's lease: 100 above the first, kept inside
    /// the subnet's host range (2–254; .1 is the gateway).
    fn second_lease_octet(&self) -> u8 {
        ((u16::from(self.lease_octet) + 100 - 2) % 253 + 2) as u8
    }

    pub fn mac_address(&self) -> String {
        let n = self.id_number();
        format!(
            "00:50:56:{:02x}:{:02x}:{:02x}",
            (n >> 16) & 0x3f,
            (n >> 8) & 0xff,
            n & 0xff
        )
    }

    fn id_number(&self) -> u64 {
        id_number(&self.id)
    }

    fn refuse_power(&self, message: String) -> Refusal {
        Refusal::PowerState {
            state: self.power,
            message,
        }
    }

    // ---------- hardware ----------

    pub fn upgrade_hardware(&mut self, target: Option<HardwareVersion>) -> Result<(), Refusal> {
        if self.power != PowerState::PoweredOff {
            return Err(self.refuse_power(format!(
                "Virtual machine {} must be powered off to upgrade its hardware",
                self.id
            )));
        }
        let target = target.unwrap_or(NEWEST_HARDWARE);
        if target > NEWEST_HARDWARE {
            return Err(Refusal::Unsupported(format!(
                "Hardware version {target} is not supported by the host"
            )));
        }
        if target < self.hardware {
            return Err(Refusal::Invalid(format!(
                "Hardware version {target} is older than the current {}",
                self.hardware
            )));
        }
        if target == self.hardware {
            return Err(Refusal::AlreadyDone(format!(
                "Virtual machine {} already has hardware {target}",
                self.id
            )));
        }
        self.hardware = target;
        self.hardware_upgrade_status = HardwareUpgradeStatus::Success;
        Ok(())
    }

    // ---------- inventory ----------

    /// MarkAsTemplate: only a powered-off VM, and only once.
    pub fn mark_template(&mut self) -> Result<(), Refusal> {
        if self.power != PowerState::PoweredOff {
            return Err(self.refuse_power(format!(
                "The attempted operation cannot be performed in the current state ({:?}) of {}.",
                self.power, self.id
            )));
        }
        if self.template {
            return Err(Refusal::Unsupported(format!(
                "{} is already a template",
                self.id
            )));
        }
        self.template = true;
        Ok(())
    }

    pub fn annotation(&self) -> &str {
        &self.annotation
    }

    pub fn created(&self) -> chrono::DateTime<chrono::Utc> {
        self.created
    }

    /// ReconfigVM_Task with an annotation: allowed in any power state and
    /// on templates (vCenter edits a template's Notes without converting it).
    pub fn set_annotation(&mut self, text: &str) {
        self.annotation = text.to_string();
    }

    /// MoveIntoFolder_Task; whether the folder fits is the world's check.
    pub fn move_to_folder(&mut self, folder: FolderId) {
        self.placement.folder = folder;
    }

    /// Renames; whether the name is free in the folder is the world's check.
    pub fn rename(&mut self, name: &str) -> Result<(), Refusal> {
        check_vm_name(name)?;
        self.name = name.to_string();
        Ok(())
    }
}

/// vCenter's limit on VM names: 1 to 80 characters.
pub fn check_vm_name(name: &str) -> Result<(), Refusal> {
    if name.trim().is_empty() || name.chars().count() > 80 {
        return Err(Refusal::Invalid(format!(
            "The name '{name}' is not valid: a VM name has 1 to 80 characters"
        )));
    }
    Ok(())
}

fn id_number(id: &VmId) -> u64 {
    id.as_str()
        .trim_start_matches(VmId::PREFIX)
        .parse()
        .unwrap_or(0)
}

enum UuidKind {
    Bios,
    Instance,
}

/// vCenter's BIOS uuids start with `42`, its instance uuids with `50`
/// (vmware.vmware_rest 4.9.0 `vcenter_vm_info` sample: `4231943a-…`,
/// `5031e081-…`); the rest is derived from the VM id so it is stable.
fn uuid_for(id: &VmId, kind: UuidKind) -> String {
    let prefix = match kind {
        UuidKind::Bios => "42",
        UuidKind::Instance => "50",
    };
    format!("{prefix}311e5a-0000-4000-8000-{:012x}", id_number(id))
}
