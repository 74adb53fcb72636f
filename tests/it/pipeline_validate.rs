//! `gild validate`'s rules: each has a failing case (the valid fixture
//! broken in one way, or a fixture file) and passes on the valid fixture.

use super::pipeline_load::fixture;
use gild::pipeline::rules::RULES;
use gild::pipeline::validate::{check_file, check_text, FileReport, Options};
use gild::pipeline::Vars;
use gild::report::{Diagnostic, Severity};

fn vars() -> Vars {
    let mut v = Vars::empty();
    v.set("VC_HOST", "vc.example");
    v
}

fn valid_text() -> String {
    std::fs::read_to_string(fixture("valid.yaml")).unwrap()
}

/// The valid fixture with `from` replaced by `to` (which must occur).
fn mutated(from: &str, to: &str) -> String {
    let text = valid_text();
    assert!(text.contains(from), "fixture has no {from:?}");
    text.replacen(from, to, 1)
}

fn check(text: String) -> FileReport {
    check_text(&fixture("valid.yaml"), text, &vars(), Options::default())
}

fn with_rule<'a>(report: &'a FileReport, rule: &str) -> Vec<&'a Diagnostic> {
    report
        .diagnostics
        .iter()
        .filter(|d| d.rule_id == rule)
        .collect()
}

/// `(rule, from, to, line, message part)`: replacing `from` with `to` in
/// valid.yaml gives a `rule` finding on `line` whose message has the part.
const CASES: &[(&str, &str, &str, usize, &str)] = &[
    ("pipeline-syntax", "name: fixture", "name: [fixture", 5, "YAML syntax"),
    ("pipeline-secret-var", "user: administrator@vsphere.local", "user: ${GILD_VCENTER_PASSWORD}", 8, "looks like a secret"),
    ("pipeline-schema", "keep: 2", "keep: two", 51, "`template.keep`: invalid type: string \"two\", expected u32"),
    ("pipeline-name", "name: fixture", "name: Fixture_1", 4, "not a DNS-label-like name"),
    ("pipeline-build-vm-name", "name: fixture", "name: windows-server-2022-wmco-golden-image-for-production-clusters", 4, "build VM name"),
    ("pipeline-template-name", "name: \"{name}-{target}-{date}\"", "name: \"{name}/{date}\"", 49, "contains '/'"),
    ("pipeline-template-name", "name: \"{name}-{target}-{date}\"", "name: \"{name}-{sha}\"", 49, "unknown placeholder `{sha}`"),
    ("pipeline-template-unscoped", "name: \"{name}-{target}-{date}\"", "name: \"{target}-{date}\"", 49, "has no {name}"),
    ("pipeline-template-not-unique", "name: \"{name}-{target}-{date}\"", "name: \"{name}-{target}\"", 49, "neither {date} nor {git_sha}"),
    ("pipeline-keep", "keep: 2", "keep: 0", 51, "template.keep is 0"),
    ("pipeline-secret-source", "  password_env: GILD_FIXTURE_GUEST_PASSWORD", "  password_env: GILD_FIXTURE_GUEST_PASSWORD\n  password_file: guest.pw", 21, "two sources"),
    ("pipeline-secret-source", "  password_env: GILD_FIXTURE_GUEST_PASSWORD\n", "", 18, "has no source"),
    ("pipeline-secret-source", "password_env: GILD_FIXTURE_VCENTER_PASSWORD", "password_env: not-a-name", 9, "not an environment variable name"),
    ("pipeline-file-missing", "public_key_file: fixture_ed25519.pub", "public_key_file: missing.pub", 39, "does not exist"),
    ("pipeline-file-missing", "  - stage: container_runtime\n", "  - stage: scripts\n    run: [scripts/nope.ps1]\n  - stage: container_runtime\n", 41, "stages[7].run[0]: file"),
    ("pipeline-vcenter", "  password_env: GILD_FIXTURE_VCENTER_PASSWORD", "  password_env: GILD_FIXTURE_VCENTER_PASSWORD\n  thumbprint: zz", 10, "is not hex"),
    ("pipeline-vcenter", "url: https://${VC_HOST}/", "url: ftp://${VC_HOST}/", 7, "scheme is \"ftp\""),
    ("pipeline-literal-secret", "url: https://${VC_HOST}/", "url: https://me:pw@${VC_HOST}/", 7, "carries a user name or password (not shown)"),
    ("pipeline-insecure", "  password_env: GILD_FIXTURE_VCENTER_PASSWORD", "  password_env: GILD_FIXTURE_VCENTER_PASSWORD\n  insecure: true", 10, "not checked"),
    ("pipeline-insecure", "url: https://${VC_HOST}/", "url: http://${VC_HOST}/", 7, "plain http"),
    ("pipeline-placement", "  cluster: cluster1", "  cluster: cluster1\n  resource_pool: gild", 16, "both a cluster and a resource pool"),
    ("pipeline-placement", "  network: VM Network", "  network: VM Network\n  expected_subnet: 10.0.0/24", 18, "not IPv4 CIDR"),
    ("pipeline-unattend", "  values: ../../../unattend/values.example.yaml\n", "", 22, "rendering"),
    ("pipeline-unattend", "  - stage: unattend\n", "", 21, "not used"),
    ("pipeline-unattend-lint", "    remove_answer_files: true", "    remove_answer_files: true\n    time_zone: Mars Standard Time", 22, "[timezone-unknown]"),
    ("pipeline-runtime", "runtime: none", "runtime: docker", 41, "runtime `docker` is not allowed for target wmco-4.11+ (allowed: none)"),
    ("pipeline-hardware", "min_version: 15", "min_version: 13", 32, "below vmx-15"),
    ("pipeline-tools", "min_version: \"11.0.6\"", "min_version: \"10.3\"", 34, "below 11.0.6"),
    ("pipeline-tools", "min_version: \"11.0.6\"", "min_version: \"eleven\"", 34, "not a dotted version"),
    ("pipeline-ssh-key", "public_key_file: fixture_ed25519.pub", "public_key_file: valid.yaml", 39, "not an OpenSSH public key"),
    ("pipeline-ssh-key", "public_key_file: fixture_ed25519.pub", "public_key_file: other_ed25519.pub\n    private_key_file: fixture_ed25519", 39, "does not pair"),
    ("pipeline-stage-order", "  - stage: unattend\n  - stage: sysprep\n", "  - stage: sysprep\n  - stage: unattend\n", 43, "`sysprep` (stages[9]) must come after `unattend` (stages[10])"),
    ("pipeline-stage-order", "  - stage: preflight\n  - stage: clone\n", "  - stage: clone\n  - stage: preflight\n", 29, "must be first"),
    ("pipeline-stage-order", "  - stage: template\n", "  - stage: template\n  - stage: template\n", 47, "listed twice"),
    ("pipeline-stage-missing", "  - stage: firewall\n", "", 27, "missing: firewall"),
    ("pipeline-stage-options", "timeout: 20m", "timeout: 0s", 30, "zero timeout"),
    ("pipeline-stage-options", "stable_polls: 3", "stable_polls: 0", 37, "0 stable polls"),
    ("pipeline-machineset", "  - stage: publish\n", "  - stage: publish\n  - stage: machineset\n", 48, "needs outputs.machineset"),
    ("pipeline-machineset", "  keep: 2\n", "  keep: 2\noutputs:\n  machineset:\n    name: much-too-long\n    infrastructure_id: ocp-abc12\n", 54, "at most 9 characters"),
];

#[test]
fn each_rule_reports_its_case_on_the_right_line() {
    for (rule, from, to, line, part) in CASES {
        let report = check(mutated(from, to));
        let found = with_rule(&report, rule);
        assert!(
            found
                .iter()
                .any(|d| d.line == *line && d.message.contains(part)),
            "{rule}: expected line {line} with {part:?}, got {:#?}",
            report.diagnostics
        );
    }
}

#[test]
fn kubernetes_needs_udp_4789_and_a_kubernetes_runtime() {
    let k8s = mutated("target: wmco-4.11+", "target: kubernetes")
        .replace("runtime: none", "runtime: containerd");
    let report = check(k8s.clone());
    assert!(
        !report
            .diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error),
        "{:#?}",
        report.diagnostics
    );
    let report = check(k8s.replace(
        "  - stage: firewall",
        "  - stage: firewall\n    vxlan: false",
    ));
    let found = with_rule(&report, "pipeline-vxlan");
    assert_eq!((found.len(), found[0].line), (1, 43), "{found:#?}");
    let report = check(k8s.replace("  - stage: firewall\n", ""));
    let found = with_rule(&report, "pipeline-vxlan");
    assert!(found[0].message.contains("no firewall stage"), "{found:#?}");
    // WMCO rules do not apply to Kubernetes images: no openssh needed.
    let report = check(k8s.replace(
        "  - stage: openssh\n    public_key_file: fixture_ed25519.pub\n",
        "",
    ));
    assert!(with_rule(&report, "pipeline-stage-missing").is_empty());
}

#[test]
fn the_valid_fixture_has_no_error_and_only_unset_secret_warnings() {
    let report = check(valid_text());
    let others: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.rule_id != "pipeline-secret-unset")
        .collect();
    assert!(others.is_empty(), "{others:#?}");
    assert!(report
        .diagnostics
        .iter()
        .all(|d| d.severity == Severity::Warning));
    assert_eq!(
        report.diagnostics.len(),
        3,
        "three secrets, all from unset variables"
    );
}

#[cfg(unix)]
#[test]
fn an_unset_secret_is_an_error_online_and_a_private_file_source_passes() {
    let online = check_text(
        &fixture("valid.yaml"),
        valid_text(),
        &vars(),
        Options { online: true },
    );
    assert!(with_rule(&online, "pipeline-secret-unset")
        .iter()
        .all(|d| d.severity == Severity::Error));

    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("guest.pw");
    std::fs::write(&pw, "x\n").unwrap();
    set_mode(&pw, 0o600);
    let text = mutated(
        "password_env: GILD_FIXTURE_GUEST_PASSWORD",
        &format!("password_file: {}", pw.display()),
    );
    let report = check(text.clone());
    assert!(!with_rule(&report, "pipeline-secret-unset")
        .iter()
        .any(|d| d.line == 20));
    assert!(with_rule(&report, "pipeline-secret-source").is_empty());
    set_mode(&pw, 0o644);
    let report = check(text);
    let found = with_rule(&report, "pipeline-secret-source");
    assert!(found[0].message.contains("chmod 600"), "{found:?}");
}

#[cfg(unix)]
fn set_mode(p: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_matching_key_pair_passes_the_pair_check() {
    let report = check(mutated(
        "public_key_file: fixture_ed25519.pub",
        "public_key_file: fixture_ed25519.pub\n    private_key_file: fixture_ed25519",
    ));
    let found: Vec<_> = with_rule(&report, "pipeline-ssh-key")
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn load_failures_become_diagnostics_and_mark_the_file_bad_input() {
    for (name, rule) in [
        ("unknown-key.yaml", "pipeline-unknown-key"),
        ("literal-password.yaml", "pipeline-literal-secret"),
        ("undefined-var.yaml", "pipeline-undefined-var"),
        ("does-not-exist.yaml", "pipeline-unreadable"),
    ] {
        let report = check_file(&fixture(name), &Vars::empty(), Options::default());
        assert!(report.is_bad_input(), "{name}");
        assert!(
            report.diagnostics.iter().all(|d| d.rule_id == rule),
            "{name}: {:#?}",
            report.diagnostics
        );
    }
    let mut v = vars();
    v.set("NOT_USED", "x");
    let report = check_text(&fixture("valid.yaml"), valid_text(), &v, Options::default());
    assert_eq!(with_rule(&report, "pipeline-unused-var").len(), 1);
    assert!(!report.is_bad_input());
}

#[test]
fn literal_secret_lines_are_not_shown_by_the_human_printer() {
    let report = check_file(
        &fixture("literal-password.yaml"),
        &Vars::empty(),
        Options::default(),
    );
    let shown = report.shown_source().unwrap();
    let human = gild::report::human(&report.diagnostics, Some(&shown));
    assert!(
        !human.contains("Hunter2") && !human.contains("Sup3r"),
        "{human}"
    );
    assert!(human.contains("<line not shown: it holds a secret>"));
}

/// Every rule is exercised by a failing case somewhere in this file or in
/// pipeline_online (the two online rules).
#[test]
fn every_rule_has_a_failing_case() {
    let elsewhere = [
        "pipeline-unreadable",
        "pipeline-literal-secret",
        "pipeline-undefined-var",
        "pipeline-unknown-key",
        "pipeline-unused-var",
        "pipeline-secret-unset",
        "pipeline-vxlan",
        "pipeline-online-login",
        "pipeline-online-missing",
        "pipeline-node-file-stand-in", // pipeline_kubernetes_node
    ];
    for rule in RULES {
        assert!(
            CASES.iter().any(|c| c.0 == rule.id) || elsewhere.contains(&rule.id),
            "no failing case for {}",
            rule.id
        );
    }
}
