//! Gathering the facts a plan is decided on: all of the decision's I/O, in
//! one stage before it. The repository is opened once, here; GitLab gives
//! the sync watermark and, for a base the clone lacks, the compare answer;
//! git gives the range, its change set and commits. Deciding
//! ([`crate::plan::decide`]) is then pure, and executing the decision is
//! `sync`'s. The commits a push event lists ([`push_facts`]) are read only
//! once [`crate::plan::sends_push_events`] says a Dot target sends one; the
//! decision then builds the events from them, pure again.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use tokio::runtime::Runtime;

use crate::git::diff::Change;
use crate::git::range::{self, CommitRange, HistorySource, RangeMode};
use crate::git::remote::Project;
use crate::git::repo::Ancestry;
use crate::git::repo::{CommitChanges, CommitInfo, Repo};
use crate::git::transport;
use crate::gitlab::client::{Auth, GitLabClient, GitLabError};
use crate::gitlab::instance::{ProjectApi, locate_project};
use crate::http::HttpClient;
use crate::log::{Section, Terminal};
use crate::plan;
use crate::plan::Action;
use crate::plan::facts::{Facts, LiveBase, PushFacts, RequestedBy};
use crate::settings::pipeline::is_sha;
use crate::settings::target_id::TargetId;
use crate::settings::{Settings, TargetKind};
use crate::targets::dot::{self, PushHistory};
use crate::targets::gitbook::answers::Revision;
use crate::targets::gitbook::client::{GitBookClient, GitBookError};

/// How deep a shallow clone is fetched to find a space's live commit.
pub(crate) const LIVE_COMMIT_DEPTH: i32 = 1000;

/// How many commits of a range the skip rules read at most.
const COMMITS_READ: usize = 10_000;

/// The facts, with what later stages read from the checkout too: the
/// repository (the docs pre-flight reads head's files) and its origin
/// remote (where the project is, for merge request reports).
pub(crate) struct Gathered {
    pub facts: Facts,
    pub repo: Repo,
    pub origin_url: Option<String>,
    /// The live revisions read before deciding, by target: the guard
    /// before an import takes its target's instead of reading again.
    pub live_reads: BTreeMap<TargetId, LiveRead>,
}

/// Whether the GitBook spaces' live revisions are read before deciding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Spaces {
    /// `sync`, in CI: each importing target's base is the commit its space
    /// shows, and the guard before its import uses the same read.
    Read,
    /// `plan` and `pipeline`: nothing is read from GitBook; every target
    /// counts its changes on the job's range.
    Unread,
}

/// Everything the decision needs. GitLab is only read (the sync watermark,
/// the compare fallback); no target is called.
pub(crate) fn gather(
    settings: &Settings,
    terminal: Terminal,
    requested_by: Option<RequestedBy>,
    runtime: &Runtime,
    http: Option<&HttpClient>,
    spaces: Spaces,
) -> Result<Gathered> {
    let repo = open_repo(settings)?;
    transport::register(&settings.http);
    let origin_url = repo.origin_url();
    let ci = settings.pipeline.ci.as_ref();

    let (range, changes) = {
        let _section = Section::start(terminal, "docsync_range", "Finding the commit range and its changes");
        range_and_changes(settings, runtime, http, &repo, origin_url.as_deref())?
    };

    // A full sync has no range of commits; its head stands for it. So does
    // a range whose base is not in the clone (changes from the compare API).
    //
    // The skip rules read the head commit and whether every commit is the
    // platform's own, so the walk stops at the first commit that is no
    // target's platform's own.
    let range_base = range.base.as_deref().filter(|base| range.mode != RangeMode::Full && repo.has_commit(base));
    // Targets mostly share one list of platform authors: each list is
    // asked once per commit, not once per target.
    let mut author_lists: Vec<&[String]> = settings.targets.iter().map(|t| t.platform_authors.as_slice()).collect();
    author_lists.sort_unstable();
    author_lists.dedup();
    let commits = match range_base {
        Some(base) => repo.commits_until(base, &range.head, COMMITS_READ, |commit| {
            author_lists.iter().all(|authors| !plan::is_platform_commit(commit, authors))
        })?,
        None => repo.commits(None, &range.head, 1)?,
    };
    let head_time = repo.commit_time(&range.head)?;
    let project = ci
        .and_then(|ci| ci.project_url.as_deref())
        .and_then(Project::from_url)
        .or_else(|| origin_url.as_deref().and_then(Project::from_url));
    let checkout_branch = repo.current_branch();
    let absent_directories = absent_directories(&repo, settings, &range.head)?;

    let mut facts = Facts {
        range,
        changes,
        commits,
        absent_directories,
        head_time,
        project,
        checkout_branch,
        requested_by,
        live: BTreeMap::new(),
    };
    let live_reads = match (ci, http, spaces) {
        (Some(_), Some(http), Spaces::Read) => {
            let reads = runtime.block_on(read_live_revisions(settings, http, &facts, terminal));
            facts.live = live_bases(settings, &repo, origin_url.as_deref(), &facts.range.head, &reads);
            reads
        }
        _ => BTreeMap::new(),
    };
    Ok(Gathered { facts, repo, origin_url, live_reads })
}

/// A space's live revision as read before deciding, for the guard before
/// its import (which must not read it again).
pub(crate) type LiveRead = Result<Revision, GitBookError>;

/// The live revision of every GitBook space that imports in this pipeline
/// (its decision on the job's range), read concurrently through the shared
/// client (which bounds the requests in flight), once each. A target that
/// skips is not read: a push that changes no docs calls nothing, as
/// before. Nor is anything read for `--dry-run`, which calls nothing.
async fn read_live_revisions(
    settings: &Settings,
    http: &HttpClient,
    facts: &Facts,
    terminal: Terminal,
) -> BTreeMap<TargetId, LiveRead> {
    if settings.dry_run {
        return BTreeMap::new();
    }
    let preliminary = plan::decide(facts, settings, None);
    let may_import = |decision: &plan::Decision| decision.action == Action::Import;
    let reads = preliminary.targets.iter().filter(|decision| may_import(decision)).filter_map(|decision| {
        let target = settings.targets.iter().find(|target| target.id == decision.target)?;
        let TargetKind::GitBook(gitbook) = &target.kind else { return None };
        let token = gitbook.token.as_ref()?;
        Some(async move {
            let client = GitBookClient { http, target: gitbook, token };
            (target.id, client.live_revision().await)
        })
    });
    let reads: Vec<_> = reads.collect();
    if reads.is_empty() {
        return BTreeMap::new();
    }
    let _section = Section::start(terminal, "docsync_live", "Reading what each GitBook space shows");
    futures_util::future::join_all(reads).await.into_iter().collect()
}

/// Where each live commit stands against head, and for an ancestor the
/// changes since it. A commit the clone lacks is fetched once for all
/// targets (the branch, at most [`LIVE_COMMIT_DEPTH`] commits deep), as
/// the guard before an import does.
fn live_bases(
    settings: &Settings,
    repo: &Repo,
    origin_url: Option<&str>,
    head: &str,
    reads: &BTreeMap<TargetId, LiveRead>,
) -> BTreeMap<TargetId, LiveBase> {
    let commit_of = |read: &LiveRead| read.as_ref().ok().and_then(|live| live.git.as_ref()).map(|git| git.oid.clone());
    let missing = reads.values().filter_map(commit_of).any(|commit| is_sha(&commit) && !repo.has_commit(&commit));
    let fetch_url = settings
        .pipeline
        .repository_url
        .as_ref()
        .map(|url| url.expose().to_owned())
        .or_else(|| origin_url.map(str::to_owned));
    if let (true, Some(url)) = (missing, fetch_url) {
        if let Err(error) = repo.deepen(&url, &history_refspecs(settings), Some(LIVE_COMMIT_DEPTH)) {
            tracing::warn!("cannot fetch the branch to find the commits GitBook's spaces show: {error}");
        }
    }
    bases_of(reads, |commit| repo.ancestry(commit, head), |commit| repo.diff(commit, head))
}

/// Each read's base: where its live commit stands (`ancestry`), and for an
/// ancestor the changes since it (`changes_since`), asked once per commit:
/// the spaces one pipeline imported all show its commit, and a diff of the
/// whole tree per space held up a 300-target sync before its first import
/// (0.5 s in a packed clone, 3.5 s with loose objects; docs/performance.md).
fn bases_of(
    reads: &BTreeMap<TargetId, LiveRead>,
    ancestry: impl Fn(&str) -> Result<Option<Ancestry>>,
    mut changes_since: impl FnMut(&str) -> Result<Vec<Change>>,
) -> BTreeMap<TargetId, LiveBase> {
    let mut diffs: BTreeMap<String, Result<Vec<Change>, String>> = BTreeMap::new();
    let mut bases = BTreeMap::new();
    for (id, read) in reads {
        let base = match read {
            Err(error) => LiveBase::Unread(error.to_string()),
            Ok(live) => match live.git.as_ref().map(|git| git.oid.to_ascii_lowercase()) {
                None => LiveBase::NoCommit,
                Some(commit) => match ancestry(&commit) {
                    Ok(Some(Ancestry::Same)) => LiveBase::Head { commit },
                    Ok(Some(Ancestry::Older)) => {
                        let diff = diffs
                            .entry(commit.clone())
                            .or_insert_with(|| changes_since(&commit).map_err(|error| format!("{error:#}")));
                        match diff {
                            Ok(changes) => LiveBase::Ancestor { commit, changes: changes.clone() },
                            Err(error) => LiveBase::Unread(format!("the changes since its commit: {error}")),
                        }
                    }
                    Ok(Some(ancestry)) => LiveBase::NotAncestor { commit, ancestry },
                    Ok(None) | Err(_) => LiveBase::NotAncestor { commit, ancestry: Ancestry::Unrelated },
                },
            },
        };
        bases.insert(*id, base);
    }
    bases
}

/// The commit range (from the watermark, deepening a shallow clone or
/// asking GitLab's compare API when its base is missing) and its changes.
fn range_and_changes(
    settings: &Settings,
    runtime: &Runtime,
    http: Option<&HttpClient>,
    repo: &Repo,
    origin_url: Option<&str>,
) -> Result<(CommitRange, Vec<Change>)> {
    let located =
        settings.pipeline.ci.as_ref().zip(http).map(|(_, http)| runtime.block_on(locate_project(settings, http, None)));
    // Without the project there is no watermark; the range falls back as
    // without one, and the log says why (`docsync check` names it too).
    let project_api = match located {
        Some(Ok(project)) => project,
        Some(Err(problem)) => {
            tracing::warn!(
                "the GitLab project is unknown ({}): no sync watermark; fix: {}",
                problem.message,
                problem.fix
            );
            None
        }
        None => None,
    };
    let watermark = match project_api.as_ref().zip(http) {
        Some((api, http)) => runtime.block_on(read_watermark(settings, http, api))?,
        None => None,
    };
    let choice = range::choose(settings, watermark);
    let compare = |from: &str, to: &str| match http {
        Some(http) => compare_changes(settings, http, runtime, project_api.as_ref(), from, to),
        None => Err("outside CI docsync does not ask GitLab".to_owned()),
    };
    let history = HistorySource {
        url: settings
            .pipeline
            .repository_url
            .as_ref()
            .map(|url| url.expose().to_owned())
            .or_else(|| origin_url.map(str::to_owned)),
        refspecs: history_refspecs(settings),
        compare: Some(&compare),
    };
    if let Some(url) = &history.url {
        repo.fetch_from(url);
    }
    let range = range::resolve(repo, &choice, &history)?;
    let changes = range::changes(repo, &range).context("while computing the change set")?;
    tracing::info!(
        "range {}..{} ({}): {} changed files",
        range.base.as_deref().map_or("(none)", range::short),
        range::short(&range.head),
        range.mode,
        changes.len()
    );
    Ok((range, changes))
}

/// The commits the push events list, and for a manual pipeline head's
/// whole tree; says in a log line when the head stands for the range.
pub(crate) fn push_facts(repo: &Repo, facts: &Facts, settings: &Settings) -> Result<PushFacts> {
    let range = &facts.range;
    let requested = plan::is_request(settings, facts.requested_by);
    let history =
        push_history(repo, range, &facts.commits, requested).context("while reading the commits of the push event")?;
    let tree = if requested { Some(repo.all_files(&range.head).context("while listing head's files")?) } else { None };
    match (&range.base, history.is_squashed()) {
        _ if requested => tracing::info!(
            "push event: full sync, as a manual pipeline acts on every target: before is all zeros and one commit entry (the head) lists every relevant file as added"
        ),
        (None, _) => tracing::info!(
            "push event: full sync: before is all zeros and one commit entry (the head) lists every relevant file as added"
        ),
        (Some(_), true) => tracing::info!(
            "push event: the base is not in the clone: one commit entry (the head) lists the range's relevant changes"
        ),
        (Some(_), false) => {}
    }
    Ok(PushFacts { history, tree })
}

/// The repository docsync runs in: the working directory, or
/// `DOCSYNC_GIT_DIR` / `DOCSYNC_GIT_WORK_TREE`.
pub(crate) fn open_repo(settings: &Settings) -> Result<Repo> {
    let cwd = std::env::current_dir().context("while reading the working directory")?;
    Repo::open(&cwd, settings.git_dir.as_deref(), settings.git_work_tree.as_deref())
}

/// The targets' project directories that do not exist at head (a typo, or
/// `Docs` for `docs`: paths are case-sensitive), each with the nearest that
/// does. Such a target would be skipped forever, saying only that nothing
/// changed.
fn absent_directories(repo: &Repo, settings: &Settings, head: &str) -> Result<BTreeMap<String, Option<String>>> {
    let directories: Vec<&str> =
        settings.targets.iter().map(|target| target.paths.directory.as_str()).filter(|d| !d.is_empty()).collect();
    let missing = repo.missing_directories(head, &directories)?;
    let mut absent = BTreeMap::new();
    for target in &settings.targets {
        let directory = &target.paths.directory;
        if !missing.contains(&directory.as_str()) || absent.contains_key(directory) {
            continue;
        }
        let nearest = repo.nearest_directory(head, directory)?;
        match &nearest {
            Some(nearest) => tracing::warn!(
                "target {}: the project directory {directory} does not exist at {}; did you mean {nearest}?",
                target.name,
                range::short(head)
            ),
            None => tracing::warn!(
                "target {}: the project directory {directory} does not exist at {}",
                target.name,
                range::short(head)
            ),
        }
        absent.insert(directory.clone(), nearest);
    }
    Ok(absent)
}

/// The commits a push event lists, each with its own changes: the newest
/// [`dot::COMMITS_LISTED`] of the range, oldest first. `commits` is the
/// range's commits, newest first, as read for the skip rules. Without a base
/// in the clone (a full sync, or changes from the compare API) the head
/// stands for the range, as it does for a manual pipeline (`requested`).
fn push_history(repo: &Repo, range: &CommitRange, commits: &[CommitInfo], requested: bool) -> Result<PushHistory> {
    let base = match &range.base {
        Some(base) if !requested && range.mode != RangeMode::Full && repo.has_commit(base) => base,
        _ => {
            let head = match commits.iter().find(|c| c.id == range.head) {
                Some(head) => head.clone(),
                None => repo.commits(None, &range.head, 1)?.into_iter().next().context("the head commit is missing")?,
            };
            return Ok(PushHistory::Squashed { head });
        }
    };
    // The skip rules read only the newest commits; the event lists the
    // newest 20 in topological order and counts them all.
    let mut commits = repo.commits(Some(base), &range.head, COMMITS_READ)?;
    let total = if commits.len() < COMMITS_READ { commits.len() } else { repo.count_commits(base, &range.head)? };
    commits.truncate(dot::COMMITS_LISTED);
    let listed = commits
        .into_iter()
        .rev()
        .map(|commit| Ok(CommitChanges { changes: repo.commit_changes(&commit.id)?, commit }))
        .collect::<Result<Vec<_>>>()?;
    Ok(PushHistory::Range { commits: listed, total })
}

/// The last successfully synced commit: the SHA of the last successful
/// deployment of the job's environment (the component gives each target
/// one). Read with `DOCSYNC_GITLAB_TOKEN`, else `CI_JOB_TOKEN`. Anything
/// unreadable means "no watermark", said in a log line; but a redirect is
/// an error: the configured GitLab URL is not the final one, and the
/// token was not sent after it.
async fn read_watermark(settings: &Settings, http: &HttpClient, project: &ProjectApi) -> Result<Option<String>> {
    let Some(ci) = settings.pipeline.ci.as_ref() else { return Ok(None) };
    let Some(environment) = ci.environment_name.as_deref() else { return Ok(None) };
    if settings.gitlab.plain_http {
        // Warned about with the settings: no token goes there.
        return Ok(None);
    }
    let auth = match (&settings.gitlab.token, &settings.pipeline.job_token) {
        (Some(token), _) => Auth::for_token(token),
        (None, Some(job_token)) => Auth::Job(job_token.clone()),
        (None, None) => {
            tracing::info!("no token to read environment {environment}'s deployments: no sync watermark");
            return Ok(None);
        }
    };
    let client = GitLabClient { http, api: project.api.clone(), auth };
    match client.last_deployment(&project.project, environment).await {
        Ok(Some(deployment)) if is_sha(&deployment.sha) => {
            tracing::info!("last successful sync of {environment}: {}", range::short(&deployment.sha));
            Ok(Some(deployment.sha.to_ascii_lowercase()))
        }
        Ok(_) => {
            tracing::info!("environment {environment} has no successful deployment yet: no sync watermark");
            Ok(None)
        }
        // Never followed (the token would go elsewhere), and no reason to
        // end the run: the range falls back as without a watermark.
        Err(error @ GitLabError::Redirected(_)) => {
            let fix = error.fix().unwrap_or_default();
            tracing::warn!(
                "cannot read environment {environment}'s deployments ({error}): no sync watermark; fix: {fix}"
            );
            Ok(None)
        }
        Err(error) => {
            tracing::info!("cannot read environment {environment}'s deployments ({error}): no sync watermark");
            Ok(None)
        }
    }
}

/// The change set from GitLab's compare API, for a base the clone lacks.
fn compare_changes(
    settings: &Settings,
    http: &HttpClient,
    runtime: &Runtime,
    project: Option<&ProjectApi>,
    from: &str,
    to: &str,
) -> Result<Vec<Change>, String> {
    let Some(token) = &settings.gitlab.token else {
        return Err("DOCSYNC_GITLAB_TOKEN is not set".into());
    };
    let Some(project) = project else {
        return Err("the GitLab project is unknown".into());
    };
    let client = GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) };
    let compare = runtime.block_on(client.compare(&project.project, from, to)).map_err(|error| error.to_string())?;
    compare.changes()
}

/// The refs a shallow clone is deepened along: the pipeline's own ref, which
/// is all a GitLab job fetches.
pub(super) fn history_refspecs(settings: &Settings) -> Vec<String> {
    match settings.pipeline.ci.as_ref() {
        Some(ci) => match (&ci.merge_request, &ci.branch) {
            (Some(mr), _) => {
                vec![format!("+refs/merge-requests/{0}/head:refs/remotes/origin/merge-requests/{0}/head", mr.iid)]
            }
            (None, Some(branch)) => vec![format!("+refs/heads/{branch}:refs/remotes/origin/{branch}")],
            (None, None) => Vec::new(),
        },
        None => vec!["HEAD".to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::git::diff::{ChangeKind, ChangeStatus};

    const OLDER: &str = "1111111111111111111111111111111111111111";
    const OTHER: &str = "2222222222222222222222222222222222222222";

    fn live(oid: &str) -> Revision {
        serde_json::from_value(serde_json::json!({
            "id": "rev", "urls": { "app": "https://app.gitbook.com/o/org/s/spc" },
            "git": { "oid": oid, "message": "docs", "createdByGitBook": false },
        }))
        .unwrap()
    }

    /// Spaces that one pipeline imported show the same commit: the changes
    /// since it are one diff, however many spaces.
    #[test]
    fn the_changes_since_a_live_commit_are_read_once_for_every_space_that_shows_it() {
        let reads: BTreeMap<TargetId, LiveRead> =
            (0..300).map(|i| (TargetId::Table(i), Ok(live(if i == 7 { OTHER } else { OLDER })))).collect();
        let diffed = RefCell::new(Vec::new());
        let changed = Change {
            status: ChangeStatus::Modified,
            path: "docs/guide.md".to_owned(),
            old_path: None,
            kind: ChangeKind::File,
        };
        let bases = bases_of(
            &reads,
            |_| Ok(Some(Ancestry::Older)),
            |commit| {
                diffed.borrow_mut().push(commit.to_owned());
                Ok(vec![changed.clone()])
            },
        );
        assert_eq!(diffed.into_inner(), [OLDER, OTHER]);
        assert_eq!(bases.len(), 300);
        for (id, base) in &bases {
            let expected = if *id == TargetId::Table(7) { OTHER } else { OLDER };
            assert!(
                matches!(base, LiveBase::Ancestor { commit, changes } if commit == expected && *changes == [changed.clone()]),
                "{id:?}: {base:?}"
            );
        }
    }
}
