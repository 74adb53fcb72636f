//! The demo's build VM and who removes it.
//!
//! Whoever holds a [`BuildVm`] owns the VM's removal, so no caller keeps
//! an id on the side: the success path consumes the guard with
//! [`BuildVm::finish`], a failed step with [`BuildVm::discard`]. Removal
//! talks to vCenter and cannot run in `Drop` (there is no async drop), so
//! one of the two must be called; a guard dropped while still armed (a
//! delete that failed, a panic, a forgotten call) logs a warning naming the
//! VM to remove by hand instead of leaving it in vCenter unmentioned.

use crate::vsphere::wire::{CloneSpec, PowerState, VmId};
use crate::vsphere::{Client, VsphereError};

#[must_use = "a build VM must be finished or discarded, or it is left in vCenter"]
pub struct BuildVm<'c> {
    client: &'c Client,
    id: VmId,
    /// True until the VM is known to be gone; `Drop` warns while it is set.
    armed: bool,
}

impl<'c> BuildVm<'c> {
    /// Clones `spec` and takes charge of the new VM. The client reads a
    /// clone back before repeating it, so a retried clone yields this one
    /// VM and not a second one that no guard owns.
    pub async fn clone(client: &'c Client, spec: &CloneSpec) -> Result<Self, VsphereError> {
        let id = client.clone_vm(spec).await?;
        Ok(BuildVm {
            client,
            id,
            armed: true,
        })
    }

    pub fn id(&self) -> &VmId {
        &self.id
    }

    /// The success path: deletes the VM, which the caller has powered off
    /// as a checked step. Returns its id for the step line; on an error the
    /// guard is dropped armed and says the VM is left.
    pub async fn finish(mut self) -> Result<VmId, VsphereError> {
        self.client.delete_vm(&self.id).await?;
        self.armed = false;
        Ok(self.id.clone())
    }

    /// After a failed step: powers the VM off (when it is on) and deletes
    /// it. A VM already gone counts as removed. On an error the guard is
    /// dropped armed and says the VM is left.
    pub async fn discard(mut self) -> Result<VmId, VsphereError> {
        match self.client.power(&self.id).await {
            Ok(p) if p.state != PowerState::PoweredOff => self.client.power_off(&self.id).await?,
            Ok(_) => {}
            Err(e) if e.is_not_found() => {
                self.armed = false;
                return Ok(self.id.clone());
            }
            Err(e) => return Err(e),
        }
        match self.client.delete_vm(&self.id).await {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
        self.armed = false;
        Ok(self.id.clone())
    }
}

impl Drop for BuildVm<'_> {
    fn drop(&mut self) {
        if self.armed {
            tracing::warn!(
                vm = %self.id,
                "build VM {} was left in vCenter: power it off and delete it by hand",
                self.id
            );
        }
    }
}
