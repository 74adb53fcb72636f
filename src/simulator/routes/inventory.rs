//! Inventory lists (`GET /api/vcenter/{datacenter,folder,datastore,
//! resource-pool,cluster,network}`) with vCenter's flat repeated filters.
//! Every filter narrows the result (AND across filters, OR within one).

use super::Params;
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::state::{Shared, World};
use crate::vsphere::wire::*;
use axum::extract::State;
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
                    && kind.first().map_or(true, |k| *k == f.folder_type)
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
                    // No host objects are modelled, so a host filter matches nothing.
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
