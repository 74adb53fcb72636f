//! `gild build` end to end on the simulator: a pipeline becomes a published
//! template with manifest, JUnit and MachineSet; each failure SPEC names
//! fails at the stage that can see it, names the VM and the cause, and
//! leaves nothing behind; interrupts at every stage boundary clean up; no
//! secret reaches any output.

use crate::support::build::*;
use gild::pipeline::interrupt::Interrupt;
use gild::pipeline::progress::Reporter;
use gild::pipeline::state::{BuildStatus, StageRecord};
use gild::simulator::inventory::VmSeed;
use std::sync::Mutex;

pub(crate) fn ok(outcome: &gild::pipeline::engine::BuildOutcome, lines: &[String]) {
    assert!(
        outcome.error.is_none(),
        "build failed: {}\n{}",
        outcome
            .error
            .as_ref()
            .map(gild::pipeline::engine::error_chain)
            .unwrap_or_default(),
        lines.join("\n")
    );
    assert_eq!(outcome.status, BuildStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_publishes_one_template_and_leaves_the_source_untouched() {
    let env = BuildEnv::start(&wmco_pipeline("win2022", "{name}-{date}", ""), "").await;
    let before = env.sim.admin().vm_by_name("win2022-base").expect("source");
    let (outcome, lines) = env.build().await;
    ok(&outcome, &lines);
    let template = outcome.template.clone().expect("template record");
    assert!(template.published);
    assert!(template.name.starts_with("win2022-"), "{}", template.name);

    let vms = env.sim.admin().vms();
    assert_eq!(vms.len(), 2, "source and the template only: {vms:?}");
    let t = vms
        .iter()
        .find(|v| v.name == template.name)
        .expect("published");
    assert!(t.template);
    assert_eq!(t.folder, "/dc1/vm/templates");
    let after = env.sim.admin().vm_by_name("win2022-base").expect("source");
    assert_eq!(
        (after.power, after.template, after.folder.clone()),
        (before.power, before.template, before.folder)
    );

    // Every stage ran and said what it checked.
    for stage in [
        "preflight",
        "clone",
        "tools",
        "network",
        "openssh",
        "sysprep",
        "publish",
        "machineset",
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.contains(&format!(" {stage} Passed"))),
            "{stage}: {lines:#?}"
        );
    }

    let out = env.dir.path().join("out");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert_eq!(manifest["template"]["name"], template.name.as_str());
    assert_eq!(manifest["status"], "succeeded");
    assert_eq!(manifest["target"], "wmco-4.11+");
    assert!(manifest["checks"].as_array().expect("checks").len() >= 20);
    assert!(manifest["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["passed"] == true));
    assert_eq!(
        manifest["scripts_sha256"]["collect-facts.ps1"]
            .as_str()
            .map(str::len),
        Some(64)
    );
    assert!(manifest["answer_file_sha256_password_removed"].is_string());

    let junit = std::fs::read_to_string(out.join("junit.xml")).expect("junit");
    assert!(junit.contains("failures=\"0\""), "{junit}");
    let machineset = std::fs::read_to_string(out.join("machineset.yaml")).expect("machineset");
    assert!(
        machineset.contains(&format!("template: /dc1/vm/templates/{}", template.name)),
        "{machineset}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_keeps_the_newest_templates_of_the_pipeline_only() {
    let env = BuildEnv::start_with(
        &wmco_pipeline("win", "{name}-{date}-{target}", ""),
        "",
        |inv| {
            // Someone else's template in the same folder must survive pruning.
            inv.datacenters[0].vms.push(VmSeed {
                template: true,
                folder: "templates".into(),
                ..seed("other-team-template")
            });
        },
    )
    .await;
    let mut published = Vec::new();
    for i in 0..3 {
        // `{date}` has minutes; three builds in one minute need names of
        // their own, as three monthly builds would have.
        let mut job = env.job(env.options());
        job.names.template = format!("win-2026120{i}-0000");
        let (outcome, lines) = env.run_job(&job, &Interrupt::new(), None).await;
        ok(&outcome, &lines);
        published.push(outcome.template.expect("template").name);
    }
    let names = env.vm_names();
    assert!(
        names.contains(&"other-team-template".to_string()),
        "{names:?}"
    );
    let ours: Vec<_> = names
        .iter()
        .filter(|n| n.starts_with("win-"))
        .cloned()
        .collect();
    assert_eq!(
        ours,
        published[1..].to_vec(),
        "keep: 2, the newest → {names:?}"
    );
}

fn seed(name: &str) -> VmSeed {
    serde_norway::from_str(&format!(
        "{{name: {name}, datastore: datastore1, cluster: cluster1}}"
    ))
    .expect("seed")
}

/// Each failure fails at the stage that can see it, names the VM and the
/// cause, and removes the build VM.
async fn fails_at(
    stage: &str,
    faults: &str,
    edit: impl FnOnce(&mut gild::simulator::Inventory),
    extra: &str,
    needle: &str,
) {
    fails_in(
        &wmco_pipeline("win", "{name}-fixed", extra),
        stage,
        faults,
        edit,
        needle,
    )
    .await;
}

pub(crate) async fn fails_in(
    pipeline: &str,
    stage: &str,
    faults: &str,
    edit: impl FnOnce(&mut gild::simulator::Inventory),
    needle: &str,
) {
    let env = BuildEnv::start_with(pipeline, faults, edit).await;
    let before = env.vm_names();
    let (outcome, lines) = env.build().await;
    let err = outcome
        .error
        .as_ref()
        .map(gild::pipeline::engine::error_chain)
        .unwrap_or_default();
    assert_eq!(outcome.status, BuildStatus::Failed, "{lines:#?}");
    assert!(
        err.starts_with(&format!("stage {stage} failed on win-build-")),
        "{err}"
    );
    assert!(err.contains(needle), "{err}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(&format!(" {stage} Failed"))),
        "{lines:#?}"
    );
    let after: Vec<String> = env
        .vm_names()
        .into_iter()
        .filter(|n| !n.starts_with("win-build-"))
        .collect();
    assert_eq!(env.vm_names(), after, "the build VM is gone: {lines:#?}");
    assert_eq!(after, before, "nothing else changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_that_never_start_fail_the_tools_stage() {
    // The stage's own timeout bounds the wait; the default (10 min) is for
    // real guests.
    let pipeline = wmco_pipeline("win", "{name}-fixed", "")
        .replace("  - stage: tools\n", "  - stage: tools\n    timeout: 3s\n");
    fails_in(
        &pipeline,
        "tools",
        "tools-never-start",
        |_| {},
        "VMware Tools",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apipa_address_fails_the_network_stage() {
    fails_at("network", "apipa", |_| {}, "", "169.254").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_guest_process_fails_its_stage_at_the_timeout() {
    // The tools stage runs the first guest process (collect-facts.ps1).
    let pipeline = wmco_pipeline("win", "{name}-fixed", "")
        .replace("  - stage: tools\n", "  - stage: tools\n    timeout: 2s\n");
    let env = BuildEnv::start(&pipeline, "process-hang=powershell.exe").await;
    let (outcome, lines) = env.build().await;
    let err = outcome
        .error
        .as_ref()
        .map(gild::pipeline::engine::error_chain)
        .unwrap_or_default();
    assert!(
        err.starts_with("stage tools failed on win-build-"),
        "{err}\n{lines:#?}"
    );
    assert!(
        err.contains("timeout of 2s") || err.contains("within"),
        "{err}"
    );
    assert!(!env.vm_names().iter().any(|n| n.starts_with("win-build-")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sysprep_fails_the_sysprep_stage_and_shows_its_log() {
    fails_at("sysprep", "sysprep-fail", |_| {}, "", "setuperr.log").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_datastore_fails_preflight_before_anything_is_cloned() {
    fails_at(
        "preflight",
        "",
        |inv| inv.datacenters[0].datastores[0].free_gib = 10,
        "",
        "datastore has room",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_template_name_fails_preflight() {
    fails_at(
        "preflight",
        "",
        |inv| {
            inv.datacenters[0].vms.push(VmSeed {
                template: true,
                folder: "templates".into(),
                ..seed("win-fixed")
            })
        },
        "",
        "final template name free",
    )
    .await;
}

/// Raises the interrupt once the given stage has finished.
struct InterruptAfter {
    stage: String,
    interrupt: Interrupt,
    seen: Mutex<Vec<String>>,
}

impl Reporter for InterruptAfter {
    fn stage_started(&self, _: &str, _: &str) {}
    fn stage_finished(&self, _: &str, r: &StageRecord, _: bool) {
        self.seen.lock().unwrap().push(r.stage.clone());
        if r.stage == self.stage {
            self.interrupt.raise("SIGINT");
        }
    }
    fn note(&self, _: &str, _: &str) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_at_every_stage_boundary_leaves_no_vm_and_no_half_published_template() {
    let stages = [
        "preflight",
        "clone",
        "hardware",
        "tools",
        "tools_conf",
        "network",
        "openssh",
        "container_runtime",
        "firewall",
        "unattend",
        "sysprep",
        "template",
    ];
    for stage in stages {
        let env = BuildEnv::start(&wmco_pipeline("win", "{name}-fixed", ""), "").await;
        let interrupt = Interrupt::new();
        let spy = InterruptAfter {
            stage: stage.into(),
            interrupt: interrupt.clone(),
            seen: Mutex::new(vec![]),
        };
        let (outcome, lines) = env.build_with(env.options(), &interrupt, Some(&spy)).await;
        assert_eq!(
            outcome.status,
            BuildStatus::Interrupted,
            "after {stage}: {lines:#?}"
        );
        assert_eq!(interrupt.exit_code(), Some(130));
        let names = env.vm_names();
        assert_eq!(
            names,
            vec!["win2022-base".to_string()],
            "after {stage}: {lines:#?}"
        );
        let source = env.sim.admin().vm_by_name("win2022-base").unwrap();
        assert!(!source.template);
        let state_file = outcome.state_file.expect("state file");
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&state_file).unwrap()).unwrap();
        assert_eq!(state["status"], "interrupted");
        assert!(state["lock"].is_null(), "the lock is released");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_error_keep_leaves_the_build_vm_and_cleanup_removes_it_later() {
    let env = BuildEnv::start(&wmco_pipeline("win", "{name}-fixed", ""), "sysprep-fail").await;
    let mut options = env.options();
    options.on_error = gild::pipeline::engine::OnError::Keep;
    let (outcome, _) = env
        .build_with(options.clone(), &Interrupt::new(), None)
        .await;
    assert_eq!(outcome.status, BuildStatus::Failed);
    let kept: Vec<_> = env
        .vm_names()
        .into_iter()
        .filter(|n| n.starts_with("win-build-"))
        .collect();
    assert_eq!(kept.len(), 1, "kept for inspection");

    let store = gild::pipeline::state::StateStore::new(&options.state_dir, "win");
    let actions = gild::pipeline::cleanup::cleanup(
        &env.client,
        env.loaded.pipeline(),
        &store,
        &gild::pipeline::cleanup::Options {
            older_than: std::time::Duration::ZERO,
            dry_run: false,
        },
    )
    .await
    .expect("cleanup");
    assert!(
        matches!(
            &actions[..],
            [gild::pipeline::cleanup::Action::Removed { .. }]
        ),
        "{actions:?}"
    );
    assert_eq!(env.vm_names(), vec!["win2022-base".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_continues_after_the_last_verified_stage() {
    let env = BuildEnv::start(&wmco_pipeline("win", "{name}-fixed", ""), "").await;
    // First run stops after openssh (a crash would leave the same state).
    let mut options = env.options();
    options.on_error = gild::pipeline::engine::OnError::Keep;
    let interrupt = Interrupt::new();
    let spy = InterruptAfter {
        stage: "openssh".into(),
        interrupt: interrupt.clone(),
        seen: Mutex::new(vec![]),
    };
    let (first, _) = env
        .build_with(options.clone(), &interrupt, Some(&spy))
        .await;
    assert_eq!(first.status, BuildStatus::Interrupted);
    options.start = gild::pipeline::state::StartMode::Resume;
    let (second, lines) = env.build_with(options, &Interrupt::new(), None).await;
    ok(&second, &lines);
    assert!(
        lines.iter().any(|l| l.contains("clone Passed (resumed)")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("openssh Passed (resumed)")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("container_runtime Passed") && !l.contains("resumed")),
        "{lines:#?}"
    );
    assert_eq!(
        env.vm_names(),
        vec!["win-fixed".to_string(), "win2022-base".to_string()]
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(second.state_file.unwrap()).unwrap()).unwrap();
    let stages: Vec<_> = state["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap().to_string())
        .collect();
    let mut dedup = stages.clone();
    dedup.dedup();
    assert_eq!(stages, dedup, "one record per stage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_outputs_state_or_guest_command_lines() {
    let env = BuildEnv::start(&wmco_pipeline("win", "{name}-{date}", ""), "").await;
    let (outcome, lines) = env.build().await;
    ok(&outcome, &lines);
    let encoded = gild::unattend::password::encode(
        &gild::secret::Secret::new(ADMIN_PASSWORD),
        gild::unattend::password::PasswordKind::Administrator,
    );
    let needles = [
        VC_PASSWORD,
        GUEST_PASSWORD,
        ADMIN_PASSWORD,
        encoded.as_str(),
    ];
    let mut files = Vec::new();
    for entry in walk(env.dir.path()) {
        files.push(entry);
    }
    assert!(files.iter().any(|f| f.ends_with("manifest.json")));
    for f in &files {
        let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).to_string();
        for n in &needles {
            assert!(!text.contains(n), "{} contains a secret", f.display());
        }
    }
    for l in &lines {
        for n in &needles {
            assert!(!l.contains(n), "output line carries a secret: {l}");
        }
    }
    for vm in env.sim.admin().vms() {
        let log = env
            .sim
            .admin()
            .with_guest(&vm.id, |g| g.process_log().to_vec())
            .unwrap_or_default();
        for cmd in log {
            for n in &needles {
                assert!(
                    !cmd.contains(n),
                    "guest command line carries a secret: {cmd}"
                );
            }
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
