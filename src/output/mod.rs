//! What a run leaves behind: the report on stdout and in files, and the
//! text of the note, the diff threads and the merge requests it writes to GitLab.

pub(crate) mod child_pipeline;
pub(crate) mod json;
pub(crate) mod merge_request_note;
pub(crate) mod report;
pub(crate) mod review_discussions;
pub(crate) mod status;

use url::Url;

use crate::secret::is_bidi_control;

/// A server's address fit to be handed on (`DOCSYNC_URL`) or linked to
/// (the merge request note): an absolute `http`/`https` URL of printable
/// characters, without credentials and without `$` (GitLab expands
/// variables in a dotenv value where a later job uses it). `None` for
/// anything else: a `javascript:` URL, a NUL, an escape sequence.
pub(crate) fn web_link(raw: &str) -> Option<Url> {
    let printable = |c: char| !c.is_control() && !c.is_whitespace() && !is_bidi_control(c) && c != '$';
    if !raw.chars().all(printable) {
        return None;
    }
    let url = Url::parse(raw).ok()?;
    let plain = url.username().is_empty() && url.password().is_none();
    (matches!(url.scheme(), "http" | "https") && url.host().is_some() && plain).then_some(url)
}

/// `text`, lines kept, in a fenced code block of `info` (a language, or
/// GitLab's `suggestion:-0+N`) whose fence is longer than any run of
/// backticks inside: nothing in it is Markdown, and nothing closes it.
/// GitLab reads a longer fence around a suggestion the same way.
pub(crate) fn fenced_as(info: &str, text: &str) -> String {
    let fence = "`".repeat(longest_backtick_run(text).max(2) + 1);
    format!("{fence}{info}\n{text}\n{fence}")
}

pub(crate) fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}
