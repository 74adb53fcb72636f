//! VI/JSON (`/sdk/vim25/{release}/...`), for the few vSphere Web Services
//! methods `/api` lacks (mark as template, rename, destroy, the `template`
//! flag) and their tasks.
//!
//! Release: negotiated once with `POST /api/vcenter/system?action=hello`
//! (8.0.2.0+); a vCenter without it (404) gets the configured release, or
//! 8.0.1.0, the first with VI/JSON.
//!
//! Session: from 8.0U3 the `/api` token is also a VI session, so the client
//! tries it first. When VI/JSON refuses it (401, `NotAuthenticated`,
//! `InvalidLogin`), the client logs in through `SessionManager.Login` and
//! uses that token for VI/JSON from then on (and logs it out on close).
//!
//! This module is the VI/JSON plumbing (release, session, calls, tasks);
//! the VM and folder methods built on it are in `vi_methods`.

use super::error::VsphereError;
use super::ops::{self, Operation};
use super::session::Client;
use super::transport::{encode, Auth, Call, Reply, SESSION_HEADER};
use super::wire::TaskId;
use crate::secret::Secret;
use serde::Serialize;
use serde_json::Value;
use std::future::Future;
use std::sync::RwLock;
use std::time::Duration;

/// The VI/JSON releases this client speaks, newest first.
pub const VI_RELEASES: &[&str] = &["9.0.0.0", "8.0.3.0", "8.0.2.0", "8.0.1.0"];

pub(crate) struct ViState {
    configured: Option<String>,
    release: tokio::sync::OnceCell<String>,
    /// A VI session of its own, when the `/api` token was refused.
    token: RwLock<Option<Secret>>,
    session_manager: RwLock<Option<String>>,
    login: tokio::sync::Mutex<()>,
}

impl ViState {
    pub fn new(configured: Option<String>) -> Self {
        ViState {
            configured,
            release: Default::default(),
            token: RwLock::new(None),
            session_manager: RwLock::new(None),
            login: Default::default(),
        }
    }

    fn token(&self) -> Option<Secret> {
        self.token.read().ok().and_then(|t| t.clone())
    }

    fn set_token(&self, token: Option<Secret>) {
        if let Ok(mut t) = self.token.write() {
            *t = token;
        }
    }
}

/// A VI task this client asked for: started, or found already in effect.
///
/// Starting a task is not idempotent, so after a lost answer the client
/// reads the state back first (`Client::start_task`); when the effect is
/// there (the new name, the VM gone, ...) there is no task id to wait for,
/// and [`Client::wait_task`] returns at once for `AlreadyDone`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ViTask {
    Started(TaskId),
    AlreadyDone,
}

impl From<TaskId> for ViTask {
    fn from(task: TaskId) -> Self {
        ViTask::Started(task)
    }
}

impl From<&TaskId> for ViTask {
    fn from(task: &TaskId) -> Self {
        ViTask::Started(task.clone())
    }
}

impl From<&ViTask> for ViTask {
    fn from(task: &ViTask) -> Self {
        task.clone()
    }
}

/// `{"api_releases": [...]}`, the body of `system?action=hello`.
#[derive(Serialize)]
struct Hello {
    api_releases: &'static [&'static str],
}

/// `SessionManager.Login` parameters.
#[derive(Serialize)]
struct Login<'a> {
    #[serde(rename = "userName")]
    user_name: &'a str,
    password: &'a str,
}

/// The state of a VI task as `wait_task` last saw it.
#[derive(Clone, Debug, PartialEq)]
pub enum TaskState {
    Queued,
    Running,
    Success(Option<Value>),
}

impl Client {
    /// The VI/JSON release in use (negotiated on first use).
    pub async fn vi_release(&self) -> Result<String, VsphereError> {
        let vi = &self.inner.vi;
        vi.release
            .get_or_try_init(|| async {
                let what = "negotiate the VI/JSON release";
                let call = Call::new(&ops::SYSTEM_HELLO, &[], what).json(&Hello {
                    api_releases: VI_RELEASES,
                })?;
                match self.t().execute(&call).await {
                    Ok(reply) => {
                        let answer: Value = reply.json(what)?;
                        match answer.get("api_release").and_then(Value::as_str) {
                            Some(r) if !r.is_empty() => Ok(r.to_string()),
                            _ => Err(VsphereError::config(
                                "vi_release",
                                format!(
                                    "vCenter shares no VI/JSON release with gild (gild offers {})",
                                    VI_RELEASES.join(", ")
                                ),
                            )),
                        }
                    }
                    Err(e) if e.status() == Some(404) => Ok(vi
                        .configured
                        .clone()
                        .unwrap_or_else(|| "8.0.1.0".to_string())),
                    Err(e) => Err(e),
                }
            })
            .await
            .cloned()
    }

    /// Calls a VI/JSON operation on managed object `mo_id`, with the VI
    /// session (logging in through SessionManager when needed, once).
    /// `body` is already encoded (see [`encode`]).
    pub(crate) async fn vi_call(
        &self,
        op: &'static Operation,
        mo_id: &str,
        body: Option<Value>,
        what: &str,
    ) -> Result<Reply, VsphereError> {
        let release = self.vi_release().await?;
        let params = [("release", release.as_str()), ("moId", mo_id)];
        let mut call = Call::new(op, &params, what);
        call.body = body;
        let mut logged_in = false;
        loop {
            let used = self.inner.vi.token().or_else(|| self.t().token());
            let Some(token) = used.clone() else {
                self.vi_login(&release, None).await?;
                logged_in = true;
                continue;
            };
            match self.t().execute_as(&call, Auth::Token(token)).await {
                Err(e) if e.is_unauthenticated() && !logged_in => {
                    tracing::debug!(error = %e, "VI/JSON refused the session; logging in through SessionManager");
                    self.vi_login(&release, used).await?;
                    logged_in = true;
                }
                other => return other,
            }
        }
    }

    async fn vi_login(&self, release: &str, refused: Option<Secret>) -> Result<(), VsphereError> {
        let vi = &self.inner.vi;
        let _one_at_a_time = vi.login.lock().await;
        let current = vi.token();
        if current.is_some()
            && current.as_ref().map(Secret::expose) != refused.as_ref().map(Secret::expose)
        {
            return Ok(()); // another call logged in meanwhile
        }
        let what = format!(
            "log in to VI/JSON at {} as {}",
            self.base_url().origin().ascii_serialization(),
            self.user()
        );
        let params = [("release", release), ("moId", "ServiceInstance")];
        let content: Value = self
            .t()
            .execute_as(
                &Call::new(&ops::VI_SERVICE_CONTENT, &params, what.clone()),
                Auth::None,
            )
            .await?
            .json(&what)?;
        let manager = content
            .pointer("/sessionManager/value")
            .and_then(Value::as_str)
            .ok_or_else(|| VsphereError::unexpected(&what, "ServiceContent has no sessionManager"))?
            .to_string();
        let params = [("release", release), ("moId", manager.as_str())];
        let login = Login {
            user_name: self.user(),
            password: self.t().password().expose(),
        };
        let call = Call::new(&ops::VI_LOGIN, &params, what.clone()).json(&login)?;
        let reply = self.t().execute_as(&call, Auth::None).await?;
        let token = reply
            .headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                VsphereError::unexpected(
                    what,
                    format!("Login answered without a {SESSION_HEADER} header"),
                )
            })?;
        vi.set_token(Some(Secret::new(token)));
        if let Ok(mut m) = vi.session_manager.write() {
            *m = Some(manager);
        }
        Ok(())
    }

    /// Logs out the VI session of its own, if one was opened.
    pub(crate) async fn vi_logout(&self) -> Result<(), VsphereError> {
        let vi = &self.inner.vi;
        let Some(token) = vi.token() else {
            return Ok(());
        };
        vi.set_token(None);
        let manager = vi
            .session_manager
            .read()
            .ok()
            .and_then(|m| m.clone())
            .unwrap_or_else(|| "SessionManager".into());
        let Some(release) = vi.release.get().cloned() else {
            return Ok(());
        };
        let params = [("release", release.as_str()), ("moId", manager.as_str())];
        let call = Call::new(&ops::VI_LOGOUT, &params, "log out of VI/JSON");
        super::session::already_ended_is_ok(self.t().execute_as(&call, Auth::Token(token)).await)
    }

    /// Starts a VI task (`op` on `mo_id` with `body`). Starting one is not
    /// idempotent, so after an ambiguous failure `in_effect` reads the
    /// state back: when the task's effect is there the answer is
    /// [`ViTask::AlreadyDone`], otherwise the task is asked for again
    /// within the retry policy. A task that vCenter accepted but has not
    /// finished looks "not in effect", so in that window the repeat runs
    /// the task a second time; each caller says why that is harmless.
    pub(crate) async fn start_task<B, L, LF>(
        &self,
        op: &'static Operation,
        mo_id: &str,
        body: &B,
        what: &str,
        in_effect: L,
    ) -> Result<ViTask, VsphereError>
    where
        B: Serialize + ?Sized,
        L: Fn() -> LF,
        LF: Future<Output = Result<bool, VsphereError>>,
    {
        let body = encode(what, body)?;
        self.recover_then_retry(
            what,
            || async {
                let reply = self.vi_call(op, mo_id, Some(body.clone()), what).await?;
                task_ref(&reply, what).map(ViTask::Started)
            },
            || async { Ok(in_effect().await?.then_some(ViTask::AlreadyDone)) },
        )
        .await
    }

    /// Reads `Task/{id}/info` once. A task that ended in error is returned
    /// as a [`VsphereError::Fault`] carrying the task's fault.
    pub async fn task_state(&self, task: &TaskId) -> Result<TaskState, VsphereError> {
        let what = format!("task {task}");
        let info: Value = self
            .vi_call(&ops::VI_TASK_INFO, task.as_str(), None, &what)
            .await?
            .json(&what)?;
        parse_task_info(&info, &what)
    }

    /// Polls a VI task until it succeeds (its `result`, if any), fails (its
    /// fault) or `deadline` passes. A task found [`ViTask::AlreadyDone`]
    /// returns `None` at once. Takes a `&TaskId` or a `&ViTask`.
    pub async fn wait_task(
        &self,
        task: impl Into<ViTask>,
        deadline: Duration,
    ) -> Result<Option<Value>, VsphereError> {
        let task = match task.into() {
            ViTask::Started(task) => task,
            ViTask::AlreadyDone => return Ok(None),
        };
        let task = &task;
        let what = format!("wait for task {task}");
        self.poll_until(&what, deadline, || async {
            Ok(match self.task_state(task).await? {
                TaskState::Success(result) => Some(result),
                TaskState::Queued | TaskState::Running => None,
            })
        })
        .await
    }
}

fn task_ref(reply: &Reply, what: &str) -> Result<TaskId, VsphereError> {
    let moref: Value = reply.json(what)?;
    moref
        .get("value")
        .and_then(Value::as_str)
        .map(TaskId::new)
        .ok_or_else(|| VsphereError::unexpected(what, "the answer is not a Task reference"))
}

/// TaskInfo → state. `error` is a `LocalizedMethodFault`
/// (`{fault: {_typeName, faultMessage}, localizedMessage}`) on vCenter; a
/// bare `MethodFault` is accepted too.
pub(crate) fn parse_task_info(info: &Value, what: &str) -> Result<TaskState, VsphereError> {
    let state = info.get("state").and_then(Value::as_str).unwrap_or("");
    match state {
        "queued" => Ok(TaskState::Queued),
        "running" => Ok(TaskState::Running),
        "success" => Ok(TaskState::Success(info.get("result").cloned())),
        "error" => {
            let error = info.get("error").cloned().unwrap_or(Value::Null);
            let fault = error.get("fault").unwrap_or(&error);
            let fault_type = fault
                .get("_typeName")
                .and_then(Value::as_str)
                .unwrap_or("MethodFault")
                .to_string();
            let from_fault = fault
                .get("faultMessage")
                .and_then(Value::as_array)
                .map(|msgs| {
                    msgs.iter()
                        .filter_map(|m| m.get("message").and_then(Value::as_str))
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .filter(|m| !m.is_empty());
            let message = error
                .get("localizedMessage")
                .and_then(Value::as_str)
                .map(str::to_string)
                .filter(|m| !m.is_empty())
                .or(from_fault)
                .unwrap_or_else(|| "(no message)".to_string());
            Err(VsphereError::Fault {
                what: what.to_string(),
                status: 200,
                fault_type,
                message,
            })
        }
        other => Err(VsphereError::unexpected(
            what,
            format!("unknown task state {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn task_error_becomes_a_fault_with_the_localized_message() {
        let info = json!({"_typeName":"TaskInfo","key":"task-9","state":"error",
            "error":{"_typeName":"LocalizedMethodFault","fault":{"_typeName":"InvalidPowerState","faultMessage":[]},
                     "localizedMessage":"The attempted operation cannot be performed in the current state (Powered on)."}});
        let e = parse_task_info(&info, "task task-9").unwrap_err();
        assert_eq!(e.fault_type(), Some("InvalidPowerState"));
        assert!(e.to_string().contains("current state (Powered on)"), "{e}");
    }

    #[test]
    fn bare_method_fault_in_task_error_is_understood() {
        let info = json!({"state":"error","error":{"_typeName":"DuplicateName","faultMessage":[{"key":"k","arg":[],"message":"name taken"}]}});
        let e = parse_task_info(&info, "task task-1").unwrap_err();
        assert!(e.is_already_exists());
        assert!(
            e.to_string()
                .ends_with("vCenter said DuplicateName: name taken"),
            "{e}"
        );
    }

    #[test]
    fn running_and_success_states_parse() {
        assert_eq!(
            parse_task_info(&json!({"state":"running"}), "t").unwrap(),
            TaskState::Running
        );
        assert_eq!(
            parse_task_info(&json!({"state":"queued"}), "t").unwrap(),
            TaskState::Queued
        );
        assert_eq!(
            parse_task_info(&json!({"state":"success"}), "t").unwrap(),
            TaskState::Success(None)
        );
        assert!(parse_task_info(&json!({"state":"weird"}), "t").is_err());
    }
}
