//! `gild demo`: the client end to end, one line per step.
//!
//! Without `--url` it starts the embedded simulator in this process (its
//! default inventory has `win2022-base` in `dc1`), so the command works on a
//! fresh machine. With `--url` it talks to a real vCenter: nothing here is
//! simulator-specific, which is the point — the same steps a golden-image
//! build takes (log in, resolve the placement by inventory path, clone a
//! build VM, power it on, wait for Tools and an IP, run a program, move a
//! file in and out of the guest, clean up, log out).
//!
//! The build VM is owned by a [`BuildVm`] guard: the last step `finish`es
//! it, a failed step `discard`s it (power off, delete), and a guard dropped
//! with its VM still there logs a warning naming the VM, so a failed demo
//! never leaves a VM behind unnoticed. `gild build` is the real job;
//! this command stays as a connectivity check of a vCenter and a guest.

use super::{BadInputExt, Outcome};
use crate::secret::Secret;
use crate::simulator::{self, SimulatorConfig, Timing};
use crate::vsphere::wire::VmId;
use crate::vsphere::wire::{
    ClonePlacement, CloneSpec, GuestCredentials, ProcessSpec, ToolsInfo, ToolsVersion,
};
use crate::vsphere::{Client, ClientConfig, VsphereError};
use anyhow::Context as _;
use std::path::PathBuf;
use std::time::Duration;

#[path = "demo_steps.rs"]
mod steps;
use steps::Steps;
#[path = "demo_vm.rs"]
mod build_vm;
use build_vm::BuildVm;

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// vCenter URL (https://vc.example/). Without it, an embedded simulator is started.
    #[arg(long, env = "GILD_VC_URL")]
    pub url: Option<url::Url>,
    /// vCenter user.
    #[arg(
        long,
        default_value = "administrator@vsphere.local",
        env = "GILD_VC_USER"
    )]
    pub user: String,
    /// Name of the environment variable holding the vCenter password.
    #[arg(long, default_value = "GILD_VC_PASSWORD")]
    pub password_env: String,
    /// CA bundle (PEM) to trust for the vCenter certificate.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Guest (Windows) user for guest operations.
    #[arg(long, default_value = "Administrator")]
    pub guest_user: String,
    /// Name of the environment variable holding the guest password.
    #[arg(long, default_value = "GILD_GUEST_PASSWORD")]
    pub guest_password_env: String,
    /// Source VM, by name or inventory path.
    #[arg(long, default_value = "/dc1/vm/win2022-base")]
    pub source: String,
    /// Folder for the build VM (inventory path).
    #[arg(long, default_value = "/dc1/vm/builds")]
    pub folder: String,
    /// Datastore for the build VM.
    #[arg(long, default_value = "/dc1/datastore/datastore1")]
    pub datastore: String,
    /// Resource pool for the build VM.
    #[arg(long, default_value = "/dc1/host/cluster1/Resources/gild")]
    pub pool: String,
    /// Build VM name (default: gild-demo-<unix time>).
    #[arg(long)]
    pub name: Option<String>,
    /// Simulator timing when no --url is given: instant, or realistic (seconds per operation).
    #[arg(long, default_value = "instant")]
    pub sim_timing: String,
    /// How long to wait for Tools, the IP address and the guest program (seconds).
    #[arg(long, default_value_t = 600)]
    pub wait_secs: u64,
}

const STEP_COUNT: usize = 12;
const DEMO_GUEST_FILE: &str = r"C:\Windows\Temp\gild-demo.txt";

pub async fn run(args: DemoArgs) -> anyhow::Result<Outcome> {
    let wait = Duration::from_secs(args.wait_secs);
    let (sim, target) = match &args.url {
        Some(url) => (None, Target::from_args(&args, url.clone())?),
        None => {
            let timing = Timing::named(&args.sim_timing)
                .with_context(|| {
                    format!(
                        "--sim-timing {:?}: expected instant or realistic",
                        args.sim_timing
                    )
                })
                .bad_input()?;
            let sim = simulator::start(SimulatorConfig {
                timing,
                ..SimulatorConfig::default()
            })
            .await
            .context("starting the embedded simulator")?;
            println!(
                "embedded simulator at {} (timing {})",
                sim.base_url(),
                args.sim_timing
            );
            let target = Target {
                config: client_config(
                    sim.base_url().clone(),
                    sim.user(),
                    sim.password().clone(),
                    sim.ca_pem_path().map(Into::into),
                ),
                guest: GuestCredentials {
                    user_name: sim.guest_user().to_owned(),
                    password: sim.guest_password().clone(),
                },
            };
            (Some(sim), target)
        }
    };
    let result = demo(&args, target, wait).await;
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    result?;
    Ok(Outcome::Success)
}

struct Target {
    config: ClientConfig,
    guest: GuestCredentials,
}

impl Target {
    fn from_args(args: &DemoArgs, url: url::Url) -> anyhow::Result<Target> {
        let password = Secret::from_env(&args.password_env)
            .with_context(|| format!("--password-env {}", args.password_env))
            .bad_input()?;
        let guest_password = Secret::from_env(&args.guest_password_env)
            .with_context(|| format!("--guest-password-env {}", args.guest_password_env))
            .bad_input()?;
        Ok(Target {
            config: client_config(url, &args.user, password, args.ca_file.clone()),
            guest: GuestCredentials {
                user_name: args.guest_user.clone(),
                password: guest_password,
            },
        })
    }
}

fn client_config(
    url: url::Url,
    user: &str,
    password: Secret,
    ca_file: Option<PathBuf>,
) -> ClientConfig {
    let mut config = ClientConfig::new(url, user, password);
    config.tls.ca_file = ca_file;
    config
}

async fn demo(args: &DemoArgs, target: Target, wait: Duration) -> anyhow::Result<()> {
    let mut steps = Steps::new(STEP_COUNT);
    let url = target.config.url.clone();
    let client = steps
        .run("log in", Client::connect(target.config), |c| {
            format!("{} at {url}", c.user())
        })
        .await
        .map_err(classify)?;
    let outcome = build(args, &client, &target.guest, &mut steps, wait).await;
    steps.skip_to_last();
    let logout = steps
        .run("log out", client.logout(), |_| String::new())
        .await;
    outcome?;
    logout?;
    println!(
        "demo finished in {}",
        steps::format_duration(steps.elapsed())
    );
    Ok(())
}

/// Resolves the placement, clones the build VM and exercises it; the VM's
/// guard removes it when a step fails.
async fn build(
    args: &DemoArgs,
    client: &Client,
    guest: &GuestCredentials,
    steps: &mut Steps,
    wait: Duration,
) -> anyhow::Result<()> {
    let placement = steps
        .run(
            "resolve folder, datastore and pool",
            resolve_placement(client, args),
            |p| {
                format!(
                    "folder {} datastore {} pool {}",
                    opt(&p.folder),
                    opt(&p.datastore),
                    opt(&p.resource_pool)
                )
            },
        )
        .await
        .map_err(classify)?;
    let source = steps
        .run("resolve source VM", client.find_vm(&args.source), |vm| {
            format!("{} = {vm}", args.source)
        })
        .await
        .map_err(classify)?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("gild-demo-{}", chrono::Utc::now().timestamp()));
    let spec = CloneSpec {
        source,
        name: name.clone(),
        placement: Some(placement),
        power_on: Some(false),
    };
    let vm = steps
        .run("clone build VM", BuildVm::clone(client, &spec), |vm| {
            format!("{name} = {}", vm.id())
        })
        .await?;
    if let Err(e) = exercise(client, guest, &vm, &name, steps, wait).await {
        // The step's error is the one reported; cleanup only adds a line.
        match vm.discard().await {
            Ok(id) => println!("cleanup: build VM {id} powered off and deleted"),
            Err(cleanup) => eprintln!("cleanup: {:#}", anyhow::Error::new(cleanup)),
        }
        return Err(e);
    }
    steps
        .run("delete build VM", vm.finish(), |id| format!("{id} deleted"))
        .await?;
    Ok(())
}

/// Boots the build VM, runs a program and a file round trip in its guest,
/// and powers it off again.
async fn exercise(
    client: &Client,
    guest: &GuestCredentials,
    build_vm: &BuildVm<'_>,
    name: &str,
    steps: &mut Steps,
    wait: Duration,
) -> anyhow::Result<()> {
    let vm = build_vm.id();
    steps
        .run("power on", client.power_on(vm), |_| String::new())
        .await?;
    steps
        .run(
            "wait for VMware Tools",
            client.wait_for_tools(vm, wait),
            |t| format!("Tools {} running", tools_version(t)),
        )
        .await?;
    steps
        .run(
            "wait for an IP address",
            client.wait_for_ip(vm, wait),
            |ip| ip.clone(),
        )
        .await?;
    let cmd = ProcessSpec {
        path: r"C:\Windows\System32\cmd.exe".into(),
        arguments: Some("/c exit 0".into()),
        ..ProcessSpec::default()
    };
    let exit = steps
        .run(
            "run cmd.exe /c exit 0",
            client.run_program(vm, guest, &cmd, wait),
            |e| format!("exit code {}", e.exit_code),
        )
        .await?;
    if exit.exit_code != 0 {
        anyhow::bail!("cmd.exe /c exit 0 in {vm} exited with {}", exit.exit_code);
    }
    let content = format!(
        "gild demo round trip {name} {}\r\n",
        chrono::Utc::now().to_rfc3339()
    );
    steps
        .run(
            "file round trip (upload, download, compare)",
            round_trip(client, vm, guest, content),
            |n| format!("{n} bytes match"),
        )
        .await?;
    steps
        .run("power off", client.power_off(vm), |_| String::new())
        .await?;
    Ok(())
}

/// Errors that mean the user's input is wrong (exit 2): a refused
/// password, an untrusted certificate, a bad URL, an inventory path or name
/// that does not resolve to exactly one object. Everything else is the job
/// failing (exit 1).
fn classify(e: VsphereError) -> anyhow::Error {
    let input = e.is_unauthenticated()
        || matches!(
            e,
            VsphereError::UntrustedCertificate { .. }
                | VsphereError::Config { .. }
                | VsphereError::NotFound { .. }
                | VsphereError::Ambiguous { .. }
                | VsphereError::InvalidPath { .. }
        );
    if input {
        anyhow::Error::new(super::BadInput(e.into()))
    } else {
        e.into()
    }
}

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

async fn resolve_placement(
    client: &Client,
    args: &DemoArgs,
) -> Result<ClonePlacement, VsphereError> {
    Ok(ClonePlacement {
        folder: Some(client.find_folder(&args.folder).await?),
        datastore: Some(client.find_datastore(&args.datastore).await?),
        resource_pool: Some(client.find_resource_pool(&args.pool).await?),
        ..ClonePlacement::default()
    })
}

/// The running Tools version for the step line: decoded from
/// `version_number` (MAJOR.MINOR.REV), else vCenter's free-form text.
fn tools_version(tools: &ToolsInfo) -> String {
    tools
        .version_number
        .map(|n| ToolsVersion::from_number(n).to_string())
        .or_else(|| tools.version.clone())
        .unwrap_or_else(|| "(version unknown)".into())
}

async fn round_trip(
    client: &Client,
    vm: &VmId,
    guest: &GuestCredentials,
    content: String,
) -> anyhow::Result<usize> {
    let sent = content.into_bytes();
    client
        .upload_bytes(vm, guest, sent.clone(), DEMO_GUEST_FILE, true)
        .await?;
    let got = client.download_bytes(vm, guest, DEMO_GUEST_FILE).await?;
    if got.as_ref() != sent.as_slice() {
        anyhow::bail!(
            "{DEMO_GUEST_FILE} in {vm}: downloaded {} bytes differ from the {} uploaded",
            got.len(),
            sent.len()
        );
    }
    client.delete_file(vm, guest, DEMO_GUEST_FILE).await?;
    Ok(sent.len())
}
