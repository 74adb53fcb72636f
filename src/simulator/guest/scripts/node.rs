//! resolve-names.ps1 (the names a node must resolve from the guest, such as
//! `api-int.<cluster>.<domain>`) and install-kubernetes-node.ps1 (seed 004:
//! the node binaries in `C:\k`, UDP 4789 for Flannel's VXLAN overlay, the
//! seed's start.ps1 invocation).

use super::effects::{ensure_inbound_rule, rules_json};
use super::{manifest, BoundArgs, Report};
use crate::simulator::guest::fs::GuestPath;
use crate::simulator::guest::{FileBlob, Protocol, WindowsGuest};
use serde_json::json;
use std::net::Ipv4Addr;

fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

pub(super) fn resolve_names(guest: &mut WindowsGuest, args: &BoundArgs) -> Result<Report, String> {
    let names: Vec<&str> = args
        .get("Names")
        .unwrap_or_default()
        .split([',', ' ', '\t'])
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Err("-Names lists no names".into());
    }
    if let Some(bad) = names.iter().find(|n| !is_dns_name(n)) {
        return Err(format!("'{bad}' is not a DNS name"));
    }
    let results: Vec<_> = names
        .iter()
        .map(|name| match guest.network.resolve(name) {
            Ok((addresses, cname)) => {
                let error = addresses.is_empty().then_some("no A or AAAA record");
                json!({ "name": name, "addresses": addresses, "cname": cname, "error": error })
            }
            Err(e) => json!({ "name": name, "addresses": [], "cname": null, "error": e }),
        })
        .collect();
    let resolved = results
        .iter()
        .filter(|r| r["addresses"].as_array().is_some_and(|a| !a.is_empty()))
        .count();
    Ok(Report {
        changed: false,
        details: json!({ "names": results, "resolved": resolved, "unresolved": results.len() - resolved }),
    })
}

const INSTALL_DIR: &str = r"C:\k";
/// What the seed's start.ps1 needs beside it (install-kubernetes-node.ps1's `$Required`).
const NODE_FILES: &[&str] = &[
    "kubelet.exe",
    "kube-proxy.exe",
    "flanneld.exe",
    "start.ps1",
    r"cni\flannel.exe",
    r"cni\host-local.exe",
    r"cni\win-overlay.exe",
];

/// An IPv4 CIDR as its first address and block size.
fn cidr(text: &str, param: &str) -> Result<(u64, u64), String> {
    let bad = || format!("-{param} '{text}' is not an IPv4 CIDR like 10.244.0.0/16");
    let (addr, bits) = text.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    let bits: u32 = bits.parse().ok().filter(|b| *b <= 32).ok_or_else(bad)?;
    let size = 1u64 << (32 - bits);
    Ok((u64::from(u32::from(addr)) / size * size, size))
}

fn inside(address: u64, (first, size): (u64, u64)) -> bool {
    address >= first && address < first + size
}

/// Writes `bytes` to `target` (creating its folder) unless it holds them
/// already; returns whether it wrote.
fn write_if_changed(
    guest: &mut WindowsGuest,
    target: &GuestPath,
    bytes: bytes::Bytes,
) -> Result<bool, String> {
    if guest.fs.read_bytes(target).ok().as_ref() == Some(&bytes) {
        return Ok(false);
    }
    if let Some(parent) = target.parent() {
        guest
            .fs
            .create_dir(&parent, true)
            .map_err(|e| e.to_string())?;
    }
    guest
        .fs
        .write(target, FileBlob::Memory(bytes), true)
        .map_err(|e| e.to_string())?;
    Ok(true)
}

pub(super) fn install_kubernetes_node(
    guest: &mut WindowsGuest,
    args: &BoundArgs,
) -> Result<Report, String> {
    let cluster_text = args.get("ClusterCIDR").unwrap_or_default();
    let service_text = args.get("ServiceCIDR").unwrap_or_default();
    let cluster = cidr(cluster_text, "ClusterCIDR")?;
    let service = cidr(service_text, "ServiceCIDR")?;
    if inside(cluster.0, service) || inside(service.0, cluster) {
        return Err(format!(
            "-ClusterCIDR {cluster_text} and -ServiceCIDR {service_text} overlap"
        ));
    }
    let dns_text = args.get("KubeDnsServiceIP").unwrap_or_default();
    if !dns_text
        .parse::<Ipv4Addr>()
        .is_ok_and(|ip| inside(u64::from(u32::from(ip)), service))
    {
        return Err(format!("-KubeDnsServiceIP {dns_text} is not an IPv4 address inside -ServiceCIDR {service_text}"));
    }
    let kubeconfig_path = args.get("KubeconfigPath").filter(|p| !p.is_empty());
    let kubeconfig = match kubeconfig_path {
        Some(p) => {
            let path = GuestPath::parse(p).map_err(|e| e.to_string())?;
            let bytes = guest
                .fs
                .read_bytes(&path)
                .map_err(|e| format!("cannot read {p}: {e}"))?;
            // kubeadm's admin.conf names its user kubernetes-admin (the
            // script also reads client certificates for system:masters,
            // which the model does not decode).
            let admin = String::from_utf8_lossy(&bytes).contains("kubernetes-admin");
            if admin && !args.switch("AllowAdminKubeconfig") {
                return Err(format!("{p} is an admin kubeconfig (user kubernetes-admin (kubeadm admin.conf)): every clone of this image would carry cluster-admin credentials. Give nodes their own bootstrap credentials, or pass -AllowAdminKubeconfig to copy it anyway"));
            }
            Some((bytes, admin))
        }
        None => None,
    };
    let source = args.get("SourceDir").unwrap_or_default();
    let verified = manifest::verify(guest, source, NODE_FILES)?;
    let source_dir = GuestPath::parse(source).map_err(|e| e.to_string())?;
    let install = GuestPath::parse(INSTALL_DIR).map_err(|e| e.to_string())?;
    let join =
        |base: &GuestPath, rel: &str| rel.split('\\').fold(base.clone(), |p, part| p.join(part));
    let mut changed = false;
    let mut binaries = Vec::new();
    for file in &verified {
        let name = file["file"].as_str().unwrap_or_default();
        let target = join(&install, name);
        let bytes = guest
            .fs
            .read_bytes(&join(&source_dir, name))
            .map_err(|e| e.to_string())?;
        changed |= write_if_changed(guest, &target, bytes)?;
        binaries.push(json!({ "name": name, "path": target.display(), "sha256": file["sha256"], "size": file["size"] }));
    }
    let kubeconfig_json = match kubeconfig {
        Some((bytes, admin)) => {
            let target = install.join("config");
            changed |= write_if_changed(guest, &target, bytes)?;
            json!({ "path": target.display(), "admin": admin, "copied": true })
        }
        None => json!({ "path": null, "admin": false, "copied": false }),
    };
    changed |= ensure_inbound_rule(guest, args, "OverlayTraffic4789UDP", Protocol::Udp, 4789);
    let interface = args.get("InterfaceName").unwrap_or("Ethernet");
    let command = format!(".\\start.ps1 -ManagementIP $ManagementIP -NetworkMode overlay -ClusterCIDR {cluster_text} -ServiceCIDR {service_text} -KubeDnsServiceIP {dns_text} -InterfaceName '{interface}' -LogDir '{INSTALL_DIR}'");
    let start_node = install.join("start-node.ps1");
    let content = format!(
        "# Written by gild (install-kubernetes-node.ps1): the seed's start.ps1 invocation.\r\n# ManagementIP is the address of the clone this runs on, so it is read now.\r\n$ManagementIP = (Get-NetIPAddress -InterfaceAlias '{interface}' -AddressFamily IPv4 | Select-Object -First 1).IPAddress\r\nSet-Location '{INSTALL_DIR}'\r\n{command}\r\n"
    );
    changed |= write_if_changed(guest, &start_node, content.into())?;
    Ok(Report {
        changed,
        details: json!({
            "install_dir": INSTALL_DIR,
            "binaries": binaries,
            "firewall_rules": rules_json(guest, "OverlayTraffic4789UDP"),
            "start_script": { "path": start_node.display(), "command": command },
            "cluster_cidr": cluster_text,
            "service_cidr": service_text,
            "kube_dns_service_ip": dns_text,
            "kubeconfig": kubeconfig_json,
        }),
    })
}
