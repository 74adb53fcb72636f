//! A recording HTTP proxy between gild's client and the simulator.
//!
//! The simulator's request log keeps route templates and statuses but not
//! bodies; the contract tests need the exact JSON both sides put on the
//! wire. So the client talks plain HTTP to this proxy, which forwards each
//! request unchanged to the simulator and records method, target, request
//! body and response (status + body). Nothing is interpreted here: the tests
//! judge the recording against VMware's OpenAPI files.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Router;
use serde_json::Value;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    /// Path and query as sent (`/api/vcenter/vm/vm-42/power?action=start`).
    pub target: String,
    /// The JSON request body; `None` when there was no body or it was not JSON
    /// (a transfer upload).
    pub request_body: Option<Value>,
    pub request_len: usize,
    pub status: u16,
    /// The JSON response body; `Value::Null` when empty; `None` when not JSON.
    pub response_body: Option<Value>,
    pub response_headers: HeaderMap,
}

impl Exchange {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }
}

struct Inner {
    upstream: String,
    http: reqwest::Client,
    log: Mutex<Vec<Exchange>>,
}

#[derive(Clone)]
pub struct Recorder {
    inner: Arc<Inner>,
    pub base_url: url::Url,
}

impl Recorder {
    /// Starts a proxy to `upstream` (a plain-HTTP simulator base URL).
    pub async fn start(upstream: &url::Url) -> Recorder {
        let inner = Arc::new(Inner {
            upstream: upstream.as_str().trim_end_matches('/').to_owned(),
            http: reqwest::Client::builder()
                .build()
                .expect("reqwest client for the recorder"),
            log: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the recorder");
        let addr = listener.local_addr().expect("recorder address");
        let app = Router::new().fallback(forward).with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let base_url = url::Url::parse(&format!("http://{addr}/")).expect("recorder URL");
        Recorder { inner, base_url }
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.inner.log.lock().map(|g| g.clone()).unwrap_or_default()
    }

    pub fn clear(&self) {
        if let Ok(mut g) = self.inner.log.lock() {
            g.clear();
        }
    }
}

fn as_json(bytes: &[u8], content_type: Option<&str>) -> Option<Value> {
    if bytes.is_empty() {
        return Some(Value::Null);
    }
    let declared_json = content_type.is_some_and(|c| c.contains("json"));
    match serde_json::from_slice(bytes) {
        Ok(v) => Some(v),
        Err(_) if declared_json => Some(Value::String(format!(
            "<invalid JSON: {}>",
            String::from_utf8_lossy(bytes)
        ))),
        Err(_) => None,
    }
}

/// Hop-by-hop and framing headers are recomputed by each side.
fn forwardable(name: &header::HeaderName) -> bool {
    ![
        header::HOST,
        header::CONTENT_LENGTH,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
    ]
    .contains(name)
}

async fn forward(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return error_response(format!("recorder: reading the request body: {e}")),
    };
    let mut out = inner
        .http
        .request(parts.method.clone(), format!("{}{target}", inner.upstream));
    for (k, v) in parts.headers.iter().filter(|(k, _)| forwardable(k)) {
        out = out.header(k, v);
    }
    let request_ct = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let request_body = if bytes.is_empty() {
        None
    } else {
        as_json(&bytes, request_ct)
    };
    let request_len = bytes.len();
    let resp = match out.body(bytes).send().await {
        Ok(r) => r,
        Err(e) => return error_response(format!("recorder: forwarding {target}: {e}")),
    };
    let status = resp.status();
    let headers = resp.headers().clone();
    let resp_bytes = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => {
            return error_response(format!("recorder: reading the response of {target}: {e}"))
        }
    };
    let response_ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let exchange = Exchange {
        method: parts.method.to_string(),
        target,
        request_body,
        request_len,
        status: status.as_u16(),
        response_body: as_json(&resp_bytes, response_ct),
        response_headers: headers.clone(),
    };
    if let Ok(mut g) = inner.log.lock() {
        g.push(exchange);
    }
    let mut builder = Response::builder().status(status);
    for (k, v) in headers.iter().filter(|(k, _)| forwardable(k)) {
        builder = builder.header(k, v);
    }
    builder
        .body(Body::from(resp_bytes))
        .unwrap_or_else(|e| error_response(format!("recorder: {e}")))
}

fn error_response(message: String) -> Response {
    let mut r = Response::new(Body::from(message));
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    r
}
