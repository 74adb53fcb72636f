//! The vendored reference files under `tests/contract/` are the ones their
//! README names: each file's SHA-256 matches `SHA256SUMS`, and no test
//! reaches outside the repository for them.

use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn contract_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/contract")
}

#[test]
fn every_vendored_file_matches_its_recorded_sha256() {
    let sums = std::fs::read_to_string(contract_dir().join("SHA256SUMS")).unwrap();
    let mut checked = 0;
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (digest, name) = line.split_once("  ").expect("`<sha256>  <path>` lines");
        let bytes = std::fs::read(contract_dir().join(name.trim_start_matches("./")))
            .unwrap_or_else(|e| panic!("{name} is listed in SHA256SUMS but unreadable: {e}"));
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            digest,
            "{name} changed"
        );
        checked += 1;
    }
    assert!(checked >= 6, "SHA256SUMS lists {checked} files");
}

#[test]
fn every_vendored_file_is_listed_in_sha256sums() {
    let sums = std::fs::read_to_string(contract_dir().join("SHA256SUMS")).unwrap();
    let mut stack = vec![contract_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(contract_dir())
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if rel == "SHA256SUMS" || rel == "README.md" {
                continue;
            }
            assert!(
                sums.contains(&format!("./{rel}")),
                "{rel} is not in SHA256SUMS"
            );
        }
    }
}

#[test]
fn no_test_reads_the_shared_folder_outside_the_repository() {
    let mut stack = vec![PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("vendored.rs")
            {
                let text = std::fs::read_to_string(&path).unwrap();
                // Built from parts so this file does not match its own scan.
                let needles = [
                    format!("\"..{}", "/shared"),
                    format!("GILD_{}", "SHARED_DIR"),
                ];
                for needle in &needles {
                    assert!(
                        !text.contains(needle),
                        "{} reads outside the repo ({needle})",
                        path.display()
                    );
                }
            }
        }
    }
}

/// Files outside `tests/contract/` that the binary embeds, with their
/// digests: a refresh has to update this table on purpose.
const EMBEDDED: &[(&str, &str)] = &[(
    "src/cluster/crds/machinesets.machine.openshift.io.crd.yaml",
    "5e8eb9c6cb23a7c64f2b970e2280d11e0b0e90dc3204a284fa10f8fa59010730",
)];

#[test]
fn every_embedded_reference_file_matches_its_recorded_sha256() {
    for (path, digest) in EMBEDDED {
        let bytes = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(
            &hex::encode(Sha256::digest(&bytes)),
            digest,
            "{path} changed"
        );
    }
}
