//! `candor demo`: a simulated host through the full pipeline, then a summary.

use std::io::Write;
use std::time::Duration;

use candor::SinkSpec;
use candor_demo::{DemoOptions, DemoSummary, run_agent, run_dashboard};

use crate::args::{DemoArgs, SinkKind};
use crate::{CliError, send_cmd, state_cmd};

pub(crate) fn run(args: &DemoArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let runner = match args.product.as_str() {
        "aspire-dashboard" => run_dashboard,
        "contrast-dotnet-agent" => run_agent,
        other => {
            return Err(CliError::Usage(format!(
                "no demo for `{other}` (demos: aspire-dashboard, contrast-dotnet-agent)"
            )));
        }
    };
    for (name, value) in [("--seconds", args.seconds), ("--interval", args.interval)] {
        if !(value.is_finite() && (0.0..=86_400.0).contains(&value)) {
            return Err(CliError::Usage(format!(
                "{name} must be between 0 and 86400 seconds"
            )));
        }
    }
    let sink = match (args.sink, &args.endpoint) {
        (None, _) => None,
        (Some(SinkKind::Relay), None) if args.product == "aspire-dashboard" => {
            Some(SinkSpec::Relay {
                endpoint: String::new(),
                token: String::new(),
            })
        }
        (Some(kind), endpoint) => Some(send_cmd::sink_spec(
            kind,
            endpoint.as_deref(),
            args.token.as_deref(),
            &args.transport,
        )?),
    };
    let candor = state_cmd::state()?;
    let state_dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => candor
            .demo_dir(&args.product)
            .map_err(|e| CliError::Usage(e.to_string()))?,
    };
    let summary = runner(&DemoOptions {
        state_dir: state_dir.clone(),
        sink,
        run_for: Duration::from_secs_f64(args.seconds),
        interval: Duration::from_secs_f64(args.interval.max(0.01)),
        ca_file: send_cmd::ca_file(&args.transport),
        // The demo keeps its own keys and spool, but obeys the user's consent, and follows
        // it while it runs.
        config_dir: Some(candor.root().to_owned()),
    })
    .map_err(|e| CliError::Usage(e.to_string()))?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &summary)
            .map_err(|e| CliError::Usage(e.to_string()))?;
        writeln!(out)?;
    } else {
        write_text(out, &summary, &state_dir)?;
    }
    Ok(())
}

fn write_text(out: &mut dyn Write, s: &DemoSummary, dir: &std::path::Path) -> Result<(), CliError> {
    let decision = &s.status.decision;
    writeln!(
        out,
        "{} demo: telemetry is {} ({})",
        s.product,
        decision.mode.as_str(),
        decision.reason
    )?;
    if !decision.enabled() && s.recorded == 0 {
        writeln!(out, "nothing was recorded or sent")?;
        return Ok(());
    }
    if !decision.enabled() {
        // Consent changed while it ran (`candor consent`, the file by hand).
        writeln!(
            out,
            "  turned off while it ran: nothing more was recorded, and what was not yet sent was withdrawn"
        )?;
    }
    writeln!(out, "  recorded: {} value(s)", s.recorded)?;
    writeln!(out, "  sent:     {} event(s) to {}", s.sent, s.destination)?;
    writeln!(out, "  dropped:  {}", s.dropped)?;
    for refusal in &s.status.refused {
        writeln!(out, "            {} (x{})", refusal.reason, refusal.count)?;
    }
    send_cmd::write_drops(out, "            ", &s.status.all_drops())?;
    if let Some(stats) = &s.status.sent {
        if stats.receipts_unwritten > 0 {
            writeln!(
                out,
                "  problem:  {} delivery receipt(s) could not be written: {}",
                stats.receipts_unwritten,
                stats.last_error.as_deref().unwrap_or("no error recorded")
            )?;
        }
        if s.sent == 0
            && let Some(line) = send_cmd::failure_line(stats)
        {
            writeln!(out, "  problem:  {line}")?;
        }
    }
    if s.pending > 0 {
        writeln!(
            out,
            "  waiting:  {} event(s) in the spool for the next run",
            s.pending
        )?;
    }
    if let Some(receipts) = &s.receipts {
        writeln!(out, "  receipts: {}", receipts.display())?;
    }
    writeln!(out, "  folder:   {}", dir.display())?;
    Ok(())
}
