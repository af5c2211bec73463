//! A value recorded from inside `record` itself (a global allocator that records when memory
//! is handed back, while Candor drops what it no longer needs) keeps its place in the
//! thread's order: it never lands in another queue than the values recorded after it.

// A test's global allocator, which must implement the unsafe `GlobalAlloc` trait; it forwards
// every call to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::OnceLock;
use std::time::Duration;

use candor::{Scalar, Telemetry};

mod common;

/// Records the armed value (once) the next time the arming thread hands memory back.
struct RecordingOnFree;

thread_local! {
    static ARMED: Cell<Option<u64>> = const { Cell::new(None) };
}

/// The product the allocator records for.
static TARGET: OnceLock<Telemetry> = OnceLock::new();

// SAFETY: every call is forwarded unchanged to the system allocator; the armed thread-local
// has a constant initialiser, and `record_scalar` allocates nothing.
unsafe impl GlobalAlloc for RecordingOnFree {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) };
        if let (Some(value), Some(target)) =
            (ARMED.try_with(Cell::take).ok().flatten(), TARGET.get())
        {
            target.record_scalar("working_set", Scalar::Count(value));
        }
    }
}

#[global_allocator]
static ALLOCATOR: RecordingOnFree = RecordingOnFree;

fn agent(state: &std::path::Path) -> Telemetry {
    common::agent_to_file(state, 64)
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

/// A thread recorded for a product that is gone; its first value for another product frees
/// the gone product's queues, and the allocator records (for the new product) while that
/// happens. That value was recorded before the thread's next one, and arrives before it.
#[test]
fn a_value_recorded_while_record_frees_memory_keeps_its_place() {
    let gone_state = tempfile::tempdir().expect("tmp");
    let state = tempfile::tempdir().expect("tmp");
    assert!(TARGET.set(agent(state.path())).is_ok());
    let target = TARGET.get().expect("set");
    let gone_path = gone_state.path().to_owned();
    std::thread::spawn(move || {
        let gone = agent(&gone_path);
        gone.record_scalar("working_set", Scalar::Count(1));
        gone.shutdown(Duration::from_secs(10));
        drop(gone);
        let target = TARGET.get().expect("set");
        ARMED.with(|a| a.set(Some(100)));
        target.record_scalar("working_set", Scalar::Count(101));
        assert_eq!(ARMED.with(Cell::get), None, "the allocator recorded");
        target.record_scalar("working_set", Scalar::Count(102));
    })
    .join()
    .expect("no panic");
    let status = target.shutdown(Duration::from_secs(10));
    assert_eq!(status.recorded, 3, "{status:#?}");
    let text = std::fs::read_to_string(state.path().join("events.jsonl")).expect("events");
    let values: Vec<u64> = text
        .lines()
        .map(|line| {
            let event: serde_json::Value = serde_json::from_str(line).expect("an event");
            number_in(&event["value"]).expect("a count")
        })
        .collect();
    let at = |v: u64| values.iter().position(|x| *x == v).expect("delivered");
    assert!(at(100) < at(102), "delivered in this order: {values:?}");
}
