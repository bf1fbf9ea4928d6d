//! Settings: flags, `DOCSYNC_*` variables, `CI_*` variables and an optional
//! `docsync.toml`, turned into one validated [`Settings`] by the pure
//! function [`resolve::resolve`].
//!
//! Precedence, for every setting: a flag beats the environment, which beats
//! the config file's `[defaults]`, which beats the built-in default. A
//! `[[target]]`'s own keys are the most specific and win for that target.
//! The flag, variable and `[defaults]` layers are searched by one lookup
//! (`lookup`), which the run's settings and most target settings go
//! through; a `[[target]]`'s own keys are laid over the run's values in
//! `target.rs`, and secrets have their own order (a target's own `*_env`
//! key first, then the `DOCSYNC_` variable, then `[defaults]`). A bad
//! value is named by where it came from (the flag, the variable, or the
//! file, line and key).
//!
//! The environment describes at most two targets (one GitBook space through
//! `DOCSYNC_GITBOOK_SPACE`, one push-webhook receiver through
//! `DOCSYNC_DOT_WEBHOOK_URL`), named `gitbook` and `dot`; the file can
//! describe many. Both end up in the same list of [`Target`]s.
//!
//! Secrets are never written in the file: the file names the variable that
//! holds each one (`gitbook_token_env = "GITBOOK_TOKEN"`).
//!
//! The inputs, raw: [`flags`], [`environment`] (with [`pipeline`]'s `CI_*`
//! variables), [`file`](mod@file). Turned into settings: [`resolve`] (the run's
//! settings) and [`target`] (each target, by kind), with the value parsers
//! (`values`, [`duration`], [`paths`]) and the rules on where credentials
//! may go ([`credentials`]).

pub mod credentials;
pub mod duration;
pub mod environment;
pub mod file;
pub mod flags;
pub mod glob;
mod lookup;
pub mod paths;
pub mod pipeline;
pub mod resolve;
pub mod target;
pub mod target_id;
#[cfg(test)]
mod test_inputs;
mod values;

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use crate::http::HttpSettings;
use crate::secret::Secret;
use crate::settings::flags::Format;
use crate::settings::pipeline::Pipeline;

// The settings' types most stages read, at the path they always had.
pub use crate::settings::paths::PathFilter;
pub use crate::settings::target::{DotTarget, GitBookEdits, GitBookTarget, Target, TargetKind};

/// What the docs pre-flight does before a sync (`DOCSYNC_LINT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LintMode {
    /// New errors stop the target's import.
    #[default]
    Error,
    /// Findings are reported; nothing stops.
    Warn,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Import,
    Export,
}

/// The GitLab instance and API token.
#[derive(Debug, Clone, Default)]
pub struct GitLabSettings {
    pub url: Option<Url>,
    pub token: Option<Secret>,
    /// The variable the token came from, for messages.
    pub token_source: String,
    /// GitLab is plain http to another host and only `CI_JOB_TOKEN` would
    /// be sent there: GitLab is not called (see [`crate::settings::credentials`]).
    pub plain_http: bool,
}

/// Where a report goes, and what set it: `DOCSYNC_REPORT`, `--report`, a
/// file's key. Named when the file cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPath {
    pub path: PathBuf,
    pub source: String,
}

/// The run's project directory (`--project-directory`,
/// `DOCSYNC_PROJECT_DIRECTORY`, `[defaults]`), normalised: what `lint`
/// checks when no target is configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectDirectory {
    /// Relative to the repository root, without leading or trailing slash;
    /// empty for the root itself.
    pub path: String,
    /// The flag, variable or file key that set it; `None` for the default.
    pub source: Option<String>,
    /// The `ignore` globs of the run (flag, variable, `[defaults]`), valid,
    /// relative to the directory; empty for none.
    pub ignore: Vec<String>,
}

/// The validated settings of one run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub format: Format,
    pub dry_run: bool,
    pub force: bool,
    pub from: Option<String>,
    pub to: Option<String>,
    pub pipeline: Pipeline,
    /// How often GitBook's operation state is read while waiting.
    pub poll_interval: Duration,
    /// The dotenv report, and the variable or key that set it (for messages).
    pub report: Option<ReportPath>,
    /// The JSON report (the `--format json` result).
    pub report_json: Option<ReportPath>,
    /// The docs pre-flight before imports.
    pub lint: LintMode,
    /// Where the pre-flight writes a GitLab Code Quality report.
    pub codequality: Option<ReportPath>,
    pub http: HttpSettings,
    pub gitlab: GitLabSettings,
    pub targets: Vec<Target>,
    pub project_directory: ProjectDirectory,
    /// Where the repository is: `GIT_DIR` and `GIT_WORK_TREE` (relative to
    /// the working directory), else found from the working directory.
    pub git_dir: Option<PathBuf>,
    pub git_work_tree: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::settings::environment::DocsyncEnv;
    use crate::settings::file::FileTarget;

    /// docs/settings.md, `--help` and the keys docsync.toml accepts name the
    /// same settings: a setting added to one and not the others fails here.
    #[test]
    fn settings_reference_help_and_file_keys_agree() {
        use clap::CommandFactory;
        let reference = include_str!("../../docs/settings.md");
        let rows: Vec<Vec<String>> = reference
            .lines()
            .filter(|line| line.starts_with("| `DOCSYNC_"))
            .map(|line| line.split(" | ").map(|cell| cell.trim_matches(|c| c == '|' || c == ' ').to_owned()).collect())
            .collect();
        assert!(rows.len() > 25, "docs/settings.md has {} rows", rows.len());
        let code = |cell: &str| cell.split('`').nth(1).map(str::to_owned);

        let command = crate::settings::flags::Cli::command();
        let flags: BTreeSet<String> =
            command.get_arguments().filter_map(|arg| arg.get_long().map(|long| format!("--{long}"))).collect();
        let file_keys: BTreeSet<String> = match toml::from_str::<FileTarget>("unknown_key_probe = 1") {
            Err(error) => error
                .message()
                .split_once("expected one of ")
                .map(|(_, list)| list.split(", ").map(|k| k.trim().trim_matches('`').to_owned()).collect())
                .unwrap_or_default(),
            Ok(_) => panic!("FileTarget accepts unknown keys"),
        };

        let mut documented_flags = BTreeSet::new();
        let mut documented_keys = BTreeSet::new();
        for row in &rows {
            let variable = code(&row[0]).expect("a variable");
            // Each documented variable is read: set alone, it fills a field.
            let read = envy::prefixed("DOCSYNC_")
                .from_iter::<_, DocsyncEnv>([(variable.clone(), "probe-value-1234".to_owned())])
                .unwrap_or_else(|e| panic!("{variable}: {e}"));
            assert!(format!("{read:?}").contains("Some("), "docsync does not read {variable}");
            match code(&row[1]) {
                Some(flag) => {
                    assert!(flags.contains(&flag), "{variable}: {flag} is not a flag of docsync");
                    documented_flags.insert(flag);
                }
                None => assert!(
                    row[3].contains("(secret)"),
                    "{variable} has no flag: only secrets may lack one (a command line is visible to every process)"
                ),
            }
            if let Some(key) = code(&row[2]) {
                assert!(file_keys.contains(&key), "{variable}: `{key}` is not a docsync.toml key");
                documented_keys.insert(key);
            }
        }
        let global_flags =
            ["--format", "--dry-run", "--force", "--target", "--verbose", "--quiet", "--help", "--version"];
        for flag in &flags {
            assert!(
                documented_flags.contains(flag) || global_flags.contains(&flag.as_str()),
                "{flag} is a flag but not in docs/settings.md"
            );
        }
        // Keys that are no setting of their own: a target's identity, and
        // secrets written inline, which are refused with a pointer to `_env`.
        let not_settings = ["name", "kind", "gitbook_token", "git_token", "dot_webhook_secret", "gitlab_token"];
        for key in &file_keys {
            assert!(
                documented_keys.contains(key) || not_settings.contains(&key.as_str()),
                "docsync.toml accepts `{key}` but docs/settings.md does not document it"
            );
        }
    }
}
