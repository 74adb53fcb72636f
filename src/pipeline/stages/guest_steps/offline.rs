//! The offline path for air-gapped vCenters: a local folder named by the
//! pipeline (`offline_source`) with the installer files and a SHA256SUMS
//! (as `sha256sum` writes it). gild checks every listed file's SHA-256
//! before anything reaches the guest, uploads the files and the manifest
//! into one guest folder, and the script (which checks them again, in the
//! guest) gets that folder as `-SourceDir`.

use super::Build;
use crate::pipeline::error::StageError;
use crate::pipeline::guest::sha256_hex;
use crate::vsphere::wire::VmId;
use std::path::{Path, PathBuf};

/// The files SHA256SUMS lists, each read and verified; the manifest's own
/// bytes last. An error names the line or the file and what was expected.
pub(crate) fn read_verified(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let sums_path = dir.join("SHA256SUMS");
    let sums = std::fs::read_to_string(&sums_path).map_err(|e| {
        format!(
            "{}: {e} (the folder needs a SHA256SUMS)",
            sums_path.display()
        )
    })?;
    let mut files = Vec::new();
    for (i, line) in sums.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = line
            .get(..64)
            .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
            .zip(line.get(64..66).filter(|s| *s == "  " || *s == " *"))
            .map(|(hash, _)| (hash.to_ascii_lowercase(), line[66..].trim().to_string()));
        let Some((want, name)) = parsed.filter(|(_, n)| !n.is_empty()) else {
            return Err(format!(
                "{}:{}: expected '<sha256>  <file>', got {line:?}",
                sums_path.display(),
                i + 1
            ));
        };
        if name.split(['/', '\\']).any(|p| p == ".." || p.is_empty()) || name.contains(':') {
            return Err(format!(
                "{}:{}: {name:?} is not a path inside the folder",
                sums_path.display(),
                i + 1
            ));
        }
        let path = dir.join(name.replace('\\', "/"));
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let actual = sha256_hex(&bytes);
        if actual != want {
            return Err(format!(
                "{}: SHA-256 {actual}, but SHA256SUMS line {} says {want}",
                path.display(),
                i + 1
            ));
        }
        files.push((name.replace('/', "\\"), bytes));
    }
    if files.is_empty() {
        return Err(format!("{}: lists no files", sums_path.display()));
    }
    files.push(("SHA256SUMS".into(), sums.into_bytes()));
    Ok(files)
}

/// Verifies `local`, uploads it to the guest folder `src\<name>` and
/// returns that folder for `-SourceDir`.
pub(crate) async fn upload_source(
    b: &mut Build<'_>,
    vm: &VmId,
    what: &'static str,
    local: &Path,
    name: &str,
) -> Result<String, StageError> {
    let local: PathBuf = b.local_path(local);
    let files = read_verified(&local).map_err(|reason| StageError::Input {
        what,
        path: local.clone(),
        reason,
    })?;
    let dir = b.guest(vm).path(&format!("src\\{name}"));
    for (file, bytes) in files {
        let target = format!("{dir}\\{file}");
        let parent = target
            .rsplit_once('\\')
            .map_or(dir.clone(), |(p, _)| p.to_string());
        b.client
            .create_directory(vm, &b.job.secrets.guest, &parent, true)
            .await
            .map_err(StageError::vsphere(format!("create {parent} in the guest")))?;
        let hash = sha256_hex(&bytes);
        b.guest(vm).upload(bytes, &target).await?;
        b.facts.uploaded.insert(target, hash);
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(files: &[(&str, &str)], sums: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::write(dir.path().join("SHA256SUMS"), sums).unwrap();
        dir
    }

    fn line(text: &str, name: &str) -> String {
        format!("{}  {name}\n", sha256_hex(text.as_bytes()))
    }

    #[test]
    fn every_listed_file_is_read_when_its_sha256_matches() {
        let sums = line("zip", "docker-24.0.7.zip") + &line("x", "cni/flannel.exe");
        let dir = folder(
            &[("docker-24.0.7.zip", "zip"), ("cni/flannel.exe", "x")],
            &sums,
        );
        let files = read_verified(dir.path()).unwrap();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["docker-24.0.7.zip", "cni\\flannel.exe", "SHA256SUMS"]
        );
    }

    #[test]
    fn a_file_that_does_not_match_its_sha256_is_refused_naming_it() {
        let dir = folder(
            &[("docker-24.0.7.zip", "tampered")],
            &line("zip", "docker-24.0.7.zip"),
        );
        let err = read_verified(dir.path()).unwrap_err();
        assert!(err.contains("docker-24.0.7.zip: SHA-256"), "{err}");
    }

    #[test]
    fn a_malformed_line_a_missing_file_and_an_escaping_path_are_refused() {
        let dir = folder(&[], "not a checksum line\n");
        assert!(read_verified(dir.path())
            .unwrap_err()
            .contains("SHA256SUMS:1"));
        let dir = folder(&[], &line("zip", "missing.zip"));
        assert!(read_verified(dir.path())
            .unwrap_err()
            .contains("missing.zip"));
        let dir = folder(&[], &line("zip", "../outside.zip"));
        assert!(read_verified(dir.path())
            .unwrap_err()
            .contains("not a path inside"));
        let dir = tempfile::tempdir().unwrap();
        assert!(read_verified(dir.path())
            .unwrap_err()
            .contains("needs a SHA256SUMS"));
    }
}
