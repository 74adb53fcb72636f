//! Guest filesystem: transfer tickets, directories and files.

use super::{guest_error, guest_op, require_action, unknown_action, JsonBody, Params};
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::state::{Shared, Transfer, World};
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use tokio::time::Instant;

pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/api/vcenter/vm/{vm}/guest/filesystem",
            post(transfer_create),
        )
        .route(
            "/api/vcenter/vm/{vm}/guest/filesystem/directories",
            post(directories),
        )
        .route("/api/vcenter/vm/{vm}/guest/filesystem/files", post(files))
        .route(
            "/api/vcenter/vm/{vm}/guest/filesystem/files/{path}",
            post(file),
        )
}

type TransferBody = super::GuestSpecBody<TransferSpec>;

async fn transfer_create(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
    JsonBody(body): JsonBody<TransferBody>,
) -> ApiResult<(StatusCode, Json<String>)> {
    require_action(&params, "create", "/api/vcenter/vm/{vm}/guest/filesystem")?;
    let mut world = s.world();
    let m = guest_op(&mut world, &vm, &body.credentials)?;
    let path = body.spec.path.clone();
    let upload = match &body.spec.attributes {
        Some(attrs) => {
            if attrs.size < 0 {
                return Err(ApiError::invalid_argument(format!(
                    "Invalid file size {}",
                    attrs.size
                )));
            }
            let overwrite = attrs.overwrite.unwrap_or(false);
            match m.guest().stat(&path) {
                Ok(info) if info.file_type == GuestFileType::Directory => {
                    return Err(guest_error(
                        crate::simulator::guest::GuestError::IsADirectory { path },
                    ))
                }
                Ok(_) if !overwrite => {
                    return Err(guest_error(
                        crate::simulator::guest::GuestError::AlreadyExists { path },
                    ))
                }
                _ => {}
            }
            Some((attrs.size as u64, overwrite))
        }
        None => {
            let info = m.guest().stat(&path).map_err(guest_error)?;
            if info.file_type == GuestFileType::Directory {
                return Err(guest_error(
                    crate::simulator::guest::GuestError::IsADirectory { path },
                ));
            }
            None
        }
    };
    let token = super::session::new_token();
    let id = world.mint("");
    let vm_id = crate::vsphere::wire::VmId::new(vm.as_str());
    world.transfers.insert(
        token.clone(),
        Transfer {
            vm: vm_id,
            path,
            upload,
            expires: Instant::now() + World::TRANSFER_TTL,
        },
    );
    // ESXi answers with host `*`; the client substitutes the host it called.
    let url = format!(
        "{}://*:{}/guestFile?id={id}&token={token}",
        s.scheme, s.port
    );
    Ok((StatusCode::CREATED, Json(url)))
}

#[derive(Deserialize)]
struct DirectoryBody {
    credentials: WireCredentials,
    path: String,
    #[serde(default)]
    create_parents: Option<bool>,
    #[serde(default)]
    recursive: Option<bool>,
}

async fn directories(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
    JsonBody(body): JsonBody<DirectoryBody>,
) -> ApiResult<StatusCode> {
    let mut world = s.world();
    let m = guest_op(&mut world, &vm, &body.credentials)?;
    match params.action() {
        Some("create") => m
            .guest_mut()
            .create_dir(&body.path, body.create_parents.unwrap_or(false))
            .map_err(guest_error)?,
        Some("delete") => m
            .guest_mut()
            .delete_dir(&body.path, body.recursive.unwrap_or(false))
            .map_err(guest_error)?,
        _ => {
            return Err(unknown_action(
                "POST",
                "/api/vcenter/vm/{vm}/guest/filesystem/directories",
                &params,
            ))
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
struct Iteration {
    #[serde(default)]
    size: Option<i64>,
    #[serde(default)]
    index: Option<i64>,
}

#[derive(Deserialize)]
struct ListFilter {
    #[serde(default)]
    match_pattern: Option<String>,
}

#[derive(Deserialize)]
struct ListBody {
    credentials: WireCredentials,
    path: String,
    #[serde(default)]
    iteration: Option<Iteration>,
    #[serde(default)]
    filter: Option<ListFilter>,
}

async fn files(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    params: Params,
    JsonBody(body): JsonBody<ListBody>,
) -> ApiResult<Json<GuestFileList>> {
    require_action(
        &params,
        "list",
        "/api/vcenter/vm/{vm}/guest/filesystem/files",
    )?;
    let mut world = s.world();
    let m = guest_op(&mut world, &vm, &body.credentials)?;
    let mut all = m.guest().list(&body.path).map_err(guest_error)?;
    if let Some(pattern) = body.filter.and_then(|f| f.match_pattern) {
        // vCenter takes a Perl-compatible regex; the simulator supports the
        // common literal-substring case and `.*` wildcards.
        let needle = pattern.replace(".*", "").to_ascii_lowercase();
        all.retain(|f| f.filename.to_ascii_lowercase().contains(&needle));
    }
    let iteration = body.iteration.unwrap_or_default();
    let start = iteration.index.unwrap_or(0).max(0) as usize;
    let size = iteration.size.unwrap_or(50).max(1) as usize;
    if start > all.len() {
        return Err(ApiError::invalid_argument(format!(
            "Iteration index {start} is past the {} entries",
            all.len()
        )));
    }
    let total = all.len();
    let page: Vec<GuestFileSummary> = all.into_iter().skip(start).take(size).collect();
    let end = start + page.len();
    Ok(Json(GuestFileList {
        total: total as i64,
        start_index: (!page.is_empty()).then_some(start as i64),
        end_index: (!page.is_empty()).then_some(end as i64 - 1),
        status: if end >= total {
            "END_OF_DATA".into()
        } else {
            "READY".into()
        },
        files: page,
    }))
}

async fn file(
    State(s): State<Shared>,
    Path((vm, path)): Path<(String, String)>,
    params: Params,
    JsonBody(body): JsonBody<super::CredentialsBody>,
) -> ApiResult<Response> {
    let mut world = s.world();
    let m = guest_op(&mut world, &vm, &body.credentials)?;
    match params.action() {
        Some("get") => Ok(Json(m.guest().stat(&path).map_err(guest_error)?).into_response()),
        Some("delete") => {
            m.guest_mut().delete_file(&path).map_err(guest_error)?;
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(unknown_action(
            "POST",
            "/api/vcenter/vm/{vm}/guest/filesystem/files/{path}",
            &params,
        )),
    }
}
