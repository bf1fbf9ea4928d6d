//! The pre-flight's new findings as threads on the merge request's diff
//! lines (`review_comments`), each with a GitLab suggestion where the fix
//! is mechanical: what a thread says. Rendering only: `commands/review.rs`
//! reads the pages and posts, [`crate::gitlab::discussions`] opens, finds
//! and resolves the threads.

use crate::gitlab::discussions::{DiffComment, marker};
use crate::lint::Finding;
use crate::lint::suggestion::{Suggestion, suggest};
use crate::output::fenced_as;
use crate::secret::{Redacted, printable, redact};

/// The thread a new finding opens: on its line of `page` (the file at the
/// pipeline's head, `None` when the head has no such text file), with a
/// suggestion where the fix is mechanical. `moves` are the pages the
/// merge request renames, old path first.
pub(crate) fn comment(finding: &Finding, page: Option<&str>, moves: &[(String, String)]) -> DiffComment {
    let identity = identity(finding);
    // A file the head does not have (a page moved without a redirect)
    // has no line to open a thread on; its finding is still present.
    let line_text = page.and_then(|page| page.lines().nth(finding.line - 1));
    let suggestion = page.and_then(|page| suggest(finding, page, moves));
    DiffComment {
        body: body(finding, &identity, suggestion.as_ref()),
        identity,
        path: finding.path.clone(),
        line: finding.line,
        line_text: line_text.map(str::to_owned),
    }
}

/// What makes a finding the same one from push to push: its rule, file
/// and subject (a link's destination, a tag's name), never its line.
pub(crate) fn identity(finding: &Finding) -> String {
    let subject = if finding.key.is_empty() { &finding.message } else { &finding.key };
    format!("{} {} {subject}", finding.rule.id(), finding.path)
}

/// A thread's text: the marker, the finding and its fix in a fence (the
/// page's text, a link's destination, cannot mention anyone or link
/// anywhere), and the suggestion. A suggestion that would carry a secret is
/// left out rather than masked: applied, a mask would break the page.
fn body(finding: &Finding, identity: &str, suggestion: Option<&Suggestion>) -> Redacted {
    let mut text = format!(
        "{}\n**docsync** pre-flight: `{}` ({})\n\n",
        marker(identity),
        finding.rule.id(),
        finding.severity.as_str()
    );
    // Line breaks stay (a fix may be a YAML block); other control
    // characters are shown escaped.
    let shown = |text: &str| text.lines().map(printable).collect::<Vec<_>>().join("\n");
    let mut said = shown(&finding.message);
    if let Some(fix) = &finding.fix {
        said.push_str(&format!("\nfix: {}", shown(fix)));
    }
    text.push_str(&fenced_as("text", &said));
    if let Some(suggestion) = suggestion.filter(|s| redact(&s.replacement) == s.replacement) {
        let info = match suggestion.lines_below {
            0 => "suggestion".to_owned(),
            below => format!("suggestion:-0+{below}"),
        };
        text.push_str("\n\nApply the suggestion to fix it:\n\n");
        text.push_str(&fenced_as(&info, &suggestion.replacement));
    }
    Redacted::new(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::{Rule, Severity};

    #[test]
    fn a_thread_body_fences_the_page_text_and_carries_the_suggestion() {
        let finding = Finding {
            rule: Rule::BrokenLink,
            severity: Severity::Error,
            new: true,
            target: "gitbook".into(),
            path: "docs/guide.md".into(),
            line: 3,
            message: "link `@all` points at docs/@all, which does not exist".into(),
            fix: Some("fix the path".into()),
            key: "@all".into(),
        };
        let suggestion = Suggestion { lines_below: 1, replacement: "a ```` b\nc".into() };
        let body = body(&finding, "broken-link docs/guide.md @all", Some(&suggestion));
        assert_eq!(
            body.as_str(),
            "<!-- docsync:finding:broken-link+docs%2Fguide.md+%40all -->\n**docsync** pre-flight: `broken-link` (error)\n\n\
             ```text\nlink `@all` points at docs/@all, which does not exist\nfix: fix the path\n```\n\n\
             Apply the suggestion to fix it:\n\n`````suggestion:-0+1\na ```` b\nc\n`````"
        );
    }
}
