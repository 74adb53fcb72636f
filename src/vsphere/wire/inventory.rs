//! Session and inventory list items.

use super::*;

// ---------- session ----------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: String,
    pub created_time: String,
    pub last_accessed_time: String,
}

// ---------- inventory summaries ----------

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VmSummary {
    pub vm: VmId,
    pub name: String,
    pub power_state: PowerState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_count: Option<i64>,
    #[serde(rename = "memory_size_MiB", skip_serializing_if = "Option::is_none")]
    pub memory_size_mib: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FolderSummary {
    pub folder: FolderId,
    pub name: String,
    #[serde(rename = "type")]
    pub folder_type: FolderType,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatacenterSummary {
    pub datacenter: DatacenterId,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatastoreSummary {
    pub datastore: DatastoreId,
    pub name: String,
    #[serde(rename = "type")]
    pub datastore_type: DatastoreType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_space: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourcePoolSummary {
    pub resource_pool: ResourcePoolId,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterSummary {
    pub cluster: ClusterId,
    pub name: String,
    pub ha_enabled: bool,
    pub drs_enabled: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSummary {
    pub network: NetworkId,
    pub name: String,
    #[serde(rename = "type")]
    pub network_type: NetworkType,
}

// ---------- inventory objects by id ----------

/// `GET /api/vcenter/datacenter/{datacenter}` (`VcenterDatacenterInfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatacenterInfo {
    pub name: String,
    pub datastore_folder: FolderId,
    pub host_folder: FolderId,
    pub network_folder: FolderId,
    pub vm_folder: FolderId,
}

/// `GET /api/vcenter/datastore/{datastore}` (`VcenterDatastoreInfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatastoreInfo {
    pub name: String,
    #[serde(rename = "type")]
    pub datastore_type: DatastoreType,
    pub accessible: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_space: Option<i64>,
    pub multiple_host_access: bool,
    pub thin_provisioning_supported: bool,
}

/// `GET /api/vcenter/resource-pool/{resource_pool}` (`VcenterResourcePoolInfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourcePoolInfo {
    pub name: String,
    /// The child pools.
    pub resource_pools: Vec<ResourcePoolId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_allocation: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_allocation: Option<serde_json::Value>,
}

/// `GET /api/vcenter/cluster/{cluster}` (`VcenterClusterInfo`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    /// The cluster's root pool.
    pub resource_pool: ResourcePoolId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HostConnectionState {
    Connected,
    Disconnected,
    NotResponding,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HostPowerState {
    PoweredOn,
    PoweredOff,
    Standby,
}

/// An item of `GET /api/vcenter/host` (`VcenterHostSummary`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostSummary {
    pub host: HostId,
    pub name: String,
    pub connection_state: HostConnectionState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub power_state: Option<HostPowerState>,
}
