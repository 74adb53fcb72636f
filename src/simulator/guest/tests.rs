//! Unit tests of the guest model: filesystem semantics, credentials,
//! cloning and the interpreted Windows programs.

use super::*;
use crate::vsphere::wire::GuestFileType;
use base64::Engine;

fn guest() -> WindowsGuest {
    WindowsGuest::windows_server_2022("WIN-A")
        .with_credentials("Administrator", Secret::new("pw-123"))
}

fn run(guest: &mut WindowsGuest, path: &str, args: &str) -> Result<ProcessOutcome, GuestError> {
    guest.run_process(&ProcessSpec {
        path: path.into(),
        arguments: Some(args.into()),
        ..Default::default()
    })
}

fn exit_code(guest: &mut WindowsGuest, path: &str, args: &str) -> i64 {
    run(guest, path, args).expect("program starts").exit_code
}

fn ps(guest: &mut WindowsGuest, command: &str) -> ProcessOutcome {
    run(
        guest,
        POWERSHELL_PATH,
        &format!("-NoProfile -Command \"{command}\""),
    )
    .expect("powershell starts")
}

// ---------- filesystem ----------

#[test]
fn paths_are_case_insensitive_and_accept_forward_slashes() {
    let mut g = guest();
    g.write_file(r"C:\Windows\Temp\Data.TXT", "x".into(), false)
        .unwrap();
    assert_eq!(g.read_file("c:/windows/temp/data.txt").unwrap().size(), 1);
    let listed = g.list(r"C:\WINDOWS\temp\").unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|f| f.filename.as_str())
            .collect::<Vec<_>>(),
        vec!["Data.TXT"]
    );
}

#[test]
fn writing_an_existing_file_without_overwrite_is_already_exists() {
    let mut g = guest();
    g.write_file(r"C:\a.txt", "1".into(), false).unwrap();
    assert_eq!(
        g.write_file(r"C:\A.TXT", "2".into(), false),
        Err(GuestError::AlreadyExists {
            path: r"C:\A.TXT".into()
        })
    );
    g.write_file(r"C:\a.txt", "22".into(), true).unwrap();
    assert_eq!(g.stat(r"C:\a.txt").unwrap().size, 2);
}

#[test]
fn writing_into_a_missing_directory_names_the_missing_parent() {
    let mut g = guest();
    assert_eq!(
        g.write_file(r"C:\nope\f.txt", "x".into(), true),
        Err(GuestError::NotFound {
            path: r"C:\nope".into()
        })
    );
}

#[test]
fn writing_over_a_directory_is_refused() {
    let mut g = guest();
    assert!(matches!(
        g.write_file(r"C:\Windows", "x".into(), true),
        Err(GuestError::IsADirectory { .. })
    ));
}

#[test]
fn create_dir_needs_parents_flag_for_missing_ancestors_and_refuses_existing() {
    let mut g = guest();
    assert!(matches!(
        g.create_dir(r"C:\a\b\c", false),
        Err(GuestError::NotFound { .. })
    ));
    g.create_dir(r"C:\a\b\c", true).unwrap();
    assert_eq!(
        g.stat(r"C:\a\b").unwrap().file_type,
        GuestFileType::Directory
    );
    assert!(matches!(
        g.create_dir(r"C:\a\b\c", false),
        Err(GuestError::AlreadyExists { .. })
    ));
}

#[test]
fn deleting_a_non_empty_directory_needs_recursive() {
    let mut g = guest();
    g.create_dir(r"C:\d\sub", true).unwrap();
    g.write_file(r"C:\d\sub\f", "x".into(), true).unwrap();
    assert!(matches!(
        g.delete_dir(r"C:\d", false),
        Err(GuestError::DirectoryNotEmpty { .. })
    ));
    g.delete_dir(r"C:\d", true).unwrap();
    assert!(matches!(
        g.stat(r"C:\d\sub\f"),
        Err(GuestError::NotFound { .. })
    ));
}

#[test]
fn list_returns_only_direct_children() {
    let mut g = guest();
    g.create_dir(r"C:\l\x\y", true).unwrap();
    g.write_file(r"C:\l\f.txt", "abc".into(), true).unwrap();
    let mut names: Vec<(String, i64)> = g
        .list(r"C:\l")
        .unwrap()
        .into_iter()
        .map(|f| (f.filename, f.size))
        .collect();
    names.sort();
    assert_eq!(names, vec![("f.txt".to_string(), 3), ("x".to_string(), 0)]);
    assert!(matches!(
        g.list(r"C:\l\f.txt"),
        Err(GuestError::NotADirectory { .. })
    ));
}

#[test]
fn delete_file_on_a_directory_is_refused_and_a_drive_root_cannot_be_deleted() {
    let mut g = guest();
    assert!(matches!(
        g.delete_file(r"C:\Windows"),
        Err(GuestError::IsADirectory { .. })
    ));
    assert!(matches!(
        g.delete_dir(r"C:\", true),
        Err(GuestError::InvalidPath { .. })
    ));
}

#[test]
fn relative_paths_reserved_names_and_wildcards_are_invalid() {
    let mut g = guest();
    for bad in [
        r"Windows\Temp",
        r"\\server\share\f",
        r"C:\dir\CON.txt",
        r"C:\a*b",
        "",
    ] {
        assert!(
            matches!(
                g.write_file(bad, "x".into(), true),
                Err(GuestError::InvalidPath { .. })
            ),
            "{bad:?} accepted"
        );
    }
}

#[test]
fn dot_dot_components_resolve_lexically() {
    let g = guest();
    assert!(g.stat(r"C:\Windows\Temp\..\System32\cmd.exe").is_ok());
}

#[test]
fn stat_reports_a_windows_file_with_its_attributes() {
    let mut g = guest();
    g.write_file(r"C:\h.txt", "hello".into(), true).unwrap();
    g.set_file_attributes(r"C:\h.txt", Some(true), None)
        .unwrap();
    let info = g.stat(r"C:\h.txt").unwrap();
    assert_eq!((info.file_type, info.size), (GuestFileType::File, 5));
    assert_eq!(info.attributes.filesystem_family, "WINDOWS");
    assert_eq!(info.attributes.win_attributes.map(|w| w.hidden), Some(true));
}

// ---------- identity, credentials, cloning ----------

#[test]
fn credentials_match_case_insensitive_user_with_optional_local_prefix() {
    let g = guest();
    assert!(g.check_credentials("administrator", "pw-123"));
    assert!(g.check_credentials(r".\Administrator", "pw-123"));
    assert!(g.check_credentials(r"win-a\Administrator", "pw-123"));
    assert!(!g.check_credentials(r"OTHERHOST\Administrator", "pw-123"));
    assert!(!g.check_credentials("Administrator", "PW-123"));
}

#[test]
fn a_guest_without_a_password_accepts_no_logon() {
    let g = WindowsGuest::windows_server_2022("WIN-B");
    assert!(!g.check_credentials("Administrator", ""));
}

#[test]
fn clone_copies_the_disk_under_a_new_hostname_and_stays_independent() {
    let mut original = guest();
    original
        .write_file(r"C:\marker.txt", "m".into(), true)
        .unwrap();
    let mut copy = original.cloned("WIN-C");
    assert_eq!((copy.hostname(), original.hostname()), ("WIN-C", "WIN-A"));
    assert!(copy.read_file(r"C:\marker.txt").is_ok());
    copy.delete_file(r"C:\marker.txt").unwrap();
    assert!(original.read_file(r"C:\marker.txt").is_ok());
}

#[test]
fn os_identity_is_windows_server_2022() {
    let g = guest();
    assert_eq!(
        (g.os().build_number(), g.os().vapi_guest_os()),
        (20348, "WINDOWS_SERVER_2021")
    );
    assert_eq!(g.language(), "en-US");
}

// ---------- programs ----------

#[test]
fn cmd_exit_returns_its_code() {
    let mut g = guest();
    assert_eq!(exit_code(&mut g, CMD_PATH, "/c exit 7"), 7);
    assert_eq!(exit_code(&mut g, CMD_PATH, "/C \"exit /b 3\""), 3);
    assert_eq!(exit_code(&mut g, CMD_PATH, "/c echo hi & exit 0"), 0);
}

#[test]
fn cmd_unknown_command_exits_9009_and_runs_programs_by_path() {
    let mut g = guest();
    assert_eq!(exit_code(&mut g, CMD_PATH, "/c frobnicate"), 9009);
    assert_eq!(
        exit_code(
            &mut g,
            CMD_PATH,
            r"/c C:\Windows\System32\sc.exe query sshd"
        ),
        1060
    );
}

#[test]
fn powershell_command_exit_code_follows_the_last_statement() {
    let mut g = guest();
    assert_eq!(ps(&mut g, "exit 4").exit_code, 4);
    assert_eq!(ps(&mut g, "Get-Service VMTools").exit_code, 0);
    assert_eq!(ps(&mut g, "Get-Service sshd").exit_code, 1);
    assert_eq!(ps(&mut g, "Get-Service sshd; Write-Host ok").exit_code, 0);
    assert_eq!(ps(&mut g, "Invoke-Nonsense").exit_code, 1);
}

#[test]
fn powershell_stop_preference_makes_the_first_error_terminating() {
    let mut g = guest();
    assert_eq!(
        ps(
            &mut g,
            "$ErrorActionPreference = 'Stop'; Get-Service sshd; exit 0"
        )
        .exit_code,
        1
    );
    assert_eq!(
        ps(&mut g, "Get-Service sshd -ErrorAction Stop; exit 0").exit_code,
        1
    );
    assert_eq!(ps(&mut g, "throw 'boom'").exit_code, 1);
}

#[test]
fn powershell_if_tests_service_state_and_paths() {
    let mut g = guest();
    let check = "if ((Get-Service VMTools).Status -eq 'Running') { exit 0 } else { exit 1 }";
    assert_eq!(ps(&mut g, check).exit_code, 0);
    g.set_service_status("VMTools", ServiceStatus::Stopped)
        .unwrap();
    assert_eq!(ps(&mut g, check).exit_code, 1);
    assert_eq!(
        ps(&mut g, r"if (-not (Test-Path C:\nothing)) { exit 9 }").exit_code,
        9
    );
    assert_eq!(
        ps(
            &mut g,
            r"if (Test-Path C:\nothing) { exit 1 } elseif (Test-Path C:\Windows) { exit 2 }"
        )
        .exit_code,
        2
    );
}

#[test]
fn powershell_service_cmdlets_change_service_state() {
    let mut g = guest();
    assert_eq!(ps(&mut g, "Stop-Service VMTools").exit_code, 0);
    assert!(!g.vmtools_running());
    assert_eq!(
        ps(
            &mut g,
            "Set-Service -Name W32Time -StartupType Automatic -Status Running"
        )
        .exit_code,
        0
    );
    let w32time = g.service("W32Time").unwrap();
    assert_eq!(
        (w32time.status, w32time.start_type),
        (ServiceStatus::Running, StartType::Automatic)
    );
}

#[test]
fn powershell_encoded_command_is_decoded_from_utf16le_base64() {
    let mut g = guest();
    let utf16: Vec<u8> = "exit 12"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(utf16);
    assert_eq!(
        exit_code(
            &mut g,
            POWERSHELL_PATH,
            &format!("-NoProfile -EncodedCommand {encoded}")
        ),
        12
    );
}

#[test]
fn powershell_restart_computer_reboots_after_exit() {
    let mut g = guest();
    assert!(matches!(
        ps(&mut g, "Restart-Computer -Force").after_exit,
        Some(PowerEffect::Reboot { .. })
    ));
}

#[test]
fn a_users_own_script_is_read_from_the_guest_and_interpreted() {
    let mut g = guest();
    let script = "# custom step\r\nparam()\r\n$ErrorActionPreference = 'Stop'\r\nif (-not (Test-Path 'C:\\gild\\flag')) {\r\n    exit 4\r\n}\r\n";
    g.create_dir(r"C:\gild", true).unwrap();
    g.write_file(r"C:\gild\custom.ps1", script.into(), true)
        .unwrap();
    assert_eq!(
        exit_code(&mut g, POWERSHELL_PATH, r"-File C:\gild\custom.ps1"),
        4
    );
    g.write_file(r"C:\gild\flag", "".into(), true).unwrap();
    assert_eq!(
        exit_code(&mut g, POWERSHELL_PATH, r"-File C:\gild\custom.ps1"),
        0
    );
}

#[test]
fn icacls_reports_missing_files_and_applies_grants() {
    let mut g = guest();
    assert_eq!(exit_code(&mut g, ICACLS_PATH, r"C:\missing.txt"), 2);
    g.write_file(r"C:\k.txt", "k".into(), true).unwrap();
    assert_eq!(exit_code(&mut g, ICACLS_PATH, r"C:\k.txt"), 0);
    assert_eq!(
        exit_code(
            &mut g,
            ICACLS_PATH,
            r#"C:\k.txt /inheritance:r /grant "Administrators:(F)" /grant SYSTEM:F"#
        ),
        0
    );
    let mut principals = g.file_acl(r"C:\k.txt").unwrap().principals();
    principals.sort();
    assert_eq!(
        principals,
        vec!["BUILTIN\\Administrators", "NT AUTHORITY\\SYSTEM"]
    );
    assert_eq!(
        exit_code(&mut g, ICACLS_PATH, r"C:\k.txt /grant Users:(OI)(CI)(RX)"),
        0
    );
    let acl = g.file_acl(r"C:\k.txt").unwrap();
    let users = acl.entries.iter().find(|a| a.principal == r"BUILTIN\Users");
    assert_eq!(users.map(|a| a.rights.as_str()), Some("RX"));
}

#[test]
fn sc_query_distinguishes_installed_from_missing_services() {
    let mut g = guest();
    assert_eq!(exit_code(&mut g, SC_PATH, "query VMTools"), 0);
    assert_eq!(exit_code(&mut g, SC_PATH, "query sshd"), 1060);
    assert_eq!(exit_code(&mut g, SC_PATH, "start VMTools"), 1056);
    assert_eq!(exit_code(&mut g, SC_PATH, "stop VMTools"), 0);
    assert!(!g.vmtools_running());
    assert_eq!(
        exit_code(&mut g, SC_PATH, "config VMTools start= disabled"),
        0
    );
    assert_eq!(exit_code(&mut g, SC_PATH, "start VMTools"), 1058);
}

#[test]
fn shutdown_reboots_with_its_delay_capped_by_the_guest_timing() {
    let mut g = guest();
    let outcome = run(&mut g, SHUTDOWN_PATH, "/r /t 30").unwrap();
    assert_eq!(
        outcome.after_exit,
        Some(PowerEffect::Reboot {
            after: Duration::ZERO
        })
    );
    g.set_timing(GuestTiming {
        max_shutdown_delay: Duration::from_secs(10),
        ..GuestTiming::default()
    });
    let outcome = run(&mut g, SHUTDOWN_PATH, "/s /t 5").unwrap();
    assert_eq!(
        outcome.after_exit,
        Some(PowerEffect::PowerOff {
            after: Duration::from_secs(5)
        })
    );
    assert_eq!(exit_code(&mut g, SHUTDOWN_PATH, "/t 5"), 87);
}

#[test]
fn a_missing_program_fails_to_start_with_program_not_found() {
    let mut g = guest();
    assert_eq!(
        run(&mut g, r"C:\Windows\System32\nope.exe", ""),
        Err(GuestError::ProgramNotFound {
            path: r"C:\Windows\System32\nope.exe".into()
        })
    );
}

#[test]
fn an_existing_file_the_model_cannot_run_is_not_executable() {
    let mut g = guest();
    g.write_file(r"C:\tool.exe", "MZ".into(), true).unwrap();
    assert!(matches!(
        run(&mut g, r"C:\tool.exe", ""),
        Err(GuestError::NotExecutable { .. })
    ));
}

#[test]
fn a_missing_working_directory_is_an_invalid_argument() {
    let mut g = guest();
    let spec = ProcessSpec {
        path: CMD_PATH.into(),
        working_directory: Some(r"C:\nowhere".into()),
        ..Default::default()
    };
    assert!(matches!(
        g.run_process(&spec),
        Err(GuestError::InvalidArgument(_))
    ));
}

#[test]
fn every_started_command_line_is_logged_for_secret_checks() {
    let mut g = guest();
    run(&mut g, CMD_PATH, "/c exit 0").unwrap();
    assert_eq!(g.process_log(), [format!("\"{CMD_PATH}\" /c exit 0")]);
}

#[test]
fn a_password_on_a_command_line_is_flagged_and_redacted_from_the_log() {
    let mut g = guest();
    run(&mut g, CMD_PATH, "/c exit 0").unwrap();
    assert!(!g.password_seen_on_command_line());
    run(&mut g, CMD_PATH, "/c echo pw-123").unwrap();
    assert!(g.password_seen_on_command_line());
    assert!(g.process_log().iter().all(|line| !line.contains("pw-123")));
}

#[test]
fn shells_find_system32_programs_on_the_path() {
    let mut g = guest();
    assert_eq!(exit_code(&mut g, CMD_PATH, "/c sc query sshd"), 1060);
    assert_eq!(exit_code(&mut g, CMD_PATH, "/c icacls.exe C:\\Windows"), 0);
}

#[test]
fn powershell_native_calls_set_lastexitcode_and_fail_the_command() {
    let mut g = guest();
    assert_eq!(ps(&mut g, "sc.exe query sshd").exit_code, 1);
    assert_eq!(
        ps(&mut g, "sc.exe query sshd; exit $LASTEXITCODE").exit_code,
        1060
    );
    let quoted =
        r"& 'C:\Windows\System32\icacls.exe' C:\nothing; if ($LASTEXITCODE -ne 0) { exit 5 }";
    assert_eq!(ps(&mut g, quoted).exit_code, 5);
    assert_eq!(ps(&mut g, "no-such-tool.exe").exit_code, 1);
}

#[test]
fn facts_reflect_the_current_model_state() {
    let mut g = guest();
    assert_eq!(
        g.facts()["tools_conf"]["exclude_nics"],
        "vEthernet*,veth*,docker*,cali*,flannel*"
    );
    g.set_service_status("VMTools", ServiceStatus::Stopped)
        .unwrap();
    let facts = g.facts();
    let vmtools = facts["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "VMTools")
        .cloned();
    assert_eq!(
        vmtools.map(|s| s["status"].clone()),
        Some(serde_json::json!("Stopped"))
    );
    assert_eq!(
        facts["os"]["caption"],
        "Microsoft Windows Server 2022 Datacenter"
    );
}
