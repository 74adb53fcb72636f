//! Where a pipeline's secrets come from: an environment variable
//! (`password_env`), a file (`password_file`, relative to the pipeline
//! file's folder) or stdin (`password_file: "-"`). The pipeline file itself
//! never holds one (the loader refuses literal secrets).
//!
//! Rules, enforced by [`SecretSource::resolve`]:
//! - a file readable by everyone (mode `o+r` on Unix) is refused, as ssh
//!   refuses such private keys: a secret file is `chmod 600`;
//! - stdin can feed one secret per process (it is read to the end once);
//! - one trailing newline is dropped from files and stdin (`echo pw > f`).

use crate::secret::{Secret, SecretSourceError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Which of a pipeline's secrets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SecretRole {
    /// The vCenter user's password (`vcenter.password_env|file`).
    Vcenter,
    /// The guest user's password for guest operations (`guest.password_*`).
    Guest,
    /// The Windows administrator password written into the answer file
    /// (`unattend.admin_password_*`).
    Admin,
}

impl SecretRole {
    pub const ALL: [SecretRole; 3] = [SecretRole::Vcenter, SecretRole::Guest, SecretRole::Admin];

    /// The field prefix in the pipeline file: `<prefix>_env`, `<prefix>_file`.
    pub fn field(self) -> &'static str {
        match self {
            SecretRole::Vcenter => "vcenter.password",
            SecretRole::Guest => "guest.password",
            SecretRole::Admin => "unattend.admin_password",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            SecretRole::Vcenter => "vCenter password",
            SecretRole::Guest => "guest password",
            SecretRole::Admin => "administrator password",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretSource {
    Env(String),
    /// Already resolved against the pipeline's folder.
    File(PathBuf),
    Stdin,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("{0}")]
    Source(#[from] SecretSourceError),
    #[error(
        "secret file {} is readable by every user (mode {mode:o}); run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    WorldReadable { path: PathBuf, mode: u32 },
    #[error("stdin was already read for another secret; only one secret can come from stdin")]
    StdinTaken,
    #[error("cannot read the secret from stdin")]
    Stdin(#[source] std::io::Error),
    #[error("the secret read from stdin is empty")]
    StdinEmpty,
}

static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

impl SecretSource {
    /// The source given by a pair of `*_env` / `*_file` fields, or `None`
    /// when neither is set. Both set is the caller's to report (validation
    /// does); here `env` wins so a build has one deterministic answer.
    pub fn from_fields(env: Option<&str>, file: Option<&Path>, base_dir: &Path) -> Option<Self> {
        match (env, file) {
            (Some(name), _) => Some(SecretSource::Env(name.to_string())),
            (None, Some(p)) if p == Path::new("-") => Some(SecretSource::Stdin),
            (None, Some(p)) => Some(SecretSource::File(base_dir.join(p))),
            (None, None) => None,
        }
    }

    /// `environment variable X`, `file F`, `stdin`: for messages (never the
    /// value).
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Env(n) => format!("environment variable {n}"),
            SecretSource::File(p) => format!("file {}", p.display()),
            SecretSource::Stdin => "stdin".into(),
        }
    }

    /// Whether the source is there, without reading the secret: the env var
    /// is set and not empty / the file exists and is not world-readable.
    /// Stdin is assumed available.
    pub fn check(&self) -> Result<(), SecretError> {
        match self {
            SecretSource::Env(name) => match std::env::var_os(name) {
                Some(v) if !v.is_empty() => Ok(()),
                Some(_) => {
                    Err(SecretSourceError::Empty(format!("environment variable {name}")).into())
                }
                None => {
                    Err(SecretSourceError::Missing(format!("environment variable {name}")).into())
                }
            },
            SecretSource::File(path) => {
                let meta = std::fs::metadata(path).map_err(|e| {
                    SecretSourceError::Unreadable(path.display().to_string(), e.to_string())
                })?;
                check_mode(path, &meta)
            }
            SecretSource::Stdin => Ok(()),
        }
    }

    /// Reads the secret.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Env(name) => Ok(Secret::from_env(name)?),
            SecretSource::File(path) => {
                self.check()?;
                Ok(Secret::from_file(path)?)
            }
            SecretSource::Stdin => {
                if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
                    return Err(SecretError::StdinTaken);
                }
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                    .map_err(SecretError::Stdin)?;
                let secret = Secret::new(trim_newline(&text));
                zeroize::Zeroize::zeroize(&mut text);
                if secret.is_empty() {
                    return Err(SecretError::StdinEmpty);
                }
                Ok(secret)
            }
        }
    }
}

fn trim_newline(s: &str) -> &str {
    let s = s.strip_suffix('\n').unwrap_or(s);
    s.strip_suffix('\r').unwrap_or(s)
}

#[cfg(unix)]
fn check_mode(path: &Path, meta: &std::fs::Metadata) -> Result<(), SecretError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o004 != 0 {
        return Err(SecretError::WorldReadable {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _meta: &std::fs::Metadata) -> Result<(), SecretError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_map_to_sources_relative_to_the_pipeline_folder() {
        let base = Path::new("/p");
        assert_eq!(
            SecretSource::from_fields(Some("X"), None, base),
            Some(SecretSource::Env("X".into()))
        );
        assert_eq!(
            SecretSource::from_fields(None, Some(Path::new("pw.txt")), base),
            Some(SecretSource::File("/p/pw.txt".into()))
        );
        assert_eq!(
            SecretSource::from_fields(None, Some(Path::new("-")), base),
            Some(SecretSource::Stdin)
        );
        assert_eq!(SecretSource::from_fields(None, None, base), None);
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_secret_files_are_refused_and_private_ones_read() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let src = SecretSource::File(p.clone());
        let err = src.resolve().unwrap_err().to_string();
        assert!(
            err.contains("chmod 600") && !err.contains("s3cret"),
            "{err}"
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(src.resolve().unwrap().expose(), "s3cret");
    }

    #[test]
    fn an_unset_variable_is_named_not_echoed() {
        let src = SecretSource::Env("GILD_TEST_SURELY_UNSET_VAR".into());
        let err = src.check().unwrap_err().to_string();
        assert!(err.contains("GILD_TEST_SURELY_UNSET_VAR"), "{err}");
    }
}
