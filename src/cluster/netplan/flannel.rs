//! Flannel's configuration against the plan (seed 004, "리눅스 컨트롤러에서
//! VXLAN 방식으로 플라넬 구성하기"): `net-conf.json` Network equal to the
//! cluster subnet and Backend `{"Type": "vxlan", "VNI": 4096, "Port":
//! 4789}` ("VNI must be 4096 and Port 4789 for Flannel on Linux and on
//! Windows to interoperate"), and `cni-conf.json` named `vxlan0`.
//!
//! Both JSON documents are read with the YAML reader (JSON is YAML), so
//! positions inside them are exact; inside `kube-flannel.yml` they are
//! shifted to where the ConfigMap's block scalar sits in the manifest.

use super::rules;
use super::{Checked, FlannelFiles, NetPlan};
use crate::cluster::sink::{read_input, Sink};
use crate::cluster::yaml::{self, Mark, Node, Value};
use ipnet::Ipv4Net;
use std::path::Path;

/// The ConfigMap `kube-flannel.yml` carries Flannel's configuration in.
const CONFIG_MAP: &str = "kube-flannel-cfg";

/// How positions inside an embedded document map into its file.
#[derive(Clone, Copy, Default)]
struct Placement {
    /// Added to lines (a block scalar starts on the line after its key).
    line_offset: usize,
    /// Added to columns (the block's indentation).
    col_offset: usize,
    /// For quoted scalars: every position is the scalar's own.
    fixed: Option<Mark>,
}

impl Placement {
    fn map(&self, mark: Mark) -> Mark {
        self.fixed.unwrap_or(Mark {
            line: mark.line + self.line_offset,
            col: mark.col + self.col_offset,
        })
    }
}

/// A JSON document, standalone or embedded in a ConfigMap.
struct Embedded {
    file: String,
    /// JSON pointer of the embedding scalar (`/data/net-conf.json`), so
    /// messages name it.
    prefix: String,
    root: Node,
    placement: Placement,
}

impl Embedded {
    fn map(&self, mark: Mark) -> Mark {
        self.placement.map(mark)
    }

    fn sink(&self) -> Sink<'_> {
        let mut sink = Sink::new(&self.file);
        sink.prefix = self.prefix.clone();
        sink
    }
}

/// Checks the Flannel files of a plan; returns the `SubnetLen` net-conf
/// sets, which sizes each node's pod subnet.
pub(super) fn check(
    files: &FlannelFiles,
    plan: &NetPlan,
    plan_root: &Node,
    plan_sink: &mut Sink<'_>,
    checked: &mut Checked,
) -> Option<u8> {
    let (net_conf, cni_conf) = match (&files.manifest, &files.net_conf, &files.cni_conf) {
        (Some(manifest), None, None) => from_manifest(manifest, checked),
        (None, net, cni) if net.is_some() || cni.is_some() => (
            net.as_deref().and_then(|p| from_json_file(p, checked)),
            cni.as_deref().and_then(|p| from_json_file(p, checked)),
        ),
        (None, None, None) => {
            let mark = plan_root.get("flannel").map_or(plan_root.mark, |n| n.mark);
            plan_sink.report(
                rules::FLANNEL_CONFIG,
                mark,
                "/flannel",
                "names no file: give manifest, or net_conf and cni_conf",
            );
            (None, None)
        }
        _ => {
            let mark = plan_root.get("flannel").map_or(plan_root.mark, |n| n.mark);
            plan_sink.report(
                rules::FLANNEL_CONFIG,
                mark,
                "/flannel",
                "give either manifest or net_conf/cni_conf, not both",
            );
            (None, None)
        }
    };
    let subnet_len = net_conf
        .as_ref()
        .and_then(|n| check_net_conf(n, plan.cluster_subnet, checked));
    if let Some(cni) = &cni_conf {
        check_cni_conf(cni, checked);
    }
    subnet_len
}

fn read(path: &Path, checked: &mut Checked) -> Option<String> {
    match read_input(path, rules::INPUT_UNREADABLE, rules::INPUT_TOO_LARGE) {
        Ok(text) => {
            checked
                .sources
                .push((path.display().to_string(), text.clone()));
            Some(text)
        }
        Err(d) => {
            checked.diagnostics.push(*d);
            None
        }
    }
}

fn from_json_file(path: &Path, checked: &mut Checked) -> Option<Embedded> {
    let text = read(path, checked)?;
    let file = path.display().to_string();
    let placement = Placement::default();
    let root = parse_one(&file, &text, placement, checked)?;
    Some(Embedded {
        file,
        prefix: String::new(),
        root,
        placement,
    })
}

fn parse_one(file: &str, text: &str, placement: Placement, checked: &mut Checked) -> Option<Node> {
    match yaml::parse(text) {
        Ok(docs) => docs.into_iter().next().map(|d| d.root),
        Err(e) => {
            let mut sink = Sink::new(file);
            sink.report(
                rules::YAML_SYNTAX,
                placement.map(e.mark),
                "",
                format!("not valid JSON: {}", e.message),
            );
            checked.diagnostics.extend(sink.out);
            None
        }
    }
}

/// `net-conf.json` and `cni-conf.json` from the `kube-flannel-cfg`
/// ConfigMap of a Flannel manifest.
fn from_manifest(path: &Path, checked: &mut Checked) -> (Option<Embedded>, Option<Embedded>) {
    let Some(text) = read(path, checked) else {
        return (None, None);
    };
    let file = path.display().to_string();
    let mut sink = Sink::new(&file);
    let docs = match yaml::parse(&text) {
        Ok(docs) => docs,
        Err(e) => {
            sink.report(rules::YAML_SYNTAX, e.mark, "", e.message);
            checked.diagnostics.extend(sink.out);
            return (None, None);
        }
    };
    let config = docs.iter().map(|d| &d.root).find(|r| {
        r.get("kind").and_then(Node::as_str) == Some("ConfigMap")
            && r.path(&["data", "net-conf.json"]).is_some()
    });
    let Some(config) = config else {
        sink.report(
            rules::FLANNEL_CONFIG,
            Mark { line: 1, col: 1 },
            "",
            format!("no ConfigMap with data.net-conf.json (Flannel's {CONFIG_MAP})"),
        );
        checked.diagnostics.extend(sink.out);
        return (None, None);
    };
    let mut embedded = |key: &str, checked: &mut Checked| -> Option<Embedded> {
        let Some(node) = config.path(&["data", key]) else {
            sink.report(
                rules::FLANNEL_CONFIG,
                config.mark,
                &yaml::pointer_of(&["data", key]),
                format!("the ConfigMap has no {key}"),
            );
            return None;
        };
        let Value::Str(json) = &node.value else {
            sink.report(
                rules::FLANNEL_CONFIG,
                node.mark,
                &yaml::pointer_of(&["data", key]),
                "is not a string",
            );
            return None;
        };
        let placement = if node.block_scalar {
            // A block scalar's mark is its first content character.
            Placement {
                line_offset: node.mark.line - 1,
                col_offset: node.mark.col - 1,
                fixed: None,
            }
        } else {
            Placement {
                fixed: Some(node.mark),
                ..Placement::default()
            }
        };
        let root = parse_one(&file, json, placement, checked)?;
        Some(Embedded {
            file: file.clone(),
            prefix: yaml::pointer_of(&["data", key]),
            root,
            placement,
        })
    };
    let net = embedded("net-conf.json", checked);
    let cni = embedded("cni-conf.json", checked);
    checked.diagnostics.extend(sink.out);
    (net, cni)
}

fn check_net_conf(conf: &Embedded, cluster: Ipv4Net, checked: &mut Checked) -> Option<u8> {
    let mut sink = conf.sink();
    let root = &conf.root;
    match root.get("Network") {
        Some(n) => match n.as_str().map(str::parse::<Ipv4Net>) {
            Some(Ok(net)) if net == cluster => {}
            Some(Ok(net)) => {
                sink.report(
                    rules::FLANNEL_NETWORK,
                    conf.map(n.mark),
                    "/Network",
                    format!("{net} is not the plan's cluster subnet {cluster}"),
                );
            }
            _ => {
                sink.report(
                    rules::FLANNEL_NETWORK,
                    conf.map(n.mark),
                    "/Network",
                    format!("{} is not a CIDR", n.to_json()),
                );
            }
        },
        None => {
            sink.report(
                rules::FLANNEL_NETWORK,
                conf.map(root.mark),
                "/Network",
                format!("no Network; it must be the cluster subnet {cluster}"),
            );
        }
    }
    let backend = root.get("Backend");
    let field = |name: &str| backend.and_then(|b| b.get(name));
    let at = |n: Option<&Node>| conf.map(n.or(backend).unwrap_or(root).mark);
    match field("Type").and_then(Node::as_str) {
        Some("vxlan") => {}
        other => {
            let seen = other.map_or("missing (Flannel's default backend is udp)".into(), |t| {
                format!("`{t}`")
            });
            sink.report(
                rules::FLANNEL_BACKEND,
                at(field("Type")),
                "/Backend/Type",
                format!("{seen}, expected vxlan"),
            );
        }
    }
    // Flannel's documented defaults: VNI 1, Port the kernel's 8472.
    for (name, want, rule, default) in [
        ("VNI", 4096, rules::FLANNEL_VNI, "1"),
        (
            "Port",
            4789,
            rules::FLANNEL_PORT,
            "8472, the Linux kernel's",
        ),
    ] {
        match field(name).and_then(Node::as_i64) {
            Some(v) if v == want => {}
            Some(v) => {
                sink.report(
                    rule,
                    at(field(name)),
                    &format!("/Backend/{name}"),
                    format!("{v}, expected {want}"),
                );
            }
            None => {
                sink.report(
                    rule,
                    at(field(name)),
                    &format!("/Backend/{name}"),
                    format!("missing (Flannel's default is {default}), expected {want}"),
                );
            }
        }
    }
    checked.diagnostics.extend(sink.out);
    root.get("SubnetLen")
        .and_then(Node::as_i64)
        .and_then(|l| u8::try_from(l).ok())
}

fn check_cni_conf(conf: &Embedded, checked: &mut Checked) {
    let mut sink = conf.sink();
    let name = conf.root.get("name");
    if name.and_then(Node::as_str) != Some("vxlan0") {
        let seen = name.map_or("missing".into(), |n| n.to_json().to_string());
        sink.report(
            rules::FLANNEL_CNI_NAME,
            conf.map(name.unwrap_or(&conf.root).mark),
            "/name",
            format!("{seen}, expected \"vxlan0\""),
        );
    }
    checked.diagnostics.extend(sink.out);
}
