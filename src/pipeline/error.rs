//! The pipeline layer's errors.
//!
//! A stage fails with a [`StageError`] saying what it saw; the engine wraps
//! it in [`BuildError::Stage`] with the stage and the build VM, so the
//! printed chain (`{:#}`) reads "stage tools failed on win-build-… (vm-12):
//! VMware Tools: expected RUNNING, saw NOT_RUNNING" — the VM, the stage,
//! what was expected and what was seen, as SPEC asks of every stage.

use super::check::Check;
use crate::vsphere::VsphereError;
use std::path::PathBuf;
use std::time::Duration;

/// Why one stage did not complete.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// A verification did not hold.
    #[error("{}: expected {}, saw {}", check.name, check.expected, check.observed)]
    Check { check: Check },

    /// vCenter refused or failed a call.
    #[error("{what}")]
    Vsphere {
        what: String,
        #[source]
        source: VsphereError,
    },

    /// A guest script exited non-zero or reported failure in its result file.
    #[error("guest script {script} failed{}: {message}", exit_code.map(|c| format!(" (exit code {c})")).unwrap_or_default())]
    Script {
        script: String,
        exit_code: Option<i64>,
        message: String,
    },

    /// A local input the stage needs (a key file, an answer-file template)
    /// is missing or wrong.
    #[error("{what}: {path}: {reason}")]
    Input {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },

    /// The stage's own timeout passed.
    #[error("did not finish within its timeout of {}", humantime::format_duration(*after))]
    Timeout { after: Duration },

    /// The stage cannot run in this build (its precondition is not met).
    #[error("{0}")]
    Precondition(String),
}

impl StageError {
    pub fn vsphere(what: impl Into<String>) -> impl FnOnce(VsphereError) -> StageError {
        let what = what.into();
        move |source| StageError::Vsphere { what, source }
    }
}

/// Why a build stopped.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("stage {stage} failed on {vm}")]
    Stage {
        stage: &'static str,
        vm: String,
        #[source]
        source: StageError,
    },

    #[error("build of {pipeline} interrupted by {signal} during stage {stage}")]
    Interrupted {
        pipeline: String,
        signal: &'static str,
        stage: &'static str,
    },

    #[error("cannot connect to vCenter for {pipeline}")]
    Connect {
        pipeline: String,
        #[source]
        source: VsphereError,
    },

    #[error(transparent)]
    State(#[from] StateError),

    #[error("cannot write output {path}")]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{0}")]
    Plan(String),
}

impl BuildError {
    /// The user's input or environment is wrong (exit code 2), not the build.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, BuildError::Plan(_))
            || matches!(self, BuildError::State(StateError::Locked { .. }))
            || matches!(self, BuildError::State(StateError::Unfinished { .. }))
    }
}

/// The build's state file: where the lock and the resume point live.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {action} state file {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("state file {path} is not a gild state file")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    #[error(
        "another build of {pipeline} is running (pid {pid} on {host}, started {started}; \
         state file {path}); wait for it, or pass --force if that process is gone"
    )]
    Locked {
        pipeline: String,
        pid: u32,
        host: String,
        started: String,
        path: PathBuf,
    },

    #[error(
        "an earlier build of {pipeline} did not finish (build {build_id}, last stage {last_stage}, \
         VM {vm}; state file {path}): pass --resume to continue it, run `gild cleanup` to remove \
         what it left, or pass --force to start over"
    )]
    Unfinished {
        pipeline: String,
        build_id: String,
        last_stage: String,
        vm: String,
        path: PathBuf,
    },

    #[error("nothing to resume for {pipeline}: no unfinished build in {dir}")]
    NothingToResume { pipeline: String, dir: PathBuf },
}
