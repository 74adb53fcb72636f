//! `gild lint` (owned by the unattend work).
use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct LintArgs {
    /// Answer files to lint.
    pub files: Vec<std::path::PathBuf>,
}

pub async fn run(_args: LintArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("gild lint is not built yet")
}
