//! VI/JSON (`/sdk/vim25/{release}/...`): the few vSphere Web Services
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

use super::error::VsphereError;
use super::ops::{self, Operation};
use super::session::Client;
use super::transport::{Auth, Call, Reply, SESSION_HEADER};
use super::wire::{FolderId, TaskId, VmId};
use crate::secret::Secret;
use serde_json::{json, Value};
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

/// A VM or template in a folder, as its VI configuration describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildVm {
    pub vm: VmId,
    pub name: String,
    pub template: bool,
    /// `config.annotation` (the "Notes" field); empty when unset.
    pub annotation: String,
    pub create_date: Option<String>,
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
                let call = Call::new(&ops::SYSTEM_HELLO, &[], what)
                    .body(json!({ "api_releases": VI_RELEASES }));
                match self.t().execute(&call).await {
                    Ok(reply) => {
                        let answer: Value = reply.json(what)?;
                        match answer.get("api_release").and_then(Value::as_str) {
                            Some(r) if !r.is_empty() => Ok(r.to_string()),
                            _ => Err(VsphereError::Config {
                                field: "vi_release",
                                reason: format!(
                                    "vCenter shares no VI/JSON release with gild (gild offers {})",
                                    VI_RELEASES.join(", ")
                                ),
                            }),
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
    async fn vi_call(
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
            .ok_or_else(|| VsphereError::Decode {
                what: what.clone(),
                reason: "ServiceContent has no sessionManager".into(),
            })?
            .to_string();
        let params = [("release", release), ("moId", manager.as_str())];
        let body = json!({ "userName": self.user(), "password": self.t().password().expose() });
        let reply = self
            .t()
            .execute_as(
                &Call::new(&ops::VI_LOGIN, &params, what.clone()).body(body),
                Auth::None,
            )
            .await?;
        let token = reply
            .headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| VsphereError::Decode {
                what,
                reason: format!("Login answered without a {SESSION_HEADER} header"),
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
        self.t()
            .execute_as(&call, Auth::Token(token))
            .await
            .map(|_| ())
    }

    /// Whether `vm` is an inventory template (`VirtualMachine.config.template`).
    /// `/api`'s VM list leaves templates out, so this is the way to tell.
    pub async fn is_template(&self, vm: &VmId) -> Result<bool, VsphereError> {
        let what = format!("read the configuration of {vm}");
        let config: Value = self
            .vi_call(&ops::VI_VM_CONFIG, vm.as_str(), None, &what)
            .await?
            .json(&what)?;
        config
            .get("template")
            .and_then(Value::as_bool)
            .ok_or_else(|| VsphereError::Decode {
                what,
                reason: "VirtualMachineConfigInfo has no `template` flag".into(),
            })
    }

    /// `VirtualMachine.ReconfigVM_Task` setting only `annotation` (the
    /// Notes field), waited for. gild writes its build lock and template
    /// provenance there, where anyone looking at vCenter sees them.
    pub async fn set_annotation(&self, vm: &VmId, text: &str) -> Result<(), VsphereError> {
        let what = format!("set the annotation of {vm}");
        let body = json!({"spec": {"_typeName": "VirtualMachineConfigSpec", "annotation": text}});
        let reply = self
            .vi_call(&ops::VI_VM_RECONFIGURE, vm.as_str(), Some(body), &what)
            .await?;
        let task = task_ref(&reply, &what)?;
        self.wait_task(&task, Duration::from_secs(300))
            .await
            .map(|_| ())
    }

    /// `SearchIndex.FindChild`: the VM or template named `name` directly in
    /// `folder`. Unlike `/api`'s VM list this sees templates too, which is
    /// what checking a template name needs.
    pub async fn find_child_vm(
        &self,
        folder: &FolderId,
        name: &str,
    ) -> Result<Option<VmId>, VsphereError> {
        let what = format!("find {name:?} in folder {folder}");
        let body = json!({"entity": moref("Folder", folder.as_str()), "name": name});
        let reply = self
            .vi_call(&ops::VI_SEARCH_FIND_CHILD, "SearchIndex", Some(body), &what)
            .await?;
        if reply.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let found: Value = reply.json(&what)?;
        Ok(match found.get("type").and_then(Value::as_str) {
            Some("VirtualMachine") => found.get("value").and_then(Value::as_str).map(VmId::new),
            _ => None,
        })
    }

    /// The VMs and templates directly in `folder` (`Folder.childEntity`,
    /// then each one's `config`).
    pub async fn child_vms(&self, folder: &FolderId) -> Result<Vec<ChildVm>, VsphereError> {
        let what = format!("list folder {folder}");
        let children: Vec<Value> = self
            .vi_call(&ops::VI_FOLDER_CHILDREN, folder.as_str(), None, &what)
            .await?
            .json(&what)?;
        let mut out = Vec::new();
        for child in children {
            if child.get("type").and_then(Value::as_str) != Some("VirtualMachine") {
                continue;
            }
            let Some(id) = child.get("value").and_then(Value::as_str) else {
                continue;
            };
            match self.vm_config(&VmId::new(id)).await {
                Ok(c) => out.push(c),
                // Deleted between the two reads: it is no longer a child.
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// A VM's (or template's) name, template flag and annotation, from
    /// `VirtualMachine.config`.
    pub async fn vm_config(&self, vm: &VmId) -> Result<ChildVm, VsphereError> {
        let what = format!("read the configuration of {vm}");
        let config: Value = self
            .vi_call(&ops::VI_VM_CONFIG, vm.as_str(), None, &what)
            .await?
            .json(&what)?;
        let text = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(ChildVm {
            name: text("name").unwrap_or_default(),
            template: config
                .get("template")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            annotation: text("annotation").unwrap_or_default(),
            create_date: text("createDate"),
            vm: vm.clone(),
        })
    }

    /// `Folder.MoveIntoFolder_Task` for one VM or template.
    pub async fn move_into_folder(
        &self,
        folder: &FolderId,
        vm: &VmId,
    ) -> Result<TaskId, VsphereError> {
        let what = format!("move {vm} into folder {folder}");
        let body = json!({"list": [moref("VirtualMachine", vm.as_str())]});
        let reply = self
            .vi_call(
                &ops::VI_FOLDER_MOVE_INTO,
                folder.as_str(),
                Some(body),
                &what,
            )
            .await?;
        task_ref(&reply, &what)
    }

    /// `VirtualMachine.MarkAsTemplate` (the VM must be powered off).
    pub async fn mark_as_template(&self, vm: &VmId) -> Result<(), VsphereError> {
        let what = format!("mark {vm} as template");
        self.vi_call(
            &ops::VI_MARK_AS_TEMPLATE,
            vm.as_str(),
            Some(json!({})),
            &what,
        )
        .await
        .map(|_| ())
    }

    /// `VirtualMachine.Rename_Task`; wait for the task with [`Client::wait_task`].
    pub async fn rename(&self, vm: &VmId, new_name: &str) -> Result<TaskId, VsphereError> {
        let what = format!("rename {vm} to {new_name:?}");
        let reply = self
            .vi_call(
                &ops::VI_RENAME,
                vm.as_str(),
                Some(json!({ "newName": new_name })),
                &what,
            )
            .await?;
        task_ref(&reply, &what)
    }

    /// `VirtualMachine.Destroy_Task` (works on templates too, unlike `/api` delete).
    pub async fn destroy(&self, vm: &VmId) -> Result<TaskId, VsphereError> {
        let what = format!("destroy {vm}");
        let reply = self
            .vi_call(&ops::VI_DESTROY, vm.as_str(), Some(json!({})), &what)
            .await?;
        task_ref(&reply, &what)
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
    /// fault) or `deadline` passes.
    pub async fn wait_task(
        &self,
        task: &TaskId,
        deadline: Duration,
    ) -> Result<Option<Value>, VsphereError> {
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

fn moref(mo_type: &str, value: &str) -> Value {
    json!({"_typeName": "ManagedObjectReference", "type": mo_type, "value": value})
}

fn task_ref(reply: &Reply, what: &str) -> Result<TaskId, VsphereError> {
    let moref: Value = reply.json(what)?;
    moref
        .get("value")
        .and_then(Value::as_str)
        .map(TaskId::new)
        .ok_or_else(|| VsphereError::Decode {
            what: what.to_string(),
            reason: "the answer is not a Task reference".into(),
        })
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
        other => Err(VsphereError::Decode {
            what: what.to_string(),
            reason: format!("unknown task state {other:?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
