//! `/api/session`: Basic-auth login minting a token, logout, and session info.

use super::{check_session, iso, SESSION_HEADER};
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::state::{Session, Shared};
use crate::vsphere::wire::SessionInfo;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use rand::Rng;

pub fn router() -> Router<Shared> {
    Router::new().route("/api/session", post(create).delete(delete).get(get))
}

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

async fn create(
    State(shared): State<Shared>,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, Json<String>)> {
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
    if !credentials_ok(&shared, user, password) {
        return Err(denied());
    }
    Ok((
        StatusCode::CREATED,
        Json(open_session(&shared, user, false)),
    ))
}

fn token(headers: &HeaderMap) -> Option<&str> {
    headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok())
}

async fn delete(State(shared): State<Shared>, headers: HeaderMap) -> ApiResult<StatusCode> {
    check_session(&shared, token(&headers), false)?;
    if let Some(t) = token(&headers) {
        shared.world().sessions.remove(t);
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn get(State(shared): State<Shared>, headers: HeaderMap) -> ApiResult<Json<SessionInfo>> {
    check_session(&shared, token(&headers), false)?;
    let world = shared.world();
    let session = token(&headers)
        .and_then(|t| world.sessions.get(t))
        .ok_or_else(|| ApiError::unauthenticated("The session is not authenticated."))?;
    Ok(Json(SessionInfo {
        user: session.user.clone(),
        created_time: iso(session.created_time),
        last_accessed_time: iso(session.last_accessed),
    }))
}
