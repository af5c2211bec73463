//! A simulated Contrast .NET agent: a snapshot at first load, then the periodic schedule
//! (shortened by a flag), HTTP summaries, IIS pools, rule modes and caught exceptions with
//! .NET stack traces, sent by OTLP or HTTPS JSON.
//!
//! `cargo run -p candor-demo --example agent -- [--interval secs] [--seconds n]
//!  [--otlp-http url | --json url]` (default: a JSON-lines file in the temp folder)

#![allow(clippy::print_stdout)]

use std::time::Duration;

use candor::SinkSpec;
use candor_demo::{DemoOptions, run_agent};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let number =
        |name: &str, default: f64| flag(name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let sink = match (flag("--otlp-http"), flag("--json")) {
        (Some(url), _) => Some(SinkSpec::OtlpHttp {
            endpoint: url.clone(),
        }),
        (None, Some(url)) => Some(SinkSpec::Json {
            endpoint: url.clone(),
        }),
        (None, None) => None,
    };
    let summary = run_agent(&DemoOptions {
        state_dir: std::env::temp_dir().join("candor-example-agent"),
        sink,
        run_for: Duration::from_secs_f64(number("--seconds", 2.0)),
        interval: Duration::from_secs_f64(number("--interval", 0.5)),
        ca_file: None,
        config_dir: None,
    })?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
