//! The pipeline's commit range: which commits' changes docsync syncs.
//!
//! [`choose`] is pure: from the settings it decides where head and base come
//! from, in the order the product specification gives (explicit range, merge
//! request diff base, sync watermark, `CI_COMMIT_BEFORE_SHA`, full sync).
//! [`resolve`] then finds those commits in the repository, deepens a shallow
//! clone when the base is missing, and classifies the range (push, force push,
//! full…). It never answers "nothing changed" when it cannot tell: a base it
//! cannot find becomes a full sync, with a warning.

use std::fmt;

use anyhow::{Context, Result};

use crate::error::BadInput;
use crate::git::diff::Change;
use crate::git::fetch::FetchError;
use crate::git::repo::Repo;
use crate::settings::Settings;
use crate::settings::pipeline::PipelineSource;

/// How the range was found; the `mode` of the JSON contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeMode {
    /// `CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA` of a push.
    Push,
    /// A push whose before commit is not an ancestor of head.
    ForcePush,
    /// `CI_MERGE_REQUEST_DIFF_BASE_SHA..` the source branch head.
    MergeRequest,
    /// From the last successfully synced commit.
    Watermark,
    /// `--from`/`--to`.
    Explicit,
    /// No usable base: every file counts as changed.
    Full,
    /// Outside CI: `HEAD~1..HEAD`.
    Local,
}

impl RangeMode {
    #[cfg(test)]
    pub(crate) const ALL: [RangeMode; 7] = [
        RangeMode::Push,
        RangeMode::ForcePush,
        RangeMode::MergeRequest,
        RangeMode::Watermark,
        RangeMode::Explicit,
        RangeMode::Full,
        RangeMode::Local,
    ];

    /// The `mode` of the JSON contract, also shown in text and logs.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RangeMode::Push => "push",
            RangeMode::ForcePush => "force_push",
            RangeMode::MergeRequest => "merge_request",
            RangeMode::Watermark => "watermark",
            RangeMode::Explicit => "explicit",
            RangeMode::Full => "full",
            RangeMode::Local => "local",
        }
    }
}

impl fmt::Display for RangeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the head commit comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadSource {
    /// `--to`/`DOCSYNC_TO`: any revision.
    Revision(String),
    /// The pipeline's commit (the source branch head in merged results).
    Pipeline { sha: String, variable: &'static str },
    /// The checkout's `HEAD`, outside CI.
    Checkout,
}

/// Where the base commit comes from, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BaseSource {
    Explicit(String),
    MergeRequest(String),
    /// The last successfully synced commit (GitLab deployment of the job's
    /// environment). Looked up by the caller; used only when it is an
    /// ancestor of head. The next candidate is kept for when it is not.
    Watermark {
        sha: String,
        otherwise: Box<BaseSource>,
    },
    Before(String),
    /// `HEAD~1`, outside CI.
    Parent,
    /// No base: a full sync, for the reason given.
    Full(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangeChoice {
    pub head: HeadSource,
    pub base: BaseSource,
}

/// Decides where head and base come from. `watermark` is the last synced
/// commit when the caller could read it.
pub(crate) fn choose(settings: &Settings, watermark: Option<String>) -> RangeChoice {
    let pipeline = &settings.pipeline;
    let head = match (&settings.to, pipeline.head_sha()) {
        (Some(to), _) => HeadSource::Revision(to.clone()),
        (None, Some(sha)) => {
            let merged_results = pipeline
                .ci
                .as_ref()
                .and_then(|ci| ci.merge_request.as_ref())
                .and_then(|mr| mr.source_branch_sha.as_ref());
            let variable =
                if merged_results.is_some() { "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA" } else { "CI_COMMIT_SHA" };
            HeadSource::Pipeline { sha: sha.to_owned(), variable }
        }
        (None, None) => HeadSource::Checkout,
    };
    if let Some(from) = &settings.from {
        return RangeChoice { head, base: BaseSource::Explicit(from.clone()) };
    }
    let Some(ci) = &pipeline.ci else {
        return RangeChoice { head, base: BaseSource::Parent };
    };
    if let Some(base) = ci.merge_request.as_ref().and_then(|mr| mr.diff_base_sha.clone()) {
        return RangeChoice { head, base: BaseSource::MergeRequest(base) };
    }
    let fallback = match (&ci.source, &ci.before_sha) {
        (PipelineSource::Push, Some(before)) => BaseSource::Before(before.clone()),
        (PipelineSource::Push, None) => {
            BaseSource::Full("first push of a new branch (CI_COMMIT_BEFORE_SHA is all zeros)")
        }
        (PipelineSource::Manual(_), _) => BaseSource::Full("manual or scheduled pipeline: everything is synced"),
        _ => BaseSource::Full("the pipeline has no previous commit to compare with"),
    };
    let base = match watermark {
        Some(sha) => BaseSource::Watermark { sha, otherwise: Box::new(fallback) },
        None => fallback,
    };
    RangeChoice { head, base }
}

/// The resolved range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitRange {
    pub base: Option<String>,
    pub head: String,
    pub mode: RangeMode,
    /// Why this range, in words (shown in plans and logs).
    pub reason: String,
    /// The change set when the base is not in the clone and GitLab's
    /// compare API supplied it.
    pub remote_changes: Option<Vec<Change>>,
}

impl CommitRange {
    /// A range whose changes the clone itself gives.
    fn in_clone(base: Option<String>, head: String, mode: RangeMode, reason: String) -> CommitRange {
        CommitRange { base, head, mode, reason, remote_changes: None }
    }
}

/// The change set of a range whose base is not in the clone, from GitLab's
/// compare API; `Err` says why it cannot be had (no token, cut short…).
pub(crate) type CompareFallback<'a> = &'a dyn Fn(&str, &str) -> Result<Vec<Change>, String>;

/// How to get history a shallow clone lacks.
pub(crate) struct HistorySource<'a> {
    /// `CI_REPOSITORY_URL` or the `origin` remote; may hold credentials.
    pub url: Option<String>,
    /// Refs to deepen, such as `+refs/heads/main:refs/remotes/origin/main`.
    pub refspecs: Vec<String>,
    /// Asked when the base cannot be fetched, before falling back to a full sync.
    pub compare: Option<CompareFallback<'a>>,
}

/// Depths tried, in turn, to reach a base missing from a shallow clone
/// (GitLab's default `GIT_DEPTH` is 20); `None` fetches all history.
const DEEPEN_STEPS: &[Option<i32>] = &[Some(100), Some(1000), None];

/// Finds the chosen commits in the repository and classifies the range.
pub(crate) fn resolve(repo: &Repo, choice: &RangeChoice, history: &HistorySource<'_>) -> Result<CommitRange> {
    let head = resolve_head(repo, &choice.head, history)?;
    resolve_base(repo, &choice.base, head, history)
}

/// [`find_or_fetch`], a revision that names no commit being bad input from
/// `source` (a flag or variable).
fn find_named(repo: &Repo, revision: &str, history: &HistorySource<'_>, source: &str) -> Result<Option<String>> {
    find_or_fetch(repo, revision, history).map_err(|error| {
        match error.downcast_ref::<crate::git::repo::BadRevision>() {
            Some(bad) => BadInput::new(
                source,
                bad.problem.clone(),
                "give a commit: a SHA, branch, tag or expression like HEAD~3 (not a tree or a file)",
            )
            .with_value(revision)
            .into(),
            None => error,
        }
    })
}

fn resolve_head(repo: &Repo, source: &HeadSource, history: &HistorySource<'_>) -> Result<String> {
    match source {
        HeadSource::Revision(revision) => match find_named(repo, revision, history, "--to / DOCSYNC_TO")? {
            Some(sha) => Ok(sha),
            None => Err(BadInput::new(
                "--to / DOCSYNC_TO",
                "no such commit in this repository",
                "give a commit SHA, branch, tag or expression like HEAD~3 that exists in the checkout",
            )
            .with_value(revision.clone())
            .into()),
        },
        HeadSource::Pipeline { sha, variable } => match find_named(repo, sha, history, variable)? {
            Some(sha) => Ok(sha),
            None => Err(BadInput::new(
                *variable,
                "the pipeline's commit is not in the checkout",
                "let the runner check the commit out (do not set GIT_STRATEGY: none for this job)",
            )
            .with_value(sha.clone())
            .into()),
        },
        HeadSource::Checkout => repo.resolve_commit("HEAD")?.ok_or_else(|| match repo.unborn_branch() {
            // `git switch --orphan`, or a fresh `git init` in a clone's copy:
            // the branch has no commit, the repository has.
            Some(branch) if repo.has_commits() => BadInput::new(
                "HEAD",
                format!("HEAD is on branch {branch}, which has no commits yet (an unborn branch; other branches have commits)"),
                format!("commit on {branch} first, check out a branch with commits (git switch <branch>), or give --to <revision>"),
            )
            .into(),
            _ => BadInput::new(
                "HEAD",
                "the repository has no commits yet",
                "commit something, or run docsync in another checkout",
            )
            .into(),
        }),
    }
}

fn resolve_base(repo: &Repo, source: &BaseSource, head: String, history: &HistorySource<'_>) -> Result<CommitRange> {
    match source {
        BaseSource::Explicit(revision) => explicit_base(repo, revision, head, history),
        BaseSource::MergeRequest(sha) => match find_named(repo, sha, history, "CI_MERGE_REQUEST_DIFF_BASE_SHA")? {
            Some(base) => Ok(CommitRange::in_clone(
                Some(base),
                head,
                RangeMode::MergeRequest,
                "merge request changes (CI_MERGE_REQUEST_DIFF_BASE_SHA)".into(),
            )),
            None => {
                Ok(missing_base(repo, head, sha, "CI_MERGE_REQUEST_DIFF_BASE_SHA", RangeMode::MergeRequest, history))
            }
        },
        BaseSource::Watermark { sha, otherwise } => watermark_base(repo, sha, otherwise, head, history),
        BaseSource::Before(sha) => before_base(repo, sha, head, history),
        BaseSource::Parent => parent_base(repo, head),
        BaseSource::Full(reason) => Ok(CommitRange::in_clone(None, head, RangeMode::Full, (*reason).to_owned())),
    }
}

/// `--from`/`DOCSYNC_FROM`: it must name a commit.
fn explicit_base(repo: &Repo, revision: &str, head: String, history: &HistorySource<'_>) -> Result<CommitRange> {
    let Some(base) = find_named(repo, revision, history, "--from / DOCSYNC_FROM")? else {
        return Err(BadInput::new(
            "--from / DOCSYNC_FROM",
            "no such commit in this repository",
            if repo.is_shallow() {
                "the clone is shallow and the commit could not be fetched: set GIT_DEPTH: 0 for the job"
            } else {
                "give a commit SHA, branch, tag or expression like HEAD~3 that exists in the checkout"
            },
        )
        .with_value(revision.to_owned())
        .into());
    };
    // The two trees are compared whether or not the base is an
    // ancestor; checking would walk the whole range for a remark.
    Ok(CommitRange::in_clone(Some(base), head, RangeMode::Explicit, format!("explicit range {revision}..")))
}

/// The last synced commit, when it is in the clone and an ancestor of head;
/// otherwise the next base in line.
fn watermark_base(
    repo: &Repo,
    sha: &str,
    otherwise: &BaseSource,
    head: String,
    history: &HistorySource<'_>,
) -> Result<CommitRange> {
    // A watermark naming no commit is no watermark.
    if let Some(base) = find_or_fetch(repo, sha, history).ok().flatten() {
        match ancestry(repo, &base, &head, history)? {
            Ancestry::Ancestor => {
                return Ok(CommitRange::in_clone(
                    Some(base),
                    head,
                    RangeMode::Watermark,
                    "since the last successful sync (deployment watermark)".into(),
                ));
            }
            // The diff of the two trees is what changed since the
            // last sync either way; only the remark is unproven.
            Ancestry::Undecided => {
                return Ok(CommitRange::in_clone(
                    Some(base),
                    head,
                    RangeMode::Watermark,
                    format!("since the last successful sync (deployment watermark); {UNDECIDED}"),
                ));
            }
            Ancestry::NotAncestor => {}
        }
        tracing::info!("the last synced commit {} is not an ancestor of head: ignoring the watermark", short(sha));
    } else {
        tracing::info!("the last synced commit {} is not in the repository: ignoring the watermark", short(sha));
    }
    resolve_base(repo, otherwise, head, history)
}

/// `CI_COMMIT_BEFORE_SHA` of a push: a push, or a force push when it is not
/// an ancestor of head.
fn before_base(repo: &Repo, sha: &str, head: String, history: &HistorySource<'_>) -> Result<CommitRange> {
    let Some(base) = find_named(repo, sha, history, "CI_COMMIT_BEFORE_SHA")? else {
        return Ok(missing_base(repo, head, sha, "CI_COMMIT_BEFORE_SHA", RangeMode::Push, history));
    };
    let (mode, reason) = match ancestry(repo, &base, &head, history)? {
        Ancestry::Ancestor => (RangeMode::Push, "push (CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA)".into()),
        Ancestry::NotAncestor => (
            RangeMode::ForcePush,
            "force push: the previous commit is not an ancestor, the two trees are compared".into(),
        ),
        Ancestry::Undecided => (RangeMode::Push, format!("push (CI_COMMIT_BEFORE_SHA..CI_COMMIT_SHA); {UNDECIDED}")),
    };
    Ok(CommitRange::in_clone(Some(base), head, mode, reason))
}

/// Outside CI: head's first parent, when the clone holds it.
fn parent_base(repo: &Repo, head: String) -> Result<CommitRange> {
    match repo.first_parent(&head)? {
        Some(parent) => Ok(CommitRange::in_clone(
            Some(parent),
            head,
            RangeMode::Local,
            "outside CI: the last commit (HEAD~1..HEAD)".into(),
        )),
        None if repo.is_shallow() => {
            tracing::warn!(
                "HEAD's parent is beyond the shallow clone's boundary: every file counts as changed (fetch more history to see only the last commit)"
            );
            Ok(CommitRange::in_clone(
                None,
                head,
                RangeMode::Local,
                "outside CI in a shallow clone: HEAD's parent is missing, every file counts".into(),
            ))
        }
        None => Ok(CommitRange::in_clone(
            None,
            head,
            RangeMode::Local,
            "outside CI: the repository's only commit, every file is new".into(),
        )),
    }
}

/// Whether a base is an ancestor of head.
enum Ancestry {
    Ancestor,
    NotAncestor,
    /// The clone's history is cut and could not be fetched.
    Undecided,
}

const UNDECIDED: &str =
    "whether the base is an ancestor of head cannot be decided in this shallow clone: the two trees are compared";

/// Whether `base` is an ancestor of `head`. In a shallow clone the walk from
/// head stops at the clone's boundary, and a base fetched by its SHA stands
/// alone: "no" would then be a guess (a false force push, a valid watermark
/// thrown away). So head's history is fetched until the answer is certain,
/// or the answer is that it cannot be decided.
fn ancestry(repo: &Repo, base: &str, head: &str, history: &HistorySource<'_>) -> Result<Ancestry> {
    if repo.is_ancestor(base, head)? {
        return Ok(Ancestry::Ancestor);
    }
    if !repo.is_shallow() {
        return Ok(Ancestry::NotAncestor);
    }
    let undecided = |why: &str| {
        tracing::warn!(
            "cannot tell whether {} is an ancestor of {} ({why}); set GIT_DEPTH: 0 for the job to decide",
            short(base),
            short(head)
        );
        Ok(Ancestry::Undecided)
    };
    let Some(url) = history.url.as_deref() else {
        return undecided("the clone is shallow and there is no remote to fetch its history from");
    };
    for depth in DEEPEN_STEPS {
        let shown = depth.map_or("all history".to_owned(), |d| format!("depth {d}"));
        tracing::info!(
            "the shallow clone cannot tell whether {} is an ancestor of {}: fetching {shown} of head",
            short(base),
            short(head)
        );
        match repo.deepen(url, &[head.to_owned()], *depth) {
            Err(FetchError::Configuration(bad)) => return Err(bad.into()),
            Err(error) => return undecided(&format!("could not fetch head's history: {error}")),
            Ok(()) => {}
        }
        if repo.is_ancestor(base, head)? {
            return Ok(Ancestry::Ancestor);
        }
    }
    // Head's whole history is in the clone now.
    Ok(Ancestry::NotAncestor)
}

/// The base cannot be found even after deepening. GitLab's compare API may
/// still give the change set; otherwise sync everything, and say how to
/// avoid it. Never conclude "nothing changed".
fn missing_base(
    repo: &Repo,
    head: String,
    sha: &str,
    variable: &str,
    mode: RangeMode,
    history: &HistorySource<'_>,
) -> CommitRange {
    let hint = if repo.is_shallow() {
        "the clone is shallow and the commit could not be fetched; set GIT_DEPTH: 0 (or a larger depth) for the job"
    } else {
        "the commit is not in the repository (it may have been removed by a force push)"
    };
    let compared = match history.compare {
        Some(compare) => match compare(sha, &head) {
            Ok(changes) => Some(changes),
            Err(why) => {
                tracing::warn!("the GitLab compare API cannot stand in for the missing commit: {why}");
                None
            }
        },
        None => None,
    };
    if let Some(changes) = compared {
        tracing::info!(
            "{variable} {} is not in the clone: {} changes taken from the GitLab compare API",
            short(sha),
            changes.len()
        );
        return CommitRange {
            base: Some(sha.to_owned()),
            head,
            mode,
            reason: format!("{variable} {} is not in the clone: changes from the GitLab compare API", short(sha)),
            remote_changes: Some(changes),
        };
    }
    tracing::warn!("{variable} {} is missing: {hint}; falling back to a full sync", short(sha));
    CommitRange {
        base: None,
        head,
        mode: RangeMode::Full,
        reason: format!("{variable} {} is not in the clone: full sync ({hint})", short(sha)),
        remote_changes: None,
    }
}

/// Resolves a revision, deepening a shallow clone step by step until it
/// appears. Fetch failures are logged and end the search; they do not fail
/// the run, because a full sync is still possible.
fn find_or_fetch(repo: &Repo, revision: &str, history: &HistorySource<'_>) -> Result<Option<String>> {
    if let Some(sha) = repo.resolve_commit(revision)? {
        return Ok(Some(sha));
    }
    let is_sha = crate::settings::pipeline::is_sha(revision);
    if !repo.is_shallow() && !is_sha {
        return Ok(None);
    }
    let Some(url) = history.url.as_deref() else {
        tracing::warn!(
            "{} is not in the clone and there is no remote to fetch it from (no CI_REPOSITORY_URL, no origin)",
            short(revision)
        );
        return Ok(None);
    };
    if repo.is_shallow() && !history.refspecs.is_empty() {
        for depth in DEEPEN_STEPS {
            let shown = depth.map_or("all history".to_owned(), |d| format!("depth {d}"));
            tracing::info!("{} is not in the shallow clone: fetching {shown}", short(revision));
            match repo.deepen(url, &history.refspecs, *depth) {
                Err(FetchError::Configuration(bad)) => return Err(bad.into()),
                Err(error) => {
                    tracing::warn!("could not deepen the clone: {error}");
                    break;
                }
                Ok(()) => {}
            }
            if let Some(sha) = repo.resolve_commit(revision)? {
                return Ok(Some(sha));
            }
        }
    }
    // A commit no branch reaches any more (before a force push) can still be
    // fetched by its SHA from servers that allow it, as GitLab does.
    if is_sha {
        tracing::info!("fetching {} by its SHA", short(revision));
        match repo.deepen(url, &[revision.to_owned()], Some(1)) {
            Ok(()) => return repo.resolve_commit(revision).context("after fetching the commit"),
            Err(FetchError::Configuration(bad)) => return Err(bad.into()),
            Err(error) => tracing::warn!("could not fetch {}: {error}", short(revision)),
        }
    }
    Ok(None)
}

pub(crate) fn short(sha: &str) -> &str {
    if crate::settings::pipeline::is_sha(sha) { &sha[..8] } else { sha }
}

/// The change set of a range: a diff, or every file for a full sync.
pub(crate) fn changes(repo: &Repo, range: &CommitRange) -> Result<Vec<Change>> {
    if let Some(changes) = &range.remote_changes {
        return Ok(changes.clone());
    }
    match &range.base {
        Some(base) => repo.diff(base, &range.head),
        None => repo.all_files(&range.head),
    }
}
