//! `gild netplan check PLAN...`: the Flannel address plan of a Kubernetes
//! cluster with Windows nodes (seed 004), with the Flannel files it names.
//! Formats and exit codes as `gild lint`.

use super::lint::{outcome, Format};
use super::Outcome;
use crate::cluster::netplan;
use crate::report::SarifTool;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum NetplanCommand {
    /// Check an address plan: CIDRs, overlaps, kube-dns IP, pod capacity, and Flannel's net-conf.json / cni-conf.json.
    Check(CheckArgs),
}

#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Plan files (YAML: service_subnet, cluster_subnet, kube_dns_service_ip, node_network, nodes, max_pods_per_node, flannel).
    #[arg(required = true)]
    pub plans: Vec<PathBuf>,
    /// Output format: human (compiler-style), json (JSON Lines), sarif (SARIF 2.1.0).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Exit 1 on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// What the SARIF log says about the network plan checker.
pub const SARIF_TOOL: SarifTool<'static> = SarifTool {
    rules: netplan::rules::RULES,
    information_uri: "https://kubernetes.io/docs/setup/production-environment/windows/",
};

pub async fn run(cmd: NetplanCommand) -> anyhow::Result<Outcome> {
    let NetplanCommand::Check(args) = cmd;
    let mut groups = Vec::new();
    for plan in &args.plans {
        let mut checked = netplan::check_path(plan);
        // One group per file read, so human output shows each file's lines.
        for (file, text) in std::mem::take(&mut checked.sources) {
            let (mine, rest) = checked
                .diagnostics
                .into_iter()
                .partition(|d| d.file == file);
            checked.diagnostics = rest;
            groups.push((Some(text), mine));
        }
        if !checked.diagnostics.is_empty() {
            groups.push((None, checked.diagnostics));
        }
    }
    let all = super::machineset::print_diagnostics(args.format, &groups, &SARIF_TOOL)?;
    Ok(outcome(&all, args.deny_warnings))
}
