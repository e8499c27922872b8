//! Opening the files a user names (shared credentials and config files, token files,
//! realtime files, request bodies, components) so that none of them can hang the caller or
//! exhaust its memory.
//!
//! - Opened with `O_NONBLOCK`: opening a FIFO no writer has opened returns at once instead
//!   of waiting for one (for a regular file the flag changes nothing).
//! - Refused unless it is a regular file: a FIFO, a socket or a device (`/dev/zero`,
//!   `/dev/stdin`) is an error naming what it is. Standard input is read through
//!   [`read_stdin`], where the caller means it (`-`).
//! - Read with a size cap: a file larger than the caller's limit is an error, and nothing
//!   beyond the limit is read (a regular file may still lie about its size: `/proc` files say 0).
//!
//! What this does not bound: a read from a FUSE file whose daemon is wedged blocks in the
//! kernel. The realtime file, the one read while signing, runs its reads on a thread
//! with a deadline for that reason, and is the one input that may also be a FIFO (waited for
//! on that thread only; see [`crate::clock::realtime_file`]).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why a file could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum FileError {
    /// Opening or reading failed.
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not a regular file.
    NotRegular {
        /// The path.
        path: PathBuf,
        /// What it is, e.g. `a FIFO (named pipe)`.
        kind: &'static str,
    },
    /// Larger than the caller accepts.
    TooLarge {
        /// The path, or `standard input`.
        path: PathBuf,
        /// The cap, in bytes.
        limit: u64,
    },
}

impl FileError {
    /// Whether the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Self::NotRegular { path, kind } => {
                write!(f, "cannot read {}: it is {kind}, not a regular file", path.display())
            }
            Self::TooLarge { path, limit } => {
                write!(
                    f,
                    "cannot read {}: it is larger than {}",
                    path.display(),
                    human_size(*limit)
                )
            }
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// `64 KiB`, `16 MiB`: a cap as people write it.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// What a file type is, for messages: `a FIFO (named pipe)`, `a character device`, ...
pub fn describe(file_type: std::fs::FileType) -> &'static str {
    if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a FIFO (named pipe)"
    } else if file_type.is_socket() {
        "a socket"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

/// Opens `path` for reading with `O_NONBLOCK` (so the open itself never waits for a FIFO's
/// writer), whatever it is; the caller judges its metadata.
pub fn open_nonblocking(path: &Path) -> Result<(File, std::fs::Metadata), FileError> {
    let io = |source| FileError::Io {
        path: path.to_owned(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    Ok((file, meta))
}

/// Opens `path` for reading without blocking on a FIFO; refuses anything but a regular
/// file. Returns the file and the length its metadata reports.
pub fn open_regular(path: &Path) -> Result<(File, u64), FileError> {
    let (file, meta) = open_nonblocking(path)?;
    if !meta.file_type().is_file() {
        return Err(FileError::NotRegular {
            path: path.to_owned(),
            kind: describe(meta.file_type()),
        });
    }
    Ok((file, meta.len()))
}

/// Reads the regular file at `path` whole, refusing one larger than `limit` bytes.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let (file, len) = open_regular(path)?;
    let too_large = || FileError::TooLarge {
        path: path.to_owned(),
        limit,
    };
    if len > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| FileError::Io {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read_capped`], as UTF-8 text.
pub fn read_capped_string(path: &Path, limit: u64) -> Result<String, FileError> {
    let bytes = read_capped(path, limit)?;
    String::from_utf8(bytes).map_err(|e| FileError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ),
    })
}

/// Reads standard input to its end, refusing more than `limit` bytes.
pub fn read_stdin(limit: u64) -> Result<Vec<u8>, FileError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| FileError::Io {
            path: "standard input".into(),
            source,
        })?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge {
            path: "standard input".into(),
            limit,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_and_fifos_are_refused_at_once() {
        let e = read_capped(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read /dev/zero: it is a character device, not a regular file"
        );
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR).unwrap();
        let started = std::time::Instant::now();
        let e = read_capped(&fifo, 1 << 20).unwrap_err();
        assert!(
            e.to_string().ends_with("it is a FIFO (named pipe), not a regular file"),
            "{e}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "did not wait for a writer"
        );
        let e = read_capped(dir.path(), 1 << 20).unwrap_err();
        assert!(e.to_string().ends_with("it is a directory, not a regular file"), "{e}");
    }

    #[test]
    fn the_cap_is_enforced_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'x'; 2048]).unwrap();
        assert_eq!(read_capped(&path, 2048).unwrap().len(), 2048);
        let e = read_capped(&path, 1024).unwrap_err();
        assert!(e.to_string().ends_with("it is larger than 1 KiB"), "{e}");
        assert!(read_capped(&dir.path().join("missing"), 1).unwrap_err().is_not_found());
    }
}
