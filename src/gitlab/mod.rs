//! GitLab's REST API, as docsync needs it: the instance behind a pasted URL,
//! what a token is and may do (for `docsync check`), the last synced commit
//! (the deployment watermark), the compare fallback for shallow clones, merge
//! requests and merge request notes.

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::git::diff::{Change, ChangeKind, ChangeStatus};
use crate::http::{HttpClient, HttpError, Request};
use crate::log::printable;
use crate::secret::{Secret, redact_url};

/// How a token authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// Personal, project and group access tokens: `PRIVATE-TOKEN`.
    Private(Secret),
    /// OAuth access tokens: `Authorization: Bearer`.
    OAuth(Secret),
    /// `CI_JOB_TOKEN`: `JOB-TOKEN`, valid only while the job runs.
    Job(Secret),
}

impl Auth {
    /// Access tokens start with `glpat-` (personal, project and group alike)
    /// or another `gl…-` prefix; OAuth access tokens are 64 hexadecimal
    /// characters. Anything else is treated as an access token of the
    /// pre-prefix era.
    pub fn for_token(token: &Secret) -> Auth {
        let value = token.expose();
        let oauth = value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit());
        if oauth { Auth::OAuth(token.clone()) } else { Auth::Private(token.clone()) }
    }

    fn apply(&self, request: Request) -> Request {
        match self {
            Auth::Private(token) => request.secret_header("private-token", "", token),
            Auth::OAuth(token) => request.secret_header("authorization", "Bearer ", token),
            Auth::Job(token) => request.secret_header("job-token", "", token),
        }
    }
}

/// A failed GitLab call, in the terms the user must act on. Every text a
/// server supplied is shown through [`printable`].
#[derive(Debug, thiserror::Error)]
pub enum GitLabError {
    /// 401: the token is unknown, revoked or expired.
    #[error("GitLab refused the token ({})", printable(&.0.to_string()))]
    Unauthorized(HttpError),
    /// 403 `insufficient_scope`: a valid token whose scopes do not cover the
    /// call. `scope` is what GitLab says the call needs, when it says so.
    #[error("the token's scopes do not allow this call{} ({})", needs(.scope), printable(&.error.to_string()))]
    InsufficientScope { scope: Option<String>, error: HttpError },
    /// 403 otherwise: the token's user may not do this (role, settings).
    #[error("GitLab forbids it ({})", printable(&.0.to_string()))]
    Forbidden(HttpError),
    /// 404: no such object, or the token may not see it.
    #[error("GitLab answered 404 ({})", printable(&.0.to_string()))]
    NotFound(HttpError),
    #[error("{}", printable(&.0.to_string()))]
    Rejected(HttpError),
    /// A 3xx: the configured URL is not the final one. Never followed.
    #[error("{}", printable(&.0.to_string()))]
    Redirected(HttpError),
    #[error("{}", printable(&.0.to_string()))]
    Unreachable(HttpError),
    #[error("unexpected answer from GitLab at {}: {}", printable(.field), printable(.detail))]
    Decode { field: String, detail: String },
}

fn needs(scope: &Option<String>) -> String {
    scope.as_deref().map(|s| format!(" (it needs {})", printable(s))).unwrap_or_default()
}

impl GitLabError {
    /// The request may or may not have been processed (a timeout, a dropped
    /// connection, 502 or 504 on a write): look before resending.
    pub fn is_ambiguous(&self) -> bool {
        matches!(self, GitLabError::Unreachable(HttpError::Ambiguous { .. }))
    }

    /// A 5xx, or no answer: GitLab's own trouble, not the request's.
    pub fn is_server_side(&self) -> bool {
        match self {
            GitLabError::Unreachable(_) => true,
            GitLabError::Rejected(error) => error.status().is_some_and(|s| s.is_server_error()),
            _ => false,
        }
    }
}

impl From<HttpError> for GitLabError {
    fn from(error: HttpError) -> GitLabError {
        match error.status().map(|s| s.as_u16()) {
            Some(300..=399) => GitLabError::Redirected(error),
            Some(401) => GitLabError::Unauthorized(error),
            Some(403) => match insufficient_scope(&error) {
                Some(scope) => GitLabError::InsufficientScope { scope, error },
                None => GitLabError::Forbidden(error),
            },
            Some(404) => GitLabError::NotFound(error),
            Some(_) => GitLabError::Rejected(error),
            None => GitLabError::Unreachable(error),
        }
    }
}

/// GitLab's answer to a token whose scopes are too narrow:
/// `{"error": "insufficient_scope", "scope": "api read_api"}`. `Some(scope)`
/// when the 403 is that one.
fn insufficient_scope(error: &HttpError) -> Option<Option<String>> {
    let HttpError::Status { body, .. } = error else { return None };
    let json: serde_json::Value = serde_json::from_str(body).ok()?;
    (json.get("error")?.as_str()? == "insufficient_scope")
        .then(|| json.get("scope").and_then(|s| s.as_str()).map(str::to_owned))
}

impl GitLabError {
    /// The fix for failures that are the configuration's, not the token's.
    pub fn fix(&self) -> Option<String> {
        match self {
            GitLabError::Redirected(_) => Some(
                "set CI_API_V4_URL (or DOCSYNC_GITLAB_URL outside CI) to the final URL the server redirects to: docsync sends no token to another address".to_owned(),
            ),
            GitLabError::Unreachable(error) if error.is_configuration() => Some(
                "put the CA that signed GitLab's certificate in CI_SERVER_TLS_CA_FILE or SSL_CERT_FILE (a PEM bundle)".to_owned(),
            ),
            _ => None,
        }
    }
}

/// `GET /user`.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: u64,
    pub username: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub bot: bool,
}

/// What kind of token authenticated as a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Personal,
    ProjectAccess,
    GroupAccess,
    OAuth,
}

impl TokenKind {
    pub fn describe(self) -> &'static str {
        match self {
            TokenKind::Personal => "personal access token",
            TokenKind::ProjectAccess => "project access token",
            TokenKind::GroupAccess => "group access token",
            TokenKind::OAuth => "OAuth token",
        }
    }
}

impl User {
    /// Project and group access tokens authenticate as bot users named
    /// `project_<id>_bot…` and `group_<id>_bot…`.
    pub fn token_kind(&self, auth: &Auth) -> TokenKind {
        if matches!(auth, Auth::OAuth(_)) {
            return TokenKind::OAuth;
        }
        let numbered_bot = |prefix: &str| {
            self.username
                .strip_prefix(prefix)
                .and_then(|rest| rest.split_once("_bot"))
                .is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        };
        match () {
            _ if self.bot && numbered_bot("project_") => TokenKind::ProjectAccess,
            _ if self.bot && numbered_bot("group_") => TokenKind::GroupAccess,
            _ => TokenKind::Personal,
        }
    }
}

/// `GET /personal_access_tokens/self` (also answers for project and group
/// access tokens).
/// Fields GitLab leaves out stay unknown (`None`): a missing `active` is
/// not a revoked token.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenInfo {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub revoked: Option<bool>,
    /// `YYYY-MM-DD`, or none for tokens that never expire.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The token's user: known even when `GET /user` is out of its scopes.
    #[serde(default)]
    pub user_id: Option<u64>,
}

/// `GET /projects/:id`.
#[derive(Debug, Clone, Deserialize)]
pub struct ProjectInfo {
    pub id: u64,
    #[serde(default)]
    pub path_with_namespace: String,
    pub web_url: String,
    /// `null` in an empty project.
    #[serde(default)]
    pub default_branch: Option<String>,
}

/// `GET /projects/:id/members/all/:user_id`.
#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    pub access_level: u32,
}

pub fn role_name(access_level: u32) -> &'static str {
    match access_level {
        0..=9 => "no access",
        10..=14 => "Guest",
        15..=19 => "Planner",
        20..=29 => "Reporter",
        30..=39 => "Developer",
        40..=49 => "Maintainer",
        _ => "Owner",
    }
}

/// `GET /projects/:id/repository/branches/:branch`.
#[derive(Debug, Clone, Deserialize)]
pub struct Branch {
    pub name: String,
    #[serde(default)]
    pub protected: bool,
    #[serde(default)]
    pub can_push: bool,
    #[serde(default)]
    pub default: bool,
}

/// One entry of `GET /projects/:id/deployments`.
#[derive(Debug, Clone, Deserialize)]
pub struct Deployment {
    pub sha: String,
    #[serde(default)]
    pub status: Option<String>,
}

/// `GET /projects/:id/repository/compare`.
#[derive(Debug, Clone, Deserialize)]
pub struct Compare {
    #[serde(default)]
    pub diffs: Vec<CompareDiff>,
    #[serde(default)]
    pub compare_timeout: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CompareDiff {
    pub old_path: String,
    pub new_path: String,
    #[serde(default)]
    pub new_file: bool,
    #[serde(default)]
    pub renamed_file: bool,
    #[serde(default)]
    pub deleted_file: bool,
    #[serde(default)]
    pub too_large: Option<bool>,
    #[serde(default)]
    pub collapsed: Option<bool>,
    /// The file modes, like `"100644"`; `"160000"` is a submodule.
    #[serde(default)]
    pub a_mode: Option<String>,
    #[serde(default)]
    pub b_mode: Option<String>,
}

impl CompareDiff {
    fn kind(&self) -> ChangeKind {
        let gitlink = |mode: &Option<String>| mode.as_deref() == Some("160000");
        if gitlink(&self.b_mode) || (self.deleted_file && gitlink(&self.a_mode)) {
            ChangeKind::Submodule
        } else {
            ChangeKind::File
        }
    }
}

impl Compare {
    /// The change set, or why it cannot be trusted (GitLab cut it short).
    pub fn changes(&self) -> Result<Vec<Change>, String> {
        if self.compare_timeout {
            return Err("GitLab's compare timed out (compare_timeout)".into());
        }
        if let Some(diff) = self.diffs.iter().find(|d| d.too_large == Some(true) || d.collapsed == Some(true)) {
            return Err(format!(
                "GitLab's compare left out part of the changes ({} is too large or collapsed)",
                diff.new_path
            ));
        }
        for diff in &self.diffs {
            for path in [&diff.old_path, &diff.new_path] {
                if let Some(why) = refused_path(path) {
                    return Err(format!(
                        "GitLab's compare answer holds a path docsync refuses ({why}): {}",
                        printable(path)
                    ));
                }
            }
        }
        Ok(self
            .diffs
            .iter()
            .map(|diff| match (diff.new_file, diff.deleted_file, diff.renamed_file) {
                (true, _, _) => Change {
                    status: ChangeStatus::Added,
                    path: diff.new_path.clone(),
                    old_path: None,
                    kind: diff.kind(),
                },
                (_, true, _) => Change {
                    status: ChangeStatus::Deleted,
                    path: diff.old_path.clone(),
                    old_path: None,
                    kind: diff.kind(),
                },
                (_, _, true) => Change {
                    status: ChangeStatus::Renamed,
                    path: diff.new_path.clone(),
                    old_path: Some(diff.old_path.clone()),
                    kind: diff.kind(),
                },
                _ => Change {
                    status: ChangeStatus::Modified,
                    path: diff.new_path.clone(),
                    old_path: None,
                    kind: diff.kind(),
                },
            })
            .collect())
    }
}

/// Why a path from a compare answer cannot be a path in the repository:
/// git never stores an empty, absolute or `..` path, nor one with control
/// characters that would forge lines wherever it is printed.
fn refused_path(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        Some("empty")
    } else if path.starts_with('/') || path.starts_with('\\') {
        Some("absolute")
    } else if path.split(['/', '\\']).any(|part| part == ".." || part == ".") {
        Some("a . or .. component")
    } else if path.chars().any(char::is_control) {
        Some("control characters")
    } else {
        None
    }
}

/// A merge request, as created or listed.
#[derive(Debug, Clone, Deserialize)]
pub struct MergeRequest {
    pub iid: u64,
    /// Absent or `null` from some servers and proxies: see [`MergeRequest::url`].
    #[serde(default)]
    pub web_url: Option<String>,
}

impl MergeRequest {
    /// Its page: `web_url`, else `<project>/-/merge_requests/<iid>`.
    pub fn url(&self, project_web_url: Option<&Url>) -> Option<String> {
        if let Some(url) = self.web_url.as_deref().and_then(|u| Url::parse(u).ok()) {
            return Some(url.to_string());
        }
        let mut url = project_web_url?.clone();
        url.path_segments_mut().ok()?.pop_if_empty().extend(["-", "merge_requests", &self.iid.to_string()]);
        Some(url.to_string())
    }
}

/// A merge request note.
#[derive(Debug, Clone, Deserialize)]
pub struct Note {
    pub id: u64,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub author: Option<NoteAuthor>,
    #[serde(default)]
    pub system: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NoteAuthor {
    pub id: u64,
}

/// Pages of a list docsync reads at most: GitLab serves 100 entries a page.
const MAX_PAGES: u32 = 100;

#[derive(Serialize)]
struct NewMergeRequest<'a> {
    source_branch: &'a str,
    target_branch: &'a str,
    title: &'a str,
    description: &'a str,
    remove_source_branch: bool,
}

/// The REST API of one instance, with one token.
pub struct GitLabClient<'a> {
    pub http: &'a HttpClient,
    /// `…/api/v4`, as `CI_API_V4_URL` gives it.
    pub api: Url,
    pub auth: Auth,
}

impl GitLabClient<'_> {
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn call<T: DeserializeOwned>(&self, request: Request) -> Result<T, GitLabError> {
        Ok(self.call_with_next_page(request).await?.0)
    }

    /// The answer, and the next page's number when GitLab paginates it:
    /// `X-Next-Page`, else the `page` of the `Link` header's `rel="next"`.
    /// The next URL is always built here, never taken from the answer, so a
    /// server cannot send the token elsewhere.
    async fn call_with_next_page<T: DeserializeOwned>(
        &self,
        request: Request,
    ) -> Result<(T, Option<u32>), GitLabError> {
        let response = self.http.send(self.auth.apply(request)).await?;
        let mut decoder = serde_json::Deserializer::from_slice(&response.body);
        let value = serde_path_to_error::deserialize(&mut decoder).map_err(|error| GitLabError::Decode {
            field: error.path().to_string(),
            detail: error.inner().to_string(),
        })?;
        Ok((value, next_page(&response.headers)))
    }

    async fn get<T: DeserializeOwned>(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<T, GitLabError> {
        self.call(Request::new(Method::GET, self.url(segments, query))).await
    }

    /// Reads a paginated list page by page until `wanted` picks an entry.
    async fn find_in_pages<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        mut wanted: impl FnMut(&T) -> bool,
    ) -> Result<Option<T>, GitLabError> {
        let mut page = 1;
        loop {
            let number = page.to_string();
            let mut paged = query.to_vec();
            paged.extend([("per_page", "100"), ("page", number.as_str())]);
            let (entries, next): (Vec<T>, _) =
                self.call_with_next_page(Request::new(Method::GET, self.url(segments, &paged))).await?;
            if let Some(found) = entries.into_iter().find(|entry| wanted(entry)) {
                return Ok(Some(found));
            }
            match next {
                Some(next) if next > page && next <= MAX_PAGES => page = next,
                _ => return Ok(None),
            }
        }
    }

    pub async fn user(&self) -> Result<User, GitLabError> {
        self.get(&["user"], &[]).await
    }

    pub async fn token_info(&self) -> Result<TokenInfo, GitLabError> {
        self.get(&["personal_access_tokens", "self"], &[]).await
    }

    pub async fn project(&self, project: &str) -> Result<ProjectInfo, GitLabError> {
        self.get(&["projects", project], &[]).await
    }

    pub async fn member(&self, project: &str, user_id: u64) -> Result<Member, GitLabError> {
        self.get(&["projects", project, "members", "all", &user_id.to_string()], &[]).await
    }

    /// `None` when the branch does not exist.
    pub async fn branch(&self, project: &str, branch: &str) -> Result<Option<Branch>, GitLabError> {
        match self.get(&["projects", project, "repository", "branches", branch], &[]).await {
            Ok(branch) => Ok(Some(branch)),
            Err(GitLabError::NotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The commit of the environment's last successful deployment. The
    /// `status` of each answer is checked too: a server or proxy that drops
    /// the `status=success` filter must not make a failed sync the base.
    pub async fn last_deployment(&self, project: &str, environment: &str) -> Result<Option<Deployment>, GitLabError> {
        self.find_in_pages(
            &["projects", project, "deployments"],
            &[("environment", environment), ("status", "success"), ("order_by", "finished_at"), ("sort", "desc")],
            |deployment: &Deployment| deployment.status.as_deref() == Some("success"),
        )
        .await
    }

    pub async fn compare(&self, project: &str, from: &str, to: &str) -> Result<Compare, GitLabError> {
        self.get(&["projects", project, "repository", "compare"], &[("from", from), ("to", to), ("straight", "true")])
            .await
    }

    async fn open_merge_request_from(
        &self,
        project: &str,
        source: &str,
        target: &str,
    ) -> Result<Option<MergeRequest>, GitLabError> {
        self.find_in_pages(
            &["projects", project, "merge_requests"],
            &[("source_branch", source), ("target_branch", target), ("state", "opened")],
            |_: &MergeRequest| true,
        )
        .await
    }

    /// Opens a merge request, or returns the open one GitLab reports as a
    /// duplicate (409). After an answer that leaves it unknown whether
    /// GitLab created it (a timeout, 502, 504), looks for it before sending
    /// the request once more. `true` when this call opened it.
    pub async fn open_merge_request(
        &self,
        project: &str,
        source: &str,
        target: &str,
        title: &str,
        description: &str,
    ) -> Result<(MergeRequest, bool), GitLabError> {
        let body = NewMergeRequest {
            source_branch: source,
            target_branch: target,
            title,
            description,
            remove_source_branch: false,
        };
        let payload = serde_json::to_value(&body).unwrap_or_default();
        let create =
            || Request::new(Method::POST, self.url(&["projects", project, "merge_requests"], &[])).json(&payload);
        let mut result = self.call::<MergeRequest>(create()).await;
        if matches!(&result, Err(error) if error.is_ambiguous()) {
            tracing::info!("GitLab's answer to the merge request was lost: looking for it before sending it again");
            result = match self.open_merge_request_from(project, source, target).await? {
                Some(found) => return Ok((found, true)),
                None => self.call::<MergeRequest>(create()).await,
            };
        }
        match result {
            Ok(created) => Ok((created, true)),
            Err(GitLabError::Rejected(error)) if error.status() == Some(StatusCode::CONFLICT) => self
                .open_merge_request_from(project, source, target)
                .await?
                .map(|existing| (existing, false))
                .ok_or(GitLabError::Rejected(error)),
            Err(error) => Err(error),
        }
    }

    /// docsync's own note on a merge request: written by `author` (the
    /// token's user) and holding `marker`. A quote of it by someone else is
    /// not it. Every page is read: on a busy merge request it is not on the
    /// first.
    async fn own_note(&self, project: &str, iid: &str, author: u64, marker: &str) -> Result<Option<Note>, GitLabError> {
        self.find_in_pages(
            &["projects", project, "merge_requests", iid, "notes"],
            &[("sort", "desc"), ("order_by", "updated_at")],
            |note: &Note| {
                !note.system && note.author.as_ref().is_some_and(|a| a.id == author) && note.body.contains(marker)
            },
        )
        .await
    }

    /// Posts a note on a merge request, or updates docsync's earlier one, so
    /// a retried job leaves one note, current. After an answer that leaves
    /// it unknown whether GitLab stored the note, looks again before sending
    /// it once more.
    pub async fn upsert_note(&self, project: &str, iid: u64, marker: &str, body: &str) -> Result<Note, GitLabError> {
        let iid = iid.to_string();
        let me = self.user().await?;
        let payload = serde_json::json!({ "body": body });
        let write = |existing: Option<&Note>| match existing {
            Some(note) => Request::new(
                Method::PUT,
                self.url(&["projects", project, "merge_requests", &iid, "notes", &note.id.to_string()], &[]),
            )
            .json(&payload),
            None => Request::new(Method::POST, self.url(&["projects", project, "merge_requests", &iid, "notes"], &[]))
                .json(&payload),
        };
        let existing = self.own_note(project, &iid, me.id, marker).await?;
        match self.call::<Note>(write(existing.as_ref())).await {
            Err(error) if error.is_ambiguous() => {
                tracing::info!("GitLab's answer to the note was lost: looking for it before sending it again");
                match self.own_note(project, &iid, me.id, marker).await? {
                    Some(note) if note.body == body => Ok(note),
                    found => self.call(write(found.as_ref())).await,
                }
            }
            result => result,
        }
    }
}

/// The next page of a paginated answer, as GitLab announces it.
fn next_page(headers: &reqwest::header::HeaderMap) -> Option<u32> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(next) = header("x-next-page") {
        // An empty X-Next-Page is GitLab's "last page".
        return next.parse().ok();
    }
    let link = header("link")?;
    link.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let target = part.trim().strip_prefix('<')?.split('>').next()?;
        let url = Url::parse(target).ok()?;
        url.query_pairs().find(|(key, _)| key == "page").and_then(|(_, page)| page.parse().ok())
    })
}

/// Why a pasted URL did not lead to a GitLab instance.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("{url} responded {status} for /api/v4/version: set the instance URL, not a page")]
    NotGitLab { url: String, status: String },
    #[error("cannot reach {host}: check the address, proxy and firewall ({detail})")]
    Unreachable { host: String, detail: String },
}

/// The instance behind what people paste: an instance URL or a project URL,
/// with or without trailing slashes. Asks `…/api/v4/version` at the given
/// path and each parent, longest first; an instance answers 200, or 401
/// when it wants a token for it — either proves it is GitLab.
pub async fn resolve_instance(http: &HttpClient, pasted: &Url, token: Option<&Auth>) -> Result<Url, InstanceError> {
    let mut segments: Vec<String> =
        pasted.path_segments().map(|s| s.filter(|p| !p.is_empty()).map(str::to_owned).collect()).unwrap_or_default();
    // `/-/` starts a page inside a project: the instance lies above it.
    if let Some(dash) = segments.iter().position(|s| s == "-") {
        segments.truncate(dash);
    }
    let mut last_status: String;
    loop {
        let mut base = pasted.clone();
        base.set_query(None);
        base.set_fragment(None);
        base.set_path(&format!("/{}", segments.join("/")));
        let mut probe = base.clone();
        if let Ok(mut path) = probe.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v4", "version"]);
        }
        let mut request = Request::new(Method::GET, probe);
        if let Some(auth) = token {
            request = auth.apply(request);
        }
        match http.send(request).await {
            Ok(response) if looks_like_version(&response.body) => return Ok(trim_slash(base)),
            Ok(response) => last_status = format!("{} without a GitLab version", response.status.as_u16()),
            Err(HttpError::Status { status, body, .. })
                if matches!(status.as_u16(), 401 | 403) && body.contains("Unauthorized") =>
            {
                return Ok(trim_slash(base));
            }
            Err(HttpError::Status { status, .. }) => last_status = status.as_u16().to_string(),
            Err(HttpError::Redirect { status, location, .. }) => {
                last_status = format!("{} redirecting to {location}", status.as_u16());
            }
            Err(HttpError::Unreachable { last, .. } | HttpError::Ambiguous { last, .. }) => {
                return Err(InstanceError::Unreachable {
                    host: pasted.host_str().unwrap_or_default().to_owned(),
                    detail: last,
                });
            }
            Err(error) => {
                return Err(InstanceError::Unreachable {
                    host: pasted.host_str().unwrap_or_default().to_owned(),
                    detail: error.to_string(),
                });
            }
        }
        if segments.pop().is_none() {
            return Err(InstanceError::NotGitLab { url: redact_url(pasted), status: last_status });
        }
    }
}

fn looks_like_version(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|json| json.get("version").is_some_and(|v| v.is_string()))
}

fn trim_slash(mut url: Url) -> Url {
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    url
}

/// Where the project lives on GitLab: its REST API and its id (or path).
#[derive(Debug, Clone)]
pub struct ProjectApi {
    pub api: Url,
    /// `CI_PROJECT_ID`, or the project's path (`group/project`).
    pub project: String,
}

/// Why the project could not be located.
#[derive(Debug, Clone)]
pub struct LocateProblem {
    pub subject: String,
    pub message: String,
    pub fix: String,
}

/// Finds the project's API: in CI from `CI_API_V4_URL` and `CI_PROJECT_ID`
/// as given (instances under a sub-path included); outside CI from
/// `DOCSYNC_GITLAB_URL`, resolved to its instance, and the project's path in
/// that URL or in the `origin` remote.
pub async fn locate_project(
    settings: &crate::settings::Settings,
    http: &HttpClient,
    origin: Option<&str>,
) -> Result<Option<ProjectApi>, LocateProblem> {
    let pipeline = &settings.pipeline;
    if let Some(ci) = &pipeline.ci {
        let api = pipeline
            .api_v4_url
            .as_deref()
            .and_then(|url| Url::parse(url).ok())
            .or_else(|| pipeline.server_url.as_deref().and_then(|url| Url::parse(url).ok()).map(|u| api_url(&u)));
        let project = ci.project_id.map(|id| id.to_string()).or_else(|| ci.project_path.clone());
        return Ok(api.zip(project).map(|(api, project)| ProjectApi { api, project }));
    }
    let Some(pasted) = &settings.gitlab.url else { return Ok(None) };
    let auth = settings.gitlab.token.as_ref().map(Auth::for_token);
    let instance = resolve_instance(http, pasted, auth.as_ref()).await.map_err(|error| LocateProblem {
        subject: "DOCSYNC_GITLAB_URL".into(),
        message: error.to_string(),
        fix: "set DOCSYNC_GITLAB_URL to the instance or project URL you open in the browser".into(),
    })?;
    let below_instance = |url: &Url| -> Option<String> {
        if url.host_str() != instance.host_str() {
            return None;
        }
        let path = url.path().trim_matches('/').trim_end_matches(".git");
        let base = instance.path().trim_matches('/');
        let rest = if base.is_empty() { path } else { path.strip_prefix(base)?.trim_start_matches('/') };
        let rest = rest.split("/-/").next().unwrap_or(rest).trim_end_matches('/');
        // The URL's path is percent-encoded; the API encodes the project
        // path as one segment itself, so it is decoded here, once.
        let rest = percent_encoding::percent_decode_str(rest).decode_utf8().ok()?;
        (!rest.is_empty()).then(|| rest.into_owned())
    };
    let project = below_instance(pasted)
        .or_else(|| origin.and_then(crate::git::remote::Project::from_url).and_then(|p| below_instance(&p.web_url)));
    match project {
        Some(project) => Ok(Some(ProjectApi { api: api_url(&instance), project })),
        None => Err(LocateProblem {
            subject: "DOCSYNC_GITLAB_URL".into(),
            message: format!("{} is a GitLab instance, but which project is unknown", redact_url(&instance)),
            fix:
                "paste the project's URL (https://host/group/project) into DOCSYNC_GITLAB_URL, or add an origin remote"
                    .into(),
        }),
    }
}

/// `…/api/v4` of an instance URL.
pub fn api_url(instance: &Url) -> Url {
    let mut api = instance.clone();
    if let Ok(mut path) = api.path_segments_mut() {
        path.pop_if_empty().extend(["api", "v4"]);
    }
    api
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(username: &str, bot: bool) -> User {
        User { id: 1, username: username.into(), name: String::new(), bot }
    }

    #[test]
    fn token_kinds_from_bot_users() {
        let pat = Auth::Private(Secret::new("glpat-kind-test-token"));
        assert_eq!(user("jane", false).token_kind(&pat), TokenKind::Personal);
        assert_eq!(user("project_42_bot_3f2a", true).token_kind(&pat), TokenKind::ProjectAccess);
        assert_eq!(user("group_7_bot_9c1d", true).token_kind(&pat), TokenKind::GroupAccess);
        assert_eq!(user("project_x_bot", true).token_kind(&pat), TokenKind::Personal);
        let oauth = Auth::for_token(&Secret::new("a".repeat(64)));
        assert!(matches!(oauth, Auth::OAuth(_)));
        assert_eq!(user("jane", false).token_kind(&oauth), TokenKind::OAuth);
    }

    #[test]
    fn compare_changes_and_cut_short_answers() {
        let compare: Compare = serde_json::from_str(
            r#"{"compare_timeout": false, "diffs": [
                {"old_path": "a.md", "new_path": "a.md", "new_file": true, "renamed_file": false, "deleted_file": false},
                {"old_path": "b.md", "new_path": "c.md", "new_file": false, "renamed_file": true, "deleted_file": false},
                {"old_path": "d.md", "new_path": "d.md", "new_file": false, "renamed_file": false, "deleted_file": true},
                {"old_path": "e.md", "new_path": "e.md", "new_file": false, "renamed_file": false, "deleted_file": false}
            ]}"#,
        )
        .unwrap();
        let statuses: Vec<ChangeStatus> = compare.changes().unwrap().iter().map(|c| c.status).collect();
        assert_eq!(
            statuses,
            [ChangeStatus::Added, ChangeStatus::Renamed, ChangeStatus::Deleted, ChangeStatus::Modified]
        );
        let cut: Compare = serde_json::from_str(
            r#"{"compare_timeout": false, "diffs": [{"old_path": "x", "new_path": "x", "too_large": true}]}"#,
        )
        .unwrap();
        assert!(cut.changes().unwrap_err().contains("too large"));
        let timeout: Compare = serde_json::from_str(r#"{"compare_timeout": true, "diffs": []}"#).unwrap();
        assert!(timeout.changes().is_err());
    }

    #[test]
    fn project_ids_and_paths_are_single_segments() {
        let http = HttpClient::new(&Default::default()).unwrap();
        let client = GitLabClient {
            http: &http,
            api: Url::parse("https://example.com/gitlab/api/v4").unwrap(),
            auth: Auth::Job(Secret::new("job-token-url-test")),
        };
        assert_eq!(
            client.url(&["projects", "group/sub project", "repository", "branches", "docs/sync"], &[]).as_str(),
            "https://example.com/gitlab/api/v4/projects/group%2Fsub%20project/repository/branches/docs%2Fsync"
        );
    }
}
