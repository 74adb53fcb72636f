//! Request counts of a whole build and of the bare clone → template flow
//! on the embedded simulator (instant timing, so every wait is over at its
//! first poll): counts, not timings, so they are deterministic. A build
//! stays within 1.3× the minimum its pipeline needs (computed from its
//! stages by `gild::pipeline::minimum`), and that minimum really is a
//! lower bound: no route gets fewer calls than it says.

use gild::pipeline::engine::OnError;
use gild::pipeline::interrupt::Interrupt;
use gild::pipeline::minimum::{self, Circumstances};
use gild::pipeline::progress::Recorded;
use gild::pipeline::run::{self, BuildRequest, SimulatorOptions};
use gild::pipeline::state::{BuildStatus, StartMode};
use gild::pipeline::{bare, simulate, Vars};
use gild::simulator::{FaultSpec, Timing};
use std::path::PathBuf;
use std::sync::Arc;

fn shipped(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines")
        .join(name)
}

/// A shipped pipeline as `gild build --simulator` loads it.
fn load(name: &str) -> gild::pipeline::LoadedPipeline {
    let mut notes = Vec::new();
    run::load_pipeline(&shipped(name), &Vars::empty(), true, &mut notes).expect("loads")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_build_stays_within_1_3_times_the_minimum_its_stages_need() {
    let work = tempfile::tempdir().unwrap();
    let path = shipped("wmco-ws2022.yaml");
    let req = BuildRequest {
        pipelines: vec![path.clone()],
        simulator: Some(SimulatorOptions {
            faults: FaultSpec::none(),
            timing: Timing::instant(),
            poll_interval: None,
        }),
        parallel: 1,
        on_error: OnError::Cleanup,
        start: StartMode::Fresh,
        only: vec![],
        skip: vec![],
        state_dir: work.path().join("state"),
        out_dir: Some(work.path().join("out")),
        vcenter_url: None,
        ca_file: None,
        vars: Vars::empty(),
    };
    let (outcomes, counts) =
        run::build_counted(&req, Arc::new(Recorded::default()), &Interrupt::new())
            .await
            .expect("the build runs");
    assert_eq!(
        outcomes[0].status,
        BuildStatus::Succeeded,
        "{:?}",
        outcomes[0].error
    );
    let counts = counts.expect("the embedded simulator counts requests");

    let loaded = load("wmco-ws2022.yaml");
    let p = loaded.pipeline();
    let ran: Vec<&str> = counts.stages.iter().map(|s| s.stage.as_str()).collect();
    let named: Vec<&str> = p.stages.iter().map(|s| s.name()).collect();
    assert_eq!(ran, named, "one count per stage, in order");

    let folder_vms = simulate::seeded_template_folder_vms(p) as u64 + 1;
    let circumstances = Circumstances::observed(&counts.stages, folder_vms);
    assert_eq!(
        circumstances.reboots.get("container_runtime"),
        Some(&1),
        "the Containers feature asks for one reboot"
    );
    let needs = minimum::minimum(p, &circumstances);
    let least: u64 = needs.iter().map(|s| s.total()).sum();
    let gild: u64 = counts.total.values().sum();
    assert!(least > 50, "a whole build needs more than {least} requests");
    assert!(
        gild * 10 <= least * 13,
        "{gild} requests against a minimum of {least}: over 1.3×\n{:#?}",
        counts.total
    );
    for (route, n) in minimum::total(&needs) {
        let made = counts.total.get(&route).copied().unwrap_or(0);
        assert!(
            made >= n,
            "{route}: gild made {made}, fewer than the minimum {n}"
        );
    }
    assert_eq!(
        run::RequestCounts::sum(&counts.outside_stages()),
        2,
        "outside the stages only log-in and log-out: {:?}",
        counts.outside_stages()
    );
}

#[test]
fn the_minimum_grows_with_what_the_guest_asks_for() {
    let loaded = load("wmco-ws2022.yaml");
    let total = |c: &Circumstances| -> u64 {
        minimum::minimum(loaded.pipeline(), c)
            .iter()
            .map(|s| s.total())
            .sum()
    };
    let calm = Circumstances {
        template_folder_vms: 1,
        ..Circumstances::default()
    };
    let mut rebooted = calm.clone();
    rebooted.reboots.insert("container_runtime".into(), 1);
    // Boot time read, reboot, one poll of Tools and guest operations, and
    // the new boot's facts (which replace the stage's own read-out).
    assert_eq!(total(&rebooted), total(&calm) + 4 + 1 + 2);
    let mut pruned = calm.clone();
    pruned.template_folder_vms = 3;
    pruned.pruned = 1;
    // Two more annotations read, a destroy and its poll, a second listing
    // with the two left.
    assert_eq!(total(&pruned), total(&calm) + 2 + 2 + 1 + 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bare_clone_to_template_flow_makes_at_most_13_requests() {
    let loaded = load("wmco-ws2022.yaml");
    let report = bare::on_simulator(&loaded)
        .await
        .expect("the bare flow runs");
    assert!(
        report.published,
        "{} is a template under its final name",
        report.final_name
    );
    let total: u64 = report.counts.values().sum();
    assert!(total <= 13, "{total} requests: {:#?}", report.counts);
    for once in [
        "POST /api/vcenter/vm?action=clone",
        "POST /sdk/vim25/{release}/VirtualMachine/{mo}/MarkAsTemplate",
        "POST /sdk/vim25/{release}/VirtualMachine/{mo}/Rename_Task",
        "POST /api/session",
        "DELETE /api/session",
    ] {
        assert_eq!(
            report.counts.get(once),
            Some(&1),
            "{once}: {:#?}",
            report.counts
        );
    }
}
