//! Git: the repository (read through libgit2), the pipeline's commit range,
//! the change set between two trees with git's rename detection, fetching
//! what a shallow or partial clone lacks, and the HTTP transport libgit2
//! fetches through when a shallow clone is deepened, and the working tree's
//! status.

pub(crate) mod diff;
pub(crate) mod fetch;
pub(crate) mod range;
pub(crate) mod remote;
pub(crate) mod renames;
pub(crate) mod repo;
pub(crate) mod transport;
pub(crate) mod worktree;
