//! Git: the repository (read through libgit2), the pipeline's commit range,
//! the change set between two trees with git's rename detection, and the
//! HTTP transport libgit2 fetches through when a shallow clone is deepened.

pub mod range;
pub mod remote;
pub mod renames;
pub mod repo;
pub mod transport;
