//! firewall (rules read back by DisplayName) and the names the guest must
//! resolve.

use super::{collect_facts, run, Build};
use crate::pipeline::config::FirewallOptions;
use crate::pipeline::error::StageError;
use crate::pipeline::guest::Arg;
use crate::vsphere::wire::VmId;

pub async fn firewall(b: &mut Build<'_>, o: &FirewallOptions) -> Result<String, StageError> {
    let vm = b.require_vm()?;
    let vxlan = o.vxlan.unwrap_or(b.job.pipeline.target.needs_vxlan_port());
    let args: Vec<Arg> = if vxlan {
        vec![Arg::Switch("IncludeVxlan")]
    } else {
        vec![]
    };
    run(b, &vm, "open-firewall.ps1", &args).await?;
    let facts = collect_facts(b, &vm).await?;
    let mut wanted = vec![("ContainerLogsPort", "TCP", "10250")];
    if vxlan {
        wanted.push(("OverlayTraffic4789UDP", "UDP", "4789"));
    }
    for (name, proto, port) in &wanted {
        let rule = facts.rule(name);
        b.checks.expect(
            format!("firewall rule {name}"),
            format!("inbound {proto} {port} enabled"),
            rule.map_or("no rule".into(), |r| r.describe()),
            rule.is_some_and(|r| {
                r.protocol.eq_ignore_ascii_case(proto)
                    && r.port() == *port
                    && r.enabled()
                    && r.direction.eq_ignore_ascii_case("inbound")
            }),
        )?;
    }
    Ok(wanted
        .iter()
        .map(|(n, p, port)| format!("{n} {p} {port}"))
        .collect::<Vec<_>>()
        .join(", ")
        + " open")
}

/// Names (api-int.<cluster>.<domain>) resolved from inside the guest.
pub(crate) async fn resolve_names(
    b: &mut Build<'_>,
    vm: &VmId,
    names: &[String],
) -> Result<String, StageError> {
    let result = run(
        b,
        vm,
        "resolve-names.ps1",
        &[Arg::Value("Names", names.join(","))],
    )
    .await?;
    let mut summary = Vec::new();
    for name in names {
        let entry = result
            .details
            .get("names")
            .and_then(|n| n.as_array())
            .and_then(|a| {
                a.iter()
                    .find(|e| e.get("name").and_then(|v| v.as_str()) == Some(name.as_str()))
            });
        let addresses: Vec<String> = entry
            .and_then(|e| e.get("addresses"))
            .and_then(|a| a.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let error = entry
            .and_then(|e| e.get("error"))
            .and_then(|e| e.as_str())
            .unwrap_or("not resolved");
        b.checks.expect(
            format!("{name} resolves from the guest"),
            "at least one address",
            if addresses.is_empty() {
                error.to_string()
            } else {
                addresses.join(", ")
            },
            !addresses.is_empty(),
        )?;
        summary.push(format!("{name} → {}", addresses.join(", ")));
    }
    Ok(summary.join("; "))
}
