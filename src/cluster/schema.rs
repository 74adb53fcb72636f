//! Structural schemas, checked the way the Kubernetes API server checks a
//! custom resource: values against the CRD's `openAPIV3Schema` (with a JSON
//! Schema validator), and fields the schema does not declare reported as
//! the server would prune them.
//!
//! Two schemas are embedded in the binary: the MachineSet CRD as shipped by
//! openshift/api (`crds/machinesets.machine.openshift.io.crd.yaml`, its
//! origin and checksum in `crds/README.md` and `tests/it/vendored.rs`), and
//! the vSphere provider spec the CRD leaves open
//! (`crds/vsphere-machine-provider-spec.schema.yaml`).

use super::yaml::{Mark, Node, Value};
use serde_json::{json, Value as Json};
use std::sync::OnceLock;

const MACHINESET_CRD: &str = include_str!("crds/machinesets.machine.openshift.io.crd.yaml");
const PROVIDER_SPEC_SCHEMA: &str = include_str!("crds/vsphere-machine-provider-spec.schema.yaml");

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FindingKind {
    /// The value breaks the schema: the API server refuses the object.
    Invalid,
    /// A field the schema does not declare: pruned (or, with kubectl's
    /// default `--validate=strict`, refused).
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaFinding {
    pub kind: FindingKind,
    /// JSON pointer of the offending node (for an unknown field, the field).
    pub pointer: String,
    pub mark: Mark,
    pub message: String,
}

pub struct StructuralSchema {
    schema: Json,
    validator: jsonschema::Validator,
}

impl std::fmt::Debug for StructuralSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StructuralSchema").finish_non_exhaustive()
    }
}

impl StructuralSchema {
    /// An OpenAPI v3 structural schema (a CRD's `openAPIV3Schema`). The
    /// OpenAPI subset CRDs use is JSON Schema draft 4 plus `x-kubernetes-*`
    /// keywords, which the validator ignores and the pruning walk reads.
    pub fn new(schema: Json) -> Result<Self, String> {
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&schema)
            .map_err(|e| e.to_string())?;
        Ok(StructuralSchema { schema, validator })
    }

    /// Every schema violation, then every unknown field, in document order.
    pub fn check(&self, root: &Node) -> Vec<SchemaFinding> {
        let instance = root.to_json();
        let mut out: Vec<SchemaFinding> = self
            .validator
            .iter_errors(&instance)
            .map(|e| {
                let pointer = e.instance_path.as_str().to_string();
                let mark = root.pointer(&pointer).map_or(root.mark, |n| n.mark);
                SchemaFinding {
                    kind: FindingKind::Invalid,
                    pointer,
                    mark,
                    message: e.to_string(),
                }
            })
            .collect();
        out.sort_by_key(|f| (f.mark.line, f.mark.col));
        let mut unknown = Vec::new();
        prune_walk(&self.schema, root, &mut String::new(), &mut unknown);
        out.extend(unknown);
        out
    }
}

/// Mirrors the API server's pruning: an object schema keeps the fields in
/// `properties` (or any field, checked against `additionalProperties`);
/// everything else is dropped unless `x-kubernetes-preserve-unknown-fields`.
fn prune_walk(schema: &Json, node: &Node, pointer: &mut String, out: &mut Vec<SchemaFinding>) {
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Json::Bool(true)) {
        return;
    }
    match &node.value {
        Value::Map(entries) => {
            let is_object = schema.get("type").and_then(Json::as_str) == Some("object")
                || schema.get("properties").is_some();
            if !is_object {
                // Not an object in the schema: the validator reports the type.
                return;
            }
            let props = schema.get("properties").and_then(Json::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (key, value) in entries {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.name.replace('~', "~0").replace('/', "~1"));
                match props.and_then(|p| p.get(&key.name)).or(additional) {
                    Some(child) => prune_walk(child, value, pointer, out),
                    None => out.push(SchemaFinding {
                        kind: FindingKind::Unknown,
                        pointer: pointer.clone(),
                        mark: key.mark,
                        message: format!("unknown field `{}`", key.name),
                    }),
                }
                pointer.truncate(len);
            }
        }
        Value::Seq(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    let len = pointer.len();
                    pointer.push_str(&format!("/{i}"));
                    prune_walk(item_schema, item, pointer, out);
                    pointer.truncate(len);
                }
            }
        }
        _ => {}
    }
}

/// The MachineSet CRD's v1beta1 schema, with the root `metadata` (which a
/// CRD declares only as `type: object` because the API server validates
/// ObjectMeta itself) filled in with ObjectMeta's fields.
pub fn machineset() -> Result<&'static StructuralSchema, &'static str> {
    static SCHEMA: OnceLock<Result<StructuralSchema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let crd: Json = serde_norway::from_str(MACHINESET_CRD).map_err(|e| e.to_string())?;
            let mut schema = crd["spec"]["versions"]
                .as_array()
                .and_then(|vs| vs.iter().find(|v| v["name"] == "v1beta1"))
                .map(|v| v["schema"]["openAPIV3Schema"].clone())
                .ok_or("the CRD has no v1beta1 openAPIV3Schema")?;
            let template_meta = schema["properties"]["spec"]["properties"]["template"]
                ["properties"]["metadata"]
                .clone();
            schema["properties"]["metadata"] = object_meta(template_meta);
            StructuralSchema::new(schema)
        })
        .as_ref()
        .map_err(|e| e.as_str())
}

/// `VSphereMachineProviderSpec`, from openshift/api's Go types.
pub fn provider_spec() -> Result<&'static StructuralSchema, &'static str> {
    static SCHEMA: OnceLock<Result<StructuralSchema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let schema: Json =
                serde_norway::from_str(PROVIDER_SPEC_SCHEMA).map_err(|e| e.to_string())?;
            StructuralSchema::new(schema)
        })
        .as_ref()
        .map_err(|e| e.as_str())
}

/// ObjectMeta as a client may send it: the fields the CRD spells out for
/// the machine template's metadata (name, labels, annotations, owner
/// references...) plus the ones the server sets and `oc get -o yaml`
/// prints back (k8s.io/apimachinery ObjectMeta).
fn object_meta(template_meta: Json) -> Json {
    let mut meta = if template_meta.is_object() {
        template_meta
    } else {
        json!({"type": "object", "properties": {}})
    };
    if let Some(props) = meta["properties"].as_object_mut() {
        let string = json!({"type": "string"});
        for name in [
            "uid",
            "resourceVersion",
            "selfLink",
            "creationTimestamp",
            "deletionTimestamp",
        ] {
            props.insert(name.into(), string.clone());
        }
        props.insert("generation".into(), json!({"type": "integer"}));
        props.insert(
            "deletionGracePeriodSeconds".into(),
            json!({"type": "integer"}),
        );
        props.insert(
            "finalizers".into(),
            json!({"type": "array", "items": {"type": "string"}}),
        );
        props.insert(
            "managedFields".into(),
            json!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}),
        );
    }
    meta
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::yaml::parse;

    #[test]
    fn both_embedded_schemas_load() {
        assert!(machineset().is_ok(), "{:?}", machineset().err());
        assert!(provider_spec().is_ok(), "{:?}", provider_spec().err());
    }

    #[test]
    fn a_wrong_type_is_invalid_and_points_at_the_value() {
        let doc = &parse("apiVersion: v1\nkind: MachineSet\nspec:\n  replicas: two\n").unwrap()[0];
        let findings = machineset().unwrap().check(&doc.root);
        let f = findings
            .iter()
            .find(|f| f.pointer == "/spec/replicas")
            .unwrap();
        assert_eq!(f.kind, FindingKind::Invalid);
        assert_eq!((f.mark.line, f.mark.col), (4, 13));
    }

    #[test]
    fn unknown_fields_are_found_where_the_server_would_prune_them() {
        let text = "metadata:\n  name: x\n  lables: {}\nspec:\n  replica: 1\n  template:\n    spec:\n      providerSpec:\n        value:\n          anything: goes\n";
        let doc = &parse(text).unwrap()[0];
        let unknown: Vec<_> = machineset()
            .unwrap()
            .check(&doc.root)
            .into_iter()
            .filter(|f| f.kind == FindingKind::Unknown)
            .map(|f| f.pointer)
            .collect();
        assert_eq!(unknown, ["/metadata/lables", "/spec/replica"]);
    }

    #[test]
    fn label_values_must_be_strings() {
        let doc = &parse("metadata:\n  labels:\n    a: true\n").unwrap()[0];
        let findings = machineset().unwrap().check(&doc.root);
        assert!(findings
            .iter()
            .any(|f| f.pointer == "/metadata/labels/a" && f.kind == FindingKind::Invalid));
    }
}
