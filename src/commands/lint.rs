//! `docsync lint`: the docs pre-flight of every target on its own, and the
//! pre-flight's reading of head's docs that `sync` runs before sending.

use anyhow::{Context, Result};
use tokio::runtime::Runtime;

use crate::error::Exit;
use crate::git::repo::Repo;
use crate::http::HttpClient;
use crate::lint::{self, LintKind, LintReport, LintTarget};
use crate::log::{self, Terminal};
use crate::output::report::{self, ReportKind};
use crate::plan::SyncPlan;
use crate::settings::environment::Environment;
use crate::settings::flags::{Cli, Format, LintFlags};
use crate::settings::{PathFilter, Settings};

/// `docsync lint`: the docs pre-flight of every target, on the range's head
/// commit (or the working tree). Without a configured target, the project
/// directory is checked as a GitBook space.
pub fn run(
    cli: &Cli,
    env: &Environment,
    settings: &Settings,
    flags: LintFlags,
    terminal: Terminal,
    runtime: &Runtime,
) -> Result<Exit> {
    // A report that cannot be written would fail the job after the work;
    // find out first, as `sync` does.
    if let Some(path) = &settings.codequality
        && let Err(error) = report::check_writable(&path.path)
    {
        log::error(&report::unwritable(path, ReportKind::CodeQuality, &error));
        return Ok(Exit::LocalFailure);
    }
    let http = match settings.pipeline.ci {
        Some(_) => Some(HttpClient::new(&settings.http)?),
        None => None,
    };
    let (gathered, plan) = super::gather_and_decide(settings, terminal, None, runtime, http.as_ref())?;
    let fallback;
    let mut targets: Vec<LintTarget<'_>> = settings.targets.iter().map(LintTarget::of).collect();
    if targets.is_empty() {
        let directory = cli
            .global
            .settings
            .project_directory
            .as_deref()
            .or(config_value(&env.docsync.project_directory))
            .unwrap_or("")
            .trim_start_matches("./")
            .trim_matches('/')
            .to_owned();
        tracing::info!(
            "no target configured: checking {} as a GitBook space",
            if directory.is_empty() { "the repository root" } else { directory.as_str() }
        );
        fallback = PathFilter::new(directory, Vec::new()).context("while reading the project directory")?;
        targets.push(LintTarget { name: "gitbook", kind: LintKind::GitBook, paths: &fallback });
    }
    let report = lint_head(&gathered.repo, &plan, &targets, flags.worktree)?;
    let text = match settings.format {
        Format::Text => lint::report::text(&report),
        Format::Json => lint::report::json(&report).context("while writing the result")?,
    };
    // The result first: a report that fails to write must not hide it.
    log::result(&crate::output::report::shown(&text, settings.format)).context("while writing the result")?;
    let failing = if flags.strict { report.errors } else { report.new_errors().count() };
    let exit = if failing > 0 { Exit::TargetFailed } else { Exit::Ok };
    Ok(exit.worst(write_code_quality(settings, &report)))
}

fn config_value(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.is_empty())
}

/// The pre-flight on the plan's head commit, or on the working tree.
pub(super) fn lint_head(
    repo: &Repo,
    plan: &SyncPlan,
    targets: &[LintTarget<'_>],
    worktree: bool,
) -> Result<LintReport> {
    let source = if worktree { lint::Source::Worktree } else { lint::Source::Commit(&plan.range.head) };
    let directories: Vec<&str> = targets.iter().map(|t| t.paths.directory.as_str()).collect();
    let snapshot = lint::read_files(repo, source, &directories).context("while reading the docs")?;
    let report = lint::check(targets, &snapshot, &lint::RangeChanges::new(&plan.changes));
    tracing::info!(
        "docs pre-flight: {} error(s), {} warning(s), {} new error(s)",
        report.errors,
        report.warnings,
        report.new_errors().count()
    );
    Ok(report)
}

/// Writes the Code Quality report, if any; exit 4 when it cannot be written.
fn write_code_quality(settings: &Settings, report: &LintReport) -> Exit {
    let Some(path) = &settings.codequality else { return Exit::Ok };
    match lint::report::write_code_quality(report, &path.path) {
        Ok(()) => Exit::Ok,
        Err(error) => {
            log::error(&report::unwritable(path, ReportKind::CodeQuality, &error));
            Exit::LocalFailure
        }
    }
}
