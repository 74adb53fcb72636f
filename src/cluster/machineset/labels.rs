//! Metadata and label rules of a Windows MachineSet (seed section 5.3.3,
//! notes 1-8): namespace, name, the infrastructure id in its three places,
//! the selector matching the machine template, the Windows os-id label
//! WMCO selects machines by, and the worker roles.

use super::rules;
use super::{deepest, is_dns_label, CheckOptions, Sink};
use crate::cluster::yaml::{pointer_of, Node};

pub const CLUSTER_LABEL: &str = "machine.openshift.io/cluster-api-cluster";
pub const MACHINESET_LABEL: &str = "machine.openshift.io/cluster-api-machineset";
pub const ROLE_LABEL: &str = "machine.openshift.io/cluster-api-machine-role";
pub const TYPE_LABEL: &str = "machine.openshift.io/cluster-api-machine-type";
pub const OS_ID_LABEL: &str = "machine.openshift.io/os-id";
pub const NODE_WORKER_LABEL: &str = "node-role.kubernetes.io/worker";
pub const NAMESPACE: &str = "openshift-machine-api";
/// vSphere machine names are `<machineset>-<5 random characters>`, and the
/// Windows computer name (NetBIOS, 15 characters) is derived from it.
pub const MAX_NAME_LEN: usize = 9;

const META_LABELS: [&str; 2] = ["metadata", "labels"];
const SELECTOR: [&str; 3] = ["spec", "selector", "matchLabels"];
const TEMPLATE_LABELS: [&str; 4] = ["spec", "template", "metadata", "labels"];

pub fn check(root: &Node, sink: &mut Sink<'_>, opts: &CheckOptions) {
    namespace(root, sink);
    let name = name(root, sink);
    infrastructure_id(root, sink, opts);
    selector(root, sink, name.as_deref());
    template_labels(root, sink);
}

fn namespace(root: &Node, sink: &mut Sink<'_>) {
    match root.path(&["metadata", "namespace"]) {
        Some(ns) if ns.as_str() == Some(NAMESPACE) => {}
        Some(ns) => {
            sink.report(
                rules::NAMESPACE,
                ns.mark,
                "/metadata/namespace",
                format!("`{}` is not {NAMESPACE}", scalar(ns)),
            );
        }
        None => {
            let (at, ptr) = deepest(root, &["metadata", "namespace"]);
            sink.report(
                rules::NAMESPACE,
                at.mark,
                &ptr,
                format!("no namespace; the MachineSet must be in {NAMESPACE}"),
            );
        }
    }
}

fn name(root: &Node, sink: &mut Sink<'_>) -> Option<String> {
    let Some(node) = root.path(&["metadata", "name"]) else {
        let (at, ptr) = deepest(root, &["metadata", "name"]);
        sink.report(
            rules::NAME_DNS_LABEL,
            at.mark,
            &ptr,
            "metadata.name is missing",
        );
        return None;
    };
    let name = node.as_str()?.to_string();
    if name.chars().count() > MAX_NAME_LEN {
        sink.report(
            rules::NAME_LENGTH,
            node.mark,
            "/metadata/name",
            format!(
                "`{name}` has {} characters, more than {MAX_NAME_LEN}",
                name.chars().count()
            ),
        );
    }
    if !is_dns_label(&name) {
        sink.report(
            rules::NAME_DNS_LABEL,
            node.mark,
            "/metadata/name",
            format!("`{name}` is not a DNS label"),
        );
    }
    Some(name)
}

/// The id must be in metadata.labels, the selector and the template labels,
/// the same everywhere (seed notes 1, 3 and 5), and the cluster's when the
/// cluster was asked. When the three disagree, the odd one out is reported
/// (ties go to the template's value: it is what machines get).
fn infrastructure_id(root: &Node, sink: &mut Sink<'_>, opts: &CheckOptions) {
    let places = [&TEMPLATE_LABELS[..], &SELECTOR[..], &META_LABELS[..]];
    let mut found: Vec<(String, String, crate::cluster::yaml::Mark)> = Vec::new();
    for place in places {
        let keys: Vec<&str> = place.iter().copied().chain([CLUSTER_LABEL]).collect();
        match root.path(&keys) {
            Some(node) => found.push((scalar(node), pointer_of(&keys), node.mark)),
            None => {
                let (at, ptr) = deepest(root, &keys);
                sink.report(
                    rules::INFRASTRUCTURE_ID,
                    at.mark,
                    &ptr,
                    format!("no {CLUSTER_LABEL} label (the infrastructure id)"),
                );
            }
        }
    }
    let count = |v: &str| found.iter().filter(|(x, ..)| x == v).count();
    let Some(expected) = found.iter().map(|(v, ..)| v.clone()).reduce(|best, v| {
        if count(&v) > count(&best) {
            v
        } else {
            best
        }
    }) else {
        return;
    };
    for (value, ptr, mark) in &found {
        if value != &expected {
            sink.report(
                rules::INFRASTRUCTURE_ID,
                *mark,
                ptr,
                format!("`{value}` differs from `{expected}` in the other places"),
            );
        }
    }
    if let Some(cluster) = &opts.cluster_infrastructure_id {
        if &expected != cluster {
            let (_, ptr, mark) = &found[0];
            sink.report(
                rules::INFRASTRUCTURE_ID_CLUSTER,
                *mark,
                ptr,
                format!("`{expected}` is not the cluster's infrastructure id `{cluster}`"),
            );
        }
    }
}

/// A selector the template's labels do not satisfy makes a MachineSet
/// that never owns its machines; an empty one would select every Machine.
fn selector(root: &Node, sink: &mut Sink<'_>, name: Option<&str>) {
    let template = root.path(&TEMPLATE_LABELS);
    let Some(selector) = root
        .path(&SELECTOR)
        .and_then(Node::as_map)
        .filter(|m| !m.is_empty())
    else {
        let (at, ptr) = deepest(root, &SELECTOR);
        sink.report(
            rules::SELECTOR_LABELS,
            at.mark,
            &ptr,
            "no matchLabels: the selector must name the machine set's labels",
        );
        return;
    };
    for (key, value) in selector {
        let ptr = pointer_of(&[&SELECTOR[..], &[key.name.as_str()]].concat());
        let want = scalar(value);
        match template.and_then(|t| t.get(&key.name)) {
            Some(got) if scalar(got) == want => {}
            Some(got) => {
                sink.report(
                    rules::SELECTOR_LABELS,
                    value.mark,
                    &ptr,
                    format!(
                        "selects `{}={want}` but the template label is `{}`",
                        key.name,
                        scalar(got)
                    ),
                );
            }
            None => {
                sink.report(
                    rules::SELECTOR_LABELS,
                    value.mark,
                    &ptr,
                    format!(
                        "selects `{}={want}` but the template has no such label",
                        key.name
                    ),
                );
            }
        }
    }
    if let Some(name) = name {
        for place in [&SELECTOR[..], &TEMPLATE_LABELS[..]] {
            let keys: Vec<&str> = place.iter().copied().chain([MACHINESET_LABEL]).collect();
            match root.path(&keys) {
                Some(node) if scalar(node) == name => {}
                Some(node) => {
                    sink.report(
                        rules::MACHINESET_LABEL,
                        node.mark,
                        &pointer_of(&keys),
                        format!("`{}` is not the MachineSet's name `{name}`", scalar(node)),
                    );
                }
                None => {
                    let (at, ptr) = deepest(root, &keys);
                    sink.report(
                        rules::MACHINESET_LABEL,
                        at.mark,
                        &ptr,
                        format!("no {MACHINESET_LABEL}: {name} label"),
                    );
                }
            }
        }
    }
}

fn template_labels(root: &Node, sink: &mut Sink<'_>) {
    let os_keys: Vec<&str> = TEMPLATE_LABELS
        .iter()
        .copied()
        .chain([OS_ID_LABEL])
        .collect();
    match root.path(&os_keys) {
        Some(node) if node.as_str() == Some("Windows") => {}
        Some(node) => {
            sink.report(
                rules::OS_ID,
                node.mark,
                &pointer_of(&os_keys),
                format!(
                    "`{}` is not `Windows` (the value is case-sensitive)",
                    scalar(node)
                ),
            );
        }
        None => {
            let (at, ptr) = deepest(root, &os_keys);
            sink.report(
                rules::OS_ID,
                at.mark,
                &ptr,
                format!("no {OS_ID_LABEL}: Windows label"),
            );
        }
    }
    for label in [ROLE_LABEL, TYPE_LABEL] {
        let keys: Vec<&str> = TEMPLATE_LABELS.iter().copied().chain([label]).collect();
        match root.path(&keys) {
            Some(node) if node.as_str() == Some("worker") => {}
            Some(node) => {
                sink.report(
                    rules::ROLE_LABELS,
                    node.mark,
                    &pointer_of(&keys),
                    format!("`{}`: Windows machines join as workers", scalar(node)),
                );
            }
            None => {
                let (at, ptr) = deepest(root, &keys);
                sink.report(
                    rules::ROLE_LABELS,
                    at.mark,
                    &ptr,
                    format!("no {label}: worker label"),
                );
            }
        }
    }
    let node_keys = [
        "spec",
        "template",
        "spec",
        "metadata",
        "labels",
        NODE_WORKER_LABEL,
    ];
    if root.path(&node_keys).is_none() {
        let (at, ptr) = deepest(root, &node_keys);
        sink.report(
            rules::NODE_WORKER_LABEL,
            at.mark,
            &ptr,
            format!("no {NODE_WORKER_LABEL} node label"),
        );
    }
}

/// A scalar as the API server would compare it (label values are strings;
/// a number or boolean here is already a schema error).
fn scalar(node: &Node) -> String {
    match node.to_json() {
        serde_json::Value::String(s) => s,
        other => other.to_string(),
    }
}
