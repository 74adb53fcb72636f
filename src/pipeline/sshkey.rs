//! The administrator key WMCO logs in with: the public half goes into the
//! image, the private half stays in the cluster's `cloud-private-key`
//! secret. A key that does not parse, or a private key that does not pair
//! with it, gives an image WMCO cannot reach, so both are checked locally
//! before anything is uploaded (with `ssh-key`, not by hand).

use std::path::Path;

/// The key lines of an OpenSSH public key file (`type base64 [comment]`),
/// normalised to single spaces; blank lines and `#` comments skipped.
pub fn parse_public_keys(text: &str) -> Result<Vec<String>, String> {
    if text.starts_with('\u{feff}') || text.bytes().any(|b| b == 0) {
        return Err(
            "the file is UTF-16 or has a byte-order mark; OpenSSH reads ASCII key files only"
                .into(),
        );
    }
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let key = ssh_key::PublicKey::from_openssh(line)
            .map_err(|e| format!("line {}: not an OpenSSH public key ({e})", i + 1))?;
        keys.push(
            key.to_openssh()
                .map_err(|e| format!("line {}: {e}", i + 1))?,
        );
    }
    if keys.is_empty() {
        return Err("no public key in the file".into());
    }
    Ok(keys)
}

/// Why a private key is not the pair of the image's public key(s).
#[derive(Debug, thiserror::Error)]
pub enum PairError {
    /// The file is not an OpenSSH private key (a PEM key needs
    /// `ssh-keygen -p -f KEY` first).
    #[error("not an OpenSSH private key ({0})")]
    NotAKey(String),
    #[error("it does not pair with the {count} public key(s): its public half is {fingerprint}; WMCO could not log in")]
    Mismatch { count: usize, fingerprint: String },
}

/// The private key at `path` is the pair of one of `public_keys`. The
/// public half is stored in the clear in OpenSSH's format, so even an
/// encrypted key is checked without its passphrase.
pub fn pair(path: &Path, public_keys: &[String]) -> Result<(), PairError> {
    let private = ssh_key::PrivateKey::read_openssh_file(path)
        .map_err(|e| PairError::NotAKey(e.to_string()))?;
    let public = private.public_key();
    let matches = public_keys.iter().any(|k| {
        ssh_key::PublicKey::from_openssh(k).is_ok_and(|p| p.key_data() == public.key_data())
    });
    if matches {
        Ok(())
    } else {
        Err(PairError::Mismatch {
            count: public_keys.len(),
            fingerprint: public.fingerprint(Default::default()).to_string(),
        })
    }
}

/// [`pair`], its failure as text.
pub fn check_pair(path: &Path, public_keys: &[String]) -> Result<(), String> {
    pair(path, public_keys).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBh/ChQ+yp/tdrhlOgNfo2DJITeuCp6uN8Xx28HPHiXk gild-test";

    #[test]
    fn a_valid_key_parses_and_garbage_names_its_line() {
        assert_eq!(
            parse_public_keys(&format!("# admin\n{ED25519}\n"))
                .unwrap()
                .len(),
            1
        );
        let err = parse_public_keys("ssh-ed25519 notbase64!\n").unwrap_err();
        assert!(err.starts_with("line 1:"), "{err}");
        assert!(parse_public_keys("\n# only a comment\n").is_err());
    }

    #[test]
    fn a_utf16_key_file_is_refused() {
        let utf16: String = format!("\u{feff}{ED25519}");
        assert!(parse_public_keys(&utf16).unwrap_err().contains("UTF-16"));
    }
}
