//! A value that must never reach a log, an error message, a state file or a
//! guest process argument.
//!
//! `Secret` has no `Display`, its `Debug` prints `Secret(***)`, and it does not
//! implement `Serialize`: putting one into a JSON body has to go through
//! [`Secret::expose`], which makes every place a password leaves the process
//! easy to find with `grep expose`.

use std::fmt;
use zeroize::Zeroize;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The plain value. Call only where the secret leaves for its one
    /// legitimate destination (an Authorization header, a `credentials`
    /// body, an encoded answer-file field).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads a secret from an environment variable, naming the variable (not
    /// the value) when it is missing.
    pub fn from_env(name: &str) -> Result<Self, SecretSourceError> {
        match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Secret(v)),
            Ok(_) => Err(SecretSourceError::Empty(format!(
                "environment variable {name}"
            ))),
            Err(_) => Err(SecretSourceError::Missing(format!(
                "environment variable {name}"
            ))),
        }
    }

    /// Reads a secret from a file; one trailing newline is dropped because
    /// `echo pw > file` is how most people write these files.
    pub fn from_file(path: &std::path::Path) -> Result<Self, SecretSourceError> {
        let mut v = std::fs::read_to_string(path).map_err(|e| {
            SecretSourceError::Unreadable(path.display().to_string(), e.to_string())
        })?;
        if v.ends_with('\n') {
            v.pop();
            if v.ends_with('\r') {
                v.pop();
            }
        }
        if v.is_empty() {
            return Err(SecretSourceError::Empty(format!("file {}", path.display())));
        }
        Ok(Secret(v))
    }
}

impl From<&str> for Secret {
    fn from(v: &str) -> Self {
        Secret(v.to_string())
    }
}

impl From<String> for Secret {
    fn from(v: String) -> Self {
        Secret(v)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretSourceError {
    #[error("secret not found: {0} is not set")]
    Missing(String),
    #[error("secret is empty: {0}")]
    Empty(String),
    #[error("cannot read secret from {0}: {1}")]
    Unreadable(String, String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{:?}", Some(&s)).contains("hunter2"));
    }

    #[test]
    fn file_source_drops_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "pa ss\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "pa ss");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(
            Secret::from_file(&p),
            Err(SecretSourceError::Empty(_))
        ));
    }
}
