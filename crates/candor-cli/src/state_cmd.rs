//! `candor receipts` and `candor clean`: Candor's local state.

use std::io::Write;
use std::time::Duration;

use candor_state::StateDir;
use candor_transport::{Receipts, Spool, SpoolCaps, SpoolHold};

use crate::args::{CleanArgs, ReceiptsArgs};
use crate::{CliError, consent_now};

/// Candor's folder, or a usage error saying how to name one.
pub(crate) fn state() -> Result<StateDir, CliError> {
    consent_now::candor_dir().map(StateDir::new).ok_or_else(|| {
        CliError::Usage(
            "no folder for Candor's state (no home directory); set CANDOR_CONFIG_DIR".to_owned(),
        )
    })
}

pub(crate) fn receipts(args: &ReceiptsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let log = Receipts::new(state()?.receipts_path(), 1 << 20);
    let receipts = log
        .read(args.product.as_deref())
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", log.path().display())))?;
    let deletions = deletion_records(&state()?, args.product.as_deref());
    if args.json {
        let state = state()?;
        for (product, record) in &deletions {
            let line = match record {
                Ok(record) => serde_json::json!({
                    "deletion_request": record,
                    "product": product,
                    "status": record.describe(),
                }),
                Err(e) => serde_json::json!({"deletion_request_error": e, "product": product}),
            };
            serde_json::to_writer(&mut *out, &line).map_err(|e| CliError::Usage(e.to_string()))?;
            writeln!(out)?;
        }
        for r in &receipts {
            // Each receipt with the events of its payload, decoded from the copy kept as it
            // went on the wire; a copy that cannot be read says why instead.
            let mut line = serde_json::to_value(r).map_err(|e| CliError::Usage(e.to_string()))?;
            match candor_view::sent_events(&state, r) {
                Ok(Some(events)) => line["sent_events"] = serde_json::json!(events),
                Ok(None) => {}
                Err(e) => line["sent_events_error"] = serde_json::json!(e.to_string()),
            }
            serde_json::to_writer(&mut *out, &line).map_err(|e| CliError::Usage(e.to_string()))?;
            writeln!(out)?;
        }
        return Ok(());
    }
    let problems = log.problems(args.product.as_deref()).unwrap_or_default();
    for p in &problems {
        writeln!(
            out,
            "problem {} {} {}: {}{}",
            p.time,
            p.sink,
            p.endpoint,
            p.problem,
            if p.dropped > 0 {
                format!("; {} event(s) dropped", p.dropped)
            } else {
                String::new()
            }
        )?;
        if let Some(hint) = &p.hint {
            writeln!(out, "  hint: {hint}")?;
        }
    }
    for (product, record) in &deletions {
        match record {
            Ok(record) => writeln!(out, "{product}: {}", record.describe())?,
            Err(e) => writeln!(out, "{product}: the deletion request cannot be read: {e}")?,
        }
    }
    if receipts.is_empty() {
        writeln!(out, "no receipts in {}", log.path().display())?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<25} {:<10} {:>7} {:>9}  endpoint",
        "delivered", "sink", "events", "bytes"
    )?;
    for r in &receipts {
        writeln!(
            out,
            "{:<25} {:<10} {:>7} {:>9}  {}",
            r.time, r.sink, r.events, r.bytes, r.endpoint
        )?;
    }
    writeln!(
        out,
        "{} receipt(s) in {}",
        receipts.len(),
        log.path().display()
    )?;
    Ok(())
}

/// Every product's deletion request (or why it cannot be read), for `product` only when given.
pub(crate) fn deletion_records(
    state: &StateDir,
    product: Option<&str>,
) -> Vec<(String, Result<candor_transport::DeletionRecord, String>)> {
    state
        .deletion_products()
        .into_iter()
        .filter(|p| product.is_none_or(|only| only == p))
        .filter_map(|p| {
            let record =
                match state.read_deletion(&p, candor_transport::deletion::MAX_DELETION_RECORD) {
                    Ok(Some(bytes)) => candor_transport::DeletionRecord::parse(&bytes),
                    Ok(None) => return None,
                    Err(e) => Err(e.to_string()),
                };
            Some((p, record))
        })
        .collect()
}

/// How long `clean` waits for a write or a delivery in progress in a product's spool.
const CLEAN_WAIT: Duration = Duration::from_secs(30);

/// `candor clean`: a product may be running on the folder. Each spool (Candor's own and each
/// demo run's) is held with both its locks, as a running product takes them, while everything
/// is removed: no batch goes while it is being written or delivered. The running product goes
/// on: its spool makes its folder again with its next batch, and a lock file removed under it
/// is opened again (see `StateDir::clean`).
pub(crate) fn clean(args: &CleanArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let state = state()?;
    let _held = if args.dry_run {
        Vec::new()
    } else {
        hold_spools(&state)?
    };
    let removed = state
        .clean(args.dry_run)
        .map_err(|e| CliError::Usage(format!("cannot remove: {e}")))?;
    for path in &removed {
        writeln!(
            out,
            "{} {}",
            if args.dry_run {
                "would remove"
            } else {
                "removed"
            },
            path.display()
        )?;
    }
    if removed.is_empty() {
        writeln!(out, "nothing to remove in {}", state.root().display())?;
    }
    Ok(())
}

/// Both locks of every spool in `state` and in its demo runs' folders, in one order (so two
/// `clean`s never wait on each other in a circle).
fn hold_spools(state: &StateDir) -> Result<Vec<SpoolHold>, CliError> {
    let folders =
        std::iter::once(state.clone()).chain(state.demo_folders().into_iter().map(|(_, d)| d));
    let mut held = Vec::new();
    for folder in folders {
        for product in folder.spooled_products() {
            let dir = folder
                .spool_dir(&product)
                .map_err(|e| CliError::Usage(format!("cannot remove: {e}")))?;
            let spool = Spool::open(&dir, SpoolCaps::default())
                .map_err(|e| CliError::Usage(format!("cannot remove {}: {e}", dir.display())))?;
            held.push(spool.hold(CLEAN_WAIT).map_err(|e| {
                CliError::Usage(format!(
                    "cannot remove {}: a write or delivery in progress did not end: {e}",
                    dir.display()
                ))
            })?);
        }
    }
    Ok(held)
}
