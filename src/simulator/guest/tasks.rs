//! Who a process runs as, and the Task Scheduler that lets a script run
//! work as SYSTEM.
//!
//! A process vCenter starts through guest operations is a remote caller to
//! Windows (vmtoolsd logs the guest user on for it); some Windows APIs refuse
//! such callers, the Windows Update Agent's CreateUpdateDownloader and
//! CreateUpdateInstaller among them (E_ACCESSDENIED, "This method cannot be
//! called from a remote computer"). A scheduled task running as SYSTEM is a
//! local service logon and may use them.
//!
//! Task Scheduler facts modelled: a task whose principal is SYSTEM (or the
//! LocalService/NetworkService accounts) runs when started; a task for
//! another user with an interactive logon type runs only while that user is
//! logged on interactively, which nobody is on a build VM, so it stays at
//! LastTaskResult 0x41303 ("has not yet run"); a task that ran has its
//! program's exit code as LastTaskResult.

use super::{programs, ProcessOutcome, WindowsGuest};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProcessContext {
    /// Started by vmtoolsd for a vCenter guest operation.
    #[default]
    GuestOperations,
    /// Started by the Task Scheduler for a task running as `user`.
    ScheduledTask { user: String },
}

impl ProcessContext {
    /// Whether Windows treats the process as a remote caller.
    pub fn is_remote(&self) -> bool {
        matches!(self, ProcessContext::GuestOperations)
    }
}

/// `SCHED_S_TASK_HAS_NOT_RUN`.
pub const TASK_HAS_NOT_RUN: i64 = 0x41303;

/// A registered task: who it runs as and the program it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScheduledTask {
    pub name: String,
    pub user: String,
    pub program: String,
    pub arguments: String,
}

/// What starting a task led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskRun {
    /// `LastTaskResult` once the task is back to Ready.
    pub last_result: i64,
    pub outcome: Option<ProcessOutcome>,
}

/// Whether the Task Scheduler starts a task of this principal with nobody
/// logged on.
pub fn runs_unattended(user: &str) -> bool {
    let account = user.rsplit('\\').next().unwrap_or(user);
    [
        "system",
        "localsystem",
        "s-1-5-18",
        "localservice",
        "networkservice",
    ]
    .contains(&account.to_ascii_lowercase().as_str())
}

/// `Start-ScheduledTask` followed by waiting for the task to finish.
pub fn start(guest: &mut WindowsGuest, task: &ScheduledTask) -> TaskRun {
    if !runs_unattended(&task.user) {
        return TaskRun {
            last_result: TASK_HAS_NOT_RUN,
            outcome: None,
        };
    }
    let previous = std::mem::replace(
        &mut guest.context,
        ProcessContext::ScheduledTask {
            user: task.user.clone(),
        },
    );
    let outcome = programs::run_program(guest, &task.program, &task.arguments);
    guest.context = previous;
    match outcome {
        Ok(outcome) => TaskRun {
            last_result: outcome.exit_code,
            outcome: Some(outcome),
        },
        // ERROR_FILE_NOT_FOUND as Task Scheduler reports a missing program.
        Err(_) => TaskRun {
            last_result: 0x8007_0002,
            outcome: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_service_accounts_run_with_nobody_logged_on() {
        for user in ["NT AUTHORITY\\SYSTEM", "SYSTEM", "S-1-5-18", "LocalSystem"] {
            assert!(runs_unattended(user), "{user}");
        }
        for user in ["Administrator", ".\\Administrator", "BUILD\\gild"] {
            assert!(!runs_unattended(user), "{user}");
        }
    }
}
