//! `gild bench validate`: `gild validate` of a shipped pipeline next to
//! `packer validate` of the equivalent Packer vsphere-clone template
//! (`tests/data/packer/wmco-ws2022.vsphere-clone.json`: same inventory,
//! the repository's guest scripts, key and answer file), whole processes
//! timed in turn, in one run. Debian's `packer` package (1.6.6) has the
//! vsphere-clone builder. Both processes get the same environment: dummy
//! vCenter and guest credentials (benchmark values, not secrets), so each
//! validates everything it can.
use crate::cli::{BadInputExt, Outcome};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The repository the benchmark inputs live in (this is a development
/// tool, run from a checkout).
const REPO: &str = env!("CARGO_MANIFEST_DIR");
const TARGET_RATIO: f64 = 0.2;

#[derive(clap::Args, Debug)]
pub struct ValidateBenchArgs {
    /// Timed rounds per tool (alternating); the median is reported.
    #[arg(long, default_value_t = 10)]
    pub rounds: usize,
    /// The pipeline `gild validate` checks (relative to the repository).
    #[arg(long, default_value = "pipelines/wmco-ws2022.yaml")]
    pub pipeline: PathBuf,
    /// The equivalent Packer template (relative to the repository).
    #[arg(
        long,
        default_value = "tests/data/packer/wmco-ws2022.vsphere-clone.json"
    )]
    pub packer_template: PathBuf,
    /// The packer binary (Debian: apt-get install packer).
    #[arg(long, default_value = "packer")]
    pub packer: PathBuf,
}

/// The same dummy values for both tools.
const ENV: [(&str, &str); 6] = [
    ("GILD_VCENTER_URL", "https://vcenter.example/"),
    ("GILD_VCENTER_SERVER", "vcenter.example"),
    ("GILD_VCENTER_USER", "gild-bench@vsphere.local"),
    ("GILD_VCENTER_PASSWORD", "bench-vcenter-value"),
    ("GILD_GUEST_PASSWORD", "bench-guest-value"),
    ("GILD_ADMIN_PASSWORD", "Bench-Admin-Value-42"),
];

pub async fn run(args: ValidateBenchArgs) -> anyhow::Result<Outcome> {
    if args.rounds == 0 {
        return Err(anyhow::anyhow!("--rounds must be at least 1")).bad_input();
    }
    let gild = std::env::current_exe().context("cannot find the gild executable")?;
    let mut gild_cmd = Command::new(&gild);
    gild_cmd.arg("validate").arg(&args.pipeline);
    let mut packer_cmd = Command::new(&args.packer);
    packer_cmd.arg("validate").arg(&args.packer_template);
    let (mut gild_times, mut packer_times) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        gild_times.push(time(&mut gild_cmd, "gild validate")?);
        packer_times.push(time(&mut packer_cmd, "packer validate").with_context(|| {
            format!(
                "cannot run {} (Debian: apt-get install packer)",
                args.packer.display()
            )
        })?);
    }
    let (g, p) = (median(gild_times), median(packer_times));
    let ratio = g.as_secs_f64() / p.as_secs_f64().max(f64::MIN_POSITIVE);
    let verdict = if ratio <= TARGET_RATIO {
        "PASS"
    } else {
        "MISS"
    };
    println!("pipeline:         {}", args.pipeline.display());
    println!(
        "packer template:  {} ({})",
        args.packer_template.display(),
        packer_version(&args.packer)
    );
    println!(
        "rounds:           {} per tool, alternating (median shown)",
        args.rounds
    );
    println!("gild validate:    {:>8.1} ms", ms(g));
    println!("packer validate:  {:>8.1} ms", ms(p));
    println!("ratio gild/packer {ratio:>8.3}  (target <= {TARGET_RATIO})  {verdict}");
    Ok(if verdict == "PASS" {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// Runs one whole process in the repository with the shared environment;
/// it must succeed.
fn time(cmd: &mut Command, what: &str) -> anyhow::Result<Duration> {
    cmd.current_dir(Path::new(REPO))
        .envs(ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let start = Instant::now();
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {what}"))?;
    let elapsed = start.elapsed();
    anyhow::ensure!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(elapsed)
}

fn packer_version(bin: &Path) -> String {
    Command::new(bin)
        .arg("version")
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "version unknown".into())
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
