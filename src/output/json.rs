//! The JSON contract of `plan` and `sync` (docs/json.md): wire structs
//! that borrow from the plan and the run record, and the one place their
//! shape and spelling are decided. The decision and the run carry no serde
//! at all; every contract enum is spelled by its own `as_str`, which the
//! text report uses too.
//!
//! Fields are added, never renamed or removed, and keep their order.

use serde::Serialize;

use crate::git::diff::{Change, ChangeKind};
use crate::lint::Finding;
use crate::plan::outcome::Outcome;
use crate::plan::run::{Run, TargetRun};
use crate::plan::{Decision, Plan, PlannedRequest, RangeView, RequestBody};
use crate::targets::dot::PushEvent;
use crate::targets::gitbook::GitRequestBody;
use crate::targets::gitbook::answers::{ErrorAction, Operation};
use crate::targets::gitbook::change_requests::OpenChangeRequests;
use crate::targets::gitbook::space::GitBookEditsFound;

/// The document `plan --format json` prints (`run` is `None`) and
/// `sync --format json` prints and writes to `DOCSYNC_REPORT_JSON`.
pub(crate) fn document(plan: &Plan, run: Option<&Run>) -> serde_json::Result<String> {
    let report = Report {
        status: run.map(|run| run.status.as_str()),
        range: RangeJson::of(&plan.range),
        changes: plan.changes.iter().map(ChangeJson::of).collect(),
        targets: plan
            .targets
            .iter()
            .map(|decision| TargetJson::of(decision, run.and_then(|r| r.of(decision))))
            .collect(),
    };
    serde_json::to_string_pretty(&report)
}

#[derive(Serialize)]
struct Report<'a> {
    /// The run's overall result; `sync` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'static str>,
    range: RangeJson<'a>,
    changes: Vec<ChangeJson<'a>>,
    targets: Vec<TargetJson<'a>>,
}

#[derive(Serialize)]
struct RangeJson<'a> {
    base: Option<&'a str>,
    head: &'a str,
    mode: &'static str,
    reason: &'a str,
}

impl RangeJson<'_> {
    fn of(range: &RangeView) -> RangeJson<'_> {
        RangeJson { base: range.base.as_deref(), head: &range.head, mode: range.mode.as_str(), reason: &range.reason }
    }
}

#[derive(Serialize)]
struct ChangeJson<'a> {
    status: &'static str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_path: Option<&'a str>,
    /// Shown for submodules only (`"kind": "submodule"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
}

impl ChangeJson<'_> {
    fn of(change: &Change) -> ChangeJson<'_> {
        ChangeJson {
            status: change.status.as_str(),
            path: &change.path,
            old_path: change.old_path.as_deref(),
            kind: match change.kind {
                ChangeKind::File => None,
                ChangeKind::Submodule => Some("submodule"),
            },
        }
    }
}

#[derive(Serialize)]
struct TargetJson<'a> {
    name: &'a str,
    kind: &'static str,
    /// Where a target found in a GitBook site came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'a str>,
    action: &'static str,
    reason: String,
    /// How many of the range's changes concern this target.
    changed: usize,
    /// Where a GitBook target's change set starts, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    base: Option<BaseJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<RequestJson<'a>>,
    /// The plan's warnings, then the run's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<&'a str>,
    /// How `sync` ended for this target; absent in plans.
    #[serde(skip_serializing_if = "Option::is_none")]
    outcome: Option<OutcomeJson<'a>>,
}

impl<'a> TargetJson<'a> {
    fn of(decision: &'a Decision, run: Option<&'a TargetRun>) -> TargetJson<'a> {
        let run_warnings = run.map(|run| run.warnings.as_slice()).unwrap_or_default();
        TargetJson {
            name: &decision.name,
            kind: decision.kind.as_str(),
            origin: decision.origin.as_deref(),
            action: decision.action.as_str(),
            reason: decision.reason.to_string(),
            changed: decision.changed,
            base: decision.base.as_ref().map(|base| BaseJson {
                commit: base.commit.as_deref(),
                source: base.source.as_str(),
                reason: &base.reason,
            }),
            request: decision.request.as_ref().map(RequestJson::of),
            warnings: decision.warnings.iter().chain(run_warnings).map(String::as_str).collect(),
            outcome: run.map(|run| OutcomeJson::of(&run.outcome)),
        }
    }
}

#[derive(Serialize)]
struct BaseJson<'a> {
    commit: Option<&'a str>,
    /// `live_revision` or `range`.
    source: &'static str,
    reason: &'a str,
}

#[derive(Serialize)]
struct RequestJson<'a> {
    method: &'static str,
    url: &'a str,
    /// Shown for push events, whose headers GitLab defines; in the order
    /// they are sent.
    #[serde(skip_serializing_if = "<[_]>::is_empty", serialize_with = "header_map")]
    headers: &'a [(String, String)],
    body: BodyJson<'a>,
}

impl RequestJson<'_> {
    fn of(request: &PlannedRequest) -> RequestJson<'_> {
        RequestJson {
            method: request.method,
            url: &request.url,
            headers: &request.headers,
            body: match &request.body {
                RequestBody::GitBook(body) => BodyJson::GitBook(body),
                RequestBody::PushEvent(event) => BodyJson::PushEvent(event),
            },
        }
    }
}

/// The body as it is sent: the request's own JSON.
#[derive(Serialize)]
#[serde(untagged)]
enum BodyJson<'a> {
    GitBook(&'a GitRequestBody),
    PushEvent(&'a PushEvent),
}

/// Headers as a JSON object, in the order they are sent.
fn header_map<S: serde::Serializer>(headers: &&[(String, String)], serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(headers.len()))?;
    for (name, value) in headers.iter() {
        map.serialize_entry(name, value)?;
    }
    map.end()
}

#[derive(Serialize)]
struct OutcomeJson<'a> {
    status: &'static str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<&'a str>,
    /// GitBook's own fix-it link for a failed operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    error_action: Option<&'a ErrorAction>,
    /// GitBook's last known operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    operation: Option<&'a Operation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    merge_request: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    docs_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_commit: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gitbook_edits: Option<&'a GitBookEditsFound>,
    #[serde(skip_serializing_if = "Option::is_none")]
    change_requests: Option<&'a OpenChangeRequests>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    findings: &'a [Finding],
}

impl OutcomeJson<'_> {
    fn of(outcome: &Outcome) -> OutcomeJson<'_> {
        OutcomeJson {
            status: outcome.status.as_str(),
            message: &outcome.message,
            fix: outcome.fix.as_deref(),
            error_action: outcome.error_action.as_ref(),
            operation: outcome.operation.as_ref(),
            merge_request: outcome.merge_request.as_deref(),
            docs_url: outcome.docs_url.as_deref(),
            live_commit: outcome.live_commit.as_deref(),
            gitbook_edits: outcome.gitbook_edits.as_ref(),
            change_requests: outcome.change_requests.as_ref(),
            findings: &outcome.findings,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::git::diff::ChangeStatus;
    use crate::git::range::RangeMode;
    use crate::plan::outcome::{Outcome, OutcomeStatus};
    use crate::plan::run::{Run, RunStatus, TargetRun};
    use crate::plan::{Action, BaseSource, Decision, Plan, Platform, RangeView, Reason};
    use crate::settings::target_id::TargetId;

    /// A plan prints no status and no outcome; a run adds both, and each
    /// target lists the plan's warnings, then the run's.
    #[test]
    fn a_run_adds_its_status_outcomes_and_warnings_after_the_plans() {
        let plan = Plan {
            range: RangeView { base: None, head: "h".repeat(40), mode: RangeMode::Full, reason: "full".into() },
            changes: Vec::new(),
            targets: vec![Decision {
                target: TargetId::GitBookShorthand,
                name: "gitbook".into(),
                kind: Platform::GitBook,
                origin: None,
                action: Action::Skip,
                reason: Reason::PlatformCommits,
                changed: 0,
                request: None,
                warnings: vec!["from the plan".into()],
                files: Vec::new(),
                base: None,
            }],
        };
        let planned: serde_json::Value = serde_json::from_str(&super::document(&plan, None).unwrap()).unwrap();
        assert_eq!(planned.get("status"), None, "{planned:#}");
        assert_eq!(planned["targets"][0].get("outcome"), None, "{planned:#}");
        assert_eq!(planned["targets"][0]["warnings"], serde_json::json!(["from the plan"]));
        assert_eq!(planned["targets"][0]["reason"], Reason::PlatformCommits.to_string());

        let run = Run {
            status: RunStatus::NothingToDo,
            targets: vec![TargetRun {
                target: TargetId::GitBookShorthand,
                outcome: Outcome::new(OutcomeStatus::Skipped, "skipped"),
                warnings: vec!["from the run".into()],
            }],
        };
        let ran: serde_json::Value = serde_json::from_str(&super::document(&plan, Some(&run)).unwrap()).unwrap();
        assert_eq!(ran["status"], "nothing_to_do");
        assert_eq!(ran["targets"][0]["outcome"], serde_json::json!({"status": "skipped", "message": "skipped"}));
        assert_eq!(ran["targets"][0]["warnings"], serde_json::json!(["from the plan", "from the run"]));
    }

    /// Every `a|b|c` list of docs/json.md, as a set of names.
    fn documented_lists() -> Vec<BTreeSet<String>> {
        include_str!("../../docs/json.md")
            .split(|c: char| !(c.is_ascii_lowercase() || c == '_' || c == '|'))
            .filter(|words| words.contains('|'))
            .map(|words| words.split('|').map(str::to_owned).collect())
            .collect()
    }

    /// Each contract enum's spellings, from its own `as_str`, are exactly
    /// the values docs/json.md lists for its field: the JSON, the text and
    /// the docs cannot drift apart.
    #[test]
    fn every_contract_enum_is_spelled_as_documented() {
        fn names<T: Copy>(all: &[T], as_str: fn(T) -> &'static str) -> BTreeSet<String> {
            let names: BTreeSet<String> = all.iter().map(|v| as_str(*v).to_owned()).collect();
            assert_eq!(names.len(), all.len(), "two variants share a name: {names:?}");
            names
        }
        let lists = documented_lists();
        for (field, spelled) in [
            ("range.mode", names(&RangeMode::ALL, RangeMode::as_str)),
            ("changes[].status", names(&ChangeStatus::ALL, ChangeStatus::as_str)),
            ("targets[].kind", names(&Platform::ALL, Platform::as_str)),
            ("targets[].action", names(&Action::ALL, Action::as_str)),
            ("targets[].base.source", names(&BaseSource::ALL, BaseSource::as_str)),
            ("status", names(&RunStatus::ALL, RunStatus::as_str)),
            ("targets[].outcome.status", names(&OutcomeStatus::ALL, OutcomeStatus::as_str)),
        ] {
            assert!(lists.contains(&spelled), "docs/json.md lists no {field} as {spelled:?}; it lists {lists:?}");
        }
    }
}
