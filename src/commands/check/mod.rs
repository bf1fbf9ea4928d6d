//! `docsync check`: validates configuration and credentials and names the fix
//! for every problem, one line per check. It never sends a push event or
//! starts a sync: GitBook and GitLab are only read.

use std::fmt::Write;

use anyhow::Result;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::error::Exit;
use crate::gitlab::instance::{LocateProblem, ProjectApi};
use crate::http::HttpClient;
use crate::log::printable;
use crate::settings::credentials::{is_loopback, shown_webhook_url};
use crate::settings::flags::Format;
use crate::settings::{Direction, Settings, Target, TargetKind};
use crate::targets::gitbook::answers::GitSyncState;
use crate::targets::gitbook::client::{GitBookClient, GitBookError, no_git_sync};

mod gitlab_tokens;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Level {
    Ok,
    Warning,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    pub level: Level,
    /// What was checked: a variable, a target, a file.
    pub subject: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Default)]
struct Report {
    checks: Vec<Check>,
}

/// Every check passes through [`printable`]: user names, branch names and
/// error texts come from servers, and must not forge lines of the report.
impl Report {
    fn push(&mut self, level: Level, subject: String, message: String, fix: Option<String>) {
        self.checks.push(Check {
            level,
            subject: printable(&subject),
            message: printable(&message),
            fix: fix.as_deref().map(printable),
        });
    }
    fn ok(&mut self, subject: impl Into<String>, message: impl Into<String>) {
        self.push(Level::Ok, subject.into(), message.into(), None);
    }
    fn warn(&mut self, subject: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) {
        self.push(Level::Warning, subject.into(), message.into(), Some(fix.into()));
    }
    fn error(&mut self, subject: impl Into<String>, message: impl Into<String>, fix: impl Into<String>) {
        self.push(Level::Error, subject.into(), message.into(), Some(fix.into()));
    }
}

/// What `check` knows beyond the settings.
pub(crate) struct CheckContext {
    /// The project on GitLab, when it could be determined.
    pub project: Option<ProjectApi>,
    /// Why it could not, otherwise.
    pub project_problem: Option<LocateProblem>,
    pub today: Date,
    /// What discovery in a GitBook site found, or why it could not;
    /// `None` when no site is set.
    pub discovered:
        Option<Result<Option<crate::commands::discovery::Counts>, crate::commands::discovery::DiscoveryFailed>>,
}

/// Runs every check that applies; returns the rendered result and the exit
/// code: 0 when nothing blocks the configured sync, 1 when something does.
///
/// `http` is `None` when the HTTP client could not be set up (a bad CA
/// file): the checks that need the network are then reported as not run.
pub(crate) async fn run(
    settings: &Settings,
    http: Option<&HttpClient>,
    context: &CheckContext,
    format: Format,
) -> Result<(String, Exit)> {
    let mut report = Report::default();
    check_tls(settings, &mut report);
    if settings.targets.is_empty() {
        report.warn(
            "targets",
            "no target is configured: sync would do nothing",
            "set DOCSYNC_GITBOOK_SPACE and/or DOCSYNC_DOT_WEBHOOK_URL, or write a docsync.toml",
        );
    }
    check_discovery(settings, context, &mut report);
    match (&context.project, &context.project_problem) {
        (Some(project), _) => report.ok("GitLab project", format!("{} at {}", project.project, project.api)),
        (None, Some(problem)) => report.error(problem.subject.clone(), problem.message.clone(), problem.fix.clone()),
        (None, None) => {}
    }
    match http {
        Some(http) => gitlab_tokens::check_gitlab_tokens(settings, http, context, &mut report).await,
        None => report.warn(
            "network checks",
            "not run: the HTTP client cannot be set up until the CA files above are fixed",
            "fix the CA file errors above, then run docsync check again",
        ),
    }
    for target in &settings.targets {
        match (&target.kind, http) {
            (TargetKind::GitBook(_), Some(http)) => check_gitbook(target, http, &mut report).await,
            (TargetKind::GitBook(_), None) => {}
            (TargetKind::Dot(_), _) => check_dot(target, &mut report),
        }
    }

    let blocking = report.checks.iter().any(|c| c.level == Level::Error);
    let exit = if blocking { Exit::TargetFailed } else { Exit::Ok };
    let text = match format {
        Format::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({ "blocking": blocking, "checks": report.checks }))?
        ),
        Format::Text => render_text(&report.checks),
    };
    Ok((text, exit))
}

/// How many installations the site has, and how many became targets.
fn check_discovery(settings: &Settings, context: &CheckContext, report: &mut Report) {
    let (Some(discovery), Some(discovered)) = (&settings.discovery, &context.discovered) else { return };
    let subject = format!("GitBook site {}", discovery.site);
    match discovered {
        Ok(Some(counts)) => report.ok(
            subject,
            format!(
                "{} space installations found, {} kept (this project and branch; {} configured by a [[target]], {} without their directory), {} ignored (other projects or branches)",
                counts.found, counts.kept, counts.configured, counts.missing, counts.ignored
            ),
        ),
        Ok(None) => {}
        Err(failed) => {
            let text = format!("{failed:#}");
            let (message, fix) = text.split_once("\n  fix: ").unwrap_or((&text, ""));
            report.error(subject, message.to_owned(), fix.to_owned());
        }
    }
}

fn gitlab_url_fix() -> String {
    "run check in the project's CI job, or set DOCSYNC_GITLAB_URL to the project's URL (for example https://gitlab.example.com/group/project)".into()
}

fn render_text(checks: &[Check]) -> String {
    let mut out = String::new();
    let width = checks.iter().map(|c| c.subject.len()).max().unwrap_or(0);
    for check in checks {
        let level = match check.level {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Error => "error",
        };
        let _ = writeln!(out, "{level:7}  {:width$}  {}", check.subject, check.message);
        if let Some(fix) = &check.fix {
            let _ = writeln!(out, "{:7}  {:width$}  fix: {fix}", "", "");
        }
    }
    out
}

fn check_tls(settings: &Settings, report: &mut Report) {
    for (variable, path) in &settings.http.ca_files {
        match crate::http::load_ca_file(variable, path) {
            Ok(certs) => report.ok(
                variable.clone(),
                format!("{} certificate(s) from {path}, trusted for every HTTPS call", certs.len()),
            ),
            Err(problem) => report.error(variable.clone(), problem.problem, problem.fix),
        }
    }
}

/// Whether the configured sync exports (GitBook pushes to the repository).
fn exports(settings: &Settings) -> bool {
    settings.targets.iter().any(|t| t.direction == Direction::Export)
        || settings.targets.iter().any(|t| matches!(&t.kind, TargetKind::GitBook(g) if g.export_branch.is_some()))
}

async fn check_gitbook(target: &Target, http: &HttpClient, report: &mut Report) {
    let TargetKind::GitBook(gitbook) = &target.kind else { return };
    let subject = format!("target {} (GitBook)", target.name);
    let Some(token) = &gitbook.token else {
        report.error(
            subject,
            format!("{} is not set", gitbook.token_source),
            format!("add {} as a masked CI/CD variable holding a GitBook API token", gitbook.token_source),
        );
        return;
    };
    let client = GitBookClient { http, target: gitbook, token };
    match client.info().await {
        Ok(state) => {
            let (level, message, fix) = git_sync_installation(&gitbook.space, &state);
            report.push(level, subject, message, fix);
        }
        Err(GitBookError::Unauthorized { source, .. }) => report.warn(
            subject,
            format!("the token may not read space {}'s Git Sync state ({source})", gitbook.space),
            "sync still queues imports, but cannot wait for their result: use a user token that can read the space",
        ),
        // GitBook's API reference: `git/info` "returns 404 if no Git
        // provider is configured". A sync that waits (the default) fails
        // the target on it too, before queuing anything.
        Err(GitBookError::SpaceNotFound { space, source }) => {
            let (message, fix) = no_git_sync(&space, &source);
            report.error(subject, message, fix)
        }
        Err(error) => {
            let fix = error.fix();
            report.error(subject, error.to_string(), fix);
        }
    }
    if gitbook.git_token.is_none() {
        report.warn(
            format!("target {}", target.name),
            format!("{} is not set: GitBook clones with CI_JOB_TOKEN (imports only, while the job runs) or without credentials", gitbook.git_token_source),
            format!("set {} to a project access token with read_repository (write_repository for exports)", gitbook.git_token_source),
        );
    }
}

/// What the space's Git Sync installation (`installationStatus`,
/// `installationProvider` of `git/info`) means for this project. docsync's
/// imports and exports carry their own repository URL, so another state
/// does not block them: a warning, with the fix. But an installation that
/// is not an active GitLab one syncs nothing of its own from this project,
/// and a GitHub one commits the space's edits to another repository.
fn git_sync_installation(space: &str, state: &GitSyncState) -> (Level, String, Option<String>) {
    let status = state.installation_status.as_deref();
    let provider = state.installation_provider.as_deref();
    let reconnect = "in GitBook, open the space's Git Sync and connect it to this GitLab project (GitLab Sync, a personal access token with api, read_repository and write_repository)";
    let said = |what: Option<&str>, none: &str| what.map_or_else(|| none.to_owned(), |what| format!("`{what}`"));
    let (message, fix) = match (status, provider) {
        (Some("active"), Some("gitlab")) => {
            return (Level::Ok, format!("space {space} reachable; Git Sync active via gitlab"), None);
        }
        (Some("active"), Some(github @ ("github" | "github-legacy"))) => (
            format!(
                "space {space} reachable, but its Git Sync is connected via {github}, not GitLab: GitBook commits the space's edits to that repository, not this project"
            ),
            reconnect.to_owned(),
        ),
        (Some("unauthenticated"), _) => (
            format!(
                "space {space} reachable, but its Git Sync installation ({}) is unauthenticated: GitBook's own syncs need it reconnected (docsync's imports carry their own URL and token)",
                said(provider, "no provider")
            ),
            reconnect.to_owned(),
        ),
        (Some("pending"), _) => (
            format!(
                "space {space} reachable, but its Git Sync setup ({}) is pending: its setup in GitBook is not finished",
                said(provider, "no provider")
            ),
            "in GitBook, finish the space's Git Sync setup: pick this GitLab project and its sync branch".to_owned(),
        ),
        _ => (
            format!(
                "space {space} reachable, but GitBook gives its Git Sync installation status {} via {}, which docsync does not know",
                said(status, "no status"),
                said(provider, "no provider")
            ),
            format!("{reconnect}; if it is connected and active, tell docsync's maintainers GitBook's answer"),
        ),
    };
    (Level::Warning, message, Some(fix))
}

fn check_dot(target: &Target, report: &mut Report) {
    let TargetKind::Dot(dot) = &target.kind else { return };
    let subject = format!("target {} (webhook)", target.name);
    let url = &dot.webhook_url;
    if url.scheme() != "https" && !is_loopback(url) {
        report.error(
            subject.clone(),
            format!("{} is not HTTPS: the secret would travel in clear", shown_webhook_url(url)),
            "use the https:// URL the receiver gave you",
        );
    } else {
        report.ok(subject.clone(), format!("webhook URL {} is well formed", shown_webhook_url(url)));
    }
    if dot.secret.is_none() {
        report.error(
            subject,
            format!("{} is not set", dot.secret_source),
            format!("add {} as a masked CI/CD variable holding the webhook's secret token", dot.secret_source),
        );
    }
}

/// Today, for expiry warnings.
pub(crate) fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installation(status: &str, provider: &str) -> (Level, String, Option<String>) {
        let state = GitSyncState {
            installation_status: Some(status.into()),
            installation_provider: Some(provider.into()),
            ..GitSyncState::default()
        };
        git_sync_installation("spc1", &state)
    }

    #[test]
    fn only_an_active_gitlab_installation_is_ok() {
        assert_eq!(
            installation("active", "gitlab"),
            (Level::Ok, "space spc1 reachable; Git Sync active via gitlab".into(), None)
        );
        for (status, provider, says, fix) in [
            ("unauthenticated", "gitlab", "is unauthenticated", "connect it to this GitLab project"),
            ("unauthenticated", "github", "(`github`) is unauthenticated", "connect it to this GitLab project"),
            ("pending", "gitlab", "is pending", "finish the space's Git Sync setup"),
            ("active", "github", "connected via github, not GitLab", "connect it to this GitLab project"),
            ("active", "github-legacy", "connected via github-legacy", "connect it to this GitLab project"),
            (
                "paused",
                "gitlab",
                "status `paused` via `gitlab`, which docsync does not know",
                "tell docsync's maintainers",
            ),
        ] {
            let (level, message, found_fix) = installation(status, provider);
            assert_eq!(level, Level::Warning, "{status} via {provider}");
            assert!(message.contains(says), "{status} via {provider}: {message}");
            assert!(found_fix.is_some_and(|f| f.contains(fix)), "{status} via {provider}");
        }
        let (level, message, _) = git_sync_installation("spc1", &GitSyncState::default());
        assert_eq!((level, message.contains("status no status via no provider")), (Level::Warning, true));
    }
}
