//! SQLite: one file, nothing to install. WAL journal with full sync, so a commit that returned
//! survives a crash of the process and of the machine. Built as SQLCipher: with the store key
//! every page of the file, its journal and its WAL is encrypted and authenticated, so nothing
//! stored is readable from the file or a copy of it, and SQL still computes the reports.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use super::summary::{self, Dialect, Statements, SummaryQuery, whole_count};
use super::{
    Batch, DistinctCount, NumberSummary, Sealing, Storage, Store, StoreError, StoreKey, Summaries,
    ValueCount, VersionCount, Written, day_start, refusal_totals,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS candor_events (
    event_id TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    product TEXT NOT NULL,
    product_version TEXT NOT NULL,
    runtime_line TEXT NOT NULL,
    catalogue_revision TEXT NOT NULL,
    install_id TEXT,
    point TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    -- The id alone names an event: the first stored wins, and the same id with another time,
    -- product or content is a duplicate.
    PRIMARY KEY (event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS candor_events_by_product_time ON candor_events (product, time_us);
-- A deletion request finds an installation's events without scanning the product's.
CREATE INDEX IF NOT EXISTS candor_events_by_install ON candor_events (product, install_id);
-- Aggregates storage: the ids of events folded into aggregates, for the duplicate window (an
-- aggregated event's id is kept with its day's start as its time, never the moment), and
-- per day the events' counts by point, version, kind, value and installation (`install` is
-- '' without an install id; an install id is 32 hex digits, never empty). The install is
-- there because a report's minimum group counts installations over any range of days.
CREATE TABLE IF NOT EXISTS candor_event_ids (
    event_id TEXT NOT NULL PRIMARY KEY,
    product TEXT NOT NULL,
    time_us INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS candor_event_ids_by_product_time ON candor_event_ids (product, time_us);
CREATE TABLE IF NOT EXISTS candor_aggregates (
    product TEXT NOT NULL,
    day_us INTEGER NOT NULL,
    point TEXT NOT NULL,
    product_version TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    install TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (product, day_us, point, product_version, kind, value, install)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS candor_refusals (
    product TEXT NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (product, reason)
) WITHOUT ROWID;
";

const INSERT: &str = "INSERT INTO candor_events (event_id, time_us, product, product_version, \
     runtime_line, catalogue_revision, install_id, point, kind, value) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING";

/// Claims an id for an aggregated event; no row when it was claimed before. (Plain values:
/// the same claim as an `INSERT … SELECT … WHERE NOT EXISTS` ran five times slower.)
const CLAIM: &str = "INSERT INTO candor_event_ids (event_id, product, time_us) \
     VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";

/// Whether an id was stored whole (an aggregated event sent again after a change of mode
/// must not count twice).
const STORED: &str = "SELECT 1 FROM candor_events WHERE event_id = ?1";

/// Whether an id was folded into aggregates (an event stored whole after a change of mode
/// must not count twice).
const CLAIMED: &str = "SELECT 1 FROM candor_event_ids WHERE event_id = ?1";

/// Folds one event into its day's aggregate.
const FOLD: &str = "INSERT INTO candor_aggregates (product, day_us, point, product_version, \
     kind, value, install, n) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1) \
     ON CONFLICT (product, day_us, point, product_version, kind, value, install) \
     DO UPDATE SET n = n + 1";

const COUNT_REFUSAL: &str = "INSERT INTO candor_refusals (product, reason, count) VALUES (?1, ?2, ?3) \
     ON CONFLICT (product, reason) DO UPDATE SET count = count + excluded.count";

/// A SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Connection,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Sqlite(e)
}

impl SqliteStore {
    /// Opens (or creates) the file with `sealing`. A new file is readable by its owner only.
    pub fn open(path: &Path, sealing: &Sealing) -> Result<Self, StoreError> {
        Self::open_with(path, sealing, false)
    }

    /// Opens the file; `exclusive` holds it against every other connection for as long as
    /// this one stays open, and is refused while another has it open.
    fn open_with(path: &Path, sealing: &Sealing, exclusive: bool) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::Folder {
                path: parent.to_owned(),
                source,
            })?;
        }
        let existed = path.exists();
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StoreError::SqliteFile {
            path: path.to_owned(),
            source,
        })?;
        #[cfg(unix)]
        if !existed {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        #[cfg(not(unix))]
        let _ = existed;
        if let Sealing::Key(key) = sealing {
            // Must come before anything reads the file.
            connection
                .execute_batch(&format!("PRAGMA key = {};", key.sqlcipher_pragma()))
                .map_err(db)?;
        }
        // SQLCipher logs a wrong key's failed page checks to stderr (its default, set when a
        // key first activates it); the error returned says it in one line instead.
        connection
            .execute_batch("PRAGMA cipher_log_level = NONE;")
            .map_err(db)?;
        if exclusive {
            // Set before the first read: in WAL mode the connection then takes the file's
            // exclusive lock, which it cannot get while any other connection has the file
            // open (each keeps a shared lock from its first read until it closes), and keeps
            // it until it closes, so nothing opens the file meanwhile.
            connection
                .busy_timeout(Duration::from_secs(2))
                .map_err(db)?;
            connection
                .execute_batch("PRAGMA locking_mode = EXCLUSIVE;")
                .map_err(db)?;
        }
        // The first read tells a wrong key (or a missing or needless one) from a good one:
        // SQLCipher authenticates every page, so a wrong key reads nothing.
        if let Err(e) = connection.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())) {
            let code = e.sqlite_error_code();
            if code == Some(rusqlite::ErrorCode::DatabaseBusy) {
                return Err(StoreError::Held {
                    path: path.to_owned(),
                    rotating: exclusive,
                });
            }
            let not_a_database = code == Some(rusqlite::ErrorCode::NotADatabase);
            if !not_a_database {
                return Err(StoreError::SqliteFile {
                    path: path.to_owned(),
                    source: e,
                });
            }
            return Err(StoreError::Key(match sealing {
                Sealing::Key(_) => format!(
                    "the store key does not open {} (a wrong key, or a database stored \
                     unencrypted)",
                    path.display()
                ),
                Sealing::Unencrypted => format!(
                    "{} is encrypted (or not a SQLite file): give its --store-key-file",
                    path.display()
                ),
            }));
        }
        // Another process holding the write lock makes us wait, up to a deadline.
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(db)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        // A report's temporary tables and sorts spill to files, not to this process's memory.
        connection
            .pragma_update(None, "temp_store", "FILE")
            .map_err(db)?;
        connection.execute_batch(SCHEMA).map_err(db)?;
        Ok(Self { connection })
    }
}

impl SqliteStore {
    /// Re-encrypts the file from `old` to `new` (SQLCipher's rekey, one transaction); returns
    /// the events it holds. Refused while any other connection has the file open (a
    /// `candor serve` left running with `old` would fail every request afterwards), and
    /// nothing else opens it until the rotation has finished.
    pub(crate) fn rotate_key(
        path: &Path,
        old: &StoreKey,
        new: &StoreKey,
    ) -> Result<u64, StoreError> {
        if !path.is_file() {
            return Err(StoreError::NoFile(path.to_owned()));
        }
        let store = Self::open_with(path, &Sealing::Key(old.clone()), true)?;
        let events: i64 = store
            .connection
            .query_row("SELECT count(*) FROM candor_events", [], |r| r.get(0))
            .map_err(db)?;
        store
            .connection
            .execute_batch(&format!("PRAGMA rekey = {};", new.sqlcipher_pragma()))
            .map_err(db)?;
        drop(store);
        // Proof that the new key opens it, before saying so.
        Self::open(path, &Sealing::Key(new.clone()))?;
        Ok(u64::try_from(events).unwrap_or(0))
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn write(&mut self, batches: &[&Batch]) -> Result<Vec<Written>, StoreError> {
        // Immediate: the first statement may be a read (is the id claimed?), and a read
        // transaction that another process's commit overtook cannot become a write in WAL
        // mode; taking the write lock first makes a second writer wait its turn instead.
        let tx = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let mut out = Vec::with_capacity(batches.len());
        {
            let mut insert = tx.prepare_cached(INSERT).map_err(db)?;
            let mut claim = tx.prepare_cached(CLAIM).map_err(db)?;
            let mut stored = tx.prepare_cached(STORED).map_err(db)?;
            let mut claimed = tx.prepare_cached(CLAIMED).map_err(db)?;
            let mut fold = tx.prepare_cached(FOLD).map_err(db)?;
            for batch in batches {
                let mut written = Written::default();
                for e in &batch.events {
                    let new = match e.storage {
                        Storage::Aggregates => {
                            let new = !stored.exists(params![e.event_id]).map_err(db)?
                                && claim
                                    .execute(params![e.event_id, e.product, day_start(e.time_us)])
                                    .map_err(db)?
                                    == 1;
                            if new {
                                fold.execute(params![
                                    e.product,
                                    day_start(e.time_us),
                                    e.point,
                                    e.product_version,
                                    e.kind,
                                    e.value,
                                    e.install_id.as_deref().unwrap_or(""),
                                ])
                                .map_err(db)?;
                            }
                            new
                        }
                        _ => {
                            !claimed.exists(params![e.event_id]).map_err(db)?
                                && insert
                                    .execute(params![
                                        e.event_id,
                                        e.time_us,
                                        e.product,
                                        e.product_version,
                                        e.runtime_line,
                                        e.catalogue_revision,
                                        e.install_id,
                                        e.point,
                                        e.kind,
                                        e.value
                                    ])
                                    .map_err(db)?
                                    == 1
                        }
                    };
                    if new {
                        written.inserted += 1;
                    } else {
                        written.duplicates += 1;
                    }
                }
                out.push(written);
            }
            let mut count = tx.prepare_cached(COUNT_REFUSAL).map_err(db)?;
            for (product, reason, n) in refusal_totals(batches) {
                count.execute(params![product, reason, n]).map_err(db)?;
            }
        }
        tx.commit().map_err(db)?;
        Ok(out)
    }

    fn purge(&mut self, product: &str, before_us: i64) -> Result<u64, StoreError> {
        let tx = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let events = tx
            .execute(
                "DELETE FROM candor_events WHERE product = ?1 AND time_us < ?2",
                params![product, before_us],
            )
            .map_err(db)?;
        // A day is dropped whole once any of it is past the cut: a day's aggregates cannot be
        // split, and keeping the day would keep part of it longer than promised.
        let folded: i64 = tx
            .query_row(
                "SELECT COALESCE(SUM(n), 0) FROM candor_aggregates \
                 WHERE product = ?1 AND day_us < ?2",
                params![product, before_us],
                |r| r.get(0),
            )
            .map_err(db)?;
        tx.execute(
            "DELETE FROM candor_aggregates WHERE product = ?1 AND day_us < ?2",
            params![product, before_us],
        )
        .map_err(db)?;
        // The ids go with the retention: an event sent again after it is refused as too old.
        tx.execute(
            "DELETE FROM candor_event_ids WHERE product = ?1 AND time_us < ?2",
            params![product, before_us],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(events as u64 + u64::try_from(folded).unwrap_or(0))
    }

    fn summarise(&mut self, query: &SummaryQuery<'_>) -> Result<Summaries, StoreError> {
        let statements = DIALECT.statements();
        summary::summarise(&mut Runner(&self.connection), &statements, query)
    }

    fn erase(
        &mut self,
        product: &str,
        install_id: &str,
        before_us: i64,
    ) -> Result<u64, StoreError> {
        let tx = self
            .connection
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        // The erased events' ids stay claimed until retention ends, so an old payload retried
        // later is a duplicate and what was erased is not stored again.
        tx.execute(
            "INSERT INTO candor_event_ids (event_id, product, time_us) \
             SELECT event_id, product, time_us FROM candor_events \
             WHERE product = ?1 AND install_id = ?2 AND time_us <= ?3 ON CONFLICT DO NOTHING",
            params![product, install_id, before_us],
        )
        .map_err(db)?;
        let events = tx
            .execute(
                "DELETE FROM candor_events WHERE product = ?1 AND install_id = ?2 \
                 AND time_us <= ?3",
                params![product, install_id, before_us],
            )
            .map_err(db)?;
        // Aggregates keep the day, not the moment: every day of this installation up to and
        // including the day of the opt-out goes (a little more than the request asks, never
        // less).
        let folded: i64 = tx
            .query_row(
                "SELECT COALESCE(SUM(n), 0) FROM candor_aggregates WHERE product = ?1 \
                 AND install = ?2 AND day_us <= ?3",
                params![product, install_id, before_us],
                |r| r.get(0),
            )
            .map_err(db)?;
        tx.execute(
            "DELETE FROM candor_aggregates WHERE product = ?1 AND install = ?2 AND day_us <= ?3",
            params![product, install_id, before_us],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(events as u64 + u64::try_from(folded).unwrap_or(0))
    }

    fn refusals(&mut self, product: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT reason, count FROM candor_refusals WHERE product = ?1 ORDER BY reason",
            )
            .map_err(db)?;
        let rows = statement
            .query_map(params![product], |r| {
                Ok((r.get(0)?, u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0)))
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
    }
}

const DIALECT: Dialect = Dialect {
    param: |n| format!("?{n}"),
    int_param: |n| format!("?{n}"),
    total: |x| format!("TOTAL({x})"),
    count_sum: |x| format!("SUM({x})"),
    scalar: "CASE WHEN substr(g.value, 1, 1) = '\"' THEN json_extract(g.value, '$') \
             ELSE g.value END",
    array_items: "json_each(g.value) AS j",
    object_pairs: "json_each(g.value) AS j",
    number: |x| format!("CAST({x} AS REAL)"),
    number_field: |f| format!("json_extract(g.value, '$.{f}')"),
    text_field: |f| format!("json_extract(g.value, '$.{f}')"),
    whole: |x| format!("CAST(CAST({x} AS INTEGER) AS REAL)"),
    greater: |a, b| format!("MAX({a}, {b})"),
    bytewise: "",
    empty: |table| format!("DELETE FROM {table}"),
    sealed_rows: false,
    bucket_pairs: "json_each(g.value, '$.buckets') AS j",
    pair_item: |i| format!("json_extract(j.value, '$[{i}]')"),
};

struct Runner<'a>(&'a Connection);

fn version_of(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<String>> {
    row.get(at)
}

fn count_of(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<u64> {
    Ok(u64::try_from(row.get::<_, i64>(at)?).unwrap_or(0))
}

fn numbers(connection: &Connection, sql: &str) -> Result<Vec<NumberSummary>, StoreError> {
    let mut statement = connection.prepare(sql).map_err(db)?;
    let rows = statement
        .query_map([], |r| {
            Ok(NumberSummary {
                point: r.get(0)?,
                version: version_of(r, 1)?,
                min: r.get(2)?,
                max: r.get(3)?,
                median: r.get(4)?,
                measurements: whole_count(r.get::<_, Option<f64>>(5)?.unwrap_or(0.0)),
            })
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

impl summary::Runner for Runner<'_> {
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.0.execute_batch(sql).map_err(db)
    }

    fn fill_groups(&mut self, sql: &str, query: &SummaryQuery<'_>) -> Result<(), StoreError> {
        self.0
            .execute(sql, params![query.product, query.since_us, query.until_us])
            .map_err(db)?;
        self.0
            .execute(
                summary::FILL_GROUPS_FROM_AGGREGATES,
                params![query.product, day_start(query.since_us), query.until_us],
            )
            .map(|_| ())
            .map_err(db)
    }

    fn fill_buckets(&mut self, sql: &str, top: i64, min_group: i64) -> Result<(), StoreError> {
        self.0
            .execute(sql, params![top, min_group])
            .map(|_| ())
            .map_err(db)
    }

    fn summaries(
        &mut self,
        statements: &Statements,
        top_values: i64,
        min_group: i64,
    ) -> Result<Summaries, StoreError> {
        let c = self.0;
        let versions = {
            let mut statement = c.prepare(&statements.versions).map_err(db)?;
            let rows = statement
                .query_map([], |r| {
                    Ok(VersionCount {
                        point: r.get(0)?,
                        version: r.get(1)?,
                        kind: r.get(2)?,
                        count: count_of(r, 3)?,
                    })
                })
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)?
        };
        let values = {
            let mut statement = c.prepare(&statements.values).map_err(db)?;
            let rows = statement
                .query_map(params![top_values, min_group], |r| {
                    Ok(ValueCount {
                        point: r.get(0)?,
                        version: version_of(r, 1)?,
                        value: r.get(2)?,
                        count: whole_count(r.get::<_, Option<f64>>(3)?.unwrap_or(0.0)),
                        small: count_of(r, 4)?,
                    })
                })
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)?
        };
        let distinct = {
            let mut statement = c.prepare(&statements.distinct).map_err(db)?;
            let rows = statement
                .query_map([], |r| {
                    Ok(DistinctCount {
                        point: r.get(0)?,
                        version: version_of(r, 1)?,
                        distinct: count_of(r, 2)?,
                    })
                })
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)?
        };
        let small_versions = {
            let mut statement = c.prepare(&statements.small_versions).map_err(db)?;
            let rows = statement
                .query_map([], |r| Ok((r.get(0)?, count_of(r, 1)?)))
                .map_err(db)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(db)?
        };
        let histograms = {
            let mut statement = c.prepare(&statements.histograms).map_err(db)?;
            let rows = statement
                .query_map([], |r| {
                    Ok((r.get(0)?, version_of(r, 1)?, r.get(2)?, r.get(3)?))
                })
                .map_err(db)?;
            summary::histograms(rows.collect::<Result<Vec<_>, _>>().map_err(db)?)
        };
        Ok(Summaries {
            small_versions,
            versions,
            values,
            numbers: numbers(c, &statements.numbers)?,
            distributions: numbers(c, &statements.distributions)?,
            histograms,
            distinct,
        })
    }
}
