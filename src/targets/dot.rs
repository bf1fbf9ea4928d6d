//! Dot (getdot.ai) and every other receiver of GitLab push webhooks: the
//! `Push Hook` event GitLab itself would send for the pipeline's range, and
//! its delivery. GitLab never creates that webhook for Dot, and a self-hosted
//! instance often cannot reach it, so docsync sends the event from the job.
//!
//! [`push_event`] is pure: pipeline variables + the range's commits, each
//! with its own changes + the target's path filter → [`PushEvent`].
//! [`deliver`] sends it through the shared client (and its retry policy).
//!
//! # The event
//!
//! Shaped as GitLab's `Gitlab::DataBuilder::Push` shapes it (see
//! `reference/gitlab-push-event.json`), key for key:
//!
//! | field | from |
//! |---|---|
//! | `object_kind`, `event_name` | `"push"` |
//! | `before` | the range's base; all zeros for a full sync |
//! | `after`, `checkout_sha` | the range's head |
//! | `ref` | `refs/heads/<CI_COMMIT_BRANCH>` (else the sync branch) |
//! | `ref_protected` | `CI_COMMIT_REF_PROTECTED` |
//! | `message` | `null` (a tag's message; branches have none) |
//! | `user_id`, `user_name`, `user_username`, `user_email` | `GITLAB_USER_ID`, `GITLAB_USER_NAME`, `GITLAB_USER_LOGIN`, `GITLAB_USER_EMAIL` |
//! | `user_avatar` | `null`: no CI variable holds it (GitLab, too, sends `null` when the user has none) |
//! | `project_id`, `project.id` | `CI_PROJECT_ID` |
//! | `project.name` | `CI_PROJECT_TITLE` (the display name), else `CI_PROJECT_NAME` |
//! | `project.description` | `CI_PROJECT_DESCRIPTION` (`""` when empty) |
//! | `project.web_url`, `homepage` | `CI_PROJECT_URL` |
//! | `project.git_http_url`, `http_url` | `<CI_PROJECT_URL>.git` |
//! | `project.git_ssh_url`, `ssh_url`, `url` | `git@<CI_SERVER_SHELL_SSH_HOST>:<CI_PROJECT_PATH>.git` (`ssh://git@host:port/….git` on another port than 22) |
//! | `project.namespace` | the last segment of `CI_PROJECT_NAMESPACE` |
//! | `project.path_with_namespace` | `CI_PROJECT_PATH` |
//! | `project.default_branch` | `CI_DEFAULT_BRANCH` |
//! | `project.visibility_level` | `CI_PROJECT_VISIBILITY`: private 0, internal 10, public 20 |
//! | `project.avatar_url` | `null` |
//! | `project.ci_config_path` | `CI_CONFIG_PATH` unless it is the default `.gitlab-ci.yml` (then `null`, as GitLab stores it) |
//! | `repository` | the deprecated subset of `project` GitLab still sends |
//! | `commits` | the newest 20 commits of the range, oldest first |
//! | `total_commits_count` | how many commits the range really holds |
//! | `push_options` | `{}` |
//!
//! Each commit carries `id`, `message` (as stored, trailing newline
//! included), `title` (GitLab's: the first line, cut to 78 characters and
//! `...` at a word boundary when it is 100 characters or longer), `timestamp`
//! (committer time in the committer's offset, `2026-11-22T10:00:00+01:00`),
//! `url` (`<CI_PROJECT_URL>/-/commit/<sha>`), `author {name, email}` and its
//! own `added`/`modified`/`removed`: its changes against its first parent
//! (for a merge, against the branch it was merged into), renames detected as
//! for the range, filtered to the target's files.
//!
//! Where docsync departs from GitLab, on purpose:
//! - A rename lists the old path in `removed` as well as the new one in
//!   `added` (GitLab lists only the new path), so a receiver that mirrors the
//!   files drops the old one.
//! - A full sync (manual pipeline, new branch) sends `before` all zeros and
//!   one synthetic commit entry, the head commit, whose `added` lists every
//!   relevant file of the tree; `total_commits_count` is then 1. A range
//!   whose base is missing from a shallow clone (its changes read from
//!   GitLab's compare API) is sent the same way, with its real `before` and
//!   the range's changes in the one entry.
//!
//! # Headers
//!
//! `Content-Type: application/json`, `X-Gitlab-Event: Push Hook`,
//! `X-Gitlab-Instance: <CI_SERVER_URL>`, `X-Gitlab-Webhook-UUID`,
//! `X-Gitlab-Event-UUID`, `Idempotency-Key` and `X-Gitlab-Token: <secret>`.
//! The three identifiers are name-based (UUID v5), so that `docsync plan`
//! shows exactly what `sync` sends and a retried job sends the same ones:
//! the webhook UUID names project + target, the event UUID project + range +
//! pipeline (`CI_PIPELINE_ID`; shared by every target, as GitLab shares it
//! between a push's hooks), the idempotency key event + webhook. The
//! pipeline is in the event because a receiver that deduplicates would
//! otherwise drop every manual re-sync of the same head; a retried job
//! keeps `CI_PIPELINE_ID` (only `CI_JOB_ID` changes), so its resend is
//! still dropped as the duplicate it is.

use std::collections::BTreeMap;

use reqwest::Method;
use reqwest::header::HeaderName;
use serde::Serialize;
use time::OffsetDateTime;
use url::Url;
use uuid::Uuid;

use crate::error::Exit;
use crate::git::diff::{Change, ChangeKind, ChangeStatus};
use crate::git::remote::{CloneUrl, Project};
use crate::git::repo::{CommitChanges, CommitInfo};
use crate::http::{HttpClient, HttpError, Request};
use crate::secret::{MASK, Secret};
use crate::settings::PathFilter;
use crate::settings::pipeline::Pipeline;

/// GitLab lists at most this many commits in a push event (the newest).
pub(crate) const COMMITS_LISTED: usize = 20;
/// `before` when there is no previous commit.
pub(crate) const ZERO_SHA: &str = "0000000000000000000000000000000000000000";
/// The header carrying the webhook's secret.
pub(crate) const TOKEN_HEADER: &str = "X-Gitlab-Token";
/// The value of `X-Gitlab-Event`.
pub(crate) const EVENT_NAME: &str = "Push Hook";
/// What GitLab calls a commit with an empty message.
const NO_COMMIT_MESSAGE: &str = "No commit message";
/// GitLab's default `CI_CONFIG_PATH`, stored as `null` in the project.
const DEFAULT_CI_CONFIG_PATH: &str = ".gitlab-ci.yml";

/// GitLab's `Push Hook` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PushEvent {
    pub object_kind: &'static str,
    pub event_name: &'static str,
    pub before: String,
    pub after: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub ref_protected: bool,
    pub checkout_sha: String,
    /// A tag's message; `null` for a branch.
    pub message: Option<String>,
    pub user_id: Option<u64>,
    pub user_name: Option<String>,
    pub user_username: Option<String>,
    pub user_email: Option<String>,
    pub user_avatar: Option<String>,
    pub project_id: Option<u64>,
    pub project: ProjectAttributes,
    pub commits: Vec<CommitAttributes>,
    pub total_commits_count: usize,
    pub push_options: BTreeMap<String, String>,
    /// Deprecated by GitLab, still sent.
    pub repository: RepositoryAttributes,
}

/// GitLab's `Project#hook_attrs`, with the backward-compatible keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ProjectAttributes {
    pub id: Option<u64>,
    pub name: String,
    pub description: String,
    pub web_url: String,
    pub avatar_url: Option<String>,
    pub git_ssh_url: String,
    pub git_http_url: String,
    pub namespace: String,
    pub visibility_level: Option<u8>,
    pub path_with_namespace: String,
    pub default_branch: Option<String>,
    pub ci_config_path: Option<String>,
    pub homepage: String,
    pub url: String,
    pub ssh_url: String,
    pub http_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RepositoryAttributes {
    pub name: String,
    pub url: String,
    pub description: String,
    pub homepage: String,
    pub git_http_url: String,
    pub git_ssh_url: String,
    pub visibility_level: Option<u8>,
}

/// GitLab's `Commit#hook_attrs(with_changed_files: true)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CommitAttributes {
    pub id: String,
    pub message: String,
    pub title: String,
    pub timestamp: String,
    pub url: String,
    pub author: CommitAuthor,
    pub added: Vec<String>,
    pub modified: Vec<String>,
    pub removed: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CommitAuthor {
    pub name: String,
    pub email: String,
}

/// The commits an event describes, gathered from git by the caller.
#[derive(Debug, Clone)]
pub(crate) enum PushHistory {
    /// A range: its newest [`COMMITS_LISTED`] commits, oldest first, each
    /// with its own changes, and how many commits the range holds.
    Range { commits: Vec<CommitChanges>, total: usize },
    /// No commit-by-commit history: a full sync (no base: every file of the
    /// tree counts as added), or a base missing from a shallow clone whose
    /// changes came from GitLab's compare API. The head commit stands for
    /// the range, and its one entry lists the target's changes of the range.
    Squashed { head: CommitInfo },
}

impl PushHistory {
    pub(crate) fn is_squashed(&self) -> bool {
        matches!(self, PushHistory::Squashed { .. })
    }
}

/// What one target's event is built from.
pub(crate) struct EventInput<'a> {
    pub pipeline: &'a Pipeline,
    /// The project's web address (`CI_PROJECT_URL`, or the origin remote).
    pub project: &'a Project,
    /// The pushed branch.
    pub branch: &'a str,
    /// The range's base; `None` for a full sync.
    pub before: Option<&'a str>,
    pub after: &'a str,
    pub history: &'a PushHistory,
    /// The range's changes that concern the target: the full sync lists them.
    pub files: &'a [Change],
    pub filter: &'a PathFilter,
}

/// The event GitLab would send for this push, listing only the target's files.
pub(crate) fn push_event(input: &EventInput<'_>) -> PushEvent {
    let ci = input.pipeline.ci.as_ref();
    let project = project_attributes(input.pipeline, input.project);
    let commit_url = |sha: &str| input.project.at(["-", "commit", sha]).to_string();
    let (commits, total_commits_count) = match input.history {
        PushHistory::Range { commits, total } => {
            let listed = &commits[commits.len().saturating_sub(COMMITS_LISTED)..];
            let attributes = listed
                .iter()
                .map(|c| commit_attributes(&c.commit, commit_url(&c.commit.id), &c.changes, input.filter))
                .collect();
            (attributes, (*total).max(listed.len()))
        }
        PushHistory::Squashed { head } => {
            (vec![commit_attributes(head, commit_url(&head.id), input.files, input.filter)], 1)
        }
    };
    let repository = RepositoryAttributes {
        name: project.name.clone(),
        url: project.url.clone(),
        description: project.description.clone(),
        homepage: project.homepage.clone(),
        git_http_url: project.git_http_url.clone(),
        git_ssh_url: project.git_ssh_url.clone(),
        visibility_level: project.visibility_level,
    };
    PushEvent {
        object_kind: "push",
        event_name: "push",
        before: input.before.unwrap_or(ZERO_SHA).to_owned(),
        after: input.after.to_owned(),
        git_ref: format!("refs/heads/{}", input.branch),
        ref_protected: ci.is_some_and(|ci| ci.ref_protected),
        checkout_sha: input.after.to_owned(),
        message: None,
        user_id: ci.and_then(|ci| ci.user_id),
        user_name: ci.and_then(|ci| ci.user_name.clone()),
        user_username: ci.and_then(|ci| ci.user_login.clone()),
        user_email: ci.and_then(|ci| ci.user_email.clone()),
        user_avatar: None,
        project_id: project.id,
        project,
        commits,
        total_commits_count,
        push_options: BTreeMap::new(),
        repository,
    }
}

fn project_attributes(pipeline: &Pipeline, project: &Project) -> ProjectAttributes {
    let ci = pipeline.ci.as_ref();
    let web_url = project.web_url.as_str().trim_end_matches('/').to_owned();
    let path = ci
        .and_then(|ci| ci.project_path.clone())
        .unwrap_or_else(|| project.web_url.path().trim_matches('/').to_owned());
    let last_segment = |text: &str| text.rsplit('/').next().unwrap_or(text).to_owned();
    let name = ci
        .and_then(|ci| ci.project_title.clone().or_else(|| ci.project_name.clone()))
        .unwrap_or_else(|| last_segment(&path));
    let namespace = match ci.and_then(|ci| ci.project_namespace.as_deref()) {
        Some(namespace) => last_segment(namespace),
        None => path.rsplit_once('/').map(|(namespace, _)| last_segment(namespace)).unwrap_or_default(),
    };
    let ssh_host = ci
        .and_then(|ci| ci.ssh_host.clone())
        .or_else(|| project.web_url.host_str().map(str::to_owned))
        .unwrap_or_default();
    let ssh_url = match ci.and_then(|ci| ci.ssh_port) {
        None | Some(22) => format!("git@{ssh_host}:{path}.git"),
        Some(port) => format!("ssh://git@{ssh_host}:{port}/{path}.git"),
    };
    let http_url = CloneUrl::new(project, None).shown();
    let visibility_level =
        ci.and_then(|ci| ci.project_visibility.as_deref()).and_then(|v| match v.to_ascii_lowercase().as_str() {
            "private" => Some(0),
            "internal" => Some(10),
            "public" => Some(20),
            _ => None,
        });
    ProjectAttributes {
        id: ci.and_then(|ci| ci.project_id),
        name,
        description: ci.and_then(|ci| ci.project_description.clone()).unwrap_or_default(),
        web_url: web_url.clone(),
        avatar_url: None,
        git_ssh_url: ssh_url.clone(),
        git_http_url: http_url.clone(),
        namespace,
        visibility_level,
        path_with_namespace: path,
        default_branch: ci.and_then(|ci| ci.default_branch.clone()),
        ci_config_path: ci.and_then(|ci| ci.config_path.clone()).filter(|p| p != DEFAULT_CI_CONFIG_PATH),
        homepage: web_url,
        url: ssh_url.clone(),
        ssh_url,
        http_url,
    }
}

fn commit_attributes(commit: &CommitInfo, url: String, changes: &[Change], filter: &PathFilter) -> CommitAttributes {
    let (mut added, mut modified, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    for change in changes {
        // A submodule's pointer is no docs file, whatever its path.
        let relevant = |path: &str| change.kind == ChangeKind::File && filter.matches(path);
        match change.status {
            ChangeStatus::Added if relevant(&change.path) => added.push(change.path.clone()),
            ChangeStatus::Modified if relevant(&change.path) => modified.push(change.path.clone()),
            ChangeStatus::Deleted if relevant(&change.path) => removed.push(change.path.clone()),
            ChangeStatus::Renamed => {
                // Each side on its own: a file renamed out of the target's
                // files is gone for the receiver; one renamed into them is new.
                if let Some(old) = change.old_path.as_deref().filter(|old| relevant(old)) {
                    removed.push(old.to_owned());
                }
                if relevant(&change.path) {
                    added.push(change.path.clone());
                }
            }
            _ => {}
        }
    }
    CommitAttributes {
        id: commit.id.clone(),
        message: commit.message.clone(),
        title: commit_title(&commit.message),
        timestamp: xmlschema(commit.time),
        url,
        author: CommitAuthor { name: commit.author_name.clone(), email: commit.author_email.clone() },
        added,
        modified,
        removed,
    }
}

/// GitLab's `Commit#title`: the first line; from 100 characters on, cut to
/// 81 with `...`, at the last space that leaves room for it (Rails'
/// `truncate(81, separator: ' ', omission: '...')`).
pub(crate) fn commit_title(message: &str) -> String {
    let full = if message.trim().is_empty() {
        NO_COMMIT_MESSAGE
    } else {
        message.split(['\r', '\n']).next().unwrap_or_default()
    };
    let chars: Vec<char> = full.chars().collect();
    if chars.len() < 100 {
        return full.to_owned();
    }
    const ROOM: usize = 81 - 3;
    let stop = chars[..=ROOM].iter().rposition(|c| *c == ' ').unwrap_or(ROOM);
    let mut title: String = chars[..stop].iter().collect();
    title.push_str("...");
    title
}

/// Ruby's `Time#xmlschema` for a time with an offset: RFC 3339, whole
/// seconds, the offset always numeric (`+00:00`, never `Z`).
pub(crate) fn xmlschema(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    at.format(&format).unwrap_or_default()
}

/// The identifiers of one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeliveryIds {
    /// `X-Gitlab-Webhook-UUID`: the webhook, i.e. project + target.
    pub webhook: Uuid,
    /// `X-Gitlab-Event-UUID`: the push, i.e. project + range + pipeline.
    pub event: Uuid,
    /// `Idempotency-Key`: this push to this target.
    pub idempotency_key: Uuid,
}

/// Name-based, so a retried job (same project, range, pipeline and target)
/// sends the same identifiers, and `docsync plan` shows the ones `sync`
/// sends. `pipeline_id` is `CI_PIPELINE_ID`; without it (a local run) the
/// range alone names the push.
pub(crate) fn delivery_ids(
    event: &PushEvent,
    pipeline_id: Option<u64>,
    target_name: &str,
    webhook_url: &Url,
) -> DeliveryIds {
    let namespace = Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://gitlab.com/docsync/docsync#push-event");
    let project = match event.project_id {
        Some(id) => format!("id:{id}"),
        None => format!("path:{}", event.project.path_with_namespace),
    };
    let webhook = Uuid::new_v5(&namespace, format!("webhook\0{project}\0{target_name}\0{webhook_url}").as_bytes());
    let range = format!("{}\0{}\0{}", event.git_ref, event.before, event.after);
    let push = match pipeline_id {
        Some(id) => format!("{range}\0pipeline:{id}"),
        None => range,
    };
    let event_id = Uuid::new_v5(&namespace, format!("event\0{project}\0{push}").as_bytes());
    let idempotency_key = Uuid::new_v5(&namespace, format!("delivery\0{webhook}\0{event_id}").as_bytes());
    DeliveryIds { webhook, event: event_id, idempotency_key }
}

/// The headers GitLab sends with a push event, in the order it sends them.
/// The secret is shown masked; [`deliver`] puts the real one in.
pub(crate) fn headers(ids: &DeliveryIds, instance: &str) -> Vec<(String, String)> {
    [
        ("Content-Type", "application/json".to_owned()),
        ("X-Gitlab-Event", EVENT_NAME.to_owned()),
        ("X-Gitlab-Webhook-UUID", ids.webhook.to_string()),
        ("X-Gitlab-Instance", instance.to_owned()),
        ("X-Gitlab-Event-UUID", ids.event.to_string()),
        ("Idempotency-Key", ids.idempotency_key.to_string()),
        (TOKEN_HEADER, MASK.to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// `X-Gitlab-Instance`: `CI_SERVER_URL`, else the project's own origin.
pub(crate) fn instance(pipeline: &Pipeline, project: &Project) -> String {
    pipeline.server_url.clone().unwrap_or_else(|| project.web_url.origin().ascii_serialization())
}

/// Why a push event was not delivered, in the terms the user must act on.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DeliveryError {
    /// A 3xx: never followed, never a delivery; the secret would go with it.
    #[error("the receiver redirected the push event: {0}")]
    Redirected(HttpError),
    /// 401 or 403: the receiver does not accept the secret.
    #[error("the receiver refused the webhook secret: {0}")]
    SecretRefused(HttpError),
    /// Any other 4xx.
    #[error("the receiver rejected the push event: {0}")]
    Rejected(HttpError),
    /// A 5xx the shared policy does not retry (500, 501…): the receiver is
    /// broken, not the event.
    #[error("the receiver failed: {0}")]
    ServerError(HttpError),
    /// Connection errors, timeouts, 408/429/502/503/504 after every retry.
    #[error("{0}")]
    Unreachable(HttpError),
    /// docsync could not write the event as JSON: nothing was sent, rather
    /// than an empty body.
    #[error("docsync could not write the push event, so nothing was sent: {0}")]
    Body(serde_json::Error),
}

impl DeliveryError {
    /// What to do next. `secret_source` is the variable the secret came from.
    pub(crate) fn fix(&self, secret_source: &str) -> String {
        match self {
            DeliveryError::Redirected(_) => "set DOCSYNC_DOT_WEBHOOK_URL (or the target's dot_webhook_url) to the final URL the receiver redirects to: docsync sends the secret to no other address, and a redirect is no delivery".to_owned(),
            DeliveryError::Unreachable(HttpError::UnsendableHeader { header, .. })
                if header.eq_ignore_ascii_case("X-Gitlab-Instance") =>
            {
                "set CI_SERVER_URL to the instance's URL alone (it is sent as X-Gitlab-Instance): no line break, space or non-ASCII character".to_owned()
            }
            DeliveryError::Unreachable(HttpError::UnsendableHeader { header, .. }) => {
                format!("set the variable that {header} comes from to a value without line breaks or non-ASCII characters")
            }
            DeliveryError::Unreachable(error) if error.is_configuration() => {
                "put the CA that signed the receiver's certificate in CI_SERVER_TLS_CA_FILE or SSL_CERT_FILE (a PEM bundle)".to_owned()
            }
            DeliveryError::SecretRefused(_) => format!(
                "set {secret_source} to the secret token of the receiver's webhook (in Dot: the webhook's secret), as a masked CI/CD variable"
            ),
            DeliveryError::Rejected(error) if error.status().is_some_and(|s| s.as_u16() == 404) => {
                "check the webhook URL (DOCSYNC_DOT_WEBHOOK_URL, or the target's dot_webhook_url): the receiver has no webhook there".to_owned()
            }
            DeliveryError::Rejected(_) => {
                "read the receiver's answer above; `docsync plan --format json` shows the exact event sent".to_owned()
            }
            DeliveryError::Body(_) => {
                "docsync's own failure: report it with `docsync plan --format json`, which shows the event".to_owned()
            }
            DeliveryError::ServerError(_) | DeliveryError::Unreachable(_) => {
                "check the webhook URL, the proxy (HTTPS_PROXY) and the receiver's status, then retry the job (it sends the same Idempotency-Key)".to_owned()
            }
        }
    }

    /// The exit code of a run this failure ends, the one place it is
    /// decided: every variant is named, so a new one must be classified.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            DeliveryError::Unreachable(error) if error.is_configuration() => Exit::BadInput,
            DeliveryError::Unreachable(_) | DeliveryError::ServerError(_) => Exit::Unreachable,
            DeliveryError::Redirected(_) | DeliveryError::SecretRefused(_) | DeliveryError::Rejected(_) => {
                Exit::TargetFailed
            }
            DeliveryError::Body(_) => Exit::LocalFailure,
        }
    }

    /// Whether the receiver could not be reached or failed on its side
    /// (exit 3), rather than refusing the event (exit 1).
    pub(crate) fn is_unreachable(&self) -> bool {
        !self.is_configuration() && matches!(self, DeliveryError::ServerError(_) | DeliveryError::Unreachable(_))
    }

    /// The run's configuration is at fault (exit 2): an untrusted certificate.
    pub(crate) fn is_configuration(&self) -> bool {
        matches!(self, DeliveryError::Unreachable(error) if error.is_configuration())
    }
}

/// A delivered event.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Delivered {
    pub status: u16,
}

/// POSTs the event with the planned headers, the real secret in
/// `X-Gitlab-Token`. Any 2xx is a delivery.
pub(crate) async fn deliver(
    http: &HttpClient,
    url: &Url,
    headers: &[(String, String)],
    body: &impl Serialize,
    secret: &Secret,
) -> Result<Delivered, DeliveryError> {
    // The receiver deduplicates by Idempotency-Key: resending is harmless.
    let mut request = Request::new(Method::POST, url.clone())
        .deduplicated_by_server()
        .shown_as(crate::settings::credentials::shown_webhook_url(url));
    for (name, value) in headers {
        let Ok(header) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        if name.eq_ignore_ascii_case(TOKEN_HEADER) {
            request.headers.push((header, secret.expose().to_owned(), true));
        } else {
            request.headers.push((header, value.clone(), false));
        }
    }
    request.body = Some(serde_json::to_vec(body).map_err(DeliveryError::Body)?);
    match http.send(request).await {
        Ok(response) => Ok(Delivered { status: response.status.as_u16() }),
        Err(error) => Err(match error.status().map(|s| s.as_u16()) {
            Some(300..=399) => DeliveryError::Redirected(error),
            Some(401 | 403) => DeliveryError::SecretRefused(error),
            Some(500..) => DeliveryError::ServerError(error),
            Some(_) => DeliveryError::Rejected(error),
            None => DeliveryError::Unreachable(error),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::pipeline::CiEnv;

    /// An event whose JSON cannot be written.
    struct Unwritable;

    impl Serialize for Unwritable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("a map key that is not a string"))
        }
    }

    #[test]
    fn an_event_that_cannot_be_written_is_an_error_and_nothing_is_sent() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = Url::parse(&format!("http://{}/hooks/dot", listener.local_addr().unwrap())).unwrap();
        let settings = crate::http::HttpSettings {
            timeout: std::time::Duration::from_millis(300),
            retry: crate::http::RetryPolicy { retries: 0, ..Default::default() },
            ..Default::default()
        };
        let http = HttpClient::new(&settings).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let secret = Secret::new("a-webhook-secret-long-enough");
        let sent = runtime.block_on(deliver(&http, &url, &[], &Unwritable, &secret));
        assert!(matches!(sent, Err(DeliveryError::Body(_))), "{sent:?}");
        let connected = listener.accept();
        assert!(
            matches!(&connected, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
            "nothing may reach the receiver: {connected:?}"
        );
    }

    const BEFORE: &str = "1111111111111111111111111111111111111111";
    const HEAD: &str = "2222222222222222222222222222222222222222";

    fn pipeline(extra: &[(&str, &str)]) -> Pipeline {
        let mut vars = vec![
            ("GITLAB_CI", "true"),
            ("CI_PIPELINE_SOURCE", "push"),
            ("CI_COMMIT_SHA", HEAD),
            ("CI_COMMIT_BEFORE_SHA", BEFORE),
            ("CI_COMMIT_BRANCH", "main"),
            ("CI_COMMIT_REF_PROTECTED", "true"),
            ("CI_DEFAULT_BRANCH", "main"),
            ("CI_SERVER_URL", "https://gitlab.example.com"),
            ("CI_SERVER_HOST", "gitlab.example.com"),
            ("CI_PROJECT_ID", "15"),
            ("CI_PROJECT_URL", "https://gitlab.example.com/mike/diaspora"),
            ("CI_PROJECT_PATH", "mike/diaspora"),
            ("CI_PROJECT_NAME", "diaspora"),
            ("CI_PROJECT_TITLE", "Diaspora"),
            ("CI_PROJECT_NAMESPACE", "mike"),
            ("CI_PROJECT_VISIBILITY", "internal"),
            ("CI_CONFIG_PATH", ".gitlab-ci.yml"),
            ("GITLAB_USER_ID", "4"),
            ("GITLAB_USER_NAME", "John Smith"),
            ("GITLAB_USER_LOGIN", "jsmith"),
            ("GITLAB_USER_EMAIL", "john@example.com"),
        ];
        vars.extend_from_slice(extra);
        // Later entries override earlier ones.
        let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let env: CiEnv = envy::from_iter(vars).unwrap();
        Pipeline::from_env(&env).unwrap()
    }

    fn project() -> Project {
        Project::from_url("https://gitlab.example.com/mike/diaspora").unwrap()
    }

    fn commit(id: char, message: &str, minute: i64) -> CommitInfo {
        let offset = time::UtcOffset::from_hms(2, 0, 0).unwrap();
        CommitInfo {
            id: id.to_string().repeat(40),
            message: message.to_owned(),
            author_name: "Jordi Mallach".into(),
            author_email: "jordi@softcatala.org".into(),
            time: OffsetDateTime::from_unix_timestamp(1_323_692_851 + 60 * minute).unwrap().to_offset(offset),
        }
    }

    fn change(status: ChangeStatus, path: &str, old_path: Option<&str>) -> Change {
        Change { status, path: path.into(), old_path: old_path.map(Into::into), kind: ChangeKind::File }
    }

    fn markdown_and_yaml() -> PathFilter {
        PathFilter::new(
            String::new(),
            crate::settings::target::DOT_DEFAULT_PATHS.iter().map(|s| s.to_string()).collect(),
        )
        .unwrap()
    }

    fn event(pipeline: &Pipeline, history: &PushHistory, files: &[Change], filter: &PathFilter) -> PushEvent {
        push_event(&EventInput {
            pipeline,
            project: &project(),
            branch: "main",
            before: (!history.is_squashed()).then_some(BEFORE),
            after: HEAD,
            history,
            files,
            filter,
        })
    }

    #[test]
    fn project_user_and_ref_come_from_the_pipeline() {
        let history = PushHistory::Range { commits: Vec::new(), total: 0 };
        let event = event(&pipeline(&[]), &history, &[], &markdown_and_yaml());
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["object_kind"], "push");
        assert_eq!(json["event_name"], "push");
        assert_eq!(json["before"], BEFORE);
        assert_eq!(json["after"], HEAD);
        assert_eq!(json["checkout_sha"], HEAD);
        assert_eq!(json["ref"], "refs/heads/main");
        assert_eq!(json["ref_protected"], true);
        assert_eq!(json["user_id"], 4);
        assert_eq!(json["user_username"], "jsmith");
        assert_eq!(json["user_email"], "john@example.com");
        assert_eq!(json["project_id"], 15);
        let project = &json["project"];
        assert_eq!(project["name"], "Diaspora");
        assert_eq!(project["namespace"], "mike");
        assert_eq!(project["path_with_namespace"], "mike/diaspora");
        assert_eq!(project["web_url"], "https://gitlab.example.com/mike/diaspora");
        assert_eq!(project["git_http_url"], "https://gitlab.example.com/mike/diaspora.git");
        assert_eq!(project["git_ssh_url"], "git@gitlab.example.com:mike/diaspora.git");
        assert_eq!(project["url"], project["ssh_url"]);
        assert_eq!(project["homepage"], project["web_url"]);
        assert_eq!(project["visibility_level"], 10);
        assert_eq!(project["default_branch"], "main");
        assert_eq!(project["ci_config_path"], serde_json::Value::Null);
        assert_eq!(json["repository"]["git_ssh_url"], project["git_ssh_url"]);
        assert_eq!(json["push_options"], serde_json::json!({}));
    }

    #[test]
    fn ssh_url_on_another_port_and_custom_ci_config_path() {
        let history = PushHistory::Range { commits: Vec::new(), total: 0 };
        let pipeline = pipeline(&[
            ("CI_SERVER_SHELL_SSH_HOST", "ssh.example.com"),
            ("CI_SERVER_SHELL_SSH_PORT", "2222"),
            ("CI_CONFIG_PATH", "ci/main.yml"),
            ("CI_PROJECT_NAMESPACE", "group/sub"),
            ("CI_PROJECT_PATH", "group/sub/diaspora"),
        ]);
        let event = event(&pipeline, &history, &[], &markdown_and_yaml());
        assert_eq!(event.project.git_ssh_url, "ssh://git@ssh.example.com:2222/group/sub/diaspora.git");
        assert_eq!(event.project.namespace, "sub");
        assert_eq!(event.project.ci_config_path.as_deref(), Some("ci/main.yml"));
    }

    #[test]
    fn each_commit_lists_its_own_relevant_files_renames_on_both_sides() {
        let first = CommitChanges {
            commit: commit('a', "Add docs\n\nWith a body.\n", 0),
            changes: vec![
                change(ChangeStatus::Added, "docs/new.md", None),
                change(ChangeStatus::Added, "src/lib.rs", None),
                change(ChangeStatus::Modified, "api.yaml", None),
            ],
        };
        let second = CommitChanges {
            commit: commit('b', "Move and drop", 1),
            changes: vec![
                change(ChangeStatus::Renamed, "guide/intro.md", Some("docs/intro.md")),
                change(ChangeStatus::Renamed, "notes.txt", Some("docs/notes.md")),
                change(ChangeStatus::Renamed, "docs/readme.md", Some("readme.txt")),
                change(ChangeStatus::Deleted, "old.yml", None),
                change(ChangeStatus::Deleted, "old.png", None),
            ],
        };
        let history = PushHistory::Range { commits: vec![first, second], total: 2 };
        let event = event(&pipeline(&[]), &history, &[], &markdown_and_yaml());

        assert_eq!(event.total_commits_count, 2);
        let [a, b] = &event.commits[..] else { panic!("{:?}", event.commits) };
        assert_eq!(a.id, "a".repeat(40));
        assert_eq!(a.added, ["docs/new.md"]);
        assert_eq!(a.modified, ["api.yaml"]);
        assert!(a.removed.is_empty());
        assert_eq!(a.message, "Add docs\n\nWith a body.\n");
        assert_eq!(a.title, "Add docs");
        assert_eq!(a.timestamp, "2011-12-12T14:27:31+02:00");
        assert_eq!(a.url, format!("https://gitlab.example.com/mike/diaspora/-/commit/{}", "a".repeat(40)));
        assert_eq!(a.author, CommitAuthor { name: "Jordi Mallach".into(), email: "jordi@softcatala.org".into() });
        assert_eq!(b.added, ["guide/intro.md", "docs/readme.md"]);
        assert_eq!(b.removed, ["docs/intro.md", "docs/notes.md", "old.yml"]);
        assert!(b.modified.is_empty());
    }

    #[test]
    fn only_the_newest_twenty_are_listed_and_the_total_is_real() {
        let commits: Vec<CommitChanges> = (0..25)
            .map(|i| CommitChanges {
                commit: CommitInfo { id: format!("{i:040}"), ..commit('c', "Step", i) },
                changes: Vec::new(),
            })
            .collect();
        let history = PushHistory::Range { commits, total: 31 };
        let event = event(&pipeline(&[]), &history, &[], &markdown_and_yaml());
        assert_eq!(event.commits.len(), COMMITS_LISTED);
        assert_eq!(event.commits[0].id, format!("{:040}", 5), "the oldest listed is the 20th newest");
        assert_eq!(event.commits[19].id, format!("{:040}", 24), "the newest is last");
        assert_eq!(event.total_commits_count, 31);
    }

    #[test]
    fn a_full_sync_is_one_synthetic_commit_adding_every_relevant_file() {
        let files = [change(ChangeStatus::Added, "README.md", None), change(ChangeStatus::Added, "docs/a.yml", None)];
        let history = PushHistory::Squashed { head: commit('d', "Head", 0) };
        let event = event(&pipeline(&[]), &history, &files, &markdown_and_yaml());
        assert_eq!(event.before, ZERO_SHA);
        assert_eq!(event.total_commits_count, 1);
        let [only] = &event.commits[..] else { panic!("{:?}", event.commits) };
        assert_eq!(only.id, "d".repeat(40));
        assert_eq!(only.added, ["README.md", "docs/a.yml"]);
        assert!(only.modified.is_empty() && only.removed.is_empty());
    }

    #[test]
    fn outside_ci_the_project_comes_from_its_url() {
        let history = PushHistory::Range { commits: Vec::new(), total: 0 };
        let pipeline = Pipeline::default();
        let event = event(&pipeline, &history, &[], &markdown_and_yaml());
        assert_eq!(event.project.path_with_namespace, "mike/diaspora");
        assert_eq!(event.project.name, "diaspora");
        assert_eq!(event.project.namespace, "mike");
        assert_eq!(event.user_id, None);
        assert_eq!(instance(&pipeline, &project()), "https://gitlab.example.com");
    }

    #[test]
    fn titles_are_cut_like_gitlab_cuts_them() {
        assert_eq!(commit_title("Fix the guide\n\nbody"), "Fix the guide");
        assert_eq!(commit_title("Windows line\r\nbody"), "Windows line");
        assert_eq!(commit_title("  \n"), "No commit message");
        let short = "x".repeat(99);
        assert_eq!(commit_title(&short), short);
        let words = "word ".repeat(30);
        let title = commit_title(&words);
        // The last space at or before character 78 is at 74: 74 characters kept.
        assert_eq!(title, format!("{}...", &words[..74]));
        let unbroken = "é".repeat(120);
        assert_eq!(commit_title(&unbroken), format!("{}...", "é".repeat(78)));
    }

    #[test]
    fn timestamps_keep_the_committer_offset() {
        let utc = OffsetDateTime::from_unix_timestamp(1_795_338_000).unwrap();
        assert_eq!(xmlschema(utc), "2026-11-22T09:00:00+00:00");
        let west = utc.to_offset(time::UtcOffset::from_hms(-5, -30, 0).unwrap());
        assert_eq!(xmlschema(west), "2026-11-22T03:30:00-05:30");
    }

    #[test]
    fn delivery_ids_follow_project_range_pipeline_and_target() {
        let history = PushHistory::Range { commits: Vec::new(), total: 0 };
        let event = event(&pipeline(&[]), &history, &[], &markdown_and_yaml());
        let url = Url::parse("https://dot.example.com/hook").unwrap();
        let ids = delivery_ids(&event, Some(7001), "dot", &url);
        assert_eq!(ids, delivery_ids(&event.clone(), Some(7001), "dot", &url), "a retried job sends the same ids");
        let other_pipeline = delivery_ids(&event, Some(7002), "dot", &url);
        assert_ne!(ids.idempotency_key, other_pipeline.idempotency_key, "a new pipeline is a new delivery");
        assert_ne!(ids.event, other_pipeline.event);
        assert_eq!(ids.webhook, other_pipeline.webhook);
        let other_target = delivery_ids(&event, Some(7001), "api-context", &url);
        assert_ne!(ids.idempotency_key, other_target.idempotency_key);
        assert_ne!(ids.webhook, other_target.webhook);
        assert_eq!(ids.event, other_target.event, "one push is one event for every hook");
        let other_range = delivery_ids(&PushEvent { after: BEFORE.into(), ..event.clone() }, Some(7001), "dot", &url);
        assert_ne!(ids.idempotency_key, other_range.idempotency_key);
        assert_ne!(ids.event, other_range.event);
        assert_eq!(ids.webhook, other_range.webhook);

        let headers = headers(&ids, "https://gitlab.example.com");
        let get = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("X-Gitlab-Event"), Some("Push Hook"));
        assert_eq!(get("X-Gitlab-Token"), Some(MASK));
        assert_eq!(get("Idempotency-Key"), Some(ids.idempotency_key.to_string().as_str()));
        assert_eq!(get("Content-Type"), Some("application/json"));
    }
}
