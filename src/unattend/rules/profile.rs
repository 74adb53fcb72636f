//! WMCO / Kubernetes rules: what the OpenShift docs (seed section 5.3.2.1)
//! and a secure golden image require beyond what Windows itself checks.

use super::structure::Layout;
use super::*;
use crate::unattend::doc::Element;
use crate::unattend::password::{self, PasswordKind};

const SHELL_SETUP: &str = "Microsoft-Windows-Shell-Setup";
const INTERNATIONAL: &str = "Microsoft-Windows-International-Core";
/// Lower-case values people leave in templates instead of a password.
const PLACEHOLDERS: [&str; 16] = [
    "mypassword",
    "password",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "changeme",
    "change_me",
    "change-me",
    "replaceme",
    "replace_me",
    "secret",
    "admin",
    "administrator",
    "todo",
    "example",
    "placeholder",
];

pub fn check(doc: &Document, layout: &Layout, profile: Profile, out: &mut Findings) {
    let comps = |name: &'static str| {
        layout
            .components
            .iter()
            .filter(move |c| c.name == name)
            .filter_map(|c| Some((c, doc.elements.get(c.element)?)))
    };
    for (_, shell) in comps(SHELL_SETUP) {
        if let Some(cn) = doc.child(shell, "ComputerName") {
            if let Err(why) = k8s_computer_name(&cn.text) {
                out.push(
                    COMPUTERNAME_K8S,
                    cn.text_span,
                    format!("ComputerName `{}` {why}", cn.text),
                );
            }
        }
        if let Some(enabled) = doc.path(shell, &["AutoLogon", "Enabled"]) {
            if enabled.text.eq_ignore_ascii_case("true") {
                out.push(
                    AUTOLOGON_ENABLED,
                    enabled.text_span,
                    "AutoLogon is enabled; WMCO nodes must not log on automatically",
                );
            }
        }
    }
    let admin = comps(SHELL_SETUP)
        .filter(|(c, _)| c.pass == "oobeSystem")
        .find_map(|(_, shell)| doc.path(shell, &["UserAccounts", "AdministratorPassword"]));
    check_admin_password(doc, admin, out);
    for el in doc
        .elements
        .iter()
        .filter(|e| e.name == "AdministratorPassword" || e.name == "Password")
    {
        if let Some(plain) = doc
            .child(el, "PlainText")
            .filter(|p| p.text.eq_ignore_ascii_case("true"))
        {
            out.push(
                PASSWORD_PLAINTEXT,
                plain.text_span,
                format!("{} is stored in plain text", el.name),
            );
        }
    }
    if !doc
        .elements
        .iter()
        .any(|e| is_command(doc, e) && removes_answer_file(&e.text))
    {
        let span = doc.root().map(|r| r.name_span).unwrap_or_default();
        out.push(ANSWER_FILE_NOT_REMOVED, span, "no command deletes C:\\Windows\\Panther\\unattend.xml, so every clone keeps the administrator password");
    }
    if profile == Profile::Wmco {
        for (_, intl) in comps(INTERNATIONAL) {
            for name in ["UILanguage", "SystemLocale"] {
                if let Some(el) = doc
                    .child(intl, name)
                    .filter(|e| !e.text.eq_ignore_ascii_case("en-US"))
                {
                    out.push(
                        LANGUAGE_NOT_EN_US,
                        el.text_span,
                        format!("{name} is `{}`; WMCO supports en-US Windows only", el.text),
                    );
                }
            }
        }
    }
}

fn check_admin_password(doc: &Document, admin: Option<&Element>, out: &mut Findings) {
    let root_span = doc.root().map(|r| r.name_span).unwrap_or_default();
    let Some(admin) = admin else {
        out.push(ADMIN_PASSWORD_MISSING, root_span, "no UserAccounts/AdministratorPassword in the oobeSystem pass; clones get an empty administrator password");
        return;
    };
    let Some(value) = doc.child(admin, "Value").filter(|v| !v.text.is_empty()) else {
        out.push(
            ADMIN_PASSWORD_MISSING,
            admin.name_span,
            "AdministratorPassword has no value",
        );
        return;
    };
    let encoded = doc
        .child(admin, "PlainText")
        .is_some_and(|p| p.text.eq_ignore_ascii_case("false"));
    let plain = if encoded {
        match password::decode(&value.text, PasswordKind::Administrator) {
            Some(p) => p,
            None => {
                out.push(VALUE_TYPE, value.text_span, "AdministratorPassword is marked PlainText false but is not base64 of UTF-16LE text ending in `AdministratorPassword`");
                return;
            }
        }
    } else {
        crate::secret::Secret::new(value.text.as_ref())
    };
    // Messages never repeat the value: it may be a real password.
    if plain.is_empty() {
        out.push(
            ADMIN_PASSWORD_MISSING,
            value.text_span,
            "AdministratorPassword decodes to an empty password",
        );
    } else if is_placeholder(plain.expose()) {
        out.push(
            ADMIN_PASSWORD_PLACEHOLDER,
            value.text_span,
            "AdministratorPassword is a placeholder, not a real password",
        );
    }
}

/// Obvious placeholders: well-known words, `<...>`, template syntax left
/// unrendered, or one character repeated (`xxxx`, `****`).
pub fn is_placeholder(pw: &str) -> bool {
    let lower = pw.trim().to_ascii_lowercase();
    let mut chars = lower.chars();
    let first = chars.next();
    PLACEHOLDERS.contains(&lower.as_str())
        || (lower.starts_with('<') && lower.ends_with('>'))
        || lower.contains("{{")
        || lower.contains("${")
        || (lower.len() >= 3 && chars.all(|c| Some(c) == first))
}

/// A Kubernetes node name (lowercase RFC 1123 label) that is also a Windows
/// computer name (at most 15 characters, not all digits, no `*`).
pub fn k8s_computer_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.contains('*') {
        return Err(
            "contains `*` (a random Windows name cannot be a predictable Kubernetes node name)",
        );
    }
    if name.len() > 15 {
        return Err("is longer than 15 characters (the Windows NetBIOS limit)");
    }
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err("is all digits, which Windows rejects");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("has characters other than lowercase a-z, 0-9 and `-`");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("starts or ends with `-`");
    }
    Ok(())
}

/// A command line in one of the command-list settings.
fn is_command(doc: &Document, el: &Element) -> bool {
    let parent = el
        .parent
        .and_then(|p| doc.elements.get(p))
        .map(|p| p.name.as_ref());
    matches!(
        (el.name.as_ref(), parent),
        (
            "CommandLine",
            Some("SynchronousCommand" | "AsynchronousCommand")
        ) | (
            "Path",
            Some("RunSynchronousCommand" | "RunAsynchronousCommand")
        )
    )
}

/// Deletes the answer file Windows keeps in Panther: a delete verb and the
/// path in one command (also when it is written into SetupComplete.cmd).
pub fn removes_answer_file(command: &str) -> bool {
    let c = command.to_ascii_lowercase().replace('/', "\\");
    let deletes = ["del ", "erase ", "remove-item", "rm "]
        .iter()
        .any(|v| c.contains(v));
    deletes && c.contains("panther\\unattend.xml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computer_names_must_satisfy_kubernetes_and_windows() {
        assert!(k8s_computer_name("winhost").is_ok());
        assert!(k8s_computer_name("win-01").is_ok());
        for bad in [
            "WinHost",
            "win_host",
            "1234",
            "a-very-long-hostname",
            "*",
            "-win",
            "",
        ] {
            assert!(k8s_computer_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn placeholders_are_recognised_and_real_passwords_are_not() {
        for p in [
            "MyPassword",
            "<password>",
            "changeme",
            "{{ pw }}",
            "xxxxxxxx",
        ] {
            assert!(is_placeholder(p), "{p}");
        }
        assert!(!is_placeholder("Tr0ub4dor&3-horse"));
    }

    #[test]
    fn removal_needs_a_delete_verb_and_the_panther_path() {
        assert!(removes_answer_file(
            r"cmd /c del /q /f C:\Windows\Panther\unattend.xml"
        ));
        assert!(removes_answer_file(
            "powershell Remove-Item C:/Windows/Panther/Unattend.xml"
        ));
        assert!(!removes_answer_file(
            r"type C:\Windows\Panther\unattend.xml"
        ));
        assert!(!removes_answer_file(r"del C:\temp\other.xml"));
    }
}
