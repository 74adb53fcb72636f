//! What VMware Tools reports about the guest: identity, networking,
//! interfaces, routes, local filesystems and operations readiness. All
//! answer 503 SERVICE_UNAVAILABLE while tools are not running (or have not
//! reported yet), like vCenter. A read of the identity or the interfaces is
//! a new guest report ([`Machine::next_guest_report`]: fault `address-flap`
//! changes the address there); the routing table shows the address of the
//! last report, so every route agrees on it.

use super::{vm_mut, vm_ref};
use crate::simulator::error::{ApiError, ApiResult};
use crate::simulator::machine::{Machine, NIC_KEY};
use crate::simulator::state::{Shared, World};
use crate::vsphere::wire::*;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use std::collections::BTreeMap;
use tokio::time::Instant;

pub fn router() -> Router<Shared> {
    Router::new()
        .route("/api/vcenter/vm/{vm}/guest/identity", get(identity))
        .route("/api/vcenter/vm/{vm}/guest/networking", get(networking))
        .route(
            "/api/vcenter/vm/{vm}/guest/networking/interfaces",
            get(interfaces),
        )
        .route("/api/vcenter/vm/{vm}/guest/networking/routes", get(routes))
        .route(
            "/api/vcenter/vm/{vm}/guest/local-filesystem",
            get(local_filesystem),
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

/// The guest's address, or 503 until tools have reported their identity.
/// Once they have, an address on an excluded NIC (tools.conf
/// `exclude-nics`) is simply absent: `ip_address` is optional in
/// VcenterVmGuestIdentityInfo (vcenter.json 7.0.3: "If unset the guest
/// does not have an IP address").
fn reported_ip(world: &World, vm: &str) -> ApiResult<Option<String>> {
    let m = with_tools(world, vm)?;
    let now = Instant::now();
    if !m.guest_reported(now) {
        return Err(ApiError::new(
            crate::vsphere::wire::ErrorType::ServiceUnavailable,
            format!("The guest of {vm} has not reported its identity yet"),
        ));
    }
    Ok(m.guest_ip(now, world.subnet))
}

/// Takes a new guest report, once tools are running.
fn next_report(s: &Shared, world: &mut World, vm: &str) -> ApiResult<()> {
    with_tools(world, vm)?;
    vm_mut(world, vm)?.next_guest_report(Instant::now(), &s.faults);
    Ok(())
}

async fn identity(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<GuestIdentity>> {
    let mut world = s.world();
    next_report(&s, &mut world, &vm)?;
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
        ip_address: ip,
    }))
}

fn gateway(subnet: [u8; 3]) -> String {
    format!("{}.{}.{}.1", subnet[0], subnet[1], subnet[2])
}

async fn networking(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<GuestNetworkingInfo>> {
    let world = s.world();
    let m = with_tools(&world, &vm)?;
    Ok(Json(GuestNetworkingInfo {
        dns_values: Some(DnsAssignedValues {
            host_name: m.guest().hostname().to_string(),
            domain_name: String::new(),
        }),
        dns: Some(DnsConfigInfo {
            ip_addresses: vec![gateway(world.subnet)],
            search_domains: vec![],
        }),
    }))
}

/// The guest's IPv4 routing table as Windows builds it for one NIC with a
/// DHCP lease: default route via the gateway, the on-link subnet, the host
/// and broadcast routes, loopback and multicast. With an APIPA address
/// there is no gateway and the on-link subnet is 169.254.0.0/16.
async fn routes(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<Vec<GuestRouteInfo>>> {
    let world = s.world();
    let m = with_tools(&world, &vm)?;
    let route =
        |network: &str, prefix_length: i64, gateway: Option<String>, nic: bool| GuestRouteInfo {
            network: network.to_string(),
            prefix_length,
            gateway_address: gateway,
            interface_index: nic.then_some(0),
        };
    let mut table = vec![
        route("127.0.0.0", 8, None, false),
        route("127.0.0.1", 32, None, false),
        route("224.0.0.0", 4, None, true),
        route("255.255.255.255", 32, None, true),
    ];
    if let Some(ip) = m.guest_ip(Instant::now(), world.subnet) {
        let mut on_link = if m.apipa() {
            vec![
                route("169.254.0.0", 16, None, true),
                route("169.254.255.255", 32, None, true),
            ]
        } else {
            let [a, b, c] = world.subnet;
            vec![
                route("0.0.0.0", 0, Some(gateway(world.subnet)), true),
                route(&format!("{a}.{b}.{c}.0"), 24, None, true),
                route(&format!("{a}.{b}.{c}.255"), 32, None, true),
            ]
        };
        on_link.push(route(&ip, 32, None, true));
        table.splice(0..0, on_link);
    }
    Ok(Json(table))
}

async fn local_filesystem(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<BTreeMap<String, LocalFilesystemInfo>>> {
    let world = s.world();
    Ok(Json(
        vm_ref(&world, &vm)?.local_filesystems(Instant::now())?,
    ))
}

async fn interfaces(
    State(s): State<Shared>,
    Path(vm): Path<String>,
) -> ApiResult<Json<Vec<GuestInterfaceInfo>>> {
    let mut world = s.world();
    next_report(&s, &mut world, &vm)?;
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
