//! Deciding, without doing: for every target, the action the pipeline calls
//! for (import, export, preview, push event or skip), why, and the exact
//! request it would send. Pure, so `docsync plan` can print it and tests can
//! check it as data.

#[cfg(test)]
mod decide_tests;
pub(crate) mod facts;
pub(crate) mod outcome;
mod push_event;
pub(crate) mod run;

use std::fmt;

use crate::error::{BadInput, BadInputs};
use crate::git::diff::{Change, ChangeKind};
use crate::git::range::{RangeMode, short};
use crate::git::repo::Ancestry;
use crate::git::repo::CommitInfo;
use crate::secret::Secret;
use crate::settings::pipeline::PipelineSource;
use crate::settings::target_id::TargetId;
use crate::settings::{Direction, GitBookTarget, Settings, Target, TargetKind};
use crate::targets::dot::PushEvent;
use crate::targets::gitbook::{BodyInput, GitRequestBody, endpoint};

use facts::{Facts, LiveBase, PushFacts, RequestedBy};

/// The marker that skips a push: read in the head commit's message only,
/// in any letter case.
pub(crate) const SKIP_MARKER: &str = "[skip docsync]";

/// What a target is asked to do. Spelled in the JSON contract and the text
/// plan by [`Action::as_str`] alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    Import,
    Export,
    Preview,
    PushEvent,
    Skip,
}

impl Action {
    #[cfg(test)]
    pub(crate) const ALL: [Action; 5] =
        [Action::Import, Action::Export, Action::Preview, Action::PushEvent, Action::Skip];

    /// The name in the JSON contract and the text plan.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Import => "import",
            Action::Export => "export",
            Action::Preview => "preview",
            Action::PushEvent => "push_event",
            Action::Skip => "skip",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The platform a target syncs to, as the plan names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Platform {
    GitBook,
    Dot,
}

impl Platform {
    #[cfg(test)]
    pub(crate) const ALL: [Platform; 2] = [Platform::GitBook, Platform::Dot];

    fn of(kind: &TargetKind) -> Platform {
        match kind {
            TargetKind::GitBook(_) => Platform::GitBook,
            TargetKind::Dot(_) => Platform::Dot,
        }
    }

    /// The `kind` of the JSON contract and the text plan.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Platform::GitBook => "gitbook",
            Platform::Dot => "dot",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The commit range the plan was decided on.
#[derive(Debug, Clone)]
pub(crate) struct RangeView {
    pub base: Option<String>,
    pub head: String,
    pub mode: RangeMode,
    pub reason: String,
}

/// The request an acting target sends, as built before anything is sent.
#[derive(Debug, Clone)]
pub(crate) struct PlannedRequest {
    pub method: &'static str,
    pub url: String,
    /// Headers beyond the client's own, secrets masked; shown for push
    /// events, whose headers are part of what GitLab sends.
    pub headers: Vec<(String, String)>,
    pub body: RequestBody,
}

/// A request body: the JSON of the contract is the body itself.
#[derive(Debug, Clone)]
pub(crate) enum RequestBody {
    GitBook(Box<GitRequestBody>),
    PushEvent(Box<PushEvent>),
}

impl RequestBody {
    pub(crate) fn gitbook(&self) -> Option<&GitRequestBody> {
        match self {
            RequestBody::GitBook(body) => Some(body),
            RequestBody::PushEvent(_) => None,
        }
    }
}

/// The decision for one target: what it does, why, and what it sends.
#[derive(Debug, Clone)]
pub(crate) struct Decision {
    pub target: TargetId,
    pub name: String,
    pub kind: Platform,
    /// Where a target found in a GitBook site came from; absent for a
    /// configured one.
    pub origin: Option<String>,
    pub action: Action,
    pub reason: Reason,
    /// How many of the range's changes concern this target.
    pub changed: usize,
    pub request: Option<PlannedRequest>,
    /// What the decision could not settle (a missing directory, token or
    /// URL), for the report.
    pub warnings: Vec<String>,
    /// The changes that concern this target, for the senders.
    pub files: Vec<Change>,
    /// Where a GitBook target's change set starts, and why, once its
    /// space's live revision was read; absent otherwise (and always for a
    /// push-webhook receiver), when the job's range applies.
    pub base: Option<TargetBase>,
}

/// The base of a GitBook target's change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TargetBase {
    /// The commit; `None` for a full sync.
    pub commit: Option<String>,
    pub source: BaseSource,
    /// Why this base, in words.
    pub reason: String,
}

/// Where a target's base comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BaseSource {
    /// The commit the space's live revision shows.
    LiveRevision,
    /// The job's range (the sync watermark, or its fallbacks).
    Range,
}

impl BaseSource {
    #[cfg(test)]
    pub(crate) const ALL: [BaseSource; 2] = [BaseSource::LiveRevision, BaseSource::Range];

    /// The name in the JSON contract.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BaseSource::LiveRevision => "live_revision",
            BaseSource::Range => "range",
        }
    }
}

impl Decision {
    /// Why a skipping target skips; `None` when it acts.
    pub(crate) fn skip_cause(&self) -> Option<SkipCause> {
        self.reason.skip_cause()
    }
}

/// Why a target skips, as far as a job that deploys is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SkipCause {
    /// The range holds nothing for the target to sync (no relevant change,
    /// `[skip docsync]`, the platform's own commits): its head is as synced
    /// as the target needs, and a deployment may record it.
    Content,
    /// The pipeline or the settings: this job is not where the target
    /// syncs (another branch, a tag, previews off…). A deployment of it
    /// would record a commit the target never synced.
    Configuration,
}

/// What asks for a sync, as a manual pipeline does: the pipeline's source,
/// or a command that is itself a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestSource {
    /// `CI_PIPELINE_SOURCE` of a pipeline someone asked for (`web`, `api`,
    /// `schedule`…), as GitLab spells it.
    Pipeline(String),
    Command(RequestedBy),
}

impl fmt::Display for RequestSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestSource::Pipeline(source) => f.write_str(source),
            RequestSource::Command(command) => f.write_str(command.as_str()),
        }
    }
}

/// What started a push-like sync: a push to the sync branch, or a run
/// outside CI, planned as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushTrigger {
    SyncBranch,
    Local,
}

impl fmt::Display for PushTrigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PushTrigger::SyncBranch => "push to the sync branch",
            PushTrigger::Local => "outside CI, planned as a push",
        })
    }
}

/// Why a target does what it does. Its words ([`fmt::Display`]) are the
/// `reason` of the plan; whether a skip is the range's or the
/// configuration's follows from the variant ([`Reason::skip_cause`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    /// A push (or a local run) with relevant changes.
    Changed { trigger: PushTrigger, changed: usize },
    /// A push (or a local run) with `--force`, whatever it holds.
    Forced { trigger: PushTrigger, changed: usize },
    /// A manual pipeline (or `docsync export`) asks for the action.
    Requested { source: RequestSource, action: Action },
    /// A merge request pipeline with previews on.
    Preview { iid: u64 },
    /// Skip: no file of the target changed.
    NoChange { directory: String, globs: Vec<String> },
    /// Skip: the head commit carries [`SKIP_MARKER`].
    SkipMarker { head: String },
    /// Skip: every commit of the range is the docs platform's own.
    PlatformCommits,
    /// Skip: a tag pipeline.
    Tag(String),
    /// Skip: a pipeline source that never syncs.
    PipelineSource(String),
    /// Skip: a push to another branch than the sync branch.
    OtherBranch { pushed: String, sync: String },
    /// Skip: no sync branch is known.
    NoSyncBranch,
    /// Skip: a push pipeline without a branch.
    PushWithoutBranch,
    /// Skip: merge request previews are off.
    PreviewsOff,
    /// Skip: a push-webhook receiver in a merge request pipeline.
    PushesOnly,
    /// Skip: an export asked of a push-webhook receiver.
    ExportsGitBookOnly,
}

impl Reason {
    /// `None` for a target that acts.
    pub(crate) fn skip_cause(&self) -> Option<SkipCause> {
        match self {
            Reason::Changed { .. } | Reason::Forced { .. } | Reason::Requested { .. } | Reason::Preview { .. } => None,
            Reason::NoChange { .. } | Reason::SkipMarker { .. } | Reason::PlatformCommits => Some(SkipCause::Content),
            Reason::Tag(_)
            | Reason::PipelineSource(_)
            | Reason::OtherBranch { .. }
            | Reason::NoSyncBranch
            | Reason::PushWithoutBranch
            | Reason::PreviewsOff
            | Reason::PushesOnly
            | Reason::ExportsGitBookOnly => Some(SkipCause::Configuration),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Changed { trigger, changed } => {
                let files = if *changed == 1 { "file" } else { "files" };
                write!(f, "{trigger}: {changed} relevant {files} changed")
            }
            Reason::Forced { trigger, changed } => write!(f, "{trigger}, forced (--force): {changed} relevant changes"),
            Reason::Requested { source, action } => match action {
                Action::Import => write!(f, "{source} pipeline: full import requested"),
                Action::PushEvent => write!(f, "{source} pipeline: push event for every relevant file"),
                Action::Export => write!(f, "{source} pipeline: export from GitBook requested"),
                Action::Preview | Action::Skip => write!(f, "{source} pipeline: {action} requested"),
            },
            Reason::Preview { iid } => write!(f, "merge request !{iid}: standalone preview import"),
            // Written piece by piece: most of hundreds of targets skip so.
            Reason::NoChange { directory, globs } => {
                match directory.is_empty() {
                    true => f.write_str("no file under the repository")?,
                    false => write!(f, "no file under {directory}/")?,
                }
                if !globs.is_empty() {
                    write!(f, " matching {}", globs.join(", "))?;
                }
                f.write_str(" changed")
            }
            Reason::SkipMarker { head } => write!(f, "the head commit {} says {SKIP_MARKER}", short(head)),
            Reason::PlatformCommits => {
                f.write_str("every commit in the range was made by the docs platform itself (GitBook export commits)")
            }
            Reason::Tag(tag) => write!(f, "tag pipeline ({tag}): tags are not synced"),
            Reason::PipelineSource(source) => write!(f, "pipeline source `{source}` does not sync"),
            Reason::OtherBranch { pushed, sync } => write!(f, "push to {pushed}, not to the sync branch {sync}"),
            Reason::NoSyncBranch => {
                f.write_str("no sync branch is known: set DOCSYNC_BRANCH (GitLab did not set CI_DEFAULT_BRANCH)")
            }
            Reason::PushWithoutBranch => f.write_str("push pipeline without a branch: nothing to sync"),
            Reason::PreviewsOff => {
                f.write_str("merge request previews are off (DOCSYNC_PREVIEWS, or previews in docsync.toml)")
            }
            Reason::PushesOnly => {
                f.write_str("push-webhook receivers get pushes only: merge request pipelines are planned, not sent")
            }
            Reason::ExportsGitBookOnly => f.write_str("exports are GitBook → GitLab only"),
        }
    }
}

/// Everything `sync` would do: decided once by [`decide`], then only read.
/// What `sync` did is a [`run::Run`] beside it; the JSON contract is
/// `output::json`'s.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub range: RangeView,
    pub changes: Vec<Change>,
    pub targets: Vec<Decision>,
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
    Manual(RequestSource),
    Other(&'a str),
}

/// Whether the pipeline (or command) is a request rather than a push:
/// manual, scheduled, API and trigger pipelines, and `docsync export`.
pub(crate) fn is_request(settings: &Settings, requested_by: Option<RequestedBy>) -> bool {
    matches!(event(settings, requested_by), Event::Manual(_))
}

fn event(settings: &Settings, requested_by: Option<RequestedBy>) -> Event<'_> {
    match (&settings.pipeline.ci, requested_by) {
        (_, Some(command)) => Event::Manual(RequestSource::Command(command)),
        (None, None) => Event::Local,
        (Some(ci), None) => match (&ci.tag, &ci.source, &ci.merge_request) {
            (Some(tag), _, _) => Event::Tag(tag),
            (None, PipelineSource::MergeRequestEvent, Some(mr)) => Event::MergeRequest { iid: mr.iid },
            (None, PipelineSource::Push, _) => Event::Push { branch: ci.branch.as_deref() },
            (None, PipelineSource::Manual(source), _) => Event::Manual(RequestSource::Pipeline(source.clone())),
            (None, source, _) => Event::Other(source.as_str()),
        },
    }
}

/// The decision: for every target, the action, why, and the request it
/// sends. A function of the facts and the settings alone. A push event
/// lists the commits [`PushFacts`] holds, gathered only when
/// [`sends_push_events`] says a target sends one: without them, a target
/// that sends a push event has no request.
pub(crate) fn decide(facts: &Facts, settings: &Settings, push: Option<&PushFacts>) -> Plan {
    let event = event(settings, facts.requested_by);
    let targets = settings.targets.iter().map(|target| decide_target(facts, settings, &event, target, push)).collect();
    Plan {
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
/// be gathered ([`PushFacts`]) before [`decide`].
pub(crate) fn sends_push_events(facts: &Facts, settings: &Settings) -> bool {
    // Only a Dot target sends one: hundreds of GitBook targets are not
    // decided twice.
    let event = event(settings, facts.requested_by);
    settings
        .targets
        .iter()
        .filter(|target| matches!(target.kind, TargetKind::Dot(_)))
        .any(|target| decide_target(facts, settings, &event, target, None).action == Action::PushEvent)
}

fn decide_target(
    facts: &Facts,
    settings: &Settings,
    event: &Event<'_>,
    target: &Target,
    push: Option<&PushFacts>,
) -> Decision {
    let (base, changes) = target_base(facts, target);
    let files: Vec<Change> = changes
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
    let changed = files.len();
    let is_gitbook = matches!(target.kind, TargetKind::GitBook(_));
    let act = |action: Action, reason: Reason| (action, reason);
    let skip = |reason: Reason| (Action::Skip, reason);
    let requested =
        |source: &RequestSource, action: Action| (action, Reason::Requested { source: source.clone(), action });

    let (action, reason) = match event {
        Event::Tag(tag) => skip(Reason::Tag((*tag).to_owned())),
        Event::Other(source) => skip(Reason::PipelineSource((*source).to_owned())),
        Event::Push { branch } => match (branch, target.branch.as_deref()) {
            (Some(pushed), Some(sync)) if pushed == &sync => {
                push_action(facts, settings, target, changed, PushTrigger::SyncBranch)
            }
            (Some(pushed), Some(sync)) => {
                skip(Reason::OtherBranch { pushed: (*pushed).to_owned(), sync: sync.to_owned() })
            }
            (_, None) => skip(Reason::NoSyncBranch),
            (None, Some(_)) => skip(Reason::PushWithoutBranch),
        },
        Event::Local => push_action(facts, settings, target, changed, PushTrigger::Local),
        Event::MergeRequest { .. } if !target.previews => skip(Reason::PreviewsOff),
        Event::MergeRequest { .. } if !is_gitbook => skip(Reason::PushesOnly),
        Event::MergeRequest { .. } if changed == 0 && !settings.force => skip(no_change(target)),
        Event::MergeRequest { iid } => act(Action::Preview, Reason::Preview { iid: *iid }),
        Event::Manual(source) => match target.direction {
            Direction::Import if is_gitbook => requested(source, Action::Import),
            Direction::Import => requested(source, Action::PushEvent),
            Direction::Export if is_gitbook => requested(source, Action::Export),
            Direction::Export => skip(Reason::ExportsGitBookOnly),
        },
    };
    let mut warnings = Vec::new();
    if let Some(nearest) = facts.absent_directories.get(&target.paths.directory) {
        let head = short(&facts.range.head);
        warnings.push(match nearest {
            Some(nearest) => format!(
                "the project directory {} does not exist at {head}; did you mean {nearest}? (directories are case-sensitive)",
                target.paths.directory
            ),
            None => format!("the project directory {} does not exist at {head}", target.paths.directory),
        });
    }
    let request = match (&target.kind, action) {
        (TargetKind::GitBook(gitbook), Action::Import | Action::Export | Action::Preview) => {
            gitbook_request(facts, settings, event, target, gitbook, action, &mut warnings)
        }
        (TargetKind::Dot(dot), Action::PushEvent) => {
            push.and_then(|push| push_event::request(facts, push, settings, target, dot, &files, &mut warnings))
        }
        _ => None,
    };
    Decision {
        target: target.id,
        name: target.name.clone(),
        kind: Platform::of(&target.kind),
        origin: target.discovered_in.clone(),
        action,
        reason,
        changed,
        request,
        warnings,
        files,
        base,
    }
}

/// A GitBook target's base: the commit its space shows now when that is an
/// ancestor of head (so a space whose import failed gets all its changes
/// again, and one that is up to date nothing), else the job's range. With
/// the changes from that base. A push-webhook receiver keeps the range.
fn target_base<'a>(facts: &'a Facts, target: &Target) -> (Option<TargetBase>, &'a [Change]) {
    if !matches!(target.kind, TargetKind::GitBook(_)) {
        return (None, &facts.changes);
    }
    let range = |why: String| TargetBase {
        commit: facts.range.base.clone(),
        source: BaseSource::Range,
        reason: format!("{why}: the job's range"),
    };
    let live = |commit: &str, why: String| TargetBase {
        commit: Some(commit.to_owned()),
        source: BaseSource::LiveRevision,
        reason: why,
    };
    match facts.live.get(&target.id) {
        Some(LiveBase::Ancestor { commit, changes }) => (
            Some(live(
                commit,
                format!("the space shows commit {}, an ancestor of head: the changes since", short(commit)),
            )),
            changes,
        ),
        // Nothing since; the range decides whether the target acts, and
        // the guard says the head is already imported, without a call.
        Some(LiveBase::Head { commit }) => {
            (Some(live(commit, "the space already shows head".to_owned())), &facts.changes)
        }
        Some(LiveBase::NotAncestor { commit, ancestry }) => {
            let stands = match ancestry {
                Ancestry::Newer => "newer than head",
                _ => "not in the branch's history",
            };
            (Some(range(format!("the space shows commit {}, {stands}", short(commit)))), &facts.changes)
        }
        Some(LiveBase::NoCommit) => {
            (Some(range("the space's live revision names no commit".to_owned())), &facts.changes)
        }
        Some(LiveBase::Unread(why)) => {
            (Some(range(format!("the space's live revision could not be read ({why})"))), &facts.changes)
        }
        // Not read (`plan`, `pipeline`, outside CI, without a token, or a
        // target that does not import): the range, as before.
        None => (None, &facts.changes),
    }
}

/// A push (or a local run): act unless a skip rule applies. Every skip rule
/// here is about what the range holds ([`SkipCause::Content`]).
fn push_action(
    facts: &Facts,
    settings: &Settings,
    target: &Target,
    changed: usize,
    trigger: PushTrigger,
) -> (Action, Reason) {
    let act = match target.kind {
        TargetKind::GitBook(_) => Action::Import,
        TargetKind::Dot(_) => Action::PushEvent,
    };
    if settings.force {
        return (act, Reason::Forced { trigger, changed });
    }
    if changed == 0 {
        return (Action::Skip, no_change(target));
    }
    // Like GitLab's `[skip ci]`, the marker is read from the head commit:
    // an old commit carried in by a merge must not silence a whole push.
    if let Some(head) = facts.commits.first().filter(|c| c.message.to_ascii_lowercase().contains(SKIP_MARKER)) {
        return (Action::Skip, Reason::SkipMarker { head: head.id.clone() });
    }
    // Only a range whose every commit was read can be the platform's own: a
    // full sync (or changes from the compare API) read the head alone, and
    // the human commits before it must still sync.
    let whole_range_read = facts.range.base.is_some() && facts.range.remote_changes.is_none();
    if whole_range_read
        && !facts.commits.is_empty()
        && facts.commits.iter().all(|c| is_platform_commit(c, &target.platform_authors))
    {
        return (Action::Skip, Reason::PlatformCommits);
    }
    (act, Reason::Changed { trigger, changed })
}

/// Refuses the manual requests that would make the sync watermark lie. The
/// platform imports the sync branch, while GitLab records the pipeline's
/// own commit as the deployment: an import requested on another branch
/// would mark that branch's commit as synced. An export in a job that
/// deploys would mark the head as imported when nothing was.
pub(crate) fn check_request(settings: &Settings, requested_by: Option<RequestedBy>) -> Result<(), BadInputs> {
    let Some(ci) = &settings.pipeline.ci else { return Ok(()) };
    let source = match (&ci.source, requested_by) {
        (_, Some(command)) => RequestSource::Command(command),
        _ if ci.tag.is_some() => return Ok(()),
        (PipelineSource::Manual(source), None) => RequestSource::Pipeline(source.clone()),
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
pub(crate) fn deploys_to(settings: &Settings) -> Option<&str> {
    let ci = settings.pipeline.ci.as_ref()?;
    ci.environment_name.as_deref().filter(|_| ci.environment_action.as_deref().is_none_or(|a| a == "start"))
}

/// Refuses, before anything is sent, what would let a job that deploys
/// pass having synced less than was configured: a dry run, and a target
/// that skips for a configuration reason. A target with nothing to sync in
/// the range ([`SkipCause::Content`]) is fine: the watermark may move past
/// it.
pub(crate) fn check_deployment(plan: &Plan, settings: &Settings) -> Result<(), BadInputs> {
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
    for target in plan.targets.iter().filter(|t| t.skip_cause() == Some(SkipCause::Configuration)) {
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

fn no_change(target: &Target) -> Reason {
    Reason::NoChange { directory: target.paths.directory.clone(), globs: target.paths.globs.clone() }
}

/// GitBook's export commits: `GITBOOK-<n>: …` subjects, "GitBook: No commit
/// message", or an author in the configured platform authors.
pub(crate) fn is_platform_commit(commit: &CommitInfo, platform_authors: &[String]) -> bool {
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
