//! `gild validate` and `gild schema` end to end: exit codes (as `gild
//! lint`), exact error lines, the JSON and SARIF formats, and the schema
//! the pipeline files validate against.

use super::pipeline_load::fixture;
use assert_cmd::Command;
use serde_json::Value;

fn gild() -> Command {
    let mut c = Command::cargo_bin("gild").unwrap();
    c.env_remove("RUST_LOG");
    // Run from the fixtures so the printed paths are short.
    c.current_dir(fixture("x").parent().unwrap());
    c
}

fn validate(args: &[&str], code: i32) -> String {
    let out = gild().arg("validate").args(args).assert().code(code);
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

#[test]
fn a_valid_pipeline_with_unset_secrets_passes_with_warnings() {
    let out = validate(&["valid.yaml", "--var", "VC_HOST=vc.example"], 0);
    assert!(
        out.ends_with("0 errors, 3 warnings, 0 notes in 1 file\n"),
        "{out}"
    );
    validate(
        &[
            "valid.yaml",
            "--var",
            "VC_HOST=vc.example",
            "--deny-warnings",
        ],
        1,
    );
}

#[test]
fn a_bad_target_combination_is_an_error_at_its_line() {
    let out = validate(&["wmco-4.11-docker.yaml", "--var", "VC_HOST=vc.example"], 1);
    assert!(
        out.contains(
            "wmco-4.11-docker.yaml:40:14: error[pipeline-runtime]: runtime `docker` is not allowed for \
             target wmco-4.11+ (allowed: none): WMCO 4.11+ installs containerd itself and fails on an \
             image that has Docker\n"
        ),
        "{out}"
    );
}

#[test]
fn files_that_cannot_load_exit_2_with_the_exact_error() {
    let out = validate(&["unknown-key.yaml"], 2);
    assert!(
        out.starts_with(
            "unknown-key.yaml:6:3: error[pipeline-unknown-key]: unknown key `pasword_env` in `vcenter`\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("  = help: did you mean `password_env`?"),
        "{out}"
    );

    let out = validate(&["undefined-var.yaml"], 2);
    assert!(
        out.starts_with(
            "undefined-var.yaml:4:16: error[pipeline-undefined-var]: undefined variable `GILD_FIXTURE_UNDEFINED_HOST`"
        ),
        "{out}"
    );

    let out = validate(&["literal-password.yaml", "--format", "json"], 2);
    assert!(!out.contains("Hunter2") && !out.contains("Sup3r"), "{out}");
    let first: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["rule_id"], "pipeline-literal-secret");
    assert_eq!(
        (first["file"].as_str(), first["line"].as_u64()),
        (Some("literal-password.yaml"), Some(6))
    );
}

#[test]
fn a_secret_named_variable_on_the_command_line_is_bad_usage() {
    let out = gild()
        .args([
            "validate",
            "valid.yaml",
            "--var",
            "GILD_GUEST_PASSWORD=hunter2",
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("looks like a secret") && !stderr.contains("hunter2"),
        "{stderr}"
    );
}

#[test]
fn sarif_output_lists_every_pipeline_rule_and_is_valid_sarif() {
    let out = validate(
        &[
            "wmco-4.11-docker.yaml",
            "--var",
            "VC_HOST=h",
            "--format",
            "sarif",
        ],
        1,
    );
    let log: Value = serde_json::from_str(&out).unwrap();
    let schema: Value =
        serde_json::from_str(include_str!("../data/sarif-2.1.0-rtm.5.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let rules = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), gild::pipeline::rules::RULES.len());
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().any(|r| r["ruleId"] == "pipeline-runtime"));
}

fn schema_validator() -> jsonschema::Validator {
    let out = gild().arg("schema").assert().code(0);
    let schema: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    jsonschema::validator_for(&schema).expect("gild schema is a valid JSON Schema")
}

/// The file as an editor sees it: YAML to JSON, before interpolation.
pub fn as_json(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    gild::pipeline::yaml::parse(&text).unwrap().to_json()
}

#[test]
fn the_schema_accepts_the_valid_fixture_and_refuses_an_unknown_key() {
    let v = schema_validator();
    let errors: Vec<String> = v
        .iter_errors(&as_json(&fixture("valid.yaml")))
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(!v.is_valid(&as_json(&fixture("unknown-key.yaml"))));
    assert!(!v.is_valid(&as_json(&fixture("unknown-stage-option.yaml"))));
}
