//! Deciding, without doing: for every target, the action the pipeline calls
//! for (import, export, preview, push event or skip), why, and the exact
//! request it would send. Pure, so `docsync plan` can print it and tests can
//! check it as data.

#[cfg(test)]
mod decide_tests;
pub mod facts;
pub mod outcome;
mod push_event;

pub use push_event::attach_push_events;

use serde::Serialize;

use crate::error::{BadInput, BadInputs};
use crate::git::diff::{Change, ChangeKind};
use crate::git::range::{RangeMode, short};
use crate::git::repo::CommitInfo;
use crate::secret::Secret;
use crate::settings::pipeline::PipelineSource;
use crate::settings::{Direction, GitBookTarget, Settings, Target, TargetKind};
use crate::targets::dot::PushEvent;
use crate::targets::gitbook::{BodyInput, GitRequestBody, endpoint};

use facts::Facts;

/// The marker that skips a push: read in the head commit's message only,
/// in any letter case.
pub const SKIP_MARKER: &str = "[skip docsync]";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Import,
    Export,
    Preview,
    PushEvent,
    Skip,
}

impl Action {
    /// The name in the JSON contract and the dotenv report.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Import => "import",
            Action::Export => "export",
            Action::Preview => "preview",
            Action::PushEvent => "push_event",
            Action::Skip => "skip",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RangeView {
    pub base: Option<String>,
    pub head: String,
    pub mode: RangeMode,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PlannedRequest {
    pub method: &'static str,
    pub url: String,
    /// Headers beyond the client's own, secrets masked; shown for push
    /// events, whose headers are part of what GitLab sends.
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "header_map")]
    pub headers: Vec<(String, String)>,
    pub body: RequestBody,
}

/// A request body: the JSON of the contract is the body itself.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum RequestBody {
    GitBook(Box<GitRequestBody>),
    PushEvent(Box<PushEvent>),
}

impl RequestBody {
    pub fn gitbook(&self) -> Option<&GitRequestBody> {
        match self {
            RequestBody::GitBook(body) => Some(body),
            RequestBody::PushEvent(_) => None,
        }
    }
}

/// Headers as a JSON object, in the order they are sent.
fn header_map<S: serde::Serializer>(headers: &[(String, String)], serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(headers.len()))?;
    for (name, value) in headers {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetPlan {
    pub name: String,
    pub kind: &'static str,
    /// Where a target found in a GitBook site came from; absent for a
    /// configured one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub action: Action,
    pub reason: String,
    /// How many of the range's changes concern this target.
    pub changed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<PlannedRequest>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// How `sync` ended for this target; absent in plans.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<crate::plan::outcome::Outcome>,
    /// The changes that concern this target, for the senders.
    #[serde(skip)]
    pub files: Vec<Change>,
    /// Why a skipping target skips; `None` when it acts.
    #[serde(skip)]
    pub skip_cause: Option<SkipCause>,
}

/// Why a target skips, as far as a job that deploys is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipCause {
    /// The range holds nothing for the target to sync (no relevant change,
    /// `[skip docsync]`, the platform's own commits): its head is as synced
    /// as the target needs, and a deployment may record it.
    Content,
    /// The pipeline or the settings: this job is not where the target
    /// syncs (another branch, a tag, previews off…). A deployment of it
    /// would record a commit the target never synced.
    Configuration,
}

/// Everything `sync` would do. Serialises to the documented JSON contract.
#[derive(Debug, Clone, Serialize)]
pub struct SyncPlan {
    /// The run's overall result; `sync` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<&'static str>,
    pub range: RangeView,
    pub changes: Vec<Change>,
    pub targets: Vec<TargetPlan>,
}

/// The event that started the pipeline, as far as syncing is concerned.
enum Event<'a> {
    /// Outside CI: planned as a push of the checkout's branch.
    Local,
    Push {
        branch: Option<&'a str>,
    },
    Tag(&'a str),
    MergeRequest {
        iid: u64,
    },
    Manual(&'a str),
    Other(&'a str),
}

/// Whether the pipeline (or command) is a request rather than a push:
/// manual, scheduled, API and trigger pipelines, and `docsync export`.
pub fn is_request(settings: &Settings, requested_by: Option<&'static str>) -> bool {
    matches!(event(settings, requested_by), Event::Manual(_))
}

fn event<'a>(settings: &'a Settings, requested_by: Option<&'static str>) -> Event<'a> {
    match (&settings.pipeline.ci, requested_by) {
        (_, Some(command)) => Event::Manual(command),
        (None, None) => Event::Local,
        (Some(ci), None) => match (&ci.tag, &ci.source, &ci.merge_request) {
            (Some(tag), _, _) => Event::Tag(tag),
            (None, PipelineSource::MergeRequestEvent, Some(mr)) => Event::MergeRequest { iid: mr.iid },
            (None, PipelineSource::Push, _) => Event::Push { branch: ci.branch.as_deref() },
            (None, PipelineSource::Manual(source), _) => Event::Manual(source),
            (None, source, _) => Event::Other(source.as_str()),
        },
    }
}

/// The decision: for every target, the action, why, and, for GitBook, the
/// request it sends. A function of the facts and the settings alone. The
/// push events of the targets that send one are built afterwards from the
/// commits they list ([`attach_push_events`]).
pub fn decide(facts: &Facts, settings: &Settings) -> SyncPlan {
    let event = event(settings, facts.requested_by);
    let targets = settings.targets.iter().map(|target| plan_target(facts, settings, &event, target)).collect();
    SyncPlan {
        status: None,
        range: RangeView {
            base: facts.range.base.clone(),
            head: facts.range.head.clone(),
            mode: facts.range.mode,
            reason: facts.range.reason.clone(),
        },
        changes: facts.changes.clone(),
        targets,
    }
}

/// Whether a target sends a push event, so that the commits it lists must
/// be gathered ([`facts::PushFacts`]).
pub fn sends_push_events(plan: &SyncPlan) -> bool {
    plan.targets.iter().any(|t| t.action == Action::PushEvent)
}

fn plan_target(facts: &Facts, settings: &Settings, event: &Event<'_>, target: &Target) -> TargetPlan {
    let files: Vec<Change> = facts
        .changes
        .iter()
        .filter(|change| {
            // A submodule is no docs file: neither its pointer moving nor
            // the submodule itself moving is a docs change.
            change.kind == ChangeKind::File
                && (target.paths.matches(&change.path)
                    || change.old_path.as_deref().is_some_and(|old| target.paths.matches(old)))
        })
        .cloned()
        .collect();
    let mut plan = TargetPlan {
        name: target.name.clone(),
        kind: target.kind.name(),
        origin: target.discovered_in.clone(),
        action: Action::Skip,
        reason: String::new(),
        changed: files.len(),
        request: None,
        warnings: Vec::new(),
        outcome: None,
        files,
        skip_cause: None,
    };
    let is_gitbook = matches!(target.kind, TargetKind::GitBook(_));
    let act = |action: Action, reason: String| (action, reason, None);
    let configured_away = |reason: String| (Action::Skip, reason, Some(SkipCause::Configuration));

    let (action, reason, skip_cause) = match event {
        Event::Tag(tag) => configured_away(format!("tag pipeline ({tag}): tags are not synced")),
        Event::Other(source) => configured_away(format!("pipeline source `{source}` does not sync")),
        Event::Push { branch } => match (branch, target.branch.as_deref()) {
            (Some(pushed), Some(sync)) if pushed == &sync => {
                push_action(facts, settings, target, &plan, "push to the sync branch")
            }
            (Some(pushed), Some(sync)) => configured_away(format!("push to {pushed}, not to the sync branch {sync}")),
            (_, None) => configured_away(
                "no sync branch is known: set DOCSYNC_BRANCH (GitLab did not set CI_DEFAULT_BRANCH)".to_owned(),
            ),
            (None, Some(_)) => configured_away("push pipeline without a branch: nothing to sync".to_owned()),
        },
        Event::Local => push_action(facts, settings, target, &plan, "outside CI, planned as a push"),
        Event::MergeRequest { .. } if !target.previews => {
            configured_away("merge request previews are off (DOCSYNC_PREVIEWS, or previews in docsync.toml)".to_owned())
        }
        Event::MergeRequest { .. } if !is_gitbook => configured_away(
            "push-webhook receivers get pushes only: merge request pipelines are planned, not sent".to_owned(),
        ),
        Event::MergeRequest { .. } if plan.changed == 0 && !settings.force => {
            (Action::Skip, no_change_reason(target), Some(SkipCause::Content))
        }
        Event::MergeRequest { iid } => act(Action::Preview, format!("merge request !{iid}: standalone preview import")),
        Event::Manual(source) => match target.direction {
            Direction::Import if is_gitbook => act(Action::Import, format!("{source} pipeline: full import requested")),
            Direction::Import => {
                act(Action::PushEvent, format!("{source} pipeline: push event for every relevant file"))
            }
            Direction::Export if is_gitbook => {
                act(Action::Export, format!("{source} pipeline: export from GitBook requested"))
            }
            Direction::Export => configured_away("exports are GitBook → GitLab only".to_owned()),
        },
    };
    plan.action = action;
    plan.reason = reason;
    plan.skip_cause = skip_cause;
    if let Some(nearest) = facts.absent_directories.get(&target.paths.directory) {
        let head = short(&facts.range.head);
        plan.warnings.push(match nearest {
            Some(nearest) => format!(
                "the project directory {} does not exist at {head}; did you mean {nearest}? (directories are case-sensitive)",
                target.paths.directory
            ),
            None => format!("the project directory {} does not exist at {head}", target.paths.directory),
        });
    }
    if let TargetKind::GitBook(gitbook) = &target.kind {
        if matches!(action, Action::Import | Action::Export | Action::Preview) {
            plan.request = gitbook_request(facts, settings, event, target, gitbook, action, &mut plan.warnings);
        }
    }
    plan
}

/// A push (or a local run): act unless a skip rule applies. Every skip rule
/// here is about what the range holds ([`SkipCause::Content`]).
fn push_action(
    facts: &Facts,
    settings: &Settings,
    target: &Target,
    plan: &TargetPlan,
    why: &str,
) -> (Action, String, Option<SkipCause>) {
    let act = match target.kind {
        TargetKind::GitBook(_) => Action::Import,
        TargetKind::Dot(_) => Action::PushEvent,
    };
    let skip = |reason: String| (Action::Skip, reason, Some(SkipCause::Content));
    if settings.force {
        return (act, format!("{why}, forced (--force): {} relevant changes", plan.changed), None);
    }
    if plan.changed == 0 {
        return skip(no_change_reason(target));
    }
    // Like GitLab's `[skip ci]`, the marker is read from the head commit:
    // an old commit carried in by a merge must not silence a whole push.
    if let Some(head) = facts.commits.first().filter(|c| c.message.to_ascii_lowercase().contains(SKIP_MARKER)) {
        return skip(format!("the head commit {} says {SKIP_MARKER}", short(&head.id)));
    }
    // Only a range whose every commit was read can be the platform's own: a
    // full sync (or changes from the compare API) read the head alone, and
    // the human commits before it must still sync.
    let whole_range_read = facts.range.base.is_some() && facts.range.remote_changes.is_none();
    if whole_range_read
        && !facts.commits.is_empty()
        && facts.commits.iter().all(|c| is_platform_commit(c, &target.platform_authors))
    {
        return skip(
            "every commit in the range was made by the docs platform itself (GitBook export commits)".to_owned(),
        );
    }
    let files = if plan.changed == 1 { "file" } else { "files" };
    (act, format!("{why}: {} relevant {files} changed", plan.changed), None)
}

/// Refuses the manual requests that would make the sync watermark lie. The
/// platform imports the sync branch, while GitLab records the pipeline's
/// own commit as the deployment: an import requested on another branch
/// would mark that branch's commit as synced. An export in a job that
/// deploys would mark the head as imported when nothing was.
pub fn check_request(settings: &Settings, requested_by: Option<&str>) -> Result<(), BadInputs> {
    let Some(ci) = &settings.pipeline.ci else { return Ok(()) };
    let source = match (&ci.source, requested_by) {
        (_, Some(command)) => command,
        _ if ci.tag.is_some() => return Ok(()),
        (PipelineSource::Manual(source), None) => source.as_str(),
        _ => return Ok(()),
    };
    let deploys = deploys_to(settings);
    let mut problems = Vec::new();
    for target in &settings.targets {
        match target.direction {
            Direction::Import => {
                let Some(sync) = target.branch.as_deref() else { continue };
                if ci.branch.as_deref() == Some(sync) {
                    continue;
                }
                let run_on = ci.branch.as_deref().unwrap_or("no branch");
                problems.push(
                    BadInput::new(
                        "CI_COMMIT_BRANCH",
                        format!(
                            "a {source} pipeline on {run_on} asks target {} to import, but it imports its sync branch {sync}: the job would record a commit it never synced",
                            target.name
                        ),
                        format!(
                            "run the pipeline on {sync} (Build > Pipelines > Run pipeline, branch {sync}); to export from GitBook instead, set DOCSYNC_DIRECTION=export"
                        ),
                    )
                    .with_value(run_on),
                );
            }
            Direction::Export => {
                let (Some(environment), TargetKind::GitBook(_)) = (deploys, &target.kind) else { continue };
                problems.push(
                    BadInput::new(
                        "DOCSYNC_DIRECTION",
                        format!(
                            "target {} would export in a job that deploys to environment {environment}: GitLab would record the head as synced (the sync watermark) when nothing was imported",
                            target.name
                        ),
                        "give the component's direction input export (its export job records no deployment), or run exports in a job without environment (or with environment:action: prepare)",
                    )
                    .with_value("export"),
                );
            }
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(BadInputs(problems)) }
}

/// The environment the job deploys to: one whose action is `start` (or
/// unset: older GitLab releases do not set `CI_ENVIRONMENT_ACTION`).
/// `prepare`, `verify` and `access` record no deployment. When the job
/// passes, GitLab records its commit there: the sync watermark.
pub fn deploys_to(settings: &Settings) -> Option<&str> {
    let ci = settings.pipeline.ci.as_ref()?;
    ci.environment_name.as_deref().filter(|_| ci.environment_action.as_deref().is_none_or(|a| a == "start"))
}

/// Refuses, before anything is sent, what would let a job that deploys
/// pass having synced less than was configured: a dry run, and a target
/// that skips for a configuration reason. A target with nothing to sync in
/// the range ([`SkipCause::Content`]) is fine: the watermark may move past
/// it.
pub fn check_deployment(plan: &SyncPlan, settings: &Settings) -> Result<(), BadInputs> {
    let Some(environment) = deploys_to(settings) else { return Ok(()) };
    let mut problems = Vec::new();
    if settings.dry_run {
        problems.push(BadInput::new(
            "--dry-run",
            format!(
                "a dry run in a job that deploys to environment {environment} would record the head as synced (the sync watermark) when nothing was sent"
            ),
            "give the component's dry_run input true (its sync job then prepares the environment and records no deployment), or run the dry run in a job whose environment has action: prepare",
        ));
    }
    for target in plan.targets.iter().filter(|t| t.skip_cause == Some(SkipCause::Configuration)) {
        problems.push(
            BadInput::new(
                "CI_ENVIRONMENT_NAME",
                format!(
                    "the job deploys to environment {environment}, but target {} skips ({}): GitLab would record the head as synced (the sync watermark) when the target never synced it",
                    target.name, target.reason
                ),
                "run the job that deploys only where every target syncs: the component's branch input (or DOCSYNC_BRANCH) names the sync branch and its rules follow it; a job of your own needs rules to match, or an environment with action: prepare",
            )
            .with_value(environment),
        );
    }
    if problems.is_empty() { Ok(()) } else { Err(BadInputs(problems)) }
}

fn no_change_reason(target: &Target) -> String {
    let place = if target.paths.directory.is_empty() {
        "the repository".to_owned()
    } else {
        format!("{}/", target.paths.directory)
    };
    if target.paths.globs.is_empty() {
        format!("no file under {place} changed")
    } else {
        format!("no file under {place} matching {} changed", target.paths.globs.join(", "))
    }
}

/// GitBook's export commits: `GITBOOK-<n>: …` subjects, "GitBook: No commit
/// message", or an author in the configured platform authors.
pub fn is_platform_commit(commit: &CommitInfo, platform_authors: &[String]) -> bool {
    let subject = commit.subject().trim();
    let numbered = subject
        .strip_prefix("GITBOOK-")
        .and_then(|rest| rest.split_once(':'))
        .is_some_and(|(number, _)| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()));
    numbered
        || subject == "GitBook: No commit message"
        || platform_authors.iter().any(|author| {
            author.eq_ignore_ascii_case(&commit.author_name) || author.eq_ignore_ascii_case(&commit.author_email)
        })
}

fn gitbook_request(
    facts: &Facts,
    settings: &Settings,
    event: &Event<'_>,
    target: &Target,
    gitbook: &GitBookTarget,
    action: Action,
    warnings: &mut Vec<String>,
) -> Option<PlannedRequest> {
    let Some(project) = facts.project.as_ref() else {
        warnings
            .push("the project's URL is unknown (no CI_PROJECT_URL, no origin remote): no request can be built".into());
        return None;
    };
    let ci = settings.pipeline.ci.as_ref();
    let sync_branch = target.branch.as_deref().or(facts.checkout_branch.as_deref());
    let Some(sync_branch) = sync_branch else {
        warnings.push("no branch is known: set DOCSYNC_BRANCH".into());
        return None;
    };
    let mut notes = Vec::new();
    let mut credentials = clone_credentials(settings, gitbook, action, &mut notes);
    if credentials.is_some() {
        if let Some(warning) = clone_over_plain_http(project, gitbook) {
            credentials = None;
            notes = vec![warning];
        }
    }
    warnings.extend(notes);
    let pipeline_time = ci.and_then(|ci| ci.created_at);
    let body = match (action, event) {
        (Action::Preview, Event::MergeRequest { iid }) => GitRequestBody::preview(BodyInput {
            project,
            credentials,
            git_ref: format!("refs/merge-requests/{iid}/head"),
            // Fork branches do not exist in this project; the MR head commit does.
            branch: &facts.range.head,
            directory: &target.paths.directory,
            timestamp: None,
            force: settings.force,
        }),
        (Action::Export, _) => {
            let branch = gitbook.export_branch.as_deref().unwrap_or(sync_branch);
            let by = ci.and_then(|ci| ci.user_login.as_deref().or(ci.user_name.as_deref())).unwrap_or("docsync");
            let message = match ci.and_then(|ci| ci.pipeline_url.as_deref()) {
                Some(url) => format!("GitBook export requested by {by} in pipeline {url}"),
                None => format!("GitBook export requested by {by}"),
            };
            GitRequestBody::export(
                BodyInput {
                    project,
                    credentials,
                    git_ref: format!("refs/heads/{branch}"),
                    branch,
                    directory: &target.paths.directory,
                    timestamp: Some(pipeline_time.unwrap_or(facts.head_time)),
                    force: settings.force,
                },
                message,
            )
        }
        _ => GitRequestBody::import(BodyInput {
            project,
            credentials,
            git_ref: format!("refs/heads/{sync_branch}"),
            branch: sync_branch,
            directory: &target.paths.directory,
            // The push time, kept on job retries, orders imports; outside CI
            // the head commit's time is the best stand-in.
            timestamp: Some(pipeline_time.unwrap_or(facts.head_time)),
            force: settings.force,
        }),
    };
    let operation = if action == Action::Export { "export" } else { "import" };
    Some(PlannedRequest {
        method: "POST",
        url: endpoint(&gitbook.api_url, &gitbook.space, operation).to_string(),
        headers: Vec::new(),
        body: RequestBody::GitBook(Box::new(body)),
    })
}

/// GitBook would clone over plain http from another host than loopback,
/// where a token in the URL travels in cleartext: it gets none, and the
/// warning says why. (A git token with `CI_PROJECT_URL` on plain http is
/// refused with the settings already; this holds for the job token and for
/// an `origin` remote outside CI.)
fn clone_over_plain_http(project: &crate::git::remote::Project, gitbook: &GitBookTarget) -> Option<String> {
    let url = &project.web_url;
    (url.scheme() == "http" && !crate::settings::credentials::is_loopback(url)).then(|| {
        format!(
            "{} is plain http: GitBook gets no token in the clone URL ({} or CI_JOB_TOKEN would travel in cleartext), so it clones without credentials, which works for public projects only; serve GitLab over https",
            crate::settings::credentials::shown_origin(url),
            gitbook.git_token_source
        )
    })
}

/// The credentials GitBook clones (or pushes) with: `DOCSYNC_GIT_TOKEN`,
/// else the job token for imports that are waited for, else none (public
/// projects need none).
fn clone_credentials(
    settings: &Settings,
    gitbook: &GitBookTarget,
    action: Action,
    warnings: &mut Vec<String>,
) -> Option<(String, Secret)> {
    if let Some(token) = &gitbook.git_token {
        return Some(("oauth2".to_owned(), token.clone()));
    }
    let job_token = settings.pipeline.job_token.as_ref();
    match (action, job_token) {
        (Action::Export, _) => {
            warnings.push(format!(
                "no {}: GitBook cannot push the export; set it to a project access token with write_repository",
                gitbook.git_token_source
            ));
            None
        }
        (_, Some(job_token)) if gitbook.wait => {
            warnings.push(format!(
                "no {}: using CI_JOB_TOKEN, which dies with this job; set a project access token with read_repository",
                gitbook.git_token_source
            ));
            Some(("gitlab-ci-token".to_owned(), job_token.clone()))
        }
        _ => {
            warnings.push(format!(
                "no {}: GitBook clones without credentials, which works for public projects only",
                gitbook.git_token_source
            ));
            None
        }
    }
}
