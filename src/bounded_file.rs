//! Reading a file whole, within a stated limit. A path that names a device
//! or a FIFO by mistake (`--config /dev/zero`) or an outsized file must end
//! in an error naming it, not in a process that grows until the runner
//! kills it: the kind and the size are checked before the file is opened,
//! and no more than the limit is read even if the file grows meanwhile.

use std::fmt;
use std::io::Read;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub(crate) enum Refused {
    /// A directory, device, FIFO or socket: what it is.
    NotAFile(&'static str),
    /// Larger than the limit; `size` is `None` when the file grew past the
    /// limit while it was read.
    TooLarge {
        size: Option<u64>,
        limit: u64,
    },
    Io(std::io::Error),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::NotAFile(kind) => write!(f, "it is {kind}, not a regular file"),
            Refused::TooLarge { size: Some(size), limit } => {
                write!(f, "it is {}, more than the {} docsync reads", shown_size(*size), shown_size(*limit))
            }
            Refused::TooLarge { size: None, limit } => {
                write!(f, "it grew past the {} docsync reads while it was read", shown_size(*limit))
            }
            Refused::Io(error) => error.fmt(f),
        }
    }
}

impl Refused {
    /// Whether the file does not exist (an optional file may be absent).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, Refused::Io(error) if error.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The bytes of the regular file at `path` (symbolic links followed), if it
/// holds at most `limit` bytes.
pub(crate) fn read(path: &Path, limit: u64) -> Result<Vec<u8>, Refused> {
    // Before opening: opening a FIFO blocks until someone writes to it.
    let metadata = std::fs::metadata(path).map_err(Refused::Io)?;
    if !metadata.is_file() {
        return Err(Refused::NotAFile(kind_of(&metadata.file_type())));
    }
    if metadata.len() > limit {
        return Err(Refused::TooLarge { size: Some(metadata.len()), limit });
    }
    let file = std::fs::File::open(path).map_err(Refused::Io)?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(Refused::Io)?;
    if bytes.len() as u64 > limit {
        return Err(Refused::TooLarge { size: None, limit });
    }
    Ok(bytes)
}

#[cfg(unix)]
fn kind_of(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "something else"
    }
}

#[cfg(not(unix))]
fn kind_of(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() { "a directory" } else { "something else" }
}

/// `1 MiB`, `11.5 MiB`, `512 bytes`.
fn shown_size(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    if bytes < MIB {
        format!("{bytes} bytes")
    } else if bytes % MIB == 0 {
        format!("{} MiB", bytes / MIB)
    } else {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_directories_and_fifos_are_refused_without_being_opened() {
        assert_eq!(
            read(Path::new("/dev/zero"), 1024).expect_err("device").to_string(),
            "it is a character device, not a regular file"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        assert_eq!(read(dir.path(), 1024).expect_err("dir").to_string(), "it is a directory, not a regular file");
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
        // Opened, a FIFO without a writer would block this test forever.
        assert_eq!(read(&fifo, 1024).expect_err("fifo").to_string(), "it is a FIFO, not a regular file");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_at_the_limit_it_is_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("file");
        std::fs::write(&path, vec![b'x'; 2048]).expect("write");
        assert_eq!(read(&path, 2048).expect("read").len(), 2048);
        assert_eq!(
            read(&path, 2047).expect_err("large").to_string(),
            "it is 2048 bytes, more than the 2047 bytes docsync reads"
        );
        std::fs::write(&path, vec![b'x'; 3 * 1024 * 1024 / 2]).expect("write");
        assert_eq!(
            read(&path, 1024 * 1024).expect_err("large").to_string(),
            "it is 1.5 MiB, more than the 1 MiB docsync reads"
        );
        assert!(read(&dir.path().join("missing"), 1).expect_err("missing").is_not_found());
    }
}
