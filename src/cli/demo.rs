//! `gild demo` (owned by the integration work).
use super::Outcome;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {}

pub async fn run(_args: DemoArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("gild demo is not built yet")
}
