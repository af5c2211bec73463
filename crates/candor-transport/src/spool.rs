//! The spool: batches on disk until they are delivered, so a crash or a dead endpoint loses
//! nothing that was accepted.
//!
//! Each batch is one file of JSON lines, written under a unique temporary name (`O_EXCL`,
//! `0600`), flushed to disk and then renamed, so a reader sees whole batches or none. File names
//! begin with the time they were written, so the oldest is sent (and, over the caps, dropped)
//! first. Several processes may share one spool folder: a sender holds the folder's lock
//! ([`Spool::lock`]) from reading a batch until it is removed, so each batch is delivered by
//! exactly one of them, and nobody removes another process's write in progress. The files are
//! made and read through `candor-state`, which refuses symlinks and FIFOs and caps reads.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use candor_schema::Event;
use candor_state::{FileLock, StateError, file};

const SUFFIX: &str = ".jsonl";
const LOCK_FILE: &str = ".lock";
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

    /// Takes the spool's lock, waiting at most `wait` for another process to release it. A
    /// sender holds it from reading a batch until the batch is removed.
    pub fn lock(&self, wait: Duration) -> Result<FileLock, StateError> {
        FileLock::acquire(&self.dir.join(LOCK_FILE), wait)
    }

    /// The caps.
    pub fn caps(&self) -> SpoolCaps {
        self.caps
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a batch durably, then drops the oldest batches past the caps (the new one too,
    /// when it alone is over them): the caps hold on every write.
    pub fn write(&self, events: &[Event]) -> io::Result<(SpoolEntry, Dropped)> {
        let mut body = Vec::with_capacity(events.len() * 256);
        for event in events {
            serde_json::to_writer(&mut body, event).map_err(io::Error::other)?;
            body.push(b'\n');
        }
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
        let dropped = self.enforce_caps(now)?;
        Ok((
            SpoolEntry {
                path,
                bytes: body.len() as u64,
                written: now,
            },
            dropped,
        ))
    }

    /// The batches, oldest first.
    pub fn entries(&self) -> io::Result<Vec<SpoolEntry>> {
        let mut entries: Vec<SpoolEntry> = std::fs::read_dir(&self.dir)?
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

    /// Reads a batch. A file that does not hold events (damaged on disk, not Candor's, larger
    /// than the spool may be, a symlink or a FIFO) is an error naming it; the caller removes it
    /// and counts it.
    pub fn read(&self, entry: &SpoolEntry) -> Result<Vec<Event>, String> {
        let bytes =
            file::read_capped(&entry.path, self.max_file_bytes()).map_err(|e| e.to_string())?;
        let text = String::from_utf8(bytes)
            .map_err(|_| format!("{}: not UTF-8 text", entry.path.display()))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                serde_json::from_str(l)
                    .map_err(|e| format!("{} line {}: {e}", entry.path.display(), n + 1))
            })
            .collect()
    }

    /// No batch file is larger than the whole spool may be (with room for one ordinary batch).
    fn max_file_bytes(&self) -> u64 {
        self.caps.max_bytes.max(1 << 20)
    }

    /// Removes a delivered (or undeliverable) batch.
    pub fn remove(&self, entry: &SpoolEntry) -> io::Result<()> {
        file::remove(&entry.path).map(|_| ()).map_err(state_io)
    }

    /// Removes every batch, under the spool's lock (waiting at most `wait` for a sender to
    /// finish the batch it holds), and returns how many events they held: what a revoked
    /// consent does to pending data, whether or not a pipeline is running.
    pub fn discard_all(&self, wait: Duration) -> Result<u64, StateError> {
        let _held = self.lock(wait)?;
        let mut count = 0;
        for entry in self.entries().unwrap_or_default() {
            count += self.count_events(&entry.path);
            file::remove(&entry.path)?;
        }
        Ok(count)
    }

    /// Drops the oldest batches until the spool is within its caps: every batch older than the
    /// age cap (whatever its place in the order: one dated 1970 is dropped, not sent first),
    /// then the oldest while the bytes or files are over.
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
                break;
            }
            let events = self.count_events(&entry.path);
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
        self.entries()
            .unwrap_or_default()
            .iter()
            .map(|e| self.count_events(&e.path))
            .sum()
    }

    /// Events in a batch file: its non-empty lines (0 if it cannot be read).
    fn count_events(&self, path: &Path) -> u64 {
        file::read_capped(path, self.max_file_bytes())
            .map(|b| {
                b.split(|c| *c == b'\n')
                    .filter(|l| !l.trim_ascii().is_empty())
                    .count() as u64
            })
            .unwrap_or(0)
    }
}

fn state_io(e: StateError) -> io::Error {
    match e {
        StateError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => source,
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
