//! The address watch: proof that the address the network stage recorded
//! stays the guest's, without holding the build up for it.
//!
//! The network stage checks the first usable address and starts the watch
//! with that one poll. VMware Tools reports the guest's addresses to
//! vCenter once per guestinfo poll (30 s by default:
//! `GUESTINFO_TIME_INTERVAL_MSEC` in open-vm-tools' guestInfoServer.c), so
//! polls seconds apart mostly re-read one report; spread over the build
//! they span several reports and cost no waiting. So the remaining polls
//! are made at the start of later guest stages, each at least one client
//! poll interval after the last agreeing one, and a different address
//! fails the stage that saw it. Sysprep completes the watch if it is still
//! short (polling at the interval, as the network stage once did) and then
//! reads the address once more right before generalizing; a run without
//! sysprep completes it at the end of its last guest stage, so the check is
//! never silently left out.
//!
//! [`AddressWatch`] keeps the rules (what counts as agreeing, when a poll
//! is due, when the watch is complete); the functions below do the reads
//! for [`Build`] and record the checks.

use super::Build;
use crate::pipeline::config::{StageConfig, STAGE_NAMES};
use crate::pipeline::error::StageError;
use crate::pipeline::state::StateData;
use crate::vsphere::wire::VmId;
use std::net::Ipv4Addr;
use std::time::Duration;
use tokio::time::Instant;

/// `stable_polls` when the pipeline does not say.
pub const DEFAULT_STABLE_POLLS: u32 = 3;

/// The name of the check the watch records.
pub const STABLE: &str = "address stable";

/// What one poll found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Poll {
    /// The recorded address again.
    Agreed,
    /// No IPv4 address reported (Tools restarting after a reboot, the
    /// report not in yet): no evidence either way.
    NotReported,
    /// Another address: the recorded one is not the guest's.
    Changed { from: String, to: String },
}

/// The address the network stage recorded and how many polls have seen it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressWatch {
    address: String,
    /// Polls that saw `address`, the network stage's first included.
    agreed: u32,
    needed: u32,
    /// When the last agreeing poll was; `None` when rebuilt from a state
    /// file, whose time is gone: the next poll is due at once.
    last: Option<Instant>,
}

impl AddressWatch {
    /// The network stage's first poll saw `address`.
    pub fn start(address: &str, needed: u32, now: Instant) -> Self {
        AddressWatch {
            address: address.to_string(),
            agreed: 1,
            needed: needed.max(1),
            last: Some(now),
        }
    }

    /// A resumed build: the address the state file recorded, with the
    /// network stage's poll, or complete when a recorded stage passed the
    /// watch's check.
    pub fn resumed(address: &str, needed: u32, complete: bool) -> Self {
        let needed = needed.max(1);
        AddressWatch {
            address: address.to_string(),
            agreed: if complete { needed } else { 1 },
            needed,
            last: None,
        }
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn agreed(&self) -> u32 {
        self.agreed
    }

    pub fn needed(&self) -> u32 {
        self.needed
    }

    pub fn is_complete(&self) -> bool {
        self.agreed >= self.needed
    }

    /// How long until the next poll may count: polls closer than one poll
    /// interval re-read the same report and prove nothing more. Zero when
    /// due, `None` when complete.
    pub fn wait(&self, now: Instant, interval: Duration) -> Option<Duration> {
        if self.is_complete() {
            return None;
        }
        Some(self.last.map_or(Duration::ZERO, |t| {
            (t + interval).saturating_duration_since(now)
        }))
    }

    pub fn due(&self, now: Instant, interval: Duration) -> bool {
        self.wait(now, interval) == Some(Duration::ZERO)
    }

    /// Counts a poll made at `now` that saw `seen` (an IPv4 address or not).
    pub fn record(&mut self, now: Instant, seen: Option<&str>) -> Poll {
        match seen.filter(|ip| ip.parse::<Ipv4Addr>().is_ok()) {
            None => Poll::NotReported,
            Some(ip) if ip == self.address => {
                self.agreed += 1;
                self.last = Some(now);
                Poll::Agreed
            }
            Some(ip) => Poll::Changed {
                from: self.address.clone(),
                to: ip.to_string(),
            },
        }
    }

    /// The check's expected text while it holds.
    fn expected(&self) -> String {
        format!("{}, as in the network stage", self.address)
    }
}

/// The pipeline's `stable_polls`.
pub fn needed_polls(stages: &[StageConfig]) -> u32 {
    stages
        .iter()
        .find_map(|s| match s {
            StageConfig::Network(o) => o.stable_polls,
            _ => None,
        })
        .unwrap_or(DEFAULT_STABLE_POLLS)
        .max(1)
}

/// A resumed build's watch, from the state file: the address the network
/// stage recorded and whether a stage already passed the watch's check.
/// Its earlier polls' times are not recorded, so the remaining polls
/// start over from the network stage's one; a build resumed after sysprep
/// needs no watch (the VM is generalized and off).
pub fn from_state(state: &StateData, needed: u32) -> Option<AddressWatch> {
    let passed = |stage: &str| {
        state
            .stages
            .iter()
            .any(|s| s.stage == stage && s.status == crate::pipeline::state::StageStatus::Passed)
    };
    if !passed("network") || passed("sysprep") {
        return None;
    }
    let address = state.facts.ip_address.as_deref()?;
    let complete = state
        .stages
        .iter()
        .flat_map(|s| &s.checks)
        .any(|c| c.name == STABLE && c.passed);
    Some(AddressWatch::resumed(address, needed, complete))
}

fn position(stage: &str) -> usize {
    STAGE_NAMES
        .iter()
        .position(|s| *s == stage)
        .unwrap_or(usize::MAX)
}

/// Stages at whose start the watch polls: those after network that run
/// in the guest before sysprep (whose pre-checks do their own reads).
fn polls_at_start(stage: &str) -> bool {
    (position("network") + 1..position("sysprep")).contains(&position(stage))
}

/// Which stage of this run completes the watch when sysprep does not run:
/// the last guest stage from network on (the VM is off after sysprep).
pub fn finisher(to_run: &[&str]) -> Option<String> {
    if to_run.contains(&"sysprep") {
        return None;
    }
    to_run
        .iter()
        .rev()
        .find(|s| (position("network")..position("sysprep")).contains(&position(s)))
        .map(|s| s.to_string())
}

/// One read of the reported address. A 503 or a failed call is "nothing
/// reported": the watch asks again later, and a stage that must complete
/// it waits within its budget.
async fn read(b: &Build<'_>, vm: &VmId) -> Option<String> {
    match b.client.poll_guest_identity(vm).await {
        Ok(id) => id.and_then(|id| id.ip_address),
        Err(e) => {
            tracing::debug!(error = %e, "address watch: the guest identity is not readable now");
            None
        }
    }
}

/// A change fails the stage that saw it.
fn changed(b: &mut Build<'_>, name: &str, expected: String, poll: Poll) -> Result<(), StageError> {
    match poll {
        Poll::Changed { from, to } => {
            b.checks
                .expect(name, expected, format!("changed: {from} → {to}"), false)
        }
        _ => Ok(()),
    }
}

/// The network stage saw `ip` first: the watch starts with that poll (and
/// is complete at once when `stable_polls` is 1).
pub(super) fn start(b: &mut Build<'_>, ip: &str, needed: u32) {
    let watch = AddressWatch::start(ip, needed, Instant::now());
    let complete = watch.is_complete();
    b.watch_address(watch);
    if complete {
        record_stable(b);
    }
}

/// At a stage's start: one poll when it is due.
pub(super) async fn at_stage_start(b: &mut Build<'_>, stage: &str) -> Result<(), StageError> {
    let interval = b.client.poll_interval();
    let due = b
        .address
        .as_ref()
        .is_some_and(|w| w.due(Instant::now(), interval));
    if !due || !polls_at_start(stage) {
        return Ok(());
    }
    let Some(vm) = b.vm().cloned() else {
        return Ok(());
    };
    let seen = read(b, &vm).await;
    let Some(watch) = b.address.as_mut() else {
        return Ok(());
    };
    let poll = watch.record(Instant::now(), seen.as_deref());
    let expected = watch.expected();
    let complete = watch.is_complete();
    changed(b, STABLE, expected, poll)?;
    if complete {
        record_stable(b);
    }
    Ok(())
}

fn stable_expected(w: &AddressWatch, interval: Duration) -> String {
    format!(
        "the same address over {} polls, at least {} apart",
        w.needed(),
        humantime::format_duration(interval)
    )
}

/// Records the passed check once the watch is complete.
fn record_stable(b: &mut Build<'_>) {
    let Some(w) = &b.address else { return };
    let (expected, observed) = (
        stable_expected(w, b.client.poll_interval()),
        format!("{} over {} polls", w.address(), w.agreed()),
    );
    // Cannot fail: the watch agreed on every poll.
    let _ = b.checks.expect(STABLE, expected, observed, true);
}

/// Reads until an IPv4 address is reported or `deadline`, the client's
/// poll schedule apart (after a reboot Tools reports it a few seconds
/// after it starts).
async fn read_reported(b: &Build<'_>, vm: &VmId, deadline: Instant) -> Option<String> {
    let started = Instant::now();
    loop {
        if let Some(ip) = read(b, vm)
            .await
            .filter(|ip| ip.parse::<Ipv4Addr>().is_ok())
        {
            return Some(ip);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        let pause = b.client.poll_pause(started.elapsed());
        tokio::time::sleep(pause.min(deadline - now)).await;
    }
}

/// Makes the polls the watch still needs, at the poll interval, within
/// the stage's wait budget. Returns a summary when it had work to do.
pub(super) async fn complete(b: &mut Build<'_>, vm: &VmId) -> Result<Option<String>, StageError> {
    let Some(w) = &b.address else {
        return Ok(None);
    };
    if w.is_complete() {
        return Ok(None);
    }
    let interval = b.client.poll_interval();
    let budget = b.wait_budget();
    let deadline = Instant::now() + budget;
    while let Some(wait) = b
        .address
        .as_ref()
        .and_then(|w| w.wait(Instant::now(), interval))
    {
        let now = Instant::now();
        if now + wait > deadline {
            break;
        }
        tokio::time::sleep(wait).await;
        let seen = read_reported(b, vm, deadline).await;
        let Some(w) = b.address.as_mut() else { break };
        let poll = w.record(Instant::now(), seen.as_deref());
        let expected = w.expected();
        if poll == Poll::NotReported {
            break;
        }
        changed(b, STABLE, expected, poll)?;
    }
    let Some(w) = b.address.clone() else {
        return Ok(None);
    };
    if !w.is_complete() {
        // No address reported again, or no time left for the spacing.
        return b
            .checks
            .expect(
                STABLE,
                stable_expected(&w, interval),
                format!(
                    "{} over {} polls when the stage's {} for waiting ran out",
                    w.address(),
                    w.agreed(),
                    humantime::format_duration(budget)
                ),
                false,
            )
            .map(|_| None);
    }
    record_stable(b);
    Ok(Some(format!(
        "{} stable over {} polls",
        w.address(),
        w.agreed()
    )))
}

/// Sysprep's pre-check: the watch complete, then the address read once
/// more, right before generalizing, and still the recorded one. Nothing to
/// check when no network stage recorded an address.
pub(super) async fn confirm_before_sysprep(b: &mut Build<'_>, vm: &VmId) -> Result<(), StageError> {
    complete(b, vm).await?;
    let Some(address) = b.address.as_ref().map(|w| w.address().to_string()) else {
        return Ok(());
    };
    let deadline = Instant::now() + b.wait_budget();
    let seen = read_reported(b, vm, deadline).await;
    let expected = format!("{address}, as in the network stage");
    let name = "address unchanged before sysprep";
    match seen {
        Some(ip) if ip == address => b.checks.expect(name, expected, ip, true),
        Some(ip) => b
            .checks
            .expect(name, expected, format!("changed: {address} → {ip}"), false),
        None => b
            .checks
            .expect(name, expected, "no address reported in time", false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &str = "10.20.30.100";
    const EVERY: Duration = Duration::from_secs(2);

    #[test]
    fn polls_count_only_an_interval_apart_and_complete_at_the_needed_number() {
        let t0 = Instant::now();
        let mut w = AddressWatch::start(IP, 3, t0);
        assert_eq!((w.agreed(), w.is_complete()), (1, false));
        assert!(!w.due(t0 + Duration::from_millis(1999), EVERY), "too soon");
        assert_eq!(
            w.wait(t0 + Duration::from_millis(500), EVERY),
            Some(Duration::from_millis(1500))
        );
        assert!(w.due(t0 + EVERY, EVERY));
        assert_eq!(w.record(t0 + EVERY, Some(IP)), Poll::Agreed);
        assert!(!w.due(t0 + EVERY + Duration::from_secs(1), EVERY));
        assert_eq!(w.record(t0 + EVERY * 2, Some(IP)), Poll::Agreed);
        assert!(w.is_complete());
        assert_eq!(w.wait(t0 + EVERY * 9, EVERY), None, "nothing more to do");
        assert!(!w.due(t0 + EVERY * 9, EVERY));
    }

    #[test]
    fn another_address_is_a_change_and_none_is_no_evidence() {
        let t0 = Instant::now();
        let mut w = AddressWatch::start(IP, 3, t0);
        assert_eq!(w.record(t0 + EVERY, None), Poll::NotReported);
        assert_eq!(
            w.record(t0 + EVERY, Some("fe80::1")),
            Poll::NotReported,
            "not IPv4"
        );
        assert_eq!(w.agreed(), 1);
        assert!(
            w.due(t0 + EVERY, EVERY),
            "a poll that saw nothing does not reset the clock"
        );
        assert_eq!(
            w.record(t0 + EVERY, Some("10.20.30.200")),
            Poll::Changed {
                from: IP.into(),
                to: "10.20.30.200".into()
            }
        );
        assert_eq!(w.agreed(), 1);
    }

    #[test]
    fn a_resumed_watch_is_due_at_once_or_already_complete() {
        let now = Instant::now();
        let w = AddressWatch::resumed(IP, 3, false);
        assert_eq!(w.agreed(), 1);
        assert!(w.due(now, EVERY));
        assert!(AddressWatch::resumed(IP, 3, true).is_complete());
        assert!(
            AddressWatch::start(IP, 0, now).is_complete(),
            "at least the first poll"
        );
    }

    #[test]
    fn the_last_guest_stage_finishes_the_watch_when_sysprep_does_not_run() {
        assert_eq!(
            finisher(&["network", "openssh", "sysprep", "template"]),
            None
        );
        assert_eq!(finisher(&["network"]).as_deref(), Some("network"));
        assert_eq!(
            finisher(&["preflight", "network", "openssh", "template"]).as_deref(),
            Some("openssh")
        );
        assert_eq!(finisher(&["template", "publish"]), None);
        assert!(polls_at_start("openssh") && polls_at_start("unattend"));
        assert!(!polls_at_start("network") && !polls_at_start("sysprep"));
        assert!(!polls_at_start("tools") && !polls_at_start("template"));
    }
}
