//! The client's one error type.
//!
//! Every variant carries what was being done (`what`: "clone vm-42 to
//! \"win-build-1\"") so the Display is a complete, single line a person can
//! act on, and vCenter's own words when it gave any. A lower-level cause
//! (the reqwest, serde_json or io error) is kept as the `#[source]`, not
//! flattened into the text, so `{:#}` (anyhow at the command edge) prints
//! the whole chain and code can still downcast it. Callers branch on
//! [`VsphereError::error_type`] / [`VsphereError::fault_type`] or the
//! `is_*` helpers instead of matching strings.

use super::wire::{ErrorType, VapiErrorBody, ViFaultBody};
use std::time::Duration;

/// A cause of any kind, for the variants whose sources vary (TLS set-up
/// reads files, parses PEM and builds rustls and reqwest configurations).
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum VsphereError {
    /// An `/api` call answered with a vAPI error body.
    #[error("{what}: vCenter said {}: {message}", error_type.as_wire())]
    Api {
        what: String,
        status: u16,
        error_type: ErrorType,
        message: String,
    },

    /// A `/sdk/vim25` call (or a VI task) ended in a fault.
    #[error("{what}: vCenter said {fault_type}: {message}")]
    Fault {
        what: String,
        status: u16,
        fault_type: String,
        message: String,
    },

    /// A status code with a body that is neither a vAPI error nor a VI fault
    /// (a proxy page, an empty 500).
    #[error("{what}: unexpected HTTP {status} from vCenter: {excerpt}")]
    Http {
        what: String,
        status: u16,
        excerpt: String,
    },

    /// The request did not get an answer (refused, reset, timed out).
    /// `sent` is false only when the connection was never made, which is
    /// what makes a blind retry of a non-idempotent call safe. `problem`
    /// is the short kind ("timed out", "cannot connect", "connection
    /// lost"); the source is reqwest's error with its URL removed (a
    /// transfer URL's query is a ticket).
    #[error("{what}: no answer from {url} ({problem})")]
    Transport {
        what: String,
        url: String,
        problem: &'static str,
        sent: bool,
        #[source]
        source: reqwest::Error,
    },

    #[error(
        "the server at {url} presented a certificate that is not trusted ({reason}); \
         set ca_file to its CA bundle (PEM) or thumbprint to its SHA-256 fingerprint"
    )]
    UntrustedCertificate { url: String, reason: String },

    /// An answer that is not the JSON the operation returns.
    #[error("{what}: the answer is not the JSON expected (it starts {excerpt})")]
    Decode {
        what: String,
        excerpt: String,
        #[source]
        source: serde_json::Error,
    },

    /// An answer that parsed but lacks what the API promises (no session
    /// token, no task reference, a transfer URL that is not a URL).
    #[error("{what}: unexpected answer from vCenter: {reason}")]
    Unexpected { what: String, reason: String },

    /// A request body could not be encoded as JSON (a map with non-string
    /// keys, a failing `Serialize` impl). Nothing was sent.
    #[error("{what}: the request body could not be encoded as JSON")]
    Encode {
        what: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("{kind} {name} not found")]
    NotFound { kind: &'static str, name: String },

    #[error("{kind} name {name:?} is ambiguous, it matches: {}", candidates.join(", "))]
    Ambiguous {
        kind: &'static str,
        name: String,
        candidates: Vec<String>,
    },

    #[error("inventory path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },

    #[error("client configuration: {field}: {reason}")]
    Config {
        field: &'static str,
        reason: String,
        #[source]
        source: Option<Cause>,
    },

    /// A local file could not be opened, read or written (`doing`:
    /// "open", "write", ...).
    #[error("{what}: cannot {doing} {path}")]
    Io {
        what: String,
        doing: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{what}: still not done after {after:?}")]
    Deadline { what: String, after: Duration },
}

impl VsphereError {
    /// A configuration error without an underlying cause.
    pub fn config(field: &'static str, reason: impl Into<String>) -> Self {
        VsphereError::Config {
            field,
            reason: reason.into(),
            source: None,
        }
    }

    /// A configuration error caused by `source`.
    pub fn config_caused(
        field: &'static str,
        reason: impl Into<String>,
        source: impl Into<Cause>,
    ) -> Self {
        VsphereError::Config {
            field,
            reason: reason.into(),
            source: Some(source.into()),
        }
    }

    pub(crate) fn unexpected(what: impl Into<String>, reason: impl Into<String>) -> Self {
        VsphereError::Unexpected {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// An answer that `serde_json` refused, with the start of the body.
    pub(crate) fn decode(what: impl Into<String>, body: &[u8], source: serde_json::Error) -> Self {
        VsphereError::Decode {
            what: what.into(),
            excerpt: excerpt(body),
            source,
        }
    }

    /// The vAPI `error_type`, when vCenter sent one.
    pub fn error_type(&self) -> Option<ErrorType> {
        match self {
            VsphereError::Api { error_type, .. } => Some(*error_type),
            _ => None,
        }
    }

    /// The VI fault's `_typeName` (`InvalidPowerState`), when it is a fault.
    pub fn fault_type(&self) -> Option<&str> {
        match self {
            VsphereError::Fault { fault_type, .. } => Some(fault_type),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            VsphereError::Api { status, .. }
            | VsphereError::Fault { status, .. }
            | VsphereError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, VsphereError::NotFound { .. })
            || self.error_type() == Some(ErrorType::NotFound)
            || self.fault_type() == Some("ManagedObjectNotFound")
    }

    pub fn is_already_exists(&self) -> bool {
        self.error_type() == Some(ErrorType::AlreadyExists)
            || matches!(
                self.fault_type(),
                Some("DuplicateName") | Some("AlreadyExists")
            )
    }

    pub fn is_unauthenticated(&self) -> bool {
        self.status() == Some(401)
            || self.error_type() == Some(ErrorType::Unauthenticated)
            || matches!(
                self.fault_type(),
                Some("NotAuthenticated") | Some("InvalidLogin")
            )
    }

    /// Worth another try: vCenter (or its proxy) said "not now", or the
    /// connection failed. Whether a retry is *safe* is the caller's call
    /// (see `transport` and the non-idempotent helpers).
    pub fn is_transient(&self) -> bool {
        match self {
            VsphereError::Transport { .. } => true,
            VsphereError::Api {
                error_type, status, ..
            } => {
                *status == 503
                    || matches!(
                        error_type,
                        ErrorType::ServiceUnavailable | ErrorType::ResourceBusy
                    )
            }
            VsphereError::Http { status, .. } => matches!(status, 502..=504),
            _ => false,
        }
    }

    /// The request may have reached vCenter and been acted on although no
    /// answer came back: a non-idempotent call must look for its result
    /// before trying again.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            VsphereError::Transport { sent, .. } => *sent,
            other => other.is_transient(),
        }
    }

    /// Builds the typed error for a non-success answer: a vAPI body, a VI
    /// fault, or (neither) an excerpt of whatever came back.
    pub fn from_response(what: String, status: u16, body: &[u8]) -> Self {
        if let Ok(v) = serde_json::from_slice::<VapiErrorBody>(body) {
            return VsphereError::Api {
                what,
                status,
                error_type: v.error_type,
                message: v.message().to_string(),
            };
        }
        if let Ok(f) = serde_json::from_slice::<ViFaultBody>(body) {
            return VsphereError::Fault {
                what,
                status,
                fault_type: f.type_name.clone(),
                message: f.message(),
            };
        }
        VsphereError::Http {
            what,
            status,
            excerpt: excerpt(body),
        }
    }
}

/// The first line of a body, bounded, for errors about answers we could not
/// parse: enough to recognise a proxy's HTML page, never a megabyte dump.
pub(crate) fn excerpt(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(body);
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.is_empty() {
        return "(empty body)".to_string();
    }
    let mut cut: String = line.chars().take(MAX).collect();
    if line.chars().count() > MAX {
        cut.push('…');
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn vapi_error_body_becomes_typed_error_naming_operation_and_message() {
        let body = br#"{"error_type":"ALREADY_EXISTS","messages":[{"id":"x","default_message":"An object named win-build-1 already exists","args":[]}]}"#;
        let e = VsphereError::from_response("clone vm-42 to \"win-build-1\"".into(), 400, body);
        assert!(e.is_already_exists());
        assert_eq!(e.error_type(), Some(ErrorType::AlreadyExists));
        assert_eq!(
            e.to_string(),
            "clone vm-42 to \"win-build-1\": vCenter said ALREADY_EXISTS: An object named win-build-1 already exists"
        );
    }

    #[test]
    fn vi_fault_body_becomes_fault_error_with_type_name() {
        let body = br#"{"_typeName":"InvalidPowerState","faultMessage":[{"key":"k","arg":[],"message":"The VM is powered on"}]}"#;
        let e = VsphereError::from_response("mark vm-7 as template".into(), 500, body);
        assert_eq!(e.fault_type(), Some("InvalidPowerState"));
        assert_eq!(
            e.to_string(),
            "mark vm-7 as template: vCenter said InvalidPowerState: The VM is powered on"
        );
        assert!(!e.is_transient());
    }

    #[test]
    fn unparseable_body_is_kept_as_a_short_excerpt() {
        let html = format!("<html>{}</html>\nsecond line", "x".repeat(500));
        let e = VsphereError::from_response("get vm vm-1".into(), 502, html.as_bytes());
        let text = e.to_string();
        assert!(text.contains("unexpected HTTP 502"), "{text}");
        assert!(!text.contains("second line"));
        assert!(text.len() < 300, "{}", text.len());
        assert!(e.is_transient());
    }

    #[test]
    fn busy_and_unavailable_are_transient_but_not_found_is_not() {
        let busy = VsphereError::from_response(
            "x".into(),
            500,
            br#"{"error_type":"RESOURCE_BUSY","messages":[]}"#,
        );
        let gone = VsphereError::from_response(
            "x".into(),
            404,
            br#"{"error_type":"NOT_FOUND","messages":[]}"#,
        );
        assert!(busy.is_transient() && busy.is_ambiguous());
        assert!(!gone.is_transient() && gone.is_not_found());
        let refused = VsphereError::Transport {
            what: "x".into(),
            url: "u".into(),
            problem: "cannot connect",
            sent: false,
            source: a_reqwest_error(),
        };
        assert!(refused.is_transient() && !refused.is_ambiguous());
    }

    /// reqwest's errors cannot be built directly; a request to a URL
    /// without a host fails in the builder.
    fn a_reqwest_error() -> reqwest::Error {
        reqwest::Client::new()
            .get("http://")
            .build()
            .expect_err("a URL without a host is refused")
    }

    /// The message of every link of `e`'s source chain, outermost first.
    fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
        let mut out = vec![e.to_string()];
        let mut cur = e.source();
        while let Some(next) = cur {
            out.push(next.to_string());
            cur = next.source();
        }
        out
    }

    #[test]
    fn decode_error_keeps_the_serde_error_as_its_source_and_shows_the_body_start() {
        let body = b"<html>proxy error</html>";
        let cause = serde_json::from_slice::<serde_json::Value>(body).unwrap_err();
        let e = VsphereError::decode("get VM vm-1", body, cause);
        let links = chain(&e);
        assert_eq!(
            links[0],
            "get VM vm-1: the answer is not the JSON expected (it starts <html>proxy error</html>)"
        );
        assert!(links[1].contains("expected value"), "{links:?}");
        assert!(e
            .source()
            .is_some_and(|s| s.downcast_ref::<serde_json::Error>().is_some()));
    }

    #[test]
    fn io_error_names_what_and_the_file_and_keeps_the_io_error() {
        let e = VsphereError::Io {
            what: "upload a.bin to C:\\a.bin in vm-1".into(),
            doing: "open",
            path: "/tmp/a.bin".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "No such file"),
        };
        assert_eq!(
            chain(&e),
            [
                "upload a.bin to C:\\a.bin in vm-1: cannot open /tmp/a.bin",
                "No such file"
            ]
        );
    }

    #[test]
    fn transport_error_is_one_line_and_chains_to_reqwest() {
        let e = VsphereError::Transport {
            what: "get VM vm-1".into(),
            url: "https://vc/api/vcenter/vm/vm-1".into(),
            problem: "connection lost",
            sent: true,
            source: a_reqwest_error(),
        };
        let links = chain(&e);
        assert_eq!(
            links[0],
            "get VM vm-1: no answer from https://vc/api/vcenter/vm/vm-1 (connection lost)"
        );
        assert!(links.len() >= 2, "{links:?}");
        assert!(links.iter().all(|l| !l.contains('\n')), "{links:?}");
        assert!(e.is_transient() && e.is_ambiguous());
    }

    #[test]
    fn encode_and_config_errors_keep_their_causes() {
        let mut bad_keys = std::collections::BTreeMap::new();
        bad_keys.insert(vec![1u8], 1);
        let cause = serde_json::to_value(&bad_keys).unwrap_err();
        let e = VsphereError::Encode {
            what: "clone vm-1 to \"x\"".into(),
            source: cause,
        };
        let links = chain(&e);
        assert_eq!(
            links[0],
            "clone vm-1 to \"x\": the request body could not be encoded as JSON"
        );
        assert!(links[1].contains("key must be a string"), "{links:?}");
        assert!(!e.is_transient());

        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = VsphereError::config_caused("tls.ca_file", "cannot read /etc/ca.pem", io);
        assert_eq!(
            chain(&e),
            [
                "client configuration: tls.ca_file: cannot read /etc/ca.pem",
                "denied"
            ]
        );
    }
}
