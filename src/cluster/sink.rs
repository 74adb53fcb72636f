//! Where checkers put what they find: a [`Sink`] of diagnostics for one
//! file, each message prefixed with the YAML path of the node it is about;
//! and reading a checked file with a size limit.

use super::yaml::{self, display_path, Mark, Node};
use crate::report::{Diagnostic, Rule};
use std::path::Path;

/// Manifests and plans are a few kilobytes; anything far larger is the
/// wrong file, and is refused before it is read.
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// Collects diagnostics for one file; `prefix` is the JSON pointer of the
/// object being checked inside its document (`/items/2` in a List).
pub struct Sink<'a> {
    pub file: &'a str,
    pub prefix: String,
    pub out: Vec<Diagnostic>,
}

impl<'a> Sink<'a> {
    pub fn new(file: &'a str) -> Self {
        Sink {
            file,
            prefix: String::new(),
            out: Vec::new(),
        }
    }

    /// Reports `message` about the node at `pointer` (relative to the
    /// object), prefixed with its YAML path.
    pub fn report(
        &mut self,
        rule: Rule,
        mark: Mark,
        pointer: &str,
        message: impl std::fmt::Display,
    ) -> &mut Diagnostic {
        let path = display_path(&format!("{}{pointer}", self.prefix));
        self.out.push(Diagnostic::at(
            rule,
            self.file,
            mark.line,
            mark.col,
            format!("{path}: {message}"),
        ));
        self.out.last_mut().expect("just pushed")
    }
}

/// The deepest node along `keys` that exists, with its pointer: where to
/// point when something under it is missing.
pub fn deepest<'n>(root: &'n Node, keys: &[&str]) -> (&'n Node, String) {
    let mut node = root;
    let mut depth = 0;
    for key in keys {
        match node.get(key) {
            Some(child) => {
                node = child;
                depth += 1;
            }
            None => break,
        }
    }
    (node, yaml::pointer_of(&keys[..depth]))
}

/// Reads a manifest, refusing oversized files before reading them.
pub fn read_input(
    path: &Path,
    unreadable: Rule,
    too_large: Rule,
) -> Result<String, Box<Diagnostic>> {
    let file = path.display().to_string();
    let fail = |rule: Rule, msg: String| Box::new(Diagnostic::at(rule, &file, 1, 1, msg));
    let len = std::fs::metadata(path)
        .map_err(|e| fail(unreadable, format!("cannot read {file}: {e}")))?
        .len();
    if len > MAX_INPUT_BYTES {
        return Err(fail(too_large, format!("{file} is {len} bytes")));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| fail(unreadable, format!("cannot read {file}: {e}")))?;
    Ok(text
        .strip_prefix('\u{feff}')
        .map(str::to_string)
        .unwrap_or(text))
}
