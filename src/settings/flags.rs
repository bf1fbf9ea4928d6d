//! Command-line flags, exactly as the user typed them.
//!
//! Nothing here is validated beyond what clap can check by itself; turning
//! flags, the environment and the config file into settings is
//! [`crate::settings`]'s job. Every setting that is not a secret is also a flag
//! (`DOCSYNC_WAIT_TIMEOUT` ↔ `--wait-timeout`). Secrets are deliberately not
//! flags: a command line is visible to every process on the runner and is
//! echoed into job logs.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "docsync",
    version,
    about = "Keep GitBook spaces and GitLab push-webhook receivers (Dot) in sync with a GitLab repository, from GitLab CI.",
    long_about = "Keep GitBook spaces and GitLab push-webhook receivers (Dot) in sync with a GitLab repository, from GitLab CI.\n\n\
        docsync reads the CI environment, works out the pipeline's commit range and the files that changed in it, \
        and calls each configured target only when its files changed.\n\n\
        Every setting is a flag, a DOCSYNC_<NAME> environment variable and a docsync.toml key: \
        a flag beats the environment, which beats the file, which beats the default. \
        Secrets (tokens, the webhook secret) come from the environment only.",
    after_help = "Exit codes: 0 synced or nothing to do, 1 a target failed (or lint found new errors), 2 bad configuration or input, 3 a target was unreachable after retries, 4 docsync could not finish locally (repository unreadable, report not writable).\n\
        Start here: `docsync plan` in any git checkout shows what would be synced, without calling anything."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalFlags,
}

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Sync every configured target whose files changed in the pipeline's range (the CI job).
    Sync,
    /// Show what `sync` would decide and send, without calling any target.
    Plan,
    /// Validate configuration and credentials, and name the fix for each problem.
    Check,
    /// Show each GitBook space's Git Sync state and last operation.
    Status,
    /// Ask GitBook to commit its space content to a branch (GitBook → GitLab).
    Export,
    /// Check each target's docs the way the platform reads them (the docs pre-flight).
    Lint(LintFlags),
    /// Write a GitLab child pipeline with one `docsync sync --target NAME` job per target `sync` would call.
    Pipeline(PipelineFlags),
}

/// The flags of `docsync pipeline`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct PipelineFlags {
    /// Write the child pipeline to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The child jobs' image [default: registry.gitlab.com/docsync/docsync:<this docsync's version>].
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,
    /// The parent environment: each child job deploys to `<ENVIRONMENT>/<target>`.
    #[arg(long, value_name = "NAME", default_value = "docs")]
    pub environment: String,
    /// `always`, or a number N: one job per target only when more than N targets act, else one job for all of them.
    #[arg(long, value_name = "WHEN", default_value = "always")]
    pub fan_out: String,
    /// Let a child job pass, with a warning, when its target is unreachable after retries (exit code 3).
    #[arg(long)]
    pub allow_unreachable: bool,
}

/// The flags of `docsync lint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Args)]
pub struct LintFlags {
    /// Read the working tree instead of the range's head commit.
    #[arg(long)]
    pub worktree: bool,
    /// Exit 1 for any error, not only errors new in the range.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// A table for people.
    #[default]
    Text,
    /// The documented JSON contract, for scripts.
    Json,
}

#[derive(Debug, Default, Args)]
pub struct GlobalFlags {
    /// Output format of the result on stdout (logs always go to stderr).
    #[arg(long, value_enum, global = true, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Decide and report everything, but call no target.
    #[arg(long, global = true)]
    pub dry_run: bool,

    /// Sync even when the skip rules (no relevant change, platform-only commits, [skip docsync]) say not to, import despite new pre-flight errors, and send GitBook "force": true. To bypass only the pre-flight: DOCSYNC_LINT=warn.
    #[arg(long, global = true)]
    pub force: bool,

    /// Start of the range: any revision git understands (SHA, branch, tag, HEAD~3). [env: DOCSYNC_FROM]
    #[arg(long, global = true, value_name = "REV")]
    pub from: Option<String>,

    /// End of the range (default: the pipeline's commit, or HEAD). [env: DOCSYNC_TO]
    #[arg(long, global = true, value_name = "REV")]
    pub to: Option<String>,

    /// Config file for several targets (default: docsync.toml when present). [env: DOCSYNC_CONFIG]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Only these targets (by name); repeatable.
    #[arg(long = "target", global = true, value_name = "NAME")]
    pub targets: Vec<String>,

    /// More log detail (-v debug, -vv trace).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Less log detail (-q warnings and errors only, -qq errors only).
    #[arg(short, long, action = ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,

    #[command(flatten)]
    pub settings: SettingFlags,
}

/// The settings that may also be given as flags; each mirrors `DOCSYNC_<NAME>`.
/// Values stay strings here so that one validator reports every bad value the
/// same way, whichever source it came from.
#[derive(Debug, Default, Clone, Args)]
#[command(next_help_heading = "Settings (each also DOCSYNC_<NAME> and a docsync.toml key)")]
pub struct SettingFlags {
    /// GitBook space id; turns the GitBook target on.
    #[arg(long, global = true, value_name = "ID")]
    pub gitbook_space: Option<String>,
    /// GitBook-style API base URL [default: https://api.gitbook.com/v1].
    #[arg(long, global = true, value_name = "URL")]
    pub gitbook_api_url: Option<String>,
    /// The docs root inside the repository [default: the repository root].
    #[arg(long, global = true, value_name = "DIR")]
    pub project_directory: Option<String>,
    /// Comma-separated globs of files that count as docs changes.
    #[arg(long, global = true, value_name = "GLOBS")]
    pub paths: Option<String>,
    /// Comma-separated globs of files the docs pre-flight never reads (Markdown not meant for the platform).
    #[arg(long, global = true, value_name = "GLOBS")]
    pub ignore: Option<String>,
    /// Push-webhook receiver URL; turns the Dot target on.
    #[arg(long, global = true, value_name = "URL")]
    pub dot_webhook_url: Option<String>,
    /// GitLab instance URL, outside CI [default: CI_SERVER_URL].
    #[arg(long, global = true, value_name = "URL")]
    pub gitlab_url: Option<String>,
    /// The branch whose pushes sync [default: CI_DEFAULT_BRANCH].
    #[arg(long, global = true, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Branch GitBook exports to [default: the sync branch].
    #[arg(long, global = true, value_name = "BRANCH")]
    pub export_branch: Option<String>,
    /// Open a merge request from the export branch into the default branch (true/false).
    #[arg(long, global = true, value_name = "BOOL")]
    pub export_mr: Option<String>,
    /// What an import does when GitBook holds edits Git does not have: refuse, export or overwrite [default: refuse].
    #[arg(long, global = true, value_name = "MODE")]
    pub gitbook_edits: Option<String>,
    /// HTTP requests in flight at once, across all targets (1-64) [default: 8].
    #[arg(long, global = true, value_name = "N")]
    pub concurrency: Option<String>,
    /// `import` or `export`, for manual pipelines [default: import].
    #[arg(long, global = true, value_name = "DIRECTION")]
    pub direction: Option<String>,
    /// Standalone GitBook imports on merge request pipelines (true/false) [default: true].
    #[arg(long, global = true, value_name = "BOOL")]
    pub previews: Option<String>,
    /// Wait for GitBook's operation result (true/false) [default: true].
    #[arg(long, global = true, value_name = "BOOL")]
    pub wait: Option<String>,
    /// How long to wait for GitBook's result, like 90s, 10m, 1h [default: 10m].
    #[arg(long, global = true, value_name = "DURATION")]
    pub wait_timeout: Option<String>,
    /// How long GitBook may take to start our operation, like 2m [default: 2m].
    #[arg(long, global = true, value_name = "DURATION")]
    pub start_timeout: Option<String>,
    /// Dotenv report path [default: docsync.env in CI, none outside].
    #[arg(long, global = true, value_name = "PATH")]
    pub report: Option<String>,
    /// JSON report path, the `--format json` result [default: docsync.json in CI, none outside].
    #[arg(long, global = true, value_name = "PATH")]
    pub report_json: Option<String>,
    /// The docs pre-flight before an import: error, warn or off [default: error].
    #[arg(long, global = true, value_name = "MODE")]
    pub lint: Option<String>,
    /// GitLab Code Quality report of the pre-flight, or none [default: gl-code-quality-report.json in CI, none outside].
    #[arg(long, global = true, value_name = "PATH")]
    pub codequality: Option<String>,
    /// Authors (names or e-mails, comma-separated) whose commits are the platform's own [default: gitbook-bot,ghost@gitbook.com].
    #[arg(long, global = true, value_name = "LIST")]
    pub platform_authors: Option<String>,
    /// First interval between reads of GitBook's state; it grows while waiting [default: 1s].
    #[arg(long, global = true, value_name = "DURATION")]
    pub poll_interval: Option<String>,
    /// Timeout of one HTTP request [default: 30s].
    #[arg(long, global = true, value_name = "DURATION")]
    pub http_timeout: Option<String>,
    /// Retries of a request after the first attempt, 0 to 20 [default: 4].
    #[arg(long, global = true, value_name = "N")]
    pub retries: Option<String>,
    /// First wait before a retry; it doubles, with jitter [default: 1s].
    #[arg(long, global = true, value_name = "DURATION")]
    pub retry_delay: Option<String>,
    /// Time all git fetches of a run (deepening a shallow clone, a partial clone's file contents) may take together [default: 180s].
    #[arg(long, global = true, value_name = "DURATION")]
    pub fetch_timeout: Option<String>,
}
