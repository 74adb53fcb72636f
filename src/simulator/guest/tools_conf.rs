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

/// How often vmtoolsd looks at tools.conf (`CONF_POLL_TIME`, 5 seconds, in
/// open-vm-tools lib/include/conf.h; services/vmtoolsd/mainLoop.c reloads
/// it from a timer). The guestInfo plugin re-reads `exclude-nics` on each
/// reload (GuestInfoResetNicExcludeList in guestInfoServer.c), so a change
/// takes effect without restarting the service.
pub const CONF_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// What Windows Tools exclude when tools.conf sets no `exclude-nics`:
/// `GUESTINFO_DEFAULT_IFACE_EXCLUDES` is `"vEthernet*"` under `_WIN32`
/// (open-vm-tools services/plugins/guestInfo/guestInfoServer.c). So a guest
/// without the line hides every Hyper-V/HNS host adapter from vCenter.
pub const DEFAULT_EXCLUDES: &str = "vEthernet*";

/// The NICs vmtoolsd reports, given the tools.conf it has loaded: those not
/// matching any `exclude-nics` pattern (`*` and `?` wildcards). A missing
/// key means [`DEFAULT_EXCLUDES`]; a present but empty one means nothing is
/// excluded — `GuestInfoSetConfigList` (guestInfoServer.c) reads the key
/// with the default and builds no pattern list from an empty string, which
/// is why WMCO asks for `exclude-nics=` rather than for no line at all.
pub fn reported_adapters(adapters: &[String], loaded_conf: &str) -> Vec<String> {
    let patterns: Vec<String> = exclude_nics(loaded_conf)
        .unwrap_or_else(|| DEFAULT_EXCLUDES.to_string())
        .split(',')
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    adapters
        .iter()
        .filter(|nic| !patterns.iter().any(|p| wildcard(p, nic)))
        .cloned()
        .collect()
}

fn wildcard(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b) && go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    go(&p, &t)
}

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
    fn excluded_nics_are_not_reported_until_the_pattern_is_emptied() {
        let nics = vec!["Ethernet0".to_string(), "vEthernet (nat)".to_string()];
        assert_eq!(
            reported_adapters(&nics, DEFAULT_TOOLS_CONF),
            vec!["Ethernet0"]
        );
        assert_eq!(reported_adapters(&nics, &repair(DEFAULT_TOOLS_CONF)), nics);
        assert!(wildcard("veth?r*", "vEthernet (nat)"));
        assert!(!wildcard("veth", "vEthernet"));
    }

    #[test]
    fn without_an_exclude_nics_line_windows_tools_still_exclude_vethernet() {
        let nics = vec!["Ethernet0".to_string(), "vEthernet (Ethernet0)".to_string()];
        assert_eq!(
            reported_adapters(&nics, "[logging]\nlog = false\n"),
            vec!["Ethernet0"]
        );
        assert_eq!(
            reported_adapters(&nics, "[guestinfo]\nexclude-nics=\n"),
            nics
        );
    }

    #[test]
    fn repair_of_an_empty_guestinfo_section_adds_the_line() {
        assert_eq!(repair("[guestinfo]\n"), "[guestinfo]\r\nexclude-nics=\r\n");
    }
}
