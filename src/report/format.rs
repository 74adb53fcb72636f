//! Output formats: human (rustc-like), JSON Lines (one object per
//! diagnostic per line, so `jq` and line-oriented CI tools can stream it),
//! and SARIF 2.1.0 for GitHub code scanning. Shared by every checker.

use super::diagnostic::{Diagnostic, LineIndex, Rule, Severity};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// `path:line:col: severity[rule]: message`, the source line with carets
/// under the span, and the help line. `source` is the linted text, when
/// there is one to show.
pub fn human(diags: &[Diagnostic], source: Option<&str>) -> String {
    let index = source.map(LineIndex::new);
    let mut out = String::new();
    for d in diags {
        let _ = writeln!(
            out,
            "{}:{}:{}: {}[{}]: {}",
            d.file,
            d.line,
            d.col,
            d.severity.as_str(),
            d.rule_id,
            d.message
        );
        if let Some(line) = index.as_ref().and_then(|i| i.line_text(d.line)) {
            let gutter = d.line.to_string().len();
            let width = if d.end_line == d.line {
                d.end_col.saturating_sub(d.col).max(1)
            } else {
                1
            };
            // Tabs keep their width in the caret line so carets line up.
            let pad: String = line
                .chars()
                .take(d.col - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{:gutter$} |", "");
            let _ = writeln!(out, "{} | {line}", d.line);
            let _ = writeln!(out, "{:gutter$} | {pad}{}", "", "^".repeat(width));
        }
        let _ = writeln!(out, "  = help: {}", d.help);
    }
    out
}

/// One JSON object per line.
pub fn json_lines(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .filter_map(|d| serde_json::to_string(d).ok())
        .map(|l| l + "\n")
        .collect()
}

/// `1 error, 2 warnings, 0 notes in 1 file`.
pub fn summary(diags: &[Diagnostic], files: usize) -> String {
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    format!(
        "{}, {}, {} in {}\n",
        plural(count(Severity::Error), "error"),
        plural(count(Severity::Warning), "warning"),
        plural(count(Severity::Note), "note"),
        plural(files, "file"),
    )
}

/// What a SARIF log says about the checker that wrote it.
pub struct SarifTool<'a> {
    /// Every rule the checker has, so results can reference them by index.
    pub rules: &'a [Rule],
    /// Where a reader learns what the rules check.
    pub information_uri: &'a str,
}

/// A SARIF 2.1.0 log with every rule in `tool.driver.rules` and one result
/// per diagnostic.
pub fn sarif(diags: &[Diagnostic], tool: &SarifTool<'_>) -> Value {
    let rules: Vec<Value> = tool
        .rules
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "shortDescription": { "text": r.summary },
                "help": { "text": r.help },
                "defaultConfiguration": { "level": level(r.severity.as_str()) },
            })
        })
        .collect();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let mut result = json!({
                "ruleId": d.rule_id,
                "level": level(d.severity.as_str()),
                "message": { "text": format!("{} (help: {})", d.message, d.help) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&d.file) },
                        "region": {
                            "startLine": d.line,
                            "startColumn": d.col,
                            "endLine": d.end_line,
                            "endColumn": d.end_col,
                            "charOffset": d.span.start,
                            "charLength": d.span.end - d.span.start,
                        }
                    }
                }]
            });
            if let Some(i) = tool.rules.iter().position(|r| r.id == d.rule_id) {
                result["ruleIndex"] = json!(i);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "gild",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": tool.information_uri,
                "rules": rules,
            }},
            "results": results,
        }]
    })
}

fn level(severity: &str) -> &'static str {
    match severity {
        "error" => "error",
        "warning" => "warning",
        _ => "note",
    }
}

/// SARIF wants URI references; code scanning resolves relative ones against
/// the repository root, so keep relative paths relative and use `/`.
fn uri(file: &str) -> String {
    let f = file.replace('\\', "/");
    percent_encoding::utf8_percent_encode(&f, URI_UNSAFE).to_string()
}

const URI_UNSAFE: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'#')
    .add(b'?')
    .add(b'{')
    .add(b'}')
    .add(b'%');
