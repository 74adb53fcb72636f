//! OpenShift hybrid networking, what WMCO on vSphere depends on: the
//! cluster's `Network.operator.openshift.io` object (the install-time
//! `manifests/cluster-network-03-config.yml`, or `oc get network.operator
//! cluster -o yaml`).
//!
//! Facts, from OpenShift's "Configuring hybrid networking" (OCP 4.9,
//! networking/ovn_kubernetes_network_provider/configuring-hybrid-networking):
//! - hybrid networking is an OVN-Kubernetes feature
//!   (`spec.defaultNetwork.ovnKubernetesConfig.hybridOverlayConfig`);
//! - `hybridClusterNetwork` entries have `cidr` and `hostPrefix` (the
//!   documented example is 10.132.0.0/14 with hostPrefix 23), and "the
//!   hybridClusterNetwork CIDR cannot overlap with the clusterNetwork CIDR";
//! - `hybridOverlayVXLANPort` "is required for running Windows nodes in a
//!   cluster installed on vSphere ... The custom port can be any open port
//!   excluding the default 4789 port" (example 9898); openshift-docs
//!   pull 101844 (2025) adds OVN's Geneve port 6081 to the exclusion;
//! - a custom VXLAN port needs Windows support for it: KB4565351 (the
//!   August 2020 update for 1903/1909, builds 18362/18363.1016); Windows
//!   Server 20H2 shipped after it; 2004 shipped before it and has the
//!   same-day KB4566782 from build 19041.450 (SPEC "Target versions"
//!   said both shipped after it; 2004's release date says otherwise).

use super::machineset::rules;
use super::machineset::{deepest, CheckOptions, Sink};
use super::yaml::{pointer_of, Node};
use crate::report::Severity;
use ipnet::IpNet;

/// The VXLAN port the hybrid overlay uses unless told otherwise (IANA).
pub const DEFAULT_VXLAN_PORT: i64 = 4789;
/// OVN-Kubernetes' Geneve tunnel port.
pub const GENEVE_PORT: i64 = 6081;

/// A Windows build and update revision (`19042.1052`), as `winver` and
/// the pipeline's windows_update stage report it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ImageBuild {
    pub build: u32,
    pub ubr: u32,
}

impl std::str::FromStr for ImageBuild {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim().strip_prefix("10.0.").unwrap_or(s.trim());
        let (build, ubr) = s.split_once('.').unwrap_or((s, "0"));
        match (build.parse(), ubr.parse()) {
            (Ok(build), Ok(ubr)) => Ok(ImageBuild { build, ubr }),
            _ => Err(format!("`{s}` is not a Windows build such as 19042.1052")),
        }
    }
}

impl std::fmt::Display for ImageBuild {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.build, self.ubr)
    }
}

/// Can this Windows build use a hybrid overlay VXLAN port other than 4789?
pub fn supports_custom_vxlan_port(b: ImageBuild) -> Result<(), String> {
    match b.build {
        18362 | 18363 if b.ubr >= 1016 => Ok(()),
        18362 | 18363 => Err(format!(
            "build {b} is older than {}.1016, the KB4565351 update that adds custom VXLAN ports",
            b.build
        )),
        // 2004 shipped in May 2020, before the fix; its August 2020 update
        // (KB4566782, the same Patch Tuesday as KB4565351) is 19041.450.
        19041 if b.ubr >= 450 => Ok(()),
        19041 => Err(format!(
            "build {b} is older than 19041.450, the August 2020 update (KB4566782, KB4565351's counterpart for 2004) with custom VXLAN ports"
        )),
        build if build >= 19042 => Ok(()),
        _ => Err(format!(
            "build {b} has no custom VXLAN port support (KB4565351 is for 1903/1909; Windows Server 2004 from 19041.450, 20H2 and later include it)"
        )),
    }
}

/// Two networks share addresses.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

const DEFAULT_NETWORK: [&str; 2] = ["spec", "defaultNetwork"];
const OVN: [&str; 3] = ["spec", "defaultNetwork", "ovnKubernetesConfig"];
const HYBRID: [&str; 4] = [
    "spec",
    "defaultNetwork",
    "ovnKubernetesConfig",
    "hybridOverlayConfig",
];

pub(crate) fn check(root: &Node, sink: &mut Sink<'_>, opts: &CheckOptions) {
    match root.path(&["metadata", "name"]) {
        Some(n) if n.as_str() == Some("cluster") => {}
        other => {
            let at = other.unwrap_or(root);
            sink.report(
                rules::NETWORK_NAME,
                at.mark,
                "/metadata/name",
                "must be `cluster`",
            );
        }
    }
    if let Some(t) = root.path(&["spec", "defaultNetwork", "type"]) {
        if t.as_str() != Some("OVNKubernetes") {
            sink.report(
                rules::NETWORK_OVN,
                t.mark,
                &pointer_of(&[&DEFAULT_NETWORK[..], &["type"]].concat()),
                format!("{} is not OVNKubernetes", t.to_json()),
            );
        }
    }
    let Some(hybrid) = root.path(&HYBRID) else {
        let (at, ptr) = deepest(root, &HYBRID);
        if root.path(&OVN).is_none() {
            sink.report(
                rules::NETWORK_OVN,
                at.mark,
                &ptr,
                "no defaultNetwork.ovnKubernetesConfig: hybrid networking needs OVN-Kubernetes",
            );
        }
        sink.report(
            rules::HYBRID_OVERLAY,
            at.mark,
            &pointer_of(&HYBRID),
            "no hybridOverlayConfig: Windows nodes cannot join without hybrid networking",
        );
        return;
    };
    let hybrid_nets = hybrid_networks(hybrid, sink);
    overlap(root, &hybrid_nets, sink);
    vxlan_port(hybrid, sink, opts);
}

fn hybrid_networks(hybrid: &Node, sink: &mut Sink<'_>) -> Vec<(IpNet, String, super::yaml::Mark)> {
    let base = pointer_of(&[&HYBRID[..], &["hybridClusterNetwork"]].concat());
    let Some(entries) = hybrid
        .get("hybridClusterNetwork")
        .and_then(Node::as_seq)
        .filter(|e| !e.is_empty())
    else {
        let at = hybrid.get("hybridClusterNetwork").unwrap_or(hybrid);
        sink.report(
            rules::HYBRID_OVERLAY,
            at.mark,
            &base,
            "no hybridClusterNetwork entries",
        );
        return Vec::new();
    };
    let mut nets = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let ptr = format!("{base}/{i}");
        let cidr = entry.get("cidr");
        let net = match cidr.and_then(Node::as_str).map(str::parse::<IpNet>) {
            Some(Ok(net)) => Some(net),
            Some(Err(e)) => {
                sink.report(
                    rules::HYBRID_OVERLAY,
                    cidr.map_or(entry.mark, |c| c.mark),
                    &format!("{ptr}/cidr"),
                    format!("not a CIDR: {e}"),
                );
                None
            }
            None => {
                sink.report(
                    rules::HYBRID_OVERLAY,
                    entry.mark,
                    &format!("{ptr}/cidr"),
                    "no cidr",
                );
                None
            }
        };
        match (entry.get("hostPrefix"), net) {
            (None, _) => {
                sink.report(
                    rules::HYBRID_OVERLAY,
                    entry.mark,
                    &format!("{ptr}/hostPrefix"),
                    "no hostPrefix (the per-node subnet size, e.g. 23)",
                );
            }
            (Some(hp), Some(net)) => {
                let max = if net.addr().is_ipv4() { 32 } else { 128 };
                match hp.as_i64() {
                    Some(p) if p >= i64::from(net.prefix_len()) && p <= max => {}
                    _ => {
                        sink.report(
                            rules::HYBRID_OVERLAY,
                            hp.mark,
                            &format!("{ptr}/hostPrefix"),
                            format!(
                                "{} must be between the CIDR's /{} and /{max}",
                                hp.to_json(),
                                net.prefix_len()
                            ),
                        );
                    }
                }
            }
            (Some(_), None) => {}
        }
        if let Some(net) = net {
            nets.push((net, ptr, cidr.map_or(entry.mark, |c| c.mark)));
        }
    }
    nets
}

/// The hybrid networks against `spec.clusterNetwork[].cidr`,
/// `spec.serviceNetwork[]` and each other (when the object carries the
/// first two: the install-time stub usually leaves them to install-config).
fn overlap(root: &Node, hybrid: &[(IpNet, String, super::yaml::Mark)], sink: &mut Sink<'_>) {
    let mut others: Vec<(IpNet, &'static str)> = Vec::new();
    for entry in root
        .path(&["spec", "clusterNetwork"])
        .and_then(Node::as_seq)
        .unwrap_or(&[])
    {
        if let Some(Ok(net)) = entry
            .get("cidr")
            .and_then(Node::as_str)
            .map(str::parse::<IpNet>)
        {
            others.push((net, "clusterNetwork"));
        }
    }
    for entry in root
        .path(&["spec", "serviceNetwork"])
        .and_then(Node::as_seq)
        .unwrap_or(&[])
    {
        if let Some(Ok(net)) = entry.as_str().map(str::parse::<IpNet>) {
            others.push((net, "serviceNetwork"));
        }
    }
    for (i, (net, ptr, mark)) in hybrid.iter().enumerate() {
        for (other, what) in &others {
            if overlaps(net, other) {
                sink.report(
                    rules::HYBRID_OVERLAP,
                    *mark,
                    &format!("{ptr}/cidr"),
                    format!("{net} overlaps {what} {other}"),
                );
            }
        }
        for (earlier, _, _) in &hybrid[..i] {
            if overlaps(net, earlier) {
                sink.report(
                    rules::HYBRID_OVERLAP,
                    *mark,
                    &format!("{ptr}/cidr"),
                    format!("{net} overlaps hybridClusterNetwork {earlier}"),
                );
            }
        }
    }
}

fn vxlan_port(hybrid: &Node, sink: &mut Sink<'_>, opts: &CheckOptions) {
    let ptr = pointer_of(&[&HYBRID[..], &["hybridOverlayVXLANPort"]].concat());
    let Some(node) = hybrid.get("hybridOverlayVXLANPort") else {
        sink.report(
            rules::VXLAN_PORT,
            hybrid.mark,
            &ptr,
            "not set: a custom VXLAN port is required for Windows nodes on vSphere",
        );
        return;
    };
    let port = match node.as_i64() {
        Some(p) if (1..=65535).contains(&p) => p,
        _ => {
            sink.report(
                rules::VXLAN_PORT,
                node.mark,
                &ptr,
                format!("{} is not a UDP port", node.to_json()),
            );
            return;
        }
    };
    if port == DEFAULT_VXLAN_PORT {
        sink.report(rules::VXLAN_PORT, node.mark, &ptr, "4789 is the default VXLAN port, which vSphere's own VXLAN traffic takes; use another, e.g. 9898");
        return;
    }
    if port == GENEVE_PORT {
        sink.report(
            rules::VXLAN_PORT,
            node.mark,
            &ptr,
            "6081 is OVN-Kubernetes' Geneve port; use another, e.g. 9898",
        );
        return;
    }
    match opts.os_build {
        Some(build) => {
            if let Err(why) = supports_custom_vxlan_port(build) {
                sink.report(
                    rules::VXLAN_PORT_OS_BUILD,
                    node.mark,
                    &ptr,
                    format!(
                        "port {port} needs a Windows image that supports custom VXLAN ports: {why}"
                    ),
                );
            }
        }
        None => {
            sink.report(rules::VXLAN_PORT_OS_BUILD, node.mark, &ptr, format!("port {port} needs a Windows image with custom VXLAN port support (20H2/2004 or later; 1903/1909 with KB4565351): pass --os-build to check the image"))
                .severity = Severity::Note;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_parse_with_or_without_the_10_0_prefix() {
        assert_eq!(
            "19042.1052".parse(),
            Ok(ImageBuild {
                build: 19042,
                ubr: 1052
            })
        );
        assert_eq!(
            "10.0.20348.681".parse(),
            Ok(ImageBuild {
                build: 20348,
                ubr: 681
            })
        );
        assert!("20H2".parse::<ImageBuild>().is_err());
    }

    #[test]
    fn custom_vxlan_ports_need_kb4565351_or_a_later_release() {
        let b = |build, ubr| ImageBuild { build, ubr };
        assert!(supports_custom_vxlan_port(b(19042, 0)).is_ok());
        assert!(supports_custom_vxlan_port(b(19041, 450)).is_ok());
        assert!(supports_custom_vxlan_port(b(19041, 264))
            .unwrap_err()
            .contains("19041.450"));
        assert!(supports_custom_vxlan_port(b(18363, 1016)).is_ok());
        assert!(supports_custom_vxlan_port(b(18363, 1015))
            .unwrap_err()
            .contains("KB4565351"));
        assert!(supports_custom_vxlan_port(b(17763, 5000)).is_err());
    }
}
