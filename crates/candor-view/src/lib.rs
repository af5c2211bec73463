//! The person at the machine looks at what Candor holds: `candor view`.
//!
//! [`gather`] reads Candor's folder (and the demo runs' folders inside it) into a [`Snapshot`]:
//! for each product, the consent decision and the rule that decided, the catalogue in effect
//! with each point's protection, what waits in the spool, the receipts of what was sent with the
//! events as sent (decoded from the copy kept of each payload, [`sent_events`]), what mode `local` kept, and counts for the charts. [`render`] turns it into one
//! HTML document (no script, every string escaped through `candor-html`). [`ViewServer`] serves
//! that page with Candor's one HTTP server, on loopback only, at a path holding a per-run
//! secret, answering only requests whose `Host` names the loopback address it listens on (a
//! page of another site that rebinds its name to 127.0.0.1 gets 421).
//!
//! Depends on `candor-state` (every file is read through `StateDir`), `candor-consent`,
//! `candor-schema`, `candor-transport` (the spool and receipts formats), `candor-ingest` (its
//! decoders read the copies of payloads sent, so the page shows what a receiver reads),
//! `candor-html` and `candor-http-server`; the command line (`candor view`) depends on it. It writes nothing and
//! sends nothing: it must not know sinks, keys or how to deliver.

#![warn(missing_docs)]

mod browser;
mod gather;
mod page;
mod sent;
mod server;

pub use browser::{RedirectFile, open_browser};
pub use gather::{
    FolderView, ProductView, ReceiptView, SentEvent, Snapshot, SpooledBatch, Unreadable, gather,
};
pub use page::render;
pub use sent::{CopyError, payload_events, sent_events};
pub use server::{ViewError, ViewServer, ViewSource};
