//! Every catalog entry, generated from the catalog itself: each top-level
//! setting, with every child it documents filled with a value of its type,
//! lints clean in a pass Microsoft lists for it (the passing fixture); the
//! same setting in a pass it is not valid in, and each typed value replaced
//! by a bad one, trigger the rule that guards it (the triggering fixtures).
//! The hand-written near misses for each rule are in `unattend_rules.rs`.

use gild::unattend::catalog::{catalog, OnInvalid, Setting, ValueType, PASSES};
use gild::unattend::{lint_text, Profile, Severity};

const ATTRS: &str = r#"processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS""#;

/// A value Microsoft's page allows for a leaf of this type.
fn good_value(s: &Setting) -> String {
    let v = match s.ty {
        ValueType::Bool => "true".to_string(),
        ValueType::Int => s.min.unwrap_or(1).to_string(),
        ValueType::Enum => s.values[0].clone(),
        ValueType::Timezone => "Pacific Standard Time_dstoff".to_string(),
        ValueType::Inputlocale => "0409:00000409; en-US".to_string(),
        ValueType::Locale => "en-US".to_string(),
        ValueType::Productkey => "W269N-WFGWX-YVC9B-4J6C9-T83GX".to_string(),
        ValueType::Computername => "winhost".to_string(),
        ValueType::Command => r"cmd.exe /c echo ok".to_string(),
        ValueType::String => "value".to_string(),
        ValueType::Container | ValueType::Password => String::new(),
    };
    match s.max_len {
        Some(m) => v.chars().take(m).collect(),
        None => v,
    }
}

/// A value of the wrong shape, and the rule that must catch it.
fn bad_value(s: &Setting) -> Option<(String, &'static str)> {
    if s.nonempty {
        return Some((String::new(), "value-type"));
    }
    if let Some(m) = s.max_len {
        return Some(("x".repeat(m + 1), "value-type"));
    }
    Some(match s.ty {
        ValueType::Bool | ValueType::Enum | ValueType::Productkey => {
            ("not-a-value".to_string(), "value-type")
        }
        ValueType::Int => match s.max {
            Some(max) if max < u64::MAX => ((max + 1).to_string(), "value-type"),
            _ => ("-1".to_string(), "value-type"),
        },
        ValueType::Timezone => ("Europe/Berlin".to_string(), "timezone-unknown"),
        ValueType::Inputlocale => ("US keyboard".to_string(), "inputlocale-format"),
        ValueType::Locale => ("en_US".to_string(), "locale-format"),
        ValueType::Computername => ("my pc!".to_string(), "computername-windows"),
        _ => return None,
    })
}

/// XML for a setting and everything the catalog says it contains;
/// `replace` swaps the value of the leaf at that path.
fn xml(s: &Setting, path: &str, replace: Option<(&str, &str)>) -> String {
    let here = format!("{path}/{}", s.name);
    if s.ty == ValueType::Password {
        return format!(
            "<{0}><Value>UABhAHMAcwB3AG8AcgBkAA==</Value><PlainText>false</PlainText></{0}>",
            s.name
        );
    }
    if s.ty != ValueType::Container {
        let value = match replace {
            Some((at, v)) if at == here => v.to_string(),
            _ => good_value(s),
        };
        return format!("<{0}>{1}</{0}>", s.name, xml_escape(&value));
    }
    let inner: String = s.children.iter().map(|c| xml(c, &here, replace)).collect();
    format!("<{0}>{inner}</{0}>", s.name)
}

fn xml_escape(v: &str) -> String {
    v.replace('&', "&amp;").replace('<', "&lt;")
}

fn file(component: &str, pass: &str, body: &str) -> String {
    format!(
        r#"<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="{pass}"><component name="{component}" {ATTRS}>{body}</component></settings></unattend>"#
    )
}

/// Leaves (with their paths) below a setting, for the triggering fixtures.
fn leaves<'a>(s: &'a Setting, path: &str, out: &mut Vec<(String, &'a Setting)>) {
    let here = format!("{path}/{}", s.name);
    if s.ty == ValueType::Container {
        for c in &s.children {
            leaves(c, &here, out);
        }
    } else if s.ty != ValueType::Password {
        out.push((here, s));
    }
}

fn deprecated_count(s: &Setting) -> usize {
    usize::from(s.deprecated.is_some()) + s.children.iter().map(deprecated_count).sum::<usize>()
}

fn ids(text: &str, profile: Profile) -> Vec<(&'static str, Severity)> {
    lint_text("gen.xml", text, profile)
        .into_iter()
        .map(|d| (d.rule_id, d.severity))
        .collect()
}

#[test]
fn every_catalog_setting_with_every_child_lints_clean_in_a_valid_pass() {
    let mut checked = 0;
    for comp in catalog().unwrap().components() {
        for s in &comp.settings {
            let pass = s.passes.first().map_or("specialize", String::as_str);
            let text = file(&comp.name, pass, &xml(s, "", None));
            let got = ids(&text, Profile::Plain);
            let want = vec![("setting-deprecated", Severity::Warning); deprecated_count(s)];
            assert_eq!(got, want, "{}/{} in {pass}:\n{text}", comp.name, s.name);
            checked += 1;
        }
    }
    assert!(checked >= 80, "only {checked} settings");
}

#[test]
fn every_setting_outside_its_passes_is_setting_wrong_pass() {
    for comp in catalog().unwrap().components() {
        for s in comp.settings.iter().filter(|s| !s.passes.is_empty()) {
            let Some(pass) = PASSES.iter().find(|p| !s.passes.iter().any(|v| v == *p)) else {
                continue;
            };
            let text = file(&comp.name, pass, &xml(s, "", None));
            let plain = ids(&text, Profile::Plain);
            assert!(
                plain.contains(&("setting-wrong-pass", Severity::Warning)),
                "{}/{} in {pass}: {plain:?}",
                comp.name,
                s.name
            );
            let wmco = ids(&text, Profile::Wmco);
            assert!(wmco.contains(&("setting-wrong-pass", Severity::Error)));
        }
    }
}

#[test]
fn every_typed_value_rejects_a_value_of_the_wrong_shape() {
    let mut checked = 0;
    for comp in catalog().unwrap().components() {
        for s in &comp.settings {
            let pass = s.passes.first().map_or("specialize", String::as_str);
            let mut found = Vec::new();
            leaves(s, "", &mut found);
            for (path, leaf) in found {
                let Some((bad, rule)) = bad_value(leaf) else {
                    continue;
                };
                let text = file(&comp.name, pass, &xml(s, "", Some((&path, &bad))));
                let want = if leaf.invalid == OnInvalid::Default {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                let got = ids(&text, Profile::Plain);
                assert!(
                    got.contains(&(rule, want)),
                    "{}{path} = `{bad}` should give {rule}: {got:?}",
                    comp.name
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} values");
}

#[test]
fn an_undocumented_child_of_every_container_is_unknown_setting() {
    for comp in catalog().unwrap().components() {
        for s in comp
            .settings
            .iter()
            .filter(|s| s.ty == ValueType::Container && !s.open && !s.children.is_empty())
        {
            let pass = s.passes.first().map_or("specialize", String::as_str);
            let body = xml(s, "", None).replacen('>', "><NotInTheReference/>", 1);
            let got = ids(&file(&comp.name, pass, &body), Profile::Plain);
            assert!(
                got.contains(&("unknown-setting", Severity::Error)),
                "{}/{}: {got:?}",
                comp.name,
                s.name
            );
        }
    }
}
