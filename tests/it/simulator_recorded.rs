//! The simulator's answers held to responses a real vCenter returned
//! (`tests/data/recorded/vcenter-7.0.json`, each entry citing where it was
//! recorded). For every recorded response the same request goes to the
//! simulator, and the two bodies must have the same shape: the same keys
//! (unless the entry lists a key as optional, with its reason), the same
//! JSON types (integer vs float too), ids of the same kind (`vm-123`,
//! `domain-c7`, `resgroup-9`, `datastore-11`, `group-v4`), enum values spelt
//! like enum values, numeric strings as numeric strings (device keys, the
//! Tools `version`), uuids, MACs and IP addresses as such. Values differ —
//! another inventory — but a client parsing one must parse the other.

use crate::support::Harness;
use gild::simulator::{Inventory, SimulatorConfig};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;

/// What a recorded string looks like, as far as a client could depend on it.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    /// A managed-object id with its prefix (`vm`, `domain-c`; folders as `group`).
    Id(String),
    Numeric,
    Uuid,
    /// A distributed switch uuid (`50 31 … 22-33 9b … 03`).
    SpacedUuid,
    Mac,
    Ip,
    /// `[datastore] folder/file.vmdk`.
    DatastorePath,
    /// A vAPI error type of the `/rest` form: must match exactly.
    VapiError(String),
    /// `POWERED_OFF`, `VMX_11`, `DEBIAN_8_64`.
    Enum,
    /// Free text (names, messages): no constraint.
    Other,
}

const ID_PREFIXES: [&str; 10] = [
    "datacenter-",
    "datastore-",
    "resgroup-",
    "domain-c",
    "dvportgroup-",
    "network-",
    "group-",
    "host-",
    "vm-",
    "task-",
];

fn kind(s: &str) -> Kind {
    let hex = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_hexdigit());
    for prefix in ID_PREFIXES {
        if let Some(rest) = s.strip_prefix(prefix) {
            // Folders carry their type's letter: group-v4, group-d1.
            let digits = if prefix == "group-" {
                rest.get(1..).unwrap_or("")
            } else {
                rest
            };
            if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
                return Kind::Id(prefix.trim_end_matches('-').to_string());
            }
        }
    }
    if let Some(t) = s.strip_prefix("com.vmware.vapi.std.errors.") {
        return Kind::VapiError(t.to_string());
    }
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        return Kind::Numeric;
    }
    let dashed: Vec<&str> = s.split('-').collect();
    if dashed.len() == 5
        && dashed.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && dashed.iter().all(|p| hex(p))
    {
        return Kind::Uuid;
    }
    let spaced: Vec<&str> = s.split(['-', ' ']).collect();
    if spaced.len() == 16 && spaced.iter().all(|p| p.len() == 2 && hex(p)) {
        return Kind::SpacedUuid;
    }
    let colon: Vec<&str> = s.split(':').collect();
    if colon.len() == 6 && colon.iter().all(|p| p.len() == 2 && hex(p)) {
        return Kind::Mac;
    }
    if s.parse::<std::net::IpAddr>().is_ok() {
        return Kind::Ip;
    }
    if s.starts_with('[') && s.contains("] ") && s.ends_with(".vmdk") {
        return Kind::DatastorePath;
    }
    let enum_like = s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if enum_like {
        return Kind::Enum;
    }
    Kind::Other
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares the shape of `sim` with `recorded` at `path`; `optional` are
/// paths one side may lack, `maps` paths whose keys are data (mount points).
struct Shape<'a> {
    optional: &'a BTreeSet<String>,
    maps: &'a BTreeSet<String>,
    failures: Vec<String>,
}

impl Shape<'_> {
    fn compare(&mut self, path: &str, recorded: &Value, sim: &Value) {
        let (rt, st) = (json_type(recorded), json_type(sim));
        if rt != st {
            self.failures.push(format!(
                "{path}: recorded {rt} {recorded}, simulator {st} {sim}"
            ));
            return;
        }
        match (recorded, sim) {
            (Value::String(r), Value::String(s)) => {
                let want = kind(r);
                if want != Kind::Other && kind(s) != want {
                    self.failures.push(format!(
                        "{path}: recorded {r:?} ({want:?}), simulator {s:?} ({:?})",
                        kind(s)
                    ));
                }
            }
            (Value::Array(r), Value::Array(s)) => {
                if let (Some(r0), Some(s0)) = (r.first(), s.first()) {
                    self.compare(&format!("{path}[]"), r0, s0);
                }
            }
            (Value::Object(r), Value::Object(s)) => {
                if r.is_empty() {
                    return; // an empty device map says nothing about its entries
                }
                let device_map = r.keys().all(|k| kind(k) == Kind::Numeric);
                if device_map || self.maps.contains(path) {
                    for k in s.keys().filter(|_| device_map) {
                        if kind(k) != Kind::Numeric {
                            self.failures
                                .push(format!("{path}: device key {k:?} is not numeric"));
                        }
                    }
                    if let (Some(r0), Some(s0)) = (r.values().next(), s.values().next()) {
                        self.compare(&format!("{path}.*"), r0, s0);
                    }
                    return;
                }
                for key in r.keys().chain(s.keys()).collect::<BTreeSet<_>>() {
                    let at = format!("{path}.{key}");
                    match (r.get(key), s.get(key)) {
                        (Some(rv), Some(sv)) => self.compare(&at, rv, sv),
                        _ if self.optional.contains(&at) => {}
                        (Some(_), None) => self
                            .failures
                            .push(format!("{at}: recorded, the simulator leaves it out")),
                        (None, Some(_)) => self.failures.push(format!(
                            "{at}: the simulator adds it, the recording has none"
                        )),
                        (None, None) => {}
                    }
                }
            }
            _ => {}
        }
    }
}

fn paths(entry: &Value, field: &str) -> BTreeSet<String> {
    entry[field]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The built-in inventory plus a VM on the distributed port group, so the
/// recorded distributed-switch NIC has a counterpart.
fn inventory() -> Inventory {
    let mut inventory = Inventory::builtin();
    let dc = &mut inventory.datacenters[0];
    let mut on_dvpg = dc.vms[0].clone();
    on_dvpg.name = "on-dvpg".into();
    on_dvpg.hostname = None;
    on_dvpg.network = Some("dvpg-windows".into());
    dc.vms.push(on_dvpg);
    inventory
}

fn first(list: &Value, key: &str) -> String {
    list[0][key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {list}"))
        .to_string()
}

#[tokio::test]
async fn simulator_answers_have_the_shape_of_recorded_vcenter_responses() {
    let data: Value = serde_json::from_str(include_str!("../data/recorded/vcenter-7.0.json"))
        .expect("recorded responses are JSON");
    let sources = data["sources"].as_object().expect("sources");
    let h = Harness::start(SimulatorConfig {
        inventory: inventory(),
        ..Default::default()
    })
    .await;
    let off = h.clone_base("recorded-off").await;
    let running = h.powered_clone("recorded-running").await;
    let dvpg = h.vm_id("on-dvpg");
    let cluster = first(
        &h.get("/api/vcenter/cluster?names=cluster1").await.1,
        "cluster",
    );
    let pool = first(
        &h.get("/api/vcenter/resource-pool?names=gild").await.1,
        "resource_pool",
    );

    let mut failures = Vec::new();
    let entries = data["responses"].as_array().expect("responses");
    for entry in entries {
        let id = entry["id"].as_str().expect("id");
        let source = entry["source"].as_str().expect("source");
        assert!(
            sources.contains_key(source),
            "{id}: unknown source {source}"
        );
        let (method, template) = entry["request"]
            .as_str()
            .and_then(|r| r.split_once(' '))
            .expect("request is METHOD path");
        let vm = match entry["vm"].as_str() {
            Some("off") => off.as_str(),
            Some("running") => running.as_str(),
            Some("dvpg-off") => dvpg.as_str(),
            Some(other) => panic!("{id}: unknown vm fixture {other}"),
            None => "",
        };
        let target = template
            .replace("{vm}", vm)
            .replace("{cluster}", &cluster)
            .replace("{resource_pool}", &pool)
            .replace("{disk}", "2000")
            .replace("{nic}", "4000");
        let (status, body) = if target == "/rest/com/vmware/cis/session" {
            // The recorded answer is a refused login.
            let resp = h
                .http
                .post(h.url(&target))
                .basic_auth(h.sim.user(), Some("not-the-password"))
                .send()
                .await
                .expect("login request");
            (
                resp.status().as_u16(),
                resp.json().await.expect("JSON error"),
            )
        } else {
            let method = Method::from_bytes(method.as_bytes()).expect("method");
            let (status, body) = h.call(method, &target, None).await;
            (status.as_u16(), body)
        };
        if Some(u64::from(status)) != entry["status"].as_u64() {
            failures.push(format!(
                "{id}: status {status}, recorded {} ({body})",
                entry["status"]
            ));
            continue;
        }
        let (optional, maps) = (paths(entry, "optional"), paths(entry, "maps"));
        let mut shape = Shape {
            optional: &optional,
            maps: &maps,
            failures: vec![],
        };
        shape.compare("$", &entry["response"], &body);
        failures.extend(shape.failures.into_iter().map(|f| format!("{id}: {f}")));
    }
    assert!(
        entries.len() >= 25,
        "only {} recorded responses",
        entries.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn string_kinds_tell_ids_enums_and_numeric_strings_apart() {
    assert_eq!(kind("vm-1055"), Kind::Id("vm".into()));
    assert_eq!(kind("domain-c7"), Kind::Id("domain-c".into()));
    assert_eq!(kind("group-v1161"), kind("group-d1"));
    assert_ne!(kind("resgroup-9"), kind("datastore-11"));
    assert_eq!(kind("10346"), Kind::Numeric);
    assert_ne!(kind("12.1.5"), Kind::Numeric);
    assert_eq!(kind("VMX_11"), Kind::Enum);
    assert_ne!(kind("PoweredOff"), Kind::Enum);
    assert_eq!(kind("4231943a-a1b5-9d24-1e05-d447e9ff0396"), Kind::Uuid);
    assert_eq!(
        kind("50 31 50 36 b4 93 ca 22-33 9b 18 30 3d b1 e7 03"),
        Kind::SpacedUuid
    );
    assert_eq!(kind("00:50:56:b1:22:7d"), Kind::Mac);
    assert_eq!(kind("fe80::e5f5:b5f1:dd56:798"), kind("10.20.30.101"));
    assert_eq!(kind("[local] test_vm1/test_vm1.vmdk"), Kind::DatastorePath);
    assert_eq!(kind("VM Network"), Kind::Other);
}

#[test]
fn shape_comparison_fails_on_renamed_keys_wrong_types_and_kinds() {
    let none = BTreeSet::new();
    let check = |recorded: Value, sim: Value| {
        let mut shape = Shape {
            optional: &none,
            maps: &none,
            failures: vec![],
        };
        shape.compare("$", &recorded, &sim);
        shape.failures
    };
    let recorded =
        serde_json::json!({"version": "10346", "version_number": 10346, "run_state": "RUNNING"});
    assert!(check(recorded.clone(), recorded.clone()).is_empty());
    let dotted =
        serde_json::json!({"version": "12.1.5", "version_number": 12325, "run_state": "RUNNING"});
    assert_eq!(check(recorded.clone(), dotted).len(), 1);
    let renamed = serde_json::json!({"version": "1", "versionNumber": 1, "run_state": "RUNNING"});
    assert_eq!(check(recorded.clone(), renamed).len(), 2);
    let typed = serde_json::json!({"version": "1", "version_number": "1", "run_state": "Running"});
    assert_eq!(check(recorded, typed).len(), 2);
    // Device maps compare their entries, whatever the keys.
    let disks = serde_json::json!({"2000": {"capacity": 1}});
    assert!(check(disks.clone(), serde_json::json!({"2001": {"capacity": 5}})).is_empty());
    assert_eq!(
        check(disks, serde_json::json!({"2000": {"capacity": 1.5}})).len(),
        1
    );
}
