//! `${VAR}` interpolation in pipeline files.
//!
//! Where a variable's value comes from, highest first:
//! 1. `--var NAME=VALUE` (the last one given wins),
//! 2. `--var-file FILE` (later files override earlier ones),
//! 3. the process environment,
//! 4. defaults a caller sets ([`Vars::set_default`]; `gild build
//!    --simulator` fills the vCenter URL and user this way).
//!
//! A var file is `NAME=VALUE` lines, the format of Docker's `--env-file`:
//! blank lines and lines starting with `#` are skipped, the value is
//! everything after the first `=` taken literally (no quotes removed, no
//! escapes, no `${...}` inside), and a name is `[A-Za-z_][A-Za-z0-9_]*`.
//!
//! In a pipeline file `${NAME}` is replaced inside any value (never inside
//! keys); `$${` writes a literal `${`; any other `$` is kept as is. An
//! undefined name is an error, never an empty string: a pipeline that
//! silently builds against `https:///` helps nobody.
//!
//! Secrets are not variables. A variable whose name looks like a secret
//! (`GILD_GUEST_PASSWORD`) is refused both in `--var` (command lines are
//! visible to every user of the machine) and in `${...}` (the value would
//! end up in the loaded pipeline, its logs and state); secrets are named by
//! `password_env` / `password_file` and read only where they are used.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The variables a pipeline is loaded with.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    explicit: BTreeMap<String, String>,
    use_env: bool,
    defaults: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum VarsError {
    #[error("cannot read var file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    FileSyntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("--var `{0}`: {1}")]
    BadAssignment(String, String),
}

impl Vars {
    /// Variables from the process environment (plus any set later).
    pub fn from_env() -> Self {
        Vars {
            use_env: true,
            ..Vars::default()
        }
    }

    /// Only what is set explicitly: for tests and for callers that must not
    /// depend on the environment.
    pub fn empty() -> Self {
        Vars::default()
    }

    /// Builds the variables the way the command line gives them: the
    /// environment, then each var file in order, then each `--var`.
    pub fn from_args(files: &[PathBuf], assignments: &[String]) -> Result<Self, VarsError> {
        let mut vars = Vars::from_env();
        for f in files {
            vars.load_file(f)?;
        }
        for a in assignments {
            vars.assign(a)?;
        }
        Ok(vars)
    }

    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.explicit.insert(name.into(), value.into());
        self
    }

    /// A value used only when `name` is defined nowhere else (not even in
    /// the environment).
    pub fn set_default(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.defaults.insert(name.into(), value.into());
        self
    }

    /// `NAME=VALUE` as given to `--var`.
    pub fn assign(&mut self, assignment: &str) -> Result<(), VarsError> {
        let bad = |why: &str| VarsError::BadAssignment(shown(assignment), why.to_string());
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| bad("expected NAME=VALUE"))?;
        check_name(name).map_err(|m| bad(&m))?;
        if looks_secret(name) {
            return Err(bad(SECRET_VAR_HELP));
        }
        self.set(name, value);
        Ok(())
    }

    /// Reads a var file (format in the module docs).
    pub fn load_file(&mut self, path: &Path) -> Result<(), VarsError> {
        let text = std::fs::read_to_string(path).map_err(|source| VarsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        for (i, line) in text.lines().enumerate() {
            let bad = |message: String| VarsError::FileSyntax {
                path: path.to_path_buf(),
                line: i + 1,
                message,
            };
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            let (name, value) = line
                .split_once('=')
                .ok_or_else(|| bad("expected NAME=VALUE".into()))?;
            check_name(name).map_err(bad)?;
            if looks_secret(name) {
                return Err(bad(format!("`{name}`: {SECRET_VAR_HELP}")));
            }
            self.set(name, value);
        }
        Ok(())
    }

    /// The value of `name`, or `None` when it is defined nowhere.
    pub fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.explicit.get(name) {
            return Some(v.clone());
        }
        if self.use_env {
            if let Ok(v) = std::env::var(name) {
                return Some(v);
            }
        }
        self.defaults.get(name).cloned()
    }

    /// Names given explicitly (`--var`, var files), to warn about those a
    /// pipeline never uses.
    pub fn explicit_names(&self) -> impl Iterator<Item = &str> {
        self.explicit.keys().map(String::as_str)
    }
}

/// An assignment shown in an error: the name only, the value could be
/// anything.
fn shown(assignment: &str) -> String {
    match assignment.split_once('=') {
        Some((name, _)) => format!("{name}=…"),
        None => assignment.to_string(),
    }
}

pub const SECRET_VAR_HELP: &str =
    "this name looks like a secret; secrets are not variables — name \
     the environment variable or file with `password_env` / `password_file` instead";

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a variable name (letters, digits and `_`, not starting with a digit)"
        ))
    }
}

/// Does a key or variable name say it holds a secret? Word-based, so
/// `AdministratorPassword`, `guest_passwd`, `API_TOKEN` and
/// `private_key` are caught; names ending in `_env` / `_file` say where a
/// secret comes from and are not secrets themselves (callers check that).
pub fn looks_secret(name: &str) -> bool {
    let lower = name.to_ascii_lowercase().replace(['-', '.'], "_");
    // Not secrets: unattend's `publicKeyToken`, any public key.
    if lower.contains("publickey") || lower.contains("public_key") {
        return false;
    }
    let squashed = lower.replace('_', "");
    [
        "password",
        "passwd",
        "secret",
        "token",
        "privatekey",
        "apikey",
        "passphrase",
    ]
    .iter()
    .any(|w| squashed.contains(w))
        || lower.split('_').any(|w| w == "pw" || w == "pwd")
}

/// The names `text` references as `${NAME}` (escapes and malformed
/// references skipped).
pub fn references(text: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    let _ = interpolate(text, &Vars::empty(), &mut used);
    used
}

/// One `${...}` that could not be replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpolationError {
    /// Character offset of the `$` in the text.
    pub offset: usize,
    pub kind: InterpolationErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InterpolationErrorKind {
    Undefined(String),
    /// The name looks like a secret.
    Secret(String),
    BadName(String),
    Unterminated,
}

impl std::fmt::Display for InterpolationErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InterpolationErrorKind::Undefined(n) => write!(
                f,
                "undefined variable `{n}` (set it in the environment, with --var {n}=VALUE or in a --var-file)"
            ),
            InterpolationErrorKind::Secret(n) => write!(f, "`${{{n}}}`: {SECRET_VAR_HELP}"),
            InterpolationErrorKind::BadName(n) => write!(
                f,
                "`${{{n}}}` is not a variable reference (names are letters, digits and `_`; write `$${{` for a literal `${{`)"
            ),
            InterpolationErrorKind::Unterminated => {
                f.write_str("`${` without a closing `}` (write `$${` for a literal `${`)")
            }
        }
    }
}

/// Replaces every `${NAME}` in `text`, recording the names used. All
/// problems are returned, not only the first.
pub fn interpolate(
    text: &str,
    vars: &Vars,
    used: &mut BTreeSet<String>,
) -> Result<String, Vec<InterpolationError>> {
    if !text.contains('$') {
        return Ok(text.to_string());
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' && chars.get(i + 1) == Some(&'$') && chars.get(i + 2) == Some(&'{') {
            out.push_str("${");
            i += 3;
            continue;
        }
        if c != '$' || chars.get(i + 1) != Some(&'{') {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(close) = chars[i + 2..].iter().position(|&c| c == '}') else {
            errors.push(InterpolationError {
                offset: i,
                kind: InterpolationErrorKind::Unterminated,
            });
            break;
        };
        let name: String = chars[i + 2..i + 2 + close].iter().collect();
        let err = |kind| InterpolationError { offset: i, kind };
        if check_name(&name).is_err() {
            errors.push(err(InterpolationErrorKind::BadName(name)));
        } else if looks_secret(&name) {
            errors.push(err(InterpolationErrorKind::Secret(name)));
        } else {
            match vars.get(&name) {
                Some(v) => out.push_str(&v),
                None => errors.push(err(InterpolationErrorKind::Undefined(name.clone()))),
            }
            used.insert(name);
        }
        i += close + 3;
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vars {
        let mut v = Vars::empty();
        for (k, val) in pairs {
            v.set(*k, *val);
        }
        v
    }

    #[test]
    fn references_are_replaced_and_escapes_kept_literal() {
        let v = vars(&[("HOST", "vc.example"), ("N", "3")]);
        let mut used = BTreeSet::new();
        assert_eq!(
            interpolate("https://${HOST}/x-${N}", &v, &mut used).unwrap(),
            "https://vc.example/x-3"
        );
        assert_eq!(
            interpolate("cost $5, $${HOST} literal", &v, &mut used).unwrap(),
            "cost $5, ${HOST} literal"
        );
        assert!(used.contains("HOST") && used.contains("N"));
    }

    #[test]
    fn every_undefined_name_is_reported_with_its_offset() {
        let v = vars(&[]);
        let e = interpolate("${A}-${B}", &v, &mut BTreeSet::new()).unwrap_err();
        assert_eq!(
            e,
            vec![
                InterpolationError {
                    offset: 0,
                    kind: InterpolationErrorKind::Undefined("A".into())
                },
                InterpolationError {
                    offset: 5,
                    kind: InterpolationErrorKind::Undefined("B".into())
                },
            ]
        );
    }

    #[test]
    fn malformed_references_are_errors() {
        let v = vars(&[]);
        let e = interpolate("x ${ A}", &v, &mut BTreeSet::new()).unwrap_err();
        assert!(matches!(e[0].kind, InterpolationErrorKind::BadName(_)));
        let e = interpolate("x ${A", &v, &mut BTreeSet::new()).unwrap_err();
        assert_eq!(e[0].kind, InterpolationErrorKind::Unterminated);
    }

    #[test]
    fn secret_looking_names_are_refused_everywhere() {
        let v = vars(&[("GILD_VCENTER_PASSWORD", "x")]);
        let e = interpolate("${GILD_VCENTER_PASSWORD}", &v, &mut BTreeSet::new()).unwrap_err();
        assert!(matches!(e[0].kind, InterpolationErrorKind::Secret(_)));
        let err = Vars::empty()
            .assign("API_TOKEN=abc")
            .unwrap_err()
            .to_string();
        assert!(err.contains("API_TOKEN=…") && !err.contains("abc"), "{err}");
        for secret in [
            "AdministratorPassword",
            "guest_passwd",
            "private_key",
            "db-pw",
            "apiKey",
        ] {
            assert!(looks_secret(secret), "{secret}");
        }
        for plain in ["publicKeyToken", "public_key_file", "user", "url"] {
            assert!(!looks_secret(plain), "{plain}");
        }
    }

    #[test]
    fn references_are_listed_without_escapes_and_defaults_come_last() {
        let names = references("${A}-$${B}-${C}-${ bad}");
        assert_eq!(names.into_iter().collect::<Vec<_>>(), vec!["A", "C"]);
        let mut v = Vars::from_env();
        v.set_default("PATH", "fallback")
            .set_default("GILD_SURELY_UNSET_X", "d");
        assert_ne!(v.get("PATH").as_deref(), Some("fallback"));
        assert_eq!(v.get("GILD_SURELY_UNSET_X").as_deref(), Some("d"));
    }

    #[test]
    fn precedence_is_var_over_file_over_environment() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("vars.env");
        std::fs::write(&f, "# comment\n\nHOME=from-file\nX=a=b \"q\"\n").unwrap();
        let v = Vars::from_args(&[f], &["X=cli".to_string()]).unwrap();
        assert_eq!(v.get("HOME").as_deref(), Some("from-file"));
        assert_eq!(v.get("X").as_deref(), Some("cli"));
        assert!(v.get("PATH").is_some(), "environment is consulted last");
    }

    #[test]
    fn var_file_values_are_literal_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("vars.env");
        std::fs::write(&f, "X=a=b \"q\"\nnot an assignment\n").unwrap();
        let err = Vars::empty().load_file(&f).unwrap_err().to_string();
        assert!(err.ends_with(":2: expected NAME=VALUE"), "{err}");
        std::fs::write(&f, "X=a=b \"q\"\n").unwrap();
        let mut v = Vars::empty();
        v.load_file(&f).unwrap();
        assert_eq!(v.get("X").as_deref(), Some("a=b \"q\""));
    }
}
