//! The spool: batches on disk until they are delivered, so a crash or a dead endpoint loses
//! nothing that was accepted.
//!
//! Each batch is one file of JSON lines, written under a unique temporary name (`O_EXCL`,
//! `0600`), flushed to disk and then renamed, so a reader sees whole batches or none. File names
//! begin with the time they were written, so the oldest is sent (and, over the caps, dropped)
//! first. Several processes may share one spool folder, and two locks keep them apart:
//!
//! - the sending lock ([`Spool::lock`]): a sender holds it from reading a batch until the batch
//!   is removed, so each batch is delivered by exactly one process; the caps are enforced only
//!   under it, so no batch another process is delivering is ever removed;
//! - the writing lock ([`Spool::write_lock`]): writers hold it while they write, and a discard
//!   ([`Spool::discard_all`]) takes it and then the sending lock, so once a discard returns no
//!   write begun before it lands afterwards and no delivery begun before it is still running.
//!
//! A writer never waits for a delivery: it enforces the caps itself when the sending lock is
//! free, and otherwise leaves them to the sender, who enforces them before each batch. Nobody
//! removes another process's write in progress. The files are made and read through
//! `candor-state`, which refuses symlinks and FIFOs and caps reads; [`SpoolView`] reads a spool
//! without changing anything.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use candor_schema::Event;
use candor_state::{FileLock, StateError, file};

const SUFFIX: &str = ".jsonl";
const LOCK_FILE: &str = ".lock";
const WRITE_LOCK_FILE: &str = ".write-lock";
/// A temporary file this old is a crash's leftover, not another process's write in progress.
const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

/// Limits on the spool; past any of them the oldest batches are dropped (and counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolCaps {
    /// Total bytes of all batches.
    pub max_bytes: u64,
    /// Number of batch files.
    pub max_files: usize,
    /// Age of a batch.
    pub max_age: Duration,
}

impl Default for SpoolCaps {
    /// 8 MiB, 1000 batches, 7 days.
    fn default() -> Self {
        Self {
            max_bytes: 8 * 1024 * 1024,
            max_files: 1000,
            max_age: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// One batch file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolEntry {
    /// Its path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    /// When it was written (from its name).
    pub written: SystemTime,
}

/// Why a spool file holds no batch Candor can read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnreadableBatch {
    /// It cannot be read (larger than the spool may be, a symlink or a FIFO, gone).
    #[error(transparent)]
    File(#[from] StateError),
    /// It is not UTF-8 text.
    #[error("{}: not UTF-8 text", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
    },
    /// A line is not an event.
    #[error("{} line {line}: {source}", path.display())]
    NotAnEvent {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What the JSON reader said.
        #[source]
        source: serde_json::Error,
    },
}

/// What enforcing the caps dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Batch files removed.
    pub batches: u64,
    /// Events in them (as far as they could be counted).
    pub events: u64,
}

/// A spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    caps: SpoolCaps,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl Spool {
    /// Opens (creating, `0700`) the spool in `dir`, removing temporary files a crash left
    /// behind more than an hour ago (younger ones may be another process's write in progress).
    pub fn open(dir: impl Into<PathBuf>, caps: SpoolCaps) -> io::Result<Self> {
        let dir = dir.into();
        file::ensure_dir(&dir).map_err(state_io)?;
        let now = SystemTime::now();
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let stale = entry
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .is_some_and(|m| now.duration_since(m).is_ok_and(|age| age > STALE_TEMPORARY));
            if stale
                && entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with(file::TEMP_PREFIX)
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self { dir, caps })
    }

    /// Takes the sending lock, waiting at most `wait` for another process to release it. A
    /// sender holds it from reading a batch until the batch is removed; the caps are enforced
    /// under it.
    pub fn lock(&self, wait: Duration) -> Result<FileLock, StateError> {
        FileLock::acquire(&self.dir.join(LOCK_FILE), wait)
    }

    /// Takes the writing lock, waiting at most `wait`: a writer holds it while it decides what
    /// to write and writes it, so that a discard ([`Spool::discard_all`]) never misses a write
    /// begun before it.
    pub fn write_lock(&self, wait: Duration) -> Result<FileLock, StateError> {
        FileLock::acquire(&self.dir.join(WRITE_LOCK_FILE), wait)
    }

    /// The caps.
    pub fn caps(&self) -> SpoolCaps {
        self.caps
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a batch durably (the caller holds [`Spool::write_lock`] when the write must not
    /// outlive a discard). Then, when the sending lock is free, drops the oldest batches past
    /// the caps (the new one too, when it alone is over them); when it is not, the sender that
    /// holds it enforces them before its next batch. An error keeps the operating system's
    /// kind ([`io::ErrorKind::StorageFull`] for a full disk), and nothing half-written stays.
    pub fn write(&self, events: &[Event]) -> io::Result<(SpoolEntry, Dropped)> {
        let body = encode(events)?;
        let now = SystemTime::now();
        let millis = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{millis:016}-{:010}-{sequence:08}{SUFFIX}",
            std::process::id()
        );
        let path = self.dir.join(&name);
        if !file::create_new(&path, &body).map_err(state_io)? {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} already exists", path.display()),
            ));
        }
        let dropped = match self.lock(Duration::ZERO) {
            Ok(_sending) => self.enforce_caps(now)?,
            Err(_) => Dropped::default(),
        };
        Ok((
            SpoolEntry {
                path,
                bytes: body.len() as u64,
                written: now,
            },
            dropped,
        ))
    }

    /// Replaces a batch's events with `events` (what is left after some were withdrawn), under
    /// the sending lock the caller holds; the batch keeps its name, and so its place and age.
    pub fn rewrite(&self, entry: &SpoolEntry, events: &[Event]) -> io::Result<SpoolEntry> {
        let body = encode(events)?;
        file::write_replace(&entry.path, &body).map_err(state_io)?;
        Ok(SpoolEntry {
            bytes: body.len() as u64,
            ..entry.clone()
        })
    }

    /// Splits a batch in two halves that keep its place and age (`<name>-a`, `<name>-b`), under
    /// the sending lock the caller holds, and removes it.
    pub fn split(&self, entry: &SpoolEntry, events: &[Event]) -> io::Result<()> {
        let stem = entry
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(SUFFIX))
            .ok_or_else(|| io::Error::other("not a batch file"))?;
        let (first, second) = events.split_at(events.len() / 2);
        for (half, part) in [("a", first), ("b", second)] {
            let path = self.dir.join(format!("{stem}-{half}{SUFFIX}"));
            file::write_replace(&path, &encode(part)?).map_err(state_io)?;
        }
        self.remove(entry)
    }

    /// The batches, oldest first.
    pub fn entries(&self) -> io::Result<Vec<SpoolEntry>> {
        list(&self.dir)
    }

    /// Reads a batch. A file that does not hold events (damaged on disk, not Candor's, larger
    /// than the spool may be, a symlink or a FIFO) is an error naming it; the caller removes it
    /// and counts it.
    pub fn read(&self, entry: &SpoolEntry) -> Result<Vec<Event>, UnreadableBatch> {
        read_batch(entry, self.max_file_bytes())
    }

    /// No batch file is larger than the whole spool may be (with room for one ordinary batch).
    fn max_file_bytes(&self) -> u64 {
        self.caps.max_bytes.max(1 << 20)
    }

    /// Removes a delivered (or undeliverable) batch.
    pub fn remove(&self, entry: &SpoolEntry) -> io::Result<()> {
        file::remove(&entry.path).map(|_| ()).map_err(state_io)
    }

    /// Removes every batch and returns how many events they held: what a revoked consent does
    /// to pending data, whether or not a pipeline is running. Takes the writing lock, then the
    /// sending lock (waiting at most `wait` in all, for a write or a delivery in progress), so
    /// when it returns no write or delivery begun before it is still under way.
    pub fn discard_all(&self, wait: Duration) -> Result<u64, StateError> {
        let started = std::time::Instant::now();
        let _writing = self.write_lock(wait)?;
        let _sending = self.lock(wait.saturating_sub(started.elapsed()))?;
        let mut count = 0;
        for entry in self.entries().unwrap_or_default() {
            count += count_events(&entry.path, self.max_file_bytes());
            file::remove(&entry.path)?;
        }
        Ok(count)
    }

    /// Drops the oldest batches until the spool is within its caps: every batch older than the
    /// age cap (whatever its place in the order: one dated 1970 is dropped, not sent first),
    /// then the oldest while the bytes or files are over. The caller holds the sending lock.
    pub fn enforce_caps(&self, now: SystemTime) -> io::Result<Dropped> {
        let entries = self.entries()?;
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        let mut files = entries.len();
        let mut dropped = Dropped::default();
        for entry in &entries {
            let too_old = now
                .duration_since(entry.written)
                .is_ok_and(|age| age > self.caps.max_age);
            if !too_old && total <= self.caps.max_bytes && files <= self.caps.max_files {
                continue;
            }
            let events = count_events(&entry.path, self.max_file_bytes());
            self.remove(entry)?;
            total -= entry.bytes;
            files -= 1;
            dropped.batches += 1;
            dropped.events += events;
        }
        Ok(dropped)
    }

    /// How many events wait in the spool.
    pub fn pending_events(&self) -> u64 {
        pending(&self.dir, self.max_file_bytes())
    }
}

/// A spool read without changing anything: no folder created or narrowed, no leftover
/// removed, no lock taken. For showing a user what waits (`candor view`).
#[derive(Debug)]
pub struct SpoolView {
    dir: PathBuf,
    max_file_bytes: u64,
}

impl SpoolView {
    /// The spool in `dir`, or `None` when there is no folder there (a symlink to a folder is
    /// not followed either).
    pub fn open(dir: impl Into<PathBuf>) -> Option<Self> {
        let dir = dir.into();
        std::fs::symlink_metadata(&dir)
            .is_ok_and(|m| m.is_dir())
            .then_some(Self {
                dir,
                max_file_bytes: SpoolCaps::default().max_bytes.max(1 << 20),
            })
    }

    /// The batches, oldest first.
    pub fn entries(&self) -> io::Result<Vec<SpoolEntry>> {
        list(&self.dir)
    }

    /// Reads a batch (see [`Spool::read`]).
    pub fn read(&self, entry: &SpoolEntry) -> Result<Vec<Event>, UnreadableBatch> {
        read_batch(entry, self.max_file_bytes)
    }

    /// How many events wait.
    pub fn pending_events(&self) -> u64 {
        pending(&self.dir, self.max_file_bytes)
    }
}

fn encode(events: &[Event]) -> io::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(events.len() * 256);
    for event in events {
        serde_json::to_writer(&mut body, event).map_err(io::Error::other)?;
        body.push(b'\n');
    }
    Ok(body)
}

fn list(dir: &Path) -> io::Result<Vec<SpoolEntry>> {
    let mut entries: Vec<SpoolEntry> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if !name.ends_with(SUFFIX) || name.starts_with(file::TEMP_PREFIX) {
                return None;
            }
            let millis: u64 = name.split('-').next()?.parse().ok()?;
            Some(SpoolEntry {
                bytes: e.metadata().map(|m| m.len()).unwrap_or(0),
                written: SystemTime::UNIX_EPOCH + Duration::from_millis(millis),
                path: e.path(),
            })
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

fn read_batch(entry: &SpoolEntry, max: u64) -> Result<Vec<Event>, UnreadableBatch> {
    let path = || entry.path.clone();
    let bytes = file::read_capped(&entry.path, max).map_err(UnreadableBatch::File)?;
    let text = String::from_utf8(bytes).map_err(|_| UnreadableBatch::NotText { path: path() })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            serde_json::from_str(l).map_err(|source| UnreadableBatch::NotAnEvent {
                path: path(),
                line: n + 1,
                source,
            })
        })
        .collect()
}

fn pending(dir: &Path, max: u64) -> u64 {
    list(dir)
        .unwrap_or_default()
        .iter()
        .map(|e| count_events(&e.path, max))
        .sum()
}

/// Events in a batch file: its non-empty lines (0 if it cannot be read).
fn count_events(path: &Path, max: u64) -> u64 {
    file::read_capped(path, max)
        .map(|b| {
            b.split(|c| *c == b'\n')
                .filter(|l| !l.trim_ascii().is_empty())
                .count() as u64
        })
        .unwrap_or(0)
}

/// The state crate's error as an I/O error that keeps the operating system's kind (a full
/// disk stays [`io::ErrorKind::StorageFull`]) and the path.
fn state_io(e: StateError) -> io::Error {
    match e {
        StateError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => source,
        StateError::Io { path, source } => {
            io::Error::new(source.kind(), format!("{}: {source}", path.display()))
        }
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_keeps_another_process_s_write_in_progress_and_clears_old_leftovers() {
        let dir = tempfile::tempdir().expect("tmp");
        let fresh = dir.path().join(".tmp-in-flight");
        let old = dir.path().join(".tmp-crashed");
        std::fs::write(&fresh, "half a batch").expect("write");
        std::fs::write(&old, "a crash's leftover").expect("write");
        let long_ago = SystemTime::now() - Duration::from_secs(2 * 3600);
        std::fs::File::options()
            .write(true)
            .open(&old)
            .and_then(|f| f.set_modified(long_ago))
            .expect("age it");
        Spool::open(dir.path(), SpoolCaps::default()).expect("open");
        assert!(
            fresh.exists(),
            "another process's write in progress was removed"
        );
        assert!(!old.exists());
    }

    #[test]
    fn the_lock_is_exclusive_across_handles() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = Spool::open(dir.path(), SpoolCaps::default()).expect("open");
        let b = Spool::open(dir.path(), SpoolCaps::default()).expect("open");
        let held = a.lock(Duration::from_millis(10)).expect("first");
        assert!(b.lock(Duration::from_millis(50)).is_err());
        drop(held);
        assert!(b.lock(Duration::from_millis(50)).is_ok());
    }
}
