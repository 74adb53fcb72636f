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
//! - `address-flap`         each guest report shows the other of two DHCP leases
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
use std::collections::BTreeMap;
use std::time::Duration;

mod engine;
pub use engine::{FaultEngine, RequestFaults};

#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    Latency(Duration),
    Unavailable,
    Busy,
    Drop,
    SessionExpiry(Duration),
    ToolsNeverStart,
    Apipa,
    /// Two DHCP servers answer on the segment (or the lease is being
    /// renumbered): Windows keeps switching between the two leases, and each
    /// guest report vCenter serves shows the other one.
    AddressFlap,
    ProcessHang {
        program: String,
    },
    ProcessExit {
        program: String,
        code: i64,
    },
    SysprepFail,
    TransferBreak {
        after_bytes: u64,
    },
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
        let items: Vec<BTreeMap<String, serde_norway::Value>> = serde_norway::from_str(text)
            .map_err(|e| SimulatorError::Faults {
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

fn scalar_text(v: &serde_norway::Value) -> Option<String> {
    match v {
        serde_norway::Value::String(s) => Some(s.clone()),
        serde_norway::Value::Number(n) => Some(n.to_string()),
        serde_norway::Value::Bool(b) => Some(b.to_string()),
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
        "address-flap" => FaultKind::AddressFlap,
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
                 apipa, address-flap, process-hang, process-exit, sysprep-fail, transfer-break)"
            ))
        }
    };
    Ok(rule)
}

/// Renders a rule in the compact syntax; parsing the text gives the rule back.
impl std::fmt::Display for FaultRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: &Duration| format!("{}ms", d.as_millis());
        match &self.kind {
            FaultKind::Latency(d) => write!(f, "latency={}", ms(d))?,
            FaultKind::Unavailable => f.write_str("unavailable")?,
            FaultKind::Busy => f.write_str("busy")?,
            FaultKind::Drop => f.write_str("drop")?,
            FaultKind::SessionExpiry(d) => write!(f, "session-expiry={}", ms(d))?,
            FaultKind::ToolsNeverStart => f.write_str("tools-never-start")?,
            FaultKind::Apipa => f.write_str("apipa")?,
            FaultKind::AddressFlap => f.write_str("address-flap")?,
            FaultKind::ProcessHang { program } => write!(f, "process-hang={program}")?,
            FaultKind::ProcessExit { program, code } => {
                write!(f, "process-exit={program} code={code}")?
            }
            FaultKind::SysprepFail => f.write_str("sysprep-fail")?,
            FaultKind::TransferBreak { after_bytes } => write!(f, "transfer-break={after_bytes}")?,
        }
        for (key, value) in [
            ("route", &self.route),
            ("method", &self.method),
            ("vm", &self.vm),
        ] {
            if let Some(v) = value {
                write!(f, " {key}={v}")?;
            }
        }
        match &self.trigger {
            Trigger::Always => Ok(()),
            Trigger::Every(n) => write!(f, " every={n}"),
            Trigger::Next(n) => write!(f, " next={n}"),
            Trigger::Rate { rate, seed } => write!(f, " rate={rate} seed={seed}"),
        }
    }
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
    fn rules_render_back_to_the_compact_syntax() {
        let text = "latency=250ms route=/api/session method=POST every=2; process-exit=setup.exe code=7 vm=b1 next=1; busy rate=0.25 seed=9; address-flap vm=b1";
        let spec = FaultSpec::parse(text).unwrap();
        let rendered: Vec<String> = spec.rules.iter().map(ToString::to_string).collect();
        assert_eq!(FaultSpec::parse(&rendered.join("; ")).unwrap(), spec);
        assert_eq!(
            rendered[0],
            "latency=250ms route=/api/session method=POST every=2"
        );
        assert_eq!(rendered[3], "address-flap vm=b1");
        assert_eq!(spec.rules[3].kind, FaultKind::AddressFlap);
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
    fn faults_arg_reads_a_yaml_or_json_file_by_extension() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("faults.json");
        std::fs::write(
            &path,
            r#"[{"kind": "busy", "route": "/api/session", "next": 1}]"#,
        )
        .unwrap();
        let spec = FaultSpec::from_arg(path.to_str().unwrap()).unwrap();
        assert_eq!(spec.rules[0].kind, FaultKind::Busy);
        assert_eq!(spec.rules[0].trigger, Trigger::Next(1));
        let missing = FaultSpec::from_arg("/nonexistent/faults.yaml")
            .unwrap_err()
            .to_string();
        assert!(missing.contains("/nonexistent/faults.yaml"), "{missing}");
    }
}
