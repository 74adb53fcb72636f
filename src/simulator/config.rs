//! How a simulator is set up: address, TLS, seed inventory, faults,
//! credentials and timings. `Default` is what tests want: loopback on a free
//! port, TLS on, the built-in inventory, no faults, instant timings.

use super::faults::FaultSpec;
use super::inventory::Inventory;
use super::timing::Timing;
use crate::secret::Secret;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The vCenter releases the simulated `/sdk/vim25/{release}` answers for.
pub const VI_RELEASES: [&str; 4] = ["8.0.1.0", "8.0.2.0", "8.0.3.0", "9.0.0.0"];

#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    pub addr: SocketAddr,
    pub tls: bool,
    pub inventory: Inventory,
    pub faults: FaultSpec,
    pub user: String,
    pub password: Secret,
    pub guest_user: String,
    pub guest_password: Secret,
    pub timing: Timing,
    /// vSphere 8.0U3 accepts an `/api` session token on `/sdk/vim25`; turn
    /// this off to model older releases, where the client must call
    /// `SessionManager.Login` itself.
    pub accept_api_token_for_vi: bool,
    /// Where the CA PEM goes; `None` = a temporary directory removed at shutdown.
    pub state_dir: Option<PathBuf>,
}

impl Default for SimulatorConfig {
    fn default() -> Self {
        SimulatorConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: true,
            inventory: Inventory::builtin(),
            faults: FaultSpec::none(),
            user: "administrator@vsphere.local".into(),
            password: Secret::new("Sim-Passw0rd!"),
            guest_user: "Administrator".into(),
            guest_password: Secret::new("Guest-Passw0rd!"),
            timing: Timing::instant(),
            accept_api_token_for_vi: true,
            state_dir: None,
        }
    }
}
