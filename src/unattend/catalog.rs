//! The built-in catalog of components and settings (`data/catalog.yaml`),
//! the part of what Windows System Image Manager knows that gild checks.
//! It is data, not code, so adding a setting is one line with its
//! Microsoft reference next to it.

use serde::Deserialize;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The seven Windows Setup configuration passes.
pub const PASSES: [&str; 7] = [
    "windowsPE",
    "offlineServicing",
    "generalize",
    "specialize",
    "auditSystem",
    "auditUser",
    "oobeSystem",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ValueType {
    #[default]
    Container,
    Bool,
    Int,
    Enum,
    String,
    Command,
    Timezone,
    Inputlocale,
    Locale,
    Password,
    /// `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`: Microsoft's ProductKey pages say an
    /// invalid key makes Setup fail.
    Productkey,
    /// Shell-Setup ComputerName: the Windows naming rules, checked under
    /// `plain` (the other profiles apply the stricter `computername-k8s`).
    Computername,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setting {
    pub name: String,
    #[serde(default)]
    pub passes: Vec<String>,
    #[serde(default, rename = "type")]
    pub ty: ValueType,
    #[serde(default)]
    pub values: Vec<String>,
    pub min: Option<u64>,
    pub max: Option<u64>,
    #[serde(default)]
    pub list: bool,
    #[serde(default)]
    pub children: Vec<Setting>,
    pub reference: Option<String>,
    /// Why the setting is deprecated, when Microsoft's reference says it is.
    /// Windows still accepts it, so gild warns instead of failing.
    pub deprecated: Option<String>,
    /// Longest value in characters that the reference allows.
    pub max_len: Option<usize>,
    /// "This string type does not support empty elements."
    #[serde(default)]
    pub nonempty: bool,
    /// What Windows does with a value it does not accept: `fail` (the
    /// default: Setup stops) or `default` (the reference says Windows falls
    /// back to its default, so a bad value is only a warning).
    #[serde(default)]
    pub invalid: OnInvalid,
    /// Children exist but gild does not model them (deep OEM trees such as
    /// StartTiles); nothing inside is checked.
    #[serde(default)]
    pub open: bool,
    /// Where the reference is silent or the entry needed a judgement call.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnInvalid {
    #[default]
    Fail,
    Default,
}

impl Setting {
    /// The children Windows accepts inside this element. A `password` is
    /// always the same `Value` + `PlainText` pair, so the data file does not
    /// spell it out each time.
    pub fn child(&self, name: &str) -> Option<&Setting> {
        if self.ty == ValueType::Password {
            return password_parts().iter().find(|s| s.name == name);
        }
        self.children.iter().find(|c| c.name == name)
    }
}

fn password_parts() -> &'static [Setting] {
    static PARTS: OnceLock<Vec<Setting>> = OnceLock::new();
    PARTS.get_or_init(|| {
        let part = |name: &str, ty| Setting {
            name: name.to_string(),
            passes: Vec::new(),
            ty,
            values: Vec::new(),
            min: None,
            max: None,
            list: false,
            children: Vec::new(),
            reference: None,
            deprecated: None,
            max_len: None,
            nonempty: false,
            invalid: OnInvalid::Fail,
            open: false,
            note: None,
        };
        vec![
            part("Value", ValueType::String),
            part("PlainText", ValueType::Bool),
        ]
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Component {
    pub name: String,
    pub reference: String,
    pub settings: Vec<Setting>,
    /// What of the component gild checks less than fully, and why.
    pub note: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CatalogFile {
    components: Vec<Component>,
}

#[derive(Debug)]
pub struct Catalog {
    components: HashMap<String, Component>,
}

impl Catalog {
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.get(name)
    }

    pub fn components(&self) -> impl Iterator<Item = &Component> {
        self.components.values()
    }
}

impl Component {
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("the built-in unattend catalog (src/unattend/data/catalog.yaml) is invalid: {0}")]
pub struct CatalogError(String);

const CATALOG_YAML: &str = include_str!("data/catalog.yaml");
const TIME_ZONES: &str = include_str!("data/windows_time_zones.txt");

/// The parsed catalog, loaded once per process (the bench lints thousands of
/// files; parsing the YAML each time would dominate).
pub fn catalog() -> Result<&'static Catalog, CatalogError> {
    static CATALOG: OnceLock<Result<Catalog, CatalogError>> = OnceLock::new();
    CATALOG
        .get_or_init(|| {
            let file: CatalogFile =
                serde_norway::from_str(CATALOG_YAML).map_err(|e| CatalogError(e.to_string()))?;
            let components = file
                .components
                .into_iter()
                .map(|c| (c.name.clone(), c))
                .collect();
            Ok(Catalog { components })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Whether `id` is a Windows time zone id (exact, as Windows compares them).
pub fn is_windows_time_zone(id: &str) -> bool {
    static ZONES: OnceLock<Vec<&'static str>> = OnceLock::new();
    let zones = ZONES.get_or_init(|| {
        let mut z: Vec<&str> = TIME_ZONES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        z.sort_unstable();
        z
    });
    zones.binary_search(&id).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_parses_and_every_top_level_setting_has_passes_and_a_reference() {
        let cat = catalog().unwrap();
        assert!(cat.components().count() >= 11);
        for c in cat.components() {
            assert!(
                c.reference.starts_with("https://learn.microsoft.com/"),
                "{}",
                c.name
            );
            for s in &c.settings {
                assert!(
                    !s.passes.is_empty() || s.deprecated.is_some(),
                    "{}/{} has no passes",
                    c.name,
                    s.name
                );
                assert!(
                    s.passes.iter().all(|p| PASSES.contains(&p.as_str())),
                    "{}/{}",
                    c.name,
                    s.name
                );
                let r = s.reference.as_deref().unwrap_or_default();
                assert!(
                    r.starts_with("https://learn.microsoft.com/"),
                    "{}/{} has no reference",
                    c.name,
                    s.name
                );
            }
        }
    }

    /// Walks every nested setting: enums have values, ranges are ordered,
    /// siblings have distinct names, references (where given) are
    /// Microsoft's, and only containers have children.
    #[test]
    fn nested_settings_are_well_formed() {
        let cat = catalog().unwrap();
        let mut stack: Vec<(&str, &Setting)> = cat
            .components()
            .flat_map(|c| c.settings.iter().map(move |s| (c.name.as_str(), s)))
            .collect();
        let mut seen = 0;
        while let Some((at, s)) = stack.pop() {
            seen += 1;
            let here = format!("{at}/{}", s.name);
            if s.ty == ValueType::Enum {
                assert!(!s.values.is_empty(), "{here}: enum without values");
            }
            if let (Some(lo), Some(hi)) = (s.min, s.max) {
                assert!(lo <= hi, "{here}: min > max");
            }
            if let Some(r) = &s.reference {
                assert!(r.starts_with("https://learn.microsoft.com/"), "{here}");
            }
            assert!(
                s.children.is_empty() || s.ty == ValueType::Container,
                "{here}: a value type with children"
            );
            let mut names: Vec<&str> = s.children.iter().map(|c| c.name.as_str()).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len(), "{here}: duplicate child names");
            stack.extend(s.children.iter().map(|c| (at, c)));
        }
        assert!(seen > 150, "only {seen} settings");
    }

    #[test]
    fn time_zone_list_has_windows_ids_not_iana_ones() {
        assert!(is_windows_time_zone("Eastern Standard Time"));
        assert!(is_windows_time_zone("UTC"));
        assert!(!is_windows_time_zone("America/New_York"));
        assert!(!is_windows_time_zone("eastern standard time"));
    }
}
