//! Rendering answer-file templates with tera, safely:
//!
//! - Every string in the values is XML-escaped *before* it reaches tera and
//!   tera's own autoescape is off. Escaping the data rather than the output
//!   means a template author's `| safe` or a raw block cannot let `<` or `&`
//!   from a value through, and nothing is escaped twice.
//! - Undefined variables are errors naming the variable (tera's default for
//!   `{{ }}`); optional blocks use `is defined` explicitly.
//! - The administrator password never comes from the values (a key that
//!   looks like a password is refused): the caller passes a [`Secret`] and
//!   the template sees `administrator_password` already encoded (or escaped
//!   plain text on opt-in) and `administrator_password_plaintext`.

use super::password::{self, PasswordKind};
use crate::secret::Secret;
use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    #[error("values: key `{key}` looks like a secret; pass passwords with --password-env or --password-file, never in values or --set")]
    SecretInValues { key: String },
    #[error("values: {0}")]
    Values(String),
}

/// Reserved names the renderer fills in itself.
pub const PASSWORD_VAR: &str = "administrator_password";
pub const PLAINTEXT_VAR: &str = "administrator_password_plaintext";

pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Parses a values YAML document into the JSON value tera takes. An empty
/// document is an empty mapping.
pub fn parse_values(yaml: &str) -> Result<Value, RenderError> {
    let v: Value = serde_norway::from_str(yaml).map_err(|e| RenderError::Values(e.to_string()))?;
    match v {
        Value::Null => Ok(Value::Object(Map::new())),
        Value::Object(_) => Ok(v),
        _ => Err(RenderError::Values(
            "the values file must be a mapping of names to values".into(),
        )),
    }
}

/// Applies `--set a.b=value`; the value is read as YAML so `true` and `3`
/// keep their types.
pub fn apply_set(values: &mut Value, assignment: &str) -> Result<(), RenderError> {
    let (key, raw) = assignment
        .split_once('=')
        .ok_or_else(|| RenderError::Values(format!("--set `{assignment}` is not key=value")))?;
    let parsed: Value =
        serde_norway::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    let parsed = if parsed.is_null() {
        Value::String(raw.to_string())
    } else {
        parsed
    };
    let mut cur = values;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            return Err(RenderError::Values(format!(
                "--set key `{key}` has an empty segment"
            )));
        }
        let Value::Object(map) = cur else {
            return Err(RenderError::Values(format!(
                "--set `{key}`: `{}` is not a mapping",
                parts[..i].join(".")
            )));
        };
        if i + 1 == parts.len() {
            map.insert(part.to_string(), parsed);
            return Ok(());
        }
        cur = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

/// Recursively escapes strings and refuses password-like keys.
fn escape_values(v: &mut Value, path: &str) -> Result<(), RenderError> {
    match v {
        Value::String(s) => *s = escape_xml(s),
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                escape_values(item, &format!("{path}[{i}]"))?;
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let key = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let lower = k.to_ascii_lowercase();
                if lower.contains("password") || lower.contains("secret") {
                    return Err(RenderError::SecretInValues { key });
                }
                escape_values(item, &key)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Renders `template` with `values` and the administrator password.
pub fn render(
    name: &str,
    template: &str,
    mut values: Value,
    password: &Secret,
    plaintext: bool,
) -> Result<String, RenderError> {
    escape_values(&mut values, "")?;
    let Value::Object(map) = &mut values else {
        return Err(RenderError::Values("values must be a mapping".into()));
    };
    let pw = if plaintext {
        escape_xml(password.expose())
    } else {
        password::encode(password, PasswordKind::Administrator)
    };
    map.insert(PASSWORD_VAR.into(), Value::String(pw));
    map.insert(PLAINTEXT_VAR.into(), Value::Bool(plaintext));
    let template_err = |e: tera::Error| RenderError::Template {
        name: name.to_string(),
        message: error_chain(&e),
    };
    let mut tera = tera::Tera::default();
    tera.autoescape_on(Vec::new());
    tera.add_raw_template(name, template)
        .map_err(template_err)?;
    let ctx = tera::Context::from_value(values).map_err(template_err)?;
    let out = tera.render(name, &ctx).map_err(template_err);
    map_zeroize(&mut ctx.into_json());
    out
}

/// The context held the encoded or plain password; clear it.
fn map_zeroize(v: &mut Value) {
    if let Value::Object(map) = v {
        if let Some(Value::String(s)) = map.get_mut(PASSWORD_VAR) {
            zeroize::Zeroize::zeroize(s);
        }
    }
}

/// tera puts the useful part ("Variable `x` not found") in the source chain.
fn error_chain(e: &tera::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    parts.join(": ")
}

/// Replaces the password (in every form it can take in the output) with
/// `***`, for showing the rendered text in diagnostics.
pub fn redact(text: &str, password: &Secret) -> String {
    if password.is_empty() {
        return text.to_string();
    }
    let forms = [
        escape_xml(password.expose()),
        password::encode(password, PasswordKind::Administrator),
    ];
    forms
        .iter()
        .fold(text.to_string(), |t, f| t.replace(f.as_str(), "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_overrides_keep_yaml_types_and_nest() {
        let mut v = parse_values("a: 1").unwrap();
        apply_set(&mut v, "b.c=true").unwrap();
        apply_set(&mut v, "a=x y").unwrap();
        assert_eq!(v["b"]["c"], Value::Bool(true));
        assert_eq!(v["a"], Value::String("x y".into()));
        assert!(apply_set(&mut v, "novalue").is_err());
    }

    #[test]
    fn values_with_password_keys_are_refused() {
        let v = parse_values("nested: {admin_password: x}").unwrap();
        let err = render("t", "{{ nested }}", v, &Secret::new("pw"), false).unwrap_err();
        assert!(
            matches!(err, RenderError::SecretInValues { ref key } if key == "nested.admin_password")
        );
    }
}
