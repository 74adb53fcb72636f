//! Guest processes of one VM: pids, run time, exit, and the 5-minute
//! retention vCenter keeps an exited process for. The guest model decides
//! what a program does and how long it takes; this part decides when.

use super::{Machine, Pending, PowerEffect};
use crate::simulator::faults::FaultKind;
use crate::simulator::guest::GuestError;
use crate::vsphere::wire::{GuestPid, ProcessSpec};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long vCenter keeps an exited process's `finished`/`exit_code`.
pub const PROCESS_RETENTION: Duration = Duration::from_secs(300);

/// The exit code of a process the guest did not let finish (killed by a
/// power-off or reset, or by `processes/{pid}?action=delete`, which calls
/// TerminateProcess the way vmtoolsd does).
const KILLED_EXIT_CODE: i64 = 1;

#[derive(Clone, Debug)]
pub struct GuestProcess {
    pub name: String,
    pub command: String,
    pub owner: String,
    pub started: chrono::DateTime<chrono::Utc>,
    /// `None` while it hangs forever.
    ends_at: Option<Instant>,
    finished: Option<chrono::DateTime<chrono::Utc>>,
    exit_code: i64,
}

impl GuestProcess {
    pub fn is_finished(&self, now: Instant) -> bool {
        self.ends_at.is_some_and(|end| end <= now)
    }

    /// When it exited and with which code, once it has (as of `now`).
    pub fn exit(&self, now: Instant) -> Option<(chrono::DateTime<chrono::Utc>, i64)> {
        self.is_finished(now).then(|| {
            (
                self.finished.unwrap_or_else(chrono::Utc::now),
                self.exit_code,
            )
        })
    }

    fn kill(&mut self, now: Instant) {
        if !self.is_finished(now) {
            self.ends_at = Some(now);
            self.exit_code = KILLED_EXIT_CODE;
        }
    }
}

#[derive(Clone, Debug)]
pub(super) struct Processes {
    by_pid: BTreeMap<i64, GuestProcess>,
    next_pid: i64,
}

impl Default for Processes {
    fn default() -> Self {
        Processes {
            by_pid: BTreeMap::new(),
            next_pid: 4000,
        }
    }
}

impl Processes {
    /// Every running process ends now (the guest went down).
    pub(super) fn kill_all(&mut self, now: Instant) {
        self.by_pid.values_mut().for_each(|p| p.kill(now));
    }

    /// Moves the exit of every process still running at `since` by `by`
    /// (the VM was suspended from `since` for `by`).
    pub(super) fn shift(&mut self, since: Instant, by: Duration) {
        for p in self.by_pid.values_mut() {
            if let Some(end) = p.ends_at.filter(|end| *end > since) {
                p.ends_at = Some(end + by);
            }
        }
    }

    /// Stamps exits that are due and forgets processes past retention.
    pub(super) fn settle(&mut self, now: Instant) {
        self.by_pid
            .retain(|_, p| p.ends_at.is_none_or(|end| end + PROCESS_RETENTION > now));
        for p in self.by_pid.values_mut() {
            if let (None, Some(end)) = (p.finished, p.ends_at.filter(|end| *end <= now)) {
                // Wall-clock exit time: as long ago as the exit instant is.
                let ago = chrono::Duration::from_std(now - end).unwrap_or_default();
                p.finished = Some(chrono::Utc::now() - ago);
            }
        }
    }
}

impl Machine {
    /// Starts a guest process; the guest model applies its effects now and
    /// says how it ends, timing and faults decide when.
    pub fn start_process(
        &mut self,
        now: Instant,
        user: &str,
        spec: &ProcessSpec,
        fault: Option<FaultKind>,
    ) -> Result<GuestPid, GuestError> {
        let outcome = self.guest.run_process(spec)?;
        let run_for = outcome.duration.max(self.timing.process_default);
        let (ends_at, exit_code) = match fault {
            Some(FaultKind::ProcessHang { .. }) => (None, 0),
            Some(FaultKind::ProcessExit { code, .. }) => (Some(now + run_for), code),
            _ => (Some(now + run_for), outcome.exit_code),
        };
        // The guest model sizes the delays from the GuestTiming set in
        // `set_timing`, so sysprep's power-off follows `timing.sysprep`.
        if let (Some(end), Some(effect)) = (ends_at, outcome.after_exit) {
            match effect {
                PowerEffect::PowerOff { after } => self.schedule(end + after, Pending::PowerOff),
                PowerEffect::Reboot { after } => self.schedule(end + after, Pending::Reboot),
            }
        }
        let processes = &mut self.processes;
        processes.next_pid += 4;
        let pid = processes.next_pid;
        if outcome.tools_restarted {
            // The process restarted VMTools: the new vmtoolsd does not know
            // the processes the old one started (open-vm-tools vixTools.c
            // keeps them in memory), so vCenter lists nothing for this pid
            // and its exit code is lost.
            return Ok(GuestPid(pid));
        }
        let name = spec
            .path
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(&spec.path)
            .to_string();
        let command = match &spec.arguments {
            Some(args) if !args.is_empty() => format!("\"{}\" {}", spec.path, args),
            _ => format!("\"{}\"", spec.path),
        };
        processes.by_pid.insert(
            pid,
            GuestProcess {
                name,
                command,
                owner: user.to_string(),
                started: chrono::Utc::now(),
                ends_at,
                finished: None,
                exit_code,
            },
        );
        Ok(GuestPid(pid))
    }

    pub fn processes(&self) -> impl Iterator<Item = (GuestPid, &GuestProcess)> {
        self.processes
            .by_pid
            .iter()
            .map(|(pid, p)| (GuestPid(*pid), p))
    }

    pub fn process(&self, pid: GuestPid) -> Option<&GuestProcess> {
        self.processes.by_pid.get(&pid.0)
    }

    /// Terminates a process (no effect once it has exited); `None` if unknown.
    pub fn terminate_process(&mut self, now: Instant, pid: GuestPid) -> Option<()> {
        self.processes.by_pid.get_mut(&pid.0).map(|p| p.kill(now))
    }
}
