//! Command-line flags, exactly as the user typed them.
//!
//! Nothing here is validated beyond what clap can check by itself; turning
//! flags, the environment and the config file into settings is
//! [`crate::settings`]'s job. Every setting that is not a secret is also a flag
//! (`DOCSYNC_WAIT_TIMEOUT` ↔ `--wait-timeout`). Secrets are deliberately not
//! flags: a command line is visible to every process on the runner and is
//! echoed into job logs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Arg, ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::settings::declarations::{self, Scope, Setting};

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
    /// Write the mechanical fixes into the working tree and print them as a
    /// unified diff (with --dry-run: print only); then lint the fixed tree.
    #[arg(long)]
    pub fix: bool,
    /// Let --fix change files that have uncommitted changes.
    #[arg(long, requires = "fix")]
    pub allow_dirty: bool,
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

    // `--from`, `--to`, `--config` here (in the order `--help` shows), then
    // every other setting under its own heading.
    #[command(flatten)]
    pub settings: SettingFlags,

    /// Only these targets (by name); repeatable.
    #[arg(long = "target", global = true, value_name = "NAME")]
    pub targets: Vec<String>,

    /// More log detail (-v debug, -vv trace).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Less log detail (-q warnings and errors only, -qq errors only).
    #[arg(short, long, action = ArgAction::Count, global = true, conflicts_with = "verbose")]
    pub quiet: u8,
}

/// The settings given as flags, by setting: one flag per declaration in
/// `declarations::ALL` that has one, built from the declaration (its
/// name, placeholder and help). Values stay strings here so that one
/// validator reports every bad value the same way, whichever layer it came
/// from. An empty flag (`--paths ""`) counts as unset, like an empty
/// variable.
#[derive(Debug, Default, Clone)]
pub struct SettingFlags(BTreeMap<&'static str, String>);

impl SettingFlags {
    /// The flag's value; `None` when not given or empty.
    pub(crate) fn get(&self, setting: &Setting) -> Option<&str> {
        self.0.get(setting.name).map(String::as_str).filter(|value| !value.trim().is_empty())
    }

    /// Sets a flag as the command line would (tests).
    #[cfg(test)]
    pub(crate) fn set(&mut self, setting: &Setting, value: &str) {
        self.0.insert(setting.name, value.to_owned());
    }
}

impl clap::FromArgMatches for SettingFlags {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = SettingFlags::default();
        flags.update_from_arg_matches(matches)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        for setting in declarations::ALL.iter().filter(|setting| setting.flag.is_some()) {
            if let Some(value) = matches.try_get_one::<String>(setting.name).ok().flatten() {
                self.0.insert(setting.name, value.clone());
            }
        }
        Ok(())
    }
}

impl clap::Args for SettingFlags {
    fn augment_args(command: clap::Command) -> clap::Command {
        let flag = |setting: &Setting, long: &'static str| {
            Arg::new(setting.name)
                .long(long)
                .global(true)
                .value_name(setting.value_name)
                .help(setting.help)
                .action(ArgAction::Set)
        };
        // The range and the config file belong to one invocation: the
        // general options; every other setting under its own heading.
        let command = declarations::ALL
            .iter()
            .filter(|setting| setting.scope == Scope::Invocation)
            .filter_map(|setting| setting.flag.map(|long| flag(setting, long)))
            .fold(command, clap::Command::arg);
        declarations::ALL
            .iter()
            .filter(|setting| setting.scope != Scope::Invocation)
            .filter_map(|setting| setting.flag.map(|long| flag(setting, long).help_heading(SETTINGS_HEADING)))
            .fold(command, clap::Command::arg)
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

const SETTINGS_HEADING: &str = "Settings (each also DOCSYNC_<NAME> and a docsync.toml key)";
