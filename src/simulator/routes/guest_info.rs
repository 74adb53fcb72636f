//! What VMware Tools reports about the guest: identity, networking,
//! interfaces and operations readiness. All answer 503 SERVICE_UNAVAILABLE
//! while tools are not running (or have not reported yet), like vCenter.

use super::vm_ref;
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::machine::{Machine, NIC_KEY};
use crate::simulator::state::{Shared, World};
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use tokio::time::Instant;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/vcenter/vm/{vm}/guest/identity", get(identity))
        .route("/api/vcenter/vm/{vm}/guest/networking", get(networking))
        .route(
            "/api/vcenter/vm/{vm}/guest/networking/interfaces",
            get(interfaces),
        )
        .route("/api/vcenter/vm/{vm}/guest/operations", get(operations))
}

/// The VM, if its tools are running now.
fn with_tools<'w>(world: &'w World, vm: &str) -> ApiResult<&'w Machine> {
    let m = vm_ref(world, vm)?;
    if !m.tools_running(Instant::now()) {
        return Err(ApiError::tools_not_running(vm));
    }
    Ok(m)
}

/// The guest's address, or 503 until tools have reported one.
fn reported_ip(world: &World, vm: &str) -> ApiResult<String> {
    let m = with_tools(world, vm)?;
    m.guest_ip(Instant::now(), world.subnet).ok_or_else(|| {
        ApiError::new(
            crate::vsphere::wire::ErrorType::ServiceUnavailable,
            format!("The guest of {vm} has not reported its identity yet"),
        )
    })
}

async fn identity(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<GuestIdentity>> {
    let world = s.world();
    let ip = reported_ip(&world, &vm)?;
    let m = vm_ref(&world, &vm)?;
    let os = m.guest().os();
    Ok(Json(GuestIdentity {
        name: os.vapi_guest_os().to_string(),
        family: GuestOsFamily::Windows,
        full_name: LocalizableMessage {
            id: format!("vmsg.guestos.{}.label", os.guest_id()),
            default_message: os.full_name().to_string(),
            args: vec![],
        },
        host_name: m.guest().hostname().to_string(),
        ip_address: Some(ip),
    }))
}

async fn networking(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let world = s.world();
    let m = with_tools(&world, &vm)?;
    let gateway = format!(
        "{}.{}.{}.1",
        world.subnet[0], world.subnet[1], world.subnet[2]
    );
    Ok(Json(serde_json::json!({
        "dns_values": {"host_name": m.guest().hostname(), "domain_name": ""},
        "dns": {"ip_addresses": [gateway], "search_domains": []},
    })))
}

async fn interfaces(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<Vec<GuestInterfaceInfo>>> {
    let world = s.world();
    let m = with_tools(&world, &vm)?;
    let now = Instant::now();
    let apipa = m.apipa();
    let addresses = m
        .guest_ip(now, world.subnet)
        .map(|ip| IpAddressInfo {
            ip_address: ip,
            prefix_length: if apipa { 16 } else { 24 },
            origin: Some(if apipa {
                IpAddressOrigin::Linklayer
            } else {
                IpAddressOrigin::Dhcp
            }),
            state: IpAddressState::Preferred,
        })
        .into_iter()
        .collect();
    Ok(Json(vec![GuestInterfaceInfo {
        mac_address: Some(m.mac_address()),
        nic: m.placement().network.as_ref().map(|_| NIC_KEY.to_string()),
        ip: Some(IpConfigInfo {
            ip_addresses: addresses,
            dhcp: Some(DhcpConfigInfo {
                ipv4_enabled: true,
                ipv6_enabled: false,
            }),
        }),
    }]))
}

async fn operations(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<GuestOperationsInfo>> {
    let world = s.world();
    with_tools(&world, &vm)?;
    Ok(Json(GuestOperationsInfo {
        guest_operations_ready: true,
        interactive_guest_operations_ready: false,
    }))
}
