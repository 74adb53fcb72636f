//! VMware's own OpenAPI (Swagger 2.0) description of vCenter 7.0.3 `/api`,
//! loaded for contract tests: operation look-up by method + concrete path,
//! and JSON Schema validation of request and response bodies.
//!
//! Design:
//! - The spec keys operations by path *including* the query action
//!   (`/api/vcenter/vm/{vm}/power?action=start`). A key's query pairs must all
//!   be present in the request; among the matching keys the most specific one
//!   wins (`?action=clone&vmw-task=true` over `?action=clone`). Every other
//!   query parameter of the request must be a declared `in: query` parameter
//!   of that operation, with a value from its enum when it declares one.
//! - Path templates match segment by segment; a `{param}` matches any one
//!   non-empty segment (so `files/{path}` matches a URL-encoded Windows path,
//!   and a client template's own `{moId}` matches the spec's `{vm}`).
//! - Schemas: Swagger 2.0 definitions are almost JSON Schema draft 4. The
//!   root schema we compile is `{"$ref": X, "definitions": {...}}` holding only
//!   the definitions reachable from X, so `#/definitions/...` refs resolve as
//!   written. Swagger-only keywords are dropped. Objects that declare
//!   `properties` are closed (`additionalProperties: false`): Swagger leaves
//!   them open, but then a renamed field would pass as an "extra" one. The
//!   only openings are `swagger_schema::TOLERATED_EXTRA_FIELDS` and
//!   `TOLERATED_EXTRA_ENUM_VALUES`, each a field or value that a vCenter
//!   newer than 7.0.3 really sends.
//!
//! The test helpers panic with a message (they run inside tests); a missing
//! spec file FAILS the test rather than skipping it.

use super::swagger_schema::compile_root;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

const SPEC_FILES: [&str; 3] = ["vcenter.json", "cis.json", "session.json"];

/// The one `/rest` resource the simulator serves.
pub const REST_SESSION: &str = "/rest/com/vmware/cis/session";

/// Routes gild serves or calls that the 7.0.3 OpenAPI files do not describe,
/// each checked elsewhere. (method, path prefix or exact key, reason)
pub const DOCUMENTED_EXCEPTIONS: &[(&str, &str, &str)] = &[
    ("*", "/sdk/vim25/", "VI/JSON API: not in the /api OpenAPI files; checked against CONTRACT.md 'VI/JSON' by tests/contract_vijson.rs"),
    ("POST", "/api/vcenter/system?action=hello", "release negotiation, vCenter 8.0.2.0+ (CONTRACT.md VI/JSON 'Release'); absent from the 7.0.3 spec"),
    ("GET", "/rest/com/vmware/cis/session", "the /rest session read, in VMware's current reference ('Get Session', developer.vmware.com vSphere Automation cis/rest/com/vmware/cis/session/get); 7.0.3 has only POST ?~action=get, also served"),
    ("*", "/guestFile", "the guest transfer URL itself: an opaque URL returned by filesystem?action=create (CONTRACT.md 'Transfer'), not an /api operation"),
    ("*", "/_sim/", "simulator admin prefix: test tooling, never part of the vCenter API"),
];

/// The documented exception covering `method path`, if any.
pub fn exception_for(method: &str, path: &str) -> Option<&'static str> {
    DOCUMENTED_EXCEPTIONS
        .iter()
        .find_map(|(m, prefix, reason)| {
            let method_ok = *m == "*" || m.eq_ignore_ascii_case(method);
            let path_ok = if prefix.contains('?') {
                path == *prefix
            } else {
                path.starts_with(prefix)
            };
            (method_ok && path_ok).then_some(*reason)
        })
}

#[derive(Debug)]
pub struct QueryParam {
    pub name: String,
    pub is_array: bool,
    pub enum_values: Option<Vec<String>>,
    pub type_name: Option<String>,
}

#[derive(Debug)]
pub struct Op {
    /// Upper-case HTTP method.
    pub method: String,
    /// The spec's path key, query action included.
    pub key: String,
    pub file: &'static str,
    segments: Vec<String>,
    key_query: Vec<(String, String)>,
    pub query_params: Vec<QueryParam>,
    pub body_schema: Option<Value>,
    /// status -> response schema (None: no body, e.g. 204).
    pub responses: BTreeMap<u16, Option<Value>>,
}

impl Op {
    pub fn label(&self) -> String {
        format!("{} {} ({})", self.method, self.key, self.file)
    }
}

pub struct Spec {
    pub ops: Vec<Op>,
    definitions: BTreeMap<&'static str, Map<String, Value>>,
}

/// Where the spec lives: the copy vendored under `tests/contract/` (origin
/// and checksums in `tests/contract/README.md` and `SHA256SUMS`), so a clone
/// of the repository tests itself with nothing beside it.
pub fn spec_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contract/vsphere-api/7.0.3")
}

/// The loaded spec; panics (failing the test) with a clear message when the
/// files are missing or unreadable.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| match Spec::load() {
        Ok(s) => s,
        Err(e) => panic!("cannot load the vSphere OpenAPI contract: {e}"),
    })
}

impl Spec {
    pub fn load() -> Result<Spec, String> {
        let dir = spec_dir();
        let mut ops = Vec::new();
        let mut definitions = BTreeMap::new();
        for file in SPEC_FILES {
            let path = dir.join(file);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
            let defs = doc
                .get("definitions")
                .and_then(Value::as_object)
                .cloned()
                .ok_or_else(|| format!("{}: no 'definitions' object", path.display()))?;
            let paths = doc
                .get("paths")
                .and_then(Value::as_object)
                .ok_or_else(|| format!("{}: no 'paths' object", path.display()))?;
            for (key, methods) in paths {
                // The same files describe the deprecated /rest API; of it
                // the simulator serves only the CIS session (the login of
                // clients such as Ansible's vmware.vmware_rest).
                if !key.starts_with("/api/") && !key.starts_with(REST_SESSION) {
                    continue;
                }
                let Some(methods) = methods.as_object() else {
                    continue;
                };
                for (method, op) in methods {
                    ops.push(parse_op(file, key, method, op)?);
                }
            }
            definitions.insert(file, defs);
        }
        Ok(Spec { ops, definitions })
    }

    /// The operation `method target` calls, where `target` is a concrete
    /// request path with its query (`/api/vcenter/vm/vm-42/power?action=start`)
    /// or a template (`/api/vcenter/vm/{vm}/power?action=start`).
    pub fn find_operation(&self, method: &str, target: &str) -> Option<&Op> {
        self.match_operation(method, target).ok()
    }

    /// Like [`Spec::find_operation`], but says why nothing matched.
    pub fn match_operation(&self, method: &str, target: &str) -> Result<&Op, String> {
        let method = method.to_ascii_uppercase();
        let (path, query) = split_target(target);
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<&Op> = None;
        let mut path_matches = Vec::new();
        for op in &self.ops {
            if !segments_match(&op.segments, &segments) {
                continue;
            }
            path_matches.push(format!("{} {}", op.method, op.key));
            if op.method != method || !op.key_query.iter().all(|kv| query.contains(kv)) {
                continue;
            }
            if best.is_none_or(|b| b.key_query.len() < op.key_query.len()) {
                best = Some(op);
            }
        }
        let op = best.ok_or_else(|| {
            format!("no operation {method} {target} in VMware's 7.0.3 OpenAPI files; same path: {path_matches:?}")
        })?;
        check_query(op, &query)?;
        Ok(op)
    }

    /// Validates a response body (`Value::Null` for an empty body) against the
    /// schema the operation declares for `status`.
    pub fn validate_response(&self, op: &Op, status: u16, body: &Value) -> Result<(), String> {
        let declared = match op.responses.get(&status) {
            Some(d) => d.as_ref(),
            None if ALWAYS_POSSIBLE_STATUSES.contains(&status) => Some(&*GENERIC_ERROR_SCHEMA),
            None => {
                let known: Vec<u16> = op.responses.keys().copied().collect();
                return Err(format!(
                    "{}: status {status} is not declared (declared: {known:?})",
                    op.label()
                ));
            }
        };
        match declared {
            None if body.is_null() => Ok(()),
            None => Err(format!(
                "{}: status {status} declares no body, got {body}",
                op.label()
            )),
            Some(schema) => {
                self.validate(op.file, schema, body)
                    .map_err(|e| format!("{} response {status}: {e}", op.label()))?;
                if status >= 400 {
                    check_error_type_status(body, status)
                        .map_err(|e| format!("{}: {e}", op.label()))?;
                }
                Ok(())
            }
        }
    }

    /// Validates a request body against the operation's body parameter.
    pub fn validate_request_body(&self, op: &Op, body: &Value) -> Result<(), String> {
        let schema = op
            .body_schema
            .as_ref()
            .ok_or_else(|| format!("{} takes no request body", op.label()))?;
        self.validate(op.file, schema, body)
            .map_err(|e| format!("{} request body: {e}", op.label()))
    }

    /// Validates `instance` against `schema` (which may `$ref` the file's definitions).
    pub fn validate(&self, file: &str, schema: &Value, instance: &Value) -> Result<(), String> {
        let defs = self
            .definitions
            .get(file)
            .ok_or_else(|| format!("unknown spec file {file}"))?;
        let root = compile_root(schema, defs);
        let validator = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&root)
            .map_err(|e| format!("schema does not compile: {e}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| format!("at '{}': {}", e.instance_path, e))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{} (body: {instance})", errors.join("; ")))
        }
    }
}

/// CONTRACT.md: "every operation can also return 401, 403 and 503" even
/// where an operation's entry omits them.
const ALWAYS_POSSIBLE_STATUSES: [u16; 3] = [401, 403, 503];

/// The vAPI standard error shape, written with the two definitions every
/// spec file has (session.json has no `VapiStdErrorsError`).
static GENERIC_ERROR_SCHEMA: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| {
    serde_json::json!({
        "type": "object",
        "required": ["error_type", "messages"],
        "properties": {
            "error_type": { "$ref": "#/definitions/VapiStdErrorsErrorType" },
            "messages": { "type": "array", "items": { "$ref": "#/definitions/VapiStdLocalizableMessage" } },
            "data": {}
        }
    })
});

/// The status ↔ error_type table of CONTRACT.md ("the same in every /api
/// operation of [S]"), hard-coded here so the simulator is held to the
/// contract, not to its own `ErrorType::http_status`.
pub fn contract_status_of(error_type: &str) -> Option<u16> {
    Some(match error_type {
        "ALREADY_EXISTS"
        | "ALREADY_IN_DESIRED_STATE"
        | "FEATURE_IN_USE"
        | "INVALID_ARGUMENT"
        | "INVALID_ELEMENT_CONFIGURATION"
        | "INVALID_ELEMENT_TYPE"
        | "NOT_ALLOWED_IN_CURRENT_STATE"
        | "RESOURCE_IN_USE"
        | "UNSUPPORTED"
        | "UNVERIFIED_PEER"
        | "CANCELED"
        | "INVALID_REQUEST" => 400,
        "UNAUTHENTICATED" => 401,
        "UNAUTHORIZED" => 403,
        "NOT_FOUND" | "OPERATION_NOT_FOUND" => 404,
        "CONCURRENT_CHANGE" => 409,
        "ERROR"
        | "INTERNAL_SERVER_ERROR"
        | "RESOURCE_BUSY"
        | "RESOURCE_INACCESSIBLE"
        | "TIMED_OUT"
        | "UNABLE_TO_ALLOCATE_RESOURCE" => 500,
        "SERVICE_UNAVAILABLE" => 503,
        _ => return None,
    })
}

/// The error type of an `/api` error (`error_type: NOT_FOUND`) or of a
/// `/rest` one (`type: com.vmware.vapi.std.errors.not_found`).
pub fn error_type_of(body: &Value) -> Option<String> {
    if let Some(t) = body.get("error_type").and_then(Value::as_str) {
        return Some(t.to_owned());
    }
    body.get("type")
        .and_then(Value::as_str)
        .and_then(|t| t.strip_prefix("com.vmware.vapi.std.errors."))
        .map(str::to_ascii_uppercase)
}

fn check_error_type_status(body: &Value, status: u16) -> Result<(), String> {
    let Some(error_type) = error_type_of(body) else {
        return Err(format!(
            "error body without error_type (status {status}): {body}"
        ));
    };
    let error_type = error_type.as_str();
    match contract_status_of(error_type) {
        Some(expected) if expected == status => Ok(()),
        Some(expected) => Err(format!(
            "error_type {error_type} is HTTP {expected} per CONTRACT.md, answered {status}"
        )),
        None => Err(format!(
            "error_type {error_type} has no HTTP status in CONTRACT.md"
        )),
    }
}

fn parse_op(file: &'static str, key: &str, method: &str, op: &Value) -> Result<Op, String> {
    let where_ = || format!("{file}: {method} {key}");
    let (path, query) = split_target(key);
    let mut query_params = Vec::new();
    let mut body_schema = None;
    for p in op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}: parameter without name", where_()))?;
        match p.get("in").and_then(Value::as_str) {
            Some("query") => {
                let is_array = p.get("type").and_then(Value::as_str) == Some("array");
                let enum_src = if is_array { p.get("items") } else { Some(p) };
                let enum_values = enum_src
                    .and_then(|s| s.get("enum"))
                    .and_then(Value::as_array)
                    .map(|vals| {
                        vals.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    });
                let item_type = if is_array {
                    p.get("items").and_then(|i| i.get("type"))
                } else {
                    p.get("type")
                };
                query_params.push(QueryParam {
                    name: name.to_owned(),
                    is_array,
                    enum_values,
                    type_name: item_type.and_then(Value::as_str).map(str::to_owned),
                });
            }
            Some("body") => body_schema = p.get("schema").cloned(),
            _ => {}
        }
    }
    let mut responses = BTreeMap::new();
    for (status, resp) in op
        .get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let code: u16 = status
            .parse()
            .map_err(|_| format!("{}: response status {status:?}", where_()))?;
        responses.insert(code, resp.get("schema").cloned());
    }
    Ok(Op {
        method: method.to_ascii_uppercase(),
        key: key.to_owned(),
        file,
        segments: path.split('/').map(str::to_owned).collect(),
        key_query: query,
        query_params,
        body_schema,
        responses,
    })
}

fn split_target(target: &str) -> (&str, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let pairs = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (decode(k), decode(v))
        })
        .collect();
    (path, pairs)
}

fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn is_param(segment: &str) -> bool {
    segment.len() > 2 && segment.starts_with('{') && segment.ends_with('}')
}

fn segments_match(template: &[String], concrete: &[&str]) -> bool {
    template.len() == concrete.len()
        && template
            .iter()
            .zip(concrete)
            .all(|(t, c)| if is_param(t) { !c.is_empty() } else { t == c })
}

fn check_query(op: &Op, query: &[(String, String)]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for (name, value) in query {
        if op.key_query.iter().any(|(k, v)| k == name && v == value) {
            continue;
        }
        let param = op
            .query_params
            .iter()
            .find(|p| &p.name == name)
            .ok_or_else(|| format!("{}: query parameter {name:?} is not declared", op.label()))?;
        if !param.is_array && !seen.insert(name) {
            return Err(format!(
                "{}: query parameter {name:?} is single-valued but repeated",
                op.label()
            ));
        }
        if is_param(value) {
            continue; // a template placeholder, e.g. names={name}
        }
        if let Some(allowed) = &param.enum_values {
            if !allowed.iter().any(|a| a == value) {
                return Err(format!(
                    "{}: {name}={value:?} is not one of {allowed:?}",
                    op.label()
                ));
            }
        }
        if param.type_name.as_deref() == Some("boolean") && value != "true" && value != "false" {
            return Err(format!("{}: {name}={value:?} is not a boolean", op.label()));
        }
    }
    Ok(())
}

/// Whether `method target` (concrete) is an instance of the template
/// `template_method template` — the same segment and `?action=` rules as
/// operation look-up. Used to map recorded requests back to gild's own
/// operation table.
pub fn template_matches(template_method: &str, template: &str, method: &str, target: &str) -> bool {
    if !template_method.eq_ignore_ascii_case(method) {
        return false;
    }
    let (t_path, t_query) = split_target(template);
    let (path, query) = split_target(target);
    let t_segments: Vec<String> = t_path.split('/').map(str::to_owned).collect();
    let segments: Vec<&str> = path.split('/').collect();
    segments_match(&t_segments, &segments) && t_query.iter().all(|kv| query.contains(kv))
}
