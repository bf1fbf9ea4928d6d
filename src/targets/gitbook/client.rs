//! The GitBook client: one space's `git/info`, `content`, and queueing an
//! import or export (looking before resending after an ambiguous answer),
//! with failures sorted into what the user must act on.

use std::time::Duration;

use reqwest::Method;
use time::OffsetDateTime;
use url::Url;

use crate::http::{HttpClient, HttpError, Request, Undecodable};
use crate::secret::Secret;
use crate::settings::GitBookTarget;
use crate::targets::gitbook::answers::{GitSyncState, Revision, is_our_operation};
use crate::targets::gitbook::{GitRequestBody, endpoint, space_url};

/// Why a GitBook call failed, in the terms the user must act on.
#[derive(Debug, thiserror::Error)]
pub enum GitBookError {
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
}

impl GitBookError {
    /// The run's configuration is at fault (exit 2): an untrusted certificate.
    pub fn is_configuration(&self) -> bool {
        matches!(self, GitBookError::Unreachable(error) if error.is_configuration())
    }

    pub fn fix(&self) -> String {
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
            GitBookError::Unreachable(error) if error.is_configuration() => {
                "put the CA that signed the API's certificate in CI_SERVER_TLS_CA_FILE or SSL_CERT_FILE (a PEM bundle)"
                    .into()
            }
            GitBookError::Unreachable(_) => {
                "check DOCSYNC_GITBOOK_API_URL, the proxy (HTTPS_PROXY) and GitBook's status page, then retry the job"
                    .into()
            }
            GitBookError::Decode { .. } => "check DOCSYNC_GITBOOK_API_URL points at a GitBook-style API".into(),
        }
    }
}

/// How many times an import or export is sent again after an answer that
/// leaves open whether GitBook got it (timeout, dropped connection, 502,
/// 504), each time only after `git/info` showed no operation of ours.
const AMBIGUOUS_RESENDS: u32 = 2;

pub struct GitBookClient<'a> {
    pub http: &'a HttpClient,
    pub target: &'a GitBookTarget,
    pub token: &'a Secret,
}

impl GitBookClient<'_> {
    fn request(&self, method: Method, url: Url) -> Request {
        Request::new(method, url).secret_header("authorization", "Bearer ", self.token)
    }

    /// `GET git/info`.
    pub async fn info(&self) -> Result<GitSyncState, GitBookError> {
        self.info_at().await.map(|(state, _)| state)
    }

    /// `GET git/info`, with the time GitBook answered by its own clock.
    pub async fn info_at(&self) -> Result<(GitSyncState, OffsetDateTime), GitBookError> {
        let url = endpoint(&self.target.api_url, &self.target.space, "info");
        let response = self.http.send(self.request(Method::GET, url)).await.map_err(|e| self.classify(e, false))?;
        Ok((response.json().map_err(decode_error)?, server_time(&response.headers)))
    }

    /// `GET content`: the space's live revision.
    pub async fn live_revision(&self) -> Result<Revision, GitBookError> {
        let mut url = space_url(&self.target.api_url, &self.target.space, &["content"]);
        // The page tree is not needed, only the revision's git metadata.
        url.query_pairs_mut().append_pair("computed", "false");
        let response = self.http.send(self.request(Method::GET, url)).await.map_err(|e| self.classify(e, false))?;
        response.json().map_err(decode_error)
    }

    /// `POST git/import` or `git/export`: GitBook queues the work (204).
    /// Returns when GitBook accepted it, by GitBook's clock: its operation
    /// cannot have started earlier (give or take `CLOCK_ROUNDING`).
    ///
    /// After an answer that leaves open whether GitBook got the request, it
    /// reads `git/info` first: an operation of ours that started means the
    /// request went through, and it is followed, never sent twice.
    pub async fn queue(
        &self,
        operation: &str,
        body: &GitRequestBody,
        settle: Duration,
    ) -> Result<OffsetDateTime, GitBookError> {
        let url = endpoint(&self.target.api_url, &self.target.space, operation);
        let mut resends = 0;
        loop {
            let sent = tokio::time::Instant::now();
            let request = self.request(Method::POST, url.clone()).json(&body.wire_json());
            let ambiguous = match self.http.send(request).await {
                Ok(response) => return Ok(server_time(&response.headers)),
                Err(error @ HttpError::Ambiguous { .. }) => error,
                Err(error) => return Err(self.classify(error, true)),
            };
            // GitBook may have queued it: look before sending it again.
            tokio::time::sleep(settle).await;
            let (state, now) = match self.info_at().await {
                Ok(answer) => answer,
                Err(error) => {
                    tracing::warn!(
                        "space {}: cannot tell whether GitBook got the {operation} ({error}); not sending it again",
                        self.target.space
                    );
                    return Err(GitBookError::Unreachable(ambiguous));
                }
            };
            let since = now - time::Duration::try_from(sent.elapsed()).unwrap_or(time::Duration::ZERO);
            match state.operation {
                Some(op) if is_our_operation(since, &op, operation) => {
                    tracing::info!(
                        "space {}: GitBook started the {operation} although its answer was lost ({ambiguous}); following it",
                        self.target.space
                    );
                    return Ok(since);
                }
                _ if resends < AMBIGUOUS_RESENDS => {
                    resends += 1;
                    tracing::warn!(
                        "space {}: {ambiguous}; git/info shows no {operation} of ours, sending it again ({resends}/{AMBIGUOUS_RESENDS})",
                        self.target.space
                    );
                }
                _ => return Err(GitBookError::Unreachable(ambiguous)),
            }
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

/// The time of an answer by GitBook's clock (its `Date` header); the local
/// clock when a server sends none.
fn server_time(headers: &reqwest::header::HeaderMap) -> OffsetDateTime {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    headers
        .get(reqwest::header::DATE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| time::PrimitiveDateTime::parse(text.trim(), &format).ok())
        .map_or_else(OffsetDateTime::now_utc, time::PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use time::format_description::well_known::Rfc3339;

    use super::*;

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).unwrap()
    }

    #[test]
    fn server_time_reads_the_date_header() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::DATE, "Sun, 22 Nov 2026 15:00:04 GMT".parse().unwrap());
        assert_eq!(server_time(&headers), at("2026-11-22T15:00:04Z"));
    }
}
