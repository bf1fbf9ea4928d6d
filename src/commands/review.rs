//! After the targets ran, what `sync` tells GitLab: the merge request's
//! one note (what merging it changes in each previewed target), the
//! pre-flight's new findings as threads on its diff lines, and the merge
//! requests an export or GitBook's own edits call for. The facts the
//! note and the threads need from the repository are read here, before
//! anything async runs; the text is the output stage's, the requests the
//! GitLab stage's.

use std::collections::{BTreeMap, HashSet};

use anyhow::Result;
use url::Url;

use crate::error::Exit;
use crate::git::diff::{ChangeKind, ChangeStatus};
use crate::git::repo::Repo;
use crate::gitlab::client::{Auth, GitLabClient, GitLabError};
use crate::gitlab::discussions::{DiffComment, NotReviewed};
use crate::gitlab::instance::{LocateProblem, ProjectApi};
use crate::gitlab::merge_requests::{MergeRequest, note_fix};
use crate::http::HttpClient;
use crate::lint::LintReport;
use crate::lint::outline::{SpaceView, navigation_change, page_title};
use crate::output::merge_request_note::{
    self as note, MAX_LISTED, NOTE_MARKER, NoteSection, PageChange, PageStatus, TargetChanges,
};
use crate::output::review_discussions;
use crate::plan::outcome::{Fault, Outcome, OutcomeStatus};
use crate::plan::run::TargetRun;
use crate::plan::{Action, Decision, Plan, SkipCause};
use crate::secret::printable;
use crate::settings::pipeline::CiContext;
use crate::settings::target_id::TargetId;
use crate::settings::{GitBookTarget, Settings, Target, TargetKind};

/// A decision of the plan beside its target and the run record that the
/// review adds its warnings and merge requests to; the plan itself is
/// never written to.
pub(crate) struct Reviewed<'a> {
    decision: &'a Decision,
    target: &'a Target,
    run: &'a mut TargetRun,
}

/// Each run record beside its decision and target, joined on the target's id.
pub(crate) fn reviewed<'a>(plan: &'a Plan, settings: &'a Settings, runs: &'a mut [TargetRun]) -> Vec<Reviewed<'a>> {
    runs.iter_mut()
        .filter_map(|run| {
            let decision = plan.targets.iter().find(|d| d.target == run.target)?;
            let target = settings.targets.iter().find(|t| t.id == run.target)?;
            Some(Reviewed { decision, target, run })
        })
        .collect()
}

impl<'a> Reviewed<'a> {
    fn gitbook(&self) -> Option<&'a GitBookTarget> {
        match &self.target.kind {
            TargetKind::GitBook(gitbook) => Some(gitbook),
            _ => None,
        }
    }

    fn name(&self) -> &str {
        &self.target.name
    }
}

/// Whether a target of the plan reports to GitLab, so the project must be
/// located (outside CI too, for an export's merge request).
pub(crate) fn reports_to_gitlab(reviewed: &[Reviewed<'_>], settings: &Settings) -> bool {
    reviewed.iter().any(|one| {
        let action = one.decision.action;
        action == Action::Preview
            || (action == Action::Export && one.gitbook().is_some_and(|g| g.export_mr))
            || edits_export(one).is_some()
            || (note_merge_request(settings).is_some() && retires(one))
    })
}

/// Whether a target's part of the note is to go: a GitBook target the
/// merge request no longer changes (from an earlier push, its part would
/// tell reviewers of changes that are gone).
fn retires(one: &Reviewed<'_>) -> bool {
    one.decision.action == Action::Skip
        && one.decision.skip_cause() == Some(SkipCause::Content)
        && one.gitbook().is_some()
}

/// The merge request the note goes on: the pipeline's, when a token can
/// write it.
fn note_merge_request(settings: &Settings) -> Option<u64> {
    let iid = settings.pipeline.ci.as_ref()?.merge_request.as_ref()?.iid;
    settings.gitlab.token.as_ref().map(|_| iid)
}

/// What the merge request changes in each previewed GitBook target, read
/// from the repository at the range's base and head: only when a note will
/// be posted. A target whose facts cannot be read gets a note without
/// them, and a warning.
pub(crate) fn changes(
    plan: &Plan,
    settings: &Settings,
    repo: &Repo,
    lint: Option<&LintReport>,
) -> BTreeMap<TargetId, TargetChanges> {
    let mut all = BTreeMap::new();
    if note_merge_request(settings).is_none() {
        return all;
    }
    for decision in plan.targets.iter().filter(|t| t.action == Action::Preview) {
        let Some(target) = settings.targets.iter().find(|t| t.id == decision.target) else { continue };
        if !matches!(target.kind, TargetKind::GitBook(_)) {
            continue;
        }
        let old_findings = lint.map_or(0, |lint| lint.for_target(&target.name).filter(|f| !f.new).count());
        match target_changes(decision, target, plan.range.base.as_deref(), &plan.range.head, repo) {
            Ok(changes) => {
                all.insert(target.id, TargetChanges { old_findings, ..changes });
            }
            Err(error) => {
                tracing::warn!("{}: cannot read what the merge request changes for its note: {error:#}", target.name)
            }
        }
    }
    all
}

fn target_changes(
    decision: &Decision,
    target: &Target,
    base: Option<&str>,
    head: &str,
    repo: &Repo,
) -> Result<TargetChanges> {
    let directory = &target.paths.directory;
    let after = SpaceView::at(repo, head, directory)?;
    let before = base.map(|base| SpaceView::at(repo, base, directory)).transpose()?;
    let is_page = |path: &str| {
        let lower = path.to_ascii_lowercase();
        (lower.ends_with(".md") || lower.ends_with(".markdown")) && path != after.summary_path()
    };
    let mut pages: Vec<PageChange> = decision
        .files
        .iter()
        .filter(|change| change.kind == ChangeKind::File && is_page(&change.path))
        .map(|change| PageChange {
            status: match (change.status, &change.old_path) {
                (ChangeStatus::Added, _) => PageStatus::Added,
                (ChangeStatus::Modified, _) => PageStatus::Changed,
                (ChangeStatus::Deleted, _) => PageStatus::Deleted,
                (ChangeStatus::Renamed, Some(from)) => PageStatus::Moved { from: from.clone() },
                (ChangeStatus::Renamed, None) => PageStatus::Changed,
            },
            path: change.path.clone(),
            title: None,
        })
        .collect();
    pages.sort_by(|a, b| (&a.status, &a.path).cmp(&(&b.status, &b.path)));
    for page in pages.iter_mut().take(MAX_LISTED) {
        // A deleted page is read where it was, at the base.
        let (view, commit) = match (&page.status, &before, base) {
            (PageStatus::Deleted, Some(before), Some(base)) => (before, base),
            (PageStatus::Deleted, _, _) => continue,
            _ => (&after, head),
        };
        page.title = match view.summary_title(&page.path) {
            Some(title) => Some(title.to_owned()),
            None => page_title(repo, commit, &page.path)?,
        };
    }
    let moves: Vec<(&str, &str)> = pages
        .iter()
        .filter_map(|page| match &page.status {
            PageStatus::Moved { from } => Some((from.as_str(), page.path.as_str())),
            _ => None,
        })
        .collect();
    let navigation = navigation_change(before.as_ref().map_or(&[][..], |b| &b.navigation), &after.navigation, &moves);
    let redirects = if before.is_some() { after.redirects_needed(&moves) } else { Vec::new() };
    Ok(TargetChanges {
        summary: after.summary_path().to_owned(),
        config_path: after.config_path().to_owned(),
        navigation,
        redirects,
        pages,
        old_findings: 0,
    })
}

/// The largest file whose lines a thread quotes: a page is far smaller.
const MAX_PAGE_BYTES: u64 = 10 * 1024 * 1024;

/// The threads the run would open: one per new finding of a previewing
/// target (one per identity when targets share a file), read at the
/// plan's head. `None` outside a merge request pipeline, with
/// `review_comments` off, or without a pre-flight: a run that did not
/// look knows no finding gone.
pub(crate) fn threads(
    plan: &Plan,
    settings: &Settings,
    report: Option<&LintReport>,
    repo: &Repo,
) -> Option<Vec<DiffComment>> {
    let in_merge_request = settings.pipeline.ci.as_ref().is_some_and(|ci| ci.merge_request.is_some());
    let report = report.filter(|_| in_merge_request && settings.gitlab.review_comments)?;
    let moves: Vec<(String, String)> = plan
        .changes
        .iter()
        .filter(|c| c.status == ChangeStatus::Renamed)
        .filter_map(|c| Some((c.old_path.clone()?, c.path.clone())))
        .collect();
    let mut pages: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut comments = Vec::new();
    let previewing = plan.targets.iter().filter(|t| t.action == Action::Preview);
    for finding in previewing.flat_map(|t| report.for_target(&t.name)).filter(|f| f.new) {
        if !seen.insert(review_discussions::identity(finding)) {
            continue;
        }
        let page = pages.entry(finding.path.clone()).or_insert_with(|| {
            let file = repo.file_at(&plan.range.head, &finding.path, |_, size| size <= MAX_PAGE_BYTES);
            file.ok().flatten().and_then(|f| f.content).and_then(|bytes| String::from_utf8(bytes).ok())
        });
        comments.push(review_discussions::comment(finding, page.as_deref(), &moves));
    }
    Some(comments)
}

/// Opens, keeps and resolves docsync's threads on the merge request. A
/// failure is a warning on every previewing target (the findings stay in
/// the note and the Code Quality report), never a failed job.
pub(crate) async fn post_threads(
    reviewed: &mut [Reviewed<'_>],
    settings: &Settings,
    http: &HttpClient,
    project: Result<Option<&ProjectApi>, &LocateProblem>,
    comments: Option<&[DiffComment]>,
) {
    let ci = settings.pipeline.ci.as_ref();
    let (Some(iid), Some(head)) =
        (ci.and_then(|ci| ci.merge_request.as_ref()).map(|mr| mr.iid), settings.pipeline.head_sha())
    else {
        return;
    };
    let Some(comments) = comments else { return };
    if !reviewed.iter().any(|one| one.decision.action == Action::Preview) {
        return;
    }
    let (Some(token), Ok(Some(project))) = (&settings.gitlab.token, project) else {
        if !comments.is_empty() {
            tracing::info!("no DOCSYNC_GITLAB_TOKEN or GitLab project, so the findings are not put on !{iid}'s diff");
        }
        return;
    };
    let client = GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) };
    let warning = match client.review(&project.project, iid, head, comments).await {
        Ok(Ok(review)) => {
            tracing::info!(
                "review threads on !{iid}: {} opened, {} already open, {} resolved; {} finding(s) on lines the merge request does not add are in the note only",
                review.opened,
                review.kept,
                review.resolved,
                review.off_the_diff
            );
            return;
        }
        Ok(Err(NotReviewed::HeadMoved { head_sha })) => {
            tracing::info!(
                "!{iid} moved on to {} since this pipeline's commit: its own pipeline puts the findings on its diff",
                printable(&head_sha)
            );
            return;
        }
        Ok(Err(NotReviewed::NoDiff)) => {
            tracing::info!("!{iid} has no diff yet, so no finding is put on its lines");
            return;
        }
        Err(error) => fallback_warning(&error, iid),
    };
    tracing::warn!("{warning}");
    for one in reviewed.iter_mut().filter(|one| one.decision.action == Action::Preview) {
        one.run.warnings.push(warning.clone());
    }
}

/// Why the findings are in the note only, and what to do about it.
fn fallback_warning(error: &GitLabError, iid: u64) -> String {
    let why = match error {
        GitLabError::InsufficientScope { .. } => {
            "the token has no `api` scope, which threads need; give DOCSYNC_GITLAB_TOKEN the api scope, or set DOCSYNC_REVIEW_COMMENTS=false"
        }
        GitLabError::Rejected(http) if http.status().is_some_and(|s| s.as_u16() == 400) => {
            "GitLab refused a thread's position on the diff; report it to docsync's maintainers with the job log"
        }
        GitLabError::Forbidden(_) => {
            "the token's user may not comment on it (it needs at least the Reporter role), or set DOCSYNC_REVIEW_COMMENTS=false"
        }
        // "List merge request diffs" came with GitLab 15.7 (it replaced the
        // deprecated `…/changes`).
        GitLabError::NotFound(_) => {
            "GitLab knows no such merge request for this token, or is older than 15.7, which lists no merge request diffs; or set DOCSYNC_REVIEW_COMMENTS=false"
        }
        _ if error.is_server_side() => "GitLab's own error: retry the job later",
        _ => "set DOCSYNC_REVIEW_COMMENTS=false to stop trying",
    };
    format!("the findings could not be put on !{iid}'s diff lines ({error}), so they are in the note only: {why}")
}

/// Writes the merge request's note and opens the merge requests exports
/// call for; returns the exit code these steps add (a wanted merge request
/// that could not be opened fails the job, a note that could not be
/// written only warns). `project` is where the project was found, or why it
/// was not.
pub(crate) async fn report(
    reviewed: &mut [Reviewed<'_>],
    settings: &Settings,
    http: &HttpClient,
    project: Result<Option<&ProjectApi>, &LocateProblem>,
    changes: &BTreeMap<TargetId, TargetChanges>,
) -> Exit {
    write_note(reviewed, settings, http, project, changes).await;
    let mut exit = Exit::Ok;
    for one in reviewed {
        let Some(gitbook) = one.gitbook() else { continue };
        match one.decision.action {
            Action::Import => {
                if let Some((source, into)) = edits_export(one) {
                    open_edits_merge_request(one, settings, http, project, &source, &into).await;
                }
            }
            Action::Export if gitbook.export_mr && one.run.outcome.status == OutcomeStatus::Synced => {
                exit = exit.worst(open_export_merge_request(one, settings, http, project).await);
            }
            _ => {}
        }
    }
    exit
}

/// The one note on the pipeline's merge request, with a section per
/// previewed GitBook target; a note that cannot be written is a warning
/// on each of them.
async fn write_note(
    reviewed: &mut [Reviewed<'_>],
    settings: &Settings,
    http: &HttpClient,
    project: Result<Option<&ProjectApi>, &LocateProblem>,
    changes: &BTreeMap<TargetId, TargetChanges>,
) {
    let ci = settings.pipeline.ci.as_ref();
    let Some(iid) = ci.and_then(|ci| ci.merge_request.as_ref()).map(|mr| mr.iid) else { return };
    let sections: Vec<NoteSection> = reviewed
        .iter()
        .filter(|one| one.decision.action == Action::Preview)
        .filter_map(|one| {
            let gitbook = one.gitbook()?;
            Some(note::section(one.target, gitbook, &one.run.outcome, changes.get(&one.target.id)))
        })
        .collect();
    // Without a token there is no note to take parts out of: say nothing.
    let retired: Vec<String> = match note_merge_request(settings) {
        Some(_) => reviewed.iter().filter(|one| retires(one)).map(|one| one.name().to_owned()).collect(),
        None => Vec::new(),
    };
    if sections.is_empty() && retired.is_empty() {
        return;
    }
    let (token, project) = match (&settings.gitlab.token, project) {
        (Some(token), Ok(Some(project))) => (token, project),
        (None, _) => {
            tracing::info!("no DOCSYNC_GITLAB_TOKEN, so the preview result is not posted on !{iid}");
            return;
        }
        (Some(_), Ok(None)) => {
            tracing::warn!("the GitLab project is unknown, so the preview result is not posted on !{iid}");
            return;
        }
        (Some(_), Err(problem)) => {
            tracing::warn!(
                "the GitLab project is unknown ({}), so the preview result is not posted on !{iid}; fix: {}",
                problem.message,
                problem.fix
            );
            return;
        }
    };
    let client = GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) };
    let pipeline = note::pipeline_url(settings);
    let written = client
        .write_note(
            &project.project,
            iid,
            NOTE_MARKER,
            |existing| note::compose(existing, &sections, &retired, pipeline.as_ref()),
            |now| note::holds(now, &sections, &retired),
        )
        .await;
    let names: Vec<&str> = sections.iter().map(|s| s.name.as_str()).chain(retired.iter().map(String::as_str)).collect();
    let warning = match written {
        Ok(None) => return,
        Ok(Some(written)) if written.held => {
            tracing::info!("{}: preview result posted on !{iid} (note {})", names.join(", "), written.note.id);
            return;
        }
        Ok(Some(written)) => {
            let warning = format!(
                "the preview result could not be kept in note {} on !{iid}: other jobs' writes dropped it {} times; fix: retry this job once the others are done",
                written.note.id,
                written.rewrites + 1
            );
            tracing::warn!("{}: {warning}", names.join(", "));
            warning
        }
        Err(error) => {
            let fix = note_fix(&error, iid, &project.project);
            tracing::warn!("{}: could not post the preview result on !{iid}: {error}", names.join(", "));
            tracing::warn!("{}: fix: {fix}", names.join(", "));
            format!("the preview result could not be posted on !{iid}: {error}; fix: {fix}")
        }
    };
    for one in reviewed.iter_mut().filter(|one| names.contains(&one.target.name.as_str())) {
        one.run.warnings.push(warning.clone());
    }
}

/// The branch GitBook exported its edits to instead of an import
/// (`gitbook_edits = "export"`), and the sync branch it is to be merged into.
fn edits_export(one: &Reviewed<'_>) -> Option<(String, String)> {
    let outcome = Some(&one.run.outcome).filter(|o| o.status == OutcomeStatus::Conflict)?;
    let source = outcome.gitbook_edits.as_ref()?.exported_to.clone()?;
    let into = one.decision.request.as_ref()?.body.gitbook()?.branch()?.to_owned();
    Some((source, into))
}

/// Opens (or finds open) the merge request from the branch GitBook
/// exported its edits to into the sync branch. The target is a `conflict`
/// already (exit 1): a merge request that cannot be opened is a warning,
/// and the outcome says to open it by hand.
async fn open_edits_merge_request(
    one: &mut Reviewed<'_>,
    settings: &Settings,
    http: &HttpClient,
    project: Result<Option<&ProjectApi>, &LocateProblem>,
    source: &str,
    into: &str,
) {
    let Some(gitbook) = one.gitbook() else { return };
    let (name, outcome) = (&one.target.name, &mut one.run.outcome);
    let by_hand = format!("open a merge request from {source} into {into}");
    let client_and_project = match (&settings.gitlab.token, project) {
        (Some(token), Ok(Some(project))) => {
            Ok((GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) }, project))
        }
        (None, _) => Err("no DOCSYNC_GITLAB_TOKEN to open its merge request".to_owned()),
        (_, Ok(None)) => Err("the GitLab project is unknown, so no merge request was opened".to_owned()),
        (_, Err(problem)) => {
            Err(format!("the GitLab project is unknown ({}), so no merge request was opened", problem.message))
        }
    };
    let opened = match client_and_project {
        Ok((client, project)) => {
            let ci = settings.pipeline.ci.as_ref();
            let (title, description) = note::edits_merge_request_text(gitbook, outcome, source, ci);
            client
                .find_or_open_merge_request(&project.project, source, into, &title, &description)
                .await
                .map(|(merge_request, created)| (merge_request, created, project_url(ci)))
                .map_err(|error| format!("its merge request could not be opened: {error}"))
        }
        Err(why) => Err(why),
    };
    match opened {
        Ok((merge_request, created, project_url)) => {
            record_merge_request(outcome, name, &merge_request, created, project_url.as_ref());
        }
        Err(why) => {
            tracing::warn!("{name}: {why}: {by_hand}");
            outcome.message.push_str(&format!("; {why}: {by_hand}"));
        }
    }
}

/// Logs the merge request a target's run opened (or found open) and
/// records its URL in the outcome.
fn record_merge_request(
    outcome: &mut Outcome,
    name: &str,
    merge_request: &MergeRequest,
    created: bool,
    project_url: Option<&Url>,
) {
    let verb = if created { "opened" } else { "already open:" };
    let url = merge_request.url(project_url).unwrap_or_else(|| format!("!{}", merge_request.iid));
    tracing::info!("{name}: merge request {verb} {url}");
    outcome.message.push_str(&format!("; merge request {verb} {url}"));
    outcome.merge_request = Some(url);
}

fn project_url(ci: Option<&CiContext>) -> Option<Url> {
    ci.and_then(|ci| ci.project_url.as_deref()).and_then(|url| Url::parse(url).ok())
}

/// Fails the target with `message` and `fix`; returns the exit code it adds.
fn fail(one: &mut Reviewed<'_>, message: &str, fix: &str) -> Exit {
    fail_as(one, Exit::TargetFailed, message, fix)
}

/// Ends the target with the exit code a failed GitLab call maps to, and
/// the fix that goes with it.
fn fail_gitlab(one: &mut Reviewed<'_>, error: &GitLabError, message: &str, fix: &str) -> Exit {
    let exit = error.exit();
    let fix = match (error.fix(), exit) {
        (Some(fix), _) => fix,
        (None, Exit::Unreachable) => {
            "check that GitLab answers (its status page, the proxy HTTPS_PROXY), then retry the job".to_owned()
        }
        (None, _) => fix.to_owned(),
    };
    fail_as(one, exit, message, &fix)
}

/// Fails the target, as unreachable for exit 3, as a bad configuration for
/// exit 2; returns `exit`.
fn fail_as(one: &mut Reviewed<'_>, exit: Exit, message: &str, fix: &str) -> Exit {
    tracing::error!("{}: failed — {message}", one.name());
    tracing::error!("{}: fix: {fix}", one.name());
    let outcome = &mut one.run.outcome;
    outcome.status = if exit == Exit::Unreachable { OutcomeStatus::Unreachable } else { OutcomeStatus::Failed };
    if exit == Exit::BadInput {
        outcome.fault = Fault::Configuration;
    }
    outcome.message.push_str(&format!("; {message}"));
    outcome.fix = Some(fix.into());
    exit
}

/// Opens (or finds open) the merge request from the export branch into
/// the default branch. The project and its default branch come from CI
/// variables, else from the API (outside CI, or without `CI_DEFAULT_BRANCH`).
async fn open_export_merge_request(
    one: &mut Reviewed<'_>,
    settings: &Settings,
    http: &HttpClient,
    project: Result<Option<&ProjectApi>, &LocateProblem>,
) -> Exit {
    let ci = settings.pipeline.ci.as_ref();
    let target = one.target;
    let Some(gitbook) = one.gitbook() else { return Exit::Ok };
    let Some(source) = gitbook.export_branch.as_deref().or(target.branch.as_deref()) else {
        return fail(
            one,
            "DOCSYNC_EXPORT_MR=true but the export branch is unknown",
            "set DOCSYNC_EXPORT_BRANCH (or DOCSYNC_BRANCH)",
        );
    };
    if ci.and_then(|ci| ci.default_branch.as_deref()) == Some(source) {
        tracing::info!("{}: exported straight to the default branch {source}: no merge request needed", target.name);
        return Exit::Ok;
    }
    let Some(token) = &settings.gitlab.token else {
        return fail(
            one,
            "DOCSYNC_EXPORT_MR=true but no DOCSYNC_GITLAB_TOKEN to open the merge request",
            "set DOCSYNC_GITLAB_TOKEN to a project access token with the api scope",
        );
    };
    let project = match project {
        Ok(Some(project)) => project,
        Ok(None) => {
            return fail(
                one,
                "DOCSYNC_EXPORT_MR=true but the GitLab project is unknown",
                "run the export in the project's CI job, or set DOCSYNC_GITLAB_URL to the project's URL",
            );
        }
        Err(problem) => {
            let message = format!("DOCSYNC_EXPORT_MR=true but the GitLab project is unknown: {}", problem.message);
            return fail(one, &message, &problem.fix);
        }
    };
    let client = GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) };
    let (default_branch, project_url) = match default_branch_and_url(&client, project, ci, &target.name).await {
        Ok(found) => found,
        Err(error) => {
            let message = format!("the project's default branch (the merge request's target) cannot be read: {error}");
            let fix = "give DOCSYNC_GITLAB_TOKEN the api scope, or set CI_DEFAULT_BRANCH";
            return fail_gitlab(one, &error, &message, fix);
        }
    };
    let Some(destination) = default_branch else {
        return fail(
            one,
            "GitLab says the project has no default branch to open the merge request into",
            "push a default branch to the project, then retry the job",
        );
    };
    if source == destination {
        tracing::info!("{}: exported straight to the default branch {source}: no merge request needed", target.name);
        return Exit::Ok;
    }
    let (title, description) = note::merge_request_text(gitbook, source, ci);
    match client.open_merge_request(&project.project, source, &destination, &title, &description).await {
        Ok((merge_request, created)) => {
            record_merge_request(&mut one.run.outcome, &target.name, &merge_request, created, project_url.as_ref());
            Exit::Ok
        }
        Err(error) => {
            let message = format!("the merge request could not be opened: {error}");
            let fix = "give DOCSYNC_GITLAB_TOKEN the api scope and the Developer role, then retry the job";
            fail_gitlab(one, &error, &message, fix)
        }
    }
}

/// The project's default branch (the merge request's target) and web URL:
/// from CI variables, else from the API. `Err` is GitLab's failure when the
/// default branch cannot be had; a missing URL is only logged.
async fn default_branch_and_url(
    client: &GitLabClient<'_>,
    project: &ProjectApi,
    ci: Option<&CiContext>,
    name: &str,
) -> Result<(Option<String>, Option<Url>), GitLabError> {
    let mut project_url = project_url(ci);
    let mut default_branch = ci.and_then(|ci| ci.default_branch.clone());
    if default_branch.is_none() || project_url.is_none() {
        match client.project(&project.project).await {
            Ok(info) => {
                default_branch = default_branch.or(info.default_branch);
                project_url = project_url.or_else(|| Url::parse(&info.web_url).ok());
            }
            Err(error) if default_branch.is_none() => return Err(error),
            Err(error) => tracing::info!("{name}: the project's URL cannot be read: {error}"),
        }
    }
    Ok((default_branch, project_url))
}
