//! Fault injection: what can go wrong, where, and how often.
//!
//! # Compact syntax (`--faults SPEC`, `PUT /_sim/faults` text body)
//! ```text
//! SPEC := RULE (';' RULE)*
//! RULE := KIND['=' VALUE] (' ' KEY '=' VALUE)*
//! ```
//! Kinds (request faults apply to HTTP calls, guest faults to the model):
//! - `latency=DUR`          add DUR (`250ms`, `2s`) before answering
//! - `unavailable`          answer 503 SERVICE_UNAVAILABLE
//! - `busy`                 answer 500 RESOURCE_BUSY
//! - `drop`                 close the TCP connection without an answer
//! - `session-expiry=DUR`   sessions older than DUR answer 401 UNAUTHENTICATED
//! - `tools-never-start`    tools stay NOT_RUNNING after power-on
//! - `apipa`                the guest reports 169.254.x.x instead of a DHCP lease
//! - `process-hang=PROGRAM` the guest process never exits
//! - `process-exit=PROGRAM` the guest process exits with `code=N` (default 1)
//! - `sysprep-fail`         sysprep exits non-zero, VM stays on, setuperr.log written
//! - `transfer-break=BYTES` a transfer stops after BYTES bytes (connection cut)
//!
//! Keys: `route=PATTERN` (route template as in the request log, e.g.
//! `/api/vcenter/vm/{vm}/power?action=start`; a trailing `*` matches a prefix),
//! `method=GET`, `vm=NAME` (VM faults), `code=N`, and one trigger:
//! `every=N` (every Nth matching call), `next=N` (the next N matching calls),
//! `rate=P seed=S` (seeded, so runs repeat). No trigger means every time.
//! PROGRAM matches the file name of the process path, case-insensitively
//! (`sysprep.exe`, `powershell.exe`), or a substring of the arguments when
//! written `args:TEXT`.
//!
//! A YAML or JSON file holds a list of objects with the same keys, the kind
//! under `kind` and its value under `value`:
//! `[{kind: unavailable, route: "/api/session", next: 2}]`.

use super::error::SimulatorError;
use super::timing::parse_duration;
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    Latency(Duration),
    Unavailable,
    Busy,
    Drop,
    SessionExpiry(Duration),
    ToolsNeverStart,
    Apipa,
    ProcessHang { program: String },
    ProcessExit { program: String, code: i64 },
    SysprepFail,
    TransferBreak { after_bytes: u64 },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub enum Trigger {
    #[default]
    Always,
    Every(u64),
    Next(u64),
    Rate {
        rate: f64,
        seed: u64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    pub kind: FaultKind,
    pub route: Option<String>,
    pub method: Option<String>,
    pub vm: Option<String>,
    pub trigger: Trigger,
}

/// A parsed set of fault rules; empty means no faults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSpec {
    pub rules: Vec<FaultRule>,
}

impl FaultSpec {
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses the compact syntax described in the module docs.
    pub fn parse(text: &str) -> Result<Self, SimulatorError> {
        let mut rules = Vec::new();
        for (i, raw) in text.split(';').enumerate() {
            let tokens: Vec<(String, Option<String>)> = raw
                .split_whitespace()
                .map(|t| match t.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (t.to_string(), None),
                })
                .collect();
            if tokens.is_empty() {
                continue;
            }
            let rule = parse_rule(&tokens).map_err(|message| SimulatorError::Faults {
                origin: format!("rule {} ({:?})", i + 1, raw.trim()),
                message,
            })?;
            rules.push(rule);
        }
        Ok(FaultSpec { rules })
    }

    /// `--faults` value: a path to a `.yaml`/`.yml`/`.json` file, else the compact syntax.
    pub fn from_arg(arg: &str) -> Result<Self, SimulatorError> {
        let path = std::path::Path::new(arg);
        let is_file = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml" | "json")
        );
        if !is_file {
            return Self::parse(arg);
        }
        let text = std::fs::read_to_string(path).map_err(|source| SimulatorError::Read {
            what: "fault file",
            path: arg.to_string(),
            source,
        })?;
        Self::from_document(&text, arg)
    }

    /// A YAML (or JSON, which YAML reads) list of rule objects.
    pub fn from_document(text: &str, origin: &str) -> Result<Self, SimulatorError> {
        let items: Vec<BTreeMap<String, serde_yaml::Value>> =
            serde_yaml::from_str(text).map_err(|e| SimulatorError::Faults {
                origin: origin.to_string(),
                message: e.to_string(),
            })?;
        let mut rules = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let mut tokens = Vec::new();
            let kind =
                item.get("kind")
                    .and_then(scalar_text)
                    .ok_or_else(|| SimulatorError::Faults {
                        origin: format!("{origin}, rule {}", i + 1),
                        message: "missing field `kind`".into(),
                    })?;
            tokens.push((kind, item.get("value").and_then(scalar_text)));
            for (key, value) in item.iter().filter(|(k, _)| *k != "kind" && *k != "value") {
                tokens.push((key.clone(), scalar_text(value)));
            }
            let rule = parse_rule(&tokens).map_err(|message| SimulatorError::Faults {
                origin: format!("{origin}, rule {}", i + 1),
                message,
            })?;
            rules.push(rule);
        }
        Ok(FaultSpec { rules })
    }
}

fn scalar_text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_rule(tokens: &[(String, Option<String>)]) -> Result<FaultRule, String> {
    let (kind_name, kind_value) = &tokens[0];
    let value = |what: &str| {
        kind_value
            .clone()
            .ok_or_else(|| format!("`{kind_name}` needs a value: {kind_name}={what}"))
    };
    let duration = |what: &str| {
        let v = value(what)?;
        parse_duration(&v)
            .ok_or_else(|| format!("`{kind_name}={v}`: expected a duration like 250ms or 3s"))
    };
    let mut code = 1;
    let mut rule = FaultRule {
        kind: FaultKind::Drop,
        route: None,
        method: None,
        vm: None,
        trigger: Trigger::Always,
    };
    let mut rate = None;
    let mut seed = 0;
    for (key, v) in &tokens[1..] {
        let v = v
            .clone()
            .ok_or_else(|| format!("`{key}` needs a value ({key}=...)"))?;
        let number = || {
            v.parse::<u64>()
                .map_err(|_| format!("`{key}={v}`: expected a whole number"))
        };
        match key.as_str() {
            "route" => rule.route = Some(v.clone()),
            "method" => rule.method = Some(v.to_ascii_uppercase()),
            "vm" => rule.vm = Some(v.clone()),
            "code" => {
                code = v
                    .parse::<i64>()
                    .map_err(|_| format!("`code={v}`: expected an integer"))?
            }
            "every" => rule.trigger = Trigger::Every(number()?.max(1)),
            "next" => rule.trigger = Trigger::Next(number()?),
            "seed" => seed = number()?,
            "rate" => {
                let r: f64 = v
                    .parse()
                    .map_err(|_| format!("`rate={v}`: expected a number between 0 and 1"))?;
                if !(0.0..=1.0).contains(&r) {
                    return Err(format!("`rate={v}`: expected a number between 0 and 1"));
                }
                rate = Some(r);
            }
            other => {
                return Err(format!(
                "unknown key `{other}` (expected route, method, vm, code, every, next, rate, seed)"
            ))
            }
        }
    }
    if let Some(rate) = rate {
        rule.trigger = Trigger::Rate { rate, seed };
    }
    rule.kind = match kind_name.as_str() {
        "latency" => FaultKind::Latency(duration("250ms")?),
        "unavailable" => FaultKind::Unavailable,
        "busy" => FaultKind::Busy,
        "drop" => FaultKind::Drop,
        "session-expiry" => FaultKind::SessionExpiry(duration("30s")?),
        "tools-never-start" => FaultKind::ToolsNeverStart,
        "apipa" => FaultKind::Apipa,
        "process-hang" => FaultKind::ProcessHang { program: value("PROGRAM")? },
        "process-exit" => FaultKind::ProcessExit { program: value("PROGRAM")?, code },
        "sysprep-fail" => FaultKind::SysprepFail,
        "transfer-break" => {
            let v = value("BYTES")?;
            FaultKind::TransferBreak { after_bytes: v.parse().map_err(|_| format!("`transfer-break={v}`: expected a byte count"))? }
        }
        other => {
            return Err(format!(
                "unknown fault `{other}` (expected latency, unavailable, busy, drop, session-expiry, tools-never-start, \
                 apipa, process-hang, process-exit, sysprep-fail, transfer-break)"
            ))
        }
    };
    Ok(rule)
}

/// What a request fault decided for one call.
#[derive(Debug, Default)]
pub struct RequestFaults {
    pub latency: Duration,
    /// Drop, Unavailable or Busy; the first rule that fired wins.
    pub outcome: Option<FaultKind>,
}

struct LiveRule {
    rule: FaultRule,
    matched: Mutex<(u64, Option<StdRng>)>,
}

impl LiveRule {
    fn new(rule: FaultRule) -> Self {
        let rng = match rule.trigger {
            Trigger::Rate { seed, .. } => Some(StdRng::seed_from_u64(seed)),
            _ => None,
        };
        LiveRule {
            rule,
            matched: Mutex::new((0, rng)),
        }
    }

    /// Counts one matching event and says whether the rule fires for it.
    fn fire(&self) -> bool {
        let mut guard = match self.matched.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.0 += 1;
        let n = guard.0;
        match &self.rule.trigger {
            Trigger::Always => true,
            Trigger::Every(k) => n % k == 0,
            Trigger::Next(k) => n <= *k,
            Trigger::Rate { rate, .. } => guard
                .1
                .as_mut()
                .map(|rng| rng.gen_bool(*rate))
                .unwrap_or(false),
        }
    }
}

/// The live rules plus their counters; shared by all handlers.
#[derive(Clone, Default)]
pub struct FaultEngine {
    rules: Arc<RwLock<Vec<Arc<LiveRule>>>>,
}

impl FaultEngine {
    pub fn new(spec: FaultSpec) -> Self {
        let engine = FaultEngine::default();
        engine.set(spec);
        engine
    }

    /// Replaces every rule (and resets the counters).
    pub fn set(&self, spec: FaultSpec) {
        let live = spec
            .rules
            .into_iter()
            .map(|r| Arc::new(LiveRule::new(r)))
            .collect();
        match self.rules.write() {
            Ok(mut g) => *g = live,
            Err(poisoned) => *poisoned.into_inner() = live,
        }
    }

    pub fn spec(&self) -> FaultSpec {
        FaultSpec {
            rules: self.snapshot().iter().map(|r| r.rule.clone()).collect(),
        }
    }

    fn snapshot(&self) -> Vec<Arc<LiveRule>> {
        match self.rules.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Request faults for `method route` (route is the request-log template).
    pub fn for_request(&self, method: &str, route: &str) -> RequestFaults {
        let mut out = RequestFaults::default();
        for live in self.snapshot() {
            let rule = &live.rule;
            let is_request_fault = matches!(
                rule.kind,
                FaultKind::Latency(_) | FaultKind::Unavailable | FaultKind::Busy | FaultKind::Drop
            );
            if !is_request_fault || !route_matches(rule, method, route) || !live.fire() {
                continue;
            }
            match &rule.kind {
                FaultKind::Latency(d) => out.latency += *d,
                other if out.outcome.is_none() => out.outcome = Some(other.clone()),
                _ => {}
            }
        }
        out
    }

    pub fn session_expiry(&self) -> Option<Duration> {
        self.snapshot().iter().find_map(|l| match l.rule.kind {
            FaultKind::SessionExpiry(d) => Some(d),
            _ => None,
        })
    }

    /// The first VM-scoped fault `wanted` accepts that fires for VM `vm_name`.
    pub fn for_vm<T>(&self, vm_name: &str, wanted: impl Fn(&FaultKind) -> Option<T>) -> Option<T> {
        self.snapshot().iter().find_map(|live| {
            let value = wanted(&live.rule.kind)?;
            let vm_ok = live
                .rule
                .vm
                .as_deref()
                .map_or(true, |v| v.eq_ignore_ascii_case(vm_name));
            (vm_ok && live.fire()).then_some(value)
        })
    }

    /// A process fault (hang or exit code) for a program path and its arguments.
    pub fn for_process(&self, vm_name: &str, path: &str, arguments: &str) -> Option<FaultKind> {
        let file = path
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(path)
            .to_ascii_lowercase();
        let args = arguments.to_ascii_lowercase();
        let program_matches = |program: &str| match program.strip_prefix("args:") {
            Some(text) => args.contains(&text.to_ascii_lowercase()),
            None => file == program.to_ascii_lowercase(),
        };
        self.for_vm(vm_name, |kind| match kind {
            FaultKind::ProcessHang { program } | FaultKind::ProcessExit { program, .. }
                if program_matches(program) =>
            {
                Some(kind.clone())
            }
            _ => None,
        })
    }

    /// Bytes after which a transfer on `route` breaks, if a rule fires.
    pub fn transfer_break(&self, method: &str, route: &str) -> Option<u64> {
        self.snapshot()
            .iter()
            .find_map(|live| match live.rule.kind {
                FaultKind::TransferBreak { after_bytes }
                    if route_matches(&live.rule, method, route) && live.fire() =>
                {
                    Some(after_bytes)
                }
                _ => None,
            })
    }
}

fn route_matches(rule: &FaultRule, method: &str, route: &str) -> bool {
    let method_ok = rule
        .method
        .as_deref()
        .map_or(true, |m| m.eq_ignore_ascii_case(method));
    let route_ok = match rule.route.as_deref() {
        None => true,
        Some(p) => match p.strip_suffix('*') {
            Some(prefix) => route.starts_with(prefix),
            None => p == route,
        },
    };
    method_ok && route_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_syntax_parses_kinds_routes_and_triggers() {
        let spec = FaultSpec::parse(
            "latency=50ms; unavailable route=/api/session method=post next=2; busy every=3; process-exit=setup.exe code=7",
        )
        .unwrap();
        assert_eq!(spec.rules.len(), 4);
        assert_eq!(
            spec.rules[0].kind,
            FaultKind::Latency(Duration::from_millis(50))
        );
        assert_eq!(spec.rules[1].route.as_deref(), Some("/api/session"));
        assert_eq!(spec.rules[1].method.as_deref(), Some("POST"));
        assert_eq!(spec.rules[1].trigger, Trigger::Next(2));
        assert_eq!(spec.rules[2].trigger, Trigger::Every(3));
        assert_eq!(
            spec.rules[3].kind,
            FaultKind::ProcessExit {
                program: "setup.exe".into(),
                code: 7
            }
        );
    }

    #[test]
    fn bad_rules_name_the_rule_and_the_problem() {
        let err = FaultSpec::parse("busy; explode").unwrap_err().to_string();
        assert!(
            err.contains("rule 2") && err.contains("unknown fault `explode`"),
            "{err}"
        );
        let err = FaultSpec::parse("latency=soon").unwrap_err().to_string();
        assert!(err.contains("expected a duration"), "{err}");
    }

    #[test]
    fn every_and_next_triggers_are_deterministic() {
        let engine = FaultEngine::new(
            FaultSpec::parse("busy every=3; unavailable route=/x next=1").unwrap(),
        );
        let fired: Vec<bool> = (0..6)
            .map(|_| engine.for_request("GET", "/y").outcome.is_some())
            .collect();
        assert_eq!(fired, [false, false, true, false, false, true]);
        assert_eq!(
            engine.for_request("GET", "/x").outcome,
            Some(FaultKind::Unavailable)
        );
        assert_eq!(engine.for_request("GET", "/x").outcome, None);
    }

    #[test]
    fn seeded_rate_repeats_across_engines() {
        let run = || {
            let e = FaultEngine::new(FaultSpec::parse("busy rate=0.5 seed=42").unwrap());
            (0..32)
                .map(|_| e.for_request("GET", "/a").outcome.is_some())
                .collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.contains(&true) && first.contains(&false));
    }

    #[test]
    fn yaml_document_uses_the_same_keys() {
        let spec = FaultSpec::from_document(
            "- {kind: drop, route: \"/api/vcenter/vm*\", every: 2}\n- {kind: latency, value: 1s}\n",
            "t.yaml",
        )
        .unwrap();
        assert_eq!(spec.rules[0].kind, FaultKind::Drop);
        assert_eq!(spec.rules[0].trigger, Trigger::Every(2));
        assert_eq!(
            spec.rules[1].kind,
            FaultKind::Latency(Duration::from_secs(1))
        );
    }

    #[test]
    fn process_faults_match_file_name_case_insensitively() {
        let engine = FaultEngine::new(FaultSpec::parse("process-hang=Sysprep.exe").unwrap());
        let hit = engine.for_process(
            "vm1",
            r"C:\Windows\System32\Sysprep\sysprep.exe",
            "/generalize",
        );
        assert_eq!(
            hit,
            Some(FaultKind::ProcessHang {
                program: "Sysprep.exe".into()
            })
        );
        assert_eq!(
            engine.for_process("vm1", r"C:\Windows\System32\cmd.exe", "/c exit 0"),
            None
        );
    }
}
