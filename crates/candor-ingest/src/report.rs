//! Aggregates a vendor wants, shaped by each point's declared kind: how many events per point
//! and product version, the distribution of categorical values, merged min/max/median
//! summaries of numbers, and percentiles of histograms whose bucket counts were added up
//! exactly across installs. Raw events never appear in a report; hashes are counted, never
//! shown.

use std::collections::BTreeMap;

use serde::Serialize;

pub use crate::store::OTHER;
use crate::store::{HistogramSummary, NumberSummary, Store, StoreError, Summaries, SummaryQuery};
use crate::validate::Accepted;

/// The most values listed per distribution; the rest are summed under [`OTHER`].
pub const MAX_CATEGORIES: usize = 20;
/// The most product versions listed per point; the rest are counted under [`OTHER`].
pub const MAX_VERSIONS: usize = 20;

/// A product's aggregates over a time range.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Product id.
    pub product: String,
    /// The product's name, from its catalogue.
    pub name: String,
    /// Events in the range.
    pub events: u64,
    /// Per data point, in catalogue order (points with no events included, count 0).
    pub points: Vec<PointReport>,
    /// Refused events since the database began, by reason code.
    pub refused: BTreeMap<String, u64>,
    /// The smallest group shown by name: installations (events, when the product sends no
    /// install id) a value, a version or a label must come from.
    pub min_group: u64,
    /// Versions and values counted under [`OTHER`] for coming from fewer installations than
    /// [`Report::min_group`], over every point; 0 when nothing was folded.
    pub folded: u64,
}

/// One data point's aggregates.
#[derive(Debug, Clone, Serialize)]
pub struct PointReport {
    /// The point's id.
    pub id: String,
    /// Its short name.
    pub name: String,
    /// Its value kind.
    pub kind: String,
    /// Events.
    pub count: u64,
    /// All versions together.
    pub total: Aggregate,
    /// Per product version in text order (the [`MAX_VERSIONS`] with most events; the rest,
    /// and versions from fewer installations than the minimum group, together last, as
    /// [`OTHER`]).
    pub versions: Vec<VersionReport>,
    /// Versions counted under [`OTHER`] for being smaller than the minimum group.
    #[serde(skip_serializing_if = "is_zero")]
    pub folded_versions: u64,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's skip_serializing_if passes a reference
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A point's aggregates for one product version.
#[derive(Debug, Clone, Serialize)]
pub struct VersionReport {
    /// The product version.
    pub product_version: String,
    /// Events.
    pub count: u64,
    /// The aggregate.
    #[serde(flatten)]
    pub aggregate: Aggregate,
}

/// What can be said about a set of values of one kind.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Aggregate {
    /// Categorical values and how often each occurred, most frequent first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<Category>,
    /// Numbers merged: min, max and median.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<Summary>,
    /// Distinct hashed values (the hashes themselves are not shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct: Option<u64>,
    /// Percentiles of a histogram point, read from the bucket counts of every install added up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Percentiles>,
    /// Values counted under [`OTHER`] for being smaller than the minimum group.
    #[serde(skip_serializing_if = "is_zero")]
    pub folded_values: u64,
}

/// What merged histogram buckets say. Each percentile is the geometric middle of the bucket
/// holding it, so it is within one bucket's width (about 9% at 8 buckets per power of two) of
/// the percentile of all the measurements every install made.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// How many measurements.
    pub measurements: u64,
    /// Their mean (from the sums sent with the buckets).
    pub mean: f64,
    /// The median.
    pub p50: f64,
    /// The 95th percentile.
    pub p95: f64,
    /// The 99th percentile.
    pub p99: f64,
}

impl Percentiles {
    /// The percentiles of `merged`, on the layout its point declares; `None` without
    /// measurements.
    pub fn of(layout: &candor_schema::BucketLayout, merged: &HistogramSummary) -> Option<Self> {
        let measurements = merged
            .buckets
            .iter()
            .map(|(_, c)| *c)
            .fold(0u64, u64::saturating_add);
        Some(Self {
            measurements,
            mean: merged.sum / measurements as f64,
            p50: layout.quantile(&merged.buckets, 0.50)?,
            p95: layout.quantile(&merged.buckets, 0.95)?,
            p99: layout.quantile(&merged.buckets, 0.99)?,
        })
    }
}

/// One categorical value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    /// The value.
    pub value: String,
    /// How many times.
    pub count: u64,
}

/// Merged numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Summary {
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// The median of the values; for distributions, the median of the reported medians
    /// (each client sends only its summary, so the exact median of all measurements is not
    /// known to anyone). Absent when the point's distributions declare no median.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median: Option<f64>,
    /// How many measurements the summary covers.
    pub measurements: u64,
}

/// Builds a product's report for `[since_us, until_us)`. The database computes it
/// ([`Store::summarise`]): what this process holds is bounded by the catalogue's points, the
/// versions listed ([`MAX_VERSIONS`]) and the values listed ([`MAX_CATEGORIES`]), never by
/// what is stored. A version or a value is shown by name only when it comes from at least
/// the product's minimum group of installations ([`Accepted::min_group`]); `min_group` may
/// raise that, never lower it, since the catalogue's disclosure promises it.
pub fn build(
    store: &mut dyn Store,
    accepted: &Accepted,
    product: &str,
    since_us: i64,
    until_us: i64,
    min_group: Option<u64>,
) -> Result<Report, StoreError> {
    let min_group = accepted
        .min_group(product)
        .max(min_group.unwrap_or(1))
        .max(1);
    let summaries = store.summarise(&SummaryQuery {
        product,
        since_us,
        until_us,
        top_versions: MAX_VERSIONS,
        top_values: MAX_CATEGORIES,
        min_group,
    })?;
    let refused = store.refusals(product)?.into_iter().collect();
    let mut report = shape(accepted, product, summaries, refused);
    report.min_group = min_group;
    Ok(report)
}

/// A value (`None`: the rest), its count, and how many small values the rest holds.
type ValueRow = (Option<String>, u64, u64);

/// One point's rows of the summaries, by version (`None`: all versions).
#[derive(Default)]
struct PointRows {
    kind: Option<String>,
    versions: Vec<(String, u64)>,
    folded_versions: u64,
    values: BTreeMap<Option<String>, Vec<ValueRow>>,
    numbers: BTreeMap<Option<String>, Summary>,
    distributions: BTreeMap<Option<String>, Summary>,
    distinct: BTreeMap<Option<String>, u64>,
    histograms: BTreeMap<Option<String>, Percentiles>,
}

fn shape(
    accepted: &Accepted,
    product: &str,
    summaries: Summaries,
    refused: BTreeMap<String, u64>,
) -> Report {
    let catalogue = accepted.catalogue(product);
    let mut by_point: BTreeMap<String, PointRows> = BTreeMap::new();
    for row in summaries.versions {
        let rows = by_point.entry(row.point).or_default();
        rows.kind.get_or_insert(row.kind);
        rows.versions.push((row.version, row.count));
    }
    for row in summaries.values {
        by_point
            .entry(row.point)
            .or_default()
            .values
            .entry(row.version)
            .or_default()
            .push((row.value, row.count, row.small));
    }
    for (point, n) in summaries.small_versions {
        by_point.entry(point).or_default().folded_versions = n;
    }
    let summary = |row: &NumberSummary| -> Option<Summary> {
        Some(Summary {
            min: row.min?,
            max: row.max?,
            median: row.median,
            measurements: row.measurements,
        })
    };
    for (merged, rows) in [
        (false, &summaries.numbers),
        (true, &summaries.distributions),
    ] {
        for row in rows {
            let Some(s) = summary(row) else { continue };
            let point = by_point.entry(row.point.clone()).or_default();
            let into = if merged {
                &mut point.distributions
            } else {
                &mut point.numbers
            };
            into.insert(row.version.clone(), s);
        }
    }
    for row in &summaries.histograms {
        let layout = catalogue
            .and_then(|c| c.data_point(&row.point).ok())
            .and_then(|p| candor_schema::BucketLayout::of(&p.value));
        if let Some(percentiles) = layout.and_then(|l| Percentiles::of(&l, row)) {
            by_point
                .entry(row.point.clone())
                .or_default()
                .histograms
                .insert(row.version.clone(), percentiles);
        }
    }
    for row in summaries.distinct {
        by_point
            .entry(row.point)
            .or_default()
            .distinct
            .insert(row.version, row.distinct);
    }
    let mut order: Vec<(String, String, String)> = catalogue
        .map(|c| {
            c.spec()
                .data_points
                .iter()
                .map(|p| (p.id.clone(), p.name.clone(), p.value.kind_name().to_owned()))
                .collect()
        })
        .unwrap_or_default();
    for (point, rows) in &by_point {
        if !order.iter().any(|(id, _, _)| id == point) {
            let kind = rows.kind.clone().unwrap_or_default();
            order.push((point.clone(), point.clone(), kind));
        }
    }
    let mut events = 0;
    let mut folded = 0;
    let points: Vec<PointReport> = order
        .into_iter()
        .map(|(id, name, kind)| {
            let mut rows = by_point.remove(&id).unwrap_or_default();
            let count = rows.versions.iter().map(|(_, n)| n).sum();
            events += count;
            // Listed versions in text order, the rest last.
            rows.versions
                .sort_by(|(a, _), (b, _)| (a == OTHER).cmp(&(b == OTHER)).then_with(|| a.cmp(b)));
            let versions = std::mem::take(&mut rows.versions)
                .into_iter()
                .map(|(version, n)| VersionReport {
                    aggregate: aggregate(&kind, &mut rows, Some(version.clone())),
                    product_version: version,
                    count: n,
                })
                .collect();
            let total = aggregate(&kind, &mut rows, None);
            folded += rows.folded_versions + total.folded_values;
            PointReport {
                total,
                id,
                name,
                kind,
                count,
                versions,
                folded_versions: rows.folded_versions,
            }
        })
        .collect();
    Report {
        product: product.to_owned(),
        name: catalogue
            .map(|c| c.spec().product.name.clone())
            .unwrap_or_else(|| product.to_owned()),
        events,
        points,
        refused,
        min_group: 1,
        folded,
    }
}

/// The aggregate of one version (or all), shaped by the point's kind.
fn aggregate(kind: &str, rows: &mut PointRows, version: Option<String>) -> Aggregate {
    let mut values: Vec<Category> = Vec::new();
    let mut rest = 0;
    let mut folded_values = 0;
    for (value, count, small) in rows.values.remove(&version).unwrap_or_default() {
        match value {
            Some(value) => values.push(Category { value, count }),
            None => {
                rest += count;
                folded_values += small;
            }
        }
    }
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    if rest > 0 {
        values.push(Category {
            value: OTHER.to_owned(),
            count: rest,
        });
    }
    // A point's kind may change between revisions (a distribution became a histogram): the
    // summaries of the earlier revision's events are still shown.
    let summary = if kind == "distribution" || rows.distributions.contains_key(&version) {
        rows.distributions.remove(&version)
    } else {
        rows.numbers.remove(&version)
    };
    Aggregate {
        values,
        summary,
        distinct: (kind == "hashed").then(|| rows.distinct.remove(&version).unwrap_or(0)),
        folded_values,
        histogram: rows.histograms.remove(&version),
    }
}
