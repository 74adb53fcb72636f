//! The build pipeline: a pipeline file (`config`), the target rules it is
//! checked against (`target`), and — built on these — loading and
//! validation, the stage engine, build state and outputs.

pub mod config;
pub mod target;
