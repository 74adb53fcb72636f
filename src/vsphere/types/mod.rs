//! Wire types of the vSphere Automation `/api` operations gild uses.
//!
//! Field names and enum values follow VMware's OpenAPI description
//! (`shared/vsphere-api/7.0.3/vcenter.json`, definitions `Vcenter…`); the
//! contract tests validate serialised values of these types against those
//! schemas, so a renamed field fails a test rather than a build on a real
//! vCenter. Both the client (deserialising) and the simulator (serialising)
//! use them. Optional fields are skipped when unset because vCenter leaves
//! them out rather than sending `null`.
//!
//! One file per area, re-exported here so callers write `types::VmInfo`.

use super::ids::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod enums;
mod guest;
mod inventory;
mod vm;

pub use enums::*;
pub use guest::*;
pub use inventory::*;
pub use vm::*;
