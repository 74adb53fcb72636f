//! The one use gild makes of WSIM's `cpi:offlineImage` hint: an ISO answer
//! file that picks its image by name (`/IMAGE/NAME`) should pick the image it
//! was authored against. Setup stops when install.wim has no image of that
//! name, but gild cannot see the install media, so a mismatch is a note.

use super::structure::Layout;
use super::*;

const SETUP: &str = "Microsoft-Windows-Setup";

pub fn check(doc: &Document, layout: &Layout, out: &mut Findings) {
    let Some(authored) = layout.offline_image.as_deref().and_then(image_name) else {
        return;
    };
    for comp in layout
        .components
        .iter()
        .filter(|c| c.name == SETUP && c.pass == "windowsPE")
    {
        let Some(setup) = doc.elements.get(comp.element) else {
            continue;
        };
        let Some(from) = doc.path(setup, &["ImageInstall", "OSImage", "InstallFrom"]) else {
            continue;
        };
        for meta in doc.children(from).filter(|m| m.name == "MetaData") {
            let key = doc.child(meta, "Key").map(|k| k.text.as_ref());
            let Some(value) = doc.child(meta, "Value") else {
                continue;
            };
            if key.is_some_and(|k| k.eq_ignore_ascii_case("/IMAGE/NAME"))
                && !value.text.trim().eq_ignore_ascii_case(authored)
            {
                out.push(
                        OFFLINE_IMAGE_MISMATCH,
                        value.text_span,
                        format!(
                            "ImageInstall selects image `{}` but the file was authored against `{authored}` (cpi:offlineImage)",
                            value.text
                        ),
                    );
            }
        }
    }
}

/// The image name in a WSIM source: `wim:<path>#<image name>`. Catalog
/// (`catalog:...clg`) sources carry no image name.
pub fn image_name(source: &str) -> Option<&str> {
    let rest = source.strip_prefix("wim:")?;
    let (_, name) = rest.rsplit_once('#')?;
    let name = name.trim();
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_name_is_the_part_after_the_hash_of_a_wim_source() {
        assert_eq!(
            image_name("wim:d:/sources/install.wim#Windows Server 2022 SERVERSTANDARD"),
            Some("Windows Server 2022 SERVERSTANDARD")
        );
        assert_eq!(
            image_name("catalog:d:/sources/install_Windows 10 Pro.clg"),
            None
        );
        assert_eq!(image_name("wim:d:/sources/install.wim"), None);
    }
}
