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
use crate::vsphere::wire::{FolderId, VmId};
use std::time::Duration;

/// Marks a published template as this pipeline's; prune reads it back.
pub fn template_annotation(pipeline: &str, build_id: &str, target: &str) -> String {
    format!(
        "gild template: pipeline {pipeline}, build {build_id}, target {target}, built {}, gild {}",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        env!("CARGO_PKG_VERSION")
    )
}

/// Whether an annotation says the template belongs to `pipeline`.
pub fn is_pipeline_template(annotation: &str, pipeline: &str) -> bool {
    annotation.starts_with(&format!("gild template: pipeline {pipeline}, "))
}

/// The build id in a template annotation (ids sort by time).
pub fn annotation_build_id(annotation: &str) -> Option<&str> {
    let rest = annotation.split(", build ").nth(1)?;
    rest.split(',').next()
}

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
        let note = template_annotation(
            &b.job.pipeline.name,
            &b.job.names.build_id,
            b.job.pipeline.target.as_str(),
        );
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
/// among them) and destroys the rest.
async fn prune(
    b: &mut Build<'_>,
    folder: &FolderId,
    newest: &VmId,
    deadline: Duration,
) -> Result<String, StageError> {
    let keep = b.job.pipeline.template.keep.max(1) as usize;
    let mut ours = pipeline_templates(b, folder).await?;
    let mut removed = Vec::new();
    // Newest first: the just-published one, then by build id (time-ordered).
    ours.sort_by(|a, c| (c.0 == *newest).cmp(&(a.0 == *newest)).then(c.2.cmp(&a.2)));
    for (id, name, _) in ours.iter().skip(keep) {
        let task = b
            .client
            .destroy(id)
            .await
            .map_err(StageError::vsphere(format!("delete old template {name}")))?;
        b.client
            .wait_task(&task, deadline)
            .await
            .map_err(StageError::vsphere(format!("delete old template {name}")))?;
        removed.push(name.clone());
    }
    let left = pipeline_templates(b, folder).await?;
    let want = ours.len().min(keep);
    b.checks.expect(
        format!("templates of {} kept", b.job.pipeline.name),
        format!("the {want} newest"),
        format!(
            "{}: {}",
            left.len(),
            left.iter()
                .map(|t| t.1.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        left.len() == want && left.iter().any(|t| t.0 == *newest),
    )?;
    Ok(if removed.is_empty() {
        format!("{} template(s) of this pipeline kept", left.len())
    } else {
        format!("kept {}, removed {}", left.len(), removed.join(", "))
    })
}

/// This pipeline's templates in `folder`: (id, name, build id).
pub async fn pipeline_templates(
    b: &Build<'_>,
    folder: &FolderId,
) -> Result<Vec<(VmId, String, String)>, StageError> {
    let children = b
        .client
        .child_vms(folder)
        .await
        .map_err(StageError::vsphere("list the template folder"))?;
    Ok(children
        .into_iter()
        .filter(|c| c.template && is_pipeline_template(&c.annotation, &b.job.pipeline.name))
        .map(|c| {
            let build = annotation_build_id(&c.annotation).unwrap_or("").to_string();
            (c.vm, c.name, build)
        })
        .collect())
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
