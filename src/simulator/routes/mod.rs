//! The `/api` surface, one module per vCenter service, plus the shared
//! request plumbing: vCenter-shaped rejections for bad JSON and bad query
//! values, `?action=` dispatch, and the session check.

pub mod filesystem;
pub mod guest_info;
pub mod hardware;
pub mod inventory;
pub mod power;
pub mod processes;
pub mod session;
pub mod system;
pub mod tasks;
pub mod tools;
pub mod transfer;
pub mod vm;

use super::error::{ApiError, ApiResult};
use super::machine::Machine;
use super::state::{Shared, World};
use crate::vsphere::wire::VmId;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use axum::Router;
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;

/// The name of the session header on `/api` and `/sdk`.
pub const SESSION_HEADER: &str = "vmware-api-session-id";

/// Every `/api` (and `/rest` session) operation the simulator serves,
/// named as VMware's OpenAPI description names them: method and path,
/// `?action=` included. Missing from the 7.0.3 description: only
/// `system?action=hello` (8.0.2+) and `GET` of the `/rest` session (in
/// VMware's current reference). `tests/it/simulator_routes.rs` checks this list
/// against that description and against the live router, so neither can
/// drift silently.
pub const API_OPERATIONS: &[(&str, &str)] = &[
    ("POST", "/api/session"),
    ("GET", "/api/session"),
    ("DELETE", "/api/session"),
    ("POST", "/rest/com/vmware/cis/session"),
    ("DELETE", "/rest/com/vmware/cis/session"),
    ("POST", "/rest/com/vmware/cis/session?~action=get"),
    ("GET", "/rest/com/vmware/cis/session"),
    ("POST", "/api/vcenter/system?action=hello"),
    ("GET", "/api/vcenter/datacenter"),
    ("GET", "/api/vcenter/folder"),
    ("GET", "/api/vcenter/datastore"),
    ("GET", "/api/vcenter/resource-pool"),
    ("GET", "/api/vcenter/cluster"),
    ("GET", "/api/vcenter/network"),
    ("GET", "/api/vcenter/host"),
    ("GET", "/api/vcenter/datacenter/{datacenter}"),
    ("GET", "/api/vcenter/datastore/{datastore}"),
    ("GET", "/api/vcenter/resource-pool/{resource_pool}"),
    ("GET", "/api/vcenter/cluster/{cluster}"),
    ("GET", "/api/vcenter/vm"),
    ("POST", "/api/vcenter/vm?action=clone"),
    ("GET", "/api/cis/tasks/{task}"),
    ("GET", "/api/vcenter/vm/{vm}"),
    ("DELETE", "/api/vcenter/vm/{vm}"),
    ("GET", "/api/vcenter/vm/{vm}/power"),
    ("POST", "/api/vcenter/vm/{vm}/power?action=start"),
    ("POST", "/api/vcenter/vm/{vm}/power?action=stop"),
    ("POST", "/api/vcenter/vm/{vm}/power?action=suspend"),
    ("POST", "/api/vcenter/vm/{vm}/power?action=reset"),
    ("GET", "/api/vcenter/vm/{vm}/guest/power"),
    ("POST", "/api/vcenter/vm/{vm}/guest/power?action=shutdown"),
    ("POST", "/api/vcenter/vm/{vm}/guest/power?action=reboot"),
    ("GET", "/api/vcenter/vm/{vm}/hardware"),
    ("POST", "/api/vcenter/vm/{vm}/hardware?action=upgrade"),
    ("GET", "/api/vcenter/vm/{vm}/hardware/cpu"),
    ("GET", "/api/vcenter/vm/{vm}/hardware/memory"),
    ("GET", "/api/vcenter/vm/{vm}/hardware/boot"),
    ("GET", "/api/vcenter/vm/{vm}/hardware/disk"),
    ("GET", "/api/vcenter/vm/{vm}/hardware/disk/{disk}"),
    ("GET", "/api/vcenter/vm/{vm}/hardware/ethernet"),
    ("GET", "/api/vcenter/vm/{vm}/hardware/ethernet/{nic}"),
    ("GET", "/api/vcenter/vm/{vm}/tools"),
    ("PATCH", "/api/vcenter/vm/{vm}/tools"),
    ("POST", "/api/vcenter/vm/{vm}/tools?action=upgrade"),
    ("GET", "/api/vcenter/vm/{vm}/tools/installer"),
    (
        "POST",
        "/api/vcenter/vm/{vm}/tools/installer?action=connect",
    ),
    (
        "POST",
        "/api/vcenter/vm/{vm}/tools/installer?action=disconnect",
    ),
    ("GET", "/api/vcenter/vm/{vm}/guest/identity"),
    ("GET", "/api/vcenter/vm/{vm}/guest/networking"),
    ("GET", "/api/vcenter/vm/{vm}/guest/networking/interfaces"),
    ("GET", "/api/vcenter/vm/{vm}/guest/networking/routes"),
    ("GET", "/api/vcenter/vm/{vm}/guest/local-filesystem"),
    ("GET", "/api/vcenter/vm/{vm}/guest/operations"),
    ("POST", "/api/vcenter/vm/{vm}/guest/processes?action=create"),
    ("POST", "/api/vcenter/vm/{vm}/guest/processes?action=list"),
    (
        "POST",
        "/api/vcenter/vm/{vm}/guest/processes/{pid}?action=get",
    ),
    (
        "POST",
        "/api/vcenter/vm/{vm}/guest/processes/{pid}?action=delete",
    ),
    (
        "POST",
        "/api/vcenter/vm/{vm}/guest/filesystem?action=create",
    ),
    (
        "POST",
        "/api/vcenter/vm/{vm}/guest/filesystem/directories?action=create",
    ),
    (
        "POST",
        "/api/vcenter/vm/{vm}/guest/filesystem/directories?action=delete",
    ),
    (
        "POST",
        "/api/vcenter/vm/{vm}/guest/filesystem/files?action=list",
    ),
    (
        "POST",
        "/api/vcenter/vm/{vm}/guest/filesystem/files/{path}?action=get",
    ),
    (
        "POST",
        "/api/vcenter/vm/{vm}/guest/filesystem/files/{path}?action=delete",
    ),
];

/// Every `/api` route; the ones needing a session sit behind the check.
pub fn api_router(shared: Shared) -> Router<Shared> {
    let authed = Router::new()
        .merge(inventory::router())
        .merge(vm::router())
        .merge(power::router())
        .merge(hardware::router())
        .merge(tools::router())
        .merge(guest_info::router())
        .merge(processes::router())
        .merge(filesystem::router())
        .merge(tasks::router())
        .route_layer(from_fn_with_state(shared, require_session));
    Router::new()
        .merge(session::router())
        .merge(system::router())
        .merge(authed)
        .merge(transfer::router())
}

/// Flat, repeatable query parameters (`names=a&names=b`), as vCenter's
/// `collectionFormat: multi` filters are sent.
#[derive(Debug, Default)]
pub struct Params(pub BTreeMap<String, Vec<String>>);

impl Params {
    pub fn all(&self, key: &str) -> &[String] {
        self.0.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn one(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.first()).map(String::as_str)
    }

    pub fn action(&self) -> Option<&str> {
        self.one("action")
    }

    /// Each value of `key` parsed as a vAPI enum; a bad value is 400 INVALID_ARGUMENT.
    pub fn enums<T: DeserializeOwned>(&self, key: &str) -> ApiResult<Vec<T>> {
        self.all(key)
            .iter()
            .map(|v| {
                serde_json::from_value(serde_json::Value::String(v.clone())).map_err(|_| {
                    ApiError::invalid_argument(format!(
                        "Invalid value {v:?} for query parameter '{key}'"
                    ))
                })
            })
            .collect()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        if let Some(q) = parts.uri.query() {
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                map.entry(k.into_owned()).or_default().push(v.into_owned());
            }
        }
        Ok(Params(map))
    }
}

/// A JSON body whose parse errors become 400 INVALID_ARGUMENT vAPI errors.
/// An empty body reads as `{}` (vCenter treats absent optional bodies so).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| {
                ApiError::invalid_argument(format!("Cannot read the request body: {e}"))
            })?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text)
            .map(JsonBody)
            .map_err(|e| ApiError::invalid_argument(format!("Invalid request body: {e}")))
    }
}

/// An `?action=` the route does not have.
pub fn unknown_action(method: &str, route: &str, params: &Params) -> ApiError {
    let action = params.action().unwrap_or("");
    ApiError::operation_not_found(method, &format!("{route}?action={action}"))
}

/// Refuses a call whose `?action=` is not `expected` (404 OPERATION_NOT_FOUND).
pub fn require_action(params: &Params, expected: &str, route: &str) -> ApiResult<()> {
    if params.action() == Some(expected) {
        Ok(())
    } else {
        Err(unknown_action("POST", route, params))
    }
}

/// `/api` calls need a live session token; an expired one (fault
/// `session-expiry`) is removed and answered like an unknown one.
async fn require_session(
    State(shared): State<Shared>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let token = req
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    check_session(&shared, token.as_deref(), false)?;
    Ok(next.run(req).await)
}

/// Validates a token and touches the session; shared by `/api` and `/sdk`
/// (`vi` says which side asks). Without `accept_api_token_for_vi` (before
/// 8.0U3) a token only works on the side that issued it.
pub fn check_session(shared: &Shared, token: Option<&str>, vi: bool) -> ApiResult<String> {
    let token =
        token.ok_or_else(|| ApiError::unauthenticated("This method requires authentication."))?;
    let expiry = shared.faults.session_expiry();
    let mut world = shared.world();
    let expired = match world.sessions.get(token) {
        None => {
            return Err(ApiError::unauthenticated(
                "The session is not authenticated.",
            ))
        }
        Some(s) if s.vi != vi && !shared.accept_api_token_for_vi => {
            return Err(ApiError::unauthenticated(
                "The session is not authenticated.",
            ))
        }
        Some(s) => expiry.is_some_and(|e| s.created_at.elapsed() >= e),
    };
    if expired {
        world.end_session(token);
        return Err(ApiError::unauthenticated("The session has expired."));
    }
    let session = world
        .sessions
        .get_mut(token)
        .ok_or_else(|| ApiError::unauthenticated("The session is not authenticated."))?;
    session.last_accessed = chrono::Utc::now();
    Ok(session.user.clone())
}

/// The user of the caller's session (for task records); empty if none.
pub fn session_user(shared: &Shared, headers: &axum::http::HeaderMap) -> String {
    let token = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok());
    token
        .and_then(|t| shared.world().sessions.get(t).map(|s| s.user.clone()))
        .unwrap_or_default()
}

/// Looks a VM up (templates included: `/api` answers GET for them).
pub fn vm_ref<'w>(world: &'w World, vm: &str) -> ApiResult<&'w Machine> {
    world
        .vms
        .get(&VmId::new(vm))
        .ok_or_else(|| ApiError::not_found("Virtual machine", vm))
}

pub fn vm_mut<'w>(world: &'w mut World, vm: &str) -> ApiResult<&'w mut Machine> {
    world
        .vms
        .get_mut(&VmId::new(vm))
        .ok_or_else(|| ApiError::not_found("Virtual machine", vm))
}

/// ISO-8601 with milliseconds, as vCenter writes date-times.
pub fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A guest operation body with a `spec` (process create, transfer create).
#[derive(serde::Deserialize)]
pub struct GuestSpecBody<T> {
    pub credentials: crate::vsphere::wire::WireCredentials,
    pub spec: T,
}

/// The `credentials` every guest operation carries.
#[derive(serde::Deserialize)]
pub struct CredentialsBody {
    pub credentials: crate::vsphere::wire::WireCredentials,
}

/// The checks every guest operation makes, in vCenter's order: the VM
/// exists, is powered on, its tools run, and the guest accepts the
/// credentials.
pub fn guest_op<'w>(
    world: &'w mut World,
    vm: &str,
    credentials: &crate::vsphere::wire::WireCredentials,
) -> ApiResult<&'w mut Machine> {
    let m = vm_mut(world, vm)?;
    m.require_guest(tokio::time::Instant::now())?;
    if credentials.credentials_type != "USERNAME_PASSWORD" {
        return Err(ApiError::new(
            crate::vsphere::wire::ErrorType::Unsupported,
            format!(
                "Guest credentials of type {} are not supported",
                credentials.credentials_type
            ),
        ));
    }
    let user = credentials.user_name.as_deref().unwrap_or("");
    let password = credentials
        .password
        .as_ref()
        .map(|p| p.expose())
        .unwrap_or("");
    if !m.guest().check_credentials(user, password) {
        return Err(ApiError::unauthenticated(format!("Failed to authenticate with the guest operating system using the supplied credentials (user {user})")));
    }
    Ok(m)
}

/// Maps a guest model error to vCenter's answer: 404 with
/// `FileErrorDetails` for missing files and programs, 400 ALREADY_EXISTS,
/// 400 INVALID_ARGUMENT (with details) for the rest.
pub fn guest_error(e: crate::simulator::guest::GuestError) -> ApiError {
    use crate::simulator::guest::GuestError as G;
    use crate::vsphere::wire::ErrorType;
    let kind = match &e {
        G::NotFound { .. } | G::ProgramNotFound { .. } => ErrorType::NotFound,
        G::AlreadyExists { .. } => ErrorType::AlreadyExists,
        G::Io { .. } => ErrorType::Error,
        _ => ErrorType::InvalidArgument,
    };
    let data = e.file_path().map(|path| {
        serde_json::json!({"_typeName": "FileErrorDetails", "reason": e.file_error_reason(), "file_path": path})
    });
    let err = ApiError::new(kind, e.to_string());
    match data {
        Some(d) => err.with_data(d),
        None => err,
    }
}
