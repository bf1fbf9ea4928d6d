//! What `sync` tells GitLab afterwards: the outcome of a merge request
//! preview as a note on the merge request, and, after an export to a branch
//! other than the default one, a merge request from that branch
//! (`DOCSYNC_EXPORT_MR=true`), and one from the branch GitBook exported
//! its own edits to instead of an import (`gitbook_edits = "export"`).

use url::Url;

use crate::error::Exit;
use crate::gitlab::client::{Auth, GitLabClient, GitLabError};
use crate::gitlab::instance::{LocateProblem, ProjectApi};
use crate::gitlab::merge_requests::MergeRequest;
use crate::http::HttpClient;
use crate::output::web_link;
use crate::plan::outcome::{Outcome, OutcomeStatus};
use crate::plan::{Action, SyncPlan, TargetPlan};
use crate::secret::{Redacted, printable};
use crate::settings::pipeline::CiContext;
use crate::settings::{GitBookTarget, Settings, Target, TargetKind};
use crate::targets::gitbook::change_requests::MAX_CHANGE_REQUESTS;
use crate::targets::gitbook::space::GitBookEditsFound;

/// Whether a target of the plan reports to GitLab, so the project must be
/// located (outside CI too, for an export's merge request).
pub fn reports_to_gitlab(plan: &SyncPlan, settings: &Settings) -> bool {
    plan.targets.iter().any(|target_plan| {
        let wants_mr = settings
            .targets
            .iter()
            .any(|t| t.name == target_plan.name && matches!(&t.kind, TargetKind::GitBook(g) if g.export_mr));
        target_plan.action == Action::Preview
            || (target_plan.action == Action::Export && wants_mr)
            || edits_export(target_plan).is_some()
    })
}

/// Posts preview notes and opens export merge requests; returns the exit
/// code these steps add (a wanted merge request that could not be opened
/// fails the job, a note that could not be posted only warns). `project` is
/// where the project was found, or why it was not.
pub async fn report(
    plan: &mut SyncPlan,
    settings: &Settings,
    http: &HttpClient,
    project: Result<Option<&ProjectApi>, &LocateProblem>,
) -> Exit {
    let mut exit = Exit::Ok;
    let ci = settings.pipeline.ci.as_ref();
    for target_plan in &mut plan.targets {
        let Some(target) = settings.targets.iter().find(|t| t.name == target_plan.name) else { continue };
        let TargetKind::GitBook(gitbook) = &target.kind else { continue };
        if target_plan.outcome.is_none() {
            continue;
        }

        match target_plan.action {
            Action::Preview => {
                let Some(iid) = ci.and_then(|ci| ci.merge_request.as_ref()).map(|mr| mr.iid) else { continue };
                let (Some(token), Ok(Some(project))) = (&settings.gitlab.token, project) else {
                    tracing::info!(
                        "{}: no DOCSYNC_GITLAB_TOKEN, so the preview result is not posted on !{iid}",
                        target.name
                    );
                    continue;
                };
                let client = GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) };
                let marker = note_marker(target);
                let Some(outcome) = target_plan.outcome.as_ref() else { continue };
                let body = preview_note_body(target, gitbook, outcome, &marker, settings);
                match client.upsert_note(&project.project, iid, &marker, &body).await {
                    Ok(note) => tracing::info!("{}: preview result posted on !{iid} (note {})", target.name, note.id),
                    Err(error) => {
                        let fix = note_fix(&error, iid, project);
                        tracing::warn!("{}: could not post the preview result on !{iid}: {error}", target.name);
                        tracing::warn!("{}: fix: {fix}", target.name);
                        target_plan
                            .warnings
                            .push(format!("the preview result could not be posted on !{iid}: {error}; fix: {fix}"));
                    }
                }
            }
            Action::Import => {
                if let Some((source, into)) = edits_export(target_plan) {
                    open_edits_merge_request(target_plan, target, gitbook, settings, http, project, &source, &into)
                        .await;
                }
            }
            Action::Export
                if gitbook.export_mr
                    && target_plan.outcome.as_ref().is_some_and(|o| o.status == OutcomeStatus::Synced) =>
            {
                exit =
                    exit.worst(open_export_merge_request(target_plan, target, gitbook, settings, http, project).await);
            }
            _ => {}
        }
    }
    exit
}

/// The branch GitBook exported its edits to instead of an import
/// (`gitbook_edits = "export"`), and the sync branch it is to be merged into.
fn edits_export(target_plan: &TargetPlan) -> Option<(String, String)> {
    let outcome = target_plan.outcome.as_ref().filter(|o| o.status == OutcomeStatus::Conflict)?;
    let source = outcome.gitbook_edits.as_ref()?.exported_to.clone()?;
    let into = target_plan.request.as_ref()?.body.gitbook()?.branch()?.to_owned();
    Some((source, into))
}

/// Opens (or finds open) the merge request from the branch GitBook
/// exported its edits to into the sync branch. The target is a `conflict`
/// already (exit 1): a merge request that cannot be opened is a warning,
/// and the outcome says to open it by hand.
#[allow(clippy::too_many_arguments, reason = "the report's context, passed on")]
async fn open_edits_merge_request(
    target_plan: &mut TargetPlan,
    target: &Target,
    gitbook: &GitBookTarget,
    settings: &Settings,
    http: &HttpClient,
    project: Result<Option<&ProjectApi>, &LocateProblem>,
    source: &str,
    into: &str,
) {
    let name = &target.name;
    let by_hand = format!("open a merge request from {source} into {into}");
    let client_and_project = match (&settings.gitlab.token, project) {
        (Some(token), Ok(Some(project))) => {
            Ok((GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) }, project))
        }
        (None, _) => Err("no DOCSYNC_GITLAB_TOKEN to open its merge request".to_owned()),
        (_, Ok(None)) => Err("the GitLab project is unknown, so no merge request was opened".to_owned()),
        (_, Err(problem)) => {
            Err(format!("the GitLab project is unknown ({}), so no merge request was opened", problem.message))
        }
    };
    let opened = match client_and_project {
        Ok((client, project)) => {
            let ci = settings.pipeline.ci.as_ref();
            let (title, description) = edits_merge_request_text(gitbook, target_plan, source, ci);
            client
                .find_or_open_merge_request(&project.project, source, into, &title, &description)
                .await
                .map(|(merge_request, created)| (merge_request, created, project_url(ci)))
                .map_err(|error| format!("its merge request could not be opened: {error}"))
        }
        Err(why) => Err(why),
    };
    let Some(outcome) = target_plan.outcome.as_mut() else { return };
    match opened {
        Ok((merge_request, created, project_url)) => {
            record_merge_request(outcome, name, &merge_request, created, project_url.as_ref());
        }
        Err(why) => {
            tracing::warn!("{name}: {why}: {by_hand}");
            outcome.message.push_str(&format!("; {why}: {by_hand}"));
        }
    }
}

/// Logs the merge request a target's run opened (or found open) and
/// records its URL in the outcome.
fn record_merge_request(
    outcome: &mut Outcome,
    name: &str,
    merge_request: &MergeRequest,
    created: bool,
    project_url: Option<&Url>,
) {
    let verb = if created { "opened" } else { "already open:" };
    let url = merge_request.url(project_url).unwrap_or_else(|| format!("!{}", merge_request.iid));
    tracing::info!("{name}: merge request {verb} {url}");
    outcome.message.push_str(&format!("; merge request {verb} {url}"));
    outcome.merge_request = Some(url);
}

fn project_url(ci: Option<&CiContext>) -> Option<Url> {
    ci.and_then(|ci| ci.project_url.as_deref()).and_then(|url| Url::parse(url).ok())
}

/// The edits merge request's title and description: the revision and the
/// pages GitBook changed, its strings in code spans.
fn edits_merge_request_text(
    gitbook: &GitBookTarget,
    target_plan: &TargetPlan,
    source: &str,
    ci: Option<&CiContext>,
) -> (Redacted, Redacted) {
    let title = format!("GitBook: edits made in space {}", printable(&gitbook.space));
    let mut description = format!(
        "Opened by docsync, which did not import into GitBook space {} because the space holds work Git does not have: GitBook exported it to {}. Merge this, then run the sync again.",
        code(&gitbook.space),
        code(source)
    );
    if let Some(found) = target_plan.outcome.as_ref().and_then(|o| o.gitbook_edits.as_ref()) {
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

/// Where docsync finds its own note again.
fn note_marker(target: &Target) -> String {
    format!("<!-- docsync:preview:{} -->", target.name)
}

/// The preview note: the marker, the outcome, GitBook's fix-it link and
/// the pipeline. Text from a server (GitBook's error, its fix-it label) is
/// fenced or in code, so a mention (`@all`), a link or HTML in it does
/// nothing; a link is kept only to an http(s) address ([`web_link`]).
fn preview_note_body(
    target: &Target,
    gitbook: &GitBookTarget,
    outcome: &Outcome,
    marker: &str,
    settings: &Settings,
) -> Redacted {
    let mut body = format!(
        "{marker}\n**docsync** — GitBook preview of {} (space {}): **{}**\n\n{}",
        code(&target.name),
        code(&gitbook.space),
        outcome.status.as_str(),
        fenced(&outcome.message)
    );
    if let Some(action) = &outcome.error_action {
        body.push_str(&format!("\n\nGitBook's fix: {}", fix_link(&action.label, &action.url)));
    }
    if let Some(url) = outcome.docs_url.as_deref().and_then(web_link) {
        body.push_str(&format!("\n\n[Open in GitBook](<{url}>)"));
    }
    if let Some(held) = &outcome.gitbook_edits {
        body.push_str(&format!(
            "\n\n**GitBook holds edits Git does not have** (live {}): merging this imports over them unless GitBook exports them first\n",
            code(&held.describe_revision())
        ));
        body.push_str(&edited_pages(held));
    }
    if let Some(open) = &outcome.change_requests {
        body.push_str("\n\n**Open change requests in GitBook on this merge request's pages**\n");
        for clash in &open.clashes {
            let pages: Vec<String> = clash.pages.iter().map(|p| code(p)).collect();
            body.push_str(&format!("\n- #{} {}", clash.number, code(&clash.subject)));
            if let Some(author) = &clash.author {
                body.push_str(&format!(" by {}", code(author)));
            }
            body.push_str(&format!(": {}", pages.join(", ")));
            if let Some(url) = clash.url.as_deref().and_then(web_link) {
                body.push_str(&format!(" [in GitBook](<{url}>)"));
            }
        }
        if open.more {
            body.push_str(&format!(
                "\n\nMore than {MAX_CHANGE_REQUESTS} change requests are open: only the {MAX_CHANGE_REQUESTS} most recently updated were read."
            ));
        }
    }
    if !outcome.findings.is_empty() {
        body.push_str(&format!("\n\n**Docs pre-flight**: {} new finding(s)\n", outcome.findings.len()));
        for finding in &outcome.findings {
            body.push_str(&format!(
                "\n- {} {}[`{}`]: {}",
                code(&format!("{}:{}", finding.path, finding.line)),
                finding.severity.as_str(),
                finding.rule.id(),
                printable(&finding.message)
            ));
        }
    }
    if let Some(url) = pipeline_url(settings) {
        body.push_str(&format!("\n\n<sub>Pipeline: {url}</sub>"));
    }
    Redacted::new(&body)
}

/// GitBook's fix-it link: its label in code, linked only to an http(s) address.
fn fix_link(label: &str, url: &str) -> String {
    match web_link(url) {
        Some(url) => format!("[{}](<{url}>)", code(label)),
        None => format!("{} (its link is not an http(s) address)", code(label)),
    }
}

fn pipeline_url(settings: &Settings) -> Option<Url> {
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
    let text = printable(text);
    let fence = "`".repeat(longest_backtick_run(&text).max(2) + 1);
    format!("{fence}text\n{text}\n{fence}")
}

fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// The fix for a note GitLab did not take, fitting its answer.
fn note_fix(error: &GitLabError, iid: u64, project: &ProjectApi) -> String {
    match error {
        GitLabError::Unauthorized(_) => {
            "DOCSYNC_GITLAB_TOKEN is revoked, expired or mistyped: store a valid project access token in it".into()
        }
        GitLabError::InsufficientScope { .. } => "give DOCSYNC_GITLAB_TOKEN the api scope (a new token)".into(),
        GitLabError::Forbidden(_) => format!(
            "DOCSYNC_GITLAB_TOKEN's user may not comment on !{iid}: give it the Reporter role or more (and check the merge request is not locked)"
        ),
        GitLabError::NotFound(_) => format!(
            "no merge request !{iid} in project {} that DOCSYNC_GITLAB_TOKEN can see: check that the token belongs to this project",
            project.project
        ),
        GitLabError::Decode { .. } => {
            "something other than GitLab's API answered: check CI_API_V4_URL (or DOCSYNC_GITLAB_URL)".into()
        }
        GitLabError::Redirected(_) => error.fix().unwrap_or_default(),
        error if error.is_server_side() => "that is GitLab's own error: retry the job later".into(),
        GitLabError::Rejected(_) | GitLabError::Unreachable(_) => {
            "check GitLab's answer above, then retry the job".into()
        }
    }
}

/// Fails the target with `message` and `fix`; returns the exit code it adds.
fn fail(target_plan: &mut TargetPlan, message: &str, fix: &str) -> Exit {
    tracing::error!("{}: failed — {message}", target_plan.name);
    tracing::error!("{}: fix: {fix}", target_plan.name);
    if let Some(outcome) = target_plan.outcome.as_mut() {
        outcome.status = OutcomeStatus::Failed;
        outcome.message.push_str(&format!("; {message}"));
        outcome.fix = Some(fix.into());
    }
    Exit::TargetFailed
}

/// Opens (or finds open) the merge request from the export branch into
/// the default branch. The project and its default branch come from CI
/// variables, else from the API (outside CI, or without `CI_DEFAULT_BRANCH`).
async fn open_export_merge_request(
    target_plan: &mut TargetPlan,
    target: &Target,
    gitbook: &GitBookTarget,
    settings: &Settings,
    http: &HttpClient,
    project: Result<Option<&ProjectApi>, &LocateProblem>,
) -> Exit {
    let ci = settings.pipeline.ci.as_ref();
    let Some(source) = gitbook.export_branch.as_deref().or(target.branch.as_deref()) else {
        return fail(
            target_plan,
            "DOCSYNC_EXPORT_MR=true but the export branch is unknown",
            "set DOCSYNC_EXPORT_BRANCH (or DOCSYNC_BRANCH)",
        );
    };
    if ci.and_then(|ci| ci.default_branch.as_deref()) == Some(source) {
        tracing::info!("{}: exported straight to the default branch {source}: no merge request needed", target.name);
        return Exit::Ok;
    }
    let Some(token) = &settings.gitlab.token else {
        return fail(
            target_plan,
            "DOCSYNC_EXPORT_MR=true but no DOCSYNC_GITLAB_TOKEN to open the merge request",
            "set DOCSYNC_GITLAB_TOKEN to a project access token with the api scope",
        );
    };
    let project = match project {
        Ok(Some(project)) => project,
        Ok(None) => {
            return fail(
                target_plan,
                "DOCSYNC_EXPORT_MR=true but the GitLab project is unknown",
                "run the export in the project's CI job, or set DOCSYNC_GITLAB_URL to the project's URL",
            );
        }
        Err(problem) => {
            let message = format!("DOCSYNC_EXPORT_MR=true but the GitLab project is unknown: {}", problem.message);
            return fail(target_plan, &message, &problem.fix);
        }
    };
    let client = GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) };
    let (default_branch, project_url) = match default_branch_and_url(&client, project, ci, &target.name).await {
        Ok(found) => found,
        Err((message, fix)) => return fail(target_plan, &message, fix),
    };
    let Some(destination) = default_branch else {
        return fail(
            target_plan,
            "GitLab says the project has no default branch to open the merge request into",
            "push a default branch to the project, then retry the job",
        );
    };
    if source == destination {
        tracing::info!("{}: exported straight to the default branch {source}: no merge request needed", target.name);
        return Exit::Ok;
    }
    let (title, description) = merge_request_text(gitbook, source, ci);
    match client.open_merge_request(&project.project, source, &destination, &title, &description).await {
        Ok((merge_request, created)) => {
            if let Some(outcome) = target_plan.outcome.as_mut() {
                record_merge_request(outcome, &target.name, &merge_request, created, project_url.as_ref());
            }
            Exit::Ok
        }
        Err(error) => {
            let message = format!("the merge request could not be opened: {error}");
            fail(
                target_plan,
                &message,
                "give DOCSYNC_GITLAB_TOKEN the api scope and the Developer role, then retry the job",
            )
        }
    }
}

/// The project's default branch (the merge request's target) and web URL:
/// from CI variables, else from the API. `Err` holds the failure and its
/// fix when the default branch cannot be had; a missing URL is only logged.
async fn default_branch_and_url(
    client: &GitLabClient<'_>,
    project: &ProjectApi,
    ci: Option<&CiContext>,
    name: &str,
) -> Result<(Option<String>, Option<Url>), (String, &'static str)> {
    let mut project_url = project_url(ci);
    let mut default_branch = ci.and_then(|ci| ci.default_branch.clone());
    if default_branch.is_none() || project_url.is_none() {
        match client.project(&project.project).await {
            Ok(info) => {
                default_branch = default_branch.or(info.default_branch);
                project_url = project_url.or_else(|| Url::parse(&info.web_url).ok());
            }
            Err(error) if default_branch.is_none() => {
                let message =
                    format!("the project's default branch (the merge request's target) cannot be read: {error}");
                let fix = "give DOCSYNC_GITLAB_TOKEN the api scope, or set CI_DEFAULT_BRANCH";
                return Err((message, fix));
            }
            Err(error) => tracing::info!("{name}: the project's URL cannot be read: {error}"),
        }
    }
    Ok((default_branch, project_url))
}

/// The export merge request's title and description.
fn merge_request_text(gitbook: &GitBookTarget, source: &str, ci: Option<&CiContext>) -> (Redacted, Redacted) {
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

    #[test]
    fn fenced_text_cannot_close_its_fence() {
        assert_eq!(fenced("@all [x](javascript:y)"), "```text\n@all [x](javascript:y)\n```");
        assert_eq!(fenced("a\n```\n@all"), "````text\na\\n```\\n@all\n````");
        assert_eq!(fenced("````"), "`````text\n````\n`````");
    }
}
