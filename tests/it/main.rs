//! The one integration-test binary (as ripgrep and cargo do): one module per
//! area, so the crate is linked once and shared helpers (`support`) are
//! compiled once. Everything runs on the embedded
//! simulator; nothing outside the repository is read.

mod support;

mod build_process;
mod ci_files;
mod client_faults;
mod client_integration;
mod client_polling;
mod cluster_cli;
mod cluster_machineset;
mod cluster_netplan;
mod cluster_network;
mod cluster_online;
mod contract_bench;
mod contract_demo;
mod contract_openapi;
mod contract_routes;
mod contract_schemas;
mod contract_served_routes;
mod contract_vijson;
mod guest_model;
mod guest_scripts;
mod lint_cli;
mod pipeline_address;
mod pipeline_bench;
mod pipeline_build;
mod pipeline_cli;
mod pipeline_faults;
mod pipeline_guest;
mod pipeline_kubernetes_node;
mod pipeline_load;
mod pipeline_online;
mod pipeline_requests;
mod pipeline_resolve;
mod pipeline_shipped;
mod pipeline_validate;
mod ps_syntax;
mod simulator_api;
mod simulator_cli;
mod simulator_collector;
mod simulator_faults;
mod simulator_fidelity;
mod simulator_guest;
mod simulator_layering;
mod simulator_recorded;
mod simulator_routes;
mod simulator_vi;
mod third_party_ansible;
mod third_party_client;
mod unattend_catalog;
mod unattend_corpus;
mod unattend_props;
mod unattend_render;
mod unattend_rules;
mod vendored;
