//! `gild build PIPELINE...`: parses the flags, hands a [`BuildRequest`] to
//! the pipeline layer and prints how each build ended.
//!
//! Exit codes: 0 every build succeeded; 1 a build failed; 2 bad input
//! (unreadable pipeline, unknown stage, a lock held by another build);
//! 130 / 143 interrupted by SIGINT / SIGTERM.

use super::{LogFormat, Outcome};
use crate::pipeline::engine::OnError;
use crate::pipeline::interrupt::Interrupt;
use crate::pipeline::progress::{HumanReporter, JsonReporter, Reporter};
use crate::pipeline::run::{self, BuildRequest, SimulatorOptions};
use crate::pipeline::state::{default_state_dir, BuildStatus, StartMode};
use crate::simulator::{FaultSpec, Timing};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct BuildArgs {
    /// Pipeline files (`pipelines/*.yaml`).
    #[arg(required = true)]
    pub pipelines: Vec<PathBuf>,
    #[command(flatten)]
    pub vars: super::pipeline_args::PipelineVarArgs,
    /// Build against the embedded simulator, with an inventory generated from
    /// the pipeline (unset password variables get throwaway values).
    #[arg(long)]
    pub simulator: bool,
    /// Faults for the embedded simulator (its `--faults` syntax).
    #[arg(long, requires = "simulator", value_name = "SPEC")]
    pub simulator_faults: Option<String>,
    /// Embedded simulator timing: instant, or realistic (seconds per operation).
    #[arg(long, requires = "simulator", default_value = "instant", value_parser = ["instant", "realistic"])]
    pub simulator_timing: String,
    /// Build this many pipelines at once (one vCenter session each vCenter).
    #[arg(long, default_value_t = 1)]
    pub parallel: usize,
    /// On failure or interrupt: delete the build VM (cleanup) or keep it.
    #[arg(long, value_enum, default_value_t = OnError::Cleanup)]
    pub on_error: OnError,
    /// Continue the newest unfinished build of each pipeline after its last
    /// verified stage.
    #[arg(long, conflicts_with = "force")]
    pub resume: bool,
    /// Take over a stale lock (a build that crashed) and start anew.
    #[arg(long)]
    pub force: bool,
    /// Run only these stages.
    #[arg(long, num_args = 1.., value_name = "STAGE")]
    pub only: Vec<String>,
    /// Skip these stages.
    #[arg(long, num_args = 1.., value_name = "STAGE")]
    pub skip: Vec<String>,
    /// Print the plan (stages, what each creates, the template name) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// vCenter URL, overriding the pipeline's.
    #[arg(long, env = "GILD_VCENTER_URL")]
    pub vcenter_url: Option<url::Url>,
    /// CA bundle (PEM) for vCenter's certificate, overriding the pipeline's.
    #[arg(long, env = "GILD_VCENTER_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Where state files (resume points, locks) live.
    #[arg(long, env = "GILD_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Where manifest, JUnit and MachineSet go (default: the pipeline's
    /// `outputs.dir`, else `out/<name>`).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

pub async fn run(args: BuildArgs, log_format: LogFormat) -> anyhow::Result<Outcome> {
    use super::BadInputExt;
    let simulator = if args.simulator {
        let faults = match &args.simulator_faults {
            Some(s) => FaultSpec::from_arg(s).bad_input()?,
            None => FaultSpec::none(),
        };
        let timing = Timing::named(&args.simulator_timing)
            .ok_or_else(|| anyhow::anyhow!("unknown timing {}", args.simulator_timing))
            .bad_input()?;
        Some(SimulatorOptions {
            faults,
            timing,
            poll_interval: None,
        })
    } else {
        None
    };
    let req = BuildRequest {
        pipelines: args.pipelines.clone(),
        simulator,
        parallel: args.parallel,
        on_error: args.on_error,
        start: match (args.resume, args.force) {
            (true, _) => StartMode::Resume,
            (_, true) => StartMode::Force,
            _ => StartMode::Fresh,
        },
        only: args.only.clone(),
        skip: args.skip.clone(),
        state_dir: args.state_dir.clone().unwrap_or_else(default_state_dir),
        out_dir: args.out_dir.clone(),
        vcenter_url: args.vcenter_url.clone(),
        ca_file: args.ca_file.clone(),
        vars: args.vars.to_vars().bad_input()?,
    };
    if args.dry_run {
        return dry_run(&req);
    }
    let reporter: Arc<dyn Reporter> = match log_format {
        LogFormat::Json => Arc::new(JsonReporter),
        LogFormat::Human => Arc::new(HumanReporter::new(args.pipelines.len() > 1)),
    };
    let interrupt = Interrupt::new();
    interrupt.listen();
    let outcomes = run::build(&req, reporter, &interrupt).await.bad_input()?;
    let mut worst = Outcome::Success;
    for o in &outcomes {
        let took = crate::pipeline::progress::format_duration(o.duration);
        if log_format == LogFormat::Json {
            // Machines get the ending as one event like every other line.
            println!("{}", finished_event(o));
        }
        match (&o.error, o.status) {
            (None, _) if log_format == LogFormat::Json => {}
            (None, _) => {
                let t = o
                    .template
                    .as_ref()
                    .map_or("-".to_string(), |t| format!("{} ({})", t.name, t.id));
                println!("{}: built in {took}: template {t}", o.pipeline);
                if let Some(m) = &o.outputs.manifest {
                    println!("{}: manifest {}", o.pipeline, m.display());
                }
                if let Some(m) = &o.outputs.machineset {
                    println!("{}: MachineSet {}", o.pipeline, m.display());
                }
            }
            (Some(e), status) => {
                eprintln!(
                    "error: {}: {}",
                    o.pipeline,
                    crate::pipeline::engine::error_chain(e)
                );
                if let Some(s) = &o.state_file {
                    eprintln!("{}: state file {}", o.pipeline, s.display());
                }
                let this = if e.is_bad_input() {
                    Outcome::BadInput
                } else if status == BuildStatus::Interrupted {
                    Outcome::Interrupted(interrupt.exit_code().unwrap_or(130))
                } else {
                    Outcome::Failed
                };
                worst = worse(worst, this);
            }
        }
    }
    Ok(worst)
}

/// `build_finished`: how one pipeline's build ended, for `--log-format json`.
fn finished_event(o: &crate::pipeline::engine::BuildOutcome) -> serde_json::Value {
    serde_json::json!({
        "event": "build_finished",
        "pipeline": o.pipeline,
        "status": o.status,
        "duration_ms": o.duration.as_millis() as u64,
        "template": o.template.as_ref().map(|t| serde_json::json!({"name": t.name, "id": t.id.to_string()})),
        "manifest": o.outputs.manifest,
        "junit": o.outputs.junit,
        "machineset": o.outputs.machineset,
        "error": o.error.as_ref().map(crate::pipeline::engine::error_chain),
        "state_file": o.state_file,
    })
}

fn worse(a: Outcome, b: Outcome) -> Outcome {
    let rank = |o: &Outcome| match o {
        Outcome::Success => 0,
        Outcome::Failed => 1,
        Outcome::BadInput => 2,
        Outcome::Interrupted(_) => 3,
    };
    if rank(&b) > rank(&a) {
        b
    } else {
        a
    }
}

fn dry_run(req: &BuildRequest) -> anyhow::Result<Outcome> {
    use super::BadInputExt;
    run::check_stage_names(&req.only).bad_input()?;
    run::check_stage_names(&req.skip).bad_input()?;
    for path in &req.pipelines {
        let mut notes = Vec::new();
        let loaded =
            run::load_pipeline(path, &req.vars, req.simulator.is_some(), &mut notes).bad_input()?;
        for n in notes {
            println!("note: {n}");
        }
        let p = loaded.pipeline();
        let names = run::names_for(&loaded, chrono::Utc::now()).bad_input()?;
        println!(
            "{} ({}), target {}: plan, nothing changed",
            p.name,
            path.display(),
            p.target
        );
        for stage in &p.stages {
            let name = stage.name();
            let skipped = (!req.only.is_empty() && !req.only.iter().any(|s| s == name))
                || req.skip.iter().any(|s| s == name);
            let creates = crate::pipeline::plan::creates(stage, p, &names);
            println!(
                "  {} {name:<17} {}",
                if skipped { "-" } else { "*" },
                if skipped {
                    "(skipped)".to_string()
                } else {
                    creates
                }
            );
        }
        println!("  template: {} in {}", names.template, p.template.folder);
    }
    Ok(Outcome::Success)
}
