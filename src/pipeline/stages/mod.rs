//! The stages of SPEC's table, one module each. A stage gets the build
//! ([`Build`]), does its work, verifies the result by reading it back
//! (recording each verification in `build.checks`) and returns a one-line
//! summary. Every stage is idempotent: run twice (a resumed build, a retry)
//! it finds its work done and only verifies.

mod address;
mod clone;
mod guest_steps;
mod hardware;
mod kubernetes_node;
mod network;
mod preflight;
mod publish;
mod sysprep;
mod tools;
mod unattend;

pub use address::{
    finisher as watch_finisher, needed_polls, AddressWatch, Poll, DEFAULT_STABLE_POLLS,
};
pub use clone::ANNOTATION_PREFIX;
pub use kubernetes_node::NODE_FILES;

use super::check::Checks;
use super::config::StageConfig;
use super::engine::BuildJob;
use super::error::{StageError, StateError};
use super::guest::Guest;
use super::state::{Facts, InventoryIds, Progress, StateData, TemplateRecord, VmRecord};
use crate::vsphere::wire::PowerState;
use crate::vsphere::wire::VmId;
use crate::vsphere::{Client, VsphereError};
use std::time::Duration;

/// What a running build knows and owns. The build VM is the only thing in
/// vCenter it may change or delete; the source VM and templates published
/// by earlier builds are only ever read.
pub struct Build<'a> {
    pub job: &'a BuildJob,
    pub client: &'a Client,
    pub checks: Checks,
    pub facts: Facts,
    pub inventory: Option<InventoryIds>,
    build_id: String,
    vm: Option<VmId>,
    vm_name: String,
    vm_removed: bool,
    template_name: String,
    template: Option<TemplateRecord>,
    /// When the running stage's timeout ends.
    deadline: Option<tokio::time::Instant>,
    /// The address the network stage recorded, watched over later stages.
    address: Option<AddressWatch>,
    /// The stage of this run that completes the watch when sysprep does
    /// not run (see [`address`]).
    watch_finisher: Option<String>,
}

impl<'a> Build<'a> {
    /// Starts from what the state file holds, so a resumed build picks up
    /// the VM, ids and facts of its first run.
    pub fn new(job: &'a BuildJob, client: &'a Client, state: &StateData) -> Self {
        let vm = state.build_vm.as_ref();
        Build {
            job,
            client,
            checks: Checks::default(),
            facts: state.facts.clone(),
            inventory: state.inventory.clone(),
            build_id: state.build_id.clone(),
            vm: vm.and_then(|v| v.id.clone()).map(VmId::new),
            vm_name: state.build_vm_name.clone(),
            vm_removed: vm.is_some_and(|v| v.removed),
            template_name: state.template_name.clone(),
            template: state.template.clone(),
            deadline: None,
            address: address::from_state(state, address::needed_polls(&job.pipeline.stages)),
            watch_finisher: None,
        }
    }

    /// The engine says which stages this run makes (`--only`, `--skip`,
    /// `--resume` leave some out), so the address watch is completed by
    /// sysprep or, without it, by the last guest stage that runs.
    pub(crate) fn plan(&mut self, to_run: &[&str]) {
        self.watch_finisher = address::finisher(to_run);
    }

    /// The network stage starts watching the address it recorded.
    pub(crate) fn watch_address(&mut self, watch: AddressWatch) {
        self.address = Some(watch);
    }

    /// The engine starts a stage's clock.
    pub(crate) fn begin_stage(&mut self, timeout: Duration) {
        self.deadline = Some(tokio::time::Instant::now() + timeout);
    }

    /// How long a wait inside the stage may take: what is left of the
    /// stage's timeout, less a margin, so the stage reports what it saw
    /// before the engine's timeout cuts it off without a word.
    pub(crate) fn wait_budget(&self) -> Duration {
        let left = self.deadline.map_or(Duration::from_secs(1800), |d| {
            d.saturating_duration_since(tokio::time::Instant::now())
        });
        left.saturating_sub((left / 10).min(Duration::from_secs(5)))
    }

    pub fn persist(&self, state: &mut super::state::BuildState) -> Result<(), StateError> {
        state.sync(self.progress())
    }

    /// What the build has learnt so far, as the state file keeps it.
    pub fn progress(&self) -> Progress {
        Progress {
            inventory: self.inventory.clone(),
            build_vm: Some(VmRecord {
                id: self.vm.as_ref().map(|v| v.to_string()),
                name: self.vm_name.clone(),
                removed: self.vm_removed,
            }),
            template: self.template.clone(),
            facts: self.facts.clone(),
        }
    }

    pub fn vm(&self) -> Option<&VmId> {
        self.vm.as_ref().filter(|_| !self.vm_removed)
    }

    /// The build's id (the first run's, when resumed).
    pub fn build_id(&self) -> &str {
        &self.build_id
    }

    pub fn vm_name(&self) -> &str {
        &self.vm_name
    }

    pub fn template_name(&self) -> &str {
        &self.template_name
    }

    pub fn template(&self) -> Option<&TemplateRecord> {
        self.template.as_ref()
    }

    /// "win2022-build-20261207-0541 (vm-14)", or the name alone before the clone.
    pub fn vm_label(&self) -> String {
        match &self.vm {
            Some(id) => format!("{} ({id})", self.vm_name),
            None => self.vm_name.clone(),
        }
    }

    pub(crate) fn require_vm(&self) -> Result<VmId, StageError> {
        self.vm().cloned().ok_or_else(|| {
            StageError::Precondition(format!(
                "there is no build VM {} yet: the clone stage has not run in this build \
                 (pass --resume to continue a build whose VM exists)",
                self.vm_name
            ))
        })
    }

    pub(crate) fn require_inventory(&self) -> Result<&InventoryIds, StageError> {
        self.inventory.as_ref().ok_or_else(|| {
            StageError::Precondition("the inventory is not resolved: run preflight first".into())
        })
    }

    pub(crate) fn guest<'b>(&'b self, vm: &'b VmId) -> Guest<'b> {
        Guest {
            client: self.client,
            vm,
            creds: &self.job.secrets.guest,
            dir: &self.job.pipeline.guest.work_dir,
        }
    }

    /// Resolves a path written in the pipeline file (relative to its folder).
    pub(crate) fn local_path(&self, path: &std::path::Path) -> std::path::PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.job.base_dir.join(path)
        }
    }

    /// After a failure: the build VM (or the template it became, before it
    /// was published) is powered off and deleted. A published template is
    /// never deleted here. Returns what was done.
    pub async fn discard(&mut self) -> Result<Option<String>, VsphereError> {
        if self.template.as_ref().is_some_and(|t| t.published) {
            return Ok(None);
        }
        let vm = match self.vm() {
            Some(vm) => vm.clone(),
            None => match self.find_by_name().await? {
                Some(vm) => vm,
                None => return Ok(None),
            },
        };
        let deadline = Duration::from_secs(600);
        let is_template = self.template.is_some() || self.client.is_template(&vm).await?;
        if is_template {
            let task = self.client.destroy(&vm).await?;
            self.client.wait_task(&task, deadline).await?;
        } else {
            match self.client.power(&vm).await {
                Ok(p) if p.state != PowerState::PoweredOff => self.client.power_off(&vm).await?,
                Ok(_) => {}
                Err(e) if e.is_not_found() => {
                    self.vm_removed = true;
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
            match self.client.delete_vm(&vm).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e),
            }
        }
        self.vm_removed = true;
        self.template = None;
        Ok(Some(format!(
            "{} {} ({vm}) powered off and deleted",
            if is_template { "template" } else { "build VM" },
            self.vm_name
        )))
    }

    /// A crash between asking for the clone and hearing its id leaves only
    /// the name: look it up in the build folder.
    async fn find_by_name(&self) -> Result<Option<VmId>, VsphereError> {
        let Some(inv) = &self.inventory else {
            return Ok(None);
        };
        let filter = crate::vsphere::ListFilter::new()
            .name(&self.vm_name)
            .folder(&crate::vsphere::wire::FolderId::new(inv.folder.as_str()));
        Ok(self
            .client
            .list_vms(&filter)
            .await?
            .into_iter()
            .next()
            .map(|v| v.vm))
    }

    pub(crate) fn set_vm(&mut self, vm: VmId) {
        self.vm = Some(vm);
        self.vm_removed = false;
    }

    pub(crate) fn set_template(&mut self, template: TemplateRecord) {
        self.template = Some(template);
    }
}

/// Runs one stage: first the address watch's poll when one is due, then
/// the stage, then, in the stage that completes the watch, its last polls.
pub async fn run(stage: &StageConfig, b: &mut Build<'_>) -> Result<String, StageError> {
    address::at_stage_start(b, stage.name()).await?;
    let mut summary = run_stage(stage, b).await?;
    if b.watch_finisher.as_deref() == Some(stage.name()) {
        if let Some(vm) = b.vm().cloned() {
            if let Some(done) = address::complete(b, &vm).await? {
                summary.push_str(&format!("; {done}"));
            }
        }
    }
    Ok(summary)
}

/// Each stage's future is boxed: together they would make one state
/// machine too large for a thread's stack in debug builds.
async fn run_stage(stage: &StageConfig, b: &mut Build<'_>) -> Result<String, StageError> {
    match stage {
        StageConfig::Preflight(_) => Box::pin(preflight::run(b)).await,
        StageConfig::Clone(_) => Box::pin(clone::run(b)).await,
        StageConfig::Hardware(o) => Box::pin(hardware::run(b, o)).await,
        StageConfig::Tools(o) => Box::pin(tools::run(b, o)).await,
        StageConfig::ToolsConf(_) => Box::pin(guest_steps::tools_conf(b)).await,
        StageConfig::Network(o) => Box::pin(network::run(b, o)).await,
        StageConfig::Openssh(o) => Box::pin(guest_steps::openssh(b, o)).await,
        StageConfig::ContainerRuntime(o) => Box::pin(guest_steps::container_runtime(b, o)).await,
        StageConfig::Firewall(o) => Box::pin(guest_steps::firewall(b, o)).await,
        StageConfig::KubernetesNode(o) => Box::pin(kubernetes_node::run(b, o)).await,
        StageConfig::WindowsUpdate(o) => Box::pin(guest_steps::windows_update(b, o)).await,
        StageConfig::Scripts(o) => Box::pin(guest_steps::user_scripts(b, o)).await,
        StageConfig::Unattend(_) => Box::pin(unattend::run(b)).await,
        StageConfig::Sysprep(_) => Box::pin(sysprep::run(b)).await,
        StageConfig::Template(_) => Box::pin(publish::template(b)).await,
        StageConfig::Publish(_) => Box::pin(publish::publish(b)).await,
        StageConfig::Machineset(_) => Box::pin(publish::machineset(b)).await,
    }
}
