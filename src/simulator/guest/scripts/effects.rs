//! Each script's effects on the guest model, one function per script, as
//! documented in scripts/README.md. A function returns the `details` of the
//! result file, or the error message the script would report.

use super::{manifest, BoundArgs, Report, CONTAINERS_FEATURE, OPENSSH_SERVER_CAPABILITY};
use crate::simulator::guest::firewall::{FirewallRule, Protocol};
use crate::simulator::guest::fs::{Acl, GuestPath};
use crate::simulator::guest::network::HttpClient;
use crate::simulator::guest::system::{FeatureState, ServiceStatus, StartType};
use crate::simulator::guest::updates::RebootSource;
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

pub(super) fn service_json(guest: &WindowsGuest, name: &str) -> serde_json::Value {
    match guest.services.get(name) {
        Some(s) => json!({ "name": s.name, "status": s.status, "start_type": s.start_type }),
        None => serde_json::Value::Null,
    }
}

/// The Features-on-Demand package install-openssh.ps1 needs in -SourceDir.
const OPENSSH_CAB: &str = "OpenSSH-Server-Package~31bf3856ad364e35~amd64~~.cab";

pub(super) fn install_openssh(
    guest: &mut WindowsGuest,
    args: &BoundArgs,
) -> Result<Report, String> {
    let missing = guest.features.state(OPENSSH_SERVER_CAPABILITY) != Some(FeatureState::Installed);
    let mut changed = missing;
    let mut source = "already_installed";
    let mut verified = Vec::new();
    if missing {
        match args.get("SourceDir").filter(|d| !d.is_empty()) {
            Some(dir) => {
                verified = manifest::verify(guest, dir, &[OPENSSH_CAB])?;
                source = "local";
            }
            // Add-WindowsCapability fetches the package from Windows Update;
            // without a route there it fails with 0x800f0954 (Microsoft,
            // "Add-WindowsCapability failed. Error code = 0x800f0954").
            None if guest.network.internet() == &crate::simulator::guest::Internet::None => {
                return Err("Add-WindowsCapability failed. Error code = 0x800f0954".into())
            }
            None => source = "windows_update",
        }
    }
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
    // sshd's first start writes its host keys (the script reports them).
    crate::simulator::guest::openssh::ensure_host_keys(guest);
    changed |= guest.firewall.ensure(FirewallRule::inbound(
        "OpenSSH-Server-In-TCP",
        "OpenSSH Server (sshd)",
        Protocol::Tcp,
        22,
    ));
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
            "source": source,
            "source_files": verified,
            "ssh_host_keys": guest.ssh_host_keys(),
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

pub(super) fn repair_tools_conf(
    guest: &mut WindowsGuest,
    args: &BoundArgs,
) -> Result<Report, String> {
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
    let mut changed = changed;
    if let Some(tools) = guest.services.get_mut("VMTools") {
        if tools.start_type != StartType::Automatic {
            tools.start_type = StartType::Automatic;
            changed = true;
        }
    }
    // vmtoolsd re-reads tools.conf on a timer (tools_conf::CONF_POLL), so
    // no restart is needed; a script that restarted VMTools anyway would
    // kill the agent tracking this very process (the model's run_process
    // notices the stop and loses the process).
    let restarted =
        args.does("Restart-Service -Name VMTools") || args.does("Restart-Service VMTools");
    if restarted {
        guest.services.restart("VMTools");
    }
    Ok(Report {
        changed,
        details: json!({
            "path": TOOLS_CONF_PATH,
            "existed": before.is_some(),
            "exclude_nics_before": before_value,
            "exclude_nics": "",
            "vmtools": service_json(guest, "VMTools"),
            "restarted": restarted,
            "reload_seconds": tools_conf::CONF_POLL.as_secs(),
        }),
    })
}

/// The archive install-container-runtime.ps1 installs each runtime from,
/// and where it downloads it (the script's `$Archives`).
fn runtime_archive(runtime: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match runtime {
        "docker" => Some((
            "Docker Engine",
            "docker-24.0.7.zip",
            "https://download.docker.com/win/static/stable/x86_64/docker-24.0.7.zip",
        )),
        "containerd" => Some((
            "containerd container runtime",
            "containerd-1.7.22-windows-amd64.tar.gz",
            "https://github.com/containerd/containerd/releases/download/v1.7.22/containerd-1.7.22-windows-amd64.tar.gz",
        )),
        _ => None,
    }
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
            guest
                .updates
                .require_reboot(RebootSource::ComponentServicing);
            FeatureState::InstallPending
        }
    };
    guest.features.set(CONTAINERS_FEATURE, feature);
    let mut source = "none";
    let mut proxy = None;
    let mut files = Vec::new();
    let archive = runtime_archive(&runtime);
    if let Some((display, file, url)) = archive {
        if guest.services.get(&runtime).is_none() {
            match args.get("SourceDir").filter(|d| !d.is_empty()) {
                Some(dir) => {
                    files = manifest::verify(guest, dir, &[file])?;
                    source = "local";
                }
                None => {
                    // What the script's text does about Windows PowerShell
                    // 5.1's defaults decides whether the download works.
                    let client = HttpClient {
                        tls12: args.does("[Net.SecurityProtocolType]::Tls12"),
                        winhttp_proxy: args.does("WinHttpSettings"),
                    };
                    guest
                        .network
                        .download(url, client)
                        .map_err(|e| format!("downloading {url}: {e}"))?;
                    proxy = guest.network.winhttp_proxy().map(str::to_string);
                    source = "download";
                }
            }
            guest.services.install(
                &runtime,
                display,
                StartType::Automatic,
                ServiceStatus::Stopped,
            );
            changed = true;
        } else {
            source = "already_installed";
        }
        // The runtime cannot start before the Containers feature is active.
        if feature == FeatureState::Installed && !guest.services.is_running(&runtime) {
            guest.services.set_status(&runtime, ServiceStatus::Running);
            changed = true;
        }
    }
    Ok(Report {
        changed,
        details: json!({
            "runtime": runtime,
            "containers_feature": feature,
            "service": archive.map(|_| service_json(guest, &runtime)),
            "reboot_required": guest.updates.reboot_pending(),
            "source": source,
            "proxy": proxy,
            "files": files,
        }),
    })
}

/// The rules open-firewall.ps1 (and install-kubernetes-node.ps1) keep: an
/// Allow rule for every profile with edge traversal allowed, as WMCO's
/// documented `New-NetFirewallRule -DisplayName "ContainerLogsPort"
/// -LocalPort 10250 -Enabled True -Direction Inbound -Protocol TCP -Action
/// Allow -EdgeTraversalPolicy Allow` creates it.
pub(super) fn ensure_inbound_rule(
    guest: &mut WindowsGuest,
    args: &BoundArgs,
    display_name: &str,
    protocol: Protocol,
    port: u16,
) -> bool {
    let mut wanted = FirewallRule::inbound(display_name, display_name, protocol, port);
    wanted.edge_traversal = "Allow".into();
    if !args.does("Get-NetFirewallRule -DisplayName $DisplayName") {
        // A lookup by Name misses a rule created by DisplayName (GUID Name)
        // and adds a second one beside it.
        return guest.firewall.ensure(wanted);
    }
    if guest.firewall.by_display_name(display_name).is_empty() {
        guest.firewall.create_by_display_name(wanted);
        return true;
    }
    guest.firewall.edit_by_display_name(display_name, |rule| {
        let name = std::mem::take(&mut rule.name);
        *rule = FirewallRule {
            name,
            ..wanted.clone()
        };
    })
}

/// Every rule of that DisplayName, read back.
pub(super) fn rules_json(guest: &WindowsGuest, display_name: &str) -> Vec<serde_json::Value> {
    guest
        .firewall
        .by_display_name(display_name)
        .into_iter()
        .map(FirewallRule::to_json)
        .collect()
}

pub(super) fn open_firewall(guest: &mut WindowsGuest, args: &BoundArgs) -> Result<Report, String> {
    let mut wanted = vec![("ContainerLogsPort", Protocol::Tcp, 10250)];
    if args.switch("IncludeVxlan") {
        wanted.push(("OverlayTraffic4789UDP", Protocol::Udp, 4789));
    }
    let mut changed = false;
    for (display_name, protocol, port) in &wanted {
        changed |= ensure_inbound_rule(guest, args, display_name, *protocol, *port);
    }
    let rules: Vec<_> = wanted
        .iter()
        .flat_map(|(display_name, _, _)| rules_json(guest, display_name))
        .collect();
    Ok(Report {
        changed,
        details: json!({ "rules": rules }),
    })
}
