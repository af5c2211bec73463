//! Export throughput to a loopback receiver: one batch of 512 events per iteration, through
//! each network sink, plus the wire bytes per event (printed once per sink).

#![allow(clippy::print_stdout)]

use std::time::Duration;

use candor_schema::{Event, Stamp, Value};
use candor_testkit::{GrpcReceiver, HttpReceiver};
use candor_transport::{Outcome, SinkSpec, Timeouts};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

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
                time: "2026-11-21T09:30:00.000Z".into(),
                product_version: "21.1.2".into(),
                runtime_line: "framework".into(),
                install_id: None,
            };
            Event::declared(agent, point, value, stamp).expect("a declared point")
        })
        .collect()
}

fn export(c: &mut Criterion) {
    let http = HttpReceiver::start();
    let grpc = GrpcReceiver::start();
    let batch = events();
    let mut group = c.benchmark_group("export");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.measurement_time(Duration::from_secs(5));
    let specs = [
        SinkSpec::Json {
            endpoint: http.url("/ingest"),
        },
        SinkSpec::OtlpHttp {
            endpoint: http.url("/v1/logs"),
        },
        SinkSpec::OtlpGrpc {
            endpoint: grpc.url(),
        },
    ];
    for spec in specs {
        let kind = spec.kind();
        let mut sink = spec.build(Timeouts::default()).expect("sink");
        let before = http.log().bodies.iter().map(Vec::len).sum::<usize>();
        assert!(matches!(sink.deliver(&batch), Outcome::Delivered { .. }));
        let wire = match kind {
            "otlp-grpc" => grpc.log().bodies.last().map_or(0, Vec::len),
            _ => http.log().bodies.iter().map(Vec::len).sum::<usize>() - before,
        };
        println!(
            "{kind}: {:.1} bytes per event (uncompressed body)",
            wire as f64 / BATCH as f64
        );
        group.bench_function(kind, |b| {
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
