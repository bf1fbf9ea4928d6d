//! The REST client of one GitLab instance with one token: how a token
//! authenticates, what a failed call means for the user, and the paging
//! every list shares. The calls themselves live with their subject.

use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::Exit;
use crate::http::{HttpClient, HttpError, Request};
use crate::log::printable;
use crate::secret::Secret;

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

    pub(super) fn apply(&self, request: Request) -> Request {
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
    /// docsync could not write the request's JSON body: its own failure
    /// (exit 4), and nothing was sent.
    #[error("docsync could not write the request body, so nothing was sent: {0}")]
    Body(serde_json::Error),
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
    /// The exit code of a failed GitLab call that fails a target, the one
    /// place it is decided: every variant is named, so a new one must be
    /// classified. GitLab's own trouble (no answer, a 5xx) is exit 3, as a
    /// push-webhook receiver's is.
    pub fn exit(&self) -> Exit {
        match self {
            GitLabError::Unreachable(error) if error.is_configuration() => Exit::BadInput,
            GitLabError::Unreachable(_) => Exit::Unreachable,
            GitLabError::Rejected(error) if error.status().is_some_and(|s| s.is_server_error()) => Exit::Unreachable,
            GitLabError::Unauthorized(_)
            | GitLabError::InsufficientScope { .. }
            | GitLabError::Forbidden(_)
            | GitLabError::NotFound(_)
            | GitLabError::Rejected(_)
            | GitLabError::Redirected(_)
            | GitLabError::Decode { .. } => Exit::TargetFailed,
            GitLabError::Body(_) => Exit::LocalFailure,
        }
    }

    /// The fix for failures that are the configuration's, or docsync's
    /// own, not the token's.
    pub fn fix(&self) -> Option<String> {
        match self {
            GitLabError::Body(_) => {
                Some("docsync's own failure: report it with the job's log (the request was never sent)".to_owned())
            }
            GitLabError::Redirected(_) => Some(
                "set CI_API_V4_URL (or DOCSYNC_GITLAB_URL outside CI) to the final URL the server redirects to: docsync sends no token to another address".to_owned(),
            ),
            GitLabError::Unreachable(HttpError::UnsendableHeader { header, .. }) => Some(format!(
                "set the token variable that {header} carries to the token alone: no line break, space or non-ASCII character"
            )),
            GitLabError::Unreachable(error) if error.is_configuration() => Some(
                "put the CA that signed GitLab's certificate in CI_SERVER_TLS_CA_FILE or SSL_CERT_FILE (a PEM bundle)".to_owned(),
            ),
            _ => None,
        }
    }
}

/// Pages of a list docsync reads at most: GitLab serves 100 entries a page.
const MAX_PAGES: u32 = 100;

/// The REST API of one instance, with one token.
pub struct GitLabClient<'a> {
    pub http: &'a HttpClient,
    /// `…/api/v4`, as `CI_API_V4_URL` gives it.
    pub api: Url,
    pub auth: Auth,
}

impl GitLabClient<'_> {
    pub(super) fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.api.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    pub(super) async fn call<T: DeserializeOwned>(&self, request: Request) -> Result<T, GitLabError> {
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
        let value =
            response.json().map_err(|error| GitLabError::Decode { field: error.field, detail: error.detail })?;
        Ok((value, next_page(&response.headers)))
    }

    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, GitLabError> {
        self.call(Request::new(Method::GET, self.url(segments, query))).await
    }

    /// Reads a paginated list page by page until `wanted` picks an entry.
    pub(super) async fn find_in_pages<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        mut wanted: impl FnMut(&T) -> bool,
    ) -> Result<Option<T>, GitLabError> {
        let mut page = 1;
        loop {
            let (entries, next) = self.list_page::<T>(segments, query, page).await?;
            if let Some(found) = entries.into_iter().find(|entry| wanted(entry)) {
                return Ok(Some(found));
            }
            match next {
                Some(next) => page = next,
                None => return Ok(None),
            }
        }
    }
}

impl GitLabClient<'_> {
    /// Every entry of a paginated list, page by page (at most [`MAX_PAGES`]
    /// pages of 100).
    pub(super) async fn all_pages<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, GitLabError> {
        let mut all = Vec::new();
        let mut page = 1;
        loop {
            let (entries, next) = self.list_page::<T>(segments, query, page).await?;
            all.extend(entries);
            match next {
                Some(next) => page = next,
                None => return Ok(all),
            }
        }
    }

    /// Page `page` of a paginated list (100 entries), and the page after it
    /// when GitLab announces one that moves forward within [`MAX_PAGES`].
    async fn list_page<T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
        page: u32,
    ) -> Result<(Vec<T>, Option<u32>), GitLabError> {
        let number = page.to_string();
        let mut paged = query.to_vec();
        paged.extend([("per_page", "100"), ("page", number.as_str())]);
        let (entries, next): (Vec<T>, _) =
            self.call_with_next_page(Request::new(Method::GET, self.url(segments, &paged))).await?;
        Ok((entries, next.filter(|&next| next > page && next <= MAX_PAGES)))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn answered(status: u16) -> HttpError {
        HttpError::Status {
            method: Method::POST,
            url: "https://gitlab.example.com/api/v4/projects/1/merge_requests".into(),
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            message: String::new(),
            body: String::new(),
        }
    }

    #[test]
    fn gitlabs_own_trouble_is_exit_3_and_a_refusal_exit_1() {
        assert_eq!(GitLabError::from(answered(503)).exit(), Exit::Unreachable);
        assert_eq!(GitLabError::from(answered(500)).exit(), Exit::Unreachable);
        for refusal in [401, 403, 404, 409, 422, 302] {
            assert_eq!(GitLabError::from(answered(refusal)).exit(), Exit::TargetFailed, "{refusal}");
        }
        let untrusted = HttpError::UntrustedCertificate {
            method: Method::GET,
            url: "https://gitlab.example.com".into(),
            detail: "self-signed".into(),
        };
        assert_eq!(GitLabError::from(untrusted).exit(), Exit::BadInput);
        let unwritable = serde_json::from_str::<()>("x").unwrap_err();
        assert_eq!(GitLabError::Body(unwritable).exit(), Exit::LocalFailure);
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
