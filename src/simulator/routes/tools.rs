//! VMware Tools status, policy and upgrade, and the tools installer ISO.

use super::{require_action, require_powered_on, unknown_action, vm_mut, vm_ref, JsonBody, Params};
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::machine::Machine;
use crate::simulator::state::Shared;
use crate::vsphere::wire::ErrorType;
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use tokio::time::Instant;

/// The tools build the simulated hosts ship; an upgrade installs it.
pub const BUNDLED_TOOLS: ToolsVersion = ToolsVersion {
    major: 12,
    minor: 4,
    revision: 5,
};

pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/api/vcenter/vm/{vm}/tools",
            get(tools_get).patch(tools_patch).post(tools_action),
        )
        .route(
            "/api/vcenter/vm/{vm}/tools/installer",
            get(installer_get).post(installer_action),
        )
}

fn tools_info(vm: &Machine, now: Instant) -> ToolsInfo {
    let status = if vm.tools_version >= BUNDLED_TOOLS {
        ToolsVersionStatus::Current
    } else {
        ToolsVersionStatus::SupportedOld
    };
    ToolsInfo {
        auto_update_supported: true,
        install_attempt_count: Some(1),
        error: None,
        version_number: Some(vm.tools_version.to_number()),
        version: Some(vm.tools_version.to_string()),
        upgrade_policy: vm.tools_upgrade_policy,
        version_status: Some(status),
        install_type: Some(ToolsInstallType::Msi),
        run_state: if vm.tools_running(now) {
            ToolsRunState::Running
        } else {
            ToolsRunState::NotRunning
        },
    }
}

async fn tools_get(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<Json<ToolsInfo>> {
    let world = s.world();
    Ok(Json(tools_info(vm_ref(&world, &vm)?, Instant::now())))
}

async fn tools_patch(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    JsonBody(spec): JsonBody<ToolsUpdateSpec>,
) -> ApiResult<StatusCode> {
    let mut world = s.world();
    let m = vm_mut(&mut world, &vm)?;
    if let Some(policy) = spec.upgrade_policy {
        m.tools_upgrade_policy = policy;
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn tools_action(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
    JsonBody(_spec): JsonBody<ToolsUpgradeSpec>,
) -> ApiResult<StatusCode> {
    require_action(&params, "upgrade", "/api/vcenter/vm/{vm}/tools")?;
    let mut world = s.world();
    let m = vm_mut(&mut world, &vm)?;
    require_powered_on(m)?;
    if !m.tools_running(Instant::now()) {
        return Err(ApiError::tools_not_running(&vm));
    }
    if m.tools_version >= BUNDLED_TOOLS {
        return Err(ApiError::new(
            ErrorType::AlreadyInDesiredState,
            format!("VMware Tools {} is already current", m.tools_version),
        ));
    }
    m.tools_version = BUNDLED_TOOLS;
    Ok(StatusCode::NO_CONTENT)
}

async fn installer_get(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<ToolsInstallerInfo>> {
    let world = s.world();
    Ok(Json(ToolsInstallerInfo {
        is_connected: vm_ref(&world, &vm)?.installer_connected,
    }))
}

async fn installer_action(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
) -> ApiResult<StatusCode> {
    let connect = match params.action() {
        Some("connect") => true,
        Some("disconnect") => false,
        _ => {
            return Err(unknown_action(
                "POST",
                "/api/vcenter/vm/{vm}/tools/installer",
                &params,
            ))
        }
    };
    let mut world = s.world();
    let m = vm_mut(&mut world, &vm)?;
    require_powered_on(m)?;
    if connect && m.installer_connected {
        return Err(ApiError::new(
            ErrorType::AlreadyInDesiredState,
            "The tools installer is already connected",
        ));
    }
    m.installer_connected = connect;
    Ok(StatusCode::NO_CONTENT)
}
