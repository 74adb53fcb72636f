//! The statement interpreter behind `-Command` and unknown `-File` scripts.

use super::syntax::{
    has_switch, named, named_or_positional, ps_words, split_comparison, strip_comments,
    take_balanced,
};
use crate::simulator::guest::cmdline;
use crate::simulator::guest::fs::GuestPath;
use crate::simulator::guest::programs::{join_args, resolve_program, run_program};
use crate::simulator::guest::system::ServiceStatus;
use crate::simulator::guest::{PowerEffect, ProcessOutcome, StartType, WindowsGuest};
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Command,
    File,
}

enum Flow {
    Continue,
    Exit(i64),
    Throw,
}

pub(super) struct Interpreter<'g> {
    guest: &'g mut WindowsGuest,
    stop_on_error: bool,
    last_ok: bool,
    last_exit_code: i64,
    effect: Option<PowerEffect>,
}

impl<'g> Interpreter<'g> {
    pub(super) fn new(guest: &'g mut WindowsGuest) -> Self {
        Interpreter {
            guest,
            stop_on_error: false,
            last_ok: true,
            last_exit_code: 0,
            effect: None,
        }
    }

    pub(super) fn run(mut self, text: &str, mode: Mode) -> ProcessOutcome {
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
            tools_restarted: false,
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
            "exit" => Flow::Exit(match words.get(1) {
                Some(v) if v.eq_ignore_ascii_case("$LASTEXITCODE") => self.last_exit_code,
                Some(n) => n.parse::<i32>().map(i64::from).unwrap_or(0),
                None => 0,
            }),
            "&" => self.native(
                words.get(1).map(String::as_str).unwrap_or(""),
                &words[2.min(words.len())..],
            ),
            _ if verb.ends_with(".exe") => self.native(&words[0], &words[1..]),
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

    /// An external program (`icacls.exe ...`, `& 'C:\path\tool.exe' ...`):
    /// sets `$LASTEXITCODE`; a non-zero code makes `$?` false but, as in
    /// PowerShell, is not an error record even under `Stop`.
    fn native(&mut self, program: &str, args: &[String]) -> Flow {
        let outcome = resolve_program(self.guest, program)
            .and_then(|path| run_program(self.guest, &path, &join_args(args)).ok());
        match outcome {
            Some(outcome) => {
                self.last_exit_code = outcome.exit_code;
                self.effect = outcome.after_exit.or(self.effect);
                self.last_ok = outcome.exit_code == 0;
                Flow::Continue
            }
            // "The term 'x' is not recognized": a real error.
            None => self.outcome(false),
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
        if let Some((inner, "")) =
            take_balanced(text, '(', ')').map(|(inner, rest)| (inner, rest.trim()))
        {
            return self.condition(inner);
        }
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
        // `(Get-Service sshd).Status -eq 'Running'`, `$LASTEXITCODE -ne 0`
        if let Some((lhs, rhs, negate)) = split_comparison(text) {
            let value = cmdline::unquote(rhs);
            if lhs.trim().eq_ignore_ascii_case("$LASTEXITCODE") {
                return (value.parse::<i64>().ok() == Some(self.last_exit_code)) != negate;
            }
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
                let Some(name) = service_arg() else {
                    return false;
                };
                let Some(service) = guest.services.get(&name) else {
                    return false;
                };
                if verb != "stop-service" && service.start_type == StartType::Disabled {
                    return false;
                }
                // Through Services, so a stop of VMTools is seen (it loses
                // the guest-operations process that asked for it).
                match verb {
                    "stop-service" => guest.services.set_status(&name, ServiceStatus::Stopped),
                    "restart-service" => guest.services.restart(&name),
                    _ => guest.services.set_status(&name, ServiceStatus::Running),
                }
            }
            "set-service" => {
                let Some(name) = service_arg() else {
                    return false;
                };
                let Some(service) = guest.services.get_mut(&name) else {
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
                    Some("running") => guest.services.set_status(&name, ServiceStatus::Running),
                    Some("stopped") => guest.services.set_status(&name, ServiceStatus::Stopped),
                    Some(_) => false,
                    None => true,
                }
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
