//! What `gild machineset check --online` verifies in vCenter, as data: the
//! inventory objects a MachineSet names, each with where it is written, so
//! the online pass (which owns the vSphere client) resolves them and turns
//! each finding into a diagnostic with [`online_diagnostic`] — the same
//! file:line:column and rule table as the offline checks.

use super::provider::VALUE;
use super::rules;
use crate::cluster::yaml::{display_path, pointer_of, Mark, Node};
use crate::report::Diagnostic;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum InventoryKind {
    /// Must exist and be a template (not a VM).
    Template,
    Datacenter,
    Network,
    Datastore,
    Folder,
    ResourcePool,
}

impl InventoryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InventoryKind::Template => "template",
            InventoryKind::Datacenter => "datacenter",
            InventoryKind::Network => "network",
            InventoryKind::Datastore => "datastore",
            InventoryKind::Folder => "folder",
            InventoryKind::ResourcePool => "resource pool",
        }
    }
}

/// One object to look up: its kind, the name or path as written, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryRef {
    pub kind: InventoryKind,
    pub value: String,
    /// JSON pointer from the document root.
    pub pointer: String,
    pub mark: Mark,
    /// workspace.datacenter, to resolve names relative to it.
    pub datacenter: Option<String>,
}

/// Every inventory object a MachineSet document names, in the order a
/// clone needs them: datacenter, template, then placement.
pub fn inventory_refs(root: &Node) -> Vec<InventoryRef> {
    let Some(value) = root.path(&VALUE) else {
        return Vec::new();
    };
    let datacenter = value
        .path(&["workspace", "datacenter"])
        .and_then(Node::as_str)
        .map(str::to_string);
    let fields: [(&[&str], InventoryKind); 6] = [
        (&["workspace", "datacenter"], InventoryKind::Datacenter),
        (&["template"], InventoryKind::Template),
        (
            &["network", "devices", "0", "networkName"],
            InventoryKind::Network,
        ),
        (&["workspace", "datastore"], InventoryKind::Datastore),
        (&["workspace", "folder"], InventoryKind::Folder),
        (&["workspace", "resourcePool"], InventoryKind::ResourcePool),
    ];
    let mut out = Vec::new();
    for (keys, kind) in fields {
        let pointer = pointer_of(&[&VALUE[..], keys].concat());
        let Some(node) = root.pointer(&pointer) else {
            continue;
        };
        let Some(text) = node.as_str().filter(|s| !s.is_empty()) else {
            continue;
        };
        out.push(InventoryRef {
            kind,
            value: text.to_string(),
            pointer,
            mark: node.mark,
            datacenter: datacenter.clone(),
        });
    }
    out
}

/// What the online pass found about one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnlineFinding {
    Missing,
    /// The template path names a VM that is not a template.
    NotATemplate,
}

pub fn online_diagnostic(file: &str, obj: &InventoryRef, finding: &OnlineFinding) -> Diagnostic {
    let path = display_path(&obj.pointer);
    let (rule, message) = match finding {
        OnlineFinding::Missing => (
            rules::INVENTORY_MISSING,
            format!(
                "{path}: {} `{}` does not exist in vCenter",
                obj.kind.as_str(),
                obj.value
            ),
        ),
        OnlineFinding::NotATemplate => (
            rules::TEMPLATE_NOT_TEMPLATE,
            format!(
                "{path}: `{}` is a virtual machine, not a template",
                obj.value
            ),
        ),
    };
    Diagnostic::at(rule, file, obj.mark.line, obj.mark.col, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::yaml::parse;

    const SPEC: &str = "spec:\n  template:\n    spec:\n      providerSpec:\n        value:\n          template: /dc1/vm/t/win\n          network:\n            devices:\n            - networkName: VM Network\n          workspace:\n            datacenter: dc1\n            datastore: ds1\n            folder: /dc1/vm/ocp\n";

    #[test]
    fn every_named_object_is_listed_with_its_position() {
        let doc = &parse(SPEC).unwrap()[0];
        let refs = inventory_refs(&doc.root);
        let kinds: Vec<_> = refs.iter().map(|r| r.kind).collect();
        assert_eq!(
            kinds,
            [
                InventoryKind::Datacenter,
                InventoryKind::Template,
                InventoryKind::Network,
                InventoryKind::Datastore,
                InventoryKind::Folder
            ]
        );
        assert_eq!(refs[1].value, "/dc1/vm/t/win");
        assert_eq!(refs[1].mark.line, 6);
        assert_eq!(refs[2].datacenter.as_deref(), Some("dc1"));
    }

    #[test]
    fn a_missing_object_becomes_a_positioned_diagnostic() {
        let doc = &parse(SPEC).unwrap()[0];
        let refs = inventory_refs(&doc.root);
        let d = online_diagnostic("ms.yaml", &refs[1], &OnlineFinding::NotATemplate);
        assert_eq!((d.rule_id, d.line, d.col), ("template-not-template", 6, 21));
        assert!(
            d.message
                .starts_with("spec.template.spec.providerSpec.value.template:"),
            "{}",
            d.message
        );
        let d = online_diagnostic("ms.yaml", &refs[3], &OnlineFinding::Missing);
        assert!(
            d.message.contains("datastore `ds1` does not exist"),
            "{}",
            d.message
        );
    }
}
