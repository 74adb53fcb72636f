//! `gild bench lint` (owned by the unattend work).
use crate::cli::Outcome;

#[derive(clap::Args, Debug)]
pub struct LintBenchArgs {}

pub async fn run(_args: LintBenchArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("gild bench lint is not built yet")
}
