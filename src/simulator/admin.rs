//! Test tooling: the in-process [`Admin`] handle and the `/_sim/...` HTTP
//! routes that expose the same controls to out-of-process clients (the
//! Python contract test, demos). Neither is part of vCenter's surface, so
//! `/_sim` needs no vCenter session and is never faulted or logged.

use super::faults::{FaultEngine, FaultSpec};
use super::server::LogEntry;
use super::state::{Cluster, Datacenter, Datastore, Folder, Host, Network, ResourcePool, Shared};
use crate::vsphere::wire::VmId;
use crate::vsphere::wire::{HardwareVersion, PowerState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::collections::BTreeMap;

/// A VM as the admin view reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VmState {
    pub id: VmId,
    pub name: String,
    pub power: PowerState,
    pub template: bool,
    pub folder: String,
    pub datastore: String,
    pub tools_running: bool,
    pub hostname: String,
    pub ip_address: Option<String>,
    /// The pool it runs in (its cluster's root pool unless placed).
    pub resource_pool: Option<String>,
    pub hardware_version: HardwareVersion,
    pub cpu_count: i64,
    pub memory_mib: i64,
    pub disk_bytes: u64,
    pub tools_version_number: i64,
    pub mac_address: String,
}

/// The inventory as the simulator holds it, for tests that compare what a
/// client was told with what is there (`GET /_sim/inventory`). Objects
/// serialise with vCenter's key names (`datacenter`, `type`, `free_space`).
#[derive(Clone, Debug, Serialize)]
pub struct InventoryState {
    pub datacenters: Vec<Datacenter>,
    pub folders: Vec<FolderState>,
    pub datastores: Vec<Datastore>,
    pub resource_pools: Vec<ResourcePool>,
    pub clusters: Vec<Cluster>,
    pub networks: Vec<Network>,
    pub hosts: Vec<Host>,
}

/// A folder and its inventory path (`/dc1/vm/builds`).
#[derive(Clone, Debug, Serialize)]
pub struct FolderState {
    #[serde(flatten)]
    pub folder: Folder,
    pub path: String,
}

/// Cheap-to-clone control over a running simulator.
#[derive(Clone)]
pub struct Admin {
    shared: Shared,
}

impl Admin {
    pub(crate) fn new(shared: Shared) -> Self {
        Admin { shared }
    }

    pub fn set_faults(&self, spec: FaultSpec) {
        self.shared.faults.set(spec);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.set(FaultSpec::none());
    }

    pub fn faults(&self) -> &FaultEngine {
        &self.shared.faults
    }

    pub fn vms(&self) -> Vec<VmState> {
        let world = self.shared.world();
        let now = tokio::time::Instant::now();
        world
            .vms
            .values()
            .map(|vm| VmState {
                id: vm.id().clone(),
                name: vm.name().to_string(),
                power: vm.power(),
                template: vm.is_template(),
                folder: world.folder_path(&vm.placement().folder),
                datastore: world
                    .datastores
                    .get(&vm.placement().datastore)
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
                tools_running: vm.tools_running(now),
                hostname: vm.guest().hostname().to_string(),
                ip_address: vm.guest_ip(now, world.subnet),
                resource_pool: vm.placement().resource_pool.as_ref().map(|p| p.to_string()),
                hardware_version: vm.hardware_version(),
                cpu_count: vm.cpu_info().count,
                memory_mib: vm.memory_info().size_mib,
                disk_bytes: vm.disk_bytes(),
                tools_version_number: vm.tools_version().to_number(),
                mac_address: vm.mac_address(),
            })
            .collect()
    }

    pub fn inventory(&self) -> InventoryState {
        let world = self.shared.world();
        InventoryState {
            datacenters: world.datacenters.clone(),
            folders: world
                .folders
                .values()
                .map(|f| FolderState {
                    folder: f.clone(),
                    path: world.folder_path(&f.id),
                })
                .collect(),
            datastores: world.datastores.values().cloned().collect(),
            resource_pools: world.resource_pools.clone(),
            clusters: world.clusters.clone(),
            networks: world.networks.clone(),
            hosts: world.hosts.clone(),
        }
    }

    pub fn vm_by_name(&self, name: &str) -> Option<VmState> {
        self.vms().into_iter().find(|v| v.name == name)
    }

    /// A guest file's bytes (read fully; meant for small files in assertions).
    pub fn guest_file(&self, vm: &VmId, path: &str) -> Option<Vec<u8>> {
        let blob = {
            let world = self.shared.world();
            world.vms.get(vm)?.guest().read_file(path).ok()?
        };
        super::routes::transfer::blob_bytes(&blob).ok()
    }

    /// Runs `f` on a VM's guest model (read or change it), e.g. to assert on
    /// services or to stop the VMTools service.
    pub fn with_guest<T>(
        &self,
        vm: &VmId,
        f: impl FnOnce(&mut super::guest::WindowsGuest) -> T,
    ) -> Option<T> {
        let mut world = self.shared.world();
        world.vms.get_mut(vm).map(|m| f(m.guest_mut()))
    }

    pub fn request_log(&self) -> Vec<LogEntry> {
        self.shared.metrics.log()
    }

    /// `"METHOD route"` → number of requests.
    pub fn route_counts(&self) -> BTreeMap<String, u64> {
        self.shared.metrics.counts()
    }

    pub fn connection_count(&self) -> u64 {
        self.shared.metrics.connections()
    }

    /// Ends every session now, so the next call answers 401 (re-login tests).
    pub fn expire_sessions(&self) {
        self.shared.world().sessions.clear();
    }
}

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route(
            "/_sim/faults",
            get(get_faults).put(put_faults).delete(delete_faults),
        )
        .route("/_sim/vms", get(get_vms))
        .route("/_sim/inventory", get(get_inventory))
        .route("/_sim/vms/{vm}/file", get(get_guest_file))
        .route("/_sim/vms/{vm}/services", get(get_services))
        .route("/_sim/requests", get(get_requests))
        .route("/_sim/connections", get(get_connections))
        .route("/_sim/sessions/expire", post(post_expire_sessions))
}

fn admin(shared: Shared) -> Admin {
    Admin::new(shared)
}

async fn get_faults(State(s): State<Shared>) -> Json<Vec<String>> {
    Json(
        s.faults
            .spec()
            .rules
            .iter()
            .map(ToString::to_string)
            .collect(),
    )
}

/// Body: the compact syntax, or a YAML/JSON rule list when it starts with `[` or `-`.
async fn put_faults(State(s): State<Shared>, body: String) -> Response {
    let trimmed = body.trim_start();
    let parsed = if trimmed.starts_with('[') || trimmed.starts_with('-') {
        FaultSpec::from_document(&body, "request body")
    } else {
        FaultSpec::parse(&body)
    };
    match parsed {
        Ok(spec) => {
            s.faults.set(spec);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn delete_faults(State(s): State<Shared>) -> StatusCode {
    admin(s).clear_faults();
    StatusCode::NO_CONTENT
}

async fn get_vms(State(s): State<Shared>) -> Json<Vec<VmState>> {
    Json(admin(s).vms())
}

async fn get_inventory(State(s): State<Shared>) -> Json<InventoryState> {
    Json(admin(s).inventory())
}

#[derive(serde::Deserialize)]
struct FileQuery {
    path: String,
}

async fn get_guest_file(
    State(s): State<Shared>,
    Path(vm): Path<String>,
    Query(q): Query<FileQuery>,
) -> Response {
    match admin(s).guest_file(&VmId::new(vm), &q.path) {
        Some(bytes) => bytes.into_response(),
        None => (
            StatusCode::NOT_FOUND,
            format!("no file {} in that VM", q.path),
        )
            .into_response(),
    }
}

async fn get_services(State(s): State<Shared>, Path(vm): Path<String>) -> Response {
    let services = admin(s).with_guest(&VmId::new(vm), |g| {
        serde_json::to_value(g.services().collect::<Vec<_>>()).ok()
    });
    match services.flatten() {
        Some(v) => Json(v).into_response(),
        None => (StatusCode::NOT_FOUND, "no such VM").into_response(),
    }
}

#[derive(Serialize)]
struct RequestReport {
    requests: Vec<LogEntry>,
    counts: BTreeMap<String, u64>,
}

async fn get_requests(State(s): State<Shared>) -> Json<RequestReport> {
    let a = admin(s);
    Json(RequestReport {
        requests: a.request_log(),
        counts: a.route_counts(),
    })
}

async fn get_connections(State(s): State<Shared>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "connections": admin(s).connection_count() }))
}

async fn post_expire_sessions(State(s): State<Shared>) -> StatusCode {
    admin(s).expire_sessions();
    StatusCode::NO_CONTENT
}
