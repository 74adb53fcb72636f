//! What an image must satisfy, by target (SPEC "Target versions"): which
//! Windows builds are usable, the minimum build revision (UBR), the container
//! runtime the image carries, and the tools.conf rule. Checks read the guest
//! against one row of this table instead of one fixed rule.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::config::Runtime;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Target {
    /// OCP 4.9 / WMCO 4.x (the seed): Windows Server 20H2 or 2004 with Docker.
    #[serde(rename = "wmco-4.9")]
    Wmco4_9,
    /// OCP 4.10 / WMCO 5.x: 20H2, or 2022 at 20348.681 or later, with Docker.
    #[serde(rename = "wmco-4.10")]
    Wmco4_10,
    /// OCP 4.11–4.21: Server 2022 at 20348.681 or later, no runtime (WMCO installs containerd).
    #[serde(rename = "wmco-4.11+")]
    Wmco4_11Plus,
    /// OCP 4.22+: Server 2022 (20348.681+) or 2025, no runtime.
    #[serde(rename = "wmco-4.22+")]
    Wmco4_22Plus,
    /// Plain Kubernetes with Flannel VXLAN (seed 004): Docker or containerd.
    #[serde(rename = "kubernetes")]
    Kubernetes,
}

/// One usable Windows release: its build number and the lowest update
/// revision (UBR) that satisfies the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OsBuild {
    pub label: &'static str,
    pub build: u32,
    pub min_ubr: u32,
}

/// KB4565351 is the August 2020 cumulative update for 1903/1909 (18362/18363
/// .1016) that makes a custom VXLAN port work. Windows Server 2004 shipped
/// before it (May 2020, 19041.264): its same-day update is KB4566782, build
/// 19041.450, so 2004 needs that revision. 20H2 shipped after it (October
/// 2020, 19042.572) and contains the fix at any revision.
const WS_2004: OsBuild = OsBuild {
    label: "Windows Server 2004",
    build: 19041,
    min_ubr: 450,
};
const WS_20H2: OsBuild = OsBuild {
    label: "Windows Server 20H2",
    build: 19042,
    min_ubr: 0,
};
/// KB5012637 (April 2022) is 20348.681: the first 2022 build WMCO supports.
const WS_2022: OsBuild = OsBuild {
    label: "Windows Server 2022",
    build: 20348,
    min_ubr: 681,
};
const WS_2025: OsBuild = OsBuild {
    label: "Windows Server 2025",
    build: 26100,
    min_ubr: 0,
};

/// VMware Tools 11.0.6: the seed's minimum for every target.
pub const MIN_TOOLS: (u32, u32, u32) = (11, 0, 6);
/// OpenShift needs virtual hardware version 15 or later.
pub const MIN_HARDWARE_VERSION: u8 = 15;

impl Target {
    pub const ALL: [Target; 5] = [
        Target::Wmco4_9,
        Target::Wmco4_10,
        Target::Wmco4_11Plus,
        Target::Wmco4_22Plus,
        Target::Kubernetes,
    ];

    /// As written in pipeline files.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Wmco4_9 => "wmco-4.9",
            Target::Wmco4_10 => "wmco-4.10",
            Target::Wmco4_11Plus => "wmco-4.11+",
            Target::Wmco4_22Plus => "wmco-4.22+",
            Target::Kubernetes => "kubernetes",
        }
    }

    pub fn is_wmco(self) -> bool {
        !matches!(self, Target::Kubernetes)
    }

    /// The Windows releases the target accepts; empty = any ("as the cluster
    /// requires", plain Kubernetes).
    pub fn os_builds(self) -> &'static [OsBuild] {
        match self {
            Target::Wmco4_9 => &[WS_2004, WS_20H2],
            Target::Wmco4_10 => &[WS_20H2, WS_2022],
            Target::Wmco4_11Plus => &[WS_2022],
            Target::Wmco4_22Plus => &[WS_2022, WS_2025],
            Target::Kubernetes => &[],
        }
    }

    /// The runtime the image must carry, and the ones the target accepts.
    pub fn default_runtime(self) -> Runtime {
        match self {
            Target::Wmco4_9 | Target::Wmco4_10 => Runtime::Docker,
            Target::Wmco4_11Plus | Target::Wmco4_22Plus => Runtime::None,
            Target::Kubernetes => Runtime::Containerd,
        }
    }

    pub fn allowed_runtimes(self) -> &'static [Runtime] {
        match self {
            Target::Wmco4_9 | Target::Wmco4_10 => &[Runtime::Docker],
            Target::Wmco4_11Plus | Target::Wmco4_22Plus => &[Runtime::None],
            Target::Kubernetes => &[Runtime::Docker, Runtime::Containerd],
        }
    }

    /// WMCO needs `exclude-nics=` present and empty so hybrid-overlay's
    /// cloned NICs report their addresses; kubernetes-sigs/image-builder
    /// (Cluster API) writes the opposite, so this is per target.
    pub fn requires_empty_exclude_nics(self) -> bool {
        self.is_wmco()
    }

    /// Flannel VXLAN needs UDP 4789 open on the node.
    pub fn needs_vxlan_port(self) -> bool {
        matches!(self, Target::Kubernetes)
    }

    /// Does `build.ubr` satisfy this target? The error says which row it
    /// missed and by how much.
    pub fn accepts_os(self, build: u32, ubr: u32) -> Result<&'static OsBuild, String> {
        let rows = self.os_builds();
        if rows.is_empty() {
            return Ok(&ANY_OS);
        }
        match rows.iter().find(|r| r.build == build) {
            Some(r) if ubr >= r.min_ubr => Ok(r),
            Some(r) => Err(format!(
                "{} build {build}.{ubr} is older than {build}.{} that {} needs",
                r.label,
                r.min_ubr,
                self.as_str()
            )),
            None => Err(format!(
                "OS build {build}.{ubr} is not one {} supports ({})",
                self.as_str(),
                rows.iter()
                    .map(|r| format!("{} = {}.{}+", r.label, r.build, r.min_ubr))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}

static ANY_OS: OsBuild = OsBuild {
    label: "any Windows build",
    build: 0,
    min_ubr: 0,
};

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wmco_4_11_needs_2022_at_revision_681() {
        assert!(Target::Wmco4_11Plus.accepts_os(20348, 681).is_ok());
        assert!(Target::Wmco4_11Plus.accepts_os(20348, 680).is_err());
        assert!(Target::Wmco4_11Plus.accepts_os(19042, 1000).is_err());
    }

    #[test]
    fn wmco_4_9_takes_20h2_at_any_revision_but_not_2019() {
        assert!(Target::Wmco4_9.accepts_os(19042, 0).is_ok());
        assert!(Target::Wmco4_9.accepts_os(17763, 9999).is_err());
    }

    #[test]
    fn wmco_4_9_takes_2004_only_from_its_august_2020_update() {
        assert!(Target::Wmco4_9.accepts_os(19041, 450).is_ok());
        let err = Target::Wmco4_9.accepts_os(19041, 264).unwrap_err();
        assert!(err.contains("19041.450"), "{err}");
    }

    #[test]
    fn kubernetes_takes_any_build() {
        assert!(Target::Kubernetes.accepts_os(17763, 1).is_ok());
    }
}
