//! Merge requests and docsync's note on one: opened or found, written or
//! updated, looking first whenever GitLab's answer to a write was lost,
//! and written again when another job's write dropped this one's part. The
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
        let payload = serde_json::to_value(&body).map_err(GitLabError::Body)?;
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

    /// Writes docsync's one note on a merge request: posts it, or updates
    /// the one it wrote before, so a retried job leaves one note, current.
    /// `compose` makes the body from the note as GitLab holds it now (other
    /// jobs' parts kept), `None` when there is no note and nothing to post
    /// (then nothing is written, and the answer is `None`); GitLab has no conditional update of a note, so
    /// after writing docsync reads the note again, and when another job's
    /// write in between dropped what `holds` looks for, composes and writes
    /// again, at most [`NOTE_WRITES`] times. A body GitLab holds already is
    /// not sent again. After an answer that leaves it unknown whether
    /// GitLab stored the note, looks again before sending it once more.
    /// The body is [`Redacted`]: a note is read by everyone who can see the
    /// merge request.
    pub async fn write_note(
        &self,
        project: &str,
        iid: u64,
        marker: &str,
        compose: impl Fn(Option<&str>) -> Option<Redacted>,
        holds: impl Fn(&str) -> bool,
    ) -> Result<Option<WrittenNote>, GitLabError> {
        let iid = iid.to_string();
        let me = self.user().await?;
        let write = |existing: Option<&Note>, body: &Redacted| {
            let payload = serde_json::json!({ "body": body });
            match existing {
                Some(note) => Request::new(
                    Method::PUT,
                    self.url(&["projects", project, "merge_requests", &iid, "notes", &note.id.to_string()], &[]),
                )
                .json(&payload),
                None => {
                    Request::new(Method::POST, self.url(&["projects", project, "merge_requests", &iid, "notes"], &[]))
                        .json(&payload)
                }
            }
        };
        let mut existing = self.own_note(project, &iid, me.id, marker).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(body) = compose(existing.as_ref().map(|note| note.body.as_str())) else { return Ok(None) };
            let written = match &existing {
                Some(note) if note.body == body.as_str() => note.clone(),
                _ => match self.call::<Note>(write(existing.as_ref(), &body)).await {
                    Err(error) if error.is_ambiguous() => {
                        tracing::info!("GitLab's answer to the note was lost: looking for it before sending it again");
                        match self.own_note(project, &iid, me.id, marker).await? {
                            Some(note) if note.body == body.as_str() => note,
                            found => self.call(write(found.as_ref(), &body)).await?,
                        }
                    }
                    result => result?,
                },
            };
            match self.own_note(project, &iid, me.id, marker).await? {
                // Not listed yet (a lagging replica): nothing says another
                // job's write dropped this one, and a second post would be
                // a second note.
                None => return Ok(Some(WrittenNote { note: written, rewrites: attempt - 1, held: true })),
                Some(now) if holds(&now.body) || attempt == NOTE_WRITES => {
                    return Ok(Some(WrittenNote { held: holds(&now.body), note: now, rewrites: attempt - 1 }));
                }
                Some(now) => {
                    tracing::info!(
                        "another job wrote docsync's note {} on !{iid} at the same time: writing this job's part again",
                        now.id
                    );
                    existing = Some(now);
                }
            }
        }
    }
}

/// How many times a job writes its part of the note while other jobs'
/// writes keep dropping it.
pub(crate) const NOTE_WRITES: u32 = 3;

/// docsync's note, written.
#[derive(Debug)]
pub struct WrittenNote {
    pub note: Note,
    /// How many times another job's write made this one write again.
    pub rewrites: u32,
    /// Whether the note holds this job's part: `false` when other jobs'
    /// writes dropped it [`NOTE_WRITES`] times.
    pub held: bool,
}

/// The fix for a note GitLab did not take, fitting its answer.
pub(crate) fn note_fix(error: &GitLabError, iid: u64, project: &str) -> String {
    match error {
        GitLabError::Unauthorized(_) => {
            "DOCSYNC_GITLAB_TOKEN is revoked, expired or mistyped: store a valid project access token in it".into()
        }
        GitLabError::InsufficientScope { .. } => "give DOCSYNC_GITLAB_TOKEN the api scope (a new token)".into(),
        GitLabError::Forbidden(_) => format!(
            "DOCSYNC_GITLAB_TOKEN's user may not comment on !{iid}: give it the Reporter role or more (and check the merge request is not locked)"
        ),
        GitLabError::NotFound(_) => format!(
            "no merge request !{iid} in project {project} that DOCSYNC_GITLAB_TOKEN can see: check that the token belongs to this project"
        ),
        GitLabError::Decode { .. } => {
            "something other than GitLab's API answered: check CI_API_V4_URL (or DOCSYNC_GITLAB_URL)".into()
        }
        GitLabError::Redirected(_) | GitLabError::Body(_) => error.fix().unwrap_or_default(),
        error if error.is_server_side() => "that is GitLab's own error: retry the job later".into(),
        GitLabError::Rejected(_) | GitLabError::Unreachable(_) => {
            "check GitLab's answer above, then retry the job".into()
        }
    }
}
