//! `gild lint` end to end: exit codes, and the three output formats (SARIF
//! validated against the SARIF 2.1.0 schema shipped in tests/data).

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/unattend")
        .join(name)
}

fn gild() -> Command {
    let mut c = Command::cargo_bin("gild").unwrap();
    c.env_remove("RUST_LOG");
    c
}

/// Runs `gild lint --format FORMAT FILES...`, checks the exit code and
/// returns stdout.
fn lint_output(format: &str, files: &[PathBuf], code: i32) -> Vec<u8> {
    let assert = gild()
        .args(["lint", "--format", format])
        .args(files)
        .assert()
        .code(code);
    assert.get_output().stdout.clone()
}

/// The clean fixture with the password stored in plain text: warnings only.
fn warnings_only_file(dir: &tempfile::TempDir) -> PathBuf {
    let text = std::fs::read_to_string(fixture("clean.xml"))
        .unwrap()
        .replace("<PlainText>false<", "<PlainText>true<");
    let path = dir.path().join("warn.xml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn clean_file_exits_zero() {
    gild()
        .arg("lint")
        .arg(fixture("clean.xml"))
        .assert()
        .code(0)
        .stdout(contains("0 errors, 0 warnings"));
}

#[test]
fn seed_exits_one_with_compiler_style_output() {
    let out = gild()
        .arg("lint")
        .arg(fixture("seed.xml"))
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.contains("seed.xml:43:23: error[admin-password-placeholder]: "),
        "{text}"
    );
    assert!(
        text.contains("43 |                <Value>MyPassword</Value>"),
        "{text}"
    );
    assert!(
        text.contains("|                       ^^^^^^^^^^\n"),
        "{text}"
    );
    assert!(text.contains("= help: replace the placeholder"), "{text}");
    assert!(
        text.contains("1 error, 5 warnings, 0 notes in 1 file"),
        "{text}"
    );
}

#[test]
fn warnings_pass_unless_deny_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let warn = warnings_only_file(&dir);
    gild()
        .arg("lint")
        .arg(&warn)
        .assert()
        .code(0)
        .stdout(contains("warning[password-plaintext]"));
    gild()
        .args(["lint", "--deny-warnings"])
        .arg(&warn)
        .assert()
        .code(1);
}

#[test]
fn missing_file_exits_two_and_other_files_are_still_linted() {
    gild()
        .arg("lint")
        .arg(fixture("does-not-exist.xml"))
        .arg(fixture("seed.xml"))
        .assert()
        .code(2)
        .stdout(contains("error[input-unreadable]"))
        .stdout(contains("error[admin-password-placeholder]"));
}

#[test]
fn hundred_megabyte_file_exits_two_without_being_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.xml");
    // Sparse: costs no disk, but its length is 100 MB.
    std::fs::File::create(&path)
        .unwrap()
        .set_len(100 * 1024 * 1024)
        .unwrap();
    gild()
        .arg("lint")
        .arg(&path)
        .assert()
        .code(2)
        .stdout(contains("error[input-too-large]"));
}

#[test]
fn json_format_is_one_object_per_line() {
    let out = lint_output("json", &[fixture("seed.xml")], 1);
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    let placeholder = lines
        .iter()
        .find(|d| d["rule_id"] == "admin-password-placeholder")
        .unwrap();
    assert_eq!(placeholder["severity"], "error");
    assert_eq!(placeholder["line"], 43);
    assert_eq!(placeholder["col"], 23);
    assert!(placeholder["file"].as_str().unwrap().ends_with("seed.xml"));
    assert!(placeholder["help"]
        .as_str()
        .unwrap()
        .contains("--password-env"));
    assert_eq!(
        placeholder["span"]["end"].as_u64().unwrap()
            - placeholder["span"]["start"].as_u64().unwrap(),
        10
    );
}

fn sarif_validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(include_str!("../data/sarif-2.1.0-rtm.5.json")).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn sarif_output_is_valid_sarif_2_1_0_with_rules_and_regions() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken file.xml");
    std::fs::write(
        &broken,
        "<unattend xmlns=\"urn:schemas-microsoft-com:unattend\">\n  <settings>",
    )
    .unwrap();
    let out = lint_output("sarif", &[fixture("seed.xml"), broken.clone()], 1);
    let log: Value = serde_json::from_slice(&out).unwrap();
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules
        .iter()
        .any(|r| r["id"] == "answer-file-not-removed" && r["help"]["text"].is_string()));
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 7);
    let placeholder = results
        .iter()
        .find(|r| r["ruleId"] == "admin-password-placeholder")
        .unwrap();
    assert_eq!(placeholder["level"], "error");
    let region = &placeholder["locations"][0]["physicalLocation"]["region"];
    assert_eq!(
        (region["startLine"].as_u64(), region["startColumn"].as_u64()),
        (Some(43), Some(23))
    );
    let idx = placeholder["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(rules[idx]["id"], "admin-password-placeholder");
    assert!(results.iter().any(|r| r["ruleId"] == "xml-malformed"));
}

#[test]
fn sarif_schema_check_rejects_a_log_without_version() {
    let out = lint_output("sarif", &[fixture("clean.xml")], 0);
    let mut log: Value = serde_json::from_slice(&out).unwrap();
    assert!(sarif_validator().is_valid(&log));
    log.as_object_mut().unwrap().remove("version");
    assert!(!sarif_validator().is_valid(&log));
}
