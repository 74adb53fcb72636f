//! windows-update.ps1 and the windows-update-task.ps1 it runs as SYSTEM.
//!
//! Windows facts the model holds the scripts to:
//! - the Windows Update Agent refuses CreateUpdateDownloader and
//!   CreateUpdateInstaller to remote callers, which a process started by
//!   guest operations is (E_ACCESSDENIED; Microsoft's WUA documentation,
//!   "Using WUA From a Remote Computer": these methods "cannot be called
//!   from a remote computer"), so the work runs from a scheduled task as
//!   SYSTEM ([`tasks`]);
//! - `IUpdateInstaller::Install` ends with OperationResultCode 3
//!   (orcSucceededWithErrors) when some updates failed: a result with the
//!   failures in it, not an exception; 4 (orcFailed) and 5 (orcAborted)
//!   are failures;
//! - the search criteria decide what is installed: without `BrowseOnly=0`
//!   optional updates (preview cumulative updates) are included.

use super::{BoundArgs, Report};
use crate::simulator::guest::fs::GuestPath;
use crate::simulator::guest::tasks::{self, ScheduledTask};
use crate::simulator::guest::{WindowsGuest, POWERSHELL_PATH};
use serde_json::json;

/// `E_ACCESSDENIED` as PowerShell reports the COM call's failure.
pub const WUA_REMOTE_DENIED: &str = "Exception from HRESULT: 0x80070005 (E_ACCESSDENIED): CreateUpdateDownloader cannot be called from a remote computer";

/// The worker windows-update.ps1 starts from its task.
const WORKER: &str = "windows-update-task.ps1";

/// The KB ids of a `-KbIds` list, upper-case; a malformed one is an error.
fn requested_kbs(args: &BoundArgs) -> Result<Vec<String>, String> {
    let list: Vec<String> = args
        .get("KbIds")
        .unwrap_or_default()
        .split([',', ' ', '\t'])
        .filter(|s| !s.is_empty())
        .map(|s| s.trim().to_ascii_uppercase())
        .collect();
    let well_formed = |kb: &str| {
        kb.strip_prefix("KB")
            .is_some_and(|n| (6..=7).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit()))
    };
    match list.iter().find(|kb| !well_formed(kb)) {
        Some(bad) => Err(format!("'{bad}' is not a KB identifier like KB5044281")),
        None => Ok(list),
    }
}

/// A `$Name = '...'` or `$Name = "..."` assignment in the script's text.
fn assigned(source: &str, name: &str) -> Option<String> {
    let line = source
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("${name} =")))?;
    let value = line.split_once('=')?.1.trim();
    let quote = value.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &value[1..];
    Some(inner[..inner.rfind(quote)?].to_string())
}

pub(super) fn windows_update(guest: &mut WindowsGuest, args: &BoundArgs) -> Result<Report, String> {
    let kbs = requested_kbs(args)?;
    if !args.does("Register-ScheduledTask") {
        // The script calls the agent from its own (remote) process.
        return install(guest, args, &kbs);
    }
    let dir = args.dir().ok_or("the script has no folder")?;
    let worker = dir.join(WORKER);
    if !guest.fs.exists(&worker) {
        return Err(format!(
            "{} is missing: upload it with the other scripts",
            worker.display()
        ));
    }
    let user = assigned(args.source(), "TaskUser").unwrap_or_default();
    let result = args.get("ResultPath").unwrap_or_default();
    let task_result = format!("{result}.task.json");
    let mut arguments = format!(
        "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File \"{}\" -ResultPath \"{task_result}\"",
        worker.display()
    );
    if !kbs.is_empty() {
        arguments.push_str(&format!(" -KbIds \"{}\"", kbs.join(",")));
    }
    let run = tasks::start(
        guest,
        &ScheduledTask {
            name: "gild-windows-update".into(),
            user: user.clone(),
            program: POWERSHELL_PATH.into(),
            arguments,
        },
    );
    let read = GuestPath::parse(&task_result)
        .ok()
        .and_then(|p| guest.fs.read_bytes(&p).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .ok_or_else(|| {
            format!(
                "the Windows Update task ended with result {} without writing {task_result}",
                run.last_result
            )
        })?;
    if read["success"] != true {
        return Err(format!(
            "Windows Update (run as {user}): {}",
            read["error"].as_str().unwrap_or("no error given")
        ));
    }
    let mut details = read["details"].clone();
    details["task"] =
        json!({ "name": "gild-windows-update", "user": user, "last_result": run.last_result });
    Ok(Report {
        changed: read["changed"] == true,
        details,
    })
}

pub(super) fn windows_update_task(
    guest: &mut WindowsGuest,
    args: &BoundArgs,
) -> Result<Report, String> {
    let kbs = requested_kbs(args)?;
    install(guest, args, &kbs)
}

/// Search with the script's own criteria, install, report each update.
fn install(guest: &mut WindowsGuest, args: &BoundArgs, kbs: &[String]) -> Result<Report, String> {
    let criteria = assigned(args.source(), "Criteria")
        .unwrap_or_else(|| "IsInstalled=0 and Type='Software' and IsHidden=0".into());
    let found = guest.updates.search(&criteria)?;
    let offered: Vec<String> = found.iter().map(|u| u.kb.clone()).collect();
    let chosen: Vec<_> = found
        .into_iter()
        .filter(|u| kbs.is_empty() || kbs.iter().any(|kb| kb.eq_ignore_ascii_case(&u.kb)))
        .collect();
    let already: Vec<&String> = kbs
        .iter()
        .filter(|kb| guest.updates.is_installed(kb))
        .collect();
    let not_offered: Vec<&String> = kbs
        .iter()
        .filter(|kb| !guest.updates.is_installed(kb) && !offered.contains(kb))
        .collect();
    let mut updates = Vec::new();
    let mut result_code = None;
    let mut reboot_required = false;
    if !chosen.is_empty() {
        if guest.context.is_remote() {
            return Err(WUA_REMOTE_DENIED.into());
        }
        let (results, code, reboot) = guest.updates.install(&chosen);
        result_code = Some(code);
        reboot_required = reboot;
        updates = results
            .iter()
            .map(|r| {
                json!({
                    "kb": r.update.kb,
                    "title": r.update.title,
                    "result_code": r.result_code,
                    "result": if r.result_code == 2 { "Succeeded" } else { "Failed" },
                    "hresult": format!("0x{:08X}", r.hresult),
                    "reboot_required": r.update.reboot_required && r.result_code == 2,
                })
            })
            .collect();
        // The shipped script lets 3 through with its failures listed; one
        // that throws on anything but 2 loses a partly installed run.
        let tolerated = code == 2 || (code == 3 && args.does("-ne 3"));
        if !tolerated {
            let each: Vec<String> = results
                .iter()
                .map(|r| format!("{} Failed 0x{:08X}", r.update.kb, r.hresult))
                .collect();
            return Err(format!(
                "Windows Update finished with result code {code}: {}",
                each.join("; ")
            ));
        }
    }
    let installed: Vec<&serde_json::Value> = updates
        .iter()
        .filter(|u| u["result_code"] == 2)
        .map(|u| &u["kb"])
        .collect();
    let failed: Vec<&serde_json::Value> = updates
        .iter()
        .filter(|u| u["result_code"].as_u64().is_some_and(|c| c >= 4))
        .map(|u| &u["kb"])
        .collect();
    Ok(Report {
        changed: !installed.is_empty(),
        details: json!({
            "installed": installed,
            "failed": failed,
            "updates": updates,
            "result_code": result_code,
            "already_installed": already,
            "not_offered": not_offered,
            "reboot_required": reboot_required || guest.updates.reboot_pending(),
            "search_criteria": criteria,
        }),
    })
}
