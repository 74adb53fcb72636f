//! What a build prints while it runs: one line per stage with its duration
//! and what it verified. On a terminal a spinner shows the running stage
//! (indicatif, on stderr); in a CI log or a file the same lines are plain
//! text with no escape codes; `--log-format json` gives one JSON object per
//! event on stdout for machines.

use super::state::{StageRecord, StageStatus};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

pub trait Reporter: Send + Sync {
    fn stage_started(&self, pipeline: &str, stage: &str);
    fn stage_finished(&self, pipeline: &str, record: &StageRecord, resumed: bool);
    /// Something the user should read (throwaway credentials, a warning).
    fn note(&self, pipeline: &str, message: &str);
}

/// Lines for people. With several builds in one process (`--parallel`) each
/// line starts with the pipeline's name.
pub struct HumanReporter {
    prefix: bool,
    spinners: Option<Mutex<HashMap<String, ProgressBar>>>,
}

impl HumanReporter {
    pub fn new(prefix: bool) -> Self {
        let tty = std::io::stderr().is_terminal();
        HumanReporter {
            prefix,
            spinners: tty.then(|| Mutex::new(HashMap::new())),
        }
    }

    fn out(&self, pipeline: &str, line: &str) {
        let text = if self.prefix {
            format!("[{pipeline}] {line}")
        } else {
            line.to_string()
        };
        match self.spinner(pipeline) {
            Some(bar) => bar.println(text),
            None => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            }
        }
    }

    fn spinner(&self, pipeline: &str) -> Option<ProgressBar> {
        let spinners = self.spinners.as_ref()?.lock().ok()?;
        spinners.get(pipeline).cloned()
    }
}

pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

impl Reporter for HumanReporter {
    fn stage_started(&self, pipeline: &str, stage: &str) {
        let Some(spinners) = &self.spinners else {
            return;
        };
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(pipeline.to_string());
        bar.set_message(stage.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut map) = spinners.lock() {
            if let Some(old) = map.insert(pipeline.to_string(), bar) {
                old.finish_and_clear();
            }
        }
    }

    fn stage_finished(&self, pipeline: &str, record: &StageRecord, resumed: bool) {
        let mark = match (record.status, resumed) {
            (StageStatus::Passed, true) => "done",
            (StageStatus::Passed, false) => " ok ",
            (StageStatus::Failed, _) => "FAIL",
            (StageStatus::Skipped, _) => "skip",
        };
        let took = if resumed || record.status == StageStatus::Skipped {
            String::new()
        } else {
            format_duration(Duration::from_millis(record.duration_ms))
        };
        let line = format!(
            "[{mark}] {:<17} {:>7}  {}",
            record.stage, took, record.message
        );
        self.out(pipeline, &line);
        if let Some(spinners) = &self.spinners {
            if let Ok(mut map) = spinners.lock() {
                if let Some(bar) = map.remove(pipeline) {
                    bar.finish_and_clear();
                }
            }
        }
    }

    fn note(&self, pipeline: &str, message: &str) {
        self.out(pipeline, message);
    }
}

/// One JSON object per event on stdout.
pub struct JsonReporter;

impl JsonReporter {
    fn emit(value: serde_json::Value) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{value}");
        let _ = out.flush();
    }
}

impl Reporter for JsonReporter {
    fn stage_started(&self, pipeline: &str, stage: &str) {
        Self::emit(
            serde_json::json!({"event": "stage_started", "pipeline": pipeline, "stage": stage}),
        );
    }

    fn stage_finished(&self, pipeline: &str, record: &StageRecord, resumed: bool) {
        Self::emit(serde_json::json!({
            "event": "stage_finished", "pipeline": pipeline, "resumed": resumed, "record": record,
        }));
    }

    fn note(&self, pipeline: &str, message: &str) {
        Self::emit(serde_json::json!({"event": "note", "pipeline": pipeline, "message": message}));
    }
}

/// Collects events in memory (tests, benchmarks).
#[derive(Default)]
pub struct Recorded {
    pub lines: Mutex<Vec<String>>,
}

impl Reporter for Recorded {
    fn stage_started(&self, _pipeline: &str, _stage: &str) {}

    fn stage_finished(&self, pipeline: &str, record: &StageRecord, resumed: bool) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(format!(
                "{pipeline} {} {:?}{} {}",
                record.stage,
                record.status,
                if resumed { " (resumed)" } else { "" },
                record.message
            ));
        }
    }

    fn note(&self, pipeline: &str, message: &str) {
        if let Ok(mut l) = self.lines.lock() {
            l.push(format!("{pipeline} note {message}"));
        }
    }
}
