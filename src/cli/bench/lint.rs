//! `gild bench lint`: gild's full lint of N copies of the seed answer file
//! against `xmllint --noout` (well-formedness only) over the same files, in
//! one run. Both sides read the files from disk; gild lints in-process on
//! all cores, xmllint gets every file in one invocation, as a user would
//! call it.
use crate::cli::{BadInputExt, Outcome};
use crate::unattend::{lint_path, Profile};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The seed example (OpenShift docs section 5.3.2.1), the benchmark input.
const SEED: &str = include_str!("../../../tests/fixtures/unattend/seed.xml");

#[derive(clap::Args, Debug)]
pub struct LintBenchArgs {
    /// How many copies of the seed answer file to lint.
    #[arg(long, default_value_t = 1000)]
    pub copies: usize,
    /// Timed rounds per tool (alternating); the median is reported, so a
    /// busy machine skews the figures less.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Lint threads (default: the number of cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// The xmllint binary to compare with.
    #[arg(long, default_value = "xmllint")]
    pub xmllint: PathBuf,
}

pub async fn run(args: LintBenchArgs) -> anyhow::Result<Outcome> {
    if args.copies == 0 || args.rounds == 0 || args.threads == Some(0) {
        return Err(anyhow::anyhow!(
            "--copies, --rounds and --threads must be at least 1"
        ))
        .bad_input();
    }
    let dir = tempfile::tempdir().context("cannot create a temp dir for the copies")?;
    let files: Vec<PathBuf> = (0..args.copies)
        .map(|i| dir.path().join(format!("unattend-{i:05}.xml")))
        .collect();
    for f in &files {
        std::fs::write(f, SEED).with_context(|| format!("cannot write {}", f.display()))?;
    }
    let threads = args.threads.unwrap_or_else(cores);
    let (mut gild_times, mut xmllint_times, mut diag_count) = (Vec::new(), Vec::new(), 0);
    for _ in 0..args.rounds {
        let (t, n) = time_gild(&files, threads);
        gild_times.push(t);
        diag_count = n;
        xmllint_times.push(time_xmllint(&args.xmllint, &files)?);
    }
    let (gild_time, xmllint_time) = (median(gild_times), median(xmllint_times));
    let ratio = gild_time.as_secs_f64() / xmllint_time.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "files:            {} copies of the seed answer file ({} bytes each)",
        args.copies,
        SEED.len()
    );
    println!(
        "rounds:           {} (median shown); gild on {threads} thread(s), xmllint in one process",
        args.rounds
    );
    println!(
        "gild lint (full): {:>10.2} ms  ({diag_count} diagnostics per round)",
        ms(gild_time)
    );
    println!("xmllint --noout:  {:>10.2} ms", ms(xmllint_time));
    println!("ratio gild/xmllint: {ratio:.2}");
    Ok(Outcome::Success)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Full lint (read, parse, every wmco rule) of all files, split over the
/// available cores.
fn time_gild(files: &[PathBuf], threads: usize) -> (Duration, usize) {
    let chunk = files.len().div_ceil(threads).max(1);
    let start = Instant::now();
    let count = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|f| lint_path(f, Profile::Wmco).1.len())
                        .sum::<usize>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
    });
    (start.elapsed(), count)
}

fn time_xmllint(bin: &Path, files: &[PathBuf]) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let status = std::process::Command::new(bin)
        .arg("--noout")
        .args(files)
        .status()
        .with_context(|| {
            format!(
                "cannot run {} (Debian: apt-get install libxml2-utils)",
                bin.display()
            )
        })?;
    let elapsed = start.elapsed();
    anyhow::ensure!(
        status.success(),
        "{} --noout failed on the seed copies: {status}",
        bin.display()
    );
    Ok(elapsed)
}
