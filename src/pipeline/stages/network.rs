//! network: the VM reports a usable IPv4 address to vCenter — present, not
//! link-local (APIPA: DHCP did not answer) or loopback, inside the expected
//! subnet when the pipeline gives one. WMCO supports one NIC only. That it
//! stays the same (an address that changes is not usable) is proved by the
//! address watch this stage starts: `stable_polls` polls spread over the
//! later stages and confirmed before sysprep (see [`super::address`]).

use super::{Build, DEFAULT_STABLE_POLLS};
use crate::pipeline::config::NetworkOptions;
use crate::pipeline::error::StageError;
use std::net::Ipv4Addr;
use tokio::time::Instant;

pub async fn run(b: &mut Build<'_>, o: &NetworkOptions) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    if b.job.pipeline.target.is_wmco() {
        let info = b
            .client
            .vm(&vm)
            .await
            .map_err(StageError::vsphere(format!("read {vm}")))?;
        b.checks.expect(
            "one network adapter (WMCO supports no dual NICs)",
            "1",
            info.nics.len().to_string(),
            info.nics.len() == 1,
        )?;
    }
    let subnet: Option<ipnet::Ipv4Net> = match &b.job.pipeline.placement.expected_subnet {
        Some(s) => Some(s.parse().map_err(|e| {
            StageError::Precondition(format!(
                "placement.expected_subnet {s:?} is not an IPv4 CIDR: {e}"
            ))
        })?),
        None => None,
    };
    let needed = o.stable_polls.unwrap_or(DEFAULT_STABLE_POLLS).max(1);
    let started = Instant::now();
    let deadline = started + b.wait_budget();
    // The first IPv4 address the guest reports. Until one shows, a 503
    // only means "not yet": asked again on the poll schedule, backing off
    // like every wait, not after the transport's retry delays.
    let ip = loop {
        let identity = b.client.poll_guest_identity(&vm).await.ok().flatten();
        let ip = identity
            .and_then(|id| id.ip_address)
            .filter(|ip| ip.parse::<Ipv4Addr>().is_ok());
        if ip.is_some() || Instant::now() >= deadline {
            break ip;
        }
        tokio::time::sleep(b.client.poll_pause(started.elapsed())).await;
    };
    let Some(ip) = ip else {
        return b
            .checks
            .expect(
                "IPv4 address reported",
                "an address",
                "none reported",
                false,
            )
            .map(|_| String::new());
    };
    let addr: Ipv4Addr = ip
        .parse()
        .map_err(|_| StageError::Precondition(format!("{ip} is not IPv4")))?;
    b.checks.expect(
        "address is not link-local (APIPA)",
        "outside 169.254.0.0/16",
        ip.clone(),
        !addr.is_link_local(),
    )?;
    b.checks.expect(
        "address is not loopback",
        "outside 127.0.0.0/8",
        ip.clone(),
        !addr.is_loopback(),
    )?;
    if let Some(net) = subnet {
        b.checks.expect(
            "address inside the expected subnet",
            net.to_string(),
            ip.clone(),
            net.contains(&addr),
        )?;
    }
    // Stability is proved over the rest of the build (see `address`):
    // waiting here for polls seconds apart would re-read one Tools report.
    b.facts.ip_address = Some(ip.clone());
    super::address::start(b, &ip, needed);
    let mut summary = if needed > 1 {
        format!("{ip} (poll 1 of {needed}; the rest spread over later stages)")
    } else {
        ip.clone()
    };
    if !o.resolve.is_empty() {
        let resolved = super::guest_steps::resolve_names(b, &vm, &o.resolve).await?;
        summary.push_str(&format!("; {resolved}"));
    }
    Ok(summary)
}
