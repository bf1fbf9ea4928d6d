//! The pre-flight's new findings as threads on the merge request's diff
//! lines (`review_comments`), each with a GitLab suggestion where the fix
//! is mechanical. What a thread says is decided here; opening, finding
//! and resolving threads is [`crate::gitlab::discussions`]'. A thread
//! GitLab cannot take (a token without the `api` scope, a refused
//! position) leaves the findings to the merge request note and Code
//! Quality, with a warning: never a failed job.

use std::collections::{BTreeMap, HashSet};

use crate::git::diff::ChangeStatus;
use crate::git::repo::Repo;
use crate::gitlab::client::{Auth, GitLabClient, GitLabError};
use crate::gitlab::discussions::{DiffComment, NotReviewed, marker};
use crate::gitlab::instance::{LocateProblem, ProjectApi};
use crate::http::HttpClient;
use crate::lint::suggestion::{Suggestion, suggest};
use crate::lint::{Finding, LintReport};
use crate::plan::{Action, Plan, SyncPlan};
use crate::secret::{Redacted, printable, redact};
use crate::settings::Settings;

/// The largest file whose lines a thread quotes: a page is far smaller.
const MAX_PAGE_BYTES: u64 = 10 * 1024 * 1024;

/// The threads the run would open: one per new finding of a previewing
/// target (one per identity when targets share a file), read at the
/// plan's head. `None` outside a merge request pipeline, with
/// `review_comments` off, or without a pre-flight: a run that did not
/// look knows no finding gone.
pub fn comments(
    plan: &Plan,
    settings: &Settings,
    report: Option<&LintReport>,
    repo: &Repo,
) -> Option<Vec<DiffComment>> {
    let in_merge_request = settings.pipeline.ci.as_ref().is_some_and(|ci| ci.merge_request.is_some());
    let report = report.filter(|_| in_merge_request && settings.gitlab.review_comments)?;
    let moves: Vec<(String, String)> = plan
        .changes
        .iter()
        .filter(|c| c.status == ChangeStatus::Renamed)
        .filter_map(|c| Some((c.old_path.clone()?, c.path.clone())))
        .collect();
    let mut pages: BTreeMap<String, Option<String>> = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut comments = Vec::new();
    let previewing = plan.targets.iter().filter(|t| t.action == Action::Preview);
    for finding in previewing.flat_map(|t| report.for_target(&t.name)).filter(|f| f.new) {
        let identity = identity(finding);
        if !seen.insert(identity.clone()) {
            continue;
        }
        let page = pages.entry(finding.path.clone()).or_insert_with(|| {
            let file = repo.file_at(&plan.range.head, &finding.path, |_, size| size <= MAX_PAGE_BYTES);
            file.ok().flatten().and_then(|f| f.content).and_then(|bytes| String::from_utf8(bytes).ok())
        });
        // A file the head does not have (a page moved without a redirect)
        // has no line to open a thread on; its finding is still present.
        let line_text = page.as_deref().and_then(|page| page.lines().nth(finding.line - 1));
        let suggestion = page.as_deref().and_then(|page| suggest(finding, page, &moves));
        comments.push(DiffComment {
            body: body(finding, &identity, suggestion.as_ref()),
            identity,
            path: finding.path.clone(),
            line: finding.line,
            line_text: line_text.map(str::to_owned),
        });
    }
    Some(comments)
}

/// What makes a finding the same one from push to push: its rule, file
/// and subject (a link's destination, a tag's name), never its line.
fn identity(finding: &Finding) -> String {
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
    text.push_str(&fence("text", &said));
    if let Some(suggestion) = suggestion.filter(|s| redact(&s.replacement) == s.replacement) {
        let info = match suggestion.lines_below {
            0 => "suggestion".to_owned(),
            below => format!("suggestion:-0+{below}"),
        };
        text.push_str("\n\nApply the suggestion to fix it:\n\n");
        text.push_str(&fence(&info, &suggestion.replacement));
    }
    Redacted::new(&text)
}

/// `text` in a fenced block whose fence is longer than any run of
/// backticks inside: nothing in it is Markdown, and nothing closes it.
/// GitLab reads a longer fence around a suggestion the same way.
fn fence(info: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}{info}\n{text}\n{fence}")
}

/// Opens, keeps and resolves docsync's threads on the merge request. A
/// failure is a warning on every previewing target (the findings stay in
/// the note and the Code Quality report), never a failed job.
pub async fn post(
    plan: &mut SyncPlan,
    settings: &Settings,
    http: &HttpClient,
    project: Result<Option<&ProjectApi>, &LocateProblem>,
    comments: Option<&[DiffComment]>,
) {
    let ci = settings.pipeline.ci.as_ref();
    let (Some(iid), Some(head)) =
        (ci.and_then(|ci| ci.merge_request.as_ref()).map(|mr| mr.iid), settings.pipeline.head_sha())
    else {
        return;
    };
    let Some(comments) = comments else { return };
    if !plan.targets.iter().any(|t| t.action == Action::Preview) {
        return;
    }
    let (Some(token), Ok(Some(project))) = (&settings.gitlab.token, project) else {
        if !comments.is_empty() {
            tracing::info!("no DOCSYNC_GITLAB_TOKEN or GitLab project, so the findings are not put on !{iid}'s diff");
        }
        return;
    };
    let client = GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) };
    let warning = match client.review(&project.project, iid, head, comments).await {
        Ok(Ok(review)) => {
            tracing::info!(
                "review threads on !{iid}: {} opened, {} already open, {} resolved; {} finding(s) on lines the merge request does not add are in the note only",
                review.opened,
                review.kept,
                review.resolved,
                review.off_the_diff
            );
            return;
        }
        Ok(Err(NotReviewed::HeadMoved { head_sha })) => {
            tracing::info!(
                "!{iid} moved on to {} since this pipeline's commit: its own pipeline puts the findings on its diff",
                printable(&head_sha)
            );
            return;
        }
        Ok(Err(NotReviewed::NoDiff)) => {
            tracing::info!("!{iid} has no diff yet, so no finding is put on its lines");
            return;
        }
        Err(error) => fallback_warning(&error, iid),
    };
    tracing::warn!("{warning}");
    for target_plan in plan.targets.iter_mut().filter(|t| t.action == Action::Preview) {
        target_plan.warnings.push(warning.clone());
    }
}

/// Why the findings are in the note only, and what to do about it.
fn fallback_warning(error: &GitLabError, iid: u64) -> String {
    let why = match error {
        GitLabError::InsufficientScope { .. } => {
            "the token has no `api` scope, which threads need; give DOCSYNC_GITLAB_TOKEN the api scope, or set DOCSYNC_REVIEW_COMMENTS=false"
        }
        GitLabError::Rejected(http) if http.status().is_some_and(|s| s.as_u16() == 400) => {
            "GitLab refused a thread's position on the diff; report it to docsync's maintainers with the job log"
        }
        GitLabError::Forbidden(_) => {
            "the token's user may not comment on it (it needs at least the Reporter role), or set DOCSYNC_REVIEW_COMMENTS=false"
        }
        // "List merge request diffs" came with GitLab 15.7 (it replaced the
        // deprecated `…/changes`).
        GitLabError::NotFound(_) => {
            "GitLab knows no such merge request for this token, or is older than 15.7, which lists no merge request diffs; or set DOCSYNC_REVIEW_COMMENTS=false"
        }
        _ if error.is_server_side() => "GitLab's own error: retry the job later",
        _ => "set DOCSYNC_REVIEW_COMMENTS=false to stop trying",
    };
    format!("the findings could not be put on !{iid}'s diff lines ({error}), so they are in the note only: {why}")
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
