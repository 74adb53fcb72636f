//! What a stage verified. Every stage proves its result by reading it back
//! (SPEC: "every stage checks its own result"); each such proof is a
//! [`Check`], and the same list feeds the stage's output line, the state
//! file, the manifest and the JUnit report, so what gild says it checked is
//! exactly what it checked.

use super::error::StageError;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked: "VMware Tools running".
    pub name: String,
    pub expected: String,
    pub observed: String,
    pub passed: bool,
}

/// The checks one stage has made so far. A failed check is recorded before
/// it turns into the stage's error, so reports show it beside the passed ones.
#[derive(Debug, Default)]
pub struct Checks {
    done: Vec<Check>,
}

impl Checks {
    /// Records a check and fails the stage when it did not hold.
    pub fn expect(
        &mut self,
        name: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
        passed: bool,
    ) -> Result<(), StageError> {
        let check = Check {
            name: name.into(),
            expected: expected.into(),
            observed: observed.into(),
            passed,
        };
        self.done.push(check.clone());
        if passed {
            Ok(())
        } else {
            Err(StageError::Check { check })
        }
    }

    /// Records a check whose expected and observed values are the same text
    /// when it passes (`sshd Running/Automatic`).
    pub fn expect_eq(
        &mut self,
        name: impl Into<String>,
        expected: impl Into<String>,
        observed: impl Into<String>,
    ) -> Result<(), StageError> {
        let (expected, observed) = (expected.into(), observed.into());
        let passed = expected == observed;
        self.expect(name, expected, observed, passed)
    }

    pub fn take(&mut self) -> Vec<Check> {
        std::mem::take(&mut self.done)
    }

    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_is_kept_and_becomes_the_error() {
        let mut checks = Checks::default();
        checks.expect("ok", "a", "a", true).unwrap();
        let err = checks
            .expect_eq("tools", "RUNNING", "NOT_RUNNING")
            .unwrap_err();
        assert_eq!(err.to_string(), "tools: expected RUNNING, saw NOT_RUNNING");
        let done = checks.take();
        assert_eq!(done.len(), 2);
        assert!(!done[1].passed);
        assert!(checks.is_empty());
    }
}
