//! windows_update: install, reboot, repeat until nothing is left, bounded;
//! the OS build and revision checked against the target.

use super::{collect_facts, reboot_and_wait, run, Build};
use crate::pipeline::config::WindowsUpdateOptions;
use crate::pipeline::error::StageError;

pub async fn windows_update(
    b: &mut Build<'_>,
    o: &WindowsUpdateOptions,
) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let rounds = o.max_rounds.unwrap_or(5).max(1);
    let mut installed_total = Vec::new();
    let mut round = 0;
    loop {
        round += 1;
        let result = run(b, &vm, "windows-update.ps1", &[]).await?;
        let installed: Vec<String> = result
            .details
            .get("installed")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|k| {
                        k.as_str()
                            .map(String::from)
                            .or_else(|| k.get("kb").and_then(|x| x.as_str()).map(String::from))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let reboot = result
            .details
            .get("reboot_required")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        installed_total.extend(installed.iter().cloned());
        if reboot {
            // The round after a reboot reads the guest again; these
            // facts only prove the reboot happened.
            reboot_and_wait(b, &vm).await?;
        }
        if installed.is_empty() && !reboot {
            break;
        }
        if round >= rounds {
            b.checks.expect(
                "updates converge",
                format!("none pending within {rounds} rounds"),
                format!("round {round} still installed {}", installed.join(", ")),
                false,
            )?;
        }
    }
    let facts = collect_facts(b, &vm).await?;
    b.checks.expect(
        "no reboot pending",
        "false",
        facts.reboot_pending.to_string(),
        !facts.reboot_pending,
    )?;
    let os = super::check_os(b, &facts, false)?;
    b.facts
        .updates_installed
        .extend(installed_total.iter().cloned());
    Ok(format!(
        "{} update(s) in {round} round(s), {os}",
        installed_total.len()
    ))
}
