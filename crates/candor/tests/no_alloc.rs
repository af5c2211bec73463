//! The host's cost of a typed call is one bounded push: the generated recorder's method for a
//! count, a duration and a flag allocates nothing on the host's thread (consent on, values
//! queued for Candor's worker).

// Unsafe code only in tests (here and `tests/reentrant.rs`): a test's global allocator, which must implement the
// unsafe `GlobalAlloc` trait to count; it forwards every call to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use candor::{Environment, SinkSpec, Telemetry};
use candor_collect::ContrastDotnetAgentRecorder;

/// Counts the allocations made by the thread that asks.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a
// thread-local `Cell` with a constant initialiser, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc` is passed on unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `alloc_zeroed` is passed on unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        // SAFETY: the caller's contract for `realloc` is passed on unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn typed_calls_for_a_count_a_duration_and_a_flag_allocate_nothing() {
    let state = tempfile::tempdir().expect("tmp");
    let telemetry = Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .runtime("core")
        .version("4.0.0")
        .state_dir(state.path())
        .environment(Environment::from_pairs([(
            "CONTRAST_DOTNET_TELEMETRY_OPTOUT",
            "0",
        )]))
        .sink(SinkSpec::File {
            path: state.path().join("events.jsonl"),
        })
        .queue_capacity(1024)
        .build()
        .expect("telemetry");
    assert!(telemetry.is_collecting());
    let agent = ContrastDotnetAgentRecorder::new(telemetry.clone());
    for round in 0..3 {
        let count = allocations_in(|| {
            for n in 0..100 {
                agent.working_set(n);
            }
        });
        let duration = allocations_in(|| {
            for n in 0..100 {
                agent.process_running_time(Duration::from_millis(n));
            }
        });
        let flag = allocations_in(|| {
            for n in 0..100 {
                agent.protect_enabled(n % 2 == 0);
            }
        });
        assert_eq!((count, duration, flag), (0, 0, 0), "round {round}");
        telemetry.flush(Duration::from_secs(10));
    }
    // The values were queued, not skipped: all of them are delivered.
    let status = telemetry.shutdown(Duration::from_secs(10));
    assert_eq!(status.recorded, 900, "{status:#?}");
    assert_eq!(
        status.sent.as_ref().expect("started").delivered,
        900,
        "{status:#?}"
    );
    // And the counter counts.
    let boxed = allocations_in(|| drop(std::hint::black_box(Box::new(7u64))));
    assert_eq!(boxed, 1, "the allocator counts nothing");
}
