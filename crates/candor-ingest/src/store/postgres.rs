//! PostgreSQL: for several ingest processes on one database.
//!
//! Events are partitioned by product (list), then by calendar month of their time (range), so a
//! purge drops whole months of one product and deletes rows only in the month that straddles the
//! cut. Partitions are created on first use; two processes creating the same one race harmlessly.
//! A batch group is one statement, prepared once per connection, that commits on its own: it
//! claims every event id of the group (`INSERT … SELECT FROM UNNEST(arrays) … RETURNING`),
//! stores the events whose claims won, and only they, folds the aggregated ones into their
//! days, and counts the refusals.
//!
//! What PostgreSQL holds of an event is its product and time in the clear (they partition and
//! purge the table), keyed hashes of its id and install id (their 32 bytes: compared byte by
//! byte, never under the database's collation), and its content sealed ([`Sealer`]), both
//! computed before the write by the threads that checked the event (`prepare`):
//! neither the database's files, a dump nor a backup shows a value, an install id or an
//! aggregate without the store key. A product kept as aggregates has per-day groups instead
//! of event rows: the group's content sealed, named by a keyed hash of it, with its count. Reports open the rows of their range a slice at a time
//! into a temporary table of the report's own session, where the same SQL as SQLite's groups
//! them; the table is emptied when the report ends. A key check value stored in the database
//! makes a wrong key an error at connection, never an empty report; every connection holds an
//! advisory lock shared that a key rotation takes alone, so the key checked stays the key for
//! as long as the connection lives.
//! A connection leaves this machine only over TLS that verifies the server (`reach`).

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use postgres::Client;
use postgres::error::SqlState;

use postgres::{GenericClient, Transaction};

use super::key::{Sealing, StoreKey, hex};
use super::prepare::{Row, Rows};
use super::reach::Reach;
use super::seal::{Nonces, RowKey, Sealer};
use super::summary::{self, Dialect, Statements, SummaryQuery, whole_count};
use super::{
    Batch, DistinctCount, NumberSummary, Storage, Store, StoreError, Summaries, ValueCount,
    VersionCount, Written, day_start, refusal_totals,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS candor_store_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS candor_events (
    -- A keyed hash of the event id, of the install id (32 bytes each); the rest is sealed.
    event_id BYTEA NOT NULL,
    time_us BIGINT NOT NULL,
    product TEXT NOT NULL,
    install_key BYTEA,
    sealed BYTEA NOT NULL
) PARTITION BY LIST (product);
-- The id alone names an event. A partitioned table cannot hold a key on the id alone, so each
-- id is claimed here in the same transaction; the event is stored only by the claim that won.
-- (That claim is the events' only key: a key of their own, on product, id and time, guarded
-- nothing the claim does not, and keeping its index up cost a quarter of every write.)
CREATE TABLE IF NOT EXISTS candor_event_ids (
    event_id BYTEA PRIMARY KEY,
    product TEXT NOT NULL,
    time_us BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS candor_event_ids_by_product_time ON candor_event_ids (product, time_us);
-- Aggregates storage: per product and UTC day, a count per group of events with equal content
-- (point, version, kind, value, install id), named by a keyed hash of that content and
-- holding it sealed. Only the product, the day and the count are in the clear.
CREATE TABLE IF NOT EXISTS candor_aggregates (
    product TEXT NOT NULL,
    day_us BIGINT NOT NULL,
    group_key BYTEA NOT NULL,
    sealed BYTEA NOT NULL,
    n BIGINT NOT NULL,
    -- The keyed hash of the group's install id (as candor_events keeps it), so a deletion
    -- request finds an installation's groups; NULL for events without one.
    install_key BYTEA,
    PRIMARY KEY (product, day_us, group_key)
);
CREATE INDEX IF NOT EXISTS candor_aggregates_by_install ON candor_aggregates (product, install_key);
CREATE TABLE IF NOT EXISTS candor_products (
    product TEXT PRIMARY KEY,
    id SERIAL UNIQUE
);
CREATE TABLE IF NOT EXISTS candor_refusals (
    product TEXT NOT NULL,
    reason TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (product, reason)
);
";

/// A group of batches whose ids are all new, in one statement that commits on its own (no
/// `BEGIN`, no `COMMIT`: each was a round trip and a command of its own, together about a
/// fifth of a batch's time). It claims every event id (given in the order of their keyed
/// hashes, so two writers claiming some of the same ids take them in one order and never wait
/// on each other in a cycle; each id once, the group's first event with it), stores the
/// events kept whole, adds the aggregated ones to their day's groups (in key order, so two
/// writers lock rows in one order) and counts the refusals. The claims are plain inserts: an
/// id claimed before (a retry, or the same event arriving at another replica) fails the
/// statement on the claims' key, nothing of it is kept, and the group is written again by
/// [`WRITE`]. (Claiming with `ON CONFLICT … RETURNING` and storing only the winners cost 40%
/// more per event than this, and a group with a duplicate is the exception: a client's
/// retry.) The id alone is the key, as SQLite's primary key has it: a later event with a
/// claimed id (another time, another product, other content) is a duplicate, and only the
/// events whose claim won are stored; every event row is stored with its claim, and a purge,
/// an erasure or a rotation removes or changes a row only together with (or leaving) its
/// claim. (Not a `COPY`: a writer stopped while its rows were on their way left its session
/// inside a statement, holding its claims until the statement timeout, 30 s; a statement is
/// run only once the database has all of it.) Reading the claims first in the main query
/// makes them the statement's first writes.
const WRITE_NEW: &str = "WITH claimed AS (INSERT INTO candor_event_ids (event_id, product, \
     time_us) SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::int8[]) RETURNING 1), \
     stored AS (INSERT INTO candor_events (event_id, time_us, product, install_key, sealed) \
     SELECT event_id, time_us, product, install_key, sealed FROM UNNEST($4::bytea[], \
     $5::int8[], $6::text[], $7::bytea[], $8::bytea[], $9::int4[]) \
     AS w(event_id, time_us, product, install_key, sealed, batch)), \
     summed AS (INSERT INTO candor_aggregates (product, day_us, group_key, sealed, n, \
     install_key) \
     SELECT product, day_us, group_key, (array_agg(sealed))[1], COUNT(*), \
     (array_agg(install_key))[1] FROM UNNEST($10::bytea[], $11::int8[], $12::text[], \
     $13::bytea[], $14::bytea[], $15::bytea[], $16::int4[]) \
     AS f(event_id, day_us, product, group_key, sealed, install_key, batch) \
     GROUP BY product, day_us, group_key ORDER BY product, day_us, group_key \
     ON CONFLICT (product, day_us, group_key) DO UPDATE \
     SET n = candor_aggregates.n + excluded.n), \
     counted AS (INSERT INTO candor_refusals (product, reason, count) \
     SELECT * FROM UNNEST($17::text[], $18::text[], $19::int8[]) \
     ON CONFLICT (product, reason) DO UPDATE SET count = candor_refusals.count + excluded.count) \
     SELECT COUNT(*) FROM claimed";

/// [`WRITE_NEW`] for a group some of whose ids were claimed before: the claims skip those
/// (`ON CONFLICT DO NOTHING`), only the events whose claims won are stored or folded, and it
/// answers how many events of each batch were new.
const WRITE: &str = "WITH claims AS (SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::int8[]) \
     AS c(event_id, product, time_us)), \
     whole AS (SELECT * FROM UNNEST($4::bytea[], $5::int8[], $6::text[], $7::bytea[], \
     $8::bytea[], $9::int4[]) AS w(event_id, time_us, product, install_key, sealed, batch)), \
     folded AS (SELECT * FROM UNNEST($10::bytea[], $11::int8[], $12::text[], $13::bytea[], \
     $14::bytea[], $15::bytea[], $16::int4[]) \
     AS f(event_id, day_us, product, group_key, sealed, install_key, batch)), \
     claimed AS (INSERT INTO candor_event_ids (event_id, product, time_us) \
     SELECT * FROM claims ON CONFLICT DO NOTHING RETURNING event_id), \
     stored AS (INSERT INTO candor_events (event_id, time_us, product, install_key, sealed) \
     SELECT event_id, time_us, product, install_key, sealed FROM whole \
     WHERE event_id IN (SELECT event_id FROM claimed)), \
     summed AS (INSERT INTO candor_aggregates (product, day_us, group_key, sealed, n, \
     install_key) \
     SELECT product, day_us, group_key, (array_agg(sealed))[1], COUNT(*), \
     (array_agg(install_key))[1] FROM folded WHERE event_id IN (SELECT event_id FROM claimed) \
     GROUP BY product, day_us, group_key ORDER BY product, day_us, group_key \
     ON CONFLICT (product, day_us, group_key) DO UPDATE \
     SET n = candor_aggregates.n + excluded.n), \
     counted AS (INSERT INTO candor_refusals (product, reason, count) \
     SELECT * FROM UNNEST($17::text[], $18::text[], $19::int8[]) \
     ON CONFLICT (product, reason) DO UPDATE SET count = candor_refusals.count + excluded.count) \
     SELECT batch, COUNT(*) FROM (SELECT event_id, batch FROM whole \
     UNION ALL SELECT event_id, batch FROM folded) b \
     WHERE event_id IN (SELECT event_id FROM claimed) GROUP BY batch";

/// The aggregated days a report's range touches, read a slice at a time.
const AGGREGATE_RANGE: &str = "SELECT group_key, sealed, n FROM candor_aggregates \
     WHERE product = $1 AND day_us >= $2 AND day_us < $3";

/// The rows of a report's range, read a slice at a time.
const RANGE: &str = "SELECT event_id, install_key, sealed FROM candor_events \
     WHERE product = $1 AND time_us >= $2 AND time_us < $3";

/// How long PostgreSQL lets a session of Candor's sit inside a transaction between two
/// statements before it ends the session: far longer than Candor takes to prepare its next
/// statement (opening a slice of rows), short enough that a replica frozen mid-transaction (a
/// report, an erasure, a purge; a write is one statement and leaves none open) holds the
/// others up for seconds, not for as long as it stays frozen.
const IDLE_IN_TRANSACTION_MS: u32 = 5_000;

/// The advisory lock that tells a key rotation from everything else Candor does on a database:
/// every connection of Candor's holds it shared for as long as it lives; a rotation takes it
/// exclusively, so it is refused while a `candor serve` (or report, or purge) is connected, and
/// nothing connects while it runs. (The text "candor store" as a number.)
const IN_USE_LOCK: i64 = 0x6361_6e64_6f72_7374;

/// Rows opened per round trip while a report or a rotation reads.
const SLICE: i32 = 4096;

/// The advisory lock under which a connection creates the schema and brings an earlier
/// layout up to date, one process at a time: of several replicas starting at once on an
/// earlier layout, one converts it and the others wait, then find nothing left to do. (The
/// text "candor schema" as a number.)
const SCHEMA_LOCK: i64 = 0x6361_6e64_7363_686d;

/// How long a connection waits to set the schema up, and how long the conversion of an
/// earlier layout may take (it rewrites the tables once, in one transaction).
const SETUP_DEADLINE_MS: u32 = 3_600_000;

/// How a product's events are indexed by time (`CREATE INDEX … ON parent` and this): a block
/// range index, which holds the least and greatest time of each 128 pages. Events arrive in
/// about the order of their times and sit in month partitions that are dropped whole, so the
/// ranges stay narrow, and a range takes no index entry per event: a B-tree on the time took
/// one per event, each inserted at the same right-hand page by every writer, a sixteenth of a
/// write's time. (`autosummarize`: each range is summed up once the next one is begun, not only
/// by a vacuum; a range not yet summed up is read whole by a query, never skipped.)
const TIME_INDEX: &str = "USING brin (time_us) WITH (autosummarize = on)";

/// The columns where an earlier Candor kept keyed hashes as 64 hex digits of text, compared
/// under the database's collation: each is converted once to the hash's 32 bytes. (A sealed
/// row stays bound to its key's hex, so nothing is sealed again.)
const BYTE_KEYS: [(&str, &str); 5] = [
    ("candor_event_ids", "event_id"),
    ("candor_events", "event_id"),
    ("candor_events", "install_key"),
    ("candor_aggregates", "group_key"),
    ("candor_aggregates", "install_key"),
];

/// A row a key rotation read was not where it lay when it came to re-seal it.
#[derive(Debug, thiserror::Error)]
#[error(
    "an event changed while the store key was rotated, by something other than Candor; \
     nothing was rotated, run the rotation again"
)]
struct MovedDuringRotation;

/// A PostgreSQL connection.
pub struct PostgresStore {
    reach: Reach,
    sealer: Sealer,
    /// The store key was given (not `--store-unencrypted`): for the words of a refusal.
    keyed: bool,
    client: Option<Client>,
    /// The write's statements ([`WRITE_NEW`], [`WRITE`]), prepared once per connection.
    write: Option<(postgres::Statement, postgres::Statement)>,
    /// Month partitions known to exist: (product, first day of month in µs).
    partitions: BTreeSet<(String, i64)>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

fn db(e: postgres::Error) -> StoreError {
    StoreError::Postgres(e)
}

impl PostgresStore {
    /// Connects with `sealing`, creates the schema when it is missing, and checks the key.
    pub fn connect(url: &str, sealing: &Sealing) -> Result<Self, StoreError> {
        let (sealer, keyed) = (Sealer::of(sealing), matches!(sealing, Sealing::Key(_)));
        let mut reach = Reach::new(url)?;
        reach
            .config_mut()
            .connect_timeout(Duration::from_secs(5))
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            // Every statement has a deadline; a stuck lock becomes an error, not a hang.
            // A write is one statement: a process that stops running (frozen, paused, cut
            // off from the network with its socket still open) while writing leaves no
            // transaction open behind it, so no claim of its batch holds a replica's retry
            // of that batch. A transaction of another kind it left open would hold its locks
            // for as long as it stays frozen: PostgreSQL ends such a session after
            // `IDLE_IN_TRANSACTION_MS`, rolling its transaction back. Candor never leaves a
            // transaction waiting on anything but its own next statement.
            .options(&format!(
                "-c statement_timeout=30000 -c lock_timeout=10000 \
                 -c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}"
            ));
        let mut store = Self {
            reach,
            sealer,
            keyed,
            client: None,
            write: None,
            partitions: BTreeSet::new(),
        };
        store.client()?;
        Ok(store)
    }

    /// The connection, re-established when the last one broke (the database restarted).
    fn client(&mut self) -> Result<&mut Client, StoreError> {
        let client = match self.client.take() {
            Some(client) if !client.is_closed() => client,
            _ => self.connect_again()?,
        };
        Ok(self.client.insert(client))
    }

    /// A new connection, set up, in place of one that broke or none.
    fn connect_again(&mut self) -> Result<Client, StoreError> {
        self.forget_connection();
        let mut client = self.reach.connect()?;
        let shared: bool = client
            .query_one("SELECT pg_try_advisory_lock_shared($1)", &[&IN_USE_LOCK])
            .map_err(db)?
            .get(0);
        if !shared {
            return Err(StoreError::Key(
                "the store key of this PostgreSQL database is being rotated: start again \
                 once `candor store rotate-key` has finished, with the new key"
                    .to_owned(),
            ));
        }
        self.set_up(&mut client)?;
        Ok(client)
    }

    /// Creates what is missing of the schema, checks the key, and brings a layout an earlier
    /// Candor made up to date, in one transaction under [`SCHEMA_LOCK`]: processes starting
    /// at once take turns (creating the same objects at once made one of them fail), and a
    /// conversion is made by one and seen whole by the others. A key this database refuses
    /// leaves it as it was.
    fn set_up(&self, client: &mut Client) -> Result<(), StoreError> {
        let mut tx = client.transaction().map_err(db)?;
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {SETUP_DEADLINE_MS}; \
             SET LOCAL statement_timeout = {SETUP_DEADLINE_MS}; \
             SELECT pg_advisory_xact_lock({SCHEMA_LOCK})"
        ))
        .map_err(db)?;
        tx.batch_execute(SCHEMA).map_err(db)?;
        drop_events_key(&mut tx)?;
        time_indexes_to_ranges(&mut tx)?;
        self.check_key(&mut tx)?;
        keys_to_bytes(&mut tx)?;
        tx.commit().map_err(db)
    }

    /// Refuses a database this key does not open: one stored in the clear by an earlier
    /// Candor, or one whose key check value is another key's. The first connection to an
    /// empty database stores this key's.
    fn check_key(&self, client: &mut impl GenericClient) -> Result<(), StoreError> {
        let plain_layout = client
            .query_opt(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() \
                 AND table_name = 'candor_events' AND column_name = 'value'",
                &[],
            )
            .map_err(db)?
            .is_some();
        if plain_layout {
            return Err(StoreError::Key(
                "this PostgreSQL database holds events an earlier Candor stored unencrypted; \
                 give Candor a new database"
                    .to_owned(),
            ));
        }
        client
            .execute(
                "INSERT INTO candor_store_meta (name, value) VALUES ('key_check', $1) \
                 ON CONFLICT DO NOTHING",
                &[&self.sealer.check()],
            )
            .map_err(db)?;
        let stored: String = client
            .query_one(
                "SELECT value FROM candor_store_meta WHERE name = 'key_check'",
                &[],
            )
            .map_err(db)?
            .get(0);
        same_key(&self.sealer, self.keyed, &stored)
    }
}

/// Drops the key an earlier Candor kept on the events (product, id, time) besides the id
/// claims, when a database still has it: looked up first, so a connection to a database
/// without it takes no lock on the events.
fn drop_events_key(client: &mut impl GenericClient) -> Result<(), StoreError> {
    let kept = client
        .query_opt(
            "SELECT 1 FROM pg_constraint WHERE conname = 'candor_events_pkey' \
             AND conrelid = 'candor_events'::regclass",
            &[],
        )
        .map_err(db)?
        .is_some();
    if kept {
        // Two replicas may both find it: the second finds nothing to drop.
        client
            .batch_execute("ALTER TABLE candor_events DROP CONSTRAINT IF EXISTS candor_events_pkey")
            .map_err(db)?;
    }
    Ok(())
}

/// Replaces the B-tree time index an earlier Candor made on each product's events with the
/// block range index [`TIME_INDEX`] (built from the stored rows, once, in the setup's
/// transaction). Only Candor's own: the index named after a product's partition of
/// `candor_events` (`candor_events_p<id>_time`) on that partition; an index of another table
/// that only bears a name like it is someone else's, and is left alone (rebuilding it on
/// `time_us` dropped it, and stopped every server from starting when its table had no such
/// column).
fn time_indexes_to_ranges(client: &mut impl GenericClient) -> Result<(), StoreError> {
    let earlier = client
        .query(
            "SELECT i.relname::text, t.relname::text FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_am a ON a.oid = i.relam \
             JOIN pg_inherits h ON h.inhrelid = t.oid AND h.inhparent = 'candor_events'::regclass \
             WHERE i.relnamespace = current_schema()::regnamespace AND i.relkind = 'I' \
             AND a.amname = 'btree' AND t.relname ~ '^candor_events_p[0-9]+$' \
             AND i.relname = t.relname || '_time'",
            &[],
        )
        .map_err(db)?;
    for row in earlier {
        // Names of `candor_events_p<digits>` only (the query's pattern), as `ensure_partition`
        // writes them: nothing to quote.
        let (index, table): (String, String) = (row.get(0), row.get(1));
        client
            .batch_execute(&format!(
                "DROP INDEX {index}; CREATE INDEX {index} ON {table} {TIME_INDEX}"
            ))
            .map_err(db)?;
    }
    Ok(())
}

/// Converts the keyed hashes an earlier Candor stored as hex text ([`BYTE_KEYS`]) to their
/// bytes: each table rewritten once, with its indexes, in the setup's transaction.
fn keys_to_bytes(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    let mut by_table: Vec<(String, Vec<String>)> = Vec::new();
    for row in tx
        .query(
            "SELECT table_name::text, column_name::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND data_type = 'text' \
             AND (table_name, column_name) IN (SELECT * FROM UNNEST($1::text[], $2::text[])) \
             ORDER BY table_name, column_name",
            &[
                &BYTE_KEYS.map(|(table, _)| table).as_slice(),
                &BYTE_KEYS.map(|(_, column)| column).as_slice(),
            ],
        )
        .map_err(db)?
    {
        let (table, column): (String, String) = (row.get(0), row.get(1));
        match by_table.last_mut() {
            Some((last, columns)) if *last == table => columns.push(column),
            _ => by_table.push((table, vec![column])),
        }
    }
    for (table, columns) in by_table {
        // Names from the list above, never from the database's text.
        let Some((table, _)) = BYTE_KEYS.iter().find(|(t, _)| *t == table) else {
            continue;
        };
        let changes: Vec<String> = columns
            .iter()
            .filter_map(|column| BYTE_KEYS.iter().find(|(t, c)| t == table && c == column))
            .map(|(_, column)| {
                format!("ALTER COLUMN {column} TYPE bytea USING decode({column}, 'hex')")
            })
            .collect();
        tx.batch_execute(&format!("ALTER TABLE {table} {}", changes.join(", ")))
            .map_err(|source| StoreError::Convert { table, source })?;
    }
    Ok(())
}

/// Whether the stored key check value is this key's.
fn same_key(sealer: &Sealer, keyed: bool, stored: &str) -> Result<(), StoreError> {
    if stored == sealer.check() {
        return Ok(());
    }
    Err(StoreError::Key(if keyed {
        "the store key does not open this PostgreSQL database (a wrong key, a key rotated \
             since, or a database stored unencrypted)"
            .to_owned()
    } else {
        "this PostgreSQL database is encrypted: give its --store-key-file".to_owned()
    }))
}

impl PostgresStore {
    fn product_id(&mut self, product: &str) -> Result<i32, StoreError> {
        let client = self.client()?;
        client
            .execute(
                "INSERT INTO candor_products (product) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&product],
            )
            .map_err(db)?;
        let row = client
            .query_one(
                "SELECT id FROM candor_products WHERE product = $1",
                &[&product],
            )
            .map_err(db)?;
        Ok(row.get(0))
    }

    /// Creates the product's partition and the month's partition under it when missing.
    fn ensure_partition(&mut self, product: &str, month_start: i64) -> Result<(), StoreError> {
        if self.partitions.contains(&(product.to_owned(), month_start)) {
            return Ok(());
        }
        let id = self.product_id(product)?;
        let (year, month) = month_of(month_start);
        let next = next_month_start(month_start);
        let literal = product.replace('\'', "''");
        let parent = format!("candor_events_p{id}");
        let leaf = format!("{parent}_{year:04}{month:02}");
        let statements = [
            format!(
                "CREATE TABLE IF NOT EXISTS {parent} PARTITION OF candor_events \
                 FOR VALUES IN ('{literal}') PARTITION BY RANGE (time_us)"
            ),
            format!(
                "CREATE TABLE IF NOT EXISTS {leaf} PARTITION OF {parent} \
                 FOR VALUES FROM ({month_start}) TO ({next})"
            ),
            format!("CREATE INDEX IF NOT EXISTS {parent}_time ON {parent} {TIME_INDEX}"),
        ];
        let client = self.client()?;
        for statement in &statements {
            if let Err(e) = client.batch_execute(statement) {
                // Another process won the race to create it: fine.
                let raced = e.code().is_some_and(|c| {
                    *c == SqlState::DUPLICATE_TABLE
                        || *c == SqlState::UNIQUE_VIOLATION
                        || *c == SqlState::DUPLICATE_OBJECT
                });
                if !raced {
                    return Err(db(e));
                }
            }
        }
        self.partitions.insert((product.to_owned(), month_start));
        Ok(())
    }

    fn leaf_partitions(&mut self, product: &str) -> Result<Vec<(String, i64, i64)>, StoreError> {
        let client = self.client()?;
        let rows = client
            .query(
                "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) \
                 FROM candor_products p \
                 JOIN pg_class parent ON parent.relname = 'candor_events_p' || p.id \
                 JOIN pg_inherits i ON i.inhparent = parent.oid \
                 JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE p.product = $1",
                &[&product],
            )
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let name: String = row.get(0);
            // NULL for a partition another purge dropped while this one listed them: it is
            // gone, nothing to do. Reading it as text panicked, and took the server's writer
            // thread (and with it every later write) down.
            let Some(bound) = row.get::<_, Option<String>>(1) else {
                continue;
            };
            // `FOR VALUES FROM ('…') TO ('…')`: the two numbers.
            let numbers: Vec<i64> = bound
                .split(|c: char| !(c.is_ascii_digit() || c == '-'))
                .filter_map(|s| s.parse().ok())
                .collect();
            if let [from, to] = numbers[..] {
                out.push((name, from, to));
            }
        }
        Ok(out)
    }
}

impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn write(&mut self, batches: &[&Batch]) -> Result<Vec<Written>, StoreError> {
        // A retry after a lost connection is safe: an uncommitted transaction left nothing, and
        // rows a lost reply did commit come back as duplicates.
        self.retrying(|store| store.write_once(batches))
    }

    fn purge(&mut self, product: &str, before_us: i64) -> Result<u64, StoreError> {
        self.retrying(|store| store.purge_once(product, before_us))
    }

    fn summarise(&mut self, query: &SummaryQuery<'_>) -> Result<Summaries, StoreError> {
        let statements = DIALECT.statements();
        self.retrying(|store| {
            let sealer = store.sealer.clone();
            let client = store.client()?;
            summary::summarise(&mut Runner(client, &sealer), &statements, query)
        })
    }

    fn refusals(&mut self, product: &str) -> Result<Vec<(String, u64)>, StoreError> {
        self.retrying(|store| store.refusals_once(product))
    }

    fn erase(
        &mut self,
        product: &str,
        install_id: &str,
        before_us: i64,
    ) -> Result<u64, StoreError> {
        // Rows hold the install id only as its keyed hash: the request's id is hashed with the
        // same key to find them. The ids' claims stay, so a retried old payload that carried
        // an erased event is a duplicate and is not stored again.
        let key = self.sealer.index(install_id);
        let key = key.as_slice();
        self.retrying(|store| {
            let client = store.client()?;
            let mut tx = client.transaction().map_err(db)?;
            let events = tx
                .execute(
                    "DELETE FROM candor_events WHERE product = $1 AND install_key = $2 \
                     AND time_us <= $3",
                    &[&product, &key, &before_us],
                )
                .map_err(db)?;
            // Aggregates keep the day, not the moment: every day of this installation up to
            // and including the day of the opt-out goes.
            let folded: i64 = tx
                .query_one(
                    "WITH gone AS (DELETE FROM candor_aggregates WHERE product = $1 \
                     AND install_key = $2 AND day_us <= $3 RETURNING n) \
                     SELECT COALESCE(SUM(n), 0)::int8 FROM gone",
                    &[&product, &key, &before_us],
                )
                .map_err(db)?
                .get(0);
            tx.commit().map_err(db)?;
            Ok(events + u64::try_from(folded).unwrap_or(0))
        })
    }
}

impl PostgresStore {
    /// Runs `op`; when it fails, drops the connection (its session may be broken or in a state
    /// we do not trust) and runs it once more on a new one.
    fn retrying<T>(
        &mut self,
        mut op: impl FnMut(&mut Self) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        match op(self) {
            Ok(v) => Ok(v),
            // A key the database refuses stays refused.
            Err(e @ StoreError::Key(_)) => Err(e),
            Err(_) => {
                self.forget_connection();
                op(self)
            }
        }
    }

    /// Drops the connection and everything known through it: its prepared insert, and the
    /// partitions it saw (another process's purge may have dropped one since). Keeping them
    /// made the one retry after an error on a live connection fail as well: it ran the old
    /// connection's prepared statement on the new one, and wrote into a dropped partition.
    fn forget_connection(&mut self) {
        self.client = None;
        self.write = None;
        self.partitions.clear();
    }

    /// Drops a month partition wholly past the cut and returns how many events it held. The
    /// partition is locked before it is counted, so of several purges at once (from several
    /// replicas, or `candor purge` beside them) one counts and drops it and the others find it
    /// gone: each event removed is counted once. Counting first and dropping after, unlocked,
    /// let two purges both count the same partition.
    fn drop_partition(&mut self, name: &str) -> Result<u64, StoreError> {
        let client = self.client()?;
        let mut tx = client.transaction().map_err(db)?;
        match tx.batch_execute(&format!("LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE")) {
            Ok(()) => {}
            // Another purge dropped it meanwhile.
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => return Ok(0),
            Err(e) => return Err(db(e)),
        }
        let n: i64 = tx
            .query_one(&format!("SELECT COUNT(*) FROM {name}"), &[])
            .map_err(db)?
            .get(0);
        tx.batch_execute(&format!("DROP TABLE {name}"))
            .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    fn purge_once(&mut self, product: &str, before_us: i64) -> Result<u64, StoreError> {
        let mut removed = 0u64;
        for (name, _from, to) in self.leaf_partitions(product)? {
            if to <= before_us {
                removed += self.drop_partition(&name)?;
            }
        }
        self.partitions.retain(|(p, _)| p != product);
        let client = self.client()?;
        let n = client
            .execute(
                "DELETE FROM candor_events WHERE product = $1 AND time_us < $2",
                &[&product, &before_us],
            )
            .map_err(db)?;
        // The claims go with their events: a purged event sent again is refused as past
        // retention on arrival, and the claims never outgrow what is kept.
        client
            .execute(
                "DELETE FROM candor_event_ids WHERE product = $1 AND time_us < $2",
                &[&product, &before_us],
            )
            .map_err(db)?;
        // An aggregated day goes whole once any of it is past the cut.
        let folded: i64 = client
            .query_one(
                "WITH gone AS (DELETE FROM candor_aggregates WHERE product = $1 AND day_us < $2 \
                 RETURNING n) SELECT COALESCE(SUM(n), 0)::int8 FROM gone",
                &[&product, &before_us],
            )
            .map_err(db)?
            .get(0);
        Ok(removed + n + u64::try_from(folded).unwrap_or(0))
    }

    /// Re-seals every event and re-hashes every id from `old` to `new`, in one transaction
    /// that holds the key check row, and afterwards only `new` opens the database. Refused
    /// while another connection of Candor's is open on the database (a `candor serve` left
    /// running with `old` would fail every write afterwards); none opens until it has finished.
    pub(crate) fn rotate_key(url: &str, old: &StoreKey, new: &StoreKey) -> Result<u64, StoreError> {
        let mut store = Self::connect(url, &Sealing::Key(old.clone()))?;
        let (from, to) = (store.sealer.clone(), Sealer::new(new));
        let client = store.client()?;
        // This session's shared hold does not stand in its own way; anyone else's does, after
        // two seconds (a server stopping as this starts lets its connections go meanwhile).
        // Held until the session ends, with the store, after the commit.
        client
            .batch_execute("SET lock_timeout = 2000")
            .map_err(db)?;
        if let Err(e) = client.execute("SELECT pg_advisory_lock($1)", &[&IN_USE_LOCK]) {
            if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
                return Err(StoreError::InUse);
            }
            return Err(db(e));
        }
        client
            .batch_execute("SET lock_timeout = 10000")
            .map_err(db)?;
        let mut tx = client.transaction().map_err(db)?;
        let stored: String = tx
            .query_one(
                "SELECT value FROM candor_store_meta WHERE name = 'key_check' FOR UPDATE",
                &[],
            )
            .map_err(db)?
            .get(0);
        same_key(&from, true, &stored)?;
        // Each row is updated where it lies (its `ctid`, in the month partition its product
        // and time name): the events have no index that finds one row, only the block range
        // index on their times, which answers with every page of a range, and the updated
        // rows, written at the table's end with times of every range, would widen that to
        // all of them: a rotation of 40,000 events took 48 s so, against half a second.
        // (Nothing else writes meanwhile, and the portal's rows are not yet updated, so each
        // `ctid` still names its row.)
        let all = tx
            .prepare("SELECT product, event_id, time_us, sealed, ctid::text FROM candor_events")
            .map_err(db)?;
        let portal = tx.bind(&all, &[]).map_err(db)?;
        let update = tx
            .prepare(
                "UPDATE candor_events SET event_id = $4, install_key = $5, sealed = $6 \
                 WHERE product = $1 AND time_us = $3 AND ctid = $7::text::tid \
                 AND event_id = $2",
            )
            .map_err(db)?;
        let claim = tx
            .prepare("UPDATE candor_event_ids SET event_id = $2 WHERE event_id = $1")
            .map_err(db)?;
        let mut events = 0u64;
        loop {
            // A portal sees the table as it was when bound: rows updated below are not read
            // again.
            let rows = tx.query_portal(&portal, SLICE).map_err(db)?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let product: String = row.get(0);
                let id: &[u8] = row.get(1);
                let time: i64 = row.get(2);
                let sealed: &[u8] = row.get(3);
                let at: &str = row.get(4);
                let content = from.open(&row_key(id)?, sealed)?;
                let new_id = to.index(&content.event_id);
                let install = content.install_id.as_deref().map(|i| to.index(i));
                let resealed = to.seal_content(&new_id, &content)?;
                let (new_id, install) = (new_id.as_slice(), install.as_ref().map(|i| &i[..]));
                let updated = tx
                    .execute(
                        &update,
                        &[&product, &id, &time, &new_id, &install, &resealed, &at],
                    )
                    .map_err(db)?;
                if updated != 1 {
                    // Something outside Candor changed the row meanwhile: the transaction is
                    // rolled back rather than leave a row sealed with the old key.
                    return Err(StoreError::Seal(Box::new(MovedDuringRotation)));
                }
                tx.execute(&claim, &[&id, &new_id]).map_err(db)?;
                events += 1;
            }
        }
        drop(portal);
        // The aggregated days: each group re-sealed under its new keyed hash.
        let all = tx
            .prepare("SELECT product, day_us, group_key, sealed FROM candor_aggregates")
            .map_err(db)?;
        let portal = tx.bind(&all, &[]).map_err(db)?;
        let mut nonces = Nonces::new(SLICE as usize)?;
        let regroup = tx
            .prepare(
                "UPDATE candor_aggregates SET group_key = $4, sealed = $5, install_key = $6 \
                 WHERE product = $1 AND day_us = $2 AND group_key = $3",
            )
            .map_err(db)?;
        loop {
            let rows = tx.query_portal(&portal, SLICE).map_err(db)?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let product: String = row.get(0);
                let day: i64 = row.get(1);
                let key: &[u8] = row.get(2);
                let sealed: &[u8] = row.get(3);
                let group = from.open_group(&row_key(key)?, sealed)?;
                let new_key = to.group_key(&group.borrowed());
                let resealed = to.seal_group(&new_key, &group.borrowed(), &mut nonces)?;
                let install_key = group.install_id.as_deref().map(|i| to.index(i));
                let (new_key, install_key) =
                    (new_key.as_slice(), install_key.as_ref().map(|i| &i[..]));
                tx.execute(
                    &regroup,
                    &[&product, &day, &key, &new_key, &resealed, &install_key],
                )
                .map_err(db)?;
            }
        }
        drop(portal);
        tx.execute(
            "UPDATE candor_store_meta SET value = $1 WHERE name = 'key_check'",
            &[&to.check()],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(events)
    }

    fn refusals_once(&mut self, product: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let client = self.client()?;
        let rows = client
            .query(
                "SELECT reason, count FROM candor_refusals WHERE product = $1 ORDER BY reason",
                &[&product],
            )
            .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|r| (r.get(0), u64::try_from(r.get::<_, i64>(1)).unwrap_or(0)))
            .collect())
    }

    fn write_once(&mut self, batches: &[&Batch]) -> Result<Vec<Written>, StoreError> {
        // Connect first: a new connection forgets the partitions and statement the old knew.
        self.client()?;
        let months: BTreeSet<(String, i64)> = batches
            .iter()
            .flat_map(|b| b.events.iter())
            .filter(|e| e.storage == Storage::Events)
            .map(|e| (e.product.clone(), month_start_of(e.time_us)))
            .collect();
        for (product, month) in months {
            self.ensure_partition(&product, month)?;
        }
        let (write_new, write) = match &self.write {
            Some(statements) => statements.clone(),
            None => {
                let client = self.client()?;
                let statements = (
                    client.prepare(WRITE_NEW).map_err(db)?,
                    client.prepare(WRITE).map_err(db)?,
                );
                self.write.insert(statements).clone()
            }
        };
        // What each batch stores: the keyed hashes and seals the checking threads computed,
        // or, for a batch that comes without them, computed now.
        let mut made: Vec<Option<Rows>> = batches.iter().map(|_| None).collect();
        let rows = batches
            .iter()
            .zip(made.iter_mut())
            .map(|(batch, made)| Rows::of(&batch.prepared, &batch.events, &self.sealer, made))
            .collect::<Result<Vec<&Rows>, _>>()?;
        let mut group = Group::default();
        // The first event of each id in the group claims it; a later one, in its batch or a
        // later batch, is a duplicate.
        let mut seen = HashSet::new();
        for (index, (batch, rows)) in batches.iter().zip(&rows).enumerate() {
            let index = i32::try_from(index).unwrap_or(i32::MAX);
            for (event, row) in batch.events.iter().zip(&rows.rows) {
                match row {
                    Row::Whole {
                        id,
                        install,
                        sealed,
                    } => {
                        if !seen.insert(id) {
                            continue;
                        }
                        group.claims.push((id, &event.product, event.time_us));
                        let whole = &mut group.whole;
                        whole.ids.push(id);
                        whole.times.push(event.time_us);
                        whole.products.push(&event.product);
                        whole.installs.push(install.as_ref().map(|i| &i[..]));
                        whole.sealed.push(sealed);
                        whole.batches.push(index);
                    }
                    Row::Folded {
                        id,
                        day,
                        group: sealed_group,
                        install,
                    } => {
                        if !seen.insert(id) {
                            continue;
                        }
                        // The claim keeps the day, not the moment: purged with the day's
                        // aggregates.
                        group.claims.push((id, &event.product, *day));
                        let folded = &mut group.folded;
                        folded.ids.push(id);
                        folded.days.push(*day);
                        folded.products.push(&event.product);
                        folded.keys.push(&sealed_group.key);
                        folded.sealed.push(&sealed_group.sealed);
                        folded.installs.push(install.as_ref().map(|i| &i[..]));
                        folded.batches.push(index);
                    }
                }
            }
        }
        group.claims.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let claim_ids: Vec<&[u8]> = group.claims.iter().map(|c| &c.0[..]).collect();
        let claim_products: Vec<&str> = group.claims.iter().map(|c| c.1).collect();
        let claim_times: Vec<i64> = group.claims.iter().map(|c| c.2).collect();
        let refusals = refusal_totals(batches);
        let refused_products: Vec<&str> = refusals.iter().map(|r| r.0.as_str()).collect();
        let refused_reasons: Vec<&str> = refusals.iter().map(|r| r.1).collect();
        let refused_counts: Vec<i64> = refusals.iter().map(|r| r.2).collect();
        let (whole, folded) = (&group.whole, &group.folded);
        let client = self.client()?;
        // The key was checked when this connection was made, and holds while it lives: a
        // rotation cannot start while it holds `IN_USE_LOCK` (a write that read the key check
        // row again, locking it, cost a round trip and a row lock per transaction).
        let params: [&(dyn postgres::types::ToSql + Sync); 19] = [
            &claim_ids,
            &claim_products,
            &claim_times,
            &whole.ids,
            &whole.times,
            &whole.products,
            &whole.installs,
            &whole.sealed,
            &whole.batches,
            &folded.ids,
            &folded.days,
            &folded.products,
            &folded.keys,
            &folded.sealed,
            &folded.installs,
            &folded.batches,
            &refused_products,
            &refused_reasons,
            &refused_counts,
        ];
        let mut out: Vec<Written> = batches
            .iter()
            .map(|batch| Written {
                inserted: 0,
                duplicates: batch.events.len() as u64,
            })
            .collect();
        let new = match client.query(&write_new, &params) {
            // Every id was new: every event that claimed one is stored.
            Ok(_) => whole
                .batches
                .iter()
                .chain(&folded.batches)
                .map(|batch| (*batch, 1))
                .collect(),
            Err(e) if claimed_before(&e) => client
                .query(&write, &params)
                .map_err(db)?
                .into_iter()
                .map(|row| (row.get::<_, i32>(0), row.get::<_, i64>(1)))
                .collect::<Vec<_>>(),
            Err(e) => return Err(db(e)),
        };
        for (index, count) in new {
            let index = usize::try_from(index).unwrap_or(usize::MAX);
            let count = u64::try_from(count).unwrap_or(0);
            if let Some(written) = out.get_mut(index) {
                written.inserted += count;
                written.duplicates = written.duplicates.saturating_sub(count);
            }
        }
        Ok(out)
    }
}

/// Whether a write failed for an id claimed before it (by an earlier write, or by another
/// writer's that committed meanwhile).
fn claimed_before(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
        && e.as_db_error().and_then(|e| e.constraint()) == Some("candor_event_ids_pkey")
}

/// A group of batches as the arrays of [`WRITE_NEW`] and [`WRITE`].
#[derive(Default)]
struct Group<'a> {
    /// Every id the group claims, with its product and time (an aggregated event's day).
    claims: Vec<(&'a RowKey, &'a str, i64)>,
    whole: WholeEvents<'a>,
    folded: FoldedEvents<'a>,
}

/// The events to store whole.
#[derive(Default)]
struct WholeEvents<'a> {
    ids: Vec<&'a [u8]>,
    times: Vec<i64>,
    products: Vec<&'a str>,
    installs: Vec<Option<&'a [u8]>>,
    sealed: Vec<&'a [u8]>,
    /// The batch of the group each came in.
    batches: Vec<i32>,
}

/// The events to fold into their days' groups.
#[derive(Default)]
struct FoldedEvents<'a> {
    ids: Vec<&'a [u8]>,
    days: Vec<i64>,
    products: Vec<&'a str>,
    keys: Vec<&'a [u8]>,
    sealed: Vec<&'a [u8]>,
    installs: Vec<Option<&'a [u8]>>,
    batches: Vec<i32>,
}

/// A keyed hash read back from its row: 32 bytes, or a row that is not Candor's.
fn row_key(bytes: &[u8]) -> Result<RowKey, StoreError> {
    RowKey::try_from(bytes).map_err(|_| {
        StoreError::Key("a stored row's key is not a keyed hash of Candor's (altered)".to_owned())
    })
}

const DIALECT: Dialect = Dialect {
    param: |n| format!("${n}"),
    int_param: |n| format!("${n}::int8"),
    total: |x| format!("SUM(({x})::float8)"),
    count_sum: |x| format!("SUM({x})::bigint"),
    scalar: "CASE WHEN left(g.value, 1) = '\"' THEN g.value::jsonb #>> '{}' ELSE g.value END",
    array_items: "jsonb_array_elements_text(g.value::jsonb) AS j(value)",
    object_pairs: "jsonb_each_text(g.value::jsonb) AS j(key, value)",
    number: |x| format!("({x})::float8"),
    number_field: |f| format!("(g.value::jsonb ->> '{f}')::float8"),
    text_field: |f| format!("g.value::jsonb ->> '{f}'"),
    whole: |x| format!("trunc({x})"),
    greater: |a, b| format!("GREATEST({a}, {b})"),
    bytewise: " COLLATE \"C\"",
    empty: |table| format!("TRUNCATE {table}"),
    sealed_rows: true,
    bucket_pairs: "jsonb_array_elements(g.value::jsonb -> 'buckets') AS j(value)",
    pair_item: |i| format!("(j.value ->> {i})"),
};

struct Runner<'a>(&'a mut Client, &'a Sealer);

fn numbers(client: &mut Client, sql: &str) -> Result<Vec<NumberSummary>, StoreError> {
    Ok(client
        .query(sql, &[])
        .map_err(db)?
        .into_iter()
        .map(|r| NumberSummary {
            point: r.get(0),
            version: r.get(1),
            min: r.get(2),
            max: r.get(3),
            median: r.get(4),
            measurements: whole_count(r.get::<_, Option<f64>>(5).unwrap_or(0.0)),
        })
        .collect())
}

impl summary::Runner for Runner<'_> {
    fn batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.0.batch_execute(sql).map_err(db)
    }

    /// Opens the range's rows a slice at a time into the report's temporary rows table, then
    /// groups them with `sql`, and empties the rows table.
    fn fill_groups(&mut self, sql: &str, query: &SummaryQuery<'_>) -> Result<(), StoreError> {
        let sealer = self.1;
        let mut tx = self.0.transaction().map_err(db)?;
        let range = tx.prepare(RANGE).map_err(db)?;
        let portal = tx
            .bind(&range, &[&query.product, &query.since_us, &query.until_us])
            .map_err(db)?;
        let insert = tx.prepare(summary::INSERT_ROWS_PG).map_err(db)?;
        loop {
            let rows = tx.query_portal(&portal, SLICE).map_err(db)?;
            if rows.is_empty() {
                break;
            }
            let mut columns: [Vec<Option<String>>; 5] = Default::default();
            for row in &rows {
                let id: &[u8] = row.get(0);
                let install: Option<&[u8]> = row.get(1);
                let sealed: &[u8] = row.get(2);
                let content = sealer.open(&row_key(id)?, sealed)?;
                columns[0].push(Some(content.point));
                columns[1].push(Some(content.product_version));
                columns[2].push(Some(content.kind));
                columns[3].push(Some(content.value));
                // Installations are counted by their keyed hash, compared as text here.
                columns[4].push(install.map(hex));
            }
            let ones = vec![1_i64; rows.len()];
            let [a, b, c, d, e] = &columns;
            tx.execute(&insert, &[a, b, c, d, e, &ones]).map_err(db)?;
        }
        drop(portal);
        // The aggregated days the range touches, whole.
        let days = tx.prepare(AGGREGATE_RANGE).map_err(db)?;
        let portal = tx
            .bind(
                &days,
                &[&query.product, &day_start(query.since_us), &query.until_us],
            )
            .map_err(db)?;
        loop {
            let rows = tx.query_portal(&portal, SLICE).map_err(db)?;
            if rows.is_empty() {
                break;
            }
            let mut columns: [Vec<Option<String>>; 5] = Default::default();
            let mut counts = Vec::with_capacity(rows.len());
            for row in &rows {
                let key: &[u8] = row.get(0);
                let sealed: &[u8] = row.get(1);
                let group = sealer.open_group(&row_key(key)?, sealed)?;
                columns[0].push(Some(group.point));
                columns[1].push(Some(group.product_version));
                columns[2].push(Some(group.kind));
                columns[3].push(Some(group.value));
                // The same keyed hash an event row holds, so installations count alike.
                columns[4].push(group.install_id.as_deref().map(|i| hex(&sealer.index(i))));
                counts.push(row.get::<_, i64>(2));
            }
            let [a, b, c, d, e] = &columns;
            tx.execute(&insert, &[a, b, c, d, e, &counts]).map_err(db)?;
        }
        drop(portal);
        tx.execute(sql, &[]).map_err(db)?;
        tx.commit().map_err(db)
    }

    fn fill_buckets(&mut self, sql: &str, top: i64, min_group: i64) -> Result<(), StoreError> {
        self.0
            .execute(sql, &[&top, &min_group])
            .map(|_| ())
            .map_err(db)
    }

    fn summaries(
        &mut self,
        statements: &Statements,
        top_values: i64,
        min_group: i64,
    ) -> Result<Summaries, StoreError> {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let versions = self
            .0
            .query(&statements.versions, &[])
            .map_err(db)?
            .into_iter()
            .map(|r| VersionCount {
                point: r.get(0),
                version: r.get(1),
                kind: r.get(2),
                count: count(r.get(3)),
            })
            .collect();
        let values = self
            .0
            .query(&statements.values, &[&top_values, &min_group])
            .map_err(db)?
            .into_iter()
            .map(|r| ValueCount {
                point: r.get(0),
                version: r.get(1),
                value: r.get(2),
                count: whole_count(r.get::<_, Option<f64>>(3).unwrap_or(0.0)),
                small: count(r.get::<_, Option<i64>>(4).unwrap_or(0)),
            })
            .collect();
        let small_versions = self
            .0
            .query(&statements.small_versions, &[])
            .map_err(db)?
            .into_iter()
            .map(|r| (r.get(0), count(r.get(1))))
            .collect();
        let distinct = self
            .0
            .query(&statements.distinct, &[])
            .map_err(db)?
            .into_iter()
            .map(|r| DistinctCount {
                point: r.get(0),
                version: r.get(1),
                distinct: count(r.get(2)),
            })
            .collect();
        let histograms = summary::histograms(
            self.0
                .query(&statements.histograms, &[])
                .map_err(db)?
                .into_iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))),
        );
        Ok(Summaries {
            small_versions,
            versions,
            values,
            numbers: numbers(self.0, &statements.numbers)?,
            distributions: numbers(self.0, &statements.distributions)?,
            histograms,
            distinct,
        })
    }
}

const DAY_US: i64 = 86_400_000_000;

/// Days since the epoch to (year, month, day), proleptic Gregorian (Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// (year, month, day) to days since the epoch.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn month_of(time_us: i64) -> (i64, u32) {
    let (y, m, _) = civil_from_days(time_us.div_euclid(DAY_US));
    (y, m)
}

fn month_start_of(time_us: i64) -> i64 {
    let (y, m) = month_of(time_us);
    days_from_civil(y, m, 1) * DAY_US
}

fn next_month_start(month_start: i64) -> i64 {
    let (y, m) = month_of(month_start);
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    days_from_civil(y, m, 1) * DAY_US
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_calendar_months() {
        // 2026-11-22T05:00:00Z
        let t = 1_795_323_600_000_000;
        assert_eq!(month_of(t), (2026, 11));
        let start = month_start_of(t);
        assert_eq!(civil_from_days(start / DAY_US), (2026, 11, 1));
        assert_eq!(
            civil_from_days(next_month_start(start) / DAY_US),
            (2026, 12, 1)
        );
        let dec = days_from_civil(2026, 12, 15) * DAY_US;
        assert_eq!(
            civil_from_days(next_month_start(month_start_of(dec)) / DAY_US),
            (2027, 1, 1)
        );
        assert_eq!(month_of(-1), (1969, 12));
    }
}
