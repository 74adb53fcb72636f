//! The fewest vCenter requests a build of a pipeline needs, stage by stage,
//! derived from what each stage must do (SPEC's stage table and the
//! verification each stage promises), not from what gild happens to send.
//! `gild bench build` puts gild's request log next to it.
//!
//! The model, per stage, with one poll per wait (a wait that is already
//! over at its first look):
//! - a look-up per object the pipeline names (as if vCenter found a path
//!   in one call, which VI's `SearchIndex.FindByInventoryPath` does), the
//!   reads each check needs and nothing read twice;
//! - a guest script: started, polled once, its result file downloaded
//!   (a transfer URL, then the GET); each script and `gild-common.ps1`
//!   uploaded once before its first run (a transfer URL, then the PUT),
//!   into a folder created once;
//! - a guest stage proves its result with one independent read-out
//!   (`collect-facts.ps1`), as the stages promise;
//! - a reboot: the boot time read first (collect-facts), the reboot, one
//!   poll of Tools and guest operations, and the new boot's facts (which
//!   are also the stage's read-out);
//! - a VI task: the call and one poll of its state;
//! - the address: `stable_polls` reads of the guest identity, the first in
//!   the network stage and the others wherever the address watch makes
//!   them (counted where it must finish: sysprep, or the last guest stage
//!   of a pipeline without one), and one more read before generalizing.
//!
//! What the pipeline file cannot say — how many reboots the guest asked
//! for, whether the hardware or Tools needed an upgrade, what the template
//! folder held — comes from [`Circumstances`], read off the build's own
//! request log by [`Circumstances::observed`]. These are the guest's and
//! the inventory's doing, not gild's choices.

use super::config::{Pipeline, StageConfig};
use super::run::{RouteCounts, StageRequests};
use crate::simulator::Timing;
use std::collections::BTreeSet;
use std::time::Duration;

/// Route keys as the simulator's request log names them (`METHOD route`).
pub mod route {
    pub const LOGIN: &str = "POST /api/session";
    pub const LOGOUT: &str = "DELETE /api/session";
    pub const HELLO: &str = "POST /api/vcenter/system?action=hello";
    pub const DATACENTERS: &str = "GET /api/vcenter/datacenter";
    pub const FOLDERS: &str = "GET /api/vcenter/folder";
    pub const CLUSTERS: &str = "GET /api/vcenter/cluster";
    pub const POOLS: &str = "GET /api/vcenter/resource-pool";
    pub const DATASTORES: &str = "GET /api/vcenter/datastore";
    pub const NETWORKS: &str = "GET /api/vcenter/network";
    pub const VMS: &str = "GET /api/vcenter/vm";
    pub const VM: &str = "GET /api/vcenter/vm/{vm}";
    pub const VI_CONFIG: &str = "GET /sdk/vim25/{release}/VirtualMachine/{mo}/config";
    pub const FIND_CHILD: &str = "POST /sdk/vim25/{release}/SearchIndex/{mo}/FindChild";
    pub const CLONE: &str = "POST /api/vcenter/vm?action=clone";
    pub const RECONFIGURE: &str = "POST /sdk/vim25/{release}/VirtualMachine/{mo}/ReconfigVM_Task";
    pub const TASK: &str = "GET /sdk/vim25/{release}/Task/{task}/info";
    pub const POWER: &str = "GET /api/vcenter/vm/{vm}/power";
    pub const POWER_ON: &str = "POST /api/vcenter/vm/{vm}/power?action=start";
    pub const POWER_OFF: &str = "POST /api/vcenter/vm/{vm}/power?action=stop";
    pub const HARDWARE: &str = "GET /api/vcenter/vm/{vm}/hardware";
    pub const HARDWARE_UPGRADE: &str = "POST /api/vcenter/vm/{vm}/hardware?action=upgrade";
    pub const TOOLS: &str = "GET /api/vcenter/vm/{vm}/tools";
    pub const TOOLS_UPGRADE: &str = "POST /api/vcenter/vm/{vm}/tools?action=upgrade";
    pub const GUEST_OPERATIONS: &str = "GET /api/vcenter/vm/{vm}/guest/operations";
    pub const IDENTITY: &str = "GET /api/vcenter/vm/{vm}/guest/identity";
    pub const REBOOT: &str = "POST /api/vcenter/vm/{vm}/guest/power?action=reboot";
    pub const MKDIR: &str = "POST /api/vcenter/vm/{vm}/guest/filesystem/directories?action=create";
    pub const TRANSFER: &str = "POST /api/vcenter/vm/{vm}/guest/filesystem?action=create";
    pub const UPLOAD: &str = "PUT /guestFile";
    pub const DOWNLOAD: &str = "GET /guestFile";
    pub const FILE_INFO: &str =
        "POST /api/vcenter/vm/{vm}/guest/filesystem/files/{path}?action=get";
    pub const PROCESS_START: &str = "POST /api/vcenter/vm/{vm}/guest/processes?action=create";
    pub const PROCESS_GET: &str = "POST /api/vcenter/vm/{vm}/guest/processes/{pid}?action=get";
    pub const MARK_AS_TEMPLATE: &str =
        "POST /sdk/vim25/{release}/VirtualMachine/{mo}/MarkAsTemplate";
    pub const MOVE: &str = "POST /sdk/vim25/{release}/Folder/{mo}/MoveIntoFolder_Task";
    pub const RENAME: &str = "POST /sdk/vim25/{release}/VirtualMachine/{mo}/Rename_Task";
    pub const DESTROY: &str = "POST /sdk/vim25/{release}/VirtualMachine/{mo}/Destroy_Task";
    pub const CHILDREN: &str = "GET /sdk/vim25/{release}/Folder/{mo}/childEntity";
}

/// What the build met that the pipeline file does not say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Circumstances {
    /// Guest reboots, by the stage that asked for them.
    pub reboots: RouteCounts,
    pub hardware_upgraded: bool,
    pub tools_upgraded: bool,
    /// VMs in the template folder when the publish stage lists it (the new
    /// template included).
    pub template_folder_vms: u64,
    /// Old templates the publish stage destroyed.
    pub pruned: u64,
    /// Files the `kubernetes_node` stage's folder lists in its SHA256SUMS:
    /// the folder's content, not gild's choice.
    pub node_files: u64,
}

impl Circumstances {
    /// Read off a build's requests by stage: the reboots, upgrades and
    /// destroyed templates it needed. `template_folder_vms` is what the
    /// inventory held there (the new template included).
    pub fn observed(stages: &[StageRequests], template_folder_vms: u64) -> Self {
        let n = |stage: &str, key: &str| -> u64 {
            stages
                .iter()
                .filter(|s| s.stage == stage)
                .map(|s| s.counts.get(key).copied().unwrap_or(0))
                .sum()
        };
        let mut reboots = RouteCounts::new();
        for s in stages {
            if let Some(r) = s.counts.get(route::REBOOT).filter(|r| **r > 0) {
                *reboots.entry(s.stage.clone()).or_default() += r;
            }
        }
        Circumstances {
            reboots,
            hardware_upgraded: n("hardware", route::HARDWARE_UPGRADE) > 0,
            tools_upgraded: n("tools", route::TOOLS_UPGRADE) > 0,
            template_folder_vms,
            pruned: n("publish", route::DESTROY),
            // Every listed file is read back once, beside the script's
            // result, the facts' result and start-node.ps1.
            node_files: n("kubernetes_node", route::DOWNLOAD).saturating_sub(3),
        }
    }
}

/// One stage's needs: `(route, count, why)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageNeeds {
    pub stage: String,
    pub needs: Vec<(&'static str, u64, String)>,
}

impl StageNeeds {
    fn new(stage: &str) -> Self {
        StageNeeds {
            stage: stage.to_string(),
            needs: Vec::new(),
        }
    }

    fn add(&mut self, route: &'static str, count: u64, why: impl Into<String>) {
        if count > 0 {
            self.needs.push((route, count, why.into()));
        }
    }

    pub fn total(&self) -> u64 {
        self.needs.iter().map(|(_, n, _)| n).sum()
    }

    pub fn counts(&self) -> RouteCounts {
        let mut out = RouteCounts::new();
        for (route, n, _) in &self.needs {
            *out.entry(route.to_string()).or_default() += n;
        }
        out
    }
}

/// Every stage's needs, in pipeline order, after a first entry
/// `session` (log in, log out).
pub fn minimum(p: &Pipeline, c: &Circumstances) -> Vec<StageNeeds> {
    let mut session = StageNeeds::new("session");
    session.add(route::LOGIN, 1, "log in");
    session.add(route::LOGOUT, 1, "log out");
    let mut out = vec![session];
    let mut guest = GuestModel::default();
    // The network stage's first poll, then `stable_polls - 1` more over the
    // later stages: sysprep completes the watch, or else the last guest
    // stage (see `stages::address`).
    let names: Vec<&str> = p.stages.iter().map(StageConfig::name).collect();
    let has_network = names.contains(&"network");
    let polls = crate::pipeline::stages::needed_polls(&p.stages);
    let watch_completed_by = has_network.then(|| {
        crate::pipeline::stages::watch_finisher(&names).unwrap_or_else(|| "sysprep".into())
    });
    let watch_completed_by = watch_completed_by.as_deref();
    for stage in &p.stages {
        let mut s = StageNeeds::new(stage.name());
        let reboots = c.reboots.get(stage.name()).copied().unwrap_or(0);
        match stage {
            StageConfig::Preflight(_) => preflight(p, &mut s),
            StageConfig::Clone(_) => {
                s.add(route::CLONE, 1, "clone, powered off");
                task(&mut s, route::RECONFIGURE, 1, "annotate (the build's lock)");
                s.add(route::POWER_ON, 1, "power on");
                s.add(route::POWER, 1, "read the power state back");
            }
            StageConfig::Hardware(_) => {
                s.add(route::HARDWARE, 1, "read the hardware version");
                if c.hardware_upgraded {
                    s.add(route::POWER_OFF, 1, "power off for the upgrade");
                    s.add(route::HARDWARE_UPGRADE, 1, "upgrade");
                    s.add(route::POWER_ON, 1, "power on again");
                    s.add(route::HARDWARE, 1, "read the new version back");
                }
            }
            StageConfig::Tools(_) => {
                wait_for_tools(&mut s, "Tools running (its version in the same answer)");
                if c.tools_upgraded {
                    s.add(route::TOOLS_UPGRADE, 1, "upgrade Tools");
                    wait_for_tools(&mut s, "Tools back, new version");
                }
                // The OS build, its revision and the display language,
                // checked against the target in the guest.
                guest.facts(&mut s);
            }
            StageConfig::ToolsConf(_) => {
                if p.target.requires_empty_exclude_nics() {
                    guest.script(&mut s, "repair-tools-conf.ps1");
                }
                guest.facts(&mut s);
            }
            StageConfig::Network(o) => {
                if p.target.is_wmco() {
                    s.add(route::VM, 1, "count the NICs (WMCO: one)");
                }
                s.add(route::IDENTITY, 1, "the first usable address");
                if !o.resolve.is_empty() {
                    guest.script(&mut s, "resolve-names.ps1");
                }
            }
            StageConfig::Openssh(_) => {
                guest.script(&mut s, "install-openssh.ps1");
                guest.upload(&mut s, 1, "the public key");
                guest.script(&mut s, "set-authorized-key.ps1");
                guest.facts(&mut s);
                download(&mut s, 1, "administrators_authorized_keys read back");
            }
            StageConfig::ContainerRuntime(_) => {
                guest.script(&mut s, "install-container-runtime.ps1");
                if reboots == 0 {
                    guest.facts(&mut s);
                }
                for _ in 0..reboots {
                    guest.reboot(&mut s);
                }
            }
            StageConfig::Firewall(_) => {
                guest.script(&mut s, "open-firewall.ps1");
                guest.facts(&mut s);
            }
            StageConfig::WindowsUpdate(_) => {
                // A round that rebooted is followed by another; the last
                // installs nothing.
                for _ in 0..=reboots {
                    guest.script(&mut s, "windows-update.ps1");
                }
                for _ in 0..reboots {
                    guest.reboot(&mut s);
                }
                guest.facts(&mut s);
            }
            StageConfig::Scripts(o) => {
                let n = o.run.len() as u64;
                if n > 0 {
                    s.add(route::MKDIR, 1, "the user script folder");
                    guest.upload(&mut s, n, "each user script");
                    s.add(route::PROCESS_START, n, "run each user script");
                    s.add(route::PROCESS_GET, n, "one poll of each");
                }
            }
            StageConfig::Unattend(_) => {
                guest.upload(&mut s, 1, "the answer file");
                download(&mut s, 1, "the answer file read back");
            }
            StageConfig::Sysprep(_) => {
                s.add(route::POWER, 1, "already generalized? (a resumed build)");
                // sshd stopped and host keys deleted, then the pre-checks
                // (pending reboot, AppX, rearm, host keys, the answer file).
                guest.script(&mut s, "prepare-sysprep.ps1");
                guest.script(&mut s, "check-sysprep.ps1");
                if has_network {
                    s.add(
                        route::IDENTITY,
                        1,
                        "the address read again before generalizing",
                    );
                }
                s.add(route::PROCESS_START, 1, "start sysprep");
                s.add(route::POWER, 1, "one poll: powered off");
            }
            StageConfig::Template(_) => {
                s.add(route::POWER, 1, "powered off");
                s.add(route::VI_CONFIG, 1, "a template already? (a resumed build)");
                task(
                    &mut s,
                    route::RECONFIGURE,
                    1,
                    "annotate with the provenance",
                );
                s.add(route::MARK_AS_TEMPLATE, 1, "mark as template");
                s.add(route::VI_CONFIG, 1, "read the template flag back");
            }
            StageConfig::Publish(_) => publish(p, c, &mut s),
            StageConfig::KubernetesNode(o) => {
                let n = c.node_files;
                s.add(route::MKDIR, 1, "the node files' folder");
                guest.upload(&mut s, n + 1, "each node file and SHA256SUMS");
                if o.kubeconfig.is_some() {
                    guest.upload(&mut s, 1, "the kubeconfig");
                }
                guest.script(&mut s, "install-kubernetes-node.ps1");
                download(&mut s, n, "each file read back from C:\\k");
                guest.facts(&mut s);
                download(&mut s, 1, "start-node.ps1 read back");
            }
            StageConfig::Machineset(_) => {}
        }
        if Some(stage.name()) == watch_completed_by {
            s.add(
                route::IDENTITY,
                u64::from(polls - 1),
                "the address watch's other stable polls (made at the start of \
                 whichever earlier stages came a poll interval after the last, \
                 the rest here)",
            );
        }
        out.push(s);
    }
    out
}

/// The whole build's needs by route.
pub fn total(stages: &[StageNeeds]) -> RouteCounts {
    let mut out = RouteCounts::new();
    for s in stages {
        for (route, n) in s.counts() {
            *out.entry(route).or_default() += n;
        }
    }
    out
}

fn preflight(p: &Pipeline, s: &mut StageNeeds) {
    let pl = &p.placement;
    s.add(route::DATACENTERS, 1, "placement.datacenter");
    let folders: BTreeSet<&str> = [pl.folder.as_str(), p.template.folder.as_str()].into();
    s.add(
        route::FOLDERS,
        folders.len() as u64,
        "placement.folder, template.folder",
    );
    match (&pl.cluster, &pl.resource_pool) {
        (_, Some(_)) => s.add(route::POOLS, 1, "placement.resource_pool"),
        (Some(_), None) => {
            s.add(route::CLUSTERS, 1, "placement.cluster");
            s.add(route::POOLS, 1, "the cluster's root pool");
        }
        (None, None) => {}
    }
    let reads = [
        (
            route::DATASTORES,
            "placement.datastore (its free space with it)",
        ),
        (route::NETWORKS, "placement.network"),
        (route::VMS, "source.vm"),
        (route::VM, "the source's guest OS and disks"),
        (
            route::HELLO,
            "the VI/JSON release, before the first VI call",
        ),
        (route::VI_CONFIG, "the source is not a template"),
        (route::VMS, "the build VM name is free"),
        (route::FIND_CHILD, "the template name is free"),
    ];
    for (route, why) in reads {
        s.add(route, 1, why);
    }
}

fn publish(p: &Pipeline, c: &Circumstances, s: &mut StageNeeds) {
    s.add(route::FIND_CHILD, 1, "the final name is still free");
    if p.template.folder != p.placement.folder {
        task(s, route::MOVE, 1, "into the template folder");
    }
    task(s, route::RENAME, 1, "to the final name");
    s.add(route::FIND_CHILD, 1, "found by its final name");
    let vms = c.template_folder_vms.max(1);
    s.add(route::CHILDREN, 1, "list the template folder");
    s.add(route::VI_CONFIG, vms, "each VM's annotation there");
    if c.pruned > 0 {
        task(s, route::DESTROY, c.pruned, "destroy the oldest");
        s.add(route::CHILDREN, 1, "list again");
        s.add(route::VI_CONFIG, vms - c.pruned.min(vms), "each one left");
    }
}

/// A VI task: the call and one poll.
fn task(s: &mut StageNeeds, call: &'static str, n: u64, why: &str) {
    s.add(call, n, why);
    s.add(route::TASK, n, format!("{why}: one poll of the task"));
}

fn wait_for_tools(s: &mut StageNeeds, why: &str) {
    s.add(route::TOOLS, 1, why);
    s.add(route::GUEST_OPERATIONS, 1, "guest operations ready");
}

fn download(s: &mut StageNeeds, n: u64, why: &str) {
    transfer(s, route::DOWNLOAD, n, why);
}

/// A guest file transfer: its URL, then the PUT or GET.
fn transfer(s: &mut StageNeeds, method: &'static str, n: u64, why: &str) {
    s.add(route::TRANSFER, n, format!("{why}: transfer URL"));
    s.add(method, n, why);
}

/// What the guest already holds, so each script is uploaded once.
#[derive(Default)]
struct GuestModel {
    uploaded: BTreeSet<&'static str>,
}

impl GuestModel {
    fn upload(&mut self, s: &mut StageNeeds, n: u64, why: &str) {
        transfer(s, route::UPLOAD, n, why);
    }

    /// Runs a shipped script: uploaded first if it is not there yet.
    fn script(&mut self, s: &mut StageNeeds, name: &'static str) {
        if self.uploaded.is_empty() {
            s.add(route::MKDIR, 1, "the scripts' folder");
            self.upload(s, 1, "gild-common.ps1");
            self.uploaded.insert("gild-common.ps1");
        }
        if self.uploaded.insert(name) {
            self.upload(s, 1, name);
        }
        s.add(route::PROCESS_START, 1, format!("run {name}"));
        s.add(route::PROCESS_GET, 1, format!("{name}: one poll"));
        download(s, 1, &format!("{name}'s result file"));
    }

    /// The stage's independent read-out.
    fn facts(&mut self, s: &mut StageNeeds) {
        self.script(s, "collect-facts.ps1");
    }

    /// Boot time first, the reboot, one poll of the wait, the new facts.
    fn reboot(&mut self, s: &mut StageNeeds) {
        self.facts(s);
        s.add(route::REBOOT, 1, "reboot the guest");
        wait_for_tools(s, "Tools back after the reboot");
        self.facts(s);
    }
}

/// The time a build with no overhead of its own would take on the
/// simulator's `timing`, stage by stage: the critical path of what the
/// simulator models (clone, power-on, Tools after each boot, the IP after
/// Tools — in the network stage and again for sysprep's address read —,
/// each guest process, each VI task, reboots, sysprep's run until the
/// power-off), given the requests each stage made. A wait already
/// over when its stage begins costs nothing: the IP comes `ip_assign`
/// after Tools whatever gild did meanwhile. The build's wall time beyond
/// this is gild's: requests, its own work and polling lag.
pub fn modelled_time(t: &Timing, stages: &[StageRequests]) -> Vec<Duration> {
    let mut clock = Duration::ZERO;
    // When the guest's current boot began: Tools run `tools_start` later.
    let mut boot: Option<Duration> = None;
    let mut out = Vec::new();
    for s in stages {
        let start = clock;
        let n = |key: &str| s.counts.get(key).copied().unwrap_or(0) as u32;
        clock += t.clone * n(route::CLONE);
        clock += t.task
            * (n(route::RECONFIGURE) + n(route::RENAME) + n(route::MOVE) + n(route::DESTROY));
        if n(route::POWER_ON) > 0 {
            // The start call answers after `power_on`; the boot begins then.
            clock += t.power_on * n(route::POWER_ON);
            boot = Some(clock);
        }
        match (s.stage.as_str(), boot) {
            ("tools", Some(b)) => clock = clock.max(b + t.tools_start),
            ("network", Some(b)) => clock = clock.max(b + t.tools_start + t.ip_assign),
            _ => {}
        }
        let processes = n(route::PROCESS_START);
        if s.stage == "sysprep" && processes > 0 {
            // Sysprep is the stage's last process; the VM powers off as it ends.
            clock += t.process_default * (processes - 1);
            // Before it, the pre-checks read the address, which a guest
            // reports `ip_assign` after Tools start (after the last reboot).
            if let (true, Some(b)) = (n(route::IDENTITY) > 0, boot) {
                clock = clock.max(b + t.tools_start + t.ip_assign);
            }
            clock += t.sysprep.max(t.process_default);
        } else {
            clock += t.process_default * processes;
        }
        for _ in 0..n(route::REBOOT) {
            clock += t.guest_reboot;
            boot = Some(clock);
            clock += t.tools_start;
        }
        out.push(clock - start);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> RouteCounts {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    #[test]
    fn circumstances_come_from_the_stage_that_made_the_request() {
        let stage = |name: &str, c: RouteCounts| StageRequests {
            stage: name.to_string(),
            wall: std::time::Duration::ZERO,
            counts: c,
            log: vec![],
        };
        let stages = vec![
            stage("hardware", counts(&[(route::HARDWARE, 1)])),
            stage(
                "container_runtime",
                counts(&[(route::REBOOT, 1), (route::TOOLS, 3)]),
            ),
            stage("publish", counts(&[(route::DESTROY, 2)])),
        ];
        let c = Circumstances::observed(&stages, 3);
        assert_eq!(c.reboots, counts(&[("container_runtime", 1)]));
        assert!(!c.hardware_upgraded && !c.tools_upgraded);
        assert_eq!((c.pruned, c.template_folder_vms), (2, 3));
    }
}
