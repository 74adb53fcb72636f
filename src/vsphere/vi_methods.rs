//! VI/JSON methods on VMs and folders: the `template` flag and the
//! configuration, annotation (ReconfigVM_Task), folder children and
//! FindChild, MoveIntoFolder_Task, MarkAsTemplate, Rename_Task and
//! Destroy_Task.
//!
//! None of the changes is idempotent on the wire, and none is blindly
//! repeated: after a lost answer each reads the state back first
//! (`Client::start_task`, or `recover_then_retry` for MarkAsTemplate,
//! which is not a task) and asks again only when the effect is not there:
//! - MarkAsTemplate: done when `config.template` is true;
//! - Rename_Task: done when `config.name` is the new name; a repeat while
//!   the first task still runs renames to the same name, which vCenter
//!   allows (a VM does not collide with its own name);
//! - ReconfigVM_Task (annotation): done when `config.annotation` is the
//!   text; a repeat writes the same text again;
//! - MoveIntoFolder_Task: done when the folder lists the VM; a repeat
//!   moves it into the folder it is being moved into;
//! - Destroy_Task: done when the VM is gone (ManagedObjectNotFound). A
//!   repeat while the first task runs can fail once that task removed the
//!   VM; the caller then sees the VM gone, which is what it asked for, on
//!   its next look (the pipeline's cleanup looks again).

use super::error::VsphereError;
use super::ops;
use super::session::Client;
use super::vijson::ViTask;
use super::wire::{DatacenterId, FolderId, VmId};
use serde::Serialize;
use serde_json::Value;
use std::time::Duration;

/// A VM or template in a folder, as its VI configuration describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChildVm {
    pub vm: VmId,
    pub name: String,
    pub template: bool,
    /// `config.annotation` (the "Notes" field); empty when unset.
    pub annotation: String,
    pub create_date: Option<String>,
}

/// A `ManagedObjectReference` as VI/JSON writes it.
#[derive(Serialize)]
pub(crate) struct MoRef<'a> {
    #[serde(rename = "_typeName")]
    type_name: &'static str,
    #[serde(rename = "type")]
    mo_type: &'static str,
    value: &'a str,
}

impl<'a> MoRef<'a> {
    pub(crate) fn new(mo_type: &'static str, value: &'a str) -> Self {
        MoRef {
            type_name: "ManagedObjectReference",
            mo_type,
            value,
        }
    }
}

/// `SearchIndex.FindByUuid`'s parameters.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FindByUuid<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    datacenter: Option<MoRef<'a>>,
    uuid: &'a str,
    vm_search: bool,
    instance_uuid: bool,
}

/// Methods without parameters take an empty object.
#[derive(Serialize)]
struct NoParams {}

#[derive(Serialize)]
struct Reconfigure<'a> {
    spec: AnnotationSpec<'a>,
}

/// The part of a `VirtualMachineConfigSpec` gild sets.
#[derive(Serialize)]
struct AnnotationSpec<'a> {
    #[serde(rename = "_typeName")]
    type_name: &'static str,
    annotation: &'a str,
}

#[derive(Serialize)]
struct FindChild<'a> {
    entity: MoRef<'a>,
    name: &'a str,
}

#[derive(Serialize)]
struct MoveInto<'a> {
    list: [MoRef<'a>; 1],
}

#[derive(Serialize)]
struct Rename<'a> {
    #[serde(rename = "newName")]
    new_name: &'a str,
}

impl Client {
    /// `VirtualMachine.config` (a `VirtualMachineConfigInfo`).
    async fn vm_config_raw(&self, vm: &VmId) -> Result<Value, VsphereError> {
        let what = format!("read the configuration of {vm}");
        self.vi_call(&ops::VI_VM_CONFIG, vm.as_str(), None, &what)
            .await?
            .json(&what)
    }

    /// A text property of the configuration, `""` when unset.
    async fn config_text(&self, vm: &VmId, key: &str) -> Result<String, VsphereError> {
        let config = self.vm_config_raw(vm).await?;
        Ok(config
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// Whether `vm` is an inventory template (`VirtualMachine.config.template`).
    /// `/api`'s VM list leaves templates out, so this is the way to tell.
    pub async fn is_template(&self, vm: &VmId) -> Result<bool, VsphereError> {
        self.vm_config_raw(vm)
            .await?
            .get("template")
            .and_then(Value::as_bool)
            .ok_or_else(|| {
                VsphereError::unexpected(
                    format!("read the configuration of {vm}"),
                    "VirtualMachineConfigInfo has no `template` flag",
                )
            })
    }

    /// `VirtualMachine.ReconfigVM_Task` setting only `annotation` (the
    /// Notes field), waited for. gild writes its build lock and template
    /// provenance there, where anyone looking at vCenter sees them.
    pub async fn set_annotation(&self, vm: &VmId, text: &str) -> Result<(), VsphereError> {
        let what = format!("set the annotation of {vm}");
        let body = Reconfigure {
            spec: AnnotationSpec {
                type_name: "VirtualMachineConfigSpec",
                annotation: text,
            },
        };
        let task = self
            .start_task(
                &ops::VI_VM_RECONFIGURE,
                vm.as_str(),
                &body,
                &what,
                || async { Ok(self.config_text(vm, "annotation").await? == text) },
            )
            .await?;
        self.wait_task(&task, Duration::from_secs(300))
            .await
            .map(drop)
    }

    /// `SearchIndex.FindChild`: the VM or template named `name` directly in
    /// `folder`. Unlike `/api`'s VM list this sees templates too, which is
    /// what checking a template name needs.
    pub async fn find_child_vm(
        &self,
        folder: &FolderId,
        name: &str,
    ) -> Result<Option<VmId>, VsphereError> {
        let what = format!("find {name:?} in folder {folder}");
        let body = FindChild {
            entity: MoRef::new("Folder", folder.as_str()),
            name,
        };
        let body = super::transport::encode(&what, &body)?;
        let reply = self
            .vi_call(&ops::VI_SEARCH_FIND_CHILD, "SearchIndex", Some(body), &what)
            .await?;
        found_vm(&reply, &what)
    }

    /// `SearchIndex.FindByUuid` with `instanceUuid: true`: the VM or
    /// template whose instance uuid (`config.instanceUuid`, what an
    /// OpenShift MachineSet may name its template by) is `uuid`, in
    /// `datacenter` when given.
    pub async fn find_vm_by_instance_uuid(
        &self,
        uuid: &str,
        datacenter: Option<&DatacenterId>,
    ) -> Result<Option<VmId>, VsphereError> {
        let what = format!("find the VM with instance uuid {uuid}");
        let body = FindByUuid {
            datacenter: datacenter.map(|dc| MoRef::new("Datacenter", dc.as_str())),
            uuid,
            vm_search: true,
            instance_uuid: true,
        };
        let body = super::transport::encode(&what, &body)?;
        let reply = self
            .vi_call(
                &ops::VI_SEARCH_FIND_BY_UUID,
                "SearchIndex",
                Some(body),
                &what,
            )
            .await?;
        found_vm(&reply, &what)
    }

    /// The VMs and templates directly in `folder` (`Folder.childEntity`).
    async fn folder_vms(&self, folder: &FolderId) -> Result<Vec<VmId>, VsphereError> {
        let what = format!("list folder {folder}");
        let children: Vec<Value> = self
            .vi_call(&ops::VI_FOLDER_CHILDREN, folder.as_str(), None, &what)
            .await?
            .json(&what)?;
        Ok(children
            .iter()
            .filter(|c| c.get("type").and_then(Value::as_str) == Some("VirtualMachine"))
            .filter_map(|c| c.get("value").and_then(Value::as_str).map(VmId::new))
            .collect())
    }

    /// The VMs and templates directly in `folder` (`Folder.childEntity`,
    /// then each one's `config`).
    pub async fn child_vms(&self, folder: &FolderId) -> Result<Vec<ChildVm>, VsphereError> {
        let mut out = Vec::new();
        for vm in self.folder_vms(folder).await? {
            match self.vm_config(&vm).await {
                Ok(c) => out.push(c),
                // Deleted between the two reads: it is no longer a child.
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// A VM's (or template's) name, template flag and annotation, from
    /// `VirtualMachine.config`.
    pub async fn vm_config(&self, vm: &VmId) -> Result<ChildVm, VsphereError> {
        let config = self.vm_config_raw(vm).await?;
        let text = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(ChildVm {
            name: text("name").unwrap_or_default(),
            template: config
                .get("template")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            annotation: text("annotation").unwrap_or_default(),
            create_date: text("createDate"),
            vm: vm.clone(),
        })
    }

    /// `Folder.MoveIntoFolder_Task` for one VM or template; wait for it
    /// with [`Client::wait_task`].
    pub async fn move_into_folder(
        &self,
        folder: &FolderId,
        vm: &VmId,
    ) -> Result<ViTask, VsphereError> {
        let what = format!("move {vm} into folder {folder}");
        let body = MoveInto {
            list: [MoRef::new("VirtualMachine", vm.as_str())],
        };
        self.start_task(
            &ops::VI_FOLDER_MOVE_INTO,
            folder.as_str(),
            &body,
            &what,
            || async { Ok(self.folder_vms(folder).await?.contains(vm)) },
        )
        .await
    }

    /// `VirtualMachine.MarkAsTemplate` (the VM must be powered off).
    pub async fn mark_as_template(&self, vm: &VmId) -> Result<(), VsphereError> {
        let what = format!("mark {vm} as template");
        let body = super::transport::encode(&what, &NoParams {})?;
        self.recover_then_retry(
            &what,
            || async {
                self.vi_call(
                    &ops::VI_MARK_AS_TEMPLATE,
                    vm.as_str(),
                    Some(body.clone()),
                    &what,
                )
                .await
                .map(drop)
            },
            || async { Ok(self.is_template(vm).await?.then_some(())) },
        )
        .await
    }

    /// `VirtualMachine.Rename_Task`; wait for the task with [`Client::wait_task`].
    pub async fn rename(&self, vm: &VmId, new_name: &str) -> Result<ViTask, VsphereError> {
        let what = format!("rename {vm} to {new_name:?}");
        self.start_task(
            &ops::VI_RENAME,
            vm.as_str(),
            &Rename { new_name },
            &what,
            || async { Ok(self.config_text(vm, "name").await? == new_name) },
        )
        .await
    }

    /// `VirtualMachine.Destroy_Task` (works on templates too, unlike `/api`
    /// delete); wait for the task with [`Client::wait_task`].
    pub async fn destroy(&self, vm: &VmId) -> Result<ViTask, VsphereError> {
        let what = format!("destroy {vm}");
        self.start_task(
            &ops::VI_DESTROY,
            vm.as_str(),
            &NoParams {},
            &what,
            || async {
                match self.vm_config(vm).await {
                    Ok(_) => Ok(false),
                    Err(e) if e.is_not_found() => Ok(true),
                    Err(e) => Err(e),
                }
            },
        )
        .await
    }
}

/// A SearchIndex answer: the VM it names, or `None` for `null`, an empty
/// body or another kind of object.
fn found_vm(reply: &super::transport::Reply, what: &str) -> Result<Option<VmId>, VsphereError> {
    if reply.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let found: Value = reply.json(what)?;
    Ok(match found.get("type").and_then(Value::as_str) {
        Some("VirtualMachine") => found.get("value").and_then(Value::as_str).map(VmId::new),
        _ => None,
    })
}
