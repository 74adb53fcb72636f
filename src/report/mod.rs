//! Diagnostics and their output formats, shared by every checker gild has
//! (`gild lint`, `gild validate`, `gild machineset check`, `gild netplan
//! check`), so each prints the same human, JSON Lines and SARIF shapes and
//! CI treats them alike.

pub mod diagnostic;
pub mod format;

pub use diagnostic::{Diagnostic, LineIndex, Rule, Severity, Span};
pub use format::{human, json_lines, sarif, summary, SarifTool};
