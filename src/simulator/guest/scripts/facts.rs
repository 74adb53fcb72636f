//! collect-facts.ps1: what the guest reports about itself, from the
//! model's state, in the shape the script writes.

use super::{effects::service_json, BoundArgs, Report};
use crate::simulator::guest::fs::GuestPath;
use crate::simulator::guest::{tools_conf, WindowsGuest, AUTHORIZED_KEYS_PATH, TOOLS_CONF_PATH};
use serde_json::json;

/// The services and firewall rules collect-facts.ps1 reports (a real guest
/// has hundreds; these are the ones a build checks).
const FACT_SERVICES: &[&str] = &[
    "VMTools",
    "WinRM",
    "W32Time",
    "sshd",
    "ssh-agent",
    "docker",
    "containerd",
];
/// Built-in rules have fixed Names.
const FACT_RULES_BY_NAME: &[&str] = &["WINRM-HTTP-In-TCP", "OpenSSH-Server-In-TCP"];
/// gild's and WMCO's rules are found by DisplayName (WMCO's documented
/// command gives ContainerLogsPort a GUID Name).
const FACT_RULES_BY_DISPLAY_NAME: &[&str] = &["ContainerLogsPort", "OverlayTraffic4789UDP"];

pub(super) fn collect_facts(guest: &mut WindowsGuest, _: &BoundArgs) -> Result<Report, String> {
    Ok(Report {
        changed: false,
        details: facts(guest),
    })
}

/// What collect-facts.ps1 reports, from the model's state.
pub(crate) fn facts(guest: &WindowsGuest) -> serde_json::Value {
    let mut kbs = guest.updates.installed().to_vec();
    kbs.sort();
    let conf = GuestPath::parse(TOOLS_CONF_PATH)
        .ok()
        .and_then(|p| guest.fs.read_bytes(&p).ok());
    let keys_path = GuestPath::parse(AUTHORIZED_KEYS_PATH).ok();
    let keys = keys_path.as_ref().and_then(|p| guest.fs.read_bytes(p).ok());
    let keys_acl: Vec<String> = keys_path
        .as_ref()
        .and_then(|p| guest.fs.acl(p).ok())
        .map(|acl| {
            acl.entries
                .iter()
                .map(|a| format!("{}:({})", a.principal, a.rights))
                .collect()
        })
        .unwrap_or_default();
    let services: Vec<_> = FACT_SERVICES
        .iter()
        .map(|name| service_json(guest, name))
        .filter(|s| !s.is_null())
        .collect();
    let features: Vec<_> = guest
        .features
        .iter()
        .map(|(name, state)| json!({ "name": name, "state": state }))
        .collect();
    let firewall_rules: Vec<_> = FACT_RULES_BY_NAME
        .iter()
        .filter_map(|name| guest.firewall.by_name(name))
        .chain(
            FACT_RULES_BY_DISPLAY_NAME
                .iter()
                .flat_map(|d| guest.firewall.by_display_name(d)),
        )
        .map(|r| r.to_json())
        .collect();
    let exclude_nics = conf
        .as_deref()
        .and_then(|c| tools_conf::exclude_nics(&String::from_utf8_lossy(c)));
    // An install through the WUA API by a client other than Automatic
    // Updates sets the installer's RebootRequired
    // (Microsoft.Update.SystemInfo) but not AU's `Auto Update\RebootRequired`
    // registry flag, so a check of the registry alone misses that reboot.
    let reboot_sources: Vec<&str> = guest
        .updates
        .reboot_sources()
        .into_iter()
        .filter(|s| *s != "windows_update" || super::library_does("Microsoft.Update.SystemInfo"))
        .collect();
    json!({
        "hostname": guest.hostname,
        "os": {
            "caption": guest.os.full_name(),
            "version": guest.os.version(),
            "build": guest.os.build_number(),
            "ubr": guest.updates.ubr(),
            "display_version": guest.os.display_version(),
            "release_id": guest.os.release_id(),
        },
        "language": guest.display_language,
        "install_language": guest.install_language,
        "last_boot_time": guest.last_boot.map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        "services": services,
        "features": features,
        "firewall_rules": firewall_rules,
        "installed_kbs": kbs,
        "reboot_pending": !reboot_sources.is_empty(),
        "reboot_pending_sources": reboot_sources,
        "tools_conf": {
            "exists": conf.is_some(),
            "exclude_nics": exclude_nics,
        },
        "authorized_keys": {
            "exists": keys.is_some(),
            "ascii": keys.as_deref().map(|k| k.is_ascii()),
            "acl": keys_acl,
        },
        "ssh_host_keys": guest.ssh_host_keys(),
        "sysprep": {
            "rearms_left": guest.sysprep.rearms_left,
            "image_state": guest.sysprep.image_state,
        },
    })
}
