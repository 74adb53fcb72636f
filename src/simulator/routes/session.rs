//! Sessions: Basic-auth login minting a token, logout and session info,
//! at `/api/session` and at the older `/rest/com/vmware/cis/session`
//! (deprecated in 7.0U2 but still served by vCenter 7 and 8, and the only
//! login some clients use, Ansible's `vmware.vmware_rest` among them). Both
//! open the same kind of session: a token from either works on `/api`.
//! `/rest` wraps answers in `{"value": …}` and errors in
//! `{"type": …, "value": …}` (see [`RestError`]).

use super::{check_session, iso, Params, SESSION_HEADER};
use crate::simulator::error::{ApiError, ApiResult, RestError};
use crate::simulator::state::{Session, Shared};
use crate::vsphere::wire::SessionInfo;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use rand::Rng;
use serde_json::json;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/session", post(create).delete(delete).get(get))
        .route(
            REST_SESSION,
            post(rest_post).delete(rest_delete).get(rest_get),
        )
}

/// The `/rest` session resource (`cis.json`).
pub const REST_SESSION: &str = "/rest/com/vmware/cis/session";

/// A random 32-hex-digit token, like vCenter's.
pub fn new_token() -> String {
    let bytes: [u8; 16] = rand::thread_rng().gen();
    hex::encode(bytes)
}

/// Checks user and password against the configured vCenter account.
pub fn credentials_ok(shared: &Shared, user: &str, password: &str) -> bool {
    user.eq_ignore_ascii_case(&shared.user) && password == shared.password.expose()
}

/// Opens a session for `user` (`vi`: through SessionManager.Login) and returns its token.
pub fn open_session(shared: &Shared, user: &str, vi: bool) -> String {
    let token = new_token();
    let now = chrono::Utc::now();
    shared.world().sessions.insert(
        token.clone(),
        Session {
            user: user.to_string(),
            vi,
            created_at: tokio::time::Instant::now(),
            created_time: now,
            last_accessed: now,
        },
    );
    token
}

/// Checks the Basic credentials and opens an `/api` session.
fn basic_login(shared: &Shared, headers: &HeaderMap) -> ApiResult<String> {
    let denied = || ApiError::unauthenticated("Authentication required.");
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(denied)?;
    let encoded = header.strip_prefix("Basic ").ok_or_else(denied)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| denied())?;
    let text = String::from_utf8(decoded).map_err(|_| denied())?;
    let (user, password) = text.split_once(':').ok_or_else(denied)?;
    if !credentials_ok(shared, user, password) {
        return Err(denied());
    }
    Ok(open_session(shared, user, false))
}

async fn create(
    State(shared): State<Shared>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<String>)> {
    Ok((StatusCode::CREATED, Json(basic_login(&shared, &headers)?)))
}

/// `POST /rest/com/vmware/cis/session` logs in (200 `{"value": token}`);
/// with `?~action=get` it reports the caller's session.
async fn rest_post(
    State(shared): State<Shared>,
    params: Params,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, RestError> {
    match params.one("~action") {
        None => Ok(Json(json!({ "value": basic_login(&shared, &headers)? }))),
        Some("get") => Ok(Json(json!({ "value": session_info(&shared, &headers)? }))),
        Some(other) => Err(ApiError::operation_not_found(
            "POST",
            &format!("{REST_SESSION}?~action={other}"),
        )
        .into()),
    }
}

/// `GET /rest/com/vmware/cis/session`: the session, as VMware's current
/// reference documents "Get Session" (developer.vmware.com, vSphere
/// Automation, cis/rest/com/vmware/cis/session/get); the 7.0.3 description
/// has only the `POST ?~action=get` form, served above.
async fn rest_get(
    State(shared): State<Shared>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, RestError> {
    Ok(Json(json!({ "value": session_info(&shared, &headers)? })))
}

/// `DELETE /rest/com/vmware/cis/session`: 200 without a body.
async fn rest_delete(
    State(shared): State<Shared>,
    headers: HeaderMap,
) -> Result<StatusCode, RestError> {
    end_session(&shared, &headers)?;
    Ok(StatusCode::OK)
}

fn token(headers: &HeaderMap) -> Option<&str> {
    headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok())
}

fn end_session(shared: &Shared, headers: &HeaderMap) -> ApiResult<()> {
    check_session(shared, token(headers), false)?;
    if let Some(t) = token(headers) {
        shared.world().end_session(t);
    }
    Ok(())
}

fn session_info(shared: &Shared, headers: &HeaderMap) -> ApiResult<SessionInfo> {
    check_session(shared, token(headers), false)?;
    let world = shared.world();
    let session = token(headers)
        .and_then(|t| world.sessions.get(t))
        .ok_or_else(|| ApiError::unauthenticated("The session is not authenticated."))?;
    Ok(SessionInfo {
        user: session.user.clone(),
        created_time: iso(session.created_time),
        last_accessed_time: iso(session.last_accessed),
    })
}

async fn delete(State(shared): State<Shared>, headers: HeaderMap) -> ApiResult<StatusCode> {
    end_session(&shared, &headers)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn get(State(shared): State<Shared>, headers: HeaderMap) -> ApiResult<Json<SessionInfo>> {
    Ok(Json(session_info(&shared, &headers)?))
}
