//! The stages that change the guest through gild's scripts: tools_conf,
//! openssh, container_runtime, firewall, windows_update, scripts. Each runs
//! its script, then proves the result from an independent read-out
//! (`collect-facts.ps1`, or the file itself downloaded back), never from
//! the script's own claim alone. This module holds what they share:
//! running a script, reading the facts, waiting out a reboot.

mod facts;
mod network;
mod offline;
mod openssh;
mod os;
mod runtime;
mod updates;
mod user;

pub use facts::GuestFacts;
pub use network::firewall;
pub(crate) use network::resolve_names;
pub use openssh::{openssh, tools_conf};
pub(crate) use os::{check_language, check_os};
pub use runtime::container_runtime;
pub use updates::windows_update;
pub use user::user_scripts;

use super::Build;
use crate::pipeline::error::StageError;
use crate::pipeline::guest::Arg;
use crate::pipeline::state::OsFacts;
use crate::vsphere::wire::VmId;
use std::time::Duration;

/// Runs collect-facts.ps1 and keeps what the manifest records.
pub(crate) async fn collect_facts(b: &mut Build<'_>, vm: &VmId) -> Result<GuestFacts, StageError> {
    let result = run(b, vm, "collect-facts.ps1", &[]).await?;
    let facts: GuestFacts =
        serde_json::from_value(result.details).map_err(|e| StageError::Script {
            script: "collect-facts.ps1".into(),
            exit_code: Some(0),
            message: format!("its details do not have the documented shape: {e}"),
        })?;
    b.facts.os = Some(OsFacts {
        caption: facts.os.caption.clone(),
        build: facts.os.build,
        ubr: facts.os.ubr.unwrap_or(0),
        display_version: facts.os.display_version.clone(),
        language: facts.language.clone(),
    });
    b.facts.installed_kbs = facts.installed_kbs.clone();
    Ok(facts)
}

/// Uploads the script (and what it needs) if needed and runs it, with the
/// stage's budget.
pub(crate) async fn run(
    b: &mut Build<'_>,
    vm: &VmId,
    script: &str,
    args: &[Arg<'_>],
) -> Result<crate::pipeline::guest::ScriptResult, StageError> {
    let budget = b.wait_budget();
    let mut uploaded = std::mem::take(&mut b.facts.uploaded);
    let ensured = b.guest(vm).ensure_scripts(&mut uploaded, script).await;
    b.facts.uploaded = uploaded;
    ensured?;
    b.guest(vm).run_script(script, args, budget).await
}

/// Reboots the guest and waits until it is back: Tools running and guest
/// operations ready again, and collect-facts reporting a new boot (a later
/// boot time where the guest reports one; no reboot pending otherwise).
/// Returns the new boot's facts: they are already an independent read-out
/// taken after the reboot, so a caller that checks the guest next uses
/// them instead of running collect-facts again.
pub(crate) async fn reboot_and_wait(
    b: &mut Build<'_>,
    vm: &VmId,
) -> Result<GuestFacts, StageError> {
    let before = collect_facts(b, vm).await?.last_boot_time;
    b.client
        .guest_reboot(vm)
        .await
        .map_err(StageError::vsphere(format!("reboot the guest of {vm}")))?;
    let budget = b.wait_budget();
    let started = tokio::time::Instant::now();
    loop {
        let waited = b
            .client
            .wait_for_guest_operations(vm, budget.saturating_sub(started.elapsed()))
            .await;
        if let Err(source) = waited {
            return Err(StageError::Vsphere {
                what: format!("wait for {vm} to come back from its reboot"),
                source,
            });
        }
        let facts = collect_facts(b, vm).await?;
        let rebooted = match (&before, &facts.last_boot_time) {
            (Some(a), Some(b)) => a != b,
            _ => !facts.reboot_pending,
        };
        if rebooted {
            b.checks.expect(
                "guest rebooted",
                "a new boot",
                facts
                    .last_boot_time
                    .clone()
                    .unwrap_or_else(|| "no reboot pending".into()),
                true,
            )?;
            return Ok(facts);
        }
        if started.elapsed() >= budget {
            return b
                .checks
                .expect("guest rebooted", "a new boot", "the same boot", false)
                .map(|()| facts);
        }
        tokio::time::sleep(b.client.poll_interval().max(Duration::from_millis(10))).await;
    }
}
