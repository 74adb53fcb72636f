//! The pipeline file format (`pipelines/*.yaml`): one file per image.
//!
//! These types are the format's single source of truth: serde reads them
//! (unknown keys refused, so a typo is an error with file:line instead of a
//! silently ignored setting) and schemars derives `gild schema` from them,
//! so an editor validates exactly what gild accepts.
//!
//! Secrets never appear here as values: every password is named by where it
//! comes from (`*_env`, `*_file`), and the loader refuses a literal password
//! anywhere in the file.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

use super::target::Target;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// The image's name: used in build VM names, state files and template
    /// names (`{name}`); a DNS-label-like string.
    pub name: String,
    /// Which WMCO release (or plain Kubernetes) the image is for; selects the
    /// OS build, runtime, Tools and tools.conf rules (SPEC "Target versions").
    pub target: Target,
    pub vcenter: VcenterConfig,
    pub source: SourceConfig,
    pub placement: Placement,
    pub guest: GuestConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unattend: Option<UnattendConfig>,
    /// Ordered; each stage runs once, in this order.
    pub stages: Vec<StageConfig>,
    pub template: TemplateConfig,
    #[serde(default)]
    pub outputs: OutputsConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VcenterConfig {
    /// https://vcenter.example/ (`${VAR}` interpolation allowed).
    pub url: String,
    pub user: String,
    /// Environment variable holding the vCenter password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// File holding the vCenter password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// PEM bundle to trust for vCenter's certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
    /// SHA-256 thumbprint of vCenter's certificate (pin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// Skip certificate verification (warned about on every run).
    #[serde(default)]
    pub insecure: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// The base VM, by name or inventory path (`/dc1/vm/templates/win2022-base`).
    /// Never modified.
    pub vm: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    pub datacenter: String,
    /// VM folder for the build VM (inventory path or name).
    pub folder: String,
    /// Cluster (its root pool is used) — give this or `resource_pool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_pool: Option<String>,
    pub datastore: String,
    /// The network the build VM's single NIC is on.
    pub network: String,
    /// Expected IPv4 subnet of the build VM's address (`10.0.0.0/24`), checked
    /// by the network stage when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_subnet: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuestConfig {
    /// Windows user that guest operations run as.
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// Guest folder the scripts are uploaded to.
    #[serde(default = "default_guest_dir")]
    pub work_dir: String,
}

fn default_guest_dir() -> String {
    r"C:\gild".into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnattendConfig {
    /// Tera template (relative to the pipeline file), e.g. `../unattend/wmco.xml.tera`.
    pub template: PathBuf,
    /// Values file (YAML).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<PathBuf>,
    /// Values set inline (override the values file); any YAML scalar or
    /// structure (`remove_answer_files: false`).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub set: std::collections::BTreeMap<String, serde_json::Value>,
    /// Where the administrator password for the answer file comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password_file: Option<PathBuf>,
}

/// One stage and its options. `stage:` names it; every stage takes
/// `timeout` (`30s`, `20m`, `2h`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "stage", rename_all = "snake_case", deny_unknown_fields)]
pub enum StageConfig {
    Preflight(CommonOptions),
    Clone(CommonOptions),
    Hardware(HardwareOptions),
    Tools(ToolsOptions),
    ToolsConf(CommonOptions),
    Network(NetworkOptions),
    Openssh(OpensshOptions),
    ContainerRuntime(ContainerRuntimeOptions),
    Firewall(FirewallOptions),
    KubernetesNode(KubernetesNodeOptions),
    WindowsUpdate(WindowsUpdateOptions),
    Scripts(ScriptsOptions),
    Unattend(CommonOptions),
    Sysprep(CommonOptions),
    Template(CommonOptions),
    Publish(CommonOptions),
    Machineset(CommonOptions),
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommonOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HardwareOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// Minimum virtual hardware version (OpenShift: 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<u8>,
    /// Upgrade when older than `min_version` (otherwise fail).
    #[serde(default)]
    pub upgrade: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ToolsOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// Minimum VMware Tools version (dotted, `11.0.6`); default the target's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
    /// Upgrade Tools through vCenter when older than the minimum.
    #[serde(default)]
    pub upgrade: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// Polls that must report the same address (default 3). The first is
    /// the network stage's; the others are spread over the later stages,
    /// each at least one poll interval after the last, and the watch is
    /// completed and the address read once more before sysprep. A changed
    /// address fails the stage that sees it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_polls: Option<u32>,
    /// `api-int.<cluster>.<domain>` names that must resolve from the guest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolve: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpensshOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// The administrator public key (a `.pub` file, OpenSSH format).
    pub public_key_file: PathBuf,
    /// The private key WMCO holds (its `cloud-private-key` secret), to check
    /// that it pairs with the public key. Read locally, never uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_file: Option<PathBuf>,
    /// Local folder with an OpenSSH / Features-on-Demand source for
    /// air-gapped vCenters (uploaded, SHA-256 verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_source: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    Docker,
    Containerd,
    None,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContainerRuntimeOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// Default: the target's runtime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Runtime>,
    /// Local folder with the runtime's installer files (air-gapped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_source: Option<PathBuf>,
}

/// The Kubernetes node components (seed 004) in `C:\k`: binaries from a
/// local folder, verified by SHA-256 before upload and read back after;
/// the address plan's `start.ps1` parameters; UDP 4789.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesNodeOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// Local folder (relative to the pipeline file) with kubelet.exe,
    /// kube-proxy.exe, flanneld.exe, start.ps1, cni/flannel.exe,
    /// cni/host-local.exe, cni/win-overlay.exe and a SHA256SUMS listing them.
    pub binaries: PathBuf,
    /// The Flannel address plan (`gild netplan check` format): ClusterCIDR,
    /// ServiceCIDR and KubeDnsServiceIP of the start.ps1 invocation.
    pub netplan: PathBuf,
    /// The node's network interface (start.ps1 -InterfaceName); default Ethernet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface_name: Option<String>,
    /// A kubeconfig to copy to C:\k\config. An admin one is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// Copy an admin kubeconfig anyway: every clone of the image then
    /// carries cluster-admin credentials.
    #[serde(default)]
    pub allow_admin_kubeconfig: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirewallOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// Also open UDP 4789 (Flannel VXLAN); default true for `kubernetes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vxlan: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowsUpdateOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// Install/reboot rounds before giving up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rounds: Option<u32>,
    /// Free space required on C: before updating (GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_free_gib: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptsOptions {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Timeout>,
    /// User PowerShell scripts (relative to the pipeline file), run in order;
    /// each must exit 0.
    pub run: Vec<PathBuf>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateConfig {
    /// Name pattern: `{name}`, `{date}` (UTC, YYYYMMDD-HHMM), `{target}`,
    /// `{git_sha}` (short; from GIT_COMMIT / GITHUB_SHA / CI_COMMIT_SHA or git).
    pub name: String,
    /// VM folder the template is published in.
    pub folder: String,
    /// How many templates of this pipeline to keep (newest first).
    #[serde(default = "default_keep")]
    pub keep: u32,
}

fn default_keep() -> u32 {
    1
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OutputsConfig {
    /// Folder for outputs (relative to the working directory); default `out/<name>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// Write `manifest.json` (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<bool>,
    /// Write `junit.xml` (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junit: Option<bool>,
    /// Emit the WMCO MachineSet YAML for the published template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machineset: Option<MachineSetOutput>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MachineSetOutput {
    /// MachineSet name (at most 9 characters, a DNS label).
    pub name: String,
    /// The cluster's infrastructure id (`oc get infrastructure cluster -o jsonpath='{.status.infrastructureName}'`).
    pub infrastructure_id: String,
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub num_cpus: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_gib: Option<u32>,
}

fn default_replicas() -> u32 {
    1
}

impl StageConfig {
    /// The stage's name as written in pipeline files and printed in output.
    pub fn name(&self) -> &'static str {
        match self {
            StageConfig::Preflight(_) => "preflight",
            StageConfig::Clone(_) => "clone",
            StageConfig::Hardware(_) => "hardware",
            StageConfig::Tools(_) => "tools",
            StageConfig::ToolsConf(_) => "tools_conf",
            StageConfig::Network(_) => "network",
            StageConfig::Openssh(_) => "openssh",
            StageConfig::ContainerRuntime(_) => "container_runtime",
            StageConfig::Firewall(_) => "firewall",
            StageConfig::KubernetesNode(_) => "kubernetes_node",
            StageConfig::WindowsUpdate(_) => "windows_update",
            StageConfig::Scripts(_) => "scripts",
            StageConfig::Unattend(_) => "unattend",
            StageConfig::Sysprep(_) => "sysprep",
            StageConfig::Template(_) => "template",
            StageConfig::Publish(_) => "publish",
            StageConfig::Machineset(_) => "machineset",
        }
    }

    /// The timeout the pipeline set for this stage, if any.
    pub fn timeout(&self) -> Option<Duration> {
        match self {
            StageConfig::Preflight(o)
            | StageConfig::Clone(o)
            | StageConfig::ToolsConf(o)
            | StageConfig::Unattend(o)
            | StageConfig::Sysprep(o)
            | StageConfig::Template(o)
            | StageConfig::Publish(o)
            | StageConfig::Machineset(o) => o.timeout.map(|t| t.0),
            StageConfig::Hardware(o) => o.timeout.map(|t| t.0),
            StageConfig::Tools(o) => o.timeout.map(|t| t.0),
            StageConfig::Network(o) => o.timeout.map(|t| t.0),
            StageConfig::Openssh(o) => o.timeout.map(|t| t.0),
            StageConfig::ContainerRuntime(o) => o.timeout.map(|t| t.0),
            StageConfig::Firewall(o) => o.timeout.map(|t| t.0),
            StageConfig::KubernetesNode(o) => o.timeout.map(|t| t.0),
            StageConfig::WindowsUpdate(o) => o.timeout.map(|t| t.0),
            StageConfig::Scripts(o) => o.timeout.map(|t| t.0),
        }
    }
}

/// Every stage name, in SPEC's order (used for `--only`/`--skip` checks and
/// "did you mean" suggestions).
pub const STAGE_NAMES: [&str; 17] = [
    "preflight",
    "clone",
    "hardware",
    "tools",
    "tools_conf",
    "network",
    "openssh",
    "container_runtime",
    "firewall",
    "kubernetes_node",
    "windows_update",
    "scripts",
    "unattend",
    "sysprep",
    "template",
    "publish",
    "machineset",
];

/// A stage's `timeout: 20m`, in humantime's format (`30s`, `20m`,
/// `1h 30m`). One type for every stage's option, so the format, its error
/// messages and its schema are written once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeout(pub Duration);

impl Serialize for Timeout {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl<'de> Deserialize<'de> for Timeout {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TimeoutVisitor)
    }
}

impl JsonSchema for Timeout {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timeout".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration such as 30s, 20m or 1h 30m",
        })
    }
}

struct TimeoutVisitor;

impl serde::de::Visitor<'_> for TimeoutVisitor {
    type Value = Timeout;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a duration such as 30s, 20m or 1h 30m")
    }

    fn visit_str<E: serde::de::Error>(self, t: &str) -> Result<Timeout, E> {
        humantime::parse_duration(t).map(Timeout).map_err(|e| {
            E::custom(format!(
                "timeout `{t}`: {e} (expected a duration such as 30s, 20m or 1h 30m)"
            ))
        })
    }

    // A bare number has no unit: say so instead of guessing seconds.
    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Timeout, E> {
        Err(E::custom(format!(
            "timeout `{n}` has no unit (expected a duration such as {n}s or {n}m)"
        )))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Timeout, E> {
        Err(E::custom(format!(
            "timeout `{n}` has no unit (expected a duration such as 30s, 20m or 1h 30m)"
        )))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<Timeout, E> {
        Err(E::custom(format!(
            "timeout `{n}` has no unit (expected a duration such as 30s, 20m or 1h 30m)"
        )))
    }
}
