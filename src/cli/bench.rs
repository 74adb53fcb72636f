//! `gild bench`: measurements whose figures go into the README. Each
//! benchmark lives in its own module; this file only dispatches.
use super::Outcome;

#[path = "bench_client.rs"]
mod client;
#[path = "bench_lint.rs"]
mod lint;
/// Running `gild simulator serve` as a child process (also used by tests).
#[path = "bench_serve.rs"]
pub mod serve;
#[path = "bench_transfer.rs"]
mod transfer;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Client overhead: power-state calls per second over one connection.
    Client(client::ClientBenchArgs),
    /// Streaming: 1 GiB upload/download through a guest transfer URL, next to curl.
    Transfer(transfer::TransferBenchArgs),
    /// Lint 1,000 copies of the seed answer file, next to `xmllint --noout`.
    Lint(lint::LintBenchArgs),
}

pub async fn run(cmd: BenchCommand) -> anyhow::Result<Outcome> {
    match cmd {
        BenchCommand::Client(args) => client::run(args).await,
        BenchCommand::Transfer(args) => transfer::run(args).await,
        BenchCommand::Lint(args) => lint::run(args).await,
    }
}
