//! The report's aggregates, computed by the database: one statement list, written once, with
//! the few words in which SQLite and PostgreSQL differ ([`Dialect`]).
//!
//! The events of the range are first grouped by point, version, kind and value into a
//! temporary table (the database sorts and spills to its own temporary files, so the server's
//! memory does not grow with what is stored); every later statement reads that table and
//! answers a bounded number of rows: per point, the most frequent versions (the rest as
//! [`OTHER`]) and, per version and for all versions, the most frequent values with the sum of
//! the rest, the numbers' min, max and weighted median, and the number of distinct hashes. A
//! hostile variety of stored values costs the database time in proportion to what it holds,
//! and the server nothing beyond these rows.

// Without a store (no `sqlite`, no `postgres` feature) only `OTHER` and `SummaryQuery` are
// used, by the report's types; the statements wait for a store to run them.
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use super::{StoreError, Summaries};

/// The label of the versions, and of the values, beyond those listed.
pub const OTHER: &str = "(other)";

/// What a summary asks for.
#[derive(Debug, Clone, Copy)]
pub struct SummaryQuery<'a> {
    /// The product.
    pub product: &'a str,
    /// From (inclusive), microseconds since the epoch.
    pub since_us: i64,
    /// To (exclusive).
    pub until_us: i64,
    /// Versions listed per point; the rest are counted under [`OTHER`].
    pub top_versions: usize,
    /// Values listed per point and version; the rest are summed.
    pub top_values: usize,
    /// The smallest group shown by name: a version or a value from fewer installations
    /// (events, when the product sends no install id) is counted under [`OTHER`].
    pub min_group: u64,
}

/// How the two databases spell what they spell differently.
pub(super) struct Dialect {
    /// A numbered parameter.
    pub(super) param: fn(usize) -> String,
    /// A numbered parameter compared with a count (PostgreSQL must be told its type).
    pub(super) int_param: fn(usize) -> String,
    /// The floating-point sum of an expression (never an integer overflow).
    pub(super) total: fn(&str) -> String,
    /// An integer sum of event counts.
    pub(super) count_sum: fn(&str) -> String,
    /// The stored value's text when it is a JSON string, else its JSON text (`true`).
    pub(super) scalar: &'static str,
    /// The rows `j(value)` of the stored JSON array of strings.
    pub(super) array_items: &'static str,
    /// The rows `j(key, value)` of the stored JSON object, values as text.
    pub(super) object_pairs: &'static str,
    /// A text as a floating-point number.
    pub(super) number: fn(&str) -> String,
    /// A number field of the stored JSON object.
    pub(super) number_field: fn(&str) -> String,
    /// A text field of the stored JSON object.
    pub(super) text_field: fn(&str) -> String,
    /// A number with its fraction cut off, still floating-point.
    pub(super) whole: fn(&str) -> String,
    /// The larger of two numbers.
    pub(super) greater: fn(&str, &str) -> String,
    /// What follows a text in `ORDER BY` to sort it byte by byte, as Rust does.
    pub(super) bytewise: &'static str,
    /// Empties a temporary table.
    pub(super) empty: fn(&str) -> String,
    /// The events' content is sealed: the store opens the range's rows into [`ROWS`] itself,
    /// and the groups are made from there rather than from the events table.
    pub(super) sealed_rows: bool,
    /// The rows `j(value)` of the stored histogram's `buckets`, each a `[key, count]` pair.
    pub(super) bucket_pairs: &'static str,
    /// Item `i` of the pair `j.value`, as text or number.
    pub(super) pair_item: fn(usize) -> String,
}

const GROUPS: &str = "candor_report_groups";
const BUCKETS: &str = "candor_report_buckets";
/// The opened rows of a sealed store's report range (PostgreSQL), emptied after each report.
const ROWS: &str = "candor_report_rows";

/// Adds opened rows: arrays of point, version, kind, value, install key and the events each
/// stands for (1 for an event, a day's count for an aggregate).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(super) const INSERT_ROWS_PG: &str = "INSERT INTO candor_report_rows \
     (point, product_version, kind, value, install, n) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
     $6::int8[])";

/// Adds the aggregated days the range touches to the groups (SQLite: parameters are the
/// product, the start of the first day and the end of the range). An aggregated day is
/// counted whole: every day from the one holding the range's start to the one holding its end.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(super) const FILL_GROUPS_FROM_AGGREGATES: &str = "INSERT INTO candor_report_groups \
     (point, product_version, kind, value, install, n) \
     SELECT point, product_version, kind, value, NULLIF(install, ''), SUM(n) \
     FROM candor_aggregates WHERE product = ?1 AND day_us >= ?2 AND day_us < ?3 \
     GROUP BY point, product_version, kind, value, install";

/// The statements of one summary, in order.
pub(super) struct Statements {
    /// Creates (when missing) and empties the temporary tables; no parameters.
    pub(super) prepare: String,
    /// Fills the groups: product, since, until (none when the rows are sealed: the store has
    /// opened them into the rows table).
    pub(super) fill_groups: String,
    /// Fills the version buckets: top versions, minimum group.
    pub(super) fill_buckets: String,
    /// Rows (point, version, kind, events).
    pub(super) versions: String,
    /// Rows (point, versions folded into [`OTHER`] for being smaller than the minimum group).
    pub(super) small_versions: String,
    /// Rows (point, version or NULL, value or NULL for the rest, count, values folded for
    /// being small): top values, minimum group.
    pub(super) values: String,
    /// Rows (point, version or NULL, min, max, median, measurements).
    pub(super) numbers: String,
    /// The same for distributions.
    pub(super) distributions: String,
    /// Histograms merged: rows (point, version or NULL, key, summed count), and per point and
    /// version one row with key NULL holding the sum of the measurements.
    pub(super) histograms: String,
    /// Rows (point, version or NULL, distinct values).
    pub(super) distinct: String,
    /// Empties the temporary tables; no parameters.
    pub(super) finish: String,
}

impl Dialect {
    pub(super) fn statements(&self) -> Statements {
        let p = self.param;
        let total = self.total;
        let by_bucket = format!(
            "JOIN {BUCKETS} b ON b.point = {{t}}.point AND b.product_version = {{t}}.product_version"
        );
        let join = |t: &str| by_bucket.replace("{t}", t);
        // How many installations a set of group rows comes from: distinct install ids, or its
        // events when the product sends none.
        let members = |install: &str, events: &str| {
            format!(
                "CASE WHEN COUNT({install}) > 0 THEN COUNT(DISTINCT {install}) ELSE {} END",
                (self.count_sum)(events)
            )
        };
        let min = (self.int_param)(2);
        let run = |sets: &str| {
            // The weighted median: the first value at which the running weight reaches half.
            format!(
                "SELECT point, bucket, x, SUM(w) OVER (PARTITION BY point, bucket ORDER BY x \
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS c, \
                 SUM(w) OVER (PARTITION BY point, bucket) AS t FROM {sets}"
            )
        };
        let (rows_table, empty_rows) = if self.sealed_rows {
            (
                format!(
                    "CREATE TEMP TABLE IF NOT EXISTS {ROWS} (point TEXT NOT NULL, \
                     product_version TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, \
                     install TEXT, n BIGINT NOT NULL); "
                ),
                format!("; {}", (self.empty)(ROWS)),
            )
        } else {
            (String::new(), String::new())
        };
        let fill_groups = if self.sealed_rows {
            format!(
                "INSERT INTO {GROUPS} (point, product_version, kind, value, install, n) \
                 SELECT point, product_version, kind, value, install, SUM(n) FROM {ROWS} \
                 GROUP BY point, product_version, kind, value, install"
            )
        } else {
            format!(
                "INSERT INTO {GROUPS} (point, product_version, kind, value, install, n) \
                 SELECT point, product_version, kind, value, install_id, COUNT(*) \
                 FROM candor_events WHERE product = {} AND time_us >= {} AND time_us < {} \
                 GROUP BY point, product_version, kind, value, install_id",
                p(1),
                p(2),
                p(3)
            )
        };
        Statements {
            prepare: format!(
                "{rows_table}CREATE TEMP TABLE IF NOT EXISTS {GROUPS} (point TEXT NOT NULL, \
                 product_version TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL, \
                 install TEXT, n BIGINT NOT NULL); \
                 CREATE TEMP TABLE IF NOT EXISTS {BUCKETS} (point TEXT NOT NULL, \
                 product_version TEXT NOT NULL, bucket TEXT NOT NULL, small INTEGER NOT NULL, \
                 PRIMARY KEY (point, product_version)); {}; {}{empty_rows}",
                (self.empty)(GROUPS),
                (self.empty)(BUCKETS)
            ),
            fill_groups,
            fill_buckets: format!(
                "INSERT INTO {BUCKETS} (point, product_version, bucket, small) \
                 SELECT point, product_version, \
                 CASE WHEN r <= {top} AND m >= {min} THEN product_version ELSE '{OTHER}' END, \
                 CASE WHEN m < {min} THEN 1 ELSE 0 END FROM \
                 (SELECT point, product_version, {members} AS m, \
                 ROW_NUMBER() OVER (PARTITION BY point, ({members} >= {min}) \
                 ORDER BY SUM(n) DESC, product_version{bytewise}) AS r \
                 FROM {GROUPS} GROUP BY point, product_version) ranked",
                top = p(1),
                members = members("install", "n"),
                bytewise = self.bytewise
            ),
            small_versions: format!(
                "SELECT point, COUNT(*) FROM {BUCKETS} WHERE small = 1 GROUP BY point"
            ),
            versions: format!(
                "SELECT g.point, b.bucket, MIN(g.kind), {} FROM {GROUPS} g {} \
                 GROUP BY g.point, b.bucket",
                (self.count_sum)("g.n"),
                join("g")
            ),
            values: format!(
                "WITH labels AS MATERIALIZED ( \
                 SELECT g.point, g.product_version, {scalar} AS label, g.n AS w, g.n AS e, \
                 g.install FROM {GROUPS} g \
                 WHERE g.kind IN ('flag', 'enumeration', 'version', 'language_tag', 'user_agent') \
                 UNION ALL SELECT g.point, g.product_version, j.value, g.n, g.n, g.install \
                 FROM {GROUPS} g CROSS JOIN {items} WHERE g.kind = 'names' \
                 UNION ALL SELECT g.point, g.product_version, j.key, {weight} * g.n, g.n, \
                 g.install FROM {GROUPS} g CROSS JOIN {pairs} WHERE g.kind = 'label_counts' \
                 UNION ALL SELECT g.point, g.product_version, j.key || '=' || j.value, g.n, g.n, \
                 g.install FROM {GROUPS} g CROSS JOIN {pairs} \
                 WHERE g.kind IN ('mode_by_name', 'properties') \
                 UNION ALL SELECT g.point, g.product_version, {type_name}, g.n, g.n, g.install \
                 FROM {GROUPS} g WHERE g.kind = 'exception'), \
                 sums AS ( \
                 SELECT l.point, b.bucket, l.label, {sum_w} AS n, {members_l} AS m \
                 FROM labels l {join_l} GROUP BY l.point, b.bucket, l.label \
                 UNION ALL SELECT l.point, NULL, l.label, {sum_w}, {members_l} FROM labels l \
                 GROUP BY l.point, l.label), \
                 ranked AS (SELECT point, bucket, label, n, m, ROW_NUMBER() OVER \
                 (PARTITION BY point, bucket, (m >= {min}) ORDER BY n DESC, label{bytewise}) \
                 AS r FROM sums) \
                 SELECT point, bucket, label, n, 0 FROM ranked WHERE r <= {k} AND m >= {min} \
                 UNION ALL SELECT point, bucket, NULL, {sum_n}, \
                 {count_sum_small} FROM ranked WHERE r > {k} OR m < {min} \
                 GROUP BY point, bucket",
                scalar = self.scalar,
                items = self.array_items,
                pairs = self.object_pairs,
                weight = (self.number)("j.value"),
                type_name = (self.text_field)("type_name"),
                sum_w = total("l.w"),
                sum_n = total("n"),
                join_l = join("l"),
                bytewise = self.bytewise,
                k = p(1),
                members_l = members("l.install", "l.e"),
                count_sum_small = (self.count_sum)("CASE WHEN m < {min} THEN 1 ELSE 0 END")
                    .replace("{min}", &min),
            ),
            numbers: format!(
                "WITH nums AS MATERIALIZED (SELECT g.point, g.product_version, {x} AS x, \
                 g.n AS w FROM {GROUPS} g WHERE g.kind IN ('count', 'duration')), \
                 sets AS (SELECT m.point, b.bucket, m.x, {sum_w} AS w FROM nums m {join_m} \
                 GROUP BY m.point, b.bucket, m.x \
                 UNION ALL SELECT m.point, NULL, m.x, {sum_w} FROM nums m GROUP BY m.point, m.x), \
                 run AS ({run}) \
                 SELECT point, bucket, MIN(x), MAX(x), MIN(CASE WHEN 2 * c >= t THEN x END), \
                 MAX(t) FROM run GROUP BY point, bucket",
                x = (self.number)("g.value"),
                sum_w = total("m.w"),
                join_m = join("m"),
                run = run("sets"),
            ),
            distributions: format!(
                "WITH d AS MATERIALIZED (SELECT g.point, g.product_version, {count} AS cnt, \
                 {min} AS mn, {max} AS mx, {median} AS md, g.n AS e FROM {GROUPS} g \
                 WHERE g.kind = 'distribution'), \
                 live AS (SELECT point, product_version, mn, mx, md, {whole} * e AS m \
                 FROM d WHERE cnt > 0), \
                 stats AS (SELECT l.point, b.bucket, MIN(l.mn) AS mn, MAX(l.mx) AS mx, \
                 {sum_m} AS m FROM live l {join_l} GROUP BY l.point, b.bucket \
                 UNION ALL SELECT l.point, NULL, MIN(l.mn), MAX(l.mx), {sum_m} FROM live l \
                 GROUP BY l.point), \
                 sets AS (SELECT l.point, b.bucket, l.md AS x, {sum_weight} AS w FROM live l \
                 {join_l} WHERE l.md IS NOT NULL GROUP BY l.point, b.bucket, l.md \
                 UNION ALL SELECT l.point, NULL, l.md, {sum_weight} FROM live l \
                 WHERE l.md IS NOT NULL GROUP BY l.point, l.md), \
                 run AS ({run}), \
                 medians AS (SELECT point, bucket, MIN(CASE WHEN 2 * c >= t THEN x END) AS x \
                 FROM run GROUP BY point, bucket) \
                 SELECT s.point, s.bucket, s.mn, s.mx, m.x, s.m FROM stats s \
                 LEFT JOIN medians m ON m.point = s.point \
                 AND m.bucket IS NOT DISTINCT FROM s.bucket",
                count = (self.number_field)("count"),
                min = (self.number_field)("min"),
                max = (self.number_field)("max"),
                median = (self.number_field)("median"),
                whole = (self.whole)("cnt"),
                sum_m = total("l.m"),
                sum_weight = total(&(self.greater)("1", "l.m")),
                join_l = join("l"),
                run = run("sets"),
            ),
            // Bucket counts add up exactly: the same key means the same bucket on every install
            // (keys depend only on the buckets per power of two). Counts are summed as floats,
            // so no hostile count overflows an integer column.
            histograms: format!(
                "WITH h AS MATERIALIZED (SELECT g.point, g.product_version, \
                 CAST({key} AS BIGINT) AS k, {count} * g.n AS c FROM {GROUPS} g \
                 CROSS JOIN {pairs} WHERE g.kind = 'histogram' \
                 UNION ALL SELECT g.point, g.product_version, NULL, {sum} * g.n \
                 FROM {GROUPS} g WHERE g.kind = 'histogram') \
                 SELECT h.point, b.bucket, h.k, {total_c} FROM h {join_h} \
                 GROUP BY h.point, b.bucket, h.k \
                 UNION ALL SELECT point, NULL, k, {total_c} FROM h GROUP BY point, k",
                key = (self.pair_item)(0),
                count = (self.number)(&(self.pair_item)(1)),
                pairs = self.bucket_pairs,
                sum = (self.number_field)("sum"),
                total_c = total("c"),
                join_h = join("h"),
            ),
            distinct: format!(
                "SELECT g.point, b.bucket, COUNT(DISTINCT g.value) FROM {GROUPS} g {} \
                 WHERE g.kind = 'hashed' GROUP BY g.point, b.bucket \
                 UNION ALL SELECT point, NULL, COUNT(DISTINCT value) FROM {GROUPS} \
                 WHERE kind = 'hashed' GROUP BY point",
                join("g")
            ),
            finish: format!(
                "{}; {}{empty_rows}",
                (self.empty)(GROUPS),
                (self.empty)(BUCKETS)
            ),
        }
    }
}

/// Runs the statements on one connection; each backend says how to execute and read them.
pub(super) trait Runner {
    fn batch(&mut self, sql: &str) -> Result<(), StoreError>;
    fn fill_groups(&mut self, sql: &str, query: &SummaryQuery<'_>) -> Result<(), StoreError>;
    fn fill_buckets(&mut self, sql: &str, top: i64, min_group: i64) -> Result<(), StoreError>;
    fn summaries(
        &mut self,
        statements: &Statements,
        top_values: i64,
        min_group: i64,
    ) -> Result<Summaries, StoreError>;
}

/// Histogram rows as the statement returns them: (point, version, key or NULL, total).
pub(super) fn histograms(
    rows: impl IntoIterator<Item = (String, Option<String>, Option<i64>, Option<f64>)>,
) -> Vec<super::HistogramSummary> {
    let mut merged: std::collections::BTreeMap<(String, Option<String>), super::HistogramSummary> =
        Default::default();
    for (point, version, key, total) in rows {
        let total = total.unwrap_or(0.0);
        let entry = merged
            .entry((point.clone(), version.clone()))
            .or_insert_with(|| super::HistogramSummary {
                point,
                version,
                buckets: Vec::new(),
                sum: 0.0,
            });
        match key {
            Some(key) => {
                let count = whole_count(total);
                if count > 0 {
                    entry.buckets.push((key, count));
                }
            }
            None => entry.sum = total,
        }
    }
    merged
        .into_values()
        .map(|mut h| {
            h.buckets.sort_unstable();
            h
        })
        .collect()
}

/// The whole summary: prepare, fill, read, and empty the temporary tables (also after a
/// failure, so a later summary starts clean).
pub(super) fn summarise(
    runner: &mut dyn Runner,
    statements: &Statements,
    query: &SummaryQuery<'_>,
) -> Result<Summaries, StoreError> {
    let clamp = |n: usize| i64::try_from(n.max(1)).unwrap_or(i64::MAX);
    runner.batch(&statements.prepare)?;
    let min_group = i64::try_from(query.min_group.max(1)).unwrap_or(i64::MAX);
    let result = runner
        .fill_groups(&statements.fill_groups, query)
        .and_then(|()| {
            runner.fill_buckets(
                &statements.fill_buckets,
                clamp(query.top_versions),
                min_group,
            )
        })
        .and_then(|()| runner.summaries(statements, clamp(query.top_values), min_group));
    let finished = runner.batch(&statements.finish);
    let summaries = result?;
    finished?;
    Ok(summaries)
}

/// A sum read as a float, as a count: negative and non-finite sums count as zero.
pub(super) fn whole_count(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        x as u64
    } else {
        0
    }
}
