//! What `gild machineset check --online` verifies in vCenter: the
//! inventory objects a MachineSet names, each with where it is written
//! ([`inventory_refs`]), looked up by [`check_online`]; every finding
//! becomes a diagnostic with [`online_diagnostic`] — the same
//! file:line:column and rule table as the offline checks.
//!
//! Templates need VI/JSON: `/api/vcenter/vm` leaves them out, so a
//! template is found by instance UUID with `SearchIndex.FindByUuid` when
//! it is one, else with `SearchIndex.FindChild` in its folder (or in
//! every VM folder of the datacenter for a bare name) and told apart from
//! a VM by `VirtualMachine.config.template`, as the publish stage does.

use super::provider::VALUE;
use super::rules;
use crate::cluster::yaml::{display_path, pointer_of, Mark, Node};
use crate::report::Diagnostic;
use crate::vsphere::wire::{DatacenterId, FolderType, VmId};
use crate::vsphere::{Client, ListFilter, VsphereError};

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
    /// A bare name matches several objects (names are unique only within
    /// a folder); the ids found.
    Ambiguous(Vec<String>),
    /// The value is not an inventory path of the kind's root folder.
    BadPath(String),
}

/// Looks up every object the MachineSet at `root` names and returns one
/// diagnostic per object that is missing, ambiguous or (the template) not
/// a template. An error is a failure to ask (login lost, vCenter down),
/// not a finding.
pub async fn check_online(
    client: &Client,
    file: &str,
    root: &Node,
) -> Result<Vec<Diagnostic>, VsphereError> {
    let mut out = Vec::new();
    let mut datacenter: Option<DatacenterId> = None;
    for obj in inventory_refs(root) {
        let v = obj.value.as_str();
        let dc = datacenter.as_ref();
        let finding = match obj.kind {
            InventoryKind::Datacenter => match client.find_datacenter(v).await {
                Ok(id) => {
                    datacenter = Some(id);
                    None
                }
                Err(e) => classify(e)?,
            },
            InventoryKind::Template => template(client, v, dc).await?,
            InventoryKind::Network if !v.starts_with('/') => {
                let found = client.list_networks(&in_datacenter(v, dc)).await?;
                count(found.iter().map(|n| n.network.to_string()))
            }
            InventoryKind::Network => found(client.find_network(v).await)?,
            InventoryKind::Datastore if !v.starts_with('/') => {
                let found = client.list_datastores(&in_datacenter(v, dc)).await?;
                count(found.iter().map(|d| d.datastore.to_string()))
            }
            InventoryKind::Datastore => found(client.find_datastore(v).await)?,
            InventoryKind::Folder => found(client.find_folder(v).await)?,
            InventoryKind::ResourcePool => found(client.find_resource_pool(v).await)?,
        };
        if let Some(f) = finding {
            out.push(online_diagnostic(file, &obj, &f));
        }
    }
    Ok(out)
}

/// [`check_online`] for every MachineSet in `text` (top-level documents
/// and the items of a `List`). Text that does not parse has no online
/// findings: the offline pass has reported it already.
pub async fn check_online_text(
    client: &Client,
    file: &str,
    text: &str,
) -> Result<Vec<Diagnostic>, VsphereError> {
    let Ok(docs) = crate::cluster::yaml::parse(text) else {
        return Ok(Vec::new());
    };
    let kind = |n: &Node| n.get("kind").and_then(Node::as_str).map(str::to_string);
    let mut sets: Vec<&Node> = Vec::new();
    for doc in &docs {
        match kind(&doc.root).as_deref() {
            Some("MachineSet") => sets.push(&doc.root),
            Some("List") => sets.extend(
                doc.root
                    .get("items")
                    .and_then(Node::as_seq)
                    .unwrap_or(&[])
                    .iter()
                    .filter(|n| kind(n).as_deref() == Some("MachineSet")),
            ),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for set in sets {
        out.extend(check_online(client, file, set).await?);
    }
    Ok(out)
}

/// A bare network or datastore name, within the workspace's datacenter
/// when it was found: the same port group name in two datacenters is
/// common and not ambiguous for the machine controller, which searches
/// the workspace's datacenter.
fn in_datacenter(name: &str, dc: Option<&DatacenterId>) -> ListFilter {
    let f = ListFilter::new().name(name);
    match dc {
        Some(dc) => f.datacenter(dc),
        None => f,
    }
}

/// Exactly one match is fine; none is missing; more is ambiguous.
fn count(ids: impl Iterator<Item = String>) -> Option<OnlineFinding> {
    let ids: Vec<String> = ids.collect();
    match ids.len() {
        0 => Some(OnlineFinding::Missing),
        1 => None,
        _ => Some(OnlineFinding::Ambiguous(ids)),
    }
}

fn found<T>(result: Result<T, VsphereError>) -> Result<Option<OnlineFinding>, VsphereError> {
    match result {
        Ok(_) => Ok(None),
        Err(e) => classify(e),
    }
}

/// The look-up errors that are findings about the MachineSet; anything
/// else is the caller's to report.
fn classify(e: VsphereError) -> Result<Option<OnlineFinding>, VsphereError> {
    match e {
        VsphereError::Ambiguous { candidates, .. } => {
            Ok(Some(OnlineFinding::Ambiguous(candidates)))
        }
        VsphereError::InvalidPath { reason, .. } => Ok(Some(OnlineFinding::BadPath(reason))),
        e if e.is_not_found() => Ok(Some(OnlineFinding::Missing)),
        e => Err(e),
    }
}

/// The template by inventory path (its folder, then `FindChild`) or by
/// bare name (`FindChild` in every VM folder of the datacenter), then its
/// `config.template` flag.
async fn template(
    client: &Client,
    value: &str,
    dc: Option<&DatacenterId>,
) -> Result<Option<OnlineFinding>, VsphereError> {
    let mut matches: Vec<VmId> = Vec::new();
    if is_uuid(value) {
        // openshift/api VSphereMachineProviderSpec: the template is a name,
        // an inventory path or the template's instance UUID.
        matches.extend(client.find_vm_by_instance_uuid(value, dc).await?);
    } else if let Some((folder, name)) = value.rsplit_once('/').filter(|_| value.starts_with('/')) {
        let folder = match client.find_folder(folder).await {
            Ok(f) => f,
            Err(e) => return classify(e),
        };
        matches.extend(client.find_child_vm(&folder, name).await?);
    } else {
        let mut filter = ListFilter::new().folder_type(FolderType::VirtualMachine);
        if let Some(dc) = dc {
            filter = filter.datacenter(dc);
        }
        for f in client.list_folders(&filter).await? {
            matches.extend(client.find_child_vm(&f.folder, value).await?);
        }
    }
    match matches.as_slice() {
        [] => Ok(Some(OnlineFinding::Missing)),
        [vm] if client.is_template(vm).await? => Ok(None),
        [_] => Ok(Some(OnlineFinding::NotATemplate)),
        many => Ok(Some(OnlineFinding::Ambiguous(
            many.iter().map(VmId::to_string).collect(),
        ))),
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex: how vCenter writes an
/// instance UUID (a template name of that shape would be unusual).
fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
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
        OnlineFinding::Ambiguous(ids) => (
            rules::INVENTORY_AMBIGUOUS,
            format!(
                "{path}: {} name `{}` matches {} objects ({}); write its inventory path",
                obj.kind.as_str(),
                obj.value,
                ids.len(),
                ids.join(", ")
            ),
        ),
        OnlineFinding::BadPath(reason) => (
            rules::INVENTORY_MISSING,
            format!(
                "{path}: {} `{}` cannot be looked up: {reason}",
                obj.kind.as_str(),
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
