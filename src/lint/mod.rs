//! The docs pre-flight (`docsync lint`, and `sync` before each GitBook
//! import): each target's content checked the way the platform reads it,
//! before anything is sent.
//!
//! The flow: [`Snapshot`] (the files, from the head commit or the working
//! tree, read once) + the range's changes → per-target rules → [`Finding`]s
//! → compared with the base's findings when the base can be read (a
//! finding is new when the base lacked it) → [`report`] (text, JSON, GitLab
//! Code Quality). Checking is pure: it reads nothing but the snapshot.

pub(crate) mod fix;
pub(crate) mod gitbook_config;
pub(crate) mod outline;
mod pages;
pub(crate) mod report;
mod snapshot;
pub(crate) mod suggestion;
mod summary;
mod yaml;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::Serialize;

use crate::git::diff::{Change, ChangeStatus};
use crate::settings::{PathFilter, Target, TargetKind};

pub(crate) use snapshot::{Snapshot, Source, read_files};

/// GitBook's limit of Markdown pages per Git Sync space.
pub(crate) const MAX_PAGES: usize = 5_000;
/// GitBook's limit of one file's size.
pub(crate) const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// The rules, with the ids of the JSON contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Rule {
    GitBookConfig,
    ReadmeMissing,
    ReadmeDuplicate,
    SummaryMissingFile,
    SummaryDuplicate,
    PageNotInSummary,
    BrokenLink,
    BrokenAnchor,
    FrontMatter,
    BlockUnclosed,
    BlockAttribute,
    MovedWithoutRedirect,
    TooLarge,
    DotYaml,
}

impl Rule {
    pub(crate) fn id(self) -> &'static str {
        match self {
            Rule::GitBookConfig => "gitbook-config",
            Rule::ReadmeMissing => "readme-missing",
            Rule::ReadmeDuplicate => "readme-duplicate",
            Rule::SummaryMissingFile => "summary-missing-file",
            Rule::SummaryDuplicate => "summary-duplicate",
            Rule::PageNotInSummary => "page-not-in-summary",
            Rule::BrokenLink => "broken-link",
            Rule::BrokenAnchor => "broken-anchor",
            Rule::FrontMatter => "front-matter",
            Rule::BlockUnclosed => "block-unclosed",
            Rule::BlockAttribute => "block-attribute",
            Rule::MovedWithoutRedirect => "moved-without-redirect",
            Rule::TooLarge => "too-large",
            Rule::DotYaml => "dot-yaml",
        }
    }

    /// The rule's severity; `page-not-in-summary` is an error only for a
    /// page new in the range, which its finding sets itself.
    fn severity(self) -> Severity {
        match self {
            Rule::BlockAttribute | Rule::MovedWithoutRedirect | Rule::BrokenAnchor => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// One problem found. Serialises to the JSON contract's finding.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// Whether the range introduced it: absent at the range's base (only new
    /// errors fail); see [`LintReport::compared_with_base`].
    pub new: bool,
    pub target: String,
    /// Relative to the repository root.
    pub path: String,
    /// 1-based; 1 for findings about a whole file.
    pub line: usize,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// What identifies the finding within its file whatever its line (a
    /// link's destination, a tag's name): the Code Quality fingerprint.
    #[serde(skip)]
    pub key: String,
}

/// A finding before the target and "new" are known.
pub(crate) struct Found {
    rule: Rule,
    severity: Severity,
    path: String,
    line: usize,
    message: String,
    fix: Option<String>,
    key: String,
    /// Set by rules whose "new" does not follow from the finding's file.
    new: Option<bool>,
}

impl Found {
    fn new(rule: Rule, path: &str, line: usize, message: impl Into<String>) -> Found {
        Found {
            rule,
            severity: rule.severity(),
            path: path.to_owned(),
            line: line.max(1),
            message: message.into(),
            fix: None,
            key: String::new(),
            new: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Found {
        self.fix = Some(fix.into());
        self
    }

    fn key(mut self, key: impl Into<String>) -> Found {
        self.key = key.into();
        self
    }

    fn severity(mut self, severity: Severity) -> Found {
        self.severity = severity;
        self
    }

    fn new_when(mut self, new: bool) -> Found {
        self.new = Some(new);
        self
    }
}

/// The range's changes, as the "new" rule reads them.
#[derive(Debug, Default)]
pub(crate) struct RangeChanges {
    /// Added, modified or renamed (new path).
    touched: HashSet<String>,
    /// Added, or renamed to.
    added: HashSet<String>,
    /// Deleted, or renamed from.
    removed: HashSet<String>,
    /// Pages gone from their path: (old path, new path when renamed).
    moved: Vec<(String, Option<String>)>,
    /// Renamed files: new path → old path, to find a finding at the base.
    renamed_from: HashMap<String, String>,
    /// Whether the range added, deleted or renamed a file, or modified one
    /// that is no page: a finding in an untouched file may then be new.
    structural: bool,
}

impl RangeChanges {
    /// The changes to files below the checked directories: the checks read
    /// no other file, so no other change can make a finding new.
    pub(crate) fn within(changes: &[Change], directories: &[&str]) -> RangeChanges {
        let inside = |path: &str| {
            let path = snapshot::placed(path);
            directories.iter().any(|directory| snapshot::is_inside(&path, directory))
        };
        let relevant: Vec<Change> = changes
            .iter()
            .filter(|change| inside(&change.path) || change.old_path.as_deref().is_some_and(inside))
            .cloned()
            .collect();
        RangeChanges::new(&relevant)
    }

    pub(crate) fn new(changes: &[Change]) -> RangeChanges {
        let mut range = RangeChanges::default();
        for change in changes {
            match change.status {
                ChangeStatus::Added => {
                    range.touched.insert(change.path.clone());
                    range.added.insert(change.path.clone());
                    range.structural = true;
                }
                ChangeStatus::Modified => {
                    range.touched.insert(change.path.clone());
                    range.structural |= !is_page(&change.path);
                }
                ChangeStatus::Renamed => {
                    range.touched.insert(change.path.clone());
                    range.added.insert(change.path.clone());
                    range.structural = true;
                    if let Some(old) = &change.old_path {
                        range.removed.insert(old.clone());
                        range.moved.push((old.clone(), Some(change.path.clone())));
                        range.renamed_from.insert(change.path.clone(), old.clone());
                    }
                }
                ChangeStatus::Deleted => {
                    range.structural = true;
                    range.removed.insert(change.path.clone());
                    range.moved.push((change.path.clone(), None));
                }
            }
        }
        range
    }
}

/// The pre-flight's result for one run: every target's findings.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct LintReport {
    pub findings: Vec<Finding>,
    pub errors: usize,
    pub warnings: usize,
    /// The pages whose text other files' findings depend on: each space's
    /// summary (a page it drops is no longer imported).
    #[serde(skip)]
    summaries: BTreeSet<String>,
}

/// What a finding is, wherever its line: its rule, target, file (its path
/// at the base for a renamed file) and subject (the link, the key, the
/// page; empty for rules with one finding per file).
type Identity<'a> = (Rule, &'a str, &'a str, &'a str);

impl LintReport {
    fn from_findings(mut findings: Vec<Finding>, summaries: BTreeSet<String>) -> LintReport {
        findings.sort_by(|a, b| {
            (&a.target, &a.path, a.line, a.rule, &a.key).cmp(&(&b.target, &b.path, b.line, b.rule, &b.key))
        });
        let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
        LintReport { warnings: findings.len() - errors, errors, findings, summaries }
    }

    /// Whether the base's findings could tell a different story than the
    /// file rule: some finding lies in a file the range touched, or the
    /// range changed what other files' findings depend on (a file added,
    /// deleted or renamed; a configuration file; a summary). Otherwise
    /// every finding was there at the base, and the base need not be read.
    pub(crate) fn needs_base(&self, range: &RangeChanges) -> bool {
        !self.findings.is_empty()
            && (range.structural
                || self.summaries.iter().any(|summary| range.touched.contains(summary))
                || self.findings.iter().any(|f| range.touched.contains(&f.path) || range.removed.contains(&f.path)))
    }

    /// The files whose findings can differ at the base when the range only
    /// edited pages (no summary, no configuration, nothing added, deleted
    /// or renamed): those pages. Every other file's findings are then the
    /// same at the base. `None` when the range changed more.
    pub(crate) fn edited_pages<'a>(&self, range: &'a RangeChanges) -> Option<&'a HashSet<String>> {
        let summary_touched = self.summaries.iter().any(|summary| range.touched.contains(summary));
        (!range.structural && !summary_touched).then_some(&range.touched)
    }

    /// Each finding is new when the base (`base`, checked with no range, or
    /// only in the edited pages) did not have it. Identities are compared, not lines; when the head
    /// has more findings of one identity than the base, the later ones in
    /// the file are the new ones. A page left out of the summary is an
    /// error when new, a warning when it was left out before.
    pub(crate) fn compared_with_base(self, base: &LintReport, range: &RangeChanges) -> LintReport {
        let mut at_base: HashMap<Identity<'_>, usize> = HashMap::new();
        for finding in &base.findings {
            *at_base.entry((finding.rule, &finding.target, &finding.path, &finding.key)).or_default() += 1;
        }
        let only_edited = self.edited_pages(range);
        let new: Vec<bool> = self
            .findings
            .iter()
            .map(|finding| {
                if let Some(edited) = only_edited.filter(|edited| !edited.contains(&finding.path)) {
                    // Its file and everything it depends on are as at the
                    // base, but for a link into a page the range edited:
                    // its anchor may be what the range removed, and the
                    // base's findings in this file were not read again.
                    return finding.rule == Rule::BrokenAnchor
                        && finding.key.rsplit_once('#').is_some_and(|(page, _)| edited.contains(page));
                }
                let path = range.renamed_from.get(&finding.path).unwrap_or(&finding.path);
                match at_base.get_mut(&(finding.rule, finding.target.as_str(), path.as_str(), finding.key.as_str())) {
                    Some(count) if *count > 0 => {
                        *count -= 1;
                        false
                    }
                    _ => true,
                }
            })
            .collect();
        let mut findings = self.findings;
        for (finding, new) in findings.iter_mut().zip(new) {
            finding.new = new;
            if finding.rule == Rule::PageNotInSummary {
                finding.severity = if new { Severity::Error } else { Severity::Warning };
            }
        }
        LintReport::from_findings(findings, self.summaries)
    }

    pub(crate) fn new_errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.new && f.severity == Severity::Error)
    }

    pub(crate) fn for_target<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Finding> + 'a {
        self.findings.iter().filter(move |f| f.target == name)
    }
}

/// What to check: a target's name, kind and files.
pub(crate) struct LintTarget<'a> {
    pub name: &'a str,
    pub kind: LintKind,
    pub paths: &'a PathFilter,
    /// The files never read (the target's `ignore` globs).
    pub ignore: Option<&'a PathFilter>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LintKind {
    GitBook,
    Dot,
}

impl<'a> LintTarget<'a> {
    pub(crate) fn of(target: &'a Target) -> LintTarget<'a> {
        let kind = match target.kind {
            TargetKind::GitBook(_) => LintKind::GitBook,
            TargetKind::Dot(_) => LintKind::Dot,
        };
        LintTarget { name: &target.name, kind, paths: &target.paths, ignore: target.ignore.as_ref() }
    }
}

/// Checks every target against the snapshot, "new" by the file rule
/// ([`decide_new`]); [`LintReport::compared_with_base`] then corrects it
/// when the base can be read. Pure.
pub(crate) fn check(targets: &[LintTarget<'_>], snapshot: &Snapshot, range: &RangeChanges) -> LintReport {
    check_in(targets, snapshot, range, None)
}

/// The findings in these files only, for the base of a range that only
/// edited them (see [`LintReport::edited_pages`]): the other pages are not
/// parsed. Pure.
pub(crate) fn check_files(targets: &[LintTarget<'_>], snapshot: &Snapshot, files: &HashSet<String>) -> LintReport {
    let mut report = check_in(targets, snapshot, &RangeChanges::default(), Some(files));
    report.findings.retain(|finding| files.contains(&finding.path));
    LintReport::from_findings(report.findings, report.summaries)
}

fn check_in(
    targets: &[LintTarget<'_>],
    snapshot: &Snapshot,
    range: &RangeChanges,
    only: Option<&HashSet<String>>,
) -> LintReport {
    let mut findings = Vec::new();
    let mut summaries = BTreeSet::new();
    for target in targets {
        let found = match target.kind {
            LintKind::GitBook => check_gitbook(target, snapshot, range, only, &mut summaries),
            LintKind::Dot => check_dot(target.paths, target.ignore, snapshot, only),
        };
        findings.extend(found.into_iter().map(|found| decide_new(found, target.name, range)));
    }
    LintReport::from_findings(findings, summaries)
}

/// The file rule, for a range whose base cannot be read (a shallow clone
/// without it, changes from GitLab's compare API, a full sync): a finding
/// is new when its file was added, modified or renamed, with the rules' own
/// exceptions.
fn decide_new(found: Found, target: &str, range: &RangeChanges) -> Finding {
    let new = found.new.unwrap_or_else(|| match found.rule {
        Rule::PageNotInSummary => range.added.contains(&found.path),
        Rule::MovedWithoutRedirect => true,
        // The readme's own path: new when the range deleted or moved it.
        Rule::ReadmeMissing => range.removed.contains(&found.path),
        // A summary entry breaks when its page moves, even if the summary
        // itself is untouched; the key is the missing page's path.
        Rule::SummaryMissingFile => range.touched.contains(&found.path) || range.removed.contains(&found.key),
        _ => range.touched.contains(&found.path),
    });
    let severity = match found.rule {
        Rule::PageNotInSummary if !new => Severity::Warning,
        _ => found.severity,
    };
    Finding {
        rule: found.rule,
        severity,
        new,
        target: target.to_owned(),
        path: found.path,
        line: found.line,
        message: found.message,
        fix: found.fix,
        key: found.key,
    }
}

/// A GitBook target: the site file when the directory has one (its spaces
/// are checked one by one), else the directory as one space.
fn check_gitbook(
    target: &LintTarget<'_>,
    snapshot: &Snapshot,
    range: &RangeChanges,
    only: Option<&HashSet<String>>,
    summaries: &mut BTreeSet<String>,
) -> Vec<Found> {
    let mut found = Vec::new();
    let directory = target.paths.directory.as_str();
    let spaces = match gitbook_config::site_file(directory, snapshot) {
        Some(site_path) => {
            let site = gitbook_config::check_site(&site_path, directory, snapshot, &mut found);
            site.directories
        }
        None => vec![directory.to_owned()],
    };
    let all: BTreeSet<&str> = spaces.iter().map(String::as_str).collect();
    for space in &spaces {
        // Another space nested inside this one is not this one's content.
        let nested: Vec<&str> =
            all.iter().copied().filter(|other| *other != space && snapshot::is_inside(other, space)).collect();
        let config = gitbook_config::read(space, snapshot, &mut found);
        let space = Space {
            assets: snapshot::join(&config.root, ".gitbook"),
            config,
            nested: &nested,
            ignore: target.ignore,
            snapshot,
        };
        summaries.insert(check_space(space, range, only, &mut found));
    }
    found
}

/// One GitBook space: `.gitbook.yaml`, readme, summary, pages; returns the
/// summary's path.
fn check_space(
    space: Space<'_>,
    range: &RangeChanges,
    only: Option<&HashSet<String>>,
    found: &mut Vec<Found>,
) -> String {
    let (config, snapshot) = (&space.config, space.snapshot);
    check_readme(config, snapshot, found);
    check_readme_variants(&space, found);
    let pages: Vec<&str> = snapshot.files_under(&config.root).filter(|p| space.is_page(p)).collect();
    let listed = check_summary_lists_pages(&space, &pages, found);
    // Links into other pages' sections, checked once every page is: a
    // page's anchors are kept only while it is checked.
    let mut into_other_pages = Vec::new();
    for page in &pages {
        if *page == config.summary || only.is_some_and(|only| !only.contains(*page)) {
            continue;
        }
        // Markdown under a dot-folder (`.github/`, `.gitlab/`) is a page
        // only when the summary lists it.
        if space.in_dot_folder(page) && !listed.as_ref().is_some_and(|listed| listed.contains_key(*page)) {
            continue;
        }
        if let Some(text) = snapshot.text(page) {
            let facts = pages::check(page, &text, &config.root, snapshot, found);
            for link in facts.anchor_links {
                if link.page == *page {
                    check_anchor(page, &link, &facts.anchors, found);
                } else {
                    into_other_pages.push((*page, link));
                }
            }
        }
    }
    check_anchors(into_other_pages, snapshot, found);
    // After the pages: a page read has its size, and needs no read of its
    // blob's header.
    check_sizes(&space, &pages, listed.is_some(), range, found);
    check_moved_pages(&space, range, found);
    space.config.summary
}

/// `broken-anchor` for links into other pages' sections: each page
/// linked so is read again for its anchors, once.
fn check_anchors(links: Vec<(&str, pages::AnchorLink)>, snapshot: &Snapshot, found: &mut Vec<Found>) {
    let mut anchors: HashMap<String, pages::Anchors> = HashMap::new();
    for (path, link) in links {
        let target = anchors
            .entry(link.page.clone())
            .or_insert_with(|| snapshot.text(&link.page).map(|text| pages::anchors(&text)).unwrap_or_default());
        check_anchor(path, &link, target, found);
    }
}

/// `broken-anchor` when the linked page's headings and HTML ids give no
/// such anchor.
fn check_anchor(path: &str, link: &pages::AnchorLink, target: &pages::Anchors, found: &mut Vec<Found>) {
    if target.has(&link.fragment) {
        return;
    }
    let which = if link.page == path { "this page".to_owned() } else { link.page.clone() };
    found.push(
        Found::new(
            Rule::BrokenAnchor,
            path,
            link.line,
            format!("link `{}`: {which} has no heading or anchor `#{}`", link.destination, link.fragment),
        )
        .fix("link a heading the page has (its text, lower case, spaces as hyphens), or add the heading")
        // The page linked, to tell when the range changed its headings.
        .key(format!("{}#{}", link.page, link.fragment)),
    );
}

/// A space as its checks see it: its configuration, and which files are
/// its own.
struct Space<'a> {
    config: gitbook_config::SpaceConfig,
    /// The roots of the spaces nested inside this one.
    nested: &'a [&'a str],
    /// `.gitbook/` below the root: the space's assets.
    assets: String,
    /// The target's `ignore` globs: files never read.
    ignore: Option<&'a PathFilter>,
    snapshot: &'a Snapshot,
}

impl Space<'_> {
    /// Under the space's root, and neither in a nested space nor in
    /// `.gitbook/` (the space's assets).
    fn holds(&self, path: &str) -> bool {
        let root = &self.config.root;
        snapshot::is_inside(path, root)
            && !self.nested.iter().any(|n| snapshot::is_inside(path, n))
            && !snapshot::is_inside(path, &self.assets)
    }

    /// A Markdown file of the space that the pre-flight reads: not ignored.
    fn is_page(&self, path: &str) -> bool {
        is_page(path) && self.holds(path) && !self.ignore.is_some_and(|ignore| ignore.covers(path))
    }

    /// Whether the path lies in a folder whose name starts with a dot
    /// (`.github/`, `.gitlab/`) below the space's root: files for the Git
    /// host, not for GitBook.
    fn in_dot_folder(&self, path: &str) -> bool {
        let root = &self.config.root;
        // `snapshot::relative`, borrowed: every page is asked.
        let relative = match root.is_empty() {
            true => path,
            false => path.strip_prefix(root.as_str()).and_then(|rest| rest.strip_prefix('/')).unwrap_or(path),
        };
        relative.rsplit_once('/').is_some_and(|(folders, _)| folders.split('/').any(|f| f.starts_with('.')))
    }
}

fn check_readme(config: &gitbook_config::SpaceConfig, snapshot: &Snapshot, found: &mut Vec<Found>) {
    if !snapshot.exists(&config.readme) {
        found.push(
            Found::new(Rule::ReadmeMissing, &config.readme, 1, format!("the space has no readme: {} does not exist", config.readme))
                .fix(format!(
                    "add {} (GitBook's home page of the space), or point structure.readme in .gitbook.yaml at the page that is",
                    config.readme
                )),
        );
    }
}

/// Two READMEs in one folder (`README.md`, `readme.md`, `README`): GitBook
/// takes either as the folder's page (the space's first page at the
/// root), "unpredictable file precedence" (Git Sync troubleshooting). The
/// one kept is the configured readme at the root, `README.md` elsewhere
/// (else the first by name); each other one is a finding.
fn check_readme_variants(space: &Space<'_>, found: &mut Vec<Found>) {
    let (config, snapshot) = (&space.config, space.snapshot);
    let is_readme = |path: &str| {
        let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        matches!(name.as_str(), "readme.md" | "readme.markdown" | "readme")
    };
    let mut folders: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for file in snapshot.files_under(&config.root).filter(|p| space.holds(p) && is_readme(p)) {
        folders.entry(snapshot::parent(file)).or_default().push(file);
    }
    for (folder, readmes) in folders.into_iter().filter(|(_, readmes)| readmes.len() > 1) {
        let preferred = if folder == config.root { config.readme.clone() } else { snapshot::join(folder, "README.md") };
        let kept = readmes.iter().copied().find(|r| *r == preferred).unwrap_or(readmes[0]);
        for other in readmes.iter().copied().filter(|r| *r != kept) {
            let what = if folder == config.root { "the space's first page" } else { "the folder's page" };
            found.push(
                Found::new(
                    Rule::ReadmeDuplicate,
                    other,
                    1,
                    format!("{other} and {kept} are both READMEs of one folder: GitBook takes either as {what}"),
                )
                .fix(format!("merge {other} into {kept} and delete it, or rename it")),
            );
        }
    }
}

/// The summary's own checks, and every page it leaves out; the pages it
/// lists, `None` when the space has no summary.
fn check_summary_lists_pages(space: &Space<'_>, pages: &[&str], found: &mut Vec<Found>) -> Option<summary::Listed> {
    let (config, snapshot) = (&space.config, space.snapshot);
    let text = snapshot.text(&config.summary)?;
    let listed = summary::check(&config.summary, &config.root, &text, snapshot, found);
    drop(text);
    for page in pages {
        // The readme is the space's first page whether the summary lists
        // it or not ("readme: your documentation's first page", GitBook's
        // content configuration). Markdown under a dot-folder is for the
        // Git host.
        if *page == config.summary || *page == config.readme || listed.contains_key(*page) || space.in_dot_folder(page)
        {
            continue;
        }
        found.push(
            Found::new(
                Rule::PageNotInSummary,
                page,
                1,
                format!("{} does not list this page: GitBook will not import it", config.summary),
            )
            .fix(format!(
                "add `* [Title]({})` to {} where the page belongs, or delete the page",
                pages::link_destination(&snapshot::relative(page, snapshot::parent(&config.summary))),
                config.summary
            )),
        );
    }
    Some(listed)
}

/// GitBook's limits: pages per space, bytes per file.
fn check_sizes(space: &Space<'_>, pages: &[&str], has_summary: bool, range: &RangeChanges, found: &mut Vec<Found>) {
    let (config, snapshot) = (&space.config, space.snapshot);
    // The summary is the table of contents, not a page.
    let page_count = pages.iter().filter(|p| **p != config.summary).count();
    if page_count > MAX_PAGES {
        let at = if has_summary { config.summary.clone() } else { config.root.clone() };
        let added = pages.iter().any(|p| range.added.contains(*p));
        found.push(
            Found::new(
                Rule::TooLarge,
                &at,
                1,
                format!("{page_count} pages in one space: GitBook's Git Sync takes at most {MAX_PAGES}"),
            )
            .fix("split the content into several spaces (one project directory each, see docs.yaml)")
            .key("pages")
            // New when the range added a page, whichever file it names.
            .new_when(added),
        );
    }
    // A file whose name is not UTF-8 is listed quoted, outside every
    // directory: placed by the path it stands for.
    let named = snapshot.files_under(&config.root).filter(|p| !p.starts_with('"') && space.holds(p));
    let quoted = snapshot.quoted_files().filter(|(_, path)| space.holds(path)).map(|(quoted, _)| quoted);
    for file in named.chain(quoted) {
        if snapshot.size(file) > MAX_FILE_BYTES {
            found.push(
                Found::new(
                    Rule::TooLarge,
                    file,
                    1,
                    format!("{} MB: GitBook takes files up to 100 MB", snapshot.size(file) / (1024 * 1024)),
                )
                .fix("make the file smaller, or host it elsewhere and link to it"),
            );
        }
    }
}

/// Pages the range moved or deleted without a redirect from their old URL.
fn check_moved_pages(space: &Space<'_>, range: &RangeChanges, found: &mut Vec<Found>) {
    let (config, snapshot) = (&space.config, space.snapshot);
    let root = &config.root;
    for (old, new) in &range.moved {
        if !space.is_page(old) || space.in_dot_folder(old) || *old == config.summary || snapshot.exists(old) {
            continue;
        }
        let slug = page_slug(&snapshot::relative(old, root));
        if slug.is_empty() || config.redirects.iter().any(|r| r.matches(&slug)) {
            continue;
        }
        let target = match new.as_deref().filter(|n| space.holds(n)) {
            Some(new) => snapshot::relative(new, root),
            None => "<the page that replaces it>.md".to_owned(),
        };
        let verb = if new.is_some() { "moved" } else { "deleted" };
        found.push(
            Found::new(
                Rule::MovedWithoutRedirect,
                old,
                1,
                format!("page {verb} without a redirect: links to /{slug} will break"),
            )
            .fix(config.redirect_fix(&slug, &target))
            .key(slug),
        );
    }
}

fn check_dot(
    paths: &PathFilter,
    ignore: Option<&PathFilter>,
    snapshot: &Snapshot,
    only: Option<&HashSet<String>>,
) -> Vec<Found> {
    let mut found = Vec::new();
    let checked = |path: &str| {
        paths.matches(path)
            && !ignore.is_some_and(|ignore| ignore.covers(path))
            && only.is_none_or(|only| only.contains(path))
    };
    for file in snapshot.files_under(&paths.directory).filter(|p| checked(p)) {
        let Some(text) = snapshot.text(file) else {
            // Not read: over the size the pre-flight reads. Saying nothing
            // would pass a file nobody checked.
            if (is_yaml(file) || is_page(file)) && snapshot.size(file) > MAX_FILE_BYTES {
                found.push(
                    Found::new(
                        Rule::TooLarge,
                        file,
                        1,
                        format!(
                            "{} MB: the pre-flight reads files up to 100 MB, so its YAML is not checked",
                            snapshot.size(file) / (1024 * 1024)
                        ),
                    )
                    .fix("make the file smaller (split it), or leave it out of the target's paths"),
                );
            }
            continue;
        };
        if is_yaml(file) {
            if let Err(yaml::YamlError { line, problem: message }) = pages::parse_yaml_documents(&text) {
                found.push(
                    Found::new(Rule::DotYaml, file, line, format!("YAML does not parse: {message}"))
                        .fix("fix the YAML syntax (quote values holding `: `, `#` or leading special characters)"),
                );
            }
        } else if is_page(file) {
            if let Some(yaml::YamlError { line, problem: message }) = pages::front_matter_syntax(&text) {
                found.push(
                    Found::new(Rule::DotYaml, file, line, format!("front matter does not parse: {message}"))
                        .fix("fix the YAML between the `---` lines (quote values holding `: ` or `#`)"),
                );
            }
        }
    }
    found
}

fn is_page(path: &str) -> bool {
    ends_with_ignoring_case(path, ".md") || ends_with_ignoring_case(path, ".markdown")
}

fn is_yaml(path: &str) -> bool {
    ends_with_ignoring_case(path, ".yaml") || ends_with_ignoring_case(path, ".yml")
}

/// `path.to_ascii_lowercase().ends_with(suffix)` for a lower-case ASCII
/// suffix, without the copy (every file of a space is asked).
fn ends_with_ignoring_case(path: &str, suffix: &str) -> bool {
    path.len() >= suffix.len() && path.as_bytes()[path.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

/// The URL path a page had, as `redirects:` keys name it: the file's path
/// without `.md`; a folder's `README.md` is the folder.
fn page_slug(relative: &str) -> String {
    let stem = relative.strip_suffix(".md").or_else(|| relative.strip_suffix(".markdown")).unwrap_or(relative);
    match stem.rsplit_once('/') {
        Some((folder, name)) if name.eq_ignore_ascii_case("readme") => folder.to_owned(),
        None if stem.eq_ignore_ascii_case("readme") => String::new(),
        _ => stem.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_many_pages() {
        let pages: Vec<String> = (0..MAX_PAGES).map(|i| format!("docs/p{i}.md")).collect();
        let mut files: Vec<(&str, &str)> = pages.iter().map(|p| (p.as_str(), "# P\n")).collect();
        files.push(("docs/SUMMARY.md", "* [P](p0.md)\n"));
        let filter = PathFilter::new("docs".into(), Vec::new()).expect("no globs");
        let targets = [LintTarget { name: "gitbook", kind: LintKind::GitBook, paths: &filter, ignore: None }];
        let count = |files: &[(&str, &str)]| {
            let report = check(&targets, &Snapshot::from_files(files.iter().copied()), &RangeChanges::default());
            report.findings.iter().filter(|f| f.rule == Rule::TooLarge).count()
        };
        // docs/README.md is missing, but 5,000 pages and a summary are fine…
        assert_eq!(count(&files), 0);
        // …and one more is not.
        files.push(("docs/README.md", "# Home\n"));
        assert_eq!(count(&files), 1);
    }

    fn change(status: ChangeStatus, path: &str, old_path: Option<&str>) -> Change {
        Change { status, path: path.into(), old_path: old_path.map(str::to_owned), kind: Default::default() }
    }

    /// The base is read only when it could change a finding's `new`.
    #[test]
    fn the_base_is_needed_only_when_a_finding_may_be_new() {
        let filter = PathFilter::new("docs".into(), Vec::new()).expect("no globs");
        let targets = [LintTarget { name: "gitbook", kind: LintKind::GitBook, paths: &filter, ignore: None }];
        let files = [
            ("docs/README.md", "# Home\n"),
            ("docs/SUMMARY.md", "* [Home](README.md)\n* [A](a.md)\n* [B](b.md)\n"),
            ("docs/a.md", "[x](missing.md)\n"),
            ("docs/b.md", "# B\n"),
        ];
        let snapshot = Snapshot::from_files(files);
        let needs = |changes: &[Change]| {
            let range = RangeChanges::new(changes);
            check(&targets, &snapshot, &range).needs_base(&range)
        };
        // An edit of another page cannot change a.md's finding, nor can a
        // file added outside the space…
        assert!(!needs(&[change(ChangeStatus::Modified, "docs/b.md", None)]));
        let outside = RangeChanges::within(&[change(ChangeStatus::Added, "src/main.rs", None)], &["docs"]);
        assert!(!check(&targets, &snapshot, &outside).needs_base(&outside));
        // …an edit of a.md, of the summary, or a deletion can.
        assert!(needs(&[change(ChangeStatus::Modified, "docs/a.md", None)]));
        assert!(needs(&[change(ChangeStatus::Modified, "docs/SUMMARY.md", None)]));
        assert!(needs(&[change(ChangeStatus::Deleted, "docs/c.md", None)]));
        assert!(needs(&[change(ChangeStatus::Modified, "docs/.gitbook.yaml", None)]));
    }

    /// Identity ignores the line and follows renames; extras are new.
    #[test]
    fn a_finding_is_new_when_the_base_lacks_it() {
        let filter = PathFilter::new(String::new(), Vec::new()).expect("no globs");
        let targets = [LintTarget { name: "gitbook", kind: LintKind::GitBook, paths: &filter, ignore: None }];
        let base = Snapshot::from_files([("README.md", "# Home\n"), ("a.md", "[x](gone.md)\n")]);
        let head = Snapshot::from_files([("README.md", "# Home\n"), ("b.md", "Moved.\n\n[x](gone.md) [y](gone.md)\n")]);
        let range = RangeChanges::new(&[change(ChangeStatus::Renamed, "b.md", Some("a.md"))]);
        let at_base = check(&targets, &base, &RangeChanges::default());
        let report = check(&targets, &head, &range).compared_with_base(&at_base, &range);
        let links: Vec<(usize, bool)> =
            report.findings.iter().filter(|f| f.rule == Rule::BrokenLink).map(|f| (f.line, f.new)).collect();
        assert_eq!(links, [(3, false), (3, true)]);
    }

    #[test]
    fn slugs_follow_redirect_keys() {
        assert_eq!(page_slug("guides/old.md"), "guides/old");
        assert_eq!(page_slug("guides/README.md"), "guides");
        assert_eq!(page_slug("README.md"), "");
    }
}
