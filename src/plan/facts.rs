//! What a plan is decided on: the facts `commands::facts` gathers from git
//! and GitLab before anything is decided. Data only, apart from the code
//! that gathers it, so that [`super::decide`] is a pure function of it.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::git::diff::Change;
use crate::git::range::CommitRange;
use crate::git::remote::Project;
use crate::git::repo::{Ancestry, CommitInfo};
use crate::settings::target_id::TargetId;
use crate::targets::dot::PushHistory;

/// Everything the decision reads beyond the settings.
pub(crate) struct Facts {
    /// The commit range, with GitLab's compare answer when the base is not
    /// in the clone; the sync watermark chose its base.
    pub range: CommitRange,
    /// The range's change set.
    pub changes: Vec<Change>,
    /// The range's commits, newest first (only the head for a full sync).
    pub commits: Vec<CommitInfo>,
    /// Project directories that do not exist at head, each with the
    /// nearest directory that does, when one is close.
    pub absent_directories: BTreeMap<String, Option<String>>,
    /// The head commit's committer time: the ordering timestamp outside CI.
    pub head_time: OffsetDateTime,
    /// The project, from `CI_PROJECT_URL` or the origin remote.
    pub project: Option<Project>,
    /// The checkout's branch, outside CI.
    pub checkout_branch: Option<String>,
    /// Set by `docsync export`: the command is itself a request, whatever
    /// the pipeline.
    pub requested_by: Option<RequestedBy>,
    /// What each GitBook space shows now, by target: read once per target
    /// that could import, in CI with a GitBook token; empty otherwise.
    pub live: BTreeMap<TargetId, LiveBase>,
}

/// A GitBook space's live revision, as far as the base of its change set
/// is concerned.
#[derive(Debug, Clone)]
pub(crate) enum LiveBase {
    /// The live commit is an ancestor of head: the space's change set is
    /// the changes since it.
    Ancestor { commit: String, changes: Vec<Change> },
    /// The live commit is head: nothing to import (the guard says
    /// `already_imported` unless the run was asked for).
    Head { commit: String },
    /// The live commit is not an ancestor of head (newer, another history,
    /// or not in the branch's fetched history).
    NotAncestor { commit: String, ancestry: Ancestry },
    /// The live revision names no commit (a space never imported, or
    /// edited in GitBook since).
    NoCommit,
    /// The live revision could not be read; why.
    Unread(String),
}

/// A command that is itself a request for a sync, whatever the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestedBy {
    /// `docsync export`.
    Export,
}

impl RequestedBy {
    /// The command as reasons and refusals name it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RequestedBy::Export => "docsync export",
        }
    }
}

/// What the push events of Dot targets need beyond the range: its commits,
/// each with its own changes. Gathered only when the decision has a target
/// send one ([`super::sends_push_events`]), as a diff per commit is not free.
pub(crate) struct PushFacts {
    pub history: PushHistory,
    /// Every file of head's tree, for a manual pipeline: a request acts on
    /// every target, so its event lists every relevant file (a full sync),
    /// whatever the range holds.
    pub tree: Option<Vec<Change>>,
}
