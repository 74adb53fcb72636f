//! The build pipeline: a pipeline file (`config`), the target rules it is
//! checked against (`target`), and — built on these — loading and
//! validation, the stage engine, build state and outputs.
//!
//! The file layer: [`load`] reads a file into a [`LoadedPipeline`]
//! (positions kept by [`yaml`], `${VAR}` by [`vars`]), [`naming`] renders
//! and recognises template and build VM names, [`secret_source`] says
//! where each secret comes from.

pub mod answer;
pub mod config;
pub mod connect;
pub mod load;
pub mod naming;
pub mod resolve;
pub mod rules;
pub mod secret_source;
pub mod target;
mod typed;
pub mod validate;
pub mod vars;
pub mod yaml;

pub use load::{load, LoadError, LoadedPipeline, Problem};
pub use secret_source::{SecretRole, SecretSource};
pub use vars::Vars;
