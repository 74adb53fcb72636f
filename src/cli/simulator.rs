//! `gild simulator serve`: run the embedded vCenter simulator until Ctrl-C.

use super::{BadInputExt, Outcome};
use crate::secret::Secret;
use crate::simulator::{self, FaultSpec, Inventory, SimulatorConfig, Timing};
use anyhow::Context;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum SimulatorCommand {
    /// Serve the embedded vCenter simulator (HTTPS with a generated CA by default).
    Serve(ServeArgs),
}

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub addr: SocketAddr,
    /// Serve HTTPS with a generated CA (the default).
    #[arg(long, conflicts_with = "plain_http")]
    pub tls: bool,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub plain_http: bool,
    /// Seed inventory (YAML or JSON); default: the built-in one with `win2022-base`.
    #[arg(long, conflicts_with = "for_pipeline")]
    pub inventory: Option<PathBuf>,
    /// Serve the inventory this pipeline needs (as `gild build --simulator`
    /// would), its vCenter user and guest user; passwords from the
    /// pipeline's environment variables when they are set.
    #[arg(long = "for", value_name = "PIPELINE")]
    pub for_pipeline: Option<PathBuf>,
    /// Faults: compact syntax (`busy every=3; latency=200ms route=/api/session`)
    /// or a .yaml/.json file. See `gild::simulator::faults` for the syntax.
    #[arg(long)]
    pub faults: Option<String>,
    /// vCenter user the simulator accepts.
    #[arg(long, default_value = "administrator@vsphere.local")]
    pub user: String,
    /// vCenter password the simulator accepts (default: a fixed test password).
    #[arg(long, env = "GILD_SIM_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Guest OS account of every VM.
    #[arg(long, default_value = "Administrator")]
    pub guest_user: String,
    /// Guest OS password of every VM.
    #[arg(long, env = "GILD_SIM_GUEST_PASSWORD", hide_env_values = true)]
    pub guest_password: Option<String>,
    /// Operation durations: `instant` (tests) or `realistic` (demos, benchmarks).
    #[arg(long, default_value = "instant", value_parser = ["instant", "realistic"])]
    pub timing: String,
    /// Refuse `/api` tokens on `/sdk/vim25` (vCenter before 8.0U3).
    #[arg(long)]
    pub separate_vi_login: bool,
    /// Directory for the CA certificate (default: a temporary directory).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
}

pub async fn run(cmd: SimulatorCommand) -> anyhow::Result<Outcome> {
    match cmd {
        SimulatorCommand::Serve(args) => serve(args).await,
    }
}

fn config_from(args: ServeArgs) -> anyhow::Result<SimulatorConfig> {
    let mut config = SimulatorConfig {
        addr: args.addr,
        tls: !args.plain_http,
        user: args.user,
        guest_user: args.guest_user,
        ..Default::default()
    };
    if let Some(path) = &args.inventory {
        config.inventory = Inventory::load(path).bad_input()?;
    }
    if let Some(path) = &args.for_pipeline {
        use crate::pipeline::{run, SecretRole, SecretSource, Vars};
        let mut notes = Vec::new();
        let loaded = run::load_pipeline(path, &Vars::from_env(), true, &mut notes).bad_input()?;
        for n in notes {
            eprintln!("note: {n}");
        }
        let p = loaded.pipeline();
        config.inventory = crate::pipeline::simulate::inventory_for(p);
        config.user = p.vcenter.user.clone();
        config.guest_user = p.guest.user.clone();
        let from_env = |role| match loaded.secret_source(role) {
            Some(SecretSource::Env(name)) => Secret::from_env(&name).ok().map(|s| (name, s)),
            _ => None,
        };
        if let Some((name, s)) = from_env(SecretRole::Vcenter) {
            eprintln!("vCenter password: from {name}");
            config.password = s;
        }
        if let Some((name, s)) = from_env(SecretRole::Guest) {
            eprintln!("guest password: from {name}");
            config.guest_password = s;
        }
    }
    if let Some(spec) = &args.faults {
        config.faults = FaultSpec::from_arg(spec).bad_input()?;
    }
    if let Some(p) = args.password {
        config.password = Secret::new(p);
    }
    if let Some(p) = args.guest_password {
        config.guest_password = Secret::new(p);
    }
    config.timing = Timing::named(&args.timing)
        .with_context(|| format!("unknown timing {:?}", args.timing))
        .bad_input()?;
    config.accept_api_token_for_vi = !args.separate_vi_login;
    config.state_dir = args.state_dir;
    Ok(config)
}

async fn serve(args: ServeArgs) -> anyhow::Result<Outcome> {
    let config = config_from(args)?;
    let sim = simulator::start(config)
        .await
        .context("starting the simulator")?;
    // Test tooling: the whole point of these lines is to hand the
    // simulator's (throw-away) credentials to the person or script using it.
    println!("url: {}", sim.base_url());
    println!(
        "vcenter credentials: {} {}",
        sim.user(),
        sim.password().expose()
    );
    println!(
        "guest credentials: {} {}",
        sim.guest_user(),
        sim.guest_password().expose()
    );
    match sim.ca_pem_path() {
        Some(p) => println!("ca file: {}", p.display()),
        None => println!("ca file: none (plain http)"),
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sim.shutdown().await;
    Ok(Outcome::Success)
}
