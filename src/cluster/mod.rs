//! The cluster side of a golden image: the WMCO Windows MachineSet that
//! uses a published template (`machineset`: generate and check), the
//! OpenShift hybrid-networking object WMCO on vSphere depends on
//! (`network`), the Flannel address plan for plain Kubernetes Windows nodes
//! (`netplan`), and the one Kubernetes API read gild makes (`kubeconfig`).
//!
//! Checks return [`crate::report::Diagnostic`]s, so `gild machineset check`
//! and `gild netplan check` print and exit exactly like `gild lint`.

pub mod kubeconfig;
pub mod machineset;
pub mod netplan;
pub mod network;
pub mod schema;
pub(crate) mod sink;
/// The shared YAML-with-positions layer, where cluster code has always
/// found it.
pub use crate::yaml;

use std::path::PathBuf;

/// What went wrong on the cluster side, with what was being done.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{col}: {message}")]
    Parse {
        file: String,
        line: usize,
        col: usize,
        message: String,
    },
    /// A parameter that would produce a MachineSet the cluster rejects.
    #[error("machineset {field}: {message}")]
    InvalidParam {
        field: &'static str,
        message: String,
    },
    #[error("pipeline {path}: {message}")]
    Pipeline { path: PathBuf, message: String },
    #[error("loading the kubeconfig{}", .path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Kubeconfig {
        path: Option<PathBuf>,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("reading infrastructure.config.openshift.io/cluster from {server}")]
    KubeApi {
        server: String,
        #[source]
        source: Box<kube::Error>,
    },
    #[error("infrastructure.config.openshift.io/cluster on {server} has no .status.infrastructureName (is this an OpenShift cluster?)")]
    NoInfrastructureName { server: String },
    #[error("serialising the MachineSet")]
    Serialize(#[source] serde_norway::Error),
}

/// A rule table entry (checkers keep `const` tables of these).
pub(crate) const fn rule(
    id: &'static str,
    severity: crate::report::Severity,
    summary: &'static str,
    help: &'static str,
) -> crate::report::Rule {
    crate::report::Rule {
        id,
        severity,
        summary,
        help,
    }
}

/// Reads a file named on the command line or in a plan, naming it on error.
pub(crate) fn read_file(path: &std::path::Path) -> Result<String, ClusterError> {
    std::fs::read_to_string(path).map_err(|source| ClusterError::Read {
        path: path.to_path_buf(),
        source,
    })
}
