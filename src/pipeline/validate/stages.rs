//! Stage checks: order, duplicates, the stages a target needs, options that
//! cannot work, and the target rules a stage's options must keep (SPEC
//! "Target versions": runtime by target, UDP 4789 for Flannel, hardware
//! vmx-15+, Tools 11.0.6+).

use super::Findings;
use crate::pipeline::config::{Runtime, StageConfig, STAGE_NAMES};
use crate::pipeline::naming::is_dns_label;
use crate::pipeline::rules;
use crate::pipeline::target::{Target, MIN_HARDWARE_VERSION, MIN_TOOLS};
use crate::report::Severity;
use std::time::Duration;

/// Stages that work inside the running build VM, before it is generalized:
/// hardware to unattend in SPEC's order.
const GUEST: &[&str] = STAGE_NAMES.split_at(2).1.split_at(11).0;

/// Stages that use guest operations, which need Tools running: those after
/// `tools` among [`GUEST`].
const NEEDS_TOOLS: &[&str] = GUEST.split_at(2).1;

/// `(first, then, why)`: when both are listed, `first` must come earlier.
/// The specific reasons come first; a pair is kept once.
fn order_rules() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut v = vec![
        (
            "unattend",
            "sysprep",
            "sysprep runs with the uploaded answer file",
        ),
        (
            "sysprep",
            "template",
            "a template is made from the generalized, powered-off VM",
        ),
        (
            "template",
            "publish",
            "publish renames the finished template",
        ),
        (
            "publish",
            "machineset",
            "the MachineSet names the published template",
        ),
    ];
    for s in GUEST
        .iter()
        .chain(&["sysprep", "template", "publish", "machineset"])
    {
        v.push((
            "clone",
            *s,
            "every later stage works on the build VM that clone creates",
        ));
    }
    for s in NEEDS_TOOLS.iter().chain(&["sysprep"]) {
        v.push(("tools", *s, "guest operations need VMware Tools running"));
    }
    for s in GUEST {
        v.push((
            s,
            "sysprep",
            "after sysprep the VM is generalized and powered off",
        ));
    }
    let mut seen = std::collections::HashSet::new();
    v.retain(|(a, b, _)| seen.insert((*a, *b)));
    v
}

/// The stages every image of `target` needs (firewall for Kubernetes is
/// checked by the VXLAN rule, which says why).
fn required(target: Target) -> Vec<&'static str> {
    let mut r = vec![
        "preflight",
        "clone",
        "tools",
        "network",
        "container_runtime",
        "unattend",
        "sysprep",
        "template",
        "publish",
    ];
    if target.is_wmco() {
        r.extend(["hardware", "tools_conf", "openssh", "firewall"]);
    }
    r
}

pub(super) fn check(f: &mut Findings<'_>) {
    let p = f.loaded.pipeline();
    let names: Vec<&str> = p.stages.iter().map(StageConfig::name).collect();
    let first = |n: &str| names.iter().position(|x| *x == n);

    for (i, n) in names.iter().enumerate() {
        if let Some(j) = names[..i].iter().position(|x| x == n) {
            f.at(
                rules::STAGE_ORDER,
                &format!("stages[{i}].stage"),
                format!("stage `{n}` is listed twice (first as stages[{j}]); each stage runs once"),
            );
        }
    }
    if let Some(i) = first("preflight").filter(|i| *i > 0) {
        f.at(
            rules::STAGE_ORDER,
            &format!("stages[{i}].stage"),
            format!("preflight is stage {} but must be first: it checks everything before anything is created", i + 1),
        );
    }
    // One finding per misplaced stage, listing every stage it must follow.
    let mut late: Vec<(usize, Vec<String>)> = Vec::new();
    for (a, b, why) in order_rules() {
        if let (Some(ia), Some(ib)) = (first(a), first(b)) {
            if ia > ib {
                let reason = format!("`{a}` (stages[{ia}]): {why}");
                match late.iter_mut().find(|(i, _)| *i == ib) {
                    Some((_, reasons)) => reasons.push(reason),
                    None => late.push((ib, vec![reason])),
                }
            }
        }
    }
    for (ib, reasons) in late {
        f.at(
            rules::STAGE_ORDER,
            &format!("stages[{ib}].stage"),
            format!(
                "`{}` (stages[{ib}]) must come after {}",
                names[ib],
                reasons.join("; ")
            ),
        );
    }
    let missing: Vec<&str> = required(p.target)
        .into_iter()
        .filter(|r| first(r).is_none())
        .collect();
    if !missing.is_empty() {
        f.at_key(
            rules::STAGE_MISSING,
            "stages",
            format!(
                "target {} needs these stages, which are missing: {}",
                p.target,
                missing.join(", ")
            ),
        );
    }
    for (i, stage) in p.stages.iter().enumerate() {
        options(f, i, stage);
        target_rules(f, i, stage, p.target);
    }
    if p.target.needs_vxlan_port() && first("firewall").is_none() {
        f.at_key(
            rules::VXLAN,
            "stages",
            "target kubernetes (Flannel VXLAN) needs UDP 4789 open, but there is no firewall stage",
        );
    }
    sections(f, first("unattend"), first("machineset"));
}

fn options(f: &mut Findings<'_>, i: usize, stage: &StageConfig) {
    if stage.timeout() == Some(Duration::ZERO) {
        f.at(
            rules::STAGE_OPTIONS,
            &format!("stages[{i}].timeout"),
            format!("stage `{}` has a zero timeout", stage.name()),
        );
    }
    let zero = match stage {
        StageConfig::Network(o) if o.stable_polls == Some(0) => {
            Some(("stable_polls", "network: 0 stable polls proves nothing"))
        }
        StageConfig::WindowsUpdate(o) if o.max_rounds == Some(0) => {
            Some(("max_rounds", "windows_update: 0 rounds installs nothing"))
        }
        StageConfig::Scripts(o) if o.run.is_empty() => {
            Some(("run", "scripts: the run list is empty"))
        }
        _ => None,
    };
    if let Some((field, message)) = zero {
        f.at(
            rules::STAGE_OPTIONS,
            &format!("stages[{i}].{field}"),
            message,
        );
    }
}

fn target_rules(f: &mut Findings<'_>, i: usize, stage: &StageConfig, target: Target) {
    match stage {
        StageConfig::ContainerRuntime(o) => {
            let runtime = o.runtime.unwrap_or(target.default_runtime());
            if !target.allowed_runtimes().contains(&runtime) {
                let at = if o.runtime.is_some() {
                    format!("stages[{i}].runtime")
                } else {
                    format!("stages[{i}].stage")
                };
                let why = match target {
                    Target::Wmco4_11Plus | Target::Wmco4_22Plus => {
                        "WMCO 4.11+ installs containerd itself and fails on an image that has Docker"
                    }
                    Target::Wmco4_9 | Target::Wmco4_10 => "WMCO 4.9/4.10 runs pods on Docker, pre-installed in the image",
                    Target::Kubernetes => "the kubelet needs containerd or Docker",
                };
                let allowed: Vec<&str> = target
                    .allowed_runtimes()
                    .iter()
                    .map(|r| runtime_name(*r))
                    .collect();
                f.at(
                    rules::RUNTIME,
                    &at,
                    format!(
                        "runtime `{}` is not allowed for target {target} (allowed: {}): {why}",
                        runtime_name(runtime),
                        allowed.join(", ")
                    ),
                );
            }
        }
        StageConfig::Firewall(o) if target.needs_vxlan_port() && o.vxlan == Some(false) => {
            f.at(
                rules::VXLAN,
                &format!("stages[{i}].vxlan"),
                "target kubernetes (Flannel VXLAN) needs UDP 4789 open, but vxlan is false",
            );
        }
        StageConfig::Hardware(o) => {
            if let Some(v) = o
                .min_version
                .filter(|v| target.is_wmco() && *v < MIN_HARDWARE_VERSION)
            {
                f.at(
                    rules::HARDWARE,
                    &format!("stages[{i}].min_version"),
                    format!("hardware min_version {v} is below vmx-{MIN_HARDWARE_VERSION}, which OpenShift needs"),
                );
            }
        }
        StageConfig::Tools(o) => {
            if let Some(v) = &o.min_version {
                let at = format!("stages[{i}].min_version");
                match parse_version(v) {
                    None => {
                        f.at(rules::TOOLS, &at, format!("tools min_version {v:?} is not a dotted version such as \"11.0.6\""));
                    }
                    Some(ver) if ver < MIN_TOOLS => {
                        f.at(
                            rules::TOOLS,
                            &at,
                            format!(
                                "tools min_version {v} is below {}.{}.{}, the minimum for every target",
                                MIN_TOOLS.0, MIN_TOOLS.1, MIN_TOOLS.2
                            ),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
        _ => {}
    }
}

fn runtime_name(r: Runtime) -> &'static str {
    match r {
        Runtime::Docker => "docker",
        Runtime::Containerd => "containerd",
        Runtime::None => "none",
    }
}

/// `11`, `11.0`, `11.0.6` (missing parts are 0).
fn parse_version(s: &str) -> Option<(u32, u32, u32)> {
    let parts: Vec<u32> = s
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [a] => Some((*a, 0, 0)),
        [a, b] => Some((*a, *b, 0)),
        [a, b, c] => Some((*a, *b, *c)),
        _ => None,
    }
}

/// Sections and the stages that use them.
fn sections(f: &mut Findings<'_>, unattend_stage: Option<usize>, machineset_stage: Option<usize>) {
    let p = f.loaded.pipeline();
    match (unattend_stage, &p.unattend) {
        (Some(i), None) => {
            f.at(
                rules::UNATTEND,
                &format!("stages[{i}].stage"),
                "the unattend stage needs an `unattend:` section (template and values)",
            );
        }
        (None, Some(_)) => {
            f.at_key(
                rules::UNATTEND,
                "unattend",
                "the `unattend:` section is not used: there is no unattend stage",
            )
            .severity = Severity::Warning;
        }
        _ => {}
    }
    let ms = p.outputs.machineset.as_ref();
    if let Some(i) = machineset_stage {
        let at = format!("stages[{i}].stage");
        if !p.target.is_wmco() {
            f.at(
                rules::MACHINESET,
                &at,
                format!(
                    "a WMCO MachineSet for target {}: MachineSets are for WMCO targets",
                    p.target
                ),
            );
        } else if ms.is_none() {
            f.at(
                rules::MACHINESET,
                &at,
                "the machineset stage needs outputs.machineset (name, infrastructure_id)",
            );
        }
    } else if ms.is_some() {
        f.at_key(
            rules::MACHINESET,
            "outputs.machineset",
            "outputs.machineset is set but no machineset stage emits it",
        )
        .severity = Severity::Warning;
    }
    if let Some(ms) = ms {
        if !is_dns_label(&ms.name, 9) {
            f.at(
                rules::MACHINESET,
                "outputs.machineset.name",
                format!(
                    "MachineSet name {:?} must be a DNS label of at most 9 characters (vSphere machine names are derived from it)",
                    ms.name
                ),
            );
        }
        if ms.infrastructure_id.trim().is_empty() {
            f.at(
                rules::MACHINESET,
                "outputs.machineset.infrastructure_id",
                "infrastructure_id is empty",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guest_stages_are_hardware_to_unattend() {
        assert_eq!(GUEST.first(), Some(&"hardware"));
        assert_eq!(GUEST.last(), Some(&"unattend"));
        assert_eq!(NEEDS_TOOLS.first(), Some(&"tools_conf"));
        assert_eq!(NEEDS_TOOLS.len(), 9);
    }

    #[test]
    fn versions_parse_with_missing_parts_as_zero() {
        assert_eq!(parse_version("11.0.6"), Some((11, 0, 6)));
        assert_eq!(parse_version("12"), Some((12, 0, 0)));
        assert!(parse_version("11.0.5") < Some(MIN_TOOLS));
        assert_eq!(parse_version("11.x"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
    }
}
