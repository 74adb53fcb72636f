//! VM life cycle over `/api`: get, clone, delete, power, guest power,
//! hardware, tools and the guest information routes, plus waits built on
//! them (tools running, an IP address).
//!
//! Non-idempotent actions go through `recover_then_retry`: after a lost
//! answer the client first checks whether the action happened (a VM with
//! the clone's name, the power state it asked for, the VM gone, the guest
//! going down, the installer disconnected) and only then tries again.
//! Upgrades and installer connect are repeated instead: vCenter answers a
//! repeat that finds the work done with ALREADY_IN_DESIRED_STATE
//! (`repeat_until_in_state`).

use super::error::VsphereError;
use super::inventory::ListFilter;
use super::ops::{self, Operation};
use super::session::Client;
use super::transport::Call;
use super::watch::{VmProperties, VmProperty};
use super::wire::ErrorType;
use super::wire::VmId;
use super::wire::*;
use std::time::Duration;

impl Client {
    pub async fn vm(&self, vm: &VmId) -> Result<VmInfo, VsphereError> {
        self.json(Call::new(
            &ops::VM_GET,
            &[("vm", vm.as_str())],
            format!("get VM {vm}"),
        ))
        .await
    }

    /// Clones `spec.source` into a new VM. After a lost answer, a VM with
    /// the new name is taken as the clone (the name was checked free by
    /// vCenter when the first attempt was accepted).
    pub async fn clone_vm(&self, spec: &CloneSpec) -> Result<VmId, VsphereError> {
        let what = format!("clone {} to {:?}", spec.source, spec.name);
        let call = Call::new(&ops::VM_CLONE, &[], what.clone()).json(spec)?;
        self.recover_then_retry(
            &what,
            || self.json::<VmId>(&call),
            || async {
                let found = self.list_vms(&ListFilter::new().name(&spec.name)).await?;
                Ok(match found.as_slice() {
                    [one] => Some(one.vm.clone()),
                    _ => None,
                })
            },
        )
        .await
    }

    /// Deletes a powered-off VM; a VM already gone after a lost answer
    /// counts as deleted.
    pub async fn delete_vm(&self, vm: &VmId) -> Result<(), VsphereError> {
        let what = format!("delete VM {vm}");
        let params = [("vm", vm.as_str())];
        self.recover_then_retry(
            &what,
            || self.unit(Call::new(&ops::VM_DELETE, &params, what.clone())),
            || async {
                match self.vm(vm).await {
                    Err(e) if e.is_not_found() => Ok(Some(())),
                    Err(e) => Err(e),
                    Ok(_) => Ok(None),
                }
            },
        )
        .await
    }

    pub async fn power(&self, vm: &VmId) -> Result<PowerInfo, VsphereError> {
        self.json(Call::new(
            &ops::POWER_GET,
            &[("vm", vm.as_str())],
            format!("get power state of {vm}"),
        ))
        .await
    }

    pub async fn power_on(&self, vm: &VmId) -> Result<(), VsphereError> {
        self.power_action(vm, &ops::POWER_START, PowerState::PoweredOn, "power on")
            .await
    }

    /// Hard power-off (no guest shutdown).
    pub async fn power_off(&self, vm: &VmId) -> Result<(), VsphereError> {
        self.power_action(vm, &ops::POWER_STOP, PowerState::PoweredOff, "power off")
            .await
    }

    async fn power_action(
        &self,
        vm: &VmId,
        op: &'static Operation,
        target: PowerState,
        verb: &str,
    ) -> Result<(), VsphereError> {
        let what = format!("{verb} {vm}");
        let params = [("vm", vm.as_str())];
        self.recover_then_retry(
            &what,
            || self.unit(Call::new(op, &params, what.clone())),
            || async { Ok((self.power(vm).await?.state == target).then_some(())) },
        )
        .await
    }

    pub async fn guest_power(&self, vm: &VmId) -> Result<GuestPowerInfo, VsphereError> {
        self.json(Call::new(
            &ops::GUEST_POWER_GET,
            &[("vm", vm.as_str())],
            format!("get guest power state of {vm}"),
        ))
        .await
    }

    /// Asks the guest OS to shut down; returns at once (poll [`Client::power`]).
    pub async fn guest_shutdown(&self, vm: &VmId) -> Result<(), VsphereError> {
        let what = format!("shut down the guest of {vm}");
        let params = [("vm", vm.as_str())];
        self.recover_then_retry(
            &what,
            || self.unit(Call::new(&ops::GUEST_POWER_SHUTDOWN, &params, what.clone())),
            || async {
                let state = self.guest_power(vm).await?.state;
                Ok(matches!(
                    state,
                    GuestPowerState::ShuttingDown | GuestPowerState::NotRunning
                )
                .then_some(()))
            },
        )
        .await
    }

    /// Asks the guest OS to reboot; returns at once. After a lost answer a
    /// guest that is going down (resetting, shutting down, not running)
    /// counts as rebooting; a guest still running gets the request again.
    /// A reboot that already finished looks like one that never started,
    /// so that rare case reboots twice: slower, but the guest ends up in
    /// the state asked for.
    pub async fn guest_reboot(&self, vm: &VmId) -> Result<(), VsphereError> {
        let what = format!("reboot the guest of {vm}");
        let params = [("vm", vm.as_str())];
        self.recover_then_retry(
            &what,
            || self.unit(Call::new(&ops::GUEST_POWER_REBOOT, &params, what.clone())),
            || async {
                let state = self.guest_power(vm).await?.state;
                Ok((state != GuestPowerState::Running).then_some(()))
            },
        )
        .await
    }

    pub async fn hardware(&self, vm: &VmId) -> Result<HardwareInfo, VsphereError> {
        self.json(Call::new(
            &ops::HARDWARE_GET,
            &[("vm", vm.as_str())],
            format!("get hardware of {vm}"),
        ))
        .await
    }

    /// Upgrades the virtual hardware (VM powered off) to `version`, or the
    /// newest the host supports when `None`.
    pub async fn upgrade_hardware(
        &self,
        vm: &VmId,
        version: Option<HardwareVersion>,
    ) -> Result<(), VsphereError> {
        let shown = version
            .map(|v| v.to_string())
            .unwrap_or_else(|| "the newest version".into());
        let what = format!("upgrade hardware of {vm} to {shown}");
        let params = [("vm", vm.as_str())];
        let call = Call::new(&ops::HARDWARE_UPGRADE, &params, what.clone())
            .json(&HardwareUpgradeSpec { version })?;
        self.repeat_until_in_state(&what, || self.unit(&call)).await
    }

    pub async fn tools(&self, vm: &VmId) -> Result<ToolsInfo, VsphereError> {
        self.json(Call::new(
            &ops::TOOLS_GET,
            &[("vm", vm.as_str())],
            format!("get VMware Tools state of {vm}"),
        ))
        .await
    }

    /// Sets the Tools upgrade policy (`PATCH .../tools`).
    pub async fn update_tools(
        &self,
        vm: &VmId,
        spec: &ToolsUpdateSpec,
    ) -> Result<(), VsphereError> {
        self.unit(
            Call::new(
                &ops::TOOLS_UPDATE,
                &[("vm", vm.as_str())],
                format!("update Tools policy of {vm}"),
            )
            .json(spec)?,
        )
        .await
    }

    pub async fn upgrade_tools(
        &self,
        vm: &VmId,
        spec: &ToolsUpgradeSpec,
    ) -> Result<(), VsphereError> {
        let what = format!("upgrade VMware Tools in {vm}");
        let params = [("vm", vm.as_str())];
        let call = Call::new(&ops::TOOLS_UPGRADE, &params, what.clone()).json(spec)?;
        self.repeat_until_in_state(&what, || self.unit(&call)).await
    }

    pub async fn tools_installer(&self, vm: &VmId) -> Result<ToolsInstallerInfo, VsphereError> {
        let what = format!("get Tools installer state of {vm}");
        self.json(Call::new(
            &ops::TOOLS_INSTALLER_GET,
            &[("vm", vm.as_str())],
            what,
        ))
        .await
    }

    /// Mounts the Tools installer ISO; already mounted counts as done.
    pub async fn connect_tools_installer(&self, vm: &VmId) -> Result<(), VsphereError> {
        let what = format!("connect the Tools installer to {vm}");
        let params = [("vm", vm.as_str())];
        let call = Call::new(&ops::TOOLS_INSTALLER_CONNECT, &params, what.clone());
        let r = self.repeat_until_in_state(&what, || self.unit(&call)).await;
        already_done_is_ok(r)
    }

    /// Unmounts the Tools installer ISO; after a lost answer an installer
    /// found disconnected counts as done.
    pub async fn disconnect_tools_installer(&self, vm: &VmId) -> Result<(), VsphereError> {
        let what = format!("disconnect the Tools installer from {vm}");
        let params = [("vm", vm.as_str())];
        self.recover_then_retry(
            &what,
            || {
                self.unit(Call::new(
                    &ops::TOOLS_INSTALLER_DISCONNECT,
                    &params,
                    what.clone(),
                ))
            },
            || async { Ok((!self.tools_installer(vm).await?.is_connected).then_some(())) },
        )
        .await
    }

    pub async fn guest_identity(&self, vm: &VmId) -> Result<GuestIdentity, VsphereError> {
        self.json(Call::new(
            &ops::GUEST_IDENTITY,
            &[("vm", vm.as_str())],
            format!("get guest identity of {vm}"),
        ))
        .await
    }

    /// [`Client::guest_identity`] for a poll: `None` while vCenter answers
    /// 503 (the guest has not reported it yet, or vCenter is busy), at
    /// once, so the caller's poll schedule decides when to ask again.
    pub async fn poll_guest_identity(
        &self,
        vm: &VmId,
    ) -> Result<Option<GuestIdentity>, VsphereError> {
        let params = [("vm", vm.as_str())];
        let call = Call::new(
            &ops::GUEST_IDENTITY,
            &params,
            format!("get guest identity of {vm}"),
        )
        .polled();
        match self.json(call).await {
            Ok(id) => Ok(Some(id)),
            Err(e) if unavailable(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn guest_interfaces(
        &self,
        vm: &VmId,
    ) -> Result<Vec<GuestInterfaceInfo>, VsphereError> {
        let what = format!("get guest network interfaces of {vm}");
        self.json(Call::new(
            &ops::GUEST_INTERFACES,
            &[("vm", vm.as_str())],
            what,
        ))
        .await
    }

    pub async fn guest_operations(&self, vm: &VmId) -> Result<GuestOperationsInfo, VsphereError> {
        let what = format!("get guest operations readiness of {vm}");
        self.json(Call::new(
            &ops::GUEST_OPERATIONS,
            &[("vm", vm.as_str())],
            what,
        ))
        .await
    }

    /// Waits until VMware Tools runs in the guest and guest operations are
    /// ready (the precondition for processes and file transfers), and
    /// returns the Tools state of that moment (version, policy).
    ///
    /// One look first: most waits begin with Tools long running (every
    /// guest stage asks), and a look is one request where a watch is
    /// four. Otherwise the PropertyCollector says when Tools are up
    /// ([`Client::wait_vm`]), and the Tools state is read once more: the
    /// answer, and a check that they are still up (Tools that fell over
    /// again are waited for again, within the deadline).
    pub async fn wait_for_tools(
        &self,
        vm: &VmId,
        deadline: Duration,
    ) -> Result<ToolsInfo, VsphereError> {
        let what = format!("wait for VMware Tools and guest operations in {vm}");
        let started = tokio::time::Instant::now();
        if let Some(tools) = self.ready_tools(vm).await? {
            return Ok(tools);
        }
        loop {
            let left = deadline.saturating_sub(started.elapsed());
            let props = [VmProperty::ToolsRunning, VmProperty::GuestOperationsReady];
            self.wait_vm(vm, &props, &what, left, VmProperties::guest_ready)
                .await?;
            if let Some(tools) = self.running_tools(vm).await? {
                return Ok(tools);
            }
            if started.elapsed() >= deadline {
                return Err(VsphereError::Deadline {
                    what,
                    after: deadline,
                });
            }
        }
    }

    /// The Tools state when Tools run and guest operations are ready.
    async fn ready_tools(&self, vm: &VmId) -> Result<Option<ToolsInfo>, VsphereError> {
        let Some(tools) = self.running_tools(vm).await? else {
            return Ok(None);
        };
        match self.guest_operations(vm).await {
            Ok(g) => Ok(g.guest_operations_ready.then_some(tools)),
            Err(e) if unavailable(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// [`Client::wait_for_tools`] for callers that only need the wait.
    pub async fn wait_for_guest_operations(
        &self,
        vm: &VmId,
        deadline: Duration,
    ) -> Result<(), VsphereError> {
        self.wait_for_tools(vm, deadline).await.map(drop)
    }

    /// The Tools state when Tools runs, `None` when it does not. Polls ask
    /// this before a guest information route: those answer 503 while Tools
    /// is down, and a 503 costs the transport's retries before it counts
    /// as "not yet".
    async fn running_tools(&self, vm: &VmId) -> Result<Option<ToolsInfo>, VsphereError> {
        let tools = self.tools(vm).await?;
        Ok((tools.run_state != ToolsRunState::NotRunning).then_some(tools))
    }

    /// Waits for the guest to report an IPv4 address and returns it. A
    /// link-local (APIPA, 169.254.x.x) address is returned too: it tells
    /// the caller DHCP failed, which waiting longer rarely fixes.
    pub async fn wait_for_ip(&self, vm: &VmId, deadline: Duration) -> Result<String, VsphereError> {
        let what = format!("wait for an IP address of {vm}");
        self.poll_until(&what, deadline, || async {
            if self.running_tools(vm).await?.is_none() {
                return Ok(None);
            }
            match self.guest_identity(vm).await {
                Ok(id) => Ok(id
                    .ip_address
                    .filter(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok())),
                Err(e) if unavailable(&e) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await
    }
}

/// Guest information routes answer 503 while Tools has nothing to say yet.
fn unavailable(e: &VsphereError) -> bool {
    e.status() == Some(503) || e.error_type() == Some(ErrorType::ServiceUnavailable)
}

fn already_done_is_ok(r: Result<(), VsphereError>) -> Result<(), VsphereError> {
    match r {
        Err(e) if e.error_type() == Some(ErrorType::AlreadyInDesiredState) => Ok(()),
        other => other,
    }
}

/// Whether an IPv4 address is link-local (APIPA), i.e. DHCP did not answer.
pub fn is_apipa(ip: &str) -> bool {
    ip.parse::<std::net::Ipv4Addr>()
        .map(|a| a.is_link_local())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apipa_addresses_are_recognised() {
        assert!(is_apipa("169.254.10.3"));
        assert!(!is_apipa("10.0.0.5"));
        assert!(!is_apipa("not an ip"));
    }

    #[test]
    fn already_in_desired_state_counts_as_done_for_installer_connect() {
        let e = VsphereError::from_response(
            "connect".into(),
            400,
            br#"{"error_type":"ALREADY_IN_DESIRED_STATE","messages":[]}"#,
        );
        assert!(already_done_is_ok(Err(e)).is_ok());
        let e = VsphereError::from_response(
            "connect".into(),
            400,
            br#"{"error_type":"NOT_ALLOWED_IN_CURRENT_STATE","messages":[]}"#,
        );
        assert!(already_done_is_ok(Err(e)).is_err());
    }
}
