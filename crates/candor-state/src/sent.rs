//! Local copies of delivered payloads, exactly as they went on the wire: `sent/<product>/`,
//! one file per payload, bounded by size and age.
//!
//! A copy is named `<unix milliseconds>-<64 random bits>.<format>`, so its age is read from
//! its name and two processes never pick the same one; it is written under a unique
//! temporary name and renamed into place (a reader never sees half a copy). After each write,
//! under the folder's lock, copies older than the age cap are removed, then the oldest until
//! the folder is under its size cap; a payload larger than the size cap on its own is not
//! kept. Names that are not a copy's (a temporary file, the lock, something planted) are left
//! alone and never read.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::StateError;
use crate::file::{self, FileLock};

/// The largest copy read back; larger is refused (the facade's size cap, 16 MiB per product,
/// keeps none larger).
pub const MAX_COPY_READ: u64 = 16 * 1024 * 1024;

/// How a payload was written on the wire, which names its copy's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PayloadFormat {
    /// A gzip-compressed JSON array of events (the JSON and relay sinks).
    GzipJson,
    /// An OTLP `ExportLogsServiceRequest` in protobuf (OTLP/HTTP's body, OTLP/gRPC's message).
    OtlpProtobuf,
    /// JSON lines, one event each (the file sink).
    JsonLines,
}

impl PayloadFormat {
    /// The copy's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::GzipJson => "json.gz",
            Self::OtlpProtobuf => "otlp.pb",
            Self::JsonLines => "jsonl",
        }
    }

    /// The format a copy's file name says (`None`: not a copy's name).
    pub fn of_name(name: &str) -> Option<Self> {
        [Self::GzipJson, Self::OtlpProtobuf, Self::JsonLines]
            .into_iter()
            .find(|f| {
                name.strip_suffix(f.extension())
                    .and_then(|rest| rest.strip_suffix('.'))
                    .is_some_and(is_stem)
            })
    }
}

/// `<digits>-<16 hex>`.
fn is_stem(stem: &str) -> bool {
    let Some((millis, random)) = stem.split_once('-') else {
        return false;
    };
    !millis.is_empty()
        && millis.len() <= 20
        && millis.bytes().all(|b| b.is_ascii_digit())
        && random.len() == 16
        && random.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The caps of one product's copies (the facade takes them from the catalogue:
/// `candor_schema::LOCAL_COPY_MAX_BYTES` and the declared days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyCaps {
    /// At most this many bytes of copies.
    pub max_bytes: u64,
    /// None older than this.
    pub max_age: Duration,
}

impl CopyCaps {
    /// Caps for a reader, which never prunes: nothing it reads is refused by them.
    pub fn reading() -> Self {
        Self {
            max_bytes: MAX_COPY_READ,
            max_age: Duration::MAX,
        }
    }
}

/// One product's copies of its delivered payloads (`sent/<product>/`).
#[derive(Debug, Clone)]
pub struct SentCopies {
    dir: PathBuf,
    caps: CopyCaps,
}

impl SentCopies {
    pub(crate) fn new(dir: PathBuf, caps: CopyCaps) -> Self {
        Self { dir, caps }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keeps a copy of a payload sent at `sent`, then enforces the caps. Returns the copy's
    /// name, or `None` when the payload alone exceeds the size cap (nothing is kept).
    pub fn keep(
        &self,
        format: PayloadFormat,
        bytes: &[u8],
        sent: SystemTime,
    ) -> Result<Option<String>, StateError> {
        if bytes.len() as u64 > self.caps.max_bytes {
            return Ok(None);
        }
        file::ensure_dir(&self.dir)?;
        let millis = sent.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let random = crate::layout::random(8, &self.dir)?;
        let name = format!(
            "{millis}-{}.{}",
            crate::layout::hex(&random),
            format.extension()
        );
        file::create_new(&self.dir.join(&name), bytes)?;
        self.prune(SystemTime::now())?;
        Ok(Some(name))
    }

    /// Removes, under the folder's lock, the copies older than the age cap, then the oldest
    /// until the rest fit the size cap.
    pub fn prune(&self, now: SystemTime) -> Result<(), StateError> {
        let _held = FileLock::acquire(&self.dir.join(".lock"), Duration::from_secs(5))?;
        let mut copies = self.list()?;
        copies.sort();
        let cutoff = now
            .checked_sub(self.caps.max_age)
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis());
        let mut total: u64 = copies.iter().map(|c| c.2).sum();
        for (millis, name, len) in copies {
            if millis >= cutoff && total <= self.caps.max_bytes {
                break;
            }
            file::remove(&self.dir.join(&name))?;
            total -= len;
        }
        Ok(())
    }

    /// The copies there now: (milliseconds, name, length), in no order. Entries that are not
    /// regular files with a copy's name are skipped.
    fn list(&self) -> Result<Vec<(u128, String, u64)>, StateError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StateError::io(&self.dir, e)),
        };
        Ok(entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                PayloadFormat::of_name(&name)?;
                let meta = entry.metadata().ok().filter(|m| m.file_type().is_file())?;
                let millis = name.split('-').next()?.parse().ok()?;
                Some((millis, name, meta.len()))
            })
            .collect())
    }

    /// Reads the copy `name` (as a receipt names it) and its format: at most
    /// [`MAX_COPY_READ`] bytes, never through a symlink or from a FIFO. A name that is not a
    /// copy's is refused before anything is opened.
    pub fn read(&self, name: &str) -> Result<(PayloadFormat, Vec<u8>), StateError> {
        let format = PayloadFormat::of_name(name).ok_or_else(|| StateError::Invalid {
            path: self.dir.join(name.chars().take(64).collect::<String>()),
            reason: "is not the name of a payload's copy".to_owned(),
        })?;
        Ok((
            format,
            file::read_capped(&self.dir.join(name), MAX_COPY_READ)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copies(dir: &Path, caps: CopyCaps) -> SentCopies {
        SentCopies::new(dir.join("sent").join("p"), caps)
    }

    #[test]
    fn a_copy_reads_back_and_names_are_checked() {
        let tmp = tempfile::tempdir().expect("tmp");
        let c = copies(tmp.path(), CopyCaps::reading());
        let name = c
            .keep(PayloadFormat::OtlpProtobuf, b"wire", SystemTime::now())
            .expect("kept")
            .expect("a name");
        assert_eq!(
            PayloadFormat::of_name(&name),
            Some(PayloadFormat::OtlpProtobuf)
        );
        assert_eq!(
            c.read(&name).expect("read"),
            (PayloadFormat::OtlpProtobuf, b"wire".to_vec())
        );
        for bad in [
            "../p/x.jsonl",
            ".lock",
            "1-00.jsonl",
            "x.jsonl",
            "1-0123456789abcdef.exe",
        ] {
            assert!(c.read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn copies_past_the_age_or_size_cap_go_oldest_first() {
        let tmp = tempfile::tempdir().expect("tmp");
        let day = Duration::from_secs(24 * 3600);
        let c = copies(
            tmp.path(),
            CopyCaps {
                max_bytes: 10,
                max_age: 2 * day,
            },
        );
        let now = SystemTime::now();
        let old = c
            .keep(PayloadFormat::JsonLines, b"old", now - 3 * day)
            .expect("kept");
        assert!(old.is_some());
        // Pruned by age as soon as a newer copy is kept.
        let a = c.keep(PayloadFormat::JsonLines, b"aaaa", now).expect("a");
        assert!(c.read(old.as_deref().expect("old")).is_err());
        let b = c
            .keep(
                PayloadFormat::JsonLines,
                b"bbbb",
                now + Duration::from_millis(1),
            )
            .expect("b");
        let d = c
            .keep(
                PayloadFormat::JsonLines,
                b"dddd",
                now + Duration::from_millis(2),
            )
            .expect("d");
        // 12 bytes > 10: the oldest goes.
        assert!(c.read(a.as_deref().expect("a")).is_err());
        assert!(c.read(b.as_deref().expect("b")).is_ok());
        assert!(c.read(d.as_deref().expect("d")).is_ok());
        // A payload over the cap alone is not kept.
        assert_eq!(
            c.keep(PayloadFormat::JsonLines, &[b'x'; 11], now)
                .expect("refused quietly"),
            None
        );
        // Something planted with another name is never touched.
        std::fs::write(c.dir().join("mine.txt"), b"keep me").expect("plant");
        c.prune(now + 10 * day).expect("prune");
        assert!(c.dir().join("mine.txt").exists());
        assert!(c.read(d.as_deref().expect("d")).is_err(), "aged out");
    }
}
