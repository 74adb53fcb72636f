//! The embedded simulator's request log of a build, summed in all and per
//! stage (`gild bench build`, and the tests that hold a build's request
//! count to the minimum in [`super::minimum`]).

use super::progress::Reporter;
use crate::simulator;
use std::sync::Arc;

/// Requests the embedded simulator answered, `"METHOD route"` → count.
pub type RouteCounts = std::collections::BTreeMap<String, u64>;

/// The requests of one stage of one build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageRequests {
    pub stage: String,
    /// The stage's wall time, as the engine measured it.
    pub wall: std::time::Duration,
    pub counts: RouteCounts,
    /// The stage's requests as the simulator logged them, in order: the
    /// timeline `gild bench build --timeline` prints.
    pub log: Vec<simulator::LogEntry>,
}

/// The embedded simulator's request log of a run, summed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestCounts {
    pub total: RouteCounts,
    /// By stage, in the order they ran; empty when several builds ran at
    /// once (their requests interleave in the one log). What no stage
    /// made (log in, log out) is [`RequestCounts::outside_stages`].
    pub stages: Vec<StageRequests>,
    /// How long starting the embedded simulator took (its CA and
    /// certificate are generated): no part of a build against a real
    /// vCenter, so a benchmark takes it out of gild's time.
    pub simulator_start: std::time::Duration,
}

impl RequestCounts {
    pub fn sum(counts: &RouteCounts) -> u64 {
        counts.values().sum()
    }

    /// The requests made before the first stage and after the last.
    pub fn outside_stages(&self) -> RouteCounts {
        let mut out = self.total.clone();
        for s in &self.stages {
            for (k, n) in &s.counts {
                if let Some(v) = out.get_mut(k) {
                    *v = v.saturating_sub(*n);
                }
            }
        }
        out.retain(|_, n| *n > 0);
        out
    }
}

/// Passes every event on, and notes where in the simulator's request log
/// each stage began and ended, so a stage's requests are the log between.
/// Only meaningful with one build at a time.
pub(crate) struct StageCounter {
    inner: Arc<dyn Reporter>,
    admin: simulator::Admin,
    state: std::sync::Mutex<(usize, Vec<StageRequests>)>,
}

impl StageCounter {
    pub(crate) fn new(inner: Arc<dyn Reporter>, admin: simulator::Admin) -> Self {
        StageCounter {
            inner,
            admin,
            state: std::sync::Mutex::new((0, Vec::new())),
        }
    }

    pub(crate) fn stages(&self) -> Vec<StageRequests> {
        self.state.lock().map(|s| s.1.clone()).unwrap_or_default()
    }
}

impl Reporter for StageCounter {
    fn stage_started(&self, pipeline: &str, stage: &str) {
        let at = self.admin.request_log().len();
        if let Ok(mut s) = self.state.lock() {
            s.0 = at;
        }
        self.inner.stage_started(pipeline, stage);
    }

    fn stage_finished(&self, pipeline: &str, record: &super::state::StageRecord, resumed: bool) {
        if !resumed && record.status != super::state::StageStatus::Skipped {
            let log = self.admin.request_log();
            if let Ok(mut s) = self.state.lock() {
                let mut counts = RouteCounts::new();
                let mine: Vec<simulator::LogEntry> = log.iter().skip(s.0).cloned().collect();
                for e in &mine {
                    *counts
                        .entry(format!("{} {}", e.method, e.route))
                        .or_default() += 1;
                }
                s.0 = log.len();
                s.1.push(StageRequests {
                    stage: record.stage.clone(),
                    wall: std::time::Duration::from_millis(record.duration_ms),
                    counts,
                    log: mine,
                });
            }
        }
        self.inner.stage_finished(pipeline, record, resumed);
    }

    fn note(&self, pipeline: &str, message: &str) {
        self.inner.note(pipeline, message);
    }
}
