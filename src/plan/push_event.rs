//! The request of a target that sends a push event: GitLab's `Push Hook`
//! event, built from the commits it lists ([`PushFacts`]). Apart from the
//! rest of [`super::decide`] because those commits are gathered only when a
//! Dot target acts.

use crate::git::diff::Change;
use crate::settings::credentials::shown_webhook_url;
use crate::settings::{DotTarget, Settings, Target};
use crate::targets::dot::{self, EventInput};

use super::facts::{Facts, PushFacts};
use super::{PlannedRequest, RequestBody};

/// GitLab's `Push Hook` event listing the target's `files`, and its headers
/// (secret masked); `None`, with a warning saying why, when it cannot be
/// built. Pure, like [`super::decide`].
pub(super) fn request(
    facts: &Facts,
    push: &PushFacts,
    settings: &Settings,
    target: &Target,
    dot: &DotTarget,
    files: &[Change],
    warnings: &mut Vec<String>,
) -> Option<PlannedRequest> {
    let Some(project) = facts.project.as_ref() else {
        warnings.push(
            "the project's URL is unknown (no CI_PROJECT_URL, no origin remote): no push event can be built".into(),
        );
        return None;
    };
    // The sync branch, as GitBook imports it: a push event acts only on
    // pushes to it, a manual pipeline only runs on it (`check_request`).
    let Some(branch) = target.branch.as_deref().or(facts.checkout_branch.as_deref()) else {
        warnings.push("no branch is known: set DOCSYNC_BRANCH".into());
        return None;
    };
    if dot.secret.is_none() {
        warnings.push(format!(
            "no {}: the receiver cannot tell the event is genuine, and `sync` will not send it",
            dot.secret_source
        ));
    }
    let (before, files) = match push.tree.as_deref() {
        Some(tree) => (None, tree.iter().filter(|change| target.paths.matches(&change.path)).cloned().collect()),
        None => (facts.range.base.as_deref(), files.to_vec()),
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
    Some(PlannedRequest {
        method: "POST",
        url: shown_webhook_url(&dot.webhook_url),
        headers: dot::headers(&ids, &dot::instance(&settings.pipeline, project)),
        body: RequestBody::PushEvent(Box::new(event)),
    })
}
