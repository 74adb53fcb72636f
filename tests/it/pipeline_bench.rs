//! `gild bench validate` runs to the end and reports both tools and an
//! honest PASS/MISS verdict (a MISS exits 1, which is not a failure here;
//! a crash or a missing figure is). Needs Debian's `packer` (.ci/run
//! installs it).

use assert_cmd::Command;

#[test]
fn bench_validate_times_gild_next_to_packer_and_gives_a_verdict() {
    let out = Command::cargo_bin("gild")
        .unwrap()
        .args(["bench", "validate", "--rounds", "2"])
        .timeout(std::time::Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{:?}\n{stdout}\n{stderr}",
        out.status
    );
    for line in ["gild validate:", "packer validate:"] {
        let l = stdout
            .lines()
            .find(|l| l.starts_with(line))
            .unwrap_or_else(|| panic!("no {line} line:\n{stdout}\n{stderr}"));
        assert!(l.trim_end().ends_with(" ms"), "{l}");
    }
    let verdict = stdout.lines().find(|l| l.starts_with("ratio")).unwrap();
    assert!(
        verdict.ends_with("PASS") || verdict.ends_with("MISS"),
        "{verdict}"
    );
}
