//! Logs: one line per event on stderr, through the secret redactor; colour
//! only where it renders; GitLab collapsible sections around long phases.

use std::io::{self, IsTerminal, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::Level;
use tracing_subscriber::fmt::MakeWriter;

use crate::secret::redact;

/// What decides whether logs are coloured and sectioned.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    pub gitlab_ci: bool,
    pub no_color: bool,
    pub stderr_is_tty: bool,
}

impl Terminal {
    /// GitLab's job log renders ANSI although its shell says `TERM=dumb`;
    /// elsewhere colour needs a terminal. `NO_COLOR` always wins.
    pub fn colour(self) -> bool {
        !self.no_color && (self.gitlab_ci || self.stderr_is_tty)
    }

    pub fn detect(gitlab_ci: bool, no_color: bool) -> Terminal {
        Terminal { gitlab_ci, no_color, stderr_is_tty: io::stderr().is_terminal() }
    }
}

/// Log level from `-v`/`-q` counts.
pub fn level(verbose: u8, quiet: u8) -> Level {
    match (verbose, quiet) {
        (0, 0) => Level::INFO,
        (1, _) => Level::DEBUG,
        (v, _) if v >= 2 => Level::TRACE,
        (_, 1) => Level::WARN,
        _ => Level::ERROR,
    }
}

pub fn init(level: Level, terminal: Terminal) {
    let _ = tracing_subscriber::fmt()
        .with_writer(RedactingStderr)
        .with_max_level(level)
        .with_ansi(terminal.colour())
        .with_target(false)
        .without_time()
        .try_init();
}

/// Writes each log event to stderr in one piece, secrets masked.
struct RedactingStderr;

pub struct EventBuffer(Vec<u8>);

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
        let text = redact(&String::from_utf8_lossy(&self.0));
        let _ = io::stderr().lock().write_all(text.as_bytes());
    }
}

/// Prints an error that ended the run, with its whole chain, once.
pub fn error(error: &anyhow::Error) {
    let text = redact(&format!("error: {error:#}\n"));
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// Writes the result to stdout, secrets masked.
pub fn result(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(redact(text).as_bytes())?;
    out.flush()
}

/// A GitLab collapsible section in the job log; closed when dropped.
/// Outside GitLab CI it is a plain log line.
pub struct Section {
    name: String,
    gitlab: bool,
}

impl Section {
    pub fn start(terminal: Terminal, name: &str, header: &str) -> Section {
        if terminal.gitlab_ci {
            let line = format!("\x1b[0Ksection_start:{}:{name}[collapsed=true]\r\x1b[0K{header}\n", unix_now());
            let _ = io::stderr().lock().write_all(redact(&line).as_bytes());
        } else {
            tracing::info!("{header}");
        }
        Section { name: name.to_owned(), gitlab: terminal.gitlab_ci }
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        if self.gitlab {
            let line = format!("\x1b[0Ksection_end:{}:{}\r\x1b[0K\n", unix_now(), self.name);
            let _ = io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

/// Text a server supplied, safe to print: control characters (newlines,
/// ANSI escapes) and bidirectional overrides (U+202E…) shown escaped, so a
/// user name or a path cannot forge lines or reorder what a reader sees.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi =
            matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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
    fn server_text_cannot_forge_lines_or_reorder_them() {
        assert_eq!(printable("ada\nok  DOCSYNC_GITLAB_TOKEN  fine"), "ada\\nok  DOCSYNC_GITLAB_TOKEN  fine");
        assert_eq!(printable("\x1b[32mok\x1b[0m"), "\\u{1b}[32mok\\u{1b}[0m");
        assert_eq!(printable("evil\u{202e}dm.txt"), "evil\\u{202e}dm.txt");
        assert_eq!(printable("Ada Writer — café"), "Ada Writer — café");
    }

    #[test]
    fn verbosity() {
        assert_eq!(level(0, 0), Level::INFO);
        assert_eq!(level(2, 0), Level::TRACE);
        assert_eq!(level(0, 2), Level::ERROR);
    }
}
