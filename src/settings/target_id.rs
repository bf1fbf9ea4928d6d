//! [`TargetId`]: which target a decision, an outcome or a report line is
//! about. Settings make the targets and give each its id; the plan, the run
//! and the output join on it instead of on the target's name.

/// A target, by where it was described: a `[[target]]` table by its place
/// in `docsync.toml`, or one of the environment's two shorthand targets.
/// Unique among a run's targets, and kept when `--target` or `docsync
/// export` leaves some targets out (a position in the list would not be).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetId {
    /// The `[[target]]` table at this index, counted from 0.
    Table(usize),
    /// `DOCSYNC_GITBOOK_SPACE` (flag, variable or `[defaults]`).
    GitBookShorthand,
    /// `DOCSYNC_DOT_WEBHOOK_URL` (flag, variable or `[defaults]`).
    DotShorthand,
    /// A space installation found in the GitBook site
    /// (`DOCSYNC_GITBOOK_SITE`), by its place among the discovered targets.
    Discovered(usize),
}
