//! The [`Client`] handle and its `/api` session.
//!
//! A `Client` is a cheap `Arc` handle: clones share one connection pool
//! (one `reqwest::Client`, keep-alive) and one session.
//!
//! Logging out: call [`Client::close`] (or [`Client::logout`]) at the end
//! of a build and on its error paths; it waits for `DELETE /api/session`
//! (and the VI/JSON `Logout` when a separate VI session was opened). As a
//! guard for paths that never get there (a `?` that returns early, a
//! panic), dropping the last handle of a client that was not closed
//! spawns a best-effort `DELETE /api/session` on the current tokio
//! runtime. It cannot be awaited from `Drop`, so it may not finish if the
//! runtime is shutting down; vCenter then expires the session itself.

use super::config::ClientConfig;
use super::error::VsphereError;
use super::ops;
use super::tls;
use super::transport::{Auth, Call, Reply, Transport, SESSION_HEADER};
use super::vijson::ViState;
use super::wire::{ErrorType, SessionInfo};
use crate::secret::Secret;
use std::borrow::Borrow;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use url::Url;

/// A logged-in connection to one vCenter.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub t: Transport,
    pub vi: ViState,
    closed: AtomicBool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.inner.t.base.as_str())
            .field("user", &self.inner.t.user)
            .finish()
    }
}

impl Client {
    /// Builds the connection pool and logs in (`POST /api/session`).
    pub async fn connect(cfg: ClientConfig) -> Result<Client, VsphereError> {
        let scheme = cfg.url.scheme();
        if scheme != "https" && scheme != "http" {
            return Err(VsphereError::config(
                "url",
                format!("{} is not an http(s) URL", cfg.url),
            ));
        }
        if cfg.url.host_str().is_none() {
            return Err(VsphereError::config(
                "url",
                format!("{} has no host", cfg.url),
            ));
        }
        if scheme == "https" && cfg.tls.insecure && cfg.tls.thumbprint.is_none() {
            tracing::warn!(
                url = %cfg.url,
                "TLS certificate verification is OFF (insecure): anyone on the network path can pose as this vCenter; \
                 use ca_file or thumbprint instead"
            );
        }
        let http = http_client(tls::rustls_config(&cfg.tls)?, &cfg)?;
        let transfer_http = http_client(tls::rustls_config_http1(&cfg.tls)?, &cfg)?;
        let mut base = cfg.url.clone();
        base.set_path("/");
        base.set_query(None);
        base.set_fragment(None);
        let t = Transport::new(
            (http, transfer_http),
            base,
            cfg.user,
            cfg.password,
            cfg.retry,
            cfg.timeouts,
        );
        t.login().await?;
        let vi = ViState::new(cfg.vi_release);
        Ok(Client {
            inner: Arc::new(Inner {
                t,
                vi,
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// `https://vc/` as configured (path dropped).
    pub fn base_url(&self) -> &Url {
        &self.inner.t.base
    }

    /// The pause between polls of a guest state, process or task (the
    /// first one; polls back off from here).
    pub fn poll_interval(&self) -> std::time::Duration {
        self.t().timeouts.poll_interval
    }

    pub fn user(&self) -> &str {
        &self.inner.t.user
    }

    /// `GET /api/session`.
    pub async fn session_info(&self) -> Result<SessionInfo, VsphereError> {
        let what = "read the current vCenter session";
        self.t()
            .execute(&Call::new(&ops::SESSION_GET, &[], what))
            .await?
            .json(what)
    }

    /// Ends the VI/JSON session (if one of its own was opened) and the
    /// `/api` session. Later calls on any clone of this handle fail with
    /// 401 unless they log in again, which they do transparently; use
    /// [`Client::close`] to make the end final.
    pub async fn logout(&self) -> Result<(), VsphereError> {
        let vi_result = self.vi_logout().await;
        let Some(token) = self.t().token() else {
            return vi_result;
        };
        let what = format!(
            "log out of {}",
            self.t().base.origin().ascii_serialization()
        );
        self.t().set_token(None);
        let ended = self
            .t()
            .with_retries(
                &Call::new(&ops::SESSION_DELETE, &[], what),
                &Auth::Token(token),
            )
            .await;
        already_ended_is_ok(ended)?;
        vi_result
    }

    /// Logs out and disarms the drop guard.
    pub async fn close(self) -> Result<(), VsphereError> {
        self.inner.closed.store(true, Ordering::SeqCst);
        self.logout().await
    }

    pub(crate) fn t(&self) -> &Transport {
        &self.inner.t
    }

    /// Runs a call (owned, or borrowed by an attempt that may be repeated)
    /// with the `/api` session and decodes its JSON answer.
    pub(crate) async fn json<'a, T: serde::de::DeserializeOwned>(
        &self,
        call: impl Borrow<Call<'a>>,
    ) -> Result<T, VsphereError> {
        let call = call.borrow();
        self.t().execute(call).await?.json(&call.what)
    }

    /// Runs a call with the `/api` session, ignoring the (empty) answer.
    pub(crate) async fn unit<'a>(&self, call: impl Borrow<Call<'a>>) -> Result<(), VsphereError> {
        self.t().execute(call.borrow()).await.map(|_: Reply| ())
    }

    /// Runs a non-idempotent `attempt`. After an ambiguous failure (the
    /// request may have been carried out although no answer came back),
    /// `look` checks whether it was; if so its result is returned, if not
    /// the attempt is retried within the retry policy.
    pub(crate) async fn recover_then_retry<T, A, AF, L, LF>(
        &self,
        what: &str,
        attempt: A,
        look: L,
    ) -> Result<T, VsphereError>
    where
        A: Fn() -> AF,
        AF: Future<Output = Result<T, VsphereError>>,
        L: Fn() -> LF,
        LF: Future<Output = Result<Option<T>, VsphereError>>,
    {
        let mut backoff = self.t().retry.start();
        loop {
            let err = match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_ambiguous() => e,
                Err(e) => return Err(e),
            };
            match look().await {
                Ok(Some(found)) => {
                    tracing::info!(%what, error = %err, "the earlier attempt went through after all; using its result");
                    return Ok(found);
                }
                Ok(None) => {}
                Err(look_err) => {
                    tracing::warn!(%what, error = %look_err, "could not check whether the earlier attempt went through");
                    return Err(err);
                }
            }
            if !backoff.wait().await {
                return Err(err);
            }
            tracing::info!(%what, error = %err, retry = backoff.retries(), "not done yet; trying again");
        }
    }

    /// Runs an action that vCenter refuses with ALREADY_IN_DESIRED_STATE
    /// once it has taken effect (hardware and Tools upgrades, connecting
    /// the Tools installer). After an ambiguous failure it is sent again;
    /// on that repeat the refusal means the earlier attempt went through.
    /// On the first attempt the refusal is the caller's answer.
    pub(crate) async fn repeat_until_in_state<A, AF>(
        &self,
        what: &str,
        attempt: A,
    ) -> Result<(), VsphereError>
    where
        A: Fn() -> AF,
        AF: Future<Output = Result<(), VsphereError>>,
    {
        // Atomic rather than a Cell: the futures must stay Send.
        let repeated = AtomicBool::new(false);
        self.recover_then_retry(
            what,
            || {
                let repeat = repeated.swap(true, Ordering::Relaxed);
                let sent = attempt();
                async move {
                    match sent.await {
                        Err(e) if repeat && e.error_type() == Some(ErrorType::AlreadyInDesiredState) => {
                            tracing::info!(error = %e, "the earlier attempt went through after all");
                            Ok(())
                        }
                        other => other,
                    }
                }
            },
            || async { Ok(None) },
        )
        .await
    }

    /// Polls `check` every `poll_interval` until it yields a value or
    /// `deadline` has passed (then a [`VsphereError::Deadline`] naming
    /// `what`), pausing longer each time (see [`next_poll_interval`]).
    /// Errors from `check` end the wait: each call in it has already had
    /// the transport's retries, so an error here is vCenter's answer.
    pub(crate) async fn poll_until<T, F, Fut>(
        &self,
        what: &str,
        deadline: Duration,
        mut check: F,
    ) -> Result<T, VsphereError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, VsphereError>>,
    {
        // Polls back off (×1.5 up to 8× the configured interval): a state
        // that did not change in the first seconds usually takes minutes,
        // and vCenter should not pay for gild's impatience.
        let started = Instant::now();
        let base = self.t().timeouts.poll_interval;
        let mut interval = base;
        loop {
            if let Some(v) = check().await? {
                return Ok(v);
            }
            if started.elapsed() >= deadline {
                return Err(VsphereError::Deadline {
                    what: what.to_string(),
                    after: deadline,
                });
            }
            let left = deadline.saturating_sub(started.elapsed());
            tokio::time::sleep(interval.min(left)).await;
            interval = next_poll_interval(interval, base);
        }
    }
}

/// A logout refused because the session is not (or no longer) valid has
/// nothing left to end: vCenter expired it, or an earlier logout whose
/// answer was lost went through.
pub(crate) fn already_ended_is_ok<T>(r: Result<T, VsphereError>) -> Result<(), VsphereError> {
    match r {
        Err(e) if e.is_unauthenticated() => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

/// The pause after `current`: ×1.5, at most 8× `base`.
fn next_poll_interval(current: Duration, base: Duration) -> Duration {
    (current * 3 / 2).min(base * 8)
}

impl Transport {
    /// `POST /api/session` with Basic auth; stores the token.
    pub(crate) async fn login(&self) -> Result<(), VsphereError> {
        let what = format!(
            "log in to {} as {}",
            self.base.origin().ascii_serialization(),
            self.user
        );
        let reply = self
            .with_retries(
                &Call::new(&ops::SESSION_CREATE, &[], what.clone()),
                &Auth::Basic,
            )
            .await?;
        let token: String = reply.json(&what)?;
        if token.is_empty() {
            return Err(VsphereError::unexpected(
                what,
                "vCenter returned an empty session token",
            ));
        }
        self.set_token(Some(Secret::new(token)));
        Ok(())
    }

    /// Whether the current token is still a live session: `Some(true)`,
    /// `Some(false)` when vCenter says it is not, `None` when no answer
    /// came even after retries. Never re-logs in itself, because it is the
    /// re-login decision.
    pub(crate) async fn session_is_valid(&self) -> Option<bool> {
        let call = Call::new(&ops::SESSION_GET, &[], "check the vCenter session");
        match self.with_retries(&call, &Auth::Session).await {
            Ok(_) => Some(true),
            Err(e) if e.is_unauthenticated() => Some(false),
            Err(_) => None,
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        let Some(token) = self.t.token() else { return };
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Ok(url) = ops::SESSION_DELETE.render(&self.t.base, &[], &[]) else {
            return;
        };
        let http = self.t.http.clone();
        handle.spawn(async move {
            let sent = http
                .delete(url)
                .header(SESSION_HEADER, token.expose())
                .send()
                .await;
            if let Err(e) = sent {
                tracing::debug!(error = %e, "best-effort logout on drop failed");
            }
        });
    }
}

/// One pool for one vCenter: keep-alive connections reused by every call.
fn http_client(
    tls: rustls::ClientConfig,
    cfg: &ClientConfig,
) -> Result<reqwest::Client, VsphereError> {
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .connect_timeout(cfg.timeouts.connect)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| VsphereError::config_caused("http client", "cannot build the HTTP client", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_pauses_grow_by_half_up_to_eight_times_the_interval() {
        let base = Duration::from_millis(100);
        let mut pauses = vec![base];
        for _ in 0..7 {
            pauses.push(next_poll_interval(*pauses.last().unwrap(), base));
        }
        let ms: Vec<u128> = pauses.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [100, 150, 225, 337, 506, 759, 800, 800]);
    }
}
