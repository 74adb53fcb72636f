//! Power (`/power`) and guest power (`/guest/power`) of one VM. The rules
//! live in [`crate::simulator::machine::Machine`]; these handlers parse,
//! pick the method and spend the simulated delays.

use super::{unknown_action, vm_mut, vm_ref, Params};
use crate::simulator::error::ApiResult;
use crate::simulator::machine::BootFaults;
use crate::simulator::state::Shared;
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use tokio::time::Instant;

pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/api/vcenter/vm/{vm}/power",
            get(power_get).post(power_action),
        )
        .route(
            "/api/vcenter/vm/{vm}/guest/power",
            get(guest_power_get).post(guest_power_action),
        )
}

async fn power_get(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<Json<PowerInfo>> {
    let world = s.world();
    Ok(Json(vm_ref(&world, &vm)?.power_info()))
}

async fn power_action(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
) -> ApiResult<StatusCode> {
    let route = "/api/vcenter/vm/{vm}/power";
    match params.action() {
        Some("start") => {
            vm_ref(&s.world(), &vm)?.check_power_on()?;
            if !s.timing.power_on.is_zero() {
                tokio::time::sleep(s.timing.power_on).await;
            }
            let mut world = s.world();
            let m = vm_mut(&mut world, &vm)?;
            let faults = BootFaults::for_vm(&s.faults, m.name());
            m.power_on(Instant::now(), faults)?;
        }
        Some("stop") => vm_mut(&mut s.world(), &vm)?.power_off(Instant::now())?,
        Some("suspend") => vm_mut(&mut s.world(), &vm)?.suspend(Instant::now())?,
        Some("reset") => {
            let mut world = s.world();
            let m = vm_mut(&mut world, &vm)?;
            let faults = BootFaults::for_vm(&s.faults, m.name());
            m.reset(Instant::now(), faults)?;
        }
        _ => return Err(unknown_action("POST", route, &params)),
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn guest_power_get(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<GuestPowerInfo>> {
    let world = s.world();
    Ok(Json(vm_ref(&world, &vm)?.guest_power(Instant::now())))
}

async fn guest_power_action(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
) -> ApiResult<StatusCode> {
    let now = Instant::now();
    let mut world = s.world();
    match params.action() {
        Some("shutdown") => {
            vm_mut(&mut world, &vm)?.guest_shutdown(now, s.timing.guest_shutdown)?
        }
        Some("reboot") => vm_mut(&mut world, &vm)?.guest_reboot(now, s.timing.guest_reboot)?,
        _ => {
            return Err(unknown_action(
                "POST",
                "/api/vcenter/vm/{vm}/guest/power",
                &params,
            ))
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
