//! Runs one build: the pipeline's stages in order, each under its timeout
//! and racing Ctrl-C/SIGTERM, each recorded in the state file before the
//! next begins. On failure or interrupt the build VM is powered off and
//! deleted (unless the user keeps it), a half-made template is destroyed,
//! and the source VM and published templates are never touched.

use super::config::{Pipeline, StageConfig};
use super::error::{BuildError, StageError};
use super::interrupt::Interrupt;
use super::outputs;
use super::progress::Reporter;
use super::stages::{self, Build};
use super::state::{
    BuildState, BuildStatus, NewBuild, StageRecord, StageStatus, StartMode, StateStore,
    TemplateRecord,
};
use crate::secret::Secret;
use crate::vsphere::wire::GuestCredentials;
use crate::vsphere::Client;
use chrono::Utc;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What to do with the build VM when a build fails or is interrupted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OnError {
    /// Power it off and delete it.
    Cleanup,
    /// Leave it for inspection (`gild cleanup` removes it later).
    Keep,
}

#[derive(Clone, Debug)]
pub struct BuildOptions {
    pub on_error: OnError,
    pub start: StartMode,
    /// Run only these stages (names as in pipeline files).
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub state_dir: PathBuf,
    /// Where manifest, JUnit and MachineSet go.
    pub out_dir: PathBuf,
}

/// Passwords a build needs, resolved from env/file/stdin before it starts.
pub struct BuildSecrets {
    pub guest: GuestCredentials,
    /// The answer file's administrator password (unattend stage).
    pub admin_password: Option<Secret>,
}

/// Everything one build needs before it talks to vCenter.
pub struct BuildJob {
    pub pipeline: Pipeline,
    pub pipeline_path: PathBuf,
    /// Relative paths in the pipeline file resolve against this folder.
    pub base_dir: PathBuf,
    pub vcenter_url: String,
    pub secrets: BuildSecrets,
    pub options: BuildOptions,
    /// Names decided up front (see [`Names`]); a resumed build uses the
    /// names its first run recorded instead.
    pub names: Names,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    pub build_id: String,
    pub build_vm: String,
    pub template: String,
}

/// Default timeouts, for stages whose pipeline entry sets none. Generous:
/// a stage that times out has failed, and real Windows is slow.
pub fn default_timeout(stage: &str) -> Duration {
    let minutes = match stage {
        "preflight" | "machineset" => 2,
        "firewall" | "unattend" | "template" | "publish" => 10,
        "hardware" | "tools_conf" | "network" => 15,
        "clone" | "tools" | "openssh" | "scripts" | "sysprep" => 30,
        "container_runtime" => 45,
        "windows_update" => 180,
        _ => 30,
    };
    Duration::from_secs(minutes * 60)
}

/// How one build ended.
pub struct BuildOutcome {
    pub pipeline: String,
    pub status: BuildStatus,
    pub error: Option<BuildError>,
    pub template: Option<TemplateRecord>,
    pub outputs: outputs::Written,
    pub state_file: Option<PathBuf>,
    pub duration: Duration,
}

impl BuildOutcome {
    pub fn failed(pipeline: &str, error: BuildError) -> Self {
        BuildOutcome {
            pipeline: pipeline.to_string(),
            status: BuildStatus::Failed,
            error: Some(error),
            template: None,
            outputs: outputs::Written::default(),
            state_file: None,
            duration: Duration::ZERO,
        }
    }
}

/// Whether a stage runs in this invocation (`--only`, `--skip`).
fn selected(options: &BuildOptions, stage: &str) -> Result<(), &'static str> {
    if !options.only.is_empty() && !options.only.iter().any(|s| s == stage) {
        return Err("not in --only");
    }
    if options.skip.iter().any(|s| s == stage) {
        return Err("--skip");
    }
    Ok(())
}

/// Runs the build. Never returns early without releasing what it holds:
/// every path ends in [`finish`].
pub async fn run(
    job: &BuildJob,
    client: &Client,
    reporter: &dyn Reporter,
    interrupt: &Interrupt,
) -> BuildOutcome {
    let started = Instant::now();
    let name = job.pipeline.name.clone();
    let store = StateStore::new(&job.options.state_dir, &name);
    let new = NewBuild {
        pipeline: name.clone(),
        pipeline_file: job.pipeline_path.clone(),
        build_id: job.names.build_id.clone(),
        build_vm_name: job.names.build_vm.clone(),
        template_name: job.names.template.clone(),
        vcenter: job.vcenter_url.clone(),
    };
    let mut state = match store.begin(new, job.options.start) {
        Ok(s) => s,
        Err(e) => return BuildOutcome::failed(&name, e.into()),
    };
    if job.options.start == StartMode::Resume {
        reporter.note(
            &name,
            &format!(
                "resuming build {} after stage {}",
                state.build_id(),
                state.data().last_passed_stage().unwrap_or("(none)")
            ),
        );
    }
    let mut build = Build::new(job, client, state.data());
    if let Err(e) = build.persist(&mut state) {
        return BuildOutcome::failed(&name, e.into());
    }
    let result = run_stages(job, &mut build, &mut state, reporter, interrupt).await;
    finish(job, build, state, result, reporter, started).await
}

async fn run_stages(
    job: &BuildJob,
    build: &mut Build<'_>,
    state: &mut BuildState,
    reporter: &dyn Reporter,
    interrupt: &Interrupt,
) -> Result<(), BuildError> {
    let name = job.pipeline.name.as_str();
    let resume = job.options.start == StartMode::Resume;
    let to_run: Vec<&str> = job
        .pipeline
        .stages
        .iter()
        .map(StageConfig::name)
        .filter(|s| selected(&job.options, s).is_ok() && !(resume && state.passed(s)))
        .collect();
    build.plan(&to_run);
    for stage in &job.pipeline.stages {
        let stage_name = stage.name();
        if let Err(why) = selected(&job.options, stage_name) {
            let record = record(
                stage_name,
                StageStatus::Skipped,
                Duration::ZERO,
                why.into(),
                vec![],
            );
            reporter.stage_finished(name, &record, false);
            continue;
        }
        if state.passed(stage_name) && job.options.start == StartMode::Resume {
            if let Some(done) = state.data().stages.iter().find(|s| s.stage == stage_name) {
                reporter.stage_finished(name, done, true);
            }
            continue;
        }
        if let Some(signal) = interrupt.signal() {
            return Err(BuildError::Interrupted {
                pipeline: name.into(),
                signal,
                stage: stage_name,
            });
        }
        reporter.stage_started(name, stage_name);
        let began = Instant::now();
        let result = run_one(stage, build, state, interrupt).await;
        let checks = build.checks.take();
        let outcome = match result {
            StageRun::Done(r) => r,
            StageRun::Interrupted(signal) => {
                let rec = record(
                    stage_name,
                    StageStatus::Failed,
                    began.elapsed(),
                    format!("interrupted by {signal}"),
                    checks,
                );
                reporter.stage_finished(name, &rec, false);
                state.record_stage(rec)?;
                return Err(BuildError::Interrupted {
                    pipeline: name.into(),
                    signal,
                    stage: stage_name,
                });
            }
        };
        // What the stage learnt and its record go to disk in one write:
        // each write is flushed to disk (several ms), and one write cannot
        // leave the record without the progress it stands on.
        match outcome {
            Ok(summary) => {
                let rec = record(
                    stage_name,
                    StageStatus::Passed,
                    began.elapsed(),
                    summary,
                    checks,
                );
                reporter.stage_finished(name, &rec, false);
                state.record_stage_with(build.progress(), rec)?;
            }
            Err(source) => {
                let rec = record(
                    stage_name,
                    StageStatus::Failed,
                    began.elapsed(),
                    source.to_string(),
                    checks,
                );
                reporter.stage_finished(name, &rec, false);
                state.record_stage_with(build.progress(), rec)?;
                return Err(BuildError::Stage {
                    stage: stage_name,
                    vm: build.vm_label(),
                    source,
                });
            }
        }
    }
    Ok(())
}

enum StageRun {
    Done(Result<String, StageError>),
    Interrupted(&'static str),
}

/// One stage under its timeout, racing signals, with the lock's heartbeat
/// kept fresh while it runs (a Windows Update stage can take hours).
async fn run_one(
    stage: &StageConfig,
    build: &mut Build<'_>,
    state: &mut BuildState,
    interrupt: &Interrupt,
) -> StageRun {
    let timeout = stage
        .timeout()
        .unwrap_or_else(|| default_timeout(stage.name()));
    build.begin_stage(timeout);
    let work = tokio::time::timeout(timeout, stages::run(stage, build));
    tokio::pin!(work);
    let mut heartbeat = tokio::time::interval(Duration::from_secs(30));
    heartbeat.tick().await;
    loop {
        tokio::select! {
            r = &mut work => {
                return StageRun::Done(r.unwrap_or(Err(StageError::Timeout { after: timeout })));
            }
            signal = interrupt.raised() => return StageRun::Interrupted(signal),
            _ = heartbeat.tick() => {
                if let Err(e) = state.heartbeat() {
                    tracing::warn!(error = %e, "could not refresh the build lock");
                }
            }
        }
    }
}

fn record(
    stage: &str,
    status: StageStatus,
    took: Duration,
    message: String,
    checks: Vec<super::check::Check>,
) -> StageRecord {
    StageRecord {
        stage: stage.to_string(),
        status,
        started: Utc::now() - chrono::Duration::from_std(took).unwrap_or_default(),
        duration_ms: took.as_millis() as u64,
        message,
        checks,
    }
}

/// Ends the build: on failure removes what it made (or keeps the VM when
/// asked), writes the outputs, releases the lock.
async fn finish(
    job: &BuildJob,
    mut build: Build<'_>,
    mut state: BuildState,
    result: Result<(), BuildError>,
    reporter: &dyn Reporter,
    started: Instant,
) -> BuildOutcome {
    let name = job.pipeline.name.clone();
    let status = match &result {
        Ok(()) => BuildStatus::Succeeded,
        Err(BuildError::Interrupted { .. }) => BuildStatus::Interrupted,
        Err(_) => BuildStatus::Failed,
    };
    if result.is_err() {
        match job.options.on_error {
            OnError::Cleanup => match build.discard().await {
                Ok(Some(what)) => reporter.note(&name, &format!("cleanup: {what}")),
                Ok(None) => {}
                Err(e) => reporter.note(
                    &name,
                    &format!("cleanup: could not remove the build VM, `gild cleanup {}` will retry: {e:#}", job.pipeline_path.display()),
                ),
            },
            OnError::Keep => {
                if let Some(vm) = build.vm() {
                    reporter.note(&name, &format!("kept build VM {} ({vm}) for inspection; `gild cleanup` removes it", build.vm_name()));
                }
            }
        }
        if let Err(e) = build.persist(&mut state) {
            tracing::warn!(error = %e, "could not record the cleanup in the state file");
        }
    }
    let error_text = result.as_ref().err().map(error_chain);
    let written = outputs::write(job, &build, &state, status, error_text.as_deref());
    let mut error = result.err();
    let written = match written {
        Ok(w) => w,
        Err(e) => {
            if error.is_none() {
                error = Some(e);
            }
            outputs::Written::default()
        }
    };
    if let Err(e) = state.finish(status, error_text) {
        tracing::warn!(error = %e, "could not release the build lock");
    }
    BuildOutcome {
        pipeline: name,
        status: if error.is_some() && status == BuildStatus::Succeeded {
            BuildStatus::Failed
        } else {
            status
        },
        error,
        template: state.data().template.clone(),
        outputs: written,
        state_file: Some(state.path().to_path_buf()),
        duration: started.elapsed(),
    }
}

/// The error with its causes, `a: b: c`, as the state file and manifest
/// record it.
pub fn error_chain<E: std::error::Error + ?Sized>(e: &E) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
