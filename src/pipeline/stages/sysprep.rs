//! sysprep: pre-checks (no reboot pending, rearm budget left, the answer
//! file in place), then `sysprep.exe /generalize /oobe /shutdown
//! /unattend:<file>`. Success is the VM powering off cleanly within the
//! timeout, as vCenter reports it — never a dropped guest connection, which
//! is what sysprep's shutdown looks like to any communicator. On failure the
//! tails of setupact.log and setuperr.log are fetched before anything is
//! cleaned up, and shown in the error.

use super::clone::power_name;
use super::guest_steps::collect_facts;
use super::Build;
use crate::pipeline::error::StageError;
use crate::vsphere::wire::VmId;
use crate::vsphere::wire::{PowerState, ProcessSpec};
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
    let facts = collect_facts(b, &vm).await?;
    b.checks.expect(
        "no reboot pending",
        "false",
        facts.reboot_pending.to_string(),
        !facts.reboot_pending,
    )?;
    if let Some(left) = facts.sysprep.rearms_left {
        b.checks.expect(
            "sysprep rearm budget left",
            ">= 1 rearm (or SkipRearm in the answer file)",
            format!("{left} left"),
            left >= 1,
        )?;
    }
    let answer_present = b
        .client
        .file_info(&vm, &b.job.secrets.guest, &answer)
        .await
        .is_ok();
    b.checks.expect(
        "answer file present",
        answer.clone(),
        if answer_present {
            answer.clone()
        } else {
            "missing".into()
        },
        answer_present,
    )?;

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
    let deadline = Instant::now() + budget;
    let started = Instant::now();
    loop {
        let power = b
            .client
            .power(&vm)
            .await
            .map_err(StageError::vsphere(format!("read the power state of {vm}")))?;
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
        if let Ok(info) = b.client.process(&vm, &b.job.secrets.guest, pid).await {
            if let Some(code) = info.exit_code.filter(|c| *c != 0) {
                let logs = fetch_logs(b, &vm).await;
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
            let logs = fetch_logs(b, &vm).await;
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
        let pause = b.client.poll_pause(started.elapsed());
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
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
