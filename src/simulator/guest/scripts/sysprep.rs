//! check-sysprep.ps1 and prepare-sysprep.ps1: what must hold right before
//! sysprep, and the OpenSSH host keys that must go.
//!
//! The pre-checks are the reasons sysprep itself fails (see the guest's
//! `sysprep` module: a pending reboot, an AppX package installed for a user
//! but not provisioned for all users, a spent rearm budget without
//! SkipRearm) plus one it does not catch: OpenSSH host keys left in
//! `C:\ProgramData\ssh`, which sysprep keeps, so every clone would share
//! them (SPEC "Guest-side facts").

use super::{effects::service_json, BoundArgs, Report};
use crate::simulator::guest::fs::GuestPath;
use crate::simulator::guest::openssh::SSH_DIR;
use crate::simulator::guest::system::ServiceStatus;
use crate::simulator::guest::WindowsGuest;
use serde_json::json;

pub(super) fn check_sysprep(guest: &mut WindowsGuest, args: &BoundArgs) -> Result<Report, String> {
    let mut problems = Vec::new();
    let reboot_sources = guest.updates.reboot_sources();
    if !reboot_sources.is_empty() {
        problems.push(format!(
            "a reboot is pending ({}); sysprep will not run until it has happened",
            reboot_sources.join(", ")
        ));
    }
    let blocking: Vec<_> = guest
        .appx
        .iter()
        .filter(|p| !p.provisioned && !p.users.is_empty())
        .collect();
    for package in &blocking {
        problems.push(format!(
            "AppX package {} is installed for {} but not provisioned for all users; remove it (Remove-AppxPackage -AllUsers) before sysprep",
            package.full_name,
            package.users.join(", ")
        ));
    }
    let unattend = args.get("UnattendPath").unwrap_or_default();
    let exists = GuestPath::parse(unattend).is_ok_and(|p| guest.fs.exists(&p));
    let (well_formed, skip_rearm) = if exists {
        match crate::simulator::guest::sysprep::check_unattend(guest, Some(unattend)) {
            Ok(skip) => (true, skip),
            Err(why) => {
                problems.push(format!(
                    "the answer file {unattend} is not well-formed XML: {why}"
                ));
                (false, false)
            }
        }
    } else {
        problems.push(format!("the answer file {unattend} does not exist"));
        (false, false)
    };
    let rearms = guest.sysprep.rearms_left;
    if rearms < 1 && !skip_rearm {
        problems.push("no rearm is left (RemainingWindowsReArmCount 0) and the answer file does not set SkipRearm to 1: generalize would fail with 0xc004d307".into());
    }
    let host_keys = guest.ssh_host_keys();
    if !host_keys.is_empty() {
        problems.push(format!(
            "OpenSSH host keys are still in {SSH_DIR} ({}): every clone would share them; run prepare-sysprep.ps1 first",
            host_keys.join(", ")
        ));
    }
    let image_state = guest.sysprep.image_state.clone();
    if image_state != "IMAGE_STATE_COMPLETE" {
        problems.push(format!("the image state is {image_state}, not IMAGE_STATE_COMPLETE: it was already generalized or setup did not finish"));
    }
    Ok(Report {
        changed: false,
        details: json!({
            "ready": problems.is_empty(),
            "problems": problems,
            "reboot_pending": !reboot_sources.is_empty(),
            "reboot_pending_sources": reboot_sources,
            "appx_blocking": blocking.iter().map(|p| json!({ "name": p.name, "package_full_name": p.full_name, "users": p.users })).collect::<Vec<_>>(),
            "rearm": { "remaining": rearms, "skip_rearm": skip_rearm },
            "unattend": { "path": unattend, "exists": exists, "well_formed": well_formed },
            "ssh_host_keys": host_keys,
            "image_state": image_state,
        }),
    })
}

pub(super) fn prepare_sysprep(
    guest: &mut WindowsGuest,
    args: &BoundArgs,
) -> Result<Report, String> {
    let mut changed = false;
    // sshd holds its keys and writes new ones whenever it starts without
    // any, so it is stopped first (and stays stopped until the clone boots).
    if args.does("Stop-Service -Name sshd") && guest.services.is_running("sshd") {
        guest.services.set_status("sshd", ServiceStatus::Stopped);
        changed = true;
    }
    let dir = GuestPath::parse(SSH_DIR).map_err(|e| e.to_string())?;
    let mut removed = Vec::new();
    if args.does(
        "Get-GildHostKeyNames | ForEach-Object {
            Remove-Item",
    ) {
        for name in guest.ssh_host_keys() {
            guest
                .fs
                .delete_file(&dir.join(&name))
                .map_err(|e| format!("could not delete {name}: {e}"))?;
            removed.push(name);
        }
    }
    changed |= !removed.is_empty();
    let left = guest.ssh_host_keys();
    if !left.is_empty() {
        return Err(format!(
            "could not delete the OpenSSH host keys {} in {SSH_DIR}",
            left.join(", ")
        ));
    }
    Ok(Report {
        changed,
        details: json!({
            "sshd": service_json(guest, "sshd"),
            "removed_host_keys": removed,
            "ssh_host_keys": left,
        }),
    })
}
