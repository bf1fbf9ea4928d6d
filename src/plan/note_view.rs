//! The shape `output::merge_request_note` reads and writes today: each
//! target's decision and its outcome side by side, outcomes and warnings
//! mutable. A thin adapter while that module is rewritten elsewhere: built
//! from a [`Plan`] and the run's [`TargetRun`]s, and taken apart again
//! ([`SyncPlan::into_runs`]), so that the plan itself is never written to.
//! Delete it once the note reads the plan and the run record.

use crate::git::diff::Change;
use crate::settings::target_id::TargetId;

use super::outcome::Outcome;
use super::run::TargetRun;
use super::{Action, Decision, Plan, PlannedRequest};

/// A plan's decisions, each with its outcome.
pub struct SyncPlan {
    pub targets: Vec<TargetPlan>,
}

/// One decision with what the run made of it.
pub struct TargetPlan {
    /// For the note to find its target by, rather than by name.
    pub target: TargetId,
    pub name: String,
    pub kind: &'static str,
    pub action: Action,
    pub reason: String,
    pub changed: usize,
    pub request: Option<PlannedRequest>,
    /// The plan's warnings, then the run's.
    pub warnings: Vec<String>,
    pub outcome: Option<Outcome>,
    pub files: Vec<Change>,
    /// How many of `warnings` are the plan's own.
    planned_warnings: usize,
    run: TargetRun,
}

impl SyncPlan {
    /// The view of `plan`'s decisions, each with its run record.
    pub fn new(plan: &Plan, runs: Vec<TargetRun>) -> SyncPlan {
        let targets = runs
            .into_iter()
            .filter_map(|run| {
                let decision = plan.targets.iter().find(|d| d.target == run.target)?;
                Some(TargetPlan::new(decision, run))
            })
            .collect();
        SyncPlan { targets }
    }

    /// The run records, with the outcomes and warnings the note wrote.
    pub fn into_runs(self) -> Vec<TargetRun> {
        self.targets
            .into_iter()
            .map(|view| {
                let mut run = view.run;
                if let Some(outcome) = view.outcome {
                    run.outcome = outcome;
                }
                run.warnings = view.warnings.into_iter().skip(view.planned_warnings).collect();
                run
            })
            .collect()
    }
}

impl TargetPlan {
    fn new(decision: &Decision, run: TargetRun) -> TargetPlan {
        let warnings: Vec<String> = decision.warnings.iter().chain(&run.warnings).cloned().collect();
        TargetPlan {
            target: decision.target,
            name: decision.name.clone(),
            kind: decision.kind.as_str(),
            action: decision.action,
            reason: decision.reason.to_string(),
            changed: decision.changed,
            request: decision.request.clone(),
            planned_warnings: decision.warnings.len(),
            warnings,
            outcome: Some(run.outcome.clone()),
            files: decision.files.clone(),
            run,
        }
    }
}
