//! Receipts: a log, on this machine, of every payload actually delivered, so a user can see
//! what left and when.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use candor_state::{FileLock, StateError, file};

use serde::{Deserialize, Serialize};

/// One delivered payload: what the receiver took from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// When it was delivered (RFC 3339).
    pub time: String,
    /// The products whose events it carried.
    pub products: Vec<String>,
    /// The sink (`otlp-http`, `json`, `relay`, `file`).
    pub sink: String,
    /// Where it went.
    pub endpoint: String,
    /// How many events the receiver took.
    pub events: u64,
    /// Bytes sent (after compression).
    pub bytes: u64,
    /// The ids of the events the receiver took, so a receipt can be matched with what it
    /// holds. When it refused some without saying which (OTLP's partial success gives only a
    /// count), they are among these, and `refused` says how many.
    pub event_ids: Vec<String>,
    /// Events of the payload the receiver refused one by one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub refused: u64,
    /// Their ids, where the receiver said which.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused_ids: Vec<String>,
    /// The name of the payload's local copy, exactly as it went on the wire, in
    /// `sent/<product>/` (see [`candor_state::SentCopies`]); absent when none was kept (no
    /// copies configured, a payload over the size cap, a disk that refused it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copy: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A delivery problem a user should see next to the receipts: events dropped for good, or an
/// endpoint that could not be used (a refused connection, a TLS failure), with what to check.
/// Written to the same log; a problem line never reads as a receipt, nor a receipt as a problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// When it happened (RFC 3339).
    pub time: String,
    /// The products whose events were involved.
    pub products: Vec<String>,
    /// The sink.
    pub sink: String,
    /// Where it was sending (never with a query string).
    pub endpoint: String,
    /// What went wrong, in one line.
    pub problem: String,
    /// Events dropped for good because of it (0 when they were kept to retry).
    pub dropped: u64,
    /// What to check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The receipts log: JSON lines, capped in size; past the cap the older half is dropped.
#[derive(Debug, Clone)]
pub struct Receipts {
    path: PathBuf,
    max_bytes: u64,
}

impl Receipts {
    /// The log at `path`, kept under `max_bytes`.
    pub fn new(path: impl Into<PathBuf>, max_bytes: u64) -> Self {
        Self {
            path: path.into(),
            max_bytes: max_bytes.max(4096),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends a receipt. The log and its folder are created `0600`/`0700`; a symlink or FIFO
    /// where the log should be is an error, never followed. Past the cap, the older half is
    /// dropped under a lock, by a rename from a unique temporary name.
    pub fn append(&self, receipt: &Receipt) -> io::Result<()> {
        self.append_line(receipt)
    }

    /// Appends a delivery problem.
    pub fn append_problem(&self, problem: &Problem) -> io::Result<()> {
        self.append_line(problem)
    }

    /// The delivery problems, oldest first, optionally only those involving `product`.
    pub fn problems(&self, product: Option<&str>) -> io::Result<Vec<Problem>> {
        Ok(self
            .lines()?
            .lines()
            .filter_map(|l| serde_json::from_str::<Problem>(l).ok())
            .filter(|p| product.is_none_or(|q| p.products.iter().any(|r| r == q)))
            .collect())
    }

    /// The log's text, read capped; none yet is empty.
    fn lines(&self) -> io::Result<String> {
        match file::read_capped(&self.path, self.max_bytes * 2) {
            Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if e.is_not_found() => Ok(String::new()),
            Err(e) => Err(to_io(e)),
        }
    }

    fn append_line(&self, record: &impl Serialize) -> io::Result<()> {
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            file::ensure_dir(parent).map_err(to_io)?;
        }
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        let size = file::open_append(&self.path)
            .and_then(|f| {
                f.metadata().map(|m| m.len()).map_err(|e| StateError::Io {
                    path: self.path.clone(),
                    source: e,
                })
            })
            .map_err(to_io)?;
        if size + line.len() as u64 > self.max_bytes {
            self.keep_newer_half(line.len() as u64)?;
        }
        let mut file = file::open_append(&self.path).map_err(to_io)?;
        file.write_all(&line)?;
        Ok(())
    }

    fn keep_newer_half(&self, incoming: u64) -> io::Result<()> {
        let _held = FileLock::acquire(&self.path.with_extension("lock"), Duration::from_secs(5))
            .map_err(to_io)?;
        // Another process may have trimmed it while this one waited.
        let text = file::read_capped(&self.path, self.max_bytes * 2).map_err(to_io)?;
        if text.len() as u64 + incoming <= self.max_bytes {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.lines().collect();
        let kept = lines[lines.len() / 2..].join("\n");
        let kept = if kept.is_empty() { kept } else { kept + "\n" };
        file::write_replace(&self.path, kept.as_bytes()).map_err(to_io)
    }

    /// The receipts, oldest first, optionally only those carrying `product`. Lines that cannot
    /// be read are skipped; a log larger than twice its cap, a symlink or a FIFO is an error.
    pub fn read(&self, product: Option<&str>) -> io::Result<Vec<Receipt>> {
        Ok(self
            .lines()?
            .lines()
            .filter_map(|l| serde_json::from_str::<Receipt>(l).ok())
            .filter(|r| product.is_none_or(|p| r.products.iter().any(|q| q == p)))
            .collect())
    }
}

fn to_io(e: StateError) -> io::Error {
    io::Error::other(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(n: u64) -> Receipt {
        Receipt {
            time: "2026-11-21T00:00:00Z".into(),
            products: vec![if n.is_multiple_of(2) { "a" } else { "b" }.into()],
            sink: "file".into(),
            endpoint: "x".into(),
            events: n,
            bytes: n,
            event_ids: vec![format!("{n:032x}")],
            refused: 0,
            refused_ids: Vec::new(),
            copy: None,
        }
    }

    #[test]
    fn problems_and_receipts_never_read_as_each_other() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = Receipts::new(dir.path().join("r.jsonl"), 1 << 20);
        log.append(&receipt(2)).expect("append");
        log.append_problem(&Problem {
            time: "2026-11-21T00:00:00Z".into(),
            products: vec!["a".into()],
            sink: "json".into(),
            endpoint: "x".into(),
            problem: "refused".into(),
            dropped: 3,
            hint: None,
        })
        .expect("append");
        assert_eq!(log.read(None).expect("read").len(), 1);
        assert_eq!(log.problems(Some("a")).expect("read").len(), 1);
        assert_eq!(log.problems(Some("b")).expect("read").len(), 0);
    }

    #[test]
    fn receipts_are_capped_keeping_the_newest() {
        let dir = tempfile::tempdir().expect("tmp");
        // The fixed temporary name trimming once wrote through: planted, it is never touched.
        #[cfg(unix)]
        {
            std::fs::write(dir.path().join("victim"), "mine").expect("write");
            std::os::unix::fs::symlink(dir.path().join("victim"), dir.path().join("r.tmp"))
                .expect("symlink");
        }
        let log = Receipts::new(dir.path().join("r.jsonl"), 4096);
        for n in 0..200 {
            log.append(&receipt(n)).expect("append");
        }
        let size = std::fs::metadata(log.path()).expect("meta").len();
        assert!(size <= 4096, "{size}");
        let all = log.read(None).expect("read");
        assert_eq!(all.last().expect("some").events, 199);
        assert!(all.len() < 200);
        #[cfg(unix)]
        assert_eq!(
            std::fs::read_to_string(dir.path().join("victim")).expect("read"),
            "mine"
        );
        assert!(
            log.read(Some("a"))
                .expect("read")
                .iter()
                .all(|r| r.events.is_multiple_of(2))
        );
    }
}
