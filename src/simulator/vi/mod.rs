//! VI/JSON under `/sdk/vim25/{release}/`: the few managed-object calls a
//! golden-image build needs that `/api` lacks (login, MarkAsTemplate,
//! Rename_Task, Destroy_Task, task polling, the VM config that tells a
//! template apart). Faults are VI fault bodies (see [`ViFault`]).

mod collector;
mod folder;
mod vm;

use super::config::VI_RELEASES;
use super::error::ViFault;
use super::routes::{check_session, iso, session, SESSION_HEADER};
use super::state::Shared;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/sdk/vim25/{release}/ServiceInstance/ServiceInstance/content",
            get(content),
        )
        .route(
            "/sdk/vim25/{release}/SessionManager/{mo}/Login",
            post(login),
        )
        .route(
            "/sdk/vim25/{release}/SessionManager/{mo}/Logout",
            post(logout),
        )
        .merge(vm::router())
        .merge(folder::router())
        .merge(collector::router())
}

/// `{"_typeName":"ManagedObjectReference","type":..,"value":..}`
/// A VI method's JSON parameters, or the InvalidRequest fault vCenter
/// answers a body it cannot read with.
pub fn params<T: serde::de::DeserializeOwned>(body: &[u8], method: &str) -> Result<T, ViFault> {
    serde_json::from_slice(body).map_err(|e| {
        ViFault::new(
            "InvalidRequest",
            format!("Invalid {method} parameters: {e}"),
        )
    })
}

pub fn mo_ref(mo_type: &str, value: &str) -> Value {
    json!({"_typeName": "ManagedObjectReference", "type": mo_type, "value": value})
}

fn known_release(release: &str) -> Result<(), ViFault> {
    if VI_RELEASES.contains(&release) {
        Ok(())
    } else {
        let mut fault = ViFault::new(
            "InvalidRequest",
            format!(
                "Unsupported API release {release}; served: {}",
                VI_RELEASES.join(", ")
            ),
        );
        fault.status = StatusCode::NOT_FOUND;
        Err(fault)
    }
}

/// The release is served and the caller holds a session valid on `/sdk`.
pub fn authorize(s: &Shared, release: &str, headers: &HeaderMap) -> Result<String, ViFault> {
    known_release(release)?;
    let token = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok());
    check_session(s, token, true).map_err(|_| ViFault::not_authenticated())
}

async fn content(Path(release): Path<String>) -> Result<Json<Value>, ViFault> {
    known_release(&release)?;
    Ok(Json(json!({
        "_typeName": "ServiceContent",
        "rootFolder": mo_ref("Folder", super::state::ROOT_FOLDER),
        "propertyCollector": mo_ref("PropertyCollector", collector::DEFAULT_COLLECTOR),
        "sessionManager": mo_ref("SessionManager", "SessionManager"),
        "searchIndex": mo_ref("SearchIndex", "SearchIndex"),
        "about": {
            "_typeName": "AboutInfo",
            "name": "VMware vCenter Server",
            "fullName": "VMware vCenter Server 8.0.3 build-24022515 (gild simulator)",
            "vendor": "VMware, Inc.",
            "version": "8.0.3",
            "build": "24022515",
            "apiType": "VirtualCenter",
            "apiVersion": release,
        },
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginBody {
    user_name: String,
    password: crate::secret::Secret,
    #[serde(default)]
    locale: Option<String>,
}

async fn login(
    State(s): State<Shared>,
    Path((release, mo)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Response, ViFault> {
    known_release(&release)?;
    if mo != "SessionManager" {
        return Err(ViFault::managed_object_not_found("SessionManager", &mo));
    }
    let body: LoginBody = serde_json::from_slice(&body)
        .map_err(|e| ViFault::new("InvalidRequest", format!("Invalid Login parameters: {e}")))?;
    if !session::credentials_ok(&s, &body.user_name, body.password.expose()) {
        return Err(ViFault::new(
            "InvalidLogin",
            "Cannot complete login due to an incorrect user name or password.",
        ));
    }
    let token = session::open_session(&s, &body.user_name, true);
    let now = iso(chrono::Utc::now());
    let locale = body.locale.unwrap_or_else(|| "en".into());
    let user_session = json!({
        "_typeName": "UserSession", "key": session::new_token(), "userName": body.user_name,
        "fullName": body.user_name, "loginTime": now, "lastActiveTime": now,
        "locale": locale, "messageLocale": locale,
    });
    let mut response = Json(user_session).into_response();
    let header =
        HeaderValue::from_str(&token).map_err(|e| ViFault::new("SystemError", e.to_string()))?;
    response.headers_mut().insert(SESSION_HEADER, header);
    Ok(response)
}

async fn logout(
    State(s): State<Shared>,
    Path((release, _mo)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ViFault> {
    authorize(&s, &release, &headers)?;
    if let Some(token) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        s.world().end_session(token);
    }
    Ok(StatusCode::NO_CONTENT)
}
