//! Linting entry points: from a path, bytes or text to sorted diagnostics.
//! Size is checked before reading or parsing so a huge input costs nothing.

use super::doc::{self, ParseFailure, MAX_INPUT_BYTES};
use super::rules::{self, Finding, Findings, Profile, Rule};
use crate::report::{Diagnostic, LineIndex, Span};
use std::path::Path;

/// Lints a file; unreadable or oversized files give one input diagnostic
/// ([`Diagnostic::is_input_failure`]).
pub fn lint_path(path: &Path, profile: Profile) -> (Option<String>, Vec<Diagnostic>) {
    use std::io::Read;
    let file = path.display().to_string();
    // One open and an fstat on the handle: the size is checked before any
    // byte is read, and the file cannot be swapped between check and read.
    let read = std::fs::File::open(path).and_then(|mut f| {
        let len = f.metadata()?.len();
        if len > MAX_INPUT_BYTES as u64 {
            return Ok(Err(len));
        }
        // The +1 lets a file that grew since the fstat still be caught.
        let mut bytes = Vec::with_capacity(len as usize + 1);
        f.by_ref()
            .take(MAX_INPUT_BYTES as u64 + 1)
            .read_to_end(&mut bytes)?;
        Ok(Ok(bytes))
    });
    match read {
        Ok(Ok(bytes)) => lint_owned(&file, bytes, profile),
        Ok(Err(len)) => (None, vec![too_large(&file, len)]),
        Err(e) => (None, vec![unreadable(&file, &e.to_string())]),
    }
}

/// Like [`lint_bytes`], without copying the text it returns.
pub fn lint_owned(
    file: &str,
    bytes: Vec<u8>,
    profile: Profile,
) -> (Option<String>, Vec<Diagnostic>) {
    match String::from_utf8(bytes) {
        Ok(text) if text.len() <= MAX_INPUT_BYTES => {
            // Offsets are relative to the text after the BOM, so the source
            // returned for display must be that text too.
            let text = match text.strip_prefix('\u{feff}') {
                Some(rest) => rest.to_string(),
                None => text,
            };
            let diags = lint_text(file, &text, profile);
            (Some(text), diags)
        }
        Ok(text) => lint_bytes(file, text.as_bytes(), profile),
        Err(e) => lint_bytes(file, e.as_bytes(), profile),
    }
}

/// Lints raw bytes; returns the decoded text (for showing source lines)
/// alongside the diagnostics.
pub fn lint_bytes(file: &str, bytes: &[u8], profile: Profile) -> (Option<String>, Vec<Diagnostic>) {
    if bytes.len() > MAX_INPUT_BYTES {
        return (None, vec![too_large(file, bytes.len() as u64)]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            let diags = lint_text(file, text, profile);
            (Some(text.to_string()), diags)
        }
        Err(e) => {
            let at = e.valid_up_to();
            let text = String::from_utf8_lossy(bytes).into_owned();
            let finding = Finding {
                rule: rules::INPUT_UNREADABLE,
                message: format!("invalid UTF-8 at byte {at}; answer files must be UTF-8"),
                span: Span::new(at, at + 1),
            };
            let diags = place(file, &text, vec![finding]);
            (Some(text), diags)
        }
    }
}

/// Lints text already in memory.
pub fn lint_text(file: &str, text: &str, profile: Profile) -> Vec<Diagnostic> {
    let mut findings = Findings::default();
    match doc::parse(text) {
        Ok(document) => rules::check(&document, profile, &mut findings),
        Err(ParseFailure::TooLarge { len }) => return vec![too_large(file, len as u64)],
        Err(ParseFailure::TooDeep { span }) => findings.push(
            rules::XML_TOO_DEEP,
            span,
            format!(
                "elements nest deeper than {} levels; parsing stopped here",
                doc::MAX_DEPTH
            ),
        ),
        Err(ParseFailure::Malformed { message, span }) => {
            findings.push(rules::XML_MALFORMED, span, message)
        }
    }
    place(file, text, findings.0)
}

fn place(file: &str, text: &str, findings: Vec<Finding>) -> Vec<Diagnostic> {
    let index = LineIndex::new(text);
    let mut diags: Vec<Diagnostic> = findings
        .into_iter()
        .map(|f| {
            let (line, col) = index.line_col(f.span.start);
            let (end_line, end_col) = index.line_col(f.span.end.max(f.span.start + 1));
            diagnostic(
                file,
                f.rule,
                f.message,
                f.span,
                (line, col),
                (end_line, end_col),
            )
        })
        .collect();
    diags.sort_by(|a, b| (a.span.start, a.rule_id).cmp(&(b.span.start, b.rule_id)));
    diags
}

fn diagnostic(
    file: &str,
    rule: Rule,
    message: String,
    span: Span,
    start: (usize, usize),
    end: (usize, usize),
) -> Diagnostic {
    Diagnostic {
        rule_id: rule.id,
        severity: rule.severity,
        message,
        help: rule.help.into(),
        file: file.to_string(),
        line: start.0,
        col: start.1,
        end_line: end.0,
        end_col: end.1,
        span,
    }
}

fn too_large(file: &str, len: u64) -> Diagnostic {
    let msg = format!(
        "file is {len} bytes; gild does not parse answer files over {MAX_INPUT_BYTES} bytes"
    );
    diagnostic(
        file,
        rules::INPUT_TOO_LARGE,
        msg,
        Span::default(),
        (1, 1),
        (1, 1),
    )
}

fn unreadable(file: &str, why: &str) -> Diagnostic {
    diagnostic(
        file,
        rules::INPUT_UNREADABLE,
        format!("cannot read the file: {why}"),
        Span::default(),
        (1, 1),
        (1, 1),
    )
}
