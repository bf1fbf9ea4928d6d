//! Queueing an operation and waiting for GitBook's verdict on it: sending
//! an import or export (looking for it before ever sending it again),
//! polling `git/info` within the wait's limits, telling our operation from
//! someone else's and pinning it once seen, and logging progress.

use std::ops::ControlFlow;
use std::time::Duration;

use time::OffsetDateTime;

use crate::targets::gitbook::GitRequestBody;
use crate::targets::gitbook::answers::{GitSyncState, Operation, OperationState, Whose, whose};
use crate::targets::gitbook::client::{AnsweredAt, GitBookClient, GitBookError, Sent};

/// The end of one target's GitBook operation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    Success(Operation),
    Failed(Operation),
    /// Ours was still running, or had not started, when the wait ran out.
    StillRunning(Option<Operation>),
    /// No operation of ours started within the start timeout; the last
    /// operation seen, someone else's, if any.
    NotStarted(Option<Operation>),
    /// Ours was seen, then another operation (or none) took its place
    /// before ours was seen to end: GitBook no longer shows ours.
    Replaced {
        ours: Operation,
        by: Option<Box<Operation>>,
    },
    /// The token may not read git info: the operation was queued, its result
    /// is not known.
    CannotWatch(String),
    /// `git/info` stayed unreadable (5xx, invalid answers, no answer): the
    /// operation was queued, its result is not known.
    Unreadable(String),
    /// What GitBook shows cannot be matched to our request (a `startedAt`
    /// that cannot be read): the operation was queued, its result is not
    /// known.
    Unmatched(String),
}

/// How the wait is bounded and paced.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WaitLimits {
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
pub(crate) const PROGRESS_EVERY: Duration = Duration::from_secs(30);

/// Decides when a progress line is due: when what GitBook shows changes, or
/// [`PROGRESS_EVERY`] after the last line.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    last_line: Option<(Duration, String)>,
}

impl Progress {
    /// The line to log now, `waited` into the wait, if one is due.
    pub(crate) fn line(&mut self, waited: Duration, status: String) -> Option<String> {
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

/// How many times an import or export is sent again after an answer that
/// leaves open whether GitBook got it (timeout, dropped connection, 502,
/// 504), each time only after no operation of ours started within the
/// start timeout.
const AMBIGUOUS_RESENDS: u32 = 2;

/// Sends the import or export; GitBook's time of acceptance, by its clock
/// (or why it is not known). After an answer that leaves open whether
/// GitBook got it, it looks at `git/info` for an operation of ours up to the
/// start timeout: one that started means the request went through, and it
/// is never sent again; none means GitBook did not process it, and it is
/// sent again, at most [`AMBIGUOUS_RESENDS`] times. Without `look` (a
/// preview, which `git/info` cannot tell from a branch import) it is never
/// sent again.
pub(crate) async fn queue(
    client: &GitBookClient<'_>,
    direction: &str,
    body: &GitRequestBody,
    limits: WaitLimits,
    look: bool,
) -> Result<AnsweredAt, GitBookError> {
    let space = &client.target.space;
    let mut resends = 0;
    loop {
        let sent = tokio::time::Instant::now();
        let ambiguous = match client.send(direction, body).await? {
            Sent::Accepted(at) => return Ok(at),
            Sent::Ambiguous(error) => error,
        };
        if !look {
            tracing::warn!(
                "space {space}: {ambiguous}; git/info cannot show whether GitBook got it, so it is not sent again"
            );
            return Err(GitBookError::Unreachable(ambiguous));
        }
        tracing::info!(
            "space {space}: GitBook may have queued the {direction} ({ambiguous}); waiting up to {} (DOCSYNC_START_TIMEOUT) for it to start before sending it again",
            crate::settings::duration::format_duration(limits.start)
        );
        match look_for_ours(client, direction, sent, limits).await {
            Look::Started(since) => {
                tracing::info!(
                    "space {space}: GitBook started the {direction} although its answer was lost; following it"
                );
                return Ok(Ok(since));
            }
            Look::NotStarted if resends < AMBIGUOUS_RESENDS => {
                resends += 1;
                tracing::warn!(
                    "space {space}: no {direction} of ours started within {}: GitBook did not process it; sending it again ({resends}/{AMBIGUOUS_RESENDS})",
                    crate::settings::duration::format_duration(limits.start)
                );
            }
            Look::NotStarted => return Err(GitBookError::Unreachable(ambiguous)),
            Look::Unknown(why) => {
                tracing::warn!(
                    "space {space}: cannot tell whether GitBook got the {direction} ({why}); not sending it again"
                );
                return Err(GitBookError::Unreachable(ambiguous));
            }
        }
    }
}

/// What `git/info` showed after an ambiguous answer.
enum Look {
    /// An operation of ours started: when GitBook may have got the request
    /// at the earliest, by its clock.
    Started(OffsetDateTime),
    /// Nothing of ours within the start timeout.
    NotStarted,
    /// `git/info` cannot tell: why.
    Unknown(String),
}

/// Reads `git/info`, paced as the wait is, until an operation of ours shows
/// or the start timeout (counted from the ambiguous answer) passes; at
/// least once.
async fn look_for_ours(
    client: &GitBookClient<'_>,
    direction: &str,
    sent: tokio::time::Instant,
    limits: WaitLimits,
) -> Look {
    let deadline = tokio::time::Instant::now() + limits.start;
    let mut unreadable = 0;
    let mut interval = limits.poll;
    let mut since = None;
    loop {
        let now = tokio::time::Instant::now();
        if now >= deadline && since.is_some() {
            return Look::NotStarted;
        }
        tokio::time::sleep(interval.min(deadline.saturating_duration_since(now))).await;
        interval = (interval.mul_f64(1.5)).min(limits.poll * 5);
        let (state, answered) = match judge_read(client.info_at().await, &mut unreadable, limits.unreadable) {
            Read::State(answer) => answer,
            Read::Again(_) => continue,
            Read::Ended(Unwatchable::Refused(why) | Unwatchable::Unreadable(why)) => return Look::Unknown(why),
        };
        // The request cannot have reached GitBook before it was sent: its
        // clock at this answer, less the time since sending.
        let since = match (since, answered) {
            (Some(since), _) => since,
            (None, Ok(at)) => *since.insert(at - time::Duration::try_from(sent.elapsed()).unwrap_or_default()),
            (None, Err(why)) => return Look::Unknown(why.to_string()),
        };
        match state.operation.as_ref().map(|op| whose(since, op, direction)) {
            Some(Whose::Ours) => return Look::Started(since),
            Some(Whose::Unknown(why)) => return Look::Unknown(why),
            Some(Whose::Someone) | None => {}
        }
    }
}

/// Polls `git/info` until our operation ends or the wait runs out, logging
/// progress. Every read is bounded by what is left of the wait.
pub(crate) async fn wait_for_verdict(
    client: &GitBookClient<'_>,
    accepted: OffsetDateTime,
    direction: &str,
    limits: WaitLimits,
) -> Verdict {
    let space = &client.target.space;
    let started = tokio::time::Instant::now();
    let deadline = started + limits.total;
    let mut watch = Watch { accepted, direction, start: limits.start, ours: None, foreign: None, unmatched: None };
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
        let state: GitSyncState = match judge_read(read, &mut unreadable, limits.unreadable) {
            Read::State(state) => state,
            Read::Again(error) => {
                tracing::warn!("space {space}: cannot read the {direction}'s state ({error}); reading again");
                continue;
            }
            Read::Ended(Unwatchable::Refused(why)) => return Verdict::CannotWatch(why),
            Read::Ended(Unwatchable::Unreadable(why)) => return Verdict::Unreadable(why),
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
enum Read<T> {
    State(T),
    /// Unreadable this time: read again.
    Again(GitBookError),
    /// The state cannot be watched: the wait ends.
    Ended(Unwatchable),
}

/// Why `git/info` cannot be watched.
enum Unwatchable {
    /// The token may not read it.
    Refused(String),
    /// It stayed unreadable.
    Unreadable(String),
}

/// Judges a read; `unreadable` counts the unreadable answers in a row, of
/// which `tolerated` are read again.
fn judge_read<T>(read: Result<T, GitBookError>, unreadable: &mut u32, tolerated: u32) -> Read<T> {
    match read {
        Ok(state) => {
            *unreadable = 0;
            Read::State(state)
        }
        Err(GitBookError::Unauthorized { source, .. }) => Read::Ended(Unwatchable::Refused(source.to_string())),
        // The client already retried what can be retried.
        Err(error @ GitBookError::Unreachable(_)) => Read::Ended(Unwatchable::Unreadable(error.to_string())),
        // 5xx and answers that do not decode: read again, a few times.
        Err(error) => {
            *unreadable += 1;
            if *unreadable > tolerated {
                Read::Ended(Unwatchable::Unreadable(error.to_string()))
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
    /// Our operation, pinned once seen: GitBook shows only the latest, so
    /// any other in its place means ours is no longer visible.
    ours: Option<Operation>,
    /// The last operation seen that was someone else's.
    foreign: Option<Operation>,
    /// Why the last operation of our direction could not be matched.
    unmatched: Option<String>,
}

impl Watch<'_> {
    /// Takes in the latest operation `waited` into the wait: the verdict
    /// when the wait ends, else the status to show.
    fn follow(&mut self, latest: Option<Operation>, waited: Duration, space: &str) -> ControlFlow<Verdict, String> {
        if let Some(pinned) = &self.ours {
            return match latest {
                Some(operation) if operation.is(pinned) => self.follow_ours(operation, space),
                other => ControlFlow::Break(Verdict::Replaced { ours: pinned.clone(), by: other.map(Box::new) }),
            };
        }
        let Some(operation) = latest else { return self.wait_for_ours(None, waited) };
        match whose(self.accepted, &operation, self.direction) {
            Whose::Ours => self.follow_ours(operation, space),
            Whose::Someone => self.wait_for_ours(Some(operation), waited),
            Whose::Unknown(why) => {
                self.unmatched = Some(why);
                self.wait_for_ours(Some(operation), waited)
            }
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
        if waited >= self.start {
            // An operation whose start cannot be read may be ours: say that,
            // not that GitBook started nothing.
            return ControlFlow::Break(match self.unmatched.take() {
                Some(why) => Verdict::Unmatched(why),
                None => Verdict::NotStarted(other.or(self.foreign.take())),
            });
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
