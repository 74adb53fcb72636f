//! The modelled Windows guest behind every simulated VM.
//!
//! A [`WindowsGuest`] is plain data owned by the VM record in the simulator's
//! state: a filesystem, services, features, firewall rules, updates and a
//! sysprep state. It knows nothing about time, pids or HTTP — SIM-CORE owns
//! those — so every operation here is synchronous and applies its effect at
//! once; [`ProcessOutcome`] tells the caller how long the modelled process
//! should appear to run and what it does to the VM's power when it exits.
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
mod fs;
mod os;
mod powershell;
mod programs;
mod scripts;
mod sysprep;
mod system;
#[cfg(test)]
mod tests;
mod tools_conf;

pub use cmdline::split as split_command_line;
pub use error::GuestError;
pub use fs::{Ace, Acl, FileBlob, GuestPath};
pub use os::GuestOs;
pub use scripts::{ParamKind, ScriptDef, ScriptParam, LIBRARY_FILES, SCRIPTS};
pub use system::{
    Direction, FeatureState, FirewallRule, Protocol, Service, ServiceStatus, StartType,
    SysprepState, DEFAULT_REARM_BUDGET,
};

use crate::secret::Secret;
use crate::vsphere::wire::{GuestFileInfo, GuestFileSummary, ProcessSpec};
use fs::GuestFs;
use std::time::Duration;
use system::{Features, Firewall, Services, Updates};

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
}

impl ProcessOutcome {
    pub(crate) fn exited(exit_code: i64) -> Self {
        ProcessOutcome {
            exit_code,
            duration: Duration::ZERO,
            after_exit: None,
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
}

/// One modelled Windows installation.
#[derive(Clone, Debug)]
pub struct WindowsGuest {
    hostname: String,
    os: GuestOs,
    language: String,
    user: String,
    password: Secret,
    fs: GuestFs,
    services: Services,
    features: Features,
    firewall: Firewall,
    updates: Updates,
    sysprep: SysprepState,
    timing: GuestTiming,
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
            language: "en-US".into(),
            user: "Administrator".into(),
            password: Secret::default(),
            fs: GuestFs::with_drives(&['C']),
            services: Services::default(),
            features: Features::default(),
            firewall: Firewall::default(),
            updates: Updates::default(),
            sysprep: SysprepState::default(),
            timing: GuestTiming::default(),
            process_log: Vec::new(),
            password_on_command_line: false,
        };
        guest.updates.ubr = os.baseline_ubr();
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
        self.firewall.ensure(FirewallRule {
            name: "WINRM-HTTP-In-TCP".into(),
            protocol: Protocol::Tcp,
            local_port: 5985,
            direction: Direction::Inbound,
            enabled: true,
        });
        self.updates.installed = self
            .os
            .baseline_kbs()
            .iter()
            .map(|kb| kb.to_string())
            .collect();
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

    pub fn language(&self) -> &str {
        &self.language
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
        programs::run(self, spec)
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

    // ---------- configuration state (read) ----------

    pub fn services(&self) -> impl Iterator<Item = &Service> {
        self.services.iter()
    }

    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.get(name)
    }

    pub fn features(&self) -> impl Iterator<Item = (&str, FeatureState)> {
        self.features.iter()
    }

    pub fn feature(&self, name: &str) -> Option<FeatureState> {
        self.features.state(name)
    }

    pub fn firewall_rules(&self) -> &[FirewallRule] {
        self.firewall.rules()
    }

    /// Whether an enabled inbound rule admits this protocol and port.
    pub fn firewall_allows_inbound(&self, protocol: Protocol, port: u16) -> bool {
        self.firewall.allows_inbound(protocol, port)
    }

    pub fn installed_kbs(&self) -> &[String] {
        &self.updates.installed
    }

    pub fn reboot_pending(&self) -> bool {
        self.updates.pending_reboot
    }

    pub fn sysprep_state(&self) -> &SysprepState {
        &self.sysprep
    }

    /// The state collect-facts.ps1 reports, as JSON of the same shape
    /// (for admin read-outs and assertions without running a process).
    pub fn facts(&self) -> serde_json::Value {
        scripts::facts(self)
    }

    /// Tools report RUNNING only while the VMTools service runs (SIM-CORE
    /// adds power state and the start-up delay on top).
    pub fn vmtools_running(&self) -> bool {
        self.services.is_running("VMTools")
    }

    // ---------- faults and life cycle (SIM-CORE) ----------

    /// The sysprep-failure fault: while set, sysprep fails and writes setuperr.log.
    pub fn set_sysprep_failure(&mut self, fail: bool) {
        self.sysprep.fail_injected = fail;
    }

    pub fn set_rearm_budget(&mut self, rearms_left: u32) {
        self.sysprep.rearms_left = rearms_left;
    }

    /// Stops or starts a service from outside (fault injection, tests).
    pub fn set_service_status(
        &mut self,
        name: &str,
        status: ServiceStatus,
    ) -> Result<(), GuestError> {
        let service = self.services.get_mut(name).ok_or_else(|| {
            GuestError::InvalidArgument(format!("service {name} is not installed in the guest"))
        })?;
        service.status = status;
        Ok(())
    }

    /// The VM powered on or finished a reboot.
    pub fn boot(&mut self) {
        self.services.boot();
        self.features.boot();
        self.updates.restarted();
        if self.sysprep.image_state == "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE" {
            // First boot after generalize runs specialize + OOBE.
            self.sysprep.image_state = "IMAGE_STATE_COMPLETE".into();
        }
    }

    /// The VM powered off (or is going down for a reboot).
    pub fn power_off(&mut self) {
        self.services.stop_all();
    }
}
