//! The accept loop and the request pipeline around the routes.
//!
//! The loop is written out (TcpListener → optional TLS → hyper-util's auto
//! HTTP/1+2 builder) instead of `axum::serve` for two reasons the tests and
//! the benchmark depend on: every accepted TCP connection is counted (to
//! prove a client reuses one connection), and a `drop` fault can close a
//! connection without answering, which needs a handle on the connection.

mod metrics;

pub use metrics::{LogEntry, Metrics, LOG_CAPACITY};

use super::error::ApiError;
use super::faults::FaultKind;
use super::state::Shared;
use crate::vsphere::wire::ErrorType;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Put into every request's extensions; notifying it closes the connection.
#[derive(Clone)]
pub struct ConnectionKill(pub Arc<Notify>);

pub async fn accept_loop(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    shared: Shared,
    stop: CancellationToken,
) {
    loop {
        let (tcp, _peer) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!(error = %e, "simulator accept failed");
                    continue;
                }
            },
        };
        shared.metrics.connection_opened();
        let _ = tcp.set_nodelay(true);
        let kill = Arc::new(Notify::new());
        let kill_handle = ConnectionKill(kill.clone());
        let service = TowerToHyperService::new(tower::ServiceExt::map_request(
            router.clone(),
            move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(kill_handle.clone());
                req
            },
        ));
        let tls = tls.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            match tls {
                Some(acceptor) => {
                    let Ok(stream) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    tokio::select! { _ = conn => {}, _ = kill.notified() => {}, _ = stop.cancelled() => {} }
                }
                None => {
                    let conn = builder.serve_connection(TokioIo::new(tcp), service);
                    tokio::select! { _ = conn => {}, _ = kill.notified() => {}, _ = stop.cancelled() => {} }
                }
            }
        });
    }
}

/// The `?action=` (`/api`) or `?~action=` (`/rest`) of a request, as the
/// suffix route names carry it. Other query parameters stay out of the log:
/// a transfer URL's `token=` is a credential.
fn action_suffix(req: &Request) -> String {
    let Some(q) = req.uri().query() else {
        return String::new();
    };
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == "action" || k == "~action")
        .map(|(k, v)| format!("?{k}={v}"))
        .unwrap_or_default()
}

/// The route as the request log and fault rules name it: the matched
/// template plus `?action=` when present, or `<unmatched>`.
pub fn route_template(req: &Request) -> String {
    match req.extensions().get::<MatchedPath>() {
        Some(m) => format!("{}{}", m.as_str(), action_suffix(req)),
        None => UNMATCHED.to_string(),
    }
}

/// The route of a request no route matched.
pub const UNMATCHED: &str = "<unmatched>";

/// The request's own path (and action), as the log records it next to the
/// route, so an unmatched call still says what it asked for.
fn request_path(req: &Request) -> String {
    format!("{}{}", req.uri().path(), action_suffix(req))
}

/// Faults, then the handler, then the request log. Runs for every route
/// (and the fallbacks) except the `/_sim` admin prefix.
pub async fn observe(State(shared): State<Shared>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/_sim") {
        return next.run(req).await;
    }
    let at_us = shared.metrics.now_us();
    let method = req.method().to_string();
    let route = route_template(&req);
    let path = request_path(&req);
    let faults = shared.faults.for_request(&method, &route);
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let response = match faults.outcome {
        Some(FaultKind::Drop) => {
            if let Some(kill) = req.extensions().get::<ConnectionKill>() {
                kill.0.notify_one();
            }
            shared.metrics.record(LogEntry {
                method,
                route,
                path,
                status: 0,
                at_us,
                took_us: shared.metrics.now_us().saturating_sub(at_us),
            });
            // The connection task drops this future together with the socket.
            return std::future::pending::<Response>().await;
        }
        Some(FaultKind::Unavailable) => ApiError::new(
            ErrorType::ServiceUnavailable,
            "The service is temporarily unavailable (injected fault)",
        )
        .into_response(),
        Some(FaultKind::Busy) => ApiError::new(
            ErrorType::ResourceBusy,
            "The resource is busy (injected fault)",
        )
        .into_response(),
        _ => next.run(req).await,
    };
    shared.metrics.record(LogEntry {
        method,
        route,
        path,
        status: response.status().as_u16(),
        at_us,
        took_us: shared.metrics.now_us().saturating_sub(at_us),
    });
    response
}

/// Unknown path or unknown method: vCenter answers with its own error body,
/// not axum's empty 404/405 — a vAPI error under `/api`, a VI fault under
/// `/sdk`, the `/rest` error wrapping under `/rest`. 404 OPERATION_NOT_FOUND for both path and method is our reading
/// of vapi-runtime (CONTRACT.md maps OPERATION_NOT_FOUND to 404); the exact
/// status vCenter uses for a wrong method is not confirmed by a source.
pub async fn not_found(req: Request) -> Response {
    let (method, path) = (req.method().as_str(), req.uri().path());
    if path.starts_with("/sdk/") {
        let mut fault = crate::simulator::error::ViFault::new(
            "MethodNotFound",
            format!("{method} {path} is not a known method or property"),
        );
        fault.status = axum::http::StatusCode::NOT_FOUND;
        return fault.into_response();
    }
    let error = ApiError::operation_not_found(method, path);
    if path.starts_with("/rest/") {
        return crate::simulator::error::RestError(error).into_response();
    }
    error.into_response()
}
