//! The rules of `gild netplan check` (seed 004, "IP 주소 체계 설계하기" and
//! the Flannel VXLAN section).

use crate::cluster::rule;
use crate::report::{Rule, Severity};

use Severity::Error;

pub const INPUT_UNREADABLE: Rule = rule(
    "input-unreadable",
    Error,
    "The file cannot be read.",
    "check the path and permissions; plans and Flannel files must be UTF-8",
);
pub const INPUT_TOO_LARGE: Rule = rule(
    "input-too-large",
    Error,
    "The file is larger than 4 MiB and is not parsed.",
    "a plan is a few lines; check that this is the right file",
);
pub const YAML_SYNTAX: Rule = rule(
    "yaml-syntax",
    Error,
    "The file is not valid YAML (or JSON).",
    "fix the syntax at the position shown",
);
pub const PLAN_FIELD: Rule = rule("plan-field", Error, "A plan field is missing, unknown or of the wrong type.", "the plan has service_subnet, cluster_subnet, kube_dns_service_ip, node_network, nodes, max_pods_per_node and optionally flannel");
pub const CIDR_INVALID: Rule = rule("cidr-invalid", Error, "A subnet or address that is not a valid IPv4 CIDR or address.", "write subnets as a.b.c.d/len with the host bits zero (10.244.0.0/16); Flannel's Windows overlay is IPv4");
pub const SUBNET_OVERLAP: Rule = rule(
    "subnet-overlap",
    Error,
    "Two of the service, cluster and node subnets overlap.",
    "give the service subnet, the cluster (pod) subnet and the node network disjoint ranges",
);
pub const DNS_IP: Rule = rule("kube-dns-ip", Error, "The kube-dns service IP is outside the service subnet, or is its network or first address.", "pick an address inside the service subnet other than the first one (that is the `kubernetes` service), e.g. 10.96.0.10");
pub const CLUSTER_SUBNET_SIZE: Rule = rule("cluster-subnet-size", Error, "The cluster subnet cannot give every node its pod subnet.", "enlarge the cluster subnet: it needs nodes x (pod subnet size) addresses (seed: at least nodes + nodes x max pods)");
pub const POD_SUBNET: Rule = rule("pod-subnet", Error, "max pods per node does not fit in one node's pod subnet, or the pod subnet is larger than /24.", "Flannel gives each node one /24 (SubnetLen 24): keep max pods per node at or below 253, or change SubnetLen");
pub const NODE_NETWORK_SIZE: Rule = rule(
    "node-network-size",
    Error,
    "The node network has fewer addresses than nodes.",
    "use a node network with room for every node (and its gateway)",
);
pub const FLANNEL_CONFIG: Rule = rule("flannel-config", Error, "The Flannel configuration cannot be found or read.", "point flannel.manifest at kube-flannel.yml (its kube-flannel-cfg ConfigMap), or flannel.net_conf / flannel.cni_conf at the JSON files");
pub const FLANNEL_NETWORK: Rule = rule(
    "flannel-network",
    Error,
    "net-conf.json Network is not the cluster subnet.",
    "set \"Network\" in net-conf.json to the plan's cluster subnet",
);
pub const FLANNEL_BACKEND: Rule = rule(
    "flannel-backend",
    Error,
    "net-conf.json Backend Type is not vxlan.",
    "set \"Backend\": {\"Type\": \"vxlan\", \"VNI\": 4096, \"Port\": 4789}",
);
pub const FLANNEL_VNI: Rule = rule(
    "flannel-vni",
    Error,
    "net-conf.json Backend VNI is not 4096.",
    "set \"VNI\": 4096: Flannel on Linux and on Windows interoperate only with VNI 4096",
);
pub const FLANNEL_PORT: Rule = rule(
    "flannel-port",
    Error,
    "net-conf.json Backend Port is not 4789.",
    "set \"Port\": 4789: Flannel on Linux and on Windows interoperate only on port 4789",
);
pub const FLANNEL_CNI_NAME: Rule = rule(
    "flannel-cni-name",
    Error,
    "cni-conf.json name is not vxlan0.",
    "set \"name\": \"vxlan0\" in cni-conf.json, the network name the Windows node scripts expect",
);

/// Every rule, in documentation order.
pub const RULES: &[Rule] = &[
    INPUT_UNREADABLE,
    INPUT_TOO_LARGE,
    YAML_SYNTAX,
    PLAN_FIELD,
    CIDR_INVALID,
    SUBNET_OVERLAP,
    DNS_IP,
    CLUSTER_SUBNET_SIZE,
    POD_SUBNET,
    NODE_NETWORK_SIZE,
    FLANNEL_CONFIG,
    FLANNEL_NETWORK,
    FLANNEL_BACKEND,
    FLANNEL_VNI,
    FLANNEL_PORT,
    FLANNEL_CNI_NAME,
];
