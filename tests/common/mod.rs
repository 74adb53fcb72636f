//! Helpers shared by the contract tests: VMware's OpenAPI contract
//! (`openapi`). Each test binary includes this with `mod common;`.
#![allow(dead_code)]

pub mod openapi;
