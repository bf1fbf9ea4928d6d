//! `SUMMARY.md` read the way GitBook reads it: the `#` title is ignored,
//! `##` headings (which may carry HTML anchors) group pages, nested lists
//! are child pages, and each list item's link is its page; one starting
//! with `/` is a page from the space's root. External URLs and `#anchor`
//! links are link entries, not files. Nothing inside code counts.

use std::collections::HashMap;

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

use super::pages::{Destination, Lines, classify, markdown_options, page_meant};
use super::snapshot::{self, Snapshot};
use super::{Found, Rule};

#[derive(Debug)]
pub struct Entry {
    pub line: usize,
    /// The link as written.
    pub link: String,
    /// The file it names, repository-relative; `None` for external and
    /// anchor entries; `Err` with the raw path when it climbs out of the
    /// repository.
    pub page: Option<Result<String, String>>,
    /// `page.md#anchor`: a link entry to a place in a page listed
    /// elsewhere, not the page itself.
    pub anchored: bool,
}

/// The entries of the summary at `path` of the space whose root is `root`,
/// each given to `visit` as it is parsed (a summary of 100,000 entries is
/// never held as a list): an entry starting with `/`
/// (`* [Guide](/contents/guide.md)`) names a file from the space's root, as
/// GitBook reads it.
pub fn parse(path: &str, root: &str, text: &str, visit: &mut dyn FnMut(Entry)) {
    let lines = Lines::new(text);
    let dir = snapshot::parent(path);
    // For each open list item: whether its page link was seen.
    let mut items: Vec<bool> = Vec::new();
    let mut in_heading = false;
    for (event, range) in Parser::new_ext(text, markdown_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::Item) => items.push(false),
            Event::End(TagEnd::Item) => {
                items.pop();
            }
            Event::Start(Tag::Heading { .. }) => in_heading = true,
            Event::End(TagEnd::Heading(_)) => in_heading = false,
            Event::Start(Tag::Link { dest_url, .. }) if !in_heading => {
                let Some(seen) = items.last_mut() else { continue };
                if *seen {
                    continue;
                }
                *seen = true;
                let page = match classify(&dest_url) {
                    Destination::File(file) => Some(snapshot::resolve(dir, &file).ok_or(file)),
                    Destination::Absolute(file) => Some(snapshot::resolve(root, &file).ok_or(file)),
                    _ => None,
                };
                let anchored = page.is_some() && dest_url.contains('#');
                visit(Entry { line: lines.line(range.start), link: dest_url.into_string(), page, anchored });
            }
            _ => {}
        }
    }
}

/// The pages a summary lists, each with the line that first lists it.
pub type Listed = HashMap<String, usize>;

/// The summary's entries checked (`summary-missing-file` and
/// `summary-duplicate`) as they are parsed; returns the pages it lists (a
/// folder entry stands for its `README.md`).
pub fn check(path: &str, root: &str, text: &str, snapshot: &Snapshot, found: &mut Vec<Found>) -> Listed {
    let mut listed = Listed::new();
    parse(path, root, text, &mut |entry| check_entry(entry, path, root, snapshot, &mut listed, found));
    listed
}

fn check_entry(entry: Entry, path: &str, root: &str, snapshot: &Snapshot, listed: &mut Listed, found: &mut Vec<Found>) {
    let page = match entry.page {
        None => return,
        Some(Err(raw)) => {
            found.push(
                Found::new(
                    Rule::SummaryMissingFile,
                    path,
                    entry.line,
                    format!("entry `{raw}` points outside the repository"),
                )
                .fix("link a page inside the space, relative to the summary")
                .key(raw),
            );
            return;
        }
        Some(Ok(page)) => page,
    };
    let page = if !snapshot.exists(&page) && snapshot.exists(&snapshot::join(&page, "README.md")) {
        snapshot::join(&page, "README.md")
    } else {
        page
    };
    if !snapshot::is_inside(&page, root) {
        found.push(
            Found::new(
                Rule::SummaryMissingFile,
                path,
                entry.line,
                format!("entry `{}` lies outside the space ({root})", entry.link),
            )
            .fix("move the page into the space, or link it as an external URL")
            .key(page),
        );
        return;
    }
    if !snapshot.exists(&page) {
        let message = if snapshot.is_dir(&page) {
            format!("entry `{}` names the folder {page}, which has no README.md", entry.link)
        } else if let Some(meant) = page_meant(&page, snapshot) {
            format!("entry `{}` names {page}, which does not exist; the page is {meant}", entry.link)
        } else {
            format!("entry `{}` names {page}, which does not exist", entry.link)
        };
        found.push(
            Found::new(Rule::SummaryMissingFile, path, entry.line, message)
                .fix("fix the link, restore the page, or remove the entry")
                .key(page),
        );
        return;
    }
    if entry.anchored {
        return;
    }
    if let Some(first) = listed.get(&page) {
        found.push(
            Found::new(
                Rule::SummaryDuplicate,
                path,
                entry.line,
                format!("{page} is listed twice (first on line {first}): GitBook takes each file once"),
            )
            .fix("remove one of the entries; link the page from the other place instead")
            .key(page),
        );
        return;
    }
    listed.insert(page, entry.line);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str = "# Table of contents\n\n* [Home](README.md)\n\n## Get Started <a href=\"#getting-started\" id=\"getting-started\"></a>\n\n* [Quickstart](getting-started/quickstart.md)\n  * [Child](getting-started/child.md \"Sidebar\")\n* [Site](https://example.com)\n* [Anchor](#anchor)\n* [Spaces](<with space/page.md>)\n* [Again, anchored](getting-started/quickstart.md#step-2)\n\n```\n* [Not an entry](missing.md)\n```\n";

    #[test]
    fn entries_with_lines_and_kinds() {
        let mut entries = Vec::new();
        parse("docs/SUMMARY.md", "docs", SUMMARY, &mut |entry| entries.push(entry));
        let pages: Vec<(usize, Option<&str>)> =
            entries.iter().map(|e| (e.line, e.page.as_ref().and_then(|p| p.as_deref().ok()))).collect();
        assert_eq!(
            pages,
            [
                (3, Some("docs/README.md")),
                (7, Some("docs/getting-started/quickstart.md")),
                (8, Some("docs/getting-started/child.md")),
                (9, None),
                (10, None),
                (11, Some("docs/with space/page.md")),
                (12, Some("docs/getting-started/quickstart.md")),
            ]
        );
        assert!(entries[6].anchored && !entries[1].anchored);
    }
}
