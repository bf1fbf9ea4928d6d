//! What `sync` did with a [`Plan`]: a record beside the decision, never
//! written into it. Each target's [`Outcome`] and the warnings the run
//! added, joined to the plan's decisions by [`TargetId`], and the run's
//! overall [`RunStatus`].

use std::fmt;

use crate::error::Exit;
use crate::settings::target_id::TargetId;

use super::outcome::{Outcome, OutcomeStatus};
use super::{Action, Decision, Plan};

/// The run's overall result: the top-level `status` of the JSON contract
/// and `DOCSYNC_STATUS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunStatus {
    Synced,
    /// Every target sent nothing: skipped by the plan, or its space already
    /// held the head or newer.
    NothingToDo,
    Failed,
    Unreachable,
}

impl RunStatus {
    #[cfg(test)]
    pub(crate) const ALL: [RunStatus; 4] =
        [RunStatus::Synced, RunStatus::NothingToDo, RunStatus::Failed, RunStatus::Unreachable];

    /// The status of a run that ended with `exit`.
    pub(crate) fn of(exit: Exit, plan: &Plan, targets: &[TargetRun]) -> RunStatus {
        match exit {
            Exit::Ok if plan.targets.iter().all(|decision| sent_nothing(decision, targets)) => RunStatus::NothingToDo,
            Exit::Ok => RunStatus::Synced,
            Exit::Unreachable => RunStatus::Unreachable,
            Exit::TargetFailed | Exit::BadInput | Exit::LocalFailure => RunStatus::Failed,
        }
    }

    /// The name in the JSON contract, the text report and the dotenv report.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunStatus::Synced => "synced",
            RunStatus::NothingToDo => "nothing_to_do",
            RunStatus::Failed => "failed",
            RunStatus::Unreachable => "unreachable",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a target sent nothing: skipped by the plan, or its space already
/// held the head or newer.
fn sent_nothing(decision: &Decision, runs: &[TargetRun]) -> bool {
    decision.action == Action::Skip
        || runs.iter().any(|run| {
            run.target == decision.target
                && matches!(run.outcome.status, OutcomeStatus::AlreadyImported | OutcomeStatus::Superseded)
        })
}

/// How one target's part of the run ended.
#[derive(Debug, Clone)]
pub(crate) struct TargetRun {
    pub target: TargetId,
    pub outcome: Outcome,
    /// What went wrong after the target's request (a merge request note
    /// that could not be posted), shown after the plan's own warnings.
    pub warnings: Vec<String>,
}

/// The record of a `sync`: one [`TargetRun`] for each of the plan's
/// decisions, in the plan's order.
#[derive(Debug, Clone)]
pub(crate) struct Run {
    pub status: RunStatus,
    pub targets: Vec<TargetRun>,
}

impl Run {
    /// The record of the decision's target, when the run reached it.
    pub(crate) fn of(&self, decision: &Decision) -> Option<&TargetRun> {
        self.targets.iter().find(|run| run.target == decision.target)
    }
}
