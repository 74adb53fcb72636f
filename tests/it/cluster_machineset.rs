//! `machineset check` rule by rule: the seed's sample MachineSet (5.3.3,
//! placeholders filled: `tests/fixtures/cluster/machineset/seed-filled.yaml`)
//! passes every rule, and for each rule one edit of it fails that rule at
//! the edited line. `generate` output passes the checker and the CRD schema.

use gild::cluster::machineset::{self, CheckOptions, GenerateParams, Hardware, Workspace};
use gild::cluster::schema;
use gild::cluster::yaml;
use gild::report::{Diagnostic, Severity};

const SEED: &str = include_str!("../fixtures/cluster/machineset/seed-filled.yaml");
const SEED_SAMPLE: &str = include_str!("../fixtures/cluster/machineset/seed-sample.yaml");

fn check(text: &str, opts: &CheckOptions) -> Vec<Diagnostic> {
    machineset::check_text("ms.yaml", text, opts)
}

fn serious(diags: &[Diagnostic]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .map(|d| {
            format!(
                "{}:{}: {}[{}] {}",
                d.line,
                d.col,
                d.severity.as_str(),
                d.rule_id,
                d.message
            )
        })
        .collect()
}

#[test]
fn the_seed_sample_with_placeholders_filled_passes() {
    let diags = check(SEED, &CheckOptions::default());
    assert!(serious(&diags).is_empty(), "{:#?}", serious(&diags));
    // The one note: the template's disk size is unknown offline.
    let notes: Vec<_> = diags.iter().map(|d| d.rule_id).collect();
    assert_eq!(notes, ["disk-size"]);
}

#[test]
fn the_seed_sample_as_published_fails_on_each_placeholder() {
    let diags = check(SEED_SAMPLE, &CheckOptions::default());
    let lines: Vec<usize> = diags
        .iter()
        .filter(|d| d.rule_id == "placeholder")
        .map(|d| d.line)
        .collect();
    // <infrastructure_id> x3, <windows_machine_set_name> x3, network,
    // template and the five workspace fields.
    assert_eq!(lines, [7, 8, 14, 15, 19, 22, 38, 42, 46, 47, 48, 49, 50]);
}

struct Case {
    rule: &'static str,
    /// `(from, to)` replacements of the seed text (first occurrence, or all
    /// with a leading `*` on `from`).
    edits: &'static [(&'static str, &'static str)],
    /// Options under which the edited text fails...
    fail: fn() -> CheckOptions,
    /// ...and under which the seed passes the same rule.
    pass: fn() -> CheckOptions,
    severity: Severity,
}

fn none() -> CheckOptions {
    CheckOptions::default()
}

fn edit(text: &str, edits: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for (from, to) in edits {
        match from.strip_prefix('*') {
            Some(all) => {
                assert!(out.contains(all), "`{all}` not in the seed");
                out = out.replace(all, to);
            }
            None => {
                assert!(out.contains(from), "`{from}` not in the seed");
                out = out.replacen(from, to, 1);
            }
        }
    }
    out
}

const TEMPLATE: &str = "template: /dc1/vm/templates/win20h2-wmco";

const CASES: &[Case] = &[
    Case { rule: "yaml-syntax", edits: &[("  replicas: 1", "  replicas: [1")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "duplicate-key", edits: &[("  namespace: openshift-machine-api", "  namespace: openshift-machine-api\n  namespace: openshift-machine-api")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "unsupported-kind", edits: &[("kind: MachineSet", "kind: MachineDeployment")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "placeholder", edits: &[("datastore: datastore1", "datastore: <vcenter_datastore_name>")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "api-version", edits: &[("apiVersion: machine.openshift.io/v1beta1", "apiVersion: cluster.x-k8s.io/v1beta1")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "crd-schema", edits: &[("  replicas: 1", "  replicas: one")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "crd-schema", edits: &[("  replicas: 1", "  replicas: 1\n  deletePolicy: Biggest")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "unknown-field", edits: &[("  replicas: 1", "  replica: 1")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "namespace", edits: &[("namespace: openshift-machine-api", "namespace: default")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "name-length", edits: &[("*winworker", "winworkers")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "name-dns-label", edits: &[("*winworker", "Win_wrk")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "selector-labels", edits: &[("    matchLabels:\n", "    matchLabels:\n      team: windows\n")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "machineset-label", edits: &[("cluster-api-machineset: winworker\n        machine.openshift.io/os-id", "cluster-api-machineset: winwork2\n        machine.openshift.io/os-id")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "os-id", edits: &[("os-id: Windows", "os-id: windows")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "infrastructure-id", edits: &[("cluster-api-cluster: ocp49-x7k2p", "cluster-api-cluster: ocp49-other")], fail: none, pass: none, severity: Severity::Error },
    Case {
        rule: "infrastructure-id-cluster",
        edits: &[],
        fail: || CheckOptions { cluster_infrastructure_id: Some("ocp49-zzzzz".into()), ..none() },
        pass: || CheckOptions { cluster_infrastructure_id: Some("ocp49-x7k2p".into()), ..none() },
        severity: Severity::Error,
    },
    Case { rule: "role-labels", edits: &[("cluster-api-machine-role: worker", "cluster-api-machine-role: infra")], fail: none, pass: none, severity: Severity::Warning },
    Case { rule: "node-worker-label", edits: &[("node-role.kubernetes.io/worker: \"\"", "node-role.kubernetes.io/infra: \"\"")], fail: none, pass: none, severity: Severity::Warning },
    Case { rule: "provider-kind", edits: &[("kind: VSphereMachineProviderSpec", "kind: AWSMachineProviderConfig")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "provider-schema", edits: &[("numCPUs: 4", "numCPUs: four")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "provider-unknown-field", edits: &[("diskGiB: 128", "diskGB: 128")], fail: none, pass: none, severity: Severity::Warning },
    Case { rule: "template-required", edits: &[(TEMPLATE, "template: \"\"")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "template-path", edits: &[(TEMPLATE, "template: templates/win20h2-wmco")], fail: none, pass: none, severity: Severity::Warning },
    Case {
        rule: "template-is-source-vm",
        edits: &[],
        fail: || CheckOptions { source_vm: Some("/dc1/vm/golden/win20h2-wmco".into()), ..none() },
        pass: || CheckOptions { source_vm: Some("/dc1/vm/golden/win20h2-base".into()), ..none() },
        severity: Severity::Error,
    },
    Case { rule: "template-datacenter", edits: &[(TEMPLATE, "template: /dc2/vm/templates/win20h2-wmco")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "network-devices", edits: &[("devices:\n            - networkName: \"VM Network\"", "devices: []")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "network-devices", edits: &[("            - networkName: \"VM Network\"", "            - networkName: \"VM Network\"\n            - networkName: Storage")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "tag-ids", edits: &[(TEMPLATE, "tagIDs:\n          - windows-nodes\n          template: /dc1/vm/templates/win20h2-wmco")], fail: none, pass: none, severity: Severity::Error },
    Case {
        rule: "tag-ids",
        edits: &[(TEMPLATE, "tagIDs: [urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9570:GLOBAL, urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9571:GLOBAL, urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9572:GLOBAL, urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9573:GLOBAL, urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9574:GLOBAL, urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9575:GLOBAL, urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9576:GLOBAL, urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9577:GLOBAL, urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9578:GLOBAL, urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc9579:GLOBAL, urn:vmomi:InventoryServiceTag:5736bf56-49f5-4667-b38c-b97e09dc957a:GLOBAL]\n          template: /dc1/vm/templates/win20h2-wmco")],
        fail: none,
        pass: none,
        severity: Severity::Error,
    },
    Case { rule: "linked-clone-snapshot", edits: &[(TEMPLATE, "cloneMode: linkedClone\n          template: /dc1/vm/templates/win20h2-wmco")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "data-disks", edits: &[(TEMPLATE, "dataDisks:\n          - {name: images, sizeGiB: 50}\n          - {name: images, sizeGiB: 60}\n          template: /dc1/vm/templates/win20h2-wmco")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "cpu-topology", edits: &[("numCoresPerSocket: 1", "numCoresPerSocket: 3")], fail: none, pass: none, severity: Severity::Error },
    Case {
        rule: "disk-size",
        edits: &[],
        fail: || CheckOptions { template_disk_gib: Some(100), ..none() },
        pass: || CheckOptions { template_disk_gib: Some(128), ..none() },
        severity: Severity::Warning,
    },
    Case {
        rule: "disk-size",
        edits: &[],
        fail: || CheckOptions { template_disk_gib: Some(200), ..none() },
        pass: || CheckOptions { template_disk_gib: Some(128), ..none() },
        severity: Severity::Error,
    },
    Case { rule: "user-data-secret", edits: &[("name: windows-user-data", "name: worker-user-data")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "credentials-secret", edits: &[("name: vsphere-cloud-credentials", "name: my-creds")], fail: none, pass: none, severity: Severity::Warning },
    Case { rule: "workspace", edits: &[("folder: /dc1/vm/ocp49-x7k2p", "folder: /dc2/vm/ocp49-x7k2p")], fail: none, pass: none, severity: Severity::Error },
    Case { rule: "workspace", edits: &[("             server: vcenter.example.com\n", "")], fail: none, pass: none, severity: Severity::Warning },
];

/// The 1-based line of the first line of `to` in `text` (where the edit is).
fn line_of(text: &str, to: &str) -> Option<usize> {
    let first = to.lines().find(|l| !l.trim().is_empty())?.trim();
    text.lines()
        .position(|l| !l.starts_with('#') && l.contains(first))
        .map(|i| i + 1)
}

#[test]
fn each_rule_fails_on_its_edit_of_the_seed_and_passes_on_the_seed() {
    for case in CASES {
        let seed = check(SEED, &(case.pass)());
        assert!(
            !seed
                .iter()
                .any(|d| d.rule_id == case.rule && d.severity >= Severity::Warning),
            "{}: the seed fails it: {:#?}",
            case.rule,
            serious(&seed)
        );
        let text = edit(SEED, case.edits);
        let diags = check(&text, &(case.fail)());
        let hit = diags
            .iter()
            .find(|d| d.rule_id == case.rule && d.severity == case.severity)
            .unwrap_or_else(|| panic!("{}: not reported: {:#?}", case.rule, serious(&diags)));
        if let Some((_, to)) = case.edits.first() {
            if let Some(line) = line_of(&text, to).filter(|_| !to.is_empty()) {
                // Within the edited lines, or the enclosing node's line
                // for something missing.
                let span = to.lines().count();
                assert!(
                    hit.line + 1 >= line && hit.line <= line + span,
                    "{}: reported at line {}, edit at line {line}: {}",
                    case.rule,
                    hit.line,
                    hit.message
                );
            }
        }
        assert!(
            hit.message.contains(": "),
            "{}: no YAML path in {:?}",
            case.rule,
            hit.message
        );
    }
}

#[test]
fn every_rule_in_the_table_has_a_case_or_its_own_test() {
    // Input failures and the --online rules are covered elsewhere
    // (cluster_cli, online module tests); the network rules by cluster_network.
    let elsewhere = [
        "input-unreadable",
        "input-too-large",
        "inventory-missing",
        "inventory-ambiguous",
        "template-not-template",
        "network-name",
        "network-ovn-kubernetes",
        "hybrid-overlay",
        "hybrid-overlap",
        "vxlan-port",
        "vxlan-port-os-build",
    ];
    for rule in machineset::RULES {
        assert!(
            CASES.iter().any(|c| c.rule == rule.id) || elsewhere.contains(&rule.id),
            "rule {} has no failing fixture",
            rule.id
        );
    }
}

#[test]
fn problems_carry_the_yaml_path_and_position() {
    let text = edit(SEED, &[("numCoresPerSocket: 1", "numCoresPerSocket: 3")]);
    let d = check(&text, &none())
        .into_iter()
        .find(|d| d.rule_id == "cpu-topology")
        .unwrap();
    assert_eq!((d.file.as_str(), d.line, d.col), ("ms.yaml", 39, 20));
    assert_eq!(
        d.message,
        "spec.template.spec.providerSpec.value.numCPUs: 4 CPUs cannot be split into sockets of 3 cores"
    );
}

#[test]
fn unknown_fields_name_the_field_as_the_api_server_would_prune_it() {
    let text = edit(SEED, &[("    matchLabels:", "    matchLabel:")]);
    let d = check(&text, &none())
        .into_iter()
        .find(|d| d.rule_id == "unknown-field")
        .unwrap();
    assert_eq!(
        d.message,
        "spec.selector.matchLabel: unknown field `matchLabel`: the API server would prune it"
    );
    assert_eq!((d.line, d.col), (13, 5));
}

#[test]
fn a_list_of_machinesets_is_checked_item_by_item() {
    let item: String = SEED
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("  {l}\n"))
        .collect();
    let bad = item.replacen("os-id: Windows", "os-id: Linux", 1);
    let text = format!(
        "apiVersion: v1\nkind: List\nitems:\n-{}\n-{}",
        &item[1..],
        &bad[1..]
    );
    let diags = check(&text, &none());
    let os: Vec<_> = diags.iter().filter(|d| d.rule_id == "os-id").collect();
    assert_eq!(os.len(), 1, "{:#?}", serious(&diags));
    assert!(
        os[0]
            .message
            .starts_with("items[1].spec.template.metadata.labels"),
        "{}",
        os[0].message
    );
}

fn params() -> GenerateParams {
    GenerateParams {
        name: "winworker".into(),
        infrastructure_id: "ocp49-x7k2p".into(),
        template: "/dc1/vm/templates/win20h2-wmco".into(),
        network: "VM Network".into(),
        replicas: 2,
        hardware: Hardware {
            num_cpus: 8,
            num_cores_per_socket: 2,
            memory_mib: 32768,
            disk_gib: 160,
        },
        workspace: Workspace {
            datacenter: "dc1".into(),
            datastore: "datastore1".into(),
            folder: "/dc1/vm/ocp49-x7k2p".into(),
            resource_pool: None,
            server: "vcenter.example.com".into(),
        },
    }
}

#[test]
fn generated_machinesets_pass_the_checker_and_the_crd_schema() {
    let yaml = machineset::generate(&params()).unwrap();
    let diags = check(
        &yaml,
        &CheckOptions {
            template_disk_gib: Some(160),
            ..none()
        },
    );
    assert!(diags.is_empty(), "{diags:#?}");
    let doc = &yaml::parse(&yaml).unwrap()[0];
    assert!(schema::machineset().unwrap().check(&doc.root).is_empty());
    assert!(schema::provider_spec()
        .unwrap()
        .check(
            doc.root
                .path(&["spec", "template", "spec", "providerSpec", "value"])
                .unwrap()
        )
        .is_empty());
}

#[test]
fn generated_output_matches_the_seed_sample_for_the_seeds_values() {
    let p = GenerateParams {
        replicas: 1,
        hardware: Hardware::default(),
        workspace: Workspace {
            resource_pool: Some("/dc1/host/cluster1/Resources".into()),
            ..params().workspace
        },
        ..params()
    };
    let generated: serde_json::Value =
        serde_norway::from_str(&machineset::generate(&p).unwrap()).unwrap();
    let seed: serde_json::Value = serde_norway::from_str(SEED).unwrap();
    assert_eq!(generated, seed);
}

#[test]
fn a_pipeline_placement_becomes_the_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, PIPELINE).unwrap();
    let pipeline = machineset::generate::read_pipeline(&path).unwrap();
    let (ws, network) = Workspace::from_pipeline(&pipeline, &path).unwrap();
    assert_eq!(network, "VM Network");
    assert_eq!(
        ws,
        Workspace {
            datacenter: "dc1".into(),
            datastore: "datastore1".into(),
            folder: "/dc1/vm/gild-builds".into(),
            resource_pool: Some("/dc1/host/cluster1/Resources".into()),
            server: "vcenter.example.com".into(),
        }
    );
}

pub const PIPELINE: &str = r#"name: win20h2
target: wmco-4.9
vcenter:
  url: https://vcenter.example.com/
  user: administrator@vsphere.local
  password_env: GILD_VCENTER_PASSWORD
source:
  vm: /dc1/vm/golden/win20h2-base
placement:
  datacenter: dc1
  folder: gild-builds
  cluster: cluster1
  datastore: datastore1
  network: VM Network
guest:
  user: Administrator
  password_env: GILD_GUEST_PASSWORD
stages:
  - stage: preflight
template:
  name: "{name}-{date}"
  folder: /dc1/vm/templates
"#;
