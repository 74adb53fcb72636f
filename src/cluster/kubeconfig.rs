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

/// Why a kubeconfig holds cluster-admin credentials, empty when it does
/// not seem to: kubeadm's `admin.conf` user `kubernetes-admin`, or a client
/// certificate whose subject has `O=system:masters` (the group every API
/// server lets do anything, bypassing RBAC) or `O=kubeadm:cluster-admins`
/// (kubeadm 1.29+'s admin group). The same reasons
/// install-kubernetes-node.ps1 checks in the guest; here they are checked
/// before anything is uploaded.
pub fn admin_reasons(text: &str) -> Vec<String> {
    let Ok(docs) = crate::yaml::parse(text) else {
        return Vec::new();
    };
    let mut reasons = Vec::new();
    let users = docs
        .iter()
        .filter_map(|d| d.root.get("users")?.as_seq())
        .flatten();
    for user in users {
        let name = user.get("name").and_then(crate::yaml::Node::as_str);
        if name == Some("kubernetes-admin") {
            reasons.push("user kubernetes-admin (kubeadm admin.conf)".to_string());
        }
        let cert = user
            .path(&["user", "client-certificate-data"])
            .and_then(crate::yaml::Node::as_str);
        if let Some(group) = cert.and_then(admin_group) {
            reasons.push(format!(
                "user {}: client certificate in group {group}",
                name.unwrap_or("?")
            ));
        }
    }
    reasons
}

/// The admin group named by an `O=` attribute of a base64 PEM
/// certificate's DER. The attribute is the OID 2.5.4.10 (`55 04 0a`)
/// followed by a string (UTF8String 0x0c or PrintableString 0x13) and its
/// length; searching for that exact sequence finds the subject's
/// organisation without a full X.509 parser.
fn admin_group(data: &str) -> Option<&'static str> {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let pem = engine.decode(data.trim()).ok()?;
    let pem = String::from_utf8(pem).ok()?;
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    let der = engine.decode(body.trim()).ok()?;
    ["system:masters", "kubeadm:cluster-admins"]
        .into_iter()
        .find(|group| {
            [0x0c_u8, 0x13].iter().any(|tag| {
                let mut needle = vec![0x55, 0x04, 0x0a, *tag, group.len() as u8];
                needle.extend_from_slice(group.as_bytes());
                der.windows(needle.len()).any(|w| w == needle.as_slice())
            })
        })
}

#[cfg(test)]
mod tests {
    use super::admin_reasons;

    /// A client certificate with subject `O=<org>, CN=<cn>`, made with
    /// rcgen (as kubeadm makes admin.conf's: O=system:masters before 1.29).
    fn kubeconfig_with_cert(user: &str, org: &str) -> String {
        use base64::Engine;
        let mut params = rcgen::CertificateParams::new(vec![]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, org);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "someone");
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        let data = base64::engine::general_purpose::STANDARD.encode(pem);
        format!("apiVersion: v1\nkind: Config\nusers:\n- name: {user}\n  user:\n    client-certificate-data: {data}\n")
    }

    #[test]
    fn kubeadm_admin_conf_and_system_masters_certificates_are_admin() {
        let reasons = admin_reasons(&kubeconfig_with_cert("kubernetes-admin", "system:masters"));
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[1].contains("group system:masters"), "{reasons:?}");
        let reasons = admin_reasons(&kubeconfig_with_cert("ops", "kubeadm:cluster-admins"));
        assert_eq!(reasons.len(), 1, "{reasons:?}");
    }

    #[test]
    fn a_node_bootstrap_kubeconfig_is_not_admin() {
        assert!(admin_reasons(&kubeconfig_with_cert(
            "node-bootstrap",
            "system:bootstrappers"
        ))
        .is_empty());
        let token = "apiVersion: v1\nkind: Config\nusers:\n- name: tls-bootstrap-token-user\n  user:\n    token: abcdef.0123456789abcdef\n";
        assert!(admin_reasons(token).is_empty());
    }
}
