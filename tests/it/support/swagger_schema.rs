//! Swagger 2.0 schema objects → JSON Schema draft 4, as the contract
//! tests validate with them (see `openapi`'s module docs for the design):
//! reachable definitions only, Swagger-only keywords dropped, objects with
//! declared `properties` closed, and the few documented openings for fields
//! and enum values a vCenter newer than 7.0.3 really sends.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Keywords that exist in Swagger 2.0 schema objects but not in JSON Schema
/// draft 4 (or that carry no validation meaning here).
const SWAGGER_ONLY_KEYWORDS: [&str; 5] = [
    "discriminator",
    "readOnly",
    "xml",
    "externalDocs",
    "example",
];

/// Fields a newer vCenter adds to a 7.0.3 structure, accepted in responses.
/// (definition, field, schema of the field, source).
pub const TOLERATED_EXTRA_FIELDS: &[(&str, &str, &str, &str)] = &[
    // vmware-vcenter 9.1 bindings (CONTRACT.md, Tools): Tools.Info gained
    // guest_reboot_status; a 9.x vCenter sends it.
    (
        "VcenterVmToolsInfo",
        "guest_reboot_status",
        r#"{"type":"string"}"#,
        "CONTRACT.md Tools, [B] 9.1",
    ),
];

/// Enum values a newer vCenter adds to a 7.0.3 enum. (definition, values, source)
pub const TOLERATED_EXTRA_ENUM_VALUES: &[(&str, &[&str], &str)] = &[
    // CONTRACT.md Hardware: VMX_20/21/22 were added in API 8.0.0.1, 8.0.2.0,
    // 9.0.0.0; gild must understand VMs built on those vCenters.
    (
        "VcenterVmHardwareVersion",
        &["VMX_20", "VMX_21", "VMX_22"],
        "CONTRACT.md Hardware",
    ),
];

/// `{"$ref"..} + reachable definitions`, converted for draft 4.
pub fn compile_root(schema: &Value, defs: &Map<String, Value>) -> Value {
    let mut needed = BTreeSet::new();
    let mut queue = Vec::new();
    collect_refs(schema, &mut queue);
    while let Some(name) = queue.pop() {
        if needed.insert(name.clone()) {
            if let Some(d) = defs.get(&name) {
                collect_refs(d, &mut queue);
            }
        }
    }
    let mut out = Map::new();
    for name in needed {
        if let Some(d) = defs.get(&name) {
            out.insert(name.clone(), convert_definition(&name, d));
        }
    }
    let mut root = convert(schema);
    if let Value::Object(m) = &mut root {
        m.insert("definitions".into(), Value::Object(out));
    }
    root
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                if let Some(name) = r.strip_prefix("#/definitions/") {
                    out.push(name.to_owned());
                }
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn convert_definition(name: &str, def: &Value) -> Value {
    let mut v = convert(def);
    let Value::Object(m) = &mut v else { return v };
    for (d, field, schema, _) in TOLERATED_EXTRA_FIELDS {
        if *d == name {
            if let (Some(Value::Object(props)), Ok(s)) =
                (m.get_mut("properties"), serde_json::from_str(schema))
            {
                props.insert((*field).to_owned(), s);
            }
        }
    }
    for (d, values, _) in TOLERATED_EXTRA_ENUM_VALUES {
        if *d == name {
            if let Some(Value::Array(e)) = m.get_mut("enum") {
                e.extend(values.iter().map(|s| Value::String((*s).to_owned())));
            }
        }
    }
    v
}

/// Swagger 2.0 schema → JSON Schema draft 4 (see the module docs).
fn convert(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                if SWAGGER_ONLY_KEYWORDS.contains(&k.as_str()) || k.starts_with("x-") {
                    continue;
                }
                let converted = match k.as_str() {
                    // Maps of sub-schemas keyed by name: convert the values, not the keys.
                    "properties" | "definitions" => match x {
                        Value::Object(props) => Value::Object(
                            props
                                .iter()
                                .map(|(pk, pv)| (pk.clone(), convert(pv)))
                                .collect(),
                        ),
                        other => other.clone(),
                    },
                    "enum" | "required" => x.clone(),
                    _ => convert(x),
                };
                out.insert(k.clone(), converted);
            }
            if out.contains_key("properties") && !out.contains_key("additionalProperties") {
                out.insert("additionalProperties".into(), Value::Bool(false));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(convert).collect()),
        other => other.clone(),
    }
}
