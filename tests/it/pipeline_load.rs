//! Loading pipeline files: positions, `${VAR}`, unknown keys with a
//! suggestion, literal secrets refused without echoing them. The fixtures
//! are in tests/fixtures/pipelines/.

use gild::pipeline::config::StageConfig;
use gild::pipeline::{load, LoadError, Vars};
use std::path::{Path, PathBuf};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/pipelines")
        .join(name)
}

fn vars(pairs: &[(&str, &str)]) -> Vars {
    let mut v = Vars::empty();
    for (k, val) in pairs {
        v.set(*k, *val);
    }
    v
}

/// The error text with the fixture folder cut off, so expectations read
/// `unknown-key.yaml:6:3: ...`.
fn error_text(e: &LoadError) -> String {
    let dir = format!("{}/", fixture("x").parent().unwrap().display());
    e.to_string().replace(&dir, "")
}

#[test]
fn valid_fixture_loads_with_variables_and_keeps_positions() {
    let loaded = load(&fixture("valid.yaml"), &vars(&[("VC_HOST", "vc.example")])).unwrap();
    let p = loaded.pipeline();
    assert_eq!(p.vcenter.url, "https://vc.example/");
    assert_eq!(p.stages.len(), 13);
    assert!(matches!(
        &p.stages[2],
        StageConfig::Hardware(h) if h.min_version == Some(15)
    ));
    assert_eq!(
        p.stages[1].timeout(),
        Some(std::time::Duration::from_secs(1200))
    );
    // stages[2].min_version is written on line 32, after `    min_version: `.
    let pos = loaded.value_pos("stages[2].min_version");
    assert_eq!((pos.line, pos.col), (32, 18));
    assert_eq!(loaded.key_pos("template.keep").line, 51);
    assert_eq!(
        loaded.base_dir(),
        fixture("").as_path().parent().unwrap().join("pipelines")
    );
    assert!(loaded.warnings().is_empty());
}

#[test]
fn unknown_key_names_file_line_and_suggests_the_close_key() {
    let e = load(&fixture("unknown-key.yaml"), &Vars::empty()).unwrap_err();
    assert_eq!(
        error_text(&e),
        "unknown-key.yaml:6:3: unknown key `pasword_env` in `vcenter` (did you mean `password_env`? \
         allowed keys: `url`, `user`, `password_env`, `password_file`, `ca_file`, `thumbprint`, `insecure`)"
    );
}

#[test]
fn stage_option_errors_point_at_the_option_inside_the_stage() {
    let e = load(&fixture("unknown-stage-option.yaml"), &Vars::empty()).unwrap_err();
    let text = error_text(&e);
    assert!(
        text.starts_with(
            "unknown-stage-option.yaml:21:5: unknown key `min_versoin` in `stages[1]` (did you mean `min_version`?"
        ),
        "{text}"
    );
}

#[test]
fn a_bare_number_timeout_says_it_has_no_unit() {
    let path = fixture("unknown-stage-option.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("min_versoin", "min_version");
    let e = gild::pipeline::load::load_str(&path, &text, &Vars::empty()).unwrap_err();
    assert_eq!(
        error_text(&e),
        "unknown-stage-option.yaml:24:14: `stages[2].timeout`: timeout `30` has no unit \
         (expected a duration such as 30s or 30m)"
    );
}

#[test]
fn literal_passwords_are_refused_by_line_without_echoing_them() {
    let e = load(&fixture("literal-password.yaml"), &Vars::empty()).unwrap_err();
    let text = error_text(&e);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with(
            "literal-password.yaml:6:13: `vcenter.password` holds a secret written in the pipeline file (the value is not shown)"
        ),
        "{text}"
    );
    assert!(
        lines[1].starts_with(
            "literal-password.yaml:21:28: `unattend.set.AdministratorPassword` holds a secret"
        ),
        "{text}"
    );
    assert!(
        !text.contains("Hunter2") && !text.contains("Sup3r"),
        "{text}"
    );
    let diags = e.diagnostics();
    assert!(diags.iter().all(|d| d.rule_id == "pipeline-literal-secret"));
}

#[test]
fn a_private_key_pasted_anywhere_is_refused() {
    let path = fixture("valid.yaml");
    let key = std::fs::read_to_string(fixture("fixture_ed25519")).unwrap();
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("# pasted by mistake:\n");
    for l in key.lines() {
        text.push_str(&format!("# {l}\n"));
    }
    let e = gild::pipeline::load::load_str(&path, &text, &vars(&[("VC_HOST", "h")])).unwrap_err();
    let shown = error_text(&e);
    assert!(
        shown.starts_with("valid.yaml:53:1: a private key is written"),
        "{shown}"
    );
    let secret_line = key.lines().nth(1).unwrap();
    assert!(!shown.contains(secret_line));
}

#[test]
fn undefined_variables_are_all_named_with_line_and_column() {
    let e = load(&fixture("undefined-var.yaml"), &Vars::empty()).unwrap_err();
    let text = error_text(&e);
    assert_eq!(
        text,
        "undefined-var.yaml:4:16: undefined variable `GILD_FIXTURE_UNDEFINED_HOST` (set it in the environment, \
         with --var GILD_FIXTURE_UNDEFINED_HOST=VALUE or in a --var-file)\n\
         undefined-var.yaml:5:9: undefined variable `GILD_FIXTURE_UNDEFINED_USER` (set it in the environment, \
         with --var GILD_FIXTURE_UNDEFINED_USER=VALUE or in a --var-file)"
    );
    let v = vars(&[
        ("GILD_FIXTURE_UNDEFINED_HOST", "vc"),
        ("GILD_FIXTURE_UNDEFINED_USER", "me"),
    ]);
    let loaded = load(&fixture("undefined-var.yaml"), &v).unwrap();
    assert_eq!(loaded.pipeline().template.name, "{name}-{date}-${literal}");
}

#[test]
fn an_unused_variable_is_a_note_not_an_error() {
    let v = vars(&[("VC_HOST", "vc"), ("UNUSED_THING", "x")]);
    let loaded = load(&fixture("valid.yaml"), &v).unwrap();
    let w = loaded.warnings();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].rule.id, "pipeline-unused-var");
    assert!(w[0].message.contains("UNUSED_THING"));
}

#[test]
fn a_variable_can_supply_a_number() {
    let path = fixture("valid.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("keep: 2", "keep: ${KEEP}");
    let loaded =
        gild::pipeline::load::load_str(&path, &text, &vars(&[("VC_HOST", "h"), ("KEEP", "3")]))
            .unwrap();
    assert_eq!(loaded.pipeline().template.keep, 3);
}

#[test]
fn an_unknown_stage_name_suggests_the_close_one() {
    let path = fixture("valid.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("stage: sysprep", "stage: sysprp");
    let e = gild::pipeline::load::load_str(&path, &text, &vars(&[("VC_HOST", "h")])).unwrap_err();
    let shown = error_text(&e);
    assert!(
        shown.starts_with(
            "valid.yaml:44:12: `stages[10].stage`: unknown value `sysprp` (did you mean `sysprep`?"
        ),
        "{shown}"
    );
}

#[test]
fn a_missing_file_is_a_read_error_naming_the_path() {
    let e = load(&fixture("nope.yaml"), &Vars::empty()).unwrap_err();
    assert!(matches!(e, LoadError::Read { .. }));
    assert!(e.to_string().contains("nope.yaml"));
}
