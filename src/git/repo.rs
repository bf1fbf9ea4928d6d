//! The repository: everything docsync asks of git, through libgit2.
//!
//! This module is the only one that sees `git2`; it answers in domain types
//! (commit SHAs as strings, [`Change`]s, [`CommitInfo`]s) so that deciding
//! stays independent of libgit2's types and lifetimes.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use anyhow::{Context, Result};
use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};
use serde::Serialize;
use time::{OffsetDateTime, UtcOffset};

use crate::error::{BadInput, LocalFailure};
use crate::git::renames;

/// What happened to one path between base and head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
}

impl ChangeStatus {
    /// The letter `git diff --name-status` uses.
    pub fn letter(self) -> char {
        match self {
            ChangeStatus::Added => 'A',
            ChangeStatus::Modified => 'M',
            ChangeStatus::Deleted => 'D',
            ChangeStatus::Renamed => 'R',
        }
    }
}

/// What a changed path is. Only files are docs; a submodule's pointer (a
/// gitlink) moving under the docs directory changes no page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    #[default]
    File,
    Submodule,
}

impl ChangeKind {
    fn is_file(&self) -> bool {
        *self == ChangeKind::File
    }

    fn of_mode(mode: u32) -> ChangeKind {
        if mode == u32::from(git2::FileMode::Commit) { ChangeKind::Submodule } else { ChangeKind::File }
    }
}

/// One changed path, relative to the repository root. A path that is not
/// UTF-8 is written the way git quotes it (see [`path_of`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub status: ChangeStatus,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    /// Shown for submodules only (`"kind": "submodule"`).
    #[serde(skip_serializing_if = "ChangeKind::is_file")]
    pub kind: ChangeKind,
}

/// A commit as the skip rules and the push event need it.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub id: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    /// Committer time, in the committer's own offset.
    pub time: OffsetDateTime,
}

/// A commit and its own changes (against its first parent).
#[derive(Debug, Clone)]
pub struct CommitChanges {
    pub commit: CommitInfo,
    pub changes: Vec<Change>,
}

impl CommitInfo {
    pub fn subject(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

/// A file of a commit's tree, for the docs pre-flight.
#[derive(Debug, Clone)]
pub struct TreeFile {
    /// Relative to the repository root.
    pub path: String,
    pub size: u64,
    pub content: Option<Vec<u8>>,
}

/// The files of a directory at a commit.
#[derive(Debug, Default)]
pub struct TreeFiles {
    pub files: Vec<TreeFile>,
    /// Blobs the clone does not hold (partial clones).
    pub missing: usize,
}

pub struct Repo {
    repo: Repository,
}

/// Sets libgit2 up for docsync, once per process, before any other use.
///
/// - The GitLab runner's checkout usually belongs to another user than the
///   job's container process; libgit2 (like git ≥ 2.35.2) refuses such a
///   repository by default. docsync only reads the checkout it was started
///   in, so it turns that validation off rather than asking users for
///   `safe.directory`.
/// - libgit2 re-hashes every object it reads to check it; git does not, and
///   on large diffs it costs a sizeable share of the time.
/// - libgit2's object cache is off: docsync reads each tree of a diff once
///   (identical subtrees are skipped, not re-read), so the cache only cost
///   memory, page faults and the time to free it at exit. Pack delta bases
///   keep their own cache.
///
/// libgit2 has no TLS of its own: HTTP(S) fetches go through
/// [`crate::git::transport`].
#[allow(unsafe_code, reason = "libgit2's owner validation is a process-wide setting only an unsafe function changes")]
fn init_libgit2() {
    static READY: Once = Once::new();
    READY.call_once(|| {
        // SAFETY: process-wide libgit2 settings, changed once before any
        // other use of libgit2.
        if let Err(error) = unsafe { git2::opts::set_verify_owner_validation(false) } {
            tracing::debug!("could not turn off libgit2's owner validation: {error}");
        }
        git2::opts::strict_hash_verification(false);
        git2::opts::enable_caching(false);
    });
}

/// A revision that exists but names no commit (a tree, a blob), or text git
/// cannot parse as a revision. The caller names where it came from.
#[derive(Debug, thiserror::Error)]
#[error("{problem}")]
pub struct BadRevision {
    pub problem: String,
}

impl Repo {
    /// Opens the repository: the one `git_dir` names (`GIT_DIR`, with
    /// `GIT_WORK_TREE` as its working tree when given), else the one that
    /// contains `path`, as git does.
    pub fn open(path: &Path, git_dir: Option<&Path>, work_tree: Option<&Path>) -> Result<Repo> {
        init_libgit2();
        let opened = match git_dir {
            Some(git_dir) => Repository::open(path.join(git_dir)).map_err(|error| {
                (
                    "GIT_DIR",
                    format!("{} is not a git repository ({})", git_dir.display(), error.message()),
                    "point GIT_DIR at the repository's .git directory, or unset it",
                    error,
                )
            }),
            None => Repository::discover(path).map_err(|error| {
                (
                    "working directory",
                    format!("{} is not inside a git repository ({})", path.display(), error.message()),
                    "run docsync from the project's checkout (in CI, the job's default directory)",
                    error,
                )
            }),
        };
        let repo = opened.map_err(|(source, problem, fix, error)| {
            // libgit2 says "unknown object format 'sha256'".
            let message = error.message().to_ascii_lowercase();
            if message.contains("object format") || message.contains("objectformat") {
                return anyhow::Error::new(BadInput::new(
                    source,
                    "the repository uses SHA-256 object names (extensions.objectFormat = sha256), which docsync's git library cannot read yet",
                    "run docsync on a SHA-1 repository (the default of git init and of GitLab), or convert this one",
                ));
            }
            // Found but unreadable (permissions, corruption): docsync's own
            // failure, not the user's input.
            if error.code() != git2::ErrorCode::NotFound {
                return anyhow::Error::new(LocalFailure::new(
                    format!("while opening the repository at {}", path.display()),
                    error,
                ));
            }
            anyhow::Error::new(BadInput::new(source, problem, fix))
        })?;
        if let Some(work_tree) = work_tree {
            repo.set_workdir(&path.join(work_tree), false)
                .with_context(|| format!("while using {} as the working tree (GIT_WORK_TREE)", work_tree.display()))?;
        }
        if repo.is_bare() {
            return Err(BadInput::new(
                "working directory",
                "the repository is bare: there is no checkout to compare",
                "run docsync in a clone with a working tree",
            )
            .into());
        }
        Ok(Repo { repo })
    }

    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// The commit a revision names (`HEAD~3`, a branch, a tag, a SHA), or
    /// `None` when the repository does not know it.
    /// A revision that names something other than a commit, or that git
    /// cannot parse, is a [`BadRevision`].
    pub fn resolve_commit(&self, revision: &str) -> Result<Option<String>> {
        match self.repo.revparse_single(revision) {
            Ok(object) => {
                let commit = object.peel_to_commit().map_err(|_| BadRevision {
                    problem: format!("names a {}, not a commit", object.kind().map_or("git object", |kind| kind.str())),
                })?;
                Ok(Some(commit.id().to_string()))
            }
            Err(error) if error.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(error) if error.class() == git2::ErrorClass::Odb || error.code() == git2::ErrorCode::Ambiguous => {
                Ok(None)
            }
            Err(error) if matches!(error.code(), git2::ErrorCode::InvalidSpec | git2::ErrorCode::Invalid) => {
                Err(BadRevision { problem: format!("not a revision git understands ({})", error.message()) }.into())
            }
            Err(error) => Err(error).with_context(|| format!("while looking up {revision}")),
        }
    }

    /// Whether the object database holds this commit.
    pub fn has_commit(&self, sha: &str) -> bool {
        Oid::from_str(sha).is_ok_and(|oid| self.repo.find_commit(oid).is_ok())
    }

    /// The first parent of a commit; `None` for a root commit, or when the
    /// parent lies beyond a shallow clone's boundary.
    pub fn first_parent(&self, sha: &str) -> Result<Option<String>> {
        let commit = self.repo.find_commit(Oid::from_str(sha)?)?;
        if commit.parent_count() == 0 {
            return Ok(None);
        }
        let parent = commit.parent_id(0)?.to_string();
        Ok(self.has_commit(&parent).then_some(parent))
    }

    /// Whether `ancestor` is `descendant` itself or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool> {
        let (ancestor, descendant) = (Oid::from_str(ancestor)?, Oid::from_str(descendant)?);
        Ok(ancestor == descendant || self.repo.graph_descendant_of(descendant, ancestor)?)
    }

    pub fn commit_time(&self, sha: &str) -> Result<OffsetDateTime> {
        let commit = self.repo.find_commit(Oid::from_str(sha)?)?;
        Ok(git_time(commit.committer().when()))
    }

    /// Every change between two commits, renames detected as
    /// `git diff --name-status -M` does.
    pub fn diff(&self, base: &str, head: &str) -> Result<Vec<Change>> {
        let base_tree = self.repo.find_commit(Oid::from_str(base)?)?.tree()?;
        let head_tree = self.repo.find_commit(Oid::from_str(head)?)?.tree()?;
        self.diff_trees(Some(&base_tree), &head_tree)
    }

    /// One commit's own changes: against its first parent (for a merge, the
    /// branch it was merged into, as GitLab lists them), with the same rename
    /// detection as [`Repo::diff`]. A root commit, or one whose parent lies
    /// beyond a shallow clone's boundary, adds every file it holds.
    pub fn commit_changes(&self, sha: &str) -> Result<Vec<Change>> {
        let commit = self.repo.find_commit(Oid::from_str(sha)?)?;
        let parent_tree = match commit.parent_id(0) {
            Ok(parent) => match self.repo.find_commit(parent) {
                Ok(parent) => Some(parent.tree()?),
                Err(_) => None,
            },
            Err(_) => None,
        };
        self.diff_trees(parent_tree.as_ref(), &commit.tree()?)
            .with_context(|| format!("while listing the changes of commit {sha}"))
    }

    fn diff_trees(&self, base_tree: Option<&git2::Tree<'_>>, head_tree: &git2::Tree<'_>) -> Result<Vec<Change>> {
        let raw = self.tree_changes(base_tree, head_tree).context("while comparing the two trees")?;

        // Renames are paired by git's own algorithm (see `renames`).
        let (mut sources, mut destinations) = (Vec::new(), Vec::new());
        let (mut source_raw, mut destination_raw) = (Vec::new(), Vec::new());
        for (index, change) in raw.iter().enumerate() {
            match change {
                RawChange::Deleted(entry) => {
                    sources.push(entry.candidate());
                    source_raw.push(index);
                }
                RawChange::Added(entry) => {
                    destinations.push(entry.candidate());
                    destination_raw.push(index);
                }
                RawChange::Modified { .. } => {}
            }
        }
        let odb = self.repo.odb().context("while opening the object database")?;
        let missing = |candidates: &[renames::Candidate]| -> Vec<usize> {
            (0..candidates.len())
                .filter(|&i| renames::is_regular(candidates[i].mode))
                .filter(|&i| Oid::from_bytes(&candidates[i].id).is_ok_and(|id| !odb.exists(id)))
                .collect()
        };
        // Renames pair a deleted with an added file: without both, nothing to compare.
        let (missing_sources, missing_destinations) = if sources.is_empty() || destinations.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            (missing(&sources), missing(&destinations))
        };
        if !missing_sources.is_empty() || !missing_destinations.is_empty() {
            let ids: Vec<Oid> = missing_sources
                .iter()
                .map(|&i| &sources[i])
                .chain(missing_destinations.iter().map(|&i| &destinations[i]))
                .filter_map(|c| Oid::from_bytes(&c.id).ok())
                .collect();
            match self.fetch_blobs(&ids) {
                Ok(fetched) => tracing::info!(
                    "fetched {fetched} of {} file contents this partial clone lacks, for rename detection",
                    ids.len()
                ),
                Err(why) => tracing::debug!("could not fetch the missing file contents: {why}"),
            }
        }
        let found = renames::detect(&sources, &destinations, &mut ObjectDatabase(&odb));
        // Files whose content is still missing were never compared: say so,
        // where git (which fetches lazily) may have paired them.
        let (paired_sources, paired_destinations): (HashSet<usize>, HashSet<usize>) =
            found.pairs.iter().copied().unzip();
        let still_missing = |candidates: &[renames::Candidate], indices: &[usize], paired: &HashSet<usize>| {
            indices
                .iter()
                .filter(|i| !paired.contains(i))
                .filter(|&&i| Oid::from_bytes(&candidates[i].id).is_ok_and(|id| !odb.exists(id)))
                .map(|&i| candidates[i].path.clone())
                .collect::<Vec<_>>()
        };
        let mut uncompared = still_missing(&sources, &missing_sources, &paired_sources);
        uncompared.extend(still_missing(&destinations, &missing_destinations, &paired_destinations));
        if !uncompared.is_empty() {
            let shown: Vec<&str> = uncompared.iter().map(String::as_str).take(10).collect();
            let more = uncompared.len().saturating_sub(shown.len());
            tracing::warn!(
                "rename detection could not compare {} file(s) whose content is not in this partial clone ({}{}): they are listed as added or deleted, where git may find renames; clone without --filter (or fetch the blobs) to compare them",
                uncompared.len(),
                shown.join(", "),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            );
        }
        if let Some((deleted, added)) = found.skipped_inexact {
            tracing::warn!(
                "{added} added and {deleted} deleted files: only exact and same-name renames detected (git's diff.renameLimit is {})",
                renames::RENAME_LIMIT
            );
        }
        let mut renamed_from: HashMap<usize, usize> = HashMap::new();
        let mut moved_away = HashSet::new();
        for (source, destination) in found.pairs {
            renamed_from.insert(destination_raw[destination], source);
            moved_away.insert(source_raw[source]);
        }

        let mut changes = Vec::with_capacity(raw.len());
        for (index, change) in raw.into_iter().enumerate() {
            changes.push(match change {
                RawChange::Added(entry) => match renamed_from.get(&index) {
                    Some(source) => Change {
                        status: ChangeStatus::Renamed,
                        kind: ChangeKind::of_mode(entry.mode),
                        path: entry.path,
                        old_path: Some(sources[*source].path.clone()),
                    },
                    None => Change {
                        status: ChangeStatus::Added,
                        kind: ChangeKind::of_mode(entry.mode),
                        path: entry.path,
                        old_path: None,
                    },
                },
                RawChange::Deleted(_) if moved_away.contains(&index) => continue,
                RawChange::Deleted(entry) => Change {
                    status: ChangeStatus::Deleted,
                    kind: ChangeKind::of_mode(entry.mode),
                    path: entry.path,
                    old_path: None,
                },
                RawChange::Modified { path, kind } => {
                    Change { status: ChangeStatus::Modified, path, old_path: None, kind }
                }
            });
        }
        Ok(changes)
    }

    /// The differences between two trees (no base: every file added), in
    /// git's order: by full path, bytewise.
    ///
    /// A wide diff is shared out: the top levels are expanded here until
    /// there are enough differing subtrees to go round, and those are
    /// walked on as many threads as the machine has (each thread with its
    /// own handle on the repository: libgit2's are not shared between
    /// threads). The pieces are put back together in order.
    fn tree_changes(&self, base: Option<&git2::Tree<'_>>, head: &git2::Tree<'_>) -> Result<Vec<RawChange>> {
        let mut pieces =
            vec![Piece::Trees(TreePair { prefix: Vec::new(), old: base.map(|t| t.id()), new: Some(head.id()) })];
        for _ in 0..SPLIT_MAX_DEPTH {
            let pairs = pieces.iter().filter(|piece| matches!(piece, Piece::Trees(_))).count();
            if pairs == 0 || pairs >= SPLIT_WIDTH {
                break;
            }
            let mut expanded = Vec::with_capacity(pieces.len());
            for piece in pieces {
                match piece {
                    Piece::Trees(pair) => expand(&self.repo, &pair, &mut expanded)?,
                    change => expanded.push(change),
                }
            }
            pieces = expanded;
        }

        let pairs: Vec<&TreePair> = pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Trees(pair) => Some(pair),
                Piece::Change(_) => None,
            })
            .collect();
        let threads = match pairs.len() {
            few if few < SPLIT_WIDTH => 1,
            many => std::thread::available_parallelism().map_or(1, |n| n.get()).min(many),
        };
        tracing::debug!("comparing trees: {} differing subtrees, walked on {threads} threads", pairs.len());
        let mut walked = if threads < 2 {
            pairs.iter().map(|pair| walk(&self.repo, pair)).collect::<Result<Vec<_>, _>>()?
        } else {
            self.walk_in_parallel(&pairs, threads)?
        }
        .into_iter();

        let mut changes = Vec::new();
        for piece in pieces {
            match piece {
                Piece::Change(change) => changes.push(change),
                Piece::Trees(_) => changes.extend(walked.next().into_iter().flatten()),
            }
        }
        Ok(changes)
    }

    /// Walks `pairs` on `threads` threads, this one included; the results
    /// come back in the order of `pairs`.
    fn walk_in_parallel(&self, pairs: &[&TreePair], threads: usize) -> Result<Vec<Vec<RawChange>>> {
        let next = AtomicUsize::new(0);
        let take_turns = |repo: &Repository| -> Result<Vec<(usize, Vec<RawChange>)>, git2::Error> {
            let mut done = Vec::new();
            loop {
                let index = next.fetch_add(1, AtomicOrdering::Relaxed);
                let Some(pair) = pairs.get(index) else { return Ok(done) };
                done.push((index, walk(repo, pair)?));
            }
        };
        let git_dir = self.repo.path();
        let mut done = std::thread::scope(|scope| {
            let helpers: Vec<_> =
                (1..threads).map(|_| scope.spawn(|| take_turns(&Repository::open(git_dir)?))).collect();
            let mut done = take_turns(&self.repo)?;
            for helper in helpers {
                let found = helper.join().map_err(|_| anyhow::anyhow!("a thread comparing trees panicked"))??;
                done.extend(found);
            }
            anyhow::Ok(done)
        })?;
        done.sort_unstable_by_key(|(index, _)| *index);
        Ok(done.into_iter().map(|(_, changes)| changes).collect())
    }

    /// Whether a commit's tree holds this directory.
    pub fn has_directory(&self, sha: &str, directory: &str) -> Result<bool> {
        let tree = self.repo.find_commit(Oid::from_str(sha)?)?.tree()?;
        match tree.get_path(Path::new(directory)) {
            Ok(entry) => Ok(entry.kind() == Some(ObjectType::Tree)),
            Err(error) if error.code() == git2::ErrorCode::NotFound => Ok(false),
            Err(error) => Err(error).with_context(|| format!("while looking for {directory}")),
        }
    }

    /// The directory of a commit's tree nearest to `directory` (one that
    /// differs only in case first, else the fewest edits, at most a third
    /// of the name); `None` when none is close.
    pub fn nearest_directory(&self, sha: &str, directory: &str) -> Result<Option<String>> {
        let tree = self.repo.find_commit(Oid::from_str(sha)?)?.tree()?;
        let wanted = directory.to_lowercase();
        let depth = directory.matches('/').count();
        let mut best: Option<(usize, String)> = None;
        tree.walk(TreeWalkMode::PreOrder, |parent, entry| {
            if entry.kind() != Some(ObjectType::Tree) {
                return TreeWalkResult::Skip;
            }
            let path = format!("{parent}{}", path_of(entry.name_bytes()));
            let distance = edit_distance(&wanted, &path.to_lowercase());
            if best.as_ref().is_none_or(|(d, _)| distance < *d) {
                best = Some((distance, path));
            }
            // Deeper directories than the wanted one cannot be nearer.
            if parent.matches('/').count() >= depth { TreeWalkResult::Skip } else { TreeWalkResult::Ok }
        })
        .context("while listing the directories of the head commit")?;
        let limit = (wanted.chars().count() / 3).max(1);
        Ok(best.filter(|(distance, _)| *distance <= limit).map(|(_, path)| path))
    }

    /// Every file of a commit's tree, as if added: the change set of a full
    /// sync, in git's order.
    pub fn all_files(&self, head: &str) -> Result<Vec<Change>> {
        let tree = self.repo.find_commit(Oid::from_str(head)?)?.tree()?;
        let raw = self.tree_changes(None, &tree).context("while listing the files of the head commit")?;
        Ok(raw
            .into_iter()
            .filter_map(|change| match change {
                RawChange::Added(file) => Some(Change {
                    status: ChangeStatus::Added,
                    kind: ChangeKind::of_mode(file.mode),
                    path: file.path,
                    old_path: None,
                }),
                RawChange::Deleted(_) | RawChange::Modified { .. } => None,
            })
            .collect())
    }

    /// The checkout's root directory (the repository is never bare here).
    pub fn workdir(&self) -> Option<PathBuf> {
        self.repo.workdir().map(Path::to_path_buf)
    }

    /// The files of a commit's tree below `directory` (repository-relative,
    /// empty for the root), each with its size, and its content when `read`
    /// asks for it (given the path and size). Symlinks and submodules are
    /// left out: they hold no page. A blob missing from the object database
    /// (a partial clone) is listed without size or content, and counted.
    pub fn files_at(&self, commit: &str, directory: &str, read: impl Fn(&str, u64) -> bool) -> Result<TreeFiles> {
        let tree = self.repo.find_commit(Oid::from_str(commit)?)?.tree()?;
        let tree = match directory {
            "" => tree,
            dir => match tree.get_path(Path::new(dir)) {
                Ok(entry) if entry.kind() == Some(ObjectType::Tree) => self.repo.find_tree(entry.id())?,
                _ => return Ok(TreeFiles::default()),
            },
        };
        let prefix = if directory.is_empty() { String::new() } else { format!("{directory}/") };
        let odb = self.repo.odb()?;
        let mut found = TreeFiles::default();
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            let regular = entry.filemode() == i32::from(git2::FileMode::Blob)
                || entry.filemode() == i32::from(git2::FileMode::BlobExecutable);
            if regular {
                let path = format!("{prefix}{dir}{}", path_of(entry.name_bytes()));
                let (size, content) = match odb.read_header(entry.id()) {
                    Ok((size, _)) if read(&path, size as u64) => {
                        (size as u64, odb.read(entry.id()).ok().map(|object| object.data().to_vec()))
                    }
                    Ok((size, _)) => (size as u64, None),
                    Err(_) => {
                        found.missing += 1;
                        (0, None)
                    }
                };
                found.files.push(TreeFile { path, size, content });
            }
            TreeWalkResult::Ok
        })
        .with_context(|| format!("while listing the files of {directory:?} at {commit}"))?;
        Ok(found)
    }

    /// The commits reachable from `head` but not from `base` (all of them
    /// when `base` is `None`, up to `limit`), newest first.
    pub fn commits(&self, base: Option<&str>, head: &str, limit: usize) -> Result<Vec<CommitInfo>> {
        let mut walk = self.repo.revwalk()?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::TIME)?;
        walk.push(Oid::from_str(head)?)?;
        if let Some(base) = base {
            walk.hide(Oid::from_str(base)?)?;
        }
        let mut commits = Vec::new();
        for oid in walk.take(limit) {
            commits.push(commit_info(&self.repo.find_commit(oid?)?));
        }
        Ok(commits)
    }

    /// The range's commits, newest first by commit time, up to and including
    /// the first for which `stop` is true (or `limit`). Streams: unlike a
    /// topological walk it reads no more of the history than it returns.
    pub fn commits_until(
        &self,
        base: &str,
        head: &str,
        limit: usize,
        stop: impl Fn(&CommitInfo) -> bool,
    ) -> Result<Vec<CommitInfo>> {
        // The head comes first whatever the commit times say (clocks skew):
        // the skip rules read it as the head.
        let head = Oid::from_str(head)?;
        let first = commit_info(&self.repo.find_commit(head)?);
        if stop(&first) || limit <= 1 {
            return Ok(vec![first]);
        }
        let mut commits = vec![first];
        let mut walk = self.repo.revwalk()?;
        walk.set_sorting(git2::Sort::TIME)?;
        walk.push(head)?;
        walk.hide(Oid::from_str(base)?)?;
        for oid in walk {
            let oid = oid?;
            if oid == head {
                continue;
            }
            let commit = commit_info(&self.repo.find_commit(oid)?);
            let last = stop(&commit);
            commits.push(commit);
            if last || commits.len() >= limit {
                break;
            }
        }
        Ok(commits)
    }

    /// How many commits are reachable from `head` but not from `base`,
    /// without reading them.
    pub fn count_commits(&self, base: &str, head: &str) -> Result<usize> {
        let mut walk = self.repo.revwalk()?;
        walk.push(Oid::from_str(head)?)?;
        walk.hide(Oid::from_str(base)?)?;
        let mut count = 0;
        for oid in walk {
            oid?;
            count += 1;
        }
        Ok(count)
    }

    /// Fetches more history into a shallow clone: `refspecs` from `url`,
    /// `depth` commits deep (`None`: the whole history). HTTP(S) goes
    /// through docsync's own client ([`crate::git::transport`]), with its timeouts.
    pub fn deepen(&self, url: &str, refspecs: &[String], depth: Option<i32>) -> Result<(), git2::Error> {
        crate::git::transport::register_transports();
        let mut remote = self.repo.remote_anonymous(url)?;
        let mut options = git2::FetchOptions::new();
        options.download_tags(git2::AutotagOption::None);
        options.depth(depth.unwrap_or(i32::MAX));
        remote.fetch(refspecs, Some(&mut options), None)
    }

    /// The branch HEAD names when it has no commit yet (an unborn branch).
    pub fn unborn_branch(&self) -> Option<String> {
        match self.repo.head() {
            Err(error) if error.code() == git2::ErrorCode::UnbornBranch => {
                let head = self.repo.find_reference("HEAD").ok()?;
                let target = head.symbolic_target().ok()??;
                Some(target.strip_prefix("refs/heads/").unwrap_or(target).to_owned())
            }
            _ => None,
        }
    }

    /// Whether any branch, tag or remote-tracking ref names a commit.
    pub fn has_commits(&self) -> bool {
        self.repo.references().is_ok_and(|mut refs| refs.any(|r| r.is_ok_and(|r| r.peel_to_commit().is_ok())))
    }

    /// Fetches blobs a blob-less partial clone lacks from its promisor
    /// remote (git fetches them lazily; libgit2 cannot), returning how many
    /// arrived. The fetch goes into an empty scratch repository, so that the
    /// clone's own commits are not offered as "haves" (the server would
    /// leave out every blob they reach); the blobs are then copied into the
    /// clone's object database.
    fn fetch_blobs(&self, ids: &[Oid]) -> Result<usize, String> {
        // The promisor remote: `extensions.partialclone` (older git) or the
        // remote marked `promisor = true`.
        let config = self.repo.config().map_err(|e| e.message().to_owned())?;
        let names = self.repo.remotes().map_err(|e| e.message().to_owned())?;
        let marked = |name: &&str| config.get_bool(&format!("remote.{name}.promisor")).unwrap_or(false);
        let promisor = config
            .get_string("extensions.partialclone")
            .ok()
            .or_else(|| names.iter().filter_map(|name| name.ok().flatten()).find(marked).map(str::to_owned));
        let promisor = promisor.ok_or("not a partial clone (no promisor remote)")?;
        let remote = self.repo.find_remote(&promisor).map_err(|e| e.message().to_owned())?;
        let url = remote.url().map_err(|_| "the promisor remote has no URL".to_owned())?.to_owned();
        let scratch = self.repo.path().join(format!("docsync-blobs-{}", std::process::id()));
        let fetched = (|| -> Result<usize, git2::Error> {
            let scratch_repo = Repository::init_bare(&scratch)?;
            let mut remote = scratch_repo.remote_anonymous(&url)?;
            let mut options = git2::FetchOptions::new();
            options.download_tags(git2::AutotagOption::None);
            options.update_fetchhead(false);
            let wanted: Vec<String> = ids.iter().map(Oid::to_string).collect();
            remote.fetch(&wanted, Some(&mut options), None)?;
            let (from, to) = (scratch_repo.odb()?, self.repo.odb()?);
            let mut copied = 0;
            for id in ids {
                if let Ok(object) = from.read(*id) {
                    to.write(object.kind(), object.data())?;
                    copied += 1;
                }
            }
            Ok(copied)
        })();
        let _ = std::fs::remove_dir_all(&scratch);
        fetched.map_err(|e| crate::secret::redact(e.message()))
    }

    /// The checked-out branch; `None` on a detached head (as in CI).
    pub fn current_branch(&self) -> Option<String> {
        let head = self.repo.head().ok()?;
        if !head.is_branch() {
            return None;
        }
        head.shorthand().ok().map(str::to_owned)
    }

    /// The URL of the `origin` remote, when there is one.
    pub fn origin_url(&self) -> Option<String> {
        self.repo.find_remote("origin").ok()?.url().ok().map(str::to_owned)
    }
}

/// One difference between two trees, before rename detection.
enum RawChange {
    Added(RawFile),
    Deleted(RawFile),
    /// Content, mode or kind changed.
    Modified {
        path: String,
        kind: ChangeKind,
    },
}

struct RawFile {
    path: String,
    id: Oid,
    mode: u32,
}

impl RawFile {
    fn candidate(&self) -> renames::Candidate {
        renames::Candidate { path: self.path.clone(), id: self.id.as_bytes().to_vec(), mode: self.mode }
    }
}

/// Two trees to compare below a path (ending in `/`, or empty for the
/// root); a missing side means every file of the other was added or deleted.
struct TreePair {
    prefix: Vec<u8>,
    old: Option<Oid>,
    new: Option<Oid>,
}

/// A part of a diff in the making: a change found, or trees still to compare.
enum Piece {
    Change(RawChange),
    Trees(TreePair),
}

/// Differing subtrees wanted before a diff is shared between threads: a
/// few per thread, so that one big subtree does not leave the others idle.
const SPLIT_WIDTH: usize = 16;
/// How many levels may be expanded looking for them.
const SPLIT_MAX_DEPTH: usize = 4;

/// Compares one level of two trees, in git's own way (`tree-diff.c`):
/// entries are merged in tree order, where a directory sorts as if its name
/// ended in `/`, and subtrees with the same id on both sides are skipped
/// unread (libgit2's `diff_tree_to_tree` reads every tree of both sides).
/// A file that became a directory, or the reverse, is a deletion and
/// additions, as in git; any other change of kind at one path (file,
/// symlink, submodule) is a modification, git's `T`.
fn expand(repo: &Repository, pair: &TreePair, out: &mut Vec<Piece>) -> Result<(), git2::Error> {
    let old = pair.old.map(|id| repo.find_tree(id)).transpose()?;
    let new = pair.new.map(|id| repo.find_tree(id)).transpose()?;
    let mut old_entries = old.iter().flat_map(|tree| tree.iter()).peekable();
    let mut new_entries = new.iter().flat_map(|tree| tree.iter()).peekable();
    let path = |entry: &git2::TreeEntry<'_>| [pair.prefix.as_slice(), entry.name_bytes()].concat();
    let one_sided = |entry: git2::TreeEntry<'_>, added: bool| {
        let mut path = path(&entry);
        if is_tree(&entry) {
            path.push(b'/');
            let (old, new) = if added { (None, Some(entry.id())) } else { (Some(entry.id()), None) };
            return Piece::Trees(TreePair { prefix: path, old, new });
        }
        let file = RawFile { path: path_of(&path), id: entry.id(), mode: entry.filemode() as u32 };
        Piece::Change(if added { RawChange::Added(file) } else { RawChange::Deleted(file) })
    };
    loop {
        let (old, new) = match (old_entries.peek(), new_entries.peek()) {
            (Some(old), Some(new)) => match tree_order(old, new) {
                Ordering::Less => (old_entries.next(), None),
                Ordering::Greater => (None, new_entries.next()),
                Ordering::Equal => (old_entries.next(), new_entries.next()),
            },
            _ => (old_entries.next(), new_entries.next()),
        };
        let piece = match (old, new) {
            (None, None) => return Ok(()),
            (Some(old), None) => one_sided(old, false),
            (None, Some(new)) => one_sided(new, true),
            (Some(old), Some(new)) => {
                if old.id() == new.id() && old.filemode() == new.filemode() {
                    continue;
                }
                let mut path = path(&new);
                if is_tree(&new) {
                    path.push(b'/');
                    Piece::Trees(TreePair { prefix: path, old: Some(old.id()), new: Some(new.id()) })
                } else {
                    let kind = ChangeKind::of_mode(new.filemode() as u32);
                    Piece::Change(RawChange::Modified { path: path_of(&path), kind })
                }
            }
        };
        out.push(piece);
    }
}

/// Every change below a pair of trees, depth first (which is path order).
fn walk(repo: &Repository, pair: &TreePair) -> Result<Vec<RawChange>, git2::Error> {
    let mut changes = Vec::new();
    walk_into(repo, pair, &mut changes)?;
    Ok(changes)
}

fn walk_into(repo: &Repository, pair: &TreePair, out: &mut Vec<RawChange>) -> Result<(), git2::Error> {
    let mut pieces = Vec::new();
    expand(repo, pair, &mut pieces)?;
    for piece in pieces {
        match piece {
            Piece::Change(change) => out.push(change),
            Piece::Trees(pair) => walk_into(repo, &pair, out)?,
        }
    }
    Ok(())
}

fn is_tree(entry: &git2::TreeEntry<'_>) -> bool {
    entry.filemode() == i32::from(git2::FileMode::Tree)
}

/// git's order of tree entries (`base_name_compare`): bytewise by name, a
/// directory's name as if it ended in `/`. Within one tree this is the
/// stored order; across the two sides it also tells a file from a directory
/// of the same name.
fn tree_order(a: &git2::TreeEntry<'_>, b: &git2::TreeEntry<'_>) -> Ordering {
    let (a_name, b_name) = (a.name_bytes(), b.name_bytes());
    let common = a_name.len().min(b_name.len());
    a_name[..common].cmp(&b_name[..common]).then_with(|| {
        // Names cannot hold `/`, so one byte past the common part decides.
        let next = |name: &[u8], entry| name.get(common).copied().or(is_tree(entry).then_some(b'/'));
        next(a_name, a).cmp(&next(b_name, b))
    })
}

/// Blob sizes and contents for rename detection, straight from the object
/// database (a size is read from the object header, without the content).
struct ObjectDatabase<'a>(&'a git2::Odb<'a>);

impl renames::Blobs for ObjectDatabase<'_> {
    fn size(&mut self, id: &[u8]) -> Option<u64> {
        let (size, _) = self.0.read_header(Oid::from_bytes(id).ok()?).ok()?;
        Some(size as u64)
    }

    fn content(&mut self, id: &[u8], read: &mut dyn FnMut(&[u8])) -> bool {
        let Some(object) = Oid::from_bytes(id).ok().and_then(|id| self.0.read(id).ok()) else { return false };
        read(object.data());
        true
    }
}

/// A path as text, never merging two paths into one. A UTF-8 path is itself.
/// One that is not is quoted as git quotes it (`"caf\351.md"`: C-style, in
/// double quotes, octal escapes), with a warning; so is a UTF-8 path that
/// starts with `"`, the only kind that could be taken for a quoted one.
fn path_of(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.starts_with('"') => text.to_owned(),
        Ok(text) => quote_path(bytes, false).unwrap_or_else(|| text.to_owned()),
        Err(_) => {
            let quoted = quote_path(bytes, true).unwrap_or_default();
            tracing::warn!(
                "the path {quoted} is not UTF-8: it is shown quoted as git does, and no platform can read it"
            );
            quoted
        }
    }
}

/// git's `quote_c_style`: `"…"` with `\a \b \t \n \v \f \r \" \\` and
/// three octal digits for other control bytes (and, when `high`, for every
/// byte over 0x7f, as git does by default).
fn quote_path(bytes: &[u8], high: bool) -> Option<String> {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    let mut plain = Vec::new();
    let flush = |plain: &mut Vec<u8>, out: &mut String| -> Option<()> {
        out.push_str(std::str::from_utf8(plain).ok()?);
        plain.clear();
        Some(())
    };
    for &byte in bytes {
        let escape = match byte {
            0x07 => Some("\\a"),
            0x08 => Some("\\b"),
            b'\t' => Some("\\t"),
            b'\n' => Some("\\n"),
            0x0b => Some("\\v"),
            0x0c => Some("\\f"),
            b'\r' => Some("\\r"),
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            _ => None,
        };
        if let Some(escape) = escape {
            flush(&mut plain, &mut out)?;
            out.push_str(escape);
        } else if byte < 0x20 || byte == 0x7f || (high && byte >= 0x80) {
            flush(&mut plain, &mut out)?;
            write!(out, "\\{byte:03o}").ok()?;
        } else {
            plain.push(byte);
        }
    }
    flush(&mut plain, &mut out)?;
    out.push('"');
    Some(out)
}

/// Levenshtein distance, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb)).min(above + 1).min(row[j] + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

fn commit_info(commit: &git2::Commit<'_>) -> CommitInfo {
    let author = commit.author();
    CommitInfo {
        id: commit.id().to_string(),
        message: String::from_utf8_lossy(commit.message_bytes()).into_owned(),
        author_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        time: git_time(commit.committer().when()),
    }
}

fn git_time(time: git2::Time) -> OffsetDateTime {
    let offset = UtcOffset::from_whole_seconds(time.offset_minutes() * 60).unwrap_or(UtcOffset::UTC);
    let utc = OffsetDateTime::from_unix_timestamp(time.seconds()).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    // A date git accepts may lie beyond the year 9999 in its own offset
    // (`@253402300799 +0100`): it is then shown in UTC.
    utc.checked_to_offset(offset).unwrap_or(utc)
}
