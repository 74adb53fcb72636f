//! The benchmarks are measurements, not timed tests: these only prove that
//! each one runs to the end and reports every figure with an honest
//! PASS/MISS verdict (a MISS exits 1, which is not a failure here; a crash,
//! bad usage or a missing figure is).

use assert_cmd::Command;
use predicates::prelude::*;

fn run_bench(args: &[&str]) -> String {
    let out = Command::cargo_bin("gild")
        .expect("gild binary")
        .arg("bench")
        .args(args)
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .expect("run gild bench");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "gild bench {args:?} ended with {:?}:\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        !stderr.contains("error:"),
        "gild bench {args:?} failed:\n{stderr}"
    );
    stdout
}

#[test]
fn bench_client_reports_throughput_and_connection_count() {
    let out = run_bench(&["client", "--calls", "50"]);
    assert!(
        predicate::str::is_match(r"throughput\s+\d+ calls/s")
            .expect("regex")
            .eval(&out),
        "{out}"
    );
    assert!(
        predicate::str::is_match(r"connections\s+\d+ .*(PASS|MISS)")
            .expect("regex")
            .eval(&out),
        "{out}"
    );
}

#[test]
fn bench_transfer_reports_both_directions_next_to_curl_and_peak_rss() {
    let out = run_bench(&["transfer", "--size", "4MiB"]);
    for direction in ["upload", "download"] {
        let line = out
            .lines()
            .find(|l| l.trim_start().starts_with(direction))
            .unwrap_or_else(|| panic!("no {direction} line:\n{out}"));
        assert!(
            line.contains("gild") && line.contains("curl") && line.contains("MB/s"),
            "{line}"
        );
        assert!(line.ends_with("PASS") || line.ends_with("MISS"), "{line}");
    }
    assert!(
        predicate::str::is_match(r"peak RSS\s+\d+\.\d MiB .*(PASS|MISS)")
            .expect("regex")
            .eval(&out),
        "{out}"
    );
}
