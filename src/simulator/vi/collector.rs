//! PropertyCollector methods: CreatePropertyCollector, CreateFilter,
//! WaitForUpdatesEx and DestroyPropertyCollector, over the model in
//! [`crate::simulator::collectors`].
//!
//! `WaitForUpdatesEx` holds the request until a selected property changes
//! or `options.maxWaitSeconds` pass, then answers the UpdateSet, or 204
//! with no body for "null" (VI/JSON answers a method's unset result with
//! an empty body, as for the void MarkAsTemplate; vim_rs reads an empty
//! optional result as `None`). The machine's state is computed from
//! timestamps, so the wait looks again every few milliseconds rather than
//! being woken by a change.

use super::{authorize, mo_ref, params};
use crate::simulator::collectors::CollectorError;
use crate::simulator::error::ViFault;
use crate::simulator::machine::Machine;
use crate::simulator::routes::SESSION_HEADER;
use crate::simulator::state::{Shared, World};
use crate::vsphere::wire::{PowerState, VmId};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// The default collector's moId in ServiceContent.
pub const DEFAULT_COLLECTOR: &str = "propertyCollector";

/// How often a held WaitForUpdatesEx looks at the machine again.
const WAIT_TICK: Duration = Duration::from_millis(2);

/// The longest a WaitForUpdatesEx without `maxWaitSeconds` is held:
/// vCenter's "policy may cause it to return null at some point".
const POLICY_WAIT: Duration = Duration::from_secs(300);

pub fn router() -> Router<Shared> {
    let pc = "/sdk/vim25/{release}/PropertyCollector/{mo}";
    Router::new()
        .route(
            &format!("{pc}/CreatePropertyCollector"),
            post(create_collector),
        )
        .route(&format!("{pc}/CreateFilter"), post(create_filter))
        .route(&format!("{pc}/WaitForUpdatesEx"), post(wait_for_updates))
        .route(
            &format!("{pc}/DestroyPropertyCollector"),
            post(destroy_collector),
        )
}

fn token(headers: &HeaderMap) -> String {
    headers
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn fault(e: CollectorError) -> ViFault {
    match e {
        CollectorError::NotFound(id) => ViFault::managed_object_not_found("PropertyCollector", &id),
        CollectorError::InvalidVersion(v) => ViFault::new(
            "InvalidCollectorVersion",
            format!("The collector version {v:?} is out of date or invalid."),
        ),
        CollectorError::InvalidProperty(p) => {
            let mut f = ViFault::new("InvalidProperty", format!("Invalid property: {p}"));
            f.body.fault_message[0].key = "vmodl.query.InvalidProperty".into();
            f
        }
    }
}

async fn create_collector(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ViFault> {
    authorize(&s, &release, &headers)?;
    let session = token(&headers);
    let mut world = s.world();
    // Any collector may create another: the default one or a session's own.
    if mo != DEFAULT_COLLECTOR && !world.collectors.exists(&session, &mo) {
        return Err(ViFault::managed_object_not_found("PropertyCollector", &mo));
    }
    let id = world.collectors.create(&session);
    Ok(Json(mo_ref("PropertyCollector", &id)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateFilterBody {
    spec: FilterSpec,
    #[allow(dead_code)]
    partial_updates: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterSpec {
    prop_set: Vec<PropertySpec>,
    object_set: Vec<ObjectSpec>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PropertySpec {
    #[serde(rename = "type")]
    mo_type: String,
    #[serde(default)]
    path_set: Vec<String>,
}

#[derive(Deserialize)]
struct ObjectSpec {
    obj: MoRefBody,
}

#[derive(Deserialize)]
struct MoRefBody {
    #[serde(rename = "type")]
    mo_type: String,
    value: String,
}

async fn create_filter(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ViFault> {
    authorize(&s, &release, &headers)?;
    let session = token(&headers);
    let body: CreateFilterBody = params(&body, "CreateFilter")?;
    let [object] = body.spec.object_set.as_slice() else {
        return Err(ViFault::new(
            "InvalidArgument",
            "The simulator models filters on exactly one object (objectSet of one, no traversal)",
        ));
    };
    let paths: Vec<String> = body
        .spec
        .prop_set
        .iter()
        .filter(|p| p.mo_type == object.obj.mo_type)
        .flat_map(|p| p.path_set.iter().cloned())
        .collect();
    if object.obj.mo_type != "VirtualMachine" || paths.is_empty() {
        return Err(ViFault::new(
            "InvalidArgument",
            "spec: a propSet of VirtualMachine paths for a VirtualMachine object is expected",
        ));
    }
    let mut world = s.world();
    if !world
        .vms
        .contains_key(&VmId::new(object.obj.value.as_str()))
    {
        return Err(ViFault::managed_object_not_found(
            "VirtualMachine",
            &object.obj.value,
        ));
    }
    let filter = world
        .collectors
        .create_filter(&session, &mo, &object.obj.value, &paths)
        .map_err(fault)?;
    Ok(Json(mo_ref("PropertyFilter", &filter)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WaitBody {
    #[serde(default)]
    version: String,
    #[serde(default)]
    options: WaitOptions,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct WaitOptions {
    max_wait_seconds: Option<i64>,
}

/// A selected property of a VM as VI/JSON writes an `anyType` value;
/// `None` when the VM is gone.
fn read_vm(
    vms: &BTreeMap<VmId, Machine>,
    vm: &str,
    path: &str,
    now: Instant,
) -> Option<Option<Value>> {
    let m = vms.get(&VmId::new(vm))?;
    let tools = m.tools_running(now);
    Some(match path {
        "runtime.powerState" => Some(json!({
            "_typeName": "VirtualMachinePowerState",
            "_value": match m.power() {
                PowerState::PoweredOn => "poweredOn",
                PowerState::PoweredOff => "poweredOff",
                PowerState::Suspended => "suspended",
            },
        })),
        "guest.toolsRunningStatus" => Some(json!({
            "_typeName": "string",
            "_value": if tools { "guestToolsRunning" } else { "guestToolsNotRunning" },
        })),
        // Guest operations are ready whenever Tools run, as the
        // simulator's `/api` guest operations route says.
        "guest.guestOperationsReady" => Some(json!({"_typeName": "boolean", "_value": tools})),
        _ => None,
    })
}

async fn wait_for_updates(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ViFault> {
    authorize(&s, &release, &headers)?;
    let session = token(&headers);
    let body: WaitBody = if body.is_empty() {
        WaitBody::default()
    } else {
        params(&body, "WaitForUpdatesEx")?
    };
    let max_wait = match body.options.max_wait_seconds {
        Some(n) if n < 0 => {
            return Err(ViFault::new(
                "InvalidArgument",
                "options.maxWaitSeconds: a negative value is illegal",
            ))
        }
        Some(n) => Duration::from_secs(n as u64),
        None => POLICY_WAIT,
    };
    let until = Instant::now() + max_wait;
    loop {
        let found = {
            let mut world = s.world();
            let now = Instant::now();
            // The collectors change; the machines are only read.
            let World {
                collectors, vms, ..
            } = &mut *world;
            collectors.updates(&session, &mo, &body.version, |vm, path| {
                read_vm(vms, vm, path, now)
            })
        }
        .map_err(fault)?;
        if let Some(update) = found {
            return Ok(Json(update).into_response());
        }
        let now = Instant::now();
        if now >= until {
            return Ok(StatusCode::NO_CONTENT.into_response());
        }
        tokio::time::sleep(WAIT_TICK.min(until - now)).await;
    }
}

async fn destroy_collector(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ViFault> {
    authorize(&s, &release, &headers)?;
    if mo == DEFAULT_COLLECTOR {
        return Err(ViFault::new(
            "InvalidArgument",
            "The default PropertyCollector may not be destroyed",
        ));
    }
    s.world()
        .collectors
        .destroy(&token(&headers), &mo)
        .map_err(fault)?;
    Ok(StatusCode::NO_CONTENT)
}
