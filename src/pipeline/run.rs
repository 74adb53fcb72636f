//! `gild build`'s work below the command line: load the pipelines, resolve
//! their secrets, start the embedded simulator when asked, connect one
//! client per vCenter (shared by every build that targets it, so
//! `--parallel` opens one session per vCenter, not one per build), and run
//! the builds, at most N at a time.

use super::config::STAGE_NAMES;
use super::engine::{self, BuildJob, BuildOptions, BuildOutcome, BuildSecrets, Names, OnError};
use super::error::BuildError;
use super::interrupt::Interrupt;
use super::load::{load, LoadError, LoadedPipeline};
use super::naming::{self, NameContext, NamePattern};
use super::progress::Reporter;
use super::secret_source::{SecretRole, SecretSource};
use super::simulate;
use super::state::StartMode;
use super::vars::Vars;
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
    /// How often the client polls; `None`: the client's default (20 ms
    /// under instant timing). A benchmark that scales the simulator's
    /// durations down scales this with them, so polling costs what it
    /// would against a real vCenter.
    pub poll_interval: Option<std::time::Duration>,
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
    /// `${VAR}` values (`--var`, `--var-file`, the environment).
    pub vars: Vars,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {message}")]
    Secret { path: PathBuf, message: String },
    #[error("{path}: cannot log in to vCenter")]
    Connect {
        path: PathBuf,
        #[source]
        source: crate::vsphere::VsphereError,
    },
    #[error("cannot start the embedded simulator")]
    Simulator(#[source] crate::simulator::SimulatorError),
}

/// Loads one pipeline file. Under the simulator a `${VAR}` nobody set gets
/// a placeholder (the note says which): the simulator replaces the vCenter
/// URL anyway, and accepts whatever user the pipeline names.
pub fn load_pipeline(
    path: &Path,
    vars: &Vars,
    simulated: bool,
    notes: &mut Vec<String>,
) -> Result<LoadedPipeline, RunError> {
    if !simulated {
        return Ok(load(path, vars)?);
    }
    let mut vars = vars.clone();
    for name in super::load::referenced_variables(path)? {
        if vars.get(&name).is_none() {
            let value = if name.to_ascii_uppercase().contains("URL") {
                "https://simulator.invalid/"
            } else {
                "simulated"
            };
            notes.push(format!(
                "${{{name}}} is not set: `{value}` under the embedded simulator"
            ));
            vars.set_default(name, value);
        }
    }
    Ok(load(path, &vars)?)
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
/// template from the pipeline's pattern (`{date}`, `{target}`, `{git_sha}`).
pub fn names_for(
    l: &LoadedPipeline,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Names, RunError> {
    let p = l.pipeline();
    let suffix: String = (0..4)
        .map(|_| format!("{:x}", rand::random::<u8>() % 16))
        .collect();
    let pattern = NamePattern::parse(&p.template.name)
        .map_err(|e| RunError::Usage(format!("{}: template.name: {e}", l.file_name())))?;
    let sha = if pattern.uses_git_sha() {
        naming::git_sha(l.base_dir())
    } else {
        None
    };
    let template = pattern
        .render(&NameContext {
            name: &p.name,
            target: p.target,
            now,
            git_sha: sha.as_deref(),
        })
        .map_err(|e| RunError::Usage(format!("{}: template.name: {e}", l.file_name())))?;
    Ok(Names {
        build_id: format!("{}-{suffix}", now.format(naming::BUILD_STAMP_FORMAT)),
        build_vm: naming::build_vm_name(&p.name, now),
        template,
    })
}

/// A secret from where the pipeline says; under the simulator an unset
/// environment variable is replaced by a throwaway value (and the user told
/// so), so a fresh machine can run a build with nothing exported.
fn secret(
    l: &LoadedPipeline,
    role: SecretRole,
    simulated: bool,
    notes: &mut Vec<String>,
) -> Result<Option<Secret>, RunError> {
    let Some(source) = l.secret_source(role) else {
        return Ok(None);
    };
    match source.resolve() {
        Ok(s) => Ok(Some(s)),
        Err(_) if simulated && matches!(source, SecretSource::Env(_)) => {
            notes.push(format!(
                "{} is not set: using a throwaway {} for the embedded simulator",
                match &source {
                    SecretSource::Env(n) => n.as_str(),
                    _ => "",
                },
                role.describe()
            ));
            Ok(Some(throwaway()))
        }
        Err(e) => Err(RunError::Secret {
            path: l.path().to_path_buf(),
            message: format!("{} ({}): {e}", role.describe(), source.describe()),
        }),
    }
}

fn required(l: &LoadedPipeline, role: SecretRole, s: Option<Secret>) -> Result<Secret, RunError> {
    s.ok_or_else(|| RunError::Secret {
        path: l.path().to_path_buf(),
        message: format!(
            "{}: set {}_env or {}_file",
            role.describe(),
            role.field(),
            role.field()
        ),
    })
}

fn throwaway() -> Secret {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let body: String = (0..20)
        .map(|_| rng.sample(rand::distributions::Alphanumeric) as char)
        .collect();
    Secret::new(format!("Gild-{body}-1!"))
}

/// One build of a loaded pipeline (its names decided now); the vCenter URL
/// is filled in once the client's is known.
pub fn make_job(
    l: &LoadedPipeline,
    secrets: BuildSecrets,
    options: BuildOptions,
) -> Result<BuildJob, RunError> {
    Ok(BuildJob {
        pipeline: l.pipeline().clone(),
        pipeline_path: l.path().to_path_buf(),
        base_dir: l.base_dir().to_path_buf(),
        vcenter_url: String::new(),
        secrets,
        options,
        names: names_for(l, chrono::Utc::now())?,
    })
}

pub use super::connect::Overrides;

/// How to reach the pipeline's vCenter: its URL and TLS trust, with the
/// command line's overrides.
pub fn client_config(
    l: &LoadedPipeline,
    password: Secret,
    o: &Overrides,
) -> Result<ClientConfig, RunError> {
    super::connect::client_config(l, password, o)
        .map_err(|e| RunError::Usage(format!("{}: {e}", l.file_name())))
}

/// Logs in to the pipeline's vCenter (for `cleanup`, `templates`, `validate --online`).
pub async fn connect(l: &LoadedPipeline, o: &Overrides) -> Result<Client, RunError> {
    let mut notes = Vec::new();
    let password = secret(l, SecretRole::Vcenter, false, &mut notes)?;
    let password = required(l, SecretRole::Vcenter, password)?;
    let config = client_config(l, password, o)?;
    Client::connect(config)
        .await
        .map_err(|source| RunError::Connect {
            path: l.path().to_path_buf(),
            source,
        })
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
    Ok(build_counted(req, reporter, interrupt).await?.0)
}

use super::counts::StageCounter;
pub use super::counts::{RequestCounts, RouteCounts, StageRequests};

/// [`build`], also returning the embedded simulator's request counts (for
/// `gild bench build`); `None` against a real vCenter.
pub async fn build_counted(
    req: &BuildRequest,
    reporter: Arc<dyn Reporter>,
    interrupt: &Interrupt,
) -> Result<(Vec<BuildOutcome>, Option<RequestCounts>), RunError> {
    check_stage_names(&req.only)?;
    check_stage_names(&req.skip)?;
    let simulated = req.simulator.is_some();
    let mut loaded = Vec::new();
    for path in &req.pipelines {
        let mut notes = Vec::new();
        let l = load_pipeline(path, &req.vars, simulated, &mut notes)?;
        for n in notes {
            reporter.note(&l.pipeline().name, &n);
        }
        loaded.push(l);
    }
    let mut sim: Option<Simulator> = None;
    let mut simulator_start = std::time::Duration::ZERO;
    let mut prepared = Vec::new();
    let mut sim_credentials: Option<(String, Secret, String, Secret)> = None;
    for l in &loaded {
        let mut notes = Vec::new();
        let p = l.pipeline();
        let vc_password = secret(l, SecretRole::Vcenter, simulated, &mut notes)?;
        let vc_password = required(l, SecretRole::Vcenter, vc_password)?;
        let guest_password = secret(l, SecretRole::Guest, simulated, &mut notes)?;
        let guest_password = required(l, SecretRole::Guest, guest_password)?;
        let admin = secret(l, SecretRole::Admin, simulated, &mut notes)?;
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
        let job = make_job(
            l,
            BuildSecrets {
                guest: GuestCredentials {
                    user_name: p.guest.user.clone(),
                    password: guest_password,
                },
                admin_password: admin,
            },
            BuildOptions {
                on_error: req.on_error,
                start: req.start,
                only: req.only.clone(),
                skip: req.skip.clone(),
                state_dir: req.state_dir.clone(),
                out_dir,
            },
        )?;
        let config = if simulated {
            // The simulator's URL and CA are filled in once it runs.
            let url = url::Url::parse("https://simulator.invalid/").expect("static URL");
            ClientConfig::new(url, p.vcenter.user.clone(), vc_password)
        } else {
            client_config(
                l,
                vc_password,
                &Overrides {
                    vcenter_url: req.vcenter_url.clone(),
                    ca_file: req.ca_file.clone(),
                },
            )?
        };
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
                .map(|l| simulate::inventory_for(l.pipeline()))
                .collect(),
        );
        let starting = std::time::Instant::now();
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
        simulator_start = starting.elapsed();
        let instant = opts.timing == Timing::instant();
        for p in &mut prepared {
            p.client_config.url = started.base_url().clone();
            p.client_config.tls.ca_file = started.ca_pem_path().map(Path::to_path_buf);
            if let Some(every) = opts.poll_interval {
                p.client_config.timeouts.poll_interval = every;
            } else if instant {
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

    let counter = match &sim {
        Some(sim) if prepared.len() == 1 => {
            Some(Arc::new(StageCounter::new(reporter.clone(), sim.admin())))
        }
        _ => None,
    };
    let reporter = match &counter {
        Some(c) => c.clone() as Arc<dyn Reporter>,
        None => reporter,
    };
    let outcomes = run_all(prepared, req.parallel.max(1), reporter, interrupt).await;
    let mut counts = None;
    if let Some(sim) = sim {
        counts = Some(RequestCounts {
            total: sim.admin().route_counts(),
            stages: counter.map(|c| c.stages()).unwrap_or_default(),
            simulator_start,
        });
        sim.shutdown().await;
    }
    Ok((outcomes, counts))
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
