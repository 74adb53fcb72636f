//! The address plan of a Kubernetes cluster with Windows nodes on Flannel
//! VXLAN (seed 004): service subnet, cluster (pod) subnet, kube-dns IP,
//! node network, node count and pods per node, and optionally Flannel's
//! own configuration (`kube-flannel.yml`, or `net-conf.json` /
//! `cni-conf.json`), checked before a node image is built around it.
//!
//! ```yaml
//! service_subnet: 10.96.0.0/12      # default (seed)
//! cluster_subnet: 10.244.0.0/16     # default (seed)
//! kube_dns_service_ip: 10.96.0.10   # default (seed)
//! node_network: 192.168.10.0/24
//! nodes: 5
//! max_pods_per_node: 100            # default 110 (kubelet's --max-pods)
//! flannel:
//!   manifest: kube-flannel.yml      # or net_conf: / cni_conf: paths
//! ```
//!
//! The pipeline takes [`NetPlan::start_ps1_parameters`] for the node's
//! `start.ps1` invocation; ManagementIP is per node and left to first boot.

mod flannel;
pub mod rules;

use super::sink::{read_input, Sink};
use super::yaml::{self, Mark, Node};
use super::ClusterError;
use crate::cluster::network::overlaps;
use crate::report::{Diagnostic, Severity};
use ipnet::{IpNet, Ipv4Net};
use serde::Deserialize;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// Seed 004's address table defaults.
pub const DEFAULT_SERVICE_SUBNET: &str = "10.96.0.0/12";
pub const DEFAULT_CLUSTER_SUBNET: &str = "10.244.0.0/16";
pub const DEFAULT_KUBE_DNS_SERVICE_IP: &str = "10.96.0.10";
/// kubelet's `--max-pods` default.
pub const DEFAULT_MAX_PODS: u32 = 110;
/// Flannel's `SubnetLen` default: each node leases a /24.
pub const DEFAULT_SUBNET_LEN: u8 = 24;

/// The plan file as written; CIDRs stay text here so each bad one gets its
/// own positioned diagnostic.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    service_subnet: Option<String>,
    cluster_subnet: Option<String>,
    kube_dns_service_ip: Option<String>,
    node_network: String,
    nodes: u32,
    max_pods_per_node: Option<u32>,
    flannel: Option<FlannelFiles>,
}

/// Flannel's configuration: the manifest with the `kube-flannel-cfg`
/// ConfigMap, or the two JSON files it carries. Paths are relative to the
/// plan file (resolved in [`NetPlan`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlannelFiles {
    pub manifest: Option<PathBuf>,
    pub net_conf: Option<PathBuf>,
    pub cni_conf: Option<PathBuf>,
}

/// A checked address plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetPlan {
    pub service_subnet: Ipv4Net,
    pub cluster_subnet: Ipv4Net,
    pub kube_dns_service_ip: Ipv4Addr,
    pub node_network: Ipv4Net,
    pub nodes: u32,
    pub max_pods_per_node: u32,
    pub flannel: Option<FlannelFiles>,
}

impl NetPlan {
    /// The plan's part of the seed's `start.ps1` invocation, in its order:
    /// `-ClusterCIDR`, `-ServiceCIDR`, `-KubeDnsServiceIP` (NetworkMode
    /// overlay, InterfaceName and LogDir are the node's, ManagementIP is
    /// known only at first boot).
    pub fn start_ps1_parameters(&self) -> [(&'static str, String); 3] {
        [
            ("ClusterCIDR", self.cluster_subnet.to_string()),
            ("ServiceCIDR", self.service_subnet.to_string()),
            ("KubeDnsServiceIP", self.kube_dns_service_ip.to_string()),
        ]
    }
}

/// What a check found: diagnostics for the plan and any Flannel files,
/// the text of each file read (to show source lines), and the plan when
/// it could be read at all.
#[derive(Debug, Default)]
pub struct Checked {
    pub diagnostics: Vec<Diagnostic>,
    pub sources: Vec<(String, String)>,
    pub plan: Option<NetPlan>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }
}

/// Checks a plan file and the Flannel files it names.
pub fn check_path(path: &Path) -> Checked {
    let mut checked = Checked::default();
    let file = path.display().to_string();
    match read_input(path, rules::INPUT_UNREADABLE, rules::INPUT_TOO_LARGE) {
        Ok(text) => {
            let base = path.parent().unwrap_or(Path::new("."));
            check_text(&file, &text, base, &mut checked);
            checked.sources.insert(0, (file, text));
        }
        Err(d) => checked.diagnostics.push(*d),
    }
    checked
}

/// The plan, for the pipeline: an error naming the first problem when the
/// check finds errors.
pub fn load(path: &Path) -> Result<NetPlan, ClusterError> {
    let checked = check_path(path);
    match (
        checked.plan,
        checked
            .diagnostics
            .iter()
            .find(|d| d.severity == Severity::Error),
    ) {
        (Some(plan), None) => Ok(plan),
        (_, Some(d)) => Err(ClusterError::Parse {
            file: d.file.clone(),
            line: d.line,
            col: d.col,
            message: format!(
                "{} ({} error(s) in the network plan; `gild netplan check` lists them)",
                d.message,
                checked
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == Severity::Error)
                    .count()
            ),
        }),
        (None, None) => Err(ClusterError::Parse {
            file: path.display().to_string(),
            line: 1,
            col: 1,
            message: "the network plan could not be read".into(),
        }),
    }
}

/// Checks a plan's text; Flannel paths resolve against `base`.
pub fn check_text(file: &str, text: &str, base: &Path, checked: &mut Checked) {
    let mut sink = Sink::new(file);
    let root = match yaml::parse(text) {
        Ok(docs) => docs.into_iter().next().map(|d| d.root),
        Err(e) => {
            sink.report(rules::YAML_SYNTAX, e.mark, "", e.message);
            checked.diagnostics.extend(sink.out);
            return;
        }
    };
    let Some(root) = root else {
        sink.report(
            rules::PLAN_FIELD,
            Mark { line: 1, col: 1 },
            "",
            "the plan is empty",
        );
        checked.diagnostics.extend(sink.out);
        return;
    };
    let raw: PlanFile = match serde_norway::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            let mark = e.location().map_or(root.mark, |l| Mark {
                line: l.line(),
                col: l.column(),
            });
            sink.report(rules::PLAN_FIELD, mark, "", e.to_string());
            checked.diagnostics.extend(sink.out);
            return;
        }
    };
    let plan = typed(&raw, &root, base, &mut sink);
    if let Some(plan) = &plan {
        check_plan(plan, &root, &mut sink, checked);
    }
    checked.diagnostics.splice(0..0, sink.out);
    checked.plan = plan;
}

/// Where a field is written, or the plan's start when it is defaulted.
fn field_mark(root: &Node, field: &str) -> Mark {
    root.get(field).map_or(root.mark, |n| n.mark)
}

fn typed(raw: &PlanFile, root: &Node, base: &Path, sink: &mut Sink<'_>) -> Option<NetPlan> {
    let mut net = |field: &str, value: Option<&String>, default: &str| -> Option<Ipv4Net> {
        let text = value.map_or(default, String::as_str);
        let mark = field_mark(root, field);
        let ptr = yaml::pointer_of(&[field]);
        match text.parse::<IpNet>() {
            Ok(IpNet::V4(n)) if n.trunc() == n => Some(n),
            Ok(IpNet::V4(n)) => {
                sink.report(
                    rules::CIDR_INVALID,
                    mark,
                    &ptr,
                    format!("{n} has host bits set; did you mean {}?", n.trunc()),
                );
                None
            }
            Ok(IpNet::V6(n)) => {
                sink.report(
                    rules::CIDR_INVALID,
                    mark,
                    &ptr,
                    format!("{n} is IPv6; Flannel's Windows overlay is IPv4"),
                );
                None
            }
            Err(e) => {
                sink.report(
                    rules::CIDR_INVALID,
                    mark,
                    &ptr,
                    format!("`{text}` is not a CIDR ({e})"),
                );
                None
            }
        }
    };
    let service = net(
        "service_subnet",
        raw.service_subnet.as_ref(),
        DEFAULT_SERVICE_SUBNET,
    );
    let cluster = net(
        "cluster_subnet",
        raw.cluster_subnet.as_ref(),
        DEFAULT_CLUSTER_SUBNET,
    );
    let node = net("node_network", Some(&raw.node_network), "");
    let dns_text = raw
        .kube_dns_service_ip
        .as_deref()
        .unwrap_or(DEFAULT_KUBE_DNS_SERVICE_IP);
    let dns = match dns_text.parse::<Ipv4Addr>() {
        Ok(ip) => Some(ip),
        Err(e) => {
            sink.report(
                rules::CIDR_INVALID,
                field_mark(root, "kube_dns_service_ip"),
                "/kube_dns_service_ip",
                format!("`{dns_text}` is not an IPv4 address ({e})"),
            );
            None
        }
    };
    let flannel = raw.flannel.as_ref().map(|f| FlannelFiles {
        manifest: f.manifest.as_ref().map(|p| base.join(p)),
        net_conf: f.net_conf.as_ref().map(|p| base.join(p)),
        cni_conf: f.cni_conf.as_ref().map(|p| base.join(p)),
    });
    Some(NetPlan {
        service_subnet: service?,
        cluster_subnet: cluster?,
        kube_dns_service_ip: dns?,
        node_network: node?,
        nodes: raw.nodes,
        max_pods_per_node: raw.max_pods_per_node.unwrap_or(DEFAULT_MAX_PODS),
        flannel,
    })
}

/// 2^bits, saturating (a /0 IPv4 network has 2^32 addresses).
fn size(prefix_bits: u32) -> u64 {
    1u64 << prefix_bits.min(32)
}

fn check_plan(plan: &NetPlan, root: &Node, sink: &mut Sink<'_>, checked: &mut Checked) {
    let named = [
        ("service_subnet", plan.service_subnet),
        ("cluster_subnet", plan.cluster_subnet),
        ("node_network", plan.node_network),
    ];
    for (i, (b_name, b)) in named.iter().enumerate() {
        for (a_name, a) in &named[..i] {
            if overlaps(&IpNet::V4(*a), &IpNet::V4(*b)) {
                sink.report(
                    rules::SUBNET_OVERLAP,
                    field_mark(root, b_name),
                    &format!("/{b_name}"),
                    format!("{b} overlaps {a_name} {a}"),
                );
            }
        }
    }
    kube_dns(plan, root, sink);
    let subnet_len = match &plan.flannel {
        Some(files) => flannel::check(files, plan, root, sink, checked),
        None => None,
    };
    pod_capacity(plan, subnet_len.unwrap_or(DEFAULT_SUBNET_LEN), root, sink);
    let hosts = size(32 - u32::from(plan.node_network.prefix_len())).saturating_sub(2);
    // One address of the node network is its gateway.
    if u64::from(plan.nodes) + 1 > hosts {
        sink.report(
            rules::NODE_NETWORK_SIZE,
            field_mark(root, "node_network"),
            "/node_network",
            format!(
                "{} has {hosts} host addresses; {} nodes and a gateway need {}",
                plan.node_network,
                plan.nodes,
                plan.nodes + 1
            ),
        );
    }
}

/// The first address of the service range is the `kubernetes` service's
/// ClusterIP (the API server allocates it), so kube-dns cannot have it.
fn kube_dns(plan: &NetPlan, root: &Node, sink: &mut Sink<'_>) {
    let ip = plan.kube_dns_service_ip;
    let svc = plan.service_subnet;
    let mark = field_mark(root, "kube_dns_service_ip");
    let first = svc.hosts().next();
    let problem = if !svc.contains(&ip) {
        Some(format!("{ip} is outside the service subnet {svc}"))
    } else if ip == svc.network() || ip == svc.broadcast() {
        Some(format!(
            "{ip} is the service subnet's network or broadcast address"
        ))
    } else if Some(ip) == first {
        Some(format!(
            "{ip} is the first service address, taken by the `kubernetes` service"
        ))
    } else {
        None
    };
    if let Some(p) = problem {
        sink.report(rules::DNS_IP, mark, "/kube_dns_service_ip", p);
    }
}

/// Flannel leases each node a /SubnetLen of the cluster subnet; the seed
/// asks for /24 or smaller and sizes the cluster subnet at least
/// nodes + nodes x max pods (5 nodes x 100 pods = 505).
fn pod_capacity(plan: &NetPlan, subnet_len: u8, root: &Node, sink: &mut Sink<'_>) {
    let cluster = plan.cluster_subnet;
    let cluster_mark = field_mark(root, "cluster_subnet");
    if !(24..=30).contains(&subnet_len) {
        sink.report(rules::POD_SUBNET, cluster_mark, "/cluster_subnet", format!("per-node subnets of /{subnet_len}: the seed gives each node a /24 or smaller (at most /30)"));
        return;
    }
    if subnet_len < cluster.prefix_len() {
        sink.report(
            rules::CLUSTER_SUBNET_SIZE,
            cluster_mark,
            "/cluster_subnet",
            format!("{cluster} is smaller than one /{subnet_len} node subnet"),
        );
        return;
    }
    let per_node = size(32 - u32::from(subnet_len));
    // Network and broadcast address, and the node's bridge gateway (.1).
    let pods_fit = per_node - 3;
    if u64::from(plan.max_pods_per_node) > pods_fit {
        let mark = field_mark(root, "max_pods_per_node");
        sink.report(
            rules::POD_SUBNET,
            mark,
            "/max_pods_per_node",
            format!(
                "{} pods do not fit in a /{subnet_len} node subnet ({pods_fit} pod addresses)",
                plan.max_pods_per_node
            ),
        );
    }
    // With every node's pods fitting its own subnet, enough node subnets
    // also means the seed's minimum (nodes + nodes x max pods) is met.
    let node_subnets = size(u32::from(subnet_len - cluster.prefix_len()));
    if u64::from(plan.nodes) > node_subnets {
        sink.report(rules::CLUSTER_SUBNET_SIZE, cluster_mark, "/cluster_subnet", format!("{cluster} holds {node_subnets} node subnets of /{subnet_len}, the plan has {} nodes", plan.nodes));
    }
}
