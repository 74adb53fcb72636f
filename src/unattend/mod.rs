//! unattend.xml: templates, rendering and the linter.
//!
//! - [`doc`] parses with quick-xml's streaming reader into a small arena tree
//!   with byte spans, refusing inputs over 16 MiB and nesting over 256 levels
//!   before they can cost memory or stack.
//! - [`rules`] holds the rules (stable ids, severity, help), [`catalog`] the
//!   component/setting data they check against (`data/catalog.yaml`, each
//!   entry citing its Microsoft reference page) and the Windows time zone ids
//!   (`data/windows_time_zones.txt`, from CLDR via tzlocal).
//! - [`lint`] turns bytes into [`Diagnostic`]s; [`report`] prints them as
//!   human text, JSON Lines or SARIF 2.1.0.
//! - [`render`] fills a tera template with XML-escaped values and an encoded
//!   administrator password ([`password`]).

pub mod catalog;
pub mod doc;
pub mod lint;
pub mod password;
pub mod render;
pub mod rules;

pub use crate::report::{Diagnostic, Severity, Span};
pub use lint::{lint_bytes, lint_path, lint_text};
pub use rules::{Profile, RULES};
