//! `Test-GildManifest` (gild-common.ps1) as the model runs it: files gild
//! uploaded from a local folder, checked against the folder's SHA256SUMS.

use crate::simulator::guest::fs::GuestPath;
use crate::simulator::guest::WindowsGuest;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Every file SHA256SUMS lists must be there with that SHA-256, and each of
/// `required` must be listed; returns `{file, sha256, size}` per file.
pub(super) fn verify(
    guest: &WindowsGuest,
    dir: &str,
    required: &[&str],
) -> Result<Vec<serde_json::Value>, String> {
    let dir_path = GuestPath::parse(dir).map_err(|e| e.to_string())?;
    let sums = guest
        .fs
        .read_bytes(&dir_path.join("SHA256SUMS"))
        .map_err(|_| {
            format!("{dir} has no SHA256SUMS manifest; upload the files with their checksums")
        })?;
    let text = String::from_utf8_lossy(&sums);
    let mut listed: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let parsed = line
            .get(..64)
            .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
            .zip(line.get(64..66).filter(|sep| *sep == "  " || *sep == " *"))
            .map(|(hash, _)| {
                (
                    line[66..].trim().replace('/', "\\"),
                    hash.to_ascii_lowercase(),
                )
            });
        match parsed {
            Some((name, hash)) if !name.is_empty() => listed.push((name, hash)),
            _ => {
                return Err(format!(
                    "SHA256SUMS line {}: expected '<sha256>  <file>', got '{line}'",
                    i + 1
                ))
            }
        }
    }
    for name in required {
        if !listed.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(format!("SHA256SUMS in {dir} does not list {name}"));
        }
    }
    listed
        .iter()
        .map(|(name, want)| {
            let mut path = dir_path.clone();
            for part in name.split('\\') {
                path = path.join(part);
            }
            let bytes = guest.fs.read_bytes(&path).map_err(|_| {
                format!("{dir}\\{name} is listed in SHA256SUMS but was not uploaded")
            })?;
            let actual = hex::encode(Sha256::digest(&bytes));
            if &actual != want {
                return Err(format!(
                    "{dir}\\{name} has SHA-256 {actual} but SHA256SUMS says {want}"
                ));
            }
            Ok(json!({ "file": name, "sha256": actual, "size": bytes.len() }))
        })
        .collect()
}
