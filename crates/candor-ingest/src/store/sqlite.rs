//! SQLite: one file, nothing to install. WAL journal with full sync, so a commit that returned
//! survives a crash of the process and of the machine.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use super::{Batch, GroupRow, Store, StoreError, Written, refusal_totals};

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
    -- The id alone names an event: the same id with another time is a duplicate.
    PRIMARY KEY (event_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS candor_events_by_product_time ON candor_events (product, time_us);
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

const COUNT_REFUSAL: &str = "INSERT INTO candor_refusals (product, reason, count) VALUES (?1, ?2, ?3) \
     ON CONFLICT (product, reason) DO UPDATE SET count = count + excluded.count";

/// A SQLite database file.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Connection,
}

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

impl SqliteStore {
    /// Opens (or creates) the file. A new file is readable by its owner only.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                StoreError::Database(format!("cannot create {}: {e}", parent.display()))
            })?;
        }
        let existed = path.exists();
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Database(format!("{}: {e}", path.display())))?;
        #[cfg(unix)]
        if !existed {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        #[cfg(not(unix))]
        let _ = existed;
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
        connection.execute_batch(SCHEMA).map_err(db)?;
        Ok(Self { connection })
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn write(&mut self, batches: &[&Batch]) -> Result<Vec<Written>, StoreError> {
        let tx = self.connection.transaction().map_err(db)?;
        let mut out = Vec::with_capacity(batches.len());
        {
            let mut insert = tx.prepare_cached(INSERT).map_err(db)?;
            for batch in batches {
                let mut written = Written::default();
                for e in &batch.events {
                    let n = insert
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
                        .map_err(db)?;
                    if n == 1 {
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
        let n = self
            .connection
            .execute(
                "DELETE FROM candor_events WHERE product = ?1 AND time_us < ?2",
                params![product, before_us],
            )
            .map_err(db)?;
        Ok(n as u64)
    }

    fn groups(
        &mut self,
        product: &str,
        since_us: i64,
        until_us: i64,
    ) -> Result<Vec<GroupRow>, StoreError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT point, product_version, kind, value, COUNT(*) FROM candor_events \
                 WHERE product = ?1 AND time_us >= ?2 AND time_us < ?3 \
                 GROUP BY point, product_version, kind, value",
            )
            .map_err(db)?;
        let rows = statement
            .query_map(params![product, since_us, until_us], |r| {
                Ok(GroupRow {
                    point: r.get(0)?,
                    product_version: r.get(1)?,
                    kind: r.get(2)?,
                    value: r.get(3)?,
                    count: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                })
            })
            .map_err(db)?;
        rows.collect::<Result<_, _>>().map_err(db)
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
