//! `netplan check` on seed 004's plan (its defaults, 5 nodes x 100 pods,
//! Flannel configured as the seed edits it) passes; each broken variant
//! fails with the rule and message that names the problem.

use gild::cluster::netplan::{self, Checked};
use gild::report::Severity;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cluster/netplan")
}

/// The fixture folder copied to a temp dir with one file edited.
fn variant(file: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.file_name().unwrap() == file {
            assert!(text.contains(from), "`{from}` not in {file}");
            text = text.replacen(from, to, 1);
        }
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    let plan = dir.path().join(if file.ends_with(".json") {
        "json-files.yaml"
    } else {
        "seed.yaml"
    });
    (dir, plan)
}

fn errors(checked: &Checked) -> Vec<(&'static str, String)> {
    checked
        .diagnostics
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .map(|d| (d.rule_id, d.message.clone()))
        .collect()
}

#[test]
fn the_seeds_plan_passes_with_the_manifest_and_with_the_json_files() {
    for plan in ["seed.yaml", "json-files.yaml"] {
        let checked = netplan::check_path(&fixtures().join(plan));
        assert!(
            checked.diagnostics.is_empty(),
            "{plan}: {:#?}",
            checked.diagnostics
        );
        assert_eq!(
            checked.sources.len(),
            if plan == "seed.yaml" { 2 } else { 3 }
        );
    }
}

#[test]
fn the_plan_feeds_start_ps1_with_the_seeds_defaults() {
    let plan = netplan::load(&fixtures().join("json-files.yaml")).unwrap();
    assert_eq!(
        plan.start_ps1_parameters(),
        [
            ("ClusterCIDR", "10.244.0.0/16".to_string()),
            ("ServiceCIDR", "10.96.0.0/12".to_string()),
            ("KubeDnsServiceIP", "10.96.0.10".to_string()),
        ]
    );
    assert_eq!(plan.nodes, 5);
    assert_eq!(plan.max_pods_per_node, 100);
}

#[test]
fn each_broken_variant_fails_with_its_message() {
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        ("seed.yaml", "cluster_subnet: 10.244.0.0/16", "cluster_subnet: 10.244.0.0/33", "cidr-invalid", "cluster_subnet: `10.244.0.0/33` is not a CIDR"),
        ("seed.yaml", "cluster_subnet: 10.244.0.0/16", "cluster_subnet: 10.244.1.0/16", "cidr-invalid", "cluster_subnet: 10.244.1.0/16 has host bits set; did you mean 10.244.0.0/16?"),
        ("seed.yaml", "node_network: 192.168.10.0/24", "node_network: fd00::/64", "cidr-invalid", "node_network: fd00::/64 is IPv6; Flannel's Windows overlay is IPv4"),
        ("seed.yaml", "kube_dns_service_ip: 10.96.0.10", "kube_dns_service_ip: 10.96.0.300", "cidr-invalid", "kube_dns_service_ip: `10.96.0.300` is not an IPv4 address"),
        ("seed.yaml", "service_subnet: 10.96.0.0/12", "service_subnet: 10.240.0.0/12", "subnet-overlap", "cluster_subnet: 10.244.0.0/16 overlaps service_subnet 10.240.0.0/12"),
        ("seed.yaml", "node_network: 192.168.10.0/24", "node_network: 10.244.200.0/24", "subnet-overlap", "node_network: 10.244.200.0/24 overlaps cluster_subnet 10.244.0.0/16"),
        ("seed.yaml", "kube_dns_service_ip: 10.96.0.10", "kube_dns_service_ip: 10.112.0.10", "kube-dns-ip", "kube_dns_service_ip: 10.112.0.10 is outside the service subnet 10.96.0.0/12"),
        ("seed.yaml", "kube_dns_service_ip: 10.96.0.10", "kube_dns_service_ip: 10.96.0.1", "kube-dns-ip", "kube_dns_service_ip: 10.96.0.1 is the first service address, taken by the `kubernetes` service"),
        ("seed.yaml", "cluster_subnet: 10.244.0.0/16", "cluster_subnet: 10.244.0.0/22", "cluster-subnet-size", "cluster_subnet: 10.244.0.0/22 holds 4 node subnets of /24, the plan has 5 nodes"),
        ("seed.yaml", "max_pods_per_node: 100", "max_pods_per_node: 300", "pod-subnet", "max_pods_per_node: 300 pods do not fit in a /24 node subnet (253 pod addresses)"),
        ("seed.yaml", "node_network: 192.168.10.0/24", "node_network: 192.168.10.0/30", "node-network-size", "node_network: 192.168.10.0/30 has 2 host addresses; 5 nodes and a gateway need 6"),
        ("seed.yaml", "nodes: 5", "nodes: 5\nzones: 3", "plan-field", "unknown field `zones`"),
        ("seed.yaml", "manifest: kube-flannel.yml", "manifest: missing.yml", "input-unreadable", "cannot read"),
        ("kube-flannel.yml", "  net-conf.json: |", "  net-conf: |", "flannel-config", "no ConfigMap with data.net-conf.json"),
        ("kube-flannel.yml", "\"Network\": \"10.244.0.0/16\"", "\"Network\": \"10.245.0.0/16\"", "flannel-network", "data[\"net-conf.json\"].Network: 10.245.0.0/16 is not the plan's cluster subnet 10.244.0.0/16"),
        ("kube-flannel.yml", "\"Type\": \"vxlan\"", "\"Type\": \"host-gw\"", "flannel-backend", "data[\"net-conf.json\"].Backend.Type: `host-gw`, expected vxlan"),
        ("kube-flannel.yml", "\"VNI\" : 4096,", "\"VNI\" : 1,", "flannel-vni", "data[\"net-conf.json\"].Backend.VNI: 1, expected 4096"),
        ("kube-flannel.yml", "\"VNI\" : 4096,\n        \"Port\": 4789", "\"VNI\" : 4096", "flannel-port", "data[\"net-conf.json\"].Backend.Port: missing (Flannel's default is 8472, the Linux kernel's), expected 4789"),
        ("kube-flannel.yml", "\"name\": \"vxlan0\"", "\"name\": \"cbr0\"", "flannel-cni-name", "data[\"cni-conf.json\"].name: \"cbr0\", expected \"vxlan0\""),
        ("net-conf.json", "\"Port\": 4789", "\"Port\": 8472", "flannel-port", "Backend.Port: 8472, expected 4789"),
        ("net-conf.json", "\"Type\": \"vxlan\",", "\"Type\": \"vxlan,", "yaml-syntax", "not valid JSON"),
        ("cni-conf.json", "\"name\": \"vxlan0\"", "\"name\": \"flannel\"", "flannel-cni-name", "name: \"flannel\", expected \"vxlan0\""),
    ];
    for (file, from, to, rule, message) in cases {
        let (_dir, plan) = variant(file, from, to);
        let checked = netplan::check_path(&plan);
        let found = errors(&checked);
        assert!(
            found.iter().any(|(r, m)| r == rule && m.contains(message)),
            "{file} `{to}`: expected {rule} `{message}`, got {found:#?}"
        );
        assert!(
            netplan::load(&plan).is_err(),
            "{file} `{to}`: load accepted it"
        );
    }
}

#[test]
fn positions_inside_the_flannel_manifest_are_exact() {
    let (_dir, plan) = variant("kube-flannel.yml", "\"VNI\" : 4096,", "\"VNI\" : 1,");
    let checked = netplan::check_path(&plan);
    let d = checked
        .diagnostics
        .iter()
        .find(|d| d.rule_id == "flannel-vni")
        .unwrap();
    let manifest = std::fs::read_to_string(Path::new(&d.file)).unwrap();
    let line = manifest.lines().nth(d.line - 1).unwrap();
    assert_eq!(&line[d.col - 1..], "1,", "{}:{}", d.line, d.col);
}

#[test]
fn the_seeds_sizing_example_is_the_minimum() {
    // 5 nodes x 100 pods need 505 addresses (seed): a /23 cluster subnet of
    // /25 node subnets (2 x 128 = 256 addresses) is too small.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("net-conf.json"), r#"{"Network": "10.244.0.0/23", "SubnetLen": 25, "Backend": {"Type": "vxlan", "VNI": 4096, "Port": 4789}}"#).unwrap();
    let plan = dir.path().join("plan.yaml");
    std::fs::write(&plan, "cluster_subnet: 10.244.0.0/23\nnode_network: 192.168.10.0/24\nnodes: 5\nmax_pods_per_node: 100\nflannel:\n  net_conf: net-conf.json\n").unwrap();
    let found = errors(&netplan::check_path(&plan));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        found[0].1,
        "cluster_subnet: 10.244.0.0/23 holds 4 node subnets of /25, the plan has 5 nodes"
    );
}
