//! Answer files in the shapes real image builds use (ISO `Autounattend.xml`
//! for Windows Server 2016–2025 and Windows 10/11, sysprep files like the
//! seed's, a WSIM-saved file), written for gild in
//! `tests/fixtures/unattend/corpus/`. Windows accepts every one of them, so
//! under `--profile plain` none may give an error; each file's exact
//! diagnostics are pinned here, and the image profiles' verdicts for the
//! sysprep files too.

use gild::unattend::{lint_text, Profile, Severity};
use std::path::PathBuf;

use Severity::{Error as E, Note as N, Warning as W};

const DEPRECATED: &str = "setting-deprecated";
const UNKNOWN_COMPONENT: &str = "unknown-component";

type Expected = &'static [(&'static str, Severity, usize)];

/// (file, profile, exact diagnostics as rule, severity, line).
const CORPUS: &[(&str, Profile, Expected)] = &[
    (
        "server2016-bios-autounattend.xml",
        Profile::Plain,
        &[
            (UNKNOWN_COMPONENT, N, 83),
            (DEPRECATED, W, 125),
            (DEPRECATED, W, 127),
            (DEPRECATED, W, 128),
            (DEPRECATED, W, 136),
        ],
    ),
    (
        "server2016-bios-autounattend.xml",
        Profile::Wmco,
        &[
            ("answer-file-not-removed", W, 5),
            ("computername-k8s", E, 80),
            (UNKNOWN_COMPONENT, N, 83),
            ("password-plaintext", W, 95),
            ("autologon-enabled", E, 97),
            (DEPRECATED, W, 125),
            (DEPRECATED, W, 127),
            (DEPRECATED, W, 128),
            ("password-plaintext", W, 133),
            (DEPRECATED, W, 136),
        ],
    ),
    ("server2019-uefi-autounattend.xml", Profile::Plain, &[]),
    ("server2022-vmware-autounattend.xml", Profile::Plain, &[]),
    ("server2025-autounattend.xml", Profile::Plain, &[]),
    ("windows10-autounattend.xml", Profile::Plain, &[]),
    ("windows11-autounattend.xml", Profile::Plain, &[]),
    ("sysprep-wmco.xml", Profile::Plain, &[]),
    ("sysprep-wmco.xml", Profile::Wmco, &[]),
    ("sysprep-wmco.xml", Profile::K8s, &[]),
    (
        "sysprep-image-builder.xml",
        Profile::Plain,
        &[
            (DEPRECATED, W, 26),
            (DEPRECATED, W, 27),
            (DEPRECATED, W, 43),
            (UNKNOWN_COMPONENT, N, 53),
        ],
    ),
    (
        "sysprep-image-builder.xml",
        Profile::K8s,
        &[
            ("answer-file-not-removed", W, 7),
            (DEPRECATED, W, 26),
            (DEPRECATED, W, 27),
            (DEPRECATED, W, 43),
            ("computername-k8s", E, 48),
            (UNKNOWN_COMPONENT, N, 53),
        ],
    ),
    ("wsim-saved-server2022.xml", Profile::Plain, &[]),
];

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/unattend/corpus")
}

fn lint(name: &str, profile: Profile) -> Vec<(&'static str, Severity, usize)> {
    let text = std::fs::read_to_string(dir().join(name)).unwrap();
    lint_text(name, &text, profile)
        .into_iter()
        .map(|d| (d.rule_id, d.severity, d.line))
        .collect()
}

#[test]
fn every_corpus_file_gives_exactly_its_pinned_diagnostics() {
    for (name, profile, want) in CORPUS {
        assert_eq!(&lint(name, *profile), want, "{name} under {profile:?}");
    }
}

#[test]
fn no_file_windows_accepts_gives_an_error_under_plain_and_every_file_is_pinned() {
    let mut files: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".xml"))
        .collect();
    files.sort();
    assert!(files.len() >= 9, "{files:?}");
    for name in &files {
        let errors: Vec<_> = lint(name, Profile::Plain)
            .into_iter()
            .filter(|d| d.1 == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert!(
            CORPUS
                .iter()
                .any(|(n, p, _)| n == name && *p == Profile::Plain),
            "{name} has no pinned plain-profile expectation"
        );
    }
}

/// The corpus covers the shapes issue 9 lists: each Windows version's ISO
/// file selects an image, lays out a disk, and sets up WinRM or SSH.
#[test]
fn corpus_covers_every_windows_version_and_remote_access_shape() {
    let all: String = CORPUS
        .iter()
        .map(|(n, _, _)| std::fs::read_to_string(dir().join(n)).unwrap())
        .collect();
    for needle in [
        "2016",
        "2019",
        "2022",
        "2025",
        "Windows 10",
        "Windows 11",
        "<DiskConfiguration>",
        "<ImageInstall>",
        "/IMAGE/NAME",
        "/IMAGE/INDEX",
        "<ProductKey>",
        "winrm",
        "OpenSSH",
        "cpi:offlineImage",
        "<servicing>",
        "pass=\"generalize\"",
        "Microsoft-Windows-PnpCustomizationsWinPE",
    ] {
        assert!(all.contains(needle), "no corpus file has {needle}");
    }
}
