//! Waiting on a VM's state through the PropertyCollector instead of
//! polling: `WaitForUpdatesEx` (VI/JSON) holds the request until a watched
//! property changes, so the end of a reboot or of sysprep is seen the
//! moment vCenter sees it, with a handful of requests where polling made
//! one every interval (a Tools start, a reboot and sysprep took about 130
//! polls in a build; see `gild bench build --timeline`).
//!
//! The calls (VMware VI JSON API reference, `PropertyCollector`):
//! 1. `CreatePropertyCollector` on the default collector: a collector of
//!    this wait's own. Filters and versions belong to a collector, and
//!    several builds share one session (`--parallel`), so a shared
//!    collector would hand one wait the other's updates.
//! 2. `CreateFilter` with one VirtualMachine object and its paths.
//! 3. `WaitForUpdatesEx`: version `""` answers the current values at once;
//!    the version it returns answers the next change, or nothing (204)
//!    after `maxWaitSeconds`.
//! 4. `DestroyPropertyCollector`. A wait that is cancelled (a stage's
//!    timeout, Ctrl-C) leaves its collector to the session, which vCenter
//!    destroys with it at logout.
//!
//! A collector belongs to the session that made it: after a transparent
//! re-login the old one is gone (ManagedObjectNotFound) and the watch
//! starts over. A vCenter that refuses the collector calls altogether
//! gets the `/api` polling it had before ([`VmWatch`] falls back).

use super::error::VsphereError;
use super::ops;
use super::session::Client;
use super::transport::encode;
use super::vi_methods::MoRef;
use super::wire::{PowerState, VmId};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;
use tokio::time::Instant;

/// The well-known moId of vCenter's default PropertyCollector
/// (`ServiceContent.propertyCollector`), as `SearchIndex` is the search
/// index's.
const DEFAULT_COLLECTOR: &str = "propertyCollector";

// The parameters of CreateFilter and WaitForUpdatesEx as VI/JSON names
// them (VMware VI JSON API reference: CreateFilterRequestType,
// WaitForUpdatesExRequestType).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateFilter<'a> {
    spec: FilterSpec<'a>,
    partial_updates: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FilterSpec<'a> {
    #[serde(rename = "_typeName")]
    type_name: &'static str,
    prop_set: [PropertySpec; 1],
    object_set: [ObjectSpec<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PropertySpec {
    #[serde(rename = "_typeName")]
    type_name: &'static str,
    #[serde(rename = "type")]
    mo_type: &'static str,
    path_set: Vec<&'static str>,
}

#[derive(Serialize)]
struct ObjectSpec<'a> {
    #[serde(rename = "_typeName")]
    type_name: &'static str,
    obj: MoRef<'a>,
}

#[derive(Serialize)]
struct WaitForUpdatesEx<'a> {
    version: &'a str,
    options: WaitOptions,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WaitOptions {
    #[serde(rename = "_typeName")]
    type_name: &'static str,
    max_wait_seconds: i64,
}

/// The VM properties a wait can watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmProperty {
    PowerState,
    ToolsRunning,
    GuestOperationsReady,
}

impl VmProperty {
    fn path(self) -> &'static str {
        match self {
            VmProperty::PowerState => "runtime.powerState",
            VmProperty::ToolsRunning => "guest.toolsRunningStatus",
            VmProperty::GuestOperationsReady => "guest.guestOperationsReady",
        }
    }
}

/// What a watch knows of the VM: the last value of each watched property
/// (`None` until reported, or when the VM does not have it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmProperties {
    pub power: Option<PowerState>,
    pub tools_running: Option<bool>,
    pub guest_operations_ready: Option<bool>,
    /// The VM left the filter: it was deleted.
    pub gone: bool,
}

impl VmProperties {
    /// Tools run and guest operations are ready.
    pub fn guest_ready(&self) -> bool {
        self.tools_running == Some(true) && self.guest_operations_ready == Some(true)
    }

    fn apply(&mut self, name: &str, val: Option<&Value>) {
        // VI/JSON writes an `anyType` value boxed: {"_typeName", "_value"}.
        let v = val.and_then(|v| v.get("_value"));
        match name {
            "runtime.powerState" => {
                self.power = v.and_then(Value::as_str).and_then(|s| match s {
                    "poweredOn" => Some(PowerState::PoweredOn),
                    "poweredOff" => Some(PowerState::PoweredOff),
                    "suspended" => Some(PowerState::Suspended),
                    _ => None,
                })
            }
            "guest.toolsRunningStatus" => {
                // guestToolsExecutingScripts is Tools starting, not ready.
                self.tools_running = v.and_then(Value::as_str).map(|s| s == "guestToolsRunning")
            }
            "guest.guestOperationsReady" => {
                self.guest_operations_ready = v.and_then(Value::as_bool)
            }
            _ => {}
        }
    }

    /// Applies an UpdateSet's changes; its new version.
    fn apply_update_set(&mut self, set: &Value, what: &str) -> Result<String, VsphereError> {
        let version = set
            .get("version")
            .and_then(Value::as_str)
            .ok_or_else(|| VsphereError::unexpected(what, "the UpdateSet has no version"))?;
        let updates = set
            .get("filterSet")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|f| f.get("objectSet").and_then(Value::as_array))
            .flatten();
        for update in updates {
            if update.get("kind").and_then(Value::as_str) == Some("leave") {
                self.gone = true;
            }
            let changes = update.get("changeSet").and_then(Value::as_array);
            for change in changes.into_iter().flatten() {
                let name = change.get("name").and_then(Value::as_str).unwrap_or("");
                match change.get("op").and_then(Value::as_str) {
                    Some("assign") | Some("add") => self.apply(name, change.get("val")),
                    _ => self.apply(name, None),
                }
            }
        }
        Ok(version.to_string())
    }
}

enum Mode {
    Collector {
        id: String,
        version: String,
    },
    /// The collector calls were refused: `/api` reads on the poll schedule.
    Polling {
        started: Instant,
        first: bool,
    },
}

/// A wait on one VM's properties. [`VmWatch::next`] answers what is known
/// after the next change (or `max_wait`); [`VmWatch::close`] ends it.
pub struct VmWatch<'c> {
    client: &'c Client,
    vm: VmId,
    props: Vec<VmProperty>,
    mode: Mode,
    seen: VmProperties,
}

impl Client {
    /// Starts watching `props` of `vm`. Never fails on a vCenter that
    /// lacks the PropertyCollector calls: the watch polls `/api` instead.
    pub async fn watch_vm<'c>(&'c self, vm: &VmId, props: &[VmProperty]) -> VmWatch<'c> {
        let mode = match self.create_collector(vm, props).await {
            Ok(id) => Mode::Collector {
                id,
                version: String::new(),
            },
            Err(e) => {
                tracing::warn!(error = %e, vm = %vm, "no PropertyCollector wait; polling instead");
                Mode::Polling {
                    started: Instant::now(),
                    first: true,
                }
            }
        };
        VmWatch {
            client: self,
            vm: vm.clone(),
            props: props.to_vec(),
            mode,
            seen: VmProperties::default(),
        }
    }

    async fn create_collector(
        &self,
        vm: &VmId,
        props: &[VmProperty],
    ) -> Result<String, VsphereError> {
        let what = format!("create a PropertyCollector to watch {vm}");
        let moref: Value = self
            .vi_call(&ops::VI_PC_CREATE, DEFAULT_COLLECTOR, None, &what)
            .await?
            .json(&what)?;
        let id = moref
            .get("value")
            .and_then(Value::as_str)
            .ok_or_else(|| VsphereError::unexpected(&what, "no PropertyCollector reference"))?
            .to_string();
        let what = format!("create a PropertyFilter on {vm}");
        let spec = CreateFilter {
            spec: FilterSpec {
                type_name: "PropertyFilterSpec",
                prop_set: [PropertySpec {
                    type_name: "PropertySpec",
                    mo_type: "VirtualMachine",
                    path_set: props.iter().map(|p| p.path()).collect(),
                }],
                object_set: [ObjectSpec {
                    type_name: "ObjectSpec",
                    obj: MoRef::new("VirtualMachine", vm.as_str()),
                }],
            },
            partial_updates: false,
        };
        let spec = encode(&what, &spec)?;
        if let Err(e) = self
            .vi_call(&ops::VI_PC_CREATE_FILTER, &id, Some(spec), &what)
            .await
        {
            self.destroy_collector(&id).await;
            return Err(e);
        }
        Ok(id)
    }

    async fn destroy_collector(&self, id: &str) {
        let what = format!("destroy PropertyCollector {id}");
        match self.vi_call(&ops::VI_PC_DESTROY, id, None, &what).await {
            Ok(_) => {}
            // Already gone: its session ended, or a repeat of a lost answer.
            Err(e) if e.is_not_found() => {}
            Err(e) => tracing::debug!(error = %e, "{what}"),
        }
    }
}

impl VmWatch<'_> {
    /// Like [`VmWatch::next`], but for a caller that has just read the VM
    /// itself: the first call does not hand back the current values (they
    /// are taken in, not returned) and waits for a change from them.
    pub async fn changed(&mut self, max_wait: Duration) -> Result<&VmProperties, VsphereError> {
        match &mut self.mode {
            Mode::Collector { version, .. } if version.is_empty() => {
                self.next(Duration::ZERO).await?;
            }
            // A poll now would only repeat the caller's own read.
            Mode::Polling { first, .. } => *first = false,
            Mode::Collector { .. } => {}
        }
        self.next(max_wait).await
    }

    /// What is known after the next change, or after `max_wait` without
    /// one. The first call answers the current values at once.
    pub async fn next(&mut self, max_wait: Duration) -> Result<&VmProperties, VsphereError> {
        match &mut self.mode {
            Mode::Collector { id, version } => {
                let what = format!("wait for a change of {}", self.vm);
                // `maxWaitSeconds` is whole seconds, and rounding up would
                // overrun the caller's deadline: under a second is slept
                // here, then one update calculation (0) is asked for.
                let secs = max_wait.as_secs() as i64;
                if secs == 0 && !version.is_empty() {
                    tokio::time::sleep(max_wait).await;
                }
                let body = encode(
                    &what,
                    &WaitForUpdatesEx {
                        version: version.as_str(),
                        options: WaitOptions {
                            type_name: "WaitOptions",
                            max_wait_seconds: secs,
                        },
                    },
                )?;
                match self
                    .client
                    .vi_call(&ops::VI_PC_WAIT, id, Some(body), &what)
                    .await
                {
                    Ok(reply) if reply.body.is_empty() => {}
                    Ok(reply) => {
                        let set: Value = reply.json(&what)?;
                        *version = self.seen.apply_update_set(&set, &what)?;
                    }
                    // A re-login replaced the session and its collectors.
                    Err(e) if e.is_not_found() => {
                        tracing::debug!(error = %e, "the PropertyCollector is gone; watching anew");
                        let fresh = self.client.create_collector(&self.vm, &self.props).await?;
                        self.mode = Mode::Collector {
                            id: fresh,
                            version: String::new(),
                        };
                        return Box::pin(self.next(max_wait)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
            Mode::Polling { started, first } => {
                if !std::mem::take(first) {
                    let pause = self.client.poll_pause(started.elapsed());
                    tokio::time::sleep(pause.min(max_wait)).await;
                }
                self.poll().await?;
            }
        }
        Ok(&self.seen)
    }

    async fn poll(&mut self) -> Result<(), VsphereError> {
        if self.props.contains(&VmProperty::PowerState) {
            match self.client.power(&self.vm).await {
                Ok(p) => self.seen.power = Some(p.state),
                Err(e) if e.is_not_found() => self.seen.gone = true,
                Err(e) => return Err(e),
            }
        }
        if self.props.iter().any(|p| *p != VmProperty::PowerState) {
            let running = match self.client.tools(&self.vm).await {
                Ok(t) => t.run_state != super::wire::ToolsRunState::NotRunning,
                Err(e) if e.is_not_found() => {
                    self.seen.gone = true;
                    false
                }
                Err(e) => return Err(e),
            };
            self.seen.tools_running = Some(running);
            let ready = running
                && self
                    .client
                    .guest_operations(&self.vm)
                    .await
                    .map(|g| g.guest_operations_ready)
                    .unwrap_or(false);
            self.seen.guest_operations_ready = Some(ready);
        }
        Ok(())
    }

    /// Ends the watch (destroys its collector).
    pub async fn close(self) {
        if let Mode::Collector { id, .. } = &self.mode {
            self.client.destroy_collector(id).await;
        }
    }
}

impl Client {
    /// Waits until `done` holds for `vm`'s `props`, or `deadline` (then a
    /// [`VsphereError::Deadline`] naming `what`).
    pub async fn wait_vm(
        &self,
        vm: &VmId,
        props: &[VmProperty],
        what: &str,
        deadline: Duration,
        done: impl Fn(&VmProperties) -> bool,
    ) -> Result<VmProperties, VsphereError> {
        let started = Instant::now();
        let mut watch = self.watch_vm(vm, props).await;
        let result = loop {
            let left = deadline.saturating_sub(started.elapsed());
            match watch.next(left.min(self.longest_wait())).await {
                Ok(seen) if done(seen) => break Ok(seen.clone()),
                Ok(seen) if seen.gone => {
                    break Err(VsphereError::NotFound {
                        kind: "VM",
                        name: vm.to_string(),
                    })
                }
                Ok(_) if started.elapsed() >= deadline => {
                    break Err(VsphereError::Deadline {
                        what: what.to_string(),
                        after: deadline,
                    })
                }
                Ok(_) => {}
                Err(e) => break Err(e),
            }
        };
        watch.close().await;
        result
    }

    /// The longest one `WaitForUpdatesEx` is held: well inside the request
    /// timeout, so a held wait is never taken for a hung one.
    pub fn longest_wait(&self) -> Duration {
        (self.t().timeouts.request / 2).min(Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_update_set_sets_what_changed_and_a_leave_marks_the_vm_gone() {
        let mut seen = VmProperties::default();
        let set = json!({"version": "2", "filterSet": [{"objectSet": [{"kind": "modify", "changeSet": [
            {"name": "runtime.powerState", "op": "assign", "val": {"_typeName": "VirtualMachinePowerState", "_value": "poweredOff"}},
            {"name": "guest.toolsRunningStatus", "op": "assign", "val": {"_typeName": "string", "_value": "guestToolsExecutingScripts"}},
            {"name": "guest.guestOperationsReady", "op": "assign", "val": {"_typeName": "boolean", "_value": true}}
        ]}]}]});
        assert_eq!(seen.apply_update_set(&set, "t").unwrap(), "2");
        assert_eq!(seen.power, Some(PowerState::PoweredOff));
        assert_eq!(
            seen.tools_running,
            Some(false),
            "executing scripts is not running yet"
        );
        assert!(!seen.guest_ready());
        let leave = json!({"version": "3", "filterSet": [{"objectSet": [{"kind": "leave"}]}]});
        seen.apply_update_set(&leave, "t").unwrap();
        assert!(seen.gone);
    }

    #[test]
    fn an_update_set_without_a_version_is_an_error() {
        let err = VmProperties::default()
            .apply_update_set(&json!({"filterSet": []}), "wait for vm-1")
            .unwrap_err();
        assert!(err.to_string().contains("wait for vm-1"), "{err}");
    }
}
