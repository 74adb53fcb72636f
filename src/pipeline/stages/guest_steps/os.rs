//! The Windows the guest runs, checked against the target's row (SPEC
//! "Target versions"): the OS build and its revision (UBR) — never a KB id,
//! since cumulative updates supersede KB ids and Windows Update never
//! offers an old one (KB4565351 for wmco-4.9 is 20H2 at any revision or 2004
//! from 19041.450; KB5012637 for 2022 is 20348.681) — and, for WMCO targets, the
//! display language en-US (WMCO supports no other; the display language of
//! the account can differ from the install language once a language pack
//! is added, so the install language alone proves nothing).

use super::{Build, GuestFacts};
use crate::pipeline::error::StageError;

/// The target's releases as `label build.ubr+`, joined with "or".
fn expected(b: &Build<'_>) -> String {
    let rows = b.job.pipeline.target.os_builds();
    if rows.is_empty() {
        return "any Windows build".into();
    }
    rows.iter()
        .map(|r| format!("{} {}.{}+", r.label, r.build, r.min_ubr))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Checks build and revision. With `revision_later` (a windows_update
/// stage follows and will raise the UBR) only the build is checked here.
pub(crate) fn check_os(
    b: &mut Build<'_>,
    facts: &GuestFacts,
    revision_later: bool,
) -> Result<String, StageError> {
    let target = b.job.pipeline.target;
    let build = facts.os.build;
    let ubr = facts.os.ubr.unwrap_or(0);
    let observed = format!("{build}.{ubr}");
    if revision_later {
        let rows = target.os_builds();
        b.checks.expect(
            "OS build is one the target supports (revision checked after windows_update)",
            expected(b),
            observed.clone(),
            rows.is_empty() || rows.iter().any(|r| r.build == build),
        )?;
    } else {
        let verdict = target.accepts_os(build, ubr);
        b.checks.expect(
            "OS build and revision (UBR) meet the target",
            expected(b),
            match &verdict {
                Ok(_) => observed.clone(),
                Err(why) => why.clone(),
            },
            verdict.is_ok(),
        )?;
    }
    Ok(format!("OS {observed}"))
}

/// WMCO supports en-US only: the display language must be en-US.
pub(crate) fn check_language(b: &mut Build<'_>, facts: &GuestFacts) -> Result<String, StageError> {
    let display = facts.language.clone().unwrap_or_else(|| "unknown".into());
    if !b.job.pipeline.target.is_wmco() {
        return Ok(format!("language {display}"));
    }
    let observed = match &facts.install_language {
        Some(install) if !install.eq_ignore_ascii_case(&display) => {
            format!("{display} (installed as {install})")
        }
        _ => display.clone(),
    };
    b.checks.expect(
        "Windows display language",
        "en-US (WMCO supports no other)",
        observed,
        display.eq_ignore_ascii_case("en-US"),
    )?;
    Ok(format!("language {display}"))
}
