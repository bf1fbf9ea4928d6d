//! `docsync status`: each GitBook space's Git Sync state, last operation
//! and live revision (whether it came from Git, and from this branch), and
//! its open change requests.

use anyhow::Result;
use serde::Serialize;
use std::fmt::Write;

use crate::error::{BadInput, Exit};
use crate::http::HttpClient;
use crate::settings::flags::Format;
use crate::settings::{Settings, TargetKind};
use crate::targets::gitbook::answers::{GitSyncState, state_name};
use crate::targets::gitbook::change_requests::{ChangeRequestList, MAX_CHANGE_REQUESTS};
use crate::targets::gitbook::client::GitBookClient;

#[derive(Debug, Serialize)]
struct SpaceStatus {
    name: String,
    space: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<GitSyncState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_revision: Option<LiveRevision>,
    /// The space's open change requests, the most recently updated first.
    #[serde(skip_serializing_if = "Option::is_none")]
    open_change_requests: Option<OpenChangeRequestList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<String>,
}

/// The space's live revision, as the guard before an import reads it.
#[derive(Debug, Serialize)]
struct LiveRevision {
    id: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    /// The commit it came from; `None`: made in GitBook.
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<String>,
    /// Whether that commit is in the checkout's history (`None`: unknown,
    /// or no commit).
    #[serde(skip_serializing_if = "Option::is_none")]
    commit_in_branch: Option<bool>,
    url: String,
}

/// The open change requests, at most [`MAX_CHANGE_REQUESTS`].
#[derive(Debug, Serialize)]
struct OpenChangeRequestList {
    items: Vec<OpenChangeRequest>,
    /// More are open than are listed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    more: bool,
}

#[derive(Debug, Serialize)]
struct OpenChangeRequest {
    number: u64,
    subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

impl From<ChangeRequestList> for OpenChangeRequestList {
    fn from(list: ChangeRequestList) -> OpenChangeRequestList {
        let more = list.more();
        let items = list
            .items
            .into_iter()
            .take(MAX_CHANGE_REQUESTS)
            .map(|cr| OpenChangeRequest {
                number: cr.number as u64,
                subject: cr.subject.unwrap_or_default(),
                author: cr.created_by.map(|a| a.display_name).filter(|a| !a.is_empty()),
                updated_at: cr.updated_at,
                url: cr.urls.map(|urls| urls.app),
            })
            .collect();
        OpenChangeRequestList { items, more }
    }
}

/// Reads every GitBook target's state; returns the rendered result and the
/// exit code (1 when a space could not be read, 3 when unreachable).
pub async fn collect(
    settings: &Settings,
    http: &HttpClient,
    format: Format,
    in_branch: &dyn Fn(&str) -> Option<bool>,
) -> Result<(String, Exit)> {
    let mut spaces = Vec::new();
    let mut exit = Exit::Ok;
    for target in &settings.targets {
        let TargetKind::GitBook(gitbook) = &target.kind else { continue };
        let Some(token) = &gitbook.token else {
            return Err(BadInput::new(
                gitbook.token_source.clone(),
                "status needs a GitBook API token",
                format!("set {} to a GitBook API token that can read space {}", gitbook.token_source, gitbook.space),
            )
            .into());
        };
        let client = GitBookClient { http, target: gitbook, token };
        let mut status = SpaceStatus {
            name: target.name.clone(),
            space: gitbook.space.clone(),
            state: None,
            live_revision: None,
            open_change_requests: None,
            error: None,
            fix: None,
        };
        let read = match client.info().await {
            Ok(state) => {
                status.state = Some(state);
                match client.live_revision().await {
                    Ok(revision) => client.open_change_requests(MAX_CHANGE_REQUESTS).await.map(|list| (revision, list)),
                    Err(error) => Err(error),
                }
            }
            Err(error) => Err(error),
        };
        match read {
            Ok((revision, list)) => {
                status.open_change_requests = Some(list.into());
                let commit = revision.git.map(|git| git.oid);
                status.live_revision = Some(LiveRevision {
                    commit_in_branch: commit.as_deref().and_then(in_branch),
                    id: revision.id,
                    kind: revision.kind,
                    created_at: revision.created_at,
                    commit,
                    url: revision.urls.app,
                });
            }
            Err(error) => {
                exit = exit.worst(error.exit());
                status.fix = Some(error.fix());
                status.error = Some(error.to_string());
            }
        }
        spaces.push(status);
    }
    if spaces.is_empty() {
        return Err(BadInput::new(
            "DOCSYNC_GITBOOK_SPACE",
            "status shows GitBook spaces, and none is configured",
            "set DOCSYNC_GITBOOK_SPACE (or gitbook targets in docsync.toml)",
        )
        .into());
    }
    let text = match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&serde_json::json!({ "targets": spaces }))?),
        Format::Text => render_text(&spaces),
    };
    Ok((text, exit))
}

fn render_text(spaces: &[SpaceStatus]) -> String {
    let mut out = String::new();
    for space in spaces {
        let _ = writeln!(out, "{} (space {})", space.name, space.space);
        if let Some(error) = &space.error {
            let _ = writeln!(out, "  error: {error}");
            if let Some(fix) = &space.fix {
                let _ = writeln!(out, "  fix: {fix}");
            }
            continue;
        }
        let Some(state) = &space.state else { continue };
        let field = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
        let _ = writeln!(out, "  installation  {}", field(&state.installation_status));
        let _ = writeln!(out, "  provider      {}", field(&state.installation_provider));
        let _ = writeln!(out, "  repository    {}", field(&state.repo_name));
        match &state.operation {
            None => {
                let _ = writeln!(out, "  last operation  none");
            }
            Some(op) => {
                let _ = writeln!(
                    out,
                    "  last operation  {} {}{}",
                    field(&op.direction),
                    state_name(op.state),
                    op.stage.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
                );
                let _ = writeln!(out, "    started     {}", field(&op.started_at));
                let _ = writeln!(out, "    ended       {}", field(&op.ended_at));
                if let Some(error) = &op.error {
                    let _ = writeln!(out, "    error       {error}");
                }
                if let Some(action) = &op.error_action {
                    let _ = writeln!(out, "    fix         {}: {}", action.label, action.url);
                }
            }
        }
        if let Some(live) = &space.live_revision {
            let origin = match (&live.commit, live.commit_in_branch) {
                (None, _) => "made in GitBook, from no commit".to_owned(),
                (Some(commit), Some(true)) => format!("from commit {commit}, in this branch's history"),
                (Some(commit), Some(false)) => format!("from commit {commit}, NOT in this branch's history"),
                (Some(commit), None) => format!("from commit {commit}"),
            };
            let _ = writeln!(
                out,
                "  live revision {} ({}, {}): {origin}",
                live.id,
                field(&live.kind),
                field(&live.created_at)
            );
            let _ = writeln!(out, "    url         {}", live.url);
        }
        if let Some(open) = &space.open_change_requests {
            let more = if open.more {
                format!(" (more are open: the {MAX_CHANGE_REQUESTS} most recently updated shown)")
            } else {
                String::new()
            };
            let _ = writeln!(out, "  open change requests  {}{more}", open.items.len());
            for cr in &open.items {
                let by = cr.author.as_ref().map(|a| format!(" by {a:?}")).unwrap_or_default();
                let url = cr.url.as_deref().map(|u| format!(" {}", u.escape_debug())).unwrap_or_default();
                let _ = writeln!(out, "    #{} {:?}{by}{url}", cr.number, cr.subject);
            }
        }
    }
    out
}
