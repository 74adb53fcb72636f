//! Running gild's scripts in the build VM.
//!
//! Guest operations capture no output, so each script reports through a
//! JSON result file (scripts/README.md): the runner starts
//! `powershell.exe -File <script> -ResultPath <file> ...`, waits for the exit
//! code, downloads the result file and reads `success`/`error`/`details`.
//! Nothing here parses human-readable output.
//!
//! No secret ever goes into a command line (vCenter lists command lines to
//! anyone with guest-operation rights): parameters are names, paths and
//! switches; anything sensitive travels as a file uploaded for the step.
//!
//! The scripts are compiled into the binary (`include_dir`), so a build
//! runs the scripts of the gild that runs it, and the manifest's hashes name
//! exactly what ran.

use super::error::StageError;
use crate::vsphere::wire::VmId;
use crate::vsphere::wire::{GuestCredentials, ProcessSpec};
use crate::vsphere::{Client, Commandline};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

static SCRIPTS: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/scripts");

/// Where OpenSSH for Windows reads administrators' keys.
pub const AUTHORIZED_KEYS_PATH: &str = r"C:\ProgramData\ssh\administrators_authorized_keys";

pub const POWERSHELL: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";

/// Every shipped script (`*.ps1`), name and text.
pub fn shipped_scripts() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    SCRIPTS.files().filter_map(|f| {
        let name = f.path().file_name()?.to_str()?;
        name.ends_with(".ps1").then_some((name, f.contents()))
    })
}

/// `script` and the shipped scripts it needs in its folder, in turn: each
/// one its text names on a line that builds a path from `$PSScriptRoot`
/// (the dot-sourced `gild-common.ps1`; windows-update.ps1's SYSTEM-task
/// worker). Read from the scripts themselves, so a new companion cannot
/// be forgotten here.
pub fn companions(script: &str) -> Vec<(&'static str, &'static [u8])> {
    let mut out: Vec<(&'static str, &'static [u8])> = Vec::new();
    let mut todo = vec![script.to_string()];
    while let Some(name) = todo.pop() {
        let Some(found) = shipped_scripts().find(|(n, _)| *n == name) else {
            continue;
        };
        if out.iter().any(|(n, _)| *n == found.0) {
            continue;
        }
        out.push(found);
        let text = String::from_utf8_lossy(found.1);
        for line in text.lines().filter(|l| l.contains("$PSScriptRoot")) {
            for (other, _) in shipped_scripts() {
                if line.contains(&format!("'{other}'")) || line.contains(&format!("\"{other}\"")) {
                    todo.push(other.to_string());
                }
            }
        }
    }
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A script's result file (scripts/README.md, "Result file shape").
#[derive(Clone, Debug, Deserialize)]
pub struct ScriptResult {
    pub script: String,
    pub success: bool,
    #[serde(default)]
    pub changed: bool,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub details: serde_json::Value,
}

/// One parameter of a script invocation.
#[derive(Clone, Debug)]
pub enum Arg<'a> {
    Value(&'a str, String),
    Switch(&'a str),
}

/// The build VM's guest, as gild's scripts see it.
pub struct Guest<'a> {
    pub client: &'a Client,
    pub vm: &'a VmId,
    pub creds: &'a GuestCredentials,
    /// Where scripts live in the guest (`C:\gild`).
    pub dir: &'a str,
}

/// Distinguishes result files of repeated runs within one process, so a
/// stale result is never read as the new one.
static RUN: AtomicU32 = AtomicU32::new(0);

/// Random per gild process: with the pid and [`RUN`] it makes every result
/// path (and so every script command line) unique, even for a resumed build
/// whose new process got an old pid. That uniqueness is what lets the
/// client start scripts without listing the guest's processes first.
fn process_nonce() -> u32 {
    static NONCE: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *NONCE.get_or_init(rand::random)
}

impl Guest<'_> {
    pub fn path(&self, file: &str) -> String {
        format!("{}\\{file}", self.dir.trim_end_matches('\\'))
    }

    /// Uploads `script` and what it needs beside it ([`companions`]),
    /// those not yet uploaded in this build (`uploaded`: guest path →
    /// SHA-256, kept in the build state), so a build sends only the
    /// scripts it runs.
    pub async fn ensure_scripts(
        &self,
        uploaded: &mut BTreeMap<String, String>,
        script: &str,
    ) -> Result<(), StageError> {
        let missing: Vec<_> = companions(script)
            .into_iter()
            .filter(|(name, text)| {
                uploaded.get(&self.path(name)).map(String::as_str) != Some(&sha256_hex(text))
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        // The folder (and its results folder) comes with the first script:
        // once any shipped script is up, it is there.
        let first = !shipped_scripts().any(|(name, _)| uploaded.contains_key(&self.path(name)));
        if first {
            self.client
                .create_directory(self.vm, self.creds, &self.path("results"), true)
                .await
                .map_err(StageError::vsphere(format!(
                    "create {} in the guest",
                    self.path("results")
                )))?;
        }
        for (name, text) in missing {
            let path = self.path(name);
            self.upload(text.to_vec(), &path).await?;
            uploaded.insert(path, sha256_hex(text));
        }
        Ok(())
    }

    pub async fn upload(&self, content: Vec<u8>, guest_path: &str) -> Result<(), StageError> {
        self.client
            .upload_bytes(self.vm, self.creds, content, guest_path, true)
            .await
            .map_err(StageError::vsphere(format!("upload {guest_path}")))
    }

    /// Runs `script` (a shipped `.ps1`) with `args` and returns its result
    /// file. A script that fails (exit code ≠ 0 or `success: false`) is an
    /// error carrying the script's own message.
    pub async fn run_script(
        &self,
        script: &str,
        args: &[Arg<'_>],
        deadline: Duration,
    ) -> Result<ScriptResult, StageError> {
        let stem = script.trim_end_matches(".ps1");
        let n = RUN.fetch_add(1, Ordering::Relaxed);
        let result_path = self.path(&format!(
            "results\\{stem}-{}-{:08x}-{n}.json",
            std::process::id(),
            process_nonce()
        ));
        let mut argv = vec![
            "-NoProfile".to_string(),
            "-NonInteractive".into(),
            "-ExecutionPolicy".into(),
            "Bypass".into(),
            "-File".into(),
            quote(&self.path(script)),
            "-ResultPath".into(),
            quote(&result_path),
        ];
        for arg in args {
            match arg {
                Arg::Value(name, value) => {
                    argv.push(format!("-{name}"));
                    argv.push(quote(value));
                }
                Arg::Switch(name) => argv.push(format!("-{name}")),
            }
        }
        let spec = ProcessSpec {
            path: POWERSHELL.into(),
            arguments: Some(argv.join(" ")),
            ..ProcessSpec::default()
        };
        let exit = self
            .client
            .run_program_as(self.vm, self.creds, &spec, deadline, Commandline::Unique)
            .await
            .map_err(|source| match source {
                crate::vsphere::VsphereError::Deadline { after, .. } => {
                    StageError::Timeout { after }
                }
                source => StageError::Vsphere {
                    what: format!("run {script}"),
                    source,
                },
            })?;
        let bytes = match self
            .client
            .download_bytes(self.vm, self.creds, &result_path)
            .await
        {
            Ok(b) => b,
            Err(e) if e.is_not_found() => {
                return Err(StageError::Script {
                    script: script.into(),
                    exit_code: Some(exit.exit_code),
                    message: format!("it wrote no result file ({result_path})"),
                })
            }
            Err(source) => {
                return Err(StageError::Vsphere {
                    what: format!("download the result of {script}"),
                    source,
                })
            }
        };
        let result: ScriptResult =
            serde_json::from_slice(&bytes).map_err(|e| StageError::Script {
                script: script.into(),
                exit_code: Some(exit.exit_code),
                message: format!("its result file {result_path} is not valid: {e}"),
            })?;
        if exit.exit_code != 0 || !result.success {
            return Err(StageError::Script {
                script: script.into(),
                exit_code: Some(exit.exit_code),
                message: result
                    .error
                    .clone()
                    .unwrap_or_else(|| "no error message in its result file".into()),
            });
        }
        Ok(result)
    }
}

/// Quotes one argument the way `CommandLineToArgvW` (and PowerShell's
/// `-File` binding) splits it back: quotes around anything with whitespace
/// or quotes, backslashes doubled only where they precede a quote.
pub fn quote(arg: &str) -> String {
    if !arg.is_empty() && !arg.contains([' ', '\t', '"']) {
        return arg.to_string();
    }
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.extend(std::iter::repeat_n('\\', backslashes));
                out.push(c);
                backslashes = 0;
            }
        }
    }
    out.extend(std::iter::repeat_n('\\', backslashes * 2));
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::guest::split_command_line;

    #[test]
    fn quoted_arguments_split_back_to_themselves() {
        for arg in [
            "plain",
            r"C:\gild\x.ps1",
            r"C:\Program Files\x",
            r#"say "hi""#,
            r"trailing\",
            r"C:\dir with space\",
            "",
        ] {
            let line = format!("prog {}", quote(arg));
            assert_eq!(
                split_command_line(&line),
                vec!["prog".to_string(), arg.to_string()],
                "{arg:?}"
            );
        }
    }

    #[test]
    fn a_script_goes_up_with_the_library_and_the_worker_it_runs() {
        let names = |s: &str| {
            let mut n: Vec<_> = companions(s).into_iter().map(|(n, _)| n).collect();
            n.sort();
            n
        };
        assert_eq!(
            names("collect-facts.ps1"),
            ["collect-facts.ps1", "gild-common.ps1"]
        );
        assert_eq!(
            names("windows-update.ps1"),
            [
                "gild-common.ps1",
                "windows-update-task.ps1",
                "windows-update.ps1"
            ]
        );
        assert!(names("no-such.ps1").is_empty());
    }

    #[test]
    fn every_script_the_readme_names_is_embedded() {
        let names: Vec<_> = shipped_scripts().map(|(n, _)| n).collect();
        for needed in [
            "gild-common.ps1",
            "collect-facts.ps1",
            "repair-tools-conf.ps1",
        ] {
            assert!(names.contains(&needed), "{needed} missing from {names:?}");
        }
    }
}
