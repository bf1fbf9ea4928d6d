//! Waiting for GitBook's verdict on an operation docsync queued: polling
//! `git/info` within the wait's limits, telling our operation from someone
//! else's, and logging progress.

use std::ops::ControlFlow;
use std::time::Duration;

use time::OffsetDateTime;

use crate::targets::gitbook::answers::{GitSyncState, Operation, OperationState, is_our_operation};
use crate::targets::gitbook::client::{GitBookClient, GitBookError};

/// The end of one target's GitBook operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Success(Operation),
    Failed(Operation),
    /// Ours was still running, or had not started, when the wait ran out.
    StillRunning(Option<Operation>),
    /// No operation of ours started within the start timeout; the last
    /// operation seen, someone else's, if any.
    NotStarted(Option<Operation>),
    /// The token may not read git info: the operation was queued, its result
    /// is not known.
    CannotWatch(String),
    /// `git/info` stayed unreadable (5xx, invalid answers, no answer): the
    /// operation was queued, its result is not known.
    Unreadable(String),
}

/// How the wait is bounded and paced.
#[derive(Debug, Clone, Copy)]
pub struct WaitLimits {
    /// The whole wait, a hanging read included (`DOCSYNC_WAIT_TIMEOUT`).
    pub total: Duration,
    /// Until an operation of ours must have started (`DOCSYNC_START_TIMEOUT`).
    pub start: Duration,
    /// The first pause between reads; it grows to five times this.
    pub poll: Duration,
    /// Unreadable answers in a row tolerated before giving up (`DOCSYNC_RETRIES`).
    pub unreadable: u32,
}

/// A progress line at least this often while waiting.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Decides when a progress line is due: when what GitBook shows changes, or
/// [`PROGRESS_EVERY`] after the last line.
#[derive(Debug, Default)]
pub struct Progress {
    last_line: Option<(Duration, String)>,
}

impl Progress {
    /// The line to log now, `waited` into the wait, if one is due.
    pub fn line(&mut self, waited: Duration, status: String) -> Option<String> {
        let due = match &self.last_line {
            None => true,
            Some((at, last)) => *last != status || waited.saturating_sub(*at) >= PROGRESS_EVERY,
        };
        if !due {
            return None;
        }
        let line = format!("{status}; waited {}", crate::settings::duration::format_duration(round_seconds(waited)));
        self.last_line = Some((waited, status));
        Some(line)
    }
}

fn round_seconds(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs())
}

/// Polls `git/info` until our operation ends or the wait runs out, logging
/// progress. Every read is bounded by what is left of the wait.
pub async fn wait_for_verdict(
    client: &GitBookClient<'_>,
    accepted: OffsetDateTime,
    direction: &str,
    limits: WaitLimits,
) -> Verdict {
    let space = &client.target.space;
    let started = tokio::time::Instant::now();
    let deadline = started + limits.total;
    let mut watch = Watch { accepted, direction, start: limits.start, ours: None, foreign: None };
    let mut unreadable = 0;
    let mut progress = Progress::default();
    let mut interval = limits.poll;
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline {
            return Verdict::StillRunning(watch.ours);
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
        interval = (interval.mul_f64(1.5)).min(limits.poll * 5);
        let read = tokio::time::timeout_at(deadline, client.info()).await;
        let waited = started.elapsed();
        let Ok(read) = read else { return Verdict::StillRunning(watch.ours) };
        let state = match judge_read(read, &mut unreadable, limits.unreadable) {
            Read::State(state) => state,
            Read::Again(error) => {
                tracing::warn!("space {space}: cannot read the {direction}'s state ({error}); reading again");
                continue;
            }
            Read::Ended(verdict) => return verdict,
        };
        let status = match watch.follow(state.operation, waited, space) {
            ControlFlow::Continue(status) => status,
            ControlFlow::Break(verdict) => return verdict,
        };
        if let Some(line) = progress.line(waited, status) {
            tracing::info!("space {space}: {line}");
        }
    }
}

/// One read of `git/info`, judged.
enum Read {
    State(GitSyncState),
    /// Unreadable this time: read again.
    Again(GitBookError),
    /// The state cannot be watched: the wait ends.
    Ended(Verdict),
}

/// Judges a read; `unreadable` counts the unreadable answers in a row, of
/// which `tolerated` are read again.
fn judge_read(read: Result<GitSyncState, GitBookError>, unreadable: &mut u32, tolerated: u32) -> Read {
    match read {
        Ok(state) => {
            *unreadable = 0;
            Read::State(state)
        }
        Err(GitBookError::Unauthorized { source, .. }) => Read::Ended(Verdict::CannotWatch(source.to_string())),
        // The client already retried what can be retried.
        Err(error @ GitBookError::Unreachable(_)) => Read::Ended(Verdict::Unreadable(error.to_string())),
        // 5xx and answers that do not decode: read again, a few times.
        Err(error) => {
            *unreadable += 1;
            if *unreadable > tolerated {
                Read::Ended(Verdict::Unreadable(error.to_string()))
            } else {
                Read::Again(error)
            }
        }
    }
}

/// What the wait has seen of the operations on the space.
struct Watch<'a> {
    /// When GitBook accepted our request, by its clock.
    accepted: OffsetDateTime,
    direction: &'a str,
    /// Until an operation of ours must have started.
    start: Duration,
    /// Our operation, once it started.
    ours: Option<Operation>,
    /// The last operation seen that was someone else's.
    foreign: Option<Operation>,
}

impl Watch<'_> {
    /// Takes in the latest operation `waited` into the wait: the verdict
    /// when the wait ends, else the status to show.
    fn follow(&mut self, latest: Option<Operation>, waited: Duration, space: &str) -> ControlFlow<Verdict, String> {
        match latest {
            Some(operation) if is_our_operation(self.accepted, &operation, self.direction) => {
                self.follow_ours(operation, space)
            }
            other => self.wait_for_ours(other, waited),
        }
    }

    fn follow_ours(&mut self, operation: Operation, space: &str) -> ControlFlow<Verdict, String> {
        match operation.state {
            OperationState::Success => {
                tracing::info!("space {space}: {}", operation.describe());
                return ControlFlow::Break(Verdict::Success(operation));
            }
            OperationState::Failure | OperationState::Timeout => {
                tracing::info!("space {space}: {}", operation.describe());
                return ControlFlow::Break(Verdict::Failed(operation));
            }
            OperationState::Running | OperationState::Unknown => {}
        }
        let status = operation.describe();
        self.ours = Some(operation);
        ControlFlow::Continue(status)
    }

    /// `other`, the latest operation, is not ours (or there is none).
    fn wait_for_ours(&mut self, other: Option<Operation>, waited: Duration) -> ControlFlow<Verdict, String> {
        let direction = self.direction;
        if self.ours.is_none() && waited >= self.start {
            return ControlFlow::Break(Verdict::NotStarted(other.or(self.foreign.take())));
        }
        let status = match &other {
            Some(op) if op.state == OperationState::Running => format!(
                "another operation is in progress ({}, started {}); waiting for GitBook to start our {direction}",
                op.describe(),
                op.started_at.as_deref().unwrap_or("at an unknown time")
            ),
            _ => format!("waiting for GitBook to start the {direction}"),
        };
        if other.is_some() {
            self.foreign = other;
        }
        ControlFlow::Continue(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_logged_on_change_and_at_least_every_30_seconds() {
        let mut progress = Progress::default();
        let running = || "import running (repo_fetch)".to_owned();
        assert_eq!(
            progress.line(Duration::from_secs(1), running()).as_deref(),
            Some("import running (repo_fetch); waited 1s")
        );
        assert_eq!(progress.line(Duration::from_secs(20), running()), None);
        assert!(progress.line(Duration::from_secs(25), "import running (finalize)".into()).is_some());
        assert_eq!(progress.line(Duration::from_secs(54), "import running (finalize)".into()), None);
        assert_eq!(
            progress.line(Duration::from_millis(55_400), "import running (finalize)".into()).as_deref(),
            Some("import running (finalize); waited 55s")
        );
    }
}
