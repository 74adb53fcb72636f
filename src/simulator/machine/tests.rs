use super::*;
use crate::simulator::inventory::Inventory;
use std::time::Duration;

fn placement() -> Placement {
    Placement {
        datacenter: DatacenterId::new("datacenter-1"),
        folder: FolderId::new("group-v1"),
        datastore: DatastoreId::new("datastore-1"),
        cluster: None,
        host: None,
        resource_pool: None,
        network: None,
    }
}

/// The built-in base VM with `timing`, instants passed explicitly so no test sleeps.
fn base_vm(timing: Timing, now: Instant) -> Machine {
    let inventory = Inventory::builtin();
    let seed = MachineSeed {
        id: VmId::new("vm-1"),
        vm: &inventory.datacenters[0].vms[0],
        placement: placement(),
        lease_octet: 120,
    };
    let mut vm = Machine::from_seed(seed, now);
    vm.set_timing(&timing);
    vm.guest_mut()
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

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn cmd(arguments: &str) -> ProcessSpec {
    ProcessSpec {
        path: crate::simulator::guest::CMD_PATH.into(),
        arguments: Some(arguments.into()),
        ..Default::default()
    }
}

#[test]
fn tools_then_ip_appear_after_their_delays() {
    let t0 = Instant::now();
    let mut vm = base_vm(timing(), t0);
    vm.power_on(t0, BootFaults::default()).unwrap();
    let subnet = [10, 0, 0];
    assert!(!vm.tools_running(t0 + secs(29)));
    assert!(vm.tools_running(t0 + secs(30)));
    assert_eq!(vm.guest_ip(t0 + secs(39), subnet), None);
    assert_eq!(
        vm.guest_ip(t0 + secs(40), subnet).as_deref(),
        Some("10.0.0.120")
    );
}

#[test]
fn pending_reboot_stops_tools_until_it_is_due() {
    let t0 = Instant::now();
    let mut vm = base_vm(timing(), t0);
    vm.power_on(t0, BootFaults::default()).unwrap();
    let later = t0 + secs(60);
    assert!(vm.tools_running(later));
    vm.guest_reboot(later, secs(5)).unwrap();
    assert!(!vm.tools_running(later));
    vm.settle(later + secs(5));
    // Tools start counting again from the reboot.
    assert!(!vm.tools_running(later + secs(20)));
    assert!(vm.tools_running(later + secs(35)));
}

#[test]
fn exited_processes_are_forgotten_after_the_retention_window() {
    let t0 = Instant::now();
    let mut vm = base_vm(Timing::instant(), t0);
    vm.power_on(t0, BootFaults::default()).unwrap();
    let pid = vm
        .start_process(t0, "Administrator", &cmd("/c exit 5"), None)
        .unwrap();
    vm.settle(t0 + secs(299));
    let exit = vm.process(pid).and_then(|p| p.exit(t0 + secs(299)));
    assert_eq!(exit.map(|(_, code)| code), Some(5));
    vm.settle(t0 + PROCESS_RETENTION);
    assert!(vm.process(pid).is_none());
}

#[test]
fn hung_process_is_kept_and_killed_by_power_off() {
    let t0 = Instant::now();
    let mut vm = base_vm(Timing::instant(), t0);
    vm.power_on(t0, BootFaults::default()).unwrap();
    let hang = Some(FaultKind::ProcessHang {
        program: "cmd.exe".into(),
    });
    let pid = vm
        .start_process(t0, "Administrator", &cmd(""), hang)
        .unwrap();
    let hour = t0 + secs(3600);
    vm.settle(hour);
    assert!(!vm.process(pid).unwrap().is_finished(hour));
    vm.power_off(hour).unwrap();
    let (_, code) = vm.process(pid).unwrap().exit(hour).expect("killed");
    assert_eq!(code, 1);
    assert_eq!(vm.power_info().clean_power_off, Some(false));
}

#[test]
fn suspend_freezes_the_guest_and_power_on_resumes_it() {
    let t0 = Instant::now();
    let mut vm = base_vm(timing(), t0);
    vm.power_on(t0, BootFaults::default()).unwrap();
    vm.guest_shutdown(t0 + secs(40), secs(20)).unwrap();
    vm.suspend(t0 + secs(50)).unwrap();
    assert!(!vm.tools_running(t0 + secs(50)));
    // While suspended, the shutdown due at 60 s does not happen.
    vm.settle(t0 + secs(500));
    assert_eq!(vm.power(), PowerState::Suspended);
    assert_eq!(
        vm.guest_power(t0 + secs(500)).state,
        GuestPowerState::Standby
    );
    // Resumed at 500 s: tools run at once (no new boot), the shutdown has
    // its remaining 10 s left.
    vm.power_on(t0 + secs(500), BootFaults::default()).unwrap();
    assert_eq!(vm.pending(), Some(Pending::PowerOff));
    vm.settle(t0 + secs(509));
    assert_eq!(vm.power(), PowerState::PoweredOn);
    vm.settle(t0 + secs(510));
    assert_eq!(vm.power(), PowerState::PoweredOff);
    assert_eq!(vm.power_info().clean_power_off, Some(true));
}

#[test]
fn suspend_refuses_a_powered_off_or_already_suspended_vm() {
    let t0 = Instant::now();
    let mut vm = base_vm(timing(), t0);
    assert!(matches!(
        vm.suspend(t0),
        Err(Refusal::PowerState {
            state: PowerState::PoweredOff,
            ..
        })
    ));
    vm.power_on(t0, BootFaults::default()).unwrap();
    vm.suspend(t0).unwrap();
    assert!(matches!(vm.suspend(t0), Err(Refusal::AlreadyDone(_))));
    assert!(matches!(
        vm.reset(t0, BootFaults::default()),
        Err(Refusal::PowerState { .. })
    ));
}

#[test]
fn reset_kills_processes_and_boots_again() {
    let t0 = Instant::now();
    let mut vm = base_vm(timing(), t0);
    vm.power_on(t0, BootFaults::default()).unwrap();
    let hang = Some(FaultKind::ProcessHang {
        program: "cmd.exe".into(),
    });
    let pid = vm
        .start_process(t0 + secs(40), "Administrator", &cmd(""), hang)
        .unwrap();
    let at = t0 + secs(100);
    vm.reset(at, BootFaults::default()).unwrap();
    assert!(vm.process(pid).unwrap().is_finished(at));
    assert!(!vm.tools_running(at + secs(29)));
    assert!(vm.tools_running(at + secs(30)));
}

#[test]
fn templates_never_power_on_and_only_powered_off_vms_become_templates() {
    let t0 = Instant::now();
    let mut vm = base_vm(timing(), t0);
    vm.power_on(t0, BootFaults::default()).unwrap();
    assert!(matches!(
        vm.mark_template(),
        Err(Refusal::PowerState {
            state: PowerState::PoweredOn,
            ..
        })
    ));
    vm.power_off(t0).unwrap();
    vm.mark_template().unwrap();
    assert!(matches!(vm.mark_template(), Err(Refusal::Unsupported(_))));
    assert!(matches!(
        vm.power_on(t0, BootFaults::default()),
        Err(Refusal::Unsupported(_))
    ));
}

#[test]
fn hardware_upgrades_only_forward_and_only_while_powered_off() {
    let t0 = Instant::now();
    let mut vm = base_vm(timing(), t0);
    let current = vm.hardware_version();
    assert!(matches!(
        vm.upgrade_hardware(Some(HardwareVersion(current.0 - 1))),
        Err(Refusal::Invalid(_))
    ));
    assert!(matches!(
        vm.upgrade_hardware(Some(current)),
        Err(Refusal::AlreadyDone(_))
    ));
    assert!(matches!(
        vm.upgrade_hardware(Some(HardwareVersion(NEWEST_HARDWARE.0 + 1))),
        Err(Refusal::Unsupported(_))
    ));
    vm.power_on(t0, BootFaults::default()).unwrap();
    assert!(vm.upgrade_hardware(None).is_err());
    vm.power_off(t0).unwrap();
    vm.upgrade_hardware(None).unwrap();
    assert_eq!(vm.hardware_info().version, NEWEST_HARDWARE);
    assert_eq!(
        vm.hardware_info().upgrade_status,
        HardwareUpgradeStatus::Success
    );
}

#[test]
fn names_have_one_to_eighty_characters() {
    let t0 = Instant::now();
    let mut vm = base_vm(timing(), t0);
    assert!(vm.rename("").is_err());
    assert!(vm.rename(&"x".repeat(81)).is_err());
    vm.rename(&"x".repeat(80)).unwrap();
    assert_eq!(vm.name(), "x".repeat(80));
}

#[test]
fn a_tools_conf_edit_reaches_the_reported_address_at_tools_next_re_read_under_realistic_timing() {
    use crate::simulator::guest::{FileBlob, TOOLS_CONF_PATH, TOOLS_CONF_POLL};
    let timing = Timing {
        tools_conf_poll: Timing::realistic().tools_conf_poll,
        ..Timing::instant()
    };
    let t0 = Instant::now();
    let mut vm = base_vm(timing, t0);
    vm.guest_mut().create_hns_network();
    vm.power_on(t0, BootFaults::default()).unwrap();
    let subnet = [10, 0, 0];
    vm.settle(t0);
    assert_eq!(vm.guest_ip(t0, subnet), None, "vEthernet* is excluded");
    vm.guest_mut()
        .write_file(
            TOOLS_CONF_PATH,
            FileBlob::from("[guestinfo]\r\nexclude-nics=\r\n"),
            true,
        )
        .unwrap();
    let almost = t0 + TOOLS_CONF_POLL - Duration::from_millis(1);
    vm.settle(almost);
    assert_eq!(vm.guest_ip(almost, subnet), None, "not re-read yet");
    let tick = t0 + TOOLS_CONF_POLL;
    vm.settle(tick);
    assert_eq!(vm.guest_ip(tick, subnet).as_deref(), Some("10.0.0.120"));
}
