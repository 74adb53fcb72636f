//! `POST /api/vcenter/system?action=hello`: VI/JSON release negotiation.
//! Answered without a session, as VMware's own sample calls it.

use super::{require_action, JsonBody, Params};
use crate::simulator::config::VI_RELEASES;
use crate::simulator::error::ApiResult;
use crate::simulator::state::Shared;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

pub fn router() -> Router<Shared> {
    Router::new().route("/api/vcenter/system", post(hello))
}

#[derive(Deserialize)]
struct HelloSpec {
    #[serde(default)]
    api_releases: Vec<String>,
}

/// The newest release both sides know, or `""`.
pub fn negotiate(offered: &[String]) -> String {
    VI_RELEASES
        .iter()
        .rev()
        .find(|r| offered.iter().any(|o| o == *r))
        .map(|r| r.to_string())
        .unwrap_or_default()
}

async fn hello(
    params: Params,
    JsonBody(spec): JsonBody<HelloSpec>,
) -> ApiResult<Json<serde_json::Value>> {
    require_action(&params, "hello", "/api/vcenter/system")?;
    Ok(Json(
        serde_json::json!({ "api_release": negotiate(&spec.api_releases) }),
    ))
}
