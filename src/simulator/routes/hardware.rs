//! A VM's virtual hardware: version and upgrade (`/hardware`), and the
//! device sub-resources (`/hardware/cpu`, `/memory`, `/boot`, `/disk`,
//! `/ethernet`), each read from the machine's one device model so they
//! agree with `GET /api/vcenter/vm/{vm}`.

use super::{require_action, vm_mut, vm_ref, JsonBody, Params};
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::machine::{DeviceContext, Machine};
use crate::simulator::state::Shared;
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use std::collections::BTreeMap;

pub fn router() -> Router<Shared> {
    const VM: &str = "/api/vcenter/vm/{vm}/hardware";
    Router::new()
        .route(VM, get(hardware_get).post(hardware_action))
        .route(&format!("{VM}/cpu"), get(cpu))
        .route(&format!("{VM}/memory"), get(memory))
        .route(&format!("{VM}/boot"), get(boot))
        .route(&format!("{VM}/disk"), get(disks))
        .route(&format!("{VM}/disk/{{disk}}"), get(disk))
        .route(&format!("{VM}/ethernet"), get(nics))
        .route(&format!("{VM}/ethernet/{{nic}}"), get(nic))
}

async fn hardware_get(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<HardwareInfo>> {
    let world = s.world();
    Ok(Json(vm_ref(&world, &vm)?.hardware_info()))
}

async fn hardware_action(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
    JsonBody(spec): JsonBody<HardwareUpgradeSpec>,
) -> ApiResult<StatusCode> {
    require_action(&params, "upgrade", "/api/vcenter/vm/{vm}/hardware")?;
    vm_mut(&mut s.world(), &vm)?.upgrade_hardware(spec.version)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn cpu(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<Json<CpuInfo>> {
    Ok(Json(vm_ref(&s.world(), &vm)?.cpu_info()))
}

async fn memory(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<Json<MemoryInfo>> {
    Ok(Json(vm_ref(&s.world(), &vm)?.memory_info()))
}

async fn boot(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<Json<BootInfo>> {
    Ok(Json(vm_ref(&s.world(), &vm)?.boot_info()))
}

/// One of a VM's device maps (`Machine::disks`, `Machine::nics`).
type DeviceView<T> = fn(&Machine, &DeviceContext) -> BTreeMap<String, T>;

fn devices<T>(s: &Shared, vm: &str, view: DeviceView<T>) -> ApiResult<BTreeMap<String, T>> {
    let world = s.world();
    let m = vm_ref(&world, vm)?;
    Ok(view(m, &world.device_context(m)))
}

/// The device `key` of a map, or 404 NOT_FOUND naming `what`.
fn device<T>(mut map: BTreeMap<String, T>, key: &str, what: &str) -> ApiResult<Json<T>> {
    map.remove(key)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(what, key))
}

async fn disks(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<Vec<DiskSummary>>> {
    let keys = devices(&s, &vm, Machine::disks)?.into_keys();
    Ok(Json(keys.map(|disk| DiskSummary { disk }).collect()))
}

async fn disk(
    State(s): State<Shared>,
    Path((vm, disk)): Path<(String, String)>,
) -> ApiResult<Json<DiskInfo>> {
    device(devices(&s, &vm, Machine::disks)?, &disk, "Virtual disk")
}

async fn nics(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<Vec<EthernetSummary>>> {
    let keys = devices(&s, &vm, Machine::nics)?.into_keys();
    Ok(Json(keys.map(|nic| EthernetSummary { nic }).collect()))
}

async fn nic(
    State(s): State<Shared>,
    Path((vm, nic)): Path<(String, String)>,
) -> ApiResult<Json<EthernetInfo>> {
    device(
        devices(&s, &vm, Machine::nics)?,
        &nic,
        "Virtual Ethernet adapter",
    )
}
