//! The simulator may use exactly one part of the client: the shared wire
//! types in `crate::vsphere::wire` (issue 7, "Structure"). If it reached into
//! the client's transport, session or operation table, a client bug could
//! hide itself by being reproduced in the simulator the tests stand on.
//!
//! The check reads the simulator's source: every path through `vsphere`
//! (`crate::vsphere::…`, `gild::vsphere::…`, `super::…::vsphere::…`) outside
//! comments and string literals must continue with `::wire`.

use std::path::{Path, PathBuf};

/// Source with comments and string/char literals blanked out, so a doc
/// comment or an error message naming `crate::vsphere::Client` is not code.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let rest = &src[i..];
        if rest.starts_with("//") {
            let end = rest.find('\n').map_or(b.len(), |n| i + n);
            i = end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(b.len(), |n| i + n + 2);
            i = end;
        } else if let Some(hashes) = raw_string_start(rest) {
            let close = format!("\"{}", "#".repeat(hashes));
            let body = 2 + hashes; // r, hashes, quote
            let end = rest[body..]
                .find(&close)
                .map_or(b.len(), |n| i + body + n + close.len());
            out.push_str("\"\"");
            i = end;
        } else if rest.starts_with("'\"'") || rest.starts_with("'\\\"'") {
            // A char literal holding a quote must not open a string.
            i += rest[1..].find('\'').map_or(b.len(), |n| n + 2);
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i = j + 1;
        } else {
            let c = rest.chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `r"`, `r#"`, `br##"` …: the number of hashes, when `s` opens a raw string.
fn raw_string_start(s: &str) -> Option<usize> {
    let s = s.strip_prefix('b').unwrap_or(s);
    let s = s.strip_prefix('r')?;
    let hashes = s.bytes().take_while(|&c| c == b'#').count();
    (s.as_bytes().get(hashes) == Some(&b'"')).then_some(hashes)
}

/// Each `…::vsphere` path in `src` that does not go on to `::wire`, as the
/// text that follows it (for the failure message).
fn foreign_vsphere_paths(src: &str) -> Vec<String> {
    let code = code_only(src);
    let compact: String = code.split_whitespace().collect::<Vec<_>>().join("");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = compact[from..].find("::vsphere") {
        let start = from + at;
        let after = &compact[start + "::vsphere".len()..];
        from = start + "::vsphere".len();
        if after.starts_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue; // a longer identifier such as `vsphere_id`
        }
        let ok = after.starts_with("::wire")
            && !after["::wire".len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
        if !ok {
            found.push(format!(
                "vsphere{}",
                after.chars().take(40).collect::<String>()
            ));
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir is readable") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn the_simulator_imports_nothing_from_the_client_but_the_wire_types() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/simulator");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(
        files.len() > 20,
        "expected the simulator's sources in {root:?}"
    );
    let mut failures = Vec::new();
    let mut wire_users = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source is readable");
        if code_only(&text).contains("vsphere::wire") {
            wire_users += 1;
        }
        for path in foreign_vsphere_paths(&text) {
            failures.push(format!("{}: {path}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "the simulator may use only crate::vsphere::wire from the client:\n{}",
        failures.join("\n")
    );
    // The scan really looked at imports: many simulator files use the wire types.
    assert!(wire_users > 10, "only {wire_users} files use vsphere::wire");
}

#[test]
fn client_paths_are_found_in_imports_groups_and_expressions() {
    let bad = [
        "use crate::vsphere::Client;",
        "use crate::vsphere::{wire, ops};",
        "use crate::vsphere::{self};",
        "let c = crate :: vsphere :: session::Client::new();",
        "use gild::vsphere::transport::Transport;",
        "use crate::vsphere::wired::X;",
        "let q = '\"'; use crate::vsphere::ops::OPERATIONS;",
    ];
    for src in bad {
        assert_eq!(foreign_vsphere_paths(src).len(), 1, "{src}");
    }
}

#[test]
fn wire_paths_comments_and_strings_are_allowed() {
    let good = [
        "use crate::vsphere::wire::{VmId, ErrorType};",
        "use crate::vsphere::wire::*;",
        "fn f() -> crate::vsphere::wire::PowerState { todo!() }",
        "// crate::vsphere::Client is the client\nuse crate::vsphere::wire::VmId;",
        "/* crate::vsphere::ops */",
        r#"let s = "crate::vsphere::Client";"#,
        r##"let s = r#"crate::vsphere::Client"#;"##,
        "let vsphere_id = 1;",
    ];
    for src in good {
        assert_eq!(foreign_vsphere_paths(src), Vec::<String>::new(), "{src}");
    }
}

/// Each `::module` path in `src` (outside comments and strings) naming one of `modules`.
fn paths_into(src: &str, modules: &[&str]) -> Vec<String> {
    let code = code_only(src);
    let compact: String = code.split_whitespace().collect::<Vec<_>>().join("");
    modules
        .iter()
        .filter(|m| {
            let needle = format!("::{m}");
            compact.match_indices(&needle).any(|(at, _)| {
                !compact[at + needle.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_')
            })
        })
        .map(|m| m.to_string())
        .collect()
}

/// The VM model sits below everything that serves it: the machine never
/// reaches up into the world, the routes, `/_sim` or the server, and the
/// request log the server keeps depends on nothing in the simulator. So a
/// route can be added or changed without the model noticing, and no import
/// cycle runs between a model and its routes.
#[test]
fn the_model_does_not_import_the_layers_that_serve_it() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/simulator");
    let upper = ["routes", "state", "admin", "server", "vi"];
    let mut files = Vec::new();
    rust_files(&src.join("machine"), &mut files);
    assert!(files.len() >= 3, "machine/ sources: {files:?}");
    let mut failures = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).expect("source is readable");
        for m in paths_into(&text, &upper) {
            failures.push(format!("{}: uses {m}", file.display()));
        }
    }
    let metrics = std::fs::read_to_string(src.join("server/metrics.rs")).expect("metrics.rs");
    for m in paths_into(&metrics, &["simulator", "super", "crate"]) {
        failures.push(format!("server/metrics.rs: uses {m}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn module_paths_are_found_but_longer_names_and_comments_are_not() {
    assert_eq!(
        paths_into("use super::super::routes::vm;", &["routes"]),
        ["routes"]
    );
    assert_eq!(
        paths_into("use crate::simulator::state::World;", &["state"]),
        ["state"]
    );
    assert!(paths_into(
        "use super::statement; // super::routes",
        &["state", "routes"]
    )
    .is_empty());
}
