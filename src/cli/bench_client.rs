//! `gild bench client` and `gild bench transfer` (owned by the contract/benchmark work).
use crate::cli::Outcome;

#[derive(clap::Args, Debug)]
pub struct ClientBenchArgs {}

#[derive(clap::Args, Debug)]
pub struct TransferBenchArgs {}

pub async fn run_client(_args: ClientBenchArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("gild bench client is not built yet")
}

pub async fn run_transfer(_args: TransferBenchArgs) -> anyhow::Result<Outcome> {
    anyhow::bail!("gild bench transfer is not built yet")
}
