//! Helpers shared by the contract tests: VMware's OpenAPI contract
//! (`openapi`), a recording proxy (`recorder`) and one scripted pass through
//! every client operation against the simulator (`scenario`). Each test
//! binary includes this with `mod common;`.
#![allow(dead_code)]

pub mod openapi;
pub mod recorder;
pub mod scenario;
pub mod swagger_schema;
