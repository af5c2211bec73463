//! Candor's folder on a machine, and the only code that touches the files in it.
//!
//! [`StateDir`] knows the whole layout (the user's `config.toml`, hashing keys, install ids, the
//! spool of each product, receipts, the local copies of delivered payloads ([`SentCopies`]), the
//! default sink's output, local-mode data, first-run
//! notice markers, the network record, consent-change records, the demo's folders) and is the
//! one place that creates, opens, locks or removes those files. [`config`] is the only code
//! that reads and parses `config.toml`: once per reading, into typed sections that consent and
//! the transport settings each take, and the one edit Candor makes to it. The free functions in [`file`](mod@file) are the primitives it uses, for the few
//! callers that write to a path a user named (the file sink, a `--spool` folder).
//!
//! The rules, held here once: folders are created `0700` and files `0600`; new files are made
//! under unique temporary names with `O_EXCL` and renamed into place, so a reader never sees
//! half a file and a planted name is never written through; a symlink, FIFO or device where a
//! file is expected is a one-line error, never followed or blocked on; every read is capped in
//! size; and what several processes may do at once (create a key, send a spool) goes through
//! a per-product advisory lock.
//!
//! `candor-consent`, `candor-transport`, the facade (`candor`) and the command line depend on
//! this crate. It knows paths, bytes and the shape of `config.toml`, nothing of catalogues, of
//! what consent decides, of privacy or of transport.

#![warn(missing_docs)]

pub mod config;
mod error;
pub mod file;
mod install_id;
mod layout;
mod sent;

pub use config::{CONFIG_FILE, ConfigError, ConfigFile, ConfigRead, ModeScope};
pub use error::StateError;
pub use file::{FileLock, FileStamp, MAX_SMALL_FILE};
pub use install_id::InstallId;
pub use layout::{KEY_LEN, MAX_NOTICE_MARKER, StateDir};
pub use sent::{CopyCaps, MAX_COPY_READ, PayloadFormat, SentCopies};
