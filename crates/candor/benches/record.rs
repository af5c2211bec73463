//! The host's cost of one telemetry call, measured in one run:
//! - `candor/record_enabled`: `Telemetry::record` with consent on (queued for Candor's worker);
//! - `candor/typed_count`: the generated recorder's method for the same point
//!   (`ContrastDotnetAgentRecorder::working_set`), what a host calls;
//! - `candor/record_disabled`: the same call with consent off (one atomic load);
//! - `opentelemetry_sdk/emit_batch`: creating a log record and `Logger::emit` into a
//!   `BatchLogProcessor` (with an exporter that discards), the cost of using OTel directly;
//! - `baseline/input_only`: building and dropping the same `Input` without recording, the
//!   floor under the disabled path.
//!
//! The enabled paths are timed in rounds of 1000 calls, and each side's queue is drained
//! (untimed) between rounds, so neither side is measured dropping values into a full queue.

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
        .queue_capacity(1 << 16)
        .build()
        .expect("telemetry")
}

/// Rounds of 1000 calls, timed; between rounds (untimed) Candor's worker takes in what
/// they queued, so no call is timed dropping a value into a full queue.
fn in_rounds(iterations: u64, telemetry: &Telemetry, mut call: impl FnMut()) -> Duration {
    const ROUND: u64 = 1000;
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

criterion_group!(benches, record);
criterion_main!(benches);
