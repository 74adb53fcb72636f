//! Every shipped script parses with a real PowerShell grammar.
//!
//! Nothing here runs PowerShell, and the guest model only stands in for the
//! scripts' documented effects, so a syntax error in a `.ps1` would reach a
//! real build VM unnoticed. tree-sitter-powershell (Airbus CERT's grammar)
//! marks what it cannot parse with ERROR nodes and what it had to invent
//! with MISSING nodes; either fails the test, with the line and column.

use std::path::Path;

fn parser() -> tree_sitter::Parser {
    let mut parser = tree_sitter::Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("the PowerShell grammar loads");
    parser
}

/// Every ERROR or MISSING node, as `line:column kind "text"` (1-based).
fn syntax_problems(source: &str) -> Vec<String> {
    let tree = parser()
        .parse(source, None)
        .expect("the parser returns a tree");
    let mut problems = Vec::new();
    let mut cursor = tree.walk();
    let mut visit = vec![tree.root_node()];
    while let Some(node) = visit.pop() {
        if node.is_error() || node.is_missing() {
            let at = node.start_position();
            let text: String = source[node.byte_range()].chars().take(40).collect();
            problems.push(format!(
                "{}:{} {} {:?}",
                at.row + 1,
                at.column + 1,
                if node.is_missing() {
                    format!("MISSING {}", node.kind())
                } else {
                    "ERROR".to_string()
                },
                text
            ));
            continue;
        }
        if node.has_error() {
            visit.extend(node.children(&mut cursor));
        }
    }
    problems.sort();
    problems
}

fn shipped_scripts() -> Vec<(String, String)> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts"));
    let mut scripts: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("scripts/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ps1"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("script is UTF-8");
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    scripts.sort();
    scripts
}

#[test]
fn every_shipped_script_parses_without_error_or_missing_nodes() {
    let scripts = shipped_scripts();
    assert!(!scripts.is_empty(), "no scripts found");
    let failures: Vec<String> = scripts
        .iter()
        .flat_map(|(name, text)| {
            syntax_problems(text)
                .into_iter()
                .map(move |p| format!("{name}:{p}"))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "PowerShell syntax errors:\n{}",
        failures.join("\n")
    );
}

#[test]
fn an_unclosed_block_is_reported_with_its_position() {
    let broken = "param([string]$ResultPath)\nif ($ResultPath) {\n    Write-Output 'x'\n";
    let problems = syntax_problems(broken);
    assert!(
        !problems.is_empty(),
        "the grammar accepted an unclosed block"
    );
}

#[test]
fn a_stray_operator_in_a_shipped_script_is_caught() {
    let (name, text) = shipped_scripts()
        .into_iter()
        .find(|(name, _)| name == "open-firewall.ps1")
        .expect("open-firewall.ps1 is shipped");
    let broken = text.replacen("Invoke-GildScript", "Invoke-GildScript (", 1);
    assert_ne!(broken, text);
    assert!(
        !syntax_problems(&broken).is_empty(),
        "{name} with an unbalanced parenthesis parsed cleanly"
    );
}

#[test]
fn a_well_formed_script_has_no_problems() {
    let ok = "param([Parameter(Mandatory = $true)][string]$ResultPath)\n$x = @{ a = 1 }\nif ($x.a -eq 1) { \"ok $($x.a)\" } else { throw 'no' }\n";
    assert_eq!(syntax_problems(ok), Vec::<String>::new());
}
