//! Resolving a pipeline's inventory names to vCenter ids (preflight, and
//! `gild validate --online`).
//!
//! Every object is looked up, and every one that fails is reported: a
//! first run against a new vCenter usually has several names wrong, and
//! fixing them one rerun at a time wastes everyone's afternoon. The
//! datacenter is resolved first; plain names are then looked up inside it
//! (vCenter's list filters take `datacenters=`), so `datastore1` in two
//! datacenters is not ambiguous for a pipeline that names its datacenter.
//! Inventory paths (`/dc1/vm/builds`) are resolved as written and must lie
//! in the pipeline's datacenter. The lookups run concurrently over the one
//! session.

use super::config::Pipeline;
use crate::vsphere::wire::FolderType;
use crate::vsphere::wire::*;
use crate::vsphere::{Client, Finder, InventoryPath, ListFilter, VsphereError};
use std::fmt;

/// The ids a build needs, all found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub datacenter: DatacenterId,
    /// Where the build VM is created (`placement.folder`).
    pub build_folder: FolderId,
    /// Where the template is published (`template.folder`).
    pub template_folder: FolderId,
    /// `placement.cluster`, when the pipeline places by cluster.
    pub cluster: Option<ClusterId>,
    /// `placement.resource_pool`, or the cluster's root pool.
    pub resource_pool: ResourcePoolId,
    pub datastore: DatastoreId,
    pub network: NetworkId,
    /// The base VM (`source.vm`).
    pub source_vm: VmId,
}

/// One object that could not be resolved.
#[derive(Debug)]
pub struct Unresolved {
    /// The pipeline field that names it (`placement.datastore`).
    pub field: &'static str,
    /// What kind of object (`datastore`).
    pub kind: &'static str,
    /// The name or path as written.
    pub name: String,
    pub error: VsphereError,
}

impl Unresolved {
    /// Missing, ambiguous or a malformed path (the pipeline is wrong), as
    /// opposed to vCenter failing to answer.
    pub fn is_missing(&self) -> bool {
        self.error.is_not_found()
            || self.error.is_ambiguous()
            || matches!(self.error, VsphereError::InvalidPath { .. })
    }

    /// Advice beyond vCenter's answer, when there is some.
    pub fn hint(&self) -> Option<&'static str> {
        if self.field == "source.vm" && self.error.is_not_found() {
            return Some(
                "if it is a template, convert it to a VM (or clone one from it): vCenter's /api \
                 does not list templates, and gild builds from a VM and never changes it",
            );
        }
        if self.error.is_ambiguous() {
            return Some("give its inventory path (/DATACENTER/ROOT/folder/NAME) to pick one");
        }
        None
    }
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} ({}): {}",
            self.kind, self.name, self.field, self.error
        )?;
        if let Some(h) = self.hint() {
            write!(f, "; {h}")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub struct ResolveError {
    pub unresolved: Vec<Unresolved>,
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.unresolved.len();
        write!(
            f,
            "{n} inventory object{} not resolved",
            if n == 1 { "" } else { "s" }
        )?;
        for u in &self.unresolved {
            write!(f, "\n  - {u}")?;
        }
        Ok(())
    }
}

/// Resolves every inventory object `pipeline` names.
pub async fn resolve(client: &Client, pipeline: &Pipeline) -> Result<Resolved, ResolveError> {
    let f = look_up(client, pipeline, Wanted::Build).await;
    let mut unresolved = Vec::new();
    let u = &mut unresolved;
    let datacenter = take(f.datacenter, u);
    let build_folder = f.build_folder.and_then(|r| take(r, u));
    let cluster = f.cluster.map(|c| take(c, u));
    let resource_pool = f.pool.and_then(|p| take(p, u));
    let datastore = take(f.datastore, u);
    let network = f.network.and_then(|r| take(r, u));
    let source_vm = take(f.source_vm, u);
    let template_folder = take(f.template_folder, u);
    neither_cluster_nor_pool(pipeline, u);
    match (
        datacenter,
        build_folder,
        template_folder,
        resource_pool,
        datastore,
        network,
        source_vm,
    ) {
        (
            Some(datacenter),
            Some(build_folder),
            Some(template_folder),
            Some(resource_pool),
            Some(datastore),
            Some(network),
            Some(source_vm),
        ) if unresolved.is_empty() => Ok(Resolved {
            datacenter,
            build_folder,
            template_folder,
            cluster: cluster.flatten(),
            resource_pool,
            datastore,
            network,
            source_vm,
        }),
        _ => Err(ResolveError { unresolved }),
    }
}

/// What cloning the source straight into the template folder needs (the
/// bare clone → template flow): no build folder, no network, and the
/// cluster itself rather than its root pool (a clone placement takes
/// either).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloneTarget {
    pub source_vm: VmId,
    /// The clone lands here directly: no move afterwards.
    pub template_folder: FolderId,
    pub compute: Compute,
    pub datastore: DatastoreId,
}

/// Where a clone runs: the clone placement takes a cluster as it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compute {
    Cluster(ClusterId),
    Pool(ResourcePoolId),
}

/// Resolves the objects of [`CloneTarget`], reporting every one missing.
pub async fn resolve_clone_target(
    client: &Client,
    pipeline: &Pipeline,
) -> Result<CloneTarget, ResolveError> {
    let f = look_up(client, pipeline, Wanted::Clone).await;
    let mut unresolved = Vec::new();
    let u = &mut unresolved;
    take(f.datacenter, u);
    let template_folder = take(f.template_folder, u);
    let datastore = take(f.datastore, u);
    let source_vm = take(f.source_vm, u);
    let cluster = f.cluster.and_then(|c| take(c, u));
    let resource_pool = f.pool.and_then(|p| take(p, u));
    neither_cluster_nor_pool(pipeline, u);
    let compute = match (resource_pool, cluster) {
        (Some(pool), _) => Some(Compute::Pool(pool)),
        (None, Some(cluster)) => Some(Compute::Cluster(cluster)),
        (None, None) => None,
    };
    match (template_folder, datastore, source_vm, compute) {
        (Some(template_folder), Some(datastore), Some(source_vm), Some(compute))
            if unresolved.is_empty() =>
        {
            Ok(CloneTarget {
                source_vm,
                template_folder,
                compute,
                datastore,
            })
        }
        _ => Err(ResolveError { unresolved }),
    }
}

/// Which objects to look up.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// Everything a build needs.
    Build,
    /// What a clone into the template folder needs.
    Clone,
}

/// Each look-up's answer; `None` for what was not wanted.
struct Found {
    datacenter: Result<DatacenterId, Unresolved>,
    build_folder: Option<Result<FolderId, Unresolved>>,
    template_folder: Result<FolderId, Unresolved>,
    cluster: Option<Result<ClusterId, Unresolved>>,
    pool: Option<Result<ResourcePoolId, Unresolved>>,
    datastore: Result<DatastoreId, Unresolved>,
    network: Option<Result<NetworkId, Unresolved>>,
    source_vm: Result<VmId, Unresolved>,
}

async fn look_up(client: &Client, pipeline: &Pipeline, wanted: Wanted) -> Found {
    let pl = &pipeline.placement;
    let build = wanted == Wanted::Build;
    // One finder for every look-up: the paths share their datacenter and
    // root folders, each looked up once.
    let finder = client.finder();
    let dc = finder.datacenter(&pl.datacenter).await;
    let scope = Scope {
        client,
        finder: &finder,
        datacenter_name: &pl.datacenter,
        datacenter: dc.as_ref().ok(),
    };
    let compute = async {
        match (&pl.cluster, &pl.resource_pool) {
            (_, Some(pool)) => (
                None,
                Some(scope.resource_pool("placement.resource_pool", pool).await),
            ),
            (Some(cluster), None) => {
                let c = scope.cluster("placement.cluster", cluster).await;
                let pool = match &c {
                    Ok(id) if build => {
                        Some(scope.root_pool("placement.cluster", cluster, id).await)
                    }
                    _ => None,
                };
                (Some(c), pool)
            }
            (None, None) => (None, None),
        }
    };
    let build_folder = async {
        match build {
            true => Some(scope.folder("placement.folder", &pl.folder).await),
            false => None,
        }
    };
    let network = async {
        match build {
            true => Some(scope.network("placement.network", &pl.network).await),
            false => None,
        }
    };
    let (build_folder, template_folder, datastore, network, source_vm, (cluster, pool)) = futures_util::join!(
        build_folder,
        scope.folder("template.folder", &pipeline.template.folder),
        scope.datastore("placement.datastore", &pl.datastore),
        network,
        scope.vm("source.vm", &pipeline.source.vm),
        compute,
    );
    Found {
        datacenter: dc.map_err(|error| Unresolved {
            field: "placement.datacenter",
            kind: "datacenter",
            name: pl.datacenter.clone(),
            error,
        }),
        build_folder,
        template_folder,
        cluster,
        pool,
        datastore,
        network,
        source_vm,
    }
}

fn neither_cluster_nor_pool(pipeline: &Pipeline, out: &mut Vec<Unresolved>) {
    let pl = &pipeline.placement;
    if pl.cluster.is_none() && pl.resource_pool.is_none() {
        out.push(Unresolved {
            field: "placement.cluster",
            kind: "cluster or resource pool",
            name: String::new(),
            error: VsphereError::NotFound {
                kind: "cluster or resource pool",
                name: "(placement names neither)".into(),
            },
        });
    }
}

/// The ids of listed objects.
fn ids<T, Id>(listed: Vec<T>, id: impl Fn(T) -> Id) -> Vec<Id> {
    listed.into_iter().map(id).collect()
}

fn take<T>(r: Result<T, Unresolved>, out: &mut Vec<Unresolved>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(u) => {
            out.push(u);
            None
        }
    }
}

/// Look-ups inside the pipeline's datacenter.
struct Scope<'a> {
    client: &'a Client,
    finder: &'a Finder<'a>,
    datacenter_name: &'a str,
    /// `None` when the datacenter itself was not found: names are then
    /// looked up everywhere, so their own problems are still reported.
    datacenter: Option<&'a DatacenterId>,
}

impl Scope<'_> {
    fn unresolved(
        &self,
        field: &'static str,
        kind: &'static str,
        name: &str,
        error: VsphereError,
    ) -> Unresolved {
        Unresolved {
            field,
            kind,
            name: name.to_string(),
            error,
        }
    }

    /// A path must name the pipeline's datacenter.
    fn check_path(&self, path: &str) -> Result<(), VsphereError> {
        let parsed = InventoryPath::parse(path)?;
        if parsed.datacenter != self.datacenter_name {
            return Err(VsphereError::InvalidPath {
                path: path.to_string(),
                reason: format!(
                    "is in datacenter {}, but placement.datacenter is {}",
                    parsed.datacenter, self.datacenter_name
                ),
            });
        }
        Ok(())
    }

    fn filter(&self, name: &str) -> ListFilter {
        let f = ListFilter::new().name(name);
        match self.datacenter {
            Some(dc) => f.datacenter(dc),
            None => f,
        }
    }

    /// Resolves `name` by path with `by_path`, or by name in the
    /// datacenter with `by_name` (which returns every match).
    async fn lookup<Id, P, N>(
        &self,
        field: &'static str,
        kind: &'static str,
        name: &str,
        by_path: P,
        by_name: N,
    ) -> Result<Id, Unresolved>
    where
        Id: fmt::Display,
        P: std::future::Future<Output = Result<Id, VsphereError>>,
        N: std::future::Future<Output = Result<Vec<Id>, VsphereError>>,
    {
        let result = if name.starts_with('/') {
            match self.check_path(name) {
                Ok(()) => by_path.await,
                Err(e) => Err(e),
            }
        } else {
            by_name.await.and_then(|mut found| match found.len() {
                1 => Ok(found.remove(0)),
                0 => Err(VsphereError::NotFound {
                    kind,
                    name: match self.datacenter {
                        Some(_) => format!("{name} (in datacenter {})", self.datacenter_name),
                        None => name.to_string(),
                    },
                }),
                _ => Err(VsphereError::Ambiguous {
                    kind,
                    name: name.to_string(),
                    candidates: found.iter().map(ToString::to_string).collect(),
                }),
            })
        };
        result.map_err(|e| self.unresolved(field, kind, name, e))
    }

    async fn folder(&self, field: &'static str, name: &str) -> Result<FolderId, Unresolved> {
        let f = self.filter(name).folder_type(FolderType::VirtualMachine);
        let listed = async { Ok(ids(self.client.list_folders(&f).await?, |x| x.folder)) };
        let by_path = self.finder.folder(name);
        self.lookup(field, "VM folder", name, by_path, listed).await
    }

    async fn datastore(&self, field: &'static str, name: &str) -> Result<DatastoreId, Unresolved> {
        let f = self.filter(name);
        let listed = async { Ok(ids(self.client.list_datastores(&f).await?, |x| x.datastore)) };
        let by_path = self.finder.datastore(name);
        self.lookup(field, "datastore", name, by_path, listed).await
    }

    async fn network(&self, field: &'static str, name: &str) -> Result<NetworkId, Unresolved> {
        let f = self.filter(name);
        let listed = async { Ok(ids(self.client.list_networks(&f).await?, |x| x.network)) };
        let by_path = self.finder.network(name);
        self.lookup(field, "network", name, by_path, listed).await
    }

    async fn vm(&self, field: &'static str, name: &str) -> Result<VmId, Unresolved> {
        let f = self.filter(name);
        let listed = async { Ok(ids(self.client.list_vms(&f).await?, |x| x.vm)) };
        self.lookup(field, "VM", name, self.finder.vm(name), listed)
            .await
    }

    async fn cluster(&self, field: &'static str, name: &str) -> Result<ClusterId, Unresolved> {
        let f = self.filter(name);
        let listed = async { Ok(ids(self.client.list_clusters(&f).await?, |x| x.cluster)) };
        let by_path = self.finder.cluster(name);
        self.lookup(field, "cluster", name, by_path, listed).await
    }

    async fn resource_pool(
        &self,
        field: &'static str,
        name: &str,
    ) -> Result<ResourcePoolId, Unresolved> {
        let f = self.filter(name);
        let listed = async {
            let pools = self.client.list_resource_pools(&f).await?;
            Ok(ids(pools, |x| x.resource_pool))
        };
        let by_path = self.finder.resource_pool(name);
        self.lookup(field, "resource pool", name, by_path, listed)
            .await
    }

    /// A cluster's root resource pool (vCenter names it `Resources`).
    async fn root_pool(
        &self,
        field: &'static str,
        cluster_name: &str,
        cluster: &ClusterId,
    ) -> Result<ResourcePoolId, Unresolved> {
        let f = ListFilter::new().cluster(cluster).name("Resources");
        let found = self.client.list_resource_pools(&f).await;
        let result = found.and_then(|mut pools| match pools.len() {
            1 => Ok(pools.remove(0).resource_pool),
            _ => Err(VsphereError::NotFound {
                kind: "root resource pool",
                name: format!("Resources of cluster {cluster_name}"),
            }),
        });
        result.map_err(|e| self.unresolved(field, "cluster root resource pool", cluster_name, e))
    }
}
