//! The GitBook client: one space's `git/info`, `content`, and sending an
//! import or export once, with failures sorted into what the user must act
//! on and the time of each answer by GitBook's clock.

use reqwest::Method;
use time::OffsetDateTime;
use url::Url;

use crate::error::Exit;
use crate::http::{HttpClient, HttpError, Request, Undecodable};
use crate::secret::Secret;
use crate::settings::GitBookTarget;
use crate::targets::gitbook::answers::{GitSyncState, Revision, RevisionChanges};
use crate::targets::gitbook::change_requests::ChangeRequestList;
use crate::targets::gitbook::{GitRequestBody, endpoint, space_url};

/// Why a GitBook call failed, in the terms the user must act on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum GitBookError {
    #[error("GitBook refused {variable}: {source}")]
    Unauthorized { variable: String, fix: String, source: HttpError },
    #[error("GitBook does not know space {space}: {source}")]
    SpaceNotFound { space: String, source: HttpError },
    #[error("GitBook rejected the request: {source}")]
    Rejected { source: HttpError },
    /// A 3xx: the API URL is not the final one. Never followed: the token
    /// and the import body's git token would go with it.
    #[error("{0}")]
    Redirected(HttpError),
    #[error("{0}")]
    Unreachable(HttpError),
    #[error("unexpected answer from GitBook at {field}: {detail}")]
    Decode { field: String, detail: String },
    /// docsync could not write the request's JSON body: its own failure
    /// (exit 4), and nothing was sent.
    #[error("docsync could not write the request body, so nothing was sent: {0}")]
    Body(serde_json::Error),
}

/// What a 404 on `GET git/info` means. GitBook's API reference: it
/// "returns 404 if no Git provider is configured"; the same answer comes
/// for a space the token cannot see.
pub(crate) fn no_git_sync(space: &str, source: &HttpError) -> (String, &'static str) {
    (
        format!(
            "GitBook knows no Git Sync state of space {space}: no such space for this token, or no Git Sync set up on it ({source})"
        ),
        "check DOCSYNC_GITBOOK_SPACE (the id in the space's URL, app.gitbook.com/o/…/s/<space id>); if it is right, set up its Git Sync with GitLab in GitBook",
    )
}

impl GitBookError {
    /// The run's configuration is at fault (exit 2): an untrusted certificate.
    pub(crate) fn is_configuration(&self) -> bool {
        matches!(self, GitBookError::Unreachable(error) if error.is_configuration())
    }

    /// The exit code of a run this failure ends, the one place it is
    /// decided: every variant is named, so a new one must be classified.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            GitBookError::Unreachable(error) if error.is_configuration() => Exit::BadInput,
            GitBookError::Unreachable(_) => Exit::Unreachable,
            GitBookError::Unauthorized { .. }
            | GitBookError::SpaceNotFound { .. }
            | GitBookError::Rejected { .. }
            | GitBookError::Redirected(_)
            | GitBookError::Decode { .. } => Exit::TargetFailed,
            GitBookError::Body(_) => Exit::LocalFailure,
        }
    }

    pub(crate) fn fix(&self) -> String {
        match self {
            GitBookError::Unauthorized { fix, .. } => fix.clone(),
            GitBookError::SpaceNotFound { .. } => {
                "check DOCSYNC_GITBOOK_SPACE: copy the id from the space's URL (app.gitbook.com/o/…/s/<space id>)"
                    .into()
            }
            GitBookError::Rejected { source } if source.status().is_some_and(|s| s.is_redirection()) => {
                "set DOCSYNC_GITBOOK_API_URL to the final URL: docsync never follows a redirect with a token".into()
            }
            GitBookError::Rejected { .. } => {
                "read GitBook's message above; the request body is shown by `docsync plan`".into()
            }
            GitBookError::Redirected(_) => {
                "set DOCSYNC_GITBOOK_API_URL (or the target's gitbook_api_url) to the final URL the server redirects to: docsync sends no token to another address".into()
            }
            GitBookError::Unreachable(HttpError::UnsendableHeader { header, .. }) => {
                format!("set the token variable that {header} carries to the token alone: no line break, space or non-ASCII character")
            }
            GitBookError::Unreachable(error) if error.is_configuration() => {
                "put the CA that signed the API's certificate in CI_SERVER_TLS_CA_FILE or SSL_CERT_FILE (a PEM bundle)"
                    .into()
            }
            GitBookError::Unreachable(_) => {
                "check DOCSYNC_GITBOOK_API_URL, the proxy (HTTPS_PROXY) and GitBook's status page, then retry the job"
                    .into()
            }
            GitBookError::Decode { .. } => "check DOCSYNC_GITBOOK_API_URL points at a GitBook-style API".into(),
            GitBookError::Body(_) => "docsync's own failure: report it with `docsync plan --format json`".into(),
        }
    }
}

/// When GitBook answered, by its own clock (the answer's `Date`); or why
/// that is not known.
pub(crate) type AnsweredAt = Result<OffsetDateTime, UndatedAnswer>;

/// Why an answer's time by GitBook's clock is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UndatedAnswer {
    #[error("GitBook's answer has no Date header")]
    NoDate,
    #[error("GitBook's answer has a Date header {0:?} that is not an HTTP date")]
    NotHttpDate(String),
}

/// What became of one import or export sent.
#[derive(Debug)]
pub(crate) enum Sent {
    /// GitBook queued it (204).
    Accepted(AnsweredAt),
    /// A timeout, a dropped connection, 502 or 504: GitBook may have queued
    /// it, or not.
    Ambiguous(HttpError),
}

pub(crate) struct GitBookClient<'a> {
    pub http: &'a HttpClient,
    pub target: &'a GitBookTarget,
    pub token: &'a Secret,
}

impl GitBookClient<'_> {
    fn request(&self, method: Method, url: Url) -> Request {
        Request::new(method, url).secret_header("authorization", "Bearer ", self.token)
    }

    /// `GET git/info`.
    pub(crate) async fn info(&self) -> Result<GitSyncState, GitBookError> {
        self.info_at().await.map(|(state, _)| state)
    }

    /// `GET git/info`, with the time GitBook answered by its own clock.
    pub(crate) async fn info_at(&self) -> Result<(GitSyncState, AnsweredAt), GitBookError> {
        let url = endpoint(&self.target.api_url, &self.target.space, "info");
        let response = self.http.send(self.request(Method::GET, url)).await.map_err(|e| self.classify(e, false))?;
        Ok((response.json().map_err(decode_error)?, server_time(&response.headers)))
    }

    /// `GET content`: the space's live revision.
    pub(crate) async fn live_revision(&self) -> Result<Revision, GitBookError> {
        let mut url = space_url(&self.target.api_url, &self.target.space, &["content"]);
        // The page tree is not needed, only the revision's git metadata.
        url.query_pairs_mut().append_pair("computed", "false");
        let response = self.http.send(self.request(Method::GET, url)).await.map_err(|e| self.classify(e, false))?;
        response.json().map_err(decode_error)
    }

    /// `GET revisions/{revisionId}`: an earlier revision of the space.
    pub(crate) async fn revision(&self, id: &str) -> Result<Revision, GitBookError> {
        let mut url = space_url(&self.target.api_url, &self.target.space, &["revisions", id]);
        url.query_pairs_mut().append_pair("computed", "false");
        let response = self.http.send(self.request(Method::GET, url)).await.map_err(|e| self.classify(e, false))?;
        response.json().map_err(decode_error)
    }

    /// `GET revisions/{revisionId}/changes`: what a revision changed.
    pub(crate) async fn revision_changes(&self, id: &str) -> Result<RevisionChanges, GitBookError> {
        let url = space_url(&self.target.api_url, &self.target.space, &["revisions", id, "changes"]);
        let response = self.http.send(self.request(Method::GET, url)).await.map_err(|e| self.classify(e, false))?;
        response.json().map_err(decode_error)
    }

    /// `GET change-requests?status=open`: the `limit` most recently updated
    /// open change requests.
    pub(crate) async fn open_change_requests(&self, limit: usize) -> Result<ChangeRequestList, GitBookError> {
        let mut url = space_url(&self.target.api_url, &self.target.space, &["change-requests"]);
        url.query_pairs_mut()
            .append_pair("status", "open")
            .append_pair("orderBy", "updatedAt")
            .append_pair("limit", &limit.to_string());
        let response = self.http.send(self.request(Method::GET, url)).await.map_err(|e| self.classify(e, false))?;
        response.json().map_err(decode_error)
    }

    /// `GET change-requests/{changeRequestId}/changes`: the pages a change
    /// request changes against the revision it started from.
    pub(crate) async fn change_request_changes(&self, id: &str) -> Result<RevisionChanges, GitBookError> {
        let mut url = space_url(&self.target.api_url, &self.target.space, &["change-requests", id, "changes"]);
        // GitBook's default is 10 changes.
        url.query_pairs_mut().append_pair("limit", "100");
        let response = self.http.send(self.request(Method::GET, url)).await.map_err(|e| self.classify(e, false))?;
        response.json().map_err(decode_error)
    }

    /// `POST git/import` or `git/export`, once (the HTTP client resends it
    /// only when it cannot have been processed): GitBook queues the work
    /// (204). Whether to send it again after an ambiguous answer is the
    /// caller's to decide, after looking.
    pub(crate) async fn send(&self, operation: &str, body: &GitRequestBody) -> Result<Sent, GitBookError> {
        let url = endpoint(&self.target.api_url, &self.target.space, operation);
        let request = self.request(Method::POST, url).json(&body.wire_json().map_err(GitBookError::Body)?);
        match self.http.send(request).await {
            Ok(response) => Ok(Sent::Accepted(server_time(&response.headers))),
            Err(error @ HttpError::Ambiguous { .. }) => Ok(Sent::Ambiguous(error)),
            Err(error) => Err(self.classify(error, true)),
        }
    }

    fn classify(&self, error: HttpError, sends_clone_url: bool) -> GitBookError {
        match error.status().map(|s| s.as_u16()) {
            Some(401 | 403) => {
                let message = error.server_message().map(str::to_ascii_lowercase).unwrap_or_default();
                let clone_problem = sends_clone_url
                    && ["clone", "repository", "credential", "git "].iter().any(|w| message.contains(w));
                if clone_problem {
                    GitBookError::Unauthorized {
                        variable: self.target.git_token_source.clone(),
                        fix: format!(
                            "set {} to a project access token with read_repository (imports) or write_repository (exports)",
                            self.target.git_token_source
                        ),
                        source: error,
                    }
                } else {
                    GitBookError::Unauthorized {
                        variable: self.target.token_source.clone(),
                        fix: format!(
                            "set {} to a GitBook API token of a member who can edit space {} (app.gitbook.com → Settings → Developer)",
                            self.target.token_source, self.target.space
                        ),
                        source: error,
                    }
                }
            }
            Some(300..=399) => GitBookError::Redirected(error),
            Some(404) => GitBookError::SpaceNotFound { space: self.target.space.clone(), source: error },
            Some(_) => GitBookError::Rejected { source: error },
            None => GitBookError::Unreachable(error),
        }
    }
}

fn decode_error(error: Undecodable) -> GitBookError {
    GitBookError::Decode { field: error.field, detail: error.detail }
}

/// The time of an answer by GitBook's clock: its `Date` header, an HTTP
/// date (RFC 9110). Never the runner's clock: the two need not agree, and
/// an operation is matched to our request by GitBook's alone.
fn server_time(headers: &reqwest::header::HeaderMap) -> AnsweredAt {
    let Some(value) = headers.get(reqwest::header::DATE) else {
        return Err(UndatedAnswer::NoDate);
    };
    let text = String::from_utf8_lossy(value.as_bytes());
    httpdate::parse_http_date(text.trim())
        .map(OffsetDateTime::from)
        .map_err(|_| UndatedAnswer::NotHttpDate(text.into_owned()))
}

#[cfg(test)]
mod tests {
    use time::format_description::well_known::Rfc3339;

    use super::*;

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).unwrap()
    }

    fn date(value: &str) -> reqwest::header::HeaderMap {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::DATE, value.parse().unwrap());
        headers
    }

    #[test]
    fn server_time_reads_the_date_header() {
        assert_eq!(server_time(&date("Sun, 22 Nov 2026 15:00:04 GMT")), Ok(at("2026-11-22T15:00:04Z")));
        // RFC 9110's obsolete forms, which a recipient must accept.
        assert_eq!(server_time(&date("Sunday, 22-Nov-26 15:00:04 GMT")), Ok(at("2026-11-22T15:00:04Z")));
        assert_eq!(server_time(&date("Sun Nov 22 15:00:04 2026")), Ok(at("2026-11-22T15:00:04Z")));
    }

    #[test]
    fn each_failure_has_its_exit_code() {
        let answered = |status: u16| HttpError::Status {
            method: Method::POST,
            url: "https://api.gitbook.com/v1/spaces/s/git/import".into(),
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            message: String::new(),
            body: String::new(),
        };
        assert_eq!(GitBookError::Rejected { source: answered(400) }.exit(), Exit::TargetFailed);
        assert_eq!(GitBookError::Redirected(answered(302)).exit(), Exit::TargetFailed);
        let gone = HttpError::Unreachable { method: Method::GET, url: "u".into(), attempts: 5, last: "503".into() };
        assert_eq!(GitBookError::Unreachable(gone).exit(), Exit::Unreachable);
        let header =
            HttpError::UnsendableHeader { method: Method::GET, url: "u".into(), header: "authorization".into() };
        assert_eq!(GitBookError::Unreachable(header).exit(), Exit::BadInput);
        let unwritable = serde_json::from_str::<()>("x").unwrap_err();
        assert_eq!(GitBookError::Body(unwritable).exit(), Exit::LocalFailure);
    }

    #[test]
    fn no_readable_date_is_said_never_replaced_by_the_runners_clock() {
        let none = server_time(&reqwest::header::HeaderMap::new()).unwrap_err();
        assert_eq!(none, UndatedAnswer::NoDate);
        assert!(none.to_string().contains("no Date header"), "{none}");
        let numeric = server_time(&date("Sun, 22 Nov 2026 15:00:04 -0000")).unwrap_err();
        assert_eq!(numeric, UndatedAnswer::NotHttpDate("Sun, 22 Nov 2026 15:00:04 -0000".to_owned()));
        let shown = numeric.to_string();
        assert!(shown.contains("\"Sun, 22 Nov 2026 15:00:04 -0000\" that is not an HTTP date"), "{shown}");
    }
}
