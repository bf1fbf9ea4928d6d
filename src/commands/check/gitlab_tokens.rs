//! `check`'s GitLab tokens: who each token is, whether it works, its
//! scopes and expiry, its access to the project, its role, and the export
//! branches it must push to. Apart from the other checks as the longest
//! conversation with one server.

use time::Date;

use crate::gitlab::client::{Auth, GitLabClient, GitLabError};
use crate::gitlab::instance::ProjectApi;
use crate::gitlab::token::{TokenInfo, TokenKind, User, role_name};
use crate::http::HttpClient;
use crate::log::printable;
use crate::secret::Secret;
use crate::settings::{Direction, Settings, Target, TargetKind};

use super::{CheckContext, Report, exports, gitlab_url_fix};

/// A token expiring within this many days gets a warning naming the date.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// A scope the configured sync needs, why, and whether lacking it blocks the
/// sync (an error) or only a side effect (a warning).
struct Need {
    scope: &'static str,
    why: &'static str,
    blocking: bool,
}

/// Whether the token checked under this label is the GitLab API token
/// (labelled by the variable it came from, `DOCSYNC_GITLAB_TOKEN` or the one
/// a `gitlab_token_env` key names), not a token GitBook clones with.
fn is_api_token(settings: &Settings, variable: &str) -> bool {
    settings.gitlab.token.is_some() && settings.gitlab.token_source == variable
}

/// What the configured sync needs of a token.
fn needed_scopes(settings: &Settings, variable: &str) -> Vec<Need> {
    let mut needed = Vec::new();
    if !is_api_token(settings, variable) {
        needed.push(Need { scope: "read_repository", why: "GitBook clones the project with it", blocking: true });
        if exports(settings) {
            needed.push(Need { scope: "write_repository", why: "GitBook pushes exports with it", blocking: true });
        }
        return needed;
    }
    needed.push(Need {
        scope: "read_api",
        why: "the sync watermark and the compare fallback read the API",
        blocking: false,
    });
    let gitbook = |t: &Target| matches!(t.kind, TargetKind::GitBook(_));
    if settings.targets.iter().any(|t| matches!(&t.kind, TargetKind::GitBook(g) if g.export_mr)) {
        needed.push(Need { scope: "api", why: "the export's merge request is opened through the API", blocking: true });
    } else if settings.targets.iter().any(|t| t.previews && gitbook(t)) {
        // A preview note that cannot be posted only warns, so neither does its scope block.
        needed.push(Need {
            scope: "api",
            why: "merge request previews are reported as notes through the API",
            blocking: false,
        });
    }
    needed
}

fn has_scope(info: &TokenInfo, scope: &str) -> bool {
    info.scopes.iter().any(|s| s == scope || s == "api" || (scope == "read_repository" && s == "write_repository"))
}

pub(super) async fn check_gitlab_tokens(
    settings: &Settings,
    http: &HttpClient,
    context: &CheckContext,
    report: &mut Report,
) {
    let mut tokens: Vec<(String, Secret)> = Vec::new();
    if let Some(token) = &settings.gitlab.token {
        tokens.push((settings.gitlab.token_source.clone(), token.clone()));
    }
    for target in &settings.targets {
        if let TargetKind::GitBook(gitbook) = &target.kind {
            if let Some(token) = &gitbook.git_token {
                let is_gitlab_token = token.expose().starts_with("gl");
                let seen = tokens.iter().any(|(name, _)| *name == gitbook.git_token_source);
                if is_gitlab_token && !seen {
                    tokens.push((gitbook.git_token_source.clone(), token.clone()));
                }
            }
        }
    }
    if tokens.is_empty() {
        return;
    }
    let Some(project) = &context.project else {
        for (variable, _) in &tokens {
            report.warn(variable.clone(), "not checked: the GitLab instance is unknown", gitlab_url_fix());
        }
        return;
    };
    for (variable, token) in tokens {
        check_gitlab_token(settings, http, project, &variable, &token, context.today, report).await;
    }
}

/// A GitLab answer that ended a check, in words and with the fix that fits
/// it: 401 (the token), 403 `insufficient_scope` (its scopes), 403 (its
/// user's rights), an unexpected answer (the URL), or GitLab's own trouble.
/// A 404 means something different for every call, so callers handle it.
fn explain(error: &GitLabError, variable: &str, what: &str, api: &url::Url) -> (String, String) {
    match error {
        GitLabError::Unauthorized(_) => (
            format!("GitLab rejects the token ({what}): {error}"),
            format!("the token is revoked, expired or mistyped: create a new project access token and store it in {variable}"),
        ),
        GitLabError::InsufficientScope { scope, .. } => (
            format!("{what}: {error}"),
            format!(
                "create a token with {} (scopes cannot be added to an existing token) and store it in {variable}",
                scope.as_deref().map(printable).unwrap_or_else(|| "the read_api scope".into())
            ),
        ),
        GitLabError::Forbidden(_) => (
            format!("{what}: {error}"),
            "the token's user lacks the right (its role, a blocked user, or a project setting): check the user in GitLab".into(),
        ),
        GitLabError::Decode { .. } => (
            format!("{what}: {error}"),
            format!("check that {api} is GitLab's REST API (CI_API_V4_URL or DOCSYNC_GITLAB_URL): something else answered"),
        ),
        GitLabError::Redirected(_) | GitLabError::Body(_) => (format!("{what}: {error}"), error.fix().unwrap_or_default()),
        GitLabError::Unreachable(_) if error.fix().is_some() => {
            (format!("{what}: {error}"), error.fix().unwrap_or_default())
        }
        GitLabError::NotFound(_) | GitLabError::Rejected(_) | GitLabError::Unreachable(_) => (
            format!("{what}: {error}"),
            "check DOCSYNC_GITLAB_URL (CI_API_V4_URL in CI) and the network; for GitLab's own errors (5xx) retry later".into(),
        ),
    }
}

async fn check_gitlab_token(
    settings: &Settings,
    http: &HttpClient,
    project: &ProjectApi,
    variable: &str,
    token: &Secret,
    today: Date,
    report: &mut Report,
) {
    let auth = Auth::for_token(token);
    let client = GitLabClient { http, api: project.api.clone(), auth: auth.clone() };
    let is_git_token = !is_api_token(settings, variable);
    let Some(user) = check_token_user(&client, project, variable, report).await else { return };

    let mut info = None;
    if !matches!(auth, Auth::OAuth(_)) {
        // GitLab answers this for a token of any scope.
        match client.token_info().await {
            Ok(read) => {
                if !check_token_info(settings, variable, &read, today, report) {
                    return;
                }
                info = Some(read);
            }
            Err(error) => {
                let (message, fix) = explain(&error, variable, "reading the token's scopes and expiry", &project.api);
                report.warn(variable, message, fix);
            }
        }
    }

    if !check_project_access(settings, &client, project, variable, report).await {
        return;
    }
    check_role(settings, &client, project, variable, user.as_ref(), info.as_ref(), report).await;
    if is_git_token {
        check_export_branches(settings, &client, project, variable, report).await;
    }
}

/// Who the token is: `Some(None)` when its scopes do not let it say, `None`
/// when GitLab rejects it, so nothing more is asked.
async fn check_token_user(
    client: &GitLabClient<'_>,
    project: &ProjectApi,
    variable: &str,
    report: &mut Report,
) -> Option<Option<User>> {
    // A token limited to git (read_repository, what GitBook needs) may not
    // read `/user`: that is a scope, not a bad token.
    let user = match client.user().await {
        Ok(user) => Some(user),
        Err(GitLabError::InsufficientScope { .. }) => None,
        Err(error) => {
            let (message, fix) = explain(&error, variable, "asking GitLab who the token is", &project.api);
            let message = match &error {
                GitLabError::NotFound(_) => format!("{message} (no GitLab API at {})", project.api),
                _ => message,
            };
            report.error(variable, message, fix);
            return None;
        }
    };
    match &user {
        Some(user) => {
            let kind = user.token_kind(&client.auth);
            report.ok(variable, format!("{} of {} ({})", kind.describe(), user.username, user.name));
            if kind == TokenKind::Personal {
                report.warn(
                    variable,
                    "a personal access token acts with all of its owner's rights and stops working when they leave",
                    "prefer a project access token (Settings → Access tokens) with only the scopes listed here",
                );
            }
        }
        None => report.ok(variable, "GitLab accepts the token; its scopes do not let it read its own user"),
    }
    Some(user)
}

/// Whether the token may see the project through the API; `false` ends
/// the token's checks (a git-only token is then done: git is all it needs).
async fn check_project_access(
    settings: &Settings,
    client: &GitLabClient<'_>,
    project: &ProjectApi,
    variable: &str,
    report: &mut Report,
) -> bool {
    let is_git_token = !is_api_token(settings, variable);
    match client.project(&project.project).await {
        Ok(_) => {}
        Err(GitLabError::NotFound(_)) => {
            report.error(
                variable,
                format!("no such project {} (or the token may not see it)", project.project),
                "check CI_PROJECT_ID, or the project path in DOCSYNC_GITLAB_URL, and that the token belongs to this project (or its user is a member)",
            );
            return false;
        }
        Err(GitLabError::InsufficientScope { .. }) if is_git_token => {
            report.ok(
                variable,
                "project and role not checked: the token's scopes reach git, not the API, and git access is all GitBook uses",
            );
            if exports(settings) {
                report.warn(
                    variable,
                    "cannot tell whether the token's user may push: exports need the Developer role",
                    format!(
                        "make sure the token has the Developer role, or give {variable} read_api so check can tell"
                    ),
                );
            }
            return false;
        }
        Err(error) => {
            let (message, fix) = explain(&error, variable, "looking the project up", &project.api);
            let blocking = !matches!(error, GitLabError::InsufficientScope { .. });
            if blocking {
                report.error(variable, message, fix)
            } else {
                report.warn(variable, message, fix)
            }
            return false;
        }
    }
    true
}

/// The token's user's role on the project, against what the sync needs.
async fn check_role(
    settings: &Settings,
    client: &GitLabClient<'_>,
    project: &ProjectApi,
    variable: &str,
    user: Option<&User>,
    info: Option<&TokenInfo>,
    report: &mut Report,
) {
    let is_git_token = !is_api_token(settings, variable);
    let user_id = user.map(|u| u.id).or_else(|| info.and_then(|i| i.user_id));
    let shown_user = user.map_or_else(|| "the token's user".to_owned(), |u| u.username.clone());
    match user_id {
        None => report.warn(
            variable,
            "role not checked: GitLab did not say whose token it is",
            format!("give {variable} the read_api scope so check can read its role"),
        ),
        Some(user_id) => match client.member(&project.project, user_id).await {
            Ok(member) => {
                let role = role_name(member.access_level);
                // GitBook only clones with the Git token for imports, which
                // Reporter may do; pushing an export needs Developer.
                let git_token_pushes = is_git_token && exports(settings);
                let exports_requested = settings.targets.iter().any(|t| t.direction == Direction::Export);
                let needs_developer = exports_requested || git_token_pushes;
                if needs_developer && member.access_level < 30 {
                    report.error(
                        variable,
                        format!("{shown_user} has the {role} role on the project: pushing needs Developer or more"),
                        "give the token's user (or the project access token) the Developer or Maintainer role",
                    );
                } else {
                    report.ok(variable, format!("{shown_user} has the {role} role on {}", project.project));
                }
            }
            Err(GitLabError::NotFound(_)) => report.error(
                variable,
                format!("{shown_user} is not a member of {}", project.project),
                "create a project access token in this project, or add the token's user as a member",
            ),
            Err(error) => {
                let (message, fix) = explain(&error, variable, "reading the token's role", &project.api);
                report.warn(variable, message, fix)
            }
        },
    }
}

/// Reports what the token's record says; `false` when the token cannot
/// work at all (revoked, inactive, expired), so nothing more is asked.
fn check_token_info(settings: &Settings, variable: &str, info: &TokenInfo, today: Date, report: &mut Report) -> bool {
    if info.revoked == Some(true) || info.active == Some(false) {
        report.error(
            variable,
            if info.revoked == Some(true) {
                "the token is revoked"
            } else {
                "the token is not active (expired or revoked)"
            },
            format!("create a new project access token and store it in {variable}"),
        );
        return false;
    }
    let state = if info.active == Some(true) { "active" } else { "GitLab did not say whether it is active" };
    match info.expires_at.as_deref().map(|text| (text, parse_date(text))) {
        // GitLab's rule: a token expires at 00:00 UTC on its expiry date,
        // so one that expires today no longer works.
        Some((_, Some(expires))) if expires <= today => {
            report.error(
                variable,
                format!("the token expired on {expires}"),
                format!("create a new token and store it in {variable}"),
            );
            return false;
        }
        Some((_, Some(expires))) if (expires - today).whole_days() <= EXPIRY_WARNING_DAYS => {
            let days = (expires - today).whole_days();
            report.warn(
                variable,
                format!("the token expires on {expires}, in {days} {}", if days == 1 { "day" } else { "days" }),
                format!("rotate it before then: create a new token and store it in {variable}"),
            )
        }
        Some((_, Some(expires))) => report.ok(variable, format!("{state}, expires on {expires}")),
        Some((text, None)) => report.warn(
            variable,
            format!("{state}; GitLab gave an expiry date docsync cannot read: {:?}", printable(text)),
            "look the token's expiry up in GitLab (Settings → Access tokens)",
        ),
        None => report.ok(variable, format!("{state}, does not expire")),
    }
    for Need { scope, why, blocking } in needed_scopes(settings, variable) {
        let fix = format!(
            "create a token with {scope} (scopes cannot be added to an existing token) and store it in {variable}"
        );
        match (has_scope(info, scope), blocking) {
            (true, _) => report.ok(variable, format!("has {scope} ({why})")),
            (false, true) => report.error(variable, format!("lacks the {scope} scope: {why}"), fix),
            (false, false) => report.warn(variable, format!("lacks the {scope} scope: {why}"), fix),
        }
    }
    true
}

/// `YYYY-MM-DD`, alone or starting a timestamp.
fn parse_date(text: &str) -> Option<Date> {
    let (date, rest) = (text.get(..10)?, text.get(10..)?);
    if !rest.is_empty() && !rest.starts_with('T') {
        return None;
    }
    Date::parse(date, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

async fn check_export_branches(
    settings: &Settings,
    client: &GitLabClient<'_>,
    project: &ProjectApi,
    variable: &str,
    report: &mut Report,
) {
    for target in &settings.targets {
        let TargetKind::GitBook(gitbook) = &target.kind else { continue };
        if target.direction != Direction::Export && gitbook.export_branch.is_none() {
            continue;
        }
        let Some(branch) = gitbook.export_branch.as_deref().or(target.branch.as_deref()) else { continue };
        let subject = format!("target {} export branch", target.name);
        match client.branch(&project.project, branch).await {
            Ok(Some(found)) if found.can_push => report.ok(
                subject,
                format!("{branch} exists{}, and {variable} may push to it", if found.protected { ", protected" } else { "" }),
            ),
            Ok(Some(found)) => report.error(
                subject,
                format!("{variable} may not push to {branch}{}", if found.protected { " (a protected branch)" } else { "" }),
                "export to a sync branch instead (DOCSYNC_EXPORT_BRANCH=gitbook-sync) with DOCSYNC_EXPORT_MR=true, or allow the token's role to push to the branch",
            ),
            Ok(None) => report.warn(
                subject,
                format!("{branch} does not exist yet"),
                "GitBook creates it on the first export; create it first if branch rules should apply",
            ),
            Err(error) => {
                let (message, fix) = explain(&error, variable, &format!("reading branch {branch}"), &project.api);
                report.warn(subject, message, fix)
            }
        }
    }
}
