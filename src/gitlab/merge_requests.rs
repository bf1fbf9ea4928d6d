//! Merge requests and docsync's note on one: opened or found, written or
//! updated, looking first whenever GitLab's answer to a write was lost. The
//! note's text is the output stage's.

use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::gitlab::client::{GitLabClient, GitLabError};
use crate::http::Request;
use crate::secret::Redacted;

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

#[derive(Serialize)]
struct NewMergeRequest<'a> {
    source_branch: &'a str,
    target_branch: &'a str,
    title: &'a Redacted,
    description: &'a Redacted,
    remove_source_branch: bool,
}

impl GitLabClient<'_> {
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
    /// the request once more. `true` when this call opened it. Title and
    /// description are shown to everyone who can see the project: they are
    /// [`Redacted`].
    pub async fn open_merge_request(
        &self,
        project: &str,
        source: &str,
        target: &str,
        title: &Redacted,
        description: &Redacted,
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

    /// The open merge request from `source` into `target`, else a new one
    /// ([`GitLabClient::open_merge_request`]): a job retried after the
    /// merge request was opened sends no second create. `true` when this
    /// call opened it.
    pub async fn find_or_open_merge_request(
        &self,
        project: &str,
        source: &str,
        target: &str,
        title: &Redacted,
        description: &Redacted,
    ) -> Result<(MergeRequest, bool), GitLabError> {
        match self.open_merge_request_from(project, source, target).await? {
            Some(open) => Ok((open, false)),
            None => self.open_merge_request(project, source, target, title, description).await,
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
    /// it once more. The body is [`Redacted`]: a note is read by everyone
    /// who can see the merge request.
    pub async fn upsert_note(
        &self,
        project: &str,
        iid: u64,
        marker: &str,
        body: &Redacted,
    ) -> Result<Note, GitLabError> {
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
                    Some(note) if note.body == body.as_str() => Ok(note),
                    found => self.call(write(found.as_ref())).await,
                }
            }
            result => result,
        }
    }
}
