//! `gild bench`: measurements whose figures go into the README. Each
//! benchmark lives in its own module; this file only dispatches.
use super::Outcome;

mod bare;
mod build;
mod client;
mod lint;
/// Running `gild simulator serve` as a child process (also used by tests).
pub mod serve;
mod transfer;
mod validate;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// A whole build on the embedded simulator: requests by route, overhead under realistic timing, 16 in parallel.
    Build(build::BuildBenchArgs),
    /// The bare flow clone → power off → template → final name: requests by route, next to Packer's 39.
    Bare(bare::BareBenchArgs),
    /// Client overhead: power-state calls per second over one connection.
    Client(client::ClientBenchArgs),
    /// Streaming: 1 GiB upload/download through a guest transfer URL, next to curl.
    Transfer(transfer::TransferBenchArgs),
    /// Lint 1,000 copies of the seed answer file, next to `xmllint --noout`.
    Lint(lint::LintBenchArgs),
    /// `gild validate` of a shipped pipeline next to `packer validate` of the equivalent vsphere-clone template.
    Validate(validate::ValidateBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<Outcome> {
    match cmd {
        BenchCommand::Build(args) => build::run(args).await,
        BenchCommand::Bare(args) => bare::run(args).await,
        BenchCommand::Client(args) => client::run(args).await,
        BenchCommand::Transfer(args) => transfer::run(args).await,
        BenchCommand::Lint(args) => lint::run(args).await,
        BenchCommand::Validate(args) => validate::run(args).await,
    }
}
