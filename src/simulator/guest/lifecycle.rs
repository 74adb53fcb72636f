//! The guest's state as others read it, the knobs tests and faults turn,
//! and the life-cycle hooks SIM-CORE calls (boot, power-off, Tools' poll).

use super::firewall::FirewallRule;
use super::network::{DnsRecord, Internet};
use super::system::{AppxPackage, FeatureState, Service, ServiceStatus, SysprepState};
use super::updates::UpdateSpec;
use super::{openssh, scripts, tools_conf, GuestError, GuestOs, Protocol, WindowsGuest};
use super::{GuestPath, TOOLS_CONF_PATH};
use tokio::time::Instant;

/// The host adapter Windows creates for an external vSwitch on Ethernet0.
const HNS_HOST_ADAPTER: &str = "vEthernet (Ethernet0)";

impl WindowsGuest {
    // ---------- configuration state (read) ----------

    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.iter()
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.get(name)
    }

    pub fn features(&self) -> impl Iterator<Item = (&str, FeatureState)> {
        self.features.iter()
    }

    pub fn feature(&self, name: &str) -> Option<FeatureState> {
        self.features.state(name)
    }

    pub fn firewall_rules(&self) -> &[FirewallRule] {
        self.firewall.rules()
    }

    /// Whether an inbound packet to this protocol and port gets through
    /// (an enabled Allow rule matches and no enabled Block rule does).
    pub fn firewall_allows_inbound(&self, protocol: Protocol, port: u16) -> bool {
        self.firewall.allows_inbound(protocol, port)
    }

    pub fn installed_kbs(&self) -> &[String] {
        self.updates.installed()
    }

    /// The build revision (UBR) Windows reports now.
    pub fn ubr(&self) -> u32 {
        self.updates.ubr()
    }

    pub fn reboot_pending(&self) -> bool {
        self.updates.reboot_pending()
    }

    pub fn sysprep_state(&self) -> &SysprepState {
        &self.sysprep
    }

    pub fn appx_packages(&self) -> &[AppxPackage] {
        &self.appx
    }

    /// The `ssh_host_*` files in `C:\ProgramData\ssh`.
    pub fn ssh_host_keys(&self) -> Vec<String> {
        openssh::host_key_files(self)
    }

    /// When the guest last booted (`LastBootUpTime`), once it has.
    pub fn last_boot_time(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.last_boot
    }

    /// The state collect-facts.ps1 reports, as JSON of the same shape
    /// (for admin read-outs and assertions without running a process).
    pub fn facts(&self) -> serde_json::Value {
        scripts::facts(self)
    }

    /// Tools report RUNNING only while the VMTools service runs (SIM-CORE
    /// adds power state and the start-up delay on top).
    pub fn vmtools_running(&self) -> bool {
        self.services.is_running("VMTools")
    }

    /// The guest's network adapters: the VM's NIC, the host adapter of an
    /// HNS external vSwitch on it, and once Docker runs with the Containers
    /// feature, the `vEthernet (nat)` adapter of its default HNS network.
    pub fn network_adapters(&self) -> Vec<String> {
        let mut nics = vec!["Ethernet0".to_string()];
        if self.hns_vswitch {
            nics.push(HNS_HOST_ADAPTER.into());
        }
        if self.features.state(scripts::CONTAINERS_FEATURE) == Some(FeatureState::Installed)
            && self.services.is_running("docker")
        {
            nics.push("vEthernet (nat)".into());
        }
        nics
    }

    /// The adapters Tools report to vCenter, filtered by the `exclude-nics`
    /// of the tools.conf vmtoolsd has loaded (not of the file on disk).
    pub fn tools_reported_adapters(&self) -> Vec<String> {
        tools_conf::reported_adapters(&self.network_adapters(), &self.tools_conf_loaded)
    }

    /// The adapter holding the VM's DHCP lease: Ethernet0, or the vSwitch's
    /// host adapter once an HNS network took Ethernet0's IP configuration.
    pub fn lease_adapter(&self) -> &'static str {
        if self.hns_vswitch {
            HNS_HOST_ADAPTER
        } else {
            "Ethernet0"
        }
    }

    /// Whether Tools report the adapter holding the lease, i.e. whether
    /// vCenter can see the VM's address at all.
    pub fn lease_reported(&self) -> bool {
        let lease = self.lease_adapter();
        self.tools_reported_adapters().iter().any(|n| n == lease)
    }

    // ---------- test and fault knobs ----------

    /// What an HNS network bound to the VM's NIC does (the L2bridge/overlay
    /// network hybrid-overlay creates on a WMCO node, `New-HnsNetwork` on a
    /// Flannel node): Windows puts an external vSwitch on Ethernet0 and
    /// moves its address to the host adapter `vEthernet (Ethernet0)`
    /// ("transfers the addresses and configuration that the physical
    /// Network Adapter previously had ... to the new synthetic network
    /// adapter", Yale ITS, "Hyper-V networking"). With Tools' default
    /// `vEthernet*` exclusion vCenter then sees no address for the VM.
    pub fn create_hns_network(&mut self) {
        self.hns_vswitch = true;
    }

    /// The sysprep-failure fault: while set, sysprep fails and writes setuperr.log.
    pub fn set_sysprep_failure(&mut self, fail: bool) {
        self.sysprep.fail_injected = fail;
    }

    pub fn set_rearm_budget(&mut self, rearms_left: u32) {
        self.sysprep.rearms_left = rearms_left;
    }

    /// An image of its release at another build revision (inventory `os_ubr`).
    pub fn with_ubr(mut self, ubr: u32) -> Self {
        self.updates.set_ubr(ubr);
        self
    }

    /// A display language other than the install language (a language pack
    /// set for the build account).
    pub fn set_display_language(&mut self, language: &str) {
        self.display_language = language.to_string();
    }

    pub fn set_internet(&mut self, internet: Internet) {
        self.network.set_internet(internet);
    }

    pub fn add_dns_record(&mut self, name: &str, record: DnsRecord) {
        self.network.add_record(name, record);
    }

    /// Adds an update to what Windows Update offers this guest.
    pub fn offer_update(&mut self, update: UpdateSpec) {
        self.updates.offer(update);
    }

    /// Makes installing this KB fail (per-update result 4).
    pub fn fail_update_install(&mut self, kb: &str) {
        self.updates.fail_install(kb);
    }

    /// An AppX package installed for one user only, the kind that stops
    /// sysprep's generalize.
    pub fn install_appx_for_user(&mut self, name: &str, full_name: &str, user: &str) {
        self.appx.push(AppxPackage {
            name: name.into(),
            full_name: full_name.into(),
            users: vec![user.into()],
            provisioned: false,
        });
    }

    /// A rule created with `New-NetFirewallRule -DisplayName` only (a GUID
    /// Name), as WMCO's documentation creates ContainerLogsPort; returns the Name.
    pub fn add_firewall_rule_by_display_name(&mut self, rule: FirewallRule) -> String {
        self.firewall.create_by_display_name(rule)
    }

    /// Stops or starts a service from outside (fault injection, tests).
    pub fn set_service_status(
        &mut self,
        name: &str,
        status: ServiceStatus,
    ) -> Result<(), GuestError> {
        if self.services.set_status(name, status) {
            Ok(())
        } else {
            Err(GuestError::InvalidArgument(format!(
                "service {name} is not installed in the guest"
            )))
        }
    }

    // ---------- life cycle (SIM-CORE) ----------

    /// The VM powered on or finished a reboot: automatic services start
    /// (sshd creating its host keys if it has none), pending feature
    /// installs and updates complete (a cumulative update's UBR appears),
    /// Tools load tools.conf, and the boot time moves on.
    pub fn boot(&mut self) {
        self.services.boot();
        self.features.boot();
        self.updates.boot();
        if self.sysprep.image_state == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" {
            // First boot after generalize runs specialize + OOBE.
            self.sysprep.image_state = "IMAGE_STATE_COMPLETE".into();
        }
        if self.services.is_running("sshd") {
            openssh::ensure_host_keys(self);
        }
        self.load_tools_conf();
        self.tools_conf_polled = None;
        // Strictly later than the previous boot, even within one clock tick.
        let now = chrono::Utc::now();
        self.last_boot = Some(match self.last_boot {
            Some(previous) if previous >= now => previous + chrono::Duration::milliseconds(1),
            _ => now,
        });
    }

    /// The VM powered off (or is going down for a reboot).
    pub fn power_off(&mut self) {
        self.services.stop_all();
    }

    /// vmtoolsd's tools.conf timer: while Tools run, the file is re-read on
    /// ticks `tools_conf_poll` apart, counted from the first look after
    /// boot (a GLib timeout source in services/vmtoolsd/mainLoop.c). SIM-CORE
    /// calls this whenever it settles the VM; the file only changes through
    /// guest calls, which settle first, so re-reading at the first look after
    /// a tick reads what the tick itself would have. An edit thus reaches
    /// [`Self::tools_reported_adapters`] at the next tick, never before.
    pub fn poll_tools_conf(&mut self, now: Instant) {
        if !self.vmtools_running() {
            return;
        }
        let every = self.timing.tools_conf_poll;
        match self.tools_conf_polled {
            Some(last) if !every.is_zero() => {
                let ticks = now.saturating_duration_since(last).as_nanos() / every.as_nanos();
                if ticks > 0 {
                    self.load_tools_conf();
                    // Keep the tick grid rather than restarting it at `now`.
                    let step = u32::try_from(ticks).unwrap_or(u32::MAX);
                    self.tools_conf_polled = Some(last + every * step);
                }
            }
            _ => {
                self.load_tools_conf();
                self.tools_conf_polled = Some(now);
            }
        }
    }

    pub(super) fn load_tools_conf(&mut self) {
        self.tools_conf_loaded = GuestPath::parse(TOOLS_CONF_PATH)
            .and_then(|p| self.fs.read_bytes(&p))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
    }

    /// The release this guest runs.
    pub fn release(&self) -> GuestOs {
        self.os
    }
}
