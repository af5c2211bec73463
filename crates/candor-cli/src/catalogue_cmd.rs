//! `candor catalogue`: what a product may send, from which version.

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use candor_schema::{Catalogue, DataPointSpec, Date, Expired, Expires, Expiry};
use serde::Serialize;

use crate::args::CatalogueArgs;
use crate::{CliError, source, table};

pub(crate) fn run(
    file: Option<&Path>,
    args: &CatalogueArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let catalogues = source::catalogues(file)?;
    if args.product == "list" {
        if args.runtime.is_some() || args.version.is_some() {
            return Err(CliError::Usage(
                "`catalogue list` takes no --runtime or --version".into(),
            ));
        }
        return list(catalogues.iter(), args.json, out);
    }
    let catalogue = catalogues.get(&args.product)?;
    // The clock is read here, once: whether a dated point has expired depends on today (UTC).
    let today = Date::from_system_time(SystemTime::now());
    let view = View::build(
        catalogue,
        args.runtime.as_deref(),
        args.version.as_deref(),
        today,
    )?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &view.rows)
            .map_err(|e| CliError::Usage(format!("cannot write JSON: {e}")))?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(out, "{}", view.title)?;
    writeln!(out)?;
    let rows: Vec<Vec<String>> = view
        .rows
        .iter()
        .map(|r| {
            vec![
                r.id.to_owned(),
                r.privacy.to_owned(),
                r.since.clone(),
                match &r.expired {
                    Some(why) => why.clone(),
                    None => r.stops.clone(),
                },
                r.name.to_owned(),
            ]
        })
        .collect();
    table::write(out, &["ID", "PRIVACY", "SINCE", "STOPS", "NAME"], &rows)?;
    Ok(())
}

fn list<'a>(
    catalogues: impl Iterator<Item = &'a Catalogue>,
    json: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    if json {
        #[derive(Serialize)]
        struct Product<'a> {
            id: &'a str,
            name: &'a str,
            vendor: &'a str,
        }
        let products: Vec<Product<'_>> = catalogues
            .map(|c| Product {
                id: c.product_id(),
                name: &c.spec().product.name,
                vendor: &c.spec().product.vendor,
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &products)
            .map_err(|e| CliError::Usage(format!("cannot write JSON: {e}")))?;
        writeln!(out)?;
    } else {
        for c in catalogues {
            writeln!(out, "{}", c.product_id())?;
        }
    }
    Ok(())
}

/// One data point as `catalogue` shows it.
#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    name: &'a str,
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
    kind: &'static str,
    privacy: &'static str,
    /// The gate in words: `later than 20.9.1`; with several lines shown, each line's gate.
    since: String,
    /// Each runtime line's gate in words, keyed by line id.
    gates: std::collections::BTreeMap<&'a str, String>,
    /// When the point stops, in words: `never`, a day, versions by line, or `not stated`.
    stops: String,
    /// The expiry as the catalogue writes it, when it writes one.
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<&'a Expires>,
    /// Why the point is no longer collected today (UTC), at the version asked for when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    expired: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    review_links: &'a [String],
}

/// When a point stops, in the words of the `STOPS` column.
fn stop_words(catalogue: &Catalogue, point: &str) -> String {
    match catalogue.expiry(point) {
        Ok(Expiry::Never) => "never".to_owned(),
        Ok(Expiry::On(day)) => day.to_string(),
        Ok(Expiry::AtVersions(versions)) => versions
            .iter()
            .map(|(line, version)| format!("{line} {version}"))
            .collect::<Vec<_>>()
            .join(", "),
        _ => "not stated".to_owned(),
    }
}

struct View<'a> {
    title: String,
    rows: Vec<Row<'a>>,
}

impl<'a> View<'a> {
    fn build(
        catalogue: &'a Catalogue,
        runtime: Option<&str>,
        version: Option<&str>,
        today: Date,
    ) -> Result<Self, CliError> {
        let product = &catalogue.spec().product.name;
        let lines = &catalogue.spec().runtime_lines;
        // A version only means something on one line; with several lines, one must be named.
        let line = match (runtime, version, lines.len()) {
            (None, None, n) if n > 1 => None,
            _ => Some(catalogue.resolve_runtime_line(runtime)?),
        };
        let row = |point: &'a DataPointSpec| -> Result<Row<'a>, CliError> {
            let mut gates = std::collections::BTreeMap::new();
            for l in lines {
                if let Some(bound) = catalogue.gate(&point.id, &l.id)? {
                    gates.insert(l.id.as_str(), bound.to_string());
                }
            }
            let since = match line {
                Some(l) => gates.get(l.id.as_str()).cloned().unwrap_or_default(),
                None => lines
                    .iter()
                    .filter_map(|l| gates.get(l.id.as_str()).map(|g| format!("{}: {g}", l.name)))
                    .collect::<Vec<_>>()
                    .join("; "),
            };
            // A date stops a point on every line; a version only on the line asked about.
            let expired = match (line, version) {
                (Some(l), Some(v)) => {
                    let v = catalogue.parse_version(&l.id, v)?;
                    catalogue.expired(&point.id, &l.id, &v, today)?
                }
                _ => match catalogue.expiry(&point.id)? {
                    Expiry::On(day) if today >= *day => Some(Expired::On(*day)),
                    _ => None,
                },
            };
            Ok(Row {
                id: &point.id,
                name: &point.name,
                description: &point.description,
                notes: point.notes.as_deref(),
                kind: point.value.kind_name(),
                privacy: point.privacy.as_str(),
                since,
                gates,
                stops: stop_words(catalogue, &point.id),
                expires: point.expires.as_ref(),
                expired: expired.map(|e| e.to_string()),
                owner: point.owner.as_deref(),
                review_links: &point.review_links,
            })
        };
        let (title, points): (String, Vec<&DataPointSpec>) = match (line, version) {
            (Some(l), Some(v)) => {
                let points = catalogue.points_in_effect(&l.id, v)?;
                let parsed = catalogue.parse_version(&l.id, v)?;
                let mut expired = 0;
                for point in &points {
                    if catalogue
                        .expired(&point.id, &l.id, &parsed, today)?
                        .is_some()
                    {
                        expired += 1;
                    }
                }
                let live = points.len() - expired;
                let mut title = format!(
                    "{product}, {} {v}: {live} data point{} in effect",
                    l.name,
                    if live == 1 { "" } else { "s" }
                );
                if expired > 0 {
                    title.push_str(&format!(
                        ", {expired} more expired as of {today} (UTC) and not collected"
                    ));
                }
                (title, points)
            }
            (Some(l), None) => {
                let points: Vec<_> = catalogue
                    .points_on_line(&l.id)?
                    .into_iter()
                    .map(|(p, _)| p)
                    .collect();
                let title = format!(
                    "{product}, {}: every data point, with the version that introduced it",
                    l.name
                );
                (title, points)
            }
            (None, _) => {
                let names: Vec<&str> = lines.iter().map(|l| l.name.as_str()).collect();
                let title = format!(
                    "{product}: every data point, with its gate on each runtime line ({})",
                    names.join(", ")
                );
                (title, catalogue.spec().data_points.iter().collect())
            }
        };
        let rows = points.into_iter().map(row).collect::<Result<_, _>>()?;
        Ok(Self { title, rows })
    }
}
