//! network: the VM reports a usable IPv4 address to vCenter — present, not
//! link-local (APIPA: DHCP did not answer) or loopback, inside the expected
//! subnet when the pipeline gives one, and the same over several polls (an
//! address that changes is not yet usable). WMCO supports one NIC only.

use super::Build;
use crate::pipeline::config::NetworkOptions;
use crate::pipeline::error::StageError;
use std::net::Ipv4Addr;
use tokio::time::Instant;

const DEFAULT_STABLE_POLLS: u32 = 3;

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
    let interval = b.client.poll_interval();
    let mut last: Option<String> = None;
    let mut same = 0;
    let mut seen: Vec<String> = Vec::new();
    loop {
        // Until an address shows, a 503 only means "not yet": asked again
        // on the poll schedule, not after the transport's retry delays.
        let identity = match &last {
            None => b.client.poll_guest_identity(&vm).await.ok().flatten(),
            Some(_) => b.client.guest_identity(&vm).await.ok(),
        };
        let ip = identity
            .and_then(|id| id.ip_address)
            .filter(|ip| ip.parse::<Ipv4Addr>().is_ok());
        match (&ip, &last) {
            (Some(now), Some(before)) if now == before => same += 1,
            (Some(_), _) => same = 1,
            (None, _) => same = 0,
        }
        if let Some(ip) = &ip {
            if seen.last() != Some(ip) {
                seen.push(ip.clone());
            }
        }
        last = ip;
        if same >= needed || Instant::now() >= deadline {
            break;
        }
        // Until an address shows, back off like every wait; once one has,
        // the stability polls keep the configured interval apart.
        let pause = match &last {
            Some(_) => interval,
            None => b.client.poll_pause(started.elapsed()),
        };
        tokio::time::sleep(pause).await;
    }
    let Some(ip) = last else {
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
    b.checks.expect(
        "address stable",
        format!("the same address over {needed} polls"),
        if same >= needed {
            format!("{ip} over {same} polls")
        } else {
            format!("changing: {}", seen.join(" → "))
        },
        same >= needed,
    )?;
    b.facts.ip_address = Some(ip.clone());
    let mut summary = format!("{ip} (stable over {same} polls)");
    if !o.resolve.is_empty() {
        let resolved = super::guest_steps::resolve_names(b, &vm, &o.resolve).await?;
        summary.push_str(&format!("; {resolved}"));
    }
    Ok(summary)
}
