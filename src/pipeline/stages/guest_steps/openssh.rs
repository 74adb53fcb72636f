//! tools_conf (tools.conf's exclude-nics) and openssh (sshd, ssh-agent,
//! TCP 22 and the administrators' key, read back).

use super::{collect_facts, run, Build};
use crate::pipeline::config::OpensshOptions;
use crate::pipeline::error::StageError;
use crate::pipeline::guest::{sha256_hex, Arg};

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
    let mut args = Vec::new();
    if let Some(local) = &o.offline_source {
        let dir = super::offline::upload_source(b, &vm, "openssh.offline_source", local, "openssh")
            .await?;
        args.push(Arg::Value("SourceDir", dir));
    }
    run(b, &vm, "install-openssh.ps1", &args).await?;
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
