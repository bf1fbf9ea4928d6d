//! `docsync lint`: the docs pre-flight of every target on its own, and the
//! pre-flight's reading of head's docs that `sync` runs before sending.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use tokio::runtime::Runtime;

use crate::bounded_file;
use crate::error::{BadInput, Exit, LocalFailure};
use crate::git::diff::ChangeStatus;
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
pub(crate) fn run(settings: &Settings, flags: LintFlags, terminal: Terminal, runtime: &Runtime) -> Result<Exit> {
    // A report that cannot be written would fail the job after the work;
    // find out first, as `sync` does.
    if let Some(path) = &settings.codequality
        && let Err(error) = report::check_writable(&path.path)
    {
        log::error(&report::unwritable(path, ReportKind::CodeQuality, &error));
        return Ok(Exit::LocalFailure);
    }
    if flags.fix && settings.format == Format::Json {
        return Err(BadInput::new(
            "--fix",
            "--fix prints its changes as a unified diff, which --format json cannot carry",
            "run `docsync lint --fix` with the text format, then `docsync lint --format json` for the findings left",
        )
        .into());
    }
    // --fix changes the working tree, so it reads the working tree.
    let worktree = flags.worktree || flags.fix;
    let http = match settings.pipeline.ci {
        Some(_) => Some(HttpClient::new(&settings.http)?),
        None => None,
    };
    let (gathered, plan) =
        super::gather_and_decide(settings, terminal, None, runtime, http.as_ref(), super::facts::Spaces::Unread)?;
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
    if worktree {
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
    if flags.fix && !flags.worktree {
        refuse_another_checkout(&gathered.repo, &plan, "--fix")?;
    }
    let report = lint_head(&gathered.repo, &plan, &targets, worktree)?;
    if flags.fix {
        let report = fix(settings, &gathered.repo, &plan, &targets, report, flags)?;
        return Ok(lint_exit(&report, flags).worst(write_code_quality(settings, &report)));
    }
    let text = match settings.format {
        Format::Text => lint::report::text(&report),
        Format::Json => lint::report::json(&report).context("while writing the result")?,
    };
    // The result first: a report that fails to write must not hide it.
    log::result(&crate::output::report::shown(&text, settings.format)).context("while writing the result")?;
    Ok(lint_exit(&report, flags).worst(write_code_quality(settings, &report)))
}

/// 1 for a new error (any error with `--strict`), else 0.
fn lint_exit(report: &LintReport, flags: LintFlags) -> Exit {
    let failing = if flags.strict { report.errors } else { report.new_errors().count() };
    if failing > 0 { Exit::TargetFailed } else { Exit::Ok }
}

/// `--fix`: the fixes of `report`'s findings written into the working tree
/// (printed only with `--dry-run`) as a unified diff, then the pre-flight
/// of the fixed tree; returns that report (with `--dry-run`, `report`), by
/// which `lint` exits.
fn fix(
    settings: &Settings,
    repo: &Repo,
    plan: &Plan,
    targets: &[LintTarget<'_>],
    report: LintReport,
    flags: LintFlags,
) -> Result<LintReport> {
    let root = repo.workdir().context("the repository has no working tree")?;
    let status = repo.worktree_status()?;
    let uncommitted: HashSet<String> =
        status.changes.iter().flat_map(|c| std::iter::once(c.path.clone()).chain(c.old_path.clone())).collect();
    let renames: HashMap<String, String> = worktree::carry_on(plan.changes.clone(), status.changes)
        .into_iter()
        .filter(|change| change.status == ChangeStatus::Renamed)
        .filter_map(|change| Some((change.old_path?, change.path)))
        .collect();
    let tree = WorkingTree { root: &root, directories: targets.iter().map(|t| t.paths.directory.as_str()).collect() };
    let fixes = lint::fix::plan(&report.findings, &renames, &tree)?;
    let dirty: Vec<&str> = fixes.files.keys().map(String::as_str).filter(|path| uncommitted.contains(*path)).collect();
    if !dirty.is_empty() && !flags.allow_dirty {
        return Err(BadInput::new(
            "--fix",
            format!(
                "{} {} uncommitted changes: the fixes would mix with them",
                dirty.iter().map(|path| crate::git::diff::quoted_path(path)).collect::<Vec<_>>().join(", "),
                if dirty.len() == 1 { "has" } else { "have" }
            ),
            "commit or stash them first, or pass --allow-dirty to fix them as they are",
        )
        .into());
    }
    let mut text = String::new();
    for note in &fixes.notes {
        let _ = writeln!(text, "note: {note}");
    }
    if fixes.is_empty() {
        text.push_str("nothing to fix\n");
    } else {
        text.push_str(&fixes.unified_diff());
    }
    if settings.dry_run {
        tracing::info!("--dry-run: the fixes are printed, not written");
        log::result(&crate::output::report::shown(&text, Format::Text)).context("while writing the result")?;
        return Ok(report);
    }
    // Every file is checked before the first is written: a refusal leaves
    // the tree as it was.
    for path in fixes.files.keys() {
        tree.checked(path)?;
    }
    for (path, change) in &fixes.files {
        tree.write(path, &change.after)
            .map_err(LocalFailure::wrap(format!("while writing the fix of {}", crate::git::diff::quoted_path(path))))?;
    }
    if !fixes.is_empty() {
        tracing::info!("--fix changed {} file(s); checking the fixed tree", fixes.files.len());
    }
    let report = if fixes.is_empty() { report } else { lint_head(repo, plan, targets, true)? };
    text.push_str(&lint::report::text(&report));
    log::result(&crate::output::report::shown(&text, Format::Text)).context("while writing the result")?;
    Ok(report)
}

/// The files `--fix` reads and writes: inside a target's directory, never
/// through a symbolic link (git does not follow one, and it may lead out
/// of the project).
struct WorkingTree<'a> {
    root: &'a Path,
    directories: Vec<&'a str>,
}

impl WorkingTree<'_> {
    /// The file's path on disk, once it is known to lie inside a target's
    /// directory with no symbolic link on the way.
    fn checked(&self, path: &str) -> Result<std::path::PathBuf> {
        let refused = |problem: String| {
            BadInput::new(
                "--fix",
                problem,
                "fix this file by hand; --fix writes only plain files inside the project directory",
            )
        };
        let inside = self
            .directories
            .iter()
            .any(|dir| dir.is_empty() || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/')));
        if !inside || path.split('/').any(|part| part.is_empty() || part == "." || part == "..") {
            return Err(refused(format!("{path} lies outside the project directory")).into());
        }
        let mut on_disk = self.root.to_path_buf();
        for part in path.split('/') {
            on_disk.push(part);
            match std::fs::symlink_metadata(&on_disk) {
                Ok(metadata) if metadata.file_type().is_symlink() => {
                    return Err(refused(format!(
                        "{path} is reached through the symbolic link {}",
                        on_disk.strip_prefix(self.root).unwrap_or(&on_disk).display()
                    ))
                    .into());
                }
                Ok(_) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => break,
                Err(error) => return Err(error).with_context(|| format!("while reading {}", on_disk.display())),
            }
        }
        Ok(self.root.join(path))
    }

    /// Writes `text` whole: a temporary file in the same directory renamed
    /// over the file, so a reader sees the old text or the new, never part.
    /// The file keeps its permissions; a new one is `rw-r--r--`.
    fn write(&self, path: &str, text: &str) -> Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let on_disk = self.checked(path)?;
        let directory = on_disk.parent().context("a file has a directory")?;
        let permissions = match std::fs::metadata(&on_disk) {
            Ok(metadata) => metadata.permissions(),
            Err(_) => std::fs::Permissions::from_mode(0o644),
        };
        let mut file =
            tempfile::Builder::new().prefix(".docsync-fix-").permissions(permissions).tempfile_in(directory)?;
        file.write_all(text.as_bytes())?;
        file.as_file().sync_all()?;
        file.persist(&on_disk)?;
        Ok(())
    }
}

impl lint::fix::FileReader for WorkingTree<'_> {
    fn read(&self, path: &str) -> Result<Option<String>> {
        let on_disk = self.checked(path)?;
        match bounded_file::read(&on_disk, lint::MAX_FILE_BYTES) {
            Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|_| {
                BadInput::new("--fix", format!("{path} is not UTF-8 text"), "fix this file by hand").into()
            }),
            Err(refused) if refused.is_not_found() => Ok(None),
            Err(refused) => Err(anyhow::anyhow!("{path}: {refused}")).context("while reading a file to fix"),
        }
    }
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
        refuse_another_checkout(repo, plan, "--worktree")?;
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

/// The working tree is read as the range's head: a checkout of another
/// commit is refused, naming the flag that asked for the working tree.
fn refuse_another_checkout(repo: &Repo, plan: &Plan, flag: &str) -> Result<()> {
    let checked_out = repo.resolve_commit("HEAD")?;
    if checked_out.as_deref() == Some(plan.range.head.as_str()) {
        return Ok(());
    }
    Err(BadInput::new(
        flag,
        format!(
            "the working tree is a checkout of {}, not of the range's head {}",
            checked_out.as_deref().map_or("nothing", range::short),
            range::short(&plan.range.head)
        ),
        "drop --to (or DOCSYNC_TO), or check out the range's head first",
    )
    .into())
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
