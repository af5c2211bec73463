//! Histogram points: the layout a catalogue declares, the loader's refusals of a layout that
//! cannot be, and the value check both ends share refusing negative counts, buckets off the
//! layout and more buckets than the layout has, each with its reason.

use candor_schema::{
    BucketLayout, Catalogue, CatalogueError, HistogramValue, MismatchKind, Value, check_value,
};

fn catalogue_with(value: &str, unit: Option<&str>) -> Result<Catalogue, CatalogueError> {
    let unit = unit
        .map(|u| format!("unit = \"{u}\"\n"))
        .unwrap_or_default();
    let text = format!(
        r#"
format = 2
revision = "7"
never_collected = ["source code"]
[product]
id = "latency-tool"
name = "Latency tool"
vendor = "Example"
description = "A tool that measures how long its requests take."
[[runtime_lines]]
id = "main"
name = "Main"
versioning = "dotted"
[consent]
default = "on"
notice = {{ kind = "first-run" }}
[disclosure]
statement = "Latency tool sends usage data."
scope = "While it runs."
[collection]
triggers = ["usage"]
schedule = "as it is used"
[delivery]
method = "https-json"
destination = "telemetry.example.com"
description = "HTTPS."
[retention]
description = "Kept for a while."
[[data_points]]
id = "request_time"
name = "Request times"
description = "How long requests took."
value = {value}
{unit}privacy = "aggregated"
gates.main = {{ since = "1.0" }}
"#
    );
    Catalogue::from_toml_str(&text, "latency.toml")
}

fn request_time() -> Catalogue {
    catalogue_with(
        r#"{ kind = "histogram", min = 1.0, max = 60000.0 }"#,
        Some("milliseconds"),
    )
    .expect("a valid histogram point")
}

fn check(catalogue: &Catalogue, value: HistogramValue) -> Result<(), (MismatchKind, String)> {
    let spec = catalogue.data_point("request_time").expect("declared");
    check_value(spec, &Value::Histogram(value)).map_err(|e| (e.kind, e.problem))
}

#[test]
fn the_default_layout_has_eight_buckets_per_power_of_two() {
    let catalogue = request_time();
    let layout = BucketLayout::of(&catalogue.data_point("request_time").unwrap().value).unwrap();
    assert_eq!(layout.per_octave(), 8);
    // 8 · log2(60000) = 126.99…: keys 0 to 126.
    assert_eq!(layout.keys(), 0..=126);
    let folded = layout.fold(&[3.0, 3.05, 250.0, 0.2, 1e7]);
    assert_eq!(folded.count, 5);
    assert_eq!(
        folded.buckets,
        vec![
            (0, 1),
            (layout.key(3.0), 2),
            (layout.key(250.0), 1),
            (126, 1)
        ]
    );
    assert_eq!(check(&catalogue, folded), Ok(()));
}

#[test]
fn negative_counts_are_refused_with_their_reason() {
    let (kind, problem) = check(
        &request_time(),
        HistogramValue {
            count: 0,
            sum: 0.0,
            buckets: vec![(10, 3), (20, -3)],
        },
    )
    .unwrap_err();
    assert_eq!(kind, MismatchKind::NegativeCount);
    assert!(
        problem.contains("bucket 20 has a negative count (-3)"),
        "{problem}"
    );
}

#[test]
fn buckets_off_the_layout_are_refused_with_their_reason() {
    for key in [-1, 127, i64::MIN, i64::MAX] {
        let (kind, problem) = check(
            &request_time(),
            HistogramValue {
                count: 1,
                sum: 5.0,
                buckets: vec![(key, 1)],
            },
        )
        .unwrap_err();
        assert_eq!(kind, MismatchKind::OffLayout, "{key}");
        assert!(
            problem.contains("off the declared layout (keys 0 to 126)"),
            "{problem}"
        );
    }
}

#[test]
fn more_buckets_than_declared_are_refused_before_anything_else() {
    let buckets: Vec<(i64, i64)> = (0..128).map(|k| (k, 1)).collect();
    let (kind, problem) = check(
        &request_time(),
        HistogramValue {
            count: 128,
            sum: 1000.0,
            buckets,
        },
    )
    .unwrap_err();
    assert_eq!(kind, MismatchKind::TooManyBuckets);
    assert!(
        problem.contains("128 buckets, more than the 127 the layout declares"),
        "{problem}"
    );
}

#[test]
fn repeated_keys_empty_buckets_and_wrong_totals_are_refused() {
    let catalogue = request_time();
    let refused = |buckets: Vec<(i64, i64)>, count: u64, sum: f64| {
        check(
            &catalogue,
            HistogramValue {
                count,
                sum,
                buckets,
            },
        )
        .unwrap_err()
        .0
    };
    assert_eq!(refused(vec![(5, 1), (5, 1)], 2, 4.0), MismatchKind::Shape);
    assert_eq!(refused(vec![(6, 1), (5, 1)], 2, 4.0), MismatchKind::Shape);
    assert_eq!(refused(vec![(5, 0)], 0, 0.0), MismatchKind::Shape);
    assert_eq!(refused(vec![(5, 2)], 3, 4.0), MismatchKind::Shape);
    assert_eq!(refused(vec![(5, 2)], 2, f64::NAN), MismatchKind::Shape);
    // Two measurements cannot add up to more than twice the range's top.
    assert_eq!(refused(vec![(5, 2)], 2, 120_001.0), MismatchKind::Shape);
    assert_eq!(refused(vec![(5, 2)], 2, -1.0), MismatchKind::Shape);
    // A count that overflows when added up is refused, not wrapped.
    assert_eq!(
        refused(vec![(1, i64::MAX), (2, i64::MAX), (3, 2)], 0, 1.0),
        MismatchKind::Shape
    );
    // No measurements: nothing in the buckets, count and sum zero.
    assert_eq!(
        check(
            &catalogue,
            HistogramValue {
                count: 0,
                sum: 0.0,
                buckets: vec![]
            }
        ),
        Ok(())
    );
}

#[test]
fn the_loader_refuses_layouts_that_cannot_be() {
    let refused = |value: &str, unit: Option<&str>| {
        catalogue_with(value, unit)
            .expect_err("refused")
            .to_string()
    };
    let no_unit = refused(r#"{ kind = "histogram", min = 1.0, max = 10.0 }"#, None);
    assert!(no_unit.contains("a histogram needs a unit"), "{no_unit}");
    let zero = refused(
        r#"{ kind = "histogram", min = 0.0, max = 10.0 }"#,
        Some("milliseconds"),
    );
    assert!(
        zero.contains("min must be a finite number above 0"),
        "{zero}"
    );
    let inverted = refused(
        r#"{ kind = "histogram", min = 10.0, max = 1.0 }"#,
        Some("seconds"),
    );
    assert!(
        inverted.contains("max a finite number above min"),
        "{inverted}"
    );
    let per_octave = refused(
        r#"{ kind = "histogram", min = 1.0, max = 10.0, buckets_per_octave = 0 }"#,
        Some("bytes"),
    );
    assert!(
        per_octave.contains("buckets_per_octave must be between 1 and 64"),
        "{per_octave}"
    );
    let wide = refused(
        r#"{ kind = "histogram", min = 1.0, max = 1e30, buckets_per_octave = 64 }"#,
        Some("bytes"),
    );
    assert!(
        wide.contains("more than the 1024 a histogram may have"),
        "{wide}"
    );
    let format_one = catalogue_with(
        r#"{ kind = "histogram", min = 1.0, max = 10.0 }"#,
        Some("seconds"),
    )
    .expect("valid")
    .spec()
    .clone();
    let format_one = toml::to_string(&format_one)
        .expect("serialises")
        .replace("format = 2", "format = 1");
    let refused = Catalogue::from_toml_str(&format_one, "old.toml").expect_err("refused");
    assert!(
        refused.to_string().contains("needs `format = 2`"),
        "{refused}"
    );
    let public = catalogue_with(
        r#"{ kind = "histogram", min = 1.0, max = 10.0 }"#,
        Some("seconds"),
    )
    .expect("valid")
    .spec()
    .clone();
    let text = toml::to_string(&public).expect("serialises");
    let public = text.replace("privacy = \"aggregated\"", "privacy = \"public\"");
    assert_ne!(public, text);
    let refused = Catalogue::from_toml_str(&public, "public.toml").expect_err("refused");
    assert!(refused.to_string().contains("privacy"), "{refused}");
}

/// Counts that only add up by overflowing (three buckets of i64::MAX stated as u64::MAX
/// measurements) are refused: clamped, they would match and skew every merged percentile.
#[test]
fn counts_that_overflow_are_refused_not_clamped() {
    for (buckets, count) in [
        (
            vec![(10, i64::MAX), (20, i64::MAX), (30, i64::MAX)],
            u64::MAX,
        ),
        (vec![(10, i64::MAX), (20, 1)], 1u64 << 63),
    ] {
        let (kind, problem) = check(
            &request_time(),
            HistogramValue {
                count,
                sum: 1.0,
                buckets,
            },
        )
        .unwrap_err();
        assert_eq!(kind, MismatchKind::Shape, "{problem}");
        assert!(problem.contains("more than"), "{problem}");
    }
}
