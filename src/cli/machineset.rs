//! `gild machineset generate|check`: the WMCO Windows MachineSet for a
//! published template, and the checker for MachineSets written by hand or
//! by gild (exit codes and formats as `gild lint`).

use super::lint::{outcome, Format};
use super::pipeline_args::PipelineVarArgs;
use super::{BadInputExt, Outcome};
use crate::cluster::machineset::{self, online, CheckOptions, GenerateParams, Hardware, Workspace};
use crate::cluster::{kubeconfig, network::ImageBuild, ClusterError};
use crate::pipeline::run::{self, Overrides};
use crate::pipeline::SecretSource;
use crate::report::{self, Diagnostic, SarifTool};
use crate::vsphere::{Client, ClientConfig, TlsOptions};
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand, Debug)]
pub enum MachinesetCommand {
    /// Print the Windows MachineSet (seed 5.3.3) for a published template.
    Generate(GenerateArgs),
    /// Check MachineSets, and the cluster's Network.operator.openshift.io object, before `oc apply`.
    Check(CheckArgs),
}

#[derive(clap::Args, Debug)]
pub struct GenerateArgs {
    /// Full inventory path of the published template (/dc1/vm/templates/win2022-wmco).
    #[arg(long)]
    pub template: String,
    /// MachineSet name: at most 9 characters, a DNS label.
    #[arg(long)]
    pub name: String,
    /// The cluster's infrastructure id (`oc get infrastructure cluster -o jsonpath='{.status.infrastructureName}'`).
    #[arg(long, required_unless_present = "infrastructure_id_from_kubeconfig")]
    pub infrastructure_id: Option<String>,
    /// Read the infrastructure id from the cluster (kubeconfig PATH, or KUBECONFIG / ~/.kube/config / in-cluster).
    #[arg(long, value_name = "PATH", num_args = 0..=1, conflicts_with = "infrastructure_id")]
    pub infrastructure_id_from_kubeconfig: Option<Option<PathBuf>>,
    /// VM network of the machines (default: the pipeline's placement.network).
    #[arg(long)]
    pub network: Option<String>,
    #[arg(long, default_value_t = 1)]
    pub replicas: u32,
    #[arg(long, default_value_t = Hardware::default().num_cpus)]
    pub cpus: u32,
    #[arg(long, default_value_t = Hardware::default().num_cores_per_socket)]
    pub cores_per_socket: u32,
    #[arg(long, default_value_t = Hardware::default().memory_mib)]
    pub memory_mib: u64,
    /// VMDK size; it does not grow the Windows partition (seed note 9).
    #[arg(long, default_value_t = Hardware::default().disk_gib)]
    pub disk_gib: u32,
    /// Take server, datacenter, datastore, folder and resource pool from a pipeline file (flags override).
    #[arg(long, value_name = "PIPELINE")]
    pub workspace_from: Option<PathBuf>,
    /// vCenter host name or IP.
    #[arg(long)]
    pub server: Option<String>,
    #[arg(long)]
    pub datacenter: Option<String>,
    #[arg(long)]
    pub datastore: Option<String>,
    /// VM folder path (/dc1/vm/<folder>).
    #[arg(long)]
    pub folder: Option<String>,
    #[arg(long)]
    pub resource_pool: Option<String>,
    /// Write the YAML here instead of stdout.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// MachineSet YAML files (several documents or a List allowed), and optionally the cluster's Network.operator.openshift.io object.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format: human (compiler-style), json (JSON Lines), sarif (SARIF 2.1.0).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Compare the infrastructure id with the cluster's (kubeconfig PATH, or KUBECONFIG / ~/.kube/config / in-cluster).
    #[arg(long, value_name = "PATH", num_args = 0..=1)]
    pub infrastructure_id_from_kubeconfig: Option<Option<PathBuf>>,
    /// The Windows image's OS build (19042.1052), for the custom VXLAN port check.
    #[arg(long, value_name = "BUILD.UBR")]
    pub os_build: Option<ImageBuild>,
    /// The template's disk size in GiB, for the diskGiB check.
    #[arg(long, value_name = "GIB")]
    pub template_disk_gib: Option<u64>,
    /// The VM the image was built from (the template must not be it); default: the pipeline's source.vm.
    #[arg(long, value_name = "VM")]
    pub source_vm: Option<String>,
    /// Pipeline file the template was built by (its source VM; with --online, its vCenter).
    #[arg(long, value_name = "PIPELINE")]
    pub pipeline: Option<PathBuf>,
    #[command(flatten)]
    pub vcenter: OnlineArgs,
}

/// `--online`: which vCenter to ask, from `--pipeline` or these flags.
/// The password is never a flag value (it would sit in shell history and
/// `ps`): it comes from an environment variable or a private file.
#[derive(clap::Args, Debug)]
pub struct OnlineArgs {
    /// Check in vCenter that the template exists and is a template, and that the network, datastore, folder and resource pool exist.
    #[arg(long)]
    pub online: bool,
    /// vCenter URL (overrides the pipeline's vcenter.url).
    #[arg(long, env = "GILD_VCENTER_URL")]
    pub vcenter_url: Option<url::Url>,
    /// vCenter user (without --pipeline).
    #[arg(long, conflicts_with = "pipeline")]
    pub user: Option<String>,
    /// Environment variable holding the vCenter password (without --pipeline; default GILD_VCENTER_PASSWORD).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["pipeline", "password_file"])]
    pub password_env: Option<String>,
    /// File holding the vCenter password, mode 600 (without --pipeline).
    #[arg(long, value_name = "PATH", conflicts_with = "pipeline")]
    pub password_file: Option<PathBuf>,
    /// CA bundle (PEM) vCenter's certificate chains to.
    #[arg(long, env = "GILD_VCENTER_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Skip TLS verification (lab vCenters only; without --pipeline).
    #[arg(long, conflicts_with = "pipeline")]
    pub insecure: bool,
    #[command(flatten)]
    pub vars: PipelineVarArgs,
}

/// What the SARIF log says about the MachineSet checker.
pub const SARIF_TOOL: SarifTool<'static> = SarifTool {
    rules: machineset::RULES,
    information_uri: "https://docs.openshift.com/container-platform/4.9/windows_containers/creating_windows_machinesets/creating-windows-machineset-vsphere.html",
};

pub async fn run(cmd: MachinesetCommand) -> anyhow::Result<Outcome> {
    match cmd {
        MachinesetCommand::Generate(args) => generate(args).await,
        MachinesetCommand::Check(args) => check(args).await,
    }
}

async fn generate(args: GenerateArgs) -> anyhow::Result<Outcome> {
    let infrastructure_id = match (
        &args.infrastructure_id,
        &args.infrastructure_id_from_kubeconfig,
    ) {
        (Some(id), _) => id.clone(),
        (None, Some(path)) => kubeconfig::infrastructure_id(path.as_deref()).await?,
        (None, None) => {
            return Err(anyhow::anyhow!(
                "pass --infrastructure-id or --infrastructure-id-from-kubeconfig"
            ))
            .bad_input()
        }
    };
    let (mut workspace, mut network) = match &args.workspace_from {
        Some(path) => {
            let pipeline = machineset::generate::read_pipeline(path).bad_input()?;
            let (ws, net) = Workspace::from_pipeline(&pipeline, path).bad_input()?;
            (ws, Some(net))
        }
        None => (Workspace::default(), None),
    };
    let set = |field: &mut String, flag: &Option<String>| {
        if let Some(v) = flag {
            field.clone_from(v);
        }
    };
    set(&mut workspace.server, &args.server);
    set(&mut workspace.datacenter, &args.datacenter);
    set(&mut workspace.datastore, &args.datastore);
    set(&mut workspace.folder, &args.folder);
    if args.resource_pool.is_some() {
        workspace.resource_pool.clone_from(&args.resource_pool);
    }
    if args.network.is_some() {
        network.clone_from(&args.network);
    }
    let params = GenerateParams {
        name: args.name,
        infrastructure_id,
        template: args.template,
        network: network
            .context("no network: pass --network or --workspace-from PIPELINE")
            .bad_input()?,
        replicas: args.replicas,
        hardware: Hardware {
            num_cpus: args.cpus,
            num_cores_per_socket: args.cores_per_socket,
            memory_mib: args.memory_mib,
            disk_gib: args.disk_gib,
        },
        workspace,
    };
    let yaml = machineset::generate(&params)
        .map_err(|e| match e {
            ClusterError::InvalidParam { field: "workspace", .. } => anyhow::Error::new(e)
                .context("pass --server, --datacenter, --datastore and --folder, or --workspace-from PIPELINE"),
            other => other.into(),
        })
        .bad_input()?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, yaml).with_context(|| format!("writing {}", path.display()))?
        }
        None => std::io::stdout().lock().write_all(yaml.as_bytes())?,
    }
    Ok(Outcome::Success)
}

async fn check(args: CheckArgs) -> anyhow::Result<Outcome> {
    let mut opts = CheckOptions {
        os_build: args.os_build,
        template_disk_gib: args.template_disk_gib,
        source_vm: args.source_vm.clone(),
        ..CheckOptions::default()
    };
    if let Some(path) = &args.pipeline {
        let pipeline = machineset::generate::read_pipeline(path).bad_input()?;
        opts.source_vm.get_or_insert(pipeline.source.vm);
    }
    if let Some(path) = &args.infrastructure_id_from_kubeconfig {
        opts.cluster_infrastructure_id =
            Some(kubeconfig::infrastructure_id(path.as_deref()).await?);
    }
    let client = match args.vcenter.online {
        true => Some(connect(&args.vcenter, args.pipeline.as_deref()).await?),
        false => None,
    };
    let mut groups = Vec::new();
    for file in &args.files {
        let (source, mut diags) = machineset::check_path(file, &opts);
        if let (Some(client), Some(text)) = (&client, &source) {
            let name = file.display().to_string();
            let found = online::check_online_text(client, &name, text)
                .await
                .with_context(|| format!("{name}: looking the inventory up in vCenter"))?;
            diags.extend(found);
        }
        groups.push((source, diags));
    }
    if let Some(client) = client {
        if let Err(e) = client.close().await {
            tracing::warn!(error = %e, "logging out of vCenter failed");
        }
    }
    let all = print_diagnostics(args.format, &groups, &SARIF_TOOL)?;
    Ok(outcome(&all, args.deny_warnings))
}

/// Logs in to the vCenter `--online` asks: the pipeline's (its loader,
/// secret source and TLS settings, with --vcenter-url / --ca-file over
/// them), or the one the flags name.
async fn connect(args: &OnlineArgs, pipeline: Option<&Path>) -> anyhow::Result<Client> {
    let overrides = Overrides {
        vcenter_url: args.vcenter_url.clone(),
        ca_file: args.ca_file.clone(),
    };
    if let Some(path) = pipeline {
        let vars = args.vars.to_vars().bad_input()?;
        let loaded = crate::pipeline::load(path, &vars).bad_input()?;
        return Ok(run::connect(&loaded, &overrides).await?);
    }
    let url = args
        .vcenter_url
        .clone()
        .context("--online needs --pipeline PIPELINE or --vcenter-url URL")
        .bad_input()?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(anyhow::anyhow!(
            "--vcenter-url must not carry a user name or password; use --user and --password-env/--password-file"
        ))
        .bad_input();
    }
    let user = args
        .user
        .clone()
        .context("--online with --vcenter-url needs --user")
        .bad_input()?;
    let source = match (&args.password_env, &args.password_file) {
        (_, Some(path)) => SecretSource::File(path.clone()),
        (Some(name), None) => SecretSource::Env(name.clone()),
        (None, None) => SecretSource::Env("GILD_VCENTER_PASSWORD".into()),
    };
    let password = source
        .resolve()
        .with_context(|| format!("the vCenter password ({})", source.describe()))
        .bad_input()?;
    let mut cfg = ClientConfig::new(url.clone(), user.clone(), password);
    cfg.tls = TlsOptions {
        ca_file: args.ca_file.clone(),
        thumbprint: None,
        insecure: args.insecure,
    };
    Client::connect(cfg)
        .await
        .with_context(|| format!("cannot log in to vCenter {url} as {user}"))
}

/// Prints diagnostics as `gild lint` does: human (each group with the
/// source text its lines come from, then a summary), JSON Lines, or SARIF
/// with `tool`'s rule table. Returns every diagnostic for the exit code.
pub(super) fn print_diagnostics(
    format: Format,
    groups: &[(Option<String>, Vec<Diagnostic>)],
    tool: &SarifTool<'_>,
) -> anyhow::Result<Vec<Diagnostic>> {
    let all: Vec<Diagnostic> = groups.iter().flat_map(|(_, d)| d.iter().cloned()).collect();
    let out = match format {
        Format::Human => {
            let mut out: String = groups
                .iter()
                .map(|(source, diags)| report::human(diags, source.as_deref()))
                .collect();
            out.push_str(&report::summary(&all, groups.len()));
            out
        }
        Format::Json => report::json_lines(&all),
        Format::Sarif => serde_json::to_string_pretty(&report::sarif(&all, tool))? + "\n",
    };
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(all)
}
