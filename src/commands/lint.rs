//! `docsync lint`: the docs pre-flight of every target on its own, and the
//! pre-flight's reading of head's docs that `sync` runs before sending.

use std::path::Path;

use anyhow::{Context, Result};
use tokio::runtime::Runtime;

use crate::error::{BadInput, Exit};
use crate::git::range::{self, RangeMode};
use crate::git::repo::Repo;
use crate::git::worktree;
use crate::http::HttpClient;
use crate::lint::{self, LintKind, LintReport, LintTarget};
use crate::log::{self, Terminal};
use crate::output::report::{self, ReportKind};
use crate::plan::{Plan, RangeView};
use crate::settings::flags::{Format, LintFlags};
use crate::settings::{PathFilter, Settings};

/// `docsync lint`: the docs pre-flight of every target, on the range's head
/// commit (or the working tree). Without a configured target, the project
/// directory is checked as a GitBook space.
pub fn run(settings: &Settings, flags: LintFlags, terminal: Terminal, runtime: &Runtime) -> Result<Exit> {
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
    let (fallback, fallback_ignore);
    let mut targets: Vec<LintTarget<'_>> = settings.targets.iter().map(LintTarget::of).collect();
    if targets.is_empty() {
        let directory = settings.project_directory.path.clone();
        tracing::info!(
            "no target configured: checking {} as a GitBook space",
            if directory.is_empty() { "the repository root" } else { directory.as_str() }
        );
        let ignore = &settings.project_directory.ignore;
        // The globs were checked when the settings were resolved.
        fallback_ignore = if ignore.is_empty() {
            None
        } else {
            Some(PathFilter::new(directory.clone(), ignore.clone()).context("while reading the ignore globs")?)
        };
        fallback = PathFilter::new(directory, Vec::new()).context("while reading the project directory")?;
        targets.push(LintTarget {
            name: "gitbook",
            kind: LintKind::GitBook,
            paths: &fallback,
            ignore: fallback_ignore.as_ref(),
        });
    }
    if flags.worktree {
        let root = gathered.repo.workdir().context("the repository has no working tree")?;
        for target in &targets {
            let source = if settings.targets.is_empty() {
                settings.project_directory.source.clone().unwrap_or_else(|| "project directory".to_owned())
            } else {
                format!("target {}: project directory", target.name)
            };
            refuse_symlinks(&root, &target.paths.directory, &source)?;
        }
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

/// A project directory reached through a symbolic link in the working tree
/// is refused: git, and so GitBook, never follows one, and the link may lead
/// anywhere on the machine.
fn refuse_symlinks(root: &Path, directory: &str, source: &str) -> Result<()> {
    let mut path = root.to_path_buf();
    for part in directory.split('/').filter(|part| !part.is_empty()) {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                return Err(BadInput::new(
                    source,
                    format!(
                        "{} is a symbolic link: git does not follow it, and neither does GitBook",
                        path.strip_prefix(root).unwrap_or(&path).display()
                    ),
                    "name the real directory inside the repository, like docs or handbook/en",
                )
                .with_value(directory)
                .into());
            }
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(error).with_context(|| format!("while reading {}", path.display())),
        }
    }
    Ok(())
}

/// The pre-flight on the plan's head commit, or on the working tree.
pub(super) fn lint_head(repo: &Repo, plan: &Plan, targets: &[LintTarget<'_>], worktree: bool) -> Result<LintReport> {
    let directories: Vec<&str> = targets.iter().map(|t| t.paths.directory.as_str()).collect();
    // With --worktree, what is uncommitted or untracked is part of the
    // range: CI will see it once committed.
    let (snapshot, range) = if worktree {
        let checked_out = repo.resolve_commit("HEAD")?;
        if checked_out.as_deref() != Some(plan.range.head.as_str()) {
            return Err(BadInput::new(
                "--worktree",
                format!(
                    "the working tree is a checkout of {}, not of the range's head {}",
                    checked_out.as_deref().map_or("nothing", range::short),
                    range::short(&plan.range.head)
                ),
                "drop --to (or DOCSYNC_TO), or check out the range's head first",
            )
            .into());
        }
        let status = repo.worktree_status()?;
        let snapshot = lint::read_files(repo, lint::Source::Worktree(&status.ignored), &directories);
        let changes = worktree::carry_on(plan.changes.clone(), status.changes);
        (snapshot, lint::RangeChanges::within(&changes, &directories))
    } else {
        let snapshot = lint::read_files(repo, lint::Source::Commit(&plan.range.head), &directories);
        (snapshot, lint::RangeChanges::within(&plan.changes, &directories))
    };
    let snapshot = snapshot.context("while reading the docs")?;
    let mut report = lint::check(targets, &snapshot, &range);
    match readable_base(repo, &plan.range) {
        Some(base) if report.needs_base(&range) => {
            let reading = || format!("while reading the docs at the base {}", range::short(base));
            let at_base = match report.edited_pages(&range) {
                // Only these pages differ at the base: check just them.
                Some(pages) => {
                    let mut snapshot = snapshot;
                    snapshot.take_from_commit(repo, base, pages).with_context(reading)?;
                    lint::check_files(targets, &snapshot, pages)
                }
                None => {
                    // Head's files go before the base's are read: never both
                    // in memory at once.
                    drop(snapshot);
                    let base_files =
                        lint::read_files(repo, lint::Source::Commit(base), &directories).with_context(reading)?;
                    lint::check(targets, &base_files, &lint::RangeChanges::default())
                }
            };
            report = report.compared_with_base(&at_base, &range);
        }
        Some(_) => {}
        None if report.errors > 0 => tracing::info!(
            "the range has no base in the clone (a full sync, or a base beyond a shallow clone): a finding counts as new when the range touched its file"
        ),
        None => {}
    }
    tracing::info!(
        "docs pre-flight: {} error(s), {} warning(s), {} new error(s)",
        report.errors,
        report.warnings,
        report.new_errors().count()
    );
    Ok(report)
}

/// The range's base, when its findings can be read: a range with a base
/// (not a full sync) that the clone holds (GitLab's compare API answers
/// only for a base the clone lacks).
fn readable_base<'a>(repo: &Repo, range: &'a RangeView) -> Option<&'a str> {
    let base = range.base.as_deref()?;
    (range.mode != RangeMode::Full && repo.has_commit(base)).then_some(base)
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
