//! `docsync status`: each GitBook space's Git Sync state, last operation
//! and live revision (whether it came from Git, and from this branch), and
//! its open change requests.

use anyhow::Result;

use crate::error::{BadInput, Exit};
use crate::http::HttpClient;
use crate::output::status::{LiveRevision, SpaceStatus, render};
use crate::settings::flags::Format;
use crate::settings::{Settings, TargetKind};
use crate::targets::gitbook::change_requests::MAX_CHANGE_REQUESTS;
use crate::targets::gitbook::client::GitBookClient;

/// Reads every GitBook target's state; returns the rendered result and the
/// exit code (1 when a space could not be read, 3 when unreachable).
pub(crate) async fn collect(
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
    Ok((render(&spaces, format)?, exit))
}
