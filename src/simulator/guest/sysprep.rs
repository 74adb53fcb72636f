//! `sysprep.exe`: generalize the image and shut down.
//!
//! The model checks what makes real sysprep runs fail in image pipelines:
//! contradictory flags, a missing or malformed answer file, a servicing
//! operation still waiting for its reboot, an AppX package installed for a
//! user but not provisioned for all users, and a spent rearm budget (each
//! generalize without `SkipRearm=1` spends one of Microsoft's three rearms).
//! It leaves `C:\ProgramData` alone: OpenSSH host keys survive it.
//! Failures leave the VM running and explain themselves in setuperr.log, as
//! sysprep does; success powers the VM off (or reboots it) once sysprep's
//! own run time has passed.

use super::fs::GuestPath;
use super::programs::write_setuperr;
use super::{PowerEffect, ProcessOutcome, WindowsGuest};
use quick_xml::events::Event;
use std::time::Duration;

/// Sysprep has no documented exit codes; a failed run ends with 1 after
/// showing "A fatal error occurred", which is what callers see.
const EXIT_FAILED: i64 = 1;
/// What sysprep does with invalid flags (it shows usage and exits).
const EXIT_USAGE: i64 = 87;

#[derive(Default)]
struct Flags {
    generalize: bool,
    oobe: bool,
    audit: bool,
    shutdown: bool,
    reboot: bool,
    quit: bool,
    unattend: Option<String>,
}

fn parse_flags(args: &[String]) -> Result<Flags, String> {
    let mut flags = Flags::default();
    for arg in args {
        let lower = super::cmdline::switch_name(arg);
        match lower.as_str() {
            "/generalize" => flags.generalize = true,
            "/oobe" => flags.oobe = true,
            "/audit" => flags.audit = true,
            "/shutdown" => flags.shutdown = true,
            "/reboot" => flags.reboot = true,
            "/quit" => flags.quit = true,
            "/quiet" | "/mode:vm" => {}
            _ if lower.starts_with("/unattend:") => {
                let path = &arg["/unattend:".len()..];
                flags.unattend = Some(super::cmdline::unquote(path).to_string());
            }
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    if flags.oobe && flags.audit {
        return Err("/oobe and /audit cannot be combined".into());
    }
    if [flags.shutdown, flags.reboot, flags.quit]
        .iter()
        .filter(|f| **f)
        .count()
        > 1
    {
        return Err("only one of /shutdown, /reboot and /quit may be given".into());
    }
    Ok(flags)
}

pub fn run(guest: &mut WindowsGuest, args: &[String]) -> ProcessOutcome {
    let flags = match parse_flags(args) {
        Ok(flags) => flags,
        Err(message) => {
            write_setuperr(
                guest,
                &[&format!(
                    "[0x0f0001] SYSPRP Invalid command line: {message}"
                )],
            );
            return ProcessOutcome::exited(EXIT_USAGE);
        }
    };
    let skip_rearm = match check_unattend(guest, flags.unattend.as_deref()) {
        Ok(skip_rearm) => skip_rearm,
        Err(line) => return fail(guest, &[&line]),
    };
    if guest.updates.reboot_pending() {
        return fail(guest, &["[0x0f0082] SYSPRP Sysprep_Clean_Validate_Opk: There are one or more Windows updates that require a reboot. To run Sysprep, reboot the computer and restart Sysprep."]);
    }
    // Generalize refuses a package a user has that new users would not get.
    let unprovisioned: Vec<String> = guest
        .appx
        .iter()
        .filter(|p| !p.provisioned && !p.users.is_empty())
        .map(|p| format!("SYSPRP Package {} was installed for a user, but not provisioned for all users. This package will not function properly in the sysprep image.", p.full_name))
        .collect();
    if flags.generalize && !unprovisioned.is_empty() {
        let mut lines: Vec<&str> = unprovisioned.iter().map(String::as_str).collect();
        lines.push("[0x0f0073] SYSPRP RunExternalDlls:An error occurred while running registry sysprep DLLs, halting sysprep execution. dwRet = 0x3cf2");
        return fail(guest, &lines);
    }
    if guest.sysprep.fail_injected {
        return fail(guest, &[
            "SYSPRP Package Microsoft.LanguageExperiencePackde-DE_19041.1.2.0_neutral__8wekyb3d8bbwe was installed for a user, but not provisioned for all users. This package will not function properly in the sysprep image.",
            "[0x0f0073] SYSPRP RunExternalDlls:An error occurred while running registry sysprep DLLs, halting sysprep execution. dwRet = 0x3cf2",
        ]);
    }
    if flags.generalize && !skip_rearm {
        if guest.sysprep.rearms_left == 0 {
            return fail(guest, &["[0x0f0082] SYSPRP LaunchDll:Failure occurred while executing 'sppgen.dll,Sysprep_Generalize_Sppgen', returned error code 0xc004d307 (the maximum allowed number of re-arms has been exceeded)"]);
        }
        guest.sysprep.rearms_left -= 1;
    }
    guest.sysprep.run_count += 1;
    guest.sysprep.image_state = match (flags.generalize, flags.audit) {
        (_, true) => "IMAGE_STATE_UNDEPLOYABLE",
        (true, false) => "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE",
        (false, false) => "IMAGE_STATE_SPECIALIZE_RESEAL_TO_OOBE",
    }
    .to_string();
    // A successful run leaves an empty error log behind, as sysprep does.
    write_setuperr(guest, &[]);
    let after_exit = if flags.shutdown {
        Some(PowerEffect::PowerOff {
            after: Duration::ZERO,
        })
    } else if flags.reboot {
        Some(PowerEffect::Reboot {
            after: Duration::ZERO,
        })
    } else {
        None
    };
    ProcessOutcome {
        exit_code: 0,
        duration: guest.timing.sysprep,
        after_exit,
        tools_restarted: false,
    }
}

fn fail(guest: &mut WindowsGuest, lines: &[&str]) -> ProcessOutcome {
    write_setuperr(guest, lines);
    ProcessOutcome::exited(EXIT_FAILED)
}

/// The answer file must exist and be well-formed XML; returns whether it
/// asks to skip the rearm (`<SkipRearm>1</SkipRearm>`).
pub(super) fn check_unattend(guest: &WindowsGuest, unattend: Option<&str>) -> Result<bool, String> {
    let Some(path) = unattend else {
        return Ok(false);
    };
    let content = GuestPath::parse(path)
        .and_then(|p| guest.fs.read_bytes(&p))
        .map_err(|e| format!("[0x0f0083] SYSPRP Unable to read the unattend file {path}: {e}"))?;
    let text = String::from_utf8_lossy(&content);
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut skip_rearm = false;
    let mut open: Vec<String> = Vec::new();
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "[0x0f0083] SYSPRP The unattend file {path} is not valid XML at byte {}: {e}",
                reader.buffer_position()
            )
        })?;
        match event {
            Event::Eof => break,
            Event::Start(tag) => {
                open.push(String::from_utf8_lossy(tag.local_name().as_ref()).into_owned())
            }
            Event::End(_) => {
                open.pop();
            }
            Event::Text(t) if open.last().is_some_and(|tag| tag == "SkipRearm") => {
                skip_rearm = t.unescape().map(|v| v.trim() == "1").unwrap_or(false);
            }
            _ => {}
        }
    }
    // quick-xml accepts a document that simply stops; Windows setup does not.
    if let Some(tag) = open.last() {
        return Err(format!(
            "[0x0f0083] SYSPRP The unattend file {path} is not valid XML: <{tag}> is never closed"
        ));
    }
    Ok(skip_rearm)
}
