//! The simulator answers the way a real vCenter 7.0 does where issue 7
//! found it did not: Tools `version`, VM info fields, hardware
//! sub-resources, objects by id, hosts, guest local filesystems and routes,
//! names per folder and a request log that names every path.

use crate::support::{error_type, Harness};
use gild::simulator::{FaultSpec, Inventory, SimulatorConfig};
use gild::vsphere::wire::ToolsVersion;
use serde_json::{json, Value};

const GIB: i64 = 1024 * 1024 * 1024;

#[tokio::test]
async fn tools_version_is_the_version_number_as_a_decimal_string() {
    let h = Harness::default().await;
    let vm = h.powered_clone("tools-version").await;
    let tools = h.vm_get(&vm, "tools").await;
    let number = tools["version_number"].as_i64().expect("version_number");
    assert_eq!(tools["version"], json!(number.to_string()), "{tools}");
    // The base VM has 12.1.5; the client derives the dotted form.
    assert_eq!(ToolsVersion::from_number(number).to_string(), "12.1.5");
}

#[tokio::test]
async fn vm_info_carries_instant_clone_frozen_and_nvme_adapters() {
    let h = Harness::default().await;
    let vm = h.clone_base("info-fields").await;
    let info = h.get(&format!("/api/vcenter/vm/{vm}")).await.1;
    assert_eq!(info["instant_clone_frozen"], json!(false), "{info}");
    assert_eq!(info["nvme_adapters"], json!({}), "{info}");
    assert!(info["identity"]["instance_uuid"]
        .as_str()
        .unwrap()
        .starts_with("50"));
    assert!(info["identity"]["bios_uuid"]
        .as_str()
        .unwrap()
        .starts_with("42"));
}

#[tokio::test]
async fn hardware_sub_resources_agree_with_the_vm_info() {
    let h = Harness::default().await;
    let vm = h.powered_clone("hw-parts").await;
    let info = h.get(&format!("/api/vcenter/vm/{vm}")).await.1;
    assert_eq!(h.vm_get(&vm, "hardware/cpu").await, info["cpu"]);
    assert_eq!(h.vm_get(&vm, "hardware/memory").await, info["memory"]);
    assert_eq!(h.vm_get(&vm, "hardware/boot").await, info["boot"]);
    assert_eq!(h.vm_get(&vm, "hardware").await, info["hardware"]);
    for (list, key, map) in [("disk", "disk", "disks"), ("ethernet", "nic", "nics")] {
        let listed = h.vm_get(&vm, &format!("hardware/{list}")).await;
        let keys: Vec<&str> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d[key].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = info[map]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, expected, "{list}");
        for k in keys {
            let one = h.vm_get(&vm, &format!("hardware/{list}/{k}")).await;
            assert_eq!(one, info[map][k], "{list}/{k}");
        }
    }
    // The NIC is connected while the VM runs, on the base VM's port group.
    let nic = h.vm_get(&vm, "hardware/ethernet/4000").await;
    assert_eq!(nic["state"], "CONNECTED");
    assert_eq!(nic["backing"]["type"], "STANDARD_PORTGROUP");
    assert_eq!(nic["backing"]["network_name"], "VM Network");
    let (status, body) = h
        .get(&format!("/api/vcenter/vm/{vm}/hardware/disk/2001"))
        .await;
    assert_eq!((status.as_u16(), error_type(&body)), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn inventory_objects_by_id_match_their_list_entries() {
    let h = Harness::default().await;
    let dcs = h.get("/api/vcenter/datacenter?names=dc1").await.1;
    let dc = dcs[0]["datacenter"].as_str().unwrap().to_string();
    let info = h.get(&format!("/api/vcenter/datacenter/{dc}")).await.1;
    assert_eq!(info["name"], "dc1");
    let vm_folders = h
        .get(&format!(
            "/api/vcenter/folder?type=VIRTUAL_MACHINE&names=vm&datacenters={dc}"
        ))
        .await
        .1;
    assert_eq!(info["vm_folder"], vm_folders[0]["folder"], "{info}");

    let ds = h.get("/api/vcenter/datastore?names=datastore1").await.1[0].clone();
    let id = ds["datastore"].as_str().unwrap();
    let info = h.get(&format!("/api/vcenter/datastore/{id}")).await.1;
    assert_eq!(
        (
            &info["name"],
            &info["type"],
            &info["free_space"],
            &info["accessible"]
        ),
        (&ds["name"], &ds["type"], &ds["free_space"], &json!(true))
    );

    let cluster = h.get("/api/vcenter/cluster?names=cluster1").await.1[0].clone();
    let id = cluster["cluster"].as_str().unwrap();
    let info = h.get(&format!("/api/vcenter/cluster/{id}")).await.1;
    let root = h
        .get(&format!(
            "/api/vcenter/resource-pool?names=Resources&clusters={id}"
        ))
        .await
        .1;
    assert_eq!(info["resource_pool"], root[0]["resource_pool"], "{info}");
    let root_id = root[0]["resource_pool"].as_str().unwrap();
    let pool = h
        .get(&format!("/api/vcenter/resource-pool/{root_id}"))
        .await
        .1;
    let gild = h.get("/api/vcenter/resource-pool?names=gild").await.1;
    assert_eq!(
        pool["resource_pools"],
        json!([gild[0]["resource_pool"]]),
        "{pool}"
    );

    // An id of another kind is not found.
    let (status, body) = h.get(&format!("/api/vcenter/cluster/{dc}")).await;
    assert_eq!((status.as_u16(), error_type(&body)), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn hosts_are_listed_per_cluster_and_filters_narrow_them() {
    let h = Harness::default().await;
    let all = h.get("/api/vcenter/host").await.1;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    assert!(all[0]["host"].as_str().unwrap().starts_with("host-"));
    assert_eq!(all[0]["connection_state"], "CONNECTED");
    let cluster = h.get("/api/vcenter/cluster?names=cluster1").await.1[0]["cluster"].clone();
    let one = h
        .get(&format!(
            "/api/vcenter/host?clusters={}",
            cluster.as_str().unwrap()
        ))
        .await
        .1;
    assert_eq!(one[0]["name"], "esxi-01.cluster1.sim", "{one}");
    for filter in [
        "standalone=true",
        "connection_states=DISCONNECTED",
        "names=nope",
    ] {
        let none = h.get(&format!("/api/vcenter/host?{filter}")).await.1;
        assert_eq!(none, json!([]), "{filter}");
    }
    let (status, body) = h.get("/api/vcenter/host?connection_states=BROKEN").await;
    assert_eq!(
        (status.as_u16(), error_type(&body)),
        (400, "INVALID_ARGUMENT")
    );
    // A VM in the cluster runs on its host.
    let host = one[0]["host"].as_str().unwrap();
    let vms = h.get(&format!("/api/vcenter/vm?hosts={host}")).await.1;
    assert!(
        vms.as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "win2022-base"),
        "{vms}"
    );
}

#[tokio::test]
async fn local_filesystem_reports_c_drive_once_tools_run() {
    let h = Harness::default().await;
    let vm = h.clone_base("volumes").await;
    let (status, body) = h
        .get(&format!("/api/vcenter/vm/{vm}/guest/local-filesystem"))
        .await;
    assert_eq!(
        (status.as_u16(), error_type(&body)),
        (503, "SERVICE_UNAVAILABLE")
    );
    h.power_on(&vm).await;
    let volumes = h.vm_get(&vm, "guest/local-filesystem").await;
    let c = &volumes["C:\\"];
    // 40 GiB disk minus the EFI, MSR and recovery partitions; 16 GiB used.
    let capacity = 40 * GIB - 616 * 1024 * 1024;
    assert_eq!(c["capacity"], json!(capacity), "{volumes}");
    assert_eq!(c["free_space"], json!(capacity - 16 * GIB));
    assert_eq!(c["filesystem"], "NTFS");
    assert_eq!(c["mappings"], json!([{"disk": "2000"}]));
}

/// A guest whose disk is nearly full, as a pipeline's free-space check
/// must catch before Windows Update.
#[tokio::test]
async fn a_seeded_full_disk_reports_little_free_space() {
    let text = "datacenters:\n  - name: dc\n    datastores: [{name: ds, capacity_gib: 100, free_gib: 90}]\n    vms:\n      - {name: full, datastore: ds, disk_gib: 40, guest_used_gib: 39, power_state: POWERED_ON}\n";
    let inventory = Inventory::parse(text, "test").unwrap();
    let h = Harness::start(SimulatorConfig {
        inventory,
        ..Default::default()
    })
    .await;
    let vm = h.vm_id("full");
    let c = &h.vm_get(&vm, "guest/local-filesystem").await["C:\\"];
    let free = c["free_space"].as_i64().unwrap();
    assert!(free < GIB, "{c}");
    assert_eq!(free, 40 * GIB - 616 * 1024 * 1024 - 39 * GIB);
}

fn routes_by_network(table: &Value) -> Vec<(String, i64, Option<String>)> {
    table
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["network"].as_str().unwrap().to_string(),
                r["prefix_length"].as_i64().unwrap(),
                r["gateway_address"].as_str().map(str::to_string),
            )
        })
        .collect()
}

#[tokio::test]
async fn guest_routes_follow_the_lease_and_apipa_has_no_default_route() {
    let h = Harness::default().await;
    let vm = h.powered_clone("routes").await;
    let ip = h.vm_get(&vm, "guest/identity").await["ip_address"]
        .as_str()
        .unwrap()
        .to_string();
    let table = routes_by_network(&h.vm_get(&vm, "guest/networking/routes").await);
    assert!(
        table.contains(&("0.0.0.0".into(), 0, Some("10.20.30.1".into()))),
        "{table:?}"
    );
    assert!(
        table.contains(&("10.20.30.0".into(), 24, None)),
        "{table:?}"
    );
    assert!(table.contains(&(ip, 32, None)), "{table:?}");

    h.sim.admin().set_faults(FaultSpec::parse("apipa").unwrap());
    let vm = h.powered_clone("routes-apipa").await;
    let table = routes_by_network(&h.vm_get(&vm, "guest/networking/routes").await);
    assert!(!table.iter().any(|r| r.1 == 0), "{table:?}");
    assert!(
        table.contains(&("169.254.0.0".into(), 16, None)),
        "{table:?}"
    );
}

#[tokio::test]
async fn request_log_names_the_path_of_every_request_matched_or_not() {
    let h = Harness::default().await;
    let vm = h.vm_id("win2022-base");
    h.get("/api/vcenter/no-such-thing").await;
    h.get(&format!("/api/vcenter/vm/{vm}/power")).await;
    h.post("/rest/com/vmware/cis/session?~action=bogus", json!({}))
        .await;
    let log = h.sim.admin().request_log();
    let find = |path: &str| log.iter().find(|e| e.path == path).cloned();
    let unmatched = find("/api/vcenter/no-such-thing").expect("unmatched request logged");
    assert_eq!(
        (unmatched.method.as_str(), unmatched.route.as_str()),
        ("GET", "<unmatched>")
    );
    assert_eq!(unmatched.status, 404);
    let matched = find(&format!("/api/vcenter/vm/{vm}/power")).expect("matched request logged");
    assert_eq!(matched.route, "/api/vcenter/vm/{vm}/power");
    let rest = find("/rest/com/vmware/cis/session?~action=bogus").expect("rest action logged");
    assert_eq!(rest.route, "/rest/com/vmware/cis/session?~action=bogus");
    // The HTTP view says the same.
    let report = h.admin_get("/_sim/requests").await;
    assert!(
        report["requests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "/api/vcenter/no-such-thing" && e["method"] == "GET"),
        "{report}"
    );
}

#[tokio::test]
async fn clone_placement_puts_the_vm_in_the_pool_and_its_cluster() {
    let h = Harness::default().await;
    let pool = h.get("/api/vcenter/resource-pool?names=gild").await.1[0]["resource_pool"].clone();
    let builds = h.get("/api/vcenter/folder?names=builds").await.1[0]["folder"].clone();
    let source = h.vm_id("win2022-base");
    let (status, id) = h
        .post(
            "/api/vcenter/vm?action=clone",
            json!({"source": source, "name": "placed", "placement": {"folder": builds, "resource_pool": pool}}),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{id}");
    let pool = pool.as_str().unwrap();
    let in_pool = h
        .get(&format!("/api/vcenter/vm?resource_pools={pool}"))
        .await
        .1;
    assert_eq!(in_pool[0]["vm"], id, "{in_pool}");
    let builds = builds.as_str().unwrap();
    let in_folder = h.get(&format!("/api/vcenter/vm?folders={builds}")).await.1;
    assert_eq!(in_folder[0]["vm"], id, "{in_folder}");
    assert_eq!(
        h.sim.admin().vm_by_name("placed").unwrap().folder,
        "/dc1/vm/builds"
    );
}

#[tokio::test]
async fn suspend_then_start_resumes_with_tools_still_running() {
    let h = Harness::default().await;
    let vm = h.powered_clone("nap").await;
    let (status, body) = h.act(&vm, "power?action=suspend").await;
    assert_eq!(status.as_u16(), 204, "{body}");
    assert_eq!(h.vm_get(&vm, "guest/power").await["state"], "STANDBY");
    assert_eq!(h.vm_get(&vm, "tools").await["run_state"], "NOT_RUNNING");
    let (status, body) = h.act(&vm, "power?action=reset").await;
    assert_eq!(
        (status.as_u16(), error_type(&body)),
        (400, "NOT_ALLOWED_IN_CURRENT_STATE")
    );
    h.power_on(&vm).await;
    assert_eq!(h.vm_get(&vm, "tools").await["run_state"], "RUNNING");
    assert_eq!(h.vm_get(&vm, "power").await["state"], "POWERED_ON");
}
