//! The PowerShell scripts shipped in `scripts/`, as the model runs them.
//!
//! [`SCRIPTS`] is the catalogue: each script's file name, its `param()`
//! block and the function applying its documented effects. Arguments are
//! bound the way PowerShell binds `-File` arguments (named with an
//! unambiguous prefix, `-Name:value`, switches, then positional in declared
//! order; mandatory, ValidateSet and unknown names are binding errors that
//! exit 1 before the script body runs). The body's outcome is written as the
//! JSON result file every script writes to `-ResultPath`:
//! `{"script", "success", "changed", "error", "details"}`.
//!
//! `tests/guest_model.rs` compares this catalogue with the real scripts'
//! `param()` blocks and with scripts/README.md, so they cannot drift apart.

mod effects;
mod facts;
mod manifest;
mod node;
mod sysprep;
mod updates;

pub(crate) use facts::facts;

use super::fs::GuestPath;
use super::{ProcessOutcome, WindowsGuest};
use std::collections::BTreeMap;

pub const CONTAINERS_FEATURE: &str = "Containers";
pub const OPENSSH_SERVER_CAPABILITY: &str = "OpenSSH.Server~~~~0.0.1.0";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    String,
    Switch,
    /// A string restricted by `[ValidateSet(...)]`.
    OneOf(&'static [&'static str]),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptParam {
    pub name: &'static str,
    pub kind: ParamKind,
    pub mandatory: bool,
}

/// What a script body reports when it succeeds.
pub(crate) struct Report {
    pub changed: bool,
    pub details: serde_json::Value,
}

/// Bound arguments: lowercase parameter name to value (`"True"` for
/// switches), with the script's own text and the folder it runs from.
pub(crate) struct BoundArgs {
    values: BTreeMap<String, String>,
    source: &'static str,
    dir: Option<GuestPath>,
}

impl BoundArgs {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// Whether the script (or the library it dot-sources) does `needle`.
    ///
    /// Where a Windows fact decides whether a step works (TLS 1.2, the
    /// WinHTTP proxy, a scheduled task for Windows Update, a firewall lookup
    /// by DisplayName...), the model reads what the shipped text does
    /// instead of assuming it, so a script edited to ignore the fact gets
    /// the failure Windows would give it, and the tests that exercise the
    /// shipped text fail.
    pub fn does(&self, needle: &str) -> bool {
        self.source.contains(needle) || library_does(needle)
    }

    /// The script's text.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// The folder the script runs from (`$PSScriptRoot`).
    pub fn dir(&self) -> Option<&GuestPath> {
        self.dir.as_ref()
    }

    pub fn switch(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }
}

type Body = fn(&mut WindowsGuest, &BoundArgs) -> Result<Report, String>;

pub struct ScriptDef {
    pub file: &'static str,
    pub params: &'static [ScriptParam],
    /// The shipped script; the model only stands in for this exact text.
    source: &'static str,
    body: Body,
}

impl std::fmt::Debug for ScriptDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptDef")
            .field("file", &self.file)
            .field("params", &self.params)
            .finish()
    }
}

/// Files in `scripts/` that are dot-sourced by the scripts, not run: every
/// script fails (exit 1, no result file) unless they sit, unchanged, in its
/// folder.
pub const LIBRARY_FILES: &[&str] = &["gild-common.ps1"];
/// The shipped text of each of [`LIBRARY_FILES`], in the same order.
const LIBRARY_SOURCES: &[&str] = &[include_str!("../../../../scripts/gild-common.ps1")];
const _: () = assert!(LIBRARY_FILES.len() == LIBRARY_SOURCES.len());

/// Whether the shared library does `needle` (see [`BoundArgs::does`]).
fn library_does(needle: &str) -> bool {
    LIBRARY_SOURCES.iter().any(|lib| lib.contains(needle))
}

/// Whether uploaded bytes are the shipped text, allowing for the line-end
/// and byte-order-mark changes an upload path may introduce.
fn same_source(uploaded: &[u8], shipped: &str) -> bool {
    let uploaded =
        String::from_utf8_lossy(uploaded.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(uploaded))
            .replace("\r\n", "\n");
    uploaded.trim_end() == shipped.replace("\r\n", "\n").trim_end()
}

const fn param(name: &'static str, kind: ParamKind, mandatory: bool) -> ScriptParam {
    ScriptParam {
        name,
        kind,
        mandatory,
    }
}

const RESULT_PATH: ScriptParam = param("ResultPath", ParamKind::String, true);

/// One catalogue entry; the file name is written once, so the name the
/// model matches and the text it embeds cannot point at different files.
macro_rules! script {
    ($file:literal, [$($param:expr),* $(,)?], $body:path) => {
        ScriptDef {
            file: $file,
            source: include_str!(concat!("../../../../scripts/", $file)),
            params: &[$($param),*],
            body: $body,
        }
    };
}

const SOURCE_DIR: ScriptParam = param("SourceDir", ParamKind::String, false);

pub static SCRIPTS: &[ScriptDef] = &[
    script!(
        "install-openssh.ps1",
        [SOURCE_DIR, RESULT_PATH],
        effects::install_openssh
    ),
    script!(
        "set-authorized-key.ps1",
        [param("PublicKeyPath", ParamKind::String, true), RESULT_PATH],
        effects::set_authorized_key
    ),
    script!(
        "repair-tools-conf.ps1",
        [RESULT_PATH],
        effects::repair_tools_conf
    ),
    script!(
        "install-container-runtime.ps1",
        [
            param(
                "Runtime",
                ParamKind::OneOf(&["docker", "containerd", "none"]),
                true
            ),
            SOURCE_DIR,
            RESULT_PATH
        ],
        effects::install_container_runtime
    ),
    script!(
        "open-firewall.ps1",
        [param("IncludeVxlan", ParamKind::Switch, false), RESULT_PATH],
        effects::open_firewall
    ),
    script!(
        "windows-update.ps1",
        [
            param("KbIds", ParamKind::String, false),
            param("TimeoutMinutes", ParamKind::String, false),
            RESULT_PATH
        ],
        updates::windows_update
    ),
    script!(
        "windows-update-task.ps1",
        [param("KbIds", ParamKind::String, false), RESULT_PATH],
        updates::windows_update_task
    ),
    script!("collect-facts.ps1", [RESULT_PATH], facts::collect_facts),
    script!(
        "check-sysprep.ps1",
        [param("UnattendPath", ParamKind::String, true), RESULT_PATH],
        sysprep::check_sysprep
    ),
    script!(
        "prepare-sysprep.ps1",
        [RESULT_PATH],
        sysprep::prepare_sysprep
    ),
    script!(
        "resolve-names.ps1",
        [param("Names", ParamKind::String, true), RESULT_PATH],
        node::resolve_names
    ),
    script!(
        "install-kubernetes-node.ps1",
        [
            param("SourceDir", ParamKind::String, true),
            param("ClusterCIDR", ParamKind::String, true),
            param("ServiceCIDR", ParamKind::String, true),
            param("KubeDnsServiceIP", ParamKind::String, true),
            param("InterfaceName", ParamKind::String, false),
            param("KubeconfigPath", ParamKind::String, false),
            param("AllowAdminKubeconfig", ParamKind::Switch, false),
            RESULT_PATH
        ],
        node::install_kubernetes_node
    ),
];

/// The catalogue entry for a script file name (case-insensitive) whose
/// uploaded content is the shipped script. An edited or stale copy is not
/// the script the model knows, so the caller interprets it instead.
pub fn find(file_name: &str, content: &[u8]) -> Option<&'static ScriptDef> {
    SCRIPTS
        .iter()
        .find(|def| def.file.eq_ignore_ascii_case(file_name) && same_source(content, def.source))
}

impl ScriptDef {
    /// The script's name without `.ps1`, as written in its result file.
    pub fn name(&self) -> &'static str {
        self.file.trim_end_matches(".ps1")
    }

    /// Binds `-File` arguments to this script's parameters.
    pub(crate) fn bind(
        &self,
        args: &[String],
        dir: Option<GuestPath>,
    ) -> Result<BoundArgs, String> {
        let mut bound = BTreeMap::new();
        let mut positional = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let arg = &args[i];
            let Some(flag) = arg
                .strip_prefix('-')
                .filter(|f| f.chars().next().is_some_and(char::is_alphabetic))
            else {
                positional.push(arg.clone());
                i += 1;
                continue;
            };
            let (name, inline) = match flag.split_once(':') {
                Some((name, value)) => (name, Some(value.to_string())),
                None => (flag, None),
            };
            let param = self.lookup(name)?;
            let value = match (param.kind, inline) {
                (ParamKind::Switch, None) => "True".to_string(),
                (ParamKind::Switch, Some(v)) => match v.to_ascii_lowercase().as_str() {
                    "$true" | "true" | "1" => "True".into(),
                    "$false" | "false" | "0" => "False".into(),
                    _ => {
                        return Err(format!(
                            "cannot convert {v:?} to the switch -{}",
                            param.name
                        ))
                    }
                },
                (_, Some(v)) => v,
                (_, None) => {
                    i += 1;
                    args.get(i).cloned().ok_or_else(|| {
                        format!("missing an argument for parameter '{}'", param.name)
                    })?
                }
            };
            bound.insert(param.name.to_ascii_lowercase(), value);
            i += 1;
        }
        let free: Vec<&ScriptParam> = self
            .params
            .iter()
            .filter(|p| {
                p.kind != ParamKind::Switch && !bound.contains_key(&p.name.to_ascii_lowercase())
            })
            .collect();
        let mut free = free.into_iter();
        for value in positional {
            let param = free.next().ok_or_else(|| {
                format!("a positional parameter cannot be found that accepts argument '{value}'")
            })?;
            bound.insert(param.name.to_ascii_lowercase(), value);
        }
        for param in self.params {
            let value = bound.get(&param.name.to_ascii_lowercase());
            match (param.kind, value) {
                (_, None) if param.mandatory => {
                    return Err(format!("cannot prompt for the mandatory parameter '{}' in a non-interactive run", param.name))
                }
                (ParamKind::OneOf(allowed), Some(v)) if !allowed.iter().any(|a| a.eq_ignore_ascii_case(v)) => {
                    return Err(format!(
                        "cannot validate argument on parameter '{}': {v:?} does not belong to the set {}",
                        param.name,
                        allowed.join(",")
                    ))
                }
                _ => {}
            }
        }
        Ok(BoundArgs {
            values: bound,
            source: self.source,
            dir,
        })
    }

    /// Exact name, else an unambiguous prefix, like PowerShell.
    fn lookup(&self, name: &str) -> Result<&ScriptParam, String> {
        if let Some(param) = self
            .params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            return Ok(param);
        }
        let lower = name.to_ascii_lowercase();
        let matches: Vec<&ScriptParam> = self
            .params
            .iter()
            .filter(|p| p.name.to_ascii_lowercase().starts_with(&lower))
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(format!(
                "a parameter cannot be found that matches parameter name '{name}'"
            )),
            _ => Err(format!("parameter name '{name}' is ambiguous")),
        }
    }
}

/// Runs a catalogued script found at `script`: bind, apply effects, write
/// the result file.
pub fn run(
    guest: &mut WindowsGuest,
    def: &ScriptDef,
    script: &GuestPath,
    args: &[String],
) -> ProcessOutcome {
    let duration = guest.timing.script;
    let exited = |exit_code| ProcessOutcome {
        exit_code,
        duration,
        after_exit: None,
        tools_restarted: false,
    };
    let libraries_present = script.parent().is_some_and(|dir| {
        LIBRARY_FILES
            .iter()
            .zip(LIBRARY_SOURCES)
            .all(|(lib, source)| {
                guest
                    .fs
                    .read_bytes(&dir.join(lib))
                    .is_ok_and(|content| same_source(&content, source))
            })
    });
    if !libraries_present {
        return exited(1);
    }
    let Ok(bound) = def.bind(args, script.parent()) else {
        return exited(1);
    };
    let raw_result_path = bound.get("ResultPath").unwrap_or_default();
    let result_path = match GuestPath::parse(raw_result_path) {
        Ok(path) => path,
        // gild-common.ps1 refuses a relative path (exit 2) before the body
        // runs; a script that did not would write it under the process's
        // working directory (System32 for guest operations), where the
        // caller never looks.
        Err(_) if bound.does("Assert-GildResultPath") => return exited(2),
        Err(_) => match GuestPath::resolve(raw_result_path, &guest.cwd) {
            Ok(path) => path,
            Err(_) => return exited(1),
        },
    };
    let (success, result) = match (def.body)(guest, &bound) {
        Ok(report) => (
            true,
            serde_json::json!({
                "script": def.name(), "success": true, "changed": report.changed, "error": null, "details": report.details,
            }),
        ),
        Err(message) => (
            false,
            serde_json::json!({
                "script": def.name(), "success": false, "changed": false, "error": message, "details": {},
            }),
        ),
    };
    let written = result_path
        .parent()
        .map_or(Ok(()), |dir| {
            if guest.fs.is_dir(&dir) {
                Ok(())
            } else {
                guest.fs.create_dir(&dir, true)
            }
        })
        .and_then(|()| {
            guest
                .fs
                .write(&result_path, result.to_string().into(), true)
        });
    exited(if success && written.is_ok() { 0 } else { 1 })
}
