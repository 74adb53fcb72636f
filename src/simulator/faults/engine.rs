//! The live side of fault injection: rules with their match counters,
//! asked by the request pipeline and the guest routes whether to fire.

use super::{FaultKind, FaultRule, FaultSpec, Trigger};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

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
                .is_none_or(|v| v.eq_ignore_ascii_case(vm_name));
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
        .is_none_or(|m| m.eq_ignore_ascii_case(method));
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
