//! The repository: everything docsync asks of git, through libgit2.
//!
//! This module is the only one that sees `git2`; it answers in domain types
//! (commit SHAs as strings, [`Change`]s, [`CommitInfo`]s) so that deciding
//! stays independent of libgit2's types and lifetimes.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Once, OnceLock};

use anyhow::{Context, Result};
use git2::{Delta, DiffOptions, ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};
use serde::Serialize;
use time::{OffsetDateTime, UtcOffset};

use crate::error::BadInput;
use crate::renames;

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

/// One changed path, relative to the repository root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub status: ChangeStatus,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
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

pub struct Repo {
    repo: Repository,
}

/// The system CA bundle, loaded into libgit2 only before its first fetch.
static DEFERRED_CA_FILE: OnceLock<Option<PathBuf>> = OnceLock::new();

/// Sets libgit2 up for docsync, once per process, before any other use.
///
/// - The GitLab runner's checkout usually belongs to another user than the
///   job's container process; libgit2 (like git ≥ 2.35.2) refuses such a
///   repository by default. docsync only reads the checkout it was started
///   in, so it turns that validation off rather than asking users for
///   `safe.directory`.
/// - libgit2 re-hashes every object it reads to check it; git does not, and
///   on large diffs it costs a sizeable share of the time.
/// - libgit2's OpenSSL setup parses the whole system CA bundle (about 150
///   certificates) at initialisation: 10% of `docsync plan` on the
///   benchmark's 1,000-commit range, for a fetch only shallow clones make. So `SSL_CERT_FILE`
///   points at `/dev/null` while libgit2 initialises (OpenSSL ignores a
///   default file that holds nothing), and the bundle is loaded by
///   [`Repo::deepen`] instead. `SSL_CERT_DIR` is untouched: OpenSSL reads a
///   certificate directory lazily anyway.
fn init_libgit2() {
    static READY: Once = Once::new();
    READY.call_once(|| {
        let own = std::env::var_os("SSL_CERT_FILE");
        DEFERRED_CA_FILE.get_or_init(|| openssl_probe::probe().cert_file);
        // SAFETY: docsync calls this on its main thread before starting any
        // other thread (its async runtime is single-threaded); git2 itself
        // sets these variables at this same point.
        unsafe { std::env::set_var("SSL_CERT_FILE", "/dev/null") };
        if let Err(error) = unsafe { git2::opts::set_verify_owner_validation(false) } {
            tracing::debug!("could not turn off libgit2's owner validation: {error}");
        }
        git2::opts::strict_hash_verification(false);
        match own {
            // SAFETY: as above.
            Some(own) => unsafe { std::env::set_var("SSL_CERT_FILE", own) },
            None => unsafe { std::env::remove_var("SSL_CERT_FILE") },
        }
    });
}

impl Repo {
    /// Opens the repository that contains `path`.
    pub fn discover(path: &Path) -> Result<Repo> {
        init_libgit2();
        let repo = Repository::discover(path).map_err(|error| {
            anyhow::Error::new(BadInput::new(
                "working directory",
                format!("{} is not inside a git repository ({})", path.display(), error.message()),
                "run docsync from the project's checkout (in CI, the job's default directory)",
            ))
        })?;
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

    /// Uses this CA bundle for fetches over HTTPS (`CI_SERVER_TLS_CA_FILE`).
    pub fn use_ca_file(path: &Path) -> Result<()> {
        init_libgit2();
        // SAFETY: a process-wide libgit2 setting, changed before any fetch.
        unsafe { git2::opts::set_ssl_cert_file(path) }
            .with_context(|| format!("while loading the CA file {}", path.display()))
    }

    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow()
    }

    /// The commit a revision names (`HEAD~3`, a branch, a tag, a SHA), or
    /// `None` when the repository does not know it.
    pub fn resolve_commit(&self, revision: &str) -> Result<Option<String>> {
        match self.repo.revparse_single(revision) {
            Ok(object) => {
                let commit = object.peel_to_commit().with_context(|| format!("{revision} does not name a commit"))?;
                Ok(Some(commit.id().to_string()))
            }
            Err(error) if error.code() == git2::ErrorCode::NotFound => Ok(None),
            Err(error) if error.class() == git2::ErrorClass::Odb || error.code() == git2::ErrorCode::Ambiguous => {
                Ok(None)
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
        let mut options = DiffOptions::new();
        // Names and statuses only: never load blobs just to classify them.
        // A file that became a symlink is one typechange (git's `T`), not a
        // deletion and an addition.
        options.skip_binary_check(true).include_typechange(true);
        let diff = self
            .repo
            .diff_tree_to_tree(base_tree, Some(head_tree), Some(&mut options))
            .context("while comparing the two trees")?;

        // Renames are paired by git's own algorithm (see `renames`), not by
        // libgit2's `find_similar`, whose similarity scores differ from git's.
        let candidate = |file: git2::DiffFile<'_>| renames::Candidate {
            path: path_of(file.path_bytes()),
            id: file.id().as_bytes().to_vec(),
            mode: u32::from(file.mode()),
        };
        let (mut sources, mut destinations) = (Vec::new(), Vec::new());
        let (mut source_delta, mut destination_delta) = (Vec::new(), Vec::new());
        for (index, delta) in diff.deltas().enumerate() {
            match delta.status() {
                Delta::Deleted => {
                    sources.push(candidate(delta.old_file()));
                    source_delta.push(index);
                }
                Delta::Added => {
                    destinations.push(candidate(delta.new_file()));
                    destination_delta.push(index);
                }
                _ => {}
            }
        }
        let odb = self.repo.odb().context("while opening the object database")?;
        let found = renames::detect(&sources, &destinations, &mut ObjectDatabase(&odb));
        if let Some((deleted, added)) = found.skipped_inexact {
            tracing::warn!(
                "{added} added and {deleted} deleted files: only exact and same-name renames detected (git's diff.renameLimit is {})",
                renames::RENAME_LIMIT
            );
        }
        let mut renamed_from: HashMap<usize, usize> = HashMap::new();
        let mut moved_away = HashSet::new();
        for (source, destination) in found.pairs {
            renamed_from.insert(destination_delta[destination], source);
            moved_away.insert(source_delta[source]);
        }

        let mut changes = Vec::with_capacity(diff.deltas().len());
        for (index, delta) in diff.deltas().enumerate() {
            let new_path = path_of(delta.new_file().path_bytes());
            let old_path = path_of(delta.old_file().path_bytes());
            let change = match delta.status() {
                Delta::Added => match renamed_from.get(&index) {
                    Some(source) => Change {
                        status: ChangeStatus::Renamed,
                        path: new_path,
                        old_path: Some(sources[*source].path.clone()),
                    },
                    None => Change { status: ChangeStatus::Added, path: new_path, old_path: None },
                },
                Delta::Deleted if moved_away.contains(&index) => continue,
                Delta::Deleted => Change { status: ChangeStatus::Deleted, path: old_path, old_path: None },
                // A type change (file ↔ symlink) is a modification of the path.
                Delta::Modified | Delta::Typechange => {
                    Change { status: ChangeStatus::Modified, path: new_path, old_path: None }
                }
                // No rename or copy detection ran in libgit2, so these do not occur.
                Delta::Renamed
                | Delta::Copied
                | Delta::Unmodified
                | Delta::Ignored
                | Delta::Untracked
                | Delta::Unreadable
                | Delta::Conflicted => continue,
            };
            changes.push(change);
        }
        Ok(changes)
    }

    /// Every file of a commit's tree, as if added: the change set of a full sync.
    pub fn all_files(&self, head: &str) -> Result<Vec<Change>> {
        let tree = self.repo.find_commit(Oid::from_str(head)?)?.tree()?;
        let mut changes = Vec::new();
        tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() != Some(ObjectType::Tree) {
                let mut path = dir.to_owned();
                path.push_str(&path_of(Some(entry.name_bytes())));
                changes.push(Change { status: ChangeStatus::Added, path, old_path: None });
            }
            TreeWalkResult::Ok
        })
        .context("while listing the files of the head commit")?;
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(changes)
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
    /// `depth` commits deep (`None`: the whole history).
    pub fn deepen(&self, url: &str, refspecs: &[String], depth: Option<i32>) -> Result<(), git2::Error> {
        load_system_ca_file();
        let mut remote = self.repo.remote_anonymous(url)?;
        let mut options = git2::FetchOptions::new();
        options.download_tags(git2::AutotagOption::None);
        options.depth(depth.unwrap_or(i32::MAX));
        remote.fetch(refspecs, Some(&mut options), None)
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

/// Loads the system CA bundle that [`init_libgit2`] held back, once, before
/// the first fetch (only HTTPS fetches read it). A bundle that cannot be
/// loaded is logged: the fetch then fails with libgit2's own TLS error.
fn load_system_ca_file() {
    static LOADED: Once = Once::new();
    LOADED.call_once(|| {
        let Some(Some(file)) = DEFERRED_CA_FILE.get() else { return };
        // SAFETY: a process-wide libgit2 setting, changed before any fetch.
        if let Err(error) = unsafe { git2::opts::set_ssl_cert_file(file) } {
            tracing::warn!("could not load the CA bundle {}: {}", file.display(), error.message());
        }
    });
}

/// Blob sizes and contents for rename detection, straight from the object
/// database (a size is read from the object header, without the content).
struct ObjectDatabase<'a>(&'a git2::Odb<'a>);

impl renames::Blobs for ObjectDatabase<'_> {
    fn size(&mut self, id: &[u8]) -> Option<u64> {
        let (size, _) = self.0.read_header(Oid::from_bytes(id).ok()?).ok()?;
        Some(size as u64)
    }

    fn content(&mut self, id: &[u8]) -> Option<Vec<u8>> {
        Some(self.0.read(Oid::from_bytes(id).ok()?).ok()?.data().to_vec())
    }
}

/// Paths are exact for any UTF-8 name; a name that is not UTF-8 (rare, and
/// unusable by docs platforms anyway) is shown with replacement characters.
fn path_of(bytes: Option<&[u8]>) -> String {
    String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned()
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
    OffsetDateTime::from_unix_timestamp(time.seconds()).unwrap_or(OffsetDateTime::UNIX_EPOCH).to_offset(offset)
}
