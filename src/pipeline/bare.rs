//! The bare flow: the source cloned straight into the template folder
//! under the build VM's name, marked as template, renamed to the final
//! name. What a build does around its stages, without the stages — the
//! flow Packer's vsphere-clone is measured by (clone → reconfigure → mark
//! as template), for `gild bench bare`. It reuses the pipeline's inventory
//! resolution and the client's calls; nothing here is a second copy of a
//! stage.
//!
//! Calls are combined where vCenter allows it: the clone is created
//! powered off (`power_on: false` in its spec), so the power-off step
//! costs no call; it lands in the template folder, so no move; the
//! placement names the cluster, so its root pool is not looked up. The
//! rename comes last, as in the publish stage, so the final name only
//! ever names a finished template; vCenter refuses a name already taken
//! in the folder (DuplicateName), so no look-up precedes it.

use super::config::Pipeline;
use super::resolve::{self, Compute, ResolveError};
use crate::vsphere::wire::{ClonePlacement, CloneSpec, VmId};
use crate::vsphere::{Client, VsphereError};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum BareError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("cannot {what}")]
    Vsphere {
        what: String,
        #[source]
        source: VsphereError,
    },
}

fn step(what: impl Into<String>) -> impl FnOnce(VsphereError) -> BareError {
    let what = what.into();
    move |source| BareError::Vsphere { what, source }
}

/// Clone → (powered off) → template → final name. Returns the template.
pub async fn clone_to_template(
    client: &Client,
    p: &Pipeline,
    build_name: &str,
    final_name: &str,
) -> Result<VmId, BareError> {
    let target = resolve::resolve_clone_target(client, p).await?;
    let spec = CloneSpec {
        source: target.source_vm.clone(),
        name: build_name.to_string(),
        placement: Some(ClonePlacement {
            folder: Some(target.template_folder.clone()),
            resource_pool: match &target.compute {
                Compute::Pool(p) => Some(p.clone()),
                Compute::Cluster(_) => None,
            },
            cluster: match &target.compute {
                Compute::Cluster(c) => Some(c.clone()),
                Compute::Pool(_) => None,
            },
            datastore: Some(target.datastore.clone()),
            ..ClonePlacement::default()
        }),
        power_on: Some(false),
    };
    let vm = client
        .clone_vm(&spec)
        .await
        .map_err(step(format!("clone {} to {build_name}", target.source_vm)))?;
    client
        .mark_as_template(&vm)
        .await
        .map_err(step(format!("mark {vm} as template")))?;
    let task = client
        .rename(&vm, final_name)
        .await
        .map_err(step(format!("rename {vm} to {final_name}")))?;
    client
        .wait_task(task, Duration::from_secs(600))
        .await
        .map_err(step(format!("rename {vm} to {final_name}")))?;
    Ok(vm)
}

/// One bare flow on the embedded simulator, serving the inventory the
/// pipeline needs.
#[derive(Clone, Debug)]
pub struct BareReport {
    pub template: VmId,
    pub final_name: String,
    /// Whether the simulator holds it as a template under its final name.
    pub published: bool,
    /// Every request the flow made, log-in and log-out included.
    pub counts: super::run::RouteCounts,
}

#[derive(Debug, thiserror::Error)]
pub enum BareRunError {
    #[error("cannot start the embedded simulator")]
    Simulator(#[source] crate::simulator::SimulatorError),
    #[error("cannot log in to the embedded simulator")]
    Connect(#[source] VsphereError),
    #[error("cannot name the build VM and the template")]
    Names(#[source] super::run::RunError),
    #[error(transparent)]
    Flow(#[from] BareError),
}

/// Starts the simulator with `l`'s inventory, runs [`clone_to_template`]
/// with the names a build would use, logs out and reads the request log.
pub async fn on_simulator(l: &super::LoadedPipeline) -> Result<BareReport, BareRunError> {
    use crate::simulator::{self, SimulatorConfig};
    let p = l.pipeline();
    let sim = simulator::start(SimulatorConfig {
        inventory: super::simulate::inventory_for(p),
        user: p.vcenter.user.clone(),
        ..SimulatorConfig::default()
    })
    .await
    .map_err(BareRunError::Simulator)?;
    let mut cfg = crate::vsphere::ClientConfig::new(
        sim.base_url().clone(),
        sim.user(),
        sim.password().clone(),
    );
    cfg.tls.ca_file = sim.ca_pem_path().map(Into::into);
    let result = async {
        let names = super::run::names_for(l, chrono::Utc::now()).map_err(BareRunError::Names)?;
        let client = Client::connect(cfg).await.map_err(BareRunError::Connect)?;
        let flow = clone_to_template(&client, p, &names.build_vm, &names.template).await;
        if let Err(e) = client.close().await {
            tracing::warn!(error = %e, "logout failed");
        }
        Ok::<_, BareRunError>((flow?, names.template))
    }
    .await;
    let admin = sim.admin();
    let counts = admin.route_counts();
    let report = result.map(|(template, final_name)| BareReport {
        published: admin
            .vm_by_name(&final_name)
            .is_some_and(|v| v.template && v.id == template),
        template,
        final_name,
        counts,
    });
    sim.shutdown().await;
    report
}
