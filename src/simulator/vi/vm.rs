//! VirtualMachine methods and properties, and Task info.

use super::{authorize, mo_ref};
use crate::simulator::error::ViFault;
use crate::simulator::routes::iso;
use crate::simulator::state::{Shared, ViTask};
use crate::vsphere::wire::PowerState;
use crate::vsphere::wire::ViFaultBody;
use crate::vsphere::wire::{TaskId, VmId};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::time::Instant;

pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/sdk/vim25/{release}/VirtualMachine/{mo}/MarkAsTemplate",
            post(mark_as_template),
        )
        .route(
            "/sdk/vim25/{release}/VirtualMachine/{mo}/Rename_Task",
            post(rename),
        )
        .route(
            "/sdk/vim25/{release}/VirtualMachine/{mo}/Destroy_Task",
            post(destroy),
        )
        .route(
            "/sdk/vim25/{release}/VirtualMachine/{mo}/config",
            get(config),
        )
        .route(
            "/sdk/vim25/{release}/VirtualMachine/{mo}/ReconfigVM_Task",
            post(reconfigure),
        )
        .route("/sdk/vim25/{release}/Task/{task}/info", get(task_info))
}

fn invalid_power_state(vm: &str, state: PowerState) -> ViFault {
    let mut fault = ViFault::new(
        "InvalidPowerState",
        format!(
            "The attempted operation cannot be performed in the current state ({state:?}) of {vm}."
        ),
    );
    fault.body.fault_message[0].key = "vim.fault.InvalidPowerState".into();
    fault
}

async fn mark_as_template(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ViFault> {
    authorize(&s, &release, &headers)?;
    let mut world = s.world();
    let vm = world
        .vms
        .get_mut(&VmId::new(mo.as_str()))
        .ok_or_else(|| ViFault::managed_object_not_found("VirtualMachine", &mo))?;
    vm.mark_template()?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RenameBody {
    new_name: String,
}

/// Records a task whose effect has been applied (or whose fault is known)
/// and answers its MoRef; it reads `running` until `timing.task` passes.
pub(super) fn start_task(
    s: &Shared,
    entity: &VmId,
    name: &'static str,
    error: Option<ViFaultBody>,
) -> Json<Value> {
    let mut world = s.world();
    let id = TaskId::new(world.mint(TaskId::PREFIX));
    let task = ViTask {
        id: id.clone(),
        entity: entity.clone(),
        name,
        done_at: Instant::now() + s.timing.task,
        error,
    };
    world.tasks.insert(id.clone(), task);
    Json(mo_ref("Task", id.as_str()))
}

async fn rename(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ViFault> {
    authorize(&s, &release, &headers)?;
    let body: RenameBody = super::params(&body, "Rename_Task")?;
    let id = VmId::new(mo.as_str());
    let error = {
        let mut world = s.world();
        if !world.vms.contains_key(&id) {
            return Err(ViFault::managed_object_not_found("VirtualMachine", &mo));
        }
        let folder = world.vms[&id].placement().folder.clone();
        let taken = world.name_taken(&folder, &body.new_name, Some(&id));
        if taken {
            Some(ViFaultBody::new(
                "DuplicateName",
                format!("The name '{}' already exists.", body.new_name),
            ))
        } else if body.new_name.trim().is_empty() || body.new_name.len() > 80 {
            Some(ViFaultBody::new(
                "InvalidName",
                format!("The name '{}' is not valid.", body.new_name),
            ))
        } else {
            world
                .vms
                .get_mut(&id)
                .and_then(|vm| vm.rename(&body.new_name).err())
                .map(|refusal| ViFault::from(refusal).body)
        }
    };
    Ok(start_task(&s, &id, "Rename_Task", error))
}

async fn destroy(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ViFault> {
    authorize(&s, &release, &headers)?;
    let id = VmId::new(mo.as_str());
    let error = {
        let mut world = s.world();
        if !world.vms.contains_key(&id) {
            return Err(ViFault::managed_object_not_found("VirtualMachine", &mo));
        }
        world
            .remove_vm(&id)
            .err()
            .map(|_| invalid_power_state(&mo, world.vms[&id].power()).body)
    };
    Ok(start_task(&s, &id, "Destroy_Task", error))
}

async fn config(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ViFault> {
    authorize(&s, &release, &headers)?;
    let world = s.world();
    let vm = world
        .vms
        .get(&VmId::new(mo.as_str()))
        .ok_or_else(|| ViFault::managed_object_not_found("VirtualMachine", &mo))?;
    Ok(Json(json!({
        "_typeName": "VirtualMachineConfigInfo",
        "name": vm.name(),
        "template": vm.is_template(),
        "guestId": vm.guest().os().guest_id(),
        "guestFullName": vm.guest().os().full_name(),
        "uuid": vm.bios_uuid(),
        "instanceUuid": vm.instance_uuid(),
        "version": format!("vmx-{:02}", vm.hardware_version().0),
        "annotation": vm.annotation(),
        "createDate": iso(vm.created()),
    })))
}

async fn task_info(
    State(s): State<Shared>,
    Path((release, task)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ViFault> {
    authorize(&s, &release, &headers)?;
    let world = s.world();
    let t = world
        .tasks
        .get(&TaskId::new(task.as_str()))
        .ok_or_else(|| ViFault::managed_object_not_found("Task", &task))?;
    let done = Instant::now() >= t.done_at;
    let state = match (done, &t.error) {
        (false, _) => "running",
        (true, None) => "success",
        (true, Some(_)) => "error",
    };
    let mut info = json!({
        "_typeName": "TaskInfo",
        "key": t.id.as_str(),
        "task": mo_ref("Task", t.id.as_str()),
        "name": t.name,
        "descriptionId": format!("VirtualMachine.{}", t.name.trim_end_matches("_Task").to_ascii_lowercase()),
        "entity": mo_ref("VirtualMachine", t.entity.as_str()),
        "state": state,
        "cancelled": false,
        "cancelable": false,
        "queueTime": iso(chrono::Utc::now()),
    });
    if let (true, Some(err)) = (done, &t.error) {
        info["error"] = json!({
            "_typeName": "LocalizedMethodFault",
            "fault": {"_typeName": err.type_name, "faultMessage": serde_json::to_value(&err.fault_message).unwrap_or(Value::Null)},
            "localizedMessage": err.message(),
        });
    }
    Ok(Json(info).into_response())
}

#[derive(serde::Deserialize)]
struct ReconfigBody {
    spec: serde_json::Map<String, Value>,
}

/// `ReconfigVM_Task` with a `VirtualMachineConfigSpec`. The simulator models
/// the annotation (Notes) only; any other field is refused as NotSupported
/// rather than silently ignored, so a client relying on it finds out.
async fn reconfigure(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ViFault> {
    authorize(&s, &release, &headers)?;
    let body: ReconfigBody = super::params(&body, "ReconfigVM_Task")?;
    let other: Vec<&String> = body
        .spec
        .keys()
        .filter(|k| *k != "_typeName" && *k != "annotation")
        .collect();
    if !other.is_empty() {
        return Err(ViFault::new(
            "NotSupported",
            format!("the simulator reconfigures only `annotation`, not {other:?}"),
        ));
    }
    let id = VmId::new(mo.as_str());
    {
        let mut world = s.world();
        let vm = world
            .vms
            .get_mut(&id)
            .ok_or_else(|| ViFault::managed_object_not_found("VirtualMachine", &mo))?;
        if let Some(text) = body.spec.get("annotation").and_then(Value::as_str) {
            vm.set_annotation(text);
        }
    }
    Ok(start_task(&s, &id, "ReconfigVM_Task", None))
}
