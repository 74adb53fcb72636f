//! `/api/vcenter/vm`: list, get, delete and clone.
//!
//! Templates are modelled the way vSphere REST behaves (ansible
//! vmware_rest #165/#473): the list leaves inventory templates out, while
//! `GET /api/vcenter/vm/{id}` answers for them like for a VM.

use super::inventory::{allows, in_folders};
use super::{require_action, vm_mut, vm_ref, Params};
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::machine::Machine;
use crate::simulator::state::{Shared, World};
use crate::vsphere::wire::ErrorType;
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::collections::BTreeMap;

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
                .cluster
                .as_ref()
                .is_some_and(|c| allows(params.all("clusters"), c.as_str()))
    };
    let pool_ok = |vm: &Machine| {
        params.all("resource_pools").is_empty()
            || vm
                .resource_pool
                .as_ref()
                .is_some_and(|p| allows(params.all("resource_pools"), p.as_str()))
    };
    Ok(Json(
        world
            .vms
            .values()
            .filter(|vm| {
                !vm.template
                    && allows(params.all("vms"), vm.id.as_str())
                    && allows(params.all("names"), &vm.name)
                    && allows(params.all("datacenters"), vm.datacenter.as_str())
                    && in_folders(&world, &params, &vm.folder)
                    && (power.is_empty() || power.contains(&vm.power))
                    && cluster_ok(vm)
                    && pool_ok(vm)
                    && params.all("hosts").is_empty()
            })
            .map(Machine::summary)
            .collect(),
    ))
}

async fn get_vm(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<Json<VmInfo>> {
    let world = s.world();
    let machine = vm_ref(&world, &vm)?;
    Ok(Json(vm_info(&world, machine)))
}

pub fn vm_info(world: &World, vm: &Machine) -> VmInfo {
    let datastore = world
        .datastores
        .get(&vm.datastore)
        .map(|d| d.name.clone())
        .unwrap_or_default();
    let mut disks = BTreeMap::new();
    disks.insert(
        "2000".to_string(),
        json!({"label": "Hard disk 1", "type": "SCSI", "scsi": {"bus": 0, "unit": 0},
               "backing": {"type": "VMDK_FILE", "vmdk_file": format!("[{datastore}] {0}/{0}.vmdk", vm.name)},
               "capacity": vm.disk_bytes}),
    );
    let mut nics = BTreeMap::new();
    if let Some(net) = &vm.network {
        nics.insert(
            "4000".to_string(),
            json!({"label": "Network adapter 1", "type": "VMXNET3", "mac_type": "ASSIGNED", "mac_address": vm.mac_address(),
                   "pci_slot_number": 192, "wake_on_lan_enabled": false, "upt_compatibility_enabled": false,
                   "backing": {"type": "STANDARD_PORTGROUP", "network": net.as_str()},
                   "state": if vm.power == PowerState::PoweredOn { "CONNECTED" } else { "NOT_CONNECTED" },
                   "start_connected": true, "allow_guest_control": true}),
        );
    }
    let mut scsi = BTreeMap::new();
    scsi.insert("1000".to_string(), json!({"label": "SCSI controller 0", "type": "LSILOGICSAS", "scsi": {"bus": 0, "unit": 7}, "sharing": "NONE"}));
    VmInfo {
        guest_os: vm.guest_os.clone(),
        name: vm.name.clone(),
        identity: Some(VmIdentity {
            name: vm.name.clone(),
            bios_uuid: vm.bios_uuid.clone(),
            instance_uuid: vm.instance_uuid.clone(),
        }),
        power_state: vm.power,
        hardware: hardware_info(vm),
        boot: json!({"type": "EFI", "efi_legacy_boot": false, "network_protocol": "IPV4", "delay": 0, "retry": false, "retry_delay": 10000, "enter_setup_mode": false}),
        boot_devices: vec![],
        cpu: CpuInfo {
            count: vm.cpu_count,
            cores_per_socket: 1,
            hot_add_enabled: false,
            hot_remove_enabled: false,
        },
        memory: MemoryInfo {
            size_mib: vm.memory_mib,
            hot_add_enabled: false,
        },
        disks,
        nics,
        cdroms: BTreeMap::new(),
        floppies: BTreeMap::new(),
        parallel_ports: BTreeMap::new(),
        serial_ports: BTreeMap::new(),
        sata_adapters: BTreeMap::new(),
        scsi_adapters: scsi,
    }
}

pub fn hardware_info(vm: &Machine) -> HardwareInfo {
    HardwareInfo {
        version: vm.hardware,
        upgrade_policy: HardwareUpgradePolicy::Never,
        upgrade_version: None,
        upgrade_status: vm.hardware_upgrade_status,
        upgrade_error: None,
    }
}

async fn delete_vm(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<StatusCode> {
    let mut world = s.world();
    let machine = vm_ref(&world, &vm)?;
    if machine.power != PowerState::PoweredOff {
        return Err(ApiError::not_allowed(format!(
            "Virtual machine {vm} is powered on; power it off before deleting it"
        )));
    }
    let (datastore, bytes) = (machine.datastore.clone(), machine.disk_bytes);
    world.vms.remove(&VmId::new(vm.as_str()));
    world.release_space(&datastore, bytes);
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
    folder: FolderId,
    datastore: DatastoreId,
    bytes: u64,
}

fn plan_clone(world: &World, spec: &CloneSpec) -> ApiResult<ClonePlan> {
    let source = world
        .vms
        .get(&spec.source)
        .ok_or_else(|| ApiError::not_found("Source virtual machine", spec.source.as_str()))?;
    if spec.name.trim().is_empty() || spec.name.len() > 80 {
        return Err(ApiError::invalid_argument(
            "The clone name must have 1 to 80 characters",
        ));
    }
    if world.vm_by_name(&spec.name).is_some() {
        return Err(ApiError::new(
            ErrorType::AlreadyExists,
            format!("The name '{}' already exists.", spec.name),
        ));
    }
    let placement = spec.placement.clone().unwrap_or_default();
    let folder = placement.folder.unwrap_or_else(|| source.folder.clone());
    match world.folders.get(&folder) {
        None => return Err(ApiError::not_found("Folder", folder.as_str())),
        Some(f) if f.folder_type != FolderType::VirtualMachine => {
            return Err(ApiError::invalid_argument(format!(
                "Folder {folder} is not a virtual machine folder"
            )))
        }
        Some(_) => {}
    }
    let datastore = placement
        .datastore
        .unwrap_or_else(|| source.datastore.clone());
    let free = world
        .datastores
        .get(&datastore)
        .ok_or_else(|| ApiError::not_found("Datastore", datastore.as_str()))?
        .free;
    if let Some(pool) = &placement.resource_pool {
        if !world.resource_pools.iter().any(|p| &p.id == pool) {
            return Err(ApiError::not_found("Resource pool", pool.as_str()));
        }
    }
    if free < source.disk_bytes {
        return Err(no_space(world, &datastore, source.disk_bytes));
    }
    Ok(ClonePlan {
        folder,
        datastore,
        bytes: source.disk_bytes,
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
    world
        .reserve_space(&plan.datastore, plan.bytes)
        .map_err(|_| no_space(&world, &plan.datastore, plan.bytes))?;
    let id = VmId::new(world.mint(VmId::PREFIX));
    let octet = world.lease_octet();
    let source = vm_ref(&world, spec.source.as_str())?;
    let mut copy = source.clone_as(id.clone(), &spec.name, plan.folder, plan.datastore, octet);
    if let Some(pool) = spec
        .placement
        .as_ref()
        .and_then(|p| p.resource_pool.clone())
    {
        copy.resource_pool = Some(pool);
    }
    world.vms.insert(id.clone(), copy);
    if spec.power_on == Some(true) {
        let vm = vm_mut(&mut world, id.as_str())?;
        super::power::boot(s, vm);
    }
    Ok(id)
}
