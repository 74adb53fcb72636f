//! Shape rules: root element and namespace, passes, component attributes.
//! Produces the [`Layout`] (which component sits in which pass) the other
//! rule groups work from.

use super::*;
use crate::unattend::catalog::PASSES;
use crate::unattend::doc::Element;
use std::collections::HashSet;

pub const UNATTEND_NS: &str = "urn:schemas-microsoft-com:unattend";
/// The namespace of the `offlineImage` element Windows System Image Manager
/// writes into every answer file it saves (Windows Setup ignores it).
pub const CPI_NS: &str = "urn:schemas-microsoft-com:cpi";
const PUBLIC_KEY_TOKEN: &str = "31bf3856ad364e35";
const ARCHITECTURES: [&str; 4] = ["amd64", "x86", "arm64", "wow64"];

/// A `<component>` element and the pass it is configured in.
#[derive(Debug, Clone)]
pub struct ComponentRef {
    pub pass: String,
    pub element: usize,
    pub name: String,
}

#[derive(Debug, Default)]
pub struct Layout {
    pub components: Vec<ComponentRef>,
    /// `cpi:source` of WSIM's `cpi:offlineImage`: the image the file was
    /// authored against, e.g. `wim:D:/sources/install.wim#Windows Server
    /// 2022 SERVERSTANDARD`.
    pub offline_image: Option<String>,
}

/// Checks the shape; returns `None` when the root is not `unattend` at all
/// (nothing else can be said about such a file).
pub fn check(doc: &Document, out: &mut Findings) -> Option<Layout> {
    let root = doc.root()?;
    if root.name != "unattend" || root.namespace.as_deref() != Some(UNATTEND_NS) {
        let found = root.namespace.as_deref().unwrap_or("no namespace");
        out.push(
            ROOT_NAMESPACE,
            root.name_span,
            format!(
                "root element is `{}` in {found}; expected `unattend` in {UNATTEND_NS}",
                root.name
            ),
        );
        if root.name != "unattend" {
            return None;
        }
    }
    let mut layout = Layout::default();
    let mut seen_passes: HashSet<&str> = HashSet::new();
    let mut arch: Option<&str> = None;
    for settings in doc.children(root) {
        if settings.name != "settings" {
            match (settings.name.as_ref(), settings.namespace.as_deref()) {
                // `servicing` is the package-servicing section WSIM writes
                // (offlineServicing packages); gild has nothing to check in it.
                ("servicing", _) => {}
                ("offlineImage", Some(CPI_NS)) => {
                    layout.offline_image = settings
                        .attrs
                        .iter()
                        .find(|a| a.name.rsplit(':').next() == Some("source"))
                        .map(|a| a.value.to_string());
                }
                _ => out.push(
                    UNEXPECTED_ELEMENT,
                    settings.name_span,
                    format!("`<{}>` inside `<unattend>`", settings.name),
                ),
            }
            continue;
        }
        let Some(pass) = settings.attr("pass") else {
            out.push(
                UNKNOWN_PASS,
                settings.name_span,
                "`<settings>` has no `pass` attribute",
            );
            continue;
        };
        if !PASSES.contains(&pass.value.as_ref()) {
            out.push(
                UNKNOWN_PASS,
                pass.value_span,
                format!("`{}` is not a Windows configuration pass", pass.value),
            );
            continue;
        }
        if !seen_passes.insert(pass.value.as_ref()) {
            out.push(
                DUPLICATE_PASS,
                pass.value_span,
                format!("pass `{}` appears more than once", pass.value),
            );
        }
        let mut in_pass: HashSet<(String, String)> = HashSet::new();
        for &element in &settings.children {
            let Some(comp) = doc.elements.get(element) else {
                continue;
            };
            if comp.name != "component" {
                out.push(
                    UNEXPECTED_ELEMENT,
                    comp.name_span,
                    format!("`<{}>` inside `<settings>`", comp.name),
                );
                continue;
            }
            let Some(name) = component_attrs(comp, out) else {
                continue;
            };
            let comp_arch = comp.attr("processorArchitecture");
            if let Some(a) = comp_arch {
                if !ARCHITECTURES.contains(&a.value.as_ref()) {
                    out.push(
                        COMPONENT_ARCH,
                        a.value_span,
                        format!(
                            "processorArchitecture `{}` is not amd64, x86, arm64 or wow64",
                            a.value
                        ),
                    );
                } else if let Some(first) = arch.filter(|f| !same_image_arch(f, &a.value)) {
                    out.push(COMPONENT_ARCH, a.value_span, format!("processorArchitecture `{}` differs from `{first}` used earlier in the file", a.value));
                } else if arch.is_none() || a.value != "wow64" {
                    arch = Some(a.value.as_ref());
                }
            }
            let key = (
                name.to_string(),
                comp_arch.map(|a| a.value.to_string()).unwrap_or_default(),
            );
            if !in_pass.insert(key) {
                out.push(
                    DUPLICATE_COMPONENT,
                    comp.name_span,
                    format!("component `{name}` appears twice in pass `{}`", pass.value),
                );
            }
            layout.components.push(ComponentRef {
                pass: pass.value.to_string(),
                element,
                name: name.to_string(),
            });
        }
    }
    Some(layout)
}

/// Whether two components can configure the same image: equal
/// architectures, or amd64 with wow64 (32-bit components of a 64-bit image,
/// which WSIM lists beside the amd64 ones).
fn same_image_arch(a: &str, b: &str) -> bool {
    a == b || matches!((a, b), ("amd64", "wow64") | ("wow64", "amd64"))
}

/// Checks the fixed attributes; returns the component name when present.
fn component_attrs<'a>(comp: &'a Element, out: &mut Findings) -> Option<&'a str> {
    let expected = [
        ("publicKeyToken", PUBLIC_KEY_TOKEN),
        ("language", "neutral"),
        ("versionScope", "nonSxS"),
    ];
    for (attr, want) in expected {
        match comp.attr(attr) {
            None => out.push(
                COMPONENT_ATTR,
                comp.name_span,
                format!("component has no `{attr}` attribute (expected \"{want}\")"),
            ),
            Some(a) if a.value != want => out.push(
                COMPONENT_ATTR,
                a.value_span,
                format!("`{attr}` is \"{}\"; expected \"{want}\"", a.value),
            ),
            Some(_) => {}
        }
    }
    if comp.attr("processorArchitecture").is_none() {
        out.push(
            COMPONENT_ATTR,
            comp.name_span,
            "component has no `processorArchitecture` attribute",
        );
    }
    match comp.attr("name") {
        Some(n) if !n.value.is_empty() => Some(n.value.as_ref()),
        _ => {
            out.push(
                COMPONENT_ATTR,
                comp.name_span,
                "component has no `name` attribute",
            );
            None
        }
    }
}
