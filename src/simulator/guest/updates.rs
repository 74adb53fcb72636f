//! Windows Update as the model runs it: each release's update catalogue,
//! what is installed, the build revision (UBR) and the reboot it owes.
//!
//! Facts modelled (Microsoft's update history and WUA documentation):
//! - a cumulative update raises the UBR only once the reboot that completes
//!   it has happened; until then Windows reports the old revision and a
//!   pending reboot;
//! - Windows Update offers only the newest cumulative update (it supersedes
//!   every older one, whose KB id is never offered again); preview updates
//!   are optional (`BrowseOnly=1`) and are found only by a search that does
//!   not exclude them;
//! - `IUpdateSearcher::Search` takes the criteria language of MS-UAMG
//!   3.38.4.11 (`and`/`or` of `Property=value`; `!=` only with `Type`),
//!   anything else is `WU_E_INVALID_CRITERIA`;
//! - an install whose updates partly fail ends with OperationResultCode 3
//!   (succeeded with errors), all failing with 4.
//!
//! The catalogue is a few real updates per release (KB, OS build from
//! Microsoft's update history), not the whole history.

use super::os::GuestOs;
use std::collections::BTreeSet;

/// One update Windows Update can offer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateSpec {
    pub kb: String,
    pub title: String,
    /// The build revision a cumulative update brings (after its reboot).
    pub ubr: Option<u32>,
    /// `BrowseOnly`: an optional update, such as a preview cumulative update.
    pub browse_only: bool,
    /// `AutoSelectOnWebSites`: Windows Update selects it by itself.
    pub auto_select: bool,
    pub reboot_required: bool,
    pub hidden: bool,
}

/// (KB, title, UBR, BrowseOnly); every cumulative update needs a reboot.
type Entry = (&'static str, &'static str, u32, bool);

const MSRT: Entry = (
    "KB890830",
    "Windows Malicious Software Removal Tool x64 (KB890830)",
    0,
    false,
);

/// The cumulative update a fresh image of the release carries, and what
/// Windows Update offers it.
fn catalogue(os: GuestOs) -> (Entry, &'static [Entry]) {
    match os {
        GuestOs::WindowsServer2019 => (
            // August 2021 (17763.2114).
            ("KB5005030", "2021-08 Cumulative Update for Windows Server 2019 for x64-based Systems (KB5005030)", 2114, false),
            &[
                ("KB5044277", "2024-10 Cumulative Update for Windows Server 2019 for x64-based Systems (KB5044277)", 6414, false),
                MSRT,
            ],
        ),
        GuestOs::WindowsServer2004 => (
            ("KB5003637", "2021-06 Cumulative Update for Windows Server, version 2004 for x64-based Systems (KB5003637)", 1052, false),
            // December 2021: the last update before 2004's end of servicing.
            &[
                ("KB5008212", "2021-12 Cumulative Update for Windows Server, version 2004 for x64-based Systems (KB5008212)", 1415, false),
                MSRT,
            ],
        ),
        GuestOs::WindowsServer20H2 => (
            ("KB5003637", "2021-06 Cumulative Update for Windows Server, version 20H2 for x64-based Systems (KB5003637)", 1052, false),
            // August 2022: the last update before 20H2's end of servicing.
            &[
                ("KB5016616", "2022-08 Cumulative Update for Windows Server, version 20H2 for x64-based Systems (KB5016616)", 1889, false),
                MSRT,
            ],
        ),
        GuestOs::WindowsServer2022 => (
            // August 2022 (20348.887): past KB5012637's 20348.681.
            ("KB5016627", "2022-08 Cumulative Update for Microsoft server operating system version 21H2 for x64-based Systems (KB5016627)", 887, false),
            &[
                ("KB5044281", "2024-10 Cumulative Update for Microsoft server operating system version 21H2 for x64-based Systems (KB5044281)", 2762, false),
                MSRT,
            ],
        ),
        GuestOs::WindowsServer2025 => (
            ("KB5043080", "2024-09 Cumulative Update for Microsoft server operating system version 24H2 for x64-based Systems (KB5043080)", 1742, false),
            &[
                ("KB5044284", "2024-10 Cumulative Update for Microsoft server operating system version 24H2 for x64-based Systems (KB5044284)", 2033, false),
                ("KB5044384", "2024-10 Cumulative Update Preview for Microsoft server operating system version 24H2 for x64-based Systems (KB5044384)", 2161, true),
                MSRT,
            ],
        ),
    }
}

fn spec((kb, title, ubr, browse_only): Entry) -> UpdateSpec {
    UpdateSpec {
        kb: kb.into(),
        title: title.into(),
        ubr: (ubr > 0).then_some(ubr),
        browse_only,
        auto_select: !browse_only,
        reboot_required: ubr > 0,
        hidden: false,
    }
}

/// The baseline cumulative update and UBR of a fresh `os` image.
pub fn baseline(os: GuestOs) -> (&'static str, u32) {
    let ((kb, _, ubr, _), _) = catalogue(os);
    (kb, ubr)
}

/// The newest non-optional cumulative update Windows Update offers `os`.
pub fn latest(os: GuestOs) -> (&'static str, u32) {
    let (base, offered) = catalogue(os);
    offered
        .iter()
        .filter(|(_, _, ubr, browse_only)| *ubr > 0 && !browse_only)
        .chain(std::iter::once(&base))
        .map(|(kb, _, ubr, _)| (*kb, *ubr))
        .max_by_key(|(_, ubr)| *ubr)
        .expect("the baseline is always there")
}

/// Why a reboot is owed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RebootSource {
    /// Component-based servicing: a feature install waits for its reboot.
    ComponentServicing,
    /// Windows Update installed something that completes at the next boot.
    WindowsUpdate,
}

impl RebootSource {
    /// The names collect-facts.ps1 reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            RebootSource::ComponentServicing => "component_based_servicing",
            RebootSource::WindowsUpdate => "windows_update",
        }
    }
}

/// The outcome of `IUpdateInstaller::Install` for one update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateResult {
    pub update: UpdateSpec,
    /// OperationResultCode: 2 succeeded, 4 failed.
    pub result_code: u8,
    pub hresult: u32,
}

/// `ERROR_SXS_COMPONENT_STORE_CORRUPT`, the classic cumulative update failure.
pub const INJECTED_INSTALL_FAILURE: u32 = 0x8007_3712;
pub const WU_E_INVALID_CRITERIA: u32 = 0x8024_0032;

#[derive(Clone, Debug)]
pub struct Updates {
    os: GuestOs,
    installed: Vec<String>,
    ubr: u32,
    /// The UBR the next boot brings (a cumulative update is installed).
    pending_ubr: Option<u32>,
    pending: BTreeSet<RebootSource>,
    /// Updates a test or fault adds to the release's catalogue.
    extra: Vec<UpdateSpec>,
    /// KBs whose installation fails (fault injection).
    failing: BTreeSet<String>,
}

impl Updates {
    pub fn new(os: GuestOs) -> Self {
        let (kb, ubr) = baseline(os);
        Updates {
            os,
            installed: vec![kb.to_string()],
            ubr,
            pending_ubr: None,
            pending: BTreeSet::new(),
            extra: Vec::new(),
            failing: BTreeSet::new(),
        }
    }

    pub fn installed(&self) -> &[String] {
        &self.installed
    }

    pub fn is_installed(&self, kb: &str) -> bool {
        self.installed.iter().any(|k| k.eq_ignore_ascii_case(kb))
    }

    pub fn ubr(&self) -> u32 {
        self.ubr
    }

    /// An image at another revision of its release (inventory `os_ubr`).
    pub fn set_ubr(&mut self, ubr: u32) {
        self.ubr = ubr;
        // Any catalogued cumulative update at or below it is part of the image.
        for entry in self.catalogue() {
            if entry.ubr.is_some_and(|u| u <= ubr) && !self.is_installed(&entry.kb) {
                self.installed.push(entry.kb.clone());
            }
        }
    }

    pub fn reboot_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    pub fn reboot_sources(&self) -> Vec<&'static str> {
        self.pending.iter().map(RebootSource::as_str).collect()
    }

    pub fn require_reboot(&mut self, source: RebootSource) {
        self.pending.insert(source);
    }

    pub fn offer(&mut self, update: UpdateSpec) {
        self.extra.push(update);
    }

    pub fn fail_install(&mut self, kb: &str) {
        self.failing.insert(kb.to_ascii_uppercase());
    }

    /// A boot completes what was waiting for it.
    pub fn boot(&mut self) {
        if let Some(ubr) = self.pending_ubr.take() {
            self.ubr = self.ubr.max(ubr);
        }
        self.pending.clear();
    }

    fn catalogue(&self) -> Vec<UpdateSpec> {
        let (_, offered) = catalogue(self.os);
        offered
            .iter()
            .copied()
            .map(spec)
            .chain(self.extra.iter().cloned())
            .collect()
    }

    /// `IUpdateSearcher::Search(criteria)`. A cumulative update at or below
    /// the installed revision counts as installed (it is superseded).
    pub fn search(&self, criteria: &str) -> Result<Vec<UpdateSpec>, String> {
        let query = criteria::parse(criteria).map_err(|why| {
            format!(
                "Exception from HRESULT: 0x{WU_E_INVALID_CRITERIA:08X} (WU_E_INVALID_CRITERIA): {why} in {criteria:?}"
            )
        })?;
        let current = self.pending_ubr.unwrap_or(self.ubr).max(self.ubr);
        Ok(self
            .catalogue()
            .into_iter()
            .filter(|u| {
                let installed = self.is_installed(&u.kb) || u.ubr.is_some_and(|ubr| ubr <= current);
                query.matches(u, installed)
            })
            .collect())
    }

    /// `IUpdateInstaller::Install`: returns each update's result, the
    /// OperationResultCode of the whole run and whether a reboot is needed.
    pub fn install(&mut self, updates: &[UpdateSpec]) -> (Vec<UpdateResult>, u8, bool) {
        let mut results = Vec::new();
        let mut reboot = false;
        for update in updates {
            if self.failing.contains(&update.kb.to_ascii_uppercase()) {
                results.push(UpdateResult {
                    update: update.clone(),
                    result_code: 4,
                    hresult: INJECTED_INSTALL_FAILURE,
                });
                continue;
            }
            if !self.is_installed(&update.kb) {
                self.installed.push(update.kb.clone());
            }
            if let Some(ubr) = update.ubr {
                self.pending_ubr = Some(self.pending_ubr.unwrap_or(self.ubr).max(ubr));
            }
            reboot |= update.reboot_required;
            results.push(UpdateResult {
                update: update.clone(),
                result_code: 2,
                hresult: 0,
            });
        }
        if reboot {
            self.require_reboot(RebootSource::WindowsUpdate);
        }
        let failed = results.iter().filter(|r| r.result_code != 2).count();
        let code = match failed {
            0 => 2,
            n if n == results.len() => 4,
            _ => 3,
        };
        (results, code, reboot)
    }
}

mod criteria {
    //! The WUA search criteria language (MS-UAMG 3.38.4.11).

    use super::UpdateSpec;

    #[derive(Debug)]
    pub struct Query(Vec<Vec<Term>>);

    #[derive(Debug)]
    struct Term {
        property: String,
        negate: bool,
        value: Value,
    }

    #[derive(Debug, PartialEq)]
    enum Value {
        Int(i64),
        Text(String),
    }

    impl Query {
        pub fn matches(&self, update: &UpdateSpec, installed: bool) -> bool {
            self.0
                .iter()
                .any(|group| group.iter().all(|t| t.matches(update, installed)))
        }
    }

    impl Term {
        fn matches(&self, u: &UpdateSpec, installed: bool) -> bool {
            let flag = |b: bool| Value::Int(i64::from(b));
            let actual = match self.property.as_str() {
                "isinstalled" | "ispresent" => flag(installed),
                "ishidden" => flag(u.hidden),
                "browseonly" => flag(u.browse_only),
                "autoselectonwebsites" | "isassigned" => flag(u.auto_select),
                "rebootrequired" => flag(u.reboot_required),
                "type" => Value::Text("software".into()),
                "deploymentaction" => Value::Text("installation".into()),
                _ => return false,
            };
            (actual == self.value) != self.negate
        }
    }

    const PROPERTIES: &[&str] = &[
        "isinstalled",
        "ispresent",
        "ishidden",
        "browseonly",
        "autoselectonwebsites",
        "isassigned",
        "rebootrequired",
        "type",
        "deploymentaction",
    ];

    pub fn parse(text: &str) -> Result<Query, String> {
        let tokens = tokenize(text)?;
        let mut groups = vec![Vec::new()];
        let mut i = 0;
        loop {
            let (term, next) = term(&tokens, i)?;
            groups.last_mut().expect("one group").push(term);
            i = next;
            match tokens.get(i).map(String::as_str) {
                None => break,
                Some(w) if w.eq_ignore_ascii_case("and") => i += 1,
                Some(w) if w.eq_ignore_ascii_case("or") => {
                    groups.push(Vec::new());
                    i += 1;
                }
                Some(other) => return Err(format!("unexpected {other:?}")),
            }
        }
        Ok(Query(groups))
    }

    fn term(tokens: &[String], i: usize) -> Result<(Term, usize), String> {
        let property = tokens
            .get(i)
            .ok_or("a criterion is missing")?
            .to_ascii_lowercase();
        if !PROPERTIES.contains(&property.as_str()) {
            return Err(format!("{property:?} is not a criterion the model knows"));
        }
        let negate = match tokens.get(i + 1).map(String::as_str) {
            Some("=") => false,
            Some("!=") if property == "type" => true,
            Some("!=") => return Err(format!("!= is only allowed with Type, not {property}")),
            _ => return Err(format!("{property} needs = or !=")),
        };
        let raw = tokens.get(i + 2).ok_or("a value is missing")?;
        let value = match raw.strip_prefix('\'') {
            Some(text) => Value::Text(text.to_ascii_lowercase()),
            None => Value::Int(raw.parse().map_err(|_| format!("{raw:?} is not a value"))?),
        };
        Ok((
            Term {
                property,
                negate,
                value,
            },
            i + 3,
        ))
    }

    /// Words, `=`/`!=`, integers and `'strings'` (kept with a leading `'`).
    /// Parentheses only group, and only the top level may use `or`, so they
    /// are dropped.
    fn tokenize(text: &str) -> Result<Vec<String>, String> {
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                c if c.is_whitespace() || c == '(' || c == ')' => {}
                '=' => tokens.push("=".into()),
                '!' if chars.peek() == Some(&'=') => {
                    chars.next();
                    tokens.push("!=".into());
                }
                '\'' => {
                    let mut s = String::from("'");
                    loop {
                        match chars.next() {
                            Some('\'') => break,
                            Some(c) => s.push(c),
                            None => return Err("a string is not closed".into()),
                        }
                    }
                    tokens.push(s);
                }
                c if c.is_ascii_alphanumeric() || c == '-' => {
                    let mut word = String::from(c);
                    while let Some(&n) = chars.peek() {
                        if n.is_ascii_alphanumeric() {
                            word.push(n);
                            chars.next();
                        } else {
                            break;
                        }
                    }
                    tokens.push(word);
                }
                other => return Err(format!("unexpected character {other:?}")),
            }
        }
        Ok(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NON_OPTIONAL: &str = "IsInstalled=0 and Type='Software' and IsHidden=0 and BrowseOnly=0";

    #[test]
    fn a_search_without_browse_only_finds_the_optional_preview() {
        let u = Updates::new(GuestOs::WindowsServer2025);
        let all: Vec<_> = u
            .search("IsInstalled=0 and Type='Software' and IsHidden=0")
            .unwrap()
            .into_iter()
            .map(|u| u.kb)
            .collect();
        assert!(all.contains(&"KB5044384".to_string()), "{all:?}");
        let wanted: Vec<_> = u
            .search(NON_OPTIONAL)
            .unwrap()
            .into_iter()
            .map(|u| u.kb)
            .collect();
        assert_eq!(wanted, vec!["KB5044284", "KB890830"]);
    }

    #[test]
    fn the_ubr_changes_only_at_the_boot_after_the_install() {
        let mut u = Updates::new(GuestOs::WindowsServer20H2);
        assert_eq!(u.ubr(), 1052);
        let offered = u.search(NON_OPTIONAL).unwrap();
        let (_, code, reboot) = u.install(&offered);
        assert_eq!((code, reboot), (2, true));
        assert_eq!(u.ubr(), 1052);
        assert!(u.reboot_pending());
        assert!(u.search(NON_OPTIONAL).unwrap().is_empty());
        u.boot();
        assert_eq!(u.ubr(), 1889);
        assert!(!u.reboot_pending());
    }

    #[test]
    fn a_partly_failed_install_is_result_code_3_and_a_wholly_failed_one_4() {
        let mut u = Updates::new(GuestOs::WindowsServer2022);
        u.fail_install("KB890830");
        let offered = u.search(NON_OPTIONAL).unwrap();
        let (results, code, _) = u.install(&offered);
        assert_eq!(code, 3);
        assert_eq!(results.iter().filter(|r| r.result_code == 4).count(), 1);
        let msrt: Vec<_> = offered.into_iter().filter(|u| u.kb == "KB890830").collect();
        assert_eq!(u.install(&msrt).1, 4);
    }

    #[test]
    fn malformed_criteria_are_wu_e_invalid_criteria() {
        let u = Updates::new(GuestOs::WindowsServer2022);
        for bad in [
            "IsInstalled",
            "IsInstalled=0 and",
            "IsHidden!=1",
            "Color='red'",
            "Type='x",
        ] {
            let err = u.search(bad).unwrap_err();
            assert!(err.contains("0x80240032"), "{bad}: {err}");
        }
        assert!(u.search("Type!='Driver' or IsHidden=1").is_ok());
    }

    #[test]
    fn an_image_seeded_at_a_later_revision_is_not_offered_older_updates() {
        let mut u = Updates::new(GuestOs::WindowsServer2022);
        u.set_ubr(2762);
        let kbs: Vec<_> = u
            .search(NON_OPTIONAL)
            .unwrap()
            .into_iter()
            .map(|u| u.kb)
            .collect();
        assert_eq!(kbs, vec!["KB890830"]);
    }
}
