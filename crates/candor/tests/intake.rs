//! Values reach Candor's worker through a ring per recording thread (for the first few
//! threads) and one shared queue (for the rest). These tests record from more threads than a
//! product has rings, and from threads that exit before anything was taken in, then check that
//! every value was delivered or counted as dropped, and that each thread's values arrived in
//! the order it recorded them.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use candor::status::DropCause;
use candor::{Input, Telemetry};

mod common;

/// Values are `thread × SPAN + n`, so the thread and the order can be read back.
const SPAN: u64 = 1_000_000;

fn agent(state: &Path, queue: usize) -> Telemetry {
    common::agent_to_file(state, queue)
}

/// The first whole number in an event's value, wherever the value's form puts it.
fn number_in(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::Array(items) => items.iter().find_map(number_in),
        serde_json::Value::Object(fields) => fields.values().find_map(number_in),
        _ => None,
    }
}

/// The values delivered to the events file, per recording thread, in the order they arrived.
fn delivered_by_thread(state: &Path) -> BTreeMap<u64, Vec<u64>> {
    let text = std::fs::read_to_string(state.join("events.jsonl")).unwrap_or_default();
    let mut by_thread: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for line in text.lines() {
        let event: serde_json::Value = serde_json::from_str(line).expect("one event per line");
        assert_eq!(event["point"], "working_set", "{line}");
        let value = number_in(&event["value"]).expect("a count");
        by_thread
            .entry(value / SPAN)
            .or_default()
            .push(value % SPAN);
    }
    by_thread
}

fn assert_in_order(by_thread: &BTreeMap<u64, Vec<u64>>) {
    for (thread, values) in by_thread {
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "thread {thread}: its values arrived out of order"
        );
    }
}

/// Sixteen threads (more than a product's rings) record flat out into small queues at once,
/// then the host shuts down: each value was delivered or dropped as `QueueFull`, and each
/// thread's values arrived in order.
#[test]
fn many_threads_at_once_deliver_or_count_every_value_in_order() {
    const THREADS: u64 = 16;
    const EACH: u64 = 3_000;
    let state = tempfile::tempdir().expect("tmp");
    let t = agent(state.path(), 256);
    let start = Arc::new(Barrier::new(THREADS as usize));
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let t = t.clone();
            let start = Arc::clone(&start);
            std::thread::spawn(move || {
                start.wait();
                for n in 0..EACH {
                    t.record_declared("working_set", Input::Count(thread * SPAN + n));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("no panic");
    }
    let status = t.shutdown(Duration::from_secs(30));
    let full = status.dropped(DropCause::QueueFull);
    assert_eq!(status.recorded + full, THREADS * EACH, "{status:#?}");
    let sent = status.sent.clone().expect("started");
    assert_eq!(sent.delivered, status.recorded, "{status:#?}");
    assert_eq!(
        status.all_drops().len(),
        usize::from(full > 0),
        "{status:#?}"
    );
    let by_thread = delivered_by_thread(state.path());
    assert_eq!(
        by_thread.values().map(|v| v.len() as u64).sum::<u64>(),
        status.recorded
    );
    assert_in_order(&by_thread);
}

/// Threads that record and exit before the worker looked, one after another and more of them
/// than there are rings: the values they left are all delivered, in each one's order.
#[test]
fn threads_that_exit_after_recording_lose_nothing() {
    const THREADS: u64 = 10;
    const EACH: u64 = 300;
    let state = tempfile::tempdir().expect("tmp");
    // Room for everything, so no value can be dropped.
    let t = agent(state.path(), 4096);
    for thread in 0..THREADS {
        let t = t.clone();
        std::thread::spawn(move || {
            for n in 0..EACH {
                t.record_declared("working_set", Input::Count(thread * SPAN + n));
            }
        })
        .join()
        .expect("no panic");
    }
    let status = t.shutdown(Duration::from_secs(30));
    assert_eq!(status.recorded, THREADS * EACH, "{status:#?}");
    assert!(status.all_drops().is_empty(), "{status:#?}");
    let by_thread = delivered_by_thread(state.path());
    assert_eq!(by_thread.len() as u64, THREADS);
    assert!(by_thread.values().all(|v| v.len() as u64 == EACH));
    assert_in_order(&by_thread);
}

/// A flush sends what every thread recorded before it, rings and shared queue alike, even
/// when together they hold more than one queue's worth.
#[test]
fn a_flush_takes_in_what_every_thread_recorded_before_it() {
    const THREADS: u64 = 8;
    const EACH: u64 = 100;
    let state = tempfile::tempdir().expect("tmp");
    let t = agent(state.path(), 512);
    let recorded = Arc::new(Barrier::new(THREADS as usize + 1));
    let flushed = Arc::new(Barrier::new(THREADS as usize + 1));
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let t = t.clone();
            let (recorded, flushed) = (Arc::clone(&recorded), Arc::clone(&flushed));
            std::thread::spawn(move || {
                for n in 0..EACH {
                    t.record_declared("working_set", Input::Count(thread * SPAN + n));
                }
                recorded.wait();
                // Still alive (its ring still claimed) while the host flushes.
                flushed.wait();
            })
        })
        .collect();
    recorded.wait();
    t.flush(Duration::from_secs(10));
    let status = t.status();
    flushed.wait();
    for thread in threads {
        thread.join().expect("no panic");
    }
    assert_eq!(status.queued, 0, "{status:#?}");
    assert_eq!(status.recorded, THREADS * EACH, "{status:#?}");
    assert_eq!(
        status.sent.as_ref().expect("started").delivered,
        THREADS * EACH,
        "{status:#?}"
    );
    t.shutdown(Duration::from_secs(10));
}
