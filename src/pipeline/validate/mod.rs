//! `gild validate`: everything about a pipeline that can be checked
//! without vCenter, as [`Diagnostic`]s placed at the field they are about
//! (rule table in [`super::rules`]); `--online` adds inventory resolution
//! ([`online`]).
//!
//! - this module: names, template pattern, vCenter URL/TLS, placement,
//!   secrets (where each comes from), outputs;
//! - [`stages`]: stage order, required stages, options, target rules
//!   (runtime, VXLAN, hardware and Tools minimums);
//! - [`files`]: every referenced file, the OpenSSH key pair, the answer
//!   file rendered and linted.

mod files;
pub mod online;
mod stages;

use super::load::{load_str, read_limited, LoadedPipeline};
use super::naming::{build_vm_name, check_vm_name, is_dns_label, NameContext, NamePattern};
use super::rules::{self, is_load_rule};
use super::secret_source::{SecretRole, SecretSource};
use super::vars::Vars;
use super::yaml::Pos;
use crate::report::{Diagnostic, Rule, Severity};
use std::path::Path;

/// How strict to be.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// `--online`: secrets must be available (an unset variable is an
    /// error, not a warning).
    pub online: bool,
}

/// One file's result: its text (for showing source lines; `None` when
/// unreadable) and the diagnostics, in file order.
pub struct FileReport {
    pub source: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
    /// The loaded pipeline, when it loaded (online checks need it).
    pub loaded: Option<LoadedPipeline>,
}

impl FileReport {
    /// The source text with every line a literal-secret finding points at
    /// blanked, for printers that show source lines: a diagnostic about a
    /// leaked password must not print it.
    pub fn shown_source(&self) -> Option<String> {
        let text = self.source.as_ref()?;
        let hidden: Vec<usize> = self
            .diagnostics
            .iter()
            .filter(|d| d.rule_id == rules::LITERAL_SECRET.id)
            .map(|d| d.line)
            .collect();
        Some(
            text.lines()
                .enumerate()
                .map(|(i, l)| {
                    if hidden.contains(&(i + 1)) {
                        "<line not shown: it holds a secret>".to_string()
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    /// Whether the file could not be loaded at all (exit 2).
    pub fn is_bad_input(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error && is_load_rule(d.rule_id))
    }
}

/// Reads, loads and validates one pipeline file (offline checks only).
pub fn check_file(path: &Path, vars: &Vars, opts: Options) -> FileReport {
    let text = match read_limited(path) {
        Ok(t) => t,
        Err(e) => {
            return FileReport {
                source: None,
                diagnostics: e.diagnostics(),
                loaded: None,
            }
        }
    };
    check_text(path, text, vars, opts)
}

/// Loads and validates pipeline text read from `path` (offline checks).
pub fn check_text(path: &Path, text: String, vars: &Vars, opts: Options) -> FileReport {
    let (diagnostics, loaded) = match load_str(path, &text, vars) {
        Ok(loaded) => {
            let mut d = validate(&loaded, opts);
            d.sort_by_key(|d| (d.line, d.col));
            (d, Some(loaded))
        }
        Err(e) => (e.diagnostics(), None),
    };
    FileReport {
        source: Some(text),
        diagnostics,
        loaded,
    }
}

/// Every offline check on a loaded pipeline.
pub fn validate(loaded: &LoadedPipeline, opts: Options) -> Vec<Diagnostic> {
    let mut f = Findings::new(loaded);
    for w in loaded.warnings() {
        f.out.push(w.to_diagnostic(&f.file));
    }
    names(&mut f);
    vcenter(&mut f);
    placement(&mut f);
    secrets(&mut f, opts);
    stages::check(&mut f);
    files::check(&mut f);
    f.out
}

/// Collects diagnostics placed at field paths of one pipeline.
pub(crate) struct Findings<'a> {
    pub loaded: &'a LoadedPipeline,
    pub file: String,
    pub out: Vec<Diagnostic>,
}

impl<'a> Findings<'a> {
    fn new(loaded: &'a LoadedPipeline) -> Self {
        Findings {
            loaded,
            file: loaded.file_name(),
            out: Vec::new(),
        }
    }

    /// A finding about the value of `path` (or, for a field left out, its
    /// nearest written parent).
    pub fn at(&mut self, rule: Rule, path: &str, message: impl Into<String>) -> &mut Diagnostic {
        let pos = self.loaded.value_pos(path);
        self.push(rule, pos, message.into())
    }

    /// A finding about the key of `path` (a section as a whole).
    pub fn at_key(
        &mut self,
        rule: Rule,
        path: &str,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        let pos = self.loaded.key_pos(path);
        self.push(rule, pos, message.into())
    }

    fn push(&mut self, rule: Rule, pos: Pos, message: String) -> &mut Diagnostic {
        self.out
            .push(Diagnostic::at(rule, &self.file, pos.line, pos.col, message));
        self.out.last_mut().expect("just pushed")
    }
}

fn names(f: &mut Findings<'_>) {
    let p = f.loaded.pipeline();
    if !is_dns_label(&p.name, 63) {
        f.at(
            rules::NAME,
            "name",
            format!("pipeline name {:?} is not a DNS-label-like name", p.name),
        );
    } else if let Err(e) = check_vm_name(&build_vm_name(&p.name, chrono::Utc::now())) {
        f.at(rules::BUILD_VM_NAME, "name", format!("build VM name: {e}"));
    }
    match NamePattern::parse(&p.template.name) {
        Err(e) => {
            f.at(rules::TEMPLATE_NAME, "template.name", e.to_string());
        }
        Ok(pattern) => {
            // A fixed commit id keeps the check independent of where it runs.
            let ctx = NameContext {
                name: &p.name,
                target: p.target,
                now: chrono::Utc::now(),
                git_sha: Some("0000000"),
            };
            if let Err(e) = pattern.render(&ctx) {
                f.at(
                    rules::TEMPLATE_NAME,
                    "template.name",
                    format!("rendered template name: {e}"),
                );
            }
            if !pattern.uses_name() {
                f.at(
                    rules::TEMPLATE_UNSCOPED,
                    "template.name",
                    format!(
                        "template name pattern {:?} has no {{name}}",
                        p.template.name
                    ),
                );
            }
            if !pattern.varies_per_build() {
                f.at(
                    rules::TEMPLATE_NOT_UNIQUE,
                    "template.name",
                    format!(
                        "template name pattern {:?} has neither {{date}} nor {{git_sha}}",
                        p.template.name
                    ),
                );
            }
        }
    }
    if p.template.keep == 0 {
        f.at(rules::KEEP, "template.keep", "template.keep is 0");
    }
}

fn vcenter(f: &mut Findings<'_>) {
    let v = &f.loaded.pipeline().vcenter;
    match url::Url::parse(&v.url) {
        // The URL is never echoed: a malformed one may carry credentials.
        Err(e) => {
            f.at(
                rules::VCENTER,
                "vcenter.url",
                format!("vcenter.url is not a URL: {e}"),
            );
        }
        Ok(url) => {
            if !url.username().is_empty() || url.password().is_some() {
                f.at(
                    rules::LITERAL_SECRET,
                    "vcenter.url",
                    "vcenter.url carries a user name or password (not shown); use vcenter.user and vcenter.password_env",
                );
            }
            match url.scheme() {
                "https" => {}
                "http" => {
                    f.at(
                        rules::INSECURE,
                        "vcenter.url",
                        "vcenter.url is plain http: the session and passwords travel unencrypted",
                    );
                }
                other => {
                    f.at(
                        rules::VCENTER,
                        "vcenter.url",
                        format!("vcenter.url scheme is {other:?}; expected https"),
                    );
                }
            }
            if url.host_str().is_none_or(|h| h.is_empty()) {
                f.at(rules::VCENTER, "vcenter.url", "vcenter.url has no host");
            }
        }
    }
    let trust = [v.ca_file.is_some(), v.thumbprint.is_some(), v.insecure];
    if trust.iter().filter(|t| **t).count() > 1 {
        f.at_key(
            rules::VCENTER,
            "vcenter",
            "give at most one of vcenter.ca_file, vcenter.thumbprint and vcenter.insecure",
        );
    }
    if let Some(t) = &v.thumbprint {
        if let Err(e) = crate::vsphere::parse_thumbprint(t) {
            f.at(rules::VCENTER, "vcenter.thumbprint", e.to_string());
        }
    }
    if v.insecure {
        f.at(
            rules::INSECURE,
            "vcenter.insecure",
            "vcenter.insecure is true: vCenter's certificate is not checked",
        );
    }
}

fn placement(f: &mut Findings<'_>) {
    let pl = &f.loaded.pipeline().placement;
    match (&pl.cluster, &pl.resource_pool) {
        (Some(_), Some(_)) => {
            f.at(
                rules::PLACEMENT,
                "placement.resource_pool",
                "placement names both a cluster and a resource pool",
            );
        }
        (None, None) => {
            f.at_key(
                rules::PLACEMENT,
                "placement",
                "placement names neither a cluster nor a resource pool",
            );
        }
        _ => {}
    }
    if let Some(s) = &pl.expected_subnet {
        if !is_ipv4_cidr(s) {
            f.at(
                rules::PLACEMENT,
                "placement.expected_subnet",
                format!("expected_subnet {s:?} is not IPv4 CIDR (a.b.c.d/n)"),
            );
        }
    }
}

fn is_ipv4_cidr(s: &str) -> bool {
    let Some((addr, len)) = s.split_once('/') else {
        return false;
    };
    addr.parse::<std::net::Ipv4Addr>().is_ok() && len.parse::<u8>().is_ok_and(|n| n <= 32)
}

fn secrets(f: &mut Findings<'_>, opts: Options) {
    let mut from_stdin = Vec::new();
    for role in SecretRole::ALL {
        let Some((env, file)) = f.loaded.secret_fields(role) else {
            continue;
        };
        let field = role.field();
        let section = field.rsplit_once('.').map_or(field, |(s, _)| s);
        if env.is_some() && file.is_some() {
            f.at(
                rules::SECRET_SOURCE,
                &format!("{field}_file"),
                format!(
                    "the {} has two sources: give {field}_env or {field}_file, not both",
                    role.describe()
                ),
            );
            continue;
        }
        let Some(source) = f.loaded.secret_source(role) else {
            f.at_key(
                rules::SECRET_SOURCE,
                section,
                format!(
                    "the {} has no source: give {field}_env (a variable name) or {field}_file",
                    role.describe()
                ),
            );
            continue;
        };
        let at = match &source {
            SecretSource::Env(_) => format!("{field}_env"),
            _ => format!("{field}_file"),
        };
        if let SecretSource::Env(name) = &source {
            let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                f.at(
                    rules::SECRET_SOURCE,
                    &at,
                    format!("{at} {name:?} is not an environment variable name"),
                );
                continue;
            }
        }
        if source == SecretSource::Stdin {
            from_stdin.push(at.clone());
        }
        match source.check() {
            Ok(()) => {}
            Err(e @ super::secret_source::SecretError::WorldReadable { .. }) => {
                f.at(rules::SECRET_SOURCE, &at, e.to_string());
            }
            Err(e) => {
                let d = f.at(
                    rules::SECRET_UNSET,
                    &at,
                    format!("the {}: {e}", role.describe()),
                );
                if opts.online {
                    d.severity = Severity::Error;
                }
            }
        }
    }
    if from_stdin.len() > 1 {
        let at = from_stdin[1].clone();
        f.at(
            rules::SECRET_SOURCE,
            &at,
            format!(
                "{} secrets read stdin ({}); only one can",
                from_stdin.len(),
                from_stdin.join(", ")
            ),
        );
    }
}
