//! `candor preview`: what would be sent from this machine now, after privacy. Nothing is sent.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use candor_collect::{PreparedEvents, Preparer, RawLine, Record};
use candor_collect::{SystemProbe, record_readings};
use candor_schema::{Catalogue, Event};
use serde::Serialize;

use crate::args::PreviewArgs;
use crate::{CliError, consent_now, source};

/// The preparer every command uses for a product: the facade's, with the installation's
/// hashing key in Candor's folder.
pub(crate) fn preparer(
    catalogue: &Catalogue,
    runtime: Option<&str>,
    version: &str,
) -> Result<Preparer, CliError> {
    candor::admin::product_preparer(
        Arc::new(catalogue.clone()),
        runtime,
        version,
        consent_now::candor_dir().as_deref(),
        None,
    )
    .map_err(|e| match e {
        candor::BuildError::Catalogue(q) => CliError::Query(q),
        other => CliError::Usage(other.to_string()),
    })
}

#[derive(Serialize)]
struct Preview<'a> {
    product: &'a str,
    runtime_line: &'a str,
    product_version: &'a str,
    consent: &'a candor_consent::Decision,
    sends: bool,
    events: &'a [Event],
    unavailable: Vec<Note>,
    refused: Vec<Note>,
    recorded_by_host: Vec<&'a str>,
}

#[derive(Serialize)]
struct Note {
    point: String,
    reason: String,
}

pub(crate) fn run(
    file: Option<&Path>,
    args: &PreviewArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let catalogues = source::catalogues(file)?;
    consent_now::warn_about_config(&catalogues);
    let catalogue = catalogues.get(&args.product)?;
    let preparer = preparer(catalogue, args.runtime.as_deref(), &args.version)?;
    let decision = consent_now::decide_now(catalogue, &args.host);
    let events = PreparedEvents::new(preparer);

    let mut unavailable = Vec::new();
    // The snapshot fills exactly the points in effect that name a machine reading.
    let in_effect = events.preparer().context().points_in_effect();
    let snapshot_points: Vec<&str> = in_effect
        .iter()
        .filter(|p| p.source.is_some())
        .map(|p| p.id.as_str())
        .collect();
    if !snapshot_points.is_empty() {
        let snapshot = SystemProbe::real().snapshot();
        for (point, why) in record_readings(&events, in_effect.iter().copied(), &snapshot) {
            unavailable.push(Note {
                point: point.to_owned(),
                reason: why.reason,
            });
        }
    }
    if let Some(path) = &args.inputs {
        record_lines(path, catalogue, &events, &mut unavailable)?;
    }
    let (sent, log) = events.take();
    let refused: Vec<Note> = log
        .entries()
        .map(|(r, n)| Note {
            point: r.point().to_owned(),
            reason: if n > 1 {
                format!("{r} ({n} times)")
            } else {
                r.to_string()
            },
        })
        .collect();
    let context = events.preparer().context();
    let recorded_by_host: Vec<&str> = context
        .points_in_effect()
        .into_iter()
        .map(|p| p.id.as_str())
        .filter(|p| !snapshot_points.contains(p) && !sent.iter().any(|e| e.point() == *p))
        .collect();
    let preview = Preview {
        product: catalogue.product_id(),
        runtime_line: context.line(),
        product_version: context.version_text(),
        consent: &decision,
        sends: decision.may_send(),
        events: &sent,
        unavailable,
        refused,
        recorded_by_host,
    };
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &preview)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        writeln!(out)?;
    } else {
        write_text(out, &catalogue.spec().product.name, &preview)?;
    }
    Ok(())
}

fn record_lines(
    path: &Path,
    catalogue: &Catalogue,
    sink: &PreparedEvents,
    notes: &mut Vec<Note>,
) -> Result<(), CliError> {
    // Capped, and a FIFO or device is refused rather than blocked on.
    let bytes = candor_state::file::read_input(path, 64 * 1024 * 1024)
        .map_err(|e| CliError::Usage(format!("cannot read the inputs: {e}")))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| CliError::Usage(format!("{} is not UTF-8 text", path.display())))?;
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let problem = match RawLine::parse(line) {
            Err(e) => Some(e),
            Ok(raw) if raw.product != catalogue.product_id() => Some(format!(
                "is for `{}`, not `{}`",
                raw.product,
                catalogue.product_id()
            )),
            Ok(raw) => match raw.input(catalogue) {
                Ok(input) => {
                    sink.record(&raw.point, input);
                    None
                }
                Err(e) => Some(e),
            },
        };
        if let Some(problem) = problem {
            notes.push(Note {
                point: format!("{}:{}", path.display(), n + 1),
                reason: problem,
            });
        }
    }
    Ok(())
}

fn write_text(out: &mut dyn Write, name: &str, p: &Preview<'_>) -> Result<(), CliError> {
    writeln!(
        out,
        "{name} ({}) {} {} — preview; nothing is sent",
        p.product, p.runtime_line, p.product_version
    )?;
    writeln!(
        out,
        "consent: {} ({})",
        if p.sends {
            "would send"
        } else {
            "would not send"
        },
        p.consent.reason
    )?;
    writeln!(out, "\nwould send {} event(s):", p.events.len())?;
    for e in p.events {
        let value =
            serde_json::to_string(&e.value()).map_err(|e| CliError::Usage(e.to_string()))?;
        writeln!(out, "  {:<32} {value}", e.point())?;
    }
    if !p.unavailable.is_empty() {
        writeln!(out, "\nnot sent (unavailable or unreadable):")?;
        for n in &p.unavailable {
            writeln!(out, "  {:<32} {}", n.point, n.reason)?;
        }
    }
    if !p.refused.is_empty() {
        writeln!(out, "\nrefused:")?;
        for n in &p.refused {
            writeln!(out, "  {:<32} {}", n.point, n.reason)?;
        }
    }
    if !p.recorded_by_host.is_empty() {
        writeln!(
            out,
            "\nrecorded by the product as it runs (not part of a snapshot):"
        )?;
        for point in &p.recorded_by_host {
            writeln!(out, "  {point}")?;
        }
    }
    Ok(())
}
