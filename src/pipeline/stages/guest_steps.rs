//! The stages that change the guest through gild's scripts: tools_conf,
//! openssh, container_runtime, firewall, windows_update, scripts. Each runs
//! its script, then proves the result from an independent read-out
//! (`collect-facts.ps1`, or the file itself downloaded back), never from
//! the script's own claim alone.

use super::Build;
use crate::pipeline::config::{
    ContainerRuntimeOptions, FirewallOptions, OpensshOptions, Runtime, ScriptsOptions,
    WindowsUpdateOptions,
};
use crate::pipeline::error::StageError;
use crate::pipeline::guest::{sha256_hex, Arg, POWERSHELL};
use crate::pipeline::state::OsFacts;
use crate::vsphere::wire::ProcessSpec;
use crate::vsphere::wire::VmId;
use serde::Deserialize;
use std::time::Duration;

/// What `collect-facts.ps1` reports (scripts/README.md). Fields a guest
/// does not report stay at their defaults, so an older script's result
/// still reads.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct GuestFacts {
    pub hostname: String,
    pub os: GuestOsFacts,
    pub language: Option<String>,
    pub services: Vec<ServiceFact>,
    pub features: Vec<FeatureFact>,
    pub firewall_rules: Vec<RuleFact>,
    pub installed_kbs: Vec<String>,
    pub reboot_pending: bool,
    pub last_boot_time: Option<String>,
    pub tools_conf: ToolsConfFact,
    pub authorized_keys: KeysFact,
    pub sysprep: SysprepFact,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SysprepFact {
    pub rearms_left: Option<u32>,
    pub image_state: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct GuestOsFacts {
    pub caption: String,
    pub version: String,
    pub build: u32,
    pub ubr: Option<u32>,
    pub display_version: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ServiceFact {
    pub name: String,
    pub status: String,
    pub start_type: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct FeatureFact {
    pub name: String,
    pub state: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RuleFact {
    pub name: String,
    pub display_name: Option<String>,
    pub protocol: String,
    pub local_port: serde_json::Value,
    pub direction: String,
    pub enabled: serde_json::Value,
}

impl RuleFact {
    fn is(&self, name: &str) -> bool {
        self.display_name
            .as_deref()
            .unwrap_or(&self.name)
            .eq_ignore_ascii_case(name)
            || self.name.eq_ignore_ascii_case(name)
    }

    pub(super) fn port(&self) -> String {
        match &self.local_port {
            serde_json::Value::String(s) => s.clone(),
            v => v.to_string(),
        }
    }

    /// `Inbound UDP 4789 enabled=true`: how a check shows the rule it read.
    pub(super) fn describe(&self) -> String {
        format!(
            "{} {} {} enabled={}",
            self.direction,
            self.protocol,
            self.port(),
            self.enabled()
        )
    }

    pub(super) fn enabled(&self) -> bool {
        matches!(&self.enabled, serde_json::Value::Bool(true))
            || self
                .enabled
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("true"))
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ToolsConfFact {
    pub exists: bool,
    pub exclude_nics: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct KeysFact {
    pub exists: bool,
    pub ascii: Option<bool>,
    pub acl: Vec<String>,
}

impl GuestFacts {
    fn service(&self, name: &str) -> String {
        self.services
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
            .map_or("not installed".into(), |s| {
                format!("{}/{}", s.status, s.start_type)
            })
    }

    fn feature(&self, name: &str) -> String {
        self.features
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map_or("absent".into(), |f| f.state.clone())
    }

    pub(super) fn rule(&self, name: &str) -> Option<&RuleFact> {
        self.firewall_rules.iter().find(|r| r.is(name))
    }
}

/// Runs collect-facts.ps1 and keeps what the manifest records.
pub(crate) async fn collect_facts(b: &mut Build<'_>, vm: &VmId) -> Result<GuestFacts, StageError> {
    let result = run(b, vm, "collect-facts.ps1", &[]).await?;
    let facts: GuestFacts =
        serde_json::from_value(result.details).map_err(|e| StageError::Script {
            script: "collect-facts.ps1".into(),
            exit_code: Some(0),
            message: format!("its details do not have the documented shape: {e}"),
        })?;
    b.facts.os = Some(OsFacts {
        caption: facts.os.caption.clone(),
        build: facts.os.build,
        ubr: facts.os.ubr.unwrap_or(0),
        display_version: facts.os.display_version.clone(),
        language: facts.language.clone(),
    });
    b.facts.installed_kbs = facts.installed_kbs.clone();
    Ok(facts)
}

/// Uploads the scripts if needed and runs one, with the stage's budget.
pub(super) async fn run(
    b: &mut Build<'_>,
    vm: &VmId,
    script: &str,
    args: &[Arg<'_>],
) -> Result<crate::pipeline::guest::ScriptResult, StageError> {
    let budget = b.wait_budget();
    let mut uploaded = std::mem::take(&mut b.facts.uploaded);
    let ensured = b.guest(vm).ensure_scripts(&mut uploaded).await;
    b.facts.uploaded = uploaded;
    ensured?;
    b.guest(vm).run_script(script, args, budget).await
}

pub async fn tools_conf(b: &mut Build<'_>) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let target = b.job.pipeline.target;
    if target.requires_empty_exclude_nics() {
        run(b, &vm, "repair-tools-conf.ps1", &[]).await?;
    }
    let facts = collect_facts(b, &vm).await?;
    b.checks.expect_eq(
        "VMTools service",
        "Running/Automatic",
        facts.service("VMTools"),
    )?;
    b.checks.expect(
        "tools.conf exists",
        "present",
        if facts.tools_conf.exists {
            "present"
        } else {
            "missing"
        },
        facts.tools_conf.exists || !target.requires_empty_exclude_nics(),
    )?;
    let observed = match &facts.tools_conf.exclude_nics {
        None => "no uncommented exclude-nics= line".to_string(),
        Some(v) if v.is_empty() => "exclude-nics= (empty)".to_string(),
        Some(v) => format!("exclude-nics={v}"),
    };
    if target.requires_empty_exclude_nics() {
        b.checks.expect(
            "tools.conf [guestinfo] exclude-nics",
            "exclude-nics= (empty)",
            observed.clone(),
            facts.tools_conf.exclude_nics.as_deref() == Some(""),
        )?;
    }
    Ok(format!("{observed}; VMTools {}", facts.service("VMTools")))
}

pub async fn openssh(b: &mut Build<'_>, o: &OpensshOptions) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let key_path = b.local_path(&o.public_key_file);
    let key_text = std::fs::read_to_string(&key_path).map_err(|e| StageError::Input {
        what: "openssh.public_key_file",
        path: key_path.clone(),
        reason: e.to_string(),
    })?;
    let keys = crate::pipeline::sshkey::parse_public_keys(&key_text).map_err(|reason| {
        StageError::Input {
            what: "openssh.public_key_file",
            path: key_path.clone(),
            reason,
        }
    })?;
    if let Some(private) = &o.private_key_file {
        let private = b.local_path(private);
        crate::pipeline::sshkey::check_pair(&private, &keys).map_err(|reason| {
            StageError::Input {
                what: "openssh.private_key_file",
                path: private.clone(),
                reason,
            }
        })?;
        b.checks.expect(
            "private key pairs with the public key",
            "a pair",
            "a pair",
            true,
        )?;
    }
    run(b, &vm, "install-openssh.ps1", &[]).await?;
    let guest_key = b.guest(&vm).path("administrators_authorized_keys.pub");
    let wanted: String = keys.iter().map(|k| format!("{k}\r\n")).collect();
    b.guest(&vm)
        .upload(wanted.clone().into_bytes(), &guest_key)
        .await?;
    b.facts
        .uploaded
        .insert(guest_key.clone(), sha256_hex(wanted.as_bytes()));
    run(
        b,
        &vm,
        "set-authorized-key.ps1",
        &[Arg::Value("PublicKeyPath", guest_key)],
    )
    .await?;

    let facts = collect_facts(b, &vm).await?;
    b.checks
        .expect_eq("sshd service", "Running/Automatic", facts.service("sshd"))?;
    b.checks.expect_eq(
        "ssh-agent service",
        "Running/Automatic",
        facts.service("ssh-agent"),
    )?;
    let rule = facts.rule("OpenSSH-Server-In-TCP");
    b.checks.expect(
        "firewall open on TCP 22",
        "inbound TCP 22 enabled",
        rule.map_or("no rule".into(), |r| r.describe()),
        rule.is_some_and(|r| r.port() == "22" && r.enabled()),
    )?;
    let keys_fact = &facts.authorized_keys;
    b.checks.expect(
        "administrators_authorized_keys is ASCII",
        "ASCII (OpenSSH ignores a UTF-16 file)",
        match keys_fact.ascii {
            Some(true) => "ASCII",
            Some(false) => "not ASCII",
            None => "missing",
        },
        keys_fact.exists && keys_fact.ascii == Some(true),
    )?;
    let mut acl = keys_fact.acl.clone();
    acl.sort();
    let expected = ["BUILTIN\\Administrators:(F)", "NT AUTHORITY\\SYSTEM:(F)"];
    b.checks.expect_eq(
        "administrators_authorized_keys ACL",
        expected.join(", "),
        acl.join(", "),
    )?;
    let on_guest = b
        .client
        .download_bytes(
            &vm,
            &b.job.secrets.guest,
            crate::pipeline::guest::AUTHORIZED_KEYS_PATH,
        )
        .await
        .map_err(StageError::vsphere(
            "read administrators_authorized_keys back",
        ))?;
    b.checks.expect(
        "administrators_authorized_keys content",
        format!("{} key(s) as given", keys.len()),
        if on_guest.as_ref() == wanted.as_bytes() {
            format!("{} key(s) as given", keys.len())
        } else {
            "different content".into()
        },
        on_guest.as_ref() == wanted.as_bytes(),
    )?;
    Ok(format!("sshd and ssh-agent running, TCP 22 open, {} key(s) written in ASCII, ACL Administrators+SYSTEM", keys.len()))
}

pub async fn container_runtime(
    b: &mut Build<'_>,
    o: &ContainerRuntimeOptions,
) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let target = b.job.pipeline.target;
    let runtime = o.runtime.unwrap_or_else(|| target.default_runtime());
    b.checks.expect(
        "runtime allowed by the target",
        format!("{:?} for {target}", target.allowed_runtimes()),
        format!("{runtime:?}"),
        target.allowed_runtimes().contains(&runtime),
    )?;
    let name = match runtime {
        Runtime::Docker => "docker",
        Runtime::Containerd => "containerd",
        Runtime::None => "none",
    };
    let result = run(
        b,
        &vm,
        "install-container-runtime.ps1",
        &[Arg::Value("Runtime", name.into())],
    )
    .await?;
    let reboot = result
        .details
        .get("reboot_required")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if reboot {
        reboot_and_wait(b, &vm).await?;
    }
    let facts = collect_facts(b, &vm).await?;
    b.checks.expect_eq(
        "Containers feature",
        "Installed",
        facts.feature("Containers"),
    )?;
    match runtime {
        Runtime::None => {
            // WMCO 4.11+ installs containerd itself; a Docker in the image
            // would run beside it.
            b.checks.expect_eq(
                "no Docker in the image",
                "not installed",
                facts.service("docker"),
            )?;
        }
        rt => {
            b.checks.expect_eq(
                format!("{name} service"),
                "Running/Automatic",
                facts.service(name),
            )?;
            b.facts.container_runtime = Some(format!("{rt:?}").to_lowercase());
        }
    }
    Ok(format!(
        "Containers feature Installed, runtime {name}{}",
        if reboot { " (rebooted)" } else { "" }
    ))
}

pub async fn firewall(b: &mut Build<'_>, o: &FirewallOptions) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let vxlan = o.vxlan.unwrap_or(b.job.pipeline.target.needs_vxlan_port());
    let args: Vec<Arg> = if vxlan {
        vec![Arg::Switch("IncludeVxlan")]
    } else {
        vec![]
    };
    run(b, &vm, "open-firewall.ps1", &args).await?;
    let facts = collect_facts(b, &vm).await?;
    let mut wanted = vec![("ContainerLogsPort", "TCP", "10250")];
    if vxlan {
        wanted.push(("OverlayTraffic4789UDP", "UDP", "4789"));
    }
    for (name, proto, port) in &wanted {
        let rule = facts.rule(name);
        b.checks.expect(
            format!("firewall rule {name}"),
            format!("inbound {proto} {port} enabled"),
            rule.map_or("no rule".into(), |r| r.describe()),
            rule.is_some_and(|r| {
                r.protocol.eq_ignore_ascii_case(proto)
                    && r.port() == *port
                    && r.enabled()
                    && r.direction.eq_ignore_ascii_case("inbound")
            }),
        )?;
    }
    Ok(wanted
        .iter()
        .map(|(n, p, port)| format!("{n} {p} {port}"))
        .collect::<Vec<_>>()
        .join(", ")
        + " open")
}

pub async fn windows_update(
    b: &mut Build<'_>,
    o: &WindowsUpdateOptions,
) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let rounds = o.max_rounds.unwrap_or(5).max(1);
    let mut installed_total = Vec::new();
    let mut round = 0;
    loop {
        round += 1;
        let result = run(b, &vm, "windows-update.ps1", &[]).await?;
        let installed: Vec<String> = result
            .details
            .get("installed")
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|k| {
                        k.as_str()
                            .map(String::from)
                            .or_else(|| k.get("kb").and_then(|x| x.as_str()).map(String::from))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let reboot = result
            .details
            .get("reboot_required")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        installed_total.extend(installed.iter().cloned());
        if reboot {
            reboot_and_wait(b, &vm).await?;
        }
        if installed.is_empty() && !reboot {
            break;
        }
        if round >= rounds {
            b.checks.expect(
                "updates converge",
                format!("none pending within {rounds} rounds"),
                format!("round {round} still installed {}", installed.join(", ")),
                false,
            )?;
        }
    }
    let facts = collect_facts(b, &vm).await?;
    b.checks.expect(
        "no reboot pending",
        "false",
        facts.reboot_pending.to_string(),
        !facts.reboot_pending,
    )?;
    let ubr = facts.os.ubr.unwrap_or(0);
    let target = b.job.pipeline.target;
    let verdict = target.accepts_os(facts.os.build, ubr);
    b.checks.expect(
        "OS build and revision (UBR) meet the target",
        target
            .os_builds()
            .iter()
            .map(|r| format!("{} {}.{}+", r.label, r.build, r.min_ubr))
            .collect::<Vec<_>>()
            .join(" or "),
        format!("{}.{ubr}", facts.os.build),
        verdict.is_ok(),
    )?;
    b.facts
        .updates_installed
        .extend(installed_total.iter().cloned());
    Ok(format!(
        "{} update(s) in {round} round(s), OS {}.{ubr}",
        installed_total.len(),
        facts.os.build
    ))
}

pub async fn user_scripts(b: &mut Build<'_>, o: &ScriptsOptions) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let mut ran = Vec::new();
    for script in &o.run {
        let local = b.local_path(script);
        let text = std::fs::read(&local).map_err(|e| StageError::Input {
            what: "scripts.run",
            path: local.clone(),
            reason: e.to_string(),
        })?;
        let file = local
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("script.ps1")
            .to_string();
        let guest_path = b.guest(&vm).path(&format!("user\\{file}"));
        b.client
            .create_directory(&vm, &b.job.secrets.guest, &b.guest(&vm).path("user"), true)
            .await
            .map_err(StageError::vsphere("create the user script folder"))?;
        b.guest(&vm).upload(text.clone(), &guest_path).await?;
        b.facts
            .uploaded
            .insert(guest_path.clone(), sha256_hex(&text));
        let spec = ProcessSpec {
            path: POWERSHELL.into(),
            arguments: Some(format!(
                "-NoProfile -NonInteractive -ExecutionPolicy Bypass -File {}",
                crate::pipeline::guest::quote(&guest_path)
            )),
            ..ProcessSpec::default()
        };
        let exit = b
            .client
            .run_program(&vm, &b.job.secrets.guest, &spec, b.wait_budget())
            .await
            .map_err(StageError::vsphere(format!("run {file}")))?;
        b.checks.expect(
            format!("{file} exit code"),
            "0",
            exit.exit_code.to_string(),
            exit.exit_code == 0,
        )?;
        ran.push(file);
    }
    Ok(format!(
        "{} script(s) exited 0: {}",
        ran.len(),
        ran.join(", ")
    ))
}

/// Names (api-int.<cluster>.<domain>) resolved from inside the guest.
pub(crate) async fn resolve_names(
    b: &mut Build<'_>,
    vm: &VmId,
    names: &[String],
) -> Result<String, StageError> {
    let result = run(
        b,
        vm,
        "resolve-names.ps1",
        &[Arg::Value("Names", names.join(","))],
    )
    .await?;
    let mut summary = Vec::new();
    for name in names {
        let entry = result
            .details
            .get("names")
            .and_then(|n| n.as_array())
            .and_then(|a| {
                a.iter()
                    .find(|e| e.get("name").and_then(|v| v.as_str()) == Some(name.as_str()))
            });
        let addresses: Vec<String> = entry
            .and_then(|e| e.get("addresses"))
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let error = entry
            .and_then(|e| e.get("error"))
            .and_then(|e| e.as_str())
            .unwrap_or("not resolved");
        b.checks.expect(
            format!("{name} resolves from the guest"),
            "at least one address",
            if addresses.is_empty() {
                error.to_string()
            } else {
                addresses.join(", ")
            },
            !addresses.is_empty(),
        )?;
        summary.push(format!("{name} → {}", addresses.join(", ")));
    }
    Ok(summary.join("; "))
}

/// Reboots the guest and waits until it is back: Tools running and guest
/// operations ready again, and collect-facts reporting a new boot (a later
/// boot time where the guest reports one; no reboot pending otherwise).
pub(crate) async fn reboot_and_wait(b: &mut Build<'_>, vm: &VmId) -> Result<(), StageError> {
    let before = collect_facts(b, vm).await?.last_boot_time;
    b.client
        .guest_reboot(vm)
        .await
        .map_err(StageError::vsphere(format!("reboot the guest of {vm}")))?;
    let budget = b.wait_budget();
    let started = tokio::time::Instant::now();
    loop {
        let waited = b
            .client
            .wait_for_guest_operations(vm, budget.saturating_sub(started.elapsed()))
            .await;
        if let Err(source) = waited {
            return Err(StageError::Vsphere {
                what: format!("wait for {vm} to come back from its reboot"),
                source,
            });
        }
        let facts = collect_facts(b, vm).await?;
        let rebooted = match (&before, &facts.last_boot_time) {
            (Some(a), Some(b)) => a != b,
            _ => !facts.reboot_pending,
        };
        if rebooted {
            b.checks.expect(
                "guest rebooted",
                "a new boot",
                facts
                    .last_boot_time
                    .unwrap_or_else(|| "no reboot pending".into()),
                true,
            )?;
            return Ok(());
        }
        if started.elapsed() >= budget {
            return b
                .checks
                .expect("guest rebooted", "a new boot", "the same boot", false);
        }
        tokio::time::sleep(b.client.poll_interval().max(Duration::from_millis(10))).await;
    }
}
