//! The wire types gild's client and gild's simulator share: what travels
//! on the wire of the vSphere Automation `/api` operations gild uses, the
//! id newtypes of vSphere objects (`ids`), and the error bodies of `/api`
//! and `/sdk` (`error`). Nothing else in `crate::vsphere` is visible to the
//! simulator (a test in `tests/it/simulator_layering.rs` keeps it so): the
//! simulator answers in these types, the client reads them, and neither
//! depends on how the other one works.
//!
//! Field names and enum values follow VMware's OpenAPI description
//! (`tests/contract/vsphere-api/7.0.3/vcenter.json`, definitions `Vcenter…`);
//! the contract tests validate serialised values of these types against
//! those schemas, so a renamed field fails a test rather than a build on a
//! real vCenter. Both the client (deserialising) and the simulator
//! (serialising) use them. Optional fields are skipped when unset because
//! vCenter leaves them out rather than sending `null`.
//!
//! One file per area, all re-exported here so callers write `wire::VmInfo`,
//! `wire::VmId`, `wire::ErrorType`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod enums;
pub mod error;
mod guest;
mod hardware;
pub mod ids;
mod inventory;
mod vm;

pub use enums::*;
pub use error::*;
pub use guest::*;
pub use hardware::*;
pub use ids::*;
pub use inventory::*;
pub use vm::*;
