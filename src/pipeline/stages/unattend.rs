//! unattend: the answer file rendered from the pipeline's template and
//! values, linted with the target's profile (no errors allowed), uploaded,
//! and read back byte for byte. The manifest records its SHA-256 with the
//! password removed, so the hash names the file without carrying a secret.

use super::Build;
use crate::pipeline::answer;
use crate::pipeline::error::StageError;
use crate::pipeline::guest::sha256_hex;
use crate::report::Severity;
use crate::unattend::{lint_text, render};

/// Where the answer file goes in the guest; sysprep is pointed at it. A
/// pipeline may move it with `unattend.set.uploaded_answer_file`.
pub fn guest_path(b: &Build<'_>) -> String {
    b.job
        .pipeline
        .unattend
        .as_ref()
        .and_then(|u| u.set.get("uploaded_answer_file"))
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| answer::guest_answer_path(&b.job.pipeline))
}

pub async fn run(b: &mut Build<'_>) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let password = b.job.secrets.admin_password.clone().ok_or_else(|| {
        StageError::Precondition("the unattend stage needs the administrator password (unattend.admin_password_env or _file)".into())
    })?;
    let upload_to = guest_path(b);
    // The same rendering `gild validate` checks, so what validate passed is
    // what the guest gets.
    let answer = answer::render_answer(&b.job.pipeline, &b.job.base_dir, &password).map_err(
        |e| match e {
            answer::AnswerError::NoSection => StageError::Precondition(
                "the unattend stage needs an `unattend:` section (template and values)".into(),
            ),
            other => StageError::Input {
                what: "unattend",
                path: b.job.pipeline_path.clone(),
                reason: crate::pipeline::engine::error_chain(&other),
            },
        },
    )?;
    let (rendered, profile) = (answer.text, answer.profile);
    let diags = lint_text(&upload_to, &rendered, profile);
    let errors: Vec<_> = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    let warnings = diags
        .iter()
        .filter(|d| d.severity == Severity::Warning)
        .count();
    b.checks.expect(
        format!("answer file lint ({profile:?} profile)"),
        "no errors",
        if errors.is_empty() {
            format!("no errors, {warnings} warning(s)")
        } else {
            format!(
                "{} error(s): {}",
                errors.len(),
                errors
                    .iter()
                    .map(|d| format!("{}:{} {}", d.line, d.rule_id, d.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        },
        errors.is_empty(),
    )?;
    b.guest(&vm)
        .upload(rendered.clone().into_bytes(), &upload_to)
        .await?;
    let back = b
        .client
        .download_bytes(&vm, &b.job.secrets.guest, &upload_to)
        .await
        .map_err(StageError::vsphere(format!("read {upload_to} back")))?;
    b.checks.expect(
        "answer file in the guest matches the rendered one",
        format!("{} bytes, same SHA-256", rendered.len()),
        if back.as_ref() == rendered.as_bytes() {
            format!("{} bytes, same SHA-256", back.len())
        } else {
            format!("{} bytes, different", back.len())
        },
        back.as_ref() == rendered.as_bytes(),
    )?;
    let redacted_sha = sha256_hex(render::redact(&rendered, &password).as_bytes());
    b.facts.answer_file_sha256 = Some(redacted_sha.clone());
    Ok(format!("{upload_to} rendered, linted ({warnings} warning(s)), uploaded; sha256 (password removed) {}", &redacted_sha[..12]))
}
