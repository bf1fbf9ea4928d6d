//! One Markdown page: its front matter, its links and images, and its
//! GitBook blocks (`{% hint %}` … `{% endhint %}`). The page is parsed once
//! with pulldown-cmark; what lies inside fenced or inline code never counts.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd};
use serde_json::Value;

use super::snapshot::{self, Snapshot};
use super::yaml::YamlError;
use super::{Found, Rule, yaml};

/// The Markdown GitBook writes: tables, footnotes, task lists, strikethrough.
pub(super) fn markdown_options() -> Options {
    Options::ENABLE_TABLES | Options::ENABLE_FOOTNOTES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS
}

/// Where `first` then `second` (ASCII) first stand in `text`: `str::find`
/// of the two bytes, by a search for the first byte alone (memchr), which
/// is several times faster than a search for the pair on every page.
fn find_tag_mark(text: &str, first: u8, second: u8) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = text[from..].find(char::from(first)) {
        let at = from + i;
        if bytes.get(at + 1) == Some(&second) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Byte offset to line number.
pub(super) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(super) fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        // A byte loop: a search per line (`match_indices`) cost more than
        // the lines are long, on every page.
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        Lines { starts }
    }

    /// 1-based line of a byte offset.
    pub(super) fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

/// What a link points at.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Destination {
    /// A URL with a scheme, or `//host/…`.
    External,
    /// `#anchor` on the same page, or nothing.
    Anchor,
    /// A site-absolute path (`/docs/page`): decoded, without the leading
    /// `/`, `#` or `?`. GitBook leaves it alone in a page; a `SUMMARY.md`
    /// entry names a file from the space's root this way.
    Absolute(String),
    /// A link GitBook itself left dangling on export.
    Dangling(String),
    /// A file, relative to the linking file: decoded, without `#` or `?`.
    File(String),
}

pub(super) fn classify(destination: &str) -> Destination {
    let destination = destination.trim();
    if destination.is_empty() || destination.starts_with('#') {
        return Destination::Anchor;
    }
    if destination.starts_with("//") || has_scheme(destination) {
        return Destination::External;
    }
    // `/broken/…` is what GitBook exports today, `broken-reference` (with
    // or without a trailing `/`) what it exported before.
    let bare = destination.trim_end_matches('/');
    if destination.starts_with("/broken/pages/")
        || destination.starts_with("/broken/spaces/")
        || bare == "broken-reference"
        || bare.ends_with("/broken-reference")
    {
        return Destination::Dangling(destination.to_owned());
    }
    let path = destination.split(['#', '?']).next().unwrap_or("");
    if let Some(absolute) = path.strip_prefix('/') {
        return Destination::Absolute(decode(absolute));
    }
    if path.is_empty() {
        return Destination::Anchor;
    }
    Destination::File(decode(path))
}

fn decode(path: &str) -> String {
    percent_encoding::percent_decode_str(path).decode_utf8_lossy().into_owned()
}

/// `path` as a CommonMark link destination that names it exactly when
/// pasted: as it is when it can be, else in `<…>` (GitBook's own exports
/// write paths with spaces so), with `<`, `>` and `\` escaped.
pub(super) fn link_destination(path: &str) -> String {
    let mut depth = 0usize;
    let balanced = path.chars().all(|c| {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => return false,
            ')' => depth -= 1,
            _ => {}
        }
        true
    }) && depth == 0;
    let plain = balanced
        && !path.is_empty()
        && !path.starts_with('<')
        && !path.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\');
    if plain {
        return path.to_owned();
    }
    let mut out = String::with_capacity(path.len() + 2);
    out.push('<');
    for c in path.chars() {
        if matches!(c, '<' | '>' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('>');
    out
}

fn has_scheme(destination: &str) -> bool {
    let Some((scheme, _)) = destination.split_once(':') else { return false };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
}

/// Front matter found at the top of a page.
struct FrontMatter<'a> {
    yaml: &'a str,
    /// Line of the YAML's first line.
    first_line: usize,
    /// Where the Markdown body starts.
    body: usize,
}

/// The page's front matter: `Ok(None)` without one, `Err(line)` when the
/// opening `---` is never closed.
fn front_matter(text: &str) -> Result<Option<FrontMatter<'_>>, usize> {
    let start = if text.starts_with('\u{feff}') { '\u{feff}'.len_utf8() } else { 0 };
    let rest = &text[start..];
    let Some(first) = rest.lines().next() else { return Ok(None) };
    if first.trim_end() != "---" {
        return Ok(None);
    }
    let yaml_start = start + first.len() + usize::from(rest[first.len()..].starts_with("\r\n")) + 1;
    let yaml_start = yaml_start.min(text.len());
    let mut offset = yaml_start;
    for line in text[yaml_start..].split_inclusive('\n') {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed == "..." {
            return Ok(Some(FrontMatter { yaml: &text[yaml_start..offset], first_line: 2, body: offset + line.len() }));
        }
        offset += line.len();
    }
    Err(1)
}

/// The page's Markdown after its front matter (all of it without one).
pub(super) fn without_front_matter(text: &str) -> &str {
    match front_matter(text) {
        Ok(Some(front)) => &text[front.body.min(text.len())..],
        _ => text,
    }
}

/// The front matter's YAML syntax problem, if any (the `dot-yaml` rule).
pub(super) fn front_matter_syntax(text: &str) -> Option<YamlError> {
    match front_matter(text) {
        Ok(Some(front)) => {
            yaml::mapping(front.yaml).err().map(|error| YamlError { line: front.first_line + error.line - 1, ..error })
        }
        Ok(None) => None,
        Err(line) => Some(YamlError::at(line, "the opening `---` is never closed")),
    }
}

/// Every document of a YAML file parses (the `dot-yaml` rule).
pub(super) fn parse_yaml_documents(text: &str) -> Result<(), YamlError> {
    yaml::documents(text)
}

/// The page a link to a missing `path` means, when it lacks `.md` or has a
/// built site's `.html` for it (`guide`, `guide.html` for `guide.md`).
pub(super) fn page_meant(path: &str, snapshot: &Snapshot) -> Option<String> {
    let stem = path.strip_suffix(".html").or_else(|| path.strip_suffix(".htm")).unwrap_or(path);
    Some(format!("{stem}.md")).filter(|page| snapshot.exists(page))
}

/// A block whose end tag has not come yet.
struct OpenBlock<'a> {
    name: &'a str,
    line: usize,
    /// Whether it must be closed.
    required: bool,
    start: usize,
    /// A `content-ref`'s `url`.
    url: Option<&'a str>,
}

/// The GitBook blocks that must be closed.
const CLOSED_BLOCKS: &[&str] =
    &["hint", "tabs", "tab", "stepper", "step", "columns", "column", "code", "updates", "update", "if", "content-ref"];
/// GitBook's hint styles.
const HINT_STYLES: &[&str] = &["info", "success", "warning", "danger"];

/// The anchors a page has: one per heading, and every HTML `id` (GitBook
/// writes an anchor set with "Edit anchor" as `## Title <a href="#x"
/// id="x"></a>`), each kept as its skeleton (see [`anchor_skeleton`]).
#[derive(Debug, Default)]
pub(super) struct Anchors(HashSet<String>);

impl Anchors {
    fn add(&mut self, text: &str) {
        self.0.insert(anchor_skeleton(text));
    }

    /// Whether a link's fragment (`#Section-2`, percent-encoded or not)
    /// names one of them; a `-N` suffix is the N-th heading of that text.
    pub(super) fn has(&self, fragment: &str) -> bool {
        let skeleton = anchor_skeleton(&decode(fragment));
        // `#top` is the top of any page (HTML's "indicated part of the
        // document" rule, ASCII case-insensitive).
        if skeleton.is_empty() || fragment.eq_ignore_ascii_case("top") || self.0.contains(&skeleton) {
            return true;
        }
        fragment
            .rsplit_once('-')
            .filter(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .is_some_and(|(text, _)| self.0.contains(&anchor_skeleton(&decode(text))))
    }
}

/// An anchor as compared: its letters and digits, lower case. GitBook's
/// anchor is "identical to the text in your header" (its Headings page)
/// written as a URL fragment (`## Get Started` is `#get-started`); how
/// spaces and punctuation become hyphens is not documented, so only what
/// every such rule keeps is compared.
fn anchor_skeleton(text: &str) -> String {
    let mut skeleton = String::with_capacity(text.len());
    for c in text.chars() {
        // ASCII without Unicode's tables: every heading is asked.
        if c.is_ascii_alphanumeric() {
            skeleton.push(c.to_ascii_lowercase());
        } else if !c.is_ascii() && c.is_alphanumeric() {
            skeleton.extend(c.to_lowercase());
        }
    }
    skeleton
}

/// A link into a section of a page (`page.md#section`, `#section`).
#[derive(Debug)]
pub(super) struct AnchorLink {
    pub line: usize,
    pub destination: String,
    /// The page linked, repository-relative (the linking page for `#x`).
    pub page: String,
    pub fragment: String,
}

/// What the space's checks need of a page beyond its own findings.
#[derive(Debug, Default)]
pub(super) struct PageFacts {
    pub anchors: Anchors,
    pub anchor_links: Vec<AnchorLink>,
}

/// Collects the anchors of a page from its parser's events.
#[derive(Default)]
struct AnchorCollector {
    /// The text of the heading being read.
    heading: Option<String>,
    anchors: Anchors,
}

impl AnchorCollector {
    fn event(&mut self, event: &Event<'_>) {
        match event {
            Event::Start(Tag::Heading { .. }) => self.heading = Some(String::new()),
            Event::End(TagEnd::Heading(_)) => {
                if let Some(text) = self.heading.take() {
                    self.anchors.add(&text);
                }
            }
            Event::Text(text) | Event::Code(text) => {
                if let Some(heading) = self.heading.as_mut() {
                    heading.push_str(text);
                }
            }
            _ => {}
        }
    }

    /// An HTML piece outside comments and code.
    fn html(&mut self, piece: &str) {
        for id in html_ids(piece) {
            self.anchors.add(id);
        }
    }
}

/// The values of the `id` attributes of the tags in an HTML piece.
fn html_ids(html: &str) -> impl Iterator<Item = &str> {
    html.match_indices("id=").filter_map(move |(at, _)| {
        let before = html[..at].chars().next_back()?;
        if !before.is_ascii_whitespace() {
            return None;
        }
        let rest = &html[at + 3..];
        match rest.chars().next()? {
            quote @ ('"' | '\'') => rest[1..].split(quote).next(),
            _ => rest.split(|c: char| c.is_ascii_whitespace() || c == '>').next(),
        }
    })
}

/// The anchors of a page that is not checked itself (another page links
/// into it): its headings and HTML ids, outside code and comments.
pub(super) fn anchors(text: &str) -> Anchors {
    let body = match front_matter(text) {
        Ok(Some(front)) => &text[front.body..],
        Ok(None) => text,
        Err(_) => return Anchors::default(),
    };
    let mut collector = AnchorCollector::default();
    let (mut in_comment, mut in_pre) = (false, false);
    for event in Parser::new_ext(body, markdown_options()) {
        if let Event::Html(html) | Event::InlineHtml(html) = &event {
            for (_, piece, comment) in html_pieces(html, &mut in_comment) {
                let opens = !comment && piece.contains("<pre");
                if comment || in_pre || opens {
                    in_pre = !comment && (in_pre || opens) && !piece.contains("</pre>");
                    continue;
                }
                collector.html(piece);
            }
        }
        collector.event(&event);
    }
    collector.anchors
}

/// The checks of one page: front matter, links, blocks; returns what the
/// space's checks need of it (its anchors and its links into anchors).
pub(super) fn check(path: &str, text: &str, root: &str, snapshot: &Snapshot, found: &mut Vec<Found>) -> PageFacts {
    let lines = Lines::new(text);
    let body_start = match front_matter(text) {
        Ok(Some(front)) => {
            check_front_matter(path, &front, found);
            front.body
        }
        Ok(None) => {
            misplaced_front_matter(path, text, found);
            0
        }
        Err(line) => {
            found.push(
                Found::new(Rule::FrontMatter, path, line, "the front matter's opening `---` is never closed")
                    .fix("close the front matter with a line holding only `---`")
                    .key("unclosed"),
            );
            return PageFacts::default();
        }
    };
    let body = &text[body_start..];
    let page = Page { path, dir: snapshot::parent(path), root, snapshot, lines: &lines, base: body_start };

    // What no reader sees: code, and HTML comments.
    let mut hidden: Vec<Range<usize>> = Vec::new();
    let mut links: Vec<Link<'_>> = Vec::new();
    // GitBook writes formatted code blocks as HTML: `<pre><code>…</pre>`.
    let mut in_pre = false;
    // An HTML block comes one line per event: a comment may span several.
    let mut in_comment = false;
    let mut collector = AnchorCollector::default();
    for (event, range) in Parser::new_ext(body, markdown_options()).into_offset_iter() {
        collector.event(&event);
        match event {
            // `<support@example.com>` is an address, not a file.
            Event::Start(Tag::Link { link_type: LinkType::Email, .. }) => {}
            Event::Start(Tag::Link { dest_url, .. }) => links.push(Link::new(dest_url, range.start, "link")),
            Event::Start(Tag::Image { dest_url, .. }) => links.push(Link::new(dest_url, range.start, "image")),
            Event::Start(Tag::CodeBlock(_)) | Event::Code(_) => hidden.push(range),
            Event::Html(html) | Event::InlineHtml(html) => {
                for (offset, piece, comment) in html_pieces(&html, &mut in_comment) {
                    let start = range.start + offset;
                    let opens = !comment && piece.contains("<pre");
                    if comment || in_pre || opens {
                        hidden.push(start..start + piece.len());
                        in_pre = !comment && (in_pre || opens) && !piece.contains("</pre>");
                        continue;
                    }
                    for (at, value) in html_links(piece) {
                        links.push(Link::new(value.into(), start + at, "HTML link"));
                    }
                    collector.html(piece);
                }
            }
            _ => {}
        }
    }
    let references = page.blocks(body, &hidden, found);
    let mut anchor_links = Vec::new();
    for link in &links {
        // `{% content-ref url="x.md" %}` holds a link to x.md: one reference.
        let repeated = references.iter().any(|(span, url)| span.contains(&link.offset) && *url == *link.destination);
        if !repeated {
            page.link(&link.destination, link.offset, link.what, found);
        }
        anchor_links.extend(page.anchor_link(&link.destination, link.offset));
    }
    PageFacts { anchors: collector.anchors, anchor_links }
}

/// A link, image or HTML `src`/`href` of a page, checked once the page's
/// blocks are known.
struct Link<'a> {
    destination: CowStr<'a>,
    offset: usize,
    what: &'static str,
}

impl<'a> Link<'a> {
    fn new(destination: CowStr<'a>, offset: usize, what: &'static str) -> Link<'a> {
        Link { destination, offset, what }
    }
}

/// An HTML event's text cut into pieces, each with its offset and whether
/// it lies inside a comment (`<!-- … -->`, which may run on from an earlier
/// event: `in_comment` carries that over).
fn html_pieces<'h>(html: &'h str, in_comment: &mut bool) -> Vec<(usize, &'h str, bool)> {
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < html.len() {
        let rest = &html[at..];
        if *in_comment {
            let end = match rest.find("-->") {
                Some(i) => {
                    *in_comment = false;
                    i + 3
                }
                None => rest.len(),
            };
            pieces.push((at, &rest[..end], true));
            at += end;
        } else {
            let end = match rest.find("<!--") {
                Some(i) => {
                    *in_comment = true;
                    i
                }
                None => rest.len(),
            };
            if end > 0 {
                pieces.push((at, &rest[..end], false));
            }
            at += end;
        }
    }
    pieces
}

struct Page<'a> {
    path: &'a str,
    dir: &'a str,
    root: &'a str,
    snapshot: &'a Snapshot,
    lines: &'a Lines,
    /// Offset of the body in the page's text.
    base: usize,
}

impl Page<'_> {
    fn line(&self, body_offset: usize) -> usize {
        self.lines.line(self.base + body_offset)
    }

    /// A link into a section of an existing page of the space: the
    /// page's own (`#x`), or another Markdown page (`guide.md#x`).
    fn anchor_link(&self, destination: &str, offset: usize) -> Option<AnchorLink> {
        let (path, fragment) = destination.trim().split_once('#')?;
        if fragment.is_empty() {
            return None;
        }
        let page = if path.is_empty() {
            self.path.to_owned()
        } else {
            let Destination::File(file) = classify(destination) else { return None };
            let (resolved, _) = snapshot::resolve_within(self.root, self.dir, &file);
            let lower = resolved.to_ascii_lowercase();
            if !self.snapshot.exists(&resolved) || !(lower.ends_with(".md") || lower.ends_with(".markdown")) {
                return None;
            }
            resolved
        };
        Some(AnchorLink {
            line: self.line(offset),
            destination: destination.to_owned(),
            page,
            fragment: fragment.to_owned(),
        })
    }

    /// `broken-link` for a link, image or block reference.
    fn link(&self, destination: &str, offset: usize, what: &str, found: &mut Vec<Found>) {
        let line = self.line(offset);
        let file = match classify(destination) {
            Destination::File(file) => file,
            Destination::Dangling(url) => {
                found.push(
                    Found::new(
                        Rule::BrokenLink,
                        self.path,
                        line,
                        format!("{what} `{url}` is one GitBook left dangling when its target page was deleted"),
                    )
                    .fix("link the page that replaced it, or remove the link")
                    .key(url),
                );
                return;
            }
            _ => return,
        };
        let (resolved, climbed_out) = snapshot::resolve_within(self.root, self.dir, &file);
        if self.snapshot.exists(&resolved) || self.snapshot.is_dir(&resolved) {
            return;
        }
        let (message, fix) = if climbed_out {
            // `..` above the root stays at the root, which exports rely on;
            // naming that clamped path would name one nobody wrote.
            let root = if self.root.is_empty() { "the repository root" } else { self.root };
            (
                format!(
                    "{what} `{destination}` leaves the space: it climbs above {root}, and no such file is in the space"
                ),
                "link a file inside the space, or the other space's published URL".to_owned(),
            )
        } else if let Some(page) = page_meant(&resolved, self.snapshot) {
            let path_end = destination.find(['#', '?']).unwrap_or(destination.len());
            let path = &destination[..path_end];
            let stem = path.strip_suffix(".html").or_else(|| path.strip_suffix(".htm")).unwrap_or(path);
            let written = format!("{stem}.md{}", &destination[path_end..]);
            (
                format!("{what} `{destination}` names {resolved}, which does not exist; the page is {page}"),
                format!("write `{written}`: GitBook links pages by their file"),
            )
        } else {
            (
                format!("{what} `{destination}` points at {resolved}, which does not exist"),
                "fix the path (relative to this page, within the space), or add the file".to_owned(),
            )
        };
        found.push(Found::new(Rule::BrokenLink, self.path, line, message).fix(fix).key(destination.to_owned()));
    }

    /// `block-unclosed` and `block-attribute`, for tags outside hidden
    /// ranges (code, comments); returns each `content-ref` block's span and
    /// `url`. A tag is `{%` … `%}` with no other `{%` inside and a name that
    /// starts with a letter: a `{%` in a URL (`?left={%22ds%22:1}`) is none.
    /// Linear in the page's length, however many tags stay open.
    fn blocks(&self, body: &str, hidden: &[Range<usize>], found: &mut Vec<Found>) -> Vec<(Range<usize>, String)> {
        let in_hidden = |offset: usize| {
            let i = hidden.partition_point(|r| r.start <= offset);
            hidden[..i].iter().rev().take(4).any(|r| r.contains(&offset))
        };
        let mut open: Vec<OpenBlock<'_>> = Vec::new();
        // Where each name sits in `open`, innermost last: closing a block
        // finds it without scanning every block left open.
        let mut open_at: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut references = Vec::new();
        let mut from = 0;
        // The first `%}` at or after `from`, found once for every `{%` before it.
        let mut next_close: Option<usize> = None;
        while let Some(start) = find_tag_mark(&body[from..], b'{', b'%').map(|i| from + i) {
            let close = match next_close.filter(|&close| close >= start + 2) {
                Some(close) => close,
                None => match find_tag_mark(&body[start + 2..], b'%', b'}') {
                    Some(i) => start + 2 + i,
                    None => break,
                },
            };
            next_close = Some(close);
            if let Some(i) = find_tag_mark(&body[start + 2..close], b'{', b'%') {
                from = start + 2 + i;
                continue;
            }
            let inner = body[start + 2..close].trim_matches(|c: char| c == '-' || c.is_whitespace());
            let (name, attributes) = inner.split_once(char::is_whitespace).unwrap_or((inner, ""));
            if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
                from = start + 2;
                continue;
            }
            from = close + 2;
            if in_hidden(start) {
                continue;
            }
            let line = self.line(start);
            if let Some(closed) = name.strip_prefix("end") {
                match open_at.get(closed).and_then(|at| at.last().copied()) {
                    Some(at) => {
                        for (index, block) in open.drain(at..).enumerate() {
                            if let Some(positions) = open_at.get_mut(block.name) {
                                positions.pop();
                            }
                            if let Some(url) = block.url {
                                references.push((block.start..from, url.to_owned()));
                            }
                            if index > 0 && block.required {
                                found.push(self.unclosed(block.name, block.line, Some((closed, line))));
                            }
                        }
                    }
                    None if CLOSED_BLOCKS.contains(&closed) => found.push(
                        Found::new(
                            Rule::BlockUnclosed,
                            self.path,
                            line,
                            format!("`{{% {name} %}}` closes no open `{closed}` block"),
                        )
                        .fix(format!("remove it, or add the `{{% {closed} %}}` it closes"))
                        .key(name.to_owned()),
                    ),
                    None => {}
                }
                continue;
            }
            if matches!(name, "else" | "elsif" | "elif") {
                continue;
            }
            self.attributes(name, attributes, start, line, found);
            let url = if name == "content-ref" { attribute(attributes, "url") } else { None };
            open_at.entry(name).or_default().push(open.len());
            open.push(OpenBlock { name, line, required: CLOSED_BLOCKS.contains(&name), start, url });
        }
        for block in open {
            if let Some(url) = block.url {
                references.push((block.start..body.len(), url.to_owned()));
            }
            if block.required {
                found.push(self.unclosed(block.name, block.line, None));
            }
        }
        references
    }

    fn unclosed(&self, name: &str, line: usize, closed_by: Option<(&str, usize)>) -> Found {
        let message = match closed_by {
            Some((other, at)) => {
                format!(
                    "`{{% {name} %}}` is not closed before `{{% end{other} %}}` on line {at} (blocks closed out of order)"
                )
            }
            None => format!("`{{% {name} %}}` is never closed: GitBook renders the rest of the page as raw text"),
        };
        Found::new(Rule::BlockUnclosed, self.path, line, message)
            .fix(format!("add `{{% end{name} %}}` where the block ends, inside any block that holds it"))
            .key(name.to_owned())
    }

    fn attributes(&self, name: &str, attributes: &str, offset: usize, line: usize, found: &mut Vec<Found>) {
        let attribute = |key: &str| attribute(attributes, key);
        let required = match name {
            "tab" => Some("title"),
            "content-ref" | "embed" => Some("url"),
            "file" => Some("src"),
            "update" => Some("date"),
            _ => None,
        };
        if let Some(key) = required {
            if attribute(key).is_none() {
                found.push(
                    Found::new(Rule::BlockAttribute, self.path, line, format!("`{{% {name} %}}` has no {key}=\"…\""))
                        .fix(format!("write {{% {name} {key}=\"…\" %}}"))
                        .key(format!("{name}:{key}")),
                );
            }
        }
        if name == "hint" {
            if let Some(style) = attribute("style").filter(|s| !HINT_STYLES.contains(s)) {
                found.push(
                    Found::new(Rule::BlockAttribute, self.path, line, format!("unknown hint style `{style}`"))
                        .fix("use style=\"info\", \"success\", \"warning\" or \"danger\"")
                        .key(format!("hint:{style}")),
                );
            }
        }
        let reference = match name {
            "content-ref" => attribute("url"),
            "file" => attribute("src"),
            "include" => {
                let path = attributes.trim();
                let unquoted = path.trim_matches(|c| c == '"' || c == '\'');
                (unquoted.len() + 2 == path.len()).then_some(unquoted)
            }
            _ => None,
        };
        if let Some(reference) = reference {
            self.link(reference, offset, &format!("{name} block"), found);
        }
    }
}

/// The value of `key="…"` (or `'…'`, or unquoted) among a tag's attributes.
fn attribute<'a>(attributes: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = attributes;
    while let Some(at) = rest.find(key) {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + key.len()..];
        rest = after;
        if before.is_some_and(|c| !c.is_whitespace()) {
            continue;
        }
        let Some(value) = after.trim_start().strip_prefix('=') else { continue };
        let value = value.trim_start();
        return match value.chars().next() {
            Some(quote @ ('"' | '\'')) => value[1..].split(quote).next(),
            _ => value.split(char::is_whitespace).next(),
        };
    }
    None
}

/// `src="…"` and `href="…"` values of HTML tags, with their offsets. Text
/// that only looks like a tag (`&#x3C;img src=…`, escaped) has none.
fn html_links(html: &str) -> Vec<(usize, String)> {
    let mut links = Vec::new();
    for key in ["src=", "href="] {
        for (at, _) in html.match_indices(key) {
            let before = &html[..at];
            let in_tag = before.rfind('<').is_some_and(|open| before.rfind('>').is_none_or(|close| close < open));
            if !before.ends_with(char::is_whitespace) || !in_tag {
                continue;
            }
            let value = &html[at + key.len()..];
            let Some(quote @ ('"' | '\'')) = value.chars().next() else { continue };
            if let Some(value) = value[1..].split(quote).next() {
                links.push((at, decode_entities(value)));
            }
        }
    }
    links
}

/// An attribute value with its character references decoded
/// (`Filice&#x27;s Talk.png` names `Filice's Talk.png`).
fn decode_entities(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "lt" => Some('<'),
                "gt" => Some('>'),
                _ => match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok().and_then(char::from_u32),
                    None => name.strip_prefix('#').and_then(|d| d.parse().ok()).and_then(char::from_u32),
                },
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn check_front_matter(path: &str, front: &FrontMatter<'_>, found: &mut Vec<Found>) {
    let at = |line: usize| front.first_line + line - 1;
    let map = match yaml::mapping(front.yaml) {
        Ok(map) => map,
        Err(YamlError { line, problem: message }) => {
            found.push(
                Found::new(Rule::FrontMatter, path, at(line), format!("front matter is not valid YAML: {message}"))
                    .fix("quote values holding `: `, `#` or leading special characters, e.g. description: \"A: B\"")
                    .key("syntax"),
            );
            return;
        }
    };
    let mut wrong = |key: &str, value: &yaml::Spanned<Value>, expected: &str| {
        found.push(
            Found::new(
                Rule::FrontMatter,
                path,
                at(yaml::key_line(front.yaml, key, value)),
                format!("`{key}` must be {expected}, not {}", yaml::type_name(&value.value)),
            )
            .fix(format!("write {key} as {expected}"))
            .key(key.to_owned()),
        );
    };
    for (key, value) in &map {
        let ok = match (key.as_str(), &value.value) {
            (_, Value::Null) => true,
            ("description" | "icon" | "cover" | "if", v) => v.is_string(),
            ("hidden", v) => v.is_boolean(),
            ("coverY", v) => v.is_number(),
            ("vars", v) => v.is_object(),
            ("layout", Value::Object(layout)) => {
                for (part, setting) in layout {
                    let ok = match (part.as_str(), setting) {
                        ("width", v) => v.is_string(),
                        (_, Value::Object(inner)) => inner.get("visible").is_none_or(Value::is_boolean),
                        (_, v) => v.is_boolean(),
                    };
                    if !ok {
                        wrong(&format!("layout.{part}"), value, "a mapping like `visible: true`");
                    }
                }
                true
            }
            ("layout", _) => false,
            _ => true,
        };
        if !ok {
            let expected = match key.as_str() {
                "hidden" => "true or false",
                "coverY" => "a number",
                "vars" | "layout" => "a mapping",
                _ => "a string",
            };
            wrong(key, value, expected);
        }
    }
}

/// A front matter block that is not on the very first line is Markdown to
/// GitBook: a rule and a heading, shown on the page.
fn misplaced_front_matter(path: &str, text: &str, found: &mut Vec<Found>) {
    let mut lines = text.lines().enumerate().skip_while(|(_, l)| l.trim().is_empty());
    let Some((index, first)) = lines.next() else { return };
    if index == 0 || first.trim_end() != "---" {
        return;
    }
    let looks_like_yaml = lines.next().is_some_and(|(_, l)| {
        l.split_once(':')
            .is_some_and(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    });
    if looks_like_yaml {
        found.push(
            Found::new(
                Rule::FrontMatter,
                path,
                index + 1,
                "front matter is not at the very top of the page: GitBook shows it as text",
            )
            .fix("remove the blank lines (or byte order mark) before the opening `---`")
            .key("misplaced"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations() {
        assert_eq!(classify("https://x.y/a.md"), Destination::External);
        assert_eq!(classify("mailto:a@b.c"), Destination::External);
        assert_eq!(classify("#top"), Destination::Anchor);
        assert_eq!(classify("/docs/page"), Destination::Absolute("docs/page".into()));
        assert_eq!(classify("/a%20b.md#x"), Destination::Absolute("a b.md".into()));
        assert_eq!(classify("broken-reference/"), Destination::Dangling("broken-reference/".into()));
        assert_eq!(classify("../broken-reference"), Destination::Dangling("../broken-reference".into()));
        assert_eq!(classify("/broken/pages/abc"), Destination::Dangling("/broken/pages/abc".into()));
        assert_eq!(classify("a%20b.md#x"), Destination::File("a b.md".into()));
        assert_eq!(classify("../c.md?plain=1"), Destination::File("../c.md".into()));
    }

    #[test]
    fn attributes_of_tags() {
        assert_eq!(attribute(r#"style="info""#, "style"), Some("info"));
        assert_eq!(attribute(r#"title='A b' style=warning"#, "style"), Some("warning"));
        assert_eq!(attribute(r#"mystyle="x""#, "style"), None);
    }

    #[test]
    fn html_links_only_in_real_tags() {
        let html = r#"<figure><img src="a.png" alt=""></figure> &#x3C;img src="b.png"> <a href='c.md'>c</a>"#;
        let values: Vec<String> = html_links(html).into_iter().map(|(_, v)| v).collect();
        assert_eq!(values, ["a.png", "c.md"]);
        let entity = r#"<img src="../Filice&#x27;s Talk &amp; more.png">"#;
        assert_eq!(html_links(entity)[0].1, "../Filice's Talk & more.png");
    }

    #[test]
    fn link_destinations_read_back_as_the_path() {
        for path in ["a.md", "my page.md", "a (draft).md", "a)b.md", "a<b>.md", "x\\y.md", "<a.md", "f(x)/g.md"] {
            let markdown = format!("[T]({})", link_destination(path));
            let parsed = Parser::new(&markdown).find_map(|event| match event {
                Event::Start(Tag::Link { dest_url, .. }) => Some(dest_url.into_string()),
                _ => None,
            });
            assert_eq!(parsed.as_deref(), Some(path), "{markdown}");
        }
        assert_eq!(link_destination("a.md"), "a.md");
        assert_eq!(link_destination("my page.md"), "<my page.md>");
    }

    #[test]
    fn html_comments_cut_out() {
        let mut in_comment = false;
        let pieces = html_pieces("<a href=\"x\"> <!-- <img src=\"y\"> --> <b>", &mut in_comment);
        let comments: Vec<(&str, bool)> = pieces.iter().map(|(_, p, c)| (*p, *c)).collect();
        assert_eq!(comments, [("<a href=\"x\"> ", false), ("<!-- <img src=\"y\"> -->", true), (" <b>", false)]);
        assert!(!in_comment);
        assert_eq!(html_pieces("<!--\n", &mut in_comment), [(0, "<!--\n", true)]);
        assert_eq!(html_pieces("<img src=\"z\">\n", &mut in_comment), [(0, "<img src=\"z\">\n", true)]);
        assert_eq!(html_pieces("--> <i>\n", &mut in_comment), [(0, "-->", true), (3, " <i>\n", false)]);
        assert!(!in_comment);
    }

    #[test]
    fn tag_marks_found_as_find_finds_them() {
        for text in ["", "{", "{%", "a{b{%c", "%}{%", "{{%", "é{%", "{ %{%}"] {
            assert_eq!(find_tag_mark(text, b'{', b'%'), text.find("{%"), "{text:?}");
            assert_eq!(find_tag_mark(text, b'%', b'}'), text.find("%}"), "{text:?}");
        }
    }

    #[test]
    fn lines_of_offsets() {
        let lines = Lines::new("a\nb\n\nc");
        assert_eq!([lines.line(0), lines.line(2), lines.line(4), lines.line(5)], [1, 2, 3, 4]);
    }

    #[test]
    fn front_matter_bounds() {
        let text = "---\ndescription: x\n---\n# Title\n";
        let front = front_matter(text).expect("closed").expect("present");
        assert_eq!(front.yaml, "description: x\n");
        assert_eq!(&text[front.body..], "# Title\n");
        assert!(front_matter("---\na: b\n").is_err());
        assert!(front_matter("# Title\n---\n").expect("none").is_none());
    }
}
