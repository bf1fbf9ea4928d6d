//! The working tree as `docsync lint --worktree` reads it: what differs from
//! HEAD (staged, unstaged and untracked files, as `git status` lists them)
//! and what git ignores, and the range's changes carried on to the working
//! tree.

use std::collections::{BTreeMap, HashSet};

use anyhow::{Context, Result};
use git2::{Status, StatusOptions};

use crate::git::diff::{Change, ChangeKind, ChangeStatus, path_of};
use crate::git::repo::Repo;

/// The working tree against HEAD.
#[derive(Debug, Default)]
pub(crate) struct WorktreeStatus {
    /// What a commit of everything (`git add -A`) would change.
    pub changes: Vec<Change>,
    /// Paths git ignores; a directory ends with `/` (its content is not
    /// listed).
    pub ignored: HashSet<String>,
}

impl Repo {
    /// The working tree's changes against HEAD, index included, with
    /// untracked files as added and renames paired (libgit2's similarity,
    /// as `git status` shows them); and the paths git ignores.
    pub(crate) fn worktree_status(&self) -> Result<WorktreeStatus> {
        let mut options = StatusOptions::new();
        options
            .include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(true)
            .recurse_ignored_dirs(false)
            .exclude_submodules(true)
            .renames_head_to_index(true)
            .renames_index_to_workdir(true);
        let statuses = self.repo.statuses(Some(&mut options)).context("while reading the working tree's status")?;
        let mut status = WorktreeStatus::default();
        for entry in statuses.iter() {
            let flags = entry.status();
            if flags.contains(Status::IGNORED) {
                status.ignored.insert(path_of(entry.path_bytes()));
                continue;
            }
            let staged = entry.head_to_index();
            let unstaged = entry.index_to_workdir();
            // The path at HEAD (none for a file new in the index or
            // untracked) and in the working tree (none when deleted).
            let at_head = match (&staged, &unstaged) {
                _ if flags.intersects(Status::INDEX_NEW) => None,
                _ if flags.intersects(Status::WT_NEW) && staged.is_none() => None,
                (Some(delta), _) => delta.old_file().path_bytes().map(path_of),
                (None, Some(delta)) => delta.old_file().path_bytes().map(path_of),
                (None, None) => None,
            };
            let in_worktree = match (&staged, &unstaged) {
                _ if flags.intersects(Status::WT_DELETED) => None,
                (_, Some(delta)) => delta.new_file().path_bytes().map(path_of),
                _ if flags.intersects(Status::INDEX_DELETED) => None,
                (Some(delta), None) => delta.new_file().path_bytes().map(path_of),
                (None, None) => None,
            };
            let change = |status, path: String, old_path| Change { status, path, old_path, kind: ChangeKind::File };
            status.changes.push(match (at_head, in_worktree) {
                (Some(old), Some(new)) if old == new => change(ChangeStatus::Modified, new, None),
                (Some(old), Some(new)) => change(ChangeStatus::Renamed, new, Some(old)),
                (None, Some(new)) => change(ChangeStatus::Added, new, None),
                (Some(old), None) => change(ChangeStatus::Deleted, old, None),
                (None, None) => continue,
            });
        }
        Ok(status)
    }
}

/// The range's changes (base → HEAD) carried on by the working tree's
/// (HEAD → working tree): what the range would change once everything is
/// committed. A file the range added and the working tree deletes is no
/// change; a rename followed by a rename is one rename.
pub(crate) fn carry_on(range: Vec<Change>, worktree: Vec<Change>) -> Vec<Change> {
    // By path at HEAD, and the range's deletions by path at the base.
    let mut at_head: BTreeMap<String, Change> = BTreeMap::new();
    let mut deleted: BTreeMap<String, Change> = BTreeMap::new();
    for change in range {
        match change.status {
            ChangeStatus::Deleted => deleted.insert(change.path.clone(), change),
            _ => at_head.insert(change.path.clone(), change),
        };
    }
    let file = |status, path: String, old_path| Change { status, path, old_path, kind: ChangeKind::File };
    for change in worktree {
        match change.status {
            ChangeStatus::Modified => {
                at_head.entry(change.path.clone()).or_insert(change);
            }
            ChangeStatus::Added => match deleted.remove(&change.path) {
                Some(_) => {
                    at_head.insert(change.path.clone(), file(ChangeStatus::Modified, change.path, None));
                }
                None => {
                    at_head.insert(change.path.clone(), change);
                }
            },
            ChangeStatus::Deleted => {
                let gone = match at_head.remove(&change.path) {
                    Some(earlier) if earlier.status == ChangeStatus::Added => None,
                    Some(earlier) => earlier.old_path.or(Some(change.path)),
                    None => Some(change.path),
                };
                if let Some(path) = gone {
                    deleted.insert(path.clone(), file(ChangeStatus::Deleted, path, None));
                }
            }
            ChangeStatus::Renamed => {
                let from = change.old_path.clone().unwrap_or_default();
                let carried = match at_head.remove(&from) {
                    Some(earlier) if earlier.status == ChangeStatus::Added => {
                        file(ChangeStatus::Added, change.path, None)
                    }
                    Some(Change { old_path: Some(base_path), .. }) if base_path == change.path => {
                        file(ChangeStatus::Modified, change.path, None)
                    }
                    Some(Change { old_path: Some(base_path), .. }) => {
                        file(ChangeStatus::Renamed, change.path, Some(base_path))
                    }
                    _ => change,
                };
                at_head.insert(carried.path.clone(), carried);
            }
        }
    }
    let mut changes: Vec<Change> = at_head.into_values().chain(deleted.into_values()).collect();
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(status: ChangeStatus, path: &str, old_path: Option<&str>) -> Change {
        Change { status, path: path.into(), old_path: old_path.map(str::to_owned), kind: ChangeKind::File }
    }

    #[test]
    fn the_working_tree_carries_the_range_on() {
        use ChangeStatus::{Added, Deleted, Modified, Renamed};
        let range = vec![
            change(Added, "new.md", None),
            change(Renamed, "b.md", Some("a.md")),
            change(Deleted, "gone.md", None),
            change(Modified, "m.md", None),
            change(Renamed, "r2.md", Some("r1.md")),
        ];
        let worktree = vec![
            change(Deleted, "new.md", None),
            change(Renamed, "c.md", Some("b.md")),
            change(Added, "gone.md", None),
            change(Deleted, "m.md", None),
            change(Added, "u.md", None),
            change(Renamed, "r1.md", Some("r2.md")),
        ];
        assert_eq!(
            carry_on(range, worktree),
            [
                change(Renamed, "c.md", Some("a.md")),
                change(Modified, "gone.md", None),
                change(Deleted, "m.md", None),
                change(Modified, "r1.md", None),
                change(Added, "u.md", None),
            ]
        );
    }
}
