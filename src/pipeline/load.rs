//! Loading a pipeline file: read it, refuse literal secrets, interpolate
//! `${VAR}`, and deserialize it into [`Pipeline`] — with every problem
//! placed at `file:line:column` with its field path.
//!
//! Order, and why:
//! 1. the raw text is scanned for private-key blocks (a key pasted into a
//!    comment is as leaked as one in a value);
//! 2. the YAML is parsed into a positioned tree ([`super::yaml`]);
//! 3. keys that hold secrets (`password`, `token`, ...) with a value are
//!    refused *before* interpolation, naming only the key, never the value;
//! 4. `${VAR}` is replaced in scalar text ([`super::vars`]), collecting every
//!    undefined name, not only the first;
//! 5. the tree is typed and deserialized with serde (unknown keys refused);
//!    serde_path_to_error gives the field path of a failure and the tree
//!    gives its position. Unknown keys and values get a "did you mean".

use super::config::Pipeline;
use super::rules;
use super::secret_source::{SecretRole, SecretSource};
use super::vars::{interpolate, looks_secret, InterpolationErrorKind, Vars};
use super::yaml::{self, path_string, Node, Pos, Seg};
use crate::report::{Diagnostic, LineIndex, Rule};
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

/// Pipeline files are a few kilobytes; anything larger is the wrong file.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// One finding while loading, placed in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub rule: Rule,
    pub pos: Pos,
    /// The field path (`stages[3].min_version`); empty for the document.
    pub path: String,
    pub message: String,
    /// A "did you mean" or other specific advice; the rule's help otherwise.
    pub help: Option<String>,
}

impl Problem {
    pub(crate) fn new(rule: Rule, pos: Pos, path: &[Seg], message: impl Into<String>) -> Self {
        Problem {
            rule,
            pos,
            path: path_string(path),
            message: message.into(),
            help: None,
        }
    }

    pub fn to_diagnostic(&self, file: &str) -> Diagnostic {
        let d = Diagnostic::at(
            self.rule,
            file,
            self.pos.line,
            self.pos.col,
            self.message.clone(),
        );
        match &self.help {
            Some(h) => d.with_help(h.clone()),
            None => d,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read pipeline file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("pipeline file {} is {len} bytes; pipeline files are at most {MAX_FILE_BYTES}", path.display())]
    TooLarge { path: PathBuf, len: u64 },
    #[error("{}", ProblemList(file, problems))]
    Invalid {
        file: String,
        problems: Vec<Problem>,
    },
}

impl LoadError {
    /// The problems as diagnostics (`gild validate` prints them).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        match self {
            LoadError::Invalid { file, problems } => {
                problems.iter().map(|p| p.to_diagnostic(file)).collect()
            }
            LoadError::Read { path, .. } | LoadError::TooLarge { path, .. } => {
                vec![Diagnostic::at(
                    rules::UNREADABLE,
                    &path.display().to_string(),
                    1,
                    1,
                    format!("{self:#}"),
                )]
            }
        }
    }
}

/// `file:line:col: message (field `x`)` lines with their help.
struct ProblemList<'a>(&'a String, &'a Vec<Problem>);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.1.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}:{}: {}", self.0, p.pos, p.message)?;
            if let Some(h) = &p.help {
                write!(f, " ({h})")?;
            }
        }
        Ok(())
    }
}

/// A pipeline ready to validate or build: the typed file, where it came
/// from, and a position index for semantic diagnostics.
#[derive(Clone, Debug)]
pub struct LoadedPipeline {
    pipeline: Pipeline,
    path: PathBuf,
    base_dir: PathBuf,
    doc: Node,
    warnings: Vec<Problem>,
}

impl LoadedPipeline {
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    pub fn into_pipeline(self) -> Pipeline {
        self.pipeline
    }

    /// The pipeline file as given on the command line.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `path` as shown in diagnostics.
    pub fn file_name(&self) -> String {
        self.path.display().to_string()
    }

    /// The folder relative paths in the file resolve against: the
    /// pipeline file's own folder (so a pipeline works from any cwd).
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// A path from the file, resolved against [`Self::base_dir`].
    pub fn resolve_path(&self, p: &Path) -> PathBuf {
        self.base_dir.join(p)
    }

    /// Notes found while loading (unused variables).
    pub fn warnings(&self) -> &[Problem] {
        &self.warnings
    }

    /// Where the value of field `path` (`stages[3].min_version`) is written;
    /// for a field left out, where its nearest written parent is.
    pub fn value_pos(&self, path: &str) -> Pos {
        self.doc.value_pos(&yaml::parse_path(path))
    }

    /// Where the key of field `path` is written.
    pub fn key_pos(&self, path: &str) -> Pos {
        self.doc.key_pos(&yaml::parse_path(path))
    }

    /// Whether the file writes the field `path` at all.
    pub fn has_field(&self, path: &str) -> bool {
        self.doc.at(&yaml::parse_path(path)).is_some()
    }

    /// A secret's `*_env` and `*_file` fields as written; `None` when the
    /// section holding them is absent (no `unattend:` for the
    /// administrator password).
    pub fn secret_fields(&self, role: SecretRole) -> Option<(Option<&str>, Option<&Path>)> {
        let p = &self.pipeline;
        let (env, file) = match role {
            SecretRole::Vcenter => (&p.vcenter.password_env, &p.vcenter.password_file),
            SecretRole::Guest => (&p.guest.password_env, &p.guest.password_file),
            SecretRole::Admin => {
                let u = p.unattend.as_ref()?;
                (&u.admin_password_env, &u.admin_password_file)
            }
        };
        Some((env.as_deref(), file.as_deref()))
    }

    /// Where a secret comes from, or `None` when the pipeline gives no
    /// source for it.
    pub fn secret_source(&self, role: SecretRole) -> Option<SecretSource> {
        let (env, file) = self.secret_fields(role)?;
        SecretSource::from_fields(env, file, &self.base_dir)
    }
}

/// Reads and loads a pipeline file.
pub fn load(path: &Path, vars: &Vars) -> Result<LoadedPipeline, LoadError> {
    let text = read_limited(path)?;
    load_str(path, &text, vars)
}

/// Reads a pipeline file, refusing one over [`MAX_FILE_BYTES`] before
/// reading it.
pub(crate) fn read_limited(path: &Path) -> Result<String, LoadError> {
    use std::io::Read;
    let read_err = |source| LoadError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    if len > MAX_FILE_BYTES {
        return Err(LoadError::TooLarge {
            path: path.to_path_buf(),
            len,
        });
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(read_err)?;
    Ok(text)
}

/// Every `${NAME}` a pipeline file references, in its values (so a caller
/// can supply what is missing, as `gild build --simulator` does for the
/// vCenter URL and user, before [`load`]).
pub fn referenced_variables(path: &Path) -> Result<BTreeSet<String>, LoadError> {
    let text = read_limited(path)?;
    let mut names = BTreeSet::new();
    if let Ok(doc) = yaml::parse(&text) {
        doc.walk(&mut |_, node| {
            if let Node::Scalar(s) = node {
                names.extend(super::vars::references(&s.text));
            }
        });
    }
    Ok(names)
}

/// Loads pipeline text that was read from `path` (which names the file in
/// messages and anchors relative paths).
pub fn load_str(path: &Path, text: &str, vars: &Vars) -> Result<LoadedPipeline, LoadError> {
    let file = path.display().to_string();
    let invalid = |problems| LoadError::Invalid {
        file: file.clone(),
        problems,
    };
    let mut problems = key_material(text);
    let mut doc = match yaml::parse(text) {
        Ok(doc) => doc,
        Err(errors) => {
            problems.extend(errors.into_iter().map(|e| Problem {
                rule: rules::SYNTAX,
                pos: e.pos,
                path: e.path,
                message: e.message,
                help: None,
            }));
            return Err(invalid(problems));
        }
    };
    if !matches!(doc, Node::Map { .. }) {
        problems.push(Problem::new(
            rules::SCHEMA,
            doc.pos(),
            &[],
            "a pipeline file is a mapping (`name:`, `target:`, `vcenter:`, ...)",
        ));
        return Err(invalid(problems));
    }
    problems.extend(literal_secret_keys(&doc));
    let mut used = BTreeSet::new();
    let lines = LineIndex::new(text);
    doc.scalars_mut(
        &mut |path, scalar| match interpolate(&scalar.text, vars, &mut used) {
            Ok(t) => scalar.text = t,
            Err(errors) => {
                for e in errors {
                    let rule = match e.kind {
                        InterpolationErrorKind::Secret(_) => rules::SECRET_VAR,
                        _ => rules::UNDEFINED_VAR,
                    };
                    let pos = reference_pos(&lines, scalar.pos, e.offset);
                    problems.push(Problem::new(rule, pos, path, e.kind.to_string()));
                }
            }
        },
    );
    if !problems.is_empty() {
        return Err(invalid(problems));
    }
    let pipeline = super::typed::typed(&doc).map_err(|p| invalid(vec![*p]))?;
    let warnings = vars
        .explicit_names()
        .filter(|n| !used.contains(*n))
        .map(|n| {
            Problem::new(
                rules::UNUSED_VAR,
                Pos { line: 1, col: 1 },
                &[],
                format!("variable `{n}` is set but this pipeline does not use it"),
            )
        })
        .collect();
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    Ok(LoadedPipeline {
        pipeline,
        path: path.to_path_buf(),
        base_dir,
        doc,
        warnings,
    })
}

/// The column of the `$` of a reference when the scalar is written on one
/// line as parsed (plain or quoted); the scalar's start otherwise (block
/// scalars, folded lines, escapes).
fn reference_pos(lines: &LineIndex<'_>, start: Pos, offset: usize) -> Pos {
    let Some(line) = lines.line_text(start.line) else {
        return start;
    };
    let chars: Vec<char> = line.chars().collect();
    let quote = matches!(chars.get(start.col - 1), Some('"' | '\''));
    let col = start.col + offset + usize::from(quote);
    let at = |i: usize| chars.get(i - 1).copied();
    if at(col) == Some('$') && at(col + 1) == Some('{') {
        Pos {
            line: start.line,
            col,
        }
    } else {
        start
    }
}

/// `-----BEGIN ... PRIVATE KEY-----` (PEM, OpenSSH) or a PuTTY key anywhere
/// in the text, comments included. Only the line is named.
fn key_material(text: &str) -> Vec<Problem> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let l = line.trim_start_matches(|c: char| {
                c.is_whitespace() || c == '#' || c == '"' || c == '|'
            });
            let pem = l.contains("-----BEGIN") && l.contains("PRIVATE KEY");
            let putty = l.starts_with("PuTTY-User-Key-File-");
            (pem || putty).then(|| {
                Problem::new(
                    rules::LITERAL_SECRET,
                    Pos {
                        line: i + 1,
                        col: 1,
                    },
                    &[],
                    "a private key is written in the pipeline file (its content is not shown)",
                )
            })
        })
        .collect()
}

/// Keys that say they hold a secret and have a value: refused, naming the
/// key and never the value.
fn literal_secret_keys(doc: &Node) -> Vec<Problem> {
    let mut out = Vec::new();
    doc.walk(&mut |path, node| {
        for e in node.entries() {
            let k = e.key.to_ascii_lowercase();
            if k.ends_with("_env") || k.ends_with("_file") || !looks_secret(&e.key) {
                continue;
            }
            let has_value = match &e.value {
                Node::Scalar(s) => {
                    !(s.text.is_empty() || s.plain && matches!(s.text.as_str(), "~" | "null"))
                }
                Node::Seq { items, .. } => !items.is_empty(),
                Node::Map { .. } => false,
            };
            if has_value {
                let mut p = path.to_vec();
                p.push(Seg::Key(e.key.clone()));
                out.push(Problem::new(
                    rules::LITERAL_SECRET,
                    e.value.pos(),
                    &p,
                    format!(
                        "`{}` holds a secret written in the pipeline file (the value is not shown)",
                        path_string(&p)
                    ),
                ));
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_in_comments_are_found_by_line() {
        let p = key_material("a: 1\n# -----BEGIN OPENSSH PRIVATE KEY-----\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].pos.line, 2);
    }
}
