//! Guest processes (`/api/vcenter/vm/{vm}/guest/processes`), all with
//! guest credentials in the body, and [`Client::run_program`], which starts
//! a program and waits for its exit code.
//!
//! Process create is not idempotent: running `sysprep.exe` twice is a
//! disaster. Before starting, the client notes the pids already running;
//! after a lost answer it lists the processes again and takes a new one
//! with the same command line as the one it started, retrying only when
//! there is none. A caller whose command line is unique to the call (it
//! names a fresh result file, say) starts it with
//! [`Commandline::Unique`]: any process with that command line is then the
//! one this call started, so the list before the start (one request per
//! process) is not needed.

use super::error::VsphereError;
use super::ops::{self, Operation};
use super::session::Client;
use super::transport::{Call, Reply};
use super::wire::{GuestCredentials, ProcessInfo, ProcessSpec, ProcessSummary};
use super::wire::{GuestPid, VmId};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// How a program run by [`Client::run_program`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessExit {
    pub pid: GuestPid,
    pub exit_code: i64,
    pub started: String,
    pub finished: Option<String>,
}

/// A guest-operation body: `credentials` beside the operation's own
/// parameters (`{"credentials": ..., "spec": ...}`; CONTRACT.md: with
/// several parameters the body is an object keyed by parameter name).
#[derive(Serialize)]
struct GuestBody<'a, P: Serialize + ?Sized> {
    credentials: Value,
    #[serde(flatten)]
    params: &'a P,
}

/// Parameters of guest operations that take none besides the credentials.
#[derive(Serialize)]
pub(crate) struct NoParams {}

/// The `spec` parameter (process create, transfer create).
#[derive(Serialize)]
pub(crate) struct SpecParam<'a, T: Serialize> {
    pub spec: &'a T,
}

impl Client {
    /// A guest operation: `{"credentials": ..., ...params}` as the body.
    pub(crate) async fn guest_reply<P: Serialize + ?Sized>(
        &self,
        op: &'static Operation,
        params: &[(&str, &str)],
        creds: &GuestCredentials,
        extra: &P,
        what: &str,
    ) -> Result<Reply, VsphereError> {
        let body = GuestBody {
            credentials: creds.to_wire(),
            params: extra,
        };
        let call = Call::new(op, params, what).json(&body)?;
        self.t().execute(&call).await
    }

    /// A guest operation answering JSON.
    pub(crate) async fn guest_call<T: serde::de::DeserializeOwned, P: Serialize + ?Sized>(
        &self,
        op: &'static Operation,
        params: &[(&str, &str)],
        creds: &GuestCredentials,
        extra: &P,
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
        self.guest_reply(op, &params, creds, &NoParams {}, what)
            .await
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
            &NoParams {},
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

    /// Ends a guest process (`?action=delete`). After a lost answer a
    /// process that has exited (or is gone) counts as ended.
    pub async fn kill_process(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        pid: GuestPid,
    ) -> Result<(), VsphereError> {
        let what = format!("end guest process {pid} in {vm}");
        self.recover_then_retry(
            &what,
            || async {
                self.on_process(&ops::PROCESS_DELETE, vm, creds, pid, &what)
                    .await
                    .map(drop)
            },
            || async {
                match self.process(vm, creds, pid).await {
                    Ok(info) => Ok(info.exit_code.map(drop)),
                    Err(e) if e.is_not_found() => Ok(Some(())),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }

    /// Starts a program in the guest and returns its pid.
    pub async fn start_process(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        spec: &ProcessSpec,
    ) -> Result<GuestPid, VsphereError> {
        self.start_process_as(vm, creds, spec, Commandline::Shared)
            .await
    }

    /// [`Client::start_process`], told whether `spec`'s command line is
    /// unique to this call.
    pub async fn start_process_as(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        spec: &ProcessSpec,
        commandline: Commandline,
    ) -> Result<GuestPid, VsphereError> {
        let what = format!("start {} in {vm}", spec.path);
        let params = [("vm", vm.as_str())];
        // The list is what tells a process this call started from an
        // older one with the same command line; without it a recovery
        // could take that older process's exit code for this one's, so a
        // failure here (after the transport's retries) ends the call. A
        // unique command line has no older twin to tell apart.
        let before: Vec<GuestPid> = match commandline {
            Commandline::Unique => Vec::new(),
            Commandline::Shared => self
                .list_processes(vm, creds)
                .await?
                .into_iter()
                .map(|p| p.pid)
                .collect(),
        };
        let extra = SpecParam { spec };
        self.recover_then_retry(
            &what,
            || {
                self.guest_call::<GuestPid, _>(
                    &ops::PROCESS_CREATE,
                    &params,
                    creds,
                    &extra,
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
        self.run_program_as(vm, creds, spec, deadline, Commandline::Shared)
            .await
    }

    /// [`Client::run_program`], told whether `spec`'s command line is
    /// unique to this call (see [`Commandline`]).
    pub async fn run_program_as(
        &self,
        vm: &VmId,
        creds: &GuestCredentials,
        spec: &ProcessSpec,
        deadline: Duration,
        commandline: Commandline,
    ) -> Result<ProcessExit, VsphereError> {
        let pid = self.start_process_as(vm, creds, spec, commandline).await?;
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

/// Whether a process's command line can only be this call's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Commandline {
    /// An earlier call may have started the same command line (a user
    /// script run again on resume): the pids running before the start
    /// are listed first, so a recovery never takes one of them.
    Shared,
    /// The command line names something fresh (a result file no earlier
    /// call used), so after a lost answer the process with that command
    /// line is this call's; nothing is listed before the start.
    Unique,
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
        let spec = ProcessSpec {
            path: "C:\\x.exe".into(),
            ..Default::default()
        };
        let body = serde_json::to_value(GuestBody {
            credentials: creds.to_wire(),
            params: &SpecParam { spec: &spec },
        })
        .unwrap();
        assert_eq!(body["credentials"]["type"], "USERNAME_PASSWORD");
        assert_eq!(body["spec"]["path"], "C:\\x.exe");
        let bare = serde_json::to_value(GuestBody {
            credentials: creds.to_wire(),
            params: &NoParams {},
        })
        .unwrap();
        assert_eq!(bare.as_object().map(|o| o.len()), Some(1), "{bare}");
    }
}
