//! `gild build`'s work below the command line: load the pipelines, resolve
//! their secrets, start the embedded simulator when asked, connect one
//! client per vCenter (shared by every build that targets it, so
//! `--parallel` opens one session per vCenter, not one per build), and run
//! the builds, at most N at a time.

use super::config::{Pipeline, STAGE_NAMES};
use super::engine::{self, BuildJob, BuildOptions, BuildOutcome, BuildSecrets, Names, OnError};
use super::error::BuildError;
use super::interrupt::Interrupt;
use super::progress::Reporter;
use super::simulate;
use super::state::StartMode;
use crate::secret::Secret;
use crate::simulator::{self, FaultSpec, Simulator, SimulatorConfig, Timing};
use crate::vsphere::wire::GuestCredentials;
use crate::vsphere::{Client, ClientConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The embedded simulator's settings for `--simulator`.
#[derive(Clone, Debug)]
pub struct SimulatorOptions {
    pub faults: FaultSpec,
    pub timing: Timing,
}

#[derive(Clone, Debug)]
pub struct BuildRequest {
    pub pipelines: Vec<PathBuf>,
    pub simulator: Option<SimulatorOptions>,
    pub parallel: usize,
    pub on_error: OnError,
    pub start: StartMode,
    pub only: Vec<String>,
    pub skip: Vec<String>,
    pub state_dir: PathBuf,
    /// Overrides each pipeline's `outputs.dir`; with several pipelines each
    /// gets a sub-folder named after it.
    pub out_dir: Option<PathBuf>,
    pub vcenter_url: Option<url::Url>,
    pub ca_file: Option<PathBuf>,
}

/// A pipeline read from disk, ready to plan.
pub struct Loaded {
    pub pipeline: Pipeline,
    pub path: PathBuf,
    pub base_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{path}: {message}")]
    Load { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("cannot start the embedded simulator")]
    Simulator(#[source] crate::simulator::SimulatorError),
}

/// Reads one pipeline file.
pub fn load(path: &Path) -> Result<Loaded, RunError> {
    let text = std::fs::read_to_string(path).map_err(|e| RunError::Load {
        path: path.to_path_buf(),
        message: format!("cannot read it: {e}"),
    })?;
    let pipeline: Pipeline = serde_norway::from_str(&text).map_err(|e| RunError::Load {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    Ok(Loaded {
        pipeline,
        path: path.to_path_buf(),
        base_dir,
    })
}

/// `--only`/`--skip` name real stages.
pub fn check_stage_names(names: &[String]) -> Result<(), RunError> {
    for n in names {
        if !STAGE_NAMES.contains(&n.as_str()) {
            return Err(RunError::Usage(format!(
                "unknown stage `{n}` (stages: {})",
                STAGE_NAMES.join(", ")
            )));
        }
    }
    Ok(())
}

/// The names a new build uses: build VM `<name>-build-<UTC time>`, the
/// template from the pipeline's pattern.
pub fn names_for(p: &Pipeline, now: chrono::DateTime<chrono::Utc>) -> Names {
    let stamp = now.format("%Y%m%d-%H%M%S").to_string();
    let suffix: String = (0..4)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect();
    let template = p
        .template
        .name
        .replace("{name}", &p.name)
        .replace("{date}", &now.format("%Y%m%d-%H%M").to_string())
        .replace("{target}", &p.target.as_str().replace(['+', '.'], ""))
        .replace("{git_sha}", &git_sha().unwrap_or_else(|| "nogit".into()));
    Names {
        build_id: format!("{stamp}-{suffix}"),
        build_vm: format!("{}-build-{stamp}", p.name),
        template,
    }
}

fn git_sha() -> Option<String> {
    for var in ["GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA"] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                return Some(v.chars().take(8).collect());
            }
        }
    }
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=8", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A secret named by `*_env`/`*_file`; under the simulator an unset one is
/// replaced by a throwaway value (and the user told so).
fn secret(
    env: Option<&str>,
    file: Option<&Path>,
    base: &Path,
    what: &str,
    simulated: bool,
    notes: &mut Vec<String>,
) -> Result<Option<Secret>, String> {
    if let Some(file) = file {
        let path = if file.is_absolute() {
            file.to_path_buf()
        } else {
            base.join(file)
        };
        return Secret::from_file(&path)
            .map(Some)
            .map_err(|e| format!("{what}: {e}"));
    }
    let Some(name) = env else {
        return Ok(None);
    };
    match Secret::from_env(name) {
        Ok(s) => Ok(Some(s)),
        Err(_) if simulated => {
            notes.push(format!(
                "{name} is not set: using a throwaway {what} for the embedded simulator"
            ));
            Ok(Some(throwaway()))
        }
        Err(e) => Err(format!("{what}: {e}")),
    }
}

fn throwaway() -> Secret {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let body: String = (0..20)
        .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
        .collect();
    Secret::new(format!("Gild-{body}-1!"))
}

struct Prepared {
    job: BuildJob,
    client_key: (String, String),
    client_config: ClientConfig,
}

/// Runs every pipeline of `req`. Returns one outcome per pipeline.
pub async fn build(
    req: &BuildRequest,
    reporter: Arc<dyn Reporter>,
    interrupt: &Interrupt,
) -> Result<Vec<BuildOutcome>, RunError> {
    check_stage_names(&req.only)?;
    check_stage_names(&req.skip)?;
    let loaded: Vec<Loaded> = req
        .pipelines
        .iter()
        .map(|p| load(p))
        .collect::<Result<_, _>>()?;
    let simulated = req.simulator.is_some();
    let mut sim: Option<Simulator> = None;
    let mut prepared = Vec::new();
    let mut sim_credentials: Option<(String, Secret, String, Secret)> = None;
    for l in &loaded {
        let mut notes = Vec::new();
        let p = &l.pipeline;
        let err = |m: String| RunError::Load {
            path: l.path.clone(),
            message: m,
        };
        let vc_password = secret(
            p.vcenter.password_env.as_deref(),
            p.vcenter.password_file.as_deref(),
            &l.base_dir,
            "vCenter password",
            simulated,
            &mut notes,
        )
        .map_err(err)?
        .ok_or_else(|| err("vcenter: give password_env or password_file".into()))?;
        let guest_password = secret(
            p.guest.password_env.as_deref(),
            p.guest.password_file.as_deref(),
            &l.base_dir,
            "guest password",
            simulated,
            &mut notes,
        )
        .map_err(err)?
        .ok_or_else(|| err("guest: give password_env or password_file".into()))?;
        let admin = match &p.unattend {
            Some(u) => secret(
                u.admin_password_env.as_deref(),
                u.admin_password_file.as_deref(),
                &l.base_dir,
                "administrator password",
                simulated,
                &mut notes,
            )
            .map_err(err)?,
            None => None,
        };
        for n in &notes {
            reporter.note(&p.name, n);
        }
        // One simulator serves every pipeline of the run, so it accepts one
        // set of credentials: the first pipeline's.
        let (vc_password, guest_password) = match &sim_credentials {
            Some((_, vc, _, g)) if simulated => (vc.clone(), g.clone()),
            _ => {
                sim_credentials = Some((
                    p.vcenter.user.clone(),
                    vc_password.clone(),
                    p.guest.user.clone(),
                    guest_password.clone(),
                ));
                (vc_password, guest_password)
            }
        };
        let out_dir = match (&req.out_dir, loaded.len()) {
            (Some(d), 1) => d.clone(),
            (Some(d), _) => d.join(&p.name),
            (None, _) => p
                .outputs
                .dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("out").join(&p.name)),
        };
        let job = BuildJob {
            pipeline: p.clone(),
            pipeline_path: l.path.clone(),
            base_dir: l.base_dir.clone(),
            vcenter_url: String::new(),
            secrets: BuildSecrets {
                guest: GuestCredentials {
                    user_name: p.guest.user.clone(),
                    password: guest_password,
                },
                admin_password: admin,
            },
            options: BuildOptions {
                on_error: req.on_error,
                start: req.start,
                only: req.only.clone(),
                skip: req.skip.clone(),
                state_dir: req.state_dir.clone(),
                out_dir,
            },
            names: names_for(p, chrono::Utc::now()),
        };
        let url_text = p.vcenter.url.clone();
        let mut config = ClientConfig::new(
            url::Url::parse(&url_text).unwrap_or_else(|_| {
                url::Url::parse("https://invalid.invalid/").expect("static URL")
            }),
            p.vcenter.user.clone(),
            vc_password,
        );
        if !simulated {
            config.url = match &req.vcenter_url {
                Some(u) => u.clone(),
                None => url::Url::parse(&url_text).map_err(|e| RunError::Load {
                    path: l.path.clone(),
                    message: format!("vcenter.url {url_text:?} is not a URL: {e}"),
                })?,
            };
            config.tls.ca_file = req
                .ca_file
                .clone()
                .or_else(|| p.vcenter.ca_file.as_ref().map(|f| l.base_dir.join(f)));
            config.tls.thumbprint = p.vcenter.thumbprint.clone();
            config.tls.insecure = p.vcenter.insecure;
        }
        prepared.push(Prepared {
            job,
            client_key: (String::new(), p.vcenter.user.clone()),
            client_config: config,
        });
    }

    if let Some(opts) = &req.simulator {
        let (user, password, guest_user, guest_password) = sim_credentials
            .clone()
            .ok_or_else(|| RunError::Usage("no pipeline given".into()))?;
        let inventory = merge(
            loaded
                .iter()
                .map(|l| simulate::inventory_for(&l.pipeline))
                .collect(),
        );
        let started = simulator::start(SimulatorConfig {
            inventory,
            faults: opts.faults.clone(),
            timing: opts.timing.clone(),
            user,
            password,
            guest_user,
            guest_password,
            ..SimulatorConfig::default()
        })
        .await
        .map_err(RunError::Simulator)?;
        let instant = opts.timing == Timing::instant();
        for p in &mut prepared {
            p.client_config.url = started.base_url().clone();
            p.client_config.tls.ca_file = started.ca_pem_path().map(Path::to_path_buf);
            if instant {
                p.client_config.timeouts.poll_interval = std::time::Duration::from_millis(20);
            }
        }
        reporter.note(
            "gild",
            &format!("embedded simulator at {}", started.base_url()),
        );
        sim = Some(started);
    }
    for p in &mut prepared {
        p.job.vcenter_url = p.client_config.url.to_string();
        p.client_key.0 = p.job.vcenter_url.clone();
    }

    let outcomes = run_all(prepared, req.parallel.max(1), reporter, interrupt).await;
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    Ok(outcomes)
}

async fn run_all(
    prepared: Vec<Prepared>,
    parallel: usize,
    reporter: Arc<dyn Reporter>,
    interrupt: &Interrupt,
) -> Vec<BuildOutcome> {
    let mut clients: HashMap<(String, String), Result<Client, String>> = HashMap::new();
    let mut jobs = Vec::new();
    for p in prepared {
        let client = match clients.get(&p.client_key) {
            Some(c) => c.clone(),
            None => {
                let c = Client::connect(p.client_config.clone())
                    .await
                    .map_err(|e| format!("{e:#}"));
                clients.insert(p.client_key.clone(), c.clone());
                c
            }
        };
        jobs.push((p.job, client));
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(parallel));
    let mut tasks = Vec::new();
    for (job, client) in jobs {
        let limit = limit.clone();
        let reporter = reporter.clone();
        let interrupt = interrupt.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await;
            match client {
                Ok(client) => engine::run(&job, &client, reporter.as_ref(), &interrupt).await,
                Err(e) => BuildOutcome::failed(
                    &job.pipeline.name,
                    BuildError::Plan(format!("cannot log in to {}: {e}", job.vcenter_url)),
                ),
            }
        }));
    }
    let mut outcomes = Vec::new();
    for t in tasks {
        match t.await {
            Ok(o) => outcomes.push(o),
            Err(e) => outcomes.push(BuildOutcome::failed(
                "?",
                BuildError::Plan(format!("a build task failed: {e}")),
            )),
        }
    }
    for (_, client) in clients {
        if let Ok(c) = client {
            if let Err(e) = c.logout().await {
                tracing::warn!(error = %e, "logout failed");
            }
        }
    }
    outcomes
}

/// One inventory holding every pipeline's objects (same names merge).
fn merge(inventories: Vec<crate::simulator::Inventory>) -> crate::simulator::Inventory {
    let mut out = crate::simulator::Inventory {
        datacenters: Vec::new(),
        dhcp_subnet: "10.20.30.0/24".into(),
    };
    for (i, inv) in inventories.into_iter().enumerate() {
        if i == 0 {
            out.dhcp_subnet = inv.dhcp_subnet.clone();
        }
        for dc in inv.datacenters {
            let Some(have) = out.datacenters.iter_mut().find(|d| d.name == dc.name) else {
                out.datacenters.push(dc);
                continue;
            };
            for f in dc.folders {
                if !have.folders.contains(&f) {
                    have.folders.push(f);
                }
            }
            for c in dc.clusters {
                match have.clusters.iter_mut().find(|x| x.name == c.name) {
                    Some(x) => {
                        for p in c.resource_pools {
                            if !x.resource_pools.contains(&p) {
                                x.resource_pools.push(p);
                            }
                        }
                    }
                    None => have.clusters.push(c),
                }
            }
            for d in dc.datastores {
                if !have.datastores.iter().any(|x| x.name == d.name) {
                    have.datastores.push(d);
                }
            }
            for n in dc.networks {
                if !have.networks.iter().any(|x| x.name == n.name) {
                    have.networks.push(n);
                }
            }
            for v in dc.vms {
                if !have
                    .vms
                    .iter()
                    .any(|x| x.name == v.name && x.folder == v.folder)
                {
                    have.vms.push(v);
                }
            }
        }
    }
    out
}
