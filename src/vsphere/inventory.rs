//! Inventory look-ups: lists with vCenter's flat filters, by-name finds
//! that refuse to guess, and inventory paths (`/dc1/vm/folder/sub/vm1`)
//! resolved by walking folders with the list filters.
//!
//! Path form (govc's): `/[dc-folder/...]DATACENTER/ROOT/[folder/...]NAME`
//! where ROOT is `vm`, `host`, `datastore` or `network`, the datacenter's
//! hidden root folders. Resource pools live under a cluster:
//! `/dc1/host/[folder/...]CLUSTER/Resources[/pool/...]`.
//!
//! A name that matches several objects is an error listing every match;
//! picking one silently could clone from, or delete, the wrong VM.

use super::error::VsphereError;
use super::ops::{self, Operation};
use super::session::Client;
use super::transport::Call;
use super::wire::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

/// The repeated query filters of vCenter's list operations
/// (`names=a&names=b&folders=group-v3`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    pairs: Vec<(String, String)>,
}

fn wire<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

impl ListFilter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Any filter by its wire name, for filters without a helper below.
    pub fn with(mut self, key: &str, value: impl Display) -> Self {
        self.pairs.push((key.to_string(), value.to_string()));
        self
    }

    pub fn name(self, name: &str) -> Self {
        self.with("names", name)
    }
    pub fn vm(self, id: &VmId) -> Self {
        self.with("vms", id)
    }
    pub fn folder(self, id: &FolderId) -> Self {
        self.with("folders", id)
    }
    pub fn parent_folder(self, id: &FolderId) -> Self {
        self.with("parent_folders", id)
    }
    pub fn datacenter(self, id: &DatacenterId) -> Self {
        self.with("datacenters", id)
    }
    pub fn cluster(self, id: &ClusterId) -> Self {
        self.with("clusters", id)
    }
    pub fn host(self, id: &HostId) -> Self {
        self.with("hosts", id)
    }
    pub fn resource_pool(self, id: &ResourcePoolId) -> Self {
        self.with("resource_pools", id)
    }
    pub fn parent_resource_pool(self, id: &ResourcePoolId) -> Self {
        self.with("parent_resource_pools", id)
    }
    pub fn power_state(self, state: PowerState) -> Self {
        self.with("power_states", wire(&state))
    }
    /// The folder list's single-valued `type` filter.
    pub fn folder_type(self, t: FolderType) -> Self {
        self.with("type", wire(&t))
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// `/dc1/vm/folder/name` split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InventoryPath {
    pub raw: String,
    /// Folders above the datacenter (usually none).
    pub datacenter_folders: Vec<String>,
    pub datacenter: String,
    pub root: RootFolder,
    /// Everything below the root folder; the last item is the object.
    pub rest: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RootFolder {
    Vm,
    Host,
    Datastore,
    Network,
}

impl RootFolder {
    fn name(self) -> &'static str {
        match self {
            RootFolder::Vm => "vm",
            RootFolder::Host => "host",
            RootFolder::Datastore => "datastore",
            RootFolder::Network => "network",
        }
    }

    fn folder_type(self) -> FolderType {
        match self {
            RootFolder::Vm => FolderType::VirtualMachine,
            RootFolder::Host => FolderType::Host,
            RootFolder::Datastore => FolderType::Datastore,
            RootFolder::Network => FolderType::Network,
        }
    }
}

impl InventoryPath {
    pub fn parse(path: &str) -> Result<Self, VsphereError> {
        let bad = |reason: &str| VsphereError::InvalidPath {
            path: path.to_string(),
            reason: reason.to_string(),
        };
        let body = path
            .strip_prefix('/')
            .ok_or_else(|| bad("an inventory path starts with `/`"))?;
        let parts: Vec<String> = body
            .trim_end_matches('/')
            .split('/')
            .map(str::to_string)
            .collect();
        if parts.iter().any(String::is_empty) {
            return Err(bad("empty path element (`//`)"));
        }
        let roots = [
            RootFolder::Vm,
            RootFolder::Host,
            RootFolder::Datastore,
            RootFolder::Network,
        ];
        let found = parts
            .iter()
            .enumerate()
            .skip(1)
            .find_map(|(i, p)| roots.iter().find(|r| r.name() == p).map(|r| (i, *r)));
        let Some((i, root)) = found else {
            return Err(bad("expected /DATACENTER/{vm|host|datastore|network}/..."));
        };
        Ok(InventoryPath {
            raw: path.to_string(),
            datacenter_folders: parts[..i - 1].to_vec(),
            datacenter: parts[i - 1].clone(),
            root,
            rest: parts[i + 1..].to_vec(),
        })
    }

    /// The path up to and including `rest[..n]`, for errors.
    fn prefix(&self, n: usize) -> String {
        let mut s = String::new();
        for p in self.datacenter_folders.iter().chain([&self.datacenter]) {
            s.push('/');
            s.push_str(p);
        }
        s.push('/');
        s.push_str(self.root.name());
        for p in &self.rest[..n.min(self.rest.len())] {
            s.push('/');
            s.push_str(p);
        }
        s
    }
}

/// Exactly one match, or an error naming the kind and every match.
fn unique<T, I: Display>(
    kind: &'static str,
    name: &str,
    items: Vec<T>,
    id: impl Fn(&T) -> I,
) -> Result<T, VsphereError> {
    let mut items = items;
    match items.len() {
        0 => Err(VsphereError::NotFound {
            kind,
            name: name.to_string(),
        }),
        1 => Ok(items.remove(0)),
        _ => Err(VsphereError::Ambiguous {
            kind,
            name: name.to_string(),
            candidates: items.iter().map(|i| id(i).to_string()).collect(),
        }),
    }
}

/// `Client::find_*`: one look-up with a finder of its own (nothing shared
/// with other calls).
macro_rules! one_finder_per_call {
    ($($(#[$doc:meta])* $name:ident => $method:ident -> $id:ty;)*) => {
        $(
            $(#[$doc])*
            pub async fn $name(&self, name_or_path: &str) -> Result<$id, VsphereError> {
                self.finder().$method(name_or_path).await
            }
        )*
    };
}

impl Client {
    async fn list<T: DeserializeOwned>(
        &self,
        op: &'static Operation,
        f: &ListFilter,
        kind: &str,
    ) -> Result<Vec<T>, VsphereError> {
        let mut what = format!("list {kind}");
        if !f.pairs.is_empty() {
            let shown: Vec<String> = f.pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            what = format!("{what} ({})", shown.join(", "));
        }
        self.json(Call::new(op, &[], what).query(f.pairs.clone()))
            .await
    }

    pub async fn list_vms(&self, f: &ListFilter) -> Result<Vec<VmSummary>, VsphereError> {
        self.list(&ops::VM_LIST, f, "VMs").await
    }
    pub async fn list_folders(&self, f: &ListFilter) -> Result<Vec<FolderSummary>, VsphereError> {
        self.list(&ops::FOLDER_LIST, f, "folders").await
    }
    pub async fn list_datacenters(
        &self,
        f: &ListFilter,
    ) -> Result<Vec<DatacenterSummary>, VsphereError> {
        self.list(&ops::DATACENTER_LIST, f, "datacenters").await
    }
    pub async fn list_datastores(
        &self,
        f: &ListFilter,
    ) -> Result<Vec<DatastoreSummary>, VsphereError> {
        self.list(&ops::DATASTORE_LIST, f, "datastores").await
    }
    pub async fn list_resource_pools(
        &self,
        f: &ListFilter,
    ) -> Result<Vec<ResourcePoolSummary>, VsphereError> {
        self.list(&ops::RESOURCE_POOL_LIST, f, "resource pools")
            .await
    }
    pub async fn list_clusters(&self, f: &ListFilter) -> Result<Vec<ClusterSummary>, VsphereError> {
        self.list(&ops::CLUSTER_LIST, f, "clusters").await
    }
    pub async fn list_networks(&self, f: &ListFilter) -> Result<Vec<NetworkSummary>, VsphereError> {
        self.list(&ops::NETWORK_LIST, f, "networks").await
    }

    one_finder_per_call! {
        /// A VM by name (unique across the inventory) or by inventory path.
        /// Templates are not found this way (`/api` does not list them).
        find_vm => vm -> VmId;
        find_datastore => datastore -> DatastoreId;
        find_network => network -> NetworkId;
        find_cluster => cluster -> ClusterId;
        find_datacenter => datacenter -> DatacenterId;
        /// A folder by name (any type) or by path (`/dc1/vm/builds`).
        find_folder => folder -> FolderId;
        /// A resource pool by name or by path (`/dc1/host/cluster1/Resources/pool`).
        find_resource_pool => resource_pool -> ResourcePoolId;
    }

    /// A [`Finder`] for several look-ups in a row (a pipeline's inventory).
    pub fn finder(&self) -> Finder<'_> {
        Finder {
            client: self,
            datacenters: Memo::default(),
            roots: Memo::default(),
        }
    }
}

/// Answers kept by key; concurrent askers of one key wait for the first
/// answer instead of asking vCenter again. Failures are not kept.
type Memo<T> = std::sync::Mutex<HashMap<String, Arc<tokio::sync::OnceCell<T>>>>;

async fn remembered<T, F, Fut>(memo: &Memo<T>, key: String, ask: F) -> Result<T, VsphereError>
where
    T: Clone,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, VsphereError>>,
{
    let cell = {
        let mut map = memo.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key).or_default().clone()
    };
    cell.get_or_try_init(ask).await.cloned()
}

/// By-name and by-path finds that share what they learn on the way: a
/// pipeline names five or six objects by paths through the same
/// datacenter and root folder, and each path would otherwise look both up
/// again (two requests per path). The ids of a datacenter and of its root
/// folders never change while it exists, so keeping them for one
/// pipeline's look-ups is safe; a finder is not meant to live longer.
pub struct Finder<'a> {
    client: &'a Client,
    /// Datacenter path (`/dc1`, `/emea/dc2`) → id.
    datacenters: Memo<DatacenterId>,
    /// `datacenter-1/vm` → that root folder's id.
    roots: Memo<FolderId>,
}

impl Finder<'_> {
    /// A VM by name (unique across the inventory) or by inventory path.
    /// Templates are not found this way (`/api` does not list them).
    pub async fn vm(&self, name_or_path: &str) -> Result<VmId, VsphereError> {
        let list = |f| async move { self.client.list_vms(&f).await };
        let one = self.one("VM", name_or_path, RootFolder::Vm, list, |v| v.vm.clone());
        Ok(one.await?.vm)
    }

    pub async fn datastore(&self, name_or_path: &str) -> Result<DatastoreId, VsphereError> {
        let list = |f| async move { self.client.list_datastores(&f).await };
        let root = RootFolder::Datastore;
        let one = self.one("datastore", name_or_path, root, list, |d| {
            d.datastore.clone()
        });
        Ok(one.await?.datastore)
    }

    pub async fn network(&self, name_or_path: &str) -> Result<NetworkId, VsphereError> {
        let list = |f| async move { self.client.list_networks(&f).await };
        let root = RootFolder::Network;
        let one = self.one("network", name_or_path, root, list, |n| n.network.clone());
        Ok(one.await?.network)
    }

    pub async fn cluster(&self, name_or_path: &str) -> Result<ClusterId, VsphereError> {
        let list = |f| async move { self.client.list_clusters(&f).await };
        let root = RootFolder::Host;
        let one = self.one("cluster", name_or_path, root, list, |c| c.cluster.clone());
        Ok(one.await?.cluster)
    }

    /// The one object `list` finds by the name, in the folder a path leads
    /// to when `name_or_path` is a path below `root`.
    async fn one<T, I, F, Fut>(
        &self,
        kind: &'static str,
        name_or_path: &str,
        root: RootFolder,
        list: F,
        id: impl Fn(&T) -> I,
    ) -> Result<T, VsphereError>
    where
        I: Display,
        F: FnOnce(ListFilter) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>, VsphereError>>,
    {
        let (f, shown) = self
            .scope(name_or_path, root, |f, name| f.name(name))
            .await?;
        unique(kind, &shown, list(f).await?, id)
    }

    /// A datacenter by name. The same look-up as the datacenter of a path
    /// with no folders above it (`/dc1/...`), so they share the answer.
    pub async fn datacenter(&self, name: &str) -> Result<DatacenterId, VsphereError> {
        remembered(&self.datacenters, format!("/{name}"), || async {
            let found = self
                .client
                .list_datacenters(&ListFilter::new().name(name))
                .await?;
            Ok(unique("datacenter", name, found, |d| d.datacenter.clone())?.datacenter)
        })
        .await
    }

    /// A folder by name (any type) or by path (`/dc1/vm/builds`; `/dc1/vm`
    /// is the datacenter's VM root folder).
    pub async fn folder(&self, name_or_path: &str) -> Result<FolderId, VsphereError> {
        if !name_or_path.starts_with('/') {
            let found = self
                .client
                .list_folders(&ListFilter::new().name(name_or_path))
                .await?;
            return Ok(unique("folder", name_or_path, found, |f| f.folder.clone())?.folder);
        }
        let path = InventoryPath::parse(name_or_path)?;
        let (_, root) = self.datacenter_root(&path).await?;
        self.walk_folders(&path, root, path.rest.len()).await
    }

    /// A resource pool by name or by path
    /// (`/dc1/host/cluster1/Resources/pool`).
    pub async fn resource_pool(&self, name_or_path: &str) -> Result<ResourcePoolId, VsphereError> {
        if !name_or_path.starts_with('/') {
            let found = self
                .client
                .list_resource_pools(&ListFilter::new().name(name_or_path))
                .await?;
            return Ok(unique("resource pool", name_or_path, found, |p| {
                p.resource_pool.clone()
            })?
            .resource_pool);
        }
        let path = InventoryPath::parse(name_or_path)?;
        let bad = |reason: &str| VsphereError::InvalidPath {
            path: path.raw.clone(),
            reason: reason.to_string(),
        };
        if path.root != RootFolder::Host {
            return Err(bad(
                "resource pools live under /DATACENTER/host/CLUSTER/Resources",
            ));
        }
        let split = path
            .rest
            .iter()
            .position(|p| p == "Resources")
            .filter(|i| *i >= 1)
            .ok_or_else(|| bad("expected .../CLUSTER/Resources[/pool...]"))?;
        let (_, root) = self.datacenter_root(&path).await?;
        let folder = self.walk_folders(&path, root, split - 1).await?;
        let cluster_name = &path.rest[split - 1];
        let clusters = self
            .client
            .list_clusters(&ListFilter::new().folder(&folder).name(cluster_name))
            .await?;
        let cluster = unique("cluster", &path.prefix(split), clusters, |c| {
            c.cluster.clone()
        })?
        .cluster;
        let pools = self
            .client
            .list_resource_pools(&ListFilter::new().cluster(&cluster).name("Resources"))
            .await?;
        let mut pool = unique("resource pool", &path.prefix(split + 1), pools, |p| {
            p.resource_pool.clone()
        })?
        .resource_pool;
        for n in split + 1..path.rest.len() {
            let f = ListFilter::new()
                .parent_resource_pool(&pool)
                .name(&path.rest[n]);
            let found = self.client.list_resource_pools(&f).await?;
            pool = unique("resource pool", &path.prefix(n + 1), found, |p| {
                p.resource_pool.clone()
            })?
            .resource_pool;
        }
        Ok(pool)
    }

    /// The list filter that finds `name_or_path`: a plain name filter, or,
    /// for a path, the name plus the folder the path leads to.
    async fn scope(
        &self,
        name_or_path: &str,
        root: RootFolder,
        by_name: impl Fn(ListFilter, &str) -> ListFilter,
    ) -> Result<(ListFilter, String), VsphereError> {
        if !name_or_path.starts_with('/') {
            return Ok((
                by_name(ListFilter::new(), name_or_path),
                name_or_path.to_string(),
            ));
        }
        let path = InventoryPath::parse(name_or_path)?;
        if path.root != root || path.rest.is_empty() {
            return Err(VsphereError::InvalidPath {
                path: path.raw.clone(),
                reason: format!("expected /DATACENTER/{}/[folder/...]NAME", root.name()),
            });
        }
        let (_, root_folder) = self.datacenter_root(&path).await?;
        let folder = self
            .walk_folders(&path, root_folder, path.rest.len() - 1)
            .await?;
        let last = &path.rest[path.rest.len() - 1];
        Ok((
            by_name(ListFilter::new().folder(&folder), last),
            path.raw.clone(),
        ))
    }

    /// The datacenter of `path` and its root folder for `path.root`, each
    /// looked up once per finder.
    async fn datacenter_root(
        &self,
        path: &InventoryPath,
    ) -> Result<(DatacenterId, FolderId), VsphereError> {
        let dc = if path.datacenter_folders.is_empty() {
            self.datacenter(&path.datacenter).await?
        } else {
            let key = format!("/{}/{}", path.datacenter_folders.join("/"), path.datacenter);
            remembered(&self.datacenters, key, || self.nested_datacenter(path)).await?
        };
        let key = format!("{dc}/{}", path.root.name());
        let root = remembered(&self.roots, key, || self.root_folder(path, &dc)).await?;
        Ok((dc, root))
    }

    /// A datacenter below datacenter folders (`/emea/dc2`).
    async fn nested_datacenter(&self, path: &InventoryPath) -> Result<DatacenterId, VsphereError> {
        let mut parent: Option<FolderId> = None;
        let mut shown = String::new();
        for name in &path.datacenter_folders {
            shown = format!("{shown}/{name}");
            let mut f = ListFilter::new()
                .folder_type(FolderType::Datacenter)
                .name(name);
            if let Some(p) = &parent {
                f = f.parent_folder(p);
            }
            parent = Some(
                unique("folder", &shown, self.client.list_folders(&f).await?, |x| {
                    x.folder.clone()
                })?
                .folder,
            );
        }
        let mut f = ListFilter::new().name(&path.datacenter);
        if let Some(p) = &parent {
            f = f.folder(p);
        }
        let dc_shown = format!("{shown}/{}", path.datacenter);
        Ok(unique(
            "datacenter",
            &dc_shown,
            self.client.list_datacenters(&f).await?,
            |d| d.datacenter.clone(),
        )?
        .datacenter)
    }

    /// The datacenter's hidden root folder for `path.root` (`vm`, `host`, ...).
    async fn root_folder(
        &self,
        path: &InventoryPath,
        dc: &DatacenterId,
    ) -> Result<FolderId, VsphereError> {
        let ftype = path.root.folder_type();
        let f = ListFilter::new()
            .datacenter(dc)
            .folder_type(ftype)
            .name(path.root.name());
        let mut roots = self.client.list_folders(&f).await?;
        if roots.len() > 1 {
            // A sub-folder may share the root's name (`/dc1/vm/vm`); the root
            // is the candidate that is nobody else's child.
            let mut children = Vec::new();
            for r in &roots {
                let f = ListFilter::new()
                    .parent_folder(&r.folder)
                    .folder_type(ftype)
                    .name(path.root.name());
                children.extend(
                    self.client
                        .list_folders(&f)
                        .await?
                        .into_iter()
                        .map(|c| c.folder),
                );
            }
            roots.retain(|r| !children.contains(&r.folder));
        }
        Ok(unique("folder", &path.prefix(0), roots, |r| r.folder.clone())?.folder)
    }

    /// Follows `path.rest[..depth]` as folders below `root`.
    async fn walk_folders(
        &self,
        path: &InventoryPath,
        root: FolderId,
        depth: usize,
    ) -> Result<FolderId, VsphereError> {
        let mut cur = root;
        for n in 0..depth.min(path.rest.len()) {
            let f = ListFilter::new()
                .parent_folder(&cur)
                .folder_type(path.root.folder_type())
                .name(&path.rest[n]);
            cur = unique(
                "folder",
                &path.prefix(n + 1),
                self.client.list_folders(&f).await?,
                |x| x.folder.clone(),
            )?
            .folder;
        }
        Ok(cur)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_splits_into_datacenter_root_and_rest() {
        let p = InventoryPath::parse("/dc1/vm/builds/win/win2022-base").unwrap();
        assert_eq!(p.datacenter, "dc1");
        assert!(p.datacenter_folders.is_empty());
        assert_eq!(p.root, RootFolder::Vm);
        assert_eq!(p.rest, vec!["builds", "win", "win2022-base"]);
        assert_eq!(p.prefix(1), "/dc1/vm/builds");
    }

    #[test]
    fn path_with_datacenter_folders_and_trailing_slash_parses() {
        let p = InventoryPath::parse("/emea/dc2/datastore/").unwrap();
        assert_eq!(p.datacenter_folders, vec!["emea"]);
        assert_eq!(p.datacenter, "dc2");
        assert_eq!(p.root, RootFolder::Datastore);
        assert!(p.rest.is_empty());
    }

    #[test]
    fn malformed_paths_are_rejected_with_the_reason() {
        let e = InventoryPath::parse("dc1/vm/x").unwrap_err().to_string();
        assert!(e.contains("starts with `/`"), "{e}");
        let e = InventoryPath::parse("/dc1//vm").unwrap_err().to_string();
        assert!(e.contains("empty path element"), "{e}");
        let e = InventoryPath::parse("/dc1/folder/x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("vm|host|datastore|network"), "{e}");
    }

    #[test]
    fn ambiguous_name_lists_every_match() {
        let vms = vec![VmId::new("vm-42"), VmId::new("vm-57")];
        let e = unique("VM", "win-build", vms, |v| v.clone()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "VM name \"win-build\" is ambiguous, it matches: vm-42, vm-57"
        );
        let e = unique("VM", "ghost", Vec::<VmId>::new(), |v| v.clone()).unwrap_err();
        assert!(e.is_not_found());
        assert_eq!(e.to_string(), "VM ghost not found");
    }

    #[test]
    fn filters_use_vcenter_wire_names_and_enum_values() {
        let f = ListFilter::new()
            .name("a")
            .name("b")
            .folder_type(FolderType::VirtualMachine)
            .power_state(PowerState::PoweredOn);
        let pairs: Vec<String> = f.pairs().iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            pairs,
            vec![
                "names=a",
                "names=b",
                "type=VIRTUAL_MACHINE",
                "power_states=POWERED_ON"
            ]
        );
    }
}
