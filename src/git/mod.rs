//! Git: the repository (read through libgit2), the pipeline's commit range,
//! the change set between two trees with git's rename detection, fetching
//! what a shallow or partial clone lacks, and the HTTP transport libgit2
//! fetches through when a shallow clone is deepened, and the working tree's
//! status.

pub mod diff;
pub mod fetch;
pub mod range;
pub mod remote;
pub mod renames;
pub mod repo;
pub mod transport;
pub mod worktree;
