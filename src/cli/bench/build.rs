//! `gild bench build`: a whole build on the embedded simulator, measured
//! three ways.
//!
//! - Requests: every call the build made, by route, from the simulator's
//!   own request log (instant timing, so polling counts are the fewest a
//!   build can need).
//! - Overhead: the same build with the simulator's realistic durations
//!   (clone 20 s, Tools 25 s, sysprep 60 s, ...) divided by `--scale`.
//!   gild's share is the CPU time the process spent (gild and the embedded
//!   simulator together, so an upper bound) over the wall time; the wall
//!   time of the instant build is reported beside it.
//! - Parallel: `--parallel N` copies of the pipeline in one process against
//!   one build alone: wall-time ratio, and the process's peak RSS (VmHWM,
//!   simulator included).
use crate::cli::{BadInputExt, Outcome};
use crate::pipeline::engine::OnError;
use crate::pipeline::interrupt::Interrupt;
use crate::pipeline::progress::{Recorded, Reporter};
use crate::pipeline::run::{self, BuildRequest, SimulatorOptions};
use crate::pipeline::state::{BuildStatus, StartMode};
use crate::pipeline::Vars;
use crate::simulator::{FaultSpec, Timing};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

#[derive(clap::Args, Debug)]
pub struct BuildBenchArgs {
    /// The pipeline built (relative to the repository).
    #[arg(long, default_value = "pipelines/wmco-ws2022.yaml")]
    pub pipeline: PathBuf,
    /// Realistic durations are divided by this for the overhead run.
    #[arg(long, default_value_t = 20)]
    pub scale: u32,
    /// Builds in the parallel run.
    #[arg(long, default_value_t = 16)]
    pub parallel: usize,
}

struct Run {
    wall: Duration,
    cpu: Option<Duration>,
    counts: run::RouteCounts,
}

async fn build(
    paths: Vec<PathBuf>,
    timing: Timing,
    poll_interval: Option<Duration>,
    parallel: usize,
    work: &Path,
) -> anyhow::Result<Run> {
    let req = BuildRequest {
        pipelines: paths,
        simulator: Some(SimulatorOptions {
            faults: FaultSpec::none(),
            timing,
            poll_interval,
        }),
        parallel,
        on_error: OnError::Cleanup,
        start: StartMode::Fresh,
        only: vec![],
        skip: vec![],
        state_dir: work.join("state"),
        out_dir: Some(work.join("out")),
        vcenter_url: None,
        ca_file: None,
        vars: Vars::empty(),
    };
    let reporter: Arc<dyn Reporter> = Arc::new(Recorded::default());
    let cpu0 = cpu_time();
    let t0 = Instant::now();
    let (outcomes, counts) = run::build_counted(&req, reporter, &Interrupt::new())
        .await
        .bad_input()?;
    let wall = t0.elapsed();
    for o in &outcomes {
        if o.status != BuildStatus::Succeeded {
            anyhow::bail!(
                "{}: the benchmark build failed: {}",
                o.pipeline,
                o.error
                    .as_ref()
                    .map(crate::pipeline::engine::error_chain)
                    .unwrap_or_default()
            );
        }
    }
    Ok(Run {
        wall,
        cpu: cpu_time().zip(cpu0).map(|(a, b)| a.saturating_sub(b)),
        counts: counts.unwrap_or_default(),
    })
}

/// User + system CPU time of this process so far (`/proc/self/stat`).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: utime and stime are the
    // 12th and 13th, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// The time the simulator spends modelling vCenter and the guest in a
/// build that made `counts` requests: each clone, power-on, boot (first
/// start and each reboot: Tools start then IP), reboot, sysprep, shutdown,
/// guest process and VI task at its modelled duration. What the wall time
/// has beyond this is gild's: its own work, the requests, and polling lag.
fn modelled(t: &Timing, counts: &run::RouteCounts) -> Duration {
    let n = |route: &str| counts.get(route).copied().unwrap_or(0) as u32;
    let reboots = n("POST /api/vcenter/vm/{vm}/guest/power?action=reboot");
    let boots = n("POST /api/vcenter/vm/{vm}/power?action=start") + reboots;
    let tasks = [
        "ReconfigVM_Task",
        "Rename_Task",
        "MoveIntoFolder_Task",
        "MarkAsTemplate",
    ]
    .iter()
    .map(|m| {
        n(&format!(
            "POST /sdk/vim25/{{release}}/VirtualMachine/{{mo}}/{m}"
        )) + n(&format!("POST /sdk/vim25/{{release}}/Folder/{{mo}}/{m}"))
    })
    .sum::<u32>();
    t.clone * n("POST /api/vcenter/vm?action=clone")
        + t.power_on * n("POST /api/vcenter/vm/{vm}/power?action=start")
        + (t.tools_start + t.ip_assign) * boots
        + t.guest_reboot * reboots
        + t.sysprep
        + t.guest_shutdown
        + t.process_default * n("POST /api/vcenter/vm/{vm}/guest/processes?action=create")
        + t.task * tasks
}

fn scaled(scale: u32) -> Timing {
    let r = Timing::realistic();
    let s = scale.max(1);
    Timing {
        clone: r.clone / s,
        power_on: r.power_on / s,
        tools_start: r.tools_start / s,
        ip_assign: r.ip_assign / s,
        guest_shutdown: r.guest_shutdown / s,
        guest_reboot: r.guest_reboot / s,
        sysprep: r.sysprep / s,
        process_default: r.process_default / s,
        task: r.task / s,
    }
}

pub async fn run(args: BuildBenchArgs) -> anyhow::Result<Outcome> {
    let pipeline = Path::new(REPO).join(&args.pipeline);
    let text = std::fs::read_to_string(&pipeline)
        .with_context(|| format!("read {}", pipeline.display()))
        .bad_input()?;
    let work = tempfile::tempdir()?;
    // The client's default poll interval, scaled like the durations.
    let poll = Some(crate::vsphere::Timeouts::default().poll_interval / args.scale.max(1));

    let instant = build(
        vec![pipeline.clone()],
        Timing::instant(),
        None,
        1,
        work.path(),
    )
    .await?;
    let total: u64 = instant.counts.values().sum();
    println!("gild bench build: {}", args.pipeline.display());
    println!("  requests per build (instant timing): {total}");
    let mut by_count: Vec<_> = instant.counts.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (route, n) in by_count {
        println!("    {n:>4}  {route}");
    }

    let realistic = build(
        vec![pipeline.clone()],
        scaled(args.scale),
        poll,
        1,
        work.path(),
    )
    .await?;
    let cpu = realistic.cpu.unwrap_or_default();
    let model = modelled(&scaled(args.scale), &realistic.counts);
    let over = realistic.wall.saturating_sub(model);
    println!(
        "  overhead (realistic timing / {}, poll interval / {0}): wall {:.2} s, modelled vCenter+guest {:.2} s, gild {:.2} s = {:.1}% of the build (target < 2%); CPU {:.2} s; instant build wall {:.0} ms",
        args.scale,
        realistic.wall.as_secs_f64(),
        model.as_secs_f64(),
        over.as_secs_f64(),
        100.0 * over.as_secs_f64() / realistic.wall.as_secs_f64(),
        cpu.as_secs_f64(),
        instant.wall.as_secs_f64() * 1000.0
    );

    // N copies under their own names, built at once.
    let name_line = text
        .lines()
        .find(|l| l.starts_with("name:"))
        .context("the pipeline has no top-level name:")?
        .to_string();
    let mut copies = Vec::new();
    for i in 0..args.parallel {
        let path = pipeline.with_file_name(format!(
            ".bench-{i}-{}",
            pipeline.file_name().unwrap_or_default().to_string_lossy()
        ));
        std::fs::write(
            &path,
            text.replacen(&name_line, &format!("{name_line}-p{i}"), 1),
        )?;
        copies.push(path);
    }
    let one = build(
        vec![copies[0].clone()],
        scaled(args.scale),
        poll,
        1,
        work.path(),
    )
    .await;
    let many = build(
        copies.clone(),
        scaled(args.scale),
        poll,
        args.parallel,
        work.path(),
    )
    .await;
    for c in &copies {
        let _ = std::fs::remove_file(c);
    }
    let (one, many) = (one?, many?);
    let ratio = many.wall.as_secs_f64() / one.wall.as_secs_f64();
    println!(
        "  parallel: {} builds in {:.2} s vs 1 in {:.2} s: ratio {ratio:.2} (target < 1.5); peak RSS {:.1} MiB (gild + embedded simulator; target < 100 MiB)",
        args.parallel,
        many.wall.as_secs_f64(),
        one.wall.as_secs_f64(),
        super::transfer::peak_rss_mib().unwrap_or(f64::NAN)
    );
    Ok(Outcome::Success)
}
