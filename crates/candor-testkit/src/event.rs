//! Events for transport tests. Events are made only through a catalogue (`Event::declared`),
//! as the preparer makes them; these use the built-in agent's `working_set`.

use candor_schema::{Event, Stamp, Timestamp, Value};

/// Event number `n`: the agent's `working_set` at `n` KiB, with `n` as its id.
pub fn agent_event(n: u32) -> Event {
    let agent = candor_schema::builtin::catalogues()
        .expect("the built-in catalogues load")
        .get("contrast-dotnet-agent")
        .expect("the agent is built in");
    let stamp = Stamp {
        event_id: format!("{n:032x}"),
        time: Timestamp::parse("2026-11-21T09:30:00.000Z").expect("a time"),
        product_version: "21.1.2".into(),
        runtime_line: "framework".into(),
        install_id: None,
    };
    Event::declared(
        agent,
        "working_set",
        Value::Count(u64::from(n) * 1024),
        stamp,
    )
    .expect("working_set is declared for the agent at 21.1.2")
}
