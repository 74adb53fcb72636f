//! A real third-party HTTP client (Python `requests`, field names and
//! status codes written from VMware's contract, not from gild's code) runs
//! against `gild simulator serve` started as a subprocess: session, VM
//! list, clone, power, tools, guest identity, guest processes and a file
//! upload/download round trip through the transfer URL.
//!
//! Missing python3 or `requests` FAILS the test (CI installs them).

use std::path::Path;
use std::time::Duration;

const INSTALL_HINT: &str = "run `pip install -r tests/python/requirements.txt` (needs python3)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_requests_client_passes_against_gild_simulator_serve() {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import requests"])
        .output()
        .await;
    match probe {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "python3 cannot import requests ({}); {INSTALL_HINT}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("python3 is not available ({e}); {INSTALL_HINT}"),
    }

    let serve = crate::support::serve_process().await;
    let b = serve.banner.clone();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/vsphere_requests_client.py");
    let mut cmd = tokio::process::Command::new("python3");
    cmd.arg(&script).args([
        "--url",
        &b.url,
        "--user",
        &b.user,
        "--guest-user",
        &b.guest_user,
    ]);
    if let Some(ca) = &b.ca_file {
        cmd.arg("--ca").arg(ca);
    }
    // Passwords through the environment, never on a command line.
    cmd.env("GILD_PY_PASSWORD", &b.password)
        .env("GILD_PY_GUEST_PASSWORD", &b.guest_password);
    let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .expect("the Python client finishes within 5 minutes")
        .expect("python3 runs");
    serve.stop().await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "Python client failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let passed = stdout
        .lines()
        .find(|l| l.starts_with("ok: "))
        .unwrap_or_else(|| panic!("no summary line in:\n{stdout}"));
    assert!(passed.contains("13 steps passed"), "{passed}");
}
