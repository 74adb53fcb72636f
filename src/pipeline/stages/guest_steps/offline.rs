//! The offline path for air-gapped vCenters: a local folder named by the
//! pipeline (`offline_source`) with the installer files and a SHA256SUMS
//! (as `sha256sum` writes it). gild checks every listed file's SHA-256
//! before anything reaches the guest, uploads the files and the manifest
//! into one guest folder, and the script (which checks them again, in the
//! guest) gets that folder as `-SourceDir`.

use super::Build;
use crate::pipeline::error::StageError;
use crate::pipeline::sums;
use crate::vsphere::wire::VmId;
use std::path::{Path, PathBuf};

/// Verifies `local` (every file its SHA256SUMS lists), uploads the files
/// and the manifest to the guest folder `src\<name>` and returns that
/// folder for `-SourceDir`.
pub(crate) async fn upload_source(
    b: &mut Build<'_>,
    vm: &VmId,
    what: &'static str,
    local: &Path,
    name: &str,
) -> Result<String, StageError> {
    let local: PathBuf = b.local_path(local);
    let (files, manifest) = sums::verify_folder(&local).map_err(|e| e.into_stage(what))?;
    let dir = b.guest(vm).path(&format!("src\\{name}"));
    let creds = &b.job.secrets.guest;
    let mut made = std::collections::BTreeSet::new();
    for file in &files {
        let target = format!("{dir}\\{}", file.guest_name());
        let parent = target
            .rsplit_once('\\')
            .map_or(dir.clone(), |(p, _)| p.to_string());
        if made.insert(parent.clone()) {
            b.client
                .create_directory(vm, creds, &parent, true)
                .await
                .map_err(StageError::vsphere(format!("create {parent} in the guest")))?;
        }
        b.client
            .upload_file(vm, creds, &file.path, &target, true)
            .await
            .map_err(StageError::vsphere(format!(
                "upload {}",
                file.path.display()
            )))?;
        b.facts.uploaded.insert(target, file.sha256.clone());
    }
    let target = format!("{dir}\\SHA256SUMS");
    b.facts.uploaded.insert(
        target.clone(),
        crate::pipeline::guest::sha256_hex(manifest.as_bytes()),
    );
    b.guest(vm).upload(manifest.into_bytes(), &target).await?;
    Ok(dir)
}
