//! What `sync` tells GitLab, as text: the merge request's one note (what
//! merging it changes in each target's space, section by section) and the
//! titles and descriptions of the merge requests docsync opens. Rendering
//! only: the command reads the facts and the GitLab stage posts.

use std::collections::BTreeMap;

use url::Url;

use crate::lint::Finding;
use crate::lint::outline::{NavChange, redirects_block};
use crate::output::{fenced_as, longest_backtick_run, web_link};
use crate::plan::outcome::Outcome;
use crate::secret::{Redacted, printable};
use crate::settings::pipeline::CiContext;
use crate::settings::{GitBookTarget, Settings, Target};
use crate::targets::gitbook::change_requests::{MAX_CHANGE_REQUESTS, OpenChangeRequests};
use crate::targets::gitbook::space::GitBookEditsFound;

/// The edits merge request's title and description: the revision and the
/// pages GitBook changed, its strings in code spans.
pub(crate) fn edits_merge_request_text(
    gitbook: &GitBookTarget,
    outcome: &Outcome,
    source: &str,
    ci: Option<&CiContext>,
) -> (Redacted, Redacted) {
    let title = format!("GitBook: edits made in space {}", printable(&gitbook.space));
    let mut description = format!(
        "Opened by docsync, which did not import into GitBook space {} because the space holds work Git does not have: GitBook exported it to {}. Merge this, then run the sync again.",
        code(&gitbook.space),
        code(source)
    );
    if let Some(found) = &outcome.gitbook_edits {
        description.push_str(&format!("\n\nLive {}\n", code(&found.describe_revision())));
        description.push_str(&edited_pages(found));
    }
    if let Some(url) = ci.and_then(|ci| ci.pipeline_url.as_deref()).and_then(web_link) {
        description.push_str(&format!("\n\nPipeline: {url}"));
    }
    (Redacted::line(&title), Redacted::new(&description))
}

/// The pages GitBook changed, one list item each, GitBook's strings in
/// code spans, a link only to an http(s) address; then why the walk
/// stopped short, when it did.
fn edited_pages(found: &GitBookEditsFound) -> String {
    let mut text = String::new();
    for page in &found.pages {
        let path = page.path.as_deref().map_or_else(|| "(no file in the repository)".to_owned(), code);
        text.push_str(&format!("\n- {} {path} {}", code(&page.change), code(&page.title)));
        if let Some(url) = page.url.as_deref().and_then(web_link) {
            text.push_str(&format!(" [in GitBook](<{url}>)"));
        }
    }
    if let Some(why) = &found.incomplete {
        text.push_str(&format!("\n\n{}", fenced(why)));
    }
    text
}

/// Where docsync finds its one note on a merge request again.
pub(crate) const NOTE_MARKER: &str = "<!-- docsync:preview -->";

/// GitLab's limit of a note's length, in characters: the `body` is
/// "Limited to 1,000,000 characters" (GitLab API docs, Notes API, "Create
/// new merge request note",
/// <https://docs.gitlab.com/ee/api/notes.html#create-new-merge-request-note>);
/// beyond it GitLab refuses the whole note: `400 Bad request - Note
/// {:note=>["is too long (maximum is 1000000 characters)"]}`.
pub(crate) const MAX_NOTE_CHARS: usize = 1_000_000;

/// How many pages, and how many new findings, a target's section lists;
/// the rest is a count.
pub(crate) const MAX_LISTED: usize = 50;

/// What a merge request changes in one target, read from the plan and from
/// the repository at the range's base and head: the note's facts besides
/// the outcome.
#[derive(Debug, Clone, Default)]
pub(crate) struct TargetChanges {
    /// Every page the range adds, changes, moves or deletes in the target
    /// (Markdown files but the summary), added first, then changed, moved
    /// and deleted, each by path; titles only for the first
    /// [`MAX_LISTED`].
    pub pages: Vec<PageChange>,
    /// The summary the space reads, and its change as a reader sees it.
    pub summary: String,
    pub navigation: Vec<NavChange>,
    /// The `.gitbook.yaml` the redirects go into, and the redirects the
    /// moves need (old URL path → new file).
    pub config_path: String,
    pub redirects: Vec<(String, String)>,
    /// The pre-flight's findings that were there at the base already.
    pub old_findings: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PageStatus {
    Added,
    Changed,
    Moved { from: String },
    Deleted,
}

#[derive(Debug, Clone)]
pub(crate) struct PageChange {
    pub status: PageStatus,
    /// Repository-relative; for a deleted page, where it was.
    pub path: String,
    /// Its summary entry's title, else its first heading.
    pub title: Option<String>,
}

impl PageChange {
    /// Where the live space has it, if anywhere: where it was before.
    fn live_path(&self) -> Option<&str> {
        match &self.status {
            PageStatus::Added => None,
            PageStatus::Changed | PageStatus::Deleted => Some(&self.path),
            PageStatus::Moved { from } => Some(from),
        }
    }
}

/// One target's part of the note: its row of the table at the top and its
/// section, both redacted. The note keeps the other targets' parts as they
/// are (in fan-out, other jobs write them).
#[derive(Debug, Clone)]
pub(crate) struct NoteSection {
    pub name: String,
    row: Redacted,
    body: Redacted,
}

impl NoteSection {
    fn start(name: &str) -> String {
        format!("<!-- docsync:target:{name} -->")
    }

    fn end(name: &str) -> String {
        format!("<!-- docsync:end:{name} -->")
    }

    /// The section as it stands in the note, markers and row included.
    fn text(&self) -> String {
        format!(
            "{}\n<!-- docsync:row {} -->\n{}\n{}",
            Self::start(&self.name),
            self.row,
            self.body,
            Self::end(&self.name)
        )
    }

    /// The sections of a note docsync wrote, in the order they stand; a
    /// section whose end was cut off is dropped (its job writes it again).
    fn parse_all(note: &str) -> Vec<NoteSection> {
        let mut sections = Vec::new();
        let mut rest = note;
        while let Some(at) = rest.find("<!-- docsync:target:") {
            rest = &rest[at..];
            let Some((first, after)) = rest.split_once('\n') else { break };
            let Some(name) = first.strip_prefix("<!-- docsync:target:").and_then(|n| n.strip_suffix(" -->")) else {
                rest = after;
                continue;
            };
            let end = Self::end(name);
            let Some((inside, after_end)) = after.split_once(&end) else {
                rest = after;
                continue;
            };
            let (row_line, body) = inside.split_once('\n').unwrap_or((inside, ""));
            if let Some(row) = row_line.strip_prefix("<!-- docsync:row ").and_then(|r| r.strip_suffix(" -->")) {
                sections.push(NoteSection {
                    name: name.to_owned(),
                    row: Redacted::new(row),
                    body: Redacted::new(body.strip_suffix('\n').unwrap_or(body)),
                });
            }
            rest = after_end;
        }
        sections
    }
}

/// One target's section of the note: the outcome and how long the preview
/// took, the pages with titles and links into GitBook, the navigation's
/// change, the redirects the moves need, GitBook's edits and change
/// requests, the pre-flight's findings. Text from a server (GitBook's
/// error, its fix-it label, page titles) and from the repository is fenced
/// or in code, so a mention (`@all`), a link or HTML in it does nothing; a
/// link is kept only to an http(s) address ([`web_link`]).
pub(crate) fn section(
    target: &Target,
    gitbook: &GitBookTarget,
    outcome: &Outcome,
    changes: Option<&TargetChanges>,
) -> NoteSection {
    let took = outcome.elapsed.map(|d| format!("{:.1} s", d.as_secs_f64())).unwrap_or_else(|| "—".into());
    let pages = changes.map_or_else(|| "—".to_owned(), |c| page_counts(&c.pages));
    let old = changes.map_or(0, |c| c.old_findings);
    let row = format!(
        "| {} | {} | **{}** | {took} | {pages} | {} new, {old} old |",
        code(&target.name),
        code(&gitbook.space),
        outcome.status.as_str(),
        outcome.findings.len()
    );
    let mut body = format!(
        "#### {} — space {}: **{}**{}\n\n{}",
        code(&target.name),
        code(&gitbook.space),
        outcome.status.as_str(),
        outcome.elapsed.map(|_| format!(" in {took}")).unwrap_or_default(),
        fenced(&outcome.message)
    );
    if let Some(action) = &outcome.error_action {
        body.push_str(&format!("\n\nGitBook's fix: {}", fix_link(&action.label, &action.url)));
    }
    if let Some(url) = outcome.docs_url.as_deref().and_then(web_link) {
        body.push_str(&format!("\n\n[Open in GitBook](<{url}>)"));
    }
    if let Some(changes) = changes {
        body.push_str(&pages_text(changes, &outcome.live_pages));
        body.push_str(&navigation_text(changes));
        if !changes.redirects.is_empty() {
            body.push_str(&format!(
                "\n\n**Redirects the moves need** (old links keep working): add to {}\n\n{}",
                code(&changes.config_path),
                fenced_as("yaml", &redirects_block(&changes.redirects))
            ));
        }
    }
    if let Some(held) = &outcome.gitbook_edits {
        body.push_str(&format!(
            "\n\n**GitBook holds edits Git does not have** (live {}): merging this imports over them unless GitBook exports them first\n",
            code(&held.describe_revision())
        ));
        body.push_str(&edited_pages(held));
    }
    if let Some(open) = &outcome.change_requests {
        body.push_str(&change_requests_text(open));
    }
    body.push_str(&findings_text(&outcome.findings, old));
    NoteSection { name: target.name.clone(), row: Redacted::new(&row), body: Redacted::new(&body) }
}

fn page_counts(pages: &[PageChange]) -> String {
    let count = |wanted: fn(&PageStatus) -> bool| pages.iter().filter(|p| wanted(&p.status)).count();
    format!(
        "{} added, {} changed, {} moved, {} deleted",
        count(|s| *s == PageStatus::Added),
        count(|s| *s == PageStatus::Changed),
        count(|s| matches!(s, PageStatus::Moved { .. })),
        count(|s| *s == PageStatus::Deleted)
    )
}

/// The pages, the first [`MAX_LISTED`] of them listed, each with its title
/// and, when the live space has it, its page in GitBook.
fn pages_text(changes: &TargetChanges, live_pages: &BTreeMap<String, String>) -> String {
    if changes.pages.is_empty() {
        return "\n\n**Pages**: none changed".into();
    }
    let mut text = format!("\n\n**Pages** ({})\n", page_counts(&changes.pages));
    for page in changes.pages.iter().take(MAX_LISTED) {
        let what = match &page.status {
            PageStatus::Added => format!("added {}", code(&page.path)),
            PageStatus::Changed => format!("changed {}", code(&page.path)),
            PageStatus::Moved { from } => format!("moved {} → {}", code(from), code(&page.path)),
            PageStatus::Deleted => format!("deleted {}", code(&page.path)),
        };
        text.push_str(&format!("\n- {what}"));
        if let Some(title) = &page.title {
            text.push_str(&format!(" {}", code(title)));
        }
        if let Some(url) = page.live_path().and_then(|path| live_pages.get(path)).and_then(|u| web_link(u)) {
            text.push_str(&format!(" [in GitBook](<{url}>)"));
        }
    }
    if changes.pages.len() > MAX_LISTED {
        text.push_str(&format!(
            "\n\n…and {} more pages: the first {MAX_LISTED} are listed (the job's JSON report lists every changed file).",
            changes.pages.len() - MAX_LISTED
        ));
    }
    text
}

/// The navigation's change: entries added, removed and moved between
/// groups, never the summary's text diff.
fn navigation_text(changes: &TargetChanges) -> String {
    if changes.navigation.is_empty() {
        return String::new();
    }
    let place = |place: &[String]| match place {
        [] => "the top level".to_owned(),
        place => place.iter().map(|p| code(p)).collect::<Vec<_>>().join(" › "),
    };
    let mut text = format!("\n\n**Navigation** ({})\n", code(&changes.summary));
    for (index, change) in changes.navigation.iter().enumerate() {
        if index == MAX_LISTED {
            text.push_str(&format!("\n\n…and {} more entries.", changes.navigation.len() - MAX_LISTED));
            break;
        }
        text.push_str(&match change {
            NavChange::Added { title, place: at } => format!("\n- added {} under {}", code(title), place(at)),
            NavChange::Removed { title, place: at } => format!("\n- removed {} from {}", code(title), place(at)),
            NavChange::Moved { title, from, to } => {
                format!("\n- moved {} from {} to {}", code(title), place(from), place(to))
            }
        });
    }
    text
}

fn change_requests_text(open: &OpenChangeRequests) -> String {
    let mut text = "\n\n**Open change requests in GitBook on this merge request's pages**\n".to_owned();
    for clash in &open.clashes {
        let pages: Vec<String> = clash.pages.iter().map(|p| code(p)).collect();
        text.push_str(&format!("\n- #{} {}", clash.number, code(&clash.subject)));
        if let Some(author) = &clash.author {
            text.push_str(&format!(" by {}", code(author)));
        }
        text.push_str(&format!(": {}", pages.join(", ")));
        if let Some(url) = clash.url.as_deref().and_then(web_link) {
            text.push_str(&format!(" [in GitBook](<{url}>)"));
        }
    }
    if open.more {
        text.push_str(&format!(
            "\n\nMore than {MAX_CHANGE_REQUESTS} change requests are open: only the {MAX_CHANGE_REQUESTS} most recently updated were read."
        ));
    }
    text
}

/// The new findings (the first [`MAX_LISTED`]), then how many were there
/// at the base already.
fn findings_text(new: &[Finding], old: usize) -> String {
    if new.is_empty() && old == 0 {
        return String::new();
    }
    let mut text = format!("\n\n**Docs pre-flight**: {} new finding(s)\n", new.len());
    for finding in new.iter().take(MAX_LISTED) {
        text.push_str(&format!(
            "\n- {} {}[`{}`]: {}",
            code(&format!("{}:{}", finding.path, finding.line)),
            finding.severity.as_str(),
            finding.rule.id(),
            printable(&finding.message)
        ));
    }
    if new.len() > MAX_LISTED {
        text.push_str(&format!(
            "\n\n…and {} more new findings (the job's JSON report lists them all).",
            new.len() - MAX_LISTED
        ));
    }
    if old > 0 {
        text.push_str(&format!(
            "\n\n{old} finding(s) were there before this merge request; `docsync lint` lists them."
        ));
    }
    text
}

/// The whole note: the marker, a table with one row per target, each
/// target's section, the pipeline. `ours` replace the sections of the same
/// targets in `existing` (docsync's note as GitLab holds it now), the
/// sections of `retired` targets (nothing of theirs to preview any more)
/// are dropped, and the other targets' sections are kept as they are, so
/// jobs that each sync some targets share one note. Cut at
/// [`MAX_NOTE_CHARS`], with a line saying so. `None` when there is no note
/// and nothing to put in one.
pub(crate) fn compose(
    existing: Option<&str>,
    ours: &[NoteSection],
    retired: &[String],
    pipeline: Option<&Url>,
) -> Option<Redacted> {
    if existing.is_none() && ours.is_empty() {
        return None;
    }
    let mut sections: BTreeMap<String, NoteSection> =
        existing.map(NoteSection::parse_all).unwrap_or_default().into_iter().map(|s| (s.name.clone(), s)).collect();
    for name in retired {
        sections.remove(name);
    }
    for section in ours {
        sections.insert(section.name.clone(), section.clone());
    }
    let mut note = format!("{NOTE_MARKER}\n### docsync: what merging this changes in GitBook");
    if sections.is_empty() {
        note.push_str("\n\nNothing in this merge request changes a GitBook space any more.");
    } else {
        note.push_str("\n\n| target | space | preview | took | pages | pre-flight |\n|---|---|---|---|---|---|");
    }
    for section in sections.values() {
        note.push_str(&format!("\n{}", section.row));
    }
    for section in sections.values() {
        note.push_str(&format!("\n\n{}", section.text()));
    }
    if let Some(url) = pipeline {
        note.push_str(&format!("\n\n<sub>Pipeline: {url}</sub>"));
    }
    Some(Redacted::new(&cut_to_fit(note, MAX_NOTE_CHARS)))
}

/// Whether `note` holds `ours` as written, and no section of `retired`:
/// another job's write in between did not undo this one's.
pub(crate) fn holds(note: &str, ours: &[NoteSection], retired: &[String]) -> bool {
    ours.iter().all(|section| note.contains(&section.text()))
        && retired.iter().all(|name| !note.contains(&NoteSection::start(name)))
}

const CUT_LINE: &str = "**The note is cut here**: GitLab takes notes of up to 1,000,000 characters. The job's JSON report lists every changed file and finding.";

/// `note` whole when it fits in `limit` characters; else its lines up to
/// the limit, an open code block closed, and [`CUT_LINE`].
fn cut_to_fit(note: String, limit: usize) -> String {
    if note.chars().count() <= limit {
        return note;
    }
    // Room for the line saying so and a fence that closes an open block.
    let budget = limit.saturating_sub(CUT_LINE.len() + 64);
    let mut kept = String::new();
    let mut used = 0;
    let mut open_fence: Option<String> = None;
    for line in note.split_inclusive('\n') {
        let length = line.chars().count();
        if used + length > budget {
            break;
        }
        used += length;
        kept.push_str(line);
        let trimmed = line.trim_end();
        let ticks: String = trimmed.chars().take_while(|c| *c == '`').collect();
        match &open_fence {
            Some(fence) if trimmed == fence => open_fence = None,
            None if ticks.len() >= 3 => open_fence = Some(ticks),
            _ => {}
        }
    }
    if !kept.ends_with('\n') {
        kept.push('\n');
    }
    if let Some(fence) = open_fence {
        kept.push_str(&fence);
        kept.push('\n');
    }
    kept.push('\n');
    kept.push_str(CUT_LINE);
    kept
}

/// GitBook's fix-it link: its label in code, linked only to an http(s) address.
fn fix_link(label: &str, url: &str) -> String {
    match web_link(url) {
        Some(url) => format!("[{}](<{url}>)", code(label)),
        None => format!("{} (its link is not an http(s) address)", code(label)),
    }
}

pub(crate) fn pipeline_url(settings: &Settings) -> Option<Url> {
    settings.pipeline.ci.as_ref().and_then(|ci| ci.pipeline_url.as_deref()).and_then(web_link)
}

/// `text` on one line as a Markdown code span: delimited by one backtick
/// more than its longest run of backticks, so it cannot close early.
fn code(text: &str) -> String {
    let text = printable(text);
    let ticks = "`".repeat(longest_backtick_run(&text) + 1);
    // A backtick at either edge would join the delimiter: a space keeps it apart.
    let pad = if text.starts_with('`') || text.ends_with('`') { " " } else { "" };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

/// `text` on one line in a fenced code block whose fence is longer than any
/// run of backticks in it: nothing inside is Markdown, and nothing closes it.
fn fenced(text: &str) -> String {
    fenced_as("text", &printable(text))
}

/// The export merge request's title and description.
pub(crate) fn merge_request_text(
    gitbook: &GitBookTarget,
    source: &str,
    ci: Option<&CiContext>,
) -> (Redacted, Redacted) {
    let title = format!("GitBook: content of space {}", printable(&gitbook.space));
    let pipeline = ci.and_then(|ci| ci.pipeline_url.as_deref()).and_then(web_link);
    let description = format!(
        "Opened by docsync after exporting GitBook space {} to {}.{}",
        code(&gitbook.space),
        code(source),
        pipeline.map(|u| format!("\n\nPipeline: {u}")).unwrap_or_default()
    );
    (Redacted::line(&title), Redacted::new(&description))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_cannot_be_closed_by_the_text() {
        assert_eq!(code("plain"), "`plain`");
        assert_eq!(code("a `b` c"), "``a `b` c``");
        assert_eq!(code("`edge"), "`` `edge ``");
        assert_eq!(code("two\nlines\u{202e}"), "`two\\nlines\\u{202e}`");
    }

    #[test]
    fn gitbooks_fix_link_goes_only_to_http() {
        assert_eq!(
            fix_link("Reconnect @all", "https://app.gitbook.com/s/x/settings?a=<b>"),
            "[`Reconnect @all`](<https://app.gitbook.com/s/x/settings?a=%3Cb%3E>)"
        );
        assert_eq!(fix_link("Fix", "javascript:alert(1)"), "`Fix` (its link is not an http(s) address)");
    }

    fn part(name: &str, body: &str) -> NoteSection {
        NoteSection { name: name.into(), row: Redacted::new(&format!("| `{name}` |")), body: Redacted::new(body) }
    }

    #[test]
    fn a_job_replaces_its_own_parts_and_keeps_the_others() {
        let first = compose(None, &[part("alpha", "alpha v1"), part("beta", "beta v1")], &[], None).unwrap();
        let second = compose(Some(first.as_str()), &[part("beta", "beta v2")], &[], None).unwrap();
        let text = second.as_str();
        assert!(text.starts_with(NOTE_MARKER), "{text}");
        assert!(text.contains("alpha v1") && text.contains("beta v2") && !text.contains("beta v1"), "{text}");
        assert!(text.contains("| `alpha` |\n| `beta` |"), "one table, a row per target:\n{text}");
        assert!(holds(text, &[part("beta", "beta v2")], &[]));
        assert!(!holds(first.as_str(), &[part("beta", "beta v2")], &[]), "a stale part is not held");
    }

    #[test]
    fn a_target_with_nothing_to_preview_any_more_leaves_the_note() {
        let first = compose(None, &[part("alpha", "alpha v1"), part("beta", "beta v1")], &[], None).unwrap();
        let retired = ["alpha".to_owned()];
        let second = compose(Some(first.as_str()), &[], &retired, None).unwrap();
        assert!(!second.as_str().contains("alpha"), "{second}");
        assert!(second.as_str().contains("beta v1"), "{second}");
        assert!(holds(second.as_str(), &[], &retired) && !holds(first.as_str(), &[], &retired));
        let last = compose(Some(second.as_str()), &[], &["beta".to_owned()], None).unwrap();
        assert!(last.as_str().contains("Nothing in this merge request changes a GitBook space any more"), "{last}");
        assert_eq!(compose(None, &[], &retired, None), None, "no note is posted to say nothing");
    }

    #[test]
    fn a_part_cut_off_by_hand_or_by_the_limit_is_dropped_not_mangled() {
        let whole = compose(None, &[part("alpha", "a"), part("beta", "b")], &[], None).unwrap();
        let cut = whole.as_str().split("<!-- docsync:end:beta -->").next().unwrap_or_default();
        let parsed = NoteSection::parse_all(cut);
        assert_eq!(parsed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["alpha"]);
    }

    #[test]
    fn a_note_over_gitlabs_limit_is_cut_with_a_line_saying_so() {
        let line = "x".repeat(99);
        let huge = format!("```text\n{}```", format!("{line}\n").repeat(20_000));
        let note = compose(None, &[part("alpha", &huge)], &[], None).unwrap();
        let text = note.as_str();
        assert!(text.chars().count() <= MAX_NOTE_CHARS, "{} characters", text.chars().count());
        assert!(text.chars().count() > MAX_NOTE_CHARS - 1_000, "cut close to the limit, not far below");
        assert!(text.ends_with(CUT_LINE), "{}", &text[text.len() - 300..]);
        assert!(text.contains("\n```\n\n**The note is cut here**"), "the open code block is closed first");
        let small = compose(None, &[part("alpha", "short")], &[], None).unwrap();
        assert!(!small.as_str().contains("cut here"));
    }

    #[test]
    fn more_than_fifty_pages_shows_fifty_and_a_count() {
        let pages = (0..73)
            .map(|n| PageChange { status: PageStatus::Added, path: format!("docs/p{n:02}.md"), title: None })
            .collect();
        let changes = TargetChanges { pages, ..TargetChanges::default() };
        let text = pages_text(&changes, &BTreeMap::new());
        assert_eq!(text.matches("\n- added").count(), MAX_LISTED, "{text}");
        assert!(text.contains("`docs/p49.md`") && !text.contains("`docs/p50.md`"), "{text}");
        assert!(text.contains("…and 23 more pages: the first 50 are listed"), "{text}");
        assert!(text.contains("(73 added, 0 changed, 0 moved, 0 deleted)"), "{text}");
    }

    #[test]
    fn fenced_text_cannot_close_its_fence() {
        assert_eq!(fenced("@all [x](javascript:y)"), "```text\n@all [x](javascript:y)\n```");
        assert_eq!(fenced("a\n```\n@all"), "````text\na\\n```\\n@all\n````");
        assert_eq!(fenced("````"), "`````text\n````\n`````");
    }
}
