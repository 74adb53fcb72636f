//! The modelled Windows guest behind every simulated VM.
//!
//! A [`WindowsGuest`] is plain data owned by the VM record in the simulator's
//! state: a filesystem, services, features, firewall rules, updates, the
//! network it can reach, scheduled tasks' effects and a sysprep state. It
//! knows nothing about pids or HTTP and keeps no clock — SIM-CORE owns those
//! and passes `now` where time matters — so every operation here is
//! synchronous and applies its effect at once; [`ProcessOutcome`] tells the
//! caller how long the modelled process should appear to run, what it does
//! to the VM's power when it exits, and whether it restarted VMware Tools
//! (which loses the process for vCenter).
//!
//! Guest processes are interpreted, not executed: `programs` recognises the
//! Windows programs a golden-image build relies on (cmd, PowerShell, icacls,
//! sc, shutdown, sysprep) and `scripts` the PowerShell scripts shipped in
//! `scripts/` (matched by name and content, so a stale upload is not given
//! the current script's effects), whose documented effects
//! (scripts/README.md) it applies. Any other path fails the way Windows would. A test keeps the model's script
//! catalogue and the real scripts' `param()` blocks in step.
//!
//! Life-cycle hooks: SIM-CORE calls [`WindowsGuest::boot`] when the VM powers
//! on (or finishes a reboot) and [`WindowsGuest::power_off`] when it stops, so
//! automatic services start, pending feature installs complete and the
//! pending-reboot flag clears the way they do on a real machine.

mod cmdline;
mod error;
mod firewall;
mod fs;
mod lifecycle;
mod network;
mod openssh;
mod os;
mod powershell;
mod programs;
mod scripts;
mod sysprep;
mod system;
mod tasks;
#[cfg(test)]
mod tests;
mod tools_conf;
mod updates;

pub use cmdline::split as split_command_line;
pub use error::GuestError;
pub use firewall::{Action, Direction, FirewallRule, Protocol};
pub use fs::{Ace, Acl, FileBlob, GuestPath};
pub use network::{DnsRecord, Internet};
pub use os::{GuestOs, ALL_RELEASES};
pub use scripts::{ParamKind, ScriptDef, ScriptParam, LIBRARY_FILES, SCRIPTS};
pub use system::{
    AppxPackage, FeatureState, Service, ServiceStatus, StartType, SysprepState,
    DEFAULT_REARM_BUDGET,
};
pub use tasks::ProcessContext;
pub use tools_conf::CONF_POLL as TOOLS_CONF_POLL;
pub use updates::UpdateSpec;

use crate::secret::Secret;
use crate::vsphere::wire::{GuestFileInfo, GuestFileSummary, ProcessSpec};
use firewall::Firewall;
use fs::GuestFs;
use network::Network;
use std::time::Duration;
use system::{Features, Services};
use updates::Updates;

/// Where VMware Tools reads its configuration.
pub const TOOLS_CONF_PATH: &str = r"C:\ProgramData\VMware\VMware Tools\tools.conf";
/// Where OpenSSH for Windows looks for administrators' keys.
pub const AUTHORIZED_KEYS_PATH: &str = r"C:\ProgramData\ssh\administrators_authorized_keys";
/// Sysprep's error log, the one a failed generalize leaves behind.
pub const SETUPERR_LOG_PATH: &str = r"C:\Windows\System32\Sysprep\Panther\setuperr.log";
pub const SYSPREP_PATH: &str = r"C:\Windows\System32\Sysprep\sysprep.exe";
pub const CMD_PATH: &str = r"C:\Windows\System32\cmd.exe";
pub const POWERSHELL_PATH: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";
pub const ICACLS_PATH: &str = r"C:\Windows\System32\icacls.exe";
pub const SC_PATH: &str = r"C:\Windows\System32\sc.exe";
pub const SHUTDOWN_PATH: &str = r"C:\Windows\System32\shutdown.exe";
/// Where a guest-operations process starts when the caller names no working
/// directory: vmtoolsd's own, and a service starts in System32 (VMware
/// documents the behaviour as unspecified for Windows guests and recommends
/// setting one).
pub const DEFAULT_WORKING_DIRECTORY: &str = r"C:\Windows\System32";

fn default_working_directory() -> GuestPath {
    GuestPath::known('C', &["Windows", "System32"])
}

/// What happens to the VM once a process has exited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerEffect {
    PowerOff { after: Duration },
    Reboot { after: Duration },
}

/// How a guest process ends, as decided by the model when it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessOutcome {
    pub exit_code: i64,
    /// How long the program itself takes in the model (SIM-CORE may add its
    /// own lower bound, `timing.process_default`).
    pub duration: Duration,
    pub after_exit: Option<PowerEffect>,
    /// The process stopped or restarted the VMTools service. vmtoolsd keeps
    /// the processes it started for guest operations in memory
    /// (open-vm-tools vixTools.c, `startedProcessList`), so the restarted
    /// service no longer knows this one: vCenter reports nothing for its pid
    /// ("If a specified process does not exist, nothing will be returned",
    /// ListProcessesInGuest), i.e. 404 NOT_FOUND, and its exit code is lost.
    /// Tools report not running until the service is back.
    pub tools_restarted: bool,
}

impl ProcessOutcome {
    pub(crate) fn exited(exit_code: i64) -> Self {
        ProcessOutcome {
            exit_code,
            duration: Duration::ZERO,
            after_exit: None,
            tools_restarted: false,
        }
    }
}

/// Durations of the guest's own long-running programs. All zero by default
/// so tests never wait; SIM-CORE sets them from its `Timing`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuestTiming {
    /// A successful `sysprep /generalize /shutdown`, until the VM powers off.
    pub sysprep: Duration,
    /// One run of a `scripts/` script.
    pub script: Duration,
    /// Upper bound on `shutdown.exe /t N` delays, so a `/t 30` in a pipeline
    /// does not make instant-timing tests wait 30 seconds.
    pub max_shutdown_delay: Duration,
    /// How often vmtoolsd re-reads tools.conf ([`tools_conf::CONF_POLL`] on a
    /// real guest; zero makes every poll reload).
    pub tools_conf_poll: Duration,
}

/// One modelled Windows installation.
#[derive(Clone, Debug)]
pub struct WindowsGuest {
    hostname: String,
    os: GuestOs,
    /// The display (UI) language of the build account and the language
    /// Windows was installed in; they differ once a language pack is added.
    display_language: String,
    install_language: String,
    user: String,
    password: Secret,
    fs: GuestFs,
    services: Services,
    features: Features,
    firewall: Firewall,
    updates: Updates,
    network: Network,
    appx: Vec<AppxPackage>,
    sysprep: SysprepState,
    timing: GuestTiming,
    /// Who the process being run runs as (set by the Task Scheduler model).
    context: ProcessContext,
    /// The working directory of the process being run.
    cwd: GuestPath,
    /// `Win32_OperatingSystem.LastBootUpTime`; a reboot changes it.
    last_boot: Option<chrono::DateTime<chrono::Utc>>,
    /// The tools.conf text vmtoolsd loaded, and when it last looked.
    tools_conf_loaded: String,
    tools_conf_polled: Option<tokio::time::Instant>,
    /// An HNS network with an external vSwitch on Ethernet0 exists, so the
    /// lease lives on `vEthernet (Ethernet0)` (see `create_hns_network`).
    hns_vswitch: bool,
    process_log: Vec<String>,
    password_on_command_line: bool,
}

impl WindowsGuest {
    pub fn windows_server_2022(hostname: &str) -> Self {
        Self::new(GuestOs::WindowsServer2022, hostname)
    }

    /// A fresh install of `os` as it comes out of a vSphere template: tools
    /// installed and running with an `exclude-nics` line the pipeline must
    /// repair, no OpenSSH server, no container runtime.
    pub fn new(os: GuestOs, hostname: &str) -> Self {
        let mut guest = WindowsGuest {
            hostname: hostname.to_string(),
            os,
            display_language: "en-US".into(),
            install_language: "en-US".into(),
            user: "Administrator".into(),
            password: Secret::default(),
            fs: GuestFs::with_drives(&['C']),
            services: Services::default(),
            features: Features::default(),
            firewall: Firewall::default(),
            updates: Updates::new(os),
            network: Network::default(),
            appx: Vec::new(),
            sysprep: SysprepState::default(),
            timing: GuestTiming::default(),
            context: ProcessContext::default(),
            cwd: default_working_directory(),
            last_boot: None,
            tools_conf_loaded: tools_conf::DEFAULT_TOOLS_CONF.to_string(),
            tools_conf_polled: None,
            hns_vswitch: false,
            process_log: Vec::new(),
            password_on_command_line: false,
        };
        guest.install_base_system();
        guest
    }

    fn install_base_system(&mut self) {
        let dirs = [
            r"C:\Windows\System32\Sysprep\Panther",
            r"C:\Windows\System32\WindowsPowerShell\v1.0",
            r"C:\Windows\Temp",
            r"C:\ProgramData\VMware\VMware Tools",
            r"C:\Program Files\VMware\VMware Tools",
            r"C:\Users\Administrator\Desktop",
        ];
        for dir in dirs {
            self.seed_dir(dir);
        }
        for program in [
            SYSPREP_PATH,
            CMD_PATH,
            POWERSHELL_PATH,
            ICACLS_PATH,
            SC_PATH,
            SHUTDOWN_PATH,
        ] {
            // Real binaries start with the DOS "MZ" header; only the size and
            // existence of these matter to clients.
            self.seed_file(program, "MZ");
        }
        self.seed_file(TOOLS_CONF_PATH, tools_conf::DEFAULT_TOOLS_CONF);
        self.services.install(
            "VMTools",
            "VMware Tools",
            StartType::Automatic,
            ServiceStatus::Running,
        );
        self.services.install(
            "WinRM",
            "Windows Remote Management (WS-Management)",
            StartType::Automatic,
            ServiceStatus::Running,
        );
        self.services.install(
            "W32Time",
            "Windows Time",
            StartType::Manual,
            ServiceStatus::Stopped,
        );
        self.features
            .set(scripts::CONTAINERS_FEATURE, FeatureState::Available);
        self.features
            .set(scripts::OPENSSH_SERVER_CAPABILITY, FeatureState::Available);
        self.features
            .set("OpenSSH.Client~~~~0.0.1.0", FeatureState::Installed);
        self.firewall.ensure(FirewallRule::inbound(
            "WINRM-HTTP-In-TCP",
            "Windows Remote Management (HTTP-In)",
            Protocol::Tcp,
            5985,
        ));
    }

    /// Paths here are constants of the model, so a failure is a bug in this
    /// file, not bad input; it is logged rather than unwrapped.
    fn seed_dir(&mut self, dir: &str) {
        if let Err(e) = GuestPath::parse(dir).and_then(|p| self.fs.create_dir(&p, true)) {
            tracing::error!(error = %e, "guest model: cannot seed directory");
        }
    }

    fn seed_file(&mut self, path: &str, content: &str) {
        if let Err(e) = GuestPath::parse(path).and_then(|p| self.fs.write(&p, content.into(), true))
        {
            tracing::error!(error = %e, "guest model: cannot seed file");
        }
    }

    /// The same disk and configuration under a new hostname, as a clone gets.
    pub fn cloned(&self, new_hostname: &str) -> Self {
        let mut copy = self.clone();
        copy.hostname = new_hostname.to_string();
        copy.process_log.clear();
        copy.password_on_command_line = false;
        copy
    }

    pub fn with_credentials(mut self, user: &str, password: Secret) -> Self {
        self.set_credentials(user, password);
        self
    }

    pub fn set_credentials(&mut self, user: &str, password: Secret) {
        self.user = user.to_string();
        self.password = password;
    }

    pub fn set_timing(&mut self, timing: GuestTiming) {
        self.timing = timing;
    }

    pub fn timing(&self) -> &GuestTiming {
        &self.timing
    }

    pub fn hostname(&self) -> &str {
        &self.hostname
    }

    pub fn os(&self) -> &GuestOs {
        &self.os
    }

    /// The display (UI) language of the build account (`Get-UICulture`).
    pub fn language(&self) -> &str {
        &self.display_language
    }

    /// The language Windows was installed in (`InstalledUICulture`).
    pub fn install_language(&self) -> &str {
        &self.install_language
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// Windows account names are case-insensitive and may be qualified with
    /// `.\` or the computer name. A blank password never authenticates:
    /// Windows limits blank-password accounts to console logons.
    pub fn check_credentials(&self, user: &str, password: &str) -> bool {
        let account = match user.split_once('\\') {
            Some((domain, account))
                if domain == "." || domain.eq_ignore_ascii_case(&self.hostname) =>
            {
                account
            }
            Some(_) => return false,
            None => user,
        };
        account.eq_ignore_ascii_case(&self.user)
            && !self.password.is_empty()
            && password == self.password.expose()
    }

    // ---------- filesystem ----------

    pub fn write_file(
        &mut self,
        path: &str,
        blob: FileBlob,
        overwrite: bool,
    ) -> Result<(), GuestError> {
        self.fs.write(&GuestPath::parse(path)?, blob, overwrite)
    }

    pub fn read_file(&self, path: &str) -> Result<FileBlob, GuestError> {
        self.fs.read(&GuestPath::parse(path)?)
    }

    pub fn stat(&self, path: &str) -> Result<GuestFileInfo, GuestError> {
        self.fs.stat(&GuestPath::parse(path)?)
    }

    pub fn list(&self, dir: &str) -> Result<Vec<GuestFileSummary>, GuestError> {
        self.fs.list(&GuestPath::parse(dir)?)
    }

    pub fn create_dir(&mut self, path: &str, parents: bool) -> Result<(), GuestError> {
        self.fs.create_dir(&GuestPath::parse(path)?, parents)
    }

    pub fn delete_dir(&mut self, path: &str, recursive: bool) -> Result<(), GuestError> {
        self.fs.delete_dir(&GuestPath::parse(path)?, recursive)
    }

    pub fn delete_file(&mut self, path: &str) -> Result<(), GuestError> {
        self.fs.delete_file(&GuestPath::parse(path)?)
    }

    /// Sets the Windows attributes a transfer's `attributes.windows` asks for.
    pub fn set_file_attributes(
        &mut self,
        path: &str,
        hidden: Option<bool>,
        read_only: Option<bool>,
    ) -> Result<(), GuestError> {
        self.fs
            .set_attributes(&GuestPath::parse(path)?, hidden, read_only)
    }

    /// The file's ACL, as `icacls` would list it.
    pub fn file_acl(&self, path: &str) -> Result<&Acl, GuestError> {
        self.fs.acl(&GuestPath::parse(path)?)
    }

    // ---------- processes ----------

    /// Starts `spec` in the guest: applies the program's effects now and
    /// returns how it ends. `Err` means Windows could not start it at all.
    pub fn run_process(&mut self, spec: &ProcessSpec) -> Result<ProcessOutcome, GuestError> {
        let mut command_line = match &spec.arguments {
            Some(args) if !args.is_empty() => format!("\"{}\" {}", spec.path, args),
            _ => format!("\"{}\"", spec.path),
        };
        // Process command lines are visible to anyone who may list guest
        // processes; a password there is a leak the model makes visible
        // (without keeping the password itself in its log).
        let password = self.password.expose();
        if !password.is_empty() && command_line.contains(password) {
            self.password_on_command_line = true;
            command_line = command_line.replace(password, "***");
            tracing::warn!(hostname = %self.hostname, "the guest password was passed on a process command line");
        }
        self.process_log.push(command_line);
        let sshd_was_running = self.services.is_running("sshd");
        let vmtools_stops = self.services.stop_count("VMTools");
        let mut outcome = programs::run(self, spec)?;
        // sshd creates its host keys when it starts and finds none.
        if !sshd_was_running && self.services.is_running("sshd") {
            openssh::ensure_host_keys(self);
        }
        outcome.tools_restarted |= self.services.stop_count("VMTools") > vmtools_stops;
        if outcome.tools_restarted && self.vmtools_running() {
            // The service came back: it loaded tools.conf as it started.
            self.load_tools_conf();
        }
        Ok(outcome)
    }

    /// Whether any process was started with the guest password in its
    /// arguments (secrets must travel in files, never on command lines).
    pub fn password_seen_on_command_line(&self) -> bool {
        self.password_on_command_line
    }

    /// Every command line started in this guest since it was created or
    /// cloned; lets tests assert that no secret ever reached an argument.
    pub fn process_log(&self) -> &[String] {
        &self.process_log
    }
}
