//! File ACLs as far as icacls and the authorized-keys check need them.

/// One access-control entry, as `icacls` prints it (`BUILTIN\Administrators:(F)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ace {
    pub principal: String,
    pub rights: String,
    pub inherited: bool,
}

/// A file's ACL. Files start with the entries inherited from `C:\` (which
/// include Users: the reason administrators_authorized_keys must be fixed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acl {
    pub entries: Vec<Ace>,
}

impl Default for Acl {
    fn default() -> Self {
        let inherited = |principal: &str, rights: &str| Ace {
            principal: principal.into(),
            rights: rights.into(),
            inherited: true,
        };
        Acl {
            entries: vec![
                inherited("NT AUTHORITY\\SYSTEM", "F"),
                inherited("BUILTIN\\Administrators", "F"),
                inherited("BUILTIN\\Users", "RX"),
            ],
        }
    }
}

impl Acl {
    /// `icacls /inheritance:r`: drop inherited entries.
    pub fn remove_inherited(&mut self) {
        self.entries.retain(|ace| !ace.inherited);
    }

    /// `icacls /grant principal:rights` (replaces an explicit entry for the principal).
    pub fn grant(&mut self, principal: &str, rights: &str) {
        let principal = canonical_principal(principal);
        self.entries
            .retain(|ace| ace.inherited || !ace.principal.eq_ignore_ascii_case(&principal));
        self.entries.push(Ace {
            principal,
            rights: rights.to_string(),
            inherited: false,
        });
    }

    /// `icacls /remove principal`.
    pub fn remove(&mut self, principal: &str) {
        let principal = canonical_principal(principal);
        self.entries
            .retain(|ace| !ace.principal.eq_ignore_ascii_case(&principal));
    }

    /// Principals with any access, for checks like "only Administrators and SYSTEM".
    pub fn principals(&self) -> Vec<&str> {
        self.entries
            .iter()
            .map(|ace| ace.principal.as_str())
            .collect()
    }
}

/// icacls accepts short names and SIDs; store the fully-qualified form so
/// read-back comparisons don't depend on how the grant was spelled.
fn canonical_principal(name: &str) -> String {
    let trimmed = name.trim_start_matches('*');
    match trimmed.to_ascii_lowercase().as_str() {
        "administrators" | "builtin\\administrators" | "s-1-5-32-544" => {
            "BUILTIN\\Administrators".into()
        }
        "system" | "nt authority\\system" | "s-1-5-18" => "NT AUTHORITY\\SYSTEM".into(),
        "users" | "builtin\\users" | "s-1-5-32-545" => "BUILTIN\\Users".into(),
        "authenticated users" | "nt authority\\authenticated users" | "s-1-5-11" => {
            "NT AUTHORITY\\Authenticated Users".into()
        }
        _ => trimmed.to_string(),
    }
}
