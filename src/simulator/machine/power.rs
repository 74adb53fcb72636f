//! Power: on, off, suspend and resume, reset, and the guest's own
//! shutdown and reboot, which take effect later (see [`Machine::settle`]).

use super::{Boot, BootFaults, Machine, Pending, Refusal};
use crate::vsphere::wire::*;
use tokio::time::Instant;

impl Machine {
    // ---------- power ----------

    pub fn power_info(&self) -> PowerInfo {
        PowerInfo {
            state: self.power,
            clean_power_off: (self.power == PowerState::PoweredOff).then_some(self.clean_power_off),
        }
    }

    pub fn guest_power(&self, now: Instant) -> GuestPowerInfo {
        let tools = self.tools_running(now);
        let state = match (self.power, self.pending()) {
            (PowerState::PoweredOn, Some(Pending::PowerOff)) => GuestPowerState::ShuttingDown,
            (PowerState::PoweredOn, Some(Pending::Reboot)) => GuestPowerState::Resetting,
            (PowerState::PoweredOn, None) if tools => GuestPowerState::Running,
            (PowerState::Suspended, _) => GuestPowerState::Standby,
            _ => GuestPowerState::NotRunning,
        };
        GuestPowerInfo {
            state,
            operations_ready: tools,
        }
    }

    /// Whether [`Machine::power_on`] would act; the route asks before it
    /// spends the simulated power-on delay.
    pub fn check_power_on(&self) -> Result<(), Refusal> {
        if self.template {
            return Err(Refusal::Unsupported(format!(
                "{} is a template and cannot be powered on",
                self.id
            )));
        }
        if self.power == PowerState::PoweredOn {
            return Err(Refusal::AlreadyDone(format!(
                "Virtual machine {} is already powered on",
                self.id
            )));
        }
        Ok(())
    }

    /// Powers on: boots a powered-off VM, resumes a suspended one where it
    /// stopped.
    pub fn power_on(&mut self, now: Instant, faults: BootFaults) -> Result<(), Refusal> {
        self.check_power_on()?;
        match self.suspended_at.take() {
            Some(since) => self.resume(since, now - since),
            None => self.boot(now, faults),
        }
        Ok(())
    }

    /// A hard power-off (not the guest's shutdown).
    pub fn power_off(&mut self, now: Instant) -> Result<(), Refusal> {
        if self.power == PowerState::PoweredOff {
            return Err(Refusal::AlreadyDone(format!(
                "Virtual machine {} is already powered off",
                self.id
            )));
        }
        self.halt(now, false);
        Ok(())
    }

    /// Suspends: the guest stops where it is; its processes and a pending
    /// shutdown or reboot continue after the next power-on.
    pub fn suspend(&mut self, now: Instant) -> Result<(), Refusal> {
        match self.power {
            PowerState::Suspended => Err(Refusal::AlreadyDone(format!(
                "Virtual machine {} is already suspended",
                self.id
            ))),
            PowerState::PoweredOff => {
                Err(self.refuse_power(format!("Virtual machine {} is powered off", self.id)))
            }
            PowerState::PoweredOn => {
                self.power = PowerState::Suspended;
                self.suspended_at = Some(now);
                Ok(())
            }
        }
    }

    /// A hard reset: the guest goes down without shutting down (its
    /// processes die) and boots again.
    pub fn reset(&mut self, now: Instant, faults: BootFaults) -> Result<(), Refusal> {
        self.require_powered_on()?;
        self.processes.kill_all(now);
        self.guest.power_off();
        self.boot(now, faults);
        Ok(())
    }

    /// Asks the guest to shut down; the VM powers off `after` from now.
    pub fn guest_shutdown(
        &mut self,
        now: Instant,
        after: std::time::Duration,
    ) -> Result<(), Refusal> {
        if self.power == PowerState::PoweredOff {
            return Err(Refusal::AlreadyDone(format!(
                "Virtual machine {} is not powered on",
                self.id
            )));
        }
        self.require_guest(now)?;
        self.schedule(now + after, Pending::PowerOff);
        Ok(())
    }

    /// Asks the guest to restart; the reboot completes `after` from now.
    pub fn guest_reboot(
        &mut self,
        now: Instant,
        after: std::time::Duration,
    ) -> Result<(), Refusal> {
        self.require_guest(now)?;
        self.schedule(now + after, Pending::Reboot);
        Ok(())
    }

    /// 400 NOT_ALLOWED_IN_CURRENT_STATE unless the VM is powered on.
    pub fn require_powered_on(&self) -> Result<(), Refusal> {
        if self.power == PowerState::PoweredOn {
            Ok(())
        } else {
            Err(self.refuse_power(format!("Virtual machine {} is not powered on", self.id)))
        }
    }

    /// Powered on with VMware Tools running, as every guest call needs.
    pub fn require_guest(&self, now: Instant) -> Result<(), Refusal> {
        self.require_powered_on()?;
        if !self.tools_running(now) {
            return Err(Refusal::ToolsNotRunning(self.id.clone()));
        }
        Ok(())
    }

    pub(super) fn boot(&mut self, now: Instant, faults: BootFaults) {
        self.power = PowerState::PoweredOn;
        self.boot = Some(Boot {
            at: now,
            faults,
            second_lease: false,
        });
        self.suspended_at = None;
        self.pending = None;
        self.guest.boot();
    }

    /// Shifts every running clock by the time spent suspended.
    fn resume(&mut self, since: Instant, frozen: std::time::Duration) {
        self.power = PowerState::PoweredOn;
        if let Some(boot) = self.boot.as_mut() {
            boot.at += frozen;
        }
        if let Some((due, _)) = self.pending.as_mut() {
            *due += frozen;
        }
        self.processes.shift(since, frozen);
    }

    /// Powered off, by the guest's shutdown (`clean`) or by force.
    fn halt(&mut self, now: Instant, clean: bool) {
        self.power = PowerState::PoweredOff;
        self.boot = None;
        self.suspended_at = None;
        self.pending = None;
        self.clean_power_off = clean;
        self.guest.power_off();
        self.processes.kill_all(now);
    }

    pub(super) fn schedule(&mut self, at: Instant, what: Pending) {
        self.pending = Some((at, what));
    }

    /// Applies what has become due by `now`: a power-off after a guest
    /// shutdown, the end of a reboot, exited and forgotten processes. A
    /// suspended VM's clock stands still.
    pub fn settle(&mut self, now: Instant) {
        if self.power == PowerState::Suspended {
            return;
        }
        if let Some((due, what)) = self.pending {
            if due <= now {
                self.pending = None;
                match what {
                    Pending::PowerOff => self.halt(due, true),
                    Pending::Reboot => {
                        self.processes.kill_all(due);
                        self.guest.power_off();
                        let faults = self.boot.as_ref().map(|b| b.faults).unwrap_or_default();
                        self.boot(due, faults);
                    }
                }
            }
        }
        self.processes.settle(now);
        if self.tools_running(now) {
            // vmtoolsd's own timer: what it reports follows tools.conf only
            // from its next re-read (Timing::tools_conf_poll).
            self.guest.poll_tools_conf(now);
        }
    }
}
