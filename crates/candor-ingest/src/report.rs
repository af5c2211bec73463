//! Aggregates a vendor wants, shaped by each point's declared kind: how many events per point
//! and product version, the distribution of categorical values, and merged min/max/median
//! summaries of numbers. Raw events never appear in a report; hashes are counted, never shown.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::store::{GroupRow, Store, StoreError};
use crate::validate::Accepted;

/// The most values listed per distribution; the rest are summed under [`OTHER`].
pub const MAX_CATEGORIES: usize = 20;
/// The label of values beyond [`MAX_CATEGORIES`].
pub const OTHER: &str = "(other)";

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
    /// Per product version, newest text last.
    pub versions: Vec<VersionReport>,
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

/// Builds a product's report for `[since_us, until_us)`.
pub fn build(
    store: &mut dyn Store,
    accepted: &Accepted,
    product: &str,
    since_us: i64,
    until_us: i64,
) -> Result<Report, StoreError> {
    let rows = store.groups(product, since_us, until_us)?;
    let refused = store.refusals(product)?.into_iter().collect();
    Ok(shape(accepted, product, rows, refused))
}

fn shape(
    accepted: &Accepted,
    product: &str,
    rows: Vec<GroupRow>,
    refused: BTreeMap<String, u64>,
) -> Report {
    let catalogue = accepted.catalogue(product);
    // point → version → rows
    let mut by_point: BTreeMap<String, BTreeMap<String, Vec<GroupRow>>> = BTreeMap::new();
    for row in rows {
        by_point
            .entry(row.point.clone())
            .or_default()
            .entry(row.product_version.clone())
            .or_default()
            .push(row);
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
    for (point, versions) in &by_point {
        if !order.iter().any(|(id, _, _)| id == point) {
            let kind = versions
                .values()
                .flatten()
                .next()
                .map(|r| r.kind.clone())
                .unwrap_or_default();
            order.push((point.clone(), point.clone(), kind));
        }
    }
    let mut events = 0;
    let points = order
        .into_iter()
        .map(|(id, name, kind)| {
            let versions_rows = by_point.remove(&id).unwrap_or_default();
            let all: Vec<&GroupRow> = versions_rows.values().flatten().collect();
            let count = all.iter().map(|r| r.count).sum();
            events += count;
            let versions = versions_rows
                .iter()
                .map(|(version, rows)| VersionReport {
                    product_version: version.clone(),
                    count: rows.iter().map(|r| r.count).sum(),
                    aggregate: aggregate(&kind, rows.iter()),
                })
                .collect();
            PointReport {
                total: aggregate(&kind, all.into_iter()),
                id,
                name,
                kind,
                count,
                versions,
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
    }
}

fn aggregate<'a>(kind: &str, rows: impl Iterator<Item = &'a GroupRow>) -> Aggregate {
    let mut categories: BTreeMap<String, u64> = BTreeMap::new();
    let mut numbers: Vec<(f64, u64)> = Vec::new();
    let mut distribution = DistributionMerge::default();
    let mut distinct = 0u64;
    for row in rows {
        let Ok(data) = serde_json::from_str::<Value>(&row.value) else {
            continue;
        };
        let mut add = |label: String, n: u64| *categories.entry(label).or_default() += n;
        match kind {
            "flag" | "enumeration" | "version" | "language_tag" | "user_agent" => {
                add(plain(&data), row.count);
            }
            "names" => {
                for name in data.as_array().into_iter().flatten() {
                    add(plain(name), row.count);
                }
            }
            "label_counts" => {
                for (label, n) in data.as_object().into_iter().flatten() {
                    add(
                        label.clone(),
                        n.as_u64().unwrap_or(0).saturating_mul(row.count),
                    );
                }
            }
            "mode_by_name" | "properties" => {
                for (key, value) in data.as_object().into_iter().flatten() {
                    add(format!("{key}={}", plain(value)), row.count);
                }
            }
            "exception" => add(plain(&data["type_name"]), row.count),
            "count" | "duration" => {
                if let Some(x) = data.as_f64() {
                    numbers.push((x, row.count));
                }
            }
            "distribution" => distribution.add(&data, row.count),
            "hashed" => distinct += 1,
            _ => {}
        }
    }
    let summary = if kind == "distribution" {
        distribution.finish()
    } else {
        median_summary(&mut numbers, None)
    };
    Aggregate {
        values: top(categories),
        summary,
        distinct: (kind == "hashed").then_some(distinct),
    }
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn top(categories: BTreeMap<String, u64>) -> Vec<Category> {
    let mut list: Vec<Category> = categories
        .into_iter()
        .map(|(value, count)| Category { value, count })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    if list.len() > MAX_CATEGORIES {
        let rest: u64 = list[MAX_CATEGORIES..].iter().map(|c| c.count).sum();
        list.truncate(MAX_CATEGORIES);
        list.push(Category {
            value: OTHER.to_owned(),
            count: rest,
        });
    }
    list
}

/// Weighted min, max and median of `(value, weight)` pairs.
fn median_summary(numbers: &mut Vec<(f64, u64)>, measurements: Option<u64>) -> Option<Summary> {
    numbers.retain(|(x, w)| x.is_finite() && *w > 0);
    if numbers.is_empty() {
        return None;
    }
    numbers.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: u64 = numbers.iter().map(|(_, w)| w).sum();
    let half = total.div_ceil(2);
    let mut seen = 0;
    let mut median = numbers[0].0;
    for (x, w) in numbers.iter() {
        seen += w;
        if seen >= half {
            median = *x;
            break;
        }
    }
    Some(Summary {
        min: numbers[0].0,
        max: numbers[numbers.len() - 1].0,
        median: Some(median),
        measurements: measurements.unwrap_or(total),
    })
}

#[derive(Default)]
struct DistributionMerge {
    min: Option<f64>,
    max: Option<f64>,
    medians: Vec<(f64, u64)>,
    measurements: u64,
}

impl DistributionMerge {
    fn add(&mut self, data: &Value, events: u64) {
        let stat = |k: &str| data.get(k).and_then(Value::as_f64);
        let count = stat("count").unwrap_or(0.0);
        if count <= 0.0 {
            return;
        }
        // Whole measurements only; a fractional count is a client's rounding.
        let measurements = (count as u64).saturating_mul(events);
        self.measurements = self.measurements.saturating_add(measurements);
        if let Some(min) = stat("min") {
            self.min = Some(self.min.map_or(min, |m| m.min(min)));
        }
        if let Some(max) = stat("max") {
            self.max = Some(self.max.map_or(max, |m| m.max(max)));
        }
        if let Some(median) = stat("median") {
            self.medians.push((median, measurements.max(1)));
        }
    }

    fn finish(mut self) -> Option<Summary> {
        let median = median_summary(&mut self.medians, None).and_then(|s| s.median);
        let (min, max) = (self.min?, self.max?);
        Some(Summary {
            min,
            max,
            median,
            measurements: self.measurements,
        })
    }
}
