//! `candor receipts` and `candor clean`: Candor's local state.

use std::io::Write;
use std::path::PathBuf;

use candor_transport::Receipts;

use crate::args::{CleanArgs, ReceiptsArgs};
use crate::{CliError, consent_now};

/// Candor's folder, or a usage error saying how to name one.
pub(crate) fn state_dir() -> Result<PathBuf, CliError> {
    consent_now::candor_dir().ok_or_else(|| {
        CliError::Usage(
            "no folder for Candor's state (no home directory); set CANDOR_CONFIG_DIR".to_owned(),
        )
    })
}

/// The receipts log in Candor's folder.
pub(crate) fn receipts_path(dir: &std::path::Path) -> PathBuf {
    dir.join("receipts.jsonl")
}

/// The files and folders `clean` removes; `config.toml` is the user's and stays.
const STATE: &[&str] = &[
    "spool",
    "receipts.jsonl",
    "keys",
    "notices",
    "install-id",
    "demo",
];

pub(crate) fn receipts(args: &ReceiptsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let dir = state_dir()?;
    let log = Receipts::new(receipts_path(&dir), 1 << 20);
    let receipts = log
        .read(args.product.as_deref())
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", log.path().display())))?;
    if args.json {
        for r in &receipts {
            serde_json::to_writer(&mut *out, r).map_err(|e| CliError::Usage(e.to_string()))?;
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

pub(crate) fn clean(args: &CleanArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let dir = state_dir()?;
    let mut removed = 0;
    for name in STATE {
        let path = dir.join(name);
        if !path.exists() {
            continue;
        }
        if !args.dry_run {
            let result = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            result
                .map_err(|e| CliError::Usage(format!("cannot remove {}: {e}", path.display())))?;
        }
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
        removed += 1;
    }
    if removed == 0 {
        writeln!(out, "nothing to remove in {}", dir.display())?;
    }
    Ok(())
}
