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
//!
//! What the spool cannot control does not stop it. The folder may be removed under a running
//! product (`candor clean`, which holds both locks while it removes, or a user's `rm -r`): the
//! next write or lock makes it again. A batch line damaged on disk costs that line, not its
//! batch: the rest is read and the file rewritten without it. An entry that is not a batch (a
//! folder, a FIFO, a symlink named like one) is removed, and one that cannot be removed is
//! skipped, never in the way of the batches behind it; the caps go on past it too.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

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

/// What enforcing the caps dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Batch files removed.
    pub batches: u64,
    /// Events in them (as far as they could be counted).
    pub events: u64,
    /// Batch files over the caps that could not be removed (left in place, their place in the
    /// caps taken by younger ones), with the first failure in words; `None` when there was
    /// none. Nothing in them is counted as dropped.
    pub unremovable: Option<(u64, String)>,
    /// Entries over the caps that held no batch whose lines could be counted (not a regular
    /// file), removed: files, not events.
    pub not_batches: u64,
}

impl Dropped {
    fn unremovable(&mut self, entry: &SpoolEntry, error: &io::Error) {
        match &mut self.unremovable {
            Some((count, _)) => *count += 1,
            None => {
                self.unremovable = Some((
                    1,
                    format!("cannot remove {}: {error}", entry.path.display()),
                ));
            }
        }
    }
}

/// What writing a batch came to ([`Spool::write`]): the files it was cut into, and every event
/// that did not become part of one, counted under its reason.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Written {
    /// The files written, oldest first: each at most the spool's batch size
    /// ([`Spool::max_batch_bytes`]) unless one event alone is larger.
    pub entries: Vec<SpoolEntry>,
    /// Events each larger than a spool file may be (it could never be read back), not written.
    pub too_large: u64,
    /// Events the disk refused to take (the first refusal is [`Written::error`]).
    pub unwritten: u64,
    /// Why the disk refused, the first time; it keeps the operating system's kind
    /// ([`io::ErrorKind::StorageFull`] for a full disk).
    pub error: Option<io::Error>,
    /// What enforcing the caps afterwards dropped.
    pub dropped: Dropped,
}

/// A batch as read: the events that could be read, and how many of its lines could not
/// (damaged on disk, cut short, not an event), with the first such line's problem.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ReadBatch {
    /// The events, in order.
    pub events: Vec<Event>,
    /// Lines that did not hold an event.
    pub damaged: u64,
    /// What was wrong with the first of them.
    pub first_damage: Option<DamagedLine>,
}

/// A line of a batch file that holds no event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DamagedLine {
    /// It is not UTF-8 text.
    #[error("{} line {line}: not UTF-8 text", path.display())]
    NotText {
        /// The file.
        path: PathBuf,
        /// The line, from 1.
        line: usize,
    },
    /// It is not an event.
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

/// Why a spool entry could not be used at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnreadableBatch {
    /// It cannot be read as a batch file: not a regular file (a folder, a FIFO, a symlink
    /// named like one), larger than a batch can be, gone. Not a batch Candor wrote: the caller
    /// removes it.
    #[error("not a batch: {0}")]
    File(#[from] StateError),
    /// It holds no line at all: the caller removes it.
    #[error("{}: not a batch: it holds no line", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// It has damaged lines that could not be cut out (the disk refused the rewrite): it is
    /// left as it is, and read again later.
    #[error("{}: {damaged} damaged line(s) could not be cut out: {source}", path.display())]
    Unrepaired {
        /// The file.
        path: PathBuf,
        /// Its damaged lines.
        damaged: u64,
        /// Why it could not be rewritten.
        #[source]
        source: io::Error,
    },
}

impl UnreadableBatch {
    /// Whether the entry is no batch at all, for the caller to remove (rather than a batch to
    /// leave as it is and read again later).
    pub fn is_not_a_batch(&self) -> bool {
        matches!(self, Self::File(_) | Self::Empty { .. })
    }
}

/// Both of a spool's locks, held together: no write or delivery is under way in any process
/// while it lives ([`Spool::hold`]).
#[derive(Debug)]
pub struct SpoolHold {
    _writing: FileLock,
    _sending: FileLock,
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
        // A symlink in the folder's place is refused, not written through: what a spool holds
        // is listed, shown and discarded by that same lstat view (`SpoolView`,
        // `discard_spooled`), which does not follow it either.
        if !file::is_dir(&dir) {
            return Err(io::Error::other(format!(
                "{} is not a folder (a symlink is not followed)",
                dir.display()
            )));
        }
        let now = SystemTime::now();
        for entry in file::list(&dir).map_err(state_io)? {
            let stale = entry
                .modified
                .is_some_and(|m| now.duration_since(m).is_ok_and(|age| age > STALE_TEMPORARY));
            // Files only: a folder of that name is not a write Candor left.
            if stale && entry.is_file && entry.name.starts_with(file::TEMP_PREFIX) {
                let _ = file::remove(&entry.path);
            }
        }
        Ok(Self { dir, caps })
    }

    /// Takes the sending lock, waiting at most `wait` for another process to release it. A
    /// sender holds it from reading a batch until the batch is removed; the caps are enforced
    /// under it.
    pub fn lock(&self, wait: Duration) -> Result<FileLock, StateError> {
        file::ensure_dir(&self.dir)?;
        FileLock::acquire(&self.dir.join(LOCK_FILE), wait)
    }

    /// Takes the writing lock, waiting at most `wait`: a writer holds it while it decides what
    /// to write and writes it, so that a discard ([`Spool::discard_all`]) never misses a write
    /// begun before it.
    pub fn write_lock(&self, wait: Duration) -> Result<FileLock, StateError> {
        file::ensure_dir(&self.dir)?;
        FileLock::acquire(&self.dir.join(WRITE_LOCK_FILE), wait)
    }

    /// Takes the writing lock, then the sending lock, waiting at most `wait` in all: while the
    /// hold lives no write or delivery is under way in any process, and none begun before it
    /// is still running. What a discard and `candor clean` take.
    pub fn hold(&self, wait: Duration) -> Result<SpoolHold, StateError> {
        let started = Instant::now();
        let writing = self.write_lock(wait)?;
        let sending = self.lock(wait.saturating_sub(started.elapsed()))?;
        Ok(SpoolHold {
            _writing: writing,
            _sending: sending,
        })
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
    /// outlive a discard), cut into files of at most [`Spool::max_batch_bytes`] each (an event
    /// larger than that alone gets a file of its own), so no file is ever too large to be read
    /// back and counted. An event larger than a spool file may be is not written, and counted
    /// ([`Written::too_large`]); a file the disk refuses leaves nothing half-written, and its
    /// events are counted with the operating system's reason ([`Written::unwritten`]). Then,
    /// when the sending lock is free, drops the oldest batches past the caps (the new ones too,
    /// when they alone are over them); when it is not, the sender that holds it enforces them
    /// before its next batch. A folder removed under a running product is made again. What
    /// enforcing the caps could not do is said in the [`Dropped`], never as a write's error.
    pub fn write(&self, events: &[Event]) -> Written {
        let mut written = Written::default();
        let now = SystemTime::now();
        let target = self.max_batch_bytes();
        let max_line = self.max_file_bytes();
        let mut body = Vec::with_capacity(events.len().min(512) * 256);
        let mut in_body = 0u64;
        for event in events {
            let start = body.len();
            if let Err(e) = serde_json::to_writer(&mut body, event) {
                body.truncate(start);
                written.unwritten += 1;
                written.error.get_or_insert_with(|| io::Error::other(e));
                continue;
            }
            body.push(b'\n');
            let line = (body.len() - start) as u64;
            if line > max_line {
                body.truncate(start);
                written.too_large += 1;
                continue;
            }
            if start > 0 && body.len() as u64 > target {
                let next = body.split_off(start);
                self.write_file(&body, in_body, now, &mut written);
                body = next;
                in_body = 0;
            }
            in_body += 1;
        }
        if in_body > 0 {
            self.write_file(&body, in_body, now, &mut written);
        }
        if !written.entries.is_empty() {
            written.dropped = match self.lock(Duration::ZERO) {
                Ok(_sending) => self.enforce_caps(now).unwrap_or_else(|e| Dropped {
                    unremovable: Some((0, format!("cannot list the spool: {e}"))),
                    ..Dropped::default()
                }),
                Err(_) => Dropped::default(),
            };
        }
        written
    }

    /// Writes one batch file holding `events` events (`body`), noting it (or the disk's
    /// refusal) in `written`.
    fn write_file(&self, body: &[u8], events: u64, now: SystemTime, written: &mut Written) {
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
        let create = || {
            file::ensure_dir(&self.dir)?;
            file::create_new(&path, body)
        };
        // The folder can go between making it and the rename (a `clean` racing the write):
        // once more, then the error says what happened.
        let created = match create() {
            Err(e) if e.is_not_found() => create(),
            other => other,
        };
        match created.map_err(state_io) {
            Ok(true) => written.entries.push(SpoolEntry {
                path,
                bytes: body.len() as u64,
                written: now,
            }),
            Ok(false) => {
                written.unwritten += events;
                written.error.get_or_insert_with(|| {
                    io::Error::new(
                        io::ErrorKind::AlreadyExists,
                        format!("{} already exists", path.display()),
                    )
                });
            }
            Err(e) => {
                written.unwritten += events;
                written.error.get_or_insert(e);
            }
        }
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

    /// Reads a batch, under the sending lock the caller holds. Lines that do not hold an event
    /// (damaged on disk, cut short) are counted in [`ReadBatch::damaged`] and cut out of the
    /// file at once, so each is counted once and the rest of its batch is delivered; a file
    /// left with no event is removed. An entry that is no batch at all (a folder, a symlink, a
    /// FIFO, larger than a batch can be, no line) is an error whose
    /// [`UnreadableBatch::is_not_a_batch`] holds, for the caller to remove; one whose damaged
    /// lines could not be cut out is [`UnreadableBatch::Unrepaired`], left as it is.
    pub fn read(&self, entry: &SpoolEntry) -> Result<ReadBatch, UnreadableBatch> {
        let read = read_batch(entry, self.max_file_bytes())?;
        if read.damaged > 0 {
            let repaired = if read.events.is_empty() {
                self.remove(entry)
            } else {
                self.rewrite(entry, &read.events).map(|_| ())
            };
            repaired.map_err(|source| UnreadableBatch::Unrepaired {
                path: entry.path.clone(),
                damaged: read.damaged,
                source,
            })?;
        }
        Ok(read)
    }

    /// No batch file is larger than the whole spool may be (with room for one ordinary batch).
    fn max_file_bytes(&self) -> u64 {
        self.caps.max_bytes.max(1 << 20)
    }

    /// How large a batch file is cut: an eighth of the spool's size cap, between 64 KiB and
    /// 1 MiB, so a batch of large events becomes several files the caps can drop one by one
    /// (and a receiver takes in one request each).
    pub fn max_batch_bytes(&self) -> u64 {
        (self.caps.max_bytes / 8).clamp(64 * 1024, 1 << 20)
    }

    /// Removes a delivered (or undeliverable) batch.
    pub fn remove(&self, entry: &SpoolEntry) -> io::Result<()> {
        file::remove(&entry.path).map(|_| ()).map_err(state_io)
    }

    /// Removes every batch and returns how many events they held: what a revoked consent does
    /// to pending data, whether or not a pipeline is running. Takes the writing lock, then the
    /// sending lock (waiting at most `wait` in all, for a write or a delivery in progress), so
    /// when it returns no write or delivery begun before it is still under way.
    /// One entry that cannot be removed does not keep the others: every one is tried. One that
    /// held no event it could read (a folder named like a batch) withdraws nothing by staying;
    /// one that held events is a failure, returned after the others went (the events that
    /// were removed are then not counted).
    pub fn discard_all(&self, wait: Duration) -> Result<u64, StateError> {
        let _held = self.hold(wait)?;
        let mut count = 0;
        let mut failed = None;
        for entry in self.entries().unwrap_or_default() {
            // An entry whose lines cannot be counted (not a regular file) holds no batch.
            let events = count_events(&entry.path).unwrap_or(0);
            match file::remove(&entry.path) {
                Ok(_) => count += events,
                Err(e) if events > 0 => {
                    failed.get_or_insert(e);
                }
                Err(_) => {}
            }
        }
        match failed {
            None => Ok(count),
            Some(e) => Err(e),
        }
    }

    /// Drops the oldest batches until the spool is within its caps: every batch older than the
    /// age cap (whatever its place in the order: one dated 1970 is dropped, not sent first),
    /// then the oldest while the bytes or files are over. The caller holds the sending lock. A
    /// batch that cannot be removed stays, and the next ones go in its place
    /// ([`Dropped::unremovable`]).
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
            let events = count_events(&entry.path);
            match self.remove(entry) {
                Ok(()) => {
                    total -= entry.bytes;
                    files -= 1;
                    match events {
                        Ok(events) => {
                            dropped.batches += 1;
                            dropped.events += events;
                        }
                        Err(_) => dropped.not_batches += 1,
                    }
                }
                Err(e) => dropped.unremovable(entry, &e),
            }
        }
        Ok(dropped)
    }

    /// How many events wait in the spool.
    pub fn pending_events(&self) -> u64 {
        pending(&self.dir)
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
        file::is_dir(&dir).then_some(Self {
            dir,
            max_file_bytes: SpoolCaps::default().max_bytes.max(1 << 20),
        })
    }

    /// The batches, oldest first.
    pub fn entries(&self) -> io::Result<Vec<SpoolEntry>> {
        list(&self.dir)
    }

    /// Reads a batch as it is (see [`Spool::read`]; damaged lines are counted, not cut out).
    pub fn read(&self, entry: &SpoolEntry) -> Result<ReadBatch, UnreadableBatch> {
        read_batch(entry, self.max_file_bytes)
    }

    /// How many events wait.
    pub fn pending_events(&self) -> u64 {
        pending(&self.dir)
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
    let mut entries: Vec<SpoolEntry> = file::list(dir)
        .map_err(state_io)?
        .into_iter()
        .filter_map(|e| {
            // Anything named like a batch is listed, a symlink or FIFO too: reading it refuses
            // it, and it is counted and removed as not a batch.
            if !e.name.ends_with(SUFFIX) || e.name.starts_with(file::TEMP_PREFIX) {
                return None;
            }
            let millis: u64 = e.name.split('-').next()?.parse().ok()?;
            Some(SpoolEntry {
                bytes: e.len,
                written: SystemTime::UNIX_EPOCH + Duration::from_millis(millis),
                path: e.path,
            })
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(entries)
}

/// Reads a batch file line by line: each line that holds an event is kept, each other
/// non-empty line counted as damaged.
fn read_batch(entry: &SpoolEntry, max: u64) -> Result<ReadBatch, UnreadableBatch> {
    let bytes = file::read_capped(&entry.path, max)?;
    let mut read = ReadBatch::default();
    for (n, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let path = || entry.path.clone();
        let event = std::str::from_utf8(line)
            .map_err(|_| DamagedLine::NotText {
                path: path(),
                line: n + 1,
            })
            .and_then(|l| {
                serde_json::from_str::<Event>(l).map_err(|source| DamagedLine::NotAnEvent {
                    path: path(),
                    line: n + 1,
                    source,
                })
            });
        match event {
            Ok(event) => read.events.push(event),
            Err(damage) => {
                read.damaged += 1;
                read.first_damage.get_or_insert(damage);
            }
        }
    }
    if read.events.is_empty() && read.damaged == 0 {
        return Err(UnreadableBatch::Empty {
            path: entry.path.clone(),
        });
    }
    Ok(read)
}

fn pending(dir: &Path) -> u64 {
    list(dir)
        .unwrap_or_default()
        .iter()
        // An entry whose lines cannot be counted (a folder, a FIFO, a symlink named like a
        // batch) holds no event: the sender removes it, counted as a file.
        .filter_map(|e| count_events(&e.path).ok())
        .sum()
}

/// Events in a batch file: its non-empty lines, however large the file (counted in pieces);
/// an error when it is not a regular file.
fn count_events(path: &Path) -> Result<u64, StateError> {
    file::count_lines(path)
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

    /// An event whose value is `bytes` bytes of text (the spool reads only the envelope's
    /// shape, so the text's content does not matter).
    fn large_event(n: u32, bytes: usize) -> Event {
        let mut wire = serde_json::to_value(candor_testkit::agent_event(n)).expect("encode");
        wire["value"] = serde_json::json!({"kind": "text", "data": "x".repeat(bytes)});
        serde_json::from_value(wire).expect("an event of the schema")
    }

    /// Review 2 #1: a batch of large events was written as one file past the read cap, then
    /// dropped by the caps with its events counted as 0. Now a batch is cut by bytes: every file
    /// is within the batch size (or holds one event alone), and all of them read back.
    #[test]
    fn a_batch_of_large_events_is_cut_into_files_that_read_back() {
        let dir = tempfile::tempdir().expect("tmp");
        let spool = Spool::open(dir.path(), SpoolCaps::default()).expect("open");
        let target = spool.max_batch_bytes();
        let events: Vec<Event> = (0..24).map(|n| large_event(n, 200 * 1024)).collect();
        let written = spool.write(&events);
        assert_eq!(
            (written.too_large, written.unwritten),
            (0, 0),
            "{written:?}"
        );
        assert!(written.entries.len() >= 4, "{written:?}");
        let mut read_back = Vec::new();
        for entry in spool.entries().expect("entries") {
            assert!(entry.bytes <= target, "{} > {target}", entry.bytes);
            read_back.extend(spool.read(&entry).expect("a batch").events);
        }
        assert_eq!(read_back, events, "every event, in order");
        assert_eq!(spool.pending_events(), 24);
    }

    /// An event too large for any spool file is not written and is counted as such; the rest of
    /// its batch is kept.
    #[test]
    fn an_event_larger_than_a_spool_file_is_counted_not_lost_in_silence() {
        let dir = tempfile::tempdir().expect("tmp");
        let spool = Spool::open(dir.path(), SpoolCaps::default()).expect("open");
        let huge = usize::try_from(spool.max_file_bytes()).expect("fits") + 1;
        let written = spool.write(&[large_event(0, 10), large_event(1, huge), large_event(2, 10)]);
        assert_eq!(written.too_large, 1, "{written:?}");
        assert_eq!(spool.pending_events(), 2);
        assert_eq!(written.dropped, Dropped::default());
    }

    /// A batch file too large to read whole (left by an older Candor, or planted) is still
    /// counted, in events, when the caps drop it: never as 0.
    #[test]
    fn the_caps_count_the_events_of_a_file_too_large_to_read() {
        let dir = tempfile::tempdir().expect("tmp");
        let caps = SpoolCaps {
            max_bytes: 1 << 20,
            ..SpoolCaps::default()
        };
        let spool = Spool::open(dir.path(), caps).expect("open");
        let now = SystemTime::now();
        let millis = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .expect("after 1970")
            .as_millis();
        let line = serde_json::to_vec(&large_event(0, 300 * 1024)).expect("encode");
        let mut body = Vec::new();
        for _ in 0..5 {
            body.extend_from_slice(&line);
            body.push(b'\n');
        }
        assert!(body.len() as u64 > spool.max_file_bytes());
        std::fs::write(
            dir.path()
                .join(format!("{millis:016}-0000000001-00000000.jsonl")),
            &body,
        )
        .expect("plant");
        assert_eq!(spool.pending_events(), 5, "counted in pieces");
        let dropped = spool.enforce_caps(now).expect("caps");
        assert_eq!((dropped.batches, dropped.events), (1, 5), "{dropped:?}");
        assert_eq!(dropped.not_batches, 0);
    }
}
