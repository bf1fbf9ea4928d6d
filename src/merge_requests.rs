//! What `sync` tells GitLab afterwards: the outcome of a merge request
//! preview as a note on the merge request, and, after an export to a branch
//! other than the default one, a merge request from that branch
//! (`DOCSYNC_EXPORT_MR=true`).

use crate::config::{Settings, TargetKind};
use crate::error::Exit;
use crate::gitlab::{Auth, GitLabClient, ProjectApi};
use crate::http::HttpClient;
use crate::plan::{Action, SyncPlan};
use crate::sync::OutcomeStatus;

/// Posts preview notes and opens export merge requests; returns the exit
/// code these steps add (a wanted merge request that could not be opened
/// fails the job, a note that could not be posted only warns).
pub async fn report(plan: &mut SyncPlan, settings: &Settings, http: &HttpClient, project: Option<&ProjectApi>) -> Exit {
    let mut exit = Exit::Ok;
    let ci = settings.pipeline.ci.as_ref();
    for target_plan in &mut plan.targets {
        let Some(target) = settings.targets.iter().find(|t| t.name == target_plan.name) else { continue };
        let TargetKind::GitBook(gitbook) = &target.kind else { continue };
        let Some(outcome) = target_plan.outcome.as_mut() else { continue };

        match target_plan.action {
            Action::Preview => {
                let Some(iid) = ci.and_then(|ci| ci.merge_request.as_ref()).map(|mr| mr.iid) else { continue };
                let (Some(token), Some(project)) = (&settings.gitlab.token, project) else {
                    tracing::info!(
                        "{}: no DOCSYNC_GITLAB_TOKEN, so the preview result is not posted on !{iid}",
                        target.name
                    );
                    continue;
                };
                let client = GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) };
                let marker = format!("<!-- docsync:preview:{} -->", target.name);
                let mut body = format!(
                    "{marker}\n**docsync** — GitBook preview of `{}` (space `{}`): **{}**\n\n{}",
                    target.name,
                    gitbook.space,
                    outcome.status.as_str(),
                    outcome.message
                );
                if let Some(action) = &outcome.error_action {
                    body.push_str(&format!("\n\n[{}]({})", action.label, action.url));
                }
                if !outcome.findings.is_empty() {
                    body.push_str(&format!("\n\n**Docs pre-flight**: {} new finding(s)\n", outcome.findings.len()));
                    for finding in &outcome.findings {
                        body.push_str(&format!(
                            "\n- `{}:{}` {}[`{}`]: {}",
                            finding.path,
                            finding.line,
                            finding.severity.as_str(),
                            finding.rule.id(),
                            finding.message
                        ));
                    }
                }
                if let Some(url) = ci.and_then(|ci| ci.pipeline_url.as_deref()) {
                    body.push_str(&format!("\n\n<sub>Pipeline: {url}</sub>"));
                }
                match client.upsert_note(&project.project, iid, &marker, &body).await {
                    Ok(note) => tracing::info!("{}: preview result posted on !{iid} (note {})", target.name, note.id),
                    Err(error) => tracing::warn!(
                        "{}: could not post the preview result on !{iid}: {error}; give DOCSYNC_GITLAB_TOKEN the api scope",
                        target.name
                    ),
                }
            }
            Action::Export if gitbook.export_mr && outcome.status == OutcomeStatus::Synced => {
                let default_branch = ci.and_then(|ci| ci.default_branch.as_deref());
                let export_branch = gitbook.export_branch.as_deref().or(target.branch.as_deref());
                let (Some(source), Some(destination)) = (export_branch, default_branch) else { continue };
                if source == destination {
                    tracing::info!(
                        "{}: exported straight to the default branch {source}: no merge request needed",
                        target.name
                    );
                    continue;
                }
                let (Some(token), Some(project)) = (&settings.gitlab.token, project) else {
                    let fix = "set DOCSYNC_GITLAB_TOKEN to a project access token with the api scope";
                    tracing::error!(
                        "{}: failed — DOCSYNC_EXPORT_MR=true but no DOCSYNC_GITLAB_TOKEN to open the merge request",
                        target.name
                    );
                    tracing::error!("{}: fix: {fix}", target.name);
                    outcome.status = OutcomeStatus::Failed;
                    outcome.fix = Some(fix.into());
                    outcome
                        .message
                        .push_str("; DOCSYNC_EXPORT_MR=true but no DOCSYNC_GITLAB_TOKEN to open the merge request");
                    exit = exit.worst(Exit::TargetFailed);
                    continue;
                };
                let client = GitLabClient { http, api: project.api.clone(), auth: Auth::for_token(token) };
                let title = format!("GitBook: content of space {}", gitbook.space);
                let description = format!(
                    "Opened by docsync after exporting GitBook space `{}` to `{source}`.{}",
                    gitbook.space,
                    ci.and_then(|ci| ci.pipeline_url.as_deref())
                        .map(|u| format!("\n\nPipeline: {u}"))
                        .unwrap_or_default()
                );
                match client.open_merge_request(&project.project, source, destination, &title, &description).await {
                    Ok((merge_request, created)) => {
                        let verb = if created { "opened" } else { "already open:" };
                        tracing::info!("{}: merge request {verb} {}", target.name, merge_request.web_url);
                        outcome.message.push_str(&format!("; merge request {verb} {}", merge_request.web_url));
                        outcome.merge_request = Some(merge_request.web_url);
                    }
                    Err(error) => {
                        let fix = "give DOCSYNC_GITLAB_TOKEN the api scope and the Developer role, then retry the job";
                        tracing::error!("{}: failed — the merge request could not be opened: {error}", target.name);
                        tracing::error!("{}: fix: {fix}", target.name);
                        outcome.status = OutcomeStatus::Failed;
                        outcome.message.push_str(&format!("; the merge request could not be opened: {error}"));
                        outcome.fix = Some(fix.into());
                        exit = exit.worst(Exit::TargetFailed);
                    }
                }
            }
            _ => {}
        }
    }
    exit
}
