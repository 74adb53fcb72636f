//! `spec.template.spec.providerSpec.value`: the VSphereMachineProviderSpec
//! the MachineSet CRD leaves open. Types and unknown fields come from the
//! schema written from openshift/api's Go types; the rules below are the
//! ones SPEC and the seed name, each with the source of its fact.

use super::rules;
use super::{deepest, schema_findings, CheckOptions, Sink};
use crate::cluster::schema;
use crate::cluster::yaml::{pointer_of, Node};
use crate::report::Severity;

pub const VALUE: [&str; 5] = ["spec", "template", "spec", "providerSpec", "value"];
pub const USER_DATA_SECRET: &str = "windows-user-data";
pub const CREDENTIALS_SECRET: &str = "vsphere-cloud-credentials";
/// openshift/api types_vsphereprovider.go: "A maximum of 10 tag IDs may be specified."
pub const MAX_TAG_IDS: usize = 10;
/// openshift/api types_vsphereprovider.go: dataDisks MaxItems=29 (30 per
/// controller, one taken by the OS disk).
pub const MAX_DATA_DISKS: usize = 29;

/// A provider spec field's pointer from the document root.
fn ptr(keys: &[&str]) -> String {
    pointer_of(&[&VALUE[..], keys].concat())
}

pub fn check(root: &Node, sink: &mut Sink<'_>, opts: &CheckOptions) {
    let Some(value) = root.path(&VALUE) else {
        let (at, p) = deepest(root, &VALUE);
        sink.report(
            rules::PROVIDER_KIND,
            at.mark,
            &p,
            "providerSpec.value (the VSphereMachineProviderSpec) is missing",
        );
        return;
    };
    kind(value, sink);
    match schema::provider_spec() {
        Ok(s) => schema_findings(
            s.check(value),
            &pointer_of(&VALUE),
            rules::PROVIDER_SCHEMA,
            rules::PROVIDER_UNKNOWN_FIELD,
            sink,
        ),
        Err(e) => {
            sink.report(
                rules::PROVIDER_SCHEMA,
                value.mark,
                &ptr(&[]),
                format!("the embedded provider schema does not load: {e}"),
            );
        }
    }
    let datacenter = value
        .path(&["workspace", "datacenter"])
        .and_then(Node::as_str);
    template(value, sink, opts, datacenter);
    network(value, sink);
    tag_ids(value, sink);
    clone_and_disks(value, sink, opts);
    cpu_topology(value, sink);
    secrets(value, sink);
    workspace(value, sink);
}

fn kind(value: &Node, sink: &mut Sink<'_>) {
    let api = value.get("apiVersion").and_then(Node::as_str);
    // machine.openshift.io/v1beta1 is where the type lives today;
    // vsphereprovider.openshift.io/v1beta1 is what the seed (4.9) writes
    // and the controller still accepts.
    if !matches!(
        api,
        Some("vsphereprovider.openshift.io/v1beta1" | "machine.openshift.io/v1beta1")
    ) {
        let at = value.get("apiVersion").unwrap_or(value);
        sink.report(
            rules::PROVIDER_KIND,
            at.mark,
            &ptr(&["apiVersion"]),
            format!(
                "apiVersion {:?} is not vsphereprovider.openshift.io/v1beta1",
                api.unwrap_or("")
            ),
        );
    }
    let kind = value.get("kind").and_then(Node::as_str);
    if kind != Some("VSphereMachineProviderSpec") {
        let at = value.get("kind").unwrap_or(value);
        sink.report(
            rules::PROVIDER_KIND,
            at.mark,
            &ptr(&["kind"]),
            format!(
                "kind {:?} is not VSphereMachineProviderSpec",
                kind.unwrap_or("")
            ),
        );
    }
}

/// Seed note 11: the full path of the template, never the original VM.
/// The type accepts a name, an inventory path or an instance UUID.
fn template(value: &Node, sink: &mut Sink<'_>, opts: &CheckOptions, datacenter: Option<&str>) {
    let p = ptr(&["template"]);
    let Some(node) = value.get("template") else {
        sink.report(
            rules::TEMPLATE_REQUIRED,
            value.mark,
            &p,
            "no template: the machine controller has nothing to clone",
        );
        return;
    };
    let Some(template) = node.as_str() else {
        return;
    }; // a schema error already
    if template.trim().is_empty() {
        sink.report(rules::TEMPLATE_REQUIRED, node.mark, &p, "template is empty");
        return;
    }
    if let Some(source) = &opts.source_vm {
        if template == source || last_component(template) == last_component(source) {
            sink.report(
                rules::TEMPLATE_IS_SOURCE,
                node.mark,
                &p,
                format!("`{template}` is the pipeline's source VM `{source}`"),
            );
        }
    }
    if is_uuid(template) {
        return;
    }
    if let Some(path) = template.strip_prefix('/') {
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        if parts.len() < 3 || parts[1] != "vm" {
            sink.report(
                rules::TEMPLATE_PATH,
                node.mark,
                &p,
                format!("`{template}` is not under /<datacenter>/vm/"),
            );
        } else if let Some(dc) = datacenter {
            if parts[0] != dc {
                sink.report(
                    rules::TEMPLATE_DATACENTER,
                    node.mark,
                    &p,
                    format!(
                        "`{template}` is in datacenter `{}`, the workspace in `{dc}`",
                        parts[0]
                    ),
                );
            }
        }
    } else if template.contains('/') {
        sink.report(
            rules::TEMPLATE_PATH,
            node.mark,
            &p,
            format!("`{template}` is a relative path"),
        );
    } else {
        sink.report(
            rules::TEMPLATE_PATH,
            node.mark,
            &p,
            format!(
                "`{template}` is a bare name: it must be unique in vCenter (seed 5.3.3 note 11)"
            ),
        )
        .severity = Severity::Note;
    }
}

fn last_component(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// 8-4-4-4-12 hex digits.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `network.devices` is required by the type; WMCO supports one NIC only
/// (SPEC: "a single NIC on an access port").
fn network(value: &Node, sink: &mut Sink<'_>) {
    let p = ptr(&["network", "devices"]);
    let Some(devices) = value
        .path(&["network", "devices"])
        .and_then(Node::as_seq)
        .filter(|d| !d.is_empty())
    else {
        let (at, _) = deepest(value, &["network", "devices"]);
        sink.report(
            rules::NETWORK_DEVICES,
            at.mark,
            &p,
            "no network device: give one with the VM network the Linux workers use",
        );
        return;
    };
    if devices.len() > 1 {
        sink.report(
            rules::NETWORK_DEVICES,
            devices[1].mark,
            &format!("{p}/1"),
            format!(
                "{} devices: WMCO does not support more than one NIC",
                devices.len()
            ),
        );
    }
    for (i, device) in devices.iter().enumerate() {
        let name = device
            .get("networkName")
            .and_then(Node::as_str)
            .unwrap_or("");
        if name.is_empty() {
            sink.report(rules::NETWORK_DEVICES, device.mark, &format!("{p}/{i}/networkName"), "no networkName: vCenter picks a default network, which may not be the cluster's (seed note 10)")
                .severity = Severity::Warning;
        }
    }
}

/// openshift/api: tag ids in URN notation
/// `urn:vmomi:InventoryServiceTag:<uuid>:GLOBAL`, at most 10.
fn tag_ids(value: &Node, sink: &mut Sink<'_>) {
    let Some(tags) = value.get("tagIDs").and_then(Node::as_seq) else {
        return;
    };
    let p = ptr(&["tagIDs"]);
    if tags.len() > MAX_TAG_IDS {
        sink.report(
            rules::TAG_IDS,
            tags[MAX_TAG_IDS].mark,
            &format!("{p}/{MAX_TAG_IDS}"),
            format!("{} tag ids, at most {MAX_TAG_IDS} are allowed", tags.len()),
        );
    }
    for (i, tag) in tags.iter().enumerate() {
        let Some(text) = tag.as_str() else { continue };
        if !is_tag_urn(text) {
            sink.report(
                rules::TAG_IDS,
                tag.mark,
                &format!("{p}/{i}"),
                format!("`{text}` is not urn:vmomi:InventoryServiceTag:<uuid>:<scope>"),
            );
        }
    }
}

fn is_tag_urn(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 5
        && parts[..3] == ["urn", "vmomi", "InventoryServiceTag"]
        && is_uuid(parts[3])
        && !parts[4].is_empty()
}

/// openshift/api: "The LinkedClone mode is only support for templates that
/// have at least one snapshot" and "When LinkedClone mode is enabled the
/// DiskGiB field is ignored"; machine-api-operator's vSphere reconciler
/// fails a clone whose diskGiB is below the template's disk ("can't resize
/// template disk down"); seed note 9: diskGiB does not size the Windows
/// partition.
fn clone_and_disks(value: &Node, sink: &mut Sink<'_>, opts: &CheckOptions) {
    let linked = value.get("cloneMode").and_then(Node::as_str) == Some("linkedClone");
    let snapshot = value.get("snapshot").and_then(Node::as_str).unwrap_or("");
    if linked && snapshot.is_empty() {
        let at = value.get("cloneMode").unwrap_or(value);
        sink.report(
            rules::LINKED_CLONE,
            at.mark,
            &ptr(&["cloneMode"]),
            "linkedClone needs `snapshot` (a snapshot of the template)",
        );
    }
    if let Some(disk) = value.get("diskGiB") {
        let p = ptr(&["diskGiB"]);
        match (disk.as_i64(), opts.template_disk_gib) {
            (None, _) | (Some(0), _) => {}
            (Some(_), _) if linked => {
                sink.report(
                    rules::DISK_SIZE,
                    disk.mark,
                    &p,
                    "diskGiB is ignored for linked clones",
                );
            }
            (Some(d), Some(t)) if (d as u64) < t => {
                sink.report(rules::DISK_SIZE, disk.mark, &p, format!("{d} GiB is smaller than the template's {t} GiB disk: the machine controller cannot shrink it and the clone fails"))
                    .severity = Severity::Error;
            }
            (Some(d), Some(t)) if (d as u64) > t => {
                sink.report(rules::DISK_SIZE, disk.mark, &p, format!("{d} GiB is larger than the template's {t} GiB disk: the VMDK grows but the Windows partition does not"));
            }
            (Some(_), Some(_)) => {}
            (Some(d), None) => {
                sink.report(rules::DISK_SIZE, disk.mark, &p, format!("{d} GiB sets the VMDK size only: if it is larger than the template's disk, the Windows partition is not grown (seed 5.3.3 note 9)"))
                    .severity = Severity::Note;
            }
        }
    }
    let Some(disks) = value.get("dataDisks").and_then(Node::as_seq) else {
        return;
    };
    let p = ptr(&["dataDisks"]);
    if disks.len() > MAX_DATA_DISKS {
        sink.report(
            rules::DATA_DISKS,
            disks[MAX_DATA_DISKS].mark,
            &format!("{p}/{MAX_DATA_DISKS}"),
            format!(
                "{} data disks, at most {MAX_DATA_DISKS} are allowed",
                disks.len()
            ),
        );
    }
    let mut seen = std::collections::HashSet::new();
    for (i, disk) in disks.iter().enumerate() {
        if let Some(name) = disk.get("name").and_then(Node::as_str) {
            if !seen.insert(name) {
                let at = disk.get("name").unwrap_or(disk);
                sink.report(
                    rules::DATA_DISKS,
                    at.mark,
                    &format!("{p}/{i}/name"),
                    format!("data disk name `{name}` is used twice"),
                );
            }
        }
    }
}

/// vSphere spreads numCPUs over sockets of numCoresPerSocket cores; a
/// remainder is refused by vCenter's reconfigure.
fn cpu_topology(value: &Node, sink: &mut Sink<'_>) {
    let cpus = value
        .get("numCPUs")
        .and_then(Node::as_i64)
        .filter(|n| *n > 0);
    let cores = value
        .get("numCoresPerSocket")
        .and_then(Node::as_i64)
        .filter(|n| *n > 0);
    if let (Some(cpus), Some(cores)) = (cpus, cores) {
        if cpus % cores != 0 {
            let at = value.get("numCPUs").unwrap_or(value);
            sink.report(
                rules::CPU_TOPOLOGY,
                at.mark,
                &ptr(&["numCPUs"]),
                format!("{cpus} CPUs cannot be split into sockets of {cores} cores"),
            );
        }
    }
}

/// Seed note 12: windows-user-data is created by WMCO; SPEC: the
/// credentials secret is vsphere-cloud-credentials.
fn secrets(value: &Node, sink: &mut Sink<'_>) {
    for (field, want, rule) in [
        ("userDataSecret", USER_DATA_SECRET, rules::USER_DATA_SECRET),
        (
            "credentialsSecret",
            CREDENTIALS_SECRET,
            rules::CREDENTIALS_SECRET,
        ),
    ] {
        let got = value.path(&[field, "name"]);
        if got.and_then(Node::as_str) != Some(want) {
            let (at, _) = deepest(value, &[field, "name"]);
            let seen = got
                .and_then(Node::as_str)
                .map_or("missing".to_string(), |s| format!("`{s}`"));
            sink.report(
                rule,
                at.mark,
                &ptr(&[field, "name"]),
                format!("{seen}, expected `{want}`"),
            );
        }
    }
}

/// Seed notes 13-17: datacenter, datastore, folder (/dc1/vm/...), optional
/// resource pool, server.
fn workspace(value: &Node, sink: &mut Sink<'_>) {
    let Some(ws) = value.get("workspace") else {
        sink.report(rules::WORKSPACE, value.mark, &ptr(&["workspace"]), "no workspace: the machine controller falls back to its own defaults, which may not be where the template is");
        return;
    };
    let missing: Vec<&str> = ["server", "datacenter", "datastore", "folder"]
        .into_iter()
        .filter(|f| ws.get(f).and_then(Node::as_str).is_none_or(str::is_empty))
        .collect();
    if !missing.is_empty() {
        sink.report(
            rules::WORKSPACE,
            ws.mark,
            &ptr(&["workspace"]),
            format!("no {}", missing.join(", ")),
        );
    }
    let Some(dc) = ws
        .get("datacenter")
        .and_then(Node::as_str)
        .filter(|d| !d.is_empty())
    else {
        return;
    };
    for (field, sub) in [("folder", "vm"), ("resourcePool", "host")] {
        let Some(node) = ws.get(field) else { continue };
        let Some(path) = node.as_str() else { continue };
        let prefix = format!("/{dc}/{sub}");
        if path.starts_with('/') && path != prefix && !path.starts_with(&format!("{prefix}/")) {
            sink.report(
                rules::WORKSPACE,
                node.mark,
                &ptr(&["workspace", field]),
                format!("`{path}` is not under {prefix}/ of datacenter `{dc}`"),
            )
            .severity = Severity::Error;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_urns() {
        assert!(is_tag_urn(
            "urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9578:GLOBAL"
        ));
        assert!(!is_tag_urn(
            "urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c:GLOBAL"
        ));
        assert!(!is_tag_urn("windows-tag"));
        assert!(!is_tag_urn(
            "urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9578:"
        ));
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("42364d3c-3a5e-1d4b-c7f6-f0a3c2d1e9b8"));
        assert!(!is_uuid("42364d3c3a5e1d4bc7f6f0a3c2d1e9b8"));
    }
}
