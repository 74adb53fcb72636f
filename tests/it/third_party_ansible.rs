//! A real third-party vSphere client nobody on gild wrote: Ansible's
//! `vmware.vmware_rest` collection (4.9.0, bundled with PyPI's `ansible`
//! 12.x; it needs `aiohttp`), unmodified, runs `tests/ansible/playbook.yml`
//! against `gild simulator serve` started as a subprocess: inventory lists
//! and objects by id, VM info, clone with placement and again by the same
//! name, power on, Tools wait, guest identity / interfaces / networking /
//! local filesystems, hardware with cpu / memory / disks, power off, delete.
//! Every value a task returned is then compared with the simulator's own
//! state (`/_sim/inventory`, `/_sim/vms` snapshots the play takes after each
//! change), so a task that "succeeds" with wrong data fails here.
//!
//! When `ansible-playbook` is missing: with `GILD_REQUIRE_ANSIBLE=1` (set by
//! `.ci/run`) or `CI` set, the test FAILS; otherwise it says on stderr that
//! it did not run and passes, so `cargo test` works on a machine without
//! Ansible (install: `pip install -r tests/ansible/requirements.txt`).
//! `GILD_ANSIBLE_PLAYBOOK` names the program when it is not on PATH.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const INSTALL_HINT: &str = "install it with `python3 -m pip install -r tests/ansible/requirements.txt`, or point GILD_ANSIBLE_PLAYBOOK at ansible-playbook";

/// The name of the VM the playbook clones (its `build_name`).
const BUILD: &str = "ansible-build";

fn playbook_program() -> PathBuf {
    std::env::var_os("GILD_ANSIBLE_PLAYBOOK")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("ansible-playbook"))
}

fn ansible_required() -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0");
    set("GILD_REQUIRE_ANSIBLE") || set("CI")
}

/// The first line of `--version` (`ansible-playbook [core 2.19.x]`) when the program runs.
async fn ansible_version(program: &Path) -> Result<String, String> {
    let out = tokio::process::Command::new(program)
        .arg("--version")
        .output()
        .await
        .map_err(|e| format!("{} cannot be run: {e}", program.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --version failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ansible_vmware_rest_playbook_runs_and_returns_the_simulators_state() {
    let program = playbook_program();
    match ansible_version(&program).await {
        Ok(version) => eprintln!("running the playbook with {version}"),
        Err(why) if ansible_required() => panic!("{why}; {INSTALL_HINT}"),
        Err(why) => {
            eprintln!("NOT RUN: the Ansible client test ({why}); {INSTALL_HINT}; GILD_REQUIRE_ANSIBLE=1 makes this a failure");
            return;
        }
    }

    let serve = crate::support::serve_process().await;
    let b = serve.banner.clone();
    let ca = b.ca_file.clone().expect("the simulator serves TLS");
    let url = url::Url::parse(&b.url).expect("banner URL");
    let host = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().expect("port")
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let results = dir.path().join("results.json");
    let vars = serde_json::json!({
        "sim_url": b.url, "sim_ca": ca, "results_file": results,
    });
    let vars_file = dir.path().join("vars.json");
    std::fs::write(&vars_file, vars.to_string()).expect("vars file");
    let playbook = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ansible/playbook.yml");

    let mut cmd = tokio::process::Command::new(&program);
    cmd.arg("-i")
        .arg("localhost,")
        .arg(&playbook)
        .arg("-e")
        .arg(format!("@{}", vars_file.display()));
    // The collection reads its connection from these (env_fallback); the
    // password travels in the environment, never on a command line. aiohttp
    // and the uri module trust the simulator's CA through SSL_CERT_FILE.
    cmd.env("VMWARE_HOST", &host)
        .env("VMWARE_USER", &b.user)
        .env("VMWARE_PASSWORD", &b.password)
        .env("VMWARE_VALIDATE_CERTS", "true")
        .env("SSL_CERT_FILE", &ca)
        .env("ANSIBLE_HOME", dir.path().join("ansible-home"))
        .env("ANSIBLE_LOCAL_TEMP", dir.path().join("ansible-tmp"))
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "false")
        .env("ANSIBLE_LOCALHOST_WARNING", "false")
        .env("ANSIBLE_INVENTORY_UNPARSED_WARNING", "false");
    let out = tokio::time::timeout(Duration::from_secs(600), cmd.output())
        .await
        .expect("the playbook finishes within 10 minutes")
        .expect("ansible-playbook runs");
    let unmatched: Vec<String> = serve_unmatched(&b.url, &ca).await;
    serve.stop().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the playbook failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        unmatched.is_empty(),
        "the collection called routes the simulator does not serve: {unmatched:?}"
    );
    let text = std::fs::read_to_string(&results).expect("the playbook wrote its results");
    let r: Value = serde_json::from_str(&text).expect("results are JSON");
    check_inventory(&r);
    check_vm_lifecycle(&r);
}

/// The requests no route matched, from the simulator's log.
async fn serve_unmatched(base: &str, ca: &Path) -> Vec<String> {
    let pem = std::fs::read(ca).expect("CA readable");
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA PEM"))
        .build()
        .expect("client");
    let report: Value = http
        .get(format!("{base}_sim/requests"))
        .send()
        .await
        .expect("/_sim/requests answers")
        .json()
        .await
        .expect("JSON");
    report["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|e| e["route"] == "<unmatched>")
        .map(|e| format!("{} {}", e["method"], e["path"]))
        .collect()
}

/// `task.value` after the collection ran without failing.
fn value<'r>(r: &'r Value, task: &str) -> &'r Value {
    let t = &r[task];
    assert_eq!(t["failed"], Value::Bool(false), "{task} failed: {t}");
    &t["value"]
}

/// The `fields` of every item of a list, as a set, for order-free comparison.
fn set_of(items: &Value, fields: &[&str]) -> BTreeSet<String> {
    items
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {items}"))
        .iter()
        .map(|i| Value::Array(fields.iter().map(|f| i[*f].clone()).collect()).to_string())
        .collect()
}

fn named<'v>(items: &'v Value, name: &str) -> &'v Value {
    items
        .as_array()
        .and_then(|a| a.iter().find(|i| i["name"] == name))
        .unwrap_or_else(|| panic!("no {name:?} in {items}"))
}

fn check_inventory(r: &Value) {
    let inv = &r["sim_inventory"];

    let dcs = value(r, "datacenters");
    assert_eq!(
        set_of(dcs, &["datacenter", "name"]),
        set_of(&inv["datacenters"], &["datacenter", "name"])
    );
    let dc1 = named(&inv["datacenters"], "dc1");
    assert_eq!(r["datacenter"]["id"], dc1["datacenter"]);
    let dc = value(r, "datacenter");
    for key in [
        "name",
        "vm_folder",
        "host_folder",
        "datastore_folder",
        "network_folder",
    ] {
        assert_eq!(dc[key], dc1[key], "datacenter {key}");
    }

    let vm_folders: Vec<Value> = inv["folders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["type"] == "VIRTUAL_MACHINE" && f["datacenter"] == dc1["datacenter"])
        .cloned()
        .collect();
    assert_eq!(
        set_of(value(r, "folders"), &["folder", "name", "type"]),
        set_of(&Value::Array(vm_folders), &["folder", "name", "type"])
    );
    let folder = value(r, "folder");
    let builds = inv["folders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/dc1/vm/builds")
        .expect("builds folder");
    assert_eq!(folder.as_array().map(Vec::len), Some(1), "{folder}");
    assert_eq!(folder[0]["folder"], builds["folder"]);

    let fields = ["datastore", "name", "type", "capacity", "free_space"];
    assert_eq!(
        set_of(value(r, "datastores"), &fields),
        set_of(&inv["datastores"], &fields)
    );
    let ds1 = named(&inv["datastores"], "datastore1");
    assert_eq!(r["datastore"]["id"], ds1["datastore"]);
    let ds = value(r, "datastore");
    for key in ["name", "type", "free_space"] {
        assert_eq!(ds[key], ds1[key], "datastore {key}");
    }
    assert_eq!(ds["accessible"], Value::Bool(true));

    assert_eq!(
        set_of(value(r, "resource_pools"), &["resource_pool", "name"]),
        set_of(&inv["resource_pools"], &["resource_pool", "name"])
    );
    let gild = named(&inv["resource_pools"], "gild");
    assert_eq!(r["resource_pool"]["id"], gild["resource_pool"]);
    let pool = value(r, "resource_pool");
    assert_eq!(pool["name"], "gild");
    let children: Vec<&Value> = inv["resource_pools"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["parent"] == gild["resource_pool"])
        .map(|p| &p["resource_pool"])
        .collect();
    assert_eq!(
        pool["resource_pools"]
            .as_array()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        children
    );

    let fields = ["network", "name", "type"];
    assert_eq!(
        set_of(value(r, "networks"), &fields),
        set_of(&inv["networks"], &fields)
    );
    let net = value(r, "network");
    assert_eq!(
        set_of(net, &fields),
        set_of(
            &Value::Array(vec![named(&inv["networks"], "VM Network").clone()]),
            &fields
        )
    );

    let fields = ["cluster", "name", "ha_enabled", "drs_enabled"];
    assert_eq!(
        set_of(value(r, "clusters"), &fields),
        set_of(&inv["clusters"], &fields)
    );
    let c1 = named(&inv["clusters"], "cluster1");
    assert_eq!(r["cluster"]["id"], c1["cluster"]);
    let cluster = value(r, "cluster");
    assert_eq!(cluster["name"], "cluster1");
    assert_eq!(cluster["resource_pool"], c1["resource_pool"]);
}

fn check_vm_lifecycle(r: &Value) {
    let inv = &r["sim_inventory"];
    let before = named(&r["sim_vms_before"], "win2022-base");
    let listed = value(r, "source_list");
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["vm"], before["id"]);
    assert_eq!(listed[0]["power_state"], before["power"]);
    assert_eq!(listed[0]["cpu_count"], before["cpu_count"]);
    assert_eq!(listed[0]["memory_size_MiB"], before["memory_mib"]);
    let source = value(r, "source");
    assert_eq!(r["source"]["id"], before["id"]);
    assert_eq!(source["name"], "win2022-base");
    assert_eq!(source["hardware"]["version"], before["hardware_version"]);
    assert_eq!(source["cpu"]["count"], before["cpu_count"]);
    assert_eq!(source["memory"]["size_MiB"], before["memory_mib"]);

    // Clone with placement, then again by the same name: one VM.
    let cloned = named(&r["sim_vms_cloned"], BUILD);
    let builds: Vec<&Value> = r["sim_vms_cloned"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["name"] == BUILD)
        .collect();
    assert_eq!(builds.len(), 1, "the second clone made another VM");
    assert_eq!(r["clone"]["changed"], Value::Bool(true));
    assert_eq!(r["clone"]["id"], cloned["id"]);
    assert_eq!(value(r, "clone")["name"], BUILD);
    assert_eq!(cloned["folder"], "/dc1/vm/builds");
    assert_eq!(cloned["datastore"], "datastore1");
    assert_eq!(
        cloned["resource_pool"],
        named(&inv["resource_pools"], "gild")["resource_pool"]
    );
    assert_eq!(r["clone_again"]["changed"], Value::Bool(false));
    assert_eq!(r["clone_again"]["id"], cloned["id"]);
    let clone_info = value(r, "clone");

    // Power on and Tools.
    value(r, "power_on");
    let running = named(&r["sim_vms_running"], BUILD);
    assert_eq!(running["power"], "POWERED_ON");
    let tools = value(r, "tools");
    assert_eq!(tools["run_state"], "RUNNING");
    assert_eq!(running["tools_running"], Value::Bool(true));
    assert_eq!(tools["version_number"], running["tools_version_number"]);
    assert_eq!(
        tools["version"],
        Value::String(running["tools_version_number"].to_string())
    );

    // What the guest reports.
    let identity = value(r, "guest_identity");
    assert_eq!(identity["family"], "WINDOWS");
    assert_eq!(identity["host_name"], running["hostname"]);
    assert_eq!(identity["ip_address"], running["ip_address"]);
    let nics = value(r, "guest_interfaces");
    assert_eq!(nics[0]["mac_address"], running["mac_address"]);
    assert_eq!(
        nics[0]["ip"]["ip_addresses"][0]["ip_address"],
        running["ip_address"]
    );
    assert!(clone_info["nics"]
        .get(nics[0]["nic"].as_str().unwrap())
        .is_some());
    assert_eq!(
        value(r, "guest_networking")["dns_values"]["host_name"],
        running["hostname"]
    );
    let volumes = value(r, "guest_filesystems");
    let c = &volumes["C:\\"];
    let disk = running["disk_bytes"].as_i64().unwrap();
    let capacity = c["capacity"].as_i64().expect("C: capacity");
    let free = c["free_space"].as_i64().expect("C: free space");
    assert!(
        capacity < disk && capacity > disk / 10 * 9,
        "{c} on a {disk}-byte disk"
    );
    assert!(free > 0 && free < capacity, "{c}");

    // Hardware.
    assert_eq!(value(r, "hardware")["version"], running["hardware_version"]);
    assert_eq!(value(r, "cpu")["count"], running["cpu_count"]);
    assert_eq!(value(r, "memory")["size_MiB"], running["memory_mib"]);
    let disks = value(r, "disks");
    let keys: BTreeSet<&str> = disks
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["disk"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<&str> = clone_info["disks"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, expected);
    assert!(
        keys.contains(c["mappings"][0]["disk"].as_str().unwrap()),
        "{c}"
    );
    let first = expected.iter().next().unwrap();
    assert_eq!(
        clone_info["disks"][*first]["capacity"],
        running["disk_bytes"]
    );

    // Power off and delete.
    value(r, "power_off");
    assert_eq!(named(&r["sim_vms_off"], BUILD)["power"], "POWERED_OFF");
    value(r, "delete");
    assert_eq!(r["delete"]["changed"], Value::Bool(true));
    assert!(
        !r["sim_vms_deleted"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["id"] == cloned["id"]),
        "the build VM is still there"
    );
}
