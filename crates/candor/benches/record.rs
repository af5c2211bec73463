//! The host's cost of one telemetry call, measured in one run:
//! - `candor/record_enabled`: `Telemetry::record` with consent on (queued for Candor's worker);
//! - `candor/typed_count`: the generated recorder's method for the same point
//!   (`ContrastDotnetAgentRecorder::working_set`), what a host calls;
//! - `candor/record_disabled`: the same call with consent off (one atomic load);
//! - `candor-ffi/record_count`: the C ABI's `candor_record_count` on a handle with consent on
//!   (called from Rust through its `extern "C"` entry point: the C calling convention, the
//!   argument checks, the handle lookup and `catch_unwind`; a C caller adds only the shared
//!   library's call indirection);
//! - `candor-otel/emit`: an OpenTelemetry log record emitted through the SDK's `Logger` into
//!   candor-otel's processor, which reads its body and records it (a host on OpenTelemetry);
//! - `opentelemetry_sdk/emit_batch`: creating a log record and `Logger::emit` into a
//!   `BatchLogProcessor` (with an exporter that discards), the cost of using OTel directly;
//! - `baseline/input_only`: building and dropping the same `Input` without recording, the
//!   floor under the disabled path;
//! - `candor/typed_histogram_64`: the generated recorder's method for a histogram point
//!   (`contrast_http_response_time`) with one reporting period of 64 measurements, the host's
//!   cost including the copy of the measurements it hands over; and `candor-schema/fold_64`:
//!   folding those 64 into bucket counts, which Candor's worker does, not the host.
//!
//! The enabled paths are timed in rounds of 1000 calls, and each side's queue is drained
//! (untimed) between rounds, so neither side is measured dropping values into a full queue.
//! Candor runs with the builder's default queue capacity (4096), as a host does: a larger
//! queue would have each call write a line that is in no cache.

#![allow(unsafe_code)] // the C ABI's entry points are `unsafe extern "C"` functions

use std::hint::black_box;
use std::time::{Duration, Instant};

use candor::{Environment, Input, SinkSpec, Telemetry};
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter, SdkLoggerProvider};

#[derive(Debug)]
struct Discard;

impl LogExporter for Discard {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

fn telemetry(env: Environment, state: &std::path::Path) -> Telemetry {
    Telemetry::builder(candor::builtin("contrast-dotnet-agent").expect("built in"))
        .runtime("core")
        .version("4.0.0")
        .state_dir(state)
        .environment(env)
        .sink(SinkSpec::File {
            path: state.join("events.jsonl"),
        })
        .build()
        .expect("telemetry")
}

/// Rounds of 1000 calls, timed; between rounds (untimed) Candor's worker takes in what
/// they queued, so no call is timed dropping a value into a full queue.
/// Calls timed between two flushes.
const ROUND: u64 = 1000;

fn in_rounds(iterations: u64, telemetry: &Telemetry, mut call: impl FnMut()) -> Duration {
    let mut total = Duration::ZERO;
    let mut done = 0;
    while done < iterations {
        let n = ROUND.min(iterations - done);
        let start = Instant::now();
        for _ in 0..n {
            call();
        }
        total += start.elapsed();
        telemetry.flush(Duration::from_secs(10));
        done += n;
    }
    total
}

fn record(c: &mut Criterion) {
    let state = tempfile::tempdir().expect("tmp");
    let on = telemetry(Environment::from_pairs([("CI", "")]), state.path());
    let off = telemetry(
        Environment::from_pairs([("CONTRAST_DOTNET_TELEMETRY_OPTOUT", "1")]),
        state.path(),
    );
    assert!(on.is_collecting() && !off.is_collecting());
    let provider = SdkLoggerProvider::builder()
        .with_batch_exporter(Discard)
        .build();
    let logger = provider.logger("bench");
    let c_handle = c_handle(state.path());
    let bridged = telemetry(Environment::from_pairs([("CI", "")]), state.path());
    let bridge = SdkLoggerProvider::builder()
        .with_log_processor(candor_otel::CandorLogProcessor::new(bridged.clone()))
        .build();
    let bridge_logger = bridge.logger("bench");

    let mut group = c.benchmark_group("record");
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("candor/record_enabled", |b| {
        b.iter_custom(|iterations| {
            in_rounds(iterations, &on, || {
                on.record(
                    black_box("working_set"),
                    Input::Count(black_box(52_428_800)),
                );
            })
        });
    });
    let typed = candor_collect::ContrastDotnetAgentRecorder::new(on.clone());
    group.bench_function("candor/typed_count", |b| {
        b.iter_custom(|iterations| {
            in_rounds(iterations, &on, || typed.working_set(black_box(52_428_800)))
        });
    });
    group.bench_function("opentelemetry_sdk/emit_batch", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iterations {
                let n = 1000.min(iterations - done);
                let start = Instant::now();
                for _ in 0..n {
                    let mut r = logger.create_log_record();
                    r.set_event_name("working_set");
                    r.set_body(AnyValue::Int(black_box(52_428_800)));
                    logger.emit(r);
                }
                total += start.elapsed();
                let _ = provider.force_flush();
                done += n;
            }
            total
        });
    });
    // Which of the bridged rows ran (a filter may leave them out): only those are checked.
    let ffi_ran = std::cell::Cell::new(false);
    let otel_ran = std::cell::Cell::new(false);
    group.bench_function("candor-ffi/record_count", |b| {
        let point = "working_set";
        ffi_ran.set(true);
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iterations {
                let n = ROUND.min(iterations - done);
                let start = Instant::now();
                for _ in 0..n {
                    // SAFETY: `point` is a live `&str` and its length is passed with it.
                    let code = unsafe {
                        candor_ffi::candor_record_count(
                            black_box(c_handle),
                            black_box(point.as_ptr().cast()),
                            point.len(),
                            black_box(52_428_800),
                        )
                    };
                    debug_assert_eq!(code, candor_ffi::CandorCode::Ok);
                    black_box(code);
                }
                total += start.elapsed();
                assert_eq!(
                    candor_ffi::candor_flush(c_handle, 10_000),
                    candor_ffi::CandorCode::Ok
                );
                done += n;
            }
            total
        });
    });
    group.bench_function("candor-otel/emit", |b| {
        otel_ran.set(true);
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            let mut done = 0;
            while done < iterations {
                let n = ROUND.min(iterations - done);
                let start = Instant::now();
                for _ in 0..n {
                    let mut r = bridge_logger.create_log_record();
                    r.set_event_name("working_set");
                    r.set_body(AnyValue::Int(black_box(52_428_800)));
                    bridge_logger.emit(r);
                }
                total += start.elapsed();
                bridged.flush(Duration::from_secs(10));
                done += n;
            }
            total
        });
    });
    let period: Vec<f64> = (0..64).map(|i| 3.0 + f64::from(i) * 7.25).collect();
    group.bench_function("candor/typed_histogram_64", |b| {
        b.iter_custom(|iterations| {
            in_rounds(iterations, &on, || {
                typed.contrast_http_response_time(black_box(&period).clone());
            })
        });
    });
    let layout = candor_schema::BucketLayout::of(
        &candor::builtin("contrast-dotnet-agent")
            .expect("built in")
            .data_point("contrast_http_response_time")
            .expect("declared")
            .value,
    )
    .expect("a histogram point");
    group.bench_function("candor-schema/fold_64", |b| {
        b.iter(|| black_box(layout.fold(black_box(&period))));
    });
    group.bench_function("baseline/input_only", |b| {
        b.iter(|| black_box(Input::Count(black_box(52_428_800))));
    });
    group.bench_function("candor/record_disabled", |b| {
        b.iter(|| {
            off.record(
                black_box("working_set"),
                Input::Count(black_box(52_428_800)),
            )
        });
    });
    group.finish();
    let mut c_status = candor_ffi::CandorStatus::default();
    // SAFETY: `c_status` is a live local of the type the function writes.
    let code = unsafe { candor_ffi::candor_shutdown(c_handle, 30_000, &mut c_status) };
    assert_eq!(code, candor_ffi::CandorCode::Ok);
    let _ = bridge.shutdown();
    let bridged = bridged.shutdown(Duration::from_secs(30));
    // Each path did its job: values reached the worker and were prepared, not refused.
    for (name, ran, recorded, prepared, refused) in [
        (
            "candor-ffi",
            ffi_ran.get(),
            c_status.recorded,
            c_status.prepared,
            c_status.refused,
        ),
        (
            "candor-otel",
            otel_ran.get(),
            bridged.recorded,
            bridged.prepared,
            bridged.refused.len() as u64,
        ),
    ] {
        if !ran {
            continue;
        }
        assert!(recorded > 0 && prepared > 0 && refused == 0, "{name}");
        #[allow(clippy::print_stdout)]
        {
            println!("{name}: recorded {recorded}, prepared {prepared}");
        }
    }
    let status = on.shutdown(Duration::from_secs(30));
    // Printed so the run shows how many values the worker could not keep up with.
    #[allow(clippy::print_stdout)]
    {
        println!(
            "candor: recorded {}, dropped (queue full) {}, prepared {}",
            status.recorded,
            status.dropped(candor::status::DropCause::QueueFull),
            status.prepared
        );
    }
    let _ = provider.shutdown();
}

/// A handle built through the C ABI as a C host builds it, sending to a file.
fn c_handle(state: &std::path::Path) -> candor_ffi::CandorHandle {
    use candor_ffi::*;
    let text = |s: &str| (s.as_ptr().cast::<std::ffi::c_char>(), s.len());
    let dir = state.to_str().expect("UTF-8");
    let sink = state.join("ffi-events.jsonl");
    let sink = sink.to_str().expect("UTF-8");
    let (mut builder, mut handle) = (0, 0);
    // SAFETY: every pointer comes from a live `&str` or local, with its exact length.
    let codes = unsafe {
        let (p, n) = text("contrast-dotnet-agent");
        let new = candor_builder_new(p, n, &mut builder);
        let (p, n) = text("core");
        let runtime = candor_builder_runtime(builder, p, n);
        let (p, n) = text("4.0.0");
        let version = candor_builder_version(builder, p, n);
        let (p, n) = text(dir);
        let state_dir = candor_builder_state_dir(builder, p, n);
        let (p, n) = text(sink);
        let sink = candor_builder_sink(builder, CANDOR_SINK_FILE, p, n);
        [
            new,
            runtime,
            version,
            state_dir,
            sink,
            candor_build(builder, &mut handle),
        ]
    };
    assert!(codes.iter().all(|c| *c == CandorCode::Ok), "{codes:?}");
    let mut status = CandorStatus::default();
    // SAFETY: `status` is a live local of the type the function writes.
    assert_eq!(
        unsafe { candor_status(handle, &mut status) },
        CandorCode::Ok
    );
    // A C host's consent comes from the process's variables (there is no override in the C
    // ABI), so an opted-out machine would time the disabled path under this row's name.
    assert_eq!(
        status.mode, CANDOR_MODE_ON,
        "consent is off in this process (DO_NOT_TRACK or CONTRAST_DOTNET_TELEMETRY_OPTOUT?)"
    );
    handle
}

criterion_group!(benches, record);
criterion_main!(benches);
