//! GitBook (and any service with the same Git endpoints): the request bodies
//! of `git/import` and `git/export`, as GitBook's published OpenAPI
//! description defines them (`ImportGitRepository`, `ExportToGitRepository`).

use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use crate::git::remote::{CloneUrl, Project};
use crate::http::{HttpClient, HttpError, Request};
use crate::secret::Secret;
use crate::settings::GitBookTarget;

/// `ImportGitRepository` and `ExportToGitRepository` share their fields;
/// `commitMessage` is the export's own.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRequestBody {
    pub url: CloneUrl,
    #[serde(rename = "ref")]
    pub git_ref: String,
    #[serde(rename = "repoTreeURL")]
    pub repo_tree_url: String,
    #[serde(rename = "repoCommitURL")]
    pub repo_commit_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo_project_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_message: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub force: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub standalone: bool,
}

/// What every body needs.
pub struct BodyInput<'a> {
    pub project: &'a Project,
    pub credentials: Option<(String, Secret)>,
    /// The full ref GitBook reads or writes: `refs/heads/main`,
    /// `refs/merge-requests/7/head`.
    pub git_ref: String,
    /// The branch the tree URLs point at.
    pub branch: &'a str,
    pub directory: &'a str,
    pub timestamp: Option<OffsetDateTime>,
    pub force: bool,
}

impl GitRequestBody {
    fn new(input: BodyInput<'_>) -> GitRequestBody {
        GitRequestBody {
            url: CloneUrl::new(input.project, input.credentials),
            git_ref: input.git_ref,
            // A branch's slashes separate path segments in GitLab's URLs;
            // anything else in its name is encoded.
            repo_tree_url: input.project.at(["-", "blob"].into_iter().chain(input.branch.split('/'))).to_string(),
            repo_commit_url: input.project.at(["-", "commit"]).to_string(),
            repo_project_directory: (!input.directory.is_empty()).then(|| input.directory.to_owned()),
            timestamp: input.timestamp.and_then(rfc3339_utc),
            commit_message: None,
            force: input.force,
            standalone: false,
        }
    }

    pub fn import(input: BodyInput<'_>) -> GitRequestBody {
        GitRequestBody::new(input)
    }

    /// A merge request preview: a standalone revision, no ordering timestamp
    /// (it never replaces the space's content).
    pub fn preview(input: BodyInput<'_>) -> GitRequestBody {
        GitRequestBody { standalone: true, timestamp: None, ..GitRequestBody::new(input) }
    }

    pub fn export(input: BodyInput<'_>, commit_message: String) -> GitRequestBody {
        GitRequestBody { commit_message: Some(commit_message), ..GitRequestBody::new(input) }
    }
}

/// RFC 3339 in UTC, whole seconds: `2026-11-22T15:00:00Z`; `None` for a
/// time RFC 3339 cannot write (outside the years 0 to 9999 in UTC).
pub fn rfc3339_utc(at: OffsetDateTime) -> Option<String> {
    let utc = at.checked_to_offset(time::UtcOffset::UTC)?;
    let utc = utc.replace_nanosecond(0).unwrap_or(utc);
    utc.format(&Rfc3339).ok()
}

/// `{api}/spaces/{space}/git/{operation}`, built segment by segment so a
/// space id can never alter the path.
pub fn endpoint(api: &Url, space: &str, operation: &str) -> Url {
    space_url(api, space, &["git", operation])
}

/// `{api}/spaces/{space}/…`.
fn space_url(api: &Url, space: &str, rest: &[&str]) -> Url {
    let mut url = api.clone();
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend(["spaces", space]).extend(rest);
    }
    url
}

// ---------------------------------------------------------------------------
// The client: queue an operation, then wait for GitBook's verdict.

/// GitBook's `GitSyncState` (`GET git/info`), narrowed to what docsync reads.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GitSyncState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
}

/// The latest operation of the space's Git Sync.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operation {
    pub state: OperationState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// `endedAt` in the published spec; `completedAt` in some answers.
    #[serde(default, alias = "completedAt", skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Progress, when GitBook counts it (deprecated in its spec, often `0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_tasks: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched_tasks: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_action: Option<ErrorAction>,
}

impl Operation {
    fn started(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(self.started_at.as_deref()?, &Rfc3339).ok()
    }

    /// `import running (content_process), 3/10 tasks`.
    pub fn describe(&self) -> String {
        let mut text = format!("{} {}", self.direction.as_deref().unwrap_or("operation"), state_name(self.state));
        if let Some(stage) = &self.stage {
            text.push_str(&format!(" ({stage})"));
        }
        if let (Some(done), Some(all)) = (self.completed_tasks, self.dispatched_tasks) {
            if all > 0.0 {
                text.push_str(&format!(", {done}/{all} tasks"));
            }
        }
        text
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OperationState {
    Running,
    Success,
    Failure,
    Timeout,
    #[serde(other)]
    Unknown,
}

/// GitBook's fix-it link for a failed operation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ErrorAction {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub url: String,
}

/// GitBook's live revision of a space (`GET content`), narrowed to what
/// tells which commit it holds and where to see it.
#[derive(Debug, Clone, Deserialize)]
pub struct Revision {
    #[serde(default)]
    pub git: Option<RevisionCommit>,
    pub urls: RevisionUrls,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RevisionCommit {
    pub oid: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RevisionUrls {
    pub app: String,
}

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

/// GitBook's `Date` header has whole seconds, and GitBook may start the
/// operation a moment before it answers.
const CLOCK_ROUNDING: time::Duration = time::Duration::seconds(1);

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
        Ok((decode(&response.body).map_err(decode_error)?, server_time(&response.headers)))
    }

    /// `GET content`: the space's live revision.
    pub async fn live_revision(&self) -> Result<Revision, GitBookError> {
        let mut url = space_url(&self.target.api_url, &self.target.space, &["content"]);
        // The page tree is not needed, only the revision's git metadata.
        url.query_pairs_mut().append_pair("computed", "false");
        let response = self.http.send(self.request(Method::GET, url)).await.map_err(|e| self.classify(e, false))?;
        decode(&response.body).map_err(decode_error)
    }

    /// `POST git/import` or `git/export`: GitBook queues the work (204).
    /// Returns when GitBook accepted it, by GitBook's clock: its operation
    /// cannot have started earlier (give or take [`CLOCK_ROUNDING`]).
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

/// A typed answer; a surprise names the failing field.
fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(body))
}

fn decode_error(error: serde_path_to_error::Error<serde_json::Error>) -> GitBookError {
    GitBookError::Decode { field: error.path().to_string(), detail: error.inner().to_string() }
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

impl GitRequestBody {
    /// The body as sent: the clone URL with its real credentials.
    pub fn wire_json(&self) -> serde_json::Value {
        let mut json = serde_json::to_value(self).unwrap_or_default();
        json["url"] = serde_json::Value::String(self.url.exposed());
        json
    }
}

/// The end of one target's GitBook operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Success(Operation),
    Failed(Operation),
    /// Ours was still running, or had not started, when the wait ran out.
    StillRunning(Option<Operation>),
    /// No operation of ours started within the start timeout; the last
    /// operation seen, someone else's, if any.
    NotStarted(Option<Operation>),
    /// The token may not read git info: the operation was queued, its result
    /// is not known.
    CannotWatch(String),
    /// `git/info` stayed unreadable (5xx, invalid answers, no answer): the
    /// operation was queued, its result is not known.
    Unreadable(String),
}

/// Whether `current` is the operation started by our request: one of our
/// direction that started no earlier than GitBook accepted the request
/// (`accepted`, by GitBook's clock, give or take [`CLOCK_ROUNDING`]). An
/// older one, or one of the other direction, is someone else's.
pub fn is_our_operation(accepted: OffsetDateTime, current: &Operation, direction: &str) -> bool {
    let same_direction = current.direction.as_deref().is_none_or(|d| d.eq_ignore_ascii_case(direction));
    let started_after = current.started().is_some_and(|started| started >= accepted - CLOCK_ROUNDING);
    same_direction && started_after
}

/// How the wait is bounded and paced.
#[derive(Debug, Clone, Copy)]
pub struct WaitLimits {
    /// The whole wait, a hanging read included (`DOCSYNC_WAIT_TIMEOUT`).
    pub total: Duration,
    /// Until an operation of ours must have started (`DOCSYNC_START_TIMEOUT`).
    pub start: Duration,
    /// The first pause between reads; it grows to five times this.
    pub poll: Duration,
    /// Unreadable answers in a row tolerated before giving up (`DOCSYNC_RETRIES`).
    pub unreadable: u32,
}

/// A progress line at least this often while waiting.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Decides when a progress line is due: when what GitBook shows changes, or
/// [`PROGRESS_EVERY`] after the last line.
#[derive(Debug, Default)]
pub struct Progress {
    last_line: Option<(Duration, String)>,
}

impl Progress {
    /// The line to log now, `waited` into the wait, if one is due.
    pub fn line(&mut self, waited: Duration, status: String) -> Option<String> {
        let due = match &self.last_line {
            None => true,
            Some((at, last)) => *last != status || waited.saturating_sub(*at) >= PROGRESS_EVERY,
        };
        if !due {
            return None;
        }
        let line = format!("{status}; waited {}", crate::settings::duration::format_duration(round_seconds(waited)));
        self.last_line = Some((waited, status));
        Some(line)
    }
}

fn round_seconds(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs())
}

/// Polls `git/info` until our operation ends or the wait runs out, logging
/// progress. Every read is bounded by what is left of the wait.
pub async fn wait_for_verdict(
    client: &GitBookClient<'_>,
    accepted: OffsetDateTime,
    direction: &str,
    limits: WaitLimits,
) -> Verdict {
    let space = &client.target.space;
    let started = tokio::time::Instant::now();
    let deadline = started + limits.total;
    let mut ours: Option<Operation> = None;
    let mut foreign: Option<Operation> = None;
    let mut unreadable = 0;
    let mut progress = Progress::default();
    let mut interval = limits.poll;
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Verdict::StillRunning(ours);
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
        interval = (interval.mul_f64(1.5)).min(limits.poll * 5);
        let read = tokio::time::timeout_at(deadline, client.info()).await;
        let waited = started.elapsed();
        let state = match read {
            Err(_) => return Verdict::StillRunning(ours),
            Ok(Ok(state)) => {
                unreadable = 0;
                state
            }
            Ok(Err(GitBookError::Unauthorized { source, .. })) => return Verdict::CannotWatch(source.to_string()),
            // The client already retried what can be retried.
            Ok(Err(error @ GitBookError::Unreachable(_))) => return Verdict::Unreadable(error.to_string()),
            // 5xx and answers that do not decode: read again, a few times.
            Ok(Err(error)) => {
                unreadable += 1;
                if unreadable > limits.unreadable {
                    return Verdict::Unreadable(error.to_string());
                }
                tracing::warn!("space {space}: cannot read the {direction}'s state ({error}); reading again");
                continue;
            }
        };
        let status = match state.operation {
            Some(operation) if is_our_operation(accepted, &operation, direction) => {
                match operation.state {
                    OperationState::Success => {
                        tracing::info!("space {space}: {}", operation.describe());
                        return Verdict::Success(operation);
                    }
                    OperationState::Failure | OperationState::Timeout => {
                        tracing::info!("space {space}: {}", operation.describe());
                        return Verdict::Failed(operation);
                    }
                    OperationState::Running | OperationState::Unknown => {}
                }
                let status = operation.describe();
                ours = Some(operation);
                status
            }
            other => {
                if ours.is_none() && waited >= limits.start {
                    return Verdict::NotStarted(other.or(foreign));
                }
                let status = match &other {
                    Some(op) if op.state == OperationState::Running => format!(
                        "another operation is in progress ({}, started {}); waiting for GitBook to start our {direction}",
                        op.describe(),
                        op.started_at.as_deref().unwrap_or("at an unknown time")
                    ),
                    _ => format!("waiting for GitBook to start the {direction}"),
                };
                if other.is_some() {
                    foreign = other;
                }
                status
            }
        };
        if let Some(line) = progress.line(waited, status) {
            tracing::info!("space {space}: {line}");
        }
    }
}

pub fn state_name(state: OperationState) -> &'static str {
    match state {
        OperationState::Running => "running",
        OperationState::Success => "success",
        OperationState::Failure => "failure",
        OperationState::Timeout => "timeout",
        OperationState::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_from_ci_and_remote_urls() {
        let expected = "https://gitlab.example.com/group/sub/project";
        for raw in [
            "https://gitlab.example.com/group/sub/project",
            "https://gitlab.example.com/group/sub/project/",
            "https://gitlab-ci-token:secret@gitlab.example.com/group/sub/project.git",
            "git@gitlab.example.com:group/sub/project.git",
            "ssh://git@gitlab.example.com:2222/group/sub/project.git",
        ] {
            assert_eq!(Project::from_url(raw).unwrap().web_url.as_str(), expected, "{raw}");
        }
        assert_eq!(Project::from_url("/srv/repo.git"), None);
    }

    #[test]
    fn import_body_masks_credentials_when_shown() {
        let project = Project::from_url("https://gitlab.example.com/g/p").unwrap();
        let body = GitRequestBody::import(BodyInput {
            project: &project,
            credentials: Some(("oauth2".into(), Secret::new("glpat-body-test-secret"))),
            git_ref: "refs/heads/main".into(),
            branch: "main",
            directory: "docs/en",
            timestamp: Some(time::macros::datetime!(2026-11-22 16:00:00.5 +01:00)),
            force: false,
        });
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "url": "https://oauth2:[MASKED]@gitlab.example.com/g/p.git",
                "ref": "refs/heads/main",
                "repoTreeURL": "https://gitlab.example.com/g/p/-/blob/main",
                "repoCommitURL": "https://gitlab.example.com/g/p/-/commit",
                "repoProjectDirectory": "docs/en",
                "timestamp": "2026-11-22T15:00:00Z"
            })
        );
        assert_eq!(body.url.exposed(), "https://oauth2:glpat-body-test-secret@gitlab.example.com/g/p.git");
    }

    #[test]
    fn encoded_token_in_the_clone_url_is_redacted() {
        let project = Project::from_url("https://gitlab.example.com/g/p").unwrap();
        let url = CloneUrl::new(&project, Some(("oauth2".into(), Secret::new("tok/en+with@special chars"))));
        let exposed = url.exposed();
        assert_eq!(exposed, "https://oauth2:tok%2Fen%2Bwith%40special%20chars@gitlab.example.com/g/p.git");
        assert_eq!(crate::secret::redact(&exposed), "https://oauth2:[MASKED]@gitlab.example.com/g/p.git");
    }

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).unwrap()
    }

    fn op(direction: &str, started_at: &str) -> Operation {
        serde_json::from_value(serde_json::json!({
            "state": "running", "direction": direction, "startedAt": started_at,
        }))
        .unwrap()
    }

    #[test]
    fn ours_is_of_our_direction_and_started_after_gitbook_accepted_it() {
        let accepted = at("2026-11-22T15:00:04Z");
        assert!(is_our_operation(accepted, &op("import", "2026-11-22T15:00:05Z"), "import"));
        // GitBook's Date has whole seconds: a start just before it is ours.
        assert!(is_our_operation(accepted, &op("import", "2026-11-22T15:00:03.500Z"), "import"));
        assert!(!is_our_operation(accepted, &op("import", "2026-11-22T15:00:02Z"), "import"));
        assert!(!is_our_operation(accepted, &op("export", "2026-11-22T15:00:05Z"), "import"));
        assert!(!is_our_operation(accepted, &op("import", "not a time"), "import"));
    }

    #[test]
    fn progress_is_logged_on_change_and_at_least_every_30_seconds() {
        let mut progress = Progress::default();
        let running = || "import running (repo_fetch)".to_owned();
        assert_eq!(
            progress.line(Duration::from_secs(1), running()).as_deref(),
            Some("import running (repo_fetch); waited 1s")
        );
        assert_eq!(progress.line(Duration::from_secs(20), running()), None);
        assert!(progress.line(Duration::from_secs(25), "import running (finalize)".into()).is_some());
        assert_eq!(progress.line(Duration::from_secs(54), "import running (finalize)".into()), None);
        assert_eq!(
            progress.line(Duration::from_millis(55_400), "import running (finalize)".into()).as_deref(),
            Some("import running (finalize); waited 55s")
        );
    }

    #[test]
    fn operations_describe_stage_and_tasks_when_counted() {
        let mut operation = op("import", "2026-11-22T15:00:05Z");
        operation.stage = Some("content_process".into());
        assert_eq!(operation.describe(), "import running (content_process)");
        operation.completed_tasks = Some(3.0);
        operation.dispatched_tasks = Some(10.0);
        assert_eq!(operation.describe(), "import running (content_process), 3/10 tasks");
    }

    #[test]
    fn server_time_reads_the_date_header() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::DATE, "Sun, 22 Nov 2026 15:00:04 GMT".parse().unwrap());
        assert_eq!(server_time(&headers), at("2026-11-22T15:00:04Z"));
    }

    #[test]
    fn branch_names_never_alter_the_tree_url() {
        let project = Project::from_url("https://gitlab.example.com/g/p").unwrap();
        let body = GitRequestBody::import(BodyInput {
            project: &project,
            credentials: None,
            git_ref: "refs/heads/docs/x".into(),
            branch: "docs/x?y#z %",
            directory: "",
            timestamp: None,
            force: false,
        });
        assert_eq!(body.repo_tree_url, "https://gitlab.example.com/g/p/-/blob/docs/x%3Fy%23z%20%25");
    }

    #[test]
    fn endpoint_keeps_the_api_path() {
        let api = Url::parse("https://api.gitbook.com/v1").unwrap();
        assert_eq!(endpoint(&api, "spc1", "import").as_str(), "https://api.gitbook.com/v1/spaces/spc1/git/import");
        let api = Url::parse("http://127.0.0.1:4010/v1/").unwrap();
        assert_eq!(endpoint(&api, "spc1", "info").as_str(), "http://127.0.0.1:4010/v1/spaces/spc1/git/info");
        assert_eq!(space_url(&api, "spc1", &["content"]).as_str(), "http://127.0.0.1:4010/v1/spaces/spc1/content");
    }
}
