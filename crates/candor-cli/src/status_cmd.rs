//! `candor status`: the consent decision on this machine, now, and its reason.

use std::io::Write;
use std::path::Path;

use candor_consent::Decision;
use candor_schema::DeletionKey;
use candor_transport::DeletionRecord;
use serde::Serialize;

use crate::args::StatusArgs;
use crate::{CliError, consent_now, source};

pub(crate) fn run(
    file: Option<&Path>,
    args: &StatusArgs,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let catalogues = source::catalogues(file)?;
    consent_now::warn_about_config(&catalogues);
    let catalogue = catalogues.get(&args.product)?;
    let decision = consent_now::decide_now(catalogue, &args.host);
    let key = &catalogue.spec().collection.deletion_key;
    let kept = crate::state_cmd::state()
        .ok()
        .and_then(|state| {
            crate::state_cmd::deletion_records(&state, Some(catalogue.product_id())).pop()
        })
        .map(|(_, record)| record);
    if args.json {
        let deletion = Deletion {
            traceable: !key.is_none(),
            key,
            summary: key.summary(),
            request: kept.as_ref().and_then(|r| r.as_ref().ok()),
            status: kept
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .map(|r| r.describe()),
            request_error: kept.as_ref().and_then(|r| r.as_ref().err()),
        };
        write_json(out, catalogue.product_id(), &decision, &deletion)
    } else {
        let request = kept.map(|record| match record {
            Ok(record) => record.describe(),
            Err(e) => format!("the deletion request cannot be read: {e}"),
        });
        write_text(
            out,
            &catalogue.spec().product.name,
            catalogue.product_id(),
            &decision,
        )?;
        writeln!(out, "  deletion:   {}", key.summary())?;
        if let Some(request) = request {
            writeln!(out, "              {request}")?;
        }
        Ok(())
    }
}

pub(crate) fn write_text(
    out: &mut dyn Write,
    name: &str,
    id: &str,
    decision: &Decision,
) -> Result<(), CliError> {
    let headline = decision.headline();
    writeln!(out, "{name} ({id}): telemetry is {headline}")?;
    // The reason can quote what a host passed (`--host <id>=<version>`): shown escaped and cut.
    let shown = |text: &str| crate::untrusted::shown(text, crate::untrusted::MAX_MESSAGE_CHARS);
    writeln!(out, "  why:        {}", shown(&decision.reason))?;
    writeln!(out, "  decided by: {}", decision.decided_by.describe())?;
    if let Some(ci) = decision.ci {
        writeln!(
            out,
            "  CI:         {ci} detected; interactive notices are suppressed"
        )?;
    }
    if let Some(statement) = &decision.statement {
        writeln!(out, "  notice:     {statement}")?;
    }
    // A warning that is itself the reason was shown above; repeat only the others.
    for warning in decision.warnings.iter().filter(|w| **w != decision.reason) {
        writeln!(out, "warning: {}", shown(warning))?;
    }
    Ok(())
}

/// `status --json`'s `deletion`: whether what was sent can be traced to this installation, and
/// the deletion request kept for it (or why it cannot be read).
#[derive(Serialize)]
struct Deletion<'a> {
    traceable: bool,
    key: &'a DeletionKey,
    summary: &'static str,
    request: Option<&'a DeletionRecord>,
    /// The request in words ("deletion requested at …, confirmed at …").
    status: Option<String>,
    request_error: Option<&'a String>,
}

fn write_json(
    out: &mut dyn Write,
    product: &str,
    decision: &Decision,
    deletion: &Deletion<'_>,
) -> Result<(), CliError> {
    #[derive(Serialize)]
    struct Status<'a> {
        product: &'a str,
        enabled: bool,
        sends: bool,
        #[serde(flatten)]
        decision: &'a Decision,
        deletion: &'a Deletion<'a>,
    }
    let status = Status {
        product,
        enabled: decision.enabled(),
        sends: decision.may_send(),
        decision,
        deletion,
    };
    serde_json::to_writer_pretty(&mut *out, &status)
        .map_err(|e| CliError::Usage(format!("cannot write JSON: {e}")))?;
    writeln!(out)?;
    Ok(())
}
