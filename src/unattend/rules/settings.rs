//! Catalog rules: every element inside a known component must be a setting
//! the component defines, in a pass where Windows applies it, with a value of
//! the right type. The walk uses an explicit stack (nesting is already capped
//! by the parser, but recursion on input shape is avoided on principle).

use super::structure::Layout;
use super::*;
use crate::unattend::catalog::{self, Setting, ValueType};
use crate::unattend::doc::Element;

pub fn check(doc: &Document, layout: &Layout, out: &mut Findings) {
    let cat = match catalog::catalog() {
        Ok(c) => c,
        Err(e) => {
            // Cannot happen with the shipped data (a unit test parses it);
            // logged rather than reported as a finding against the user's file.
            tracing::error!("{e}");
            return;
        }
    };
    for comp_ref in &layout.components {
        let Some(comp_el) = doc.elements.get(comp_ref.element) else {
            continue;
        };
        let Some(comp) = cat.component(&comp_ref.name) else {
            out.push(
                UNKNOWN_COMPONENT,
                comp_el.name_span,
                format!(
                    "component `{}` is not in gild's catalog; its settings are not checked",
                    comp_ref.name
                ),
            );
            continue;
        };
        for top in doc.children(comp_el) {
            let Some(setting) = comp.setting(&top.name) else {
                out.push(
                    UNKNOWN_SETTING,
                    top.name_span,
                    format!("`{}` is not a setting of {}", top.name, comp.name),
                );
                continue;
            };
            if !setting.passes.iter().any(|p| *p == comp_ref.pass) {
                out.push(
                    SETTING_WRONG_PASS,
                    top.name_span,
                    format!(
                        "{} is not applied in pass `{}`; valid passes: {}",
                        top.name,
                        comp_ref.pass,
                        setting.passes.join(", ")
                    ),
                );
            }
            walk(doc, top, setting, out);
        }
    }
}

fn walk<'a>(doc: &'a Document, top: &'a Element, setting: &'a Setting, out: &mut Findings) {
    let mut stack: Vec<(&Element, &Setting)> = vec![(top, setting)];
    while let Some((el, s)) = stack.pop() {
        check_value(el, s, out);
        for child in doc.children(el) {
            match s.child(&child.name) {
                Some(cs) => stack.push((child, cs)),
                None => out.push(
                    UNKNOWN_SETTING,
                    child.name_span,
                    format!("`{}` is not defined inside `{}`", child.name, el.name),
                ),
            }
        }
    }
}

fn check_value(el: &Element, s: &Setting, out: &mut Findings) {
    let v = el.text.as_ref();
    let span = el.text_span;
    match s.ty {
        ValueType::Container | ValueType::Password | ValueType::String | ValueType::Command => {}
        ValueType::Bool => {
            if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                out.push(
                    VALUE_TYPE,
                    span,
                    format!("{} must be true or false, not `{v}`", el.name),
                );
            }
        }
        ValueType::Int => {
            let (min, max) = (s.min.unwrap_or(0), s.max.unwrap_or(u64::MAX));
            match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => {}
                _ => out.push(
                    VALUE_TYPE,
                    span,
                    format!(
                        "{} must be an integer from {min} to {max}, not `{v}`",
                        el.name
                    ),
                ),
            }
        }
        ValueType::Enum => {
            if !s.values.iter().any(|a| a == v) {
                out.push(
                    VALUE_TYPE,
                    span,
                    format!(
                        "{} must be one of {}, not `{v}`",
                        el.name,
                        s.values.join(", ")
                    ),
                );
            }
        }
        ValueType::Timezone => {
            if !catalog::is_windows_time_zone(v) {
                out.push(
                    TIMEZONE_UNKNOWN,
                    span,
                    format!("`{v}` is not a Windows time zone id"),
                );
            }
        }
        ValueType::Inputlocale => {
            if v.is_empty() || !v.split(';').all(is_input_locale) {
                out.push(INPUTLOCALE_FORMAT, span, format!("InputLocale `{v}` is not a `;`-separated list of 0409:00000409 pairs or language tags"));
            }
        }
        ValueType::Locale => {
            if !is_language_tag(v) {
                out.push(
                    LOCALE_FORMAT,
                    span,
                    format!(
                        "{} `{v}` is not a well-formed language tag such as en-US",
                        el.name
                    ),
                );
            }
        }
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `0409:00000409`, an IME pair `{GUID}{GUID}`, or a language tag.
fn is_input_locale(item: &str) -> bool {
    let item = item.trim();
    if let Some((lang, layout)) = item.split_once(':') {
        return is_hex(lang, 4) && (is_hex(layout, 8) || is_guid_pair(layout));
    }
    is_language_tag(item)
}

fn is_guid_pair(s: &str) -> bool {
    let is_guid = |g: &str| {
        let parts: Vec<&str> = g.split('-').collect();
        parts.len() == 5
            && parts
                .iter()
                .zip([8, 4, 4, 4, 12])
                .all(|(p, n)| is_hex(p, n))
    };
    let Some(inner) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}')) else {
        return false;
    };
    match inner.split_once("}{") {
        Some((a, b)) => is_guid(a) && is_guid(b),
        None => false,
    }
}

/// A well-formed BCP 47-style tag: 2-3 letter language, then 1-8 character
/// alphanumeric subtags (`en-US`, `zh-Hans-CN`, `qps-ploc`).
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let lang_ok = parts
        .next()
        .is_some_and(|l| (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_alphabetic()));
    lang_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_locale_accepts_pairs_ime_guids_and_tags_only() {
        assert!(is_input_locale("0409:00000409"));
        assert!(is_input_locale("en-US"));
        assert!(is_input_locale(
            "0411:{03B5835F-F03C-411B-9CE2-AA23E1171E36}{A76C93D9-5523-4E90-AAFA-4DB112F9AC76}"
        ));
        assert!(!is_input_locale("409:409"));
        assert!(!is_input_locale("english"));
    }

    #[test]
    fn language_tags_need_a_short_alphabetic_language() {
        assert!(is_language_tag("en-US"));
        assert!(is_language_tag("zh-Hans-CN"));
        assert!(!is_language_tag("en_US"));
        assert!(!is_language_tag("english"));
        assert!(!is_language_tag(""));
    }
}
