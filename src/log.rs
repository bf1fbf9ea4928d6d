//! Every writer of output: logs (one line per event on stderr, colour only
//! where it renders, GitLab collapsible sections around long phases), the
//! result on stdout and the report files. Each takes [`Redacted`] text
//! only; clippy's `disallowed-methods` (clippy.toml) keeps stdout, stderr
//! and file writes out of every other module.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::Level;
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::MakeWriter;

use crate::secret::Redacted;
pub(crate) use crate::secret::printable;

/// What decides whether logs are coloured and sectioned.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Terminal {
    pub gitlab_ci: bool,
    pub no_color: bool,
    pub stderr_is_tty: bool,
}

impl Terminal {
    /// GitLab's job log renders ANSI although its shell says `TERM=dumb`;
    /// elsewhere colour needs a terminal. `NO_COLOR` always wins.
    pub(crate) fn colour(self) -> bool {
        !self.no_color && (self.gitlab_ci || self.stderr_is_tty)
    }

    #[allow(clippy::disallowed_methods, reason = "asks whether stderr is a terminal; writes nothing")]
    pub(crate) fn detect(gitlab_ci: bool, no_color: bool) -> Terminal {
        Terminal { gitlab_ci, no_color, stderr_is_tty: io::stderr().is_terminal() }
    }
}

/// Log level from `-v`/`-q` counts.
pub(crate) fn level(verbose: u8, quiet: u8) -> Level {
    match (verbose, quiet) {
        (0, 0) => Level::INFO,
        (1, _) => Level::DEBUG,
        (v, _) if v >= 2 => Level::TRACE,
        (_, 1) => Level::WARN,
        _ => Level::ERROR,
    }
}

pub(crate) fn init(level: Level, terminal: Terminal) {
    // Each field of an event is masked and escaped on its own, before the
    // formatter adds its colours: a server's text inside a message cannot
    // forge a line, reorder one, or colour one.
    let fields = tracing_subscriber::fmt::format::debug_fn(|writer, field, value| {
        let shown = Redacted::line(&format!("{value:?}"));
        match field.name() {
            "message" => write!(writer, "{shown}"),
            name => write!(writer, "{name}={shown}"),
        }
    })
    .delimited(" ");
    let _ = tracing_subscriber::fmt()
        .fmt_fields(fields)
        .with_writer(RedactingStderr)
        .with_max_level(level)
        .with_ansi(terminal.colour())
        .with_target(false)
        .without_time()
        .try_init();
}

/// Writes each log event to stderr in one piece, secrets masked.
struct RedactingStderr;

pub(crate) struct EventBuffer(Vec<u8>);

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = EventBuffer;
    fn make_writer(&'a self) -> EventBuffer {
        EventBuffer(Vec::with_capacity(256))
    }
}

impl Write for EventBuffer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for EventBuffer {
    fn drop(&mut self) {
        // The fields are escaped already; the line itself holds the
        // formatter's colours and line break, which stay.
        to_stderr(&Redacted::new(&String::from_utf8_lossy(&self.0)));
    }
}

#[allow(clippy::disallowed_methods, reason = "the one writer of stderr, and it takes redacted text")]
fn to_stderr(text: &Redacted) {
    let _ = io::stderr().lock().write_all(text.as_str().as_bytes());
}

/// Prints an error that ended the run, with its whole chain, once. Its
/// lines (the problem, then its fix) are docsync's; anything else that
/// could break or reorder a line is escaped.
pub(crate) fn error(error: &anyhow::Error) {
    to_stderr(&Redacted::lines(&format!("error: {error:#}\n")));
}

/// Writes the result to stdout.
#[allow(clippy::disallowed_methods, reason = "the one writer of stdout, and it takes redacted text")]
pub(crate) fn result(text: &Redacted) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_str().as_bytes())?;
    out.flush()
}

/// Writes a report file (dotenv, JSON, Code Quality).
#[allow(clippy::disallowed_methods, reason = "the one writer of report files, and it takes redacted text")]
pub(crate) fn write_report(path: &Path, text: &Redacted) -> io::Result<()> {
    std::fs::write(path, text.as_str())
}

/// A GitLab collapsible section in the job log; closed when dropped.
/// Outside GitLab CI it is a plain log line.
pub(crate) struct Section {
    name: String,
    gitlab: bool,
}

impl Section {
    pub(crate) fn start(terminal: Terminal, name: &str, header: &str) -> Section {
        if terminal.gitlab_ci {
            let header = Redacted::line(header);
            to_stderr(&Redacted::new(&format!(
                "\x1b[0Ksection_start:{}:{name}[collapsed=true]\r\x1b[0K{header}\n",
                unix_now()
            )));
        } else {
            tracing::info!("{header}");
        }
        Section { name: name.to_owned(), gitlab: terminal.gitlab_ci }
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        if self.gitlab {
            to_stderr(&Redacted::new(&format!("\x1b[0Ksection_end:{}:{}\r\x1b[0K\n", unix_now(), self.name)));
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_rules() {
        let t = |gitlab_ci, no_color, stderr_is_tty| Terminal { gitlab_ci, no_color, stderr_is_tty }.colour();
        assert!(t(true, false, false), "GitLab renders ANSI although TERM=dumb");
        assert!(!t(true, true, true), "NO_COLOR wins");
        assert!(!t(false, false, false), "no colour into a pipe");
        assert!(t(false, false, true));
    }

    #[test]
    fn verbosity() {
        assert_eq!(level(0, 0), Level::INFO);
        assert_eq!(level(2, 0), Level::TRACE);
        assert_eq!(level(0, 2), Level::ERROR);
    }
}
