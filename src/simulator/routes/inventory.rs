//! Inventory lists (`GET /api/vcenter/{datacenter,folder,datastore,
//! resource-pool,cluster,network,host}`) with vCenter's flat repeated
//! filters, and the objects by id (`GET /api/vcenter/datacenter/{id}`,
//! datastore, resource pool, cluster: the kinds the 7.0.3 description
//! gives a `get`). Every filter narrows the result (AND across filters, OR
//! within one).

use super::Params;
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::state::{Shared, World};
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/vcenter/datacenter", get(datacenters))
        .route("/api/vcenter/folder", get(folders))
        .route("/api/vcenter/datastore", get(datastores))
        .route("/api/vcenter/resource-pool", get(resource_pools))
        .route("/api/vcenter/cluster", get(clusters))
        .route("/api/vcenter/network", get(networks))
        .route("/api/vcenter/host", get(hosts))
        .route("/api/vcenter/datacenter/{datacenter}", get(datacenter))
        .route("/api/vcenter/datastore/{datastore}", get(datastore))
        .route(
            "/api/vcenter/resource-pool/{resource_pool}",
            get(resource_pool),
        )
        .route("/api/vcenter/cluster/{cluster}", get(cluster))
}

/// True when the filter is absent or lists the value.
pub fn allows(filter: &[String], value: &str) -> bool {
    filter.is_empty() || filter.iter().any(|f| f == value)
}

/// Datacenter filter: `datacenters=` ids.
fn in_datacenters(params: &Params, dc: &DatacenterId) -> bool {
    allows(params.all("datacenters"), dc.as_str())
}

/// `folders=` filter: the object's folder is one of them or below one.
pub fn in_folders(world: &World, params: &Params, folder: &FolderId) -> bool {
    let wanted = params.all("folders");
    wanted.is_empty()
        || wanted
            .iter()
            .any(|f| world.folder_within(folder, &FolderId::new(f.as_str())))
}

async fn datacenters(State(s): State<Shared>, params: Params) -> Json<Vec<DatacenterSummary>> {
    let world = s.world();
    let root_ok = allows(params.all("folders"), crate::simulator::state::ROOT_FOLDER);
    Json(
        world
            .datacenters
            .iter()
            .filter(|d| {
                root_ok
                    && allows(params.all("datacenters"), d.id.as_str())
                    && allows(params.all("names"), &d.name)
            })
            .map(|d| DatacenterSummary {
                datacenter: d.id.clone(),
                name: d.name.clone(),
            })
            .collect(),
    )
}

async fn folders(State(s): State<Shared>, params: Params) -> ApiResult<Json<Vec<FolderSummary>>> {
    if params.all("type").len() > 1 {
        return Err(ApiError::invalid_argument(
            "Query parameter 'type' takes a single value",
        ));
    }
    let kind: Vec<FolderType> = params.enums("type")?;
    let world = s.world();
    let parents = params.all("parent_folders");
    Ok(Json(
        world
            .folders
            .values()
            .filter(|f| {
                allows(params.all("folders"), f.id.as_str())
                    && allows(params.all("names"), &f.name)
                    && kind.first().is_none_or(|k| *k == f.folder_type)
                    && (parents.is_empty()
                        || f.parent
                            .as_ref()
                            .is_some_and(|p| allows(parents, p.as_str())))
                    && (params.all("datacenters").is_empty()
                        || f.datacenter
                            .as_ref()
                            .is_some_and(|d| in_datacenters(&params, d)))
            })
            .map(|f| FolderSummary {
                folder: f.id.clone(),
                name: f.name.clone(),
                folder_type: f.folder_type,
            })
            .collect(),
    ))
}

async fn datastores(
    State(s): State<Shared>,
    params: Params,
) -> ApiResult<Json<Vec<DatastoreSummary>>> {
    let types: Vec<DatastoreType> = params.enums("types")?;
    let world = s.world();
    Ok(Json(
        world
            .datastores
            .values()
            .filter(|d| {
                allows(params.all("datastores"), d.id.as_str())
                    && allows(params.all("names"), &d.name)
                    && (types.is_empty() || types.contains(&d.datastore_type))
                    && in_datacenters(&params, &d.datacenter)
                    && in_folders(&world, &params, &d.folder)
            })
            .map(|d| DatastoreSummary {
                datastore: d.id.clone(),
                name: d.name.clone(),
                datastore_type: d.datastore_type,
                free_space: Some(d.free as i64),
                capacity: Some(d.capacity as i64),
            })
            .collect(),
    ))
}

async fn resource_pools(State(s): State<Shared>, params: Params) -> Json<Vec<ResourcePoolSummary>> {
    let world = s.world();
    let parents = params.all("parent_resource_pools");
    Json(
        world
            .resource_pools
            .iter()
            .filter(|p| {
                allows(params.all("resource_pools"), p.id.as_str())
                    && allows(params.all("names"), &p.name)
                    && allows(params.all("clusters"), p.cluster.as_str())
                    && in_datacenters(&params, &p.datacenter)
                    && (parents.is_empty() || p.parent.as_ref().is_some_and(|pp| allows(parents, pp.as_str())))
                    // Pools here belong to clusters, never to a standalone
                    // host, so a host filter matches none of them.
                    && params.all("hosts").is_empty()
            })
            .map(|p| ResourcePoolSummary { resource_pool: p.id.clone(), name: p.name.clone() })
            .collect(),
    )
}

async fn clusters(State(s): State<Shared>, params: Params) -> Json<Vec<ClusterSummary>> {
    let world = s.world();
    Json(
        world
            .clusters
            .iter()
            .filter(|c| {
                allows(params.all("clusters"), c.id.as_str())
                    && allows(params.all("names"), &c.name)
                    && in_datacenters(&params, &c.datacenter)
                    && in_folders(&world, &params, &c.folder)
            })
            .map(|c| ClusterSummary {
                cluster: c.id.clone(),
                name: c.name.clone(),
                ha_enabled: c.ha_enabled,
                drs_enabled: c.drs_enabled,
            })
            .collect(),
    )
}

async fn networks(State(s): State<Shared>, params: Params) -> ApiResult<Json<Vec<NetworkSummary>>> {
    let types: Vec<NetworkType> = params.enums("types")?;
    let world = s.world();
    Ok(Json(
        world
            .networks
            .iter()
            .filter(|n| {
                allows(params.all("networks"), n.id.as_str())
                    && allows(params.all("names"), &n.name)
                    && (types.is_empty() || types.contains(&n.network_type))
                    && in_datacenters(&params, &n.datacenter)
                    && in_folders(&world, &params, &n.folder)
            })
            .map(|n| NetworkSummary {
                network: n.id.clone(),
                name: n.name.clone(),
                network_type: n.network_type,
            })
            .collect(),
    ))
}

async fn hosts(State(s): State<Shared>, params: Params) -> ApiResult<Json<Vec<HostSummary>>> {
    let states: Vec<HostConnectionState> = params.enums("connection_states")?;
    let standalone = match params.one("standalone") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(other) => {
            return Err(ApiError::invalid_argument(format!(
                "Invalid value {other:?} for query parameter 'standalone'"
            )))
        }
    };
    let world = s.world();
    Ok(Json(
        world
            .hosts
            .iter()
            .filter(|h| {
                allows(params.all("hosts"), h.id.as_str())
                    && allows(params.all("names"), &h.name)
                    && allows(params.all("clusters"), h.cluster.as_str())
                    && in_datacenters(&params, &h.datacenter)
                    && in_folders(&world, &params, &h.folder)
                    // Every modelled host is in a cluster and connected.
                    && standalone != Some(true)
                    && (states.is_empty() || states.contains(&HostConnectionState::Connected))
            })
            .map(|h| HostSummary {
                host: h.id.clone(),
                name: h.name.clone(),
                connection_state: HostConnectionState::Connected,
                power_state: Some(HostPowerState::PoweredOn),
            })
            .collect(),
    ))
}

async fn datacenter(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<DatacenterInfo>> {
    let world = s.world();
    let d = world
        .datacenter(&DatacenterId::new(id.as_str()))
        .ok_or_else(|| ApiError::not_found("Datacenter", &id))?;
    Ok(Json(DatacenterInfo {
        name: d.name.clone(),
        datastore_folder: d.datastore_folder.clone(),
        host_folder: d.host_folder.clone(),
        network_folder: d.network_folder.clone(),
        vm_folder: d.vm_folder.clone(),
    }))
}

async fn datastore(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<DatastoreInfo>> {
    let world = s.world();
    let d = world
        .datastores
        .get(&DatastoreId::new(id.as_str()))
        .ok_or_else(|| ApiError::not_found("Datastore", &id))?;
    // Shared storage (everything but a host's local VMFS, which the
    // inventory does not model) is reachable from every host; NFS 3 and
    // VMFS report thin provisioning as supported, as vSAN and vVols do.
    Ok(Json(DatastoreInfo {
        name: d.name.clone(),
        datastore_type: d.datastore_type,
        accessible: true,
        free_space: Some(d.free as i64),
        multiple_host_access: true,
        thin_provisioning_supported: true,
    }))
}

async fn resource_pool(
    State(s): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<ResourcePoolInfo>> {
    let world = s.world();
    let id = ResourcePoolId::new(id.as_str());
    let p = world
        .resource_pools
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| ApiError::not_found("Resource pool", id.as_str()))?;
    // vCenter's defaults for a new pool: no reservation or limit, normal
    // shares, expandable reservation.
    let allocation = serde_json::json!({
        "reservation": 0, "expandable_reservation": true, "limit": -1,
        "shares": {"level": "NORMAL"}
    });
    Ok(Json(ResourcePoolInfo {
        name: p.name.clone(),
        resource_pools: world
            .resource_pools
            .iter()
            .filter(|c| c.parent.as_ref() == Some(&id))
            .map(|c| c.id.clone())
            .collect(),
        cpu_allocation: Some(allocation.clone()),
        memory_allocation: Some(allocation),
    }))
}

async fn cluster(State(s): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<ClusterInfo>> {
    let world = s.world();
    let c = world
        .clusters
        .iter()
        .find(|c| c.id.as_str() == id)
        .ok_or_else(|| ApiError::not_found("Cluster", &id))?;
    Ok(Json(ClusterInfo {
        name: c.name.clone(),
        resource_pool: c.root_pool.clone(),
    }))
}
