//! What a [`Client`](super::Client) needs to reach one vCenter.

use super::retry::RetryPolicy;
use crate::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// `https://vc.example.com/` (any path is ignored; `/api` and
    /// `/sdk/vim25` are appended).
    pub url: Url,
    pub user: String,
    pub password: Secret,
    pub tls: TlsOptions,
    pub retry: RetryPolicy,
    /// The VI/JSON release to use when the server has no
    /// `system?action=hello` (before 8.0.2.0). `None` means 8.0.1.0, the
    /// first release with VI/JSON.
    pub vi_release: Option<String>,
    pub timeouts: Timeouts,
}

impl ClientConfig {
    pub fn new(url: Url, user: impl Into<String>, password: Secret) -> Self {
        ClientConfig {
            url,
            user: user.into(),
            password,
            tls: TlsOptions::default(),
            retry: RetryPolicy::default(),
            vi_release: None,
            timeouts: Timeouts::default(),
        }
    }
}

/// How the server's certificate is checked. The default verifies it
/// against the public web roots; `ca_file` adds a private CA (vCenter's
/// VMCA), `thumbprint` pins the leaf certificate instead of checking its
/// chain, and `insecure` turns checking off (logged as a warning on every
/// connect).
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    pub ca_file: Option<PathBuf>,
    /// SHA-256 of the server's leaf certificate, hex, colons optional
    /// (`AB:CD:...` as govc prints it).
    pub thumbprint: Option<String>,
    pub insecure: bool,
}

#[derive(Clone, Debug)]
pub struct Timeouts {
    pub connect: Duration,
    /// One `/api` or `/sdk` call, its answer included.
    pub request: Duration,
    /// One guest file transfer (a streamed PUT or GET of a whole file).
    pub transfer: Duration,
    /// Between two polls of a guest process, a task or a guest state.
    pub poll_interval: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(20),
            request: Duration::from_secs(120),
            transfer: Duration::from_secs(3600),
            poll_interval: Duration::from_secs(2),
        }
    }
}

impl Timeouts {
    /// Short timeouts and a fast poll for tests against the simulator.
    pub fn for_tests() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
            transfer: Duration::from_secs(60),
            poll_interval: Duration::from_millis(10),
        }
    }
}
