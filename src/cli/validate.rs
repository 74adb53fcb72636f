//! `gild validate PIPELINE...`: the pipeline checks (`crate::pipeline::
//! validate`), printed like `gild lint`'s findings.
//!
//! Exit codes: 0 clean (warnings and notes allowed), 1 findings (or
//! warnings with `--deny-warnings`), 2 some file could not be loaded at
//! all (unreadable, not YAML, unknown keys, literal secrets, undefined
//! variables) or bad arguments.
use super::lint::{outcome, render_report, Format};
use super::pipeline_args::PipelineVarArgs;
use super::{BadInputExt, Outcome};
use crate::pipeline::rules::RULES;
use crate::pipeline::validate::{self, check_file, Options};
use crate::report::{self, SarifTool};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ValidateArgs {
    /// Pipeline files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Also log in to vCenter and resolve every inventory object; unset
    /// secret variables become errors.
    #[arg(long)]
    pub online: bool,
    /// Output format: human (compiler-style), json (JSON Lines), sarif.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    #[command(flatten)]
    pub vars: PipelineVarArgs,
}

/// What the SARIF log says about the pipeline checks.
pub const SARIF_TOOL: SarifTool<'static> = SarifTool {
    rules: RULES,
    information_uri: "urn:gild:pipeline-rules",
};

pub async fn run(args: ValidateArgs) -> anyhow::Result<Outcome> {
    let vars = args.vars.to_vars().bad_input()?;
    let opts = Options {
        online: args.online,
    };
    let mut all = Vec::new();
    let mut out = String::new();
    let mut bad_input = false;
    for file in &args.files {
        let mut report = check_file(file, &vars, opts);
        if args.online {
            if let Some(loaded) = &report.loaded {
                report
                    .diagnostics
                    .extend(validate::online::check(loaded).await);
            }
        }
        bad_input |= report.is_bad_input();
        if args.format == Format::Human {
            out.push_str(&report::human(
                &report.diagnostics,
                report.shown_source().as_deref(),
            ));
        }
        all.extend(report.diagnostics);
    }
    let out = render_report(args.format, out, &all, args.files.len(), &SARIF_TOOL)?;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    if bad_input {
        return Ok(Outcome::BadInput);
    }
    Ok(outcome(&all, args.deny_warnings))
}
