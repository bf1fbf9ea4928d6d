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
pub struct GitSyncState {
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
pub struct Operation {
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

    /// `import running (content_process), 3/10 tasks`.
    pub fn describe(&self) -> String {
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
pub enum OperationState {
    Running,
    Success,
    Failure,
    Timeout,
    #[serde(other)]
    Unknown,
}

/// GitBook's fix-it link for a failed operation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ErrorAction {
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub url: String,
}

/// GitBook's live revision of a space (`GET content`), narrowed to what
/// tells which commit it holds and where to see it.
#[derive(Debug, Clone, Deserialize)]
pub struct Revision {
    #[serde(default)]
    pub git: Option<RevisionCommit>,
    pub urls: RevisionUrls,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RevisionCommit {
    pub oid: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RevisionUrls {
    pub app: String,
}

/// GitBook's `Date` header has whole seconds, and GitBook may start the
/// operation a moment before it answers.
const CLOCK_ROUNDING: time::Duration = time::Duration::seconds(1);

/// Whether `current` is the operation started by our request: one of our
/// direction that started no earlier than GitBook accepted the request
/// (`accepted`, by GitBook's clock, give or take `CLOCK_ROUNDING`). An
/// older one, or one of the other direction, is someone else's.
pub fn is_our_operation(accepted: OffsetDateTime, current: &Operation, direction: &str) -> bool {
    let same_direction = current.direction.as_deref().is_none_or(|d| d.eq_ignore_ascii_case(direction));
    let started_after = current.started().is_some_and(|started| started >= accepted - CLOCK_ROUNDING);
    same_direction && started_after
}

pub fn state_name(state: OperationState) -> &'static str {
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
        assert!(is_our_operation(accepted, &op("import", "2026-11-22T15:00:05Z"), "import"));
        // GitBook's Date has whole seconds: a start just before it is ours.
        assert!(is_our_operation(accepted, &op("import", "2026-11-22T15:00:03.500Z"), "import"));
        assert!(!is_our_operation(accepted, &op("import", "2026-11-22T15:00:02Z"), "import"));
        assert!(!is_our_operation(accepted, &op("export", "2026-11-22T15:00:05Z"), "import"));
        assert!(!is_our_operation(accepted, &op("import", "not a time"), "import"));
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
