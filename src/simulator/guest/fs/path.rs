//! Windows path syntax: drive-letter absolute paths, `\\` or `/`, `.` and
//! `..` resolved lexically, NTFS's forbidden characters and device names
//! refused, trailing dots and spaces stripped as Windows does.

use crate::simulator::guest::error::GuestError;

/// A validated absolute Windows path: drive letter plus components.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestPath {
    pub(super) drive: char,
    pub(super) parts: Vec<String>,
}

/// Characters NTFS refuses in a file name.
const INVALID_NAME_CHARS: &[char] = &['<', '>', ':', '"', '|', '?', '*'];
/// Device names Windows reserves in every directory.
const RESERVED_NAMES: &[&str] = &[
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "lpt1", "lpt2", "lpt3",
];

impl GuestPath {
    pub fn parse(raw: &str) -> Result<Self, GuestError> {
        let invalid = |reason: &str| GuestError::InvalidPath {
            path: raw.to_string(),
            reason: reason.to_string(),
        };
        let normalized = raw.replace('/', "\\");
        let mut chars = normalized.chars();
        let drive =
            match (chars.next(), chars.next(), chars.next()) {
                (Some(letter), Some(':'), Some('\\')) if letter.is_ascii_alphabetic() => {
                    letter.to_ascii_uppercase()
                }
                (Some(letter), Some(':'), None) if letter.is_ascii_alphabetic() => {
                    letter.to_ascii_uppercase()
                }
                _ => return Err(invalid(
                    "expected an absolute path starting with a drive letter, like C:\\dir\\file",
                )),
            };
        let mut parts: Vec<String> = Vec::new();
        for part in normalized[2..].split('\\').filter(|p| !p.is_empty()) {
            match part {
                "." => {}
                // Windows resolves `..` lexically; at the root it stays at the root.
                ".." => {
                    parts.pop();
                }
                name => {
                    if let Some(c) = name
                        .chars()
                        .find(|c| INVALID_NAME_CHARS.contains(c) || c.is_control())
                    {
                        return Err(invalid(&format!("the name {name:?} contains the character {c:?}, which Windows does not allow")));
                    }
                    let stem = name.split('.').next().unwrap_or(name).to_ascii_lowercase();
                    if RESERVED_NAMES.contains(&stem.as_str()) {
                        return Err(invalid(&format!("{name:?} is a reserved device name")));
                    }
                    // Windows silently strips trailing dots and spaces.
                    let trimmed = name.trim_end_matches(['.', ' ']);
                    if trimmed.is_empty() {
                        return Err(invalid(
                            "a path component cannot consist only of dots and spaces",
                        ));
                    }
                    parts.push(trimmed.to_string());
                }
            }
        }
        Ok(GuestPath { drive, parts })
    }

    /// A path as a process sees it: absolute as is, otherwise against the
    /// process's working directory `cwd` (`\x` is on cwd's drive, `C:x`
    /// relative to the drive's root, as Windows resolves it for a drive that
    /// is not the current one).
    pub fn resolve(raw: &str, cwd: &GuestPath) -> Result<Self, GuestError> {
        let original = match GuestPath::parse(raw) {
            Ok(path) => return Ok(path),
            Err(_) if raw.trim().is_empty() => return GuestPath::parse(raw),
            Err(e) => e,
        };
        let normalized = raw.replace('/', "\\");
        let mut chars = normalized.chars();
        let absolute = match (chars.next(), chars.next()) {
            (Some('\\'), Some('\\')) => return GuestPath::parse(raw),
            (Some('\\'), _) => format!("{}:{normalized}", cwd.drive),
            (Some(letter), Some(':')) if letter.is_ascii_alphabetic() => {
                format!("{letter}:\\{}", &normalized[2..])
            }
            _ => format!("{}\\{normalized}", cwd.display()),
        };
        GuestPath::parse(&absolute).map_err(|_| original)
    }

    /// A path from components the model knows to be valid (its constants).
    pub(crate) fn known(drive: char, parts: &[&str]) -> Self {
        GuestPath {
            drive,
            parts: parts.iter().map(|p| p.to_string()).collect(),
        }
    }

    pub fn is_root(&self) -> bool {
        self.parts.is_empty()
    }

    pub fn parent(&self) -> Option<GuestPath> {
        let mut parts = self.parts.clone();
        parts.pop()?;
        Some(GuestPath {
            drive: self.drive,
            parts,
        })
    }

    pub fn file_name(&self) -> Option<&str> {
        self.parts.last().map(String::as_str)
    }

    pub fn join(&self, name: &str) -> GuestPath {
        let mut parts = self.parts.clone();
        parts.push(name.to_string());
        GuestPath {
            drive: self.drive,
            parts,
        }
    }

    /// The case-folded index key.
    pub(super) fn key(&self) -> String {
        self.display().to_lowercase()
    }

    /// `C:\Dir\File.txt` as spelled by the caller.
    pub fn display(&self) -> String {
        format!("{}:\\{}", self.drive, self.parts.join("\\"))
    }
}
