//! `gild templates list|prune PIPELINE`: a pipeline's published templates,
//! newest first (found through VI/JSON: `/api` does not list templates),
//! and pruning to the newest N.

use super::pipeline_args::PipelineVarArgs;
use super::{BadInputExt, Outcome};
use crate::pipeline::run::{self, Overrides};
use crate::pipeline::{resolve, templates};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum TemplatesCommand {
    /// The pipeline's templates, newest first, with build date and provenance.
    List(TemplatesArgs),
    /// Delete all but the newest N (default: the pipeline's `template.keep`).
    Prune {
        #[command(flatten)]
        args: TemplatesArgs,
        #[arg(long)]
        keep: Option<usize>,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(clap::Args, Debug)]
pub struct TemplatesArgs {
    pub pipeline: PathBuf,
    #[arg(long, env = "GILD_VCENTER_URL")]
    pub vcenter_url: Option<url::Url>,
    #[arg(long, env = "GILD_VCENTER_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    #[command(flatten)]
    pub vars: PipelineVarArgs,
}

pub async fn run(cmd: TemplatesCommand) -> anyhow::Result<Outcome> {
    let (args, prune) = match &cmd {
        TemplatesCommand::List(a) => (a, None),
        TemplatesCommand::Prune {
            args,
            keep,
            dry_run,
        } => (args, Some((*keep, *dry_run))),
    };
    let vars = args.vars.to_vars().bad_input()?;
    let loaded = crate::pipeline::load(&args.pipeline, &vars).bad_input()?;
    let p = loaded.pipeline();
    let client = run::connect(
        &loaded,
        &Overrides {
            vcenter_url: args.vcenter_url.clone(),
            ca_file: args.ca_file.clone(),
        },
    )
    .await?;
    let resolved = resolve::resolve(&client, p).await?;
    let list = templates::list(&client, &resolved.template_folder, &p.name).await?;
    match prune {
        None => {
            if list.is_empty() {
                println!("{}: no templates in {}", p.name, p.template.folder);
            }
            for t in &list {
                println!(
                    "{}  {}  built {}  {}",
                    t.name,
                    t.vm,
                    t.built.as_deref().unwrap_or("?"),
                    t.annotation
                );
            }
        }
        Some((keep, dry_run)) => {
            let keep = keep.unwrap_or(p.template.keep as usize).max(1);
            if dry_run {
                for t in list.iter().skip(keep) {
                    println!("would delete {} ({})", t.name, t.vm);
                }
            } else {
                let removed =
                    templates::prune(&client, &list, keep, None, Duration::from_secs(600)).await?;
                println!(
                    "{}: kept {}, deleted {}",
                    p.name,
                    list.len() - removed.len(),
                    if removed.is_empty() {
                        "none".into()
                    } else {
                        removed.join(", ")
                    }
                );
            }
        }
    }
    let _ = client.logout().await;
    Ok(Outcome::Success)
}
