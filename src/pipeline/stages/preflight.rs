//! preflight: every inventory object found, the source a VM (not a
//! template) whose OS the target accepts, the build VM and final template
//! names free, room on the datastore. Nothing is changed.

use super::Build;
use crate::pipeline::error::StageError;
use crate::pipeline::state::InventoryIds;
use crate::pipeline::target::Target;
use crate::vsphere::ListFilter;

pub async fn run(b: &mut Build<'_>) -> Result<String, StageError> {
    let (ids, missing) = match resolve(b).await {
        Ok(ids) => (Some(ids), Vec::new()),
        Err(missing) => (None, missing),
    };
    b.checks.expect(
        "every inventory object found",
        "datacenter, folders, pool, datastore, network and source VM",
        if missing.is_empty() {
            "all found".to_string()
        } else {
            format!("{} missing: {}", missing.len(), missing.join("; "))
        },
        missing.is_empty(),
    )?;
    let Some(ids) = ids else {
        return Err(StageError::Precondition("inventory not resolved".into()));
    };
    let source = crate::vsphere::wire::VmId::new(ids.source_vm.as_str());
    let info = b
        .client
        .vm(&source)
        .await
        .map_err(StageError::vsphere(format!(
            "read source VM {}",
            ids.source_vm
        )))?;
    let is_template = b
        .client
        .is_template(&source)
        .await
        .map_err(StageError::vsphere("tell whether the source is a template"))?;
    b.checks.expect(
        "source is a VM, not a template",
        "VM",
        if is_template { "template" } else { "VM" },
        !is_template,
    )?;
    let target = b.job.pipeline.target;
    b.checks.expect(
        "vCenter's guest OS type fits the target",
        accepted_guest_os(target).join(" or "),
        info.guest_os.clone(),
        guest_os_fits(target, &info.guest_os),
    )?;

    let resuming = b.vm().is_some();
    if !resuming {
        let taken = b
            .client
            .list_vms(&ListFilter::new().name(b.vm_name()))
            .await
            .map_err(StageError::vsphere("look for the build VM name"))?;
        b.checks.expect(
            "build VM name free",
            format!("no VM named {}", b.vm_name()),
            if taken.is_empty() {
                "none".to_string()
            } else {
                format!("{} exists", taken[0].vm)
            },
            taken.is_empty(),
        )?;
    }
    let template_folder = crate::vsphere::wire::FolderId::new(ids.template_folder.as_str());
    let template_taken = b
        .client
        .find_child_vm(&template_folder, b.template_name())
        .await
        .map_err(StageError::vsphere("look for the template name"))?;
    let ours = b.template().map(|t| t.id.clone());
    let free = template_taken
        .as_ref()
        .is_none_or(|found| Some(found.to_string()) == ours);
    b.checks.expect(
        "final template name free",
        format!("no VM or template named {}", b.template_name()),
        template_taken.map_or("none".into(), |t| format!("{t} exists")),
        free,
    )?;

    if !resuming {
        let needed: u64 = info
            .disks
            .values()
            .filter_map(|d| d.get("capacity").and_then(|c| c.as_u64()))
            .sum();
        let stores = b
            .client
            .list_datastores(&ListFilter::new().with("datastores", &ids.datastore))
            .await
            .map_err(StageError::vsphere("read the datastore's free space"))?;
        if let Some(free) = stores.first().and_then(|d| d.free_space) {
            b.checks.expect(
                "datastore has room for the clone",
                format!(">= {} GiB free", gib(needed)),
                format!("{} GiB free", gib(free as u64)),
                free as u64 >= needed,
            )?;
        }
    }
    let summary = format!(
        "source {} = {} ({}), datacenter {}, folder {}, pool {}, datastore {}, network {}",
        b.job.pipeline.source.vm,
        ids.source_vm,
        info.guest_os,
        ids.datacenter,
        ids.folder,
        ids.resource_pool,
        ids.datastore,
        ids.network
    );
    b.inventory = Some(ids);
    Ok(summary)
}

fn gib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1u64 << 30) as f64)
}

/// vCenter's `guest_OS` values each target can start from. vCenter has no
/// type of its own for the semi-annual 2004/20H2 releases: they are
/// WINDOWS_SERVER_2019 VMs, and the build number read from the guest later
/// tells them from 2019 (17763). 2022 is WINDOWS_SERVER_2021 in vSphere.
fn accepted_guest_os(target: Target) -> &'static [&'static str] {
    match target {
        Target::Wmco4_9 => &["WINDOWS_SERVER_2019"],
        Target::Wmco4_10 => &["WINDOWS_SERVER_2019", "WINDOWS_SERVER_2021"],
        Target::Wmco4_11Plus => &["WINDOWS_SERVER_2021"],
        Target::Wmco4_22Plus => &["WINDOWS_SERVER_2021", "WINDOWS_SERVER_2025"],
        Target::Kubernetes => &["any Windows type"],
    }
}

fn guest_os_fits(target: Target, guest_os: &str) -> bool {
    match target {
        Target::Kubernetes => guest_os.starts_with("WINDOWS"),
        t => accepted_guest_os(t).contains(&guest_os),
    }
}

/// Every object the pipeline names, or each one that is missing.
async fn resolve(b: &Build<'_>) -> Result<InventoryIds, Vec<String>> {
    match crate::pipeline::resolve::resolve(b.client, &b.job.pipeline).await {
        Ok(r) => Ok(InventoryIds {
            datacenter: r.datacenter.to_string(),
            folder: r.build_folder.to_string(),
            template_folder: r.template_folder.to_string(),
            resource_pool: r.resource_pool.to_string(),
            datastore: r.datastore.to_string(),
            network: r.network.to_string(),
            source_vm: r.source_vm.to_string(),
        }),
        Err(e) => Err(e.unresolved.iter().map(|u| u.to_string()).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wmco_4_11_refuses_a_2019_typed_source_but_4_10_takes_it() {
        assert!(!guest_os_fits(Target::Wmco4_11Plus, "WINDOWS_SERVER_2019"));
        assert!(guest_os_fits(Target::Wmco4_10, "WINDOWS_SERVER_2019"));
        assert!(guest_os_fits(Target::Wmco4_22Plus, "WINDOWS_SERVER_2025"));
        assert!(guest_os_fits(Target::Kubernetes, "WINDOWS_SERVER_2016"));
        assert!(!guest_os_fits(Target::Kubernetes, "RHEL_9_64"));
    }
}
