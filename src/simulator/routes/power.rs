//! Power (`/power`), guest power (`/guest/power`) and virtual hardware
//! (`/hardware`) of one VM.

use super::vm::hardware_info;
use super::{require_action, require_powered_on, unknown_action, vm_mut, vm_ref, JsonBody, Params};
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::faults::FaultKind;
use crate::simulator::machine::{Machine, Pending};
use crate::simulator::state::Shared;
use crate::vsphere::wire::ErrorType;
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use tokio::time::Instant;

/// The newest virtual hardware the simulated hosts run (ESXi 8.0U2).
pub const NEWEST_HARDWARE: HardwareVersion = HardwareVersion(21);

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
        .route(
            "/api/vcenter/vm/{vm}/hardware",
            get(hardware_get).post(hardware_action),
        )
}

async fn power_get(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<Json<PowerInfo>> {
    let world = s.world();
    let machine = vm_ref(&world, &vm)?;
    let clean = (machine.power == PowerState::PoweredOff).then_some(true);
    Ok(Json(PowerInfo {
        state: machine.power,
        clean_power_off: clean,
    }))
}

/// Boots a VM, deciding the boot-time guest faults (tools never start,
/// APIPA address) for this boot.
pub fn boot(s: &Shared, vm: &mut Machine) {
    let never = s
        .faults
        .for_vm(&vm.name, |k| {
            (*k == FaultKind::ToolsNeverStart).then_some(())
        })
        .is_some();
    let apipa = s
        .faults
        .for_vm(&vm.name, |k| (*k == FaultKind::Apipa).then_some(()))
        .is_some();
    vm.power_on(Instant::now(), never, apipa);
}

async fn power_action(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
) -> ApiResult<StatusCode> {
    let route = "/api/vcenter/vm/{vm}/power";
    match params.action() {
        Some("start") => {
            {
                let world = s.world();
                let m = vm_ref(&world, &vm)?;
                if m.template {
                    return Err(ApiError::new(
                        ErrorType::Unsupported,
                        format!("{vm} is a template and cannot be powered on"),
                    ));
                }
                if m.power == PowerState::PoweredOn {
                    return Err(ApiError::new(
                        ErrorType::AlreadyInDesiredState,
                        format!("Virtual machine {vm} is already powered on"),
                    ));
                }
            }
            if !s.timing.power_on.is_zero() {
                tokio::time::sleep(s.timing.power_on).await;
            }
            let mut world = s.world();
            let m = vm_mut(&mut world, &vm)?;
            if m.power != PowerState::PoweredOn {
                boot(&s, m);
            }
        }
        Some("stop") => {
            let mut world = s.world();
            let m = vm_mut(&mut world, &vm)?;
            if m.power == PowerState::PoweredOff {
                return Err(ApiError::new(
                    ErrorType::AlreadyInDesiredState,
                    format!("Virtual machine {vm} is already powered off"),
                ));
            }
            m.power_off();
        }
        Some("suspend") => {
            let mut world = s.world();
            let m = vm_mut(&mut world, &vm)?;
            match m.power {
                PowerState::Suspended => {
                    return Err(ApiError::new(
                        ErrorType::AlreadyInDesiredState,
                        format!("Virtual machine {vm} is already suspended"),
                    ))
                }
                PowerState::PoweredOff => {
                    return Err(ApiError::not_allowed(format!(
                        "Virtual machine {vm} is powered off"
                    )))
                }
                PowerState::PoweredOn => {
                    m.power = PowerState::Suspended;
                    m.pending = None;
                }
            }
        }
        Some("reset") => {
            let mut world = s.world();
            let m = vm_mut(&mut world, &vm)?;
            require_powered_on(m)?;
            boot(&s, m);
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
    let m = vm_ref(&world, &vm)?;
    let tools = m.tools_running(Instant::now());
    let state = match (m.power, m.pending.as_ref().map(|p| &p.1)) {
        (PowerState::PoweredOn, Some(Pending::PowerOff)) => GuestPowerState::ShuttingDown,
        (PowerState::PoweredOn, Some(Pending::Reboot)) => GuestPowerState::Resetting,
        (PowerState::PoweredOn, None) if tools => GuestPowerState::Running,
        (PowerState::Suspended, _) => GuestPowerState::Standby,
        _ => GuestPowerState::NotRunning,
    };
    Ok(Json(GuestPowerInfo {
        state,
        operations_ready: tools,
    }))
}

async fn guest_power_action(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
) -> ApiResult<StatusCode> {
    let action = params.action();
    if !matches!(action, Some("shutdown" | "reboot")) {
        return Err(unknown_action(
            "POST",
            "/api/vcenter/vm/{vm}/guest/power",
            &params,
        ));
    }
    let mut world = s.world();
    let m = vm_mut(&mut world, &vm)?;
    match (m.power, action) {
        (PowerState::PoweredOff, Some("shutdown")) => {
            return Err(ApiError::new(
                ErrorType::AlreadyInDesiredState,
                format!("Virtual machine {vm} is not powered on"),
            ))
        }
        (PowerState::PoweredOn, _) => {}
        _ => {
            return Err(ApiError::not_allowed(format!(
                "Virtual machine {vm} is not powered on"
            )))
        }
    }
    let now = Instant::now();
    if !m.tools_running(now) {
        return Err(ApiError::tools_not_running(&vm));
    }
    if action == Some("shutdown") {
        m.schedule(now + s.timing.guest_shutdown, Pending::PowerOff);
    } else {
        m.schedule(now + s.timing.guest_reboot, Pending::Reboot);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn hardware_get(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<HardwareInfo>> {
    let world = s.world();
    Ok(Json(hardware_info(vm_ref(&world, &vm)?)))
}

async fn hardware_action(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
    JsonBody(spec): JsonBody<HardwareUpgradeSpec>,
) -> ApiResult<StatusCode> {
    require_action(&params, "upgrade", "/api/vcenter/vm/{vm}/hardware")?;
    let mut world = s.world();
    let m = vm_mut(&mut world, &vm)?;
    if m.power != PowerState::PoweredOff {
        return Err(ApiError::not_allowed(format!(
            "Virtual machine {vm} must be powered off to upgrade its hardware"
        )));
    }
    let target = spec.version.unwrap_or(NEWEST_HARDWARE);
    if target > NEWEST_HARDWARE {
        return Err(ApiError::new(
            ErrorType::Unsupported,
            format!("Hardware version {target} is not supported by the host"),
        ));
    }
    if target < m.hardware {
        return Err(ApiError::invalid_argument(format!(
            "Hardware version {target} is older than the current {}",
            m.hardware
        )));
    }
    if target == m.hardware {
        return Err(ApiError::new(
            ErrorType::AlreadyInDesiredState,
            format!("Virtual machine {vm} already has hardware {target}"),
        ));
    }
    m.hardware = target;
    m.hardware_upgrade_status = HardwareUpgradeStatus::Success;
    Ok(StatusCode::NO_CONTENT)
}
