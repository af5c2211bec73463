//! Export throughput: one batch of 512 events per iteration through each network sink, to
//! candor-testkit's loopback receivers and to the real rotel collector the end-to-end test uses
//! (when installed: `cargo xtask test` puts it in target/tools/, or set CANDOR_ROTEL_AGENT),
//! plus the wire bytes per event (printed once per sink). The gRPC runs need the `otlp-grpc`
//! feature: `cargo bench -p candor-transport --bench export --all-features`.
//!
//! `otlp-grpc/nagle-receiver` is the same gRPC export to a receiver that leaves TCP_NODELAY
//! unset (tonic's default for an incoming listener): its small answer frames wait on Nagle's
//! algorithm and the client's delayed ACK, which is where gRPC's earlier 25k events/s came from.
//! `otlp-grpc/wide-window-receiver` grants 4 MiB HTTP/2 flow-control windows instead of the
//! default 64 KiB, so a batch (about 170 KB) goes out without waiting for window updates.
//!
//! `opentelemetry-sdk/batch-otlp-http` is the baseline for Candor's `otlp-http`: the
//! OpenTelemetry SDK's own pipeline, a `BatchLogProcessor` (batches of 512) with
//! `opentelemetry-otlp`'s HTTP exporter (protobuf, reqwest's blocking client), sending the same
//! events (event name, body, the same `candor.*` attributes) to the same receiver (and, as
//! `opentelemetry-sdk/batch-otlp-http/rotel`, to rotel, where the receiver costs little). Its time per
//! batch includes emitting the 512 log records, which is how a host hands the SDK its events;
//! Candor's rows start from prepared events.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use candor_otlp::keys;
use candor_schema::{Event, Stamp, Value};
use candor_testkit::{GrpcReceiver, HttpReceiver, dead_port};
use candor_transport::{Outcome, SinkSpec, Timeouts};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry::logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::logs::{
    BatchConfigBuilder, BatchLogProcessor, SdkLogger, SdkLoggerProvider,
};

const BATCH: usize = 512;

fn events() -> Vec<Event> {
    let agent = candor_schema::builtin::catalogues()
        .expect("built-ins")
        .get("contrast-dotnet-agent")
        .expect("agent");
    (0..BATCH)
        .map(|n| {
            let (point, value) = if n.is_multiple_of(2) {
                ("working_set", Value::Count(n as u64 * 4096))
            } else {
                (
                    "os_version",
                    Value::Text("Windows Server 2022 Datacenter 10.0.20348".into()),
                )
            };
            let stamp = Stamp {
                event_id: format!("{n:032x}"),
                time: candor_schema::Timestamp::parse("2026-11-21T09:30:00.000Z").expect("a time"),
                product_version: "21.1.2".into(),
                runtime_line: "framework".into(),
                install_id: None,
            };
            Event::declared(agent, point, value, stamp).expect("a declared point")
        })
        .collect()
}

/// rotel-agent with a blackhole exporter on two free loopback ports; killed when dropped.
struct Rotel {
    child: Child,
    http: u16,
    grpc: u16,
}

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rotel() -> Option<Rotel> {
    let agent = std::env::var_os("CANDOR_ROTEL_AGENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/tools/rotel/rotel/rotel-agent")
        });
    if !agent.is_file() {
        println!(
            "rotel-agent not installed ({}): skipping the collector runs",
            agent.display()
        );
        return None;
    }
    let (http, grpc) = (dead_port(), dead_port());
    let child = Command::new(agent)
        .args(["start", "--exporter", "blackhole"])
        .args(["--otlp-http-endpoint", &format!("127.0.0.1:{http}")])
        .args(["--otlp-grpc-endpoint", &format!("127.0.0.1:{grpc}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let rotel = Rotel { child, http, grpc };
    let deadline = Instant::now() + Duration::from_secs(20);
    for port in [http, grpc] {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Some(rotel)
}

/// The SDK's pipeline to `endpoint`: batches of 512, the OTLP/HTTP exporter.
fn sdk_pipeline(endpoint: String) -> SdkLoggerProvider {
    let exporter = opentelemetry_otlp::LogExporter::builder()
        .with_http()
        .with_endpoint(endpoint)
        .build()
        .expect("the SDK's OTLP/HTTP exporter");
    let processor = BatchLogProcessor::builder(exporter)
        .with_batch_config(
            BatchConfigBuilder::default()
                .with_max_export_batch_size(BATCH)
                .with_max_queue_size(4 * BATCH)
                .build(),
        )
        .build();
    SdkLoggerProvider::builder()
        .with_log_processor(processor)
        .build()
}

/// The value as the SDK carries it (as Candor's OTLP sink writes these two kinds). The SDK's
/// own `AnyValue` type, for the baseline only: Candor's mapping is `candor_otlp::any_value`.
fn any_value(value: &Value) -> AnyValue {
    match value {
        Value::Count(n) => AnyValue::Int(i64::try_from(*n).unwrap_or(i64::MAX)),
        Value::Text(s) => AnyValue::from(s.clone()),
        other => panic!("the bench's events are counts and texts, not {other:?}"),
    }
}

/// Emits the batch through the SDK: one log record per event, with the attributes Candor's
/// OTLP sink writes.
fn emit_through_sdk(logger: &SdkLogger, batch: &[Event]) {
    for event in batch {
        let mut record = logger.create_log_record();
        record.set_event_name(if event.point() == "working_set" {
            "working_set"
        } else {
            "os_version"
        });
        record.set_severity_number(Severity::Info);
        record.set_severity_text("INFO");
        record.set_body(any_value(event.value()));
        record.add_attribute(keys::EVENT_ID, event.event_id().to_owned());
        record.add_attribute(keys::POINT, event.point().to_owned());
        record.add_attribute(keys::KIND, event.value().kind_name());
        record.add_attribute(keys::PRODUCT, event.product().to_owned());
        record.add_attribute(keys::PRODUCT_VERSION, event.product_version().to_owned());
        record.add_attribute(keys::RUNTIME_LINE, event.runtime_line().to_owned());
        record.add_attribute(
            keys::CATALOGUE_REVISION,
            event.catalogue_revision().to_owned(),
        );
        logger.emit(record);
    }
}

fn export(c: &mut Criterion) {
    let http = HttpReceiver::start();
    let grpc = GrpcReceiver::start();
    let nagle = GrpcReceiver::start_with_nodelay(false);
    let wide = GrpcReceiver::start_with_window(4 << 20);
    let collector = rotel();
    let batch = events();
    let mut group = c.benchmark_group("export");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.measurement_time(Duration::from_secs(5));
    let mut specs = vec![
        (
            "json",
            SinkSpec::Json {
                endpoint: http.url("/ingest"),
            },
        ),
        (
            "otlp-http",
            SinkSpec::OtlpHttp {
                endpoint: http.url(""),
            },
        ),
    ];
    if cfg!(feature = "otlp-grpc") {
        specs.push((
            "otlp-grpc",
            SinkSpec::OtlpGrpc {
                endpoint: grpc.url(),
            },
        ));
        specs.push((
            "otlp-grpc/nagle-receiver",
            SinkSpec::OtlpGrpc {
                endpoint: nagle.url(),
            },
        ));
        specs.push((
            "otlp-grpc/wide-window-receiver",
            SinkSpec::OtlpGrpc {
                endpoint: wide.url(),
            },
        ));
    }
    if let Some(rotel) = &collector {
        specs.push((
            "otlp-http/rotel",
            SinkSpec::OtlpHttp {
                endpoint: format!("http://127.0.0.1:{}", rotel.http),
            },
        ));
        if cfg!(feature = "otlp-grpc") {
            specs.push((
                "otlp-grpc/rotel",
                SinkSpec::OtlpGrpc {
                    endpoint: format!("http://127.0.0.1:{}", rotel.grpc),
                },
            ));
        }
    }
    // The SDK's pipeline first, against the same receiver as Candor's `otlp-http` (checked to
    // deliver the batch), and against rotel as `otlp-http/rotel` is.
    let mut sdk_targets = vec![("opentelemetry-sdk/batch-otlp-http", http.url("/v1/logs"))];
    if let Some(rotel) = &collector {
        sdk_targets.push((
            "opentelemetry-sdk/batch-otlp-http/rotel",
            format!("http://127.0.0.1:{}/v1/logs", rotel.http),
        ));
    }
    for (name, endpoint) in sdk_targets {
        let sdk = sdk_pipeline(endpoint);
        let logger = sdk.logger("candor-bench");
        let before = http.log().events.len();
        emit_through_sdk(&logger, &batch);
        sdk.force_flush().expect("the SDK's pipeline flushed");
        if name == "opentelemetry-sdk/batch-otlp-http" {
            let arrived = http.log().events.len() - before;
            assert_eq!(arrived, BATCH, "the SDK's pipeline delivered the batch");
        }
        group.bench_function(name, |b| {
            b.iter(|| {
                emit_through_sdk(&logger, &batch);
                sdk.force_flush().expect("the SDK's pipeline flushed");
            });
        });
        let _ = sdk.shutdown();
    }
    for (name, spec) in specs {
        let mut sink = spec.build(Timeouts::default()).expect("sink");
        let before = http.log().bodies.iter().map(Vec::len).sum::<usize>();
        let outcome = sink.deliver(&batch);
        let Outcome::Delivered { bytes, .. } = outcome else {
            panic!("{name}: {outcome:?}");
        };
        let wire = match name {
            "json" => http.log().bodies.iter().map(Vec::len).sum::<usize>() - before,
            _ => usize::try_from(bytes).unwrap_or(0),
        };
        println!(
            "{name}: {:.1} bytes per event ({})",
            wire as f64 / BATCH as f64,
            if name == "json" {
                "JSON before gzip"
            } else {
                "protobuf"
            }
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                let outcome = sink.deliver(&batch);
                assert!(matches!(outcome, Outcome::Delivered { .. }), "{outcome:?}");
            });
        });
    }
    group.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
