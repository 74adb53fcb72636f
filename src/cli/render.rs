//! `gild render unattend`: fills an answer-file template, lints the result
//! with the same linter as `gild lint`, and writes it only when the lint has
//! no errors. The administrator password comes from an environment variable
//! or a file, never from the command line, and is redacted from any
//! diagnostics shown.
use super::{BadInputExt, Outcome};
use crate::report::{self, Severity};
use crate::secret::Secret;
use crate::unattend::render::{self, RenderError};
use crate::unattend::{lint_text, Profile};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum RenderCommand {
    /// Render an unattend.xml template.
    Unattend(RenderUnattendArgs),
}

#[derive(clap::Args, Debug)]
pub struct RenderUnattendArgs {
    /// The tera template.
    #[arg(long, default_value = "unattend/wmco.xml.tera")]
    pub template: PathBuf,
    /// YAML mapping of template variables.
    #[arg(long)]
    pub values: PathBuf,
    /// Override a value: `key=value` or `a.b=value` (value read as YAML).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Write here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Environment variable holding the administrator password.
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with = "password_file",
        required_unless_present = "password_file"
    )]
    pub password_env: Option<String>,
    /// File holding the administrator password (one trailing newline dropped).
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,
    /// Store the password in plain text (PlainText true) instead of encoded.
    #[arg(long)]
    pub plaintext_password: bool,
    /// Lint profile for the rendered file; defaults to `profile` in the
    /// values, else wmco.
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
}

pub async fn run(cmd: RenderCommand) -> anyhow::Result<Outcome> {
    match cmd {
        RenderCommand::Unattend(args) => render_unattend(args),
    }
}

fn render_unattend(args: RenderUnattendArgs) -> anyhow::Result<Outcome> {
    let password = match (&args.password_env, &args.password_file) {
        (Some(name), _) => Secret::from_env(name).bad_input()?,
        (None, Some(path)) => Secret::from_file(path).bad_input()?,
        (None, None) => {
            return Err(anyhow::anyhow!(
                "give --password-env NAME or --password-file PATH"
            ))
            .bad_input()
        }
    };
    let template_name = args.template.display().to_string();
    let template = std::fs::read_to_string(&args.template)
        .with_context(|| format!("cannot read template {template_name}"))
        .bad_input()?;
    let values_text = std::fs::read_to_string(&args.values)
        .with_context(|| format!("cannot read values file {}", args.values.display()))
        .bad_input()?;
    let mut values = render::parse_values(&values_text)
        .with_context(|| format!("values file {}", args.values.display()))
        .bad_input()?;
    for assignment in &args.set {
        render::apply_set(&mut values, assignment).bad_input()?;
    }
    let profile = match args.profile {
        Some(p) => p,
        None => match values.get("profile") {
            Some(v) => serde_json::from_value(v.clone())
                .map_err(|e| {
                    RenderError::Values(format!("profile: {e} (expected wmco, k8s or plain)"))
                })
                .bad_input()?,
            None => Profile::default(),
        },
    };
    let rendered = render::render(
        &template_name,
        &template,
        values,
        &password,
        args.plaintext_password,
    )
    .bad_input()?;
    let shown_name = args
        .output
        .as_ref()
        .map_or_else(|| "<rendered>".to_string(), |p| p.display().to_string());
    let diags = lint_text(&shown_name, &rendered, profile);
    let redacted = render::redact(&rendered, &password);
    // Diagnostics go to stderr: stdout may be the rendered file itself.
    eprint!("{}", report::human(&diags, Some(&redacted)));
    let errors = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    if errors > 0 {
        eprintln!(
            "error: the rendered answer file has {errors} lint error(s); nothing was written"
        );
        return Ok(Outcome::Failed);
    }
    match &args.output {
        Some(path) => write_private(path, rendered.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => std::io::stdout().lock().write_all(rendered.as_bytes())?,
    }
    tracing::info!(template = %template_name, output = %shown_name, "rendered answer file");
    Ok(Outcome::Success)
}

/// The file holds a (merely encoded) password: create it readable by the
/// owner only, via a temp file renamed into place so a failed write never
/// leaves a half file.
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
