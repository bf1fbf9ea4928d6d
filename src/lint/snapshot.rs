//! The files the pre-flight reads, read once: from the range's head commit
//! (so CI and a local run agree) or from the working tree (`--worktree`).
//! Paths are repository-relative with `/` separators.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::path::Path;

use anyhow::{Context, Result};

use crate::bounded_file::{self, Refused};
use crate::git::repo::{self, BlobId, BlobReader, Repo};

use super::MAX_FILE_BYTES;

/// A file as the rules see it.
#[derive(Debug)]
enum Entry {
    /// Read up front (the working tree, a base's version of a file): its
    /// size, and its text when the rules read it.
    Read { size: u64, text: Option<String> },
    /// In a commit: its blob, read when a rule asks for its text (Markdown
    /// and YAML, `text`) and dropped after. Its size is learnt then, or from
    /// the blob's header when asked for first.
    Blob { blob: BlobId, size: Cell<Option<u64>>, text: bool },
}

/// The files below some directories, with the text of those the rules
/// parse: held for the working tree, read from the repository one file at
/// a time for a commit (a space of 100,000 pages is never held at once).
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    files: BTreeMap<String, Entry>,
    blobs: Option<BlobReader>,
    /// Whether a blob the clone lacks was reported (once: a partial clone
    /// lacks them all).
    told_missing: Cell<bool>,
}

/// Bytes as text: the bytes themselves when they are UTF-8 (no copy),
/// else with U+FFFD for what is not.
fn into_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned())
}

/// Whether the rules read this file's text: Markdown and YAML up to the
/// size GitBook takes. A larger file is listed, not kept: `too-large`
/// reports it.
pub(super) fn wanted(path: &str, size: u64) -> bool {
    size <= MAX_FILE_BYTES && is_text(path)
}

/// Markdown or YAML: a file whose text the rules read.
fn is_text(path: &str) -> bool {
    super::is_page(path) || super::is_yaml(path)
}

/// Where the files come from.
pub(crate) enum Source<'a> {
    Commit(&'a str),
    /// The working tree, without the paths git ignores (GitBook never sees
    /// them); a directory among them ends with `/`.
    Worktree(&'a HashSet<String>),
}

/// Reads the files below each directory (repository-relative, empty for the
/// root) from the commit or the working tree.
pub(crate) fn read_files(repo: &Repo, source: Source<'_>, directories: &[&str]) -> Result<Snapshot> {
    let mut snapshot = Snapshot::default();
    let mut directories: Vec<&str> = directories.to_vec();
    directories.sort_unstable();
    directories.dedup();
    // A directory inside another one is read with it.
    let outer: Vec<&str> = directories
        .iter()
        .copied()
        .filter(|dir| !directories.iter().any(|other| other != dir && is_inside(dir, other)))
        .collect();
    for directory in outer {
        match source {
            Source::Commit(commit) => {
                if snapshot.blobs.is_none() {
                    snapshot.blobs = Some(repo.blob_reader()?);
                }
                // Blobs now, sizes and text when a rule asks.
                repo.blobs_at(commit, directory, &mut |path, blob| {
                    let text = is_text(&path);
                    snapshot.files.insert(path, Entry::Blob { blob, size: Cell::new(None), text });
                })?;
            }
            Source::Worktree(ignored) => {
                let root = repo.workdir().context("the repository has no working tree")?;
                read_worktree(&root, directory, ignored, &mut snapshot)?;
            }
        }
    }
    Ok(snapshot)
}

fn read_worktree(root: &Path, directory: &str, ignored: &HashSet<String>, snapshot: &mut Snapshot) -> Result<()> {
    // Each directory as the file system names it, and as bytes for its
    // path's text (quoted as git quotes it when it is not UTF-8).
    let mut pending = vec![(root.join(directory), directory.as_bytes().to_vec())];
    while let Some((dir, dir_bytes)) = pending.pop() {
        let shown = || repo::file_path(&dir_bytes);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error).with_context(|| format!("while reading the directory {}", shown())),
        };
        for entry in entries {
            let entry = entry.with_context(|| format!("while reading the directory {}", shown()))?;
            let name = entry.file_name();
            let mut bytes = dir_bytes.clone();
            if !bytes.is_empty() {
                bytes.push(b'/');
            }
            bytes.extend_from_slice(name.as_encoded_bytes());
            let kind = entry.file_type().with_context(|| format!("while reading {}", repo::file_path(&bytes)))?;
            let path = repo::file_path(&bytes);
            if ignored.contains(&path) || (kind.is_dir() && ignored.contains(&format!("{path}/"))) {
                continue;
            }
            if kind.is_dir() {
                if name != ".git" {
                    repo::warn_if_not_utf8(&bytes);
                    pending.push((entry.path(), bytes));
                }
            } else if kind.is_file() {
                let listed = entry.metadata().with_context(|| format!("while reading {path}"))?.len();
                let (size, text) = if wanted(&path, listed) {
                    match bounded_file::read(&entry.path(), MAX_FILE_BYTES) {
                        Ok(bytes) => (listed, Some(into_text(bytes))),
                        // It grew past GitBook's limit after it was listed:
                        // `too-large`, like a file listed that large.
                        Err(Refused::TooLarge { .. }) => (MAX_FILE_BYTES + 1, None),
                        Err(refused) => {
                            return Err(anyhow::anyhow!("{refused}")).with_context(|| format!("while reading {path}"));
                        }
                    }
                } else {
                    (listed, None)
                };
                snapshot.files.insert(path, Entry::Read { size, text });
            }
        }
    }
    Ok(())
}

impl Snapshot {
    /// A snapshot of the given files (for tests): path and content.
    pub(crate) fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Snapshot {
        let files = files
            .into_iter()
            .map(|(path, text)| (path.to_owned(), Entry::Read { size: text.len() as u64, text: Some(text.to_owned()) }))
            .collect();
        Snapshot { files, ..Snapshot::default() }
    }

    /// Puts a commit's version of these files in place of the snapshot's
    /// (text and size): the base, where only they differ.
    pub(crate) fn take_from_commit<'a>(
        &mut self,
        repo: &Repo,
        commit: &str,
        paths: impl IntoIterator<Item = &'a String>,
    ) -> Result<()> {
        for path in paths {
            if let Some(file) = repo.file_at(commit, path, wanted)? {
                let text = file.content.map(into_text);
                self.files.insert(file.path, Entry::Read { size: file.size, text });
            }
        }
        Ok(())
    }

    pub(crate) fn exists(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// Whether some file lies below `path`.
    pub(crate) fn is_dir(&self, path: &str) -> bool {
        if path.is_empty() {
            return !self.files.is_empty();
        }
        let prefix = format!("{path}/");
        self.files.range(prefix.clone()..).next().is_some_and(|(p, _)| p.starts_with(&prefix))
    }

    /// The file's text, when the rules read it: borrowed when held, read
    /// from the repository otherwise (`None` when the clone lacks it, or
    /// when it is over the size GitBook takes: a blob is read whole once
    /// to learn that, then dropped).
    pub(crate) fn text(&self, path: &str) -> Option<Cow<'_, str>> {
        match self.files.get(path)? {
            Entry::Read { text, .. } => text.as_deref().map(Cow::Borrowed),
            Entry::Blob { text: false, .. } => None,
            Entry::Blob { blob, size, text: true } => {
                if size.get().is_some_and(|size| size > MAX_FILE_BYTES) {
                    return None;
                }
                let Some(bytes) = self.blobs.as_ref()?.read(*blob) else {
                    self.tell_missing(path);
                    return None;
                };
                size.set(Some(bytes.len() as u64));
                (bytes.len() as u64 <= MAX_FILE_BYTES).then(|| Cow::Owned(into_text(bytes)))
            }
        }
    }

    /// The file's size (0 when the clone lacks its blob).
    pub(crate) fn size(&self, path: &str) -> u64 {
        match self.files.get(path) {
            None => 0,
            Some(Entry::Read { size, .. }) => *size,
            Some(Entry::Blob { blob, size, .. }) => size.get().unwrap_or_else(|| {
                let read = self.blobs.as_ref().and_then(|blobs| blobs.size(*blob));
                if read.is_none() {
                    self.tell_missing(path);
                }
                size.set(Some(read.unwrap_or(0)));
                read.unwrap_or(0)
            }),
        }
    }

    fn tell_missing(&self, path: &str) {
        if !self.told_missing.replace(true) {
            tracing::warn!(
                "{path} is not in the clone (a partial clone?): its size and text are unknown, and so may be others'"
            );
        }
    }

    /// The files whose path is not UTF-8, listed quoted as git quotes them
    /// (`"docs/caf\351.png"`, which [`Snapshot::files_under`] cannot place
    /// below a directory): each quoted path with the path it stands for,
    /// lossily as text.
    pub(crate) fn quoted_files(&self) -> impl Iterator<Item = (&str, String)> + '_ {
        self.files
            .range::<str, _>((Bound::Included("\""), Bound::Excluded("#")))
            .map(|(path, _)| (path.as_str(), unquote(path)))
    }

    /// Every file below `directory` (empty: all), in path order.
    pub(crate) fn files_under<'a>(&'a self, directory: &str) -> impl Iterator<Item = &'a str> + 'a {
        let prefix = if directory.is_empty() { String::new() } else { format!("{directory}/") };
        self.files.range(prefix.clone()..).map(|(p, _)| p.as_str()).take_while(move |p| p.starts_with(&prefix))
    }
}

/// Where a path lies: itself, or for one quoted as git quotes a path that
/// is not UTF-8, the path it stands for (lossily as text).
pub(super) fn placed(path: &str) -> Cow<'_, str> {
    if path.starts_with('"') { Cow::Owned(unquote(path)) } else { Cow::Borrowed(path) }
}

/// A path quoted C-style as git quotes it, read back (as text, with U+FFFD
/// for bytes that are not UTF-8).
fn unquote(quoted: &str) -> String {
    let inner = quoted.strip_prefix('"').and_then(|rest| rest.strip_suffix('"')).unwrap_or(quoted);
    let mut bytes = Vec::with_capacity(inner.len());
    let mut rest = inner.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        if byte != b'\\' {
            bytes.push(byte);
            continue;
        }
        let Some((&escaped, tail)) = rest.split_first() else { break };
        rest = tail;
        let octal =
            |digits: &[u8]| digits.iter().try_fold(0u8, |n, d| (b'0'..=b'7').contains(d).then(|| n * 8 + (d - b'0')));
        match escaped {
            b'a' => bytes.push(0x07),
            b'b' => bytes.push(0x08),
            b't' => bytes.push(b'\t'),
            b'n' => bytes.push(b'\n'),
            b'v' => bytes.push(0x0b),
            b'f' => bytes.push(0x0c),
            b'r' => bytes.push(b'\r'),
            b'0'..=b'3' if rest.len() >= 2 && octal(&rest[..2]).is_some() => {
                bytes.push((escaped - b'0') * 64 + octal(&rest[..2]).unwrap_or_default());
                rest = &rest[2..];
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `dir/name`, or `name` for the root.
pub(super) fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
}

/// The directory of a path (empty for the root).
pub(super) fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

/// Whether `path` is `dir` or lies below it.
pub(super) fn is_inside(path: &str, dir: &str) -> bool {
    dir.is_empty() || path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

/// `path` relative to `dir`, which holds it.
pub(super) fn relative(path: &str, dir: &str) -> String {
    if dir.is_empty() {
        return path.to_owned();
    }
    path.strip_prefix(dir).and_then(|rest| rest.strip_prefix('/')).unwrap_or(path).to_owned()
}

/// `relative` resolved against `dir`: `.` and `..` applied, empty segments
/// dropped; `None` when it climbs above the repository root.
pub(super) fn resolve(dir: &str, relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = if relative.starts_with('/') { Vec::new() } else { dir.split('/').collect() };
    parts.retain(|p| !p.is_empty());
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            part => parts.push(part),
        }
    }
    Some(parts.join("/"))
}

/// A link of a page in `dir` resolved the way GitBook resolves it, like a
/// URL whose root is the space's `root`: `..` above the root stays there
/// (links GitBook exported rely on it); and whether it climbed above the
/// root so.
pub(super) fn resolve_within(root: &str, dir: &str, relative: &str) -> (String, bool) {
    let inside = self::relative(dir, root);
    let mut parts: Vec<&str> =
        if relative.starts_with('/') || dir == root { Vec::new() } else { inside.split('/').collect() };
    parts.retain(|p| !p.is_empty());
    let mut climbed_out = false;
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => climbed_out |= parts.pop().is_none(),
            part => parts.push(part),
        }
    }
    let resolved = if parts.is_empty() { root.to_owned() } else { join(root, &parts.join("/")) };
    (resolved, climbed_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_like_a_file_system() {
        assert_eq!(resolve("docs/guides", "../img/a.png").as_deref(), Some("docs/img/a.png"));
        assert_eq!(resolve("docs", "./a//b.md").as_deref(), Some("docs/a/b.md"));
        assert_eq!(resolve("", "../a.md"), None);
        assert!(is_inside("docs/a.md", "docs"));
        assert!(!is_inside("docsy/a.md", "docs"));
        assert_eq!(relative("docs/a/b.md", "docs"), "a/b.md");
        assert_eq!(resolve_within("docs", "docs/a", "../../../img/x.png"), ("docs/img/x.png".into(), true));
        assert_eq!(resolve_within("", "a/b", "../c.md"), ("a/c.md".into(), false));
        assert_eq!(resolve_within("docs", "docs", "./c.md"), ("docs/c.md".into(), false));
        assert_eq!(resolve_within("docs", "docs", "./"), ("docs".into(), false));
    }

    #[test]
    fn pages_and_yaml_are_read_up_to_gitbooks_own_limit() {
        // GitBook takes files up to 100 MB: the pre-flight reads every one
        // it takes, and lists the rest for `too-large`.
        assert!(wanted("docs/big.md", 50 * 1024 * 1024));
        assert!(wanted("docs/big.yaml", MAX_FILE_BYTES));
        assert!(!wanted("docs/big.md", MAX_FILE_BYTES + 1));
        assert!(!wanted("docs/image.png", 10));
    }

    #[test]
    fn files_under_a_directory_only() {
        let snapshot = Snapshot::from_files([("docs/a.md", ""), ("docs-old/b.md", ""), ("docs/x/c.md", "")]);
        assert_eq!(snapshot.files_under("docs").collect::<Vec<_>>(), ["docs/a.md", "docs/x/c.md"]);
        assert!(snapshot.is_dir("docs/x"));
        assert!(!snapshot.is_dir("docs/a"));
    }

    #[test]
    fn quoted_paths_read_back() {
        let snapshot = Snapshot::from_files([(r#""docs/caf\351/a\"b\\c\t.png""#, ""), ("docs/a.md", "")]);
        let quoted: Vec<(&str, String)> = snapshot.quoted_files().collect();
        assert_eq!(quoted, [(r#""docs/caf\351/a\"b\\c\t.png""#, "docs/caf\u{fffd}/a\"b\\c\t.png".to_owned())]);
    }
}
