//! `docsync status`: each GitBook space's Git Sync state, last operation
//! and live revision (whether it came from Git, and from this branch).

use anyhow::Result;
use serde::Serialize;
use std::fmt::Write;

use crate::error::{BadInput, Exit};
use crate::http::HttpClient;
use crate::settings::flags::Format;
use crate::settings::{Settings, TargetKind};
use crate::targets::gitbook::answers::{GitSyncState, state_name};
use crate::targets::gitbook::client::{GitBookClient, GitBookError};

#[derive(Debug, Serialize)]
struct SpaceStatus {
    name: String,
    space: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<GitSyncState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_revision: Option<LiveRevision>,
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
            error: None,
            fix: None,
        };
        let read = match client.info().await {
            Ok(state) => {
                status.state = Some(state);
                client.live_revision().await
            }
            Err(error) => Err(error),
        };
        match read {
            Ok(revision) => {
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
                exit = exit.worst(match error {
                    _ if error.is_configuration() => Exit::BadInput,
                    GitBookError::Unreachable(_) => Exit::Unreachable,
                    _ => Exit::TargetFailed,
                });
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
    }
    out
}
