//! What GitBook answers about a space, narrowed to what docsync reads: the
//! Git Sync state and its latest operation (`GET git/info`), the live
//! revision (`GET content`), and which operation is the one our request
//! started. Apart from the client so the wait and the reports read these
//! types without the HTTP calls.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// GitBook's `GitSyncState` (`GET git/info`), narrowed to what docsync reads.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GitSyncState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installation_provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<Operation>,
}

/// The latest operation of the space's Git Sync.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Operation {
    pub state: OperationState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    /// `endedAt` in the published spec; `completedAt` in some answers.
    #[serde(default, alias = "completedAt", skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<String>,
    /// Progress, when GitBook counts it (deprecated in its spec, often `0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_tasks: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched_tasks: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_action: Option<ErrorAction>,
}

impl Operation {
    fn started(&self) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(self.started_at.as_deref()?, &Rfc3339).ok()
    }

    /// Whether this is `pinned`, an operation seen before: the same
    /// direction, started at the same moment.
    pub(crate) fn is(&self, pinned: &Operation) -> bool {
        self.direction == pinned.direction && self.started().is_some() && self.started() == pinned.started()
    }

    /// `import running (content_process), 3/10 tasks`.
    pub(crate) fn describe(&self) -> String {
        let mut text = format!("{} {}", self.direction.as_deref().unwrap_or("operation"), state_name(self.state));
        if let Some(stage) = &self.stage {
            text.push_str(&format!(" ({stage})"));
        }
        if let (Some(done), Some(all)) = (self.completed_tasks, self.dispatched_tasks) {
            if all > 0.0 {
                text.push_str(&format!(", {done}/{all} tasks"));
            }
        }
        text
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OperationState {
    Running,
    Success,
    Failure,
    Timeout,
    #[serde(other)]
    Unknown,
}

/// GitBook's fix-it link for a failed operation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub(crate) struct ErrorAction {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub url: String,
}

/// A revision of a space (`GET content`, `GET revisions/{revisionId}`),
/// narrowed to what tells which commit it holds, where it came from, its
/// pages and where to see it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Revision {
    #[serde(default)]
    pub id: String,
    /// `edits`, `merge`, `rollback`, `update`, `computed`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub parents: Vec<String>,
    #[serde(default)]
    pub git: Option<RevisionCommit>,
    #[serde(default, deserialize_with = "pages_read")]
    pub pages: Vec<RevisionPage>,
    pub urls: RevisionUrls,
}

/// The pages docsync can read: links, computed pages and entries of shapes
/// it does not know are left out, not an error (only a page's file and
/// link are read, to name it).
fn pages_read<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<RevisionPage>, D::Error> {
    let entries = Option::<Vec<serde_json::Value>>::deserialize(deserializer)?.unwrap_or_default();
    Ok(entries.into_iter().filter_map(|entry| serde_json::from_value(entry).ok()).collect())
}

/// A page of a revision, and the pages under it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RevisionPage {
    #[serde(default)]
    pub id: String,
    /// The file in the repository the page came from or goes to.
    #[serde(default)]
    pub git: Option<PageFile>,
    #[serde(default)]
    pub urls: Option<RevisionUrls>,
    #[serde(default, deserialize_with = "pages_read")]
    pub pages: Vec<RevisionPage>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PageFile {
    pub path: String,
}

/// `GET revisions/{revisionId}/changes`: what a revision changed, by page.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RevisionChanges {
    #[serde(default)]
    pub changes: Vec<SemanticChange>,
    /// How many changes GitBook left out of the answer.
    #[serde(default)]
    pub more: Option<f64>,
}

/// One change; those not of a page (files, variables…) have no `page`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SemanticChange {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub page: Option<ChangedPage>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ChangedPage {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub title: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RevisionCommit {
    pub oid: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RevisionUrls {
    pub app: String,
}

/// GitBook's `Date` header has whole seconds, and GitBook may start the
/// operation a moment before it answers.
const CLOCK_ROUNDING: time::Duration = time::Duration::seconds(1);

/// Whose an operation GitBook shows is, measured against our request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Whose {
    /// Of our direction, started no earlier than GitBook accepted our
    /// request.
    Ours,
    /// Of the other direction or of none, or started earlier.
    Someone,
    /// Of our direction, but its `startedAt` cannot be read, so whether it
    /// is ours cannot be told: why, in words.
    Unknown(String),
}

/// Whether `current` is the operation started by our request: one of our
/// direction that started no earlier than GitBook accepted the request
/// (`accepted`, by GitBook's clock, give or take `CLOCK_ROUNDING`). An
/// older one, one of the other direction or one without a direction (the
/// spec requires it) is someone else's.
pub(crate) fn whose(accepted: OffsetDateTime, current: &Operation, direction: &str) -> Whose {
    if !current.direction.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(direction)) {
        return Whose::Someone;
    }
    match current.started() {
        Some(started) if started >= accepted - CLOCK_ROUNDING => Whose::Ours,
        Some(_) => Whose::Someone,
        None => Whose::Unknown(match &current.started_at {
            Some(text) => format!(
                "GitBook's latest {direction} has startedAt {text:?}, which is not an RFC 3339 time, so docsync cannot tell whether it is ours"
            ),
            None => {
                format!("GitBook's latest {direction} has no startedAt, so docsync cannot tell whether it is ours")
            }
        }),
    }
}

pub(crate) fn state_name(state: OperationState) -> &'static str {
    match state {
        OperationState::Running => "running",
        OperationState::Success => "success",
        OperationState::Failure => "failure",
        OperationState::Timeout => "timeout",
        OperationState::Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> OffsetDateTime {
        OffsetDateTime::parse(text, &Rfc3339).unwrap()
    }

    fn op(direction: &str, started_at: &str) -> Operation {
        serde_json::from_value(serde_json::json!({
            "state": "running", "direction": direction, "startedAt": started_at,
        }))
        .unwrap()
    }

    #[test]
    fn ours_is_of_our_direction_and_started_after_gitbook_accepted_it() {
        let accepted = at("2026-11-22T15:00:04Z");
        let ours = |operation: &Operation| whose(accepted, operation, "import");
        assert_eq!(ours(&op("import", "2026-11-22T15:00:05Z")), Whose::Ours);
        // GitBook's Date has whole seconds: a start just before it is ours.
        assert_eq!(ours(&op("import", "2026-11-22T15:00:03.500Z")), Whose::Ours);
        assert_eq!(ours(&op("import", "2026-11-22T15:00:02Z")), Whose::Someone);
        assert_eq!(ours(&op("export", "2026-11-22T15:00:05Z")), Whose::Someone);
    }

    #[test]
    fn an_operation_without_a_direction_is_someone_elses() {
        let mut undirected = op("import", "2026-11-22T15:00:05Z");
        undirected.direction = None;
        assert_eq!(whose(at("2026-11-22T15:00:04Z"), &undirected, "import"), Whose::Someone);
    }

    #[test]
    fn an_unreadable_start_is_unknown_and_says_what_could_not_be_read() {
        let accepted = at("2026-11-22T15:00:04Z");
        let Whose::Unknown(why) = whose(accepted, &op("import", "not a time"), "import") else {
            panic!("an unreadable startedAt is neither ours nor someone else's");
        };
        assert!(why.contains("startedAt \"not a time\", which is not an RFC 3339 time"), "{why}");
        let mut missing = op("import", "");
        missing.started_at = None;
        assert!(matches!(whose(accepted, &missing, "import"), Whose::Unknown(why) if why.contains("has no startedAt")));
        // Of the other direction it is someone else's, readable or not.
        assert_eq!(whose(accepted, &op("export", "not a time"), "import"), Whose::Someone);
    }

    #[test]
    fn a_pinned_operation_is_known_by_its_direction_and_start() {
        let pinned = op("import", "2026-11-22T15:00:05Z");
        let mut later = op("import", "2026-11-22T15:00:05.000+00:00");
        later.state = OperationState::Success;
        assert!(later.is(&pinned), "the same start, written otherwise, in another state");
        assert!(!op("import", "2026-11-22T15:00:20Z").is(&pinned));
        assert!(!op("export", "2026-11-22T15:00:05Z").is(&pinned));
    }

    #[test]
    fn operations_describe_stage_and_tasks_when_counted() {
        let mut operation = op("import", "2026-11-22T15:00:05Z");
        operation.stage = Some("content_process".into());
        assert_eq!(operation.describe(), "import running (content_process)");
        operation.completed_tasks = Some(3.0);
        operation.dispatched_tasks = Some(10.0);
        assert_eq!(operation.describe(), "import running (content_process), 3/10 tasks");
    }
}
