//! Each script's effects on the guest model, one function per script, as
//! documented in scripts/README.md. A function returns the `details` of the
//! result file, or the error message the script would report.

use super::{BoundArgs, Report, CONTAINERS_FEATURE, OPENSSH_SERVER_CAPABILITY};
use crate::simulator::guest::fs::{Acl, GuestPath};
use crate::simulator::guest::system::{
    Direction, FeatureState, FirewallRule, Protocol, ServiceStatus, StartType,
};
use crate::simulator::guest::{tools_conf, WindowsGuest, AUTHORIZED_KEYS_PATH, TOOLS_CONF_PATH};
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};

const SSH_DIR: &str = r"C:\ProgramData\ssh";
const SSHD_CONFIG: &str = "\
PubkeyAuthentication yes\r\n\
PasswordAuthentication no\r\n\
Subsystem sftp sftp-server.exe\r\n\
Match Group administrators\r\n\
       AuthorizedKeysFile __PROGRAMDATA__/ssh/administrators_authorized_keys\r\n";

fn path(text: &str) -> Result<GuestPath, String> {
    GuestPath::parse(text).map_err(|e| e.to_string())
}

fn service_json(guest: &WindowsGuest, name: &str) -> serde_json::Value {
    match guest.services.get(name) {
        Some(s) => json!({ "name": s.name, "status": s.status, "start_type": s.start_type }),
        None => serde_json::Value::Null,
    }
}

pub(super) fn install_openssh(guest: &mut WindowsGuest, _: &BoundArgs) -> Result<Report, String> {
    let mut changed =
        guest.features.state(OPENSSH_SERVER_CAPABILITY) != Some(FeatureState::Installed);
    guest
        .features
        .set(OPENSSH_SERVER_CAPABILITY, FeatureState::Installed);
    changed |= guest.services.install(
        "sshd",
        "OpenSSH SSH Server",
        StartType::Automatic,
        ServiceStatus::Running,
    );
    changed |= guest.services.install(
        "ssh-agent",
        "OpenSSH Authentication Agent",
        StartType::Automatic,
        ServiceStatus::Running,
    );
    changed |= guest.firewall.ensure(FirewallRule {
        name: "OpenSSH-Server-In-TCP".into(),
        protocol: Protocol::Tcp,
        local_port: 22,
        direction: Direction::Inbound,
        enabled: true,
    });
    // sshd's first start creates its ProgramData folder and default config;
    // the script then enforces key-only logins.
    let ssh_dir = path(SSH_DIR)?;
    guest
        .fs
        .create_dir(&ssh_dir, true)
        .map_err(|e| e.to_string())?;
    let config = ssh_dir.join("sshd_config");
    if guest.fs.read_bytes(&config).ok().as_deref() != Some(SSHD_CONFIG.as_bytes()) {
        guest
            .fs
            .write(&config, SSHD_CONFIG.into(), true)
            .map_err(|e| e.to_string())?;
        changed = true;
    }
    Ok(Report {
        changed,
        details: json!({
            "capability": OPENSSH_SERVER_CAPABILITY,
            "capability_state": "Installed",
            "sshd": service_json(guest, "sshd"),
            "ssh_agent": service_json(guest, "ssh-agent"),
            "firewall_rule": "OpenSSH-Server-In-TCP",
            "password_authentication": false,
        }),
    })
}

/// Text of a key file as `Get-Content` reads it: BOM-detected UTF-16LE or
/// UTF-8, else UTF-8.
fn decode_text(bytes: &[u8]) -> Result<String, String> {
    if let Some(utf16) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = utf16
            .chunks_exact(2)
            .map(|p| u16::from_le_bytes([p[0], p[1]]))
            .collect();
        return String::from_utf16(&units)
            .map_err(|e| format!("the key file is not valid UTF-16: {e}"));
    }
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    String::from_utf8(bytes.to_vec()).map_err(|e| format!("the key file is not valid UTF-8: {e}"))
}

/// `SHA256:...` as `ssh-keygen -lf` prints it, from one authorized_keys line.
fn fingerprint(line: &str, line_number: usize) -> Result<String, String> {
    const KEY_TYPES: &[&str] = &[
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
    ];
    let mut fields = line.split_whitespace();
    let key_type = fields.next().unwrap_or_default();
    if !KEY_TYPES.contains(&key_type) {
        return Err(format!("line {line_number} of the key file: {key_type:?} is not an OpenSSH public key type (expected one of {})", KEY_TYPES.join(", ")));
    }
    let blob = fields
        .next()
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .ok_or_else(|| format!("line {line_number} of the key file: the key data is not base64"))?;
    Ok(format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(&blob))
    ))
}

pub(super) fn set_authorized_key(
    guest: &mut WindowsGuest,
    args: &BoundArgs,
) -> Result<Report, String> {
    let key_path = path(args.get("PublicKeyPath").unwrap_or_default())?;
    if !guest.fs.is_dir(&path(SSH_DIR)?) {
        return Err(format!("{SSH_DIR} does not exist: OpenSSH server is not installed (run install-openssh.ps1 first)"));
    }
    let raw = guest
        .fs
        .read_bytes(&key_path)
        .map_err(|e| format!("cannot read the public key file: {e}"))?;
    let text = decode_text(&raw)?;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Err(format!(
            "the public key file {} is empty",
            key_path.display()
        ));
    }
    if let Some(c) = text.chars().find(|c| !c.is_ascii()) {
        return Err(format!("the public key file contains the non-ASCII character {c:?}; OpenSSH ignores such files"));
    }
    let fingerprints = lines
        .iter()
        .enumerate()
        .map(|(i, line)| fingerprint(line, i + 1))
        .collect::<Result<Vec<_>, _>>()?;
    let content = format!("{}\r\n", lines.join("\r\n"));
    let target = path(AUTHORIZED_KEYS_PATH)?;
    let mut changed = guest.fs.read_bytes(&target).ok().as_deref() != Some(content.as_bytes());
    guest
        .fs
        .write(&target, content.into(), true)
        .map_err(|e| e.to_string())?;
    let acl = guest.fs.acl_mut(&target).map_err(|e| e.to_string())?;
    let mut wanted = Acl {
        entries: Vec::new(),
    };
    wanted.grant("Administrators", "F");
    wanted.grant("SYSTEM", "F");
    changed |= *acl != wanted;
    *acl = wanted.clone();
    Ok(Report {
        changed,
        details: json!({
            "path": AUTHORIZED_KEYS_PATH,
            "encoding": "ascii",
            "key_count": fingerprints.len(),
            "fingerprints": fingerprints,
            "acl": wanted.entries.iter().map(|a| format!("{}:({})", a.principal, a.rights)).collect::<Vec<_>>(),
        }),
    })
}

pub(super) fn repair_tools_conf(guest: &mut WindowsGuest, _: &BoundArgs) -> Result<Report, String> {
    if guest.services.get("VMTools").is_none() {
        return Err("the VMTools service is not installed; install VMware Tools first".into());
    }
    let conf_path = path(TOOLS_CONF_PATH)?;
    let before = guest
        .fs
        .read_bytes(&conf_path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .ok();
    let before_value = before.as_deref().and_then(tools_conf::exclude_nics);
    let repaired = tools_conf::repair(before.as_deref().unwrap_or(""));
    let changed = before.as_deref() != Some(repaired.as_str());
    if changed {
        if let Some(dir) = conf_path.parent() {
            guest.fs.create_dir(&dir, true).map_err(|e| e.to_string())?;
        }
        guest
            .fs
            .write(&conf_path, repaired.into(), true)
            .map_err(|e| e.to_string())?;
    }
    // Restart-Service VMTools: tools re-read tools.conf only on start.
    guest.services.install(
        "VMTools",
        "VMware Tools",
        StartType::Automatic,
        ServiceStatus::Running,
    );
    Ok(Report {
        changed,
        details: json!({
            "path": TOOLS_CONF_PATH,
            "existed": before.is_some(),
            "exclude_nics_before": before_value,
            "exclude_nics": "",
            "vmtools": service_json(guest, "VMTools"),
        }),
    })
}

pub(super) fn install_container_runtime(
    guest: &mut WindowsGuest,
    args: &BoundArgs,
) -> Result<Report, String> {
    let runtime = args.get("Runtime").unwrap_or("none").to_ascii_lowercase();
    let mut changed = false;
    let feature = match guest.features.state(CONTAINERS_FEATURE) {
        Some(state @ (FeatureState::Installed | FeatureState::InstallPending)) => state,
        _ => {
            // Enabling the feature needs a reboot to complete.
            changed = true;
            guest.updates.pending_reboot = true;
            FeatureState::InstallPending
        }
    };
    guest.features.set(CONTAINERS_FEATURE, feature);
    let service = match runtime.as_str() {
        "docker" => Some(("docker", "Docker Engine")),
        "containerd" => Some(("containerd", "containerd container runtime")),
        _ => None,
    };
    if let Some((name, display)) = service {
        // The runtime cannot start before the Containers feature is active.
        let status = if feature == FeatureState::Installed {
            ServiceStatus::Running
        } else {
            ServiceStatus::Stopped
        };
        changed |= guest
            .services
            .install(name, display, StartType::Automatic, status);
    }
    Ok(Report {
        changed,
        details: json!({
            "runtime": runtime,
            "containers_feature": feature,
            "service": service.map(|(name, _)| service_json(guest, name)),
            "reboot_required": guest.updates.pending_reboot,
        }),
    })
}

pub(super) fn open_firewall(guest: &mut WindowsGuest, args: &BoundArgs) -> Result<Report, String> {
    let mut rules = vec![FirewallRule {
        name: "ContainerLogsPort".into(),
        protocol: Protocol::Tcp,
        local_port: 10250,
        direction: Direction::Inbound,
        enabled: true,
    }];
    if args.switch("IncludeVxlan") {
        rules.push(FirewallRule {
            name: "OverlayTraffic4789UDP".into(),
            protocol: Protocol::Udp,
            local_port: 4789,
            direction: Direction::Inbound,
            enabled: true,
        });
    }
    let mut changed = false;
    for rule in &rules {
        changed |= guest.firewall.ensure(rule.clone());
    }
    Ok(Report {
        changed,
        details: json!({ "rules": rules }),
    })
}

pub(super) fn windows_update(guest: &mut WindowsGuest, args: &BoundArgs) -> Result<Report, String> {
    // `-File` passes arrays as one string, so the script takes a comma list.
    let requested: Vec<String> = match args.get("KbIds").map(str::trim).filter(|s| !s.is_empty()) {
        Some(list) => list
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .map(|s| s.trim().to_ascii_uppercase())
            .collect(),
        None => vec![guest.os.latest_cumulative_update().0.to_string()],
    };
    let well_formed = |kb: &str| {
        kb.strip_prefix("KB")
            .is_some_and(|n| (6..=7).contains(&n.len()) && n.chars().all(|c| c.is_ascii_digit()))
    };
    if let Some(bad) = requested.iter().find(|kb| !well_formed(kb)) {
        return Err(format!("{bad:?} is not a KB identifier like KB5044281"));
    }
    let (present, missing): (Vec<String>, Vec<String>) = requested
        .into_iter()
        .partition(|kb| guest.updates.is_installed(kb));
    let (latest, latest_ubr) = guest.os.latest_cumulative_update();
    if missing.iter().any(|kb| kb == latest) {
        guest.updates.staged_ubr = Some(latest_ubr);
    }
    guest.updates.installed.extend(missing.iter().cloned());
    guest.updates.pending_reboot |= !missing.is_empty();
    Ok(Report {
        changed: !missing.is_empty(),
        details: json!({
            "installed": missing,
            "already_installed": present,
            "reboot_required": guest.updates.pending_reboot,
        }),
    })
}

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
const FACT_FIREWALL_RULES: &[&str] = &[
    "WINRM-HTTP-In-TCP",
    "OpenSSH-Server-In-TCP",
    "ContainerLogsPort",
    "OverlayTraffic4789UDP",
];

pub(super) fn collect_facts(guest: &mut WindowsGuest, _: &BoundArgs) -> Result<Report, String> {
    Ok(Report {
        changed: false,
        details: facts(guest),
    })
}

/// What collect-facts.ps1 reports, from the model's state.
pub(crate) fn facts(guest: &WindowsGuest) -> serde_json::Value {
    let mut kbs = guest.updates.installed.clone();
    kbs.sort();
    let conf = path(TOOLS_CONF_PATH)
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
    let firewall_rules: Vec<_> = FACT_FIREWALL_RULES
        .iter()
        .filter_map(|name| {
            guest
                .firewall
                .rules()
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(name))
        })
        .collect();
    let exclude_nics = conf
        .as_deref()
        .and_then(|c| tools_conf::exclude_nics(&String::from_utf8_lossy(c)));
    json!({
        "hostname": guest.hostname,
        "os": { "caption": guest.os.full_name(), "version": guest.os.version(), "build": guest.os.build_number(), "ubr": guest.updates.ubr },
        "language": guest.language,
        "services": services,
        "features": features,
        "firewall_rules": firewall_rules,
        "installed_kbs": kbs,
        "reboot_pending": guest.updates.pending_reboot,
        "tools_conf": {
            "exists": conf.is_some(),
            "exclude_nics": exclude_nics,
        },
        "authorized_keys": {
            "exists": keys.is_some(),
            "ascii": keys.as_deref().map(|k| k.is_ascii()),
            "acl": keys_acl,
        },
        "sysprep": {
            "rearms_left": guest.sysprep.rearms_left,
            "image_state": guest.sysprep.image_state,
        },
    })
}
