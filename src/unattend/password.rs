//! The answer-file password encoding: base64 of the UTF-16LE bytes of the
//! password followed by the element name Windows expects as a suffix
//! (`AdministratorPassword` for the built-in administrator, `Password` for
//! AutoLogon and local accounts). It is obfuscation, not encryption: the
//! point is that the password is not readable at a glance, and the linter
//! can decode it to catch placeholders.

use crate::secret::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordKind {
    Administrator,
    /// AutoLogon/Password and LocalAccount/Password.
    Account,
}

impl PasswordKind {
    pub fn suffix(self) -> &'static str {
        match self {
            PasswordKind::Administrator => "AdministratorPassword",
            PasswordKind::Account => "Password",
        }
    }

    /// The kind for an element name as it appears in the answer file.
    pub fn for_element(name: &str) -> Self {
        if name == "AdministratorPassword" {
            PasswordKind::Administrator
        } else {
            PasswordKind::Account
        }
    }
}

pub fn encode(password: &Secret, kind: PasswordKind) -> String {
    let bytes: Vec<u8> = password
        .expose()
        .encode_utf16()
        .chain(kind.suffix().encode_utf16())
        .flat_map(u16::to_le_bytes)
        .collect();
    STANDARD.encode(bytes)
}

/// Decodes an encoded value back to the password, or `None` when it is not
/// an encoding Windows would accept (bad base64, odd length, missing suffix).
pub fn decode(value: &str, kind: PasswordKind) -> Option<Secret> {
    let bytes = STANDARD.decode(value.trim()).ok()?;
    if bytes.len() % 2 != 0 {
        return None;
    }
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let text = String::from_utf16(&units).ok()?;
    text.strip_suffix(kind.suffix()).map(Secret::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_matches_what_wsim_writes_and_round_trips() {
        // WSIM writes "UABhAHMAcwB3AG8AcgBkAA==" style values; for the
        // empty administrator password it is the suffix alone.
        let empty = encode(&Secret::new(""), PasswordKind::Administrator);
        assert_eq!(
            empty,
            "QQBkAG0AaQBuAGkAcwB0AHIAYQB0AG8AcgBQAGEAcwBzAHcAbwByAGQA"
        );
        let enc = encode(&Secret::new("p<&\"'>w"), PasswordKind::Account);
        assert_eq!(
            decode(&enc, PasswordKind::Account).unwrap().expose(),
            "p<&\"'>w"
        );
        assert!(decode(&enc, PasswordKind::Administrator).is_none());
        assert!(decode("not base64!", PasswordKind::Account).is_none());
    }
}
