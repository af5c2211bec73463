//! What can go wrong with a file in Candor's folder, in one line.

use std::path::{Path, PathBuf};

/// A file or folder Candor cannot use. Each variant renders as one line naming the path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Something other than a regular file (a symlink, FIFO, device or folder) is where a file
    /// is expected; Candor neither follows nor opens it.
    #[error("{}: is a {found}, not a regular file; Candor does not follow or open it", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What is there instead.
        found: &'static str,
    },
    /// Something other than a folder (a symlink, a file) is where a folder is expected.
    #[error("{}: is a {found}, not a folder; Candor does not follow it", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
        /// What is there instead.
        found: &'static str,
    },
    /// The file is larger than Candor reads.
    #[error("{}: larger than {max} bytes, not read", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// The cap.
        max: u64,
    },
    /// Another process holds the lock longer than the deadline allowed.
    #[error("{}: still locked by another process after {waited_ms} ms", path.display())]
    Busy {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited_ms: u128,
    },
    /// The file's content is not what Candor wrote there.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The operating system refused.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl StateError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// Whether the error is "there is no such file".
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}
