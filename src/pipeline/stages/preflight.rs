//! preflight: every inventory object found, the source a VM (not a
//! template) whose OS the target accepts, the build VM and final template
//! names free, room on the datastore. Nothing is changed.

use super::Build;
use crate::pipeline::error::StageError;
use crate::pipeline::state::InventoryIds;
use crate::pipeline::target::Target;
use crate::vsphere::wire::{ClusterId, DatastoreId};
use crate::vsphere::{ListFilter, VsphereError};

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

/// Resolves every object the pipeline names, collecting each one that is
/// missing or ambiguous instead of stopping at the first.
async fn resolve(b: &Build<'_>) -> Result<InventoryIds, Vec<String>> {
    let p = &b.job.pipeline.placement;
    let mut missing = Vec::new();
    fn keep<T>(r: Result<T, VsphereError>, what: &str, missing: &mut Vec<String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                missing.push(format!("{what}: {e}"));
                None
            }
        }
    }
    let c = b.client;
    let dc = keep(
        c.find_datacenter(&p.datacenter).await,
        "datacenter",
        &mut missing,
    );
    let folder = keep(c.find_folder(&p.folder).await, "folder", &mut missing);
    let template_folder = keep(
        c.find_folder(&b.job.pipeline.template.folder).await,
        "template folder",
        &mut missing,
    );
    let pool = match (&p.resource_pool, &p.cluster) {
        (Some(pool), _) => keep(
            c.find_resource_pool(pool).await,
            "resource pool",
            &mut missing,
        ),
        (None, Some(cluster)) => match keep(c.find_cluster(cluster).await, "cluster", &mut missing)
        {
            Some(id) => keep(root_pool(b, &id).await, "cluster root pool", &mut missing),
            None => None,
        },
        (None, None) => {
            missing.push("placement: give a cluster or a resource_pool".into());
            None
        }
    };
    let datastore: Option<DatastoreId> = keep(
        c.find_datastore(&p.datastore).await,
        "datastore",
        &mut missing,
    );
    let network = keep(c.find_network(&p.network).await, "network", &mut missing);
    let source = keep(
        c.find_vm(&b.job.pipeline.source.vm).await,
        "source VM",
        &mut missing,
    );
    match (
        dc,
        folder,
        template_folder,
        pool,
        datastore,
        network,
        source,
    ) {
        (Some(dc), Some(f), Some(tf), Some(pool), Some(ds), Some(net), Some(src))
            if missing.is_empty() =>
        {
            Ok(InventoryIds {
                datacenter: dc.to_string(),
                folder: f.to_string(),
                template_folder: tf.to_string(),
                resource_pool: pool.to_string(),
                datastore: ds.to_string(),
                network: net.to_string(),
                source_vm: src.to_string(),
            })
        }
        _ => Err(missing),
    }
}

async fn root_pool(
    b: &Build<'_>,
    cluster: &ClusterId,
) -> Result<crate::vsphere::wire::ResourcePoolId, VsphereError> {
    let pools = b
        .client
        .list_resource_pools(&ListFilter::new().cluster(cluster).name("Resources"))
        .await?;
    pools
        .into_iter()
        .next()
        .map(|p| p.resource_pool)
        .ok_or_else(|| VsphereError::NotFound {
            kind: "resource pool",
            name: format!("Resources of cluster {cluster}"),
        })
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
