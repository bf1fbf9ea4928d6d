//! The shape `output::merge_request_note` reads and writes today: each
//! target's decision and its outcome side by side, outcomes and warnings
//! mutable. A thin adapter while that module is rewritten elsewhere: built
//! from a [`Plan`] and the run's [`TargetRun`]s, and taken apart again
//! ([`SyncPlan::into_runs`]), so that the plan itself is never written to.
//! Delete it once the note reads the plan and the run record.

use super::outcome::Outcome;
use super::run::TargetRun;
use super::{Action, Decision, Plan, PlannedRequest, SkipCause};

/// A plan's decisions, each with its outcome.
pub(crate) struct SyncPlan {
    pub targets: Vec<TargetPlan>,
}

/// One decision with what the run made of it.
pub(crate) struct TargetPlan {
    pub name: String,
    pub action: Action,
    /// Why a skipping target skips; `None` when it acts.
    pub skip_cause: Option<SkipCause>,
    pub request: Option<PlannedRequest>,
    /// The plan's warnings, then the run's.
    pub warnings: Vec<String>,
    pub outcome: Option<Outcome>,
    /// How many of `warnings` are the plan's own.
    planned_warnings: usize,
    run: TargetRun,
}

impl SyncPlan {
    /// The view of `plan`'s decisions, each with its run record.
    pub(crate) fn new(plan: &Plan, runs: Vec<TargetRun>) -> SyncPlan {
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
    pub(crate) fn into_runs(self) -> Vec<TargetRun> {
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
            name: decision.name.clone(),
            action: decision.action,
            skip_cause: decision.skip_cause(),
            request: decision.request.clone(),
            planned_warnings: decision.warnings.len(),
            warnings,
            outcome: Some(run.outcome.clone()),
            run,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::range::RangeMode;
    use crate::plan::outcome::OutcomeStatus;
    use crate::plan::{Platform, RangeView, Reason};
    use crate::settings::target_id::TargetId;

    fn decision(index: usize, warnings: &[&str]) -> Decision {
        Decision {
            target: TargetId::Table(index),
            name: format!("docs-{index}"),
            kind: Platform::GitBook,
            origin: None,
            action: Action::Preview,
            reason: Reason::Preview { iid: 7 },
            changed: 1,
            request: None,
            warnings: warnings.iter().map(|w| (*w).to_owned()).collect(),
            files: Vec::new(),
            base: None,
        }
    }

    /// What the note writes goes back to the run, and only there: the
    /// plan's own warnings are not copied into the run's.
    #[test]
    fn the_view_gives_the_run_what_the_note_wrote_and_nothing_of_the_plan() {
        let plan = Plan {
            range: RangeView { base: None, head: "h".repeat(40), mode: RangeMode::Full, reason: String::new() },
            changes: Vec::new(),
            targets: vec![decision(0, &["planned"]), decision(1, &[])],
        };
        // The run lists its targets in another order than the plan.
        let runs = [1, 0]
            .map(|index| TargetRun {
                target: TargetId::Table(index),
                outcome: Outcome::new(OutcomeStatus::Queued, "queued"),
                warnings: Vec::new(),
            })
            .to_vec();
        let mut view = SyncPlan::new(&plan, runs);
        let first = view.targets.iter_mut().find(|t| t.name == "docs-0").unwrap();
        assert_eq!((first.name.as_str(), first.warnings.as_slice()), ("docs-0", ["planned".to_owned()].as_slice()));
        first.warnings.push("note not posted".to_owned());
        if let Some(outcome) = first.outcome.as_mut() {
            outcome.status = OutcomeStatus::Failed;
        }

        let runs = view.into_runs();
        let first = runs.iter().find(|r| r.target == TargetId::Table(0)).unwrap();
        assert_eq!(first.warnings, ["note not posted"]);
        assert_eq!(first.outcome.status, OutcomeStatus::Failed);
        let second = runs.iter().find(|r| r.target == TargetId::Table(1)).unwrap();
        assert!(second.warnings.is_empty(), "{:?}", second.warnings);
        assert_eq!(second.outcome.status, OutcomeStatus::Queued);
        assert_eq!(plan.targets[0].warnings, ["planned"], "the plan is left as it was");
    }
}
