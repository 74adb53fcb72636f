//! Guest processes (`/api/vcenter/vm/{vm}/guest/processes`), all with
//! guest credentials in the body, and [`Client::run_program`], which starts
//! a program and waits for its exit code.
//!
//! Process create is not idempotent: running `sysprep.exe` twice is a
//! disaster. Before starting, the client notes the pids already running;
//! after a lost answer it lists the processes again and takes a new one
//! with the same command line as the one it started, retrying only when
//! there is none.

use super::error::VsphereError;
use super::ops::{self, Operation};
use super::session::Client;
use super::transport::{Call, Reply};
use super::wire::{GuestCredentials, ProcessInfo, ProcessSpec, ProcessSummary};
use super::wire::{GuestPid, VmId};
use serde_json::{json, Value};
use std::time::Duration;

/// How a program run by [`Client::run_program`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessExit {
    pub pid: GuestPid,
    pub exit_code: i64,
    pub started: String,
    pub finished: Option<String>,
}

fn with_credentials(creds: &GuestCredentials, extra: Value) -> Value {
    let mut body = json!({ "credentials": creds.to_wire() });
    if let (Some(obj), Value::Object(more)) = (body.as_object_mut(), extra) {
        obj.extend(more);
    }
    body
}

impl Client {
    /// A guest operation: `{"credentials": ..., ...extra}` as the body.
    pub(crate) async fn guest_reply(
        &self,
        op: &'static Operation,
        params: &[(&str, &str)],
        creds: &GuestCredentials,
        extra: Value,
        what: &str,
    ) -> Result<Reply, VsphereError> {
        let call = Call::new(op, params, what).body(with_credentials(creds, extra));
        self.t().execute(&call).await
    }

    /// A guest operation answering JSON.
    pub(crate) async fn guest_call<T: serde::de::DeserializeOwned>(
        &self,
        op: &'static Operation,
        params: &[(&str, &str)],
        creds: &GuestCredentials,
        extra: Value,
        what: String,
    ) -> Result<T, VsphereError> {
        self.guest_reply(op, params, creds, extra, &what)
            .await?
            .json(&what)
    }

    /// A call on one guest process (`.../processes/{pid}?action=...`).
    async fn on_process(
        &self,
        op: &'static Operation,
        vm: &VmId,
        creds: &GuestCredentials,
        pid: GuestPid,
        what: &str,
    ) -> Result<Reply, VsphereError> {
        let pid_s = pid.to_string();
        let params = [("vm", vm.as_str()), ("pid", pid_s.as_str())];
        self.guest_reply(op, &params, creds, json!({}), what).await
    }

    pub async fn list_processes(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
    ) -> Result<Vec<ProcessSummary>, VsphereError> {
        let what = format!("list guest processes in {vm}");
        self.guest_call(
            &ops::PROCESS_LIST,
            &[("vm", vm.as_str())],
            creds,
            json!({}),
            what,
        )
        .await
    }

    pub async fn process(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        pid: GuestPid,
    ) -> Result<ProcessInfo, VsphereError> {
        let what = format!("get guest process {pid} in {vm}");
        self.on_process(&ops::PROCESS_GET, vm, creds, pid, &what)
            .await?
            .json(&what)
    }

    /// Ends a guest process (`?action=delete`).
    pub async fn kill_process(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        pid: GuestPid,
    ) -> Result<(), VsphereError> {
        let what = format!("end guest process {pid} in {vm}");
        self.on_process(&ops::PROCESS_DELETE, vm, creds, pid, &what)
            .await
            .map(|_| ())
    }

    /// Starts a program in the guest and returns its pid.
    pub async fn start_process(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        spec: &ProcessSpec,
    ) -> Result<GuestPid, VsphereError> {
        let what = format!("start {} in {vm}", spec.path);
        let params = [("vm", vm.as_str())];
        let before: Vec<GuestPid> = match self.list_processes(vm, creds).await {
            Ok(list) => list.into_iter().map(|p| p.pid).collect(),
            Err(e) if e.is_unauthenticated() || e.is_not_found() => return Err(e),
            // Without the list, a lost answer can still be recovered from,
            // only with less certainty; starting is what matters.
            Err(_) => Vec::new(),
        };
        let extra = json!({ "spec": spec });
        self.recover_then_retry(
            &what,
            || {
                self.guest_call::<GuestPid>(
                    &ops::PROCESS_CREATE,
                    &params,
                    creds,
                    extra.clone(),
                    what.clone(),
                )
            },
            || async {
                let now = self.list_processes(vm, creds).await?;
                Ok(now
                    .into_iter()
                    .filter(|p| !before.contains(&p.pid) && same_command(p, spec))
                    .map(|p| p.pid)
                    .max())
            },
        )
        .await
    }

    /// Starts `spec` and waits until it exits or `deadline` passes. On the
    /// deadline the process is ended (best effort) and the error names the
    /// VM, the program and the deadline. A non-zero exit code is not an
    /// error here: the caller decides what it means.
    pub async fn run_program(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        spec: &ProcessSpec,
        deadline: Duration,
    ) -> Result<ProcessExit, VsphereError> {
        let pid = self.start_process(vm, creds, spec).await?;
        let what = format!("run {} in {vm} (pid {pid})", spec.path);
        let waited = self
            .poll_until(&what, deadline, || async {
                let info = self.process(vm, creds, pid).await?;
                Ok(info.exit_code.map(|code| ProcessExit {
                    pid,
                    exit_code: code,
                    started: info.started,
                    finished: info.finished,
                }))
            })
            .await;
        if let Err(VsphereError::Deadline { .. }) = &waited {
            if let Err(e) = self.kill_process(vm, creds, pid).await {
                tracing::warn!(%vm, %pid, error = %e, "could not end the process that ran past its deadline");
            }
        }
        waited
    }
}

/// Whether a listed process is the one `spec` starts. vCenter reports the
/// command line as the program path (possibly quoted) followed by the
/// arguments; Windows paths compare case-insensitively.
fn same_command(p: &ProcessSummary, spec: &ProcessSpec) -> bool {
    let command = p.command.to_ascii_lowercase();
    let path = spec.path.to_ascii_lowercase();
    let args = spec
        .arguments
        .as_deref()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    command.contains(&path) && (args.is_empty() || command.contains(&args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn summary(pid: i64, command: &str) -> ProcessSummary {
        ProcessSummary {
            name: "x".into(),
            pid: GuestPid(pid),
            owner: "Administrator".into(),
            command: command.into(),
            started: "t".into(),
        }
    }

    #[test]
    fn listed_process_matches_the_spec_by_path_and_arguments() {
        let spec = ProcessSpec {
            path: r"C:\Windows\System32\cmd.exe".into(),
            arguments: Some("/c exit 3".into()),
            ..Default::default()
        };
        assert!(same_command(
            &summary(1, r#""c:\windows\system32\cmd.exe" /c exit 3"#),
            &spec
        ));
        assert!(!same_command(
            &summary(2, r#""C:\Windows\System32\cmd.exe" /c exit 4"#),
            &spec
        ));
        assert!(!same_command(&summary(3, r"C:\Windows\notepad.exe"), &spec));
    }

    #[test]
    fn guest_body_carries_credentials_beside_the_other_parameters() {
        let creds = GuestCredentials {
            user_name: "Administrator".into(),
            password: Secret::new("pw"),
        };
        let body = with_credentials(&creds, json!({"path": "C:\\x", "recursive": true}));
        assert_eq!(body["credentials"]["type"], "USERNAME_PASSWORD");
        assert_eq!(body["path"], "C:\\x");
        assert_eq!(body["recursive"], true);
    }
}
