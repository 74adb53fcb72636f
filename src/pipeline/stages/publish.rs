//! template, publish, machineset.
//!
//! Publishing is atomic from a user's point of view: the VM becomes a
//! template under its build name (which no MachineSet refers to), and only
//! after every check has passed is it moved into the template folder and
//! renamed to the final name. Older templates of this pipeline — and only
//! those, told by the annotation gild wrote on them — are pruned after
//! that, so a failed build never costs the last good template.

use super::clone::power_name;
use super::Build;
use crate::pipeline::error::StageError;
use crate::pipeline::state::TemplateRecord;
use crate::pipeline::templates::{self, Provenance};
use crate::vsphere::wire::{FolderId, VmId};
use std::time::Duration;

pub async fn template(b: &mut Build<'_>) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let power = b
        .client
        .power(&vm)
        .await
        .map_err(StageError::vsphere(format!("read the power state of {vm}")))?;
    b.checks
        .expect_eq("VM powered off", "POWERED_OFF", power_name(power.state))?;
    let already = b
        .client
        .is_template(&vm)
        .await
        .map_err(StageError::vsphere("read the template flag"))?;
    if !already {
        let os = b
            .facts
            .os
            .as_ref()
            .map(|o| format!("{}.{}", o.build, o.ubr));
        let note = Provenance {
            pipeline: &b.job.pipeline.name,
            build_id: b.build_id(),
            target: b.job.pipeline.target.as_str(),
            os,
            tools: b.facts.tools_version.as_deref(),
        }
        .annotation();
        b.client
            .set_annotation(&vm, &note)
            .await
            .map_err(StageError::vsphere(format!("annotate {vm}")))?;
        b.client
            .mark_as_template(&vm)
            .await
            .map_err(StageError::vsphere(format!("mark {vm} as template")))?;
    }
    let is_template = b
        .client
        .is_template(&vm)
        .await
        .map_err(StageError::vsphere("read the template flag"))?;
    b.checks.expect(
        "VM is a template",
        "template",
        if is_template { "template" } else { "VM" },
        is_template,
    )?;
    let power = b
        .client
        .power(&vm)
        .await
        .map_err(StageError::vsphere(format!("read the power state of {vm}")))?;
    b.checks.expect_eq(
        "template stays powered off",
        "POWERED_OFF",
        power_name(power.state),
    )?;
    b.set_template(TemplateRecord {
        id: vm.to_string(),
        name: b.vm_name().to_string(),
        published: false,
    });
    Ok(format!("{vm} is a template (still named {})", b.vm_name()))
}

pub async fn publish(b: &mut Build<'_>) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let record = b.template().cloned().ok_or_else(|| {
        StageError::Precondition(
            "there is no template to publish: the template stage has not run".into(),
        )
    })?;
    let inv = b.require_inventory()?.clone();
    let folder = FolderId::new(inv.template_folder.as_str());
    let final_name = b.template_name().to_string();
    let deadline = Duration::from_secs(600).min(b.wait_budget());
    if !record.published {
        let taken = b
            .client
            .find_child_vm(&folder, &final_name)
            .await
            .map_err(StageError::vsphere("look for the final template name"))?;
        b.checks.expect(
            "final template name free",
            format!("no VM or template named {final_name} in the template folder"),
            taken
                .as_ref()
                .map_or("free".into(), |t| format!("{t} has it")),
            taken.as_ref().is_none_or(|t| *t == vm),
        )?;
        if inv.template_folder != inv.folder {
            let task =
                b.client
                    .move_into_folder(&folder, &vm)
                    .await
                    .map_err(StageError::vsphere(format!(
                        "move {vm} into the template folder"
                    )))?;
            b.client
                .wait_task(&task, deadline)
                .await
                .map_err(StageError::vsphere(format!("move {vm}")))?;
        }
        let task = b
            .client
            .rename(&vm, &final_name)
            .await
            .map_err(StageError::vsphere(format!("rename {vm}")))?;
        b.client
            .wait_task(&task, deadline)
            .await
            .map_err(StageError::vsphere(format!("rename {vm} to {final_name}")))?;
    }
    let found = b
        .client
        .find_child_vm(&folder, &final_name)
        .await
        .map_err(StageError::vsphere(
            "look the template up by its final name",
        ))?;
    b.checks.expect(
        "template published under its final name",
        format!("{final_name} = {vm} in the template folder"),
        found
            .as_ref()
            .map_or("not found".into(), |f| format!("{final_name} = {f}")),
        found.as_ref() == Some(&vm),
    )?;
    b.set_template(TemplateRecord {
        id: vm.to_string(),
        name: final_name.clone(),
        published: true,
    });

    let pruned = prune(b, &folder, &vm, deadline).await?;
    Ok(format!("{final_name} = {vm}; {pruned}"))
}

/// Keeps the newest `template.keep` templates of this pipeline (the new one
/// among them) and destroys the rest; only templates gild's annotation
/// names as this pipeline's are ever considered.
async fn prune(
    b: &mut Build<'_>,
    folder: &FolderId,
    newest: &VmId,
    deadline: Duration,
) -> Result<String, StageError> {
    let keep = b.job.pipeline.template.keep.max(1) as usize;
    let name = b.job.pipeline.name.clone();
    let ours = templates::list(b.client, folder, &name)
        .await
        .map_err(StageError::vsphere("list the template folder"))?;
    let removed = templates::prune(b.client, &ours, keep, Some(newest), deadline)
        .await
        .map_err(StageError::vsphere("delete old templates"))?;
    // Nothing destroyed: the folder is as just listed, no second listing.
    let left = if removed.is_empty() {
        ours.clone()
    } else {
        templates::list(b.client, folder, &name)
            .await
            .map_err(StageError::vsphere("list the template folder"))?
    };
    let want = ours.len().min(keep);
    b.checks.expect(
        format!("templates of {name} kept"),
        format!("the {want} newest"),
        format!(
            "{}: {}",
            left.len(),
            left.iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        left.len() == want && left.iter().any(|t| t.vm == *newest),
    )?;
    Ok(if removed.is_empty() {
        format!("{} template(s) of this pipeline kept", left.len())
    } else {
        format!("kept {}, removed {}", left.len(), removed.join(", "))
    })
}

pub async fn machineset(b: &mut Build<'_>) -> Result<String, StageError> {
    let template = b
        .template()
        .cloned()
        .filter(|t| t.published)
        .ok_or_else(|| {
            StageError::Precondition(
                "the machineset stage needs a published template: run publish first".into(),
            )
        })?;
    let written = crate::pipeline::outputs::machineset(b, &template)?;
    Ok(written)
}
