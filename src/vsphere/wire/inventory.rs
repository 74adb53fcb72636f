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
