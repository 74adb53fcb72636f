//! `powershell.exe`: its command line, and a small interpreter for the
//! statements a build pipeline sends with `-Command` or in its own scripts.
//!
//! `-File <script>` for a script in the [`super::scripts`] catalogue runs
//! that script's modelled effects; any other `.ps1` the guest holds is read
//! and interpreted. The interpreter knows the cmdlets pipelines use to check
//! and nudge state (services, paths, restarts), `if`/`else` on those, `exit`,
//! `throw` and `$ErrorActionPreference = 'Stop'`. Anything else fails with
//! "the term is not recognized", which is what PowerShell does with a
//! command it does not have — never a silent success.
//!
//! Exit codes follow Windows PowerShell 5.1: with `-Command` the code is 0
//! when the last statement succeeded and 1 otherwise; with `-File` it is 0
//! unless the script exits with a code or throws; a `-File` path that does
//! not exist gives -196608.

mod interpreter;
mod syntax;

use super::fs::GuestPath;
use super::{scripts, ProcessOutcome, WindowsGuest};
use base64::Engine;
use interpreter::{Interpreter, Mode};

/// PowerShell 5.1's exit code when `-File` names a missing or non-.ps1 file.
const EXIT_BAD_FILE: i64 = -196608;

enum Invocation {
    File { path: String, args: Vec<String> },
    Command(String),
    Interactive,
}

/// powershell.exe's own switches; unambiguous prefixes are accepted like
/// PowerShell does, and the short aliases people actually type.
fn parse_invocation(args: &[String]) -> Result<Invocation, String> {
    const TAKES_VALUE: &[&str] = &[
        "executionpolicy",
        "windowstyle",
        "inputformat",
        "outputformat",
        "version",
        "configurationname",
    ];
    const FLAGS: &[&str] = &[
        "noprofile",
        "noninteractive",
        "nologo",
        "noexit",
        "sta",
        "mta",
    ];
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        let Some(name) = arg
            .strip_prefix('-')
            .or_else(|| arg.strip_prefix('/'))
            .map(str::to_ascii_lowercase)
        else {
            return Ok(Invocation::Command(args[i..].join(" ")));
        };
        let rest = || args.get(i + 1..).unwrap_or(&[]).to_vec();
        match name.as_str() {
            "f" | "file" => {
                let path = args.get(i + 1).ok_or("-File needs a path")?.clone();
                return Ok(Invocation::File {
                    path,
                    args: args.get(i + 2..).unwrap_or(&[]).to_vec(),
                });
            }
            "c" | "command" => return Ok(Invocation::Command(rest().join(" "))),
            "e" | "ec" | "enc" | "encodedcommand" => {
                let encoded = args.get(i + 1).ok_or("-EncodedCommand needs a value")?;
                return decode_utf16_base64(encoded).map(Invocation::Command);
            }
            "ep" | "ex" | "exec" | "w" => i += 1,
            _ if FLAGS
                .iter()
                .any(|f| f.starts_with(name.as_str()) && name.len() >= 3) => {}
            _ if TAKES_VALUE
                .iter()
                .any(|f| f.starts_with(name.as_str()) && name.len() >= 2) =>
            {
                i += 1
            }
            _ => return Ok(Invocation::Command(args[i..].join(" "))),
        }
        i += 1;
    }
    Ok(Invocation::Interactive)
}

/// `-EncodedCommand` is base64 of UTF-16LE text.
fn decode_utf16_base64(encoded: &str) -> Result<String, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| format!("-EncodedCommand is not base64: {e}"))?;
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|pair| u16::from_le_bytes([pair[0], pair[1]]))
        .collect();
    String::from_utf16(&units).map_err(|e| format!("-EncodedCommand is not UTF-16LE: {e}"))
}

pub fn run(guest: &mut WindowsGuest, args: &[String]) -> ProcessOutcome {
    match parse_invocation(args) {
        // PowerShell prints the usage error and exits with 64 (EX_USAGE).
        Err(_) => ProcessOutcome::exited(64),
        Ok(Invocation::Interactive) => ProcessOutcome::exited(0),
        Ok(Invocation::Command(text)) => Interpreter::new(guest).run(&text, Mode::Command),
        Ok(Invocation::File { path, args }) => run_file(guest, &path, &args),
    }
}

fn run_file(guest: &mut WindowsGuest, path: &str, args: &[String]) -> ProcessOutcome {
    let Ok(script) = GuestPath::parse(path) else {
        return ProcessOutcome::exited(EXIT_BAD_FILE);
    };
    let is_ps1 = script
        .file_name()
        .is_some_and(|n| n.to_ascii_lowercase().ends_with(".ps1"));
    let content = match guest.fs.read_bytes(&script) {
        Ok(content) if is_ps1 => content,
        _ => return ProcessOutcome::exited(EXIT_BAD_FILE),
    };
    let name = script.file_name().unwrap_or_default();
    if let Some(def) = scripts::find(name, &content) {
        return scripts::run(guest, def, &script, args);
    }
    let text = String::from_utf8_lossy(&content).into_owned();
    Interpreter::new(guest).run(&text, Mode::File)
}
