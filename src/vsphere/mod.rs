//! The vSphere client: `/api` (Automation REST) and `/sdk/vim25` (VI/JSON).

pub mod ids;
pub mod types;
pub mod wire_error;
