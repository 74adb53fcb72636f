//! Build state files: one JSON file per build, rewritten atomically after
//! every stage, holding what a crash must not lose — the build VM's id, the
//! stages verified so far with their checks, the facts read from the guest —
//! and the build's lock.
//!
//! Layout: `<state dir>/<pipeline>/<build id>.json`. Starting a build takes
//! an OS file lock on `<state dir>/<pipeline>/.lock` only for the moment it
//! scans and creates, so two `gild build` runs started together cannot both
//! see "no build running". The lock that lasts is the `lock` field of the
//! running build's own file (pid, host, heartbeat): it survives a kill -9,
//! which is what lets the next run tell a crashed build from a running one.
//!
//! [`BuildState`] owns one file. Its fields are private and change only
//! through methods that save the file, so what is on disk is never behind
//! what the engine has done.

use super::check::Check;
use super::error::StateError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

const FORMAT: u32 = 1;

/// How long a lock held on another host stays valid without a heartbeat.
pub const HEARTBEAT_STALE_AFTER: Duration = Duration::from_secs(180);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildStatus {
    Running,
    Succeeded,
    Failed,
    Interrupted,
    /// Replaced by a `--force` build; its VM (if any) is `gild cleanup`'s.
    Abandoned,
    /// `gild cleanup` removed what it left.
    CleanedUp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub pid: u32,
    pub host: String,
    pub started: DateTime<Utc>,
    pub heartbeat: DateTime<Utc>,
}

impl Lock {
    fn mine() -> Lock {
        let now = Utc::now();
        Lock {
            pid: std::process::id(),
            host: hostname(),
            started: now,
            heartbeat: now,
        }
    }

    /// Whether the holder may still be running. On this host that is a
    /// question the process table answers; elsewhere only the heartbeat can.
    pub fn is_alive(&self) -> bool {
        if self.host == hostname() {
            if self.pid == std::process::id() {
                return true;
            }
            return pid_alive(self.pid);
        }
        let age = Utc::now().signed_duration_since(self.heartbeat);
        age.to_std().map_or(true, |a| a < HEARTBEAT_STALE_AFTER)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmRecord {
    /// `None` between recording the name and vCenter answering the clone:
    /// a crash there leaves only the name to look for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    /// Whether gild deleted it (cleanup after a failure, or publish).
    #[serde(default)]
    pub removed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRecord {
    pub id: String,
    pub name: String,
    pub published: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageStatus {
    Passed,
    Failed,
    Skipped,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecord {
    pub stage: String,
    pub status: StageStatus,
    pub started: DateTime<Utc>,
    pub duration_ms: u64,
    /// The stage's one-line summary, or why it failed or was skipped.
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
}

/// The guest's OS as collect-facts reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsFacts {
    pub caption: String,
    pub build: u32,
    pub ubr: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

/// What the build learned about the image, for the manifest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsFacts>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub installed_kbs: Vec<String>,
    /// KBs the windows_update stage installed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub updates_installed: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_version: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_runtime: Option<String>,
    /// SHA-256 of every file gild put into the guest, by guest path.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub uploaded: BTreeMap<String, String>,
    /// SHA-256 of the rendered answer file with its password removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_file_sha256: Option<String>,
}

/// Inventory ids preflight resolved, kept so a resumed build places and
/// publishes exactly where the first run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryIds {
    pub datacenter: String,
    pub folder: String,
    pub template_folder: String,
    pub resource_pool: String,
    pub datastore: String,
    pub network: String,
    pub source_vm: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StateData {
    pub format: u32,
    pub pipeline: String,
    pub pipeline_file: PathBuf,
    pub build_id: String,
    /// Decided once, at the first run, so a resumed build publishes under
    /// the same name even when the pattern has `{date}`.
    pub build_vm_name: String,
    pub template_name: String,
    pub status: BuildStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock: Option<Lock>,
    pub started: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub vcenter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<InventoryIds>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build_vm: Option<VmRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRecord>,
    #[serde(default)]
    pub stages: Vec<StageRecord>,
    #[serde(default)]
    pub facts: Facts,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl StateData {
    /// A build that ended without cleaning up after itself: it crashed (its
    /// lock's holder is gone) while it had a VM.
    pub fn crashed(&self) -> bool {
        self.status == BuildStatus::Running && self.lock.as_ref().is_none_or(|l| !l.is_alive())
    }

    /// The VM this build left in vCenter, if it may still be there.
    pub fn leftover_vm(&self) -> Option<&VmRecord> {
        match self.status {
            BuildStatus::Succeeded | BuildStatus::CleanedUp => None,
            BuildStatus::Running if !self.crashed() => None,
            _ => self.build_vm.as_ref().filter(|v| !v.removed),
        }
    }

    pub fn last_passed_stage(&self) -> Option<&str> {
        self.stages
            .iter()
            .rev()
            .find(|s| s.status == StageStatus::Passed)
            .map(|s| s.stage.as_str())
    }
}

/// The part of the state a running build changes as it goes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub inventory: Option<InventoryIds>,
    pub build_vm: Option<VmRecord>,
    pub template: Option<TemplateRecord>,
    pub facts: Facts,
}

/// How a new build treats the pipeline's earlier builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartMode {
    /// Refuse when one runs or one crashed.
    Fresh,
    /// Continue the newest unfinished build.
    Resume,
    /// Take over a stale lock and start anew.
    Force,
}

/// What a new build records before its first stage.
pub struct NewBuild {
    pub pipeline: String,
    pub pipeline_file: PathBuf,
    pub build_id: String,
    pub build_vm_name: String,
    pub template_name: String,
    pub vcenter: String,
}

/// The state files of one pipeline.
#[derive(Clone, Debug)]
pub struct StateStore {
    dir: PathBuf,
    pipeline: String,
}

impl StateStore {
    pub fn new(state_dir: &Path, pipeline: &str) -> Self {
        StateStore {
            dir: state_dir.join(pipeline),
            pipeline: pipeline.to_string(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every state file of this pipeline, oldest first. Files that cannot be
    /// read are skipped with a warning rather than stopping a cleanup.
    pub fn list(&self) -> Result<Vec<(PathBuf, StateData)>, StateError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StateError::Io {
                    action: "list",
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match read(&path) {
                Ok(data) => out.push((path, data)),
                Err(e) => tracing::warn!(error = %e, "skipping unreadable state file"),
            }
        }
        out.sort_by_key(|a| a.1.started);
        Ok(out)
    }

    /// Starts (or, with [`StartMode::Resume`], continues) a build, taking its
    /// lock. See the module docs for how concurrent starts are kept apart.
    pub fn begin(&self, new: NewBuild, mode: StartMode) -> Result<BuildState, StateError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| StateError::Io {
            action: "create the folder of",
            path: self.dir.clone(),
            source,
        })?;
        let guard_path = self.dir.join(".lock");
        let guard = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&guard_path)
            .map_err(|source| StateError::Io {
                action: "open",
                path: guard_path.clone(),
                source,
            })?;
        guard.lock().map_err(|source| StateError::Io {
            action: "lock",
            path: guard_path.clone(),
            source,
        })?;
        let result = self.begin_locked(new, mode);
        let _ = guard.unlock();
        result
    }

    fn begin_locked(&self, new: NewBuild, mode: StartMode) -> Result<BuildState, StateError> {
        let existing = self.list()?;
        for (path, data) in &existing {
            let Some(lock) = data.lock.as_ref() else {
                continue;
            };
            if data.status != BuildStatus::Running || !lock.is_alive() {
                continue;
            }
            // A live holder on this host is certainly running: --force
            // must not start a second build next to it.
            let provably_running = lock.host == hostname();
            if mode != StartMode::Force || provably_running {
                return Err(StateError::Locked {
                    pipeline: self.pipeline.clone(),
                    pid: lock.pid,
                    host: lock.host.clone(),
                    started: lock.started.to_rfc3339(),
                    path: path.clone(),
                });
            }
        }
        match mode {
            StartMode::Resume => {
                let (path, mut data) = existing
                    .into_iter()
                    .rev()
                    .find(|(_, d)| d.leftover_vm().is_some())
                    .ok_or_else(|| StateError::NothingToResume {
                        pipeline: self.pipeline.clone(),
                        dir: self.dir.clone(),
                    })?;
                data.status = BuildStatus::Running;
                data.lock = Some(Lock::mine());
                data.error = None;
                let state = BuildState { path, data };
                state.save()?;
                Ok(state)
            }
            StartMode::Fresh | StartMode::Force => {
                for (path, data) in existing {
                    if !data.crashed() {
                        continue;
                    }
                    if mode == StartMode::Fresh {
                        return Err(StateError::Unfinished {
                            pipeline: self.pipeline.clone(),
                            build_id: data.build_id.clone(),
                            last_stage: data.last_passed_stage().unwrap_or("none").to_string(),
                            vm: data.build_vm.as_ref().map_or("none".into(), |v| {
                                format!("{} ({})", v.name, v.id.as_deref().unwrap_or("id unknown"))
                            }),
                            path,
                        });
                    }
                    let mut old = BuildState { path, data };
                    old.data.status = BuildStatus::Abandoned;
                    old.data.lock = None;
                    old.save()?;
                }
                let now = Utc::now();
                let data = StateData {
                    format: FORMAT,
                    pipeline: new.pipeline,
                    pipeline_file: new.pipeline_file,
                    build_id: new.build_id.clone(),
                    build_vm_name: new.build_vm_name,
                    template_name: new.template_name,
                    status: BuildStatus::Running,
                    lock: Some(Lock::mine()),
                    started: now,
                    updated: now,
                    vcenter: new.vcenter,
                    inventory: None,
                    build_vm: None,
                    template: None,
                    stages: Vec::new(),
                    facts: Facts::default(),
                    error: None,
                };
                let state = BuildState {
                    path: self.dir.join(format!("{}.json", new.build_id)),
                    data,
                };
                state.save()?;
                Ok(state)
            }
        }
    }
}

/// One build's state file, owned by the running build.
#[derive(Debug)]
pub struct BuildState {
    path: PathBuf,
    data: StateData,
}

impl BuildState {
    /// Opens an existing file to change it outside a build (`gild cleanup`).
    pub fn open(path: &Path) -> Result<BuildState, StateError> {
        Ok(BuildState {
            path: path.to_path_buf(),
            data: read(path)?,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn data(&self) -> &StateData {
        &self.data
    }

    pub fn build_id(&self) -> &str {
        &self.data.build_id
    }

    /// Whether `stage` passed in this build (a resumed build skips it).
    pub fn passed(&self, stage: &str) -> bool {
        self.data
            .stages
            .iter()
            .any(|s| s.stage == stage && s.status == StageStatus::Passed)
    }

    /// Records what the build knows now (saved only when it changed). The
    /// build VM is recorded by name before the clone is asked for, so a
    /// crash in between still leaves the name `gild cleanup` looks for.
    pub fn sync(&mut self, progress: Progress) -> Result<(), StateError> {
        if self.take_progress(progress) {
            self.save()?;
        }
        Ok(())
    }

    /// [`BuildState::sync`] and [`BuildState::record_stage`] in one write.
    pub fn record_stage_with(
        &mut self,
        progress: Progress,
        record: StageRecord,
    ) -> Result<(), StateError> {
        self.take_progress(progress);
        self.record_stage(record)
    }

    /// Takes `progress` in; whether anything changed.
    fn take_progress(&mut self, progress: Progress) -> bool {
        let Progress {
            inventory,
            build_vm,
            template,
            facts,
        } = progress;
        let changed = self.data.inventory != inventory
            || self.data.build_vm != build_vm
            || self.data.template != template
            || self.data.facts != facts;
        if changed {
            self.data.inventory = inventory;
            self.data.build_vm = build_vm;
            self.data.template = template;
            self.data.facts = facts;
        }
        changed
    }

    pub fn set_build_vm(&mut self, vm: VmRecord) -> Result<(), StateError> {
        self.data.build_vm = Some(vm);
        self.save()
    }

    /// `gild cleanup` removed the VM this build left.
    pub fn cleaned_up(&mut self) -> Result<(), StateError> {
        if let Some(vm) = self.data.build_vm.as_mut() {
            vm.removed = true;
        }
        self.data.status = BuildStatus::CleanedUp;
        self.data.lock = None;
        self.save()
    }

    /// Records a stage's outcome (replacing an earlier record of the same
    /// stage, so a resumed build's file has one line per stage).
    pub fn record_stage(&mut self, record: StageRecord) -> Result<(), StateError> {
        self.data.stages.retain(|s| s.stage != record.stage);
        self.data.stages.push(record);
        self.save()
    }

    pub fn heartbeat(&mut self) -> Result<(), StateError> {
        if let Some(lock) = self.data.lock.as_mut() {
            lock.heartbeat = Utc::now();
        }
        self.save()
    }

    /// Ends the build: the lock is released with the final status.
    pub fn finish(&mut self, status: BuildStatus, error: Option<String>) -> Result<(), StateError> {
        self.data.status = status;
        self.data.lock = None;
        self.data.error = error;
        self.save()
    }

    /// Write to a temporary file in the same folder, flush it to disk, then
    /// rename it over the old one: a crash leaves the old or the new file,
    /// never half of one.
    fn save(&self) -> Result<(), StateError> {
        let io = |action: &'static str| {
            let path = self.path.clone();
            move |source| StateError::Io {
                action,
                path,
                source,
            }
        };
        let mut data = self.data.clone();
        data.updated = Utc::now();
        let text = serde_json::to_vec_pretty(&data).map_err(|source| StateError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io("create a temporary"))?;
        tmp.write_all(&text).map_err(io("write"))?;
        tmp.as_file().sync_all().map_err(io("flush"))?;
        tmp.persist(&self.path)
            .map_err(|e| e.error)
            .map_err(io("replace"))?;
        Ok(())
    }
}

fn read(path: &Path) -> Result<StateData, StateError> {
    let text = std::fs::read(path).map_err(|source| StateError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| StateError::Corrupt {
        path: path.to_path_buf(),
        source,
    })
}

/// The default state folder: `$GILD_STATE_DIR`, else
/// `$XDG_STATE_HOME/gild`, else `~/.local/state/gild`, else `.gild/state`.
pub fn default_state_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("GILD_STATE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("gild");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".local/state/gild");
    }
    PathBuf::from(".gild/state")
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// Whether a process with this pid exists here. Without /proc (not Linux)
/// the answer is "maybe", which keeps the lock: refusing is the safe error.
fn pid_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.exists() {
        return true;
    }
    proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_build(id: &str) -> NewBuild {
        NewBuild {
            pipeline: "p".into(),
            pipeline_file: "p.yaml".into(),
            build_id: id.into(),
            build_vm_name: format!("p-build-{id}"),
            template_name: "p-template".into(),
            vcenter: "https://vc/".into(),
        }
    }

    #[test]
    fn a_second_build_is_refused_while_the_first_holds_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path(), "p");
        let _first = store.begin(new_build("b1"), StartMode::Fresh).unwrap();
        let err = store.begin(new_build("b2"), StartMode::Fresh).unwrap_err();
        assert!(matches!(err, StateError::Locked { .. }), "{err}");
        // --force does not start a second build next to a live local one.
        let err = store.begin(new_build("b3"), StartMode::Force).unwrap_err();
        assert!(matches!(err, StateError::Locked { .. }), "{err}");
    }

    /// Build `b1` with VM vm-9, as kill -9 leaves it: the file still says
    /// Running, held by a pid that no longer exists.
    fn crashed_build(store: &StateStore, vm_name: &str) {
        let mut first = store.begin(new_build("b1"), StartMode::Fresh).unwrap();
        first
            .set_build_vm(VmRecord {
                id: Some("vm-9".into()),
                name: vm_name.into(),
                removed: false,
            })
            .unwrap();
        first.data.lock.as_mut().unwrap().pid = u32::MAX - 1;
        first.save().unwrap();
    }

    #[test]
    fn a_crashed_build_blocks_a_fresh_start_and_can_be_resumed_or_forced() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path(), "p");
        crashed_build(&store, "p-build-1");
        let err = store.begin(new_build("b2"), StartMode::Fresh).unwrap_err();
        assert!(matches!(err, StateError::Unfinished { .. }), "{err}");
        assert!(err.to_string().contains("--resume"), "{err}");

        let resumed = store
            .begin(new_build("ignored"), StartMode::Resume)
            .unwrap();
        assert_eq!(resumed.build_id(), "b1");
        assert_eq!(
            resumed.data().build_vm.as_ref().unwrap().id.as_deref(),
            Some("vm-9")
        );
        drop(resumed);
    }

    #[test]
    fn force_abandons_the_crashed_build_but_keeps_its_vm_for_cleanup() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path(), "p");
        crashed_build(&store, "n");
        let second = store.begin(new_build("b2"), StartMode::Force).unwrap();
        assert_eq!(second.build_id(), "b2");
        let all = store.list().unwrap();
        let old = all.iter().find(|(_, d)| d.build_id == "b1").unwrap();
        assert_eq!(old.1.status, BuildStatus::Abandoned);
        assert_eq!(old.1.leftover_vm().unwrap().id.as_deref(), Some("vm-9"));
    }

    #[test]
    fn saved_state_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path(), "p");
        let mut s = store.begin(new_build("b1"), StartMode::Fresh).unwrap();
        s.record_stage(StageRecord {
            stage: "clone".into(),
            status: StageStatus::Passed,
            started: Utc::now(),
            duration_ms: 5,
            message: "ok".into(),
            checks: vec![],
        })
        .unwrap();
        s.finish(BuildStatus::Succeeded, None).unwrap();
        let back = BuildState::open(s.path()).unwrap();
        assert!(back.passed("clone"));
        assert_eq!(back.data().status, BuildStatus::Succeeded);
        assert!(back.data().lock.is_none());
        assert!(back.data().leftover_vm().is_none());
    }

    #[test]
    fn a_stage_record_and_the_progress_before_it_are_written_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path(), "p");
        let mut s = store.begin(new_build("b1"), StartMode::Fresh).unwrap();
        let progress = Progress {
            facts: Facts {
                ip_address: Some("10.0.0.7".into()),
                ..Facts::default()
            },
            ..Progress::default()
        };
        let record = StageRecord {
            stage: "network".into(),
            status: StageStatus::Passed,
            started: Utc::now(),
            duration_ms: 5,
            message: "ok".into(),
            checks: vec![],
        };
        s.record_stage_with(progress, record).unwrap();
        let back = BuildState::open(s.path()).unwrap();
        assert!(back.passed("network"));
        assert_eq!(back.data().facts.ip_address.as_deref(), Some("10.0.0.7"));
    }

    #[test]
    fn a_lock_on_another_host_goes_stale_without_heartbeat() {
        let old = Utc::now() - chrono::Duration::seconds(3600);
        let lock = Lock {
            pid: 1,
            host: "elsewhere.invalid".into(),
            started: old,
            heartbeat: old,
        };
        assert!(!lock.is_alive());
        let fresh = Lock {
            heartbeat: Utc::now(),
            ..lock
        };
        assert!(fresh.is_alive());
    }
}
