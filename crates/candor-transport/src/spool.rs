//! The spool: batches on disk until they are delivered, so a crash or a dead endpoint loses
//! nothing that was accepted.
//!
//! Each batch is one file of JSON lines, written under a temporary name, flushed to disk and
//! then renamed, so a reader sees whole batches or none. File names begin with the time they
//! were written, so the oldest is sent (and, over the caps, dropped) first.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use candor_schema::Event;

const SUFFIX: &str = ".jsonl";
const TEMP_PREFIX: &str = ".tmp-";

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
    /// Opens (creating) the spool in `dir`, removing temporary files a crash left behind.
    pub fn open(dir: impl Into<PathBuf>, caps: SpoolCaps) -> io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(Self { dir, caps })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes a batch durably and returns its entry.
    pub fn write(&self, events: &[Event]) -> io::Result<SpoolEntry> {
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
        let temporary = self.dir.join(format!("{TEMP_PREFIX}{name}"));
        {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&body)?;
            file.sync_all()?;
        }
        let path = self.dir.join(&name);
        std::fs::rename(&temporary, &path)?;
        sync_dir(&self.dir);
        Ok(SpoolEntry {
            path,
            bytes: body.len() as u64,
            written: now,
        })
    }

    /// The batches, oldest first.
    pub fn entries(&self) -> io::Result<Vec<SpoolEntry>> {
        let mut entries: Vec<SpoolEntry> = std::fs::read_dir(&self.dir)?
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                if !name.ends_with(SUFFIX) || name.starts_with(TEMP_PREFIX) {
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

    /// Reads a batch. A file that does not hold events (damaged on disk, or not Candor's) is
    /// an error naming the line; the caller removes it and counts it.
    pub fn read(&self, entry: &SpoolEntry) -> Result<Vec<Event>, String> {
        let text = std::fs::read_to_string(&entry.path)
            .map_err(|e| format!("cannot read {}: {e}", entry.path.display()))?;
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                serde_json::from_str(l)
                    .map_err(|e| format!("{} line {}: {e}", entry.path.display(), n + 1))
            })
            .collect()
    }

    /// Removes a delivered (or undeliverable) batch.
    pub fn remove(&self, entry: &SpoolEntry) -> io::Result<()> {
        match std::fs::remove_file(&entry.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Drops the oldest batches until the spool is within its caps.
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
            let events = count_events(&entry.path);
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
            .map(|e| count_events(&e.path))
            .sum()
    }
}

/// Events in a batch file: its non-empty lines (0 if it cannot be read).
fn count_events(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| !l.trim().is_empty()).count() as u64)
        .unwrap_or(0)
}

/// Makes a rename durable: on Unix the directory entry is flushed too. Elsewhere (and if it
/// fails) the rename is still atomic, only not yet guaranteed on disk.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}
