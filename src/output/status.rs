//! `docsync status`'s result for people (`--format text`) and for scripts
//! (`--format json`): each space's Git Sync state, live revision and open
//! change requests, as `commands::status` read them.

use std::fmt::Write;

use serde::Serialize;

use crate::settings::flags::Format;
use crate::targets::gitbook::answers::{GitSyncState, state_name};
use crate::targets::gitbook::change_requests::{ChangeRequestList, MAX_CHANGE_REQUESTS};

/// The result in `format`: JSON `{"targets": [...]}`, or text.
pub(crate) fn render(spaces: &[SpaceStatus], format: Format) -> serde_json::Result<String> {
    Ok(match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&serde_json::json!({ "targets": spaces }))?),
        Format::Text => render_text(spaces),
    })
}

#[derive(Debug, Serialize)]
pub(crate) struct SpaceStatus {
    pub name: String,
    pub space: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<GitSyncState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_revision: Option<LiveRevision>,
    /// The space's open change requests, the most recently updated first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_change_requests: Option<OpenChangeRequestList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The space's live revision, as the guard before an import reads it.
#[derive(Debug, Serialize)]
pub(crate) struct LiveRevision {
    pub id: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// The commit it came from; `None`: made in GitBook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Whether that commit is in the checkout's history (`None`: unknown,
    /// or no commit).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit_in_branch: Option<bool>,
    pub url: String,
}

/// The open change requests, at most [`MAX_CHANGE_REQUESTS`].
#[derive(Debug, Serialize)]
pub(crate) struct OpenChangeRequestList {
    pub items: Vec<OpenChangeRequest>,
    /// More are open than are listed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub more: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct OpenChangeRequest {
    pub number: u64,
    pub subject: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
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
