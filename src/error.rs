//! The failures docsync branches on, and the exit code each one maps to.
//!
//! Exit codes are a contract with the CI template and with scripts:
//! `0` synced or nothing to do, `1` a target rejected or failed the sync,
//! `2` bad configuration or input, `3` a target could not be reached after
//! retries, `4` docsync itself could not finish locally (repository
//! unreadable, report not writable, disk full): never a target's fault.

use std::fmt;
use std::process::ExitCode;

/// The exit codes of the product specification, ordered by how bad the
/// outcome is (one order, [`Exit::severity`]): a bad configuration outranks
/// everything, then a local failure (docsync could not finish its own
/// work), then unreachable, then failed. The numbers are the contract; the
/// order is not theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    TargetFailed = 1,
    BadInput = 2,
    Unreachable = 3,
    LocalFailure = 4,
}

impl Exit {
    /// The one ranking of outcomes, worst last.
    fn severity(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::TargetFailed => 1,
            Exit::Unreachable => 2,
            Exit::LocalFailure => 3,
            Exit::BadInput => 4,
        }
    }

    /// The worse of two outcomes, for a run over several targets.
    pub fn worst(self, other: Exit) -> Exit {
        self.max(other)
    }
}

impl Ord for Exit {
    fn cmp(&self, other: &Exit) -> std::cmp::Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl PartialOrd for Exit {
    fn partial_cmp(&self, other: &Exit) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

/// Values echoed in errors are cut to this many characters.
pub const MAX_SHOWN_VALUE: usize = 120;

/// Where a value came from: carried with the value from the layered lookup
/// to every message about it, so that a message names the layer that
/// really set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, with its dashes: `--wait-timeout`.
    Flag(String),
    /// An environment variable: `DOCSYNC_WAIT_TIMEOUT`, `CI_SERVER_URL`, or
    /// the variable a file's `*_env` key names.
    Variable(String),
    /// A key of the config file's `[defaults]`.
    FileDefaults { file: String, key: String, line: usize },
    /// A key of one `[[target]]`: `target` is its name, or `#2` for the
    /// second table when it has none.
    TargetKey { file: String, target: String, key: String, line: usize },
    /// No layer set it: the built-in default, named by the variable that
    /// would change it.
    Default { variable: &'static str },
    /// Any other input named as it is: `--target`, `CI_*`, a file and line.
    Input(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(name) | Source::Variable(name) | Source::Input(name) => f.write_str(name),
            Source::FileDefaults { file, key, line } => write!(f, "{file}: line {line}, key `{key}`"),
            Source::TargetKey { file, target, key, line } if target.starts_with('#') => {
                write!(f, "{file}: line {line}, target {target}, key `{key}`")
            }
            Source::TargetKey { file, target, key, line } => {
                write!(f, "{file}: line {line}, target \"{target}\", key `{key}`")
            }
            Source::Default { variable } => f.write_str(variable),
        }
    }
}

impl From<&str> for Source {
    fn from(input: &str) -> Source {
        Source::Input(input.to_owned())
    }
}

impl From<String> for Source {
    fn from(input: String) -> Source {
        Source::Input(input)
    }
}

impl From<&String> for Source {
    fn from(input: &String) -> Source {
        Source::Input(input.clone())
    }
}

impl From<&Source> for Source {
    fn from(source: &Source) -> Source {
        source.clone()
    }
}

/// Bad configuration or input: exit code 2. It always names where the value
/// came from (a variable, a flag, a file and key), what is wrong and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    /// `DOCSYNC_WAIT_TIMEOUT`, `--from`, `docsync.toml: line 4, key `paths``…
    /// (boxed: a file key's source holds three strings, and `BadInput` is
    /// the error of many `Result`s).
    pub source: Box<Source>,
    /// The offending value, already masked when it is a secret; `None` when
    /// the problem is a missing value.
    pub value: Option<String>,
    pub problem: String,
    pub fix: String,
}

impl BadInput {
    pub fn new(source: impl Into<Source>, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        BadInput { source: Box::new(source.into()), value: None, problem: problem.into(), fix: fix.into() }
    }

    /// The offending value, redacted, then cut to [`MAX_SHOWN_VALUE`]
    /// characters (control characters are escaped when shown).
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        let value = crate::secret::redact(&value.into());
        let mut shown: String = value.chars().take(MAX_SHOWN_VALUE).collect();
        if shown.len() < value.len() {
            shown.push_str(&format!("… ({} characters)", value.chars().count()));
        }
        self.value = Some(shown);
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

/// docsync could not finish its own work on this machine: exit code 4.
/// Never a target's fault, so never reported as one.
///
/// Wrap the I/O error where it happens, naming what docsync was doing:
/// `LocalFailure::new("while writing the report docsync.env", error)`, or
/// `.map_err(LocalFailure::wrap("while reading the repository"))`.
#[derive(Debug, thiserror::Error)]
#[error("{doing}: {source}")]
pub struct LocalFailure {
    pub doing: String,
    #[source]
    pub source: anyhow::Error,
}

impl LocalFailure {
    pub fn new(doing: impl Into<String>, source: impl Into<anyhow::Error>) -> LocalFailure {
        LocalFailure { doing: doing.into(), source: source.into() }
    }

    /// For `map_err`.
    pub fn wrap<E: Into<anyhow::Error>>(doing: impl Into<String>) -> impl FnOnce(E) -> LocalFailure {
        let doing = doing.into();
        move |error| LocalFailure::new(doing, error)
    }
}

/// The exit code for an error that ended the run: the first cause in the
/// chain that says what kind of failure it is. A failure nobody classified
/// is docsync's own (exit 4), never a target's: a target's failures are
/// recorded in its outcome, with their exit code, before they get here.
pub fn exit_for(error: &anyhow::Error) -> Exit {
    for cause in error.chain() {
        if cause.is::<BadInput>() || cause.is::<BadInputs>() {
            return Exit::BadInput;
        }
        // libgit2 errors that reach here are the local repository's: bad
        // revisions and missing commits are turned into BadInput first.
        if cause.is::<LocalFailure>() || cause.is::<std::io::Error>() || cause.is::<git2::Error>() {
            return Exit::LocalFailure;
        }
    }
    Exit::LocalFailure
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
    fn echoed_values_are_cut_and_escaped() {
        let error =
            BadInput::new("DOCSYNC_BRANCH", "bad", "fix").with_value(format!("a\u{1b}[31mb\n{}", "x".repeat(500)));
        let text = error.to_string();
        assert!(text.starts_with("DOCSYNC_BRANCH = \"a\\u{1b}[31mb\\nxxx"), "{text}");
        assert!(text.contains("… (508 characters)"), "{text}");
        assert!(text.len() < 250, "{text}");
    }

    const ALL: [Exit; 5] = [Exit::Ok, Exit::TargetFailed, Exit::BadInput, Exit::Unreachable, Exit::LocalFailure];

    #[test]
    fn one_order_over_all_pairs() {
        let by_severity = [Exit::Ok, Exit::TargetFailed, Exit::Unreachable, Exit::LocalFailure, Exit::BadInput];
        for (i, &a) in by_severity.iter().enumerate() {
            for (j, &b) in by_severity.iter().enumerate() {
                assert_eq!(a.cmp(&b), i.cmp(&j), "{a:?} against {b:?}");
                assert_eq!(a.worst(b), by_severity[i.max(j)], "{a:?}.worst({b:?})");
                assert_eq!(a.worst(b), a.max(b), "{a:?}.worst({b:?}) against max");
            }
        }
        let mut sorted = ALL;
        sorted.sort();
        assert_eq!(sorted, by_severity);
        assert_eq!(ALL.map(|exit| exit as u8), [0, 1, 2, 3, 4]);
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
    }

    #[test]
    fn an_error_nobody_classified_exits_4() {
        assert_eq!(exit_for(&anyhow::anyhow!("a thread comparing trees panicked")), Exit::LocalFailure);
        let wrapped = anyhow::anyhow!("boom").context("while rendering the report");
        assert_eq!(exit_for(&wrapped), Exit::LocalFailure);
    }

    #[test]
    fn local_failures_exit_4_and_rank_below_bad_input() {
        let error =
            anyhow::Error::new(LocalFailure::new("while writing the report docsync.env", anyhow::anyhow!("disk full")));
        assert_eq!(exit_for(&error), Exit::LocalFailure);
        assert_eq!(error.to_string(), "while writing the report docsync.env: disk full");
        let io = anyhow::Error::new(std::io::Error::other("broken pipe")).context("while writing the result");
        assert_eq!(exit_for(&io), Exit::LocalFailure);
        assert_eq!(Exit::Unreachable.worst(Exit::LocalFailure), Exit::LocalFailure);
        assert_eq!(Exit::LocalFailure.worst(Exit::BadInput), Exit::BadInput);
        assert_eq!(Exit::LocalFailure as u8, 4);
    }
}
