//! The Windows guest model: its script catalogue against the real scripts
//! and scripts/README.md, and the documented effects of each script and
//! program, exercised through the public guest API the simulator uses.

use gild::secret::Secret;
use gild::simulator::guest::{
    FeatureState, FileBlob, GuestError, ParamKind, PowerEffect, ProcessOutcome, Protocol,
    ServiceStatus, StartType, WindowsGuest, AUTHORIZED_KEYS_PATH, LIBRARY_FILES, POWERSHELL_PATH,
    SCRIPTS, SETUPERR_LOG_PATH, SYSPREP_PATH, TOOLS_CONF_PATH,
};
use gild::vsphere::wire::ProcessSpec;
use std::path::Path;

const ED25519_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl core@cluster";

pub(crate) fn scripts_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts"))
}

pub(crate) fn guest() -> WindowsGuest {
    WindowsGuest::windows_server_2022("WIN-BUILD01")
        .with_credentials("Administrator", Secret::new("Guest-pw-1"))
}

pub(crate) fn run(
    guest: &mut WindowsGuest,
    path: &str,
    args: &str,
) -> Result<ProcessOutcome, GuestError> {
    guest.run_process(&ProcessSpec {
        path: path.into(),
        arguments: Some(args.into()),
        ..Default::default()
    })
}

/// Uploads a file from scripts/ into C:\gild.
pub(crate) fn upload(guest: &mut WindowsGuest, file: &str) {
    let text = std::fs::read_to_string(scripts_dir().join(file)).expect("file in scripts/");
    guest.create_dir(r"C:\gild", true).expect("create C:\\gild");
    guest
        .write_file(&format!(r"C:\gild\{file}"), FileBlob::from(text), true)
        .expect("upload");
}

/// Runs C:\gild\<file> with -File.
pub(crate) fn start_script(guest: &mut WindowsGuest, file: &str, args: &str) -> ProcessOutcome {
    let line =
        format!(r"-NoProfile -NonInteractive -ExecutionPolicy Bypass -File C:\gild\{file} {args}");
    run(guest, POWERSHELL_PATH, &line).expect("powershell starts")
}

/// Uploads the real script and its libraries from scripts/ and runs it.
pub(crate) fn run_script(guest: &mut WindowsGuest, file: &str, args: &str) -> ProcessOutcome {
    for library in LIBRARY_FILES {
        upload(guest, library);
    }
    upload(guest, file);
    start_script(guest, file, args)
}

/// windows-update.ps1 with the worker it starts as a SYSTEM task beside it.
pub(crate) fn run_update(guest: &mut WindowsGuest, args: &str) -> ProcessOutcome {
    upload(guest, "windows-update-task.ps1");
    run_script(guest, "windows-update.ps1", args)
}

pub(crate) fn read_text(guest: &WindowsGuest, path: &str) -> String {
    let bytes = guest
        .read_file(path)
        .expect("guest file exists")
        .to_bytes()
        .expect("readable blob");
    String::from_utf8(bytes.to_vec()).expect("UTF-8 guest file")
}

pub(crate) fn result(guest: &WindowsGuest, path: &str) -> serde_json::Value {
    serde_json::from_str(&read_text(guest, path)).expect("result file is JSON")
}

// ---------- catalogue vs scripts/ and README ----------

/// One parameter as declared in a script's `param()` block.
#[derive(Debug, PartialEq)]
struct DeclaredParam {
    name: String,
    switch: bool,
    mandatory: bool,
    validate_set: Vec<String>,
}

/// Extracts the top-level `param(...)` block and splits it into parameters.
fn declared_params(script: &str) -> Vec<DeclaredParam> {
    let start = script.find("param(").expect("script has a param() block") + "param(".len();
    let mut depth = 1;
    let mut end = start;
    for (i, c) in script[start..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = start + i;
                    break;
                }
            }
            _ => {}
        }
    }
    let block = &script[start..end];
    let mut params = Vec::new();
    let mut attributes = String::new();
    for line in block.lines().map(str::trim) {
        attributes.push_str(line);
        // The parameter's variable: a `$name` that is not a literal like `$true`.
        let Some(name) = line
            .split('$')
            .skip(1)
            .map(|rest| {
                rest.chars()
                    .take_while(|c| c.is_alphanumeric())
                    .collect::<String>()
            })
            .find(|name| {
                !name.is_empty()
                    && !["true", "false", "null"].contains(&name.to_ascii_lowercase().as_str())
            })
        else {
            continue;
        };
        let validate_set = attributes
            .find("ValidateSet(")
            .map(|i| {
                let rest = &attributes[i + "ValidateSet(".len()..];
                rest[..rest.find(')').unwrap_or(0)]
                    .split(',')
                    .map(|v| v.trim().trim_matches('\'').to_string())
                    .collect()
            })
            .unwrap_or_default();
        params.push(DeclaredParam {
            name,
            switch: attributes.contains("[switch]"),
            mandatory: attributes.replace(' ', "").contains("Mandatory=$true"),
            validate_set,
        });
        attributes.clear();
    }
    params
}

#[test]
fn every_script_file_is_in_the_model_catalogue_with_identical_parameters() {
    let mut files: Vec<String> = std::fs::read_dir(scripts_dir())
        .expect("scripts/ exists")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".ps1"))
        .collect();
    files.sort();
    let mut catalogued: Vec<&str> = SCRIPTS
        .iter()
        .map(|s| s.file)
        .chain(LIBRARY_FILES.iter().copied())
        .collect();
    catalogued.sort();
    assert_eq!(
        files, catalogued,
        "scripts/*.ps1 and the model's SCRIPTS catalogue differ"
    );
    for def in SCRIPTS {
        let text = std::fs::read_to_string(scripts_dir().join(def.file)).expect("script readable");
        let declared = declared_params(&text);
        let modelled: Vec<DeclaredParam> = def
            .params
            .iter()
            .map(|p| DeclaredParam {
                name: p.name.to_string(),
                switch: p.kind == ParamKind::Switch,
                mandatory: p.mandatory,
                validate_set: match p.kind {
                    ParamKind::OneOf(values) => values.iter().map(|v| v.to_string()).collect(),
                    _ => Vec::new(),
                },
            })
            .collect();
        assert_eq!(
            declared, modelled,
            "param() block of {} differs from the model",
            def.file
        );
    }
}

#[test]
fn readme_documents_every_script_and_each_of_its_parameters() {
    let readme =
        std::fs::read_to_string(scripts_dir().join("README.md")).expect("scripts/README.md");
    for def in SCRIPTS {
        let heading = format!("## {}\n", def.file);
        let start = readme
            .find(&heading)
            .unwrap_or_else(|| panic!("README.md has no section {heading:?}"));
        let section = &readme[start + heading.len()..];
        let section = &section[..section.find("\n## ").unwrap_or(section.len())];
        assert!(
            section.contains("Model:"),
            "README section of {} does not say what the model applies",
            def.file
        );
        for param in def.params {
            assert!(
                section.contains(&format!("- `-{}`", param.name)),
                "README section of {} does not document -{}",
                def.file,
                param.name
            );
        }
    }
}

// ---------- scripts ----------

#[test]
fn install_openssh_starts_sshd_and_ssh_agent_and_opens_port_22() {
    let mut g = guest();
    assert!(g.service("sshd").is_none());
    let outcome = run_script(
        &mut g,
        "install-openssh.ps1",
        r"-ResultPath C:\gild\out\openssh.json",
    );
    assert_eq!(outcome.exit_code, 0);
    for name in ["sshd", "ssh-agent"] {
        let service = g.service(name).expect("service installed");
        assert_eq!(
            (service.status, service.start_type),
            (ServiceStatus::Running, StartType::Automatic)
        );
    }
    assert!(g.firewall_allows_inbound(Protocol::Tcp, 22));
    assert_eq!(
        g.feature("OpenSSH.Server~~~~0.0.1.0"),
        Some(FeatureState::Installed)
    );
    let json = result(&g, r"C:\gild\out\openssh.json");
    assert_eq!(json["script"], "install-openssh");
    assert_eq!(
        (json["success"].as_bool(), json["changed"].as_bool()),
        (Some(true), Some(true))
    );
    assert!(read_text(&g, r"C:\ProgramData\ssh\sshd_config").contains("PasswordAuthentication no"));

    run_script(
        &mut g,
        "install-openssh.ps1",
        r"-ResultPath C:\gild\again.json",
    );
    assert_eq!(
        result(&g, r"C:\gild\again.json")["changed"],
        false,
        "second run must be a no-op"
    );
}

#[test]
fn set_authorized_key_writes_ascii_keys_readable_only_by_administrators_and_system() {
    let mut g = guest();
    run_script(&mut g, "install-openssh.ps1", r"-ResultPath C:\gild\o.json");
    // Uploaded as UTF-16LE with BOM, the way PowerShell's `>` writes it.
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(ED25519_KEY.encode_utf16().flat_map(|u| u.to_le_bytes()));
    g.write_file(r"C:\gild\key.pub", FileBlob::Memory(utf16.into()), true)
        .unwrap();
    let outcome = run_script(
        &mut g,
        "set-authorized-key.ps1",
        r"-PublicKeyPath C:\gild\key.pub -ResultPath C:\gild\k.json",
    );
    assert_eq!(outcome.exit_code, 0);
    assert_eq!(
        read_text(&g, AUTHORIZED_KEYS_PATH),
        format!("{ED25519_KEY}\r\n")
    );
    let acl = g.file_acl(AUTHORIZED_KEYS_PATH).unwrap();
    let mut principals = acl.principals();
    principals.sort();
    assert_eq!(
        principals,
        vec!["BUILTIN\\Administrators", "NT AUTHORITY\\SYSTEM"]
    );
    let json = result(&g, r"C:\gild\k.json");
    assert_eq!(json["details"]["key_count"], 1);
    assert!(json["details"]["fingerprints"][0]
        .as_str()
        .unwrap()
        .starts_with("SHA256:"));
}

#[test]
fn set_authorized_key_fails_with_a_result_when_openssh_is_not_installed() {
    let mut g = guest();
    g.write_file(r"C:\Windows\Temp\key.pub", ED25519_KEY.into(), true)
        .unwrap();
    let outcome = run_script(
        &mut g,
        "set-authorized-key.ps1",
        r"-PublicKeyPath C:\Windows\Temp\key.pub -ResultPath C:\gild\k.json",
    );
    assert_eq!(outcome.exit_code, 1);
    let json = result(&g, r"C:\gild\k.json");
    assert_eq!(json["success"], false);
    assert!(json["error"]
        .as_str()
        .unwrap()
        .contains("install-openssh.ps1"));
    assert!(g.read_file(AUTHORIZED_KEYS_PATH).is_err());
}

#[test]
fn set_authorized_key_rejects_a_line_that_is_not_a_public_key() {
    let mut g = guest();
    run_script(&mut g, "install-openssh.ps1", r"-ResultPath C:\gild\o.json");
    g.write_file(
        r"C:\gild\key.pub",
        "-----BEGIN OPENSSH PRIVATE KEY-----".into(),
        true,
    )
    .unwrap();
    let outcome = run_script(
        &mut g,
        "set-authorized-key.ps1",
        r"-PublicKeyPath C:\gild\key.pub -ResultPath C:\gild\k.json",
    );
    assert_eq!(outcome.exit_code, 1);
    assert!(result(&g, r"C:\gild\k.json")["error"]
        .as_str()
        .unwrap()
        .contains("not an OpenSSH public key type"));
}

#[test]
fn repair_tools_conf_leaves_exclude_nics_empty_without_restarting_vmtools() {
    let mut g = guest();
    assert!(read_text(&g, TOOLS_CONF_PATH).contains("exclude-nics=vEthernet*"));
    assert!(g.vmtools_running());
    let outcome = run_script(
        &mut g,
        "repair-tools-conf.ps1",
        r"-ResultPath C:\gild\t.json",
    );
    assert_eq!(outcome.exit_code, 0);
    let conf = read_text(&g, TOOLS_CONF_PATH);
    assert!(
        conf.contains("[guestinfo]\r\nexclude-nics=\r\n"),
        "tools.conf was {conf:?}"
    );
    // A restart from inside the guest-operations process would lose the
    // process (and its exit code) for vCenter.
    assert!(!outcome.tools_restarted);
    assert!(g.vmtools_running());
    let json = result(&g, r"C:\gild\t.json");
    assert_eq!(
        json["details"]["exclude_nics_before"],
        "vEthernet*,veth*,docker*,cali*,flannel*"
    );
    assert_eq!(json["details"]["restarted"], false);
}

#[test]
fn container_runtime_waits_for_the_reboot_that_completes_the_containers_feature() {
    let mut g = guest();
    let outcome = run_script(
        &mut g,
        "install-container-runtime.ps1",
        r"-Runtime containerd -ResultPath C:\gild\c.json",
    );
    assert_eq!(outcome.exit_code, 0);
    assert_eq!(g.feature("Containers"), Some(FeatureState::InstallPending));
    assert_eq!(
        g.service("containerd").map(|s| s.status),
        Some(ServiceStatus::Stopped)
    );
    assert_eq!(
        result(&g, r"C:\gild\c.json")["details"]["reboot_required"],
        true
    );
    g.power_off();
    g.boot();
    assert_eq!(g.feature("Containers"), Some(FeatureState::Installed));
    assert_eq!(
        g.service("containerd").map(|s| s.status),
        Some(ServiceStatus::Running)
    );
    assert!(!g.reboot_pending());
}

#[test]
fn container_runtime_outside_its_validate_set_is_a_binding_error_without_result() {
    let mut g = guest();
    let outcome = run_script(
        &mut g,
        "install-container-runtime.ps1",
        r"-Runtime podman -ResultPath C:\gild\c.json",
    );
    assert_eq!(outcome.exit_code, 1);
    assert!(matches!(
        g.read_file(r"C:\gild\c.json"),
        Err(GuestError::NotFound { .. })
    ));
}

#[test]
fn unknown_script_parameter_exits_1_before_the_body_runs() {
    let mut g = guest();
    let outcome = run_script(
        &mut g,
        "collect-facts.ps1",
        r"-ResultPath C:\gild\f.json -Password hunter2",
    );
    assert_eq!(outcome.exit_code, 1);
    assert!(g.read_file(r"C:\gild\f.json").is_err());
}

#[test]
fn open_firewall_opens_10250_and_only_with_include_vxlan_udp_4789() {
    let mut g = guest();
    run_script(&mut g, "open-firewall.ps1", r"-ResultPath C:\gild\f.json");
    assert!(g.firewall_allows_inbound(Protocol::Tcp, 10250));
    assert!(!g.firewall_allows_inbound(Protocol::Udp, 4789));
    run_script(
        &mut g,
        "open-firewall.ps1",
        r"-IncludeVxlan -ResultPath C:\gild\f.json",
    );
    assert!(g.firewall_allows_inbound(Protocol::Udp, 4789));
    let rules = &result(&g, r"C:\gild\f.json")["details"]["rules"];
    assert_eq!(rules[1]["display_name"], "OverlayTraffic4789UDP");
    assert_eq!(rules[1]["action"], "Allow");
    assert_eq!(rules[1]["edge_traversal"], "Allow");
}

#[test]
fn windows_update_installs_requested_offered_kbs_and_lists_superseded_ids_as_not_offered() {
    // KB4565351 (August 2020, for 1903/1909) is superseded: Windows Update
    // never offers it to Server 2022, so asking for it is reported, not an error.
    let mut g = guest();
    let outcome = run_update(
        &mut g,
        r#"-KbIds "KB4565351,KB5044281" -ResultPath C:\gild\u.json"#,
    );
    assert_eq!(outcome.exit_code, 0);
    assert!(g.installed_kbs().iter().any(|kb| kb == "KB5044281"));
    assert!(g.reboot_pending());
    let json = result(&g, r"C:\gild\u.json");
    assert_eq!(
        json["details"]["installed"],
        serde_json::json!(["KB5044281"])
    );
    assert_eq!(
        json["details"]["not_offered"],
        serde_json::json!(["KB4565351"])
    );
    assert_eq!(json["details"]["task"]["user"], "NT AUTHORITY\\SYSTEM");
    run_update(&mut g, r"-KbIds KB5044281 -ResultPath C:\gild\u.json");
    assert_eq!(
        result(&g, r"C:\gild\u.json")["details"]["already_installed"],
        serde_json::json!(["KB5044281"])
    );
}

#[test]
fn windows_update_rejects_a_malformed_kb_id() {
    let mut g = guest();
    assert_eq!(
        run_update(&mut g, r"-KbIds KB12 -ResultPath C:\gild\u.json").exit_code,
        1
    );
    assert!(result(&g, r"C:\gild\u.json")["error"]
        .as_str()
        .unwrap()
        .contains("KB12"));
}

#[test]
fn collect_facts_reports_what_the_other_scripts_changed() {
    let mut g = guest();
    run_script(
        &mut g,
        "repair-tools-conf.ps1",
        r"-ResultPath C:\gild\t.json",
    );
    run_script(
        &mut g,
        "collect-facts.ps1",
        r"-ResultPath C:\gild\facts.json",
    );
    let facts = &result(&g, r"C:\gild\facts.json")["details"];
    assert_eq!(facts["hostname"], "WIN-BUILD01");
    assert_eq!(facts["language"], "en-US");
    assert_eq!(facts["os"]["build"], 20348);
    assert_eq!(facts["tools_conf"]["exclude_nics"], "");
    assert_eq!(facts["authorized_keys"]["exists"], false);
    assert_eq!(facts["sysprep"]["rearms_left"], 3);
}

#[test]
fn a_script_uploaded_without_gild_common_fails_without_a_result() {
    let mut g = guest();
    upload(&mut g, "collect-facts.ps1");
    let outcome = start_script(&mut g, "collect-facts.ps1", r"-ResultPath C:\gild\f.json");
    assert_eq!(outcome.exit_code, 1);
    assert!(g.read_file(r"C:\gild\f.json").is_err());
}

#[test]
fn a_script_uploaded_with_crlf_line_ends_and_a_bom_is_still_the_shipped_script() {
    let mut g = guest();
    for file in LIBRARY_FILES.iter().chain(["open-firewall.ps1"].iter()) {
        let text = std::fs::read_to_string(scripts_dir().join(file)).unwrap();
        let windows = format!(
            "\u{feff}{}",
            text.replace("\r\n", "\n").replace('\n', "\r\n")
        );
        g.create_dir(r"C:\gild", true).unwrap();
        g.write_file(&format!(r"C:\gild\{file}"), FileBlob::from(windows), true)
            .unwrap();
    }
    assert_eq!(
        start_script(&mut g, "open-firewall.ps1", r"-ResultPath C:\gild\f.json").exit_code,
        0
    );
    assert!(g.firewall_allows_inbound(Protocol::Tcp, 10250));
}

#[test]
fn an_edited_copy_of_a_script_is_not_given_the_shipped_scripts_effects() {
    let mut g = guest();
    for library in LIBRARY_FILES {
        upload(&mut g, library);
    }
    let shipped = std::fs::read_to_string(scripts_dir().join("open-firewall.ps1")).unwrap();
    let edited = shipped.replace("10250", "10255");
    g.write_file(r"C:\gild\open-firewall.ps1", FileBlob::from(edited), true)
        .unwrap();
    let outcome = start_script(&mut g, "open-firewall.ps1", r"-ResultPath C:\gild\f.json");
    assert_eq!(
        outcome.exit_code, 1,
        "the interpreter does not know Invoke-GildScript"
    );
    assert!(!g.firewall_allows_inbound(Protocol::Tcp, 10250));
}

#[test]
fn readme_documents_the_shared_library() {
    let readme =
        std::fs::read_to_string(scripts_dir().join("README.md")).expect("scripts/README.md");
    for library in LIBRARY_FILES {
        assert!(
            readme.contains(&format!("## {library}")),
            "README.md does not document {library}"
        );
    }
}

#[test]
fn powershell_file_that_does_not_exist_exits_like_windows_powershell() {
    let mut g = guest();
    let outcome = run(&mut g, POWERSHELL_PATH, r"-File C:\gild\missing.ps1").unwrap();
    assert_eq!(outcome.exit_code, -196608);
}

// ---------- sysprep ----------

fn upload_unattend(g: &mut WindowsGuest, skip_rearm: bool) {
    let body = if skip_rearm {
        r#"<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="generalize"><component name="Microsoft-Windows-Security-SPP"><SkipRearm>1</SkipRearm></component></settings></unattend>"#
    } else {
        r#"<unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="oobeSystem"/></unattend>"#
    };
    g.create_dir(r"C:\gild", true).unwrap();
    g.write_file(r"C:\gild\unattend.xml", body.into(), true)
        .unwrap();
}

const SYSPREP_ARGS: &str = r"/generalize /oobe /shutdown /unattend:C:\gild\unattend.xml";

#[test]
fn sysprep_generalize_powers_off_and_spends_one_rearm() {
    let mut g = guest();
    upload_unattend(&mut g, false);
    let outcome = run(&mut g, SYSPREP_PATH, SYSPREP_ARGS).unwrap();
    assert_eq!(outcome.exit_code, 0);
    assert!(matches!(
        outcome.after_exit,
        Some(PowerEffect::PowerOff { .. })
    ));
    let state = g.sysprep_state();
    assert_eq!((state.run_count, state.rearms_left), (1, 2));
    assert_eq!(state.image_state, "IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE");
}

#[test]
fn sysprep_with_skip_rearm_keeps_the_budget() {
    let mut g = guest();
    upload_unattend(&mut g, true);
    run(&mut g, SYSPREP_PATH, SYSPREP_ARGS).unwrap();
    assert_eq!(g.sysprep_state().rearms_left, 3);
}

#[test]
fn sysprep_refuses_when_the_rearm_budget_is_spent_and_logs_why() {
    let mut g = guest();
    upload_unattend(&mut g, false);
    g.set_rearm_budget(0);
    let outcome = run(&mut g, SYSPREP_PATH, SYSPREP_ARGS).unwrap();
    assert_ne!(outcome.exit_code, 0);
    assert_eq!(
        outcome.after_exit, None,
        "a failed sysprep leaves the VM running"
    );
    assert!(read_text(&g, SETUPERR_LOG_PATH).contains("0xc004d307"));
}

#[test]
fn sysprep_fails_while_an_update_reboot_is_pending() {
    let mut g = guest();
    upload_unattend(&mut g, false);
    run_update(&mut g, r"-ResultPath C:\gild\u.json");
    assert_ne!(
        run(&mut g, SYSPREP_PATH, SYSPREP_ARGS).unwrap().exit_code,
        0
    );
    g.boot();
    assert_eq!(
        run(&mut g, SYSPREP_PATH, SYSPREP_ARGS).unwrap().exit_code,
        0
    );
}

#[test]
fn sysprep_failure_fault_writes_setuperr_and_keeps_running() {
    let mut g = guest();
    upload_unattend(&mut g, false);
    g.set_sysprep_failure(true);
    let outcome = run(&mut g, SYSPREP_PATH, SYSPREP_ARGS).unwrap();
    assert_eq!((outcome.exit_code, outcome.after_exit), (1, None));
    assert!(read_text(&g, SETUPERR_LOG_PATH).contains("SYSPRP"));
    assert_eq!(g.sysprep_state().run_count, 0);
}

#[test]
fn sysprep_needs_an_existing_answer_file_and_consistent_flags() {
    let mut g = guest();
    assert_ne!(
        run(&mut g, SYSPREP_PATH, SYSPREP_ARGS).unwrap().exit_code,
        0
    );
    assert!(read_text(&g, SETUPERR_LOG_PATH).contains(r"C:\gild\unattend.xml"));
    upload_unattend(&mut g, false);
    assert_ne!(
        run(&mut g, SYSPREP_PATH, r"/generalize /oobe /audit /shutdown")
            .unwrap()
            .exit_code,
        0
    );
    g.write_file(r"C:\gild\unattend.xml", "<unattend><settings>".into(), true)
        .unwrap();
    assert_ne!(
        run(&mut g, SYSPREP_PATH, SYSPREP_ARGS).unwrap().exit_code,
        0
    );
}

#[test]
fn sysprep_accepts_dash_switches_and_an_answer_file_path_with_dashes() {
    let mut g = guest();
    g.create_dir(r"C:\gild", true).unwrap();
    g.write_file(r"C:\gild\un-attend.xml", "<unattend/>".into(), true)
        .unwrap();
    let outcome = run(
        &mut g,
        SYSPREP_PATH,
        r"-generalize -oobe -shutdown -unattend:C:\gild\un-attend.xml",
    )
    .unwrap();
    assert_eq!(outcome.exit_code, 0);
}

#[test]
fn a_transferred_file_kept_on_host_disk_reads_back_through_the_model() {
    let mut g = guest();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut file, b"large upload").unwrap();
    let blob = FileBlob::Disk {
        path: std::sync::Arc::new(file.into_temp_path()),
        size: 12,
    };
    g.write_file(r"C:\big.bin", blob, false).unwrap();
    assert_eq!(g.stat(r"C:\big.bin").unwrap().size, 12);
    let copy = g.cloned("WIN-COPY");
    assert_eq!(
        &copy.read_file(r"C:\big.bin").unwrap().to_bytes().unwrap()[..],
        b"large upload"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Whatever a client sends as program path and arguments, the model
    /// answers with an outcome or a GuestError, never a panic.
    #[test]
    fn any_process_spec_gets_an_answer_without_panicking(
        program in proptest::sample::select(vec![
            gild::simulator::guest::CMD_PATH, POWERSHELL_PATH, SYSPREP_PATH,
            gild::simulator::guest::ICACLS_PATH, gild::simulator::guest::SC_PATH,
            gild::simulator::guest::SHUTDOWN_PATH, "C:\\", "relative.exe", "",
        ]),
        args in "[ -~\\u{e9}\\u{4e2d}\"'(){};&]{0,60}",
    ) {
        let mut g = guest();
        let result = run(&mut g, program, &args);
        // Only the path decides whether Windows can start a process; the
        // arguments only ever change its exit code.
        match program {
            "relative.exe" | "" => {
                let refused = matches!(result, Err(GuestError::InvalidPath { .. }));
                proptest::prop_assert!(refused, "{result:?}");
            }
            "C:\\" => {
                let refused = matches!(result, Err(GuestError::NotExecutable { .. }));
                proptest::prop_assert!(refused, "{result:?}");
            }
            _ => proptest::prop_assert!(result.is_ok(), "{program} {args:?} did not start: {result:?}"),
        }
    }

    #[test]
    fn any_written_path_reads_back_and_any_refused_one_names_itself(path in "(C:|c:|)[\\\\/]?[ -~]{0,30}") {
        let mut g = guest();
        match g.write_file(&path, FileBlob::from("x"), true) {
            Ok(()) => proptest::prop_assert_eq!(g.read_file(&path).map(|b| b.size()), Ok(1)),
            Err(e) => {
                let explained = e.file_path().is_some() || matches!(e, GuestError::InvalidArgument(_));
                proptest::prop_assert!(explained, "{e:?}");
            }
        }
    }
}

#[test]
fn a_cumulative_update_raises_the_build_revision_only_after_the_restart() {
    // Windows swaps the updated files during the restart, so UBR — what
    // the windows_update stage checks against the target — is still the
    // old one until then.
    let mut g = guest();
    let facts = |g: &mut WindowsGuest| {
        run_script(g, "collect-facts.ps1", r"-ResultPath C:\gild\facts.json");
        result(g, r"C:\gild\facts.json")["details"]["os"].clone()
    };
    assert_eq!(facts(&mut g)["ubr"], 887, "the 2022 base image's revision");
    run_update(&mut g, r"-ResultPath C:\gild\u.json");
    assert_eq!(
        result(&g, r"C:\gild\u.json")["details"]["installed"],
        serde_json::json!(["KB5044281", "KB890830"])
    );
    assert_eq!(facts(&mut g)["ubr"], 887, "not before the restart");
    g.boot();
    assert_eq!(
        facts(&mut g)["ubr"],
        2762,
        "October 2024's 20348.2762 after it"
    );
    assert!(!g.reboot_pending());
}
