//! A simulated .NET Aspire dashboard recording navigation, commands, resource types, user
//! agents, languages, restart and processing times and one unhandled exception, and sending
//! through the host relay to a loopback "IDE" endpoint it starts itself.
//!
//! `cargo run -p candor-demo --example dashboard [seconds]`

#![allow(clippy::print_stdout)]

use std::time::Duration;

use candor::SinkSpec;
use candor_demo::{DemoOptions, run_dashboard};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let state = std::env::temp_dir().join("candor-example-dashboard");
    let summary = run_dashboard(&DemoOptions {
        state_dir: state,
        // An empty relay endpoint asks the demo to start the IDE endpoint itself.
        sink: Some(SinkSpec::Relay {
            endpoint: String::new(),
            token: String::new(),
        }),
        run_for: Duration::from_secs_f64(seconds),
        interval: Duration::from_secs(1),
        ca_file: None,
        config_dir: None,
    })?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
