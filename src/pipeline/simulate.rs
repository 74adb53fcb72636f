//! The simulator inventory one pipeline needs (`gild build --simulator`,
//! `gild simulator serve --for PIPELINE`): its datacenter, build and
//! template folders, cluster or pool, datastore, network and a base VM
//! whose modelled Windows matches the target — Server 20H2 (build 19042,
//! typed WINDOWS_SERVER_2019 by vCenter) for wmco-4.9, Server 2022 for the
//! others. The pipeline file itself is unchanged: the same file runs against
//! a real vCenter.

use super::config::Pipeline;
use super::target::Target;
use crate::simulator::inventory::{
    ClusterSeed, DatacenterSeed, DatastoreSeed, Inventory, NetworkSeed, VmSeed,
};
use crate::vsphere::wire::{DatastoreType, HardwareVersion, NetworkType, PowerState};

/// `/dc/vm/a/b` or `a/b` → `a/b` (the folder path below the datacenter's
/// `vm` folder); `vm` alone → `` (the root VM folder).
fn below(root: &str, dc: &str, path: &str) -> String {
    let p = path.trim_matches('/');
    let prefix = format!("{dc}/{root}");
    let rest = p
        .strip_prefix(&prefix)
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(p);
    if rest == root {
        String::new()
    } else {
        rest.to_string()
    }
}

fn last(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .to_string()
}

/// The vAPI guest type and the seed OS release the target's base VM runs.
fn base_os(target: Target) -> (&'static str, &'static str) {
    match target {
        Target::Wmco4_9 => ("WINDOWS_SERVER_2019", "windows-server-20h2"),
        _ => ("WINDOWS_SERVER_2021", "windows-server-2022"),
    }
}

pub fn inventory_for(p: &Pipeline) -> Inventory {
    let dc = p.placement.datacenter.trim_matches('/').to_string();
    let mut folders = vec![
        below("vm", &dc, &p.placement.folder),
        below("vm", &dc, &p.template.folder),
    ];
    let source_path = below("vm", &dc, &p.source.vm);
    let (source_folder, source_name) = match source_path.rsplit_once('/') {
        Some((f, n)) => (f.to_string(), n.to_string()),
        None => (String::new(), source_path.clone()),
    };
    folders.push(source_folder.clone());
    folders.retain(|f| !f.is_empty());
    folders.sort();
    folders.dedup();

    // `/dc/host/cluster/Resources/pool/sub` → cluster + `pool/sub`.
    let (cluster, pool) = match (&p.placement.resource_pool, &p.placement.cluster) {
        (Some(pool), cluster) => {
            let rest = below("host", &dc, pool);
            match rest.split_once("/Resources") {
                Some((c, sub)) => (c.to_string(), sub.trim_start_matches('/').to_string()),
                None => (
                    cluster
                        .as_deref()
                        .map(last)
                        .unwrap_or_else(|| "cluster1".into()),
                    rest,
                ),
            }
        }
        (None, Some(cluster)) => (last(cluster), String::new()),
        (None, None) => ("cluster1".into(), String::new()),
    };
    let datastore = last(&p.placement.datastore);
    let network = last(&p.placement.network);
    let (guest_os, release) = base_os(p.target);
    let base = VmSeed {
        name: source_name,
        folder: source_folder,
        datastore: datastore.clone(),
        cluster: Some(cluster.clone()),
        resource_pool: None,
        network: Some(network.clone()),
        template: false,
        power_state: PowerState::PoweredOff,
        guest_os: guest_os.into(),
        hardware_version: HardwareVersion(19),
        cpu_count: 4,
        memory_mib: 16384,
        disk_gib: 128,
        tools_version: "12.1.5".into(),
        hostname: None,
        // A Server install with a page file, as the simulator's default.
        guest_used_gib: 16,
        os: Some(release.into()),
        os_ubr: None,
    };
    Inventory {
        dhcp_subnet: p
            .placement
            .expected_subnet
            .clone()
            .filter(|s| s.ends_with(".0/24"))
            .unwrap_or_else(|| "10.20.30.0/24".into()),
        datacenters: vec![DatacenterSeed {
            name: dc,
            folders,
            clusters: vec![ClusterSeed {
                name: cluster,
                ha_enabled: true,
                drs_enabled: true,
                hosts: None,
                resource_pools: if pool.is_empty() { vec![] } else { vec![pool] },
            }],
            datastores: vec![DatastoreSeed {
                name: datastore,
                datastore_type: DatastoreType::Vmfs,
                capacity_gib: 4096,
                free_gib: 2048,
            }],
            networks: vec![NetworkSeed {
                name: network,
                network_type: NetworkType::DistributedPortgroup,
            }],
            vms: vec![base],
        }],
    }
}

/// VMs the generated inventory puts in the pipeline's template folder
/// (the base VM when it lives there), before any build.
pub fn seeded_template_folder_vms(p: &Pipeline) -> usize {
    let dc = p.placement.datacenter.trim_matches('/');
    let folder = below("vm", dc, &p.template.folder);
    inventory_for(p)
        .datacenters
        .iter()
        .flat_map(|d| &d.vms)
        .filter(|v| v.folder == folder)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_reduce_to_folders_below_the_vm_folder() {
        assert_eq!(below("vm", "dc1", "/dc1/vm/builds/win"), "builds/win");
        assert_eq!(below("vm", "dc1", "builds"), "builds");
        assert_eq!(below("vm", "dc1", "/dc1/vm"), "");
        assert_eq!(
            below("host", "dc1", "/dc1/host/c1/Resources/gild"),
            "c1/Resources/gild"
        );
    }
}
