//! Names gild gives things in vCenter: the template (from the pipeline's
//! `template.name` pattern), the build VM (`<name>-build-<UTC timestamp>`),
//! and how to tell whether an existing template or VM belongs to a
//! pipeline (publish and `templates list|prune` must never touch another
//! pipeline's templates).
//!
//! vSphere names (VMware's VI JSON API reference, e.g. RegisterChildVM_Task
//! `name`: "An entity name must be a non-empty string of less than 80
//! characters. The slash (/), backslash (\) and percent (%) will be escaped
//! using the URL syntax"; KB 2051649: VM names up to 80 characters since
//! vCenter 5.0): gild allows at most 80 characters and refuses `%`, `/` and
//! `\` outright — an escaped name (`a%2Fb`) no longer matches what the
//! pipeline says, and searches by name miss it. Control characters and
//! leading/trailing spaces are refused too (gild's rule: they cannot be
//! typed back into a search).

use super::target::Target;
use chrono::{DateTime, NaiveDateTime, Utc};
use std::path::Path;

/// vSphere's limit on a VM or template name, in characters.
pub const MAX_VM_NAME: usize = 80;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("name is empty")]
    Empty,
    #[error("name {name:?} is {len} characters; vSphere allows at most {MAX_VM_NAME}")]
    TooLong { name: String, len: usize },
    #[error("name {name:?} contains {ch:?}, which vCenter escapes (`%`, `/`, `\\`); use letters, digits, `-`, `_` or `.`")]
    Escaped { name: String, ch: char },
    #[error("name {name:?} contains a control character or starts/ends with a space")]
    Unprintable { name: String },
    #[error("template name pattern {pattern:?}: unknown placeholder `{{{placeholder}}}` (known: {{name}}, {{date}}, {{target}}, {{git_sha}})")]
    UnknownPlaceholder {
        pattern: String,
        placeholder: String,
    },
    #[error("template name pattern {pattern:?}: unbalanced `{{` or `}}` (write `{{{{` / `}}}}` for literal braces)")]
    Unbalanced { pattern: String },
    #[error("template name pattern uses {{git_sha}} but no commit is known: set GIT_COMMIT, GITHUB_SHA or CI_COMMIT_SHA, or build from a git checkout")]
    NoGitSha,
}

/// Checks a VM or template name against what vSphere takes as is.
pub fn check_vm_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let len = name.chars().count();
    if len > MAX_VM_NAME {
        return Err(NameError::TooLong {
            name: name.to_string(),
            len,
        });
    }
    if let Some(ch) = name.chars().find(|c| matches!(c, '%' | '/' | '\\')) {
        return Err(NameError::Escaped {
            name: name.to_string(),
            ch,
        });
    }
    if name.chars().any(char::is_control) || name.trim() != name {
        return Err(NameError::Unprintable {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// An RFC 1123 DNS label of at most `max` characters: lowercase letters,
/// digits and `-`, starting and ending with a letter or digit (Kubernetes
/// object names; gild's pipeline names, which end up in VM, template and
/// state file names, follow the same rule).
pub fn is_dns_label(s: &str, max: usize) -> bool {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(alnum)
        && s.ends_with(alnum)
        && s.chars().all(|c| alnum(c) || c == '-')
}

/// The `{date}` format: UTC, minutes.
pub const DATE_FORMAT: &str = "%Y%m%d-%H%M";
/// The build VM timestamp: UTC, seconds (two builds a minute apart must
/// not collide).
pub const BUILD_STAMP_FORMAT: &str = "%Y%m%d-%H%M%S";

/// `<name>-build-<YYYYMMDD-HHMMSS>` (UTC).
pub fn build_vm_name(pipeline: &str, now: DateTime<Utc>) -> String {
    format!("{pipeline}-build-{}", now.format(BUILD_STAMP_FORMAT))
}

/// When `vm` is a build VM of `pipeline` (by name), the time it was made.
/// `cleanup` also checks gild's annotation before deleting anything.
pub fn parse_build_vm_name(pipeline: &str, vm: &str) -> Option<NaiveDateTime> {
    let stamp = vm.strip_prefix(pipeline)?.strip_prefix("-build-")?;
    if stamp.len() != 15 {
        return None;
    }
    NaiveDateTime::parse_from_str(stamp, BUILD_STAMP_FORMAT).ok()
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Lit(String),
    Name,
    Date,
    Target,
    GitSha,
}

/// A parsed `template.name` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamePattern {
    raw: String,
    parts: Vec<Part>,
}

/// What a pattern is rendered with.
#[derive(Clone, Debug)]
pub struct NameContext<'a> {
    pub name: &'a str,
    pub target: Target,
    pub now: DateTime<Utc>,
    /// Short commit id, when known ([`git_sha`]).
    pub git_sha: Option<&'a str>,
}

impl NamePattern {
    pub fn parse(pattern: &str) -> Result<Self, NameError> {
        let unbalanced = || NameError::Unbalanced {
            pattern: pattern.to_string(),
        };
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    lit.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    lit.push('}');
                }
                '}' => return Err(unbalanced()),
                '{' => {
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some('}') => break,
                            Some('{') | None => return Err(unbalanced()),
                            Some(c) => name.push(c),
                        }
                    }
                    let part = match name.as_str() {
                        "name" => Part::Name,
                        "date" => Part::Date,
                        "target" => Part::Target,
                        "git_sha" => Part::GitSha,
                        _ => {
                            return Err(NameError::UnknownPlaceholder {
                                pattern: pattern.to_string(),
                                placeholder: name,
                            })
                        }
                    };
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(part);
                }
                c => lit.push(c),
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(NamePattern {
            raw: pattern.to_string(),
            parts,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the pattern names the pipeline (`{name}`), which is what
    /// keeps its templates apart from other pipelines'.
    pub fn uses_name(&self) -> bool {
        self.parts.contains(&Part::Name)
    }

    /// Whether two builds render different names (`{date}` or `{git_sha}`).
    pub fn varies_per_build(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Date | Part::GitSha))
    }

    pub fn uses_git_sha(&self) -> bool {
        self.parts.contains(&Part::GitSha)
    }

    /// The template name, checked against vSphere's rules.
    pub fn render(&self, ctx: &NameContext<'_>) -> Result<String, NameError> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Name => out.push_str(ctx.name),
                Part::Date => out.push_str(&ctx.now.format(DATE_FORMAT).to_string()),
                Part::Target => out.push_str(ctx.target.as_str()),
                Part::GitSha => out.push_str(ctx.git_sha.ok_or(NameError::NoGitSha)?),
            }
        }
        check_vm_name(&out)?;
        Ok(out)
    }

    /// Matches the names this pattern renders for pipeline `name` and
    /// `target`, whatever the date and commit.
    pub fn matcher(&self, name: &str, target: Target) -> TemplateMatcher {
        let mut parts: Vec<MatchPart> = Vec::new();
        for p in &self.parts {
            let lit = match p {
                Part::Lit(s) => Some(s.as_str()),
                Part::Name => Some(name),
                Part::Target => Some(target.as_str()),
                Part::Date => {
                    parts.push(MatchPart::Date);
                    None
                }
                Part::GitSha => {
                    parts.push(MatchPart::Sha);
                    None
                }
            };
            if let Some(l) = lit {
                match parts.last_mut() {
                    Some(MatchPart::Lit(prev)) => prev.push_str(l),
                    _ => parts.push(MatchPart::Lit(l.to_string())),
                }
            }
        }
        TemplateMatcher { parts }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum MatchPart {
    Lit(String),
    /// `YYYYMMDD-HHMM`.
    Date,
    /// 7 to 40 lowercase hex digits.
    Sha,
}

/// Tells whether a template name belongs to one pipeline (see
/// [`NamePattern::matcher`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateMatcher {
    parts: Vec<MatchPart>,
}

/// What a matching name says about its build.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TemplateMatch {
    /// From `{date}`, when the pattern has it: newest-first sorting.
    pub date: Option<NaiveDateTime>,
    pub git_sha: Option<String>,
}

impl TemplateMatcher {
    pub fn matches(&self, candidate: &str) -> Option<TemplateMatch> {
        let mut found = TemplateMatch::default();
        match_parts(&self.parts, candidate, &mut found).then_some(found)
    }
}

fn match_parts(parts: &[MatchPart], rest: &str, found: &mut TemplateMatch) -> bool {
    let Some((first, tail)) = parts.split_first() else {
        return rest.is_empty();
    };
    match first {
        MatchPart::Lit(l) => rest
            .strip_prefix(l.as_str())
            .is_some_and(|r| match_parts(tail, r, found)),
        MatchPart::Date => {
            let Some(stamp) = rest.get(..13) else {
                return false;
            };
            let Ok(date) = NaiveDateTime::parse_from_str(stamp, DATE_FORMAT) else {
                return false;
            };
            if !stamp.bytes().enumerate().all(|(i, b)| {
                if i == 8 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            }) {
                return false;
            }
            found.date = Some(date);
            match_parts(tail, &rest[13..], found)
        }
        MatchPart::Sha => {
            let hex = rest
                .bytes()
                .take_while(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
                .count()
                .min(40);
            // Longest first, so a literal that starts with a hex digit
            // after the commit still matches.
            (7..=hex).rev().any(|n| {
                let ok = match_parts(tail, &rest[n..], found);
                if ok {
                    found.git_sha = Some(rest[..n].to_string());
                }
                ok
            })
        }
    }
}

/// The short (7-digit) commit the image is built from: CI's variable
/// (`GIT_COMMIT` Jenkins, `GITHUB_SHA` GitHub Actions, `CI_COMMIT_SHA`
/// GitLab), else `git rev-parse` in the pipeline's folder.
pub fn git_sha(dir: &Path) -> Option<String> {
    let from_env = ["GIT_COMMIT", "GITHUB_SHA", "CI_COMMIT_SHA"]
        .iter()
        .find_map(|v| std::env::var(v).ok().and_then(|s| short_sha(&s)));
    from_env.or_else(|| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "HEAD"])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| short_sha(String::from_utf8_lossy(&out.stdout).trim()))
            .flatten()
    })
}

fn short_sha(s: &str) -> Option<String> {
    let s = s.trim().to_ascii_lowercase();
    (s.len() >= 7 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s[..7].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 14, 9, 7, 31).unwrap()
    }

    fn ctx(sha: Option<&str>) -> NameContext<'_> {
        NameContext {
            name: "ws2022",
            target: Target::Wmco4_11Plus,
            now: at(),
            git_sha: sha,
        }
    }

    #[test]
    fn patterns_render_every_placeholder() {
        let p = NamePattern::parse("{name}-{target}-{date}-{git_sha}").unwrap();
        assert_eq!(
            p.render(&ctx(Some("abc1234"))).unwrap(),
            "ws2022-wmco-4.11+-20240514-0907-abc1234"
        );
        assert_eq!(p.render(&ctx(None)), Err(NameError::NoGitSha));
        let braces = NamePattern::parse("{{x}}-{name}").unwrap();
        assert_eq!(braces.render(&ctx(None)).unwrap(), "{x}-ws2022");
    }

    #[test]
    fn malformed_patterns_are_refused() {
        assert!(matches!(
            NamePattern::parse("{name}-{sha}"),
            Err(NameError::UnknownPlaceholder { ref placeholder, .. }) if placeholder == "sha"
        ));
        assert!(matches!(
            NamePattern::parse("{name"),
            Err(NameError::Unbalanced { .. })
        ));
        assert!(matches!(
            NamePattern::parse("a}b"),
            Err(NameError::Unbalanced { .. })
        ));
    }

    #[test]
    fn vsphere_names_are_checked() {
        assert!(check_vm_name(&"a".repeat(80)).is_ok());
        assert!(matches!(
            check_vm_name(&"a".repeat(81)),
            Err(NameError::TooLong { len: 81, .. })
        ));
        for bad in ["a/b", "a\\b", "100%"] {
            assert!(
                matches!(check_vm_name(bad), Err(NameError::Escaped { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            check_vm_name(" a"),
            Err(NameError::Unprintable { .. })
        ));
        assert!(matches!(
            check_vm_name("a\tb"),
            Err(NameError::Unprintable { .. })
        ));
        assert_eq!(check_vm_name(""), Err(NameError::Empty));
        let p = NamePattern::parse("{name}/{date}").unwrap();
        assert!(matches!(
            p.render(&ctx(None)),
            Err(NameError::Escaped { ch: '/', .. })
        ));
    }

    #[test]
    fn matcher_accepts_this_pipelines_names_only_and_reads_the_date() {
        let p = NamePattern::parse("{name}-{target}-{date}-{git_sha}").unwrap();
        let m = p.matcher("ws2022", Target::Wmco4_11Plus);
        let rendered = p.render(&ctx(Some("abc1234"))).unwrap();
        let found = m.matches(&rendered).unwrap();
        assert_eq!(found.date, Some(at().naive_utc().with_second_zero()));
        assert_eq!(found.git_sha.as_deref(), Some("abc1234"));
        for other in [
            "ws2022-wmco-4.11+-20240514-0907",
            "ws2022x-wmco-4.11+-20240514-0907-abc1234",
            "ws2022-wmco-4.9-20240514-0907-abc1234",
            "ws2022-wmco-4.11+-2024051-0907-abc1234",
            "ws2022-wmco-4.11+-20241314-0907-abc1234",
            "ws2022-wmco-4.11+-20240514-0907-ABC1234",
        ] {
            assert_eq!(m.matches(other), None, "{other}");
        }
    }

    #[test]
    fn sha_followed_by_hex_literal_backtracks() {
        let p = NamePattern::parse("{name}-{git_sha}abc").unwrap();
        let m = p.matcher("x", Target::Kubernetes);
        assert_eq!(
            m.matches("x-1234567abc").and_then(|f| f.git_sha).as_deref(),
            Some("1234567")
        );
    }

    #[test]
    fn dns_labels_are_lowercase_alphanumeric_with_inner_dashes() {
        assert!(is_dns_label("wmco-ws2022", 63));
        assert!(is_dns_label("win1", 9));
        for bad in ["", "-a", "a-", "Ab", "a_b", "winworker1"] {
            assert!(!is_dns_label(bad, 9), "{bad}");
        }
    }

    #[test]
    fn build_vm_names_round_trip() {
        let n = build_vm_name("ws2022", at());
        assert_eq!(n, "ws2022-build-20240514-090731");
        assert_eq!(parse_build_vm_name("ws2022", &n), Some(at().naive_utc()));
        assert_eq!(parse_build_vm_name("ws202", &n), None);
        assert_eq!(parse_build_vm_name("ws2022", "ws2022-build-x"), None);
    }

    #[test]
    fn short_sha_takes_seven_hex_digits() {
        assert_eq!(short_sha("ABCDEF0123456789").as_deref(), Some("abcdef0"));
        assert_eq!(short_sha("xyz"), None);
    }

    trait SecondZero {
        fn with_second_zero(self) -> NaiveDateTime;
    }
    impl SecondZero for NaiveDateTime {
        fn with_second_zero(self) -> NaiveDateTime {
            use chrono::Timelike;
            self.with_second(0).unwrap()
        }
    }
}
