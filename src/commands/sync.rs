//! `docsync sync` (and `export`): the facts and the decision
//! (`gather_and_decide`), then doing what the plan decided — the
//! docs pre-flight, one request per acting target, at most
//! `DOCSYNC_CONCURRENCY` at once, each ending in an [`Outcome`], and the
//! reports to GitLab. The plan is only read: what the run did is a [`Run`]
//! beside it. One target's failure never stops the others; the run's exit
//! code is the worst outcome.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use tokio::runtime::Runtime;

use crate::error::{BadInput, BadInputs, Exit};
use crate::git::range::short;
use crate::git::repo::Ancestry;
use crate::git::repo::Repo;
use crate::gitlab::instance::locate_project;
use crate::http::HttpClient;
use crate::lint::{Finding, LintReport, LintTarget, Severity};
use crate::log::{self, Section, Terminal};
use crate::output::report::{self, ReportKind};
use crate::plan::facts::RequestedBy;
use crate::plan::outcome::{Fault, Outcome, OutcomeStatus};
use crate::plan::run::{Run, RunStatus, TargetRun};
use crate::plan::{Action, Decision, Plan, PlannedRequest, RequestBody};
use crate::secret::Secret;
use crate::settings::GitBookEdits;
use crate::settings::duration::format_duration;
use crate::settings::target_id::TargetId;
use crate::settings::{DotTarget, GitBookTarget, LintMode, ReportPath, Settings, Target, TargetKind};
use crate::targets::dot;
use crate::targets::gitbook::GitRequestBody;
use crate::targets::gitbook::answers::{Operation, Revision, state_name};
use crate::targets::gitbook::change_requests::{OpenChangeRequests, clashing, page_links};
use crate::targets::gitbook::client::{GitBookClient, GitBookError, no_git_sync};
use crate::targets::gitbook::space::{GitBookEditsFound, Guard, classify, edits_branch, read_edits};
use crate::targets::gitbook::verdict::{Verdict, WaitLimits, queue, wait_for_verdict};

use super::facts::{LIVE_COMMIT_DEPTH, LiveRead};
use super::lint::lint_head;
use super::review;

/// Runs `sync`: the exit code of the worst target, report or GitLab step.
pub(crate) fn run(
    settings: &Settings,
    terminal: Terminal,
    runtime: &Runtime,
    requested_by: Option<RequestedBy>,
) -> Result<Exit> {
    // A report that cannot be written fails the job after the targets were
    // called; find out before calling any.
    for (report, kind) in reports(settings) {
        if let Err(error) = report::check_writable(&report.path) {
            log::error(&report::unwritable(report, kind, &error));
            return Ok(Exit::LocalFailure);
        }
    }
    let http = HttpClient::new(&settings.http)?;
    let (mut gathered, plan) =
        super::gather_and_decide(settings, terminal, requested_by, runtime, Some(&http), super::facts::Spaces::Read)?;
    crate::plan::check_deployment(&plan, settings)?;
    preflight(&plan, settings)?;
    let (lint_report, stopped) = lint_before_sending(&plan, settings, &gathered.repo, terminal)?;
    let review_comments = review::threads(&plan, settings, lint_report.as_ref(), &gathered.repo);
    let review_changes = review::changes(&plan, settings, &gathered.repo, lint_report.as_ref());
    let (exit, targets) = {
        let _section = Section::start(terminal, "docsync_sync", "Syncing targets");
        runtime.block_on(async {
            let guard = ImportGuard {
                repo: &gathered.repo,
                settings,
                requested: settings.force || crate::plan::is_request(settings, requested_by),
                fetch_url: settings
                    .pipeline
                    .repository_url
                    .as_ref()
                    .map(|url| url.expose().to_owned())
                    .or_else(|| gathered.origin_url.clone()),
                refspecs: super::facts::history_refspecs(settings),
                live: std::sync::Mutex::new(std::mem::take(&mut gathered.live_reads)),
            };
            let (exit, mut targets) = execute(&plan, stopped, settings, &http, &guard).await;
            if let Some(report) = &lint_report {
                attach_findings(&plan, &mut targets, report);
            }
            let mut reviewed = review::reviewed(&plan, settings, &mut targets);
            let located = match review::reports_to_gitlab(&reviewed, settings) {
                true => locate_project(settings, &http, gathered.origin_url.as_deref()).await,
                false => Ok(None),
            };
            let project = located.as_ref().map(Option::as_ref);
            review::post_threads(&mut reviewed, settings, &http, project, review_comments.as_deref()).await;
            let reported = review::report(&mut reviewed, settings, &http, project, &review_changes).await;
            (exit.worst(reported), targets)
        })
    };
    let run = Run { status: RunStatus::of(exit, &plan, &targets), targets };
    // The result first: a report that fails to write must not hide it.
    log::result(&report::render(&plan, Some(&run), settings.format)?).context("while writing the result")?;
    Ok(exit.worst(write_reports(&plan, &run, settings, lint_report.as_ref())))
}

/// The outcomes of the targets the docs pre-flight stopped before anything
/// was sent.
type Stopped = Vec<(TargetId, Outcome)>;

/// The docs pre-flight of the targets [`linted_targets`] names, on head,
/// before anything is sent: its report (`None` when it is off or checks no
/// target), and the outcomes of the targets it stops.
fn lint_before_sending(
    plan: &Plan,
    settings: &Settings,
    repo: &Repo,
    terminal: Terminal,
) -> Result<(Option<LintReport>, Stopped)> {
    match settings.lint {
        LintMode::Off => Ok((None, Vec::new())),
        LintMode::Error | LintMode::Warn => {
            let targets: Vec<LintTarget<'_>> = linted_targets(plan, settings).map(LintTarget::of).collect();
            if targets.is_empty() {
                return Ok((None, Vec::new()));
            }
            let _section = Section::start(terminal, "docsync_lint", "Docs pre-flight");
            let report = lint_head(repo, plan, &targets, false)?;
            let stopped = apply_lint(plan, settings, &report);
            Ok((Some(report), stopped))
        }
    }
}

/// Writes the dotenv, JSON and Code Quality reports; exit 4 when one cannot
/// be written.
fn write_reports(plan: &Plan, run: &Run, settings: &Settings, lint_report: Option<&LintReport>) -> Exit {
    let mut exit = Exit::Ok;
    for (report, kind) in reports(settings) {
        let written = match kind {
            ReportKind::Dotenv => report::write_dotenv(plan, run, &report.path),
            ReportKind::Json => report::write_json(plan, run, &report.path),
            ReportKind::CodeQuality => match lint_report {
                Some(lint_report) => crate::lint::report::write_code_quality(lint_report, &report.path),
                // The pre-flight checked no target: nothing to report.
                None => continue,
            },
        };
        if let Err(error) = written {
            log::error(&report::unwritable(report, kind, &error));
            exit = exit.worst(Exit::LocalFailure);
        }
    }
    exit
}

/// The reports this run writes: the Code Quality report only when the
/// pre-flight runs.
fn reports(settings: &Settings) -> impl Iterator<Item = (&ReportPath, ReportKind)> {
    let dotenv = settings.report.iter().map(|r| (r, ReportKind::Dotenv));
    let json = settings.report_json.iter().map(|r| (r, ReportKind::Json));
    let code_quality = settings.codequality.iter().filter(|_| settings.lint != LintMode::Off);
    dotenv.chain(json).chain(code_quality.map(|r| (r, ReportKind::CodeQuality)))
}

/// Before calling anything: every acting target has the secrets it needs.
pub(crate) fn preflight(plan: &Plan, settings: &Settings) -> Result<(), BadInputs> {
    let mut problems = Vec::new();
    for (decision, target) in acting(plan, settings) {
        match &target.kind {
            TargetKind::GitBook(gitbook) if gitbook.token.is_none() => problems.push(BadInput::new(
                gitbook.token_source.clone(),
                format!("target {} needs a GitBook API token to {}", target.name, action_name(decision.action)),
                format!(
                    "add {} as a masked CI/CD variable holding a GitBook API token (app.gitbook.com → Settings → Developer)",
                    gitbook.token_source
                ),
            )),
            TargetKind::Dot(dot) if dot.secret.is_none() => problems.push(BadInput::new(
                dot.secret_source.clone(),
                format!("target {} needs the webhook secret Dot gave you", target.name),
                format!("add {} as a masked CI/CD variable holding the webhook's secret token", dot.secret_source),
            )),
            _ => {}
        }
        if decision.request.is_none() {
            problems.push(BadInput::new(
                format!("target {}", target.name),
                format!("no request could be built: {}", decision.warnings.join("; ")),
                "run docsync in the project's GitLab CI job, or set the missing values shown",
            ));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(BadInputs(problems)) }
}

fn acting<'a>(plan: &'a Plan, settings: &'a Settings) -> impl Iterator<Item = (&'a Decision, &'a Target)> {
    plan.targets
        .iter()
        .filter(|t| t.action != Action::Skip)
        .filter_map(|decision| target_of(settings, decision).map(|target| (decision, target)))
}

/// The target a decision is about.
fn target_of<'a>(settings: &'a Settings, decision: &Decision) -> Option<&'a Target> {
    settings.targets.iter().find(|t| t.id == decision.target)
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::Import => "import",
        Action::Export => "export",
        Action::Preview => "preview",
        Action::PushEvent => "send a push event",
        Action::Skip => "skip",
    }
}

/// The GitBook targets the docs pre-flight checks before `sync`: those that
/// import (push, manual or preview).
pub(crate) fn linted_targets<'a>(plan: &'a Plan, settings: &'a Settings) -> impl Iterator<Item = &'a Target> {
    acting(plan, settings)
        .filter(|(t, target)| {
            matches!(t.action, Action::Import | Action::Preview) && matches!(target.kind, TargetKind::GitBook(_))
        })
        .map(|(_, target)| target)
}

/// Applies the pre-flight's findings: a target with a new error ends
/// `failed` before anything is sent, unless `--force` or
/// `DOCSYNC_LINT=warn`; those outcomes are returned. Every target keeps its
/// new findings for the report and the merge request note
/// ([`attach_findings`]).
pub(crate) fn apply_lint(plan: &Plan, settings: &Settings, report: &LintReport) -> Stopped {
    let mut stopped = Vec::new();
    for decision in &plan.targets {
        let new: Vec<Finding> = report.for_target(&decision.name).filter(|f| f.new).cloned().collect();
        for finding in &new {
            let line = format!(
                "{}: {}:{}: {}[{}]: {}",
                decision.name,
                crate::git::diff::quoted_path(&finding.path),
                finding.line,
                finding.severity.as_str(),
                finding.rule.id(),
                finding.message
            );
            match finding.severity {
                Severity::Error => tracing::error!("{line}"),
                Severity::Warning => tracing::warn!("{line}"),
            }
        }
        let errors = new.iter().filter(|f| f.severity == Severity::Error).count();
        if errors == 0 {
            continue;
        }
        if settings.force || settings.lint == LintMode::Warn {
            // --force does more than pass the pre-flight: say what bypasses
            // only the pre-flight.
            let why = if settings.force {
                "--force; DOCSYNC_LINT=warn bypasses only the pre-flight, without --force's overrides"
            } else {
                "DOCSYNC_LINT=warn"
            };
            tracing::warn!(
                "{}: the docs pre-flight found {errors} new error(s); importing anyway ({why})",
                decision.name
            );
            continue;
        }
        let first = &new
            .iter()
            .find(|f| f.severity == Severity::Error)
            .map(|f| format!("{}:{}: {}", crate::git::diff::quoted_path(&f.path), f.line, f.message))
            .unwrap_or_default();
        let mut outcome = Outcome::new(
            OutcomeStatus::Failed,
            format!("the docs pre-flight found {errors} new error(s), so nothing was sent (first: {first})"),
        )
        .with_fix(
            "fix the findings listed (run `docsync lint` locally), or set DOCSYNC_LINT=warn to import despite them \
             (not --force, which also overrides the skip rules and sends GitBook \"force\": true)",
        );
        outcome.findings = new;
        outcome.stopped_before_sending = true;
        stopped.push((decision.target, outcome));
    }
    stopped
}

/// Gives each target's outcome its new pre-flight findings (a target the
/// pre-flight stopped has them already).
pub(crate) fn attach_findings(plan: &Plan, runs: &mut [TargetRun], report: &LintReport) {
    for decision in &plan.targets {
        let Some(run) = runs.iter_mut().find(|run| run.target == decision.target) else { continue };
        if run.outcome.findings.is_empty() {
            run.outcome.findings = report.for_target(&decision.name).filter(|f| f.new).cloned().collect();
        }
    }
}

/// Carries out the plan: every target's record, in the plan's order, and
/// the run's exit code. A target whose outcome is already decided
/// (`stopped`: by the docs pre-flight) keeps it and sends nothing.
pub(crate) async fn execute(
    plan: &Plan,
    stopped: Stopped,
    settings: &Settings,
    http: &HttpClient,
    guard: &ImportGuard<'_>,
) -> (Exit, Vec<TargetRun>) {
    let head = plan.range.head.as_str();
    let stopped = &stopped;
    let jobs: Vec<_> = plan
        .targets
        .iter()
        .map(|decision| {
            let target = target_of(settings, decision);
            async move {
                if let Some((_, decided)) = stopped.iter().find(|(id, _)| *id == decision.target) {
                    return decided.clone();
                }
                match (decision.action, target) {
                    (Action::Skip, _) => Outcome::new(OutcomeStatus::Skipped, decision.reason.to_string()),
                    (_, None) => Outcome::new(OutcomeStatus::Failed, "target vanished from the settings"),
                    (action, Some(_)) if settings.dry_run => {
                        Outcome::new(OutcomeStatus::Planned, format!("--dry-run: would {}", action_name(action)))
                    }
                    (_, Some(target)) => run_target(decision, target, settings, http, head, guard).await,
                }
            }
        })
        .collect();
    // Every target runs at once; the shared client bounds the requests in
    // flight to DOCSYNC_CONCURRENCY, so waiting targets hold no slot.
    let counts = plan
        .targets
        .iter()
        .map(|decision| decision.action != Action::Skip && !stopped.iter().any(|(id, _)| *id == decision.target));
    let outcomes: Vec<Outcome> =
        with_progress(counts.zip(jobs).collect(), PROGRESS_INTERVAL, |line| tracing::info!("{line}")).await;

    let mut exit = Exit::Ok;
    let mut runs = Vec::with_capacity(outcomes.len());
    for (decision, outcome) in plan.targets.iter().zip(outcomes) {
        exit = exit.worst(outcome.exit());
        runs.push(TargetRun { target: decision.target, outcome, warnings: Vec::new() });
    }
    // The summary, failures first: in a long job log the reader looks for
    // what went wrong, not for 300 lines of success.
    let mut summary: Vec<(&Decision, &TargetRun)> = plan.targets.iter().zip(&runs).collect();
    summary.sort_by_key(|(_, run)| run.outcome.exit() == Exit::Ok);
    for (decision, run) in summary {
        let outcome = &run.outcome;
        let line = format!("{}: {} — {}", decision.name, outcome.status.as_str(), outcome.message);
        match outcome.status.exit() {
            Exit::Ok => tracing::info!("{line}"),
            _ => tracing::error!("{line}"),
        }
        if let Some(fix) = &outcome.fix {
            tracing::error!("{}: fix: {fix}", decision.name);
        }
    }
    (exit, runs)
}

/// How often, at most, a job that syncs several targets says how far it
/// is while none finishes: GitLab shows a silent job as stuck, and a person
/// reading the log wants to know that it moves.
pub(crate) const PROGRESS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs `jobs` together, saying `n of N targets done` each time one that
/// counts (a target that calls a platform) finishes, and again whenever
/// `interval` passes without a line. A single target needs no count.
async fn with_progress<F: std::future::Future<Output = Outcome>>(
    jobs: Vec<(bool, F)>,
    interval: std::time::Duration,
    say: impl Fn(String),
) -> Vec<Outcome> {
    use tokio::time::Instant;
    let running = jobs.iter().filter(|(counts, _)| *counts).count();
    let done = std::cell::Cell::new(0usize);
    let last_line = std::cell::Cell::new(Instant::now());
    let counted = jobs.into_iter().map(|(counts, job)| {
        let (done, last_line, say) = (&done, &last_line, &say);
        async move {
            let outcome = job.await;
            if counts && running > 1 {
                done.set(done.get() + 1);
                last_line.set(Instant::now());
                say(format!("{} of {running} targets done", done.get()));
            }
            outcome
        }
    });
    let all = futures_util::future::join_all(counted);
    tokio::pin!(all);
    loop {
        tokio::select! {
            outcomes = &mut all => return outcomes,
            () = tokio::time::sleep_until(last_line.get() + interval), if running > 1 => {
                // A target may have finished, and said so, while this slept.
                if last_line.get().elapsed() >= interval {
                    last_line.set(Instant::now());
                    say(format!("{} of {running} targets done, waiting for the others", done.get()));
                }
            }
        }
    }
}

async fn run_target(
    decision: &Decision,
    target: &Target,
    settings: &Settings,
    http: &HttpClient,
    head: &str,
    guard: &ImportGuard<'_>,
) -> Outcome {
    for warning in &decision.warnings {
        tracing::warn!("{}: {warning}", target.name);
    }
    match &target.kind {
        TargetKind::GitBook(gitbook) => {
            let (Some(token), Some(request)) = (&gitbook.token, &decision.request) else {
                // preflight() refuses this before any call.
                return Outcome::new(OutcomeStatus::Failed, "missing token or request");
            };
            let client = GitBookClient { http, target: gitbook, token };
            let Some(body) = request.body.gitbook() else {
                return Outcome::new(
                    OutcomeStatus::Failed,
                    "a GitBook target was planned with another kind of request",
                );
            };
            if decision.action == Action::Preview {
                let before = guard.before_preview(&client, decision, target, head).await;
                let started = std::time::Instant::now();
                let mut outcome = run_gitbook(&client, decision, body, settings, head).await;
                outcome.elapsed = Some(started.elapsed());
                outcome.gitbook_edits = before.held;
                outcome.change_requests = before.change_requests;
                outcome.live_pages = before.live_pages;
                return outcome;
            }
            if decision.action != Action::Import {
                return run_gitbook(&client, decision, body, settings, head).await;
            }
            let proceed = match guard.check(&client, decision, body, head).await {
                Ok(proceed) => proceed,
                Err(outcome) => return *outcome,
            };
            let change_requests = match &proceed.live {
                Some(live) => open_change_requests(&client, decision, target, live).await,
                None => None,
            };
            let mut outcome = run_gitbook(&client, decision, body, settings, head).await;
            if let Some(found) = change_requests {
                outcome.message = format!(
                    "{}; warning: open change requests in GitBook edit pages this sync changes: {}",
                    outcome.message,
                    found.describe().join("; ")
                );
                outcome.change_requests = Some(found);
            }
            if let Some(note) = proceed.note {
                outcome.message = format!("{}; {note}", outcome.message);
            }
            outcome.gitbook_edits = proceed.replaced;
            outcome
        }
        TargetKind::Dot(dot) => {
            let (Some(secret), Some(request)) = (&dot.secret, &decision.request) else {
                // preflight() refuses this before any call.
                return Outcome::new(OutcomeStatus::Failed, "missing webhook secret or push event");
            };
            run_dot(http, dot, secret, request).await
        }
    }
}

async fn run_dot(http: &HttpClient, dot: &DotTarget, secret: &Secret, request: &PlannedRequest) -> Outcome {
    let event = match &request.body {
        RequestBody::PushEvent(event) => event,
        RequestBody::GitBook(_) => {
            return Outcome::new(OutcomeStatus::Failed, "a Dot target was planned with another kind of request");
        }
    };
    let files: usize = event.commits.iter().map(|c| c.added.len() + c.modified.len() + c.removed.len()).sum();
    let summary =
        format!("{} of {} commits listed, {files} file entries", event.commits.len(), event.total_commits_count);
    match dot::deliver(http, &dot.webhook_url, &request.headers, event.as_ref(), secret).await {
        Ok(delivered) => Outcome::new(
            OutcomeStatus::Synced,
            format!("the receiver accepted the push event ({}; HTTP {})", summary, delivered.status),
        ),
        Err(error) => delivery_failure(&error, &dot.secret_source),
    }
}

fn delivery_failure(error: &dot::DeliveryError, secret_source: &str) -> Outcome {
    let status = if error.is_unreachable() { OutcomeStatus::Unreachable } else { OutcomeStatus::Failed };
    let fix = error.fix(secret_source);
    Outcome { fault: Fault::of(error.exit()), ..Outcome::new(status, error.to_string()).with_fix(fix) }
}

async fn run_gitbook(
    client: &GitBookClient<'_>,
    decision: &Decision,
    body: &GitRequestBody,
    settings: &Settings,
    head: &str,
) -> Outcome {
    let name = &decision.name;
    let space = &client.target.space;
    let operation = if decision.action == Action::Export { "export" } else { "import" };
    // git/info shows no ref and no `standalone` flag: a preview's import
    // cannot be told from a branch import there, so none is its verdict.
    let preview = decision.action == Action::Preview;

    // Whether the token may read the result, before anything is queued.
    let mut watch = client.target.wait && !preview;
    if watch {
        match client.info().await {
            Ok(_) => {}
            Err(GitBookError::Unauthorized { source, .. }) => {
                tracing::warn!(
                    "{name}: the token may not read space {space}'s Git Sync state ({source}); docsync will queue the {operation} and not wait for its result"
                );
                watch = false;
            }
            Err(error @ GitBookError::Unreachable(_)) => return failure(error),
            Err(GitBookError::SpaceNotFound { space, source }) => {
                let (message, fix) = no_git_sync(&space, &source);
                return Outcome::new(OutcomeStatus::Failed, message).with_fix(fix);
            }
            // Read again while waiting; it ends unreadable if it stays so.
            Err(error) => tracing::warn!("{name}: cannot read the Git Sync state yet ({error})"),
        }
    }

    let limits = WaitLimits {
        total: client.target.wait_timeout,
        start: client.target.start_timeout,
        poll: settings.poll_interval,
        unreadable: settings.http.retry.retries,
    };
    let accepted = match queue(client, operation, body, limits, !preview).await {
        Ok(accepted) => accepted,
        Err(error) => return failure(error),
    };
    tracing::info!(
        "{name}: GitBook queued the {operation} {} ({} changed files)",
        way(decision, space),
        decision.changed
    );
    if preview && client.target.wait {
        return Outcome::new(
            OutcomeStatus::Queued,
            format!(
                "preview queued in space {space}; GitBook's Git Sync state does not tell a preview from a branch import, so docsync reports none as its result"
            ),
        );
    }
    if !watch {
        return Outcome::new(OutcomeStatus::Queued, format!("{operation} queued in space {space}; result not awaited"));
    }
    let accepted = match accepted {
        Ok(accepted) => accepted,
        Err(why) => {
            tracing::warn!(
                "{name}: {why}: GitBook's time of acceptance is unknown, so no operation it shows can be matched to this {operation}"
            );
            return unknown(
                format!(
                    "{operation} queued in space {space}, result unknown: {why}, so no verdict can be matched to it"
                ),
                client.target,
                operation,
            );
        }
    };

    let verdict = wait_for_verdict(client, accepted, operation, limits).await;
    if let (Verdict::Replaced { ours, by }, Action::Import) = (&verdict, decision.action) {
        let live = live_revision(client, decision).await;
        return replaced_outcome(ours, by.as_deref(), client.target, operation, Some((live, head)));
    }
    let outcome = verdict_outcome(verdict, decision, client.target);
    match (decision.action, outcome) {
        // Only a `Success` verdict ends synced.
        (Action::Import, outcome) if outcome.status == OutcomeStatus::Synced => {
            verify(client, outcome, decision, head).await
        }
        (_, outcome) => outcome,
    }
}

/// Which way the content goes: an import into the space, an export from
/// it into the branch its request names.
fn way(decision: &Decision, space: &str) -> String {
    let branch = decision.request.as_ref().and_then(|r| r.body.gitbook()).and_then(|body| body.branch());
    match (decision.action, branch) {
        (Action::Export, Some(branch)) => format!("from space {space} into branch {branch}"),
        (Action::Export, None) => format!("from space {space}"),
        _ => format!("into space {space}"),
    }
}

/// Queued, and what became of it cannot be known: exit 3.
fn unknown(message: String, gitbook: &GitBookTarget, operation: &str) -> Outcome {
    let space = &gitbook.space;
    Outcome::new(OutcomeStatus::Unreachable, message).with_fix(format!(
        "check the {operation}'s result in space {space} in GitBook and GitBook's status page; retry the job if it did not run"
    ))
}

/// The outcome a verdict on a queued operation means; an import's success
/// is verified against the space's live revision afterwards.
fn verdict_outcome(verdict: Verdict, decision: &Decision, gitbook: &GitBookTarget) -> Outcome {
    let name = &decision.name;
    let space = &gitbook.space;
    let operation = if decision.action == Action::Export { "export" } else { "import" };
    let waited = format_duration;
    match verdict {
        Verdict::Success(op) => Outcome {
            operation: Some(op),
            ..Outcome::new(OutcomeStatus::Synced, format!("GitBook finished the {operation} {}", way(decision, space)))
        },
        Verdict::Failed(op) => failed_outcome(op, operation),
        Verdict::StillRunning(Some(op)) => Outcome::new(
            OutcomeStatus::TimedOut,
            format!(
                "the {operation} was still running after {} ({})",
                waited(gitbook.wait_timeout),
                gitbook.wait_timeout_source
            ),
        )
        .with_fix(format!(
            "raise {}, or set DOCSYNC_WAIT=false and watch the space in GitBook",
            gitbook.wait_timeout_source
        ))
        .with_operation(op),
        Verdict::StillRunning(None) => Outcome::new(
            OutcomeStatus::TimedOut,
            format!(
                "GitBook had not started the {operation} when the wait ended after {} ({})",
                waited(gitbook.wait_timeout),
                gitbook.wait_timeout_source
            ),
        )
        .with_fix(format!(
            "raise {}, or set DOCSYNC_WAIT=false and watch the space in GitBook",
            gitbook.wait_timeout_source
        )),
        Verdict::NotStarted(other) => not_started_outcome(other, gitbook, operation),
        // run_gitbook() reads the live revision for it first.
        Verdict::Replaced { ours, by } => replaced_outcome(&ours, by.as_deref(), gitbook, operation, None),
        Verdict::CannotWatch(reason) => {
            tracing::warn!("{name}: cannot read the operation's result ({reason})");
            Outcome::new(
                OutcomeStatus::Queued,
                format!("{operation} queued in space {space}; the token may not read its result"),
            )
        }
        Verdict::Unreadable(reason) => unknown(
            format!(
                "{operation} queued in space {space}, result unknown: GitBook's Git Sync state stayed unreadable ({reason})"
            ),
            gitbook,
            operation,
        ),
        Verdict::Unmatched(why) => {
            tracing::warn!("{name}: {why}");
            unknown(format!("{operation} queued in space {space}, result unknown: {why}"), gitbook, operation)
        }
    }
}

/// GitBook no longer shows our operation: another one (or none) took its
/// place before ours was seen to end, so its verdict is unknown. What is
/// known, for an import, is the live revision (`live`, with the head): our
/// commit live is `verified`; anything else is result unknown (exit 3).
fn replaced_outcome(
    ours: &Operation,
    by: Option<&Operation>,
    gitbook: &GitBookTarget,
    operation: &str,
    live: Option<(Option<Revision>, &str)>,
) -> Outcome {
    let space = &gitbook.space;
    let by = match by {
        Some(op) => format!("{}, started {}", op.describe(), op.started_at.as_deref().unwrap_or("at an unknown time")),
        None => "no operation".to_owned(),
    };
    let lost = format!(
        "GitBook no longer shows our {operation} (last seen: {}, started {}); in its place: {by}",
        ours.describe(),
        ours.started_at.as_deref().unwrap_or("at an unknown time")
    );
    tracing::warn!("space {space}: {lost}");
    let (revision, head) = match live {
        Some((Some(revision), head)) => (revision, head),
        _ => {
            return unknown(format!("{operation} queued in space {space}, result unknown: {lost}"), gitbook, operation)
                .with_operation(ours.clone());
        }
    };
    let mut outcome = match revision.git.as_ref().map(|git| git.oid.as_str()) {
        Some(oid) if oid.eq_ignore_ascii_case(head) => Outcome::new(
            OutcomeStatus::Verified,
            format!("{lost}; GitBook's live revision is {}, the commit this job imported", short(head)),
        ),
        Some(oid) => Outcome {
            live_commit: Some(oid.to_owned()),
            ..unknown(
                format!(
                    "{operation} queued in space {space}, result unknown: {lost}; GitBook's live revision holds commit {oid}, not the head {head}"
                ),
                gitbook,
                operation,
            )
        },
        None => unknown(
            format!(
                "{operation} queued in space {space}, result unknown: {lost}; GitBook's live revision names no commit"
            ),
            gitbook,
            operation,
        ),
    };
    outcome.docs_url = Some(revision.urls.app);
    outcome.with_operation(ours.clone())
}

/// GitBook ran the operation, and it failed: its error, and its fix-it link.
fn failed_outcome(op: Operation, operation: &str) -> Outcome {
    Outcome {
        fix: Some(match &op.error_action {
            Some(action) => format!("{}: {}", action.label, action.url),
            None => "open the space's Git Sync settings in GitBook for details".to_owned(),
        }),
        error_action: op.error_action.clone(),
        ..Outcome::new(
            OutcomeStatus::Failed,
            format!(
                "GitBook's {operation} ended in {}: {}",
                state_name(op.state),
                op.error.as_deref().unwrap_or("no error message given")
            ),
        )
    }
    .with_operation(op)
}

/// GitBook accepted the operation but started none of ours in time.
fn not_started_outcome(other: Option<Operation>, gitbook: &GitBookTarget, operation: &str) -> Outcome {
    let space = &gitbook.space;
    let waited = format_duration;
    let mut outcome = Outcome::new(
        OutcomeStatus::NotStarted,
        format!(
            "GitBook accepted the {operation} but started no {operation} of ours within {} ({})",
            waited(gitbook.start_timeout),
            gitbook.start_timeout_source
        ),
    )
    .with_fix(format!(
        "check space {space}'s Git Sync installation in GitBook (connected to this project, not paused) and that {} may trigger a Git Sync of it; then retry the job",
        gitbook.token_source
    ));
    if let Some(op) = other {
        outcome.message.push_str(&format!(
            "; the last operation shown is someone else's ({}, started {})",
            op.describe(),
            op.started_at.as_deref().unwrap_or("at an unknown time")
        ));
        outcome.operation = None;
    }
    outcome
}

/// After a successful import of a branch: the commit GitBook's live
/// revision holds, against the head the job imported, and the page to show.
async fn verify(client: &GitBookClient<'_>, mut outcome: Outcome, decision: &Decision, head: &str) -> Outcome {
    let name = &decision.name;
    let Some(revision) = live_revision(client, decision).await else { return outcome };
    outcome.docs_url = Some(revision.urls.app.clone());
    match revision.git.map(|git| git.oid) {
        Some(oid) if oid.eq_ignore_ascii_case(head) => {
            outcome.status = OutcomeStatus::Verified;
            outcome.message = format!("{}; its live revision is {}", outcome.message, short(head));
        }
        Some(oid) => {
            let warning = format!(
                "GitBook's live revision holds commit {oid}, not the imported head {head}: a newer push may have won, or GitBook ignored the import"
            );
            tracing::warn!("{name}: {warning}");
            outcome.message = format!("{}; warning: {warning}", outcome.message);
            outcome.live_commit = Some(oid);
        }
        None => {
            let warning = "GitBook's live revision names no commit, so the import cannot be verified";
            tracing::warn!("{name}: {warning}");
            outcome.message = format!("{}; warning: {warning}", outcome.message);
        }
    }
    tracing::info!("{name}: {}", revision.urls.app);
    outcome
}

/// The space's live revision, or a warning saying why it cannot be read.
async fn live_revision(client: &GitBookClient<'_>, decision: &Decision) -> Option<Revision> {
    match client.live_revision().await {
        Ok(revision) => Some(revision),
        Err(error) => {
            tracing::warn!("{}: cannot read the space's live revision to verify the import ({error})", decision.name);
            None
        }
    }
}

fn failure(error: GitBookError) -> Outcome {
    let status = match error {
        _ if error.is_configuration() => OutcomeStatus::Failed,
        GitBookError::Unreachable(_) => OutcomeStatus::Unreachable,
        _ => OutcomeStatus::Failed,
    };
    let fix = error.fix();
    Outcome { fault: Fault::of(error.exit()), ..Outcome::new(status, error.to_string()).with_fix(fix) }
}

/// What the guard before a branch import needs from the run: the clone,
/// whether the run was asked for (a manual pipeline or `--force`, which
/// import head again), and where to fetch a commit the clone lacks.
pub(crate) struct ImportGuard<'a> {
    pub repo: &'a Repo,
    pub settings: &'a Settings,
    pub requested: bool,
    pub fetch_url: Option<String>,
    pub refspecs: Vec<String>,
    /// The live revisions read before deciding, by target; each is taken
    /// once, by its target's guard, and never read again.
    pub live: std::sync::Mutex<BTreeMap<TargetId, LiveRead>>,
}

/// The guard let the import go ahead: what it says about it.
#[derive(Default)]
struct Proceed {
    /// Added to the outcome's message.
    note: Option<String>,
    /// GitBook's edits the import replaces (`gitbook_edits = "overwrite"`).
    replaced: Option<GitBookEditsFound>,
    /// The live revision the import replaces, when it could be read.
    live: Option<Revision>,
}

/// What the reviewer of a merge request should know from the space before
/// its preview, read with one `GET …/content`.
#[derive(Default)]
struct BeforePreview {
    held: Option<GitBookEditsFound>,
    change_requests: Option<OpenChangeRequests>,
    /// The live pages' files → their pages in GitBook, for the note's links.
    live_pages: BTreeMap<String, String>,
}

impl ImportGuard<'_> {
    /// Where `commit` stands against `head`; a commit the clone lacks is
    /// fetched (the branch, at most [`LIVE_COMMIT_DEPTH`] commits deep)
    /// once, and is unrelated if it is still missing.
    fn ancestry(&self, commit: &str, head: &str, name: &str) -> Ancestry {
        if let Ok(Some(ancestry)) = self.repo.ancestry(commit, head) {
            return ancestry;
        }
        let is_commit_id = commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit());
        if let (Some(url), true) = (&self.fetch_url, is_commit_id) {
            // docsync's git transport runs a runtime of its own, which cannot
            // be entered from this async task's thread: the fetch runs on a
            // thread of its own, through a handle of its own on the clone.
            // The same handle then reads the history it fetched.
            let (settings, refspecs) = (self.settings, &self.refspecs);
            let fetched = std::thread::scope(|scope| {
                let fetch = scope.spawn(move || -> Result<Option<Ancestry>, String> {
                    let repo = super::facts::open_repo(settings).map_err(|e| format!("{e:#}"))?;
                    repo.deepen(url, refspecs, Some(LIVE_COMMIT_DEPTH)).map_err(|e| e.to_string())?;
                    repo.ancestry(commit, head).map_err(|e| format!("{e:#}"))
                });
                fetch.join().unwrap_or_else(|_| Err("the fetch's thread panicked".to_owned()))
            });
            match fetched {
                Ok(Some(ancestry)) => return ancestry,
                Ok(None) => tracing::info!(
                    "{name}: GitBook's live commit {commit} is not in the branch's last {LIVE_COMMIT_DEPTH} commits"
                ),
                Err(error) => {
                    tracing::warn!("{name}: cannot fetch the branch to find GitBook's live commit {commit}: {error}")
                }
            }
        }
        Ancestry::Unrelated
    }

    fn in_branch(&self, commit: &str, head: &str) -> bool {
        matches!(self.repo.ancestry(commit, head), Ok(Some(Ancestry::Same | Ancestry::Older)))
    }

    /// Before a merge request preview, which never replaces the space and
    /// so is never blocked: what the reviewer should know before merging,
    /// for the note. The pages GitBook holds edits on that Git does not
    /// have (read as before an import), and the open change requests that
    /// edit the merge request's pages. A failed read is a warning.
    async fn before_preview(
        &self,
        client: &GitBookClient<'_>,
        decision: &Decision,
        target: &Target,
        head: &str,
    ) -> BeforePreview {
        let name = &target.name;
        let live = match client.live_revision().await {
            Ok(live) => live,
            Err(error) => {
                tracing::warn!("{name}: cannot read the space's live revision for the preview's note ({error})");
                return BeforePreview::default();
            }
        };
        let ancestry = live.git.as_ref().map(|git| self.ancestry(&git.oid, head, name));
        let held = match classify(ancestry, !live.pages.is_empty(), false) {
            Guard::Edits => match read_edits(client, &live, |commit| self.in_branch(commit, head)).await {
                Ok(found) => {
                    tracing::warn!(
                        "{name}: GitBook holds work Git does not have: the space's live {}; pages: {}",
                        found.describe_revision(),
                        found.describe_pages()
                    );
                    Some(found)
                }
                Err(error) => {
                    tracing::warn!("{name}: cannot read what GitBook holds for the preview's note ({error})");
                    None
                }
            },
            Guard::Import | Guard::AlreadyImported | Guard::Superseded => None,
        };
        BeforePreview {
            held,
            change_requests: open_change_requests(client, decision, target, &live).await,
            live_pages: page_links(&live.pages, &target.paths.directory),
        }
    }

    /// Before a branch import: reads the space's live revision and decides
    /// whether the import may replace it. `Err` is the target's outcome,
    /// nothing imported.
    async fn check(
        &self,
        client: &GitBookClient<'_>,
        decision: &Decision,
        body: &GitRequestBody,
        head: &str,
    ) -> Result<Proceed, Box<Outcome>> {
        let name = decision.name.as_str();
        let mode = client.target.gitbook_edits;
        let space = &client.target.space;
        // Read before deciding, where it chose the target's base; read here
        // only when it was not (a run without one).
        let read = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&decision.target);
        let read = match read {
            Some(read) => read,
            None => client.live_revision().await,
        };
        let live = match read {
            Ok(live) => live,
            Err(error) => return unread_space(error, mode, client.target, name),
        };
        let ancestry = live.git.as_ref().map(|git| self.ancestry(&git.oid, head, name));
        let stop = |status, message: String| {
            let mut outcome = Outcome::new(status, message);
            outcome.docs_url = Some(live.urls.app.clone());
            outcome.live_commit = live.git.as_ref().map(|git| git.oid.clone());
            Err(Box::new(outcome))
        };
        match classify(ancestry, !live.pages.is_empty(), self.requested) {
            Guard::Import => return Ok(Proceed { live: Some(live), ..Proceed::default() }),
            Guard::AlreadyImported => {
                return stop(
                    OutcomeStatus::AlreadyImported,
                    format!(
                        "GitBook's live revision of space {space} already holds {}, the head: nothing imported (run the pipeline manually, or with --force, to import it again)",
                        short(head)
                    ),
                );
            }
            Guard::Superseded => {
                let live_commit = live.git.as_ref().map(|git| git.oid.as_str()).unwrap_or_default();
                return stop(
                    OutcomeStatus::Superseded,
                    format!(
                        "GitBook's live revision of space {space} holds commit {}, newer than the head {}: nothing imported",
                        short(live_commit),
                        short(head)
                    ),
                );
            }
            Guard::Edits => {}
        }
        let found = match read_edits(client, &live, |commit| self.in_branch(commit, head)).await {
            Ok(found) => found,
            Err(error) => return unread_space(error, mode, client.target, name),
        };
        let held = format!(
            "GitBook holds work Git does not have: space {space}'s live {}; pages changed in GitBook since the last revision from this branch: {}",
            found.describe_revision(),
            found.describe_pages()
        );
        match mode {
            GitBookEdits::Overwrite => {
                tracing::warn!("{name}: {held}; importing anyway (gitbook_edits = \"overwrite\") replaces them");
                Ok(Proceed {
                    note: Some(format!("replaced what GitBook held (gitbook_edits = \"overwrite\"): {held}")),
                    replaced: Some(found),
                    live: Some(live),
                })
            }
            GitBookEdits::Export => {
                Err(Box::new(export_edits(client, decision, body, self.settings, head, found, &live, held).await))
            }
            GitBookEdits::Refuse => {
                let mut outcome = Outcome::new(OutcomeStatus::Conflict, format!("{held}; nothing imported"))
                    .with_fix(conflict_fix(client.target));
                outcome.docs_url = Some(live.urls.app.clone());
                outcome.live_commit = live.git.as_ref().map(|git| git.oid.clone());
                outcome.gitbook_edits = Some(found);
                Err(Box::new(outcome))
            }
        }
    }
}

/// The open change requests in GitBook that edit a page the range changes
/// in the target's directory, each a warning; `None` when none does (or the
/// range changes no file there, when nothing is read). A failed read is a
/// warning too: change requests never block an import.
async fn open_change_requests(
    client: &GitBookClient<'_>,
    decision: &Decision,
    target: &Target,
    live: &Revision,
) -> Option<OpenChangeRequests> {
    let changed: BTreeSet<String> = decision
        .files
        .iter()
        .flat_map(|change| std::iter::once(change.path.clone()).chain(change.old_path.clone()))
        .collect();
    if changed.is_empty() {
        return None;
    }
    match clashing(client, &live.pages, &target.paths.directory, &changed).await {
        Ok(found) if found.worth_telling() => {
            for line in found.describe() {
                tracing::warn!("{}: open change request in GitBook: {line}", target.name);
            }
            Some(found)
        }
        Ok(_) => None,
        Err(error) => {
            tracing::warn!("{}: cannot read the space's open change requests ({error})", target.name);
            None
        }
    }
}

/// `gitbook_edits = "export"`: instead of the import, GitBook exports the
/// space to a branch of its own ([`edits_branch`]), which
/// `review::report` then proposes for merging into the sync
/// branch. The target ends `conflict` (exit 1) once GitBook took the
/// export, or with the export's own failure.
#[allow(clippy::too_many_arguments, reason = "the guard's facts, passed on")]
async fn export_edits(
    client: &GitBookClient<'_>,
    decision: &Decision,
    import: &GitRequestBody,
    settings: &Settings,
    head: &str,
    mut found: GitBookEditsFound,
    live: &Revision,
    held: String,
) -> Outcome {
    let branch = edits_branch(&live.id);
    let into = import.branch().unwrap_or("the sync branch").to_owned();
    let message = format!(
        "GitBook edits of space {} up to revision {}, kept by docsync before importing {}",
        client.target.space,
        live.id,
        short(head)
    );
    let body = import.export_to(&branch, message);
    let plan = Decision { action: Action::Export, ..decision.clone() };
    tracing::warn!("{}: {held}; GitBook exports them to branch {branch} instead of the import", decision.name);
    let exported = run_gitbook(client, &plan, &body, settings, head).await;
    if !matches!(exported.status, OutcomeStatus::Synced | OutcomeStatus::Queued) {
        return Outcome {
            message: format!(
                "{held}; nothing imported, and GitBook's export of them to branch {branch} did not succeed: {}",
                exported.message
            ),
            gitbook_edits: Some(found),
            ..exported
        };
    }
    let done = if exported.status == OutcomeStatus::Synced { "exported" } else { "was asked to export" };
    found.exported_to = Some(branch.clone());
    let mut outcome = Outcome::new(
        OutcomeStatus::Conflict,
        format!("{held}; nothing imported: GitBook {done} them to branch {branch}"),
    )
    .with_fix(format!(
        "merge branch {branch} into {into} (its merge request, when docsync could open one), then run this pipeline again; or set gitbook_edits = \"overwrite\" (DOCSYNC_GITBOOK_EDITS=overwrite) to replace GitBook's edits"
    ));
    outcome.operation = exported.operation;
    outcome.docs_url = Some(live.urls.app.clone());
    outcome.live_commit = live.git.as_ref().map(|git| git.oid.clone());
    outcome.gitbook_edits = Some(found);
    outcome
}

fn conflict_fix(gitbook: &GitBookTarget) -> String {
    format!(
        "let GitBook export first (run the component's manual export job, or `docsync export`), merge its branch, then run this pipeline again; or, to replace GitBook's edits (also for an intended first import into a space whose pages were made in GitBook), set gitbook_edits = \"overwrite\" (DOCSYNC_GITBOOK_EDITS=overwrite) for this run. Space {}",
        gitbook.space
    )
}

/// The space could not be read before an import: the import does not go
/// ahead on a guess, unless `gitbook_edits = "overwrite"`.
fn unread_space(
    error: GitBookError,
    mode: GitBookEdits,
    gitbook: &GitBookTarget,
    name: &str,
) -> Result<Proceed, Box<Outcome>> {
    let space = &gitbook.space;
    if mode == GitBookEdits::Overwrite && !error.is_configuration() {
        tracing::warn!(
            "{name}: cannot read space {space}'s content before importing ({error}); importing anyway (gitbook_edits = \"overwrite\")"
        );
        return Ok(Proceed {
            note: Some(format!(
                "space {space} could not be read before the import ({error}): what it held is unknown, and was replaced (gitbook_edits = \"overwrite\")"
            )),
            replaced: None,
            live: None,
        });
    }
    let message = format!("cannot read space {space}'s content before importing, so nothing was imported: {error}");
    let outcome = match &error {
        _ if error.is_configuration() => failure(error),
        // The fix is the API URL's, as for any request redirected.
        GitBookError::Redirected(_) => {
            let fix = error.fix();
            Outcome::new(OutcomeStatus::Failed, message).with_fix(fix)
        }
        // A 4xx GitBook explains: its message is in the error.
        GitBookError::Rejected { source } if source.status().is_some_and(|s| s.is_client_error()) => {
            let fix = error.fix();
            Outcome::new(OutcomeStatus::Failed, message).with_fix(fix)
        }
        GitBookError::Unauthorized { .. } | GitBookError::SpaceNotFound { .. } => Outcome::new(OutcomeStatus::Failed, message)
            .with_fix(format!(
                "{} needs read access to space {space}'s content (a member's API token), or the space id is wrong (copy it from the space's URL: app.gitbook.com/o/…/s/<space id>); to import without reading, set gitbook_edits = \"overwrite\"",
                gitbook.token_source
            )),
        _ => Outcome::new(OutcomeStatus::Unreachable, message).with_fix(
            "check GitBook's status page and DOCSYNC_GITBOOK_API_URL, then retry the job; to import without reading the space, set gitbook_edits = \"overwrite\"",
        ),
    };
    Err(Box::new(outcome))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::time::Duration;

    use super::*;

    /// A request body docsync could not write is docsync's own failure
    /// (exit 4), whichever platform it was for; nothing was sent, so it is
    /// neither the target's failure (1) nor GitBook's reach (3).
    #[test]
    fn a_body_docsync_could_not_write_ends_the_run_with_exit_4() {
        let unwritable = || serde_json::from_str::<u8>("not json").unwrap_err();
        assert_eq!(failure(GitBookError::Body(unwritable())).exit(), Exit::LocalFailure);
        let body = delivery_failure(&dot::DeliveryError::Body(unwritable()), "DOCSYNC_DOT_WEBHOOK_SECRET");
        assert_eq!(body.exit(), Exit::LocalFailure);
        // The target's own failures keep the status's exit code.
        let refused = dot::DeliveryError::SecretRefused(crate::http::HttpError::Status {
            method: reqwest::Method::POST,
            url: "http://127.0.0.1/hooks/dot".into(),
            status: reqwest::StatusCode::UNAUTHORIZED,
            message: String::new(),
            body: String::new(),
        });
        assert_eq!(delivery_failure(&refused, "DOCSYNC_DOT_WEBHOOK_SECRET").exit(), Exit::TargetFailed);
    }

    /// Paused time: the clock jumps to the next timer, so minutes of
    /// waiting take no wall time.
    #[tokio::test(start_paused = true)]
    async fn a_job_of_several_targets_says_how_far_it_is_at_least_every_interval() {
        let started = tokio::time::Instant::now();
        let lines = RefCell::new(Vec::new());
        let target = |seconds: u64| async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            Outcome::new(OutcomeStatus::Synced, "synced")
        };
        // The third is a skip: it calls nothing and is not counted.
        let jobs = vec![(true, target(10)), (true, target(100)), (false, target(0)), (true, target(45))];
        let outcomes = with_progress(jobs, PROGRESS_INTERVAL, |line| {
            lines.borrow_mut().push((started.elapsed().as_secs(), line));
        })
        .await;
        assert_eq!(outcomes.len(), 4);
        let lines = lines.into_inner();
        let said = |at: u64, text: &str| (at, text.to_owned());
        assert_eq!(
            lines,
            [
                said(10, "1 of 3 targets done"),
                said(40, "1 of 3 targets done, waiting for the others"),
                said(45, "2 of 3 targets done"),
                said(75, "2 of 3 targets done, waiting for the others"),
                said(100, "3 of 3 targets done"),
            ]
        );
        let mut last = 0;
        for (at, _) in &lines {
            assert!(at - last <= PROGRESS_INTERVAL.as_secs(), "{lines:?}");
            last = *at;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn one_target_needs_no_count() {
        let lines = RefCell::new(Vec::new());
        let slow = async {
            tokio::time::sleep(Duration::from_secs(95)).await;
            Outcome::new(OutcomeStatus::Synced, "synced")
        };
        with_progress(vec![(true, slow)], PROGRESS_INTERVAL, |line| lines.borrow_mut().push(line)).await;
        assert!(lines.borrow().is_empty(), "{:?}", lines.borrow());
    }
}
