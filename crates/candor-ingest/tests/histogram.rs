//! Histograms arrive as bucket counts and merge exactly: three installations fold their own
//! measurements on the catalogue's layout, two send them through Candor's JSON sink and one
//! through its OTLP/HTTP sink, and the percentiles `candor serve` reports from the merged
//! buckets are within one bucket's width of the true percentiles of every measurement, on
//! SQLite and PostgreSQL. A histogram a client could not have made is refused with its reason.

#![allow(clippy::unwrap_used, clippy::print_stderr)]

mod support;

use std::time::Duration;

use candor_ingest::IngestConfig;
use candor_schema::{BucketLayout, Catalogue, Event, Stamp, Value};
use candor_transport::{Pipeline, PipelineConfig, SinkSpec, Timeouts};
use serde_json::json;
use support::*;

const POINT: &str = "contrast_http_response_time";

fn agent() -> &'static Catalogue {
    candor_schema::builtin::catalogues()
        .unwrap()
        .get("contrast-dotnet-agent")
        .unwrap()
}

fn layout() -> BucketLayout {
    BucketLayout::of(&agent().data_point(POINT).unwrap().value).unwrap()
}

/// A small deterministic generator (xorshift64*), so the test's data is its own and repeatable.
struct Draws(u64);

impl Draws {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        (bits as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Log-normal: `exp(mu + sigma·z)`, z standard normal (Box–Muller).
    fn log_normal(&mut self, mu: f64, sigma: f64) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        let z = (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos();
        (mu + sigma * z).exp()
    }
}

/// Each installation's reporting periods: a fast one, a slow one, and one with a slow tail.
fn installations() -> Vec<Vec<Vec<f64>>> {
    let mut draws = Draws(0x9E37_79B9_7F4A_7C15);
    let periods = |draws: &mut Draws, n: usize, sample: &dyn Fn(&mut Draws) -> f64| {
        (0..6)
            .map(|_| (0..n).map(|_| sample(draws)).collect())
            .collect::<Vec<Vec<f64>>>()
    };
    vec![
        periods(&mut draws, 700, &|d| d.log_normal(3.0, 0.5)),
        periods(&mut draws, 300, &|d| d.log_normal(5.5, 0.7)),
        periods(&mut draws, 500, &|d| {
            if d.unit() < 0.9 {
                d.log_normal(3.5, 0.4)
            } else {
                d.log_normal(8.0, 1.0)
            }
        }),
    ]
}

fn stamp(install: usize, n: usize) -> Stamp {
    Stamp {
        event_id: format!("{:016x}{:016x}", 0xC0FFEE_u64 + install as u64, n as u64),
        time: candor_schema::Timestamp::from_system_time(std::time::SystemTime::now()).to_millis(),
        product_version: "4.0.0".to_owned(),
        runtime_line: "core".to_owned(),
        install_id: None,
    }
}

fn pipeline_to(endpoint: String, otlp: bool) -> Pipeline {
    let config = PipelineConfig {
        batch_max_events: 4,
        batch_max_wait: Duration::from_millis(20),
        ..PipelineConfig::default()
    };
    Pipeline::start(config, move || {
        if otlp {
            SinkSpec::OtlpHttp { endpoint }
        } else {
            SinkSpec::Json { endpoint }
        }
        .build(Timeouts::default())
    })
    .unwrap()
}

/// The measurement of rank ⌈q·N⌉ (nearest rank), after the clamping every sender applies.
fn true_quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[test]
fn merged_percentiles_are_within_one_bucket_of_the_true_ones_on_both_databases() {
    let layout = layout();
    let installs = installations();
    let mut all: Vec<f64> = installs
        .iter()
        .flatten()
        .flatten()
        .map(|x| layout.clamp(*x))
        .collect();
    all.sort_by(f64::total_cmp);
    both(|db| {
        let running = serve(db, IngestConfig::default());
        for (i, periods) in installs.iter().enumerate() {
            let otlp = i == 2;
            let path = if otlp { "/v1/logs" } else { "/v1/events" };
            let pipeline = pipeline_to(url(&running, path), otlp);
            for (n, period) in periods.iter().enumerate() {
                // What the preparer does with a period's measurements: only counts leave.
                let value = Value::Histogram(layout.fold(period));
                let event = Event::declared(agent(), POINT, value, stamp(i, n)).unwrap();
                assert!(pipeline.submit(event));
            }
            assert_eq!(pipeline.flush(Duration::from_secs(30)), 0);
            let stats = pipeline.shutdown(Duration::from_secs(5));
            assert_eq!(stats.delivered, 6, "{stats:?}");
        }
        let report = report(&running, "contrast-dotnet-agent");
        let point = report["points"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == POINT)
            .unwrap();
        assert_eq!(point["count"], 18, "{point}");
        let merged = &point["total"]["histogram"];
        assert_eq!(merged["measurements"], all.len() as u64, "{merged}");
        let mean = all.iter().sum::<f64>() / all.len() as f64;
        let reported_mean = merged["mean"].as_f64().unwrap();
        assert!(
            (reported_mean - mean).abs() < mean * 1e-9,
            "{reported_mean} {mean}"
        );
        for (name, q) in [("p50", 0.50), ("p95", 0.95), ("p99", 0.99)] {
            let truth = true_quantile(&all, q);
            let (low, high) = layout.bounds(layout.key(truth));
            let reported = merged[name].as_f64().unwrap();
            let error = (reported - truth).abs();
            eprintln!(
                "{:?} {name}: true {truth:.3}, merged {reported:.3}, error {error:.3} ({:.2}% ; \
                 bucket width {:.3})",
                db.url(),
                100.0 * error / truth,
                high - low
            );
            assert!(
                error <= high - low,
                "{name}: {reported} vs {truth} ({low}..{high})"
            );
        }
        // The one version's row holds the same merge.
        assert_eq!(point["versions"][0]["histogram"], *merged);
    });
}

#[test]
fn histograms_no_client_could_make_are_refused_with_their_reason() {
    both(|db| {
        let running = serve(db, IngestConfig::default());
        let histogram = |count: i64, buckets: serde_json::Value| {
            agent_point(
                POINT,
                json!({"kind": "histogram", "data": {"count": count, "sum": 50.0, "buckets": buckets}}),
            )
        };
        let too_many: Vec<[i64; 2]> = (0..=146).map(|k| [k, 1]).collect();
        // 60,000 pairs in one value (about 600 kB, under the 1 MiB an event may take): decoded
        // only as far as the cap, refused.
        let huge: Vec<[i64; 2]> = (0..60_000).map(|k| [k, 1]).collect();
        let batch = [
            histogram(4, json!([[10, 5], [20, -1]])),
            histogram(1, json!([[146, 1]])),
            histogram(1, json!([[-1, 1]])),
            histogram(147, json!(too_many)),
            histogram(60_000, json!(huge)),
            histogram(2, json!([[20, 1], [20, 1]])),
            histogram(2, json!([[20, 2]])),
        ];
        let (status, reply) = post_events(&running, &batch);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["accepted"], 1, "{reply}");
        assert_eq!(
            reasons(&reply),
            [
                "negative_count",
                "off_layout",
                "off_layout",
                "too_many_buckets",
                "too_many_buckets",
                "out_of_bounds"
            ]
        );
        let details: Vec<&str> = reply["refused"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["detail"].as_str().unwrap())
            .collect();
        assert!(details[0].contains("negative count"), "{details:?}");
        assert!(
            details[1].contains("off the declared layout (keys 0 to 145)"),
            "{details:?}"
        );
        assert!(
            details[3].contains("147 buckets, more than the 146"),
            "{details:?}"
        );
        let report = report(&running, "contrast-dotnet-agent");
        assert_eq!(point_count(&report, POINT), 1);
        assert_eq!(report["refused"]["negative_count"], 1, "{report}");
        assert_eq!(report["refused"]["off_layout"], 2, "{report}");
        assert_eq!(report["refused"]["too_many_buckets"], 2, "{report}");
    });
}
