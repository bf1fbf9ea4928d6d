//! The second step of the decision: the request of every target that sends
//! a push event, built from the commits it lists. Apart from
//! [`super::decide`] because those commits are gathered only when a Dot
//! target acts.

use crate::settings::credentials::shown_webhook_url;
use crate::settings::{Settings, TargetKind};
use crate::targets::dot::{self, EventInput};

use super::facts::{Facts, PushFacts};
use super::{Action, PlannedRequest, RequestBody, SyncPlan};

/// Builds the request of every target that sends a push event: GitLab's
/// `Push Hook` event listing the target's files, and its headers (secret
/// masked). Pure, like [`super::decide`].
pub fn attach_push_events(plan: &mut SyncPlan, facts: &Facts, push: &PushFacts, settings: &Settings) {
    for target_plan in plan.targets.iter_mut().filter(|t| t.action == Action::PushEvent) {
        let Some(target) = settings.targets.iter().find(|t| t.name == target_plan.name) else {
            continue;
        };
        let TargetKind::Dot(dot) = &target.kind else {
            continue;
        };
        let Some(project) = facts.project.as_ref() else {
            target_plan.warnings.push(
                "the project's URL is unknown (no CI_PROJECT_URL, no origin remote): no push event can be built".into(),
            );
            continue;
        };
        // The sync branch, as GitBook imports it: a push event acts only on
        // pushes to it, a manual pipeline only runs on it (`check_request`).
        let Some(branch) = target.branch.as_deref().or(facts.checkout_branch.as_deref()) else {
            target_plan.warnings.push("no branch is known: set DOCSYNC_BRANCH".into());
            continue;
        };
        if dot.secret.is_none() {
            target_plan.warnings.push(format!(
                "no {}: the receiver cannot tell the event is genuine, and `sync` will not send it",
                dot.secret_source
            ));
        }
        let (before, files) = match push.tree.as_deref() {
            Some(tree) => (None, tree.iter().filter(|change| target.paths.matches(&change.path)).cloned().collect()),
            None => (facts.range.base.as_deref(), target_plan.files.clone()),
        };
        let event = dot::push_event(&EventInput {
            pipeline: &settings.pipeline,
            project,
            branch,
            before,
            after: &facts.range.head,
            history: &push.history,
            files: &files,
            filter: &target.paths,
        });
        let pipeline_id = settings.pipeline.ci.as_ref().and_then(|ci| ci.pipeline_id);
        let ids = dot::delivery_ids(&event, pipeline_id, &target.name, &dot.webhook_url);
        target_plan.request = Some(PlannedRequest {
            method: "POST",
            url: shown_webhook_url(&dot.webhook_url),
            headers: dot::headers(&ids, &dot::instance(&settings.pipeline, project)),
            body: RequestBody::PushEvent(Box::new(event)),
        });
    }
}
