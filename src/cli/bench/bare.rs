//! `gild bench bare`: the bare flow clone → power off → mark as template
//! → rename to the final name ([`crate::pipeline::bare`]) on the embedded
//! simulator, its requests counted by route from the simulator's log, next
//! to the 39 requests Packer 1.6.6's vsphere-clone makes for clone →
//! reconfigure → mark as template (issue 6). Target ≤ 13.
use crate::cli::{BadInputExt, Outcome};
use crate::pipeline::{bare, run, Vars};
use std::path::PathBuf;

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const PACKER_REQUESTS: u64 = 39;
const TARGET: u64 = 13;

#[derive(clap::Args, Debug)]
pub struct BareBenchArgs {
    /// The pipeline whose inventory and names are used (relative to the repository).
    #[arg(long, default_value = "pipelines/wmco-ws2022.yaml")]
    pub pipeline: PathBuf,
}

pub async fn run(args: BareBenchArgs) -> anyhow::Result<Outcome> {
    let path = std::path::Path::new(REPO).join(&args.pipeline);
    let mut notes = Vec::new();
    let loaded = run::load_pipeline(&path, &Vars::empty(), true, &mut notes).bad_input()?;
    let report = bare::on_simulator(&loaded).await?;
    anyhow::ensure!(
        report.published,
        "the bare flow ended without a template named {}",
        report.final_name
    );
    let total: u64 = report.counts.values().sum();
    let pass = total <= TARGET;
    println!(
        "gild bench bare: {} (clone → power off → mark as template → rename), embedded simulator",
        args.pipeline.display()
    );
    println!(
        "  requests {total} (Packer 1.6.6 vsphere-clone: {PACKER_REQUESTS} for clone → reconfigure → mark as template; target <= {TARGET}) {}",
        if pass { "PASS" } else { "MISS" }
    );
    let mut rows: Vec<_> = report.counts.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (route, n) in rows {
        println!("    {n:>4}  {route}");
    }
    println!(
        "  template {} = {} (the clone is created powered off: the power-off step needs no call)",
        report.final_name, report.template
    );
    Ok(if pass {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
