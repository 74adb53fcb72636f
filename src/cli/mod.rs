//! The command edge: argument parsing, logging set-up and exit codes. Each
//! subcommand lives in its own module (as in cargo), and is the only place
//! that uses `anyhow`.
//!
//! Exit codes: 0 success, 1 the job failed, 2 bad usage or bad input.

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

pub mod bench;
pub mod build;
pub mod cleanup;
pub mod demo;
pub mod lint;
pub mod machineset;
pub mod netplan;
pub mod pipeline_args;
pub mod render;
pub mod schema;
pub mod simulator;
pub mod templates;
pub mod validate;

#[derive(Parser, Debug)]
#[command(name = "gild", version, about = "Build Windows golden-image VM templates on VMware vSphere", long_about = None)]
pub struct Cli {
    /// Log format: human-readable lines, or one JSON object per event (for CI).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "GILD_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// More log output (-v debug, -vv trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build a golden-image template from a pipeline file.
    Build(build::BuildArgs),
    /// Remove build VMs that failed or crashed builds left behind.
    Cleanup(cleanup::CleanupArgs),
    /// List or prune a pipeline's published templates.
    #[command(subcommand)]
    Templates(templates::TemplatesCommand),
    /// Run the embedded vCenter simulator.
    #[command(subcommand)]
    Simulator(simulator::SimulatorCommand),
    /// Lint unattend.xml answer files (WSIM-like structure and catalog checks plus WMCO rules).
    Lint(lint::LintArgs),
    /// Check pipeline files without building (schema, secrets, files, target rules, answer file).
    Validate(validate::ValidateArgs),
    /// Print the JSON Schema of pipeline files.
    Schema(schema::SchemaArgs),
    /// Render a template (unattend.xml) with values, linting the result.
    #[command(subcommand)]
    Render(render::RenderCommand),
    /// Measure client, transfer and lint performance against the simulator.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Exercise the client end to end on the embedded simulator (or a real vCenter).
    Demo(demo::DemoArgs),
    /// Generate and check WMCO Windows MachineSets (and the cluster's hybrid networking).
    #[command(subcommand)]
    Machineset(machineset::MachinesetCommand),
    /// Check a Flannel network plan for Kubernetes Windows nodes.
    #[command(subcommand)]
    Netplan(netplan::NetplanCommand),
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Marks an error as the user's input being wrong (exit code 2) rather than
/// the job failing (exit code 1).
#[derive(Debug)]
pub struct BadInput(pub anyhow::Error);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:#}", self.0)
    }
}

impl std::error::Error for BadInput {}

/// `result.bad_input()?` turns any error into a [`BadInput`].
pub trait BadInputExt<T> {
    fn bad_input(self) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> BadInputExt<T> for Result<T, E> {
    fn bad_input(self) -> anyhow::Result<T> {
        self.map_err(|e| anyhow::Error::new(BadInput(e.into())))
    }
}

/// What a subcommand reports besides success or an error: a lint that found
/// problems exits 1 without being an internal failure.
pub enum Outcome {
    Success,
    Failed,
    BadInput,
    /// Stopped by a signal: 130 (SIGINT) or 143 (SIGTERM).
    Interrupted(u8),
}

pub fn init_tracing(format: LogFormat, verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colour only on a terminal: a CI log or a file gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    // try_init: tests may call this more than once in one process.
    let _ = match format {
        LogFormat::Human => builder.with_target(false).try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.log_format, cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(run(cli.command, cli.log_format));
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::BadInput) => ExitCode::from(2),
        Ok(Outcome::Interrupted(code)) => ExitCode::from(code),
        Err(err) => {
            eprintln!("error: {err:#}");
            if err.downcast_ref::<BadInput>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

pub async fn run(command: Command, log_format: LogFormat) -> anyhow::Result<Outcome> {
    match command {
        Command::Build(args) => build::run(args, log_format).await,
        Command::Cleanup(args) => cleanup::run(args).await,
        Command::Templates(cmd) => templates::run(cmd).await,
        Command::Simulator(cmd) => simulator::run(cmd).await,
        Command::Lint(args) => lint::run(args).await,
        Command::Validate(args) => validate::run(args).await,
        Command::Schema(args) => schema::run(args).await,
        Command::Render(cmd) => render::run(cmd).await,
        Command::Bench(cmd) => bench::run(cmd).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Machineset(cmd) => machineset::run(cmd).await,
        Command::Netplan(cmd) => netplan::run(cmd).await,
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "gild", &mut std::io::stdout());
            Ok(Outcome::Success)
        }
    }
}
