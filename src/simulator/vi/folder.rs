//! Folder and SearchIndex: what listing and publishing templates needs,
//! since `/api`'s VM list leaves templates out. `Folder.childEntity` (a
//! property read), `Folder.MoveIntoFolder_Task` and
//! `SearchIndex.FindChild` (a VM or folder by name directly in a folder).

use super::vm::start_task;
use super::{authorize, mo_ref};
use crate::simulator::error::ViFault;
use crate::simulator::state::Shared;
use crate::vsphere::wire::{FolderId, FolderType, VmId};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/sdk/vim25/{release}/Folder/{mo}/childEntity",
            get(child_entity),
        )
        .route(
            "/sdk/vim25/{release}/Folder/{mo}/MoveIntoFolder_Task",
            post(move_into),
        )
        .route(
            "/sdk/vim25/{release}/SearchIndex/{mo}/FindChild",
            post(find_child),
        )
        .route(
            "/sdk/vim25/{release}/SearchIndex/{mo}/FindByUuid",
            post(find_by_uuid),
        )
}

fn moref_value<'a>(v: &'a Value, what: &str) -> Result<(&'a str, &'a str), ViFault> {
    let t = v.get("type").and_then(Value::as_str);
    let id = v.get("value").and_then(Value::as_str);
    match (t, id) {
        (Some(t), Some(id)) => Ok((t, id)),
        _ => Err(ViFault::new(
            "InvalidArgument",
            format!("{what} is not a ManagedObjectReference"),
        )),
    }
}

/// Child folders, then VMs and templates, as MoRefs.
async fn child_entity(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ViFault> {
    authorize(&s, &release, &headers)?;
    let folder = FolderId::new(mo.as_str());
    let world = s.world();
    if !world.folders.contains_key(&folder) {
        return Err(ViFault::managed_object_not_found("Folder", &mo));
    }
    let mut out: Vec<Value> = world
        .folders
        .values()
        .filter(|f| f.parent.as_ref() == Some(&folder))
        .map(|f| mo_ref("Folder", f.id.as_str()))
        .collect();
    out.extend(
        world
            .vms
            .values()
            .filter(|v| v.placement().folder == folder)
            .map(|v| mo_ref("VirtualMachine", v.id().as_str())),
    );
    Ok(Json(Value::Array(out)))
}

async fn move_into(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ViFault> {
    authorize(&s, &release, &headers)?;
    let body: Value = super::params(&body, "MoveIntoFolder_Task")?;
    let list = body
        .get("list")
        .and_then(Value::as_array)
        .ok_or_else(|| ViFault::new("InvalidRequest", "MoveIntoFolder_Task needs `list`"))?;
    let folder = FolderId::new(mo.as_str());
    let mut moved = Vec::new();
    let error = {
        let mut world = s.world();
        let target = world
            .folders
            .get(&folder)
            .cloned()
            .ok_or_else(|| ViFault::managed_object_not_found("Folder", &mo))?;
        let mut error = None;
        for item in list {
            let (t, id) = moref_value(item, "list[]")?;
            if t != "VirtualMachine" {
                return Err(ViFault::new(
                    "NotSupported",
                    format!("the simulator moves VMs only, not {t}"),
                ));
            }
            let vm_id = VmId::new(id);
            let Some(vm) = world.vms.get(&vm_id) else {
                return Err(ViFault::managed_object_not_found("VirtualMachine", id));
            };
            let name = vm.name().to_string();
            let same_dc = world.folder_datacenter(&vm.placement().folder) == target.datacenter;
            if target.folder_type != FolderType::VirtualMachine || !same_dc {
                error = Some(crate::vsphere::wire::ViFaultBody::new(
                    "NotSupported",
                    format!("{} is not a VM folder of the VM's datacenter", target.name),
                ));
                break;
            }
            if world.name_taken(&folder, &name, Some(&vm_id)) {
                error = Some(crate::vsphere::wire::ViFaultBody::new(
                    "DuplicateName",
                    format!("The name '{name}' already exists."),
                ));
                break;
            }
            if let Some(vm) = world.vms.get_mut(&vm_id) {
                vm.move_to_folder(folder.clone());
            }
            moved.push(vm_id);
        }
        error
    };
    let entity = moved
        .first()
        .cloned()
        .unwrap_or_else(|| VmId::new(mo.as_str()));
    Ok(start_task(&s, &entity, "MoveIntoFolder_Task", error))
}

/// A SearchIndex method's caller is authorized and names vCenter's one
/// search index.
fn search_index(s: &Shared, release: &str, mo: &str, headers: &HeaderMap) -> Result<(), ViFault> {
    authorize(s, release, headers)?;
    if mo != "SearchIndex" {
        return Err(ViFault::managed_object_not_found("SearchIndex", mo));
    }
    Ok(())
}

/// The child named `name` directly in the folder `entity`; `null` when none.
async fn find_child(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ViFault> {
    search_index(&s, &release, &mo, &headers)?;
    let body: Value = super::params(&body, "FindChild")?;
    let (_, folder) = moref_value(body.get("entity").unwrap_or(&Value::Null), "entity")?;
    let name = body
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| ViFault::new("InvalidRequest", "FindChild needs `name`"))?;
    let folder = FolderId::new(folder);
    let world = s.world();
    if !world.folders.contains_key(&folder) {
        return Err(ViFault::managed_object_not_found("Folder", folder.as_str()));
    }
    let vm = world
        .vms
        .values()
        .find(|v| v.placement().folder == folder && v.name() == name);
    let sub = world
        .folders
        .values()
        .find(|f| f.parent.as_ref() == Some(&folder) && f.name == name);
    Ok(Json(match (vm, sub) {
        (Some(vm), _) => mo_ref("VirtualMachine", vm.id().as_str()),
        (None, Some(f)) => mo_ref("Folder", f.id.as_str()),
        (None, None) => Value::Null,
    }))
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct FindByUuidBody {
    #[serde(default)]
    datacenter: Option<Value>,
    uuid: String,
    #[serde(default)]
    vm_search: bool,
    #[serde(default)]
    instance_uuid: Option<bool>,
}

/// `SearchIndex.FindByUuid`: the VM (or template) with this BIOS uuid, or
/// instance uuid with `instanceUuid: true`, in `datacenter` when given;
/// `null` when none. With `vmSearch: false` vCenter searches hosts, which
/// the simulator has no uuids for: `null`.
async fn find_by_uuid(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ViFault> {
    search_index(&s, &release, &mo, &headers)?;
    let body: FindByUuidBody = super::params(&body, "FindByUuid")?;
    let world = s.world();
    let dc = match &body.datacenter {
        Some(d) => {
            let (_, id) = moref_value(d, "datacenter")?;
            if !world.datacenters.iter().any(|dc| dc.id.as_str() == id) {
                return Err(ViFault::managed_object_not_found("Datacenter", id));
            }
            Some(id.to_string())
        }
        None => None,
    };
    if !body.vm_search {
        return Ok(Json(Value::Null));
    }
    let by_instance = body.instance_uuid.unwrap_or(false);
    let found = world.vms.values().find(|v| {
        let uuid = if by_instance {
            v.instance_uuid()
        } else {
            v.bios_uuid()
        };
        uuid.eq_ignore_ascii_case(&body.uuid)
            && dc
                .as_deref()
                .is_none_or(|d| v.placement().datacenter.as_str() == d)
    });
    Ok(Json(match found {
        Some(vm) => mo_ref("VirtualMachine", vm.id().as_str()),
        None => Value::Null,
    }))
}
