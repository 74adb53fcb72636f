//! The Windows MachineSet of seed section 5.3.3 for a published template:
//! what `gild machineset generate` prints and the pipeline's `machineset`
//! output writes. Parameters are checked before anything is written, and
//! the output passes `gild machineset check` (a test holds it to that).

use super::is_dns_label;
use super::labels::{
    CLUSTER_LABEL, MACHINESET_LABEL, MAX_NAME_LEN, NAMESPACE, NODE_WORKER_LABEL, OS_ID_LABEL,
    ROLE_LABEL, TYPE_LABEL,
};
use super::provider::{CREDENTIALS_SECRET, USER_DATA_SECRET};
use crate::cluster::ClusterError;
use crate::pipeline::config::Pipeline;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Everything a Windows MachineSet needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateParams {
    /// At most 9 characters, a DNS label (seed note 2).
    pub name: String,
    /// The cluster's infrastructure id (seed notes 1, 3, 5).
    pub infrastructure_id: String,
    /// Full inventory path of the published template (seed note 11), e.g.
    /// `/dc1/vm/templates/win2022-wmco-20250110`.
    pub template: String,
    /// The VM network the Linux workers use (seed note 10).
    pub network: String,
    pub replicas: u32,
    pub hardware: Hardware,
    pub workspace: Workspace,
}

/// Virtual hardware of each machine; the defaults are the seed's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hardware {
    pub num_cpus: u32,
    pub num_cores_per_socket: u32,
    pub memory_mib: u64,
    pub disk_gib: u32,
}

impl Default for Hardware {
    fn default() -> Self {
        Hardware {
            num_cpus: 4,
            num_cores_per_socket: 1,
            memory_mib: 16384,
            disk_gib: 128,
        }
    }
}

/// Where machines are created (seed notes 13-17).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Workspace {
    pub datacenter: String,
    pub datastore: String,
    /// VM folder path, `/dc1/vm/<folder>`.
    pub folder: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_pool: Option<String>,
    /// vCenter host name or IP.
    pub server: String,
}

impl Workspace {
    /// The workspace a pipeline's placement implies, and its network: the
    /// server from `vcenter.url`, folder and resource pool as full paths.
    pub fn from_pipeline(
        pipeline: &Pipeline,
        path: &Path,
    ) -> Result<(Workspace, String), ClusterError> {
        let fail = |message: String| ClusterError::Pipeline {
            path: path.to_path_buf(),
            message,
        };
        let url = url::Url::parse(&pipeline.vcenter.url).map_err(|e| {
            fail(format!(
                "vcenter.url `{}` is not a URL ({e}); pass --server",
                pipeline.vcenter.url
            ))
        })?;
        let server = url
            .host_str()
            .ok_or_else(|| {
                fail(format!(
                    "vcenter.url `{}` has no host",
                    pipeline.vcenter.url
                ))
            })?
            .to_string();
        let p = &pipeline.placement;
        let dc = &p.datacenter;
        let under = |sub: &str, path: &str| {
            if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{dc}/{sub}/{path}")
            }
        };
        let resource_pool = match (&p.resource_pool, &p.cluster) {
            (Some(rp), _) if rp.starts_with('/') => Some(rp.clone()),
            (Some(rp), Some(cluster)) => Some(format!("/{dc}/host/{cluster}/Resources/{rp}")),
            (Some(rp), None) => Some(rp.clone()),
            (None, Some(cluster)) => Some(under("host", &format!("{cluster}/Resources"))),
            (None, None) => None,
        };
        Ok((
            Workspace {
                datacenter: dc.clone(),
                datastore: p.datastore.clone(),
                folder: under("vm", &p.folder),
                resource_pool,
                server,
            },
            p.network.clone(),
        ))
    }
}

/// Reads a pipeline file's placement and vCenter URL. The one place this
/// module reads a pipeline: switch it to `crate::pipeline::load` (with
/// `${VAR}` interpolation) when that lands.
pub fn read_pipeline(path: &Path) -> Result<Pipeline, ClusterError> {
    let text = crate::cluster::read_file(path)?;
    serde_norway::from_str(&text).map_err(|e| {
        let (line, col) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
        ClusterError::Parse {
            file: path.display().to_string(),
            line,
            col,
            message: e.to_string(),
        }
    })
}

/// The MachineSet YAML for `params`, or the first parameter that would make
/// the cluster refuse it.
pub fn generate(params: &GenerateParams) -> Result<String, ClusterError> {
    validate(params)?;
    let p = params;
    let infra = p.infrastructure_id.as_str();
    let name = p.name.as_str();
    let labels = |pairs: &[(&'static str, &str)]| -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    };
    let ms = MachineSet {
        api_version: "machine.openshift.io/v1beta1",
        kind: "MachineSet",
        metadata: Meta {
            labels: labels(&[(CLUSTER_LABEL, infra)]),
            name,
            namespace: NAMESPACE,
        },
        spec: Spec {
            replicas: p.replicas,
            selector: Selector {
                match_labels: labels(&[(CLUSTER_LABEL, infra), (MACHINESET_LABEL, name)]),
            },
            template: Template {
                metadata: Labels {
                    labels: labels(&[
                        (CLUSTER_LABEL, infra),
                        (ROLE_LABEL, "worker"),
                        (TYPE_LABEL, "worker"),
                        (MACHINESET_LABEL, name),
                        (OS_ID_LABEL, "Windows"),
                    ]),
                },
                spec: MachineSpec {
                    metadata: Labels {
                        labels: labels(&[(NODE_WORKER_LABEL, "")]),
                    },
                    provider_spec: ProviderSpec {
                        value: VSphereSpec {
                            api_version: "vsphereprovider.openshift.io/v1beta1",
                            credentials_secret: NameRef {
                                name: CREDENTIALS_SECRET,
                            },
                            disk_gib: p.hardware.disk_gib,
                            kind: "VSphereMachineProviderSpec",
                            memory_mib: p.hardware.memory_mib,
                            network: Network {
                                devices: vec![Device {
                                    network_name: &p.network,
                                }],
                            },
                            num_cpus: p.hardware.num_cpus,
                            num_cores_per_socket: p.hardware.num_cores_per_socket,
                            snapshot: "",
                            template: &p.template,
                            user_data_secret: NameRef {
                                name: USER_DATA_SECRET,
                            },
                            workspace: &p.workspace,
                        },
                    },
                },
            },
        },
    };
    let body = serde_norway::to_string(&ms).map_err(ClusterError::Serialize)?;
    Ok(format!(
        "# Windows MachineSet for template {} (gild machineset generate); apply with `oc apply -f`\n{body}",
        p.template
    ))
}

fn validate(p: &GenerateParams) -> Result<(), ClusterError> {
    let bad =
        |field: &'static str, message: String| Err(ClusterError::InvalidParam { field, message });
    if p.name.chars().count() > MAX_NAME_LEN {
        return bad("name", format!("`{}` is longer than {MAX_NAME_LEN} characters (vSphere machine names are derived from it)", p.name));
    }
    if !is_dns_label(&p.name) {
        return bad(
            "name",
            format!("`{}` is not a DNS label (a-z, 0-9, `-`)", p.name),
        );
    }
    if !is_label_value(&p.infrastructure_id) || p.infrastructure_id.is_empty() {
        return bad("infrastructure id", format!("`{}` is not a label value (oc get infrastructure cluster -o jsonpath='{{.status.infrastructureName}}')", p.infrastructure_id));
    }
    if p.template.trim().is_empty() {
        return bad("template", "is empty".into());
    }
    if p.network.trim().is_empty() {
        return bad(
            "network",
            "is empty: name the VM network the Linux workers use".into(),
        );
    }
    let hw = &p.hardware;
    if hw.num_cpus == 0
        || hw.num_cores_per_socket == 0
        || !hw.num_cpus.is_multiple_of(hw.num_cores_per_socket)
    {
        return bad(
            "cpus",
            format!(
                "{} CPUs cannot be split into sockets of {} cores",
                hw.num_cpus, hw.num_cores_per_socket
            ),
        );
    }
    if hw.memory_mib == 0 || hw.disk_gib == 0 {
        return bad("hardware", "memory and disk must be more than 0".into());
    }
    let ws = &p.workspace;
    for (field, value) in [
        ("server", &ws.server),
        ("datacenter", &ws.datacenter),
        ("datastore", &ws.datastore),
        ("folder", &ws.folder),
    ] {
        if value.trim().is_empty() {
            return bad("workspace", format!("{field} is empty"));
        }
    }
    Ok(())
}

/// Kubernetes label value: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at
/// both ends.
fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    let alnum_edge = |c: Option<&u8>| c.is_none_or(u8::is_ascii_alphanumeric);
    b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        && alnum_edge(b.first())
        && alnum_edge(b.last())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MachineSet<'a> {
    api_version: &'static str,
    kind: &'static str,
    metadata: Meta<'a>,
    spec: Spec<'a>,
}

#[derive(Serialize)]
struct Meta<'a> {
    labels: BTreeMap<&'static str, String>,
    name: &'a str,
    namespace: &'static str,
}

#[derive(Serialize)]
struct Spec<'a> {
    replicas: u32,
    selector: Selector,
    template: Template<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Selector {
    match_labels: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct Labels {
    labels: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct Template<'a> {
    metadata: Labels,
    spec: MachineSpec<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MachineSpec<'a> {
    metadata: Labels,
    provider_spec: ProviderSpec<'a>,
}

#[derive(Serialize)]
struct ProviderSpec<'a> {
    value: VSphereSpec<'a>,
}

/// Field order as in the seed (alphabetical, as `oc get -o yaml` prints).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VSphereSpec<'a> {
    api_version: &'static str,
    credentials_secret: NameRef,
    #[serde(rename = "diskGiB")]
    disk_gib: u32,
    kind: &'static str,
    #[serde(rename = "memoryMiB")]
    memory_mib: u64,
    network: Network<'a>,
    #[serde(rename = "numCPUs")]
    num_cpus: u32,
    num_cores_per_socket: u32,
    snapshot: &'static str,
    template: &'a str,
    user_data_secret: NameRef,
    workspace: &'a Workspace,
}

#[derive(Serialize)]
struct NameRef {
    name: &'static str,
}

#[derive(Serialize)]
struct Network<'a> {
    devices: Vec<Device<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Device<'a> {
    network_name: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn params() -> GenerateParams {
        GenerateParams {
            name: "winworker".into(),
            infrastructure_id: "ocp49-x7k2p".into(),
            template: "/dc1/vm/templates/win20h2-wmco".into(),
            network: "VM Network".into(),
            replicas: 1,
            hardware: Hardware::default(),
            workspace: Workspace {
                datacenter: "dc1".into(),
                datastore: "datastore1".into(),
                folder: "/dc1/vm/ocp49-x7k2p".into(),
                resource_pool: Some("/dc1/host/cluster1/Resources".into()),
                server: "vcenter.example.com".into(),
            },
        }
    }

    #[test]
    fn output_has_the_seeds_shape() {
        let yaml = generate(&params()).unwrap();
        let v: serde_json::Value = serde_norway::from_str(&yaml).unwrap();
        let value = &v["spec"]["template"]["spec"]["providerSpec"]["value"];
        assert_eq!(value["userDataSecret"]["name"], "windows-user-data");
        assert_eq!(
            value["credentialsSecret"]["name"],
            "vsphere-cloud-credentials"
        );
        assert_eq!(value["diskGiB"], 128);
        assert_eq!(value["numCPUs"], 4);
        assert_eq!(value["snapshot"], "");
        assert_eq!(value["network"]["devices"][0]["networkName"], "VM Network");
        assert_eq!(
            v["spec"]["template"]["metadata"]["labels"][OS_ID_LABEL],
            "Windows"
        );
        assert_eq!(
            v["spec"]["template"]["spec"]["metadata"]["labels"][NODE_WORKER_LABEL],
            ""
        );
    }

    #[test]
    fn parameters_the_cluster_would_refuse_are_errors() {
        let long = GenerateParams {
            name: "windows-workers".into(),
            ..params()
        };
        assert!(generate(&long)
            .unwrap_err()
            .to_string()
            .contains("longer than 9"));
        let upper = GenerateParams {
            name: "Win".into(),
            ..params()
        };
        assert!(generate(&upper)
            .unwrap_err()
            .to_string()
            .contains("DNS label"));
        let mut odd = params();
        odd.hardware.num_cpus = 3;
        odd.hardware.num_cores_per_socket = 2;
        assert!(generate(&odd).unwrap_err().to_string().contains("sockets"));
        let mut no_server = params();
        no_server.workspace.server.clear();
        assert!(generate(&no_server)
            .unwrap_err()
            .to_string()
            .contains("server"));
    }

    #[test]
    fn label_values() {
        assert!(is_label_value("ocp49-x7k2p"));
        assert!(!is_label_value("-x"));
        assert!(!is_label_value("a/b"));
    }
}
