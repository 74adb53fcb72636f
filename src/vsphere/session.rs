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

    /// Polls `check` until it yields a value or `deadline` has passed
    /// (then a [`VsphereError::Deadline`] naming `what`), pausing as
    /// [`poll_pause`] says, the first look included: every caller has just
    /// started what it waits for (a task, a guest process, a power-on, a
    /// reboot), which is never over the moment it began, so a look at once
    /// is a request that only ever answers "not yet". What ends within the
    /// first pause is seen a quarter interval after it began.
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
        let started = Instant::now();
        loop {
            let left = deadline.saturating_sub(started.elapsed());
            tokio::time::sleep(self.poll_pause(started.elapsed()).min(left)).await;
            if let Some(v) = check().await? {
                return Ok(v);
            }
            if started.elapsed() >= deadline {
                return Err(VsphereError::Deadline {
                    what: what.to_string(),
                    after: deadline,
                });
            }
        }
    }

    /// The pause before the next look at something that has been going on
    /// for `elapsed` (see [`poll_pause`]), for waits the stages run themselves.
    pub fn poll_pause(&self, elapsed: Duration) -> Duration {
        poll_pause(elapsed, self.t().timeouts.poll_interval)
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

/// How long to wait before looking again, `elapsed` into a wait, with the
/// configured poll interval `base`. A quarter of the time waited so far,
/// so a look lands at most a quarter late: a guest script or a VI task
/// that takes a second is seen done within a quarter second, not a whole
/// interval after (a build runs a dozen of them, and a whole interval each
/// was most of gild's own time in a build). At least a quarter of `base`,
/// so vCenter is never polled faster than four times an interval; at most
/// `base` for the first 16 intervals (Tools starting, a reboot, sysprep:
/// seen over within an interval), then a sixteenth of the wait (under 7 %
/// late), and never more than 8× `base`: a wait that has run for minutes
/// usually runs for more, and vCenter should not pay for gild's
/// impatience.
pub(crate) fn poll_pause(elapsed: Duration, base: Duration) -> Duration {
    let ceiling = base.max(elapsed / 16).min(base * 8);
    (elapsed / 4).clamp(base / 4, ceiling)
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
    fn poll_pauses_are_a_quarter_of_the_wait_within_their_bounds() {
        let base = Duration::from_secs(2);
        let at = |s: f64| poll_pause(Duration::from_secs_f64(s), base).as_secs_f64();
        // A fresh wait: a quarter interval, not a whole one.
        assert_eq!(at(0.0), 0.5);
        assert_eq!(at(1.0), 0.5);
        // Then a quarter of the time waited ...
        assert_eq!(at(6.0), 1.5);
        // ... at most an interval for the first 16 ...
        assert_eq!(at(30.0), 2.0);
        assert_eq!(at(64.0), 4.0);
        // ... then a sixteenth of the wait, at most eight intervals.
        assert_eq!(at(128.0), 8.0);
        assert_eq!(at(3600.0), 16.0);
    }

    #[test]
    fn poll_pauses_never_shrink_as_a_wait_goes_on() {
        let base = Duration::from_millis(100);
        let mut last = Duration::ZERO;
        for ms in (0..600_000).step_by(250) {
            let p = poll_pause(Duration::from_millis(ms), base);
            assert!(p >= last, "{ms} ms: {p:?} after {last:?}");
            last = p;
        }
    }
}
