//! Where accepted events are kept: a small trait and its two real backends.
//!
//! A store writes many batches in one transaction (so one commit acknowledges them all), never
//! keeps two rows for one event (a client's retry changes nothing), purges a product's rows older
//! than a time, and computes the aggregates reports are built from ([`Summaries`], bounded
//! whatever is stored). Rows hold the event's envelope and value only: no peer address, no
//! header.

mod key;
#[cfg(feature = "postgres")]
mod postgres;
mod prepare;
#[cfg(feature = "postgres")]
mod reach;
#[cfg(feature = "postgres")]
mod seal;
#[cfg(feature = "sqlite")]
mod sqlite;
mod summary;

use std::path::PathBuf;

pub use self::key::{KeyError, Sealing, StoreKey};
#[cfg(feature = "postgres")]
pub use self::postgres::PostgresStore;
pub(crate) use self::prepare::{Prepared, Preparer, Preparing};
#[cfg(feature = "sqlite")]
pub use self::sqlite::SqliteStore;
pub use self::summary::{OTHER, SummaryQuery};
pub use candor_schema::Storage;

use crate::validate::Reason;

/// An accepted event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// The event id: the key. The first event stored with an id wins; any later one with it
    /// (another time, product or content) is a duplicate.
    pub event_id: String,
    /// When it was recorded, microseconds since the Unix epoch.
    pub time_us: i64,
    /// Product id.
    pub product: String,
    /// Product version.
    pub product_version: String,
    /// Runtime line.
    pub runtime_line: String,
    /// Catalogue revision.
    pub catalogue_revision: String,
    /// Install id, only when the catalogue declares one.
    pub install_id: Option<String>,
    /// Data point id.
    pub point: String,
    /// The value's kind.
    pub kind: &'static str,
    /// The value's `data`, as JSON.
    pub value: String,
    /// Whether the event is kept as it is or folded into its day's aggregates.
    pub storage: Storage,
}

/// What one request brings to the store: the accepted events and the refusals to count.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Accepted events.
    pub events: Vec<StoredEvent>,
    /// Refusals by (product, reason); the product is empty when it is unknown.
    pub refusals: Vec<(String, Reason, u64)>,
    /// What the store computes of the events before writing them, when the threads that
    /// checked them did it already.
    pub(crate) prepared: Prepared,
}

impl Batch {
    /// A batch of these events and refusal counts.
    pub fn new(events: Vec<StoredEvent>, refusals: Vec<(String, Reason, u64)>) -> Self {
        Self {
            events,
            refusals,
            prepared: Prepared::default(),
        }
    }

    /// What the batch holds in memory while it waits for the writer.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.events
            .iter()
            .map(StoredEvent::memory_bytes)
            .sum::<usize>()
            + self.prepared.memory_bytes()
    }
}

/// What became of one batch's events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Newly stored.
    pub inserted: u64,
    /// Already stored (a retry).
    pub duplicates: u64,
}

/// A product's aggregates over a time range as the database computes them: a bounded number
/// of rows, however many and however varied the stored values ([`SummaryQuery`] sets the
/// bounds). `version: None` means all versions of the point together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summaries {
    /// Events per point and version: the most frequent versions, the rest under
    /// [`OTHER`].
    pub versions: Vec<VersionCount>,
    /// The most frequent categorical values per point and version (`value: None` is the sum
    /// of the rest).
    pub values: Vec<ValueCount>,
    /// Counts and durations: min, max, weighted median.
    pub numbers: Vec<NumberSummary>,
    /// Distributions merged: min of the minimums, max of the maximums, median of the medians.
    pub distributions: Vec<NumberSummary>,
    /// Histograms merged: the bucket counts of every event added up, key by key.
    pub histograms: Vec<HistogramSummary>,
    /// Distinct hashed values.
    pub distinct: Vec<DistinctCount>,
    /// Per point, the versions counted under [`OTHER`] for coming from fewer installations
    /// than the minimum group.
    pub small_versions: Vec<(String, u64)>,
}

/// The bucket counts of one point and version, added up over every stored event: exact, so a
/// percentile read from them is within one bucket of the percentile of all measurements.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSummary {
    /// Data point id.
    pub point: String,
    /// Product version (or [`OTHER`]); `None` for all versions.
    pub version: Option<String>,
    /// `(key, count)` in ascending key order, only buckets with measurements.
    pub buckets: Vec<(i64, u64)>,
    /// The sum of the measurements.
    pub sum: f64,
}

/// Events of one point and version (or [`OTHER`] versions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionCount {
    /// Data point id.
    pub point: String,
    /// Product version, or [`OTHER`].
    pub version: String,
    /// The point's stored kind.
    pub kind: String,
    /// Events.
    pub count: u64,
}

/// How often a categorical value occurred.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueCount {
    /// Data point id.
    pub point: String,
    /// Product version (or [`OTHER`]); `None` for all versions.
    pub version: Option<String>,
    /// The value; `None` for every value beyond those listed.
    pub value: Option<String>,
    /// How many times.
    pub count: u64,
    /// For the rest (`value: None`): how many of its values are there for coming from fewer
    /// installations than the minimum group.
    pub small: u64,
}

/// Numbers of one point and version.
#[derive(Debug, Clone, PartialEq)]
pub struct NumberSummary {
    /// Data point id.
    pub point: String,
    /// Product version (or [`OTHER`]); `None` for all versions.
    pub version: Option<String>,
    /// The smallest.
    pub min: Option<f64>,
    /// The largest.
    pub max: Option<f64>,
    /// The weighted median.
    pub median: Option<f64>,
    /// How many measurements.
    pub measurements: u64,
}

/// Distinct values of one point and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistinctCount {
    /// Data point id.
    pub point: String,
    /// Product version (or [`OTHER`]); `None` for all versions.
    pub version: Option<String>,
    /// Distinct values.
    pub distinct: u64,
}

/// Why the store failed. A failed write stored nothing of its batches. An error keeps the one
/// behind it (the driver's, the system's) as its `source()`; its message says what failed and
/// why in one line, whatever the driver's own message spans, and never shows a database
/// URL's password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL is not one Candor reads.
    #[error("{0}")]
    Url(String),
    /// The PostgreSQL connection string does not parse.
    #[cfg(feature = "postgres")]
    #[error("bad PostgreSQL URL: {}", Flat(.0))]
    UrlSyntax(#[source] ::postgres::Error),
    /// TLS to PostgreSQL cannot be set up: the CA file, the system's roots, rustls.
    #[cfg(feature = "postgres")]
    #[error("TLS to PostgreSQL: {what}: {}", Flat(&**.source))]
    Tls {
        /// What could not be used.
        what: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// PostgreSQL is unreachable or refused the operation.
    #[cfg(feature = "postgres")]
    #[error("the database failed: {}", Flat(.0))]
    Postgres(#[source] ::postgres::Error),
    /// A layout an earlier Candor made could not be brought up to date; nothing of it changed.
    #[cfg(feature = "postgres")]
    #[error(
        "the database failed: cannot convert the keys an earlier Candor stored in {table} to \
         bytes: {}",
        Flat(.source)
    )]
    Convert {
        /// The table.
        table: &'static str,
        /// Why.
        #[source]
        source: ::postgres::Error,
    },
    /// SQLite failed.
    #[cfg(feature = "sqlite")]
    #[error("the database failed: {}", Flat(.0))]
    Sqlite(#[source] rusqlite::Error),
    /// The SQLite file cannot be opened.
    #[cfg(feature = "sqlite")]
    #[error("the database failed: {}: {}", .path.display(), Flat(.source))]
    SqliteFile {
        /// The database file.
        path: PathBuf,
        /// Why.
        #[source]
        source: rusqlite::Error,
    },
    /// The database's folder cannot be made.
    #[error("the database failed: cannot create {}: {}", .path.display(), Flat(.source))]
    Folder {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// There is no database file to rotate the key of.
    #[error("the database failed: {}: no such database file", .0.display())]
    NoFile(PathBuf),
    /// Another process holds the SQLite file: a rotation (`rotating`: this is one, and another
    /// process has the file open) or another program's exclusive lock.
    #[error(
        "the database failed: {} is held by another process ({}): stop it, then try again",
        .path.display(),
        if *.rotating {
            "a candor serve, report or purge; a key is rotated with nothing else on the database"
        } else {
            "a rotation of its store key, or another program's exclusive lock"
        }
    )]
    Held {
        /// The database file.
        path: PathBuf,
        /// Whether the one refused is a rotation.
        rotating: bool,
    },
    /// A key rotation was refused: another Candor process is connected to the database.
    #[error(
        "the database failed: another Candor process (a candor serve, report or purge) is \
         connected to this PostgreSQL database: stop every one, then rotate the key"
    )]
    InUse,
    /// The operating system gave no random bytes (for a nonce).
    #[error("the database failed: no random bytes from the operating system: {0}")]
    Random(#[source] getrandom::Error),
    /// An event could not be sealed.
    #[error("the database failed: cannot seal an event: {}", Flat(&**.0))]
    Seal(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// This build has no such backend.
    #[error("this build of Candor has no {0} backend")]
    Unsupported(&'static str),
    /// The store key does not open the database (a wrong key, a key given for an unencrypted
    /// database or none for an encrypted one), or the connection would expose what it holds.
    #[error("{0}")]
    Key(String),
}

/// An error and every error behind it, on one line: a driver's message may span several
/// (PostgreSQL's `DETAIL:` and `HINT:`), and says little alone (`db error`).
struct Flat<'a>(&'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Flat<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let shown = cause.to_string();
            // Some errors show their source in their own message already.
            if !text.ends_with(&shown) {
                text.push_str(": ");
                text.push_str(&shown);
            }
            source = cause.source();
        }
        let mut words = text.split_whitespace();
        if let Some(first) = words.next() {
            f.write_str(first)?;
            for word in words {
                write!(f, " {word}")?;
            }
        }
        Ok(())
    }
}

/// A database: one connection, used from one thread at a time.
pub trait Store: Send {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Writes every batch in one transaction and returns, per batch, what was new. Either all
    /// of it is committed or none of it.
    fn write(&mut self, batches: &[&Batch]) -> Result<Vec<Written>, StoreError>;
    /// Removes a product's events recorded before `before_us`, and its aggregated days that
    /// begin before it (a day goes whole); returns how many events.
    fn purge(&mut self, product: &str, before_us: i64) -> Result<u64, StoreError>;
    /// The aggregates of a product's events recorded in `[since_us, until_us)`, computed in
    /// the database with bounded results.
    fn summarise(&mut self, query: &SummaryQuery<'_>) -> Result<Summaries, StoreError>;
    /// Refusal counts of a product, by reason code.
    fn refusals(&mut self, product: &str) -> Result<Vec<(String, u64)>, StoreError>;
    /// Removes every event of `product` stored with this install id and recorded at or
    /// before `before_us` (a deletion request); returns how many.
    fn erase(&mut self, product: &str, install_id: &str, before_us: i64)
    -> Result<u64, StoreError>;
}

/// How many connections write to PostgreSQL at once. A group of batches spends much of its
/// time waiting for its commit's WAL flush; with a second connection the next group executes
/// meanwhile (and PostgreSQL flushes the WAL of commits that arrive together once). Two keep
/// a group in flight while one commits; a third measured the same within the noise on two
/// cores (groups then only compete for the same CPU and WAL flush), and every connection is
/// held by every replica against the server's `max_connections`.
const POSTGRES_WRITERS: usize = 2;

/// Where the database is: `sqlite:PATH` or `postgres://…`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatabaseUrl {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (`postgres://user@host:port/db` or key=value form).
    Postgres(String),
}

impl std::fmt::Debug for DatabaseUrl {
    // A PostgreSQL URL may hold a password; it is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(p) => write!(f, "Sqlite({})", p.display()),
            Self::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

impl DatabaseUrl {
    /// Parses `sqlite:PATH` or `postgres://…` / `postgresql://…`.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Url("`sqlite:` needs a file path".to_owned()));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(Self::Postgres(text.to_owned()));
        }
        Err(StoreError::Url(
            "a database URL is `sqlite:PATH` or `postgres://…`".to_owned(),
        ))
    }

    /// How many connections `serve` writes on at once. SQLite has one writer (a second
    /// connection would only wait on its lock); PostgreSQL two (`POSTGRES_WRITERS`).
    pub fn writers(&self) -> usize {
        match self {
            Self::Sqlite(_) => 1,
            Self::Postgres(_) => POSTGRES_WRITERS,
        }
    }

    /// Opens a connection (creating the schema when it is missing) with `sealing`; a key that
    /// does not open the database is [`StoreError::Key`], before anything is read or written.
    pub fn open(&self, sealing: &Sealing) -> Result<Box<dyn Store>, StoreError> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(path) => Ok(Box::new(SqliteStore::open(path, sealing)?)),
            #[cfg(not(feature = "sqlite"))]
            Self::Sqlite(_) => {
                let _ = sealing;
                Err(StoreError::Unsupported("sqlite"))
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => Ok(Box::new(PostgresStore::connect(url, sealing)?)),
            #[cfg(not(feature = "postgres"))]
            Self::Postgres(_) => Err(StoreError::Unsupported("postgres")),
        }
    }

    /// Re-encrypts everything stored under `old` with `new`, in one transaction: when it
    /// returns, only `new` opens the database. Stop every `candor serve` on it first (one
    /// still running with `old` fails its writes, which its clients retry, and must be
    /// restarted with `new`).
    pub fn rotate_key(&self, old: &StoreKey, new: &StoreKey) -> Result<u64, StoreError> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(path) => SqliteStore::rotate_key(path, old, new),
            #[cfg(not(feature = "sqlite"))]
            Self::Sqlite(_) => {
                let _ = (old, new);
                Err(StoreError::Unsupported("sqlite"))
            }
            #[cfg(feature = "postgres")]
            Self::Postgres(url) => PostgresStore::rotate_key(url, old, new),
            #[cfg(not(feature = "postgres"))]
            Self::Postgres(_) => Err(StoreError::Unsupported("postgres")),
        }
    }
}

/// A day in microseconds: aggregates are kept per UTC day.
pub(crate) const DAY_US: i64 = 86_400_000_000;

/// The start of the UTC day holding `time_us`.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn day_start(time_us: i64) -> i64 {
    time_us.div_euclid(DAY_US).saturating_mul(DAY_US)
}

/// Adds refusal counts of batches together, by (product, reason code).
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn refusal_totals(batches: &[&Batch]) -> Vec<(String, &'static str, i64)> {
    let mut totals: std::collections::BTreeMap<(String, &'static str), i64> = Default::default();
    for batch in batches {
        for (product, reason, n) in &batch.refusals {
            *totals.entry((product.clone(), reason.code())).or_default() +=
                i64::try_from(*n).unwrap_or(i64::MAX);
        }
    }
    totals.into_iter().map(|((p, r), n)| (p, r, n)).collect()
}
