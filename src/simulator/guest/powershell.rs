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

use super::cmdline;
use super::fs::GuestPath;
use super::system::ServiceStatus;
use super::{scripts, PowerEffect, ProcessOutcome, StartType, WindowsGuest};
use base64::Engine;
use std::time::Duration;

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
    if let Some(def) = scripts::find(name) {
        return scripts::run(guest, def, args);
    }
    let text = String::from_utf8_lossy(&content).into_owned();
    Interpreter::new(guest).run(&text, Mode::File)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Command,
    File,
}

enum Flow {
    Continue,
    Exit(i64),
    Throw,
}

struct Interpreter<'g> {
    guest: &'g mut WindowsGuest,
    stop_on_error: bool,
    last_ok: bool,
    effect: Option<PowerEffect>,
}

impl<'g> Interpreter<'g> {
    fn new(guest: &'g mut WindowsGuest) -> Self {
        Interpreter {
            guest,
            stop_on_error: false,
            last_ok: true,
            effect: None,
        }
    }

    fn run(mut self, text: &str, mode: Mode) -> ProcessOutcome {
        let exit_code = match self.block(&strip_comments(text)) {
            Flow::Exit(code) => code,
            Flow::Throw => 1,
            Flow::Continue if mode == Mode::Command && !self.last_ok => 1,
            Flow::Continue => 0,
        };
        ProcessOutcome {
            exit_code,
            duration: Duration::ZERO,
            after_exit: self.effect,
        }
    }

    fn block(&mut self, text: &str) -> Flow {
        for line in cmdline::split_outside_quotes(text, '\n') {
            for statement in cmdline::split_outside_quotes(&line, ';') {
                match self.statement(&statement) {
                    Flow::Continue => {}
                    other => return other,
                }
            }
        }
        Flow::Continue
    }

    fn statement(&mut self, statement: &str) -> Flow {
        let lower = statement.to_ascii_lowercase();
        if lower.starts_with("if") && statement[2..].trim_start().starts_with('(') {
            return self.if_statement(statement[2..].trim_start());
        }
        let words = ps_words(statement);
        let Some(verb) = words.first().map(|w| w.to_ascii_lowercase()) else {
            return Flow::Continue;
        };
        match verb.as_str() {
            "exit" => Flow::Exit(
                words
                    .get(1)
                    .and_then(|n| n.parse::<i32>().ok())
                    .map(i64::from)
                    .unwrap_or(0),
            ),
            "throw" => Flow::Throw,
            "param" | "[cmdletbinding()]" => Flow::Continue,
            v if v.starts_with('$') => self.assignment(statement),
            _ => {
                let ok = self.cmdlet(&verb, &words[1..]);
                // `-ErrorAction Stop` makes this one call's error terminating.
                if !ok
                    && named(&words[1..], "erroraction")
                        .is_some_and(|a| a.eq_ignore_ascii_case("stop"))
                {
                    return Flow::Throw;
                }
                self.outcome(ok)
            }
        }
    }

    /// A failed statement is a non-terminating error unless the script
    /// asked for `Stop`, which makes it terminating (exit 1).
    fn outcome(&mut self, ok: bool) -> Flow {
        self.last_ok = ok;
        if !ok && self.stop_on_error {
            Flow::Throw
        } else {
            Flow::Continue
        }
    }

    fn assignment(&mut self, statement: &str) -> Flow {
        let Some((target, value)) = statement.split_once('=') else {
            self.last_ok = true;
            return Flow::Continue;
        };
        let value = value.trim();
        if target.trim().eq_ignore_ascii_case("$ErrorActionPreference") {
            self.stop_on_error = cmdline::unquote(value).eq_ignore_ascii_case("stop");
            return Flow::Continue;
        }
        // `$x = Get-Service sshd` runs the cmdlet; literals just assign.
        match value.chars().next() {
            Some(c) if c.is_ascii_alphabetic() => self.statement(value),
            _ => Flow::Continue,
        }
    }

    /// `if (cond) { ... } elseif (cond) { ... } else { ... }`.
    fn if_statement(&mut self, text: &str) -> Flow {
        let Some((condition, rest)) = take_balanced(text, '(', ')') else {
            return self.outcome(false);
        };
        let Some((body, rest)) = take_balanced(rest.trim_start(), '{', '}') else {
            return self.outcome(false);
        };
        let holds = self.condition(condition);
        let rest = rest.trim_start();
        let lower = rest.to_ascii_lowercase();
        if holds {
            return self.block(body);
        }
        if lower.starts_with("elseif") {
            return self.if_statement(rest[6..].trim_start());
        }
        if lower.starts_with("else") {
            if let Some((body, _)) = take_balanced(rest[4..].trim_start(), '{', '}') {
                return self.block(body);
            }
        }
        Flow::Continue
    }

    fn condition(&mut self, text: &str) -> bool {
        let text = text.trim();
        let lower = text.to_ascii_lowercase();
        if let Some(inner) = lower
            .strip_prefix("-not ")
            .map(|_| &text[5..])
            .or_else(|| text.strip_prefix('!'))
        {
            return !self.condition(inner);
        }
        match lower.as_str() {
            "$true" => return true,
            "$false" => return false,
            _ => {}
        }
        // `(Get-Service sshd).Status -eq 'Running'`
        if let Some((lhs, rhs, negate)) = split_comparison(text) {
            let value = cmdline::unquote(rhs);
            let status = lhs
                .trim()
                .strip_prefix('(')
                .and_then(|l| l.split_once(')'))
                .and_then(|(call, prop)| {
                    let words = ps_words(call);
                    let is_get_service = words
                        .first()
                        .is_some_and(|w| w.eq_ignore_ascii_case("get-service"));
                    let name = named_or_positional(&words[1..], "name", 0)?;
                    let service = self.guest.services.get(&name)?;
                    match prop.trim_start_matches('.').to_ascii_lowercase().as_str() {
                        "status" if is_get_service => Some(format!("{:?}", service.status)),
                        "starttype" if is_get_service => Some(format!("{:?}", service.start_type)),
                        _ => None,
                    }
                });
            return status.is_some_and(|s| s.eq_ignore_ascii_case(value)) != negate;
        }
        let words = ps_words(text);
        let verb = words
            .first()
            .map(|w| w.to_ascii_lowercase())
            .unwrap_or_default();
        match verb.as_str() {
            "test-path" | "get-service" | "get-item" => self.cmdlet(&verb, &words[1..]),
            _ => false,
        }
    }

    /// Runs one cmdlet; returns whether it succeeded.
    fn cmdlet(&mut self, verb: &str, args: &[String]) -> bool {
        let guest = &mut *self.guest;
        let path_arg =
            || named_or_positional(args, "path", 0).and_then(|p| GuestPath::parse(&p).ok());
        let service_arg = || named_or_positional(args, "name", 0);
        match verb {
            "write-host" | "write-output" | "write-verbose" | "write-warning"
            | "write-information" | "out-null" | "set-strictmode" | "start-sleep"
            | "import-module" => true,
            "write-error" => false,
            "test-path" => path_arg().is_some_and(|p| guest.fs.exists(&p)),
            "get-item" => path_arg().is_some_and(|p| guest.fs.exists(&p)),
            "get-service" => service_arg().is_some_and(|n| guest.services.get(&n).is_some()),
            "start-service" | "stop-service" | "restart-service" => {
                let Some(service) = service_arg().and_then(|n| guest.services.get_mut(&n)) else {
                    return false;
                };
                if verb != "stop-service" && service.start_type == StartType::Disabled {
                    return false;
                }
                service.status = if verb == "stop-service" {
                    ServiceStatus::Stopped
                } else {
                    ServiceStatus::Running
                };
                true
            }
            "set-service" => {
                let Some(service) = service_arg().and_then(|n| guest.services.get_mut(&n)) else {
                    return false;
                };
                if let Some(start_type) = named(args, "startuptype") {
                    let Some(start_type) = StartType::parse(&start_type) else {
                        return false;
                    };
                    service.start_type = start_type;
                }
                match named(args, "status")
                    .map(|s| s.to_ascii_lowercase())
                    .as_deref()
                {
                    Some("running") => service.status = ServiceStatus::Running,
                    Some("stopped") => service.status = ServiceStatus::Stopped,
                    Some(_) => return false,
                    None => {}
                }
                true
            }
            "new-item" => {
                let Some(path) = path_arg() else { return false };
                let force = has_switch(args, "force");
                if named(args, "itemtype").is_some_and(|t| t.eq_ignore_ascii_case("directory")) {
                    if force && guest.fs.is_dir(&path) {
                        return true;
                    }
                    guest.fs.create_dir(&path, force).is_ok()
                } else {
                    let value = named(args, "value").unwrap_or_default();
                    guest.fs.write(&path, value.into(), force).is_ok()
                }
            }
            "remove-item" => {
                let Some(path) = path_arg() else { return false };
                if guest.fs.is_dir(&path) {
                    guest
                        .fs
                        .delete_dir(&path, has_switch(args, "recurse"))
                        .is_ok()
                } else {
                    guest.fs.delete_file(&path).is_ok()
                }
            }
            "restart-computer" => {
                self.effect = Some(PowerEffect::Reboot {
                    after: Duration::ZERO,
                });
                true
            }
            "stop-computer" => {
                self.effect = Some(PowerEffect::PowerOff {
                    after: Duration::ZERO,
                });
                true
            }
            // CommandNotFoundException: "The term 'x' is not recognized ...".
            _ => false,
        }
    }
}

/// Drops `# ...` line comments and `<# ... #>` blocks outside strings.
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), c) => out.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '<') if chars.peek() == Some(&'#') => {
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '#' && c == '>' {
                        break;
                    }
                    previous = c;
                }
            }
            (None, '#') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            (None, '\r') => {}
            (None, c) => out.push(c),
        }
    }
    out
}

/// Splits `text` at the first top-level `open`…`close` group: returns its
/// inside and what follows.
fn take_balanced(text: &str, open: char, close: char) -> Option<(&str, &str)> {
    let body = text.strip_prefix(open)?;
    let mut depth = 1usize;
    let mut quote: Option<char> = None;
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c == open => depth += 1,
            (None, c) if c == close => {
                depth -= 1;
                if depth == 0 {
                    return Some((&body[..i], &body[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// `a -eq b` / `a -ne b` (case-insensitive, like PowerShell's operators).
fn split_comparison(text: &str) -> Option<(&str, &str, bool)> {
    let lower = text.to_ascii_lowercase();
    for (op, negate) in [(" -eq ", false), (" -ne ", true)] {
        if let Some(i) = lower.find(op) {
            return Some((&text[..i], &text[i + op.len()..], negate));
        }
    }
    None
}

/// PowerShell argument words: whitespace-separated, single or double quotes
/// group and are removed.
fn ps_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut current));
                    in_word = false;
                }
            }
            (None, c) => {
                current.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// The value of `-Name value` or `-Name:value`.
fn named(args: &[String], name: &str) -> Option<String> {
    args.iter().enumerate().find_map(|(i, arg)| {
        let flag = arg.strip_prefix('-')?;
        match flag.split_once(':') {
            Some((key, value)) if key.eq_ignore_ascii_case(name) => Some(value.to_string()),
            None if flag.eq_ignore_ascii_case(name) => args.get(i + 1).cloned(),
            _ => None,
        }
    })
}

fn has_switch(args: &[String], name: &str) -> bool {
    args.iter().any(|arg| {
        arg.strip_prefix('-').is_some_and(|f| {
            f.split(':')
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(name))
        })
    })
}

/// `-Name value`, or else the `position`-th argument that is neither a
/// `-Flag` nor a flag's value.
fn named_or_positional(args: &[String], name: &str, position: usize) -> Option<String> {
    if let Some(value) = named(args, name) {
        return Some(value);
    }
    let mut positional = Vec::new();
    let mut skip_next = false;
    for arg in args {
        if skip_next {
            skip_next = false;
        } else if let Some(flag) = arg.strip_prefix('-') {
            // Known switches take no value; every other flag consumes the next word.
            skip_next =
                !flag.contains(':') && !SWITCHES.iter().any(|s| s.eq_ignore_ascii_case(flag));
        } else {
            positional.push(arg.clone());
        }
    }
    positional.into_iter().nth(position)
}

const SWITCHES: &[&str] = &[
    "force", "recurse", "passthru", "confirm", "whatif", "verbose",
];
