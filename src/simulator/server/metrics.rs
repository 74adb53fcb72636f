//! The request log and connection count the server keeps. It depends on
//! nothing else in the simulator: the server records into it, `/_sim` and
//! [`super::super::Admin`] read it.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One answered `/api`, `/rest`, `/sdk` or transfer request, matched by a
/// route or not.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    pub method: String,
    /// The route template, `?action=` included
    /// (`/api/vcenter/vm/{vm}/power?action=start`), or `<unmatched>`.
    pub route: String,
    /// The path as requested (`/api/vcenter/vm/vm-42/power?action=start`),
    /// its action the only query parameter kept.
    pub path: String,
    pub status: u16,
    /// When the request arrived, in microseconds since the simulator
    /// started, and how long its answer took: with these the log is a
    /// timeline, and the gaps between one answer and the next request are
    /// the client's own time (its work and its poll pauses).
    pub at_us: u64,
    pub took_us: u64,
}

/// How many request-log entries are kept; older ones are dropped (the
/// per-route counts keep counting), so a long `serve` stays bounded.
pub const LOG_CAPACITY: usize = 100_000;

#[derive(Default)]
struct RequestLog {
    entries: std::collections::VecDeque<LogEntry>,
    counts: BTreeMap<String, u64>,
}

pub struct Metrics {
    log: Mutex<RequestLog>,
    connections: AtomicU64,
    started: std::time::Instant,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            log: Mutex::default(),
            connections: AtomicU64::default(),
            started: std::time::Instant::now(),
        }
    }
}

impl Metrics {
    fn with_log<T>(&self, f: impl FnOnce(&mut RequestLog) -> T) -> T {
        match self.log.lock() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// Microseconds since the simulator started, for [`LogEntry::at_us`].
    pub fn now_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }

    pub fn record(&self, entry: LogEntry) {
        self.with_log(|log| {
            *log.counts
                .entry(format!("{} {}", entry.method, entry.route))
                .or_insert(0) += 1;
            if log.entries.len() == LOG_CAPACITY {
                log.entries.pop_front();
            }
            log.entries.push_back(entry);
        })
    }

    /// The most recent entries, oldest first.
    pub fn log(&self) -> Vec<LogEntry> {
        self.with_log(|log| log.entries.iter().cloned().collect())
    }

    /// `"METHOD route"` → number of requests since start.
    pub fn counts(&self) -> BTreeMap<String, u64> {
        self.with_log(|log| log.counts.clone())
    }

    pub fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}
