//! Request execution: one pooled `reqwest::Client` per vCenter, retries of
//! idempotent calls, one transparent re-login after a session expiry, error
//! typing and redacted request tracing.
//!
//! Every request is described by a [`Call`] naming an entry of
//! [`ops::OPERATIONS`](super::ops::OPERATIONS); nothing builds a URL by hand.
//!
//! Retry rules:
//! - idempotent operations are repeated on transient failures (connection
//!   errors, 503, 500 RESOURCE_BUSY) with the configured backoff;
//! - non-idempotent ones are repeated here only when the connection was
//!   never made (nothing was sent). Anything else is returned to the
//!   caller, which looks for the result before trying again (see
//!   `Client::recover_then_retry`).
//!
//! Re-login: a 401 on a call made with the `/api` session is answered by
//! checking the session (`GET /api/session`). Guest operations also answer
//! 401 for bad *guest* credentials, and those must not be "fixed" by a new
//! vCenter session: only when the session itself is gone does the client
//! log in again (once per call) and repeat the call.

use super::config::Timeouts;
use super::error::VsphereError;
use super::ops::{Api, Operation};
use super::retry::RetryPolicy;
use super::tls;
use crate::secret::Secret;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::RwLock;
use std::time::Instant;
use url::Url;

pub(crate) const SESSION_HEADER: &str = "vmware-api-session-id";

/// How a call authenticates.
#[derive(Clone, Debug)]
pub(crate) enum Auth {
    None,
    /// HTTP Basic with the configured user (session create only).
    Basic,
    /// The `/api` session token, re-logging in once on expiry.
    Session,
    /// An explicit token (the VI/JSON session), no automatic re-login.
    Token(Secret),
}

/// One request, described by its operation.
pub(crate) struct Call<'a> {
    pub op: &'static Operation,
    pub params: &'a [(&'a str, &'a str)],
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// What is being done, for errors: `clone vm-42 to "win-build-1"`.
    pub what: String,
    /// Whether a 503 is retried here. A poll's 503 often means "not yet"
    /// (a guest that has not reported its address): the poll asks again
    /// on its own schedule, and retrying inside it would only add the
    /// retry policy's delays to the wait.
    pub retry_unavailable: bool,
}

impl<'a> Call<'a> {
    pub fn new(
        op: &'static Operation,
        params: &'a [(&'a str, &'a str)],
        what: impl Into<String>,
    ) -> Self {
        Call {
            op,
            params,
            query: Vec::new(),
            body: None,
            what: what.into(),
            retry_unavailable: true,
        }
    }

    /// A poll: a 503 is answered at once (see `retry_unavailable`).
    pub fn polled(mut self) -> Self {
        self.retry_unavailable = false;
        self
    }

    /// Sets the JSON body, encoded now so a value that cannot be encoded
    /// is an [`VsphereError::Encode`] naming this call (and nothing is
    /// sent) instead of a panic in `serde_json::json!`.
    pub fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Result<Self, VsphereError> {
        self.body = Some(encode(&self.what, body)?);
        Ok(self)
    }

    pub fn query(mut self, query: Vec<(String, String)>) -> Self {
        self.query = query;
        self
    }
}

/// Encodes a request body for the call described by `what`; the one
/// place a body becomes JSON, so an encoding failure is always an
/// [`VsphereError::Encode`] naming the call.
pub(crate) fn encode<T: serde::Serialize + ?Sized>(
    what: &str,
    body: &T,
) -> Result<Value, VsphereError> {
    serde_json::to_value(body).map_err(|source| VsphereError::Encode {
        what: what.to_string(),
        source,
    })
}

/// A successful answer.
pub(crate) struct Reply {
    pub headers: reqwest::header::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, VsphereError> {
        serde_json::from_slice(&self.body).map_err(|e| VsphereError::decode(what, &self.body, e))
    }
}

pub(crate) struct Transport {
    /// `/api` and `/sdk` calls: HTTP/2 when the server offers it.
    pub http: reqwest::Client,
    /// Guest transfer URLs: HTTP/1.1. On a real vCenter they point at the
    /// ESXi host (another server), and one long stream gains nothing from
    /// HTTP/2 but its flow-control windows.
    pub transfer_http: reqwest::Client,
    pub base: Url,
    pub user: String,
    password: Secret,
    pub retry: RetryPolicy,
    pub timeouts: Timeouts,
    token: RwLock<Option<Secret>>,
    relogin: tokio::sync::Mutex<()>,
}

impl Transport {
    pub fn new(
        (http, transfer_http): (reqwest::Client, reqwest::Client),
        base: Url,
        user: String,
        password: Secret,
        retry: RetryPolicy,
        timeouts: Timeouts,
    ) -> Self {
        Transport {
            http,
            transfer_http,
            base,
            user,
            password,
            retry,
            timeouts,
            token: RwLock::new(None),
            relogin: Default::default(),
        }
    }

    pub fn password(&self) -> &Secret {
        &self.password
    }

    pub fn token(&self) -> Option<Secret> {
        self.token.read().ok().and_then(|t| t.clone())
    }

    pub fn set_token(&self, token: Option<Secret>) {
        if let Ok(mut t) = self.token.write() {
            *t = token;
        }
    }

    /// Runs a call with the `/api` session.
    pub async fn execute(&self, call: &Call<'_>) -> Result<Reply, VsphereError> {
        self.execute_as(call, Auth::Session).await
    }

    pub async fn execute_as(&self, call: &Call<'_>, auth: Auth) -> Result<Reply, VsphereError> {
        let used = self.token();
        match self.with_retries(call, &auth).await {
            Err(e) if e.is_unauthenticated() && matches!(auth, Auth::Session) => {
                let one_at_a_time = self.relogin.lock().await;
                // Another call may have logged in again while this one waited.
                let current = self.token();
                if same_token(&current, &used) {
                    if current.is_some() && self.session_is_valid().await == Some(true) {
                        // The session is fine: the 401 is about something
                        // else (guest credentials), so it is the answer.
                        return Err(e);
                    }
                    tracing::info!(
                        operation = call.op.name,
                        "vCenter session expired; logging in again"
                    );
                    self.login().await?;
                }
                drop(one_at_a_time);
                self.with_retries(call, &auth).await
            }
            other => other,
        }
    }

    pub(crate) async fn with_retries(
        &self,
        call: &Call<'_>,
        auth: &Auth,
    ) -> Result<Reply, VsphereError> {
        let mut backoff = self.retry.start();
        loop {
            match self.send_once(call, auth).await {
                Ok(reply) => return Ok(reply),
                Err(e) => {
                    let repeatable = if call.op.idempotent {
                        e.is_transient()
                    } else {
                        e.is_transient() && !e.is_ambiguous()
                    } && (call.retry_unavailable || e.status() != Some(503));
                    if repeatable && backoff.wait().await {
                        tracing::debug!(operation = call.op.name, retry = backoff.retries(), error = %e, "retrying");
                        continue;
                    }
                    return Err(e);
                }
            }
        }
    }

    /// One HTTP exchange, traced.
    pub async fn send_once(&self, call: &Call<'_>, auth: &Auth) -> Result<Reply, VsphereError> {
        let url = call.op.render(&self.base, call.params, &call.query)?;
        let mut req = self
            .http
            .request(call.op.method.to_reqwest(), url.clone())
            .timeout(self.timeouts.request)
            .header(reqwest::header::ACCEPT, "application/json");
        req = match auth {
            Auth::None => req,
            Auth::Basic => req.basic_auth(&self.user, Some(self.password.expose())),
            Auth::Session => match self.token() {
                Some(t) => req.header(SESSION_HEADER, t.expose()),
                None => req,
            },
            Auth::Token(t) => req.header(SESSION_HEADER, t.expose()),
        };
        if let Some(body) = &call.body {
            req = req.json(body);
        } else if call.op.method != super::ops::Method::Get {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json");
        }
        let started = Instant::now();
        let sent = req.send().await;
        let result = match sent {
            Err(e) => Err(send_error(&call.what, &url, e)),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                match resp.bytes().await {
                    Err(e) => Err(send_error(&call.what, &url, e)),
                    Ok(body) if (200..300).contains(&status) => Ok(Reply { headers, body }),
                    Ok(body) => Err(VsphereError::from_response(
                        call.what.clone(),
                        status,
                        &body,
                    )),
                }
            }
        };
        let status = match &result {
            Ok(_) => "2xx".to_string(),
            Err(e) => e
                .status()
                .map(|s| s.to_string())
                .unwrap_or_else(|| "none".into()),
        };
        tracing::debug!(
            operation = call.op.name,
            request = %describe_request(call.op, &url, auth, call.body.as_ref()),
            status = %status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "vCenter call"
        );
        result
    }
}

fn same_token(a: &Option<Secret>, b: &Option<Secret>) -> bool {
    a.as_ref().map(Secret::expose) == b.as_ref().map(Secret::expose)
}

/// Turns a reqwest failure into one clear error: an untrusted certificate
/// gets its own variant (its reason says what to configure); otherwise a
/// [`VsphereError::Transport`] with the short kind of failure in its line
/// and reqwest's error, URL removed, as its source: `{:#}` then reads
/// "... (cannot connect): error sending request: ...: Connection refused".
/// The URL is dropped because a transfer URL's query is its ticket; the
/// line names the origin and path instead.
pub(crate) fn send_error(what: &str, url: &Url, e: reqwest::Error) -> VsphereError {
    let origin = url.origin().ascii_serialization();
    if let Some(reason) = tls::certificate_problem(&e) {
        return VsphereError::UntrustedCertificate {
            url: origin,
            reason,
        };
    }
    let problem = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "connection lost"
    };
    VsphereError::Transport {
        what: what.to_string(),
        url: origin + url.path(),
        problem,
        sent: !e.is_connect(),
        source: e.without_url(),
    }
}

/// A one-line description of a request for the debug log, with every
/// secret replaced by `***`: the auth header's value, any `credentials`
/// object, any `password`-like field, and the query of one-time transfer
/// URLs (vCenter puts a ticket there).
pub(crate) fn describe_request(
    op: &Operation,
    url: &Url,
    auth: &Auth,
    body: Option<&Value>,
) -> String {
    let mut line = format!("{} {}", op.method.as_str(), url.path());
    if op.api != Api::Transfer {
        if let Some(q) = url.query() {
            line.push('?');
            line.push_str(q);
        }
    }
    match auth {
        Auth::None => {}
        Auth::Basic => line.push_str(" [Authorization: Basic ***]"),
        Auth::Session | Auth::Token(_) => line.push_str(&format!(" [{SESSION_HEADER}: ***]")),
    }
    if let Some(body) = body {
        line.push(' ');
        line.push_str(&redact(body).to_string());
    }
    line
}

/// A copy of `value` with secrets masked (see [`describe_request`]).
pub fn redact(value: &Value) -> Value {
    const SECRET_KEYS: &[&str] = &["credentials", "password", "saml_token", "token"];
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if SECRET_KEYS
                        .iter()
                        .any(|s| lower == *s || lower.ends_with("password"))
                    {
                        (k.clone(), Value::String("***".into()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vsphere::ops;
    use crate::vsphere::wire::GuestCredentials;

    #[test]
    fn traced_process_create_shows_no_password_anywhere() {
        let creds = GuestCredentials {
            user_name: "Administrator".into(),
            password: Secret::new("Sup3r-S3cret!"),
        };
        let body = serde_json::json!({
            "credentials": creds.to_wire(),
            "spec": {"path": "C:\\Windows\\System32\\cmd.exe", "arguments": "/c exit 0"},
        });
        let url = ops::PROCESS_CREATE
            .render(&Url::parse("https://vc/").unwrap(), &[("vm", "vm-1")], &[])
            .unwrap();
        let line = describe_request(
            &ops::PROCESS_CREATE,
            &url,
            &Auth::Token(Secret::new("tok-123")),
            Some(&body),
        );
        assert!(!line.contains("Sup3r-S3cret!"), "{line}");
        assert!(!line.contains("tok-123"), "{line}");
        assert!(
            line.contains("cmd.exe"),
            "the rest of the body stays readable: {line}"
        );
        assert!(
            line.starts_with("POST /api/vcenter/vm/vm-1/guest/processes?action=create"),
            "{line}"
        );
    }

    #[test]
    fn vi_login_body_password_is_masked_and_basic_auth_is_marked() {
        let body = serde_json::json!({"userName": "admin", "password": "hunter2", "nested": [{"adminPassword": "x1"}]});
        let url =
            Url::parse("https://vc/sdk/vim25/8.0.3.0/SessionManager/SessionManager/Login").unwrap();
        let line = describe_request(&ops::VI_LOGIN, &url, &Auth::Basic, Some(&body));
        assert!(!line.contains("hunter2") && !line.contains("x1"), "{line}");
        assert!(line.contains("Authorization: Basic ***"), "{line}");
    }

    #[test]
    fn transfer_url_ticket_is_not_logged() {
        let url = Url::parse("https://esx-1/guestFile?id=17&token=52f0-secret-ticket").unwrap();
        let line = describe_request(&ops::TRANSFER_PUT, &url, &Auth::None, None);
        assert_eq!(line, "PUT /guestFile");
    }
}
