//! The failures docsync branches on, and the exit code each one maps to.
//!
//! Exit codes are a contract with the CI template and with scripts:
//! `0` synced or nothing to do, `1` a target rejected or failed the sync,
//! `2` bad configuration or input, `3` a target could not be reached after
//! retries, `4` docsync itself could not finish locally (repository
//! unreadable, report not writable, disk full): never a target's fault.

use std::fmt;
use std::process::ExitCode;

/// The exit codes of the product specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    Ok = 0,
    TargetFailed = 1,
    BadInput = 2,
    Unreachable = 3,
    LocalFailure = 4,
}

impl Exit {
    /// The worse of two outcomes, for a run over several targets. A bad
    /// configuration outranks everything, then a local failure (docsync
    /// could not finish its own work), then unreachable, then failed.
    pub fn worst(self, other: Exit) -> Exit {
        fn rank(exit: Exit) -> u8 {
            match exit {
                Exit::Ok => 0,
                Exit::TargetFailed => 1,
                Exit::Unreachable => 2,
                Exit::LocalFailure => 3,
                Exit::BadInput => 4,
            }
        }
        if rank(other) > rank(self) { other } else { self }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// Bad configuration or input: exit code 2. It always names where the value
/// came from (a variable, a flag, a file and key), what is wrong and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    /// `DOCSYNC_WAIT_TIMEOUT`, `--from`, `docsync.toml: target "x" key y`…
    pub source: String,
    /// The offending value, already masked when it is a secret; `None` when
    /// the problem is a missing value.
    pub value: Option<String>,
    pub problem: String,
    pub fix: String,
}

impl BadInput {
    pub fn new(source: impl Into<String>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        BadInput { source: source.into(), value: None, problem: problem.into(), fix: fix.into() }
    }

    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }
}

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "{} = {:?}: {}", self.source, value, self.problem)?,
            None => write!(f, "{}: {}", self.source, self.problem)?,
        }
        write!(f, "\n  fix: {}", self.fix)
    }
}

impl std::error::Error for BadInput {}

/// Several bad inputs found in one pass, so the user fixes them all at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInputs(pub Vec<BadInput>);

impl fmt::Display for BadInputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.0.len();
        if count > 1 {
            writeln!(f, "{count} problems in the configuration:")?;
        }
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BadInputs {}

/// The exit code for an error that ended the run.
pub fn exit_for(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if cause.is::<BadInput>() || cause.is::<BadInputs>() {
            return Exit::BadInput;
        }
    }
    Exit::TargetFailed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_names_source_value_and_fix() {
        let error = BadInput::new("DOCSYNC_WAIT_TIMEOUT", "not a duration", "write it like 90s, 10m or 1h")
            .with_value("10 minutes");
        assert_eq!(
            error.to_string(),
            "DOCSYNC_WAIT_TIMEOUT = \"10 minutes\": not a duration\n  fix: write it like 90s, 10m or 1h"
        );
    }

    #[test]
    fn worst_outcome_wins() {
        assert_eq!(Exit::Ok.worst(Exit::TargetFailed), Exit::TargetFailed);
        assert_eq!(Exit::Unreachable.worst(Exit::TargetFailed), Exit::Unreachable);
        assert_eq!(Exit::BadInput.worst(Exit::Unreachable), Exit::BadInput);
    }

    #[test]
    fn bad_input_anywhere_in_the_chain_exits_2() {
        let error = anyhow::Error::new(BadInput::new("--from", "x", "y")).context("while resolving the range");
        assert_eq!(exit_for(&error), Exit::BadInput);
        assert_eq!(exit_for(&anyhow::anyhow!("boom")), Exit::TargetFailed);
    }
}
