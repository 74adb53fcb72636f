//! `gild bench build`: a whole build on the embedded simulator, measured
//! three ways.
//!
//! - Requests: every call the build made, by stage and by route, from the
//!   simulator's own request log (instant timing, so every wait is over at
//!   its first poll), next to the minimum the pipeline needs
//!   ([`crate::pipeline::minimum`]); target ≤ 1.3× that minimum.
//! - Overhead: the same build with the simulator's realistic durations
//!   (clone 20 s, Tools 25 s, sysprep 60 s, ...) and the client's poll
//!   interval, both divided by `--scale`. gild's share is the wall time
//!   beyond the modelled critical path ([`crate::pipeline::minimum::modelled_time`]),
//!   shown per stage so it is clear where it goes.
//! - Parallel: `--parallel N` copies of the pipeline in one process against
//!   one build alone: wall-time ratio, and the process's peak RSS (VmHWM,
//!   simulator included).
use crate::cli::{BadInputExt, Outcome};
use crate::pipeline::engine::OnError;
use crate::pipeline::interrupt::Interrupt;
use crate::pipeline::minimum::{self, Circumstances};
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
    /// Also print the realistic build's requests as a timeline, stage by
    /// stage: when each was sent, how long it took, and the time gild spent
    /// before sending it (its own work or a poll pause).
    #[arg(long)]
    pub timeline: bool,
}

struct Run {
    wall: Duration,
    cpu: Option<Duration>,
    counts: run::RequestCounts,
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
    let counts = counts.unwrap_or_default();
    // Starting the embedded simulator is not part of a build against vCenter.
    let wall = t0.elapsed().saturating_sub(counts.simulator_start);
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
        counts,
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
        tools_conf_poll: r.tools_conf_poll / s,
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
    println!("gild bench build: {}", args.pipeline.display());
    let requests_pass = report_requests(&pipeline, &instant.counts)?;

    let timing = scaled(args.scale);
    let realistic = build(vec![pipeline.clone()], timing.clone(), poll, 1, work.path()).await?;
    let overhead_pass = report_overhead(&args, &timing, &realistic, instant.wall);
    if args.timeline {
        print_timeline(&realistic.counts.stages);
    }

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
    let rss = super::transfer::peak_rss_mib().unwrap_or(f64::NAN);
    let parallel_pass = ratio < 1.5 && rss < 100.0;
    println!(
        "  parallel: {} builds in {:.2} s vs 1 in {:.2} s: ratio {ratio:.2} (target < 1.5); peak RSS {rss:.1} MiB (gild + embedded simulator; target < 100 MiB) {}",
        args.parallel,
        many.wall.as_secs_f64(),
        one.wall.as_secs_f64(),
        verdict(parallel_pass)
    );
    Ok(if requests_pass && overhead_pass && parallel_pass {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// Requests by stage and by route next to the minimum; the verdict.
fn report_requests(pipeline: &Path, counts: &run::RequestCounts) -> anyhow::Result<bool> {
    let mut notes = Vec::new();
    let loaded = run::load_pipeline(pipeline, &Vars::empty(), true, &mut notes).bad_input()?;
    let p = loaded.pipeline();
    let folder_vms = crate::pipeline::simulate::seeded_template_folder_vms(p) as u64 + 1;
    let needs = minimum::minimum(p, &Circumstances::observed(&counts.stages, folder_vms));
    let gild: u64 = counts.total.values().sum();
    let least: u64 = needs.iter().map(|s| s.total()).sum();
    let ratio = gild as f64 / least.max(1) as f64;
    println!(
        "  requests per build (instant timing): {gild}, minimum {least}: ratio {ratio:.2} (target <= 1.3) {}",
        verdict(ratio <= 1.3)
    );
    println!("    {:<18} {:>5} {:>8}", "stage", "gild", "minimum");
    let outside = counts.outside_stages();
    let mut rows = vec![("session".to_string(), run::RequestCounts::sum(&outside))];
    rows.extend(
        counts
            .stages
            .iter()
            .map(|s| (s.stage.clone(), run::RequestCounts::sum(&s.counts))),
    );
    for (stage, n) in rows {
        let m: u64 = needs
            .iter()
            .filter(|s| s.stage == stage)
            .map(|s| s.total())
            .sum();
        println!("    {stage:<18} {n:>5} {m:>8}");
    }
    let least_by_route = minimum::total(&needs);
    let mut routes: Vec<&String> = counts.total.keys().chain(least_by_route.keys()).collect();
    routes.sort();
    routes.dedup();
    let n = |m: &run::RouteCounts, r: &String| m.get(r).copied().unwrap_or(0);
    routes.sort_by_key(|r| std::cmp::Reverse(n(&counts.total, r)));
    println!("    {:>5} {:>8}  route", "gild", "minimum");
    for r in routes {
        println!(
            "    {:>5} {:>8}  {r}",
            n(&counts.total, r),
            n(&least_by_route, r)
        );
    }
    Ok(ratio <= 1.3)
}

/// Wall time against the modelled critical path, in all and per stage.
fn report_overhead(
    args: &BuildBenchArgs,
    timing: &Timing,
    r: &Run,
    instant_wall: Duration,
) -> bool {
    let model = minimum::modelled_time(timing, &r.counts.stages);
    let modelled: Duration = model.iter().sum();
    let over = r.wall.saturating_sub(modelled);
    let share = 100.0 * over.as_secs_f64() / r.wall.as_secs_f64();
    println!(
        "  overhead (realistic timing / {}, poll interval / {0}): wall {:.2} s, modelled vCenter+guest {:.2} s, gild {:.2} s = {share:.1}% of the build (target < 2%) {}; CPU {:.2} s; instant build wall {:.0} ms",
        args.scale,
        r.wall.as_secs_f64(),
        modelled.as_secs_f64(),
        over.as_secs_f64(),
        verdict(share < 2.0),
        r.cpu.unwrap_or_default().as_secs_f64(),
        instant_wall.as_secs_f64() * 1000.0
    );
    println!(
        "    {:<18} {:>8} {:>9} {:>8} {:>9}",
        "stage", "wall ms", "model ms", "gild ms", "requests"
    );
    let mut in_stages = Duration::ZERO;
    for (s, m) in r.counts.stages.iter().zip(&model) {
        in_stages += s.wall;
        println!(
            "    {:<18} {:>8} {:>9} {:>8} {:>9}",
            s.stage,
            s.wall.as_millis(),
            m.as_millis(),
            s.wall.as_millis() as i128 - m.as_millis() as i128,
            run::RequestCounts::sum(&s.counts)
        );
    }
    println!(
        "    {:<18} {:>8} {:>9} {:>8} {:>9}",
        "outside stages",
        r.wall.saturating_sub(in_stages).as_millis(),
        0,
        r.wall.saturating_sub(in_stages).as_millis(),
        run::RequestCounts::sum(&r.counts.outside_stages())
    );
    share < 2.0
}

/// Each stage's requests: offset from the stage's first request, the
/// answer's time, and the gap after the previous answer, all in ms.
fn print_timeline(stages: &[crate::pipeline::counts::StageRequests]) {
    let ms = |us: u64| us as f64 / 1000.0;
    let mut last_end: Option<u64> = None;
    for s in stages {
        println!("  timeline {} ({} ms):", s.stage, s.wall.as_millis());
        let Some(first) = s.log.first() else { continue };
        for e in &s.log {
            let gap = last_end.map(|end| e.at_us.saturating_sub(end)).unwrap_or(0);
            println!(
                "    +{:>8.1}  took {:>7.1}  after {:>7.1}  {} {} {}",
                ms(e.at_us - first.at_us),
                ms(e.took_us),
                ms(gap),
                e.status,
                e.method,
                e.route
            );
            last_end = Some(e.at_us + e.took_us);
        }
    }
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "PASS"
    } else {
        "MISS"
    }
}
