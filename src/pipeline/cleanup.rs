//! `gild cleanup`: removes the build VMs gild left behind — after a crash
//! (kill -9, a lost runner), a `--on-error keep`, or a cleanup that failed.
//!
//! A VM is removed only when both hold: gild knows it as a build VM of this
//! pipeline (recorded in a state file, or named `<pipeline>-build-<stamp>`)
//! AND its annotation says gild made it as a build VM. Templates are never
//! removed here (a template's annotation is a different one, and templates
//! are skipped outright), nor is the pipeline's source VM, nor the VM of a
//! build that is still running.

use super::naming;
use super::resolve;
use super::stages::ANNOTATION_PREFIX;
use super::state::{BuildState, StateStore};
use crate::vsphere::wire::{PowerState, VmId};
use crate::vsphere::{Client, ListFilter, VsphereError};
use std::collections::BTreeSet;
use std::time::Duration;

/// What cleanup did to one VM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Removed {
        vm: VmId,
        name: String,
    },
    /// Found but left alone, and why.
    Kept {
        vm: VmId,
        name: String,
        why: String,
    },
    /// Would be removed (`--dry-run`).
    WouldRemove {
        vm: VmId,
        name: String,
    },
}

#[derive(Clone, Debug)]
pub struct Options {
    /// Only VMs older than this (by the time in their name or state file).
    pub older_than: Duration,
    pub dry_run: bool,
}

/// Cleans up after one pipeline's builds.
pub async fn cleanup(
    client: &Client,
    pipeline: &super::config::Pipeline,
    store: &StateStore,
    opts: &Options,
) -> Result<Vec<Action>, CleanupError> {
    let resolved = resolve::resolve(client, pipeline)
        .await
        .map_err(CleanupError::Resolve)?;
    let now = chrono::Utc::now();
    let cutoff = now - chrono::Duration::from_std(opts.older_than).unwrap_or_default();
    let mut actions = Vec::new();
    let mut seen = BTreeSet::new();

    // 1. What state files say was left, and builds still running.
    let mut running_vms = BTreeSet::new();
    let mut leftovers = Vec::new();
    for (path, data) in store.list().map_err(CleanupError::State)? {
        if let Some(vm) = &data.build_vm {
            if data.leftover_vm().is_none() && data.status == super::state::BuildStatus::Running {
                running_vms.insert(vm.name.clone());
            }
        }
        if let Some(vm) = data.leftover_vm() {
            leftovers.push((path, data.started, vm.clone()));
        }
    }
    for (path, started, record) in leftovers {
        let id = match &record.id {
            Some(id) => Some(VmId::new(id.as_str())),
            None => find_in(client, &resolved.build_folder, &record.name).await?,
        };
        let Some(id) = id else {
            // Never created, or already gone: the state file is done with.
            if !opts.dry_run {
                BuildState::open(&path)
                    .and_then(|mut s| s.cleaned_up())
                    .map_err(CleanupError::State)?;
            }
            continue;
        };
        if started > cutoff {
            actions.push(Action::Kept {
                vm: id,
                name: record.name,
                why: "newer than --older-than".into(),
            });
            continue;
        }
        seen.insert(id.clone());
        let action = remove_if_ours(client, &id, &record.name, &resolved.source_vm, opts).await?;
        if matches!(action, Action::Removed { .. }) {
            BuildState::open(&path)
                .and_then(|mut s| s.cleaned_up())
                .map_err(CleanupError::State)?;
        }
        actions.push(action);
    }

    // 2. Build VMs by name in the build folder (a state file lost with its runner).
    let vms = client
        .list_vms(&ListFilter::new().folder(&resolved.build_folder))
        .await
        .map_err(CleanupError::Vsphere)?;
    for vm in vms {
        if seen.contains(&vm.vm) || running_vms.contains(&vm.name) {
            continue;
        }
        let Some(made) = naming::parse_build_vm_name(&pipeline.name, &vm.name) else {
            continue;
        };
        if made.and_utc() > cutoff {
            actions.push(Action::Kept {
                vm: vm.vm,
                name: vm.name,
                why: "newer than --older-than".into(),
            });
            continue;
        }
        actions.push(remove_if_ours(client, &vm.vm, &vm.name, &resolved.source_vm, opts).await?);
    }
    Ok(actions)
}

async fn find_in(
    client: &Client,
    folder: &crate::vsphere::wire::FolderId,
    name: &str,
) -> Result<Option<VmId>, CleanupError> {
    let found = client
        .list_vms(&ListFilter::new().folder(folder).name(name))
        .await
        .map_err(CleanupError::Vsphere)?;
    Ok(found.into_iter().next().map(|v| v.vm))
}

async fn remove_if_ours(
    client: &Client,
    vm: &VmId,
    name: &str,
    source: &VmId,
    opts: &Options,
) -> Result<Action, CleanupError> {
    let kept = |why: &str| Action::Kept {
        vm: vm.clone(),
        name: name.to_string(),
        why: why.to_string(),
    };
    if vm == source {
        return Ok(kept("it is the pipeline's source VM"));
    }
    let children = match client.vm_config(vm).await {
        Ok(c) => c,
        Err(e) if e.is_not_found() => return Ok(kept("already gone")),
        Err(e) => return Err(CleanupError::Vsphere(e)),
    };
    if children.template {
        return Ok(kept("it is a template"));
    }
    if !children.annotation.starts_with(ANNOTATION_PREFIX) {
        return Ok(kept(
            "its annotation does not say gild made it as a build VM",
        ));
    }
    if opts.dry_run {
        return Ok(Action::WouldRemove {
            vm: vm.clone(),
            name: name.to_string(),
        });
    }
    let power = client.power(vm).await.map_err(CleanupError::Vsphere)?;
    if power.state != PowerState::PoweredOff {
        client.power_off(vm).await.map_err(CleanupError::Vsphere)?;
    }
    match client.delete_vm(vm).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(CleanupError::Vsphere(e)),
    }
    Ok(Action::Removed {
        vm: vm.clone(),
        name: name.to_string(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error("cannot resolve the pipeline's inventory")]
    Resolve(#[source] resolve::ResolveError),
    #[error(transparent)]
    State(super::error::StateError),
    #[error("vCenter refused a cleanup call")]
    Vsphere(#[source] VsphereError),
}
