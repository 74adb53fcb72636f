//! The simulated vCenter's mutable world: inventory objects with vCenter-style
//! ids, VMs (see [`super::machine`]), sessions, transfer tickets and VI tasks.
//!
//! One `Mutex<World>` guards it all. Handlers lock, read or change, and
//! unlock before any `.await` (a simulated delay never holds the lock), so a
//! slow clone does not stall power calls on other VMs.

use super::inventory::Inventory;
use super::machine::{DeviceContext, Machine, MachineSeed, NetworkRef, Placement, Refusal};
use super::timing::Timing;
use crate::vsphere::wire::*;
use crate::vsphere::wire::{DatastoreType, FolderType, NetworkType};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Clone, Debug, Serialize)]
pub struct Datacenter {
    #[serde(rename = "datacenter")]
    pub id: DatacenterId,
    pub name: String,
    pub vm_folder: FolderId,
    pub host_folder: FolderId,
    pub datastore_folder: FolderId,
    pub network_folder: FolderId,
}

#[derive(Clone, Debug, Serialize)]
pub struct Folder {
    #[serde(rename = "folder")]
    pub id: FolderId,
    pub name: String,
    #[serde(rename = "type")]
    pub folder_type: FolderType,
    pub parent: Option<FolderId>,
    pub datacenter: Option<DatacenterId>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Cluster {
    #[serde(rename = "cluster")]
    pub id: ClusterId,
    pub name: String,
    pub datacenter: DatacenterId,
    pub folder: FolderId,
    pub ha_enabled: bool,
    pub drs_enabled: bool,
    #[serde(rename = "resource_pool")]
    pub root_pool: ResourcePoolId,
}

/// An ESXi host of a cluster; always connected and powered on.
#[derive(Clone, Debug, Serialize)]
pub struct Host {
    #[serde(rename = "host")]
    pub id: HostId,
    pub name: String,
    pub datacenter: DatacenterId,
    pub cluster: ClusterId,
    pub folder: FolderId,
}

#[derive(Clone, Debug, Serialize)]
pub struct ResourcePool {
    #[serde(rename = "resource_pool")]
    pub id: ResourcePoolId,
    pub name: String,
    pub datacenter: DatacenterId,
    pub cluster: ClusterId,
    pub parent: Option<ResourcePoolId>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Datastore {
    #[serde(rename = "datastore")]
    pub id: DatastoreId,
    pub name: String,
    #[serde(rename = "type")]
    pub datastore_type: DatastoreType,
    pub datacenter: DatacenterId,
    pub folder: FolderId,
    pub capacity: u64,
    #[serde(rename = "free_space")]
    pub free: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Network {
    #[serde(rename = "network")]
    pub id: NetworkId,
    pub name: String,
    #[serde(rename = "type")]
    pub network_type: NetworkType,
    pub datacenter: DatacenterId,
    pub folder: FolderId,
}

#[derive(Clone, Debug)]
pub struct Session {
    pub user: String,
    /// Opened by VI `SessionManager.Login` rather than `POST /api/session`.
    pub vi: bool,
    pub created_at: Instant,
    pub created_time: chrono::DateTime<chrono::Utc>,
    pub last_accessed: chrono::DateTime<chrono::Utc>,
}

/// A guest file transfer ticket, redeemable once before `expires`.
#[derive(Clone, Debug)]
pub struct Transfer {
    pub vm: VmId,
    pub path: String,
    /// `Some` for an upload (PUT): the announced size and overwrite flag.
    pub upload: Option<(u64, bool)>,
    pub expires: Instant,
}

/// The outcome of a VI task (`Rename_Task`, `Destroy_Task`).
#[derive(Clone, Debug)]
pub struct ViTask {
    pub id: TaskId,
    pub entity: VmId,
    pub name: &'static str,
    pub done_at: Instant,
    pub error: Option<crate::vsphere::wire::ViFaultBody>,
}

/// An `/api` task (`?vmw-task=true`), as `GET /api/cis/tasks/{task}` reports it.
#[derive(Clone, Debug)]
pub struct ApiTask {
    pub operation: &'static str,
    pub service: &'static str,
    pub user: String,
    pub status: crate::vsphere::wire::TaskStatus,
    pub result: Option<serde_json::Value>,
    pub error: Option<crate::vsphere::wire::VapiErrorBody>,
    pub start_time: chrono::DateTime<chrono::Utc>,
    pub end_time: Option<chrono::DateTime<chrono::Utc>>,
}

/// The root folder that holds every datacenter.
pub const ROOT_FOLDER: &str = "group-d1";

pub struct World {
    next_id: u64,
    pub timing: Timing,
    pub subnet: [u8; 3],
    next_ip: u8,
    pub datacenters: Vec<Datacenter>,
    pub folders: BTreeMap<FolderId, Folder>,
    pub clusters: Vec<Cluster>,
    pub hosts: Vec<Host>,
    pub resource_pools: Vec<ResourcePool>,
    pub datastores: BTreeMap<DatastoreId, Datastore>,
    pub networks: Vec<Network>,
    pub vms: BTreeMap<VmId, Machine>,
    pub sessions: HashMap<String, Session>,
    pub transfers: HashMap<String, Transfer>,
    pub tasks: BTreeMap<TaskId, ViTask>,
    pub api_tasks: BTreeMap<String, ApiTask>,
    pub collectors: super::collectors::Collectors,
}

impl World {
    /// Ends a session and what only it could use: the PropertyCollectors
    /// it created go with it, as on vCenter.
    pub fn end_session(&mut self, token: &str) {
        self.sessions.remove(token);
        self.collectors.forget_session(token);
    }

    pub fn new(inventory: &Inventory, timing: Timing, now: Instant) -> Self {
        let mut world = World {
            next_id: 10,
            timing,
            subnet: inventory.subnet_prefix(),
            next_ip: 100,
            datacenters: vec![],
            folders: BTreeMap::new(),
            clusters: vec![],
            hosts: vec![],
            resource_pools: vec![],
            datastores: BTreeMap::new(),
            networks: vec![],
            vms: BTreeMap::new(),
            sessions: HashMap::new(),
            transfers: HashMap::new(),
            tasks: BTreeMap::new(),
            api_tasks: BTreeMap::new(),
            collectors: Default::default(),
        };
        let root = FolderId::new(ROOT_FOLDER);
        world.folders.insert(
            root.clone(),
            Folder {
                id: root.clone(),
                name: "Datacenters".into(),
                folder_type: FolderType::Datacenter,
                parent: None,
                datacenter: None,
            },
        );
        for dc in &inventory.datacenters {
            world.seed_datacenter(dc, &root, now);
        }
        for vm in world.vms.values_mut() {
            vm.set_timing(&world.timing);
        }
        world
    }

    fn seed_datacenter(
        &mut self,
        seed: &super::inventory::DatacenterSeed,
        root: &FolderId,
        now: Instant,
    ) {
        let dc_id = DatacenterId::new(self.mint(DatacenterId::PREFIX));
        let system_folder = |world: &mut World, tag: &str, name: &str, kind: FolderType| {
            let id = FolderId::new(world.mint(&format!("group-{tag}")));
            world.folders.insert(
                id.clone(),
                Folder {
                    id: id.clone(),
                    name: name.into(),
                    folder_type: kind,
                    parent: Some(root.clone()),
                    datacenter: Some(dc_id.clone()),
                },
            );
            id
        };
        let vm_folder = system_folder(self, "v", "vm", FolderType::VirtualMachine);
        let host_folder = system_folder(self, "h", "host", FolderType::Host);
        let datastore_folder = system_folder(self, "s", "datastore", FolderType::Datastore);
        let network_folder = system_folder(self, "n", "network", FolderType::Network);
        // System folders hang under the datacenter, not the root; the root
        // link above only gives them a parent chain for path rendering.
        let dc = Datacenter {
            id: dc_id.clone(),
            name: seed.name.clone(),
            vm_folder: vm_folder.clone(),
            host_folder: host_folder.clone(),
            datastore_folder: datastore_folder.clone(),
            network_folder: network_folder.clone(),
        };
        self.datacenters.push(dc);
        for path in &seed.folders {
            self.ensure_vm_folder(&dc_id, &vm_folder, path);
        }
        for c in &seed.clusters {
            let id = ClusterId::new(self.mint(ClusterId::PREFIX));
            let root_pool = ResourcePoolId::new(self.mint(ResourcePoolId::PREFIX));
            self.resource_pools.push(ResourcePool {
                id: root_pool.clone(),
                name: "Resources".into(),
                datacenter: dc_id.clone(),
                cluster: id.clone(),
                parent: None,
            });
            for p in &c.resource_pools {
                let pid = ResourcePoolId::new(self.mint(ResourcePoolId::PREFIX));
                self.resource_pools.push(ResourcePool {
                    id: pid,
                    name: p.clone(),
                    datacenter: dc_id.clone(),
                    cluster: id.clone(),
                    parent: Some(root_pool.clone()),
                });
            }
            for name in c.host_names() {
                let host = HostId::new(self.mint(HostId::PREFIX));
                self.hosts.push(Host {
                    id: host,
                    name,
                    datacenter: dc_id.clone(),
                    cluster: id.clone(),
                    folder: host_folder.clone(),
                });
            }
            self.clusters.push(Cluster {
                id,
                name: c.name.clone(),
                datacenter: dc_id.clone(),
                folder: host_folder.clone(),
                ha_enabled: c.ha_enabled,
                drs_enabled: c.drs_enabled,
                root_pool,
            });
        }
        for ds in &seed.datastores {
            let id = DatastoreId::new(self.mint(DatastoreId::PREFIX));
            self.datastores.insert(
                id.clone(),
                Datastore {
                    id,
                    name: ds.name.clone(),
                    datastore_type: ds.datastore_type,
                    datacenter: dc_id.clone(),
                    folder: datastore_folder.clone(),
                    capacity: ds.capacity_bytes(),
                    free: ds.free_bytes(),
                },
            );
        }
        for n in &seed.networks {
            // vCenter names distributed port groups `dvportgroup-N` and
            // standard ones `network-N` (vmware.vmware_rest 4.9.0
            // `vcenter_network_info` sample: network-1016, dvportgroup-1021).
            let prefix = match n.network_type {
                NetworkType::DistributedPortgroup => "dvportgroup-",
                _ => NetworkId::PREFIX,
            };
            let id = NetworkId::new(self.mint(prefix));
            self.networks.push(Network {
                id,
                name: n.name.clone(),
                network_type: n.network_type,
                datacenter: dc_id.clone(),
                folder: network_folder.clone(),
            });
        }
        for vm in &seed.vms {
            let folder = if vm.folder.trim_matches('/').is_empty() {
                vm_folder.clone()
            } else {
                self.ensure_vm_folder(&dc_id, &vm_folder, &vm.folder)
            };
            let datastore = self
                .datastores
                .values()
                .find(|d| d.datacenter == dc_id && d.name == vm.datastore)
                .map(|d| d.id.clone());
            let cluster = vm.cluster.as_ref().and_then(|c| {
                self.clusters
                    .iter()
                    .find(|cl| cl.datacenter == dc_id && &cl.name == c)
            });
            let resource_pool = match (&vm.resource_pool, cluster) {
                (Some(p), _) => self
                    .resource_pools
                    .iter()
                    .find(|rp| rp.datacenter == dc_id && &rp.name == p)
                    .map(|rp| rp.id.clone()),
                (None, Some(c)) => Some(c.root_pool.clone()),
                (None, None) => None,
            };
            let cluster = cluster.map(|c| c.id.clone());
            let network = vm
                .network
                .as_ref()
                .and_then(|n| {
                    self.networks
                        .iter()
                        .find(|net| net.datacenter == dc_id && &net.name == n)
                })
                .map(|n| n.id.clone());
            let Some(datastore) = datastore else { continue };
            let id = VmId::new(self.mint(VmId::PREFIX));
            let octet = self.lease_octet();
            let seed = MachineSeed {
                id: id.clone(),
                vm,
                placement: Placement {
                    datacenter: dc_id.clone(),
                    folder,
                    datastore,
                    host: cluster.as_ref().and_then(|c| self.first_host(c)),
                    cluster,
                    resource_pool,
                    network,
                },
                lease_octet: octet,
            };
            let machine = Machine::from_seed(seed, now);
            self.vms.insert(id, machine);
        }
    }

    /// Creates (if needed) each folder of `path` below the datacenter's vm folder.
    fn ensure_vm_folder(
        &mut self,
        dc: &DatacenterId,
        vm_folder: &FolderId,
        path: &str,
    ) -> FolderId {
        let mut parent = vm_folder.clone();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let existing = self
                .folders
                .values()
                .find(|f| f.parent.as_ref() == Some(&parent) && f.name == part)
                .map(|f| f.id.clone());
            parent = match existing {
                Some(id) => id,
                None => {
                    let id = FolderId::new(self.mint("group-v"));
                    self.folders.insert(
                        id.clone(),
                        Folder {
                            id: id.clone(),
                            name: part.to_string(),
                            folder_type: FolderType::VirtualMachine,
                            parent: Some(parent.clone()),
                            datacenter: Some(dc.clone()),
                        },
                    );
                    id
                }
            };
        }
        parent
    }

    /// The host a VM placed in `cluster` runs on (the first: DRS is not modelled).
    pub fn first_host(&self, cluster: &ClusterId) -> Option<HostId> {
        self.hosts
            .iter()
            .find(|h| &h.cluster == cluster)
            .map(|h| h.id.clone())
    }

    /// A fresh id with vCenter's prefix (`vm-42`).
    pub fn mint(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    /// The last octet of the next DHCP lease; wraps inside 100..=250.
    pub fn lease_octet(&mut self) -> u8 {
        let octet = self.next_ip;
        self.next_ip = if self.next_ip >= 250 {
            100
        } else {
            self.next_ip + 1
        };
        octet
    }

    pub fn datacenter(&self, id: &DatacenterId) -> Option<&Datacenter> {
        self.datacenters.iter().find(|d| &d.id == id)
    }

    /// The datacenter owning a folder (walking up to the system folder).
    pub fn folder_datacenter(&self, id: &FolderId) -> Option<DatacenterId> {
        self.folders.get(id).and_then(|f| f.datacenter.clone())
    }

    /// `/dc1/vm/templates/windows` for a VM folder.
    pub fn folder_path(&self, id: &FolderId) -> String {
        let mut parts = vec![];
        let mut cursor = self.folders.get(id);
        while let Some(f) = cursor {
            if f.id.as_str() == ROOT_FOLDER {
                break;
            }
            parts.push(f.name.clone());
            if f.parent.as_ref().map(|p| p.as_str()) == Some(ROOT_FOLDER) {
                if let Some(dc) = f.datacenter.as_ref().and_then(|d| self.datacenter(d)) {
                    parts.push(dc.name.clone());
                }
                break;
            }
            cursor = f.parent.as_ref().and_then(|p| self.folders.get(p));
        }
        parts.reverse();
        format!("/{}", parts.join("/"))
    }

    /// Whether `folder` is `ancestor` or lies below it.
    pub fn folder_within(&self, folder: &FolderId, ancestor: &FolderId) -> bool {
        let mut cursor = Some(folder.clone());
        while let Some(id) = cursor {
            if &id == ancestor {
                return true;
            }
            cursor = self.folders.get(&id).and_then(|f| f.parent.clone());
        }
        false
    }

    /// Applies every delayed state change that is due (power-off after a
    /// guest shutdown, end of a reboot) and forgets expired tickets.
    pub fn settle(&mut self, now: Instant) {
        for vm in self.vms.values_mut() {
            vm.settle(now);
        }
        self.transfers.retain(|_, t| t.expires > now);
    }

    /// Whether another VM or template in `folder` is called `name`:
    /// vCenter refuses a duplicate name only within one folder.
    pub fn name_taken(&self, folder: &FolderId, name: &str, except: Option<&VmId>) -> bool {
        self.vms
            .values()
            .any(|v| &v.placement().folder == folder && v.name() == name && Some(v.id()) != except)
    }

    /// The inventory facts a VM's device views need.
    pub fn device_context(&self, vm: &Machine) -> DeviceContext {
        let placement = vm.placement();
        DeviceContext {
            datastore_name: self
                .datastores
                .get(&placement.datastore)
                .map(|d| d.name.clone())
                .unwrap_or_default(),
            network: placement.network.as_ref().and_then(|id| {
                self.networks
                    .iter()
                    .find(|n| &n.id == id)
                    .map(|n| NetworkRef {
                        id: n.id.clone(),
                        name: n.name.clone(),
                        network_type: n.network_type,
                    })
            }),
        }
    }

    /// Deletes a powered-off VM and gives its disk space back.
    pub fn remove_vm(&mut self, id: &VmId) -> Result<(), Refusal> {
        let vm = self.vms.get(id).ok_or_else(|| Refusal::NotFound {
            what: "Virtual machine",
            id: id.to_string(),
        })?;
        if vm.power() != PowerState::PoweredOff {
            return Err(Refusal::PowerState {
                state: vm.power(),
                message: format!(
                    "Virtual machine {id} is powered on; power it off before deleting it"
                ),
            });
        }
        let (datastore, bytes) = (vm.placement().datastore.clone(), vm.disk_bytes());
        self.vms.remove(id);
        self.release_space(&datastore, bytes);
        Ok(())
    }

    /// Clone bookkeeping shared by `/api` clone: checks and reserves space.
    pub fn reserve_space(&mut self, datastore: &DatastoreId, bytes: u64) -> Result<(), String> {
        let ds = self
            .datastores
            .get_mut(datastore)
            .ok_or_else(|| format!("datastore {datastore} was not found"))?;
        if ds.free < bytes {
            return Err(format!(
                "Insufficient disk space on datastore '{}': {} bytes needed, {} bytes free",
                ds.name, bytes, ds.free
            ));
        }
        ds.free -= bytes;
        Ok(())
    }

    pub fn release_space(&mut self, datastore: &DatastoreId, bytes: u64) {
        if let Some(ds) = self.datastores.get_mut(datastore) {
            ds.free = (ds.free + bytes).min(ds.capacity);
        }
    }

    /// How long a transfer URL stays valid.
    pub const TRANSFER_TTL: Duration = Duration::from_secs(600);
}

/// Everything a handler needs, cloned into each request.
#[derive(Clone)]
pub struct Shared {
    pub world: std::sync::Arc<std::sync::Mutex<World>>,
    pub faults: super::faults::FaultEngine,
    pub metrics: std::sync::Arc<super::server::Metrics>,
    pub user: String,
    pub password: crate::secret::Secret,
    pub guest_user: String,
    pub guest_password: crate::secret::Secret,
    pub timing: Timing,
    pub accept_api_token_for_vi: bool,
    /// `https` or `http`, and the bound port, for transfer URLs.
    pub scheme: &'static str,
    pub port: u16,
}

impl Shared {
    /// Locks the world and settles due changes first, so every reader sees
    /// the state "as of now". A poisoned lock (a handler panicked) still
    /// holds consistent data because handlers never leave partial updates
    /// across a panic point, so it is recovered rather than propagated.
    pub fn world(&self) -> std::sync::MutexGuard<'_, World> {
        let mut guard = match self.world.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.settle(Instant::now());
        guard
    }
}
