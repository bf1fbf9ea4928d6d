//! Differential test: docsync's change set against git's own.
//!
//! docsync computes the change set without git (libgit2's tree diff, its own
//! rename detection) and promises the answer of
//! `git diff --name-status -M <base> <head>`. Seeded random histories, built
//! with the git CLI, give many pairs of commits; for each pair the changes of
//! `docsync plan --format json` must equal, as a multiset, what git prints.
//! Random commit pairs then probe rename scoring at any similarity, and
//! focused cases pin down disagreements found this way, each with the
//! smallest history that shows it.
//!
//! Replay one history with `DOCSYNC_DIFFERENTIAL_SEED=<seed>`: the same seed
//! gives the same commits (identity, clock and configuration are fixed), and
//! the repository is kept for inspection.
#![cfg(unix)] // Symbolic links and the executable bit are part of the mix.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;
use tempfile::TempDir;

/// Random histories per run: with their ~700 ranges, about 30 s of CPU in
/// a debug build.
const HISTORIES: u64 = 40;

/// Steps (commits, or branch episodes of several commits) per history.
const STEPS: (usize, usize) = (15, 30);

/// A text file is edited at most this many lines (in place, the line count
/// unchanged) before it is rewritten from scratch. With at least
/// `MIN_LINES` lines, any two versions of one content are thus ≥ 75 %
/// similar, and a rewrite is ~0 % similar to what it replaced: every pair
/// stays far from the 50 % rename threshold. These histories test the
/// structure of change sets; `rename_pairing_matches_git_at_any_similarity`
/// tests the scoring.
const MAX_EDITS: u32 = 6;
const MIN_LINES: usize = 24;
const MAX_LINES: usize = 40;

/// Commit dates start here and advance one minute per commit.
const EPOCH: u64 = 1_700_000_000;

// Paths mix nesting, spaces, accents (composed and decomposed), CJK, emoji,
// quotes, a tab, a backslash and a leading dash. Directory names never carry
// an extension and file names always do, so a file and a directory collide
// only through `Op::MoveIntoOwnDir`, which does it on purpose.
const DIRS: &[&str] =
    &["docs", "guide", "api", "Über uns", "résumé", "re\u{301}sume\u{301}", "日本語", "with space", "🚀 launch"];
const STEMS: &[&str] = &[
    "README",
    "readme",
    "index",
    "Getting started",
    "café",
    "cafe\u{301}",
    "naïve notes",
    "über",
    "設定",
    "入門 ガイド",
    "Zürich",
    "say \"hi\"",
    "it's",
    "-dash",
    "tab\there",
    "back\\slash",
];
const EXTENSIONS: &[&str] = &[".md", ".txt"];
const WORDS: &[&str] = &["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"];

// ---------------------------------------------------------------------------
// Random histories compared with git
// ---------------------------------------------------------------------------

#[test]
fn change_sets_match_git_on_random_histories() {
    let replay = replay_seed();
    let seeds: Vec<u64> = replay.map_or_else(|| (1..=HISTORIES).collect(), |seed| vec![seed]);
    let mut seen = Coverage::default();
    let mut failures = Vec::new();
    for checked in in_parallel(&seeds, |seed| check_history(seed, replay.is_some())) {
        seen.absorb(&checked.coverage);
        failures.extend(checked.failures);
    }
    println!("{seen:#?}");
    assert_no_failures(&failures, seen.ranges);
    if replay.is_none() {
        seen.assert_broad();
    }
}

/// `DOCSYNC_DIFFERENTIAL_SEED`: check only this seed, and keep its repository.
fn replay_seed() -> Option<u64> {
    let seed = std::env::var("DOCSYNC_DIFFERENTIAL_SEED").ok()?;
    Some(seed.parse().expect("DOCSYNC_DIFFERENTIAL_SEED should be a number, as printed by a failure"))
}

/// Runs `work` for every seed on a few threads; results in seed order.
/// The work mostly waits on git and docsync processes, so even two cores
/// gain from it.
fn in_parallel<T: Send>(seeds: &[u64], work: impl Fn(u64) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, usize::from).clamp(1, 4);
    let mut results: Vec<(u64, T)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    while let Some(&seed) = seeds.get(next.fetch_add(1, Ordering::Relaxed)) {
                        done.push((seed, work(seed)));
                    }
                    done
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    results.sort_by_key(|(seed, _)| *seed);
    results.into_iter().map(|(_, result)| result).collect()
}

/// Fails with one line per disagreeing range, then the first few in full.
fn assert_no_failures(failures: &[String], ranges: usize) {
    const SHOWN: usize = 8;
    let index: Vec<&str> =
        failures.iter().filter_map(|failure| failure.lines().next()).map(|line| line.trim_end_matches(':')).collect();
    assert!(
        failures.is_empty(),
        "{} of {ranges} ranges disagree with `git diff --name-status -M` (replay one with \
         DOCSYNC_DIFFERENTIAL_SEED=<seed>):\n  {}\n\nThe first {} in full:\n\n{}",
        failures.len(),
        index.join("\n  "),
        failures.len().min(SHOWN),
        failures[..failures.len().min(SHOWN)].join("\n\n")
    );
}

/// One history's outcome: a description of each range that disagrees.
struct Checked {
    failures: Vec<String>,
    coverage: Coverage,
}

fn check_history(seed: u64, keep: bool) -> Checked {
    let history = History::generate(seed);
    let mut checked = Checked { failures: Vec::new(), coverage: Coverage::default() };
    for range in history.ranges() {
        let git = git_changes(&history.sandbox, &range.base, &range.head);
        let docsync = docsync_changes(&history.sandbox, &range.base, &range.head);
        checked.coverage.record(&range, &git);
        if let Some(difference) = describe_difference(&docsync, &git.changes) {
            checked.failures.push(format!(
                "seed {seed}, {} ({}..{}):\n{difference}",
                range.label,
                short(&range.base),
                short(&range.head)
            ));
        }
    }
    if keep {
        let kept = history.sandbox.keep();
        eprintln!("seed {seed}: repository kept at {kept}");
    }
    checked
}

/// What the compared ranges contained, so that a generator that quietly
/// stopped producing renames or merges fails instead of passing vacuously.
#[derive(Debug, Default)]
struct Coverage {
    ranges: usize,
    siblings: usize,
    across_merge: usize,
    added: usize,
    modified: usize,
    deleted: usize,
    renamed: usize,
    type_changed: usize,
    empty: usize,
}

impl Coverage {
    fn absorb(&mut self, other: &Coverage) {
        self.ranges += other.ranges;
        self.siblings += other.siblings;
        self.across_merge += other.across_merge;
        self.added += other.added;
        self.modified += other.modified;
        self.deleted += other.deleted;
        self.renamed += other.renamed;
        self.type_changed += other.type_changed;
        self.empty += other.empty;
    }

    fn record(&mut self, range: &Range, git: &GitChanges) {
        self.ranges += 1;
        self.siblings += usize::from(range.kind == RangeKind::Siblings);
        self.across_merge += usize::from(range.kind == RangeKind::AcrossMerge);
        self.type_changed += git.type_changes;
        self.empty += usize::from(git.changes.is_empty());
        for change in &git.changes {
            match change {
                Change::Added(_) => self.added += 1,
                Change::Modified(_) => self.modified += 1,
                Change::Deleted(_) => self.deleted += 1,
                Change::Renamed { .. } => self.renamed += 1,
            }
        }
    }

    fn assert_broad(&self) {
        let counts = [
            ("ranges", self.ranges, 400),
            ("ranges between sibling commits", self.siblings, 40),
            ("ranges across a merge", self.across_merge, 80),
            ("added files", self.added, 500),
            ("modified files", self.modified, 500),
            ("deleted files", self.deleted, 200),
            ("renamed files", self.renamed, 200),
            ("type changes (file ↔ symlink)", self.type_changed, 10),
            ("empty change sets", self.empty, 10),
        ];
        for (what, seen, least) in counts {
            assert!(seen >= least, "the random histories gave only {seen} {what} (expected at least {least})");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeKind {
    /// Base is an ancestor of head on one line of history.
    Linear,
    /// Head is a merge commit, or the range contains one.
    AcrossMerge,
    /// Base and head are on sibling lines: the two trees are compared.
    Siblings,
    /// Two commits picked anywhere, in either order.
    Arbitrary,
}

struct Range {
    base: String,
    head: String,
    kind: RangeKind,
    /// How the range was chosen, for the failure message.
    label: String,
}

/// Which line of history may touch an entry while a branch is open. The
/// two lines own disjoint entries, so the merge is always clean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Main,
    Topic,
}

#[derive(Debug, Clone)]
enum Body {
    Text {
        lines: Vec<String>,
        executable: bool,
    },
    /// A symbolic link, by its target.
    Link(String),
}

#[derive(Debug, Clone)]
struct Entry {
    body: Body,
    /// Lines edited since the content was last written from scratch.
    edits: u32,
    owner: Side,
}

/// A line of history's tree, as the generator knows it.
type Tree = BTreeMap<String, Entry>;

#[derive(Debug, Clone, Copy)]
enum Op {
    AddText,
    AddLink,
    Modify,
    Rewrite,
    Delete,
    Rename,
    RenameEdited,
    /// `x.md` becomes `x.md/index.md`: a file turns into a directory.
    MoveIntoOwnDir,
    ToggleExecutable,
    FileToLink,
    LinkToFile,
}

/// Relative weights of the operations within a commit.
const OPS: &[(Op, usize)] = &[
    (Op::AddText, 20),
    (Op::AddLink, 3),
    (Op::Modify, 20),
    (Op::Rewrite, 6),
    (Op::Delete, 10),
    (Op::Rename, 12),
    (Op::RenameEdited, 12),
    (Op::MoveIntoOwnDir, 2),
    (Op::ToggleExecutable, 5),
    (Op::FileToLink, 3),
    (Op::LinkToFile, 2),
];

struct History {
    seed: u64,
    rng: Rng,
    sandbox: Sandbox,
    /// The checked-out line's tree.
    tree: Tree,
    /// While a topic branch is open, the other line's tree: new paths must
    /// be free in both, or the merge would conflict.
    other: Option<Tree>,
    side: Side,
    /// Makes every content unique (see `fresh_text`).
    next_content: u64,
    /// Every commit, in creation order.
    commits: Vec<String>,
    /// `main`'s first-parent chain, root first.
    main_line: Vec<String>,
    merges: BTreeSet<String>,
    /// Ranges around each merge, chosen while the history is built.
    merge_ranges: Vec<Range>,
}

impl History {
    fn generate(seed: u64) -> History {
        let mut history = History {
            seed,
            rng: Rng::new(seed),
            sandbox: Sandbox::new(),
            tree: Tree::new(),
            other: None,
            side: Side::Main,
            next_content: 0,
            commits: Vec::new(),
            main_line: Vec::new(),
            merges: BTreeSet::new(),
            merge_ranges: Vec::new(),
        };
        for _ in 0..history.rng.between(3, 6) {
            history.apply(Op::AddText);
        }
        history.commit("initial pages");

        let steps = history.rng.between(STEPS.0, STEPS.1);
        let mut topics = 0;
        while history.main_line.len() < steps {
            match history.rng.below(100) {
                0..=5 => history.commit("nothing changed"),
                6..=15 => {
                    topics += 1;
                    history.topic_branch(topics);
                }
                _ => history.change_commit(),
            }
        }
        history.check_tree();
        history
    }

    fn change_commit(&mut self) {
        for _ in 0..self.rng.between(1, 4) {
            let op = self.rng.weighted(OPS);
            self.apply(op);
        }
        self.commit("edit pages");
    }

    fn commit(&mut self, message: &str) {
        let sha = self.sandbox.commit(message);
        self.commits.push(sha.clone());
        if self.side == Side::Main {
            self.main_line.push(sha);
        }
    }

    /// Forks a topic branch, commits on both lines, merges with `--no-ff`.
    fn topic_branch(&mut self, number: usize) {
        let fork = self.main_line.last().expect("the history has a root commit").clone();
        for entry in self.tree.values_mut() {
            entry.owner = if self.rng.chance(50) { Side::Topic } else { Side::Main };
        }
        let name = format!("topic-{number}");
        self.sandbox.git(&["checkout", "-q", "-b", &name]);
        self.other = Some(self.tree.clone());
        self.side = Side::Topic;
        for _ in 0..self.rng.between(1, 3) {
            self.change_commit();
        }
        let topic_tip = self.commits.last().expect("the topic has commits").clone();

        self.sandbox.git(&["checkout", "-q", "main"]);
        std::mem::swap(&mut self.tree, self.other.as_mut().expect("a topic is open"));
        self.side = Side::Main;
        for _ in 0..self.rng.between(1, 3) {
            self.change_commit();
        }
        let main_tip = self.main_line.last().expect("main has commits").clone();

        // Directory rename detection could move one line's new file into
        // the other line's renamed directory; the generator's tree would no
        // longer match, so it is off.
        self.sandbox.tick();
        let message = format!("merge {name}");
        self.sandbox.git(&["-c", "merge.directoryRenames=false", "merge", "-q", "--no-ff", "-m", &message, &name]);
        let merge = self.sandbox.head();
        self.commits.push(merge.clone());
        self.main_line.push(merge.clone());
        self.merges.insert(merge.clone());

        let topic_tree = self.other.take().expect("a topic is open");
        let mut merged: Tree =
            std::mem::take(&mut self.tree).into_iter().filter(|(_, e)| e.owner == Side::Main).collect();
        merged.extend(topic_tree.into_iter().filter(|(_, e)| e.owner == Side::Topic));
        for entry in merged.values_mut() {
            entry.owner = Side::Main;
        }
        self.tree = merged;

        let range = |base: &String, head: &String, kind, label: String| Range {
            base: base.clone(),
            head: head.clone(),
            kind,
            label: format!("{name}: {label}"),
        };
        self.merge_ranges.extend([
            range(&main_tip, &merge, RangeKind::AcrossMerge, "first parent..merge".into()),
            range(&topic_tip, &merge, RangeKind::AcrossMerge, "second parent..merge".into()),
            range(&fork, &merge, RangeKind::AcrossMerge, "fork point..merge".into()),
            range(&topic_tip, &main_tip, RangeKind::Siblings, "topic tip..main tip (siblings)".into()),
            range(&main_tip, &topic_tip, RangeKind::Siblings, "main tip..topic tip (siblings)".into()),
        ]);
    }

    /// The ranges to compare: consecutive commits, longer spans, the whole
    /// history, ranges around merges, sibling and reversed pairs, and a
    /// commit compared with itself.
    fn ranges(&self) -> Vec<Range> {
        let line = &self.main_line;
        let last = line.len() - 1;
        let mut rng = Rng::new(self.seed ^ 0x5EED);
        let mut ranges = Vec::new();
        let kind_along_main = |from: usize, to: usize| {
            if line[from + 1..=to].iter().any(|sha| self.merges.contains(sha)) {
                RangeKind::AcrossMerge
            } else {
                RangeKind::Linear
            }
        };

        for _ in 0..3 {
            let to = rng.between(1, last);
            ranges.push(Range {
                base: line[to - 1].clone(),
                head: line[to].clone(),
                kind: kind_along_main(to - 1, to),
                label: format!("main~{}..main~{}", last - to + 1, last - to),
            });
        }
        for _ in 0..2 {
            let back = rng.between(2, last);
            ranges.push(Range {
                base: line[last - back].clone(),
                head: line[last].clone(),
                kind: kind_along_main(last - back, last),
                label: format!("main~{back}..main"),
            });
        }
        ranges.push(Range {
            base: line[0].clone(),
            head: line[last].clone(),
            kind: kind_along_main(0, last),
            label: "root..main".into(),
        });
        ranges.extend(self.merge_ranges.iter().map(|r| Range {
            base: r.base.clone(),
            head: r.head.clone(),
            kind: r.kind,
            label: r.label.clone(),
        }));
        for _ in 0..2 {
            let (a, b) = (rng.pick(&self.commits), rng.pick(&self.commits));
            // Either order, and either line: the trees are compared all the same.
            ranges.push(Range {
                base: a.clone(),
                head: b.clone(),
                kind: RangeKind::Arbitrary,
                label: "any two commits".into(),
            });
        }
        let same = rng.pick(&self.commits);
        ranges.push(Range { base: same.clone(), head: same.clone(), kind: RangeKind::Linear, label: "X..X".into() });

        let mut unique = BTreeSet::new();
        ranges.retain(|r| unique.insert((r.base.clone(), r.head.clone())));
        ranges
    }

    fn apply(&mut self, op: Op) {
        let done = match op {
            Op::AddText => self.add(false),
            Op::AddLink => self.add(true),
            Op::Modify => self.modify(),
            Op::Rewrite => self.rewrite(),
            Op::Delete => self.delete(),
            Op::Rename => self.rename(false),
            Op::RenameEdited => self.rename(true),
            Op::MoveIntoOwnDir => self.move_into_own_dir(),
            Op::ToggleExecutable => self.toggle_executable(),
            Op::FileToLink => self.file_to_link(),
            Op::LinkToFile => self.link_to_file(),
        };
        // An operation with nothing to act on (no symlink to retarget, say)
        // still changes something.
        if !done && !matches!(op, Op::AddText) {
            self.add(false);
        }
    }

    fn add(&mut self, link: bool) -> bool {
        let Some(path) = self.free_path() else { return false };
        let body = if link { Body::Link(self.fresh_target()) } else { self.fresh_text(&path, false) };
        self.put(path, Entry { body, edits: 0, owner: self.side });
        true
    }

    fn modify(&mut self) -> bool {
        let Some(path) = self.pick_owned(|_| true) else { return false };
        let mut entry = self.tree[&path].clone();
        match &mut entry.body {
            Body::Text { .. } if entry.edits >= MAX_EDITS => return self.rewrite_path(path),
            Body::Text { lines, .. } => self.edit_line(lines, entry.edits),
            Body::Link(target) => *target = self.fresh_target(),
        }
        entry.edits += 1;
        self.put(path, entry);
        true
    }

    fn rewrite(&mut self) -> bool {
        let Some(path) = self.pick_owned(|_| true) else { return false };
        self.rewrite_path(path)
    }

    fn rewrite_path(&mut self, path: String) -> bool {
        let mut entry = self.tree[&path].clone();
        entry.body = match entry.body {
            Body::Text { executable, .. } => self.fresh_text(&path, executable),
            Body::Link(_) => Body::Link(self.fresh_target()),
        };
        entry.edits = 0;
        self.put(path, entry);
        true
    }

    fn delete(&mut self) -> bool {
        let Some(path) = self.pick_owned(|_| true) else { return false };
        self.tree.remove(&path);
        let full = self.sandbox.root().join(&path);
        fs::remove_file(&full).expect("deleting a file");
        prune_empty_dirs(self.sandbox.root(), &path);
        true
    }

    fn rename(&mut self, edit: bool) -> bool {
        let Some(from) = self.pick_owned(|_| true) else { return false };
        // Half the renames keep the directory (which includes case-only
        // and composed/decomposed renames), half move the file anywhere.
        let to = if self.rng.chance(50) {
            let dir = from.rsplit_once('/').map(|(dir, _)| format!("{dir}/")).unwrap_or_default();
            let candidate = format!("{dir}{}", self.file_name());
            self.is_free(&candidate).then_some(candidate)
        } else {
            self.free_path()
        };
        let Some(to) = to else { return false };
        self.move_file(&from, &to);
        let mut entry = self.tree.remove(&from).expect("the renamed file is in the tree");
        if edit && entry.edits < MAX_EDITS {
            if let Body::Text { lines, .. } = &mut entry.body {
                self.edit_line(lines, entry.edits);
                entry.edits += 1;
            }
        }
        self.put(to, entry);
        true
    }

    fn move_into_own_dir(&mut self) -> bool {
        let Some(from) = self.pick_owned(|e| matches!(e.body, Body::Text { .. })) else { return false };
        let to = format!("{from}/index.md");
        let entry = self.tree.remove(&from).expect("the moved file is in the tree");
        if !self.is_free(&to) {
            self.tree.insert(from, entry);
            return false;
        }
        // The directory cannot be created where the file still is: go
        // through a name no generated path uses.
        let parked = ".parked";
        self.move_file(&from, parked);
        self.move_file(parked, &to);
        self.tree.insert(to, entry);
        true
    }

    fn toggle_executable(&mut self) -> bool {
        let Some(path) = self.pick_owned(|e| matches!(e.body, Body::Text { .. })) else { return false };
        let mut entry = self.tree[&path].clone();
        if let Body::Text { executable, .. } = &mut entry.body {
            *executable = !*executable;
        }
        self.put(path, entry);
        true
    }

    fn file_to_link(&mut self) -> bool {
        let Some(path) = self.pick_owned(|e| matches!(e.body, Body::Text { .. })) else { return false };
        let mut entry = self.tree[&path].clone();
        entry.body = Body::Link(self.fresh_target());
        entry.edits = 0;
        self.put(path, entry);
        true
    }

    fn link_to_file(&mut self) -> bool {
        let Some(path) = self.pick_owned(|e| matches!(e.body, Body::Link(_))) else { return false };
        let mut entry = self.tree[&path].clone();
        entry.body = self.fresh_text(&path, false);
        entry.edits = 0;
        self.put(path, entry);
        true
    }

    /// Renames a file in the working tree. git records trees, not moves:
    /// this and the commit's `git add -A` give the tree `git mv` would, for
    /// two git processes less per rename.
    fn move_file(&mut self, from: &str, to: &str) {
        let root = self.sandbox.root();
        if let Some((dir, _)) = to.rsplit_once('/') {
            fs::create_dir_all(root.join(dir)).expect("creating the rename's directory");
        }
        fs::rename(root.join(from), root.join(to)).expect("renaming a file");
        prune_empty_dirs(root, from);
    }

    /// Records an entry and writes it to the working tree.
    fn put(&mut self, path: String, entry: Entry) {
        let full = self.sandbox.root().join(&path);
        if let Some(dir) = full.parent() {
            fs::create_dir_all(dir).expect("creating a file's directory");
        }
        if full.symlink_metadata().is_ok() {
            fs::remove_file(&full).expect("removing the file being replaced");
        }
        match &entry.body {
            Body::Text { lines, executable } => {
                fs::write(&full, lines.join("\n") + "\n").expect("writing a file");
                let mode = if *executable { 0o755 } else { 0o644 };
                fs::set_permissions(&full, fs::Permissions::from_mode(mode)).expect("setting a file's mode");
            }
            Body::Link(target) => symlink(target, &full).expect("creating a symbolic link"),
        }
        self.tree.insert(path, entry);
    }

    /// A new text. Every line carries a number no other content has, so
    /// that two files are never alike: when two deleted files have the same
    /// content, which one an added file was renamed from is arbitrary, in
    /// git as in libgit2, and the comparison would fail for no fault.
    fn fresh_text(&mut self, path: &str, executable: bool) -> Body {
        self.next_content += 1;
        let id = self.next_content;
        let count = self.rng.between(MIN_LINES, MAX_LINES);
        let mut lines = vec![format!("# {path} (content {id})")];
        for number in 1..count {
            let words: Vec<&str> = (0..4).map(|_| *self.rng.pick(WORDS)).collect();
            lines.push(format!("{id}.{number} {}", words.join(" ")));
        }
        Body::Text { lines, executable }
    }

    fn fresh_target(&mut self) -> String {
        self.next_content += 1;
        format!("../target {}/page.md", self.next_content)
    }

    /// Replaces one line with one of about the same length.
    fn edit_line(&mut self, lines: &mut [String], edits: u32) {
        let number = self.rng.below(lines.len());
        let prefix = lines[number].split(' ').next().unwrap_or_default().to_owned();
        let words: Vec<&str> = (0..3).map(|_| *self.rng.pick(WORDS)).collect();
        lines[number] = format!("{prefix} edit{} {}", edits + 1, words.join(" "));
    }

    fn pick_owned(&mut self, wanted: impl Fn(&Entry) -> bool) -> Option<String> {
        let candidates: Vec<&String> =
            self.tree.iter().filter(|(_, e)| e.owner == self.side && wanted(e)).map(|(path, _)| path).collect();
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[self.rng.below(candidates.len())].clone())
    }

    fn file_name(&mut self) -> String {
        format!("{}{}", self.rng.pick(STEMS), self.rng.pick(EXTENSIONS))
    }

    /// A random path where a file can be created, or `None` after a few tries.
    fn free_path(&mut self) -> Option<String> {
        for _ in 0..20 {
            let mut path = String::new();
            for _ in 0..self.rng.below(3) {
                let dir = *self.rng.pick(DIRS);
                path.push_str(dir);
                path.push('/');
            }
            path.push_str(&self.file_name());
            if self.is_free(&path) {
                return Some(path);
            }
        }
        None
    }

    /// Whether a file can be created at `path` on this line without a
    /// file/directory clash here, or a conflict at the merge.
    fn is_free(&self, path: &str) -> bool {
        let free_in = |tree: &Tree| {
            let as_dir = format!("{path}/");
            let is_dir = tree.range(as_dir.clone()..).next().is_some_and(|(p, _)| p.starts_with(&as_dir));
            let under_file = path.match_indices('/').any(|(at, _)| tree.contains_key(&path[..at]));
            !tree.contains_key(path) && !is_dir && !under_file
        };
        free_in(&self.tree) && self.other.as_ref().is_none_or(free_in)
    }

    /// The generator's tree must be what git committed, or the operations
    /// chosen from it would not be the ones intended.
    fn check_tree(&self) {
        let listing = self.sandbox.git(&["ls-tree", "-r", "-z", "HEAD"]);
        let listing = String::from_utf8(listing).expect("git lists UTF-8 paths");
        let committed: BTreeMap<&str, &str> = listing
            .split_terminator('\0')
            .map(|line| {
                let (info, path) = line.split_once('\t').expect("ls-tree separates the path with a tab");
                (path, info.split(' ').next().unwrap_or_default())
            })
            .collect();
        let expected: BTreeMap<&str, &str> = self
            .tree
            .iter()
            .map(|(path, entry)| {
                let mode = match entry.body {
                    Body::Text { executable: true, .. } => "100755",
                    Body::Text { executable: false, .. } => "100644",
                    Body::Link(_) => "120000",
                };
                (path.as_str(), mode)
            })
            .collect();
        assert_eq!(committed, expected, "seed {}: the generator lost track of the tree", self.seed);
    }
}

/// Removes the directories a deletion or rename left empty, so that a file
/// can later take a directory's name (git does not track directories).
fn prune_empty_dirs(root: &Path, path: &str) {
    let mut dir = Path::new(path).parent();
    while let Some(current) = dir.filter(|d| !d.as_os_str().is_empty()) {
        if fs::remove_dir(root.join(current)).is_err() {
            break;
        }
        dir = current.parent();
    }
}

/// splitmix64: tiny, deterministic, and plenty for choosing test inputs.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n`; the modulo bias does not matter here.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn between(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn weighted<T: Copy>(&mut self, items: &[(T, usize)]) -> T {
        let mut left = self.below(items.iter().map(|(_, weight)| weight).sum());
        for &(item, weight) in items {
            if left < weight {
                return item;
            }
            left -= weight;
        }
        unreachable!("the draw is below the total weight")
    }
}

// ---------------------------------------------------------------------------
// Rename pairing at any similarity
// ---------------------------------------------------------------------------

/// Commit pairs per run for the similarity cases.
const SIMILARITY_CASES: u64 = 150;

/// The histories above keep every rename far from the 50 % line, so that
/// they test structure rather than scoring. Here a few deleted and added
/// files are related by edits of any size: scores land everywhere,
/// including on the threshold, and in git's special cases (a unique file
/// name at 75 %, empty files, CRLF, binary content, lines over git's 64-byte
/// chunks, re-indentation, several sources competing for one file).
#[test]
fn rename_pairing_matches_git_at_any_similarity() {
    let replay = replay_seed();
    let cases: Vec<u64> = replay.map_or_else(|| (1..=SIMILARITY_CASES).collect(), |seed| vec![seed]);
    let mut pairs = 0;
    let mut renamed = 0;
    let mut near_threshold = 0;
    let mut failures = Vec::new();
    for (sandbox, base, head, git, difference) in in_parallel(&cases, |seed| {
        let (sandbox, base, head) = similarity_case(seed);
        let git = git_changes(&sandbox, &base, &head);
        let docsync = docsync_changes(&sandbox, &base, &head);
        let difference =
            describe_difference(&docsync, &git.changes).map(|d| format!("seed {seed} ({base}..{head}):\n{d}"));
        (sandbox, base, head, git, difference)
    }) {
        pairs += 1;
        renamed += git.rename_scores.len();
        near_threshold += git.rename_scores.iter().filter(|score| **score < 60).count();
        failures.extend(difference);
        if replay.is_some() {
            eprintln!("{base}..{head}: repository kept at {}", sandbox.keep());
        }
    }
    println!("{pairs} commit pairs, {renamed} renames, {near_threshold} of them scored 50-59 %");
    assert_no_failures(&failures, pairs);
    if replay.is_none() {
        assert!(renamed >= 60, "the cases gave only {renamed} renames; the generator no longer relates files");
        assert!(near_threshold >= 10, "only {near_threshold} renames scored near the threshold");
    }
}

/// A text as the similarity cases shape it.
#[derive(Debug, Clone)]
struct Page {
    lines: Vec<String>,
    crlf: bool,
}

impl Page {
    fn bytes(&self) -> Vec<u8> {
        let ending = if self.crlf { "\r\n" } else { "\n" };
        self.lines.iter().flat_map(|line| [line.as_str(), ending]).collect::<String>().into_bytes()
    }
}

/// Builds one commit pair: `base` holds 1 to 5 pages; `head` deletes most
/// of them and adds 1 to 4 pages, most derived from them.
fn similarity_case(seed: u64) -> (Sandbox, String, String) {
    const DIRS: &[&str] = &["a", "b", "c", "deep/er"];
    const NAMES: &[&str] = &["page.md", "index.md", "notes.txt", "guide.md", "x.md"];
    // Offset from the histories' seeds, so that the two tests differ.
    let mut rng = Rng::new(seed ^ 0xC0FF_EE00_0000_0000);
    let mut sandbox = Sandbox::new();
    // Lines are unique, but empty pages coincide: among identical sources
    // git's choice is not arbitrary (an unused one with the same file name,
    // else the first in path order), and docsync must make the same.
    let mut content_ids = 0u64;
    let mut fresh_line = |rng: &mut Rng, id: u64| {
        content_ids += 1;
        let words: Vec<&str> = (0..rng.below(15)).map(|_| *rng.pick(WORDS)).collect();
        // Unique by its number: only edits relate two pages.
        format!("{id}.{content_ids} {}", words.join(" "))
    };

    let mut sources: Vec<(String, Page)> = Vec::new();
    for id in 0..rng.between(1, 5) as u64 {
        let path = format!("{}/{}", rng.pick(DIRS), rng.pick(NAMES));
        if sources.iter().any(|(taken, _)| *taken == path) {
            continue;
        }
        let count = match rng.below(100) {
            0..=4 => 0,
            5..=19 => rng.between(1, 3),
            _ => rng.between(4, 60),
        };
        let mut lines: Vec<String> = (0..count).map(|_| fresh_line(&mut rng, id)).collect();
        if rng.chance(15) {
            for line in &mut lines {
                line.insert_str(0, "    ");
            }
        }
        let page = Page { lines, crlf: rng.chance(15) };
        sandbox.write_bytes(&path, &page.bytes());
        sources.push((path, page));
    }
    let base = sandbox.commit("pages");

    let mut head_paths: BTreeSet<String> = BTreeSet::new();
    for (path, _) in &sources {
        if rng.chance(85) {
            sandbox.remove(path);
        } else {
            head_paths.insert(path.clone());
        }
    }
    // Each source is used once before any is used twice: more pairs.
    let first = rng.below(sources.len());
    for (number, id) in (100..100 + rng.between(1, 4) as u64).enumerate() {
        let (source_path, source) = sources[(first + number) % sources.len()].clone();
        let mut page = source.clone();
        if rng.chance(85) {
            // The share of lines replaced, up to 70 %: with the growth and
            // cuts below, scores spread on both sides of the 50 % line.
            let replaced = rng.below(71) as u64;
            for line in &mut page.lines {
                if rng.chance(replaced) {
                    *line = fresh_line(&mut rng, id);
                }
            }
            if rng.chance(25) {
                let more = rng.between(0, page.lines.len() + 2);
                page.lines.extend((0..more).map(|_| fresh_line(&mut rng, id)));
            }
            if rng.chance(25) {
                page.lines.truncate(rng.between(page.lines.len() / 3, page.lines.len()));
            }
            if rng.chance(20) {
                // Half of another source: two candidates for one page.
                let (_, other) = rng.pick(&sources);
                page.lines.extend(other.lines[other.lines.len() / 2..].iter().cloned());
            }
            if rng.chance(10) {
                for line in &mut page.lines {
                    line.insert(0, '\t');
                }
            }
            if rng.chance(10) {
                page.crlf = !page.crlf;
            }
            if rng.chance(5) {
                // git scores binary files by 64-byte chunks, not lines.
                page.lines.insert(0, format!("{id}\0binary"));
            }
        }
        // Often the same file name in another directory, which git tries
        // first when the name is unique on both sides.
        let name = if rng.chance(40) {
            source_path.rsplit_once('/').map_or(source_path.as_str(), |(_, name)| name).to_owned()
        } else {
            (*rng.pick(NAMES)).to_owned()
        };
        let path = format!("{}/{name}", rng.pick(DIRS));
        if !head_paths.insert(path.clone()) {
            continue;
        }
        sandbox.write_bytes(&path, &page.bytes());
    }
    let head = sandbox.commit("pages moved and edited");
    (sandbox, base, head)
}

// ---------------------------------------------------------------------------
// The two sides of the comparison
// ---------------------------------------------------------------------------

/// One entry of a change set, in a form both tools map onto.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Change {
    Added(String),
    Modified(String),
    Deleted(String),
    Renamed { from: String, to: String },
}

impl fmt::Display for Change {
    // Paths in `{:?}` so that tabs, quotes and decomposed accents show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Added(path) => write!(f, "A {path:?}"),
            Change::Modified(path) => write!(f, "M {path:?}"),
            Change::Deleted(path) => write!(f, "D {path:?}"),
            Change::Renamed { from, to } => write!(f, "R {from:?} -> {to:?}"),
        }
    }
}

struct GitChanges {
    changes: Vec<Change>,
    /// The similarity git gave each rename, in percent.
    rename_scores: Vec<u8>,
    /// `T` entries, counted as modifications.
    type_changes: usize,
}

fn git_changes(sandbox: &Sandbox, base: &str, head: &str) -> GitChanges {
    let raw = sandbox.git(&["-c", "core.quotepath=false", "diff", "--name-status", "-M", "-z", base, head]);
    parse_name_status(&raw)
}

/// Parses `git diff --name-status -z`: a status, then one path (two for a
/// rename: old, then new), each field ended by NUL.
fn parse_name_status(raw: &[u8]) -> GitChanges {
    let text = std::str::from_utf8(raw).expect("git printed UTF-8 paths");
    let mut fields = text.split_terminator('\0');
    let mut parsed = GitChanges { changes: Vec::new(), rename_scores: Vec::new(), type_changes: 0 };
    while let Some(status) = fields.next() {
        let mut path = || match fields.next() {
            Some(path) if !path.is_empty() => path.to_owned(),
            _ => panic!("git's {status:?} entry has no path in {text:?}"),
        };
        let change = match status.chars().next() {
            Some('A') => Change::Added(path()),
            Some('M') => Change::Modified(path()),
            Some('T') => {
                parsed.type_changes += 1;
                Change::Modified(path())
            }
            Some('D') => Change::Deleted(path()),
            Some('R') => {
                let score = status[1..].parse().unwrap_or_else(|_| panic!("git's rename {status:?} has no score"));
                parsed.rename_scores.push(score);
                let from = path();
                Change::Renamed { from, to: path() }
            }
            _ => panic!("unexpected status {status:?} from `git diff -M` (no copies, no conflicts) in {text:?}"),
        };
        parsed.changes.push(change);
    }
    parsed
}

/// The JSON contract's part this test reads; other fields may come and go.
#[derive(Deserialize)]
struct PlanOutput {
    range: PlanRange,
    changes: Vec<PlanChange>,
}

#[derive(Deserialize)]
struct PlanRange {
    base: Option<String>,
    head: String,
}

#[derive(Deserialize)]
struct PlanChange {
    status: String,
    path: String,
    old_path: Option<String>,
}

fn docsync_changes(sandbox: &Sandbox, base: &str, head: &str) -> Vec<Change> {
    let output = run_docsync(sandbox, &["plan", "--format", "json", "--from", base, "--to", head]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "docsync plan {base}..{head} failed ({}):\n{stderr}", output.status);
    let plan: PlanOutput = serde_json::from_str(&stdout)
        .unwrap_or_else(|error| panic!("docsync printed no plan ({error}):\n{stdout}\nstderr:\n{stderr}"));
    assert_eq!(
        (plan.range.base.as_deref(), plan.range.head.as_str()),
        (Some(base), head),
        "docsync planned another range than asked"
    );
    plan.changes
        .into_iter()
        .map(|change| match (change.status.as_str(), change.old_path) {
            ("added", None) => Change::Added(change.path),
            ("modified", None) => Change::Modified(change.path),
            ("deleted", None) => Change::Deleted(change.path),
            ("renamed", Some(from)) => Change::Renamed { from, to: change.path },
            (status, old_path) => {
                panic!("docsync printed status {status:?} with old_path {old_path:?} for {:?}", change.path)
            }
        })
        .collect()
}

/// How two change sets differ as multisets (order is not part of the
/// contract), or `None` when they are the same.
fn describe_difference(docsync: &[Change], git: &[Change]) -> Option<String> {
    let (mut docsync, mut git) = (docsync.to_vec(), git.to_vec());
    docsync.sort();
    git.sort();
    if docsync == git {
        return None;
    }
    let list = |changes: &[&Change]| changes.iter().map(|c| format!("\n      {c}")).collect::<String>();
    let everything = |changes: &[Change]| list(&changes.iter().collect::<Vec<_>>());
    Some(format!(
        "    only in docsync:{}\n    only in git:{}\n    docsync ({}):{}\n    git ({}):{}",
        list(&minus(&docsync, &git)),
        list(&minus(&git, &docsync)),
        docsync.len(),
        everything(&docsync),
        git.len(),
        everything(&git),
    ))
}

/// The entries of `a` left after taking away, one for one, those of `b`.
fn minus<'a>(a: &'a [Change], b: &[Change]) -> Vec<&'a Change> {
    let mut available: BTreeMap<&Change, usize> = BTreeMap::new();
    for change in b {
        *available.entry(change).or_default() += 1;
    }
    a.iter()
        .filter(|change| match available.get_mut(change) {
            Some(count) if *count > 0 => {
                *count -= 1;
                false
            }
            _ => true,
        })
        .collect()
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(8)]
}

fn path_variable() -> OsString {
    std::env::var_os("PATH").expect("PATH is set, to find git")
}

/// A repository in a temp dir, driven by the git CLI with a fixed identity,
/// clock and configuration, so that a seed always yields the same commits.
struct Sandbox {
    home: TempDir,
    repo: TempDir,
    /// Commits so far; the clock advances one minute per commit.
    ticks: u64,
}

impl Sandbox {
    fn new() -> Sandbox {
        let sandbox = Sandbox {
            home: tempfile::tempdir().expect("creating a temp HOME"),
            repo: tempfile::tempdir().expect("creating a temp repository directory"),
            ticks: 0,
        };
        sandbox.git(&["-c", "init.defaultBranch=main", "init", "-q"]);
        sandbox
    }

    fn root(&self) -> &Path {
        self.repo.path()
    }

    /// Runs git and returns its stdout. A failure is a fault of this test,
    /// reported in git's own words.
    fn git(&self, args: &[&str]) -> Vec<u8> {
        let date = format!("{} +0000", EPOCH + self.ticks * 60);
        let output = Command::new("git")
            .args(args)
            .current_dir(self.root())
            // Nothing from the machine's git setup or the CI job (GIT_DIR…).
            .env_clear()
            .env("PATH", path_variable())
            .env("HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            // No automatic maintenance after commits and merges: it costs a
            // process each time and runs detached, racing the temp dir's removal.
            .env("GIT_CONFIG_COUNT", "2")
            .env("GIT_CONFIG_KEY_0", "maintenance.auto")
            .env("GIT_CONFIG_VALUE_0", "false")
            .env("GIT_CONFIG_KEY_1", "gc.auto")
            .env("GIT_CONFIG_VALUE_1", "0")
            .env("GIT_AUTHOR_NAME", "Ada Author")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_COMMITTER_NAME", "Cy Committer")
            .env("GIT_COMMITTER_EMAIL", "cy@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .output()
            .expect("running git");
        assert!(
            output.status.success(),
            "git {args:?} failed in {}:\n{}",
            self.root().display(),
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }

    fn tick(&mut self) {
        self.ticks += 1;
    }

    /// Commits the whole working tree (possibly nothing) and returns the SHA.
    fn commit(&mut self, message: &str) -> String {
        self.tick();
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    fn head(&self) -> String {
        let sha = self.git(&["rev-parse", "HEAD"]);
        String::from_utf8(sha).expect("a SHA is ASCII").trim().to_owned()
    }

    fn write(&self, path: &str, content: &str) {
        self.write_bytes(path, content.as_bytes());
    }

    fn write_bytes(&self, path: &str, content: &[u8]) {
        let full = self.root().join(path);
        if let Some(dir) = full.parent() {
            fs::create_dir_all(dir).expect("creating a file's directory");
        }
        fs::write(full, content).expect("writing a file");
    }

    fn remove(&self, path: &str) {
        fs::remove_file(self.root().join(path)).expect("removing a file");
    }

    /// Keeps the repository after the test, for replaying a failure by hand.
    fn keep(self) -> String {
        self.repo.keep().display().to_string()
    }
}

/// Runs the docsync binary in the sandbox, with nothing from this process's
/// environment but `PATH`.
fn run_docsync(sandbox: &Sandbox, args: &[&str]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("docsync")
        .expect("finding the docsync binary")
        .env_clear()
        .env("HOME", sandbox.home.path())
        .env("PATH", path_variable())
        .current_dir(sandbox.root())
        .args(args)
        .output()
        .expect("running docsync")
}

/// Asserts that docsync and git see the same changes between two commits.
fn assert_same_changes(sandbox: &Sandbox, base: &str, head: &str) {
    let git = git_changes(sandbox, base, head).changes;
    let docsync = docsync_changes(sandbox, base, head);
    if let Some(difference) = describe_difference(&docsync, &git) {
        panic!("docsync disagrees with `git diff --name-status -M {base} {head}`:\n{difference}");
    }
}

/// `count` lines, each unique to `tag`.
fn lines(tag: &str, count: usize) -> String {
    (1..=count).map(|n| format!("{tag} line {n} of the page\n")).collect()
}

// ---------------------------------------------------------------------------
// Focused cases: the smallest histories that show a disagreement
// ---------------------------------------------------------------------------
//
// Each was found by the tests above when docsync paired renames with
// libgit2's `find_similar`; they stay as regression tests.

/// git reports a file replaced by a symlink as one type change (`T`), a
/// modification of the path; libgit2 splits it into a deletion and an
/// addition unless asked for type changes.
#[test]
fn file_replaced_by_a_symlink_is_one_modification() {
    let mut sandbox = Sandbox::new();
    sandbox.write("page.md", &lines("page", 30));
    sandbox.write("other.md", &lines("other", 30));
    let base = sandbox.commit("two pages");
    sandbox.remove("page.md");
    symlink("other.md", sandbox.root().join("page.md")).expect("creating a symbolic link");
    let head = sandbox.commit("page.md points to other.md");
    assert_same_changes(&sandbox, &base, &head);
}

/// A page moved, with a symlink left at its old path. git keeps the old
/// path as one type change (`T`) and the new path is added; libgit2 takes
/// a type change's old side as a rename source, so docsync reports a rename
/// of the old path plus an addition of it.
#[test]
fn page_moved_with_a_symlink_left_behind() {
    let mut sandbox = Sandbox::new();
    sandbox.write("old.md", &lines("page", 30));
    let base = sandbox.commit("a page");
    sandbox.git(&["mv", "old.md", "new.md"]);
    symlink("new.md", sandbox.root().join("old.md")).expect("creating a symbolic link");
    let head = sandbox.commit("move the page, keep the old address");
    assert_same_changes(&sandbox, &base, &head);
}

/// git detects exact renames of symlinks (`R100`); libgit2 only considers
/// regular files as rename candidates and reports a deletion and an addition.
#[test]
fn moved_symlink_is_a_rename() {
    let mut sandbox = Sandbox::new();
    sandbox.write("page.md", &lines("page", 30));
    symlink("page.md", sandbox.root().join("alias.md")).expect("creating a symbolic link");
    let base = sandbox.commit("a page and an alias");
    sandbox.git(&["mv", "alias.md", "shortcut.md"]);
    let head = sandbox.commit("rename the alias");
    assert_same_changes(&sandbox, &base, &head);
}

/// git's similarity counts leading whitespace; libgit2's default ignores
/// it, so a re-indented page that also moved looks 100 % similar to it.
#[test]
fn reindented_and_moved_page_is_not_a_rename() {
    let mut sandbox = Sandbox::new();
    sandbox.write("list.md", &lines("item", 30));
    let base = sandbox.commit("a list");
    sandbox.remove("list.md");
    let nested: String = lines("item", 30).lines().map(|line| format!("    {line}\n")).collect();
    sandbox.write("nested/list.md", &nested);
    let head = sandbox.commit("nest the list one level deeper");
    assert_same_changes(&sandbox, &base, &head);
}

/// git scores a pair by the bytes they share over the larger size: a page
/// renamed while it doubled is ~50 % similar, below the threshold. libgit2
/// measures similarity otherwise and still pairs them (up to ~2.7× growth).
#[test]
fn page_renamed_while_doubling_is_not_a_rename() {
    let mut sandbox = Sandbox::new();
    sandbox.write("draft.md", &lines("draft", 20));
    let base = sandbox.commit("a draft");
    sandbox.remove("draft.md");
    sandbox.write("final.md", &(lines("draft", 20) + &lines("more", 30)));
    let head = sandbox.commit("the draft, expanded, becomes final");
    assert_same_changes(&sandbox, &base, &head);
}

/// git ≥ 2.33 first pairs a deleted and an added file with the same
/// basename (each unique on its side) when they are ≥ 75 % similar, before
/// looking for the best match; libgit2 only looks for the best match.
#[test]
fn same_basename_is_paired_first() {
    let mut sandbox = Sandbox::new();
    // b/y.md is closer to the new c/x.md (95 %) than a/x.md is (~80 %).
    sandbox.write("b/y.md", &lines("shared", 20));
    sandbox.write("a/x.md", &(lines("shared", 16) + &lines("own", 4)));
    let base = sandbox.commit("two pages");
    sandbox.remove("a/x.md");
    sandbox.remove("b/y.md");
    sandbox.write("c/x.md", &(lines("shared", 19) + "a new last line\n"));
    let head = sandbox.commit("merge them into c/x.md");
    assert_same_changes(&sandbox, &base, &head);
}

/// git's `diff.renameLimit` (1000) bounds the number of candidate pairs:
/// 1 added × 1500 deleted files is within it, so git pairs the moved page
/// with its source wherever that sorts. libgit2's `rename_limit` instead
/// caps the sources tried per added file, here at the first ~1000 deleted
/// paths, and misses a source that sorts after them, even an exact one.
#[test]
fn rename_among_more_than_a_thousand_deletions_is_found() {
    let mut sandbox = Sandbox::new();
    for number in 1000..2500 {
        sandbox.write(&format!("old/page-{number}.md"), &format!("page {number}, unique\n"));
    }
    let base = sandbox.commit("1500 pages");
    sandbox.git(&["mv", "old/page-2499.md", "kept.md"]);
    sandbox.git(&["rm", "-q", "-r", "old"]);
    let head = sandbox.commit("drop the old pages but one, which moves");
    assert_same_changes(&sandbox, &base, &head);
}

// ---------------------------------------------------------------------------
// The comparison itself must be able to fail
// ---------------------------------------------------------------------------

fn added(path: &str) -> Change {
    Change::Added(path.to_owned())
}

fn deleted(path: &str) -> Change {
    Change::Deleted(path.to_owned())
}

fn renamed(from: &str, to: &str) -> Change {
    Change::Renamed { from: from.to_owned(), to: to.to_owned() }
}

#[test]
fn the_same_changes_in_another_order_agree() {
    let git = [added("a.md"), renamed("b.md", "c.md"), deleted("d.md")];
    let docsync = [deleted("d.md"), added("a.md"), renamed("b.md", "c.md")];
    assert_eq!(describe_difference(&docsync, &git), None);
}

#[test]
fn a_missed_rename_is_reported_with_both_lists() {
    let git = [renamed("old.md", "new.md"), added("x.md")];
    let docsync = [deleted("old.md"), added("new.md"), added("x.md")];
    let report = describe_difference(&docsync, &git).expect("a missed rename is a difference");
    let only_docsync = report.split("only in git").next().unwrap_or_default();
    assert!(only_docsync.contains(r#"D "old.md""#) && only_docsync.contains(r#"A "new.md""#), "{report}");
    assert!(report.contains(r#"R "old.md" -> "new.md""#), "{report}");
    assert!(report.contains("docsync (3)") && report.contains("git (2)"), "{report}");
}

#[test]
fn a_duplicated_entry_is_a_difference() {
    let git = [added("a.md")];
    let docsync = [added("a.md"), added("a.md")];
    assert!(describe_difference(&docsync, &git).is_some());
}

#[test]
fn name_status_output_is_parsed_field_by_field() {
    let raw = "M\0with space/é.md\0R087\0old\tname.md\0new \"name\".md\0T\0link\0A\0日本語.md\0D\0gone.md\0";
    let parsed = parse_name_status(raw.as_bytes());
    assert_eq!(
        parsed.changes,
        [
            Change::Modified("with space/é.md".into()),
            renamed("old\tname.md", "new \"name\".md"),
            Change::Modified("link".into()),
            added("日本語.md"),
            deleted("gone.md"),
        ]
    );
    assert_eq!(parsed.type_changes, 1);
}

/// Submodules are tree entries of mode 160000 that name a commit. docsync
/// walks the trees itself, so a moved pointer, a submodule replaced by a
/// file, and a submodule at a new path must come out as git's do. The
/// index is edited directly: there is no submodule checkout to add.
#[test]
fn submodule_pointers_are_compared_like_git_does() {
    let mut sandbox = Sandbox::new();
    sandbox.write("page.md", &lines("page", 30));
    let first = sandbox.commit("a page");
    sandbox.write("guide.md", &lines("guide", 30));
    let second = sandbox.commit("a guide");
    let set = |sandbox: &Sandbox, mode: &str, id: &str, path: &str| {
        sandbox.git(&["update-index", "--add", "--cacheinfo", &format!("{mode},{id},{path}")]);
    };
    set(&sandbox, "160000", &first, "vendor/theme");
    set(&sandbox, "160000", &first, "vendor/icons");
    set(&sandbox, "160000", &second, "vendor/fonts");
    sandbox.tick();
    sandbox.git(&["commit", "-q", "-m", "three submodules"]);
    let base = sandbox.head();

    set(&sandbox, "160000", &second, "vendor/theme");
    sandbox.git(&["update-index", "--force-remove", "vendor/icons"]);
    let blob = String::from_utf8(sandbox.git(&["hash-object", "-w", "--stdin"])).expect("a SHA is ASCII");
    set(&sandbox, "100644", blob.trim(), "vendor/icons");
    sandbox.git(&["update-index", "--force-remove", "vendor/fonts"]);
    set(&sandbox, "160000", &second, "third-party/fonts");
    sandbox.tick();
    sandbox.git(&["commit", "-q", "-m", "move a pointer, a file for a submodule, a moved submodule"]);
    let head = sandbox.head();
    assert_same_changes(&sandbox, &base, &head);
}

/// A diff wide enough to be shared between threads (docsync expands the top
/// levels until at least 16 subtrees differ): changes in every section,
/// renames across sections (so across threads), whole topics deleted, a
/// file that became a directory, and files beside the directories where
/// the walk was split. The pieces must come back in git's order, both ways.
#[test]
fn wide_diffs_walked_on_several_threads_match_git() {
    let mut sandbox = Sandbox::new();
    sandbox.write("README.md", &lines("readme", 30));
    for section in 0..24 {
        for topic in 0..3 {
            for page in 0..3 {
                let tag = format!("s{section} t{topic} p{page}");
                sandbox.write(&format!("docs/s{section:02}/t{topic}/p{page}.md"), &lines(&tag, 30));
            }
        }
    }
    let base = sandbox.commit("24 sections");

    for section in 0..24 {
        let page = format!("docs/s{section:02}/t0/p0.md");
        sandbox.write(&page, &format!("{}an edit in section {section}\n", lines(&format!("s{section} t0 p0"), 30)));
        if section % 2 == 0 {
            let from = format!("docs/s{section:02}/t1/p1.md");
            let to = format!("docs/s{:02}/t1/moved-{section}.md", (section + 1) % 24);
            sandbox.git(&["mv", &from, &to]);
            if section % 3 == 0 {
                sandbox.write(&to, &format!("{}and a small edit\n", lines(&format!("s{section} t1 p1"), 30)));
            }
        }
        if section % 5 == 0 {
            sandbox.git(&["rm", "-q", "-r", &format!("docs/s{section:02}/t2")]);
        }
    }
    sandbox.remove("docs/s03/t0/p2.md");
    sandbox.write("docs/s03/t0/p2.md/index.md", &lines("s3 t0 p2", 30));
    sandbox.write("docs/s05.md", &lines("beside section 5", 30));
    sandbox.write("docs/s99/new.md", &lines("a new section", 30));
    let head = sandbox.commit("changes everywhere");

    // In git's order too: by path, as the walk on one thread gives it.
    for (from, to) in [(&base, &head), (&head, &base)] {
        assert_same_changes(&sandbox, from, to);
        let (docsync, git) = (docsync_changes(&sandbox, from, to), git_changes(&sandbox, from, to).changes);
        assert_eq!(docsync, git, "docsync lists the changes of {from}..{to} in another order than git");
    }

    // The threads only come into play on a machine with more than one CPU.
    let output = run_docsync(&sandbox, &["plan", "-v", "--from", &base, "--to", &head]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let threads = stderr
        .lines()
        .find_map(|line| line.split_once("walked on ")?.1.strip_suffix(" threads")?.parse::<usize>().ok())
        .unwrap_or_else(|| panic!("docsync -v did not say how it walked the trees:\n{stderr}"));
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        assert!(threads > 1, "the diff was not shared between threads:\n{stderr}");
    } else {
        eprintln!("this machine has one CPU: the trees were walked on one thread, so only the order was checked");
    }
}
