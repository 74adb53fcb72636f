//! Local folders gild uploads into the guest (the offline installers of the
//! openssh and container_runtime stages, the Kubernetes node files) carry a
//! `SHA256SUMS` as `sha256sum` writes it. Every listed file is hashed here,
//! before anything reaches the guest, so a truncated download or a swapped
//! file fails the stage with nothing uploaded. Files are hashed in chunks:
//! kubelet.exe is over 100 MB.

use crate::pipeline::error::StageError;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// One file the folder's SHA256SUMS lists, its hash checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listed {
    /// As SHA256SUMS names it, with `/` between folders.
    pub name: String,
    pub path: PathBuf,
    pub sha256: String,
}

impl Listed {
    /// The name with Windows separators, for a path in the guest.
    pub fn guest_name(&self) -> String {
        self.name.replace('/', "\\")
    }
}

/// What was wrong, and in which file (the manifest or a listed file).
#[derive(Debug, PartialEq, Eq)]
pub struct SumsError {
    pub path: PathBuf,
    pub reason: String,
}

impl SumsError {
    /// As the stage's input error, naming the pipeline field.
    pub fn into_stage(self, what: &'static str) -> StageError {
        StageError::Input {
            what,
            path: self.path,
            reason: self.reason,
        }
    }
}

/// Every file `dir/SHA256SUMS` lists, each hashed and compared, and the
/// manifest's own text (uploaded with the files, so the guest script can
/// check them again). Names must stay inside `dir`.
pub fn verify_folder(dir: &Path) -> Result<(Vec<Listed>, String), SumsError> {
    let sums_path = dir.join("SHA256SUMS");
    let text = std::fs::read_to_string(&sums_path).map_err(|e| SumsError {
        path: sums_path.clone(),
        reason: format!("{e}; the folder needs a SHA256SUMS (`sha256sum FILES > SHA256SUMS`)"),
    })?;
    let at = |line: usize, reason: String| SumsError {
        path: sums_path.clone(),
        reason: format!("SHA256SUMS:{line}: {reason}"),
    };
    let mut files = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let parsed = line
            .split_at_checked(64)
            .filter(|(hash, _)| hash.bytes().all(|c| c.is_ascii_hexdigit()))
            .and_then(|(hash, rest)| {
                let name = rest
                    .strip_prefix("  ")
                    .or_else(|| rest.strip_prefix(" *"))?;
                Some((hash.to_ascii_lowercase(), name.trim().replace('\\', "/")))
            })
            .filter(|(_, name)| !name.is_empty());
        let Some((want, name)) = parsed else {
            return Err(at(
                i + 1,
                format!("expected `<sha256>  <file>` with a relative file name, got {line:?}"),
            ));
        };
        let inside = !name.starts_with('/')
            && !name.contains(':')
            && name.split('/').all(|part| !part.is_empty() && part != "..");
        if !inside {
            return Err(at(
                i + 1,
                format!("{name:?} is not a path inside the folder (a relative file name)"),
            ));
        }
        let path = dir.join(&name);
        let have = hash_file(&path).map_err(|e| SumsError {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if have != want {
            return Err(SumsError {
                reason: format!("SHA-256 {have}, SHA256SUMS says {want} (line {})", i + 1),
                path,
            });
        }
        files.push(Listed {
            name,
            path,
            sha256: have,
        });
    }
    if files.is_empty() {
        return Err(SumsError {
            path: sums_path,
            reason: "lists no files".into(),
        });
    }
    Ok((files, text))
}

/// SHA-256 of a file, read in chunks.
pub fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::guest::sha256_hex;

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

    fn error(dir: &tempfile::TempDir) -> String {
        let e = verify_folder(dir.path()).unwrap_err();
        format!("{}: {}", e.path.display(), e.reason)
    }

    #[test]
    fn every_listed_file_is_hashed_and_kept_with_the_manifest() {
        let sums = line("zip", "docker-24.0.7.zip") + &line("x", r"cni\flannel.exe");
        let dir = folder(
            &[("docker-24.0.7.zip", "zip"), ("cni/flannel.exe", "x")],
            &sums,
        );
        let (files, text) = verify_folder(dir.path()).unwrap();
        let names: Vec<String> = files.iter().map(Listed::guest_name).collect();
        assert_eq!(names, ["docker-24.0.7.zip", r"cni\flannel.exe"]);
        assert_eq!(files[1].sha256, sha256_hex(b"x"));
        assert_eq!(text, sums);
    }

    #[test]
    fn a_file_that_does_not_match_its_sha256_is_refused_naming_it_and_the_line() {
        let dir = folder(
            &[("docker-24.0.7.zip", "tampered")],
            &line("zip", "docker-24.0.7.zip"),
        );
        let e = error(&dir);
        assert!(
            e.contains("docker-24.0.7.zip: SHA-256")
                && e.contains("SHA256SUMS says")
                && e.contains("(line 1)"),
            "{e}"
        );
    }

    #[test]
    fn a_malformed_line_a_missing_file_an_escaping_path_and_no_manifest_are_refused() {
        let e = error(&folder(&[], "not a checksum line\n"));
        assert!(e.contains("SHA256SUMS:1: expected"), "{e}");
        assert!(error(&folder(&[], &line("zip", "missing.zip"))).contains("missing.zip"));
        for escaping in ["../outside.zip", "/etc/passwd", r"C:\Windows\x.exe"] {
            let e = error(&folder(&[], &line("zip", escaping)));
            assert!(
                e.contains("not a path inside the folder"),
                "{escaping}: {e}"
            );
        }
        assert!(error(&folder(&[], "\n")).contains("lists no files"));
        let empty = tempfile::tempdir().unwrap();
        assert!(error(&empty).contains("needs a SHA256SUMS"));
    }
}
