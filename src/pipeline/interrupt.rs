//! Ctrl-C and SIGTERM as a value the engine can wait on.
//!
//! A signal does not kill the process: it cancels the running stage at its
//! next await point, and the engine then powers off and deletes the build
//! VM (unless asked to keep it) and logs out, so an interrupted build leaves
//! nothing behind. A second signal during that cleanup is ignored on
//! purpose; `kill -9` remains, and `gild cleanup` / `--resume` handle it.

use std::sync::{Arc, OnceLock};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
pub struct Interrupt {
    token: CancellationToken,
    signal: Arc<OnceLock<&'static str>>,
}

impl Interrupt {
    pub fn new() -> Self {
        Self::default()
    }

    /// Listens for SIGINT and SIGTERM for the rest of the process.
    pub fn listen(&self) {
        let me = self.clone();
        tokio::spawn(async move {
            let name = wait_for_signal().await;
            me.raise(name);
        });
    }

    /// Marks the build interrupted by `signal` (tests call this directly).
    pub fn raise(&self, signal: &'static str) {
        let _ = self.signal.set(signal);
        self.token.cancel();
    }

    pub fn signal(&self) -> Option<&'static str> {
        self.signal.get().copied()
    }

    pub async fn raised(&self) -> &'static str {
        self.token.cancelled().await;
        self.signal().unwrap_or("a signal")
    }

    /// The conventional exit status: 128 + the signal number.
    pub fn exit_code(&self) -> Option<u8> {
        match self.signal()? {
            "SIGTERM" => Some(143),
            _ => Some(130),
        }
    }
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}
