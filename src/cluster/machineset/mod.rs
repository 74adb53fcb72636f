//! WMCO Windows MachineSets on vSphere (seed section 5.3.3): generating one
//! for a published template ([`generate()`]) and checking one written by
//! hand or by gild ([`check_path`], [`check_text`]).
//!
//! A check runs, per YAML document: the MachineSet CRD's schema with
//! unknown fields found as the API server would prune them ([`crate::cluster::schema`]),
//! the label and metadata rules the CRD cannot express (`labels`), and the
//! vSphere provider spec the CRD leaves open (`provider`). A
//! `Network.operator.openshift.io` document in the same run gets the hybrid
//! networking checks ([`crate::cluster::network`]). `--online` look-ups
//! start from [`online::inventory_refs`].

pub mod generate;
mod labels;
pub mod online;
mod provider;
pub mod rules;

pub use generate::{generate, GenerateParams, Hardware, Workspace};
pub use rules::RULES;

use super::network::{self, ImageBuild};
use super::sink::read_input;
pub(crate) use super::sink::{deepest, Sink};
use super::yaml::{self, Node, Value};
use crate::report::{Diagnostic, Rule, Severity};
use std::path::Path;

/// What the checker knows besides the files: facts from the cluster, the
/// pipeline or the build that turn "cannot tell" into a real check.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// The cluster's `.status.infrastructureName` (read through the
    /// Kubernetes API with `--infrastructure-id-from-kubeconfig`).
    pub cluster_infrastructure_id: Option<String>,
    /// The pipeline's source VM: a MachineSet must never clone it.
    pub source_vm: Option<String>,
    /// The template's disk size, when known (`--template-disk-gib`, or the
    /// online pass): turns the diskGiB note into a warning or an error.
    pub template_disk_gib: Option<u64>,
    /// The Windows image's OS build (`--os-build 19042.1052`), for the
    /// custom-VXLAN-port check of the Network object.
    pub os_build: Option<ImageBuild>,
}

/// Checks one file. Unreadable or oversized files give one input
/// diagnostic ([`Diagnostic::is_input_failure`], exit code 2); the text is
/// returned for showing source lines.
pub fn check_path(path: &Path, opts: &CheckOptions) -> (Option<String>, Vec<Diagnostic>) {
    match read_input(path, rules::INPUT_UNREADABLE, rules::INPUT_TOO_LARGE) {
        Ok(text) => {
            let diags = check_text(&path.display().to_string(), &text, opts);
            (Some(text), diags)
        }
        Err(diag) => (None, vec![*diag]),
    }
}

/// Checks every document in `text` (a MachineSet, the Network operator
/// object, or a `List` of them), in document order.
pub fn check_text(file: &str, text: &str, opts: &CheckOptions) -> Vec<Diagnostic> {
    let mut sink = Sink::new(file);
    let docs = match yaml::parse(text) {
        Ok(docs) => docs,
        Err(e) => {
            sink.report(rules::YAML_SYNTAX, e.mark, "", e.message);
            return sink.out;
        }
    };
    for doc in &docs {
        for dup in &doc.duplicate_keys {
            sink.report(
                rules::DUPLICATE_KEY,
                dup.mark,
                "",
                format!("key `{}` appears twice", dup.key),
            );
        }
        if doc.root.value == Value::Null {
            continue;
        }
        check_object(&doc.root, &mut sink, opts);
    }
    sink.out
}

fn check_object(root: &Node, sink: &mut Sink<'_>, opts: &CheckOptions) {
    let kind = root.get("kind").and_then(Node::as_str).unwrap_or("");
    let api_version = root.get("apiVersion").and_then(Node::as_str).unwrap_or("");
    placeholders(root, sink, &mut String::new());
    match kind {
        "List" => {
            for (i, item) in root
                .get("items")
                .and_then(Node::as_seq)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let inner = format!("{}/items/{i}", sink.prefix);
                let outer = std::mem::replace(&mut sink.prefix, inner);
                check_object(item, sink, opts);
                sink.prefix = outer;
            }
        }
        "MachineSet" => check_machineset(root, api_version, sink, opts),
        "Network" if api_version.starts_with("operator.openshift.io/") => {
            network::check(root, sink, opts)
        }
        _ => {
            let what = if kind == "Network" {
                format!("this is the {api_version} Network (cluster config); hybrid networking lives in operator.openshift.io/v1 Network `cluster`")
            } else {
                format!("kind `{kind}` ({api_version}) is neither a MachineSet nor a Network.operator.openshift.io")
            };
            sink.report(rules::UNSUPPORTED_KIND, root.mark, "", what);
        }
    }
}

fn check_machineset(root: &Node, api_version: &str, sink: &mut Sink<'_>, opts: &CheckOptions) {
    if api_version != "machine.openshift.io/v1beta1" {
        let mark = root.get("apiVersion").map_or(root.mark, |n| n.mark);
        sink.report(
            rules::API_VERSION,
            mark,
            "/apiVersion",
            format!("`{api_version}` is not machine.openshift.io/v1beta1"),
        );
    }
    match super::schema::machineset() {
        Ok(schema) => schema_findings(
            schema.check(root),
            "",
            rules::CRD_SCHEMA,
            rules::UNKNOWN_FIELD,
            sink,
        ),
        Err(e) => {
            sink.report(
                rules::CRD_SCHEMA,
                root.mark,
                "",
                format!("the embedded CRD does not load: {e}"),
            );
        }
    }
    labels::check(root, sink, opts);
    provider::check(root, sink, opts);
}

/// Turns schema findings into diagnostics; `base` is the pointer of the
/// node the schema was applied to.
pub(crate) fn schema_findings(
    findings: Vec<super::schema::SchemaFinding>,
    base: &str,
    invalid: Rule,
    unknown: Rule,
    sink: &mut Sink<'_>,
) {
    use super::schema::FindingKind;
    for f in findings {
        let rule = match f.kind {
            FindingKind::Invalid => invalid,
            FindingKind::Unknown => unknown,
        };
        let pointer = format!("{base}{}", f.pointer);
        let message = match f.kind {
            FindingKind::Invalid => f.message,
            FindingKind::Unknown if rule.severity == Severity::Error => {
                format!("{}: the API server would prune it", f.message)
            }
            FindingKind::Unknown => format!("{}: ignored", f.message),
        };
        sink.report(rule, f.mark, &pointer, message);
    }
}

/// `<infrastructure_id>`, `<vm_network_name>`...: the seed's sample values.
fn placeholders(node: &Node, sink: &mut Sink<'_>, pointer: &mut String) {
    match &node.value {
        Value::Str(s) if is_placeholder(s) => {
            sink.report(
                rules::PLACEHOLDER,
                node.mark,
                pointer,
                format!("`{s}` is a placeholder"),
            );
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                placeholders(item, sink, pointer);
                pointer.truncate(len);
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries {
                let len = pointer.len();
                pointer.push_str(&yaml::pointer_of(&[&key.name]));
                placeholders(value, sink, pointer);
                pointer.truncate(len);
            }
        }
        _ => {}
    }
}

fn is_placeholder(s: &str) -> bool {
    s.len() > 2
        && s.starts_with('<')
        && s.ends_with('>')
        && s[1..s.len() - 1]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ' '))
}

/// RFC 1123 label, as Kubernetes validates names that become host names.
pub fn is_dns_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_the_seeds_angle_bracket_names() {
        assert!(is_placeholder("<infrastructure_id>"));
        assert!(is_placeholder("<vcenter_server_ip>"));
        assert!(!is_placeholder("<>"));
        assert!(!is_placeholder("a<b>"));
        assert!(!is_placeholder("<a/b>"));
    }

    #[test]
    fn dns_labels() {
        assert!(is_dns_label("winworker"));
        assert!(is_dns_label("w1-2"));
        assert!(!is_dns_label("Win"));
        assert!(!is_dns_label("-w"));
        assert!(!is_dns_label("w_1"));
        assert!(!is_dns_label(""));
    }
}
