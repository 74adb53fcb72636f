//! scripts: the pipeline's own PowerShell steps, each must exit 0.

use super::Build;
use crate::pipeline::config::ScriptsOptions;
use crate::pipeline::error::StageError;
use crate::pipeline::guest::{sha256_hex, POWERSHELL};
use crate::vsphere::wire::ProcessSpec;

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
