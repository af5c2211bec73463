//! The file sink: JSON lines appended to a file, or written to stdout. The embedded default,
//! and what `local` mode and previews use.

use std::io::Write;
use std::path::PathBuf;

use candor_schema::Event;

use super::{Failure, Outcome, Sink};

/// Appends events as JSON lines.
#[derive(Debug)]
pub struct FileSink {
    target: Target,
    /// The last lines written, for the local copy.
    last: Option<super::Payload>,
}

#[derive(Debug)]
enum Target {
    File(PathBuf),
    Stdout,
}

impl FileSink {
    /// Appends to `path` (created with its folders).
    pub fn to_file(path: impl Into<PathBuf>) -> Self {
        Self {
            target: Target::File(path.into()),
            last: None,
        }
    }

    /// Writes to standard output.
    pub fn to_stdout() -> Self {
        Self {
            target: Target::Stdout,
            last: None,
        }
    }
}

impl Sink for FileSink {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn take_payload(&mut self) -> Option<super::Payload> {
        self.last.take()
    }

    fn destination(&self) -> String {
        match &self.target {
            Target::File(p) => p.display().to_string(),
            Target::Stdout => "stdout".to_owned(),
        }
    }

    fn deliver(&mut self, events: &[Event]) -> Outcome {
        let mut body = Vec::new();
        for event in events {
            if let Err(e) = serde_json::to_writer(&mut body, event) {
                return Outcome::Reject {
                    failure: Failure::Encode,
                    reason: format!("cannot encode an event: {e}"),
                };
            }
            body.push(b'\n');
        }
        let written = match &self.target {
            Target::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(&body).and_then(|()| out.flush())
            }
            // Opened through `candor-state`: folders `0700`, the file `0600`, and a symlink or
            // FIFO there is an error rather than followed or blocked on.
            Target::File(path) => (|| {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    candor_state::file::ensure_dir(parent).map_err(std::io::Error::other)?;
                }
                let mut file =
                    candor_state::file::open_append(path).map_err(std::io::Error::other)?;
                file.write_all(&body)?;
                file.sync_data()
            })(),
        };
        match written {
            Ok(()) => {
                self.last = Some(super::Payload {
                    format: candor_state::PayloadFormat::JsonLines,
                    bytes: body.clone(),
                });
                Outcome::Delivered {
                    bytes: body.len() as u64,
                    refused: super::Refusals::default(),
                }
            }
            Err(e) => Outcome::Retry {
                failure: Failure::Write,
                reason: format!("cannot write {}: {e}", self.destination()),
                after: None,
            },
        }
    }
}
