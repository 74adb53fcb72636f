//! The vSphere client: `/api` (Automation REST) and `/sdk/vim25` (VI/JSON).
//!
//! [`Client::connect`] builds one connection pool per vCenter and logs in;
//! the handle is cheap to clone and every method is `async`. Layout, one
//! concern per module:
//! - `config`, `tls`: what to connect to and how to trust it;
//! - `ops`: the table of every request the client can send (the contract
//!   tests read it); `transport`: executing them (retries, re-login,
//!   redacted tracing); `retry`: backoff; `error`: the one error type;
//! - `session`: the `Client` handle, login/logout and shared helpers;
//! - `inventory`, `vm`, `guest` (processes), `files` (guest filesystem),
//!   `vijson` (VI/JSON release, session and tasks) and `vi_methods`
//!   (templates, annotation, folders, rename, destroy): the operations;
//!   `watch`: waiting on a VM's state through the PropertyCollector.
//! - `wire`: the wire types shared with the simulator (ids, bodies, errors).

pub mod config;
pub mod error;
pub mod files;
pub mod guest;
pub mod inventory;
pub mod ops;
pub mod retry;
pub mod session;
pub mod tls;
pub mod transport;
pub mod vi_methods;
pub mod vijson;
pub mod vm;
pub mod watch;
pub mod wire;

pub use config::{ClientConfig, Timeouts, TlsOptions};
pub use error::VsphereError;
pub use files::resolve_transfer_url;
pub use guest::{Commandline, ProcessExit};
pub use inventory::{Finder, InventoryPath, ListFilter, RootFolder};
pub use ops::{Operation, OPERATIONS};
pub use retry::RetryPolicy;
pub use session::Client;
pub use tls::{parse_thumbprint, thumbprint_of};
pub use vi_methods::ChildVm;
pub use vijson::{TaskState, ViTask, VI_RELEASES};
pub use vm::is_apipa;
pub use watch::{VmProperties, VmProperty, VmWatch};
