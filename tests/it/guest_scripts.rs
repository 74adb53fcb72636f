//! The Windows facts behind the script review (SPEC "Guest-side facts",
//! issue 6), reproduced by the guest model and exercised through the
//! shipped scripts: each test fails when a script ignores its fact, since
//! the model reads what the shipped text does (scripts/README.md, "What the
//! simulator models").

use crate::guest_model::{guest, read_text, result, run, run_script, run_update, upload};
use gild::simulator::guest::{
    DnsRecord, FileBlob, FirewallRule, GuestOs, GuestTiming, Internet, Protocol, ServiceStatus,
    WindowsGuest, POWERSHELL_PATH, TOOLS_CONF_PATH, TOOLS_CONF_POLL,
};
use sha2::{Digest, Sha256};

// ---------- windows-update ----------

#[test]
fn the_update_agent_refuses_a_guest_operations_process_with_e_accessdenied() {
    // WUA: CreateUpdateDownloader/CreateUpdateInstaller "cannot be called
    // from a remote computer"; vmtoolsd's processes are remote callers.
    let mut g = guest();
    let outcome = run_script(
        &mut g,
        "windows-update-task.ps1",
        r"-ResultPath C:\gild\t.json",
    );
    assert_eq!(outcome.exit_code, 1);
    let error = result(&g, r"C:\gild\t.json")["error"].to_string();
    assert!(error.contains("E_ACCESSDENIED"), "{error}");
    assert!(!g.installed_kbs().iter().any(|kb| kb == "KB5044281"));
}

#[test]
fn windows_update_runs_its_worker_as_system_and_collects_the_task_result() {
    let mut g = guest();
    let outcome = run_update(&mut g, r"-ResultPath C:\gild\u.json");
    assert_eq!(outcome.exit_code, 0);
    let d = &result(&g, r"C:\gild\u.json")["details"];
    assert_eq!(d["task"]["user"], "NT AUTHORITY\\SYSTEM");
    assert_eq!(d["task"]["last_result"], 0);
    assert_eq!(d["result_code"], 2);
    assert!(g.installed_kbs().iter().any(|kb| kb == "KB5044281"));
}

#[test]
fn windows_update_without_its_worker_beside_it_fails_naming_the_worker() {
    let mut g = guest();
    let outcome = run_script(&mut g, "windows-update.ps1", r"-ResultPath C:\gild\u.json");
    assert_eq!(outcome.exit_code, 1);
    let error = result(&g, r"C:\gild\u.json")["error"].to_string();
    assert!(error.contains("windows-update-task.ps1"), "{error}");
}

#[test]
fn only_non_optional_updates_are_installed_not_the_preview_cumulative_update() {
    // Server 2025's October 2024 preview (KB5044384, BrowseOnly=1) is
    // optional; the search criteria must exclude it.
    let mut g = WindowsGuest::new(GuestOs::WindowsServer2025, "WIN-2025");
    run_update(&mut g, r"-ResultPath C:\gild\u.json");
    let d = &result(&g, r"C:\gild\u.json")["details"];
    assert!(d["search_criteria"]
        .as_str()
        .unwrap()
        .contains("BrowseOnly=0"));
    assert!(g.installed_kbs().iter().any(|kb| kb == "KB5044284"));
    assert!(!g.installed_kbs().iter().any(|kb| kb == "KB5044384"));
    g.boot();
    assert_eq!(g.ubr(), 2033, "26100.2033, not the preview's 2161");
}

#[test]
fn result_code_3_is_a_result_with_the_failed_update_listed_not_a_failure() {
    let mut g = guest();
    g.fail_update_install("KB890830");
    let outcome = run_update(&mut g, r"-ResultPath C:\gild\u.json");
    assert_eq!(outcome.exit_code, 0, "succeeded with errors is a result");
    let d = &result(&g, r"C:\gild\u.json")["details"];
    assert_eq!(d["result_code"], 3);
    assert_eq!(d["failed"], serde_json::json!(["KB890830"]));
    assert_eq!(d["installed"], serde_json::json!(["KB5044281"]));
    assert_eq!(d["updates"][1]["hresult"], "0x80073712");
}

#[test]
fn an_install_where_every_update_fails_fails_naming_each_hresult() {
    let mut g = guest();
    g.fail_update_install("KB890830");
    g.fail_update_install("KB5044281");
    assert_eq!(
        run_update(&mut g, r"-ResultPath C:\gild\u.json").exit_code,
        1
    );
    let error = result(&g, r"C:\gild\u.json")["error"].to_string();
    assert!(
        error.contains("result code 4") && error.contains("0x80073712"),
        "{error}"
    );
}

#[test]
fn the_update_installers_reboot_required_is_a_pending_reboot_in_the_facts() {
    let mut g = guest();
    run_update(&mut g, r"-ResultPath C:\gild\u.json");
    run_script(&mut g, "collect-facts.ps1", r"-ResultPath C:\gild\f.json");
    let d = &result(&g, r"C:\gild\f.json")["details"];
    assert_eq!(d["reboot_pending"], true);
    assert_eq!(
        d["reboot_pending_sources"],
        serde_json::json!(["windows_update"])
    );
}

// ---------- gild-common ----------

#[test]
fn a_relative_result_path_is_refused_with_exit_2_instead_of_landing_in_system32() {
    let mut g = guest();
    let outcome = run_script(&mut g, "collect-facts.ps1", r"-ResultPath facts.json");
    assert_eq!(outcome.exit_code, 2);
    assert!(g.read_file(r"C:\Windows\System32\facts.json").is_err());
}

// ---------- OS facts ----------

#[test]
fn collect_facts_reports_ubr_display_version_and_display_language_apart_from_install_language() {
    let mut g = WindowsGuest::new(GuestOs::WindowsServer20H2, "WIN-20H2");
    g.set_display_language("de-DE");
    run_script(&mut g, "collect-facts.ps1", r"-ResultPath C:\gild\f.json");
    let d = &result(&g, r"C:\gild\f.json")["details"];
    // 19042.1052: June 2021's KB5003637.
    assert_eq!(d["os"]["build"], 19042);
    assert_eq!(d["os"]["ubr"], 1052);
    assert_eq!(d["os"]["display_version"], "20H2");
    assert_eq!(d["os"]["caption"], "Microsoft Windows Server Datacenter");
    assert_eq!(d["language"], "de-DE");
    assert_eq!(d["install_language"], "en-US");
}

// ---------- tools.conf ----------

#[test]
fn tools_pick_up_a_repaired_tools_conf_on_their_timer_without_a_restart() {
    let mut g = guest();
    run_script(
        &mut g,
        "install-container-runtime.ps1",
        r"-Runtime docker -ResultPath C:\gild\c.json",
    );
    g.boot();
    g.poll_tools_conf(tokio::time::Instant::now());
    assert!(g.network_adapters().iter().any(|n| n == "vEthernet (nat)"));
    assert_eq!(g.tools_reported_adapters(), vec!["Ethernet0".to_string()]);
    let outcome = run_script(
        &mut g,
        "repair-tools-conf.ps1",
        r"-ResultPath C:\gild\t.json",
    );
    assert!(!outcome.tools_restarted);
    assert!(read_text(&g, TOOLS_CONF_PATH).contains("exclude-nics=\r\n"));
    g.poll_tools_conf(tokio::time::Instant::now());
    assert_eq!(g.tools_reported_adapters().len(), 2);
}

#[test]
fn on_an_hns_node_a_repaired_tools_conf_reports_the_lease_from_the_next_re_read_on() {
    let mut g = guest();
    g.set_timing(GuestTiming {
        tools_conf_poll: TOOLS_CONF_POLL,
        ..GuestTiming::default()
    });
    g.create_hns_network();
    g.boot();
    let t0 = tokio::time::Instant::now();
    g.poll_tools_conf(t0);
    // Tools' default exclude list hides vEthernet (Ethernet0), which holds the lease.
    assert_eq!(g.lease_adapter(), "vEthernet (Ethernet0)");
    assert!(!g.lease_reported());
    let outcome = run_script(
        &mut g,
        "repair-tools-conf.ps1",
        r"-ResultPath C:\gild\t.json",
    );
    assert!(!outcome.tools_restarted);
    g.poll_tools_conf(t0 + TOOLS_CONF_POLL - std::time::Duration::from_millis(1));
    assert!(!g.lease_reported(), "seen before Tools re-read tools.conf");
    g.poll_tools_conf(t0 + TOOLS_CONF_POLL);
    assert!(g.lease_reported());
}

#[test]
fn a_tools_conf_without_the_line_is_not_enough_on_windows() {
    // No exclude-nics at all means Tools' own default, vEthernet*.
    let mut g = guest();
    g.create_hns_network();
    g.write_file(TOOLS_CONF_PATH, FileBlob::from("[guestinfo]\r\n"), true)
        .unwrap();
    g.boot();
    g.poll_tools_conf(tokio::time::Instant::now());
    assert!(!g.lease_reported());
}

#[test]
fn restarting_vmtools_from_a_guest_process_is_seen_as_losing_that_process() {
    let mut g = guest();
    let outcome = run(&mut g, POWERSHELL_PATH, "-Command Restart-Service VMTools").unwrap();
    assert!(outcome.tools_restarted);
    assert!(g.vmtools_running());
}

// ---------- firewall ----------

#[test]
fn open_firewall_fixes_wmcos_rule_found_by_display_name_instead_of_adding_one() {
    let mut g = guest();
    let mut wmco = FirewallRule::inbound("", "ContainerLogsPort", Protocol::Tcp, 10250);
    wmco.enabled = false;
    let guid = g.add_firewall_rule_by_display_name(wmco);
    assert!(!g.firewall_allows_inbound(Protocol::Tcp, 10250));
    run_script(&mut g, "open-firewall.ps1", r"-ResultPath C:\gild\f.json");
    let rules: Vec<&FirewallRule> = g
        .firewall_rules()
        .iter()
        .filter(|r| r.display_name == "ContainerLogsPort")
        .collect();
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert_eq!(rules[0].name, guid);
    assert!(g.firewall_allows_inbound(Protocol::Tcp, 10250));
    let read_back = &result(&g, r"C:\gild\f.json")["details"]["rules"][0];
    assert_eq!(read_back["name"], guid.as_str());
    assert_eq!(read_back["action"], "Allow");
    assert_eq!(read_back["profile"], "Any");
    assert_eq!(read_back["edge_traversal"], "Allow");
}

// ---------- sysprep ----------

fn answer_file(g: &mut WindowsGuest) {
    g.create_dir(r"C:\gild", true).unwrap();
    g.write_file(
        r"C:\gild\unattend.xml",
        FileBlob::from("<unattend xmlns=\"urn:schemas-microsoft-com:unattend\"/>".to_string()),
        true,
    )
    .unwrap();
}

#[test]
fn prepare_sysprep_stops_sshd_and_deletes_the_host_keys_a_clone_would_share() {
    let mut g = guest();
    run_script(&mut g, "install-openssh.ps1", r"-ResultPath C:\gild\o.json");
    let keys = g.ssh_host_keys();
    assert_eq!(keys.len(), 6, "{keys:?}");
    answer_file(&mut g);
    run_script(
        &mut g,
        "check-sysprep.ps1",
        r"-UnattendPath C:\gild\unattend.xml -ResultPath C:\gild\c.json",
    );
    let d = &result(&g, r"C:\gild\c.json")["details"];
    assert_eq!(d["ready"], false);
    assert!(d["problems"][0].as_str().unwrap().contains("host keys"));

    assert_eq!(
        run_script(&mut g, "prepare-sysprep.ps1", r"-ResultPath C:\gild\p.json").exit_code,
        0
    );
    assert!(g.ssh_host_keys().is_empty());
    assert_eq!(g.service("sshd").unwrap().status, ServiceStatus::Stopped);
    upload(&mut g, "check-sysprep.ps1");
    run_script(
        &mut g,
        "check-sysprep.ps1",
        r"-UnattendPath C:\gild\unattend.xml -ResultPath C:\gild\c.json",
    );
    assert_eq!(result(&g, r"C:\gild\c.json")["details"]["ready"], true);
    // The clone's first boot: sshd starts and makes its own keys.
    g.boot();
    let fresh = g.ssh_host_keys();
    assert_eq!(fresh.len(), 6);
}

#[test]
fn check_sysprep_names_an_appx_package_a_pending_reboot_and_a_spent_rearm_budget() {
    let mut g = guest();
    answer_file(&mut g);
    g.install_appx_for_user(
        "Microsoft.LanguageExperiencePackde-DE",
        "Microsoft.LanguageExperiencePackde-DE_19041.1.2.0_neutral__8wekyb3d8bbwe",
        "BUILD\\Administrator",
    );
    g.set_rearm_budget(0);
    run_script(
        &mut g,
        "install-container-runtime.ps1",
        r"-Runtime none -ResultPath C:\gild\r.json",
    );
    run_script(
        &mut g,
        "check-sysprep.ps1",
        r"-UnattendPath C:\gild\unattend.xml -ResultPath C:\gild\c.json",
    );
    let d = &result(&g, r"C:\gild\c.json")["details"];
    let problems = d["problems"].to_string();
    assert_eq!(d["ready"], false);
    assert!(
        problems.contains("reboot is pending (component_based_servicing)"),
        "{problems}"
    );
    assert!(
        problems.contains("LanguageExperiencePackde-DE_19041"),
        "{problems}"
    );
    assert!(problems.contains("no rearm is left"), "{problems}");
    assert_eq!(d["appx_blocking"][0]["users"][0], "BUILD\\Administrator");
}

// ---------- downloads and the offline path ----------

/// Uploads `files` and their SHA256SUMS (with `corrupt` hashed wrongly).
fn source_dir(g: &mut WindowsGuest, files: &[(&str, &str)], corrupt: Option<&str>) {
    g.create_dir(r"C:\gild\src", true).unwrap();
    let mut sums = String::new();
    for (name, content) in files {
        let text = if Some(*name) == corrupt {
            "tampered"
        } else {
            content
        };
        sums.push_str(&format!(
            "{}  {name}\n",
            hex::encode(Sha256::digest(text.as_bytes()))
        ));
        g.write_file(
            &format!(r"C:\gild\src\{name}"),
            FileBlob::from(content.to_string()),
            true,
        )
        .unwrap();
    }
    g.write_file(r"C:\gild\src\SHA256SUMS", FileBlob::from(sums), true)
        .unwrap();
}

#[test]
fn an_air_gapped_guest_installs_docker_only_from_a_verified_source_dir() {
    let mut g = guest();
    g.set_internet(Internet::None);
    let args = r"-Runtime docker -ResultPath C:\gild\c.json";
    assert_eq!(
        run_script(&mut g, "install-container-runtime.ps1", args).exit_code,
        1
    );
    let error = result(&g, r"C:\gild\c.json")["error"].to_string();
    assert!(error.contains("Unable to connect"), "{error}");

    source_dir(
        &mut g,
        &[("docker-24.0.7.zip", "zip bytes")],
        Some("docker-24.0.7.zip"),
    );
    let offline = r"-Runtime docker -SourceDir C:\gild\src -ResultPath C:\gild\c.json";
    assert_eq!(
        run_script(&mut g, "install-container-runtime.ps1", offline).exit_code,
        1
    );
    assert!(result(&g, r"C:\gild\c.json")["error"]
        .to_string()
        .contains("SHA-256"));

    source_dir(&mut g, &[("docker-24.0.7.zip", "zip bytes")], None);
    assert_eq!(
        run_script(&mut g, "install-container-runtime.ps1", offline).exit_code,
        0
    );
    let d = &result(&g, r"C:\gild\c.json")["details"];
    assert_eq!(d["source"], "local");
    assert_eq!(d["files"][0]["file"], "docker-24.0.7.zip");
}

#[test]
fn behind_a_proxy_only_network_the_download_goes_through_the_winhttp_proxy() {
    let mut g = guest();
    g.set_internet(Internet::ProxyOnly {
        proxy: "proxy.corp:3128".into(),
    });
    let outcome = run_script(
        &mut g,
        "install-container-runtime.ps1",
        r"-Runtime containerd -ResultPath C:\gild\c.json",
    );
    assert_eq!(outcome.exit_code, 0);
    let d = &result(&g, r"C:\gild\c.json")["details"];
    assert_eq!(d["source"], "download");
    assert_eq!(d["proxy"], "proxy.corp:3128");
}

#[test]
fn openssh_on_an_air_gapped_guest_needs_the_features_on_demand_source() {
    let mut g = guest();
    g.set_internet(Internet::None);
    assert_eq!(
        run_script(&mut g, "install-openssh.ps1", r"-ResultPath C:\gild\o.json").exit_code,
        1
    );
    source_dir(
        &mut g,
        &[("OpenSSH-Server-Package~31bf3856ad364e35~amd64~~.cab", "cab")],
        None,
    );
    let outcome = run_script(
        &mut g,
        "install-openssh.ps1",
        r"-SourceDir C:\gild\src -ResultPath C:\gild\o.json",
    );
    assert_eq!(outcome.exit_code, 0);
    assert_eq!(result(&g, r"C:\gild\o.json")["details"]["source"], "local");
}

// ---------- names and the Kubernetes node ----------

#[test]
fn resolve_names_reports_each_name_with_its_addresses_or_why_not() {
    let mut g = guest();
    g.add_dns_record(
        "api-int.c1.example.com",
        DnsRecord::Addresses(vec!["10.0.0.5".into()]),
    );
    run_script(
        &mut g,
        "resolve-names.ps1",
        r"-Names api-int.c1.example.com,api.c2.example.com -ResultPath C:\gild\n.json",
    );
    let d = &result(&g, r"C:\gild\n.json")["details"];
    assert_eq!(d["resolved"], 1);
    assert_eq!(d["names"][0]["addresses"], serde_json::json!(["10.0.0.5"]));
    assert!(d["names"][1]["error"]
        .as_str()
        .unwrap()
        .contains("does not exist"));
}

const NODE_FILES: &[(&str, &str)] = &[
    ("kubelet.exe", "kubelet"),
    ("kube-proxy.exe", "kube-proxy"),
    ("flanneld.exe", "flanneld"),
    ("start.ps1", "start"),
    (r"cni\flannel.exe", "flannel"),
    (r"cni\host-local.exe", "host-local"),
    (r"cni\win-overlay.exe", "win-overlay"),
];

#[test]
fn install_kubernetes_node_copies_verified_binaries_opens_4789_and_writes_the_start_command() {
    let mut g = guest();
    g.create_dir(r"C:\gild\src\cni", true).unwrap();
    source_dir(&mut g, NODE_FILES, None);
    let args = r"-SourceDir C:\gild\src -ClusterCIDR 10.244.0.0/16 -ServiceCIDR 10.96.0.0/12 -KubeDnsServiceIP 10.96.0.10 -ResultPath C:\gild\k.json";
    assert_eq!(
        run_script(&mut g, "install-kubernetes-node.ps1", args).exit_code,
        0
    );
    let d = result(&g, r"C:\gild\k.json")["details"].clone();
    assert_eq!(d["binaries"].as_array().unwrap().len(), 7);
    assert_eq!(read_text(&g, r"C:\k\cni\flannel.exe"), "flannel");
    assert!(g.firewall_allows_inbound(Protocol::Udp, 4789));
    assert!(d["start_script"]["command"]
        .as_str()
        .unwrap()
        .contains("-NetworkMode overlay -ClusterCIDR 10.244.0.0/16"));
    assert!(read_text(&g, r"C:\k\start-node.ps1")
        .contains("Get-NetIPAddress -InterfaceAlias 'Ethernet'"));
    // Idempotent.
    run_script(&mut g, "install-kubernetes-node.ps1", args);
    assert_eq!(result(&g, r"C:\gild\k.json")["changed"], false);
}

#[test]
fn install_kubernetes_node_refuses_overlapping_cidrs_and_an_admin_kubeconfig() {
    let mut g = guest();
    g.create_dir(r"C:\gild\src\cni", true).unwrap();
    source_dir(&mut g, NODE_FILES, None);
    let overlap = r"-SourceDir C:\gild\src -ClusterCIDR 10.0.0.0/8 -ServiceCIDR 10.96.0.0/12 -KubeDnsServiceIP 10.96.0.10 -ResultPath C:\gild\k.json";
    assert_eq!(
        run_script(&mut g, "install-kubernetes-node.ps1", overlap).exit_code,
        1
    );
    assert!(result(&g, r"C:\gild\k.json")["error"]
        .to_string()
        .contains("overlap"));
    g.write_file(
        r"C:\gild\admin.conf",
        FileBlob::from("users:\n- name: kubernetes-admin\n".to_string()),
        true,
    )
    .unwrap();
    let admin = r"-SourceDir C:\gild\src -ClusterCIDR 10.244.0.0/16 -ServiceCIDR 10.96.0.0/12 -KubeDnsServiceIP 10.96.0.10 -KubeconfigPath C:\gild\admin.conf -ResultPath C:\gild\k.json";
    assert_eq!(
        run_script(&mut g, "install-kubernetes-node.ps1", admin).exit_code,
        1
    );
    assert!(result(&g, r"C:\gild\k.json")["error"]
        .to_string()
        .contains("cluster-admin"));
    let allowed = format!("{admin} -AllowAdminKubeconfig");
    assert_eq!(
        run_script(&mut g, "install-kubernetes-node.ps1", &allowed).exit_code,
        0
    );
    assert_eq!(
        read_text(&g, r"C:\k\config"),
        "users:\n- name: kubernetes-admin\n"
    );
}
