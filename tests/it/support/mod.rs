//! Helpers every test module shares, in one place:
//! - `harness`: start a simulator, trust its CA, log in, JSON calls;
//! - `openapi` (with `swagger_schema`): VMware's OpenAPI contract, loaded
//!   once for every test that checks a route or a body against it;
//! - `recorder`: a recording proxy; `scenario`: one scripted pass through
//!   every client operation against the simulator.
#![allow(dead_code)] // each test module uses a different subset

pub mod build;
pub mod harness;
pub mod openapi;
pub mod recorder;
pub mod scenario;
pub mod swagger_schema;

pub use harness::{
    client_config, client_for, clone_base, error_type, running_clone, serve_process, Harness,
};
