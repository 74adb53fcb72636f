//! The Windows programs the guest model can run, interpreted.
//!
//! Guest operations capture no output, so a program is modelled by what a
//! caller can observe: its exit code, the state it changes, and whether it
//! takes the VM down. Exit codes are the ones Windows uses (9009 for an
//! unknown cmd command, 1060 for a missing service, 2 for a missing file).

use super::cmdline;
use super::fs::GuestPath;
use super::system::ServiceStatus;
use super::{
    powershell, GuestError, PowerEffect, ProcessOutcome, StartType, WindowsGuest, CMD_PATH,
    ICACLS_PATH, POWERSHELL_PATH, SC_PATH, SETUPERR_LOG_PATH, SHUTDOWN_PATH, SYSPREP_PATH,
};
use crate::vsphere::wire::ProcessSpec;
use std::time::Duration;

/// `ERROR_INVALID_PARAMETER`, what Windows tools answer to bad flags.
const EXIT_INVALID_PARAMETER: i64 = 87;
/// Windows' default `shutdown /t` when none is given.
const DEFAULT_SHUTDOWN_DELAY_SECS: u64 = 30;

pub fn run(guest: &mut WindowsGuest, spec: &ProcessSpec) -> Result<ProcessOutcome, GuestError> {
    let cwd = match spec.working_directory.as_deref().filter(|d| !d.is_empty()) {
        Some(dir) => {
            let path = GuestPath::parse(dir)?;
            if !guest.fs.is_dir(&path) {
                return Err(GuestError::InvalidArgument(format!(
                    "working directory {dir} does not exist in the guest"
                )));
            }
            path
        }
        None => super::default_working_directory(),
    };
    guest.cwd = cwd;
    run_program(guest, &spec.path, spec.arguments.as_deref().unwrap_or(""))
}

/// Resolves `path` and runs it with the raw argument string `args`.
pub fn run_program(
    guest: &mut WindowsGuest,
    path: &str,
    args: &str,
) -> Result<ProcessOutcome, GuestError> {
    let program = GuestPath::parse(path)?;
    if !guest.fs.exists(&program) {
        return Err(GuestError::ProgramNotFound {
            path: program.display(),
        });
    }
    let known = program.display();
    let is = |candidate: &str| known.eq_ignore_ascii_case(candidate);
    if is(CMD_PATH) {
        Ok(cmd(guest, args))
    } else if is(POWERSHELL_PATH) {
        Ok(powershell::run(guest, &cmdline::split(args)))
    } else if is(ICACLS_PATH) {
        Ok(icacls(guest, &cmdline::split(args)))
    } else if is(SC_PATH) {
        Ok(sc(guest, &cmdline::split(args)))
    } else if is(SHUTDOWN_PATH) {
        Ok(shutdown(guest, &cmdline::split(args)))
    } else if is(SYSPREP_PATH) {
        Ok(super::sysprep::run(guest, &cmdline::split(args)))
    } else {
        // A file the model has no behaviour for (an uploaded binary, a text
        // file): refusing is honest; pretending it ran would be a fake result.
        Err(GuestError::NotExecutable { path: known })
    }
}

/// Folders of the default `PATH` that hold programs the model runs.
const PATH_DIRS: &[&str] = &[
    r"C:\Windows\System32",
    r"C:\Windows\System32\WindowsPowerShell\v1.0",
];

/// A program named the way a shell accepts it: an absolute path, or a bare
/// name (with or without `.exe`) found in a `PATH` folder.
pub fn resolve_program(guest: &WindowsGuest, name: &str) -> Option<String> {
    if GuestPath::parse(name).is_ok() {
        return Some(name.to_string());
    }
    if name.is_empty() || name.contains(['\\', '/', ':']) {
        return None;
    }
    let file = if name.to_ascii_lowercase().ends_with(".exe") {
        name.to_string()
    } else {
        format!("{name}.exe")
    };
    PATH_DIRS
        .iter()
        .filter_map(|dir| GuestPath::parse(&format!(r"{dir}\{file}")).ok())
        .find(|path| guest.fs.exists(path))
        .map(|path| path.display())
}

/// Re-quotes split arguments into one command line (MSVC rules), for
/// shells that hand their words on to another program.
pub fn join_args(args: &[String]) -> String {
    args.iter()
        .map(|arg| {
            if arg.is_empty() || arg.contains([' ', '\t', '"']) {
                format!("\"{}\"", arg.replace('"', "\\\""))
            } else {
                arg.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `cmd.exe /c <command>`: cmd takes the raw text after `/c`, strips one
/// pair of outer quotes, and runs `&`-separated commands in order.
fn cmd(guest: &mut WindowsGuest, args: &str) -> ProcessOutcome {
    let lower = args.to_ascii_lowercase();
    let Some(start) = ["/c ", "/k ", "/c\"", "/k\""]
        .iter()
        .filter_map(|flag| lower.find(flag))
        .min()
    else {
        // Without /c cmd would wait for console input; there is none.
        return ProcessOutcome::exited(0);
    };
    let command = cmdline::unquote(&args[start + 2..]).to_string();
    let mut outcome = ProcessOutcome::exited(0);
    for part in cmdline::split_outside_quotes(&command, '&') {
        let words = cmdline::split(&part);
        let Some((verb, rest)) = words.split_first() else {
            continue;
        };
        let target = rest
            .iter()
            .find(|w| !w.starts_with('/'))
            .map(String::as_str);
        let exists = |guest: &WindowsGuest| {
            target
                .and_then(|t| GuestPath::parse(t).ok())
                .is_some_and(|p| guest.fs.exists(&p))
        };
        let code = match verb.to_ascii_lowercase().as_str() {
            "exit" => {
                // `exit [/b] N`; cmd treats a non-number as 0.
                let code = rest
                    .iter()
                    .find(|w| !w.eq_ignore_ascii_case("/b"))
                    .and_then(|n| n.parse::<i32>().ok())
                    .unwrap_or(0);
                outcome.exit_code = i64::from(code);
                return outcome;
            }
            "echo" | "rem" | "ver" | "cls" => 0,
            "type" => i64::from(!exists(guest)),
            "del" | "erase" => {
                if let Some(p) = target.and_then(|t| GuestPath::parse(t).ok()) {
                    // del reports a missing file but still sets errorlevel 0.
                    let _ = guest.fs.delete_file(&p);
                }
                0
            }
            "mkdir" | "md" => match target.map(GuestPath::parse) {
                Some(Ok(p)) if !guest.fs.exists(&p) => {
                    i64::from(guest.fs.create_dir(&p, true).is_err())
                }
                _ => 1,
            },
            "rmdir" | "rd" => match target.map(GuestPath::parse) {
                Some(Ok(p)) => {
                    let recursive = rest.iter().any(|w| w.eq_ignore_ascii_case("/s"));
                    match guest.fs.delete_dir(&p, recursive) {
                        Ok(()) => 0,
                        Err(GuestError::NotFound { .. }) => 2,
                        Err(_) => 145,
                    }
                }
                _ => EXIT_INVALID_PARAMETER,
            },
            _ => {
                let (_, raw_args) = cmdline::split_first_word(&part);
                let started =
                    resolve_program(guest, verb).map(|path| run_program(guest, &path, raw_args));
                match started.and_then(Result::ok) {
                    Some(inner) => {
                        outcome.duration += inner.duration;
                        outcome.after_exit = inner.after_exit.or(outcome.after_exit);
                        inner.exit_code
                    }
                    // "'x' is not recognized as an internal or external command".
                    None => 9009,
                }
            }
        };
        outcome.exit_code = code;
    }
    outcome
}

/// `icacls <path> [/grant[:r] who:perm ...] [/remove[:g] who] [/inheritance:r|e|d]`.
fn icacls(guest: &mut WindowsGuest, args: &[String]) -> ProcessOutcome {
    let Some((target, options)) = args.split_first() else {
        return ProcessOutcome::exited(EXIT_INVALID_PARAMETER);
    };
    let path = match GuestPath::parse(target) {
        Ok(path) => path,
        Err(_) => return ProcessOutcome::exited(123), // ERROR_INVALID_NAME
    };
    let Ok(acl) = guest.fs.acl_mut(&path) else {
        return ProcessOutcome::exited(2); // ERROR_FILE_NOT_FOUND
    };
    let mut edited = acl.clone();
    let mut i = 0;
    while i < options.len() {
        let option = options[i].to_ascii_lowercase();
        let value = options.get(i + 1);
        match option.as_str() {
            "/inheritance:r" => edited.remove_inherited(),
            "/inheritance:e" | "/inheritance:d" => {}
            "/grant" | "/grant:r" => {
                let Some((who, rights)) = value.and_then(|v| v.rsplit_once(':')) else {
                    return ProcessOutcome::exited(EXIT_INVALID_PARAMETER);
                };
                edited.grant(who, &icacls_rights(rights));
                i += 1;
            }
            "/remove" | "/remove:g" | "/remove:d" => {
                let Some(who) = value else {
                    return ProcessOutcome::exited(EXIT_INVALID_PARAMETER);
                };
                edited.remove(who);
                i += 1;
            }
            "/q" | "/c" | "/t" | "/l" => {}
            _ => return ProcessOutcome::exited(EXIT_INVALID_PARAMETER),
        }
        i += 1;
    }
    *acl = edited;
    ProcessOutcome::exited(0)
}

/// The permission part of an icacls grant: `(OI)(CI)F` → `F`, `(RX)` → `RX`
/// (inheritance flags say where the entry propagates, not what it allows).
fn icacls_rights(spec: &str) -> String {
    const INHERITANCE_FLAGS: &[&str] = &["OI", "CI", "IO", "NP", "I"];
    spec.split(['(', ')'])
        .filter(|token| {
            !token.is_empty() && !INHERITANCE_FLAGS.contains(&token.to_ascii_uppercase().as_str())
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// `sc.exe query|start|stop|config <service> [start= auto]`.
fn sc(guest: &mut WindowsGuest, args: &[String]) -> ProcessOutcome {
    const NOT_INSTALLED: i64 = 1060;
    let (Some(verb), Some(name)) = (args.first(), args.get(1)) else {
        return ProcessOutcome::exited(EXIT_INVALID_PARAMETER);
    };
    let Some(service) = guest.services.get(name).cloned() else {
        return ProcessOutcome::exited(NOT_INSTALLED);
    };
    let code = match verb.to_ascii_lowercase().as_str() {
        "query" | "queryex" | "qc" => 0,
        "start" => match (service.status, service.start_type) {
            (ServiceStatus::Running, _) => 1056, // ERROR_SERVICE_ALREADY_RUNNING
            (_, StartType::Disabled) => 1058,    // ERROR_SERVICE_DISABLED
            _ => {
                guest.services.set_status(name, ServiceStatus::Running);
                0
            }
        },
        "stop" => match service.status {
            ServiceStatus::Stopped => 1062, // ERROR_SERVICE_NOT_ACTIVE
            ServiceStatus::Running => {
                guest.services.set_status(name, ServiceStatus::Stopped);
                0
            }
        },
        "config" => {
            let Some(service) = guest.services.get_mut(name) else {
                return ProcessOutcome::exited(NOT_INSTALLED);
            };
            // sc's odd syntax: `start=` and the value are separate arguments.
            let value = args
                .iter()
                .position(|a| a.eq_ignore_ascii_case("start="))
                .and_then(|i| args.get(i + 1));
            match value.map(|v| StartType::parse(v)) {
                Some(Some(start_type)) => {
                    service.start_type = start_type;
                    0
                }
                _ => EXIT_INVALID_PARAMETER,
            }
        }
        _ => EXIT_INVALID_PARAMETER,
    };
    ProcessOutcome::exited(code)
}

/// `shutdown.exe /r|/s [/t N] [/f] [/c "why"]`, `/a` to abort.
fn shutdown(guest: &WindowsGuest, args: &[String]) -> ProcessOutcome {
    let mut reboot = None;
    let mut delay = DEFAULT_SHUTDOWN_DELAY_SECS;
    let mut i = 0;
    while i < args.len() {
        match cmdline::switch_name(&args[i]).as_str() {
            "/r" | "/g" => reboot = Some(true),
            "/s" | "/p" => reboot = Some(false),
            // No shutdown is ever in progress once we return: nothing to abort.
            "/a" => return ProcessOutcome::exited(1116),
            "/t" => {
                match args.get(i + 1).and_then(|t| t.parse::<u64>().ok()) {
                    Some(seconds) if seconds <= 315_360_000 => delay = seconds,
                    _ => return ProcessOutcome::exited(EXIT_INVALID_PARAMETER),
                }
                i += 1;
            }
            "/c" | "/d" => i += 1,
            "/f" | "/hybrid" => {}
            _ => return ProcessOutcome::exited(EXIT_INVALID_PARAMETER),
        }
        i += 1;
    }
    let Some(reboot) = reboot else {
        return ProcessOutcome::exited(EXIT_INVALID_PARAMETER);
    };
    let after = Duration::from_secs(delay).min(guest.timing.max_shutdown_delay);
    let effect = if reboot {
        PowerEffect::Reboot { after }
    } else {
        PowerEffect::PowerOff { after }
    };
    ProcessOutcome {
        exit_code: 0,
        duration: Duration::ZERO,
        after_exit: Some(effect),
        tools_restarted: false,
    }
}

/// Appends a line in sysprep's log format to setuperr.log.
pub fn write_setuperr(guest: &mut WindowsGuest, lines: &[&str]) {
    let stamp = chrono::Utc::now().format("%Y-%m-%d %H:%M:%S");
    let text: String = lines
        .iter()
        .map(|line| format!("{stamp}, Error                 {line}\r\n"))
        .collect();
    if let Err(e) =
        GuestPath::parse(SETUPERR_LOG_PATH).and_then(|p| guest.fs.write(&p, text.into(), true))
    {
        tracing::error!(error = %e, "guest model: cannot write setuperr.log");
    }
}
