//! The embedded vCenter simulator.
//!
//! It speaks vCenter's wire contract (`/api` vAPI JSON and `/sdk/vim25`
//! VI/JSON, see tests/contract/vsphere-api/CONTRACT.md) over HTTPS with a generated
//! CA, backed by an in-memory inventory whose VMs each carry a modelled
//! Windows guest (`guest`). Tests start it in-process with [`start`]; the
//! CLI serves it with `gild simulator serve`.
//!
//! Layout: `config`/`inventory`/`timing`/`faults` describe a simulator;
//! `state` and `machine` are the live world (the machine owns each VM's
//! rules); `routes` (`/api`) and `vi` (`/sdk`) answer requests; `server`
//! owns the accept loop, the request log and request faults; `admin` is the
//! test-tooling handle and `/_sim`. Dependencies point one way: routes →
//! state → machine → guest, and the simulator uses only `vsphere::wire` of
//! the client.
//!
//! In a test:
//! ```text
//! let sim = gild::simulator::start(SimulatorConfig::default()).await?;
//! // trust sim.ca_pem_path(), log in to sim.base_url() with sim.user()/sim.password()
//! sim.admin().set_faults(FaultSpec::parse("busy route=/api/session next=1")?);
//! assert_eq!(sim.admin().route_counts()["POST /api/session"], 2);
//! sim.shutdown().await;
//! ```

pub mod admin;
pub mod collectors;
pub mod config;
pub mod error;
pub mod faults;
pub mod guest;
pub mod inventory;
pub mod machine;
pub mod routes;
pub mod server;
pub mod state;
pub mod timing;
pub mod tls;
pub mod vi;

pub use admin::{Admin, InventoryState, VmState};
pub use config::{SimulatorConfig, VI_RELEASES};
pub use error::SimulatorError;
pub use faults::{FaultKind, FaultRule, FaultSpec, Trigger};
pub use inventory::Inventory;
pub use server::LogEntry;
pub use timing::Timing;

use crate::secret::Secret;
use axum::middleware::from_fn_with_state;
use axum::Router;
use state::{Shared, World};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A running simulator. Dropping it without [`Simulator::shutdown`] stops
/// accepting too (the accept loop is cancelled by the drop guard).
pub struct Simulator {
    base_url: url::Url,
    ca_pem_path: Option<PathBuf>,
    user: String,
    password: Secret,
    guest_user: String,
    guest_password: Secret,
    shared: Shared,
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
    // Holds the temporary state dir alive for the simulator's lifetime.
    _state_dir: Option<tempfile::TempDir>,
}

impl Simulator {
    /// `https://127.0.0.1:PORT/` (or `http://` with TLS off).
    pub fn base_url(&self) -> &url::Url {
        &self.base_url
    }

    /// The CA certificate clients must trust; `None` with plain HTTP.
    pub fn ca_pem_path(&self) -> Option<&Path> {
        self.ca_pem_path.as_deref()
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn password(&self) -> &Secret {
        &self.password
    }

    pub fn guest_user(&self) -> &str {
        &self.guest_user
    }

    pub fn guest_password(&self) -> &Secret {
        &self.guest_password
    }

    pub fn admin(&self) -> Admin {
        Admin::new(self.shared.clone())
    }

    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Binds, generates certificates (TLS), seeds the world and starts serving.
pub async fn start(config: SimulatorConfig) -> Result<Simulator, SimulatorError> {
    let listener = TcpListener::bind(config.addr)
        .await
        .map_err(|source| SimulatorError::Bind {
            addr: config.addr,
            source,
        })?;
    let local = listener
        .local_addr()
        .map_err(|source| SimulatorError::Bind {
            addr: config.addr,
            source,
        })?;

    let (tls, ca_pem_path, temp_dir) = if config.tls {
        let certs = tls::generate()?;
        let (dir, temp_dir) = match &config.state_dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("gild-sim-")
                    .tempdir()
                    .map_err(|source| SimulatorError::Write {
                        path: std::env::temp_dir().display().to_string(),
                        source,
                    })?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        let path = tls::write_ca(&dir, &certs.ca_pem)?;
        (
            Some(tokio_rustls::TlsAcceptor::from(certs.server_config)),
            Some(path),
            temp_dir,
        )
    } else {
        (None, None, None)
    };

    let mut world = World::new(
        &config.inventory,
        config.timing.clone(),
        tokio::time::Instant::now(),
    );
    for vm in world.vms.values_mut() {
        vm.guest_mut()
            .set_credentials(&config.guest_user, config.guest_password.clone());
    }
    let scheme = if config.tls { "https" } else { "http" };
    let shared = Shared {
        world: Arc::new(Mutex::new(world)),
        faults: faults::FaultEngine::new(config.faults.clone()),
        metrics: Arc::new(server::Metrics::default()),
        user: config.user.clone(),
        password: config.password.clone(),
        guest_user: config.guest_user.clone(),
        guest_password: config.guest_password.clone(),
        timing: config.timing.clone(),
        accept_api_token_for_vi: config.accept_api_token_for_vi,
        scheme,
        port: local.port(),
    };
    let host = match local.ip() {
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    let base_url = url::Url::parse(&format!("{scheme}://{host}:{}/", local.port()))
        .map_err(|e| SimulatorError::Tls(format!("cannot form the base URL: {e}")))?;

    let router = build_router(shared.clone());
    let stop = CancellationToken::new();
    let task = tokio::spawn(server::accept_loop(
        listener,
        tls,
        router,
        shared.clone(),
        stop.clone(),
    ));
    Ok(Simulator {
        base_url,
        ca_pem_path,
        user: config.user,
        password: config.password,
        guest_user: config.guest_user,
        guest_password: config.guest_password,
        shared,
        stop,
        task: Some(task),
        _state_dir: temp_dir,
    })
}

fn build_router(shared: Shared) -> Router {
    Router::new()
        .merge(routes::api_router(shared.clone()))
        .merge(vi::router())
        .merge(admin::router())
        .fallback(server::not_found)
        .method_not_allowed_fallback(server::not_found)
        .layer(from_fn_with_state(shared.clone(), server::observe))
        .with_state(shared)
}
