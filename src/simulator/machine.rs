//! One simulated VM: its inventory placement, hardware, power and tools
//! lifecycle, its guest model and its guest processes.
//!
//! Time-driven state is derived from timestamps at read time: a VM records
//! when it booted and when a pending power change is due, and [`Machine::settle`]
//! applies what has become due. With zero timings every change is visible on
//! the next call, and no background task can race a test.

use super::guest::{GuestOs, GuestTiming, PowerEffect, WindowsGuest};
use super::inventory::VmSeed;
use super::timing::Timing;
use crate::vsphere::wire::*;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long vCenter keeps an exited process's `finished`/`exit_code`.
pub const PROCESS_RETENTION: Duration = Duration::from_secs(300);

#[derive(Clone, Debug)]
pub struct Boot {
    pub at: Instant,
    pub tools_never_start: bool,
    pub apipa: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    PowerOff,
    Reboot,
}

#[derive(Clone, Debug)]
pub struct GuestProcess {
    pub name: String,
    pub command: String,
    pub owner: String,
    pub started: chrono::DateTime<chrono::Utc>,
    /// `None` while it hangs forever.
    pub ends_at: Option<Instant>,
    pub finished: Option<chrono::DateTime<chrono::Utc>>,
    pub exit_code: i64,
}

impl GuestProcess {
    pub fn is_finished(&self, now: Instant) -> bool {
        self.ends_at.is_some_and(|end| end <= now)
    }
}

#[derive(Clone)]
pub struct Machine {
    pub id: VmId,
    pub name: String,
    pub datacenter: DatacenterId,
    pub folder: FolderId,
    pub datastore: DatastoreId,
    pub cluster: Option<ClusterId>,
    pub resource_pool: Option<ResourcePoolId>,
    pub network: Option<NetworkId>,
    pub template: bool,
    pub power: PowerState,
    pub boot: Option<Boot>,
    pub pending: Option<(Instant, Pending)>,
    pub hardware: HardwareVersion,
    pub hardware_upgrade_status: HardwareUpgradeStatus,
    pub guest_os: String,
    pub cpu_count: i64,
    pub memory_mib: i64,
    pub disk_bytes: u64,
    pub tools_version: ToolsVersion,
    pub tools_upgrade_policy: ToolsUpgradePolicy,
    pub installer_connected: bool,
    pub lease_octet: u8,
    pub bios_uuid: String,
    pub instance_uuid: String,
    pub guest: WindowsGuest,
    pub processes: BTreeMap<i64, GuestProcess>,
    next_pid: i64,
    timing: Timing,
}

impl Machine {
    #[allow(clippy::too_many_arguments)]
    pub fn from_seed(
        id: VmId,
        seed: &VmSeed,
        datacenter: DatacenterId,
        folder: FolderId,
        datastore: DatastoreId,
        cluster: Option<ClusterId>,
        resource_pool: Option<ResourcePoolId>,
        network: Option<NetworkId>,
        lease_octet: u8,
    ) -> Self {
        let now = Instant::now();
        let mut machine = Machine {
            bios_uuid: uuid_for(&id, 1),
            instance_uuid: uuid_for(&id, 2),
            id,
            name: seed.name.clone(),
            datacenter,
            folder,
            datastore,
            cluster,
            resource_pool,
            network,
            template: seed.template,
            power: PowerState::PoweredOff,
            boot: None,
            pending: None,
            hardware: seed.hardware_version,
            hardware_upgrade_status: HardwareUpgradeStatus::None,
            guest_os: seed.guest_os.clone(),
            cpu_count: seed.cpu_count,
            memory_mib: seed.memory_mib,
            disk_bytes: seed.disk_bytes(),
            tools_version: ToolsVersion::parse(&seed.tools_version).unwrap_or(ToolsVersion {
                major: 12,
                minor: 1,
                revision: 5,
            }),
            tools_upgrade_policy: ToolsUpgradePolicy::Manual,
            installer_connected: false,
            lease_octet,
            guest: WindowsGuest::new(
                GuestOs::from_vapi(&seed.guest_os).unwrap_or(GuestOs::WindowsServer2022),
                &seed.hostname(),
            ),
            processes: BTreeMap::new(),
            next_pid: 4000,
            timing: Timing::instant(),
        };
        if seed.power_state == PowerState::PoweredOn {
            machine.power_on(now, false, false);
        } else {
            machine.guest.power_off();
        }
        machine
    }

    /// The copy a clone makes: same hardware, disk and guest (with a new
    /// hostname), powered off, new identity.
    pub fn clone_as(
        &self,
        id: VmId,
        name: &str,
        folder: FolderId,
        datastore: DatastoreId,
        lease_octet: u8,
    ) -> Self {
        let mut copy = self.clone();
        copy.bios_uuid = uuid_for(&id, 1);
        copy.instance_uuid = uuid_for(&id, 2);
        copy.id = id;
        copy.name = name.to_string();
        copy.folder = folder;
        copy.datastore = datastore;
        copy.template = false;
        copy.power = PowerState::PoweredOff;
        copy.boot = None;
        copy.pending = None;
        copy.installer_connected = false;
        copy.lease_octet = lease_octet;
        copy.processes.clear();
        copy.guest = self.guest.cloned(&super::inventory::netbios_name(name));
        copy
    }

    pub fn set_timing(&mut self, timing: &Timing) {
        self.timing = timing.clone();
        self.guest.set_timing(GuestTiming {
            sysprep: timing.sysprep,
            script: timing.process_default,
            max_shutdown_delay: timing.guest_shutdown,
        });
    }

    pub fn settle(&mut self, now: Instant) {
        if let Some((due, what)) = self.pending.clone() {
            if due <= now {
                self.pending = None;
                match what {
                    Pending::PowerOff => self.power_off(),
                    Pending::Reboot => {
                        if let Some(boot) = self.boot.as_mut() {
                            boot.at = due;
                        }
                        self.guest.power_off();
                        self.guest.boot();
                    }
                }
            }
        }
        self.processes
            .retain(|_, p| p.ends_at.map_or(true, |end| end + PROCESS_RETENTION > now));
        for p in self.processes.values_mut() {
            if let (None, Some(end)) = (p.finished, p.ends_at.filter(|end| *end <= now)) {
                // Wall-clock exit time: as long ago as the exit instant is.
                let ago = chrono::Duration::from_std(now - end).unwrap_or_default();
                p.finished = Some(chrono::Utc::now() - ago);
            }
        }
    }

    pub fn power_on(&mut self, now: Instant, tools_never_start: bool, apipa: bool) {
        self.power = PowerState::PoweredOn;
        self.boot = Some(Boot {
            at: now,
            tools_never_start,
            apipa,
        });
        self.pending = None;
        self.guest.boot();
    }

    pub fn power_off(&mut self) {
        self.power = PowerState::PoweredOff;
        self.boot = None;
        self.pending = None;
        self.guest.power_off();
        // Processes die with the guest.
        let now = Instant::now();
        for p in self.processes.values_mut() {
            if !p.is_finished(now) {
                p.ends_at = Some(now);
                p.exit_code = 1;
            }
        }
    }

    pub fn schedule(&mut self, at: Instant, what: Pending) {
        self.pending = Some((at, what));
    }

    /// Tools run once `tools_start` has passed since boot, unless a fault
    /// keeps them down or the guest's VMTools service is stopped.
    pub fn tools_running(&self, now: Instant) -> bool {
        match &self.boot {
            Some(boot)
                if self.power == PowerState::PoweredOn
                    && self.pending.as_ref().map(|p| &p.1) != Some(&Pending::Reboot) =>
            {
                !boot.tools_never_start
                    && now >= boot.at + self.timing.tools_start
                    && self.guest.vmtools_running()
            }
            _ => false,
        }
    }

    /// The guest's reported IPv4 address, once tools have reported for `ip_assign`.
    pub fn guest_ip(&self, now: Instant, subnet: [u8; 3]) -> Option<String> {
        let boot = self.boot.as_ref()?;
        if !self.tools_running(now)
            || now < boot.at + self.timing.tools_start + self.timing.ip_assign
        {
            return None;
        }
        Some(if boot.apipa {
            // Windows picks a 169.254/16 address when DHCP does not answer.
            format!("169.254.{}.{}", self.lease_octet, 17 + self.lease_octet / 2)
        } else {
            format!(
                "{}.{}.{}.{}",
                subnet[0], subnet[1], subnet[2], self.lease_octet
            )
        })
    }

    pub fn mac_address(&self) -> String {
        let n: u32 = self
            .id
            .as_str()
            .trim_start_matches(VmId::PREFIX)
            .parse()
            .unwrap_or(0);
        format!(
            "00:50:56:{:02x}:{:02x}:{:02x}",
            (n >> 16) & 0x3f,
            (n >> 8) & 0xff,
            n & 0xff
        )
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

    /// Starts a guest process; the guest model applies its effects now and
    /// says how it ends, timing and faults decide when.
    pub fn start_process(
        &mut self,
        now: Instant,
        user: &str,
        spec: &ProcessSpec,
        fault: Option<super::faults::FaultKind>,
    ) -> Result<GuestPid, super::guest::GuestError> {
        let outcome = self.guest.run_process(spec)?;
        let run_for = outcome.duration.max(self.timing.process_default);
        let (ends_at, exit_code) = match fault {
            Some(super::faults::FaultKind::ProcessHang { .. }) => (None, 0),
            Some(super::faults::FaultKind::ProcessExit { code, .. }) => (Some(now + run_for), code),
            _ => (Some(now + run_for), outcome.exit_code),
        };
        // The guest model sizes the delays from the GuestTiming set in
        // `set_timing`, so sysprep's power-off follows `timing.sysprep`.
        if let (Some(end), Some(effect)) = (ends_at, outcome.after_exit) {
            match effect {
                PowerEffect::PowerOff { after } => self.schedule(end + after, Pending::PowerOff),
                PowerEffect::Reboot { after } => self.schedule(end + after, Pending::Reboot),
            }
        }
        self.next_pid += 4;
        let pid = self.next_pid;
        let name = spec
            .path
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(&spec.path)
            .to_string();
        let command = match &spec.arguments {
            Some(args) if !args.is_empty() => format!("\"{}\" {}", spec.path, args),
            _ => format!("\"{}\"", spec.path),
        };
        self.processes.insert(
            pid,
            GuestProcess {
                name,
                command,
                owner: user.to_string(),
                started: chrono::Utc::now(),
                ends_at,
                finished: None,
                exit_code,
            },
        );
        Ok(GuestPid(pid))
    }
}

fn uuid_for(id: &VmId, kind: u8) -> String {
    let n: u64 = id
        .as_str()
        .trim_start_matches(VmId::PREFIX)
        .parse()
        .unwrap_or(0);
    format!("42{kind:02x}1e5a-0000-4000-8000-{n:012x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::inventory::Inventory;

    /// The built-in base VM with `timing`, instants passed explicitly so no test sleeps.
    fn base_vm(timing: Timing) -> Machine {
        let inventory = Inventory::builtin();
        let seed = &inventory.datacenters[0].vms[0];
        let mut vm = Machine::from_seed(
            VmId::new("vm-1"),
            seed,
            DatacenterId::new("datacenter-1"),
            FolderId::new("group-v1"),
            DatastoreId::new("datastore-1"),
            None,
            None,
            None,
            120,
        );
        vm.set_timing(&timing);
        vm.guest
            .set_credentials("Administrator", crate::secret::Secret::new("pw"));
        vm
    }

    fn timing() -> Timing {
        Timing {
            tools_start: Duration::from_secs(30),
            ip_assign: Duration::from_secs(10),
            ..Timing::instant()
        }
    }

    #[test]
    fn tools_then_ip_appear_after_their_delays() {
        let mut vm = base_vm(timing());
        let t0 = Instant::now();
        vm.power_on(t0, false, false);
        let subnet = [10, 0, 0];
        assert!(!vm.tools_running(t0 + Duration::from_secs(29)));
        assert!(vm.tools_running(t0 + Duration::from_secs(30)));
        assert_eq!(vm.guest_ip(t0 + Duration::from_secs(39), subnet), None);
        assert_eq!(
            vm.guest_ip(t0 + Duration::from_secs(40), subnet).as_deref(),
            Some("10.0.0.120")
        );
    }

    #[test]
    fn pending_reboot_stops_tools_until_it_is_due() {
        let mut vm = base_vm(timing());
        let t0 = Instant::now();
        vm.power_on(t0, false, false);
        let later = t0 + Duration::from_secs(60);
        assert!(vm.tools_running(later));
        vm.schedule(later + Duration::from_secs(5), Pending::Reboot);
        assert!(!vm.tools_running(later));
        vm.settle(later + Duration::from_secs(5));
        // Tools start counting again from the reboot.
        assert!(!vm.tools_running(later + Duration::from_secs(20)));
        assert!(vm.tools_running(later + Duration::from_secs(35)));
    }

    #[test]
    fn exited_processes_are_forgotten_after_the_retention_window() {
        let mut vm = base_vm(Timing::instant());
        let t0 = Instant::now();
        vm.power_on(t0, false, false);
        let spec = ProcessSpec {
            path: crate::simulator::guest::CMD_PATH.into(),
            arguments: Some("/c exit 5".into()),
            ..Default::default()
        };
        let pid = vm.start_process(t0, "Administrator", &spec, None).unwrap();
        vm.settle(t0 + Duration::from_secs(299));
        assert_eq!(vm.processes.get(&pid.0).map(|p| p.exit_code), Some(5));
        vm.settle(t0 + PROCESS_RETENTION);
        assert!(!vm.processes.contains_key(&pid.0));
    }

    #[test]
    fn hung_process_is_kept_and_killed_by_power_off() {
        let mut vm = base_vm(Timing::instant());
        let t0 = Instant::now();
        vm.power_on(t0, false, false);
        let spec = ProcessSpec {
            path: crate::simulator::guest::CMD_PATH.into(),
            ..Default::default()
        };
        let hang = Some(crate::simulator::faults::FaultKind::ProcessHang {
            program: "cmd.exe".into(),
        });
        let pid = vm.start_process(t0, "Administrator", &spec, hang).unwrap();
        vm.settle(t0 + Duration::from_secs(3600));
        assert!(!vm.processes[&pid.0].is_finished(t0 + Duration::from_secs(3600)));
        vm.power_off();
        assert!(vm.processes[&pid.0].is_finished(Instant::now()));
    }
}
