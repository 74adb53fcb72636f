//! `gild lint FILE...`: lints answer files and prints the diagnostics.
//!
//! Exit codes: 0 clean (notes allowed), 1 errors (or warnings with
//! `--deny-warnings`), 2 some input could not be read at all.
use super::Outcome;
use crate::report::{self, Diagnostic, SarifTool, Severity};
use crate::unattend::{lint_path, Profile, RULES};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct LintArgs {
    /// Answer files to lint.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Rule set: wmco (all rules), k8s (all but the en-US rule), plain
    /// (structure, catalog and values only).
    #[arg(long, value_enum, default_value_t = Profile::Wmco)]
    pub profile: Profile,
    /// Output format: human (compiler-style), json (JSON Lines, one object
    /// per diagnostic), sarif (SARIF 2.1.0 log).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
}

/// What the SARIF log says about the answer-file linter.
pub const SARIF_TOOL: SarifTool<'static> = SarifTool {
    rules: RULES,
    information_uri:
        "https://learn.microsoft.com/en-us/windows-hardware/customize/desktop/unattend/",
};

pub async fn run(args: LintArgs) -> anyhow::Result<Outcome> {
    let mut all = Vec::new();
    let mut out = String::new();
    for file in &args.files {
        let (source, diags) = lint_path(file, args.profile);
        if args.format == Format::Human {
            out.push_str(&report::human(&diags, source.as_deref()));
        }
        all.extend(diags);
    }
    let out = render_report(args.format, out, &all, args.files.len(), &SARIF_TOOL)?;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(outcome(&all, args.deny_warnings))
}

/// The whole report in `format`. `human` is the per-file text already
/// rendered (used by the human format, which appends the summary).
/// Shared with `gild validate`.
pub fn render_report(
    format: Format,
    mut human: String,
    diags: &[Diagnostic],
    files: usize,
    tool: &SarifTool<'_>,
) -> anyhow::Result<String> {
    Ok(match format {
        Format::Human => {
            human.push_str(&report::summary(diags, files));
            human
        }
        Format::Json => report::json_lines(diags),
        Format::Sarif => serde_json::to_string_pretty(&report::sarif(diags, tool))? + "\n",
    })
}

/// The exit status a set of diagnostics deserves.
pub fn outcome(diags: &[Diagnostic], deny_warnings: bool) -> Outcome {
    let threshold = if deny_warnings {
        Severity::Warning
    } else {
        Severity::Error
    };
    if diags.iter().any(Diagnostic::is_input_failure) {
        Outcome::BadInput
    } else if diags.iter().any(|d| d.severity >= threshold) {
        Outcome::Failed
    } else {
        Outcome::Success
    }
}
