//! sysprep: prepare-sysprep.ps1 (sshd stopped, OpenSSH host keys deleted:
//! sysprep keeps `C:\ProgramData`, so every clone would share them), then
//! check-sysprep.ps1's pre-checks (no reboot pending, no AppX package that
//! blocks generalize, rearm budget left, the answer file in place and
//! well-formed, no host keys, image state complete), each failing the stage
//! by name before sysprep runs, and the address the network stage recorded
//! still the guest's (the address watch completed, then one more read);
//! then `sysprep.exe /generalize /oobe /shutdown
//! /unattend:<file>`. Success is the VM powering off cleanly within the
//! timeout, as vCenter reports it — never a dropped guest connection, which
//! is what sysprep's shutdown looks like to any communicator. On failure the
//! tails of setupact.log and setuperr.log are fetched before anything is
//! cleaned up, and shown in the error.

use super::clone::power_name;
use super::guest_steps::run as run_script;
use super::Build;
use crate::pipeline::error::StageError;
use crate::pipeline::guest::Arg;
use crate::vsphere::wire::{GuestPid, VmId};
use crate::vsphere::wire::{PowerState, ProcessSpec};
use crate::vsphere::VmProperty;
use crate::vsphere::VmWatch;
use std::time::Duration;
use tokio::time::Instant;

pub const SYSPREP: &str = r"C:\Windows\System32\Sysprep\sysprep.exe";
const LOGS: [&str; 2] = [
    r"C:\Windows\System32\Sysprep\Panther\setupact.log",
    r"C:\Windows\System32\Sysprep\Panther\setuperr.log",
];
const LOG_TAIL_LINES: usize = 25;

pub async fn run(b: &mut Build<'_>) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let power = b
        .client
        .power(&vm)
        .await
        .map_err(StageError::vsphere(format!("read the power state of {vm}")))?;
    if power.state == PowerState::PoweredOff && b.template().is_none() {
        // A resumed build whose sysprep already shut the VM down.
        b.checks
            .expect_eq("VM powered off by sysprep", "POWERED_OFF", "POWERED_OFF")?;
        return Ok("already generalized and powered off".into());
    }
    let answer = super::unattend::guest_path(b);
    pre_checks(b, &vm, &answer).await?;

    let spec = ProcessSpec {
        path: SYSPREP.into(),
        arguments: Some(format!("/generalize /oobe /shutdown /unattend:{answer}")),
        ..ProcessSpec::default()
    };
    let pid = b
        .client
        .start_process(&vm, &b.job.secrets.guest, &spec)
        .await
        .map_err(StageError::vsphere(format!("start sysprep in {vm}")))?;
    let budget = b
        .wait_budget()
        .saturating_sub(Duration::from_secs(5).min(b.wait_budget() / 10));
    let mut watch = None;
    let outcome = wait_for_power_off(b, &vm, pid, budget, &mut watch).await;
    if let Some(w) = watch {
        w.close().await;
    }
    outcome
}

/// Until the VM is off (the stage's verdict), sysprep exits with an error
/// (the VM stays on) or `budget` passes. One look first: sysprep can be
/// over before a watch is set up. Then the PropertyCollector says when
/// the VM powers off (`watch`, closed by the caller), and at least every
/// eight poll intervals without a change the sysprep process is asked
/// whether it failed.
async fn wait_for_power_off<'c>(
    b: &mut Build<'c>,
    vm: &VmId,
    pid: GuestPid,
    budget: Duration,
    watch: &mut Option<VmWatch<'c>>,
) -> Result<String, StageError> {
    let client = b.client;
    let deadline = Instant::now() + budget;
    // Whole seconds: a held wait is counted in seconds (see `VmWatch::next`).
    let check_every = (client.poll_interval() * 8)
        .max(Duration::from_secs(1))
        .min(client.longest_wait());
    let read_power = || async {
        client
            .power(vm)
            .await
            .map_err(StageError::vsphere(format!("read the power state of {vm}")))
    };
    let mut power = read_power().await?;
    loop {
        if power.state == PowerState::PoweredOff {
            let clean = power.clean_power_off.unwrap_or(true);
            b.checks.expect(
                "VM powered off by sysprep",
                "POWERED_OFF, clean",
                format!(
                    "{}{}",
                    power_name(power.state),
                    if clean { ", clean" } else { ", not clean" }
                ),
                clean,
            )?;
            return Ok(format!("generalized; {vm} powered off cleanly"));
        }
        // While the guest still answers, a sysprep that exited with an
        // error is a failure now rather than at the timeout.
        if let Ok(info) = client.process(vm, &b.job.secrets.guest, pid).await {
            if let Some(code) = info.exit_code.filter(|c| *c != 0) {
                let logs = fetch_logs(b, vm).await;
                return b
                    .checks
                    .expect(
                        "sysprep",
                        "exit 0 and power off",
                        format!("exit code {code}; VM still on{logs}"),
                        false,
                    )
                    .map(|_| String::new());
            }
        }
        if Instant::now() >= deadline {
            let logs = fetch_logs(b, vm).await;
            return b
                .checks
                .expect(
                    "VM powered off by sysprep",
                    format!("POWERED_OFF within {}", humantime::format_duration(budget)),
                    format!("{}{logs}", power_name(power.state)),
                    false,
                )
                .map(|_| String::new());
        }
        if watch.is_none() {
            *watch = Some(client.watch_vm(vm, &[VmProperty::PowerState]).await);
        }
        let Some(w) = watch.as_mut() else { continue };
        let left = deadline.saturating_duration_since(Instant::now());
        // The power state was just read: wait for it to change.
        let seen = w
            .changed(check_every.min(left))
            .await
            .map_err(StageError::vsphere(format!(
                "watch the power state of {vm}"
            )))?;
        if seen.power == Some(PowerState::PoweredOff) {
            // The clean-shutdown flag is `/api`'s.
            power = read_power().await?;
        }
    }
}

/// The last lines of sysprep's logs, as text to append to an error.
async fn fetch_logs(b: &Build<'_>, vm: &VmId) -> String {
    let mut out = String::new();
    for log in LOGS {
        match b.client.download_bytes(vm, &b.job.secrets.guest, log).await {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                let tail = &lines[lines.len().saturating_sub(LOG_TAIL_LINES)..];
                out.push_str(&format!(
                    "\n--- {log} (last {} lines) ---\n{}",
                    tail.len(),
                    tail.join("\n")
                ));
            }
            Err(e) => out.push_str(&format!("\n--- {log}: not readable ({e}) ---")),
        }
    }
    out
}

/// The strings of a JSON array, joined; `none` when empty.
fn listed(v: &serde_json::Value, render: impl Fn(&serde_json::Value) -> Option<String>) -> String {
    let items: Vec<String> = v
        .as_array()
        .map(|a| a.iter().filter_map(&render).collect())
        .unwrap_or_default();
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// prepare-sysprep.ps1, then every check of check-sysprep.ps1 as a check of
/// this stage; the first that does not hold fails it.
async fn pre_checks(b: &mut Build<'_>, vm: &VmId, answer: &str) -> Result<(), StageError> {
    let prepared = run_script(b, vm, "prepare-sysprep.ps1", &[]).await?;
    let removed = listed(&prepared.details["removed_host_keys"], |k| {
        k.as_str().map(String::from)
    });
    let check = run_script(
        b,
        vm,
        "check-sysprep.ps1",
        &[Arg::Value("UnattendPath", answer.to_string())],
    )
    .await?;
    let d = &check.details;
    let sources = listed(&d["reboot_pending_sources"], |s| {
        s.as_str().map(String::from)
    });
    b.checks.expect(
        "no reboot pending",
        "none",
        sources.clone(),
        d["reboot_pending"] == false,
    )?;
    let appx = listed(&d["appx_blocking"], |p| {
        p["package_full_name"].as_str().map(String::from)
    });
    b.checks.expect(
        "no AppX package blocks generalize (installed for a user, not provisioned)",
        "none",
        appx.clone(),
        appx == "none",
    )?;
    let remaining = d["rearm"]["remaining"].as_u64().unwrap_or(0);
    let skip = d["rearm"]["skip_rearm"] == true;
    b.checks.expect(
        "sysprep rearm budget left",
        ">= 1 rearm (or SkipRearm 1 in the answer file)",
        format!("{remaining} left, SkipRearm {}", u8::from(skip)),
        remaining >= 1 || skip,
    )?;
    let exists = d["unattend"]["exists"] == true;
    let well_formed = d["unattend"]["well_formed"] == true;
    b.checks.expect(
        "answer file present and well-formed",
        answer.to_string(),
        match (exists, well_formed) {
            (false, _) => "missing".to_string(),
            (true, false) => "not well-formed XML".to_string(),
            (true, true) => answer.to_string(),
        },
        exists && well_formed,
    )?;
    let keys = listed(&d["ssh_host_keys"], |k| k.as_str().map(String::from));
    b.checks.expect(
        "OpenSSH host keys removed (each clone's sshd makes its own)",
        "none in C:\\ProgramData\\ssh",
        format!("{keys} left (deleted: {removed})"),
        keys == "none",
    )?;
    b.checks.expect_eq(
        "image state",
        "IMAGE_STATE_COMPLETE",
        d["image_state"].as_str().unwrap_or("unknown"),
    )?;
    // Anything check-sysprep found that the checks above do not name.
    let problems = listed(&d["problems"], |p| p.as_str().map(String::from));
    b.checks.expect(
        "check-sysprep.ps1 found nothing else",
        "ready",
        problems,
        d["ready"] == true,
    )?;
    // Last, so it is as close to generalizing as it can be and the guest
    // has had the scripts' time to report its address after a reboot.
    super::address::confirm_before_sysprep(b, vm).await
}
