//! The one thing gild asks a cluster: its infrastructure id,
//! `.status.infrastructureName` of `infrastructure.config.openshift.io/cluster`
//! (what `oc get -o jsonpath='{.status.infrastructureName}' infrastructure
//! cluster` prints, seed 5.3.3 note 1), read through the Kubernetes API with
//! kube-rs from a kubeconfig.
//!
//! A read-only GET of one cluster-scoped object: any user that may `get
//! infrastructures` can run it, and no credentials leave the kubeconfig's
//! own client.

use super::ClusterError;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};
use kube::config::{KubeConfigOptions, Kubeconfig};
use std::path::Path;

/// Reads the infrastructure id. `path` names a kubeconfig; without one,
/// kube's usual search applies (`KUBECONFIG`, `~/.kube/config`, then the
/// in-cluster service account, which is how a Tekton task would run it).
pub async fn infrastructure_id(path: Option<&Path>) -> Result<String, ClusterError> {
    let kube_err = |source: Box<dyn std::error::Error + Send + Sync>| ClusterError::Kubeconfig {
        path: path.map(Path::to_path_buf),
        source,
    };
    let config = match path {
        Some(p) => {
            let kubeconfig = Kubeconfig::read_from(p).map_err(|e| kube_err(Box::new(e)))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| kube_err(Box::new(e)))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| kube_err(Box::new(e)))?,
    };
    let server = config.cluster_url.to_string();
    // kube builds its TLS config with rustls' process-wide default crypto
    // provider; make it ring (gild's provider) explicitly, so a second
    // provider compiled in by some dependency cannot make that ambiguous.
    // An error only means a default is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = kube::Client::try_from(config).map_err(|source| ClusterError::KubeApi {
        server: server.clone(),
        source: Box::new(source),
    })?;
    let gvk = GroupVersionKind::gvk("config.openshift.io", "v1", "Infrastructure");
    let resource = ApiResource::from_gvk_with_plural(&gvk, "infrastructures");
    let api: Api<DynamicObject> = Api::all_with(client, &resource);
    let object = api
        .get("cluster")
        .await
        .map_err(|source| ClusterError::KubeApi {
            server: server.clone(),
            source: Box::new(source),
        })?;
    object
        .data
        .pointer("/status/infrastructureName")
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or(ClusterError::NoInfrastructureName { server })
}
