//! Candor's receiving end: what a vendor runs to receive the telemetry its products send.
//!
//! It accepts the JSON sink's payloads and OTLP/HTTP logs ([`decode`]), checks every event
//! against the catalogue revision it names ([`Accepted::check`]: product, revision, point in
//! effect for that version and line, value of the declared kind within bounds and item cap,
//! no text a sender cannot produce, privacy class kept), stores accepted events exactly once
//! (the event id is the key) in SQLite or PostgreSQL ([`store`]), or, for a product kept as
//! aggregates ([`store::Storage`]), folds them into per-day counts and keeps their ids only,
//! through a bounded queue and
//! one writer ([`writer`]), purges what the catalogue's retention no longer allows
//! ([`retention`]), and reports aggregates the database computes with bounded answers
//! ([`report`], [`page`]), naming a value or a version only when it comes from the product's
//! minimum group of installations. Everything stored is encrypted with the store key
//! ([`StoreKey`], [`Sealing`]): SQLite as SQLCipher, PostgreSQL as sealed rows with keyed
//! hashes where it must match ids. Bodies are decoded and checked a slice at a time on a
//! small pool of threads of its own, the body with the least left first, within one memory
//! budget, and a request stores at most a multiple of its size on the wire ([`IngestConfig`]). The HTTP
//! service puts it on HTTP; [`spawn`] runs it on its own threads. Products send without a
//! credential; the read endpoints answer only the bearer of the read token ([`ReadToken`]),
//! and are off without one.
//!
//! `candor serve`, `candor report` and `candor purge` are thin callers. It depends on
//! `candor-schema` (catalogues, gates, the one event type and value check shared with the
//! sending side), `candor-check` (the event check the spool's re-admission runs too),
//! `candor-otlp` (the one OTLP mapping, the sinks' own), `candor-privacy` (the scrubber as a
//! detector) and `candor-http-server`; it knows nothing of
//! consent, collection or the sending transport, and it never stores a peer's address or a
//! request header.

#![warn(missing_docs)]

mod access;
pub mod decode;
mod intake;
pub mod page;
mod pool;
pub mod report;
pub mod retention;
mod service;
pub mod store;
mod validate;
pub mod writer;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use access::{MIN_READ_TOKEN_LEN, ReadToken, ReadTokenError};
pub use candor_http_server::{ServerConfig, ServerError};
pub use service::{Ingest, IngestConfig};
pub use store::{DatabaseUrl, KeyError, Sealing, Store, StoreError, StoreKey};
pub use validate::{Accepted, MAX_AGE_WITHOUT_RETENTION_DAYS, MAX_CLOCK_AHEAD, Reason, Refusal};

/// Why the receiving end could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The HTTP server.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The runtime or a thread cannot be started.
    #[error("cannot start: {0}")]
    Start(#[source] std::io::Error),
}

/// A running `candor serve`: its address, and a handle to stop it.
#[derive(Debug)]
pub struct Running {
    address: SocketAddr,
    ingest: Arc<Ingest>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The receiving end itself.
    pub fn ingest(&self) -> &Arc<Ingest> {
        &self.ingest
    }

    /// Stops accepting, lets requests in flight finish, and waits for the threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    /// Blocks until the server stops (on SIGINT or SIGTERM when `on_signal` was set).
    pub fn wait(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts the receiving end on `listen`, on `database` opened with `sealing`, with its own runtime (two worker threads) and the
/// periodic purge; stops on [`Running::stop`], on drop, and, with `on_signal`, on SIGINT or
/// SIGTERM.
pub fn spawn(
    accepted: Accepted,
    database: &DatabaseUrl,
    sealing: &Sealing,
    listen: &str,
    config: IngestConfig,
    server: ServerConfig,
    on_signal: bool,
) -> Result<Running, IngestError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("candor-serve")
        .enable_all()
        .build()
        .map_err(IngestError::Start)?;
    let purge_every = config.purge_every;
    let ingest = Arc::new(Ingest::open(accepted, database, sealing, config)?);
    let bound = runtime.block_on(candor_http_server::Server::bind(listen, server))?;
    let address = bound.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = Arc::clone(&ingest);
    let thread = std::thread::Builder::new()
        .name("candor-serve".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let purging = Arc::clone(&serving);
                let purge = tokio::spawn(async move {
                    let mut tick = tokio::time::interval(purge_every.max(Duration::from_secs(1)));
                    loop {
                        tick.tick().await;
                        let _ = purging.purge(SystemTime::now()).await;
                    }
                });
                let shutdown = async move {
                    if on_signal {
                        tokio::select! {
                            _ = stopped => {}
                            () = signal() => {}
                        }
                    } else {
                        let _ = stopped.await;
                    }
                };
                let _ = bound.run(service::Endpoints(serving), shutdown).await;
                purge.abort();
            });
        })
        .map_err(IngestError::Start)?;
    Ok(Running {
        address,
        ingest,
        stop: Some(stop),
        thread: Some(thread),
    })
}

#[cfg(unix)]
async fn signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// A time that is neither RFC 3339 nor a length of time ago; holds the text as shown (cut,
/// control characters escaped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither an RFC 3339 time nor a length of time ago (like 30d)")]
pub struct TimeArgError(String);

/// Reads a time given on the command line or in a query: RFC 3339 (`2026-11-01T00:00:00Z`), or
/// a length of time ago (`30d`, `12h`). Returns microseconds since the epoch.
pub fn parse_time_arg(text: &str, now: SystemTime) -> Result<i64, TimeArgError> {
    if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        return Ok(validate::micros(t));
    }
    if let Ok(ago) = humantime::parse_duration(text) {
        return Ok(validate::micros(
            now.checked_sub(ago).unwrap_or(SystemTime::UNIX_EPOCH),
        ));
    }
    Err(TimeArgError(validate::shown(text)))
}
