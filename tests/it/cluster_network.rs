//! Hybrid networking (`Network.operator.openshift.io`) as `machineset
//! check` sees it: the documented manifests pass, and each rule fails on an
//! edit of them. Facts and their sources are in the fixtures' headers and
//! in `src/cluster/network.rs`.

use gild::cluster::machineset::{check_text, CheckOptions};
use gild::cluster::network::ImageBuild;
use gild::report::Severity;

const STUB: &str = include_str!("../fixtures/cluster/network/cluster-network-03-config.yml");
const FULL: &str = include_str!("../fixtures/cluster/network/network-operator-cluster.yaml");

fn build(s: &str) -> CheckOptions {
    CheckOptions {
        os_build: Some(s.parse::<ImageBuild>().unwrap()),
        ..CheckOptions::default()
    }
}

fn rules(text: &str, opts: &CheckOptions, min: Severity) -> Vec<&'static str> {
    check_text("net.yaml", text, opts)
        .into_iter()
        .filter(|d| d.severity >= min)
        .map(|d| d.rule_id)
        .collect()
}

#[test]
fn the_documented_manifests_pass_with_a_20h2_image() {
    for text in [STUB, FULL] {
        assert!(rules(text, &build("19042.1052"), Severity::Note).is_empty());
    }
}

#[test]
fn without_the_image_build_the_kb_requirement_is_a_note() {
    assert_eq!(
        rules(STUB, &CheckOptions::default(), Severity::Note),
        ["vxlan-port-os-build"]
    );
    assert!(rules(STUB, &CheckOptions::default(), Severity::Warning).is_empty());
}

#[test]
fn an_image_without_custom_vxlan_port_support_fails() {
    // Windows Server 2019 (17763) and 1909 before KB4565351 (18363.1016).
    for b in ["17763.2061", "18363.1015"] {
        assert_eq!(
            rules(STUB, &build(b), Severity::Error),
            ["vxlan-port-os-build"],
            "{b}"
        );
    }
    assert!(rules(STUB, &build("18363.1016"), Severity::Error).is_empty());
}

#[test]
fn each_network_rule_fails_on_its_edit() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("network-name", FULL, "  name: cluster", "  name: default"),
        (
            "network-ovn-kubernetes",
            FULL,
            "type: OVNKubernetes",
            "type: OpenShiftSDN",
        ),
        (
            "network-ovn-kubernetes",
            STUB,
            "    ovnKubernetesConfig:\n      hybridOverlayConfig:",
            "    openshiftSDNConfig:\n      hybridOverlayConfig:",
        ),
        (
            "hybrid-overlay",
            STUB,
            "        - cidr: 10.132.0.0/14\n          hostPrefix: 23\n",
            "",
        ),
        ("hybrid-overlay", STUB, "          hostPrefix: 23\n", ""),
        ("hybrid-overlay", STUB, "hostPrefix: 23", "hostPrefix: 12"),
        (
            "hybrid-overlay",
            STUB,
            "cidr: 10.132.0.0/14",
            "cidr: 10.132.0.0/33",
        ),
        (
            "hybrid-overlap",
            FULL,
            "        - cidr: 10.132.0.0/14",
            "        - cidr: 10.130.0.0/15",
        ),
        (
            "hybrid-overlap",
            FULL,
            "        - cidr: 10.132.0.0/14",
            "        - cidr: 172.30.128.0/17",
        ),
        (
            "vxlan-port",
            STUB,
            "        hybridOverlayVXLANPort: 9898\n",
            "",
        ),
        (
            "vxlan-port",
            STUB,
            "hybridOverlayVXLANPort: 9898",
            "hybridOverlayVXLANPort: 4789",
        ),
        (
            "vxlan-port",
            STUB,
            "hybridOverlayVXLANPort: 9898",
            "hybridOverlayVXLANPort: 6081",
        ),
        (
            "vxlan-port",
            STUB,
            "hybridOverlayVXLANPort: 9898",
            "hybridOverlayVXLANPort: 70000",
        ),
    ];
    for (rule, base, from, to) in cases {
        assert!(base.contains(from), "{rule}: `{from}` not in the fixture");
        let text = base.replacen(from, to, 1);
        let found = rules(&text, &build("19042.1052"), Severity::Error);
        assert!(
            found.contains(rule),
            "{rule} not reported for `{to}`: {found:?}"
        );
    }
}

#[test]
fn overlaps_name_both_networks_and_point_at_the_hybrid_cidr() {
    let text = FULL.replacen("- cidr: 10.132.0.0/14", "- cidr: 10.128.0.0/16", 1);
    let d = check_text("net.yaml", &text, &build("19042.1052"))
        .into_iter()
        .find(|d| d.rule_id == "hybrid-overlap")
        .unwrap();
    assert_eq!(
        d.message,
        "spec.defaultNetwork.ovnKubernetesConfig.hybridOverlayConfig.hybridClusterNetwork[0].cidr: 10.128.0.0/16 overlaps clusterNetwork 10.128.0.0/14"
    );
    assert_eq!((d.line, d.col), (20, 17));
}

#[test]
fn the_cluster_config_network_is_not_mistaken_for_the_operator_one() {
    let text = FULL.replacen("operator.openshift.io/v1", "config.openshift.io/v1", 1);
    let d = check_text("net.yaml", &text, &CheckOptions::default());
    assert_eq!(d[0].rule_id, "unsupported-kind");
    assert!(
        d[0].message.contains("operator.openshift.io/v1 Network"),
        "{}",
        d[0].message
    );
}

#[test]
fn a_machineset_and_the_network_object_in_one_file_are_both_checked() {
    let ms = include_str!("../fixtures/cluster/machineset/seed-filled.yaml");
    let text = format!(
        "{ms}---\n{}",
        STUB.replacen("VXLANPort: 9898", "VXLANPort: 4789", 1)
    );
    let found = rules(&text, &build("19042.1052"), Severity::Warning);
    assert_eq!(found, ["vxlan-port"]);
}
