//! `gild machineset generate|check`: the WMCO Windows MachineSet for a
//! published template, and the checker for MachineSets written by hand or
//! by gild (exit codes and formats as `gild lint`).

use super::lint::{outcome, Format};
use super::{BadInputExt, Outcome};
use crate::cluster::machineset::{self, CheckOptions, GenerateParams, Hardware, Workspace};
use crate::cluster::{kubeconfig, network::ImageBuild, ClusterError};
use crate::report::{self, Diagnostic, SarifTool};
use anyhow::Context;
use std::io::Write;
use std::path::PathBuf;

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
    /// Pipeline file the template was built by (its source VM).
    #[arg(long, value_name = "PIPELINE")]
    pub pipeline: Option<PathBuf>,
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
    let mut groups = Vec::new();
    for file in &args.files {
        let (source, diags) = machineset::check_path(file, &opts);
        groups.push((source, diags));
    }
    let all = print_diagnostics(args.format, &groups, &SARIF_TOOL)?;
    Ok(outcome(&all, args.deny_warnings))
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
