//! What checking spooled events again costs before they leave (the facade's re-admission), in
//! one run, against what reading them back already costs:
//! - `readmit/check_512`: `candor_check::check_event` over a batch of 512 of the agent's
//!   events (a third counts, a third scrubbed texts, a third exceptions with a message, a log
//!   message and eight frames), with a scrubber that knows a machine's literals;
//! - `readmit/decode_512` (the baseline): decoding the same 512 spool lines from JSON, which
//!   every attempt to send a spooled batch pays anyway.

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use candor_privacy::{MachineLiterals, Scrubber};
use candor_schema::{Event, ExceptionValue, Stamp, Timestamp, Value, builtin};
use criterion::{Criterion, criterion_group, criterion_main};

fn events() -> Vec<Event> {
    let agent = builtin::catalogues()
        .expect("built-ins")
        .get("contrast-dotnet-agent")
        .expect("the agent");
    let time = Timestamp::from_system_time(SystemTime::now()).to_millis();
    (0..512u32)
        .map(|n| {
            let (point, value) = match n % 3 {
                0 => ("working_set", Value::Count(u64::from(n) * 4096)),
                1 => (
                    "os_version",
                    Value::Text(format!("Ubuntu 22.04.{n} LTS (kernel 6.8.0-{n}-generic)")),
                ),
                _ => (
                    "sensor_exceptions",
                    Value::Exception(ExceptionValue {
                        type_name: "System.InvalidOperationException".into(),
                        message: format!(
                            "Sequence contains no matching element while reading setting {n}"
                        ),
                        frames: (0..8)
                            .map(|f| format!("Contrast.Agent.Sensors.Http.Module.Step{f}()"))
                            .collect(),
                        frames_dropped: 3,
                        log_message: Some("sensor failed; continuing without it".into()),
                    }),
                ),
            };
            let stamp = Stamp {
                event_id: format!("{n:032x}"),
                time,
                product_version: "4.0.0".into(),
                runtime_line: "core".into(),
                install_id: None,
            };
            Event::declared(agent, point, value, stamp).expect("declared")
        })
        .collect()
}

fn readmit(c: &mut Criterion) {
    let agent = builtin::catalogues()
        .expect("built-ins")
        .get("contrast-dotnet-agent")
        .expect("the agent");
    let scrubber = Scrubber::new(&MachineLiterals {
        user_name: Some("alice".into()),
        home_dir: Some("/home/alice".into()),
        host_name: Some("build-host-7".into()),
    });
    let events = events();
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).expect("encode"))
        .collect();
    let now = SystemTime::now();
    // The bench times real work: every event passes, and an edited one does not.
    for event in &events {
        candor_check::check_event(agent, event, now, &scrubber).expect("admitted");
    }
    // A spool line edited on disk: the value replaced, read back as the spool reads it.
    let mut line = serde_json::to_value(&events[1]).expect("encode");
    line["value"] = serde_json::json!({"kind": "text", "data": "mail alice@example.com"});
    let edited: Event = serde_json::from_value(line).expect("an event of the schema");
    assert!(candor_check::check_event(agent, &edited, now, &scrubber).is_err());

    let mut group = c.benchmark_group("readmit");
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("check_512", |b| {
        b.iter(|| {
            for event in &events {
                black_box(candor_check::check_event(
                    agent,
                    black_box(event),
                    now,
                    &scrubber,
                ))
                .expect("admitted");
            }
        });
    });
    group.bench_function("decode_512", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(serde_json::from_str::<Event>(black_box(line)).expect("decoded"));
            }
        });
    });
    group.finish();
}

criterion_group!(benches, readmit);
criterion_main!(benches);
