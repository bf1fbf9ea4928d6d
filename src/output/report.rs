//! Results for people (`--format text`) and for scripts (`--format json`).
//!
//! The JSON shape is a documented contract (docs/json.md): fields
//! are added, never renamed or removed.

use std::fmt::Write;
use std::path::Path;

use crate::error::Exit;
use crate::git::diff::{ChangeStatus, quoted_path};
use crate::git::range::short;
use crate::log;
use crate::output::{json, web_link};
use crate::plan::Plan;
use crate::plan::run::Run;
use crate::secret::{Redacted, printable};
use crate::settings::ReportPath;
use crate::settings::flags::Format;

/// Text output lists this many changes; JSON always lists all of them.
const TEXT_CHANGES_SHOWN: usize = 50;

/// The result as it is printed and written: secrets masked, and nothing
/// a server or a path supplied can break a line of it or reorder one.
/// `run` is `None` for a plan.
pub(crate) fn render(plan: &Plan, run: Option<&Run>, format: Format) -> anyhow::Result<Redacted> {
    let text = match format {
        Format::Json => json::document(plan, run)? + "\n",
        Format::Text => render_text(plan, run),
    };
    Ok(shown(&text, format))
}

/// A result in `format` as it may be shown: JSON through
/// [`Redacted::json`], text through [`Redacted::lines`].
pub(crate) fn shown(text: &str, format: Format) -> Redacted {
    match format {
        Format::Json => Redacted::json(text),
        Format::Text => Redacted::lines(text),
    }
}

fn render_text(plan: &Plan, run: Option<&Run>) -> String {
    let mut out = String::new();
    if let Some(run) = run {
        let _ = writeln!(out, "status   {}", run.status);
    }
    let range = &plan.range;
    let base = range.base.as_deref().map_or("(none)", short);
    let _ = writeln!(out, "range    {base}..{} ({})", short(&range.head), range.mode);
    let _ = writeln!(out, "         {}", printable(&range.reason));

    let _ = writeln!(out, "changes  {}", plan.changes.len());
    for change in plan.changes.iter().take(TEXT_CHANGES_SHOWN) {
        match (&change.status, &change.old_path) {
            (ChangeStatus::Renamed, Some(old)) => {
                let _ = writeln!(out, "  R  {} -> {}", quoted_path(old), quoted_path(&change.path));
            }
            (status, _) => {
                let _ = writeln!(out, "  {}  {}", status.letter(), quoted_path(&change.path));
            }
        }
    }
    if plan.changes.len() > TEXT_CHANGES_SHOWN {
        let _ =
            writeln!(out, "  … and {} more (--format json lists them all)", plan.changes.len() - TEXT_CHANGES_SHOWN);
    }

    if plan.targets.is_empty() {
        let _ = writeln!(
            out,
            "targets  none configured: set DOCSYNC_GITBOOK_SPACE (GitBook) or DOCSYNC_DOT_WEBHOOK_URL (Dot), or write a docsync.toml"
        );
        return out;
    }
    let _ = writeln!(out, "targets  {}", plan.targets.len());
    let name_width = plan.targets.iter().map(|t| t.name.len()).max().unwrap_or(0);
    for target in &plan.targets {
        let target_run = run.and_then(|run| run.of(target));
        let _ = writeln!(
            out,
            "  {:name_width$}  {:7}  {:10}  {:>4} changed  {}",
            target.name,
            target.kind.as_str(),
            target.action.as_str(),
            target.changed,
            printable(&target.reason.to_string())
        );
        if let Some(origin) = &target.origin {
            let _ = writeln!(out, "  {:name_width$}  {}", "", printable(origin));
        }
        if let Some(base) = &target.base {
            let commit = base.commit.as_deref().map_or("(none)", short);
            let _ = writeln!(out, "  {:name_width$}  base {commit}: {}", "", printable(&base.reason));
        }
        if let Some(outcome) = target_run.map(|r| &r.outcome) {
            let _ = writeln!(out, "  {:name_width$}  {}: {}", "", outcome.status.as_str(), printable(&outcome.message));
            if let Some(fix) = &outcome.fix {
                let _ = writeln!(out, "  {:name_width$}  fix: {}", "", printable(fix));
            }
        }
        let sent_nothing = target_run.is_some_and(|r| r.outcome.stopped_before_sending);
        if let Some(request) = target.request.as_ref().filter(|_| !sent_nothing) {
            let _ = writeln!(out, "  {:name_width$}  {} {}", "", request.method, printable(&request.url));
        }
        let run_warnings = target_run.map(|r| r.warnings.as_slice()).unwrap_or_default();
        for warning in target.warnings.iter().chain(run_warnings) {
            let _ = writeln!(out, "  {:name_width$}  warning: {}", "", printable(warning));
        }
    }
    out
}

/// GitLab's limits for a dotenv report as a self-managed instance has them
/// by default (an instance setting; GitLab.com's plans allow more
/// variables): GitLab accepts a report strictly smaller than
/// `DOTENV_MAX_BYTES` with at most `DOTENV_MAX_VARIABLES` variables, and
/// rejects the artifact, failing the job, beyond.
#[cfg(test)]
pub(crate) const DOTENV_MAX_VARIABLES: usize = 20;
#[cfg(test)]
pub(crate) const DOTENV_MAX_BYTES: usize = 5_120;
/// A list of target names is cut to this many bytes, the URL dropped beyond
/// it, so that the whole report stays under [`DOTENV_MAX_BYTES`] whatever
/// the number of targets: eight short values plus three of these.
const DOTENV_VALUE_BYTES: usize = 1_500;

/// The files a run writes for GitLab, each at a [`ReportPath`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportKind {
    Dotenv,
    Json,
    CodeQuality,
}

impl ReportKind {
    fn name(self) -> &'static str {
        match self {
            ReportKind::Dotenv => "dotenv report",
            ReportKind::Json => "JSON report",
            ReportKind::CodeQuality => "Code Quality report",
        }
    }
}

/// Exit 4's message for a report that cannot be written: docsync's own
/// failure, naming where the path came from and what to do.
pub(crate) fn unwritable(report: &ReportPath, kind: ReportKind, error: &std::io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "docsync could not finish locally: cannot write the {} {} = {:?}: {error}\n  fix: point {} at a file in a writable directory, or set it to none",
        kind.name(),
        report.source,
        report.path.display().to_string(),
        report.source
    )
}

/// Whether a report can be written at `path`, leaving what is there as it
/// is: an existing file is opened for writing, else one is created and
/// removed again.
pub(crate) fn check_writable(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::new(std::io::ErrorKind::IsADirectory, "it is a directory"));
    }
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            std::fs::OpenOptions::new().write(true).create_new(true).open(path)?;
            std::fs::remove_file(path)
        }
        Err(error) => Err(error),
    }
}

/// Writes the dotenv report for `artifacts:reports:dotenv`.
pub(crate) fn write_dotenv(plan: &Plan, run: &Run, path: &Path) -> std::io::Result<()> {
    log::write_report(path, &Redacted::lines(&dotenv(plan, run)))
}

/// Writes the JSON report: the same document as `sync --format json`.
pub(crate) fn write_json(plan: &Plan, run: &Run, path: &Path) -> std::io::Result<()> {
    log::write_report(path, &render(plan, Some(run), Format::Json).map_err(std::io::Error::other)?)
}

/// The run in a few variables of fixed names, within GitLab's limits
/// whatever the number of targets: one `KEY=value` a line, values without
/// spaces or quotes so that GitLab reads them verbatim. Each target's detail
/// is in the JSON report.
pub(crate) fn dotenv(plan: &Plan, run: &Run) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: &str| {
        let value: String =
            value.chars().map(|c| if c.is_whitespace() || c == '"' || c == '\'' { '_' } else { c }).collect();
        let _ = writeln!(out, "{key}={value}");
    };
    line("DOCSYNC_STATUS", run.status.as_str());
    line("DOCSYNC_RANGE_BASE", plan.range.base.as_deref().unwrap_or(""));
    line("DOCSYNC_RANGE_HEAD", &plan.range.head);
    line("DOCSYNC_RANGE_MODE", &plan.range.mode.to_string());
    line("DOCSYNC_CHANGED", &plan.changes.len().to_string());
    line("DOCSYNC_TARGETS", &name_list(plan.targets.iter().map(|t| t.name.as_str())));
    let failed = plan
        .targets
        .iter()
        .filter(|t| run.of(t).is_some_and(|r| r.outcome.status.exit() != Exit::Ok))
        .map(|t| t.name.as_str());
    line("DOCSYNC_FAILED", &name_list(failed));
    // The docs the job changed, for the environment's URL: the first
    // target that has a page to show. GitBook supplies it, and GitLab
    // expands variables in it where a later job uses it: only a printable
    // http(s) URL without `$` is handed on.
    let url = plan.targets.iter().filter_map(|t| run.of(t)?.outcome.docs_url.as_deref()).find_map(web_link);
    line("DOCSYNC_URL", url.as_ref().map(|u| u.as_str()).filter(|u| u.len() <= DOTENV_VALUE_BYTES).unwrap_or(""));
    out
}

/// `a,b,c`, cut at a name boundary to [`DOTENV_VALUE_BYTES`]: `a,b,...+2`.
fn name_list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut list = String::new();
    for (index, name) in names.iter().enumerate() {
        let rest = names.len() - index;
        // Room for this name and, if more follow, the `,...+N` marker.
        let marker = if rest > 1 { format!(",...+{}", rest - 1).len() } else { 0 };
        if list.len() + 1 + name.len() + marker > DOTENV_VALUE_BYTES {
            let _ = write!(list, "{}...+{rest}", if list.is_empty() { "" } else { "," });
            return list;
        }
        if !list.is_empty() {
            list.push(',');
        }
        list.push_str(name);
    }
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::range::RangeMode;
    use crate::plan::outcome::{Outcome, OutcomeStatus};
    use crate::plan::run::{RunStatus, TargetRun};
    use crate::plan::{Action, Decision, Platform, PushTrigger, RangeView, Reason};
    use crate::settings::target_id::TargetId;

    fn target(index: usize, name: String) -> Decision {
        Decision {
            target: TargetId::Table(index),
            name,
            kind: Platform::GitBook,
            origin: None,
            action: Action::Import,
            reason: Reason::Changed { trigger: PushTrigger::SyncBranch, changed: 1 },
            changed: 1,
            request: None,
            warnings: Vec::new(),
            files: Vec::new(),
            base: None,
        }
    }

    /// A plan and a failed run of `targets`, each with its outcome.
    fn run_of(targets: Vec<(String, OutcomeStatus)>) -> (Plan, Run) {
        let plan = Plan {
            range: RangeView {
                base: Some("a".repeat(40)),
                head: "b".repeat(40),
                mode: RangeMode::Push,
                reason: String::new(),
            },
            changes: Vec::new(),
            targets: targets.iter().enumerate().map(|(index, (name, _))| target(index, name.clone())).collect(),
        };
        let targets = targets
            .into_iter()
            .enumerate()
            .map(|(index, (_, status))| TargetRun {
                target: TargetId::Table(index),
                outcome: Outcome::new(status, "done"),
                warnings: Vec::new(),
            })
            .collect();
        (plan, Run { status: RunStatus::Failed, targets })
    }

    fn variables(text: &str) -> Vec<(&str, &str)> {
        text.lines().map(|line| line.split_once('=').expect("KEY=value")).collect()
    }

    #[test]
    fn dotenv_stays_within_gitlabs_limits_whatever_the_targets() {
        for count in [1, 25, 400] {
            let targets = (0..count)
                .map(|i| {
                    let status = if i % 2 == 0 { OutcomeStatus::Failed } else { OutcomeStatus::Synced };
                    (format!("docs-{i:03}-{}", "x".repeat(60)), status)
                })
                .collect();
            let (plan, mut run) = run_of(targets);
            run.targets[0].outcome.docs_url = Some(format!("https://app.gitbook.com/s/{}", "y".repeat(1_000)));
            let text = dotenv(&plan, &run);
            let vars = variables(&text);
            assert!(vars.len() <= DOTENV_MAX_VARIABLES, "{count} targets: {} variables", vars.len());
            assert!(text.len() < DOTENV_MAX_BYTES, "{count} targets: {} bytes", text.len());
            let mut keys: Vec<&str> = vars.iter().map(|(k, _)| *k).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys.len(), vars.len(), "keys are unique:\n{text}");
            let get = |key: &str| vars.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
            assert!(get("DOCSYNC_URL").is_some_and(|u| u.starts_with("https://app.gitbook.com/s/")), "{text}");
            let listed = get("DOCSYNC_TARGETS").unwrap_or_default();
            assert!(listed.starts_with("docs-000-"), "{listed}");
            if count > 20 {
                assert!(listed.contains(",...+"), "a long list says how many it leaves out: {listed}");
            }
        }
    }

    #[test]
    fn dotenv_names_failed_targets_and_keeps_similar_names_apart() {
        let (plan, run) = run_of(vec![
            ("docs-en".into(), OutcomeStatus::Failed),
            ("docs_en".into(), OutcomeStatus::Verified),
            ("api".into(), OutcomeStatus::Unreachable),
        ]);
        let text = dotenv(&plan, &run);
        assert!(text.contains("DOCSYNC_TARGETS=docs-en,docs_en,api\n"), "{text}");
        assert!(text.contains("DOCSYNC_FAILED=docs-en,api\n"), "{text}");
        assert!(text.contains("DOCSYNC_URL=\n"), "{text}");
    }

    #[test]
    fn dotenv_hands_on_only_a_printable_http_url() {
        let url_of = |docs_url: &str| {
            let (plan, mut run) = run_of(vec![("docs".into(), OutcomeStatus::Verified)]);
            run.targets[0].outcome.docs_url = Some(docs_url.to_owned());
            let text = dotenv(&plan, &run);
            variables(&text).into_iter().find(|(k, _)| *k == "DOCSYNC_URL").map(|(_, v)| v.to_owned())
        };
        assert_eq!(url_of("https://app.gitbook.com/s/spc1/").as_deref(), Some("https://app.gitbook.com/s/spc1/"));
        for bad in [
            "https://app.gitbook.com/s/\0nul",
            "https://app.gitbook.com/s/\x1b[31mred",
            "https://app.gitbook.com/s/$CI_JOB_TOKEN",
            "https://app.gitbook.com/s/\u{202e}txt",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://user:pass@app.gitbook.com/s/x",
        ] {
            assert_eq!(url_of(bad).as_deref(), Some(""), "{bad:?}");
        }
    }

    #[test]
    fn a_cut_list_counts_what_it_leaves_out() {
        let names: Vec<String> = (0..400).map(|i| format!("target-{i:03}")).collect();
        let list = name_list(names.iter().map(String::as_str));
        assert!(list.len() <= DOTENV_VALUE_BYTES, "{}", list.len());
        let (shown, more) = list.rsplit_once(",...+").expect("a cut list ends with ,...+N");
        assert_eq!(shown.split(',').count() + more.parse::<usize>().unwrap(), 400, "{list}");
    }
}
