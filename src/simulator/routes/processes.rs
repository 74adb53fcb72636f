//! Guest processes: create, get, list, delete (`/guest/processes`).
//! The guest model applies a program's effects when it starts; this layer
//! owns pids, run time, the 5-minute retention and the hang/exit faults.

use super::{guest_op, iso, unknown_action, CredentialsBody, JsonBody, Params};
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::faults::FaultKind;
use crate::simulator::machine::GuestProcess;
use crate::simulator::state::Shared;
use crate::vsphere::wire::GuestPid;
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use tokio::time::Instant;

pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/api/vcenter/vm/{vm}/guest/processes",
            post(processes_action),
        )
        .route(
            "/api/vcenter/vm/{vm}/guest/processes/{pid}",
            post(process_action),
        )
}

type CreateBody = super::GuestSpecBody<ProcessSpec>;

async fn processes_action(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let parse_err =
        |e: serde_json::Error| ApiError::invalid_argument(format!("Invalid request body: {e}"));
    match params.action() {
        Some("create") => {
            let body: CreateBody = serde_json::from_slice(&body).map_err(parse_err)?;
            let mut world = s.world();
            let m = guest_op(&mut world, &vm, &body.credentials)?;
            let args = body.spec.arguments.clone().unwrap_or_default();
            let fault = s.faults.for_process(m.name(), &body.spec.path, &args);
            if body.spec.path.to_ascii_lowercase().ends_with("sysprep.exe")
                && s.faults
                    .for_vm(m.name(), |k| (*k == FaultKind::SysprepFail).then_some(()))
                    .is_some()
            {
                m.guest_mut().set_sysprep_failure(true);
            }
            let user = body.credentials.user_name.clone().unwrap_or_default();
            let pid = m
                .start_process(Instant::now(), &user, &body.spec, fault)
                .map_err(super::guest_error)?;
            Ok((StatusCode::CREATED, Json(pid)).into_response())
        }
        Some("list") => {
            let body: CredentialsBody = serde_json::from_slice(&body).map_err(parse_err)?;
            let mut world = s.world();
            let m = guest_op(&mut world, &vm, &body.credentials)?;
            let list: Vec<ProcessSummary> = m
                .processes()
                .map(|(pid, p)| ProcessSummary {
                    name: p.name.clone(),
                    pid,
                    owner: p.owner.clone(),
                    command: p.command.clone(),
                    started: iso(p.started),
                })
                .collect();
            Ok(Json(list).into_response())
        }
        _ => Err(unknown_action(
            "POST",
            "/api/vcenter/vm/{vm}/guest/processes",
            &params,
        )),
    }
}

fn no_such_process(pid: i64) -> ApiError {
    ApiError::not_found("Guest process", &pid.to_string())
        .with_data(serde_json::json!({"_typeName": "ProcessErrorDetails", "pid": pid}))
}

fn info(p: &GuestProcess, now: Instant) -> ProcessInfo {
    let exit = p.exit(now);
    ProcessInfo {
        name: p.name.clone(),
        owner: p.owner.clone(),
        command: p.command.clone(),
        started: iso(p.started),
        finished: exit.map(|(at, _)| iso(at)),
        exit_code: exit.map(|(_, code)| code),
    }
}

async fn process_action(
    State(s): State<Shared>,
    Path((vm, pid)): Path<(String, String)>,
    params: Params,
    JsonBody(body): JsonBody<CredentialsBody>,
) -> ApiResult<Response> {
    let pid: i64 = pid
        .parse()
        .map_err(|_| ApiError::invalid_argument(format!("Invalid process id {pid:?}")))?;
    let mut world = s.world();
    let m = guest_op(&mut world, &vm, &body.credentials)?;
    let now = Instant::now();
    let pid = GuestPid(pid);
    match params.action() {
        Some("get") => {
            let p = m.process(pid).ok_or_else(|| no_such_process(pid.0))?;
            Ok(Json(info(p, now)).into_response())
        }
        Some("delete") => {
            m.terminate_process(now, pid)
                .ok_or_else(|| no_such_process(pid.0))?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(unknown_action(
            "POST",
            "/api/vcenter/vm/{vm}/guest/processes/{pid}",
            &params,
        )),
    }
}
