//! The file primitives [`crate::StateDir`] is built on: safe folders, capped reads of regular
//! files only, whole-file writes by rename from a unique temporary name, appends that never
//! follow a link or block on a FIFO, and advisory locks with a deadline.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::StateError;

/// The cap on small files Candor reads back (keys, install ids, markers, configuration).
pub const MAX_SMALL_FILE: u64 = 256 * 1024;

/// Prefix of temporary files; anything starting with it is a write in progress.
pub const TEMP_PREFIX: &str = ".tmp-";

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let ft = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "FIFO";
        }
        if ft.is_socket() {
            return "socket";
        }
        if ft.is_block_device() || ft.is_char_device() {
            return "device";
        }
    }
    if ft.is_symlink() {
        "symlink"
    } else if ft.is_dir() {
        "folder"
    } else if ft.is_file() {
        "file"
    } else {
        "special file"
    }
}

/// What is at `path`, without following a symlink: `None` when nothing is.
fn lstat(path: &Path) -> Result<Option<std::fs::Metadata>, StateError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StateError::io(path, e)),
    }
}

/// What is at a path, as one `lstat` sees it: which file (device and inode), what kind, its
/// size and its modification and change times. Two stamps differ when the file was replaced
/// (a rename), rewritten in place, or turned into something else; reading a file only when its
/// stamp changed costs one system call per check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    device: u64,
    inode: u64,
    kind: &'static str,
    len: u64,
    modified: Option<std::time::SystemTime>,
    changed_ns: i64,
}

/// The stamp of what is at `path` (a symlink's own, never its target's); `None` when nothing
/// is there or it cannot be looked at.
pub fn stamp(path: &Path) -> Option<FileStamp> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    #[cfg(unix)]
    let (device, inode, changed_ns) = {
        use std::os::unix::fs::MetadataExt;
        (
            meta.dev(),
            meta.ino(),
            meta.ctime()
                .saturating_mul(1_000_000_000)
                .saturating_add(meta.ctime_nsec()),
        )
    };
    #[cfg(not(unix))]
    let (device, inode, changed_ns) = (0, 0, 0);
    Some(FileStamp {
        device,
        inode,
        kind: kind_of(&meta),
        len: meta.len(),
        modified: meta.modified().ok(),
        changed_ns,
    })
}

/// Fails unless `path` is absent or a regular file (never a symlink, FIFO, device or folder).
pub fn expect_file_or_absent(path: &Path) -> Result<bool, StateError> {
    match lstat(path)? {
        None => Ok(false),
        Some(meta) if meta.file_type().is_file() => Ok(true),
        Some(meta) => Err(StateError::NotAFile {
            path: path.to_owned(),
            found: kind_of(&meta),
        }),
    }
}

/// Creates `dir` (and missing parents) with mode `0700`; an existing folder of this user's
/// that others could read is narrowed to `0700`. A file, FIFO or dangling link at `dir` is an
/// error. A symlink to a folder is accepted (a user may keep `~/.config` elsewhere) but not
/// narrowed: the files inside are still opened without following links.
pub fn ensure_dir(dir: &Path) -> Result<(), StateError> {
    match lstat(dir)? {
        Some(meta) if meta.file_type().is_dir() => {
            narrow(dir, &meta, 0o700);
            return Ok(());
        }
        Some(meta)
            if meta.file_type().is_symlink()
                && std::fs::metadata(dir).is_ok_and(|m| m.is_dir()) =>
        {
            return Ok(());
        }
        Some(meta) => {
            return Err(StateError::NotAFolder {
                path: dir.to_owned(),
                found: kind_of(&meta),
            });
        }
        None => {}
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| StateError::io(dir, e))?;
    match lstat(dir)? {
        Some(meta) if meta.file_type().is_dir() => Ok(()),
        Some(meta) => Err(StateError::NotAFolder {
            path: dir.to_owned(),
            found: kind_of(&meta),
        }),
        None => Err(StateError::io(
            dir,
            io::Error::new(io::ErrorKind::NotFound, "vanished after it was created"),
        )),
    }
}

/// Removes group and other permissions Candor never grants, on a path this user owns.
fn narrow(path: &Path, meta: &std::fs::Metadata, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if meta.mode() & 0o077 != 0 && meta.uid() == rustix::process::getuid().as_raw() {
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
        }
    }
    #[cfg(not(unix))]
    let _ = (path, meta, mode);
}

/// Open flags that never follow a final symlink and never block on a FIFO.
fn safe_options(options: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
        #[allow(clippy::cast_possible_wrap)]
        options.custom_flags(flags.bits() as i32).mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = options;
}

/// Opens `path` with `options` made safe, and checks (on the open handle) that it is a regular
/// file.
fn open_regular(path: &Path, options: &mut OpenOptions) -> Result<File, StateError> {
    safe_options(options);
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) => {
            // ELOOP (a symlink), ENXIO (a FIFO without a reader): name what is there.
            if let Ok(Some(meta)) = lstat(path)
                && !meta.file_type().is_file()
            {
                return Err(StateError::NotAFile {
                    path: path.to_owned(),
                    found: kind_of(&meta),
                });
            }
            return Err(StateError::io(path, e));
        }
    };
    let meta = file.metadata().map_err(|e| StateError::io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(StateError::NotAFile {
            path: path.to_owned(),
            found: kind_of(&meta),
        });
    }
    Ok(file)
}

/// Reads a regular file of at most `max` bytes. A missing file is an error for which
/// [`StateError::is_not_found`] holds.
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, StateError> {
    let file = open_regular(path, OpenOptions::new().read(true))?;
    let len = file.metadata().map_err(|e| StateError::io(path, e))?.len();
    read_at_most(file, len, path, max)
}

/// Counts the lines of a regular file that hold something other than blanks, reading it in
/// small pieces, so a file of any size is counted in bounded memory (a spool batch too large
/// to read whole is still counted when it is dropped). Refuses what [`read_capped`] refuses
/// (a symlink, a FIFO, a folder), never blocking on it.
pub fn count_lines(path: &Path) -> Result<u64, StateError> {
    let mut file = open_regular(path, OpenOptions::new().read(true))?;
    let mut buffer = vec![0u8; 64 * 1024];
    let mut lines = 0u64;
    let mut in_line = false;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(StateError::io(path, e)),
        };
        for byte in &buffer[..n] {
            if *byte == b'\n' {
                lines += u64::from(in_line);
                in_line = false;
            } else if !byte.is_ascii_whitespace() {
                in_line = true;
            }
        }
    }
    Ok(lines + u64::from(in_line))
}

/// Reads a file the user named on the command line (events, a catalogue) of at most `max`
/// bytes. A symlink is followed (the user chose the path), but what it leads to must be a
/// regular file: a FIFO or device is refused at once, never blocked on.
pub fn read_input(path: &Path, max: u64) -> Result<Vec<u8>, StateError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        #[allow(clippy::cast_possible_wrap)]
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = options.open(path).map_err(|e| StateError::io(path, e))?;
    let meta = file.metadata().map_err(|e| StateError::io(path, e))?;
    if !meta.file_type().is_file() {
        return Err(StateError::NotAFile {
            path: path.to_owned(),
            found: kind_of(&meta),
        });
    }
    read_at_most(file, meta.len(), path, max)
}

/// Reads an opened regular file of `len` bytes (as its metadata said), refusing more than
/// `max` whether it was that long when opened or grew while being read.
fn read_at_most(file: File, len: u64, path: &Path, max: u64) -> Result<Vec<u8>, StateError> {
    let too_large = || StateError::TooLarge {
        path: path.to_owned(),
        max,
    };
    if len > max {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| StateError::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Like [`read_capped`], with a missing file as `None`.
pub fn read_capped_if_present(path: &Path, max: u64) -> Result<Option<Vec<u8>>, StateError> {
    match read_capped(path, max) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// A new file in `path`'s folder under a unique temporary name (`O_EXCL`, mode `0600`),
/// holding `bytes`, flushed to disk.
fn temporary_with(path: &Path, bytes: &[u8]) -> Result<tempfile::NamedTempFile, StateError> {
    use std::io::Write;
    let dir = parent_of(path);
    let mut temporary = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| StateError::io(dir, e))?;
    temporary
        .write_all(bytes)
        .and_then(|()| temporary.as_file().sync_all())
        .map_err(|e| StateError::io(temporary.path(), e))?;
    Ok(temporary)
}

fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Writes `bytes` as the whole new content of `path`: a unique temporary file renamed over
/// it, so readers see the old file or the new one. Something other than a regular file at
/// `path` is an error, not replaced.
pub fn write_replace(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    expect_file_or_absent(path)?;
    let temporary = temporary_with(path, bytes)?;
    temporary
        .persist(path)
        .map_err(|e| StateError::io(path, e.error))?;
    sync_dir(parent_of(path));
    Ok(())
}

/// Creates `path` holding `bytes` unless something is already there; returns whether it did.
/// Atomic: of several processes racing, exactly one creates it.
pub fn create_new(path: &Path, bytes: &[u8]) -> Result<bool, StateError> {
    let temporary = temporary_with(path, bytes)?;
    match temporary.persist_noclobber(path) {
        Ok(_) => {
            sync_dir(parent_of(path));
            Ok(true)
        }
        Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(StateError::io(path, e.error)),
    }
}

/// Opens `path` for appending, creating it `0600`. A symlink, FIFO or device there is an
/// error (never followed, never blocked on).
pub fn open_append(path: &Path) -> Result<File, StateError> {
    open_regular(path, OpenOptions::new().append(true).create(true))
}

/// Removes a file or a whole folder at `path`, never following a symlink (a symlink is
/// removed itself). Returns whether anything was there.
pub fn remove(path: &Path) -> Result<bool, StateError> {
    let Some(meta) = lstat(path)? else {
        return Ok(false);
    };
    let result = if meta.file_type().is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
    match result {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(StateError::io(path, e)),
    }
}

/// One entry of a folder Candor owns, as [`list`] saw it (without following a symlink).
#[derive(Debug, Clone)]
pub struct Listed {
    /// The entry's path.
    pub path: PathBuf,
    /// Its name (entries whose names are not UTF-8 are not listed: Candor never writes one).
    pub name: String,
    /// Its size in bytes.
    pub len: u64,
    /// When it was last modified, where the system says.
    pub modified: Option<std::time::SystemTime>,
    /// Whether it is a regular file (not a folder, symlink, FIFO or device).
    pub is_file: bool,
}

/// The entries of the folder `dir`, in no order. An entry that vanishes while it is listed
/// is left out.
pub fn list(dir: &Path) -> Result<Vec<Listed>, StateError> {
    let entries = std::fs::read_dir(dir).map_err(|e| StateError::io(dir, e))?;
    Ok(entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            // `DirEntry::metadata` does not follow a symlink.
            let meta = entry.metadata().ok()?;
            Some(Listed {
                path: entry.path(),
                name,
                len: meta.len(),
                modified: meta.modified().ok(),
                is_file: meta.file_type().is_file(),
            })
        })
        .collect())
}

/// Whether `path` is a folder (a symlink to one is not).
pub fn is_dir(path: &Path) -> bool {
    lstat(path).ok().flatten().is_some_and(|m| m.is_dir())
}

/// Makes a rename durable: on Unix the folder entry is flushed too.
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// An exclusive advisory lock on a lock file, released when dropped (or when the process
/// dies, so a crash never leaves the lock held).
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    _file: File,
}

impl FileLock {
    /// Takes the lock on `path` (created `0600` if absent), waiting at most `wait` for another
    /// process to release it. The lock is on the file found at `path` when it is taken: one
    /// removed or replaced while this process waited (`candor clean` removes lock files) is
    /// opened again, so two processes never both hold "the" lock on two files of one name.
    pub fn acquire(path: &Path, wait: Duration) -> Result<Self, StateError> {
        let started = Instant::now();
        let busy = || StateError::Busy {
            path: path.to_owned(),
            waited_ms: started.elapsed().as_millis(),
        };
        loop {
            let file = open_regular(path, OpenOptions::new().read(true).write(true).create(true))?;
            loop {
                match try_lock(&file) {
                    Ok(true) => break,
                    Ok(false) if started.elapsed() < wait => {
                        std::thread::sleep(Duration::from_millis(2).min(wait));
                    }
                    Ok(false) => return Err(busy()),
                    Err(e) => return Err(StateError::io(path, e)),
                }
            }
            if is_at(&file, path) {
                return Ok(Self {
                    path: path.to_owned(),
                    _file: file,
                });
            }
            if started.elapsed() >= wait {
                return Err(busy());
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether `file` (open) is the file at `path` now, not one removed or replaced since.
#[cfg(unix)]
fn is_at(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(open), Ok(now)) => open.dev() == now.dev() && open.ino() == now.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn is_at(file: &File, path: &Path) -> bool {
    let _ = (file, path);
    true
}

#[cfg(unix)]
fn try_lock(file: &File) -> io::Result<bool> {
    match rustix::fs::flock(file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Elsewhere Candor takes no advisory lock: concurrent processes on one folder are supported
/// on Unix only.
#[cfg(not(unix))]
fn try_lock(file: &File) -> io::Result<bool> {
    let _ = file;
    Ok(true)
}
