//! gild builds Windows golden-image VM templates on VMware vSphere.
//!
//! Each folder under `src/` is one concern: `vsphere` talks to vCenter,
//! `simulator` pretends to be one, `unattend` renders and lints answer
//! files, `cli` is the command edge.

pub mod cli;
pub mod cluster;
pub mod pipeline;
pub mod report;
pub mod secret;
pub mod simulator;
pub mod unattend;
pub mod vsphere;
pub mod yaml;
