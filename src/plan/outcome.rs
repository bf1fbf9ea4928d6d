//! How each target's sync ended: the result types the executor fills in and
//! the report, the merge request note and the exit code read.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::Exit;
use crate::lint::Finding;
use crate::targets::gitbook::answers::{ErrorAction, Operation};
use crate::targets::gitbook::change_requests::OpenChangeRequests;
use crate::targets::gitbook::space::GitBookEditsFound;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutcomeStatus {
    /// The platform confirmed the sync.
    Synced,
    /// GitBook confirmed the import, and its live revision is the head commit.
    Verified,
    /// Queued, result not awaited (`DOCSYNC_WAIT=false`, or a token that may
    /// not read it).
    Queued,
    /// `--dry-run`: decided, not sent.
    Planned,
    Skipped,
    Failed,
    /// GitBook started no operation of ours within `DOCSYNC_START_TIMEOUT`.
    NotStarted,
    /// Still running when `DOCSYNC_WAIT_TIMEOUT` ran out.
    TimedOut,
    /// No answer after retries; or queued, and the result stayed unreadable.
    Unreachable,
    /// GitBook's live revision already holds the head commit: nothing sent.
    AlreadyImported,
    /// GitBook's live revision holds a commit newer than the head: nothing
    /// sent.
    Superseded,
    /// GitBook holds work Git does not have: nothing imported.
    Conflict,
}

impl OutcomeStatus {
    pub(crate) fn exit(self) -> Exit {
        match self {
            OutcomeStatus::Synced
            | OutcomeStatus::Verified
            | OutcomeStatus::Queued
            | OutcomeStatus::Planned
            | OutcomeStatus::Skipped
            | OutcomeStatus::AlreadyImported
            | OutcomeStatus::Superseded => Exit::Ok,
            OutcomeStatus::Failed | OutcomeStatus::NotStarted | OutcomeStatus::TimedOut | OutcomeStatus::Conflict => {
                Exit::TargetFailed
            }
            OutcomeStatus::Unreachable => Exit::Unreachable,
        }
    }

    #[cfg(test)]
    pub(crate) const ALL: [OutcomeStatus; 12] = [
        OutcomeStatus::Synced,
        OutcomeStatus::Verified,
        OutcomeStatus::Queued,
        OutcomeStatus::Planned,
        OutcomeStatus::Skipped,
        OutcomeStatus::Failed,
        OutcomeStatus::NotStarted,
        OutcomeStatus::TimedOut,
        OutcomeStatus::Unreachable,
        OutcomeStatus::AlreadyImported,
        OutcomeStatus::Superseded,
        OutcomeStatus::Conflict,
    ];

    /// The name in the JSON contract, the reports and the merge request note.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Synced => "synced",
            OutcomeStatus::Verified => "verified",
            OutcomeStatus::Queued => "queued",
            OutcomeStatus::Planned => "planned",
            OutcomeStatus::Skipped => "skipped",
            OutcomeStatus::Failed => "failed",
            OutcomeStatus::NotStarted => "not_started",
            OutcomeStatus::TimedOut => "timed_out",
            OutcomeStatus::Unreachable => "unreachable",
            OutcomeStatus::AlreadyImported => "already_imported",
            OutcomeStatus::Superseded => "superseded",
            OutcomeStatus::Conflict => "conflict",
        }
    }
}

/// How one target's sync ended.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub status: OutcomeStatus,
    pub message: String,
    pub fix: Option<String>,
    /// GitBook's own fix-it link for a failed operation.
    pub error_action: Option<ErrorAction>,
    /// GitBook's last known operation.
    pub operation: Option<Operation>,
    /// The merge request opened (or found open) after an export.
    pub merge_request: Option<String>,
    /// GitBook's page of the space's live revision (`urls.app`), after an
    /// import of the sync branch.
    pub docs_url: Option<String>,
    /// The commit GitBook's live revision holds (`git.oid`).
    pub live_commit: Option<String>,
    /// Who is at fault when the status alone does not say the exit code.
    pub fault: Fault,
    /// What GitBook held that Git did not, read before the import: on a
    /// `conflict`, what was kept; after `gitbook_edits = "overwrite"`, what
    /// was replaced.
    pub gitbook_edits: Option<GitBookEditsFound>,
    /// Open change requests in GitBook that edit a page the sync changes
    /// too (a warning), when any do or more were open than were read.
    pub change_requests: Option<OpenChangeRequests>,
    /// The docs pre-flight's findings new in the range.
    pub findings: Vec<Finding>,
    /// The docs pre-flight stopped the target: its request was never sent.
    pub stopped_before_sending: bool,
    /// The pages of the space's live revision read before a preview: file
    /// in the repository → GitBook's page, for the merge request note.
    pub live_pages: BTreeMap<String, String>,
    /// How long the preview's import took, from its request to GitBook's
    /// answer (or the end of waiting).
    pub elapsed: Option<Duration>,
}

/// Who a target's failure blames, beyond what its status says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    /// The target or its platform: the status says the exit code.
    Target,
    /// The run's configuration (an untrusted certificate, a header value
    /// HTTP cannot carry): exit 2.
    Configuration,
    /// docsync itself (a request body it could not write): exit 4.
    Docsync,
}

impl Fault {
    /// The fault behind a failure that ends the run with `exit`.
    pub(crate) fn of(exit: Exit) -> Fault {
        match exit {
            Exit::BadInput => Fault::Configuration,
            Exit::LocalFailure => Fault::Docsync,
            _ => Fault::Target,
        }
    }
}

impl Outcome {
    /// The exit code this outcome ends the run with.
    pub(crate) fn exit(&self) -> Exit {
        match self.fault {
            Fault::Target => self.status.exit(),
            Fault::Configuration => Exit::BadInput,
            Fault::Docsync => Exit::LocalFailure,
        }
    }

    pub(crate) fn new(status: OutcomeStatus, message: impl Into<String>) -> Outcome {
        Outcome {
            status,
            message: message.into(),
            fix: None,
            error_action: None,
            operation: None,
            merge_request: None,
            docs_url: None,
            live_commit: None,
            fault: Fault::Target,
            gitbook_edits: None,
            change_requests: None,
            findings: Vec::new(),
            stopped_before_sending: false,
            live_pages: BTreeMap::new(),
            elapsed: None,
        }
    }

    pub(crate) fn with_fix(mut self, fix: impl Into<String>) -> Outcome {
        self.fix = Some(fix.into());
        self
    }

    pub(crate) fn with_operation(mut self, operation: Operation) -> Outcome {
        self.operation = Some(operation);
        self
    }
}
