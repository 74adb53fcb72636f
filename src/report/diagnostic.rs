//! One [`Diagnostic`] per finding, positioned by byte span and by 1-based
//! line:column so every output format (human, JSON, SARIF) can point at the
//! same place, whatever produced it (the answer-file linter, the pipeline
//! validator, the MachineSet checker).

use serde::Serialize;
use std::borrow::Cow;

#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Note,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Byte range `[start, end)` in the linted input.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Self {
        Span {
            start,
            end: end.max(start),
        }
    }
}

/// A rule as documented: a stable id (used in output, SARIF and docs), a
/// default severity and a help text saying how to fix what it finds. Each
/// checker keeps its own table of these; the SARIF log lists that table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub help: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub rule_id: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Usually the rule's fixed help; checkers that know more (a "did you
    /// mean" suggestion) say it here.
    pub help: Cow<'static, str>,
    pub file: String,
    pub line: usize,
    pub col: usize,
    /// Where the span ends (exclusive column), for SARIF regions.
    pub end_line: usize,
    pub end_col: usize,
    pub span: Span,
}

impl Diagnostic {
    /// A diagnostic for `rule` at a position with no span to underline
    /// beyond its line and column (YAML checkers know only those).
    pub fn at(rule: Rule, file: &str, line: usize, col: usize, message: String) -> Self {
        Diagnostic {
            rule_id: rule.id,
            severity: rule.severity,
            message,
            help: Cow::Borrowed(rule.help),
            file: file.to_string(),
            line: line.max(1),
            col: col.max(1),
            end_line: line.max(1),
            end_col: col.max(1) + 1,
            span: Span::default(),
        }
    }

    pub fn with_help(mut self, help: impl Into<Cow<'static, str>>) -> Self {
        self.help = help.into();
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// Input the checker could not even look at (unreadable, oversized): the
    /// CLI maps these to exit code 2 rather than 1.
    pub fn is_input_failure(&self) -> bool {
        matches!(self.rule_id, "input-unreadable" | "input-too-large")
    }
}

/// Turns byte offsets into 1-based line and column (columns count
/// characters, not bytes, so carets line up under non-ASCII text).
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The text of a 1-based line without its line break.
    pub fn line_text(&self, line: usize) -> Option<&'a str> {
        let start = *self.starts.get(line.checked_sub(1)?)?;
        let end = self.starts.get(line).map_or(self.text.len(), |e| e - 1);
        self.text.get(start..end).map(|l| l.trim_end_matches('\r'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_index_counts_lines_and_character_columns() {
        let idx = LineIndex::new("ab\nçd\r\nx");
        assert_eq!(idx.line_col(0), (1, 1));
        assert_eq!(idx.line_col(3), (2, 1));
        assert_eq!(idx.line_col(5), (2, 2));
        assert_eq!(idx.line_text(2), Some("çd"));
        assert_eq!(idx.line_text(3), Some("x"));
        assert_eq!(idx.line_text(4), None);
    }
}
