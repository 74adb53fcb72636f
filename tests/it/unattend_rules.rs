//! Every lint rule: a minimal file that triggers it and a near-miss that
//! does not. Files are mutations of `fixtures/unattend/clean.xml`, which is
//! itself clean under every profile.

use gild::unattend::{lint_bytes, lint_text, Profile, Severity, RULES};

const CLEAN: &str = include_str!("../fixtures/unattend/clean.xml");
const SEED: &str = include_str!("../fixtures/unattend/seed.xml");
/// The clean file's encoded administrator password (a real-looking one).
const ENCODED_REAL: &str =
    "VAByADAAdQBiADQAZABvAHIAJgAzAC0AaABvAHIAcwBlAEEAZABtAGkAbgBpAHMAdAByAGEAdABvAHIAUABhAHMAcwB3AG8AcgBkAA==";
const ATTRS: &str = r#"processorArchitecture="amd64" publicKeyToken="31bf3856ad364e35" language="neutral" versionScope="nonSxS""#;

fn rule_ids(text: &str, profile: Profile) -> Vec<&'static str> {
    lint_text("t.xml", text, profile)
        .into_iter()
        .map(|d| d.rule_id)
        .collect()
}

/// The clean file with one substring replaced (which must exist).
fn with(from: &str, to: &str) -> String {
    assert!(CLEAN.contains(from), "clean.xml has no `{from}`");
    CLEAN.replacen(from, to, 1)
}

/// Adds a component to a pass of the clean file.
fn with_component(pass: &str, name: &str, attrs: &str, body: &str) -> String {
    let marker = format!("<settings pass=\"{pass}\">");
    with(
        &marker,
        &format!("{marker}<component name=\"{name}\" {attrs}>{body}</component>"),
    )
}

fn assert_rule(rule: &str, triggering: &str, near_miss: &str, profile: Profile) {
    assert!(
        RULES.iter().any(|r| r.id == rule),
        "{rule} is not a documented rule"
    );
    let hit = rule_ids(triggering, profile);
    assert!(hit.contains(&rule), "{rule} not reported; got {hit:?}");
    let miss = rule_ids(near_miss, profile);
    assert!(
        !miss.contains(&rule),
        "{rule} reported on the near miss; got {miss:?}"
    );
}

#[test]
fn clean_fixture_is_clean_under_every_profile() {
    for p in [Profile::Wmco, Profile::K8s, Profile::Plain] {
        assert_eq!(rule_ids(CLEAN, p), Vec::<&str>::new(), "{p:?}");
    }
}

/// The seed's three OOBE settings that Microsoft's reference marks
/// deprecated (NetworkLocation: Windows 10; SkipMachineOOBE and SkipUserOOBE:
/// Windows 8) are warnings; the placeholder password is the one error.
#[test]
fn seed_example_gives_exactly_placeholder_plaintext_not_removed_and_deprecations() {
    let diags = lint_text("seed.xml", SEED, Profile::Wmco);
    let got: Vec<(&str, Severity, usize)> = diags
        .iter()
        .map(|d| (d.rule_id, d.severity, d.line))
        .collect();
    assert_eq!(
        got,
        vec![
            ("answer-file-not-removed", Severity::Warning, 2),
            ("setting-deprecated", Severity::Warning, 32),
            ("setting-deprecated", Severity::Warning, 34),
            ("setting-deprecated", Severity::Warning, 35),
            ("admin-password-placeholder", Severity::Error, 43),
            ("password-plaintext", Severity::Warning, 44),
        ]
    );
    let placeholder = &diags[4];
    assert_eq!(
        (placeholder.line, placeholder.col),
        (43, 23),
        "points at MyPassword"
    );
}

#[test]
fn input_unreadable_on_invalid_utf8() {
    let (_, bad) = lint_bytes("t.xml", b"<unattend>\xff</unattend>", Profile::Wmco);
    assert_eq!(
        bad.iter().map(|d| d.rule_id).collect::<Vec<_>>(),
        ["input-unreadable"]
    );
    assert!(bad[0].is_input_failure());
    let (_, good) = lint_bytes("t.xml", CLEAN.as_bytes(), Profile::Wmco);
    assert!(good.is_empty());
}

#[test]
fn input_too_large_past_16_mib_without_parsing() {
    let big = vec![b' '; 16 * 1024 * 1024 + 1];
    let (_, diags) = lint_bytes("t.xml", &big, Profile::Wmco);
    assert_eq!(
        diags.iter().map(|d| d.rule_id).collect::<Vec<_>>(),
        ["input-too-large"]
    );
    let (_, padded) = lint_bytes(
        "t.xml",
        format!("{CLEAN}{}", " ".repeat(1024)).as_bytes(),
        Profile::Wmco,
    );
    assert!(padded.is_empty());
}

#[test]
fn xml_malformed_on_mismatched_end_tag_with_its_position() {
    let bad = with("</ComputerName>", "</ComputerNam>");
    let diags = lint_text("t.xml", &bad, Profile::Wmco);
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0].rule_id, "xml-malformed");
    assert_eq!(diags[0].line, 11);
    assert_rule("xml-malformed", &bad, CLEAN, Profile::Plain);
}

#[test]
fn xml_too_deep_past_256_levels() {
    let deep = format!(
        "<unattend xmlns=\"urn:schemas-microsoft-com:unattend\">{}",
        "<a>".repeat(300)
    );
    let ok_depth = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
    assert_rule("xml-too-deep", &deep, &ok_depth, Profile::Plain);
}

#[test]
fn root_namespace_requires_unattend_in_the_microsoft_namespace() {
    let wrong_ns = with("urn:schemas-microsoft-com:unattend", "urn:example");
    assert_rule("root-namespace", &wrong_ns, CLEAN, Profile::Plain);
    assert_rule("root-namespace", "<answers/>", CLEAN, Profile::Plain);
}

#[test]
fn unexpected_element_outside_settings_or_component() {
    let bad = with(
        "<settings pass=\"specialize\">",
        "<settings pass=\"specialize\"><Foo/>",
    );
    assert_rule("unexpected-element", &bad, CLEAN, Profile::Plain);
}

#[test]
fn unknown_pass_names_a_pass_that_windows_does_not_have() {
    let bad = with("pass=\"specialize\"", "pass=\"specialise\"");
    assert_rule("unknown-pass", &bad, CLEAN, Profile::Plain);
}

#[test]
fn duplicate_pass_when_a_pass_appears_twice() {
    let bad = with("</unattend>", "<settings pass=\"oobeSystem\"/></unattend>");
    let other = with("</unattend>", "<settings pass=\"auditSystem\"/></unattend>");
    assert_rule("duplicate-pass", &bad, &other, Profile::Plain);
}

#[test]
fn component_attr_checks_token_language_and_version_scope() {
    let token = with("31bf3856ad364e35", "0000000000000000");
    assert_rule("component-attr", &token, CLEAN, Profile::Plain);
    let language = with("language=\"neutral\"", "language=\"en-US\"");
    assert_rule("component-attr", &language, CLEAN, Profile::Plain);
    let no_name = with("name=\"Microsoft-Windows-International-Core\" ", "");
    assert_rule("component-attr", &no_name, CLEAN, Profile::Plain);
}

#[test]
fn component_arch_rejects_unknown_and_mixed_architectures() {
    let unknown = with(
        "processorArchitecture=\"amd64\"",
        "processorArchitecture=\"ia64\"",
    );
    assert_rule("component-arch", &unknown, CLEAN, Profile::Plain);
    let mixed = with(
        "processorArchitecture=\"amd64\"",
        "processorArchitecture=\"x86\"",
    );
    assert_rule("component-arch", &mixed, CLEAN, Profile::Plain);
}

#[test]
fn duplicate_component_in_one_pass() {
    let dup = with_component("specialize", "Microsoft-Windows-Shell-Setup", ATTRS, "");
    // The same component in another pass is normal.
    let other_pass = with_component("oobeSystem", "Microsoft-Windows-SQMApi", ATTRS, "").replacen(
        "<settings pass=\"specialize\">",
        &format!(
            "<settings pass=\"specialize\"><component name=\"Microsoft-Windows-SQMApi\" {ATTRS}/>"
        ),
        1,
    );
    assert_rule("duplicate-component", &dup, &other_pass, Profile::Plain);
}

#[test]
fn unknown_component_is_a_note_and_does_not_fail() {
    let unknown = with_component(
        "specialize",
        "Contoso-Custom-Thing",
        ATTRS,
        "<Anything>1</Anything>",
    );
    let diags = lint_text("t.xml", &unknown, Profile::Plain);
    assert!(diags.iter().all(|d| d.severity == Severity::Note));
    assert_rule("unknown-component", &unknown, CLEAN, Profile::Plain);
}

#[test]
fn unknown_setting_inside_a_known_component_and_inside_a_setting() {
    let top = with(
        "<ComputerName>",
        "<ComputerNme>x</ComputerNme><ComputerName>",
    );
    assert_rule("unknown-setting", &top, CLEAN, Profile::Plain);
    let nested = with(
        "<ProtectYourPC>",
        "<ProtectMyPC>1</ProtectMyPC><ProtectYourPC>",
    );
    assert_rule("unknown-setting", &nested, CLEAN, Profile::Plain);
}

#[test]
fn setting_wrong_pass_for_computer_name_in_oobe_system() {
    let bad = with(
        "<TimeZone>",
        "<ComputerName>winhost</ComputerName><TimeZone>",
    );
    let ok = with(
        "<TimeZone>UTC</TimeZone>",
        "<TimeZone>UTC</TimeZone><RegisteredOwner>o</RegisteredOwner>",
    );
    assert_rule("setting-wrong-pass", &bad, &ok, Profile::Plain);
}

#[test]
fn value_type_checks_booleans_ranges_and_enums() {
    assert_rule(
        "value-type",
        &with("<Enabled>false<", "<Enabled>no<"),
        CLEAN,
        Profile::Plain,
    );
    assert_rule(
        "value-type",
        &with("<ProtectYourPC>1<", "<ProtectYourPC>4<"),
        &with("<ProtectYourPC>1<", "<ProtectYourPC>3<"),
        Profile::Plain,
    );
    assert_rule(
        "value-type",
        &with("<ProtectYourPC>1<", "<ProtectYourPC>Off<"),
        &with("<ProtectYourPC>1<", "<ProtectYourPC>2<"),
        Profile::Plain,
    );
}

#[test]
fn timezone_unknown_for_iana_names() {
    let iana = with("<TimeZone>UTC<", "<TimeZone>America/New_York<");
    let windows = with("<TimeZone>UTC<", "<TimeZone>Eastern Standard Time<");
    assert_rule("timezone-unknown", &iana, &windows, Profile::Plain);
}

#[test]
fn inputlocale_format_accepts_pairs_and_tags_only() {
    let bad = with(">0409:00000409<", ">US keyboard<");
    let tag = with(">0409:00000409<", ">en-US;0407:00000407<");
    assert_rule("inputlocale-format", &bad, &tag, Profile::Plain);
}

#[test]
fn locale_format_rejects_underscores() {
    let bad = with("<SystemLocale>en-US<", "<SystemLocale>en_US<");
    assert_rule("locale-format", &bad, CLEAN, Profile::Plain);
}

#[test]
fn computername_k8s_rejects_uppercase_long_and_random_names() {
    for bad in ["WinHost", "win-host-0000000001", "*", "12345"] {
        let file = with(">winhost<", &format!(">{bad}<"));
        assert_rule("computername-k8s", &file, CLEAN, Profile::K8s);
    }
    // Windows itself accepts `*`; only the Kubernetes profiles reject it.
    assert!(!rule_ids(&with(">winhost<", ">*<"), Profile::Plain).contains(&"computername-k8s"));
}

#[test]
fn setting_wrong_pass_is_an_error_for_images_and_a_warning_under_plain() {
    let bad = with(
        "<TimeZone>",
        "<ComputerName>winhost</ComputerName><TimeZone>",
    );
    let severity = |p| {
        lint_text("t.xml", &bad, p)
            .into_iter()
            .find(|d| d.rule_id == "setting-wrong-pass")
            .map(|d| d.severity)
    };
    assert_eq!(severity(Profile::Wmco), Some(Severity::Error));
    assert_eq!(severity(Profile::K8s), Some(Severity::Error));
    assert_eq!(severity(Profile::Plain), Some(Severity::Warning));
}

#[test]
fn setting_deprecated_is_a_warning_windows_accepts() {
    let deprecated = with(
        "<ProtectYourPC>",
        "<SkipMachineOOBE>true</SkipMachineOOBE><ProtectYourPC>",
    );
    let current = with(
        "<ProtectYourPC>",
        "<HideEULAPage>true</HideEULAPage><ProtectYourPC>",
    );
    assert_rule("setting-deprecated", &deprecated, &current, Profile::Plain);
    let diags = lint_text("t.xml", &deprecated, Profile::Plain);
    assert!(
        diags.iter().all(|d| d.severity == Severity::Warning),
        "{diags:?}"
    );
}

#[test]
fn computername_windows_applies_microsofts_rules_under_plain() {
    // Microsoft's ComputerName page: 15 bytes, no spaces or listed
    // punctuation, not only digits. `*` asks for a random name.
    for bad in ["my pc!", "win-host-0000001", "12345", "web.local"] {
        let file = with(">winhost<", &format!(">{bad}<"));
        assert_rule("computername-windows", &file, CLEAN, Profile::Plain);
        // The image profiles report the stricter rule instead, once.
        let k8s = rule_ids(&file, Profile::K8s);
        assert!(k8s.contains(&"computername-k8s") && !k8s.contains(&"computername-windows"));
    }
    for ok in ["WinHost", "*", "win_host"] {
        let file = with(">winhost<", &format!(">{ok}<"));
        assert_eq!(rule_ids(&file, Profile::Plain), Vec::<&str>::new(), "{ok}");
    }
}

/// An ISO answer file as WSIM saves it: `cpi:offlineImage` names the image
/// it was authored against, and ImageInstall picks an image by name.
fn wsim_iso(authored: &str, selected: &str) -> String {
    format!(
        r#"<unattend xmlns="urn:schemas-microsoft-com:unattend">
<settings pass="windowsPE"><component name="Microsoft-Windows-Setup" {ATTRS}>
<ImageInstall><OSImage><InstallFrom><MetaData><Key>/IMAGE/NAME</Key><Value>{selected}</Value></MetaData></InstallFrom></OSImage></ImageInstall>
</component></settings>
<cpi:offlineImage cpi:source="wim:d:/sources/install.wim#{authored}" xmlns:cpi="urn:schemas-microsoft-com:cpi"/>
</unattend>"#
    )
}

#[test]
fn offline_image_mismatch_is_a_note_when_the_image_name_differs() {
    let wsim = "Windows Server 2022 SERVERDATACENTER";
    let other = wsim_iso(wsim, "Windows Server 2022 SERVERSTANDARD");
    let same = wsim_iso(wsim, "windows server 2022 serverdatacenter");
    assert_rule("offline-image-mismatch", &other, &same, Profile::Plain);
    assert_eq!(rule_ids(&same, Profile::Plain), Vec::<&str>::new());
    let diags = lint_text("t.xml", &other, Profile::Plain);
    assert!(diags.iter().all(|d| d.severity == Severity::Note));
}

#[test]
fn wsim_offline_image_and_servicing_are_accepted_only_in_their_namespace() {
    let cpi = r#"<cpi:offlineImage cpi:source="wim:c:/install.wim#Windows 11 Pro" xmlns:cpi="urn:schemas-microsoft-com:cpi"/>"#;
    let wsim = with("</unattend>", &format!("<servicing/>{cpi}</unattend>"));
    assert_eq!(rule_ids(&wsim, Profile::Plain), Vec::<&str>::new());
    let foreign = with(
        "</unattend>",
        r#"<x:offlineImage xmlns:x="urn:example"/></unattend>"#,
    );
    assert_rule("unexpected-element", &foreign, &wsim, Profile::Plain);
}

#[test]
fn wow64_components_sit_beside_amd64_ones() {
    let wow64 = with_component(
        "specialize",
        "Microsoft-Windows-SQMApi",
        &ATTRS.replace("amd64", "wow64"),
        "<CEIPEnabled>0</CEIPEnabled>",
    );
    assert_eq!(rule_ids(&wow64, Profile::Plain), Vec::<&str>::new());
    let arm = with_component(
        "specialize",
        "Microsoft-Windows-SQMApi",
        &ATTRS.replace("amd64", "arm64"),
        "<CEIPEnabled>0</CEIPEnabled>",
    );
    assert_rule("component-arch", &arm, &wow64, Profile::Plain);
}

#[test]
fn autologon_enabled_is_an_error() {
    assert_rule(
        "autologon-enabled",
        &with("<Enabled>false<", "<Enabled>true<"),
        CLEAN,
        Profile::Wmco,
    );
}

#[test]
fn admin_password_missing_when_absent_or_empty() {
    let start = CLEAN.find("<UserAccounts>").unwrap();
    let end = CLEAN.find("</UserAccounts>").unwrap() + "</UserAccounts>".len();
    let absent = format!("{}{}", &CLEAN[..start], &CLEAN[end..]);
    assert_rule("admin-password-missing", &absent, CLEAN, Profile::Wmco);
    let empty = with(ENCODED_REAL, "");
    assert_rule("admin-password-missing", &empty, CLEAN, Profile::Wmco);
    assert!(!rule_ids(&absent, Profile::Plain).contains(&"admin-password-missing"));
}

#[test]
fn admin_password_placeholder_plain_and_encoded() {
    let plain = with("<PlainText>false<", "<PlainText>true<")
        .replace(ENCODED_REAL, "&lt;your password here&gt;");
    assert_rule("admin-password-placeholder", &plain, CLEAN, Profile::Wmco);
    // base64(UTF-16LE("changeme" + "AdministratorPassword"))
    let encoded =
        "YwBoAGEAbgBnAGUAbQBlAEEAZABtAGkAbgBpAHMAdAByAGEAdABvAHIAUABhAHMAcwB3AG8AcgBkAA==";
    let enc = with(ENCODED_REAL, encoded);
    assert_rule("admin-password-placeholder", &enc, CLEAN, Profile::Wmco);
}

#[test]
fn password_plaintext_is_a_warning() {
    let plain = with("<PlainText>false<", "<PlainText>true<");
    let diags = lint_text("t.xml", &plain, Profile::Wmco);
    assert!(diags
        .iter()
        .any(|d| d.rule_id == "password-plaintext" && d.severity == Severity::Warning));
    assert_rule("password-plaintext", &plain, CLEAN, Profile::Wmco);
}

#[test]
fn answer_file_not_removed_without_a_delete_command() {
    let no_delete = with("echo del /q /f", "echo type");
    assert_rule("answer-file-not-removed", &no_delete, CLEAN, Profile::Wmco);
}

#[test]
fn language_not_en_us_only_in_the_wmco_profile() {
    let german = with("<UILanguage>en-US<", "<UILanguage>de-DE<");
    assert_rule("language-not-en-us", &german, CLEAN, Profile::Wmco);
    assert!(!rule_ids(&german, Profile::K8s).contains(&"language-not-en-us"));
}

#[test]
fn docs_list_every_rule_with_its_default_severity() {
    let docs = include_str!("../../docs/unattend.md");
    for r in RULES {
        let row = format!("| `{}` | {} |", r.id, r.severity.as_str());
        assert!(docs.contains(&row), "docs/unattend.md lacks {row}");
    }
}

#[test]
fn every_documented_rule_is_exercised_by_this_file() {
    let me = include_str!("unattend_rules.rs");
    for r in RULES {
        assert!(
            me.contains(&format!("\"{}\"", r.id)),
            "no test for {}",
            r.id
        );
    }
}
