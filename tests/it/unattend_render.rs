//! `gild render unattend` and the renderer: escaping, strict variables,
//! password encoding, self-lint before writing, and secrets kept out of
//! output and errors.

use assert_cmd::Command;
use gild::secret::Secret;
use gild::unattend::doc;
use gild::unattend::password::{self, PasswordKind};
use gild::unattend::render::{self, RenderError};
use gild::unattend::{lint_text, Profile};
use predicates::str::contains;
use std::path::PathBuf;

const TRICKY: &str = "p<&\"'>w";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn template() -> String {
    std::fs::read_to_string(root().join("unattend/wmco.xml.tera")).unwrap()
}

fn example_values() -> serde_json::Value {
    render::parse_values(
        &std::fs::read_to_string(root().join("unattend/values.example.yaml")).unwrap(),
    )
    .unwrap()
}

/// The text of the first element called `name` in `xml`, unescaped.
fn element_text(xml: &str, name: &str) -> String {
    let d = doc::parse(xml).unwrap();
    d.elements
        .iter()
        .find(|e| e.name == name)
        .unwrap()
        .text
        .to_string()
}

#[test]
fn default_template_with_example_values_renders_lint_clean() {
    let out = render::render(
        "wmco",
        &template(),
        example_values(),
        &Secret::new("Tr0ub4dor&3-horse"),
        false,
    )
    .unwrap();
    let diags = lint_text("out.xml", &out, Profile::Wmco);
    assert!(diags.is_empty(), "{diags:#?}");
}

#[test]
fn encoded_password_decodes_back_to_the_original() {
    let out = render::render(
        "wmco",
        &template(),
        example_values(),
        &Secret::new(TRICKY),
        false,
    )
    .unwrap();
    assert_eq!(element_text(&out, "PlainText"), "false");
    let value = element_text(&out, "Value");
    assert_eq!(
        password::decode(&value, PasswordKind::Administrator)
            .unwrap()
            .expose(),
        TRICKY
    );
}

#[test]
fn plaintext_password_and_values_with_markup_round_trip_through_xml() {
    let mut values = example_values();
    values["registered_owner"] = serde_json::Value::String(TRICKY.into());
    let out = render::render("wmco", &template(), values, &Secret::new(TRICKY), true).unwrap();
    assert_eq!(element_text(&out, "Value"), TRICKY);
    assert_eq!(element_text(&out, "PlainText"), "true");
    assert_eq!(element_text(&out, "RegisteredOwner"), TRICKY);
}

#[test]
fn escaping_holds_even_when_the_template_marks_a_value_safe() {
    let values = render::parse_values("x: \"</a><b>\"").unwrap();
    let out = render::render(
        "t",
        "<a>{{ x | safe }}</a>",
        values,
        &Secret::new("pw"),
        false,
    )
    .unwrap();
    assert_eq!(out, "<a>&lt;/a&gt;&lt;b&gt;</a>");
}

#[test]
fn missing_variable_is_an_error_naming_it() {
    let mut values = example_values();
    values.as_object_mut().unwrap().remove("time_zone");
    let err = render::render(
        "wmco",
        &template(),
        values,
        &Secret::new("Tr0ub4dor&3"),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, RenderError::Template { .. }));
    assert!(err.to_string().contains("time_zone"), "{err}");
}

#[test]
fn default_template_can_opt_out_of_answer_file_removal_and_the_linter_notices() {
    let mut values = example_values();
    values["remove_answer_files"] = serde_json::Value::Bool(false);
    let out = render::render(
        "wmco",
        &template(),
        values,
        &Secret::new("Tr0ub4dor&3"),
        false,
    )
    .unwrap();
    let ids: Vec<_> = lint_text("o.xml", &out, Profile::Wmco)
        .into_iter()
        .map(|d| d.rule_id)
        .collect();
    assert_eq!(ids, ["answer-file-not-removed"]);
}

fn render_cmd(dir: &tempfile::TempDir) -> Command {
    let mut c = Command::cargo_bin("gild").unwrap();
    c.current_dir(root())
        .env("GILD_TEST_PW", TRICKY)
        .args([
            "render",
            "unattend",
            "--template",
            "unattend/wmco.xml.tera",
            "--values",
            "unattend/values.example.yaml",
        ])
        .arg("-o")
        .arg(dir.path().join("out.xml"));
    c
}

#[test]
fn cli_writes_a_lint_clean_file_from_password_env() {
    let dir = tempfile::tempdir().unwrap();
    render_cmd(&dir)
        .args(["--password-env", "GILD_TEST_PW"])
        .assert()
        .code(0);
    let out = std::fs::read_to_string(dir.path().join("out.xml")).unwrap();
    assert!(!out.contains(TRICKY));
    assert!(lint_text("out.xml", &out, Profile::Wmco).is_empty());
}

#[test]
fn cli_refuses_to_write_when_its_own_output_has_lint_errors_and_hides_the_password() {
    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, format!("{TRICKY}\n")).unwrap();
    let assert = render_cmd(&dir)
        .arg("--password-file")
        .arg(&pw_file)
        .args(["--plaintext-password", "--set", "computer_name=WinHost"])
        .assert()
        .code(1)
        .stderr(contains("error[computername-k8s]"))
        .stderr(contains("nothing was written"));
    let out = assert.get_output();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("p&lt;&amp;") && !all.contains(TRICKY));
    assert!(!dir.path().join("out.xml").exists());
}

#[test]
fn cli_rejects_passwords_in_values_with_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    render_cmd(&dir)
        .args([
            "--password-env",
            "GILD_TEST_PW",
            "--set",
            "administrator_password=hunter2",
        ])
        .assert()
        .code(2)
        .stderr(contains("looks like a secret"))
        .stderr(predicates::str::contains("hunter2").not());
}

#[test]
fn cli_requires_a_password_source() {
    let dir = tempfile::tempdir().unwrap();
    render_cmd(&dir).assert().code(2);
    render_cmd(&dir)
        .args(["--password-env", "GILD_UNSET_VARIABLE_FOR_TEST"])
        .assert()
        .code(2)
        .stderr(contains("GILD_UNSET_VARIABLE_FOR_TEST"));
}

use predicates::prelude::PredicateBooleanExt;
