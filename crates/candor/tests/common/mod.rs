//! What several of the facade's test files build the same way.

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use candor::{Environment, SinkSpec, Telemetry};

/// The agent's opt-out variable.
pub(crate) const OPT_OUT: &str = "CONTRAST_DOTNET_TELEMETRY_OPTOUT";

/// The agent (core runtime, 4.0.0) in `state`, opted in, sending to `sink` in batches of at
/// most 20 ms, with `queue` values of room per recording thread.
pub(crate) fn agent(state: &Path, sink: SinkSpec, queue: usize) -> Telemetry {
    Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .runtime("core")
        .version("4.0.0")
        .state_dir(state)
        .environment(Environment::from_pairs([(OPT_OUT, "0")]))
        .sink(sink)
        .batch_wait(Duration::from_millis(20))
        .queue_capacity(queue)
        .build()
        .expect("telemetry")
}

/// [`agent`] writing its events to `events.jsonl` in `state`.
pub(crate) fn agent_to_file(state: &Path, queue: usize) -> Telemetry {
    let path = state.join("events.jsonl");
    agent(state, SinkSpec::File { path }, queue)
}
