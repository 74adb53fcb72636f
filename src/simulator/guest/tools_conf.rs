//! `tools.conf`: VMware Tools' INI file, and the repair the pipeline needs.
//!
//! WMCO needs `exclude-nics=` present, uncommented and empty under
//! `[guestinfo]` so the vEthernet NICs hybrid-overlay creates are reported to
//! vCenter. A stock image either lacks the line or, when built with
//! kubernetes-sigs/image-builder, excludes exactly those NICs — the default
//! below is the latter, so the model only passes a build that repairs it.

pub const DEFAULT_TOOLS_CONF: &str = "\
# VMware Tools configuration file
[logging]
log = false

[guestinfo]
exclude-nics=vEthernet*,veth*,docker*,cali*,flannel*
";

/// The value of `exclude-nics` under `[guestinfo]` if it is set (uncommented).
pub fn exclude_nics(conf: &str) -> Option<String> {
    let mut section = String::new();
    for line in conf.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            section = name.trim().to_ascii_lowercase();
        } else if section == "guestinfo" {
            if let Some((key, value)) = trimmed.split_once('=') {
                if key.trim().eq_ignore_ascii_case("exclude-nics") {
                    return Some(value.trim().to_string());
                }
            }
        }
    }
    None
}

/// Rewrites `conf` so `[guestinfo]` holds exactly one `exclude-nics=` with an
/// empty value: set lines are emptied, commented ones dropped in favour of
/// it, a missing section is appended. Other content is kept byte for byte.
pub fn repair(conf: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut section = String::new();
    let mut saw_guestinfo = false;
    let mut wrote_line = false;
    for line in conf.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            if section == "guestinfo" && !wrote_line {
                out.push("exclude-nics=".into());
                wrote_line = true;
            }
            section = name.trim().to_ascii_lowercase();
            saw_guestinfo |= section == "guestinfo";
            out.push(line.to_string());
            continue;
        }
        if section == "guestinfo" && is_exclude_nics_line(trimmed) {
            if !wrote_line {
                out.push("exclude-nics=".into());
                wrote_line = true;
            }
            continue;
        }
        out.push(line.to_string());
    }
    if section == "guestinfo" && !wrote_line {
        out.push("exclude-nics=".into());
    } else if !saw_guestinfo {
        out.push("[guestinfo]".into());
        out.push("exclude-nics=".into());
    }
    let mut text = out.join("\r\n");
    text.push_str("\r\n");
    text
}

/// `exclude-nics=...`, `#exclude-nics=...` or `; exclude-nics = ...`.
fn is_exclude_nics_line(trimmed: &str) -> bool {
    let uncommented = trimmed.trim_start_matches(['#', ';']).trim_start();
    uncommented
        .split_once('=')
        .is_some_and(|(key, _)| key.trim().eq_ignore_ascii_case("exclude-nics"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_conf_excludes_the_nics_wmco_needs() {
        assert_eq!(
            exclude_nics(DEFAULT_TOOLS_CONF).as_deref(),
            Some("vEthernet*,veth*,docker*,cali*,flannel*")
        );
    }

    #[test]
    fn repair_empties_a_set_exclude_nics_and_keeps_other_sections() {
        let repaired = repair(DEFAULT_TOOLS_CONF);
        assert_eq!(exclude_nics(&repaired).as_deref(), Some(""));
        assert!(repaired.contains("[logging]\r\nlog = false"));
        assert_eq!(repaired.matches("exclude-nics").count(), 1);
    }

    #[test]
    fn repair_uncomments_a_commented_line() {
        let repaired = repair("[guestinfo]\n#exclude-nics=vEthernet*\n[other]\nx=1\n");
        assert_eq!(
            repaired,
            "[guestinfo]\r\nexclude-nics=\r\n[other]\r\nx=1\r\n"
        );
    }

    #[test]
    fn repair_appends_the_section_when_missing() {
        let repaired = repair("[logging]\nlog = true\n");
        assert_eq!(exclude_nics(&repaired).as_deref(), Some(""));
    }

    #[test]
    fn exclude_nics_outside_guestinfo_does_not_count() {
        assert_eq!(exclude_nics("[other]\nexclude-nics=\n"), None);
    }

    #[test]
    fn repair_of_an_empty_guestinfo_section_adds_the_line() {
        assert_eq!(repair("[guestinfo]\n"), "[guestinfo]\r\nexclude-nics=\r\n");
    }
}
