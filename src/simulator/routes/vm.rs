//! `/api/vcenter/vm`: list, get, delete and clone.
//!
//! Templates are modelled the way vSphere REST behaves (ansible
//! vmware_rest #165/#473): the list leaves inventory templates out, while
//! `GET /api/vcenter/vm/{id}` answers for them like for a VM.

use super::inventory::{allows, in_folders};
use super::{require_action, vm_mut, vm_ref, Params};
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::machine::{check_vm_name, BootFaults, Machine, Placement};
use crate::simulator::state::{Shared, World};
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::time::Instant;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/vcenter/vm", get(list).post(vm_action))
        .route("/api/vcenter/vm/{vm}", get(get_vm).delete(delete_vm))
}

async fn list(State(s): State<Shared>, params: Params) -> ApiResult<Json<Vec<VmSummary>>> {
    let power: Vec<PowerState> = params.enums("power_states")?;
    let world = s.world();
    let cluster_ok = |vm: &Machine| {
        params.all("clusters").is_empty()
            || vm
                .placement()
                .cluster
                .as_ref()
                .is_some_and(|c| allows(params.all("clusters"), c.as_str()))
    };
    let pool_ok = |vm: &Machine| {
        params.all("resource_pools").is_empty()
            || vm
                .placement()
                .resource_pool
                .as_ref()
                .is_some_and(|p| allows(params.all("resource_pools"), p.as_str()))
    };
    let host_ok = |vm: &Machine| {
        params.all("hosts").is_empty()
            || vm
                .placement()
                .host
                .as_ref()
                .is_some_and(|h| allows(params.all("hosts"), h.as_str()))
    };
    Ok(Json(
        world
            .vms
            .values()
            .filter(|vm| {
                !vm.is_template()
                    && allows(params.all("vms"), vm.id().as_str())
                    && allows(params.all("names"), vm.name())
                    && allows(
                        params.all("datacenters"),
                        vm.placement().datacenter.as_str(),
                    )
                    && in_folders(&world, &params, &vm.placement().folder)
                    && (power.is_empty() || power.contains(&vm.power()))
                    && cluster_ok(vm)
                    && pool_ok(vm)
                    && host_ok(vm)
            })
            .map(Machine::summary)
            .collect(),
    ))
}

async fn get_vm(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<Json<VmInfo>> {
    let world = s.world();
    let machine = vm_ref(&world, &vm)?;
    Ok(Json(machine.info(&world.device_context(machine))))
}

async fn delete_vm(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<StatusCode> {
    s.world().remove_vm(&VmId::new(vm))?;
    Ok(StatusCode::NO_CONTENT)
}

async fn vm_action(
    State(s): State<Shared>,
    params: Params,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<axum::response::Response> {
    require_action(&params, "clone", "/api/vcenter/vm")?;
    let spec: CloneSpec = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid_argument(format!("Invalid clone spec: {e}")))?;
    if params.one("vmw-task") == Some("true") {
        let user = super::session_user(&s, &headers);
        let worker = s.clone();
        let task = super::tasks::spawn(&s, "clone", "com.vmware.vcenter.vm", user, async move {
            clone_vm(&worker, &spec)
                .await
                .map(|id| serde_json::Value::String(id.to_string()))
        });
        return Ok((StatusCode::ACCEPTED, Json(task)).into_response());
    }
    Ok(Json(clone_vm(&s, &spec).await?).into_response())
}

/// Where the clone goes and what it costs, checked before any delay.
struct ClonePlan {
    placement: Placement,
    bytes: u64,
}

/// The checks vCenter makes before copying, in its order: source, name,
/// folder (and a name free in it), datastore, pool or cluster, space.
fn plan_clone(world: &World, spec: &CloneSpec) -> ApiResult<ClonePlan> {
    let source = world
        .vms
        .get(&spec.source)
        .ok_or_else(|| ApiError::not_found("Source virtual machine", spec.source.as_str()))?;
    check_vm_name(&spec.name)?;
    let from = source.placement();
    let wanted = spec.placement.clone().unwrap_or_default();
    let folder = wanted.folder.unwrap_or_else(|| from.folder.clone());
    match world.folders.get(&folder) {
        None => return Err(ApiError::not_found("Folder", folder.as_str())),
        Some(f) if f.folder_type != FolderType::VirtualMachine => {
            return Err(ApiError::invalid_argument(format!(
                "Folder {folder} is not a virtual machine folder"
            )))
        }
        Some(_) => {}
    }
    if world.name_taken(&folder, &spec.name, None) {
        return Err(ApiError::new(
            ErrorType::AlreadyExists,
            format!("The name '{}' already exists.", spec.name),
        ));
    }
    let datastore = wanted.datastore.unwrap_or_else(|| from.datastore.clone());
    let free = world
        .datastores
        .get(&datastore)
        .ok_or_else(|| ApiError::not_found("Datastore", datastore.as_str()))?
        .free;
    // A pool decides the cluster; a cluster alone means its root pool.
    let (cluster, resource_pool) = match (&wanted.resource_pool, &wanted.cluster) {
        (Some(pool), _) => {
            let p = world
                .resource_pools
                .iter()
                .find(|p| &p.id == pool)
                .ok_or_else(|| ApiError::not_found("Resource pool", pool.as_str()))?;
            (Some(p.cluster.clone()), Some(pool.clone()))
        }
        (None, Some(cluster)) => {
            let c = world
                .clusters
                .iter()
                .find(|c| &c.id == cluster)
                .ok_or_else(|| ApiError::not_found("Cluster", cluster.as_str()))?;
            (Some(c.id.clone()), Some(c.root_pool.clone()))
        }
        (None, None) => (from.cluster.clone(), from.resource_pool.clone()),
    };
    if free < source.disk_bytes() {
        return Err(no_space(world, &datastore, source.disk_bytes()));
    }
    Ok(ClonePlan {
        placement: Placement {
            host: match &cluster {
                Some(c) if from.cluster.as_ref() != Some(c) => world.first_host(c),
                _ => from.host.clone(),
            },
            datacenter: world
                .folder_datacenter(&folder)
                .unwrap_or_else(|| from.datacenter.clone()),
            folder,
            datastore,
            cluster,
            resource_pool,
            network: from.network.clone(),
        },
        bytes: source.disk_bytes(),
    })
}

fn no_space(world: &World, datastore: &DatastoreId, bytes: u64) -> ApiError {
    let name = world
        .datastores
        .get(datastore)
        .map(|d| d.name.as_str())
        .unwrap_or(datastore.as_str());
    ApiError::new(
        ErrorType::UnableToAllocateResource,
        format!("Insufficient disk space on datastore '{name}' ({bytes} bytes needed)"),
    )
}

/// Clones `spec.source`; shared by `/api` clone and any in-process caller.
pub async fn clone_vm(s: &Shared, spec: &CloneSpec) -> ApiResult<VmId> {
    plan_clone(&s.world(), spec)?;
    if !s.timing.clone.is_zero() {
        tokio::time::sleep(s.timing.clone).await;
    }
    let mut world = s.world();
    // Checked again: the world may have changed during the copy.
    let plan = plan_clone(&world, spec)?;
    let datastore = plan.placement.datastore.clone();
    world
        .reserve_space(&datastore, plan.bytes)
        .map_err(|_| no_space(&world, &datastore, plan.bytes))?;
    let id = VmId::new(world.mint(VmId::PREFIX));
    let octet = world.lease_octet();
    let source = vm_ref(&world, spec.source.as_str())?;
    let copy = source.clone_as(id.clone(), &spec.name, plan.placement, octet);
    world.vms.insert(id.clone(), copy);
    if spec.power_on == Some(true) {
        let vm = vm_mut(&mut world, id.as_str())?;
        let faults = BootFaults::for_vm(&s.faults, vm.name());
        vm.power_on(Instant::now(), faults)?;
    }
    Ok(id)
}
