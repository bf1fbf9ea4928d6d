//! Settings: flags, `DOCSYNC_*` variables, `CI_*` variables and an optional
//! `docsync.toml`, turned into one validated [`Settings`] by the pure
//! function [`resolve::resolve`].
//!
//! Each setting is declared once (`declarations`): its flag, variable,
//! file key, scope, type, default and help. The flags are built from the
//! declarations, the environment and the file are read by them, and one
//! layered lookup (`lookup`) finds every value, secrets and globs included:
//! a `[[target]]`'s own key, then the flag, then the `DOCSYNC_` variable,
//! then the file's `[defaults]`, then the built-in default. The value comes
//! with its [`crate::error::Source`], which every message about it names.
//!
//! The run's layers also describe up to two targets of their own (`gitbook`
//! from a space, `dot` from a webhook URL) unless a `[[target]]` of that
//! kind takes the value; the file can describe many. All end up in the same
//! list of [`Target`]s.
//!
//! Secrets are never written in the file: the file names the variable that
//! holds each one (`gitbook_token_env = "GITBOOK_TOKEN"`).
//!
//! The inputs, raw: [`flags`], [`environment`] (with [`pipeline`]'s `CI_*`
//! variables), [`file`](mod@file). Turned into settings: [`resolve`] (the run's
//! settings) and [`target`] (each target, by kind), with the value parsers
//! (`values`, [`duration`], [`paths`]) and the rules on where credentials
//! may go ([`credentials`]).

pub(crate) mod credentials;
pub(crate) mod declarations;
pub(crate) mod duration;
pub(crate) mod environment;
pub(crate) mod file;
pub mod flags;
pub(crate) mod glob;
mod lookup;
pub(crate) mod paths;
pub(crate) mod pipeline;
pub(crate) mod resolve;
pub(crate) mod target;
pub(crate) mod target_id;
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
    /// Where the URL came from: the flag, variable or file key, else
    /// `CI_SERVER_URL`; `None` without a URL.
    pub url_source: Option<crate::error::Source>,
    pub token: Option<Secret>,
    /// The variable the token came from, for messages.
    pub token_source: String,
    /// GitLab is plain http to another host and only `CI_JOB_TOKEN` would
    /// be sent there: GitLab is not called (see [`crate::settings::credentials`]).
    pub plain_http: bool,
    /// Pre-flight findings as threads on the merge request's diff lines.
    pub review_comments: bool,
}

/// Spaces found in a GitBook site (`gitbook_site` with
/// `gitbook_organization`): each Git Sync installation of this project and
/// branch becomes a GitBook target, found while gathering facts.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub organization: String,
    pub site: String,
    /// What every discovered target is built from: the run's GitBook
    /// settings (API URL, token, waits, globs), its name, space, directory
    /// and branch filled from the installation.
    pub template: Target,
}

/// Where a report goes, and what set it: `DOCSYNC_REPORT`, `--report`, a
/// file's key. Named when the file cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportPath {
    pub path: PathBuf,
    pub source: crate::error::Source,
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
    /// The GitBook site whose spaces become targets, when one is set.
    pub discovery: Option<Discovery>,
    pub project_directory: ProjectDirectory,
    /// Where the repository is: `GIT_DIR` and `GIT_WORK_TREE` (relative to
    /// the working directory), else found from the working directory.
    pub git_dir: Option<PathBuf>,
    pub git_work_tree: Option<PathBuf>,
}
