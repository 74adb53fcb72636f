//! The build pipeline: a pipeline file (`config`), the target rules it is
//! checked against (`target`), and the engine that turns it into a
//! published template: `engine` runs `stages` in order, `state` keeps the
//! resumable record and the lock, `guest` runs gild's scripts in the VM,
//! `outputs` writes manifest, JUnit and MachineSet, `progress` prints,
//! `simulate` builds the simulator inventory a pipeline needs.

pub mod check;
pub mod config;
pub mod engine;
pub mod error;
pub mod guest;
pub mod interrupt;
pub mod outputs;
pub mod plan;
pub mod progress;
pub mod run;
pub mod simulate;
pub mod sshkey;
pub mod stages;
pub mod state;
pub mod target;
