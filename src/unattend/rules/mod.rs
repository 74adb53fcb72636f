//! The lint rules. Each rule has a stable id (used in output, SARIF and
//! docs), a fixed severity and a help text saying how to fix it. Checks are
//! grouped by what they need: [`structure`] looks only at the XML shape,
//! [`settings`] walks components against the catalog and checks values,
//! [`image`] compares the image selection with the WSIM authoring hint,
//! [`profile`] adds the WMCO/Kubernetes rules.
//!
//! Severity follows the consequence (docs/unattend.md, "Severity"): error
//! when Windows Setup fails or the image is unsafe, warning when Windows
//! ignores the setting or accepts it with a deprecation, note when gild
//! cannot check. `setting-wrong-pass` and `value-type` are the two rules
//! whose severity depends on the profile or on the setting, so they are
//! pushed with [`Findings::push_as`].

use super::doc::Document;
pub use crate::report::Rule;
use crate::report::{Severity, Span};

pub mod image;
pub mod profile;
pub mod settings;
pub mod structure;

macro_rules! rules {
    ($($konst:ident = $id:literal, $sev:ident, $summary:literal, $help:literal;)*) => {
        $(pub const $konst: Rule = Rule { id: $id, severity: Severity::$sev, summary: $summary, help: $help };)*
        /// Every rule, in documentation order.
        pub const RULES: &[Rule] = &[$($konst),*];
    };
}

rules! {
    INPUT_UNREADABLE = "input-unreadable", Error, "The file cannot be read.",
        "check the path and permissions; answer files must be UTF-8";
    INPUT_TOO_LARGE = "input-too-large", Error, "The file is larger than 16 MiB and is not parsed.",
        "answer files are a few kilobytes; check that this is the right file";
    XML_MALFORMED = "xml-malformed", Error, "The file is not well-formed XML.",
        "fix the XML at the position shown; Windows Setup stops on malformed answer files";
    XML_TOO_DEEP = "xml-too-deep", Error, "Elements nest deeper than 256 levels.",
        "answer files nest about 8 levels deep; this file is broken or hostile";
    ROOT_NAMESPACE = "root-namespace", Error, "The root is not `unattend` in namespace urn:schemas-microsoft-com:unattend.",
        "use <unattend xmlns=\"urn:schemas-microsoft-com:unattend\"> as the root element";
    UNEXPECTED_ELEMENT = "unexpected-element", Error, "An element that does not belong at this level of the answer file.",
        "<unattend> holds <settings pass=...> elements, and <settings> holds <component> elements";
    UNKNOWN_PASS = "unknown-pass", Error, "A settings pass that is not one of the seven Windows configuration passes.",
        "use windowsPE, offlineServicing, generalize, specialize, auditSystem, auditUser or oobeSystem";
    DUPLICATE_PASS = "duplicate-pass", Error, "The same configuration pass appears twice.",
        "merge the two <settings> elements into one";
    COMPONENT_ATTR = "component-attr", Error, "A component attribute is missing or wrong.",
        "components need name, processorArchitecture, publicKeyToken=\"31bf3856ad364e35\", language=\"neutral\" and versionScope=\"nonSxS\"";
    COMPONENT_ARCH = "component-arch", Error, "processorArchitecture is not amd64/x86/arm64/wow64, or differs across the file (wow64 may sit beside amd64).",
        "use the architecture of the Windows image (amd64 for WMCO nodes) on every component";
    DUPLICATE_COMPONENT = "duplicate-component", Error, "The same component appears twice in one pass.",
        "merge the settings into one <component> per pass";
    UNKNOWN_COMPONENT = "unknown-component", Note, "A component that is not in gild's catalog; its settings are not checked.",
        "check the component name against the Windows Unattended Setup Reference";
    UNKNOWN_SETTING = "unknown-setting", Error, "An element that the component does not define.",
        "check the spelling and nesting against the Microsoft reference page of the component";
    SETTING_WRONG_PASS = "setting-wrong-pass", Error, "A setting in a pass where Windows ignores it (a warning under the plain profile).",
        "move the setting to one of the passes listed in the message; Windows silently ignores it here, so the image would lack it";
    VALUE_TYPE = "value-type", Error, "A value that does not have the setting's type, length or allowed values (a warning where Windows falls back to its default).",
        "use a value of the type given in the message";
    TIMEZONE_UNKNOWN = "timezone-unknown", Error, "TimeZone is not a Windows time zone id.",
        "use a Windows id such as \"UTC\" or \"Eastern Standard Time\" (`tzutil /l` lists them), not an IANA name";
    INPUTLOCALE_FORMAT = "inputlocale-format", Error, "InputLocale is not `LLLL:KKKKKKKK` pairs or language tags.",
        "write input locales as 0409:00000409 (language id:keyboard layout id) or a language tag like en-US, separated by `;`";
    LOCALE_FORMAT = "locale-format", Error, "A locale is not a well-formed language tag.",
        "write locales as language tags such as en-US";
    SETTING_DEPRECATED = "setting-deprecated", Warning, "A setting Microsoft's reference marks as deprecated.",
        "Windows still accepts it but may ignore it; remove it or use the replacement the message names";
    COMPUTERNAME_WINDOWS = "computername-windows", Error, "ComputerName breaks Windows' own naming rules (plain profile).",
        "use at most 15 bytes, no spaces or { | } ~ [ \\ ] ^ ' : ; < = > ? @ ! \" # $ % ` ( ) + / . , * &, and not only digits (`*` alone asks for a random name)";
    OFFLINE_IMAGE_MISMATCH = "offline-image-mismatch", Note, "ImageInstall selects an image other than the one the file was authored against (cpi:offlineImage).",
        "check that the install.wim on the install media has an image with this name; gild cannot see the media";
    COMPUTERNAME_K8S = "computername-k8s", Error, "ComputerName is not both a Kubernetes node name and a Windows computer name.",
        "use a lowercase RFC 1123 label of at most 15 characters (a-z, 0-9, `-`), not all digits, no `*`";
    AUTOLOGON_ENABLED = "autologon-enabled", Error, "AutoLogon is enabled.",
        "set <AutoLogon><Enabled>false</Enabled>: an elevated session open at every boot is a security hole";
    ADMIN_PASSWORD_MISSING = "admin-password-missing", Error, "No non-empty AdministratorPassword in oobeSystem.",
        "add UserAccounts/AdministratorPassword to Microsoft-Windows-Shell-Setup in oobeSystem (render it with --password-env)";
    ADMIN_PASSWORD_PLACEHOLDER = "admin-password-placeholder", Error, "AdministratorPassword is a placeholder.",
        "replace the placeholder with a real password: `gild render unattend --password-env NAME`";
    PASSWORD_PLAINTEXT = "password-plaintext", Warning, "A password is stored in plain text.",
        "store it encoded (PlainText false): `gild render unattend` does this by default";
    ANSWER_FILE_NOT_REMOVED = "answer-file-not-removed", Warning, "Nothing deletes the answer file from the image, so clones carry the password.",
        "add a command that deletes C:\\Windows\\Panther\\unattend.xml (the gild template writes one into SetupComplete.cmd)";
    LANGUAGE_NOT_EN_US = "language-not-en-us", Warning, "UILanguage or SystemLocale is not en-US.",
        "WMCO supports en-US Windows only; set UILanguage and SystemLocale to en-US";
}

/// Which rule set to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Structure, catalog, values, Kubernetes and WMCO rules (en-US only).
    #[default]
    Wmco,
    /// Like wmco, without the en-US language rule.
    K8s,
    /// Structure, catalog and value rules only.
    Plain,
}

/// A rule violation before it is placed in a file (line/column come later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub message: String,
    pub span: Span,
}

#[derive(Default)]
pub struct Findings(pub Vec<Finding>);

impl Findings {
    pub fn push(&mut self, rule: Rule, span: Span, message: impl Into<String>) {
        self.0.push(Finding {
            rule,
            message: message.into(),
            span,
        });
    }
}

impl Findings {
    /// Pushes a finding of `rule` at another severity than its default, for
    /// the rules whose consequence depends on the profile or the setting.
    pub fn push_as(
        &mut self,
        rule: Rule,
        severity: Severity,
        span: Span,
        message: impl Into<String>,
    ) {
        self.push(Rule { severity, ..rule }, span, message);
    }
}

/// Runs every rule of `profile` over a parsed document.
pub fn check(doc: &Document, profile: Profile, out: &mut Findings) {
    let Some(layout) = structure::check(doc, out) else {
        return;
    };
    settings::check(doc, &layout, profile, out);
    image::check(doc, &layout, out);
    if profile != Profile::Plain {
        profile::check(doc, &layout, profile, out);
    }
}
