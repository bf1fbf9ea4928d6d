//! `docsync lint --fix`: the mechanical fixes the findings suggest, as new
//! text for each file they touch. Built on what a [`Finding`] says (its
//! rule, path, line, key and suggested fix), the range's renames and the
//! files' current text; it reads through the caller and writes nothing.
//!
//! What is fixed:
//! - `page-not-in-summary`: an entry for the page, under its folder's entry
//!   (the entry of `folder/README.md` or `folder.md`), else after the last
//!   entry of a page in the same folder, else at the end (a note says so);
//! - `moved-without-redirect` for a page renamed in the range: its
//!   `redirects:` entry, merged into the file's `redirects:` key, or a new
//!   key at the end of the file (created when there is none);
//! - `broken-link` and `summary-missing-file` whose file the range renamed:
//!   the link's path rewritten to the page's new path, nothing else on the
//!   line changed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use anyhow::Result;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::pages::{Destination, classify};
use super::snapshot;
use super::summary;
use super::{Finding, Rule};
use crate::git::diff::quoted_path;

/// The characters a rewritten link path percent-encodes: those that would
/// end or change a Markdown link destination or an HTML attribute.
const LINK_PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'(')
    .add(b')')
    .add(b'<')
    .add(b'>')
    .add(b'"')
    .add(b'\'')
    .add(b'%')
    .add(b'#')
    .add(b'?')
    .add(b'\\');

/// What `--fix` would change: each file's text before (`None` when the
/// file is created) and after, by path; and what the diff alone does not
/// say (an entry placed at the end, a fix left undone).
#[derive(Debug, Default)]
pub(crate) struct FixPlan {
    pub files: BTreeMap<String, FileChange>,
    pub notes: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct FileChange {
    pub before: Option<String>,
    pub after: String,
}

impl FixPlan {
    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The changes as one unified diff, `a/`/`b/` paths as git writes them.
    pub(crate) fn unified_diff(&self) -> String {
        let mut out = String::new();
        for (path, change) in &self.files {
            let before = change.before.as_deref().unwrap_or("");
            // A control character in a name would start a line of its own.
            let header = |side: &str| quoted_path(&format!("{side}/{path}")).into_owned();
            let old_header = if change.before.is_some() { header("a") } else { "/dev/null".to_owned() };
            let diff = similar::TextDiff::from_lines(before, &change.after);
            let _ = write!(out, "{}", diff.unified_diff().context_radius(3).header(&old_header, &header("b")));
        }
        out
    }
}

/// Reads a file of the working tree: `None` when it does not exist; an
/// error when it may not be read (a symbolic link, outside the project).
pub(crate) trait FileReader {
    fn read(&self, path: &str) -> Result<Option<String>>;
}

/// The fixes for `findings`; `renames` maps each path the range renamed
/// (old) to its new path.
pub(crate) fn plan(findings: &[Finding], renames: &HashMap<String, String>, files: &dyn FileReader) -> Result<FixPlan> {
    let mut texts = Texts { files, texts: BTreeMap::new() };
    let mut notes = Vec::new();
    // Links first: a summary entry rewritten to a renamed page lists it,
    // so no second entry is added for it.
    let mut now_listed: BTreeSet<(String, String)> = BTreeSet::new();
    let mut done: BTreeSet<(String, usize, String)> = BTreeSet::new();
    for finding in findings {
        if !matches!(finding.rule, Rule::BrokenLink | Rule::SummaryMissingFile) {
            continue;
        }
        let Some(text) = texts.current(&finding.path)? else { continue };
        let rewrite = match finding.rule {
            Rule::BrokenLink => broken_link(finding, renames),
            _ => renames.get(&finding.key).and_then(|new| summary_entry(finding, &text, new)),
        };
        let Some(rewrite) = rewrite else { continue };
        // Two links to one page on a line are two findings, one rewrite.
        if !done.insert((finding.path.clone(), finding.line, rewrite.old.clone())) {
            continue;
        }
        match rewrite_line(&text, finding.line, &rewrite) {
            Some(fixed) => {
                if finding.rule == Rule::SummaryMissingFile {
                    now_listed.insert((finding.path.clone(), rewrite.new_page.clone()));
                }
                texts.set(&finding.path, fixed);
            }
            None => notes.push(format!(
                "{}:{}: link `{}` not rewritten: it is not written so on that line",
                quoted_path(&finding.path),
                finding.line,
                rewrite.old.escape_debug()
            )),
        }
    }
    let mut entries: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for finding in findings.iter().filter(|f| f.rule == Rule::PageNotInSummary) {
        let Some((destination, summary)) = finding.fix.as_deref().and_then(summary_entry_suggested) else { continue };
        if !now_listed.contains(&(summary.clone(), finding.path.clone())) {
            entries.entry(summary).or_default().push((finding.path.clone(), destination));
        }
    }
    for (summary_path, pages) in entries {
        let Some(mut text) = texts.current(&summary_path)? else { continue };
        for (page, destination) in pages {
            let title = texts.files.read(&page)?.map_or_else(|| file_stem(&page), |text| page_title(&text, &page));
            let (fixed, at_end) = add_summary_entry(&summary_path, &text, &page, &title, &destination);
            if at_end {
                notes.push(format!(
                    "{}: {} added at the end: no entry of its folder or of a page beside it",
                    quoted_path(&summary_path),
                    quoted_path(&page)
                ));
            }
            text = fixed;
        }
        texts.set(&summary_path, text);
    }
    let mut redirects: BTreeMap<String, (RedirectsAt, Vec<String>)> = BTreeMap::new();
    for finding in findings.iter().filter(|f| f.rule == Rule::MovedWithoutRedirect && renames.contains_key(&f.path)) {
        let Some((config, at, entry)) = finding.fix.as_deref().and_then(redirect_suggested) else { continue };
        // A page moved out of the space has no target inside it to name.
        if entry.contains("<the page that replaces it>") {
            continue;
        }
        let (_, list) = redirects.entry(config).or_insert((at, Vec::new()));
        if !list.contains(&entry) {
            list.push(entry);
        }
    }
    for (config, (at, entries)) in redirects {
        let before = texts.current(&config)?;
        match add_redirects(before.as_deref(), &at, &entries) {
            Some(after) => texts.set(&config, after),
            None => notes.push(format!(
                "{}: redirects not added: its `redirects:` value is not a mapping written on one line; add {} by hand",
                quoted_path(&config),
                entries.join(", ")
            )),
        }
    }
    let mut plan = FixPlan { notes, ..FixPlan::default() };
    for (path, after) in texts.texts {
        let before = files.read(&path)?;
        if before.as_deref() != Some(after.as_str()) {
            plan.files.insert(path, FileChange { before, after });
        }
    }
    Ok(plan)
}

/// The files' texts with the fixes so far.
struct Texts<'a> {
    files: &'a dyn FileReader,
    texts: BTreeMap<String, String>,
}

impl Texts<'_> {
    fn current(&mut self, path: &str) -> Result<Option<String>> {
        if let Some(text) = self.texts.get(path) {
            return Ok(Some(text.clone()));
        }
        self.files.read(path)
    }

    fn set(&mut self, path: &str, text: String) {
        self.texts.insert(path.to_owned(), text);
    }
}

/// A link path to replace on a line.
struct LinkRewrite {
    /// The path as written (before any `#` or `?`).
    old: String,
    new: String,
    /// The renamed page, repository-relative.
    new_page: String,
}

/// A relative link, image or reference to a page the range renamed.
fn broken_link(finding: &Finding, renames: &HashMap<String, String>) -> Option<LinkRewrite> {
    let written = finding.key.trim();
    let Destination::File(file) = classify(written) else { return None };
    let dir = snapshot::parent(&finding.path);
    let old_page = snapshot::resolve(dir, &file)?;
    let new_page = renames.get(&old_page)?;
    let old = written.split(['#', '?']).next().unwrap_or(written).to_owned();
    Some(LinkRewrite { new: link_path(&old, dir, new_page), old, new_page: new_page.clone() })
}

/// A summary entry naming a page the range renamed (the finding's key is
/// the page the entry names).
fn summary_entry(finding: &Finding, text: &str, new_page: &str) -> Option<LinkRewrite> {
    let dir = snapshot::parent(&finding.path);
    let entries = summary_entries(&finding.path, dir, text);
    let entry = entries.iter().find(|e| e.line == finding.line)?;
    let old = entry.link.split(['#', '?']).next().unwrap_or(&entry.link).to_owned();
    if old.starts_with('/') {
        return None;
    }
    Some(LinkRewrite { new: link_path(&old, dir, new_page), old, new_page: new_page.to_owned() })
}

/// The entries of one summary, as a list: a fix edits one summary at a
/// time, which the pre-flight's streaming parse need not hold.
fn summary_entries(path: &str, root: &str, text: &str) -> Vec<summary::Entry> {
    let mut entries = Vec::new();
    summary::parse(path, root, text, &mut |entry| entries.push(entry));
    entries
}

/// `page` as a link path from `dir`, percent-encoded where a link needs it,
/// keeping a leading `./` the old link had.
fn link_path(old: &str, dir: &str, page: &str) -> String {
    let from: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    let to: Vec<&str> = page.split('/').collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    let relative = parts.join("/");
    let encoded = utf8_percent_encode(&relative, LINK_PATH).to_string();
    if old.starts_with("./") && !encoded.starts_with("../") { format!("./{encoded}") } else { encoded }
}

/// The text with each occurrence of the link's path on the line that stands as a link
/// destination (after `(`, `<`, a quote or `=`; before `)`, `>`, a quote,
/// `#`, `?` or a space) replaced; `None` when there is none.
/// A `{% content-ref %}` block's line stands for the block: the link
/// GitBook writes inside it is the same reference, rewritten with it.
fn rewrite_line(text: &str, line: usize, rewrite: &LinkRewrite) -> Option<String> {
    let (start, mut end) = line_span(text, line)?;
    if text[start..end].contains("{% content-ref")
        && let Some(close) = text[end..].find("{% endcontent-ref")
    {
        end += close;
    }
    let original = &text[start..end];
    let mut fixed = String::with_capacity(original.len());
    let mut rest = original;
    let mut replaced = false;
    while let Some(at) = rest.find(&rewrite.old) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + rewrite.old.len()..].chars().next();
        let opens = matches!(before, Some('(' | '<' | '"' | '\'' | '='));
        let closes = after.is_none_or(|c| matches!(c, ')' | '>' | '"' | '\'' | '#' | '?') || c.is_whitespace());
        fixed.push_str(&rest[..at]);
        if opens && closes {
            fixed.push_str(&rewrite.new);
            replaced = true;
        } else {
            fixed.push_str(&rewrite.old);
        }
        rest = &rest[at + rewrite.old.len()..];
    }
    fixed.push_str(rest);
    replaced.then(|| format!("{}{fixed}{}", &text[..start], &text[end..]))
}

/// The byte span of a 1-based line, without its line ending.
fn line_span(text: &str, line: usize) -> Option<(usize, usize)> {
    let mut start = 0;
    for _ in 1..line {
        start += text[start..].find('\n')? + 1;
    }
    let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
    let end = if text[start..end].ends_with('\r') { end - 1 } else { end };
    Some((start, end))
}

/// The destination and the summary of the rule's suggestion:
/// "add `* [Title](DEST)` to SUMMARY where the page belongs, …".
fn summary_entry_suggested(fix: &str) -> Option<(String, String)> {
    let rest = fix.strip_prefix("add `* [Title](")?;
    let (destination, rest) = rest.split_once(")` to ")?;
    let (summary, _) = rest.split_once(" where the page belongs")?;
    Some((destination.to_owned(), summary.to_owned()))
}

/// The summary with an entry for `page` added: as the last child of its
/// folder's entry, else after the last entry of a page beside it, else at
/// the end (`true`).
fn add_summary_entry(summary_path: &str, text: &str, page: &str, title: &str, destination: &str) -> (String, bool) {
    let dir = snapshot::parent(summary_path);
    let folder = snapshot::parent(page);
    let entries = summary_entries(summary_path, dir, text);
    let page_of = |entry: &summary::Entry| match &entry.page {
        Some(Ok(page)) if !entry.anchored => Some(page.clone()),
        _ => None,
    };
    let folder_page = |page: &str| page == snapshot::join(folder, "README.md") || page == format!("{folder}.md");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let place = entries
        .iter()
        .filter(|e| !folder.is_empty() && folder != dir && page_of(e).is_some_and(|p| folder_page(&p)))
        .map(|e| (e.line, true))
        .next_back()
        .or_else(|| {
            entries
                .iter()
                .filter(|e| page_of(e).is_some_and(|p| snapshot::parent(&p) == folder))
                .map(|e| (e.line, false))
                .next_back()
        });
    let title = title.replace('\\', "\\\\").replace('[', "\\[").replace(']', "\\]");
    match place {
        Some((line, as_child)) => {
            let entry_line = lines.get(line - 1).copied().unwrap_or("");
            let indent = indent_of(entry_line);
            let bullet = entry_line.trim_start().chars().next().filter(|c| matches!(c, '*' | '-' | '+')).unwrap_or('*');
            // The entry's subtree: the lines below it indented deeper.
            let mut last = line - 1;
            let mut child_indent = None;
            for (index, next) in lines.iter().enumerate().skip(line) {
                if next.trim().is_empty() {
                    continue;
                }
                if indent_of(next).len() <= indent.len() {
                    break;
                }
                child_indent.get_or_insert_with(|| indent_of(next).to_owned());
                last = index;
            }
            let new_indent = match (as_child, child_indent) {
                (true, Some(child)) => child,
                (true, None) => format!("{indent}  "),
                (false, _) => indent.to_owned(),
            };
            let mut out: String = lines[..=last].concat();
            if !out.ends_with('\n') {
                out.push('\n');
            }
            let _ = writeln!(out, "{new_indent}{bullet} [{title}]({destination})");
            out.push_str(&lines[last + 1..].concat());
            (out, false)
        }
        None => {
            let mut out = text.to_owned();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            let _ = writeln!(out, "* [{title}]({destination})");
            (out, true)
        }
    }
}

fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// A page's title as GitBook shows it in the navigation: its first `#`
/// heading outside front matter and code, else its file name.
fn page_title(text: &str, page: &str) -> String {
    let mut lines = text.lines().peekable();
    if lines.peek().is_some_and(|l| l.trim_end() == "---") {
        lines.next();
        for line in lines.by_ref() {
            if line.trim_end() == "---" {
                break;
            }
        }
    }
    let mut fence: Option<&str> = None;
    for line in lines {
        let trimmed = line.trim_start();
        if let Some(open) = fence {
            if trimmed.starts_with(open) {
                fence = None;
            }
            continue;
        }
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = Some(&trimmed[..3]);
            continue;
        }
        if let Some(title) = trimmed.strip_prefix("# ") {
            let title = title.trim().trim_end_matches('#').trim();
            if !title.is_empty() {
                return title.to_owned();
            }
        }
    }
    file_stem(page)
}

fn file_stem(page: &str) -> String {
    let name = page.rsplit('/').next().unwrap_or(page);
    name.rsplit_once('.').map_or(name, |(stem, _)| stem).to_owned()
}

/// Where a `.gitbook.yaml`'s redirects go, as the rule's suggestion says.
#[derive(Debug, Clone, PartialEq, Eq)]
enum RedirectsAt {
    /// Under the block key on this line, each entry with this indent.
    Block { line: usize, indent: String },
    /// Into the one-line flow mapping on this line (`redirects: {a: b}`).
    Inline { line: usize },
    /// A new `redirects:` key at the end of the file (created when absent).
    NewKey,
}

/// The configuration file, where its redirects go, and the entry (`old:
/// new.md`) of the rule's suggestion.
fn redirect_suggested(fix: &str) -> Option<(String, RedirectsAt, String)> {
    if let Some(rest) = fix.strip_prefix("add under `redirects:` in ") {
        let (header, indented) = rest.split_once('\n')?;
        let (config, line) = header.rsplit_once(" (line ")?;
        let line = line.strip_suffix("):")?.parse().ok()?;
        let entry = indented.trim_start();
        let indent = indented[..indented.len() - entry.len()].to_owned();
        return Some((config.to_owned(), RedirectsAt::Block { line, indent }, entry.to_owned()));
    }
    if let Some(rest) = fix.strip_prefix("add `") {
        let (entry, rest) = rest.split_once("` to the `redirects:` mapping of ")?;
        let (config, line) = rest.rsplit_once(" (line ")?;
        let line = line.strip_suffix(')')?.parse().ok()?;
        return Some((config.to_owned(), RedirectsAt::Inline { line }, entry.to_owned()));
    }
    let rest = fix.strip_prefix("add to ")?;
    let (config, block) = rest.split_once(":\nredirects:\n")?;
    Some((config.to_owned(), RedirectsAt::NewKey, block.trim_start().to_owned()))
}

/// The configuration's text with the entries added; every other byte as it
/// was. `None` when the `redirects:` value is written in a way this does
/// not edit (a flow mapping over several lines).
fn add_redirects(before: Option<&str>, at: &RedirectsAt, entries: &[String]) -> Option<String> {
    let text = before.unwrap_or("");
    match at {
        RedirectsAt::NewKey => {
            let mut out = text.to_owned();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push('\n');
            }
            out.push_str("redirects:\n");
            for entry in entries {
                let _ = writeln!(out, "  {entry}");
            }
            Some(out)
        }
        RedirectsAt::Block { line, indent } => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let key_indent = indent_of(lines.get(line - 1)?).len();
            let mut last = line - 1;
            for (index, next) in lines.iter().enumerate().skip(*line) {
                let trimmed = next.trim();
                if trimmed.is_empty() || (trimmed.starts_with('#') && indent_of(next).len() <= key_indent) {
                    continue;
                }
                if indent_of(next).len() <= key_indent {
                    break;
                }
                last = index;
            }
            let mut out: String = lines[..=last].concat();
            if !out.ends_with('\n') {
                out.push('\n');
            }
            for entry in entries {
                let _ = writeln!(out, "{indent}{entry}");
            }
            out.push_str(&lines[last + 1..].concat());
            Some(out)
        }
        RedirectsAt::Inline { line } => {
            let (start, end) = line_span(text, *line)?;
            let original = &text[start..end];
            let open = original.find('{')?;
            let close = original.rfind('}').filter(|close| *close > open)?;
            let inside = original[open + 1..close].trim();
            let added = entries.join(", ");
            let joined = if inside.is_empty() { added } else { format!("{inside}, {added}") };
            Some(format!(
                "{}{}{{{joined}}}{}{}",
                &text[..start],
                &original[..open],
                &original[close + 1..],
                &text[end..]
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::diff::{Change, ChangeStatus};
    use crate::lint::{LintKind, LintTarget, RangeChanges, Snapshot, check};
    use crate::settings::PathFilter;

    struct Files(HashMap<String, String>);

    impl FileReader for Files {
        fn read(&self, path: &str) -> Result<Option<String>> {
            Ok(self.0.get(path).cloned())
        }
    }

    /// Lints `files` over a range with these renames, then plans the fixes.
    fn fixed(files: &[(&str, &str)], renamed: &[(&str, &str)]) -> FixPlan {
        let filter = PathFilter::new("docs".into(), Vec::new()).expect("no globs");
        let targets = [LintTarget { name: "gitbook", kind: LintKind::GitBook, paths: &filter, ignore: None }];
        let changes: Vec<Change> = renamed
            .iter()
            .map(|(old, new)| Change {
                status: ChangeStatus::Renamed,
                path: (*new).into(),
                old_path: Some((*old).into()),
                kind: Default::default(),
            })
            .collect();
        let report = check(&targets, &Snapshot::from_files(files.iter().copied()), &RangeChanges::new(&changes));
        let renames = renamed.iter().map(|(o, n)| ((*o).to_owned(), (*n).to_owned())).collect();
        let reader = Files(files.iter().map(|(p, t)| ((*p).to_owned(), (*t).to_owned())).collect());
        plan(&report.findings, &renames, &reader).expect("plan")
    }

    fn after<'a>(plan: &'a FixPlan, path: &str) -> &'a str {
        &plan.files.get(path).unwrap_or_else(|| panic!("{path} unchanged: {plan:?}")).after
    }

    #[test]
    fn a_page_goes_under_its_folder_s_entry() {
        let plan = fixed(
            &[
                ("docs/README.md", "# Home\n"),
                (
                    "docs/SUMMARY.md",
                    "# Contents\n\n* [Home](README.md)\n* [Guides](guides/README.md)\n  * [A](guides/a.md)\n* [Last](last.md)\n",
                ),
                ("docs/guides/README.md", "# Guides\n"),
                ("docs/guides/a.md", "# A\n"),
                ("docs/guides/b.md", "---\ndescription: x\n---\n\n```\n# not it\n```\n# Bee [1]\n"),
                ("docs/last.md", "# Last\n"),
            ],
            &[],
        );
        assert_eq!(
            after(&plan, "docs/SUMMARY.md"),
            "# Contents\n\n* [Home](README.md)\n* [Guides](guides/README.md)\n  * [A](guides/a.md)\n  * [Bee \\[1\\]](guides/b.md)\n* [Last](last.md)\n"
        );
        assert!(plan.notes.is_empty(), "{:?}", plan.notes);
    }

    #[test]
    fn a_page_without_a_folder_entry_goes_at_the_end_and_a_note_says_so() {
        let plan = fixed(
            &[
                ("docs/README.md", "# Home\n"),
                ("docs/SUMMARY.md", "* [Home](README.md)\n\n## Group\n\n- [X](x.md)"),
                ("docs/x.md", "# X\n"),
                ("docs/deep/new page.md", "No heading.\n"),
            ],
            &[],
        );
        assert_eq!(
            after(&plan, "docs/SUMMARY.md"),
            "* [Home](README.md)\n\n## Group\n\n- [X](x.md)\n* [new page](<deep/new page.md>)\n"
        );
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    }

    #[test]
    fn redirects_merge_into_the_existing_key_keeping_comments() {
        let config = "# The space\nroot: ./\n\nredirects:\n    # old ones\n    a: b.md\n\n# end\nstructure:\n  readme: README.md\n";
        let plan = fixed(
            &[
                ("docs/.gitbook.yaml", config),
                ("docs/README.md", "# Home\n"),
                ("docs/SUMMARY.md", "* [Home](README.md)\n* [New](new.md)\n"),
                ("docs/b.md", "# B\n"),
                ("docs/new.md", "# New\n"),
            ],
            &[("docs/old.md", "docs/new.md")],
        );
        assert_eq!(
            after(&plan, "docs/.gitbook.yaml"),
            "# The space\nroot: ./\n\nredirects:\n    # old ones\n    a: b.md\n    old: new.md\n\n# end\nstructure:\n  readme: README.md\n"
        );
    }

    #[test]
    fn redirects_go_into_a_one_line_mapping_or_a_new_file() {
        let inline = fixed(
            &[
                ("docs/.gitbook.yaml", "redirects: {a: b.md} # kept\n"),
                ("docs/README.md", "# Home\n"),
                ("docs/b.md", "# B\n"),
                ("docs/new.md", "# New\n"),
            ],
            &[("docs/old.md", "docs/new.md")],
        );
        assert_eq!(after(&inline, "docs/.gitbook.yaml"), "redirects: {a: b.md, old: new.md} # kept\n");
        let created =
            fixed(&[("docs/README.md", "# Home\n"), ("docs/new.md", "# New\n")], &[("docs/old.md", "docs/new.md")]);
        let moved_out =
            fixed(&[("docs/README.md", "# Home\n"), ("site/new.md", "# New\n")], &[("docs/old.md", "site/new.md")]);
        assert!(moved_out.is_empty(), "a page moved out of the space has no redirect to write: {moved_out:?}");
        let change = &created.files["docs/.gitbook.yaml"];
        assert_eq!((change.before.as_deref(), change.after.as_str()), (None, "redirects:\n  old: new.md\n"));
    }

    #[test]
    fn links_to_a_renamed_page_are_rewritten_and_nothing_else() {
        let plan = fixed(
            &[
                (
                    "docs/README.md",
                    "# Home\n\nSee [old](guides/old.md#part) and [again](./guides/old.md), not guides/old.md.\n",
                ),
                ("docs/SUMMARY.md", "* [Home](README.md)\n* [Old](guides/old.md)\n"),
                ("docs/guides/new one.md", "# New\n"),
                ("docs/other/page.md", "<a href=\"../guides/old.md\">x</a>\n"),
                (
                    "docs/ref.md",
                    "# Ref\n\n{% content-ref url=\"guides/old.md\" %}\n[old.md](guides/old.md)\n{% endcontent-ref %}\n\n[again](guides/old.md)\n",
                ),
            ],
            &[("docs/guides/old.md", "docs/guides/new one.md")],
        );
        assert_eq!(
            after(&plan, "docs/README.md"),
            "# Home\n\nSee [old](guides/new%20one.md#part) and [again](./guides/new%20one.md), not guides/old.md.\n"
        );
        // The summary entry follows the page: no second entry for it.
        // …a page beside the readme goes after it, and the page without a
        // heading is listed by its file name.
        assert_eq!(
            after(&plan, "docs/SUMMARY.md"),
            "* [Home](README.md)\n* [Ref](ref.md)\n* [Old](guides/new%20one.md)\n* [page](other/page.md)\n"
        );
        // A content-ref block and the link inside it are one reference.
        assert_eq!(
            after(&plan, "docs/ref.md"),
            "# Ref\n\n{% content-ref url=\"guides/new%20one.md\" %}\n[old.md](guides/new%20one.md)\n{% endcontent-ref %}\n\n[again](guides/new%20one.md)\n"
        );
        assert_eq!(after(&plan, "docs/other/page.md"), "<a href=\"../guides/new%20one.md\">x</a>\n");
    }

    #[test]
    fn the_diff_is_unified() {
        let plan =
            fixed(&[("docs/README.md", "# Home\n"), ("docs/new.md", "# New\n")], &[("docs/old.md", "docs/new.md")]);
        assert_eq!(
            plan.unified_diff(),
            "--- /dev/null\n+++ b/docs/.gitbook.yaml\n@@ -0,0 +1,2 @@\n+redirects:\n+  old: new.md\n"
        );
    }
}
