//! VMware Tools status, policy and upgrade, and the tools installer ISO.

use super::{require_action, unknown_action, vm_mut, vm_ref, JsonBody, Params};
use crate::simulator::error::ApiResult;
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
            "/api/vcenter/vm/{vm}/tools",
            get(tools_get).patch(tools_patch).post(tools_action),
        )
        .route(
            "/api/vcenter/vm/{vm}/tools/installer",
            get(installer_get).post(installer_action),
        )
}

async fn tools_get(State(s): State<Shared>, Path(vm): Path<String>) -> ApiResult<Json<ToolsInfo>> {
    let world = s.world();
    Ok(Json(vm_ref(&world, &vm)?.tools_info(Instant::now())))
}

async fn tools_patch(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    JsonBody(spec): JsonBody<ToolsUpdateSpec>,
) -> ApiResult<StatusCode> {
    let mut world = s.world();
    let m = vm_mut(&mut world, &vm)?;
    if let Some(policy) = spec.upgrade_policy {
        m.set_tools_upgrade_policy(policy);
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
    vm_mut(&mut s.world(), &vm)?.upgrade_tools(Instant::now())?;
    Ok(StatusCode::NO_CONTENT)
}

async fn installer_get(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<ToolsInstallerInfo>> {
    let world = s.world();
    Ok(Json(ToolsInstallerInfo {
        is_connected: vm_ref(&world, &vm)?.installer_connected(),
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
    vm_mut(&mut s.world(), &vm)?.set_installer(connect)?;
    Ok(StatusCode::NO_CONTENT)
}
