//! `gild bench client`: the client's per-call overhead. N sequential
//! `GET /api/vcenter/vm/{vm}/power` calls against the in-process simulator
//! with instant timing, so what is measured is gild's request path (URL
//! rendering, headers, retry wrapper, JSON decoding) plus loopback HTTP.
//! The simulator counts TCP connections: a whole run must use one (the
//! client's keep-alive pool), which is printed as PASS/MISS.

use crate::cli::Outcome;
use crate::simulator::{self, SimulatorConfig};
use crate::vsphere::{Client, ClientConfig, ListFilter};
use anyhow::Context as _;
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct ClientBenchArgs {
    /// Number of power-state calls.
    #[arg(long, default_value_t = 10_000)]
    pub calls: u32,
    /// Serve plain HTTP instead of HTTPS.
    #[arg(long)]
    pub plain_http: bool,
}

pub async fn run(args: ClientBenchArgs) -> anyhow::Result<Outcome> {
    let sim = simulator::start(SimulatorConfig {
        tls: !args.plain_http,
        ..SimulatorConfig::default()
    })
    .await
    .context("starting the in-process simulator")?;
    let mut cfg = ClientConfig::new(sim.base_url().clone(), sim.user(), sim.password().clone());
    cfg.tls.ca_file = sim.ca_pem_path().map(Into::into);
    let client = Client::connect(cfg)
        .await
        .context("logging in to the simulator")?;
    let vms = client.list_vms(&ListFilter::new()).await?;
    let vm = vms
        .first()
        .map(|v| v.vm.clone())
        .context("the simulator lists no VM")?;

    let start = Instant::now();
    for _ in 0..args.calls {
        client.power(&vm).await?;
    }
    let took = start.elapsed();
    client.logout().await?;
    let connections = sim.admin().connection_count();
    sim.shutdown().await;

    let per_sec = f64::from(args.calls) / took.as_secs_f64().max(f64::EPSILON);
    let scheme = if args.plain_http { "http" } else { "https" };
    println!("gild bench client: {} x GET /api/vcenter/vm/{{vm}}/power over {scheme} (in-process simulator, instant timing)", args.calls);
    println!("  total        {:.3} s", took.as_secs_f64());
    println!("  throughput   {per_sec:.0} calls/s");
    println!(
        "  mean         {:.1} µs/call",
        took.as_secs_f64() * 1e6 / f64::from(args.calls.max(1))
    );
    let verdict = if connections == 1 { "PASS" } else { "MISS" };
    println!("  connections  {connections} (target 1, login and logout included)  {verdict}");
    Ok(if connections == 1 {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
