//! `candor catalogue`: what a product may send, from which version.

use std::io::Write;
use std::path::Path;

use candor_schema::{Catalogue, DataPointSpec};
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
    let view = View::build(catalogue, args.runtime.as_deref(), args.version.as_deref())?;
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
                r.name.to_owned(),
            ]
        })
        .collect();
    table::write(out, &["ID", "PRIVACY", "SINCE", "NAME"], &rows)?;
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
            Ok(Row {
                id: &point.id,
                name: &point.name,
                description: &point.description,
                notes: point.notes.as_deref(),
                kind: point.value.kind_name(),
                privacy: point.privacy.as_str(),
                since,
                gates,
            })
        };
        let (title, points): (String, Vec<&DataPointSpec>) = match (line, version) {
            (Some(l), Some(v)) => {
                let points = catalogue.points_in_effect(&l.id, v)?;
                let title = format!(
                    "{product}, {} {v}: {} data point{} in effect",
                    l.name,
                    points.len(),
                    if points.len() == 1 { "" } else { "s" }
                );
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
