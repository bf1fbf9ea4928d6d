//! The tree diff: every change between two commits' trees, in git's order,
//! with git's rename detection ([`crate::git::renames`]).
//!
//! Separate from the repository's reads ([`crate::git::repo`]) because it is
//! an algorithm of its own: git's merge of two trees level by level, which
//! skips identical subtrees unread and shares a wide diff out between
//! threads. Its result, [`Change`], is what the rest of docsync plans with.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use crate::git::renames;
use crate::git::repo::Repo;
use anyhow::{Context, Result};
use git2::{Oid, Repository};

/// What happened to one path between base and head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
}

impl ChangeStatus {
    pub const ALL: [ChangeStatus; 4] =
        [ChangeStatus::Added, ChangeStatus::Modified, ChangeStatus::Deleted, ChangeStatus::Renamed];

    /// The `status` of the JSON contract.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Added => "added",
            ChangeStatus::Modified => "modified",
            ChangeStatus::Deleted => "deleted",
            ChangeStatus::Renamed => "renamed",
        }
    }

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChangeKind {
    #[default]
    File,
    Submodule,
}

impl ChangeKind {
    fn of_mode(mode: u32) -> ChangeKind {
        if mode == u32::from(git2::FileMode::Commit) { ChangeKind::Submodule } else { ChangeKind::File }
    }
}

/// One changed path, relative to the repository root. A path that is not
/// UTF-8 is written the way git quotes it (see `path_of`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub status: ChangeStatus,
    pub path: String,
    pub old_path: Option<String>,
    /// Shown for submodules only (`"kind": "submodule"` in the JSON).
    pub kind: ChangeKind,
}

impl Repo {
    /// Every change between two commits, renames detected as
    /// `git diff --name-status -M` does.
    pub(crate) fn diff(&self, base: &str, head: &str) -> Result<Vec<Change>> {
        let base_tree = self.repo.find_commit(Oid::from_str(base)?)?.tree()?;
        let head_tree = self.repo.find_commit(Oid::from_str(head)?)?.tree()?;
        self.diff_trees(Some(&base_tree), &head_tree)
    }

    /// One commit's own changes: against its first parent (for a merge, the
    /// branch it was merged into, as GitLab lists them), with the same rename
    /// detection as [`Repo::diff`]. A root commit, or one whose parent lies
    /// beyond a shallow clone's boundary, adds every file it holds.
    pub(crate) fn commit_changes(&self, sha: &str) -> Result<Vec<Change>> {
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
        let candidates = RenameCandidates::of(&raw);
        let odb = self.repo.odb().context("while opening the object database")?;
        let missing = self.fetch_missing_blobs(&odb, &candidates.sources, &candidates.destinations);
        let found = renames::detect(&candidates.sources, &candidates.destinations, &mut ObjectDatabase(&odb));
        missing.warn_uncompared(&odb, &candidates.sources, &candidates.destinations, &found.pairs);
        if let Some((deleted, added)) = found.skipped_inexact {
            tracing::warn!(
                "{added} added and {deleted} deleted files: only exact and same-name renames detected (git's diff.renameLimit is {})",
                renames::RENAME_LIMIT
            );
        }
        Ok(candidates.apply(raw, found.pairs))
    }

    /// Every file of a commit's tree, as if added: the change set of a full
    /// sync, in git's order.
    pub(crate) fn all_files(&self, head: &str) -> Result<Vec<Change>> {
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

/// The deleted files (rename sources) and the added files (destinations) of
/// a raw diff, in its order, with where each stands in it.
struct RenameCandidates {
    sources: Vec<renames::Candidate>,
    destinations: Vec<renames::Candidate>,
    source_raw: Vec<usize>,
    destination_raw: Vec<usize>,
}

impl RenameCandidates {
    fn of(raw: &[RawChange]) -> RenameCandidates {
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
        RenameCandidates { sources, destinations, source_raw, destination_raw }
    }

    /// The raw diff as changes, in its order: each paired destination a
    /// rename from its source, and the source itself left out.
    fn apply(&self, raw: Vec<RawChange>, pairs: Vec<(usize, usize)>) -> Vec<Change> {
        let mut renamed_from: HashMap<usize, usize> = HashMap::new();
        let mut moved_away = HashSet::new();
        for (source, destination) in pairs {
            renamed_from.insert(self.destination_raw[destination], source);
            moved_away.insert(self.source_raw[source]);
        }

        let mut changes = Vec::with_capacity(raw.len());
        for (index, change) in raw.into_iter().enumerate() {
            changes.push(match change {
                RawChange::Added(entry) => match renamed_from.get(&index) {
                    Some(source) => Change {
                        status: ChangeStatus::Renamed,
                        kind: ChangeKind::of_mode(entry.mode),
                        path: entry.path,
                        old_path: Some(self.sources[*source].path.clone()),
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
        changes
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
pub(super) fn path_of(bytes: &[u8]) -> String {
    let path = path_of_quietly(bytes);
    if std::str::from_utf8(bytes).is_err() {
        tracing::warn!("the path {path} is not UTF-8: it is shown quoted as git does, and no platform can read it");
    }
    path
}

/// `path_of` without its warning (for the files of a directory already
/// warned about).
pub(super) fn path_of_quietly(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.starts_with('"') => text.to_owned(),
        Ok(text) => quote_path(bytes, false).unwrap_or_else(|| text.to_owned()),
        Err(_) => quote_path(bytes, true).unwrap_or_default(),
    }
}

/// A path (UTF-8 already) as git prints it: C-quoted when it holds a
/// control character, so that printing it starts no new line.
pub(crate) fn quoted_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.chars().any(char::is_control).then(|| quote_path(path.as_bytes(), false)).flatten() {
        Some(quoted) => std::borrow::Cow::Owned(quoted),
        None => std::borrow::Cow::Borrowed(path),
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
