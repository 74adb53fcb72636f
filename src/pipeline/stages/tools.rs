//! tools: VMware Tools running and guest operations ready, version at
//! least the target's minimum (11.0.6, the seed's) or the pipeline's; an
//! upgrade through vCenter when allowed, with the new version read back.
//! Then, as the first stage with guest operations, the guest's Windows
//! against the target: OS build and revision (UBR; only the build when a
//! windows_update stage will raise the revision) and the en-US display
//! language WMCO needs.

use super::Build;
use crate::pipeline::config::ToolsOptions;
use crate::pipeline::error::StageError;
use crate::pipeline::target::MIN_TOOLS;
use crate::vsphere::wire::{ToolsRunState, ToolsUpgradeSpec, ToolsVersion};
use crate::vsphere::VsphereError;
use std::time::Duration;

pub async fn run(b: &mut Build<'_>, o: &ToolsOptions) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let floor = ToolsVersion {
        major: MIN_TOOLS.0,
        minor: MIN_TOOLS.1,
        revision: MIN_TOOLS.2,
    };
    let min = match &o.min_version {
        Some(v) => ToolsVersion::parse(v).ok_or_else(|| {
            StageError::Precondition(format!(
                "tools.min_version {v:?} is not a version such as 11.0.6"
            ))
        })?,
        None => floor,
    }
    .max(floor);
    // Inside the stage's deadline, with room left to say why it failed.
    let wait = b.wait_budget();
    let mut version = wait_running(b, &vm, wait).await?;
    let mut upgraded = false;
    if version.is_some_and(|v| v < min) && o.upgrade {
        b.client
            .upgrade_tools(&vm, &ToolsUpgradeSpec::default())
            .await
            .map_err(StageError::vsphere(format!("upgrade VMware Tools in {vm}")))?;
        // The upgrade restarts Tools: wait for it to come back, then re-read.
        version = wait_running(b, &vm, wait).await?;
        upgraded = true;
    }
    let shown = version.map_or("unknown".to_string(), |v| v.to_string());
    b.checks.expect(
        "VMware Tools version",
        format!(
            ">= {min}{}",
            if o.upgrade { "" } else { " (upgrade: false)" }
        ),
        shown.clone(),
        version.is_some_and(|v| v >= min),
    )?;
    b.facts.tools_version = Some(shown.clone());
    // The first stage with guest operations: the guest's own account of
    // its Windows, against the target, before anything is installed.
    let facts = super::guest_steps::collect_facts(b, &vm).await?;
    let updates_follow = b
        .job
        .pipeline
        .stages
        .iter()
        .any(|s| matches!(s, crate::pipeline::config::StageConfig::WindowsUpdate(_)));
    let os = super::guest_steps::check_os(b, &facts, updates_follow)?;
    let language = super::guest_steps::check_language(b, &facts)?;
    Ok(format!(
        "Tools {shown} running{}, {os}, {language}",
        if upgraded { " (upgraded)" } else { "" }
    ))
}

/// Waits for Tools and guest operations and returns the running Tools
/// version from the wait's last read (no second read of the same state).
async fn wait_running(
    b: &mut Build<'_>,
    vm: &crate::vsphere::wire::VmId,
    wait: Duration,
) -> Result<Option<ToolsVersion>, StageError> {
    const WHAT: &str = "VMware Tools running, guest operations ready";
    match b.client.wait_for_tools(vm, wait).await {
        Ok(tools) => {
            b.checks
                .expect(WHAT, "RUNNING", state_name(tools.run_state), true)?;
            Ok(tools.version_number.map(ToolsVersion::from_number))
        }
        Err(VsphereError::Deadline { after, .. }) => {
            let observed = match b.client.tools(vm).await {
                Ok(t) => state_name(t.run_state),
                Err(_) => "unreadable",
            };
            b.checks
                .expect(
                    WHAT,
                    format!("RUNNING within {}", humantime::format_duration(after)),
                    observed,
                    false,
                )
                .map(|_| None)
        }
        Err(source) => Err(StageError::Vsphere {
            what: format!("wait for VMware Tools in {vm}"),
            source,
        }),
    }
}

fn state_name(state: ToolsRunState) -> &'static str {
    match state {
        ToolsRunState::Running => "RUNNING",
        ToolsRunState::ExecutingScripts => "EXECUTING_SCRIPTS",
        ToolsRunState::NotRunning => "NOT_RUNNING",
    }
}
