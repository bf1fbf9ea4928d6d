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
pub(super) struct Entry {
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
pub(super) fn parse(path: &str, root: &str, text: &str, visit: &mut dyn FnMut(Entry)) {
    let lines = Lines::new(text);
    let dir = snapshot::parent(path);
    // The parser holds a tree of the whole text it is given (37 MB
    // for 100,000 entries): it is given one section at a time.
    for (start, section) in sections(text) {
        parse_section(section, start, &lines, dir, root, visit);
    }
}

/// `parse` of one section starting at byte `start` of the summary.
fn parse_section(section: &str, start: usize, lines: &Lines, dir: &str, root: &str, visit: &mut dyn FnMut(Entry)) {
    // For each open list item: whether its page link was seen.
    let mut items: Vec<bool> = Vec::new();
    let mut in_heading = false;
    for (event, range) in Parser::new_ext(section, markdown_options()).into_offset_iter() {
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
                visit(Entry { line: lines.line(start + range.start), link: dest_url.into_string(), page, anchored });
            }
            _ => {}
        }
    }
}

/// A line without the up to three spaces a block may be indented by.
fn without_indent(line: &str) -> &str {
    let spaces = line.bytes().take(3).take_while(|b| *b == b' ').count();
    &line[spaces..]
}

/// The summary cut before each heading line (`#` at the start of a line)
/// that lies outside a fenced code block: each piece with its byte offset.
/// Such a line ends every list, paragraph and block quote before it, so
/// the pieces parse as the whole does. Not cut when a piece could depend
/// on another: the text has a link reference or footnote definition (used
/// from anywhere), or a line starting with HTML (an HTML block may run
/// over a heading line).
fn sections(text: &str) -> Vec<(usize, &str)> {
    let whole = vec![(0, text)];
    let mut cuts = Vec::new();
    let mut fence: Option<(u8, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let at = offset;
        offset += line.len();
        let inner = without_indent(line);
        if inner.starts_with('<') || (inner.starts_with('[') && inner.contains("]:")) {
            return whole;
        }
        let marker = inner.bytes().next().filter(|b| *b == b'`' || *b == b'~');
        let run = marker.map_or(0, |m| inner.bytes().take_while(|b| *b == m).count());
        match (fence, marker) {
            (Some((open, length)), Some(m)) if m == open && run >= length && inner[run..].trim().is_empty() => {
                fence = None
            }
            (None, Some(m)) if run >= 3 => fence = Some((m, run)),
            _ => {}
        }
        let hashes = line.bytes().take_while(|b| *b == b'#').count();
        let heading =
            (1..=6).contains(&hashes) && (hashes == line.len() || line[hashes..].starts_with([' ', '\t', '\n', '\r']));
        if fence.is_none() && heading && at > 0 {
            cuts.push(at);
        }
    }
    let mut pieces = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for cut in cuts {
        pieces.push((start, &text[start..cut]));
        start = cut;
    }
    pieces.push((start, &text[start..]));
    pieces
}

/// The pages a summary lists, each with the line that first lists it.
pub(super) type Listed = HashMap<String, usize>;

/// The summary's entries checked (`summary-missing-file` and
/// `summary-duplicate`) as they are parsed; returns the pages it lists (a
/// folder entry stands for its `README.md`).
pub(super) fn check(path: &str, root: &str, text: &str, snapshot: &Snapshot, found: &mut Vec<Found>) -> Listed {
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

    /// Cut into sections or not, a summary gives the same entries.
    #[test]
    fn sections_parse_as_the_whole_does() {
        let texts = [
            SUMMARY.to_owned(),
            "# T\n\n* [A](a.md)\n  * [B](b.md)\n## G\n* [C](c.md)\n```\n## not a heading\n* [No](no.md)\n```\n## H\n* [D](d.md)\n".to_owned(),
            "* [A][a]\n## G\n* [B](b.md)\n\n[a]: a.md\n".to_owned(),
            "<div>\n## G\n* [A](a.md)\n</div>\n".to_owned(),
            "~~~~\n~~~\n## in code\n* [X](x.md)\n~~~~\n#\n* [Y](y.md)\n####### not one\n* [Z](z.md)\n".to_owned(),
        ];
        for text in &texts {
            let mut cut = Vec::new();
            parse("SUMMARY.md", "", text, &mut |e| cut.push((e.line, e.link)));
            let mut whole = Vec::new();
            let lines = Lines::new(text);
            parse_section(text, 0, &lines, "", "", &mut |e| whole.push((e.line, e.link)));
            assert_eq!(cut, whole, "{text}");
        }
        assert_eq!(sections(&texts[1]).len(), 3, "cut at ## G and ## H only");
        assert_eq!(sections(&texts[2]).len(), 1, "a reference definition keeps it whole");
        assert_eq!(sections(&texts[3]).len(), 1, "HTML keeps it whole");
    }

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
