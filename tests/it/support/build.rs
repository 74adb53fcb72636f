//! A build against an in-process simulator whose inventory is generated
//! from the pipeline (as `gild build --simulator` does), with the simulator
//! kept alive so tests can inspect what the build left in vCenter.

use gild::pipeline::engine::{self, BuildOptions, BuildOutcome, BuildSecrets, OnError};
use gild::pipeline::interrupt::Interrupt;
use gild::pipeline::progress::{Recorded, Reporter};
use gild::pipeline::run;
use gild::pipeline::state::StartMode;
use gild::pipeline::{load, LoadedPipeline, Vars};
use gild::secret::Secret;
use gild::simulator::{self, FaultSpec, Inventory, Simulator, SimulatorConfig};
use gild::vsphere::wire::GuestCredentials;
use gild::vsphere::{Client, ClientConfig, Timeouts};
use std::path::{Path, PathBuf};

pub const VC_PASSWORD: &str = "Vc-Secret-7f3a9c21!";
pub const GUEST_PASSWORD: &str = "Guest-Secret-5b8e44d0!";
pub const ADMIN_PASSWORD: &str = "Admin-Secret-c91d2e6f!";

/// The test key pair's public half (tests/fixtures/pipelines).
pub fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pipelines")
}

/// A pipeline with every stage of a current WMCO build; `extra` is spliced
/// into the stage list before `unattend` and `template_name` picks the name
/// pattern.
pub fn wmco_pipeline(name: &str, template_name: &str, stage_extra: &str) -> String {
    let repo = env!("CARGO_MANIFEST_DIR");
    format!(
        r#"name: {name}
target: wmco-4.11+
vcenter:
  url: https://vcenter.example.com/
  user: administrator@vsphere.local
  password_env: GILD_TEST_VC_PASSWORD
source:
  vm: /dc1/vm/base/win2022-base
placement:
  datacenter: dc1
  folder: /dc1/vm/builds
  cluster: cluster1
  datastore: datastore1
  network: VM Network
  expected_subnet: 10.20.30.0/24
guest:
  user: Administrator
  password_env: GILD_TEST_GUEST_PASSWORD
unattend:
  template: {repo}/unattend/wmco.xml.tera
  values: {repo}/unattend/values.example.yaml
  admin_password_env: GILD_TEST_ADMIN_PASSWORD
stages:
  - stage: preflight
  - stage: clone
  - stage: hardware
  - stage: tools
  - stage: tools_conf
  - stage: network
  - stage: openssh
    public_key_file: {fixtures}/fixture_ed25519.pub
    private_key_file: {fixtures}/fixture_ed25519
  - stage: container_runtime
  - stage: firewall
{stage_extra}  - stage: unattend
  - stage: sysprep
  - stage: template
  - stage: publish
  - stage: machineset
template:
  name: "{template_name}"
  folder: /dc1/vm/templates
  keep: 2
outputs:
  machineset:
    name: win
    infrastructure_id: ocp-abc12
"#,
        fixtures = fixture_dir().display()
    )
}

/// One simulator and the pipeline file that targets it.
pub struct BuildEnv {
    pub sim: Simulator,
    pub client: Client,
    pub dir: tempfile::TempDir,
    pub loaded: LoadedPipeline,
}

impl BuildEnv {
    pub async fn start(pipeline: &str, faults: &str) -> BuildEnv {
        Self::start_with(pipeline, faults, |_| {}).await
    }

    /// `edit` changes the generated inventory (a full datastore, a template
    /// that already has the final name).
    pub async fn start_with(
        pipeline: &str,
        faults: &str,
        edit: impl FnOnce(&mut Inventory),
    ) -> BuildEnv {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pipeline.yaml");
        std::fs::write(&path, pipeline).expect("write pipeline");
        let loaded = load(&path, &Vars::empty()).unwrap_or_else(|e| panic!("pipeline loads: {e}"));
        let mut inventory = gild::pipeline::simulate::inventory_for(loaded.pipeline());
        edit(&mut inventory);
        let sim = simulator::start(SimulatorConfig {
            inventory,
            faults: FaultSpec::parse(faults).expect("fault spec"),
            user: loaded.pipeline().vcenter.user.clone(),
            password: Secret::new(VC_PASSWORD),
            guest_user: loaded.pipeline().guest.user.clone(),
            guest_password: Secret::new(GUEST_PASSWORD),
            ..SimulatorConfig::default()
        })
        .await
        .expect("simulator");
        let mut config =
            ClientConfig::new(sim.base_url().clone(), sim.user(), Secret::new(VC_PASSWORD));
        config.tls.ca_file = sim.ca_pem_path().map(Path::to_path_buf);
        config.timeouts = Timeouts::for_tests();
        config.retry = gild::vsphere::RetryPolicy::instant(8);
        let client = Client::connect(config).await.expect("connect");
        BuildEnv {
            sim,
            client,
            dir,
            loaded,
        }
    }

    pub fn options(&self) -> BuildOptions {
        BuildOptions {
            on_error: OnError::Cleanup,
            start: StartMode::Fresh,
            only: vec![],
            skip: vec![],
            state_dir: self.dir.path().join("state"),
            out_dir: self.dir.path().join("out"),
        }
    }

    pub fn job(&self, options: BuildOptions) -> engine::BuildJob {
        let mut job = run::make_job(
            &self.loaded,
            BuildSecrets {
                guest: GuestCredentials {
                    user_name: "Administrator".into(),
                    password: Secret::new(GUEST_PASSWORD),
                },
                admin_password: Some(Secret::new(ADMIN_PASSWORD)),
            },
            options,
        )
        .expect("job");
        job.vcenter_url = self.sim.base_url().to_string();
        job
    }

    pub async fn build(&self) -> (BuildOutcome, Vec<String>) {
        self.build_with(self.options(), &Interrupt::new(), None)
            .await
    }

    /// A build whose reporter may also be `spy` (to act at stage boundaries).
    pub async fn build_with(
        &self,
        options: BuildOptions,
        interrupt: &Interrupt,
        spy: Option<&dyn Reporter>,
    ) -> (BuildOutcome, Vec<String>) {
        self.run_job(&self.job(options), interrupt, spy).await
    }

    pub async fn run_job(
        &self,
        job: &engine::BuildJob,
        interrupt: &Interrupt,
        spy: Option<&dyn Reporter>,
    ) -> (BuildOutcome, Vec<String>) {
        self.run_job_on(&self.client, job, interrupt, spy).await
    }

    /// [`BuildEnv::run_job`] through another client (another poll interval).
    pub async fn run_job_on(
        &self,
        client: &Client,
        job: &engine::BuildJob,
        interrupt: &Interrupt,
        spy: Option<&dyn Reporter>,
    ) -> (BuildOutcome, Vec<String>) {
        let recorded = Recorded::default();
        let both = Both(&recorded, spy);
        let outcome = engine::run(job, client, &both, interrupt).await;
        let lines = recorded.lines.lock().expect("lines").clone();
        (outcome, lines)
    }

    /// Names of the VMs and templates in the simulator now.
    pub fn vm_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.sim.admin().vms().into_iter().map(|v| v.name).collect();
        names.sort();
        names
    }
}

struct Both<'a>(&'a Recorded, Option<&'a dyn Reporter>);

impl Reporter for Both<'_> {
    fn stage_started(&self, p: &str, s: &str) {
        self.0.stage_started(p, s);
        if let Some(r) = self.1 {
            r.stage_started(p, s);
        }
    }
    fn stage_finished(&self, p: &str, r: &gild::pipeline::state::StageRecord, resumed: bool) {
        self.0.stage_finished(p, r, resumed);
        if let Some(x) = self.1 {
            x.stage_finished(p, r, resumed);
        }
    }
    fn note(&self, p: &str, m: &str) {
        self.0.note(p, m);
        if let Some(r) = self.1 {
            r.note(p, m);
        }
    }
}
