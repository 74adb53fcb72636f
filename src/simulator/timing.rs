//! How long simulated operations take.
//!
//! State changes are computed lazily from timestamps (a VM knows when it was
//! powered on; tools are "running" once `tools_start` has passed) rather than
//! by background timers, so with [`Timing::instant`] every transition is
//! visible on the very next call and tests never sleep.

use serde::Deserialize;
use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timing {
    /// Clone of a VM (the handler answers after this long).
    #[serde(with = "duration_text")]
    pub clone: Duration,
    /// From `power?action=start` until the VM reports POWERED_ON.
    #[serde(with = "duration_text")]
    pub power_on: Duration,
    /// From power-on until VMware Tools reports RUNNING.
    #[serde(with = "duration_text")]
    pub tools_start: Duration,
    /// From tools RUNNING until the guest reports its IP and hostname.
    #[serde(with = "duration_text")]
    pub ip_assign: Duration,
    /// From `guest/power?action=shutdown` until POWERED_OFF.
    #[serde(with = "duration_text")]
    pub guest_shutdown: Duration,
    /// From guest reboot until tools come back (added to `tools_start`).
    #[serde(with = "duration_text")]
    pub guest_reboot: Duration,
    /// A sysprep /generalize /shutdown run, until the VM powers off.
    #[serde(with = "duration_text")]
    pub sysprep: Duration,
    /// Lower bound for a guest process's run time (the guest model may ask for more).
    #[serde(with = "duration_text")]
    pub process_default: Duration,
    /// Rename/Destroy VI tasks stay `running` this long.
    #[serde(with = "duration_text")]
    pub task: Duration,
    /// How often vmtoolsd re-reads tools.conf, so an edit (exclude-nics)
    /// reaches vCenter only on the next tick; zero re-reads on every look.
    #[serde(with = "duration_text")]
    pub tools_conf_poll: Duration,
}

impl Timing {
    /// Every transition happens at once; for tests.
    pub fn instant() -> Self {
        Timing {
            clone: Duration::ZERO,
            power_on: Duration::ZERO,
            tools_start: Duration::ZERO,
            ip_assign: Duration::ZERO,
            guest_shutdown: Duration::ZERO,
            guest_reboot: Duration::ZERO,
            sysprep: Duration::ZERO,
            process_default: Duration::ZERO,
            task: Duration::ZERO,
            tools_conf_poll: Duration::ZERO,
        }
    }

    /// Durations of the order a small real vCenter shows; for benchmarks and demos.
    pub fn realistic() -> Self {
        Timing {
            clone: Duration::from_secs(20),
            power_on: Duration::from_secs(2),
            tools_start: Duration::from_secs(25),
            ip_assign: Duration::from_secs(8),
            guest_shutdown: Duration::from_secs(15),
            guest_reboot: Duration::from_secs(30),
            sysprep: Duration::from_secs(60),
            process_default: Duration::from_secs(1),
            task: Duration::from_secs(1),
            tools_conf_poll: crate::simulator::guest::TOOLS_CONF_POLL,
        }
    }

    /// `instant` or `realistic`.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "instant" => Some(Self::instant()),
            "realistic" => Some(Self::realistic()),
            _ => None,
        }
    }
}

impl Default for Timing {
    fn default() -> Self {
        Self::instant()
    }
}

/// Parses `250ms`, `3s`, `2m`, `1.5s`; a bare number means seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number.trim().parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(value * scale))
}

mod duration_text {
    use serde::{Deserialize, Deserializer};
    use std::time::Duration;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Seconds(f64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Seconds(s) if s >= 0.0 && s.is_finite() => Ok(Duration::from_secs_f64(s)),
            Raw::Seconds(s) => Err(serde::de::Error::custom(format!(
                "duration must be >= 0 seconds, got {s}"
            ))),
            Raw::Text(t) => super::parse_duration(&t).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "expected a duration like 250ms, 3s or 2m, got {t:?}"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_ms_seconds_and_minutes() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("3s"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("soon"), None);
    }
}
