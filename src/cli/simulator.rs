//! `gild simulator serve` (owned by the simulator work).
use super::Outcome;

#[derive(clap::Subcommand, Debug)]
pub enum SimulatorCommand {
    /// Serve the embedded vCenter simulator.
    Serve,
}

pub async fn run(_cmd: SimulatorCommand) -> anyhow::Result<Outcome> {
    anyhow::bail!("gild simulator is not built yet")
}
