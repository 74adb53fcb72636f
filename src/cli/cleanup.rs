//! `gild cleanup [PIPELINE...] [--older-than 24h] [--dry-run]`: removes
//! build VMs gild left (see `pipeline::cleanup` for what it will and will
//! not touch). Without a pipeline, every pipeline with a state file here.

use super::pipeline_args::PipelineVarArgs;
use super::{BadInputExt, Outcome};
use crate::pipeline::cleanup::{self, Action, Options};
use crate::pipeline::run::{self, Overrides};
use crate::pipeline::state::{default_state_dir, StateStore};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct CleanupArgs {
    /// Pipeline files; default: the pipeline file of every state file in --state-dir.
    pub pipelines: Vec<PathBuf>,
    /// Only VMs at least this old (`24h`, `30m`; default 0: all).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "0s")]
    pub older_than: std::time::Duration,
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[arg(long, env = "GILD_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    #[arg(long, env = "GILD_VCENTER_URL")]
    pub vcenter_url: Option<url::Url>,
    #[arg(long, env = "GILD_VCENTER_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    #[command(flatten)]
    pub vars: PipelineVarArgs,
}

pub async fn run(args: CleanupArgs) -> anyhow::Result<Outcome> {
    let state_dir = args.state_dir.clone().unwrap_or_else(default_state_dir);
    let files = if args.pipelines.is_empty() {
        pipelines_with_state(&state_dir)?
    } else {
        args.pipelines.clone()
    };
    if files.is_empty() {
        println!(
            "nothing to clean up: no state files in {}",
            state_dir.display()
        );
        return Ok(Outcome::Success);
    }
    let vars = args.vars.to_vars().bad_input()?;
    let overrides = Overrides {
        vcenter_url: args.vcenter_url.clone(),
        ca_file: args.ca_file.clone(),
    };
    let opts = Options {
        older_than: args.older_than,
        dry_run: args.dry_run,
    };
    let mut failed = false;
    for file in files {
        let loaded = crate::pipeline::load(&file, &vars).bad_input()?;
        let p = loaded.pipeline();
        let client = run::connect(&loaded, &overrides).await?;
        let store = StateStore::new(&state_dir, &p.name);
        let result = cleanup::cleanup(&client, p, &store, &opts).await;
        let _ = client.logout().await;
        match result {
            Ok(actions) if actions.is_empty() => println!("{}: no build VMs left behind", p.name),
            Ok(actions) => {
                for a in actions {
                    match a {
                        Action::Removed { vm, name } => {
                            println!("{}: removed {name} ({vm})", p.name)
                        }
                        Action::WouldRemove { vm, name } => {
                            println!("{}: would remove {name} ({vm})", p.name)
                        }
                        Action::Kept { vm, name, why } => {
                            println!("{}: kept {name} ({vm}): {why}", p.name)
                        }
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {}: {:#}", p.name, anyhow::Error::new(e));
                failed = true;
            }
        }
    }
    Ok(if failed {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

/// The pipeline files named in the state files under `dir`.
fn pipelines_with_state(dir: &std::path::Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(files);
    };
    for entry in entries.flatten() {
        if !entry.path().is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().to_string();
        for (_, data) in StateStore::new(dir, &name).list()? {
            if data.leftover_vm().is_some() && !files.contains(&data.pipeline_file) {
                files.push(data.pipeline_file.clone());
            }
        }
    }
    Ok(files)
}
