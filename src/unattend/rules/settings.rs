//! Catalog rules: every element inside a known component must be a setting
//! the component defines, in a pass where Windows applies it, with a value of
//! the right type. The walk uses an explicit stack (nesting is already capped
//! by the parser, but recursion on input shape is avoided on principle).

use super::structure::Layout;
use super::*;
use crate::unattend::catalog::{self, OnInvalid, Setting, ValueType};
use crate::unattend::doc::Element;

pub fn check(doc: &Document, layout: &Layout, profile: Profile, out: &mut Findings) {
    let cat = match catalog::catalog() {
        Ok(c) => c,
        Err(e) => {
            // Cannot happen with the shipped data (a unit test parses it);
            // logged rather than reported as a finding against the user's file.
            tracing::error!("{e}");
            return;
        }
    };
    // Windows ignores a setting in a pass it does not apply it in. For a
    // golden image that is a silent hole (the clones lack the setting), so
    // the WMCO/Kubernetes profiles fail; `plain` only says what Windows does.
    let wrong_pass = if profile == Profile::Plain {
        Severity::Warning
    } else {
        Severity::Error
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
            // A deprecated setting the current reference no longer lists has
            // no documented passes: the deprecation warning says enough.
            let passes_known = !setting.passes.is_empty();
            if passes_known && !setting.passes.contains(&comp_ref.pass) {
                out.push_as(
                    SETTING_WRONG_PASS,
                    wrong_pass,
                    top.name_span,
                    format!(
                        "{} is not applied in pass `{}`; valid passes: {}",
                        top.name,
                        comp_ref.pass,
                        setting.passes.join(", ")
                    ),
                );
            }
            walk(doc, top, setting, profile, out);
        }
    }
}

fn walk<'a>(
    doc: &'a Document,
    top: &'a Element,
    setting: &'a Setting,
    profile: Profile,
    out: &mut Findings,
) {
    let mut stack: Vec<(&Element, &Setting)> = vec![(top, setting)];
    while let Some((el, s)) = stack.pop() {
        if let Some(why) = &s.deprecated {
            out.push(
                SETTING_DEPRECATED,
                el.name_span,
                format!("{}: {why}", el.name),
            );
        }
        check_value(el, s, profile, out);
        if s.open {
            continue;
        }
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

fn check_value(el: &Element, s: &Setting, profile: Profile, out: &mut Findings) {
    let v = el.text.as_ref();
    let span = el.text_span;
    // Where the reference says Windows falls back to its default on a bad
    // value, Setup goes on: a warning, not an error.
    let bad_value = if s.invalid == OnInvalid::Default {
        Severity::Warning
    } else {
        Severity::Error
    };
    let value_type =
        |out: &mut Findings, message: String| out.push_as(VALUE_TYPE, bad_value, span, message);
    if s.nonempty && v.is_empty() && s.ty != ValueType::Container {
        value_type(
            out,
            format!("{} must not be empty (the reference: this string type does not support empty elements)", el.name),
        );
        return;
    }
    if let Some(max) = s.max_len.filter(|m| v.chars().count() > *m) {
        value_type(
            out,
            format!(
                "{} is {} characters long; the maximum is {max}",
                el.name,
                v.chars().count()
            ),
        );
    }
    match s.ty {
        ValueType::Container | ValueType::Password | ValueType::String | ValueType::Command => {}
        ValueType::Bool => {
            if !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false") {
                value_type(out, format!("{} must be true or false, not `{v}`", el.name));
            }
        }
        ValueType::Int => {
            let (min, max) = (s.min.unwrap_or(0), s.max.unwrap_or(u64::MAX));
            match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => {}
                _ => value_type(
                    out,
                    format!(
                        "{} must be an integer from {min} to {max}, not `{v}`",
                        el.name
                    ),
                ),
            }
        }
        ValueType::Enum => {
            if !s.values.iter().any(|a| a == v) {
                value_type(
                    out,
                    format!(
                        "{} must be one of {}, not `{v}`",
                        el.name,
                        s.values.join(", ")
                    ),
                );
            }
        }
        ValueType::Productkey => {
            if !is_product_key(v) {
                value_type(out, format!("{} `{v}` is not a 29-character product key of the form XXXXX-XXXXX-XXXXX-XXXXX-XXXXX; Setup fails on an invalid key", el.name));
            }
        }
        ValueType::Computername => {
            // The other profiles check the stricter Kubernetes rule, which
            // includes these (see profile::k8s_computer_name).
            if profile == Profile::Plain {
                if let Err(why) = windows_computer_name(v) {
                    out.push(
                        COMPUTERNAME_WINDOWS,
                        span,
                        format!("ComputerName `{v}` {why}"),
                    );
                }
            }
        }
        ValueType::Timezone => {
            // `_dstoff` turns daylight saving off (TimeZone reference page).
            let zone = v.strip_suffix("_dstoff").unwrap_or(v);
            if !catalog::is_windows_time_zone(zone) {
                out.push(
                    TIMEZONE_UNKNOWN,
                    span,
                    format!("`{v}` is not a Windows time zone id"),
                );
            }
        }
        ValueType::Inputlocale => {
            // "This string type supports empty elements" (InputLocale page).
            if !v.is_empty() && !v.split(';').all(is_input_locale) {
                out.push(INPUTLOCALE_FORMAT, span, format!("InputLocale `{v}` is not a `;`-separated list of 0409:00000409 pairs or language tags"));
            }
        }
        ValueType::Locale => {
            if !v.is_empty() && !is_language_tag(v) {
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

/// Five groups of five letters or digits separated by `-`.
fn is_product_key(key: &str) -> bool {
    let groups: Vec<&str> = key.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Characters Microsoft's ComputerName page forbids (besides spaces).
const COMPUTERNAME_FORBIDDEN: &str = "{|}~[\\]^':;<=>?@!\"#$%`()+/.,*&";

/// Windows' rules for Shell-Setup ComputerName (Microsoft's ComputerName
/// page): empty or `*` asks for a random name; otherwise at most 15 bytes,
/// no spaces or forbidden characters, not only digits (DnsValidateName
/// rejects those).
pub fn windows_computer_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name == "*" {
        return Ok(());
    }
    if name.len() > 15 {
        return Err(format!(
            "is {} bytes long; Windows allows at most 15 bytes",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| c.is_whitespace() || COMPUTERNAME_FORBIDDEN.contains(*c))
    {
        return Err(format!(
            "contains `{c}`, which Windows does not allow in a computer name"
        ));
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is only digits, which Windows rejects".to_string());
    }
    Ok(())
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
    fn windows_computer_names_follow_microsofts_computername_page() {
        for ok in ["WinHost", "win_host-01", "*", "", "ab12"] {
            assert!(windows_computer_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "my pc!",
            "a-sixteen-chars-",
            "12345",
            "host.local",
            "名前名前名前",
        ] {
            assert!(windows_computer_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn product_keys_are_five_groups_of_five() {
        assert!(is_product_key("WX4NM-KYWYW-QJJR4-XV3QB-6VM33"));
        assert!(!is_product_key("WX4NM-KYWYW-QJJR4-XV3QB"));
        assert!(!is_product_key("WX4NM-KYWYW-QJJR4-XV3QB-6VM3!"));
        assert!(!is_product_key(""));
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
