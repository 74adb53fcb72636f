//! Files a pipeline names: each must exist (paths resolve against the
//! pipeline file's folder); the OpenSSH public key must parse and pair with
//! the private key when one is given; the answer file is rendered and
//! linted with `crate::unattend`.

use super::Findings;
use crate::pipeline::answer::render_answer_file;
use crate::pipeline::config::StageConfig;
use crate::pipeline::rules;
use crate::pipeline::secret_source::{SecretRole, SecretSource};
use crate::report::Severity;
use crate::secret::Secret;
use crate::unattend::{lint_text, render};
use std::path::{Path, PathBuf};

/// Renders the answer file when the administrator password cannot be read
/// here (pull-request CI); never printed (diagnostics are redacted).
const PLACEHOLDER_PASSWORD: &str = "Gild-Validate-Render-7x";

pub(super) fn check(f: &mut Findings<'_>) {
    let loaded = f.loaded;
    let p = loaded.pipeline();
    let mut wanted: Vec<(String, PathBuf, bool)> = Vec::new();
    if let Some(ca) = &p.vcenter.ca_file {
        wanted.push(("vcenter.ca_file".into(), ca.clone(), false));
    }
    if let Some(u) = &p.unattend {
        wanted.push(("unattend.template".into(), u.template.clone(), false));
        if let Some(v) = &u.values {
            wanted.push(("unattend.values".into(), v.clone(), false));
        }
    }
    for (i, stage) in p.stages.iter().enumerate() {
        match stage {
            StageConfig::Openssh(o) => {
                wanted.push((
                    format!("stages[{i}].public_key_file"),
                    o.public_key_file.clone(),
                    false,
                ));
                if let Some(k) = &o.private_key_file {
                    wanted.push((format!("stages[{i}].private_key_file"), k.clone(), false));
                }
                if let Some(d) = &o.offline_source {
                    wanted.push((format!("stages[{i}].offline_source"), d.clone(), true));
                }
            }
            StageConfig::ContainerRuntime(o) => {
                if let Some(d) = &o.offline_source {
                    wanted.push((format!("stages[{i}].offline_source"), d.clone(), true));
                }
            }
            StageConfig::KubernetesNode(o) => {
                wanted.push((format!("stages[{i}].binaries"), o.binaries.clone(), true));
                wanted.push((format!("stages[{i}].netplan"), o.netplan.clone(), false));
                if let Some(k) = &o.kubeconfig {
                    wanted.push((format!("stages[{i}].kubeconfig"), k.clone(), false));
                }
            }
            StageConfig::Scripts(o) => {
                for (j, script) in o.run.iter().enumerate() {
                    wanted.push((format!("stages[{i}].run[{j}]"), script.clone(), false));
                }
            }
            _ => {}
        }
    }
    let mut missing = Vec::new();
    for (field, path, dir) in &wanted {
        let full = loaded.resolve_path(path);
        let ok = if *dir { full.is_dir() } else { full.is_file() };
        if !ok {
            missing.push(field.clone());
            let what = if *dir { "folder" } else { "file" };
            f.at(
                rules::FILE_MISSING,
                field,
                format!("{field}: {what} {} does not exist", full.display()),
            );
        }
    }
    for (i, stage) in p.stages.iter().enumerate() {
        if let StageConfig::Openssh(o) = stage {
            let public = format!("stages[{i}].public_key_file");
            let private = format!("stages[{i}].private_key_file");
            if !missing.contains(&public) {
                let private = o
                    .private_key_file
                    .as_ref()
                    .filter(|_| !missing.contains(&private))
                    .map(|k| (private, loaded.resolve_path(k)));
                ssh_keys(
                    f,
                    &public,
                    &loaded.resolve_path(&o.public_key_file),
                    private,
                );
            }
        }
    }
    for (i, stage) in p.stages.iter().enumerate() {
        if let StageConfig::KubernetesNode(o) = stage {
            let field = format!("stages[{i}].binaries");
            if !missing.contains(&field) {
                stand_ins(f, &field, &loaded.resolve_path(&o.binaries));
            }
        }
    }
    if p.unattend.is_some() && !missing.iter().any(|m| m.starts_with("unattend.")) {
        answer_file(f);
    }
}

/// Windows executables start with the DOS header's `MZ`: a `.exe` that does
/// not cannot run on the node, and is most likely the stand-in shipped so
/// the pipeline builds on the simulator. A warning, not an error, so the
/// shipped pipeline still validates; the stage itself checks hashes only.
fn stand_ins(f: &mut Findings<'_>, field: &str, dir: &Path) {
    let Ok((listed, _)) = crate::pipeline::sums::verify_folder(dir) else {
        return; // The stage reports a bad SHA256SUMS with its line.
    };
    let not_pe: Vec<&str> = listed
        .iter()
        .filter(|l| l.name.to_ascii_lowercase().ends_with(".exe"))
        .filter(|l| {
            let mut head = [0u8; 2];
            std::fs::File::open(&l.path)
                .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut head))
                .map_or(true, |_| &head != b"MZ")
        })
        .map(|l| l.name.as_str())
        .collect();
    if !not_pe.is_empty() {
        f.at(
            rules::NODE_FILE_STAND_IN,
            field,
            format!(
                "{field}: {} in {} {} not a Windows executable (no MZ header)",
                not_pe.join(", "),
                dir.display(),
                if not_pe.len() == 1 { "is" } else { "are" }
            ),
        );
    }
}

fn ssh_keys(f: &mut Findings<'_>, field: &str, path: &Path, private: Option<(String, PathBuf)>) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            f.at(
                rules::SSH_KEY,
                field,
                format!("cannot read {}: {e}", path.display()),
            );
            return;
        }
    };
    let keys = match crate::pipeline::sshkey::parse_public_keys(&text) {
        Ok(keys) => keys,
        Err(reason) => {
            f.at(
                rules::SSH_KEY,
                field,
                format!("{}: {reason}", path.display()),
            );
            return;
        }
    };
    let Some((pfield, ppath)) = private else {
        return;
    };
    if world_readable(&ppath) {
        f.at(
            rules::SSH_KEY,
            &pfield,
            format!(
                "private key {} is readable by every user; chmod 600 it",
                ppath.display()
            ),
        )
        .severity = Severity::Warning;
    }
    use crate::pipeline::sshkey::{pair, PairError};
    match pair(&ppath, &keys) {
        Ok(()) => {}
        Err(e @ PairError::Mismatch { .. }) => {
            f.at(
                rules::SSH_KEY,
                field,
                format!(
                    "public key {} and private key {}: {e}",
                    path.display(),
                    ppath.display()
                ),
            );
        }
        Err(e @ PairError::NotAKey(_)) => {
            f.at(
                rules::SSH_KEY,
                &pfield,
                format!(
                    "{}: {e}; the pair cannot be checked (ssh-keygen -p -f KEY converts PEM keys)",
                    ppath.display()
                ),
            );
        }
    }
}

#[cfg(unix)]
fn world_readable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o004 != 0)
}

#[cfg(not(unix))]
fn world_readable(_path: &Path) -> bool {
    false
}

/// The administrator password to render with: the real one when it can be
/// read without consuming stdin, else a placeholder.
fn render_password(f: &Findings<'_>) -> Secret {
    match f.loaded.secret_source(SecretRole::Admin) {
        Some(s @ (SecretSource::Env(_) | SecretSource::File(_))) => s
            .resolve()
            .unwrap_or_else(|_| Secret::new(PLACEHOLDER_PASSWORD)),
        _ => Secret::new(PLACEHOLDER_PASSWORD),
    }
}

fn answer_file(f: &mut Findings<'_>) {
    let password = render_password(f);
    let rendered = match render_answer_file(f.loaded, &password) {
        Ok(r) => r,
        Err(e) => {
            let message = render::redact(&crate::pipeline::engine::error_chain(&e), &password);
            f.at(rules::UNATTEND, "unattend.template", message);
            return;
        }
    };
    let name = format!("{} (rendered)", rendered.template.display());
    for d in lint_text(&name, &rendered.text, rendered.profile) {
        let message = render::redact(
            &format!(
                "rendered answer file {}:{}: [{}] {}",
                d.line, d.col, d.rule_id, d.message
            ),
            &password,
        );
        let help = render::redact(&d.help, &password);
        let diag = f.at(rules::UNATTEND_LINT, "unattend.template", message);
        diag.severity = d.severity;
        diag.help = help.into();
    }
}
