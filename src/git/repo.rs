//! The repository: opening it, and reading its commits, refs and trees,
//! through libgit2.
//!
//! The `git` folder is the only part of docsync that sees `git2`; it answers
//! in domain types (commit SHAs as strings, [`Change`]s, [`CommitInfo`]s) so
//! that deciding stays independent of libgit2's types and lifetimes. The tree
//! diff ([`crate::git::diff`]) and fetching what a clone lacks
//! ([`crate::git::fetch`]) add their methods to [`Repo`] from their own files.

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::{Context, Result};
use git2::{ObjectType, Oid, Repository, Tree, TreeEntry};
use time::{OffsetDateTime, UtcOffset};

use crate::error::{BadInput, LocalFailure};
use crate::git::diff::{Change, path_of, path_of_quietly};

/// A commit as the skip rules and the push event need it.
#[derive(Debug, Clone)]
pub(crate) struct CommitInfo {
    pub id: String,
    pub message: String,
    pub author_name: String,
    pub author_email: String,
    /// Committer time, in the committer's own offset.
    pub time: OffsetDateTime,
}

/// A commit and its own changes (against its first parent).
#[derive(Debug, Clone)]
pub(crate) struct CommitChanges {
    pub commit: CommitInfo,
    pub changes: Vec<Change>,
}

impl CommitInfo {
    pub(crate) fn subject(&self) -> &str {
        self.message.lines().next().unwrap_or("")
    }
}

/// A file of a commit's tree, for the docs pre-flight.
#[derive(Debug, Clone)]
pub(crate) struct TreeFile {
    /// Relative to the repository root.
    pub path: String,
    pub size: u64,
    pub content: Option<Vec<u8>>,
}

/// A blob of the repository, to read later.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlobId(Oid);

/// Reads blobs one at a time, through its own handle on the repository:
/// the pre-flight reads each page when it checks it and drops it after,
/// rather than holding every page at once.
pub(crate) struct BlobReader {
    repo: Repository,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobReader").field("path", &self.repo.path()).finish()
    }
}

impl BlobReader {
    /// The blob's bytes; `None` when the clone lacks it.
    pub(crate) fn read(&self, blob: BlobId) -> Option<Vec<u8>> {
        self.repo.find_blob(blob.0).ok().map(|blob| blob.content().to_vec())
    }

    /// The blob's size, from its header alone; `None` when the clone lacks
    /// it.
    pub(crate) fn size(&self, blob: BlobId) -> Option<u64> {
        self.repo.odb().ok()?.read_header(blob.0).ok().map(|(size, _)| size as u64)
    }
}

/// Where one commit stands against another in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ancestry {
    Same,
    /// An ancestor of the other.
    Older,
    /// A descendant of the other.
    Newer,
    /// Neither: another branch, a rewritten history.
    Unrelated,
}

pub(crate) struct Repo {
    pub(super) repo: Repository,
    /// Where fetches go for what the clone lacks, with its credentials
    /// (`CI_REPOSITORY_URL`): set by [`Repo::fetch_from`].
    pub(super) fetch_url: std::sync::OnceLock<String>,
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
/// - libgit2 maps pack files in windows of 1 GiB, up to 8 GiB at once, and
///   keeps every window it mapped: reading each blob of a large pack once
///   (the pre-flight of 100,000 pages) left the whole 90 MB pack in the
///   process's memory. Windows of [`PACK_WINDOW`], at most
///   [`PACK_WINDOWS_MAPPED`] at once (the least recently used is unmapped
///   first), bound that; the pages stay in the kernel's page cache, so a
///   window mapped again costs a system call and page faults, no reads.
///
/// libgit2 has no TLS of its own: HTTP(S) fetches go through
/// [`crate::git::transport`].
#[allow(
    unsafe_code,
    reason = "libgit2's owner validation and pack windows are process-wide settings only unsafe functions change"
)]
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
        // SAFETY: as above.
        if let Err(error) = unsafe { git2::opts::set_mwindow_size(PACK_WINDOW) }
            .and_then(|()| unsafe { git2::opts::set_mwindow_mapped_limit(PACK_WINDOWS_MAPPED) })
        {
            tracing::debug!("could not bound libgit2's pack windows: {error}");
        }
    });
}

/// The span of a pack file libgit2 maps at a time.
const PACK_WINDOW: usize = 8 * 1024 * 1024;
/// How much of the pack files libgit2 keeps mapped at once.
const PACK_WINDOWS_MAPPED: usize = 32 * 1024 * 1024;

/// A revision that exists but names no commit (a tree, a blob), or text git
/// cannot parse as a revision. The caller names where it came from.
#[derive(Debug, thiserror::Error)]
#[error("{problem}")]
pub(crate) struct BadRevision {
    pub problem: String,
}

impl Repo {
    /// Opens the repository: the one `git_dir` names (`GIT_DIR`, with
    /// `GIT_WORK_TREE` as its working tree when given), else the one that
    /// contains `path`, as git does.
    pub(crate) fn open(path: &Path, git_dir: Option<&Path>, work_tree: Option<&Path>) -> Result<Repo> {
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
        Ok(Repo { repo, fetch_url: std::sync::OnceLock::new() })
    }

    pub(crate) fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// The commit a revision names (`HEAD~3`, a branch, a tag, a SHA), or
    /// `None` when the repository does not know it.
    /// A revision that names something other than a commit, or that git
    /// cannot parse, is a [`BadRevision`].
    pub(crate) fn resolve_commit(&self, revision: &str) -> Result<Option<String>> {
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
    pub(crate) fn has_commit(&self, sha: &str) -> bool {
        Oid::from_str(sha).is_ok_and(|oid| self.repo.find_commit(oid).is_ok())
    }

    /// The first parent of a commit; `None` for a root commit, or when the
    /// parent lies beyond a shallow clone's boundary.
    pub(crate) fn first_parent(&self, sha: &str) -> Result<Option<String>> {
        let commit = self.repo.find_commit(Oid::from_str(sha)?)?;
        if commit.parent_count() == 0 {
            return Ok(None);
        }
        let parent = commit.parent_id(0)?.to_string();
        Ok(self.has_commit(&parent).then_some(parent))
    }

    /// Whether `ancestor` is `descendant` itself or one of its ancestors.
    pub(crate) fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool> {
        let (ancestor, descendant) = (Oid::from_str(ancestor)?, Oid::from_str(descendant)?);
        Ok(ancestor == descendant || self.repo.graph_descendant_of(descendant, ancestor)?)
    }

    /// Where `commit` stands against `head` in the clone's history; `None`
    /// when the clone does not hold `commit` (or it is no commit id).
    pub(crate) fn ancestry(&self, commit: &str, head: &str) -> Result<Option<Ancestry>> {
        if !self.has_commit(commit) {
            return Ok(None);
        }
        let (commit, head) = (Oid::from_str(commit)?, Oid::from_str(head)?);
        Ok(Some(if commit == head {
            Ancestry::Same
        } else if self.repo.graph_descendant_of(head, commit)? {
            Ancestry::Older
        } else if self.repo.graph_descendant_of(commit, head)? {
            Ancestry::Newer
        } else {
            Ancestry::Unrelated
        }))
    }

    pub(crate) fn commit_time(&self, sha: &str) -> Result<OffsetDateTime> {
        let commit = self.repo.find_commit(Oid::from_str(sha)?)?;
        Ok(git_time(commit.committer().when()))
    }

    /// Whether a commit's tree holds this directory.
    pub(crate) fn has_directory(&self, sha: &str, directory: &str) -> Result<bool> {
        Ok(self.missing_directories(sha, &[directory])?.is_empty())
    }

    /// Which of these directories a commit's tree lacks, in the order
    /// given. The tree is read once for them all: a root tree of hundreds
    /// of entries is too large for libgit2's object cache, and reading it
    /// per directory made planning hundreds of targets slow.
    pub(crate) fn missing_directories<'a>(&self, sha: &str, directories: &[&'a str]) -> Result<Vec<&'a str>> {
        let tree = self.repo.find_commit(Oid::from_str(sha)?)?.tree()?;
        let mut missing = Vec::new();
        for &directory in directories {
            let present = match tree.get_path(Path::new(directory)) {
                Ok(entry) => entry.kind() == Some(ObjectType::Tree),
                Err(error) if error.code() == git2::ErrorCode::NotFound => false,
                Err(error) => return Err(error).with_context(|| format!("while looking for {directory}")),
            };
            if !present {
                missing.push(directory);
            }
        }
        Ok(missing)
    }

    /// The directory of a commit's tree nearest to `directory` (one that
    /// differs only in case first, else the fewest edits, at most a third
    /// of the name); `None` when none is close.
    pub(crate) fn nearest_directory(&self, sha: &str, directory: &str) -> Result<Option<String>> {
        let tree = self.repo.find_commit(Oid::from_str(sha)?)?.tree()?;
        let wanted = directory.to_lowercase();
        let depth = directory.matches('/').count();
        let mut best: Option<(usize, String)> = None;
        walk_tree(&self.repo, &tree, &mut Vec::new(), &mut |path, entry| {
            if entry.kind() != Some(ObjectType::Tree) {
                return false;
            }
            let path = path_of_quietly(path);
            let distance = edit_distance(&wanted, &path.to_lowercase());
            if best.as_ref().is_none_or(|(d, _)| distance < *d) {
                best = Some((distance, path.clone()));
            }
            // Deeper directories than the wanted one cannot be nearer.
            path.matches('/').count() < depth
        })
        .context("while listing the directories of the head commit")?;
        let limit = (wanted.chars().count() / 3).max(1);
        Ok(best.filter(|(distance, _)| *distance <= limit).map(|(_, path)| path))
    }

    /// The checkout's root directory (the repository is never bare here).
    pub(crate) fn workdir(&self) -> Option<PathBuf> {
        self.repo.workdir().map(Path::to_path_buf)
    }

    /// The files of a commit's tree below `directory` (repository-relative,
    /// empty for the root), each given to `visit` with its blob, unread: a
    /// blob's header costs a read of its own (an open, stat and inflate for
    /// a loose object), so its size is read only when asked for. Symlinks
    /// and submodules are left out: they hold no page.
    pub(crate) fn blobs_at(&self, commit: &str, directory: &str, visit: &mut dyn FnMut(String, BlobId)) -> Result<()> {
        let tree = self.repo.find_commit(Oid::from_str(commit)?)?.tree()?;
        let tree = match directory {
            "" => tree,
            dir => match tree.get_path(Path::new(dir)) {
                Ok(entry) if entry.kind() == Some(ObjectType::Tree) => self.repo.find_tree(entry.id())?,
                _ => return Ok(()),
            },
        };
        let mut prefix = if directory.is_empty() { Vec::new() } else { format!("{directory}/").into_bytes() };
        walk_tree(&self.repo, &tree, &mut prefix, &mut |path, entry| {
            if entry.kind() == Some(ObjectType::Tree) {
                warn_if_not_utf8(path);
                return true;
            }
            let regular = entry.filemode() == i32::from(git2::FileMode::Blob)
                || entry.filemode() == i32::from(git2::FileMode::BlobExecutable);
            if regular {
                visit(file_path(path), BlobId(entry.id()));
            }
            false
        })
        .with_context(|| format!("while listing the files of {directory:?} at {commit}"))
    }

    /// One file of a commit's tree (a regular file, repository-relative):
    /// its size, and its content when `read` asks for it; `None` when the
    /// tree has no such file or the clone lacks its blob.
    pub(crate) fn file_at(
        &self,
        commit: &str,
        path: &str,
        read: impl Fn(&str, u64) -> bool,
    ) -> Result<Option<TreeFile>> {
        let tree = self.repo.find_commit(Oid::from_str(commit)?)?.tree()?;
        let entry = match tree.get_path(Path::new(path)) {
            Ok(entry) if entry.kind() == Some(ObjectType::Blob) => entry,
            _ => return Ok(None),
        };
        let odb = self.repo.odb()?;
        let Ok((size, _)) = odb.read_header(entry.id()) else { return Ok(None) };
        let content = if read(path, size as u64) { Some(odb.read(entry.id())?.data().to_vec()) } else { None };
        Ok(Some(TreeFile { path: path.to_owned(), size: size as u64, content }))
    }

    /// A reader of this repository's blobs, on a handle of its own.
    pub(crate) fn blob_reader(&self) -> Result<BlobReader> {
        let repo = Repository::open(self.repo.path()).context("while opening the repository to read its files")?;
        Ok(BlobReader { repo })
    }

    /// The commits reachable from `head` but not from `base` (all of them
    /// when `base` is `None`, up to `limit`), newest first.
    pub(crate) fn commits(&self, base: Option<&str>, head: &str, limit: usize) -> Result<Vec<CommitInfo>> {
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
    pub(crate) fn commits_until(
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
    pub(crate) fn count_commits(&self, base: &str, head: &str) -> Result<usize> {
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

    /// The branch HEAD names when it has no commit yet (an unborn branch).
    pub(crate) fn unborn_branch(&self) -> Option<String> {
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
    pub(crate) fn has_commits(&self) -> bool {
        self.repo.references().is_ok_and(|mut refs| refs.any(|r| r.is_ok_and(|r| r.peel_to_commit().is_ok())))
    }

    /// The checked-out branch; `None` on a detached head (as in CI).
    pub(crate) fn current_branch(&self) -> Option<String> {
        let head = self.repo.head().ok()?;
        if !head.is_branch() {
            return None;
        }
        head.shorthand().ok().map(str::to_owned)
    }

    /// The URL of the `origin` remote, when there is one.
    /// Fetches of what the clone lacks (a partial clone's file contents)
    /// go to `url`, with its credentials, as deepening does; the first call
    /// wins. Without it they go to the clone's promisor remote.
    pub(crate) fn fetch_from(&self, url: &str) {
        let _ = self.fetch_url.set(url.to_owned());
    }

    pub(crate) fn origin_url(&self) -> Option<String> {
        self.repo.find_remote("origin").ok()?.url().ok().map(str::to_owned)
    }
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

/// Every entry below `tree`, parents before children, with its path's bytes
/// (`dir` then the name); `visit` says whether to enter a tree. git2's own
/// walk hands the directory over as text and fails on a name that is not
/// UTF-8, which git allows.
fn walk_tree(
    repo: &Repository,
    tree: &Tree<'_>,
    dir: &mut Vec<u8>,
    visit: &mut dyn FnMut(&[u8], &TreeEntry<'_>) -> bool,
) -> Result<(), git2::Error> {
    for entry in tree.iter() {
        let length = dir.len();
        dir.extend_from_slice(entry.name_bytes());
        if visit(dir, &entry) && entry.kind() == Some(ObjectType::Tree) {
            dir.push(b'/');
            walk_tree(repo, &repo.find_tree(entry.id())?, dir, visit)?;
        }
        dir.truncate(length);
    }
    Ok(())
}

/// Warns, once per directory, about a directory whose own name is not
/// UTF-8 (its files are then quoted without a warning each).
pub(crate) fn warn_if_not_utf8(directory: &[u8]) {
    let parent = directory.iter().rposition(|&b| b == b'/').map_or(&directory[..0], |i| &directory[..i]);
    if std::str::from_utf8(directory).is_err() && std::str::from_utf8(parent).is_ok() {
        tracing::warn!(
            "the directory {} is not UTF-8: its files are shown quoted as git does, and no platform can read them",
            path_of_quietly(directory)
        );
    }
}

/// A file's path as text: as `path_of` has it, without a second warning
/// when the directory already had one.
pub(crate) fn file_path(path: &[u8]) -> String {
    let parent = path.iter().rposition(|&b| b == b'/').map_or(&path[..0], |i| &path[..i]);
    if std::str::from_utf8(parent).is_ok() { path_of(path) } else { path_of_quietly(path) }
}
