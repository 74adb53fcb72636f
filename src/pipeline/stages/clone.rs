//! clone: the source VM cloned to the build VM in the build folder, pool and
//! datastore, marked as gild's in its annotation (which also shows the
//! build's lock to anyone looking in vCenter), and powered on. The source
//! is only read.

use super::Build;
use crate::pipeline::error::StageError;
use crate::vsphere::wire::{ClonePlacement, CloneSpec, PowerState};
use crate::vsphere::wire::{DatastoreId, FolderId, ResourcePoolId, VmId};

/// The text gild writes into a build VM's annotation. `gild cleanup` only
/// deletes VMs whose annotation starts with [`ANNOTATION_PREFIX`].
pub const ANNOTATION_PREFIX: &str = "gild build VM";

pub fn annotation(pipeline: &str, build_id: &str) -> String {
    format!(
        "{ANNOTATION_PREFIX}: pipeline {pipeline}, build {build_id}; locked by pid {} on {} since {}. \
         Not a template: `gild cleanup` removes it if the build did not.",
        std::process::id(),
        crate::pipeline::state::hostname(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
    )
}

pub async fn run(b: &mut Build<'_>) -> Result<String, StageError> {
    let inv = b.require_inventory()?.clone();
    let (vm, fresh) = match b.vm().cloned() {
        Some(vm) => (vm, false),
        None => {
            let spec = CloneSpec {
                source: VmId::new(inv.source_vm.as_str()),
                name: b.vm_name().to_string(),
                placement: Some(ClonePlacement {
                    folder: Some(FolderId::new(inv.folder.as_str())),
                    resource_pool: Some(ResourcePoolId::new(inv.resource_pool.as_str())),
                    datastore: Some(DatastoreId::new(inv.datastore.as_str())),
                    ..ClonePlacement::default()
                }),
                power_on: Some(false),
            };
            let vm = b
                .client
                .clone_vm(&spec)
                .await
                .map_err(StageError::vsphere(format!(
                    "clone {} to {}",
                    inv.source_vm,
                    b.vm_name()
                )))?;
            b.set_vm(vm.clone());
            (vm, true)
        }
    };
    let note = annotation(&b.job.pipeline.name, b.build_id());
    b.client
        .set_annotation(&vm, &note)
        .await
        .map_err(StageError::vsphere(format!("annotate {vm}")))?;
    // A clone made just now is powered off (`power_on: false`); only a
    // resumed build's VM needs a look first.
    let on = !fresh
        && b.client
            .power(&vm)
            .await
            .map_err(StageError::vsphere(format!("read the power state of {vm}")))?
            .state
            == PowerState::PoweredOn;
    if !on {
        b.client
            .power_on(&vm)
            .await
            .map_err(StageError::vsphere(format!("power on {vm}")))?;
    }
    let power = b
        .client
        .power(&vm)
        .await
        .map_err(StageError::vsphere(format!("read the power state of {vm}")))?;
    b.checks
        .expect_eq("build VM powered on", "POWERED_ON", power_name(power.state))?;
    Ok(format!("{} = {vm}, powered on", b.vm_name()))
}

pub fn power_name(state: PowerState) -> &'static str {
    match state {
        PowerState::PoweredOn => "POWERED_ON",
        PowerState::PoweredOff => "POWERED_OFF",
        PowerState::Suspended => "SUSPENDED",
    }
}
