//! One line per step with its duration, and a spinner while a step runs
//! when stderr is a terminal. The lines go to stdout (they are the demo's
//! output, and a test reads them); the spinner goes to stderr so piping
//! stdout stays clean.

use indicatif::{ProgressBar, ProgressStyle};
use std::fmt::Display;
use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

pub struct Steps {
    total: usize,
    done: usize,
    started: Instant,
    spinner: bool,
}

impl Steps {
    pub fn new(total: usize) -> Self {
        Steps {
            total,
            done: 0,
            started: Instant::now(),
            spinner: std::io::stderr().is_terminal(),
        }
    }

    /// Runs one step: prints `[ n/N] name  12 ms  detail` on success and
    /// `[ n/N] name  FAILED after 12 ms` on failure (the error itself is the
    /// caller's to report, once).
    pub async fn run<T, E, F>(
        &mut self,
        name: &str,
        fut: F,
        detail: impl FnOnce(&T) -> String,
    ) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: Display,
    {
        self.done += 1;
        let label = format!("[{:>2}/{}] {name}", self.done, self.total);
        let bar = self.spinner.then(|| {
            let bar = ProgressBar::new_spinner();
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
                bar.set_style(style);
            }
            bar.set_message(label.clone());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        let t0 = Instant::now();
        let result = fut.await;
        let took = format_duration(t0.elapsed());
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        match &result {
            Ok(v) => {
                let d = detail(v);
                let sep = if d.is_empty() { "" } else { "  " };
                println!("{label:<52} {took:>9}{sep}{d}");
            }
            Err(_) => println!("{label:<52} FAILED after {took}"),
        }
        result
    }

    /// Numbers the next step as the last one: the closing step (log out)
    /// also runs after a failure skipped the steps in between.
    pub fn skip_to_last(&mut self) {
        self.done = self.done.max(self.total.saturating_sub(1));
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

pub fn format_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
