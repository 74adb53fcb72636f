//! `gild bench` (owned by the contract/benchmark work).
use super::Outcome;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Client overhead: power-state calls per second over one connection.
    Client,
}

pub async fn run(_cmd: BenchCommand) -> anyhow::Result<Outcome> {
    anyhow::bail!("gild bench is not built yet")
}
