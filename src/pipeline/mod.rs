//! The build pipeline: a pipeline file (`config`), the target rules it is
//! checked against (`target`), and the engine that turns it into a
//! published template.
//!
//! The file layer: [`load`] reads a file into a [`LoadedPipeline`]
//! (positions kept by [`yaml`], `${VAR}` by [`vars`]), [`naming`] renders
//! and recognises template and build VM names, [`secret_source`] says
//! where each secret comes from, [`resolve`] finds its inventory.
//!
//! The build: `engine` runs `stages` in order, `state` keeps the resumable
//! record and the lock, `guest` runs gild's scripts in the VM, `outputs`
//! writes manifest, JUnit and MachineSet, `progress` prints, `simulate`
//! builds the simulator inventory a pipeline needs, `run` is `gild build`'s
//! work below the command line.

pub mod answer;
pub mod bare;
pub mod check;
pub mod cleanup;
pub mod config;
pub mod connect;
pub mod counts;
pub mod engine;
pub mod error;
pub mod guest;
pub mod interrupt;
pub mod load;
pub mod minimum;
pub mod naming;
pub mod outputs;
pub mod plan;
pub mod progress;
pub mod resolve;
pub mod rules;
pub mod run;
pub mod secret_source;
pub mod simulate;
pub mod sshkey;
pub mod stages;
pub mod state;
pub mod sums;
pub mod target;
pub mod templates;
mod typed;
pub mod validate;
pub mod vars;
pub mod yaml;

pub use load::{load, LoadError, LoadedPipeline, Problem};
pub use secret_source::{SecretRole, SecretSource};
pub use vars::Vars;
