//! Each point's lifecycle: `expires` (never, a UTC day, or a version per runtime line), its
//! owner and review links. What "expired" means on the boundary, the warnings ahead of a date,
//! and every malformed or hostile field refused in one line that names the point.

use candor_schema::{
    Catalogue, CatalogueError, CatalogueWarning, Date, EXPIRY_WARNING_DAYS, Expired, Expiry,
    Problem, VersionScheme, builtin,
};

/// Two lines with different schemes; `{point}` is replaced by the point's lifecycle fields.
const TEMPLATE: &str = r#"
format = 1
revision = "7"
never_collected = ["source code"]

[product]
id = "lab-tool"
name = "Lab tool"
vendor = "Example"
description = "A tool made up for these tests."

[[runtime_lines]]
id = "classic"
name = "Classic"
versioning = "calendar-year"

[[runtime_lines]]
id = "modern"
name = "Modern"
versioning = "dotted"

[consent]
default = "on"
notice = { kind = "first-run" }

[disclosure]
statement = "Lab tool sends usage data."
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
id = "steady_count"
name = "Steady"
description = "A point that never changes."
value = { kind = "count" }
privacy = "public"
gates.classic = { after = "2020.8.3" }
gates.modern = { since = "1.0" }

[[data_points]]
id = "trial_flag"
name = "Trial"
description = "A point under trial."
value = { kind = "flag" }
privacy = "public"
gates.classic = { after = "2020.8.3" }
gates.modern = { since = "1.0" }
POINT
"#;

fn with(point: &str) -> String {
    TEMPLATE.replace("POINT", point)
}

fn load(point: &str) -> Result<Catalogue, CatalogueError> {
    Catalogue::from_toml_str(&with(point), "lab.toml")
}

fn loaded(point: &str) -> Catalogue {
    load(point).expect("the catalogue should load")
}

/// The refusal, checked to be one line that names the file and the point.
fn refused(point: &str) -> CatalogueError {
    let error = load(point).expect_err("the catalogue should be refused");
    let message = error.to_string();
    assert!(!message.contains('\n'), "one line: {message:?}");
    assert!(message.len() < 400, "short: {} bytes", message.len());
    assert!(
        message.starts_with("lab.toml: data_points[1](trial_flag)"),
        "names the point: {message}"
    );
    error
}

fn day(text: &str) -> Date {
    Date::parse(text).expect("a valid day")
}

fn version(text: &str, scheme: VersionScheme) -> candor_schema::Version {
    scheme.parse(text).expect("a valid version")
}

#[test]
fn a_dated_point_stops_on_its_day_itself_not_the_day_after() {
    let catalogue = loaded(r#"expires = { date = "2026-09-30" }"#);
    assert_eq!(
        catalogue.expiry("trial_flag"),
        Ok(&Expiry::On(day("2026-09-30")))
    );
    let v = version("1.2", VersionScheme::Dotted);
    let on = |today: &str| {
        catalogue
            .expired("trial_flag", "modern", &v, day(today))
            .expect("known point")
    };
    assert_eq!(
        on("2026-09-29"),
        None,
        "the day before is the last day collected"
    );
    assert_eq!(on("2026-09-30"), Some(Expired::On(day("2026-09-30"))));
    assert_eq!(on("2027-01-01"), Some(Expired::On(day("2026-09-30"))));
    assert_eq!(
        catalogue
            .expired("steady_count", "modern", &v, day("2099-01-01"))
            .expect("known point"),
        None,
        "a point that states nothing never expires"
    );
    // A date needs a day: the clock-free question is unchanged by it.
    assert_eq!(catalogue.is_in_effect("trial_flag", "modern", &v), Ok(true));
    assert_eq!(
        Expired::On(day("2026-09-30")).to_string(),
        "expired on 2026-09-30 (UTC)"
    );
}

#[test]
fn a_versioned_point_stops_at_the_version_itself_compared_under_the_lines_scheme() {
    let catalogue = loaded(r#"expires = { versions = { classic = "2021.1", modern = "2.0" } }"#);
    let today = day("2030-01-01");
    let expired = |line: &str, v: &str, scheme| {
        catalogue
            .expired("trial_flag", line, &version(v, scheme), today)
            .expect("known point")
    };
    use VersionScheme::{CalendarYear, Dotted};
    assert_eq!(expired("modern", "1.9.9", Dotted), None);
    assert_eq!(
        expired("modern", "2.0", Dotted),
        Some(Expired::AtVersion {
            line: "modern".into(),
            version: version("2.0", Dotted)
        }),
        "the running version equal to the expiry has stopped"
    );
    assert!(expired("modern", "2.0.0", Dotted).is_some(), "2.0.0 is 2.0");
    assert_eq!(
        expired("modern", "2.0.0-preview.3", Dotted),
        None,
        "a pre-release of the expiry version sorts before it"
    );
    assert!(
        expired("modern", "10.0", Dotted).is_some(),
        "10 > 2 as numbers"
    );
    // 21.1 and 2021.1.0 are one version under the calendar scheme; 2020.12 is earlier.
    assert!(expired("classic", "21.1.0", CalendarYear).is_some());
    assert!(expired("classic", "2021.1", CalendarYear).is_some());
    assert_eq!(expired("classic", "20.12.2", CalendarYear), None);
    // Versions stop a point without any clock: not in effect, not listed.
    let v2 = version("2.0", Dotted);
    assert_eq!(
        catalogue.is_in_effect("trial_flag", "modern", &v2),
        Ok(false)
    );
    let ids: Vec<&str> = catalogue
        .points_in_effect("modern", "2.0")
        .expect("valid query")
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids, ["steady_count"]);
    let ids_before: Vec<&str> = catalogue
        .points_in_effect("modern", "1.5")
        .expect("valid query")
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    assert_eq!(ids_before, ["steady_count", "trial_flag"]);
    assert_eq!(
        Expired::AtVersion {
            line: "modern".into(),
            version: v2
        }
        .to_string(),
        "expired at modern 2.0"
    );
}

#[test]
fn a_line_the_versions_do_not_name_keeps_collecting() {
    let catalogue = loaded(r#"expires = { versions = { modern = "2.0" } }"#);
    let classic = version("2099.1", VersionScheme::CalendarYear);
    assert_eq!(
        catalogue.expired("trial_flag", "classic", &classic, day("2099-01-01")),
        Ok(None)
    );
    assert_eq!(
        catalogue.is_in_effect("trial_flag", "classic", &classic),
        Ok(true)
    );
}

#[test]
fn warnings_start_thirty_days_ahead_and_stay_once_expired() {
    let catalogue = loaded(r#"expires = { date = "2026-09-30" }"#);
    let expiry = day("2026-09-30");
    let before = |days: u32| {
        // The day `days` before the expiry.
        let mut today = day("2026-01-01");
        while today.days_until(expiry) > i64::from(days) {
            today = today.plus_days(1);
        }
        catalogue.warnings(today)
    };
    assert_eq!(EXPIRY_WARNING_DAYS, 30);
    assert_eq!(before(31), []);
    assert_eq!(
        before(30),
        [CatalogueWarning::ExpiresSoon {
            product: "lab-tool".into(),
            point: "trial_flag".into(),
            on: expiry,
            days_left: 30
        }]
    );
    let last = before(1);
    assert_eq!(
        last[0].to_string(),
        "lab-tool: data point `trial_flag` expires on 2026-09-30 (UTC), in 1 day; from then on \
         it is not collected"
    );
    let expired = catalogue.warnings(expiry);
    assert_eq!(
        expired,
        [CatalogueWarning::Expired {
            product: "lab-tool".into(),
            point: "trial_flag".into(),
            on: expiry
        }]
    );
    assert_eq!(
        expired[0].to_string(),
        "lab-tool: data point `trial_flag` expired on 2026-09-30 (UTC) and is no longer collected"
    );
    assert_eq!(catalogue.warnings(day("2031-05-05")).len(), 1);
}

#[test]
fn versioned_and_never_points_warn_on_no_day() {
    for point in [
        r#"expires = "never""#,
        r#"expires = { versions = { modern = "2.0" } }"#,
        "",
    ] {
        let catalogue = loaded(point);
        for today in ["1970-01-01", "2026-09-30", "9999-12-31"] {
            assert_eq!(catalogue.warnings(day(today)), [], "{point} on {today}");
        }
    }
}

#[test]
fn owner_and_review_links_load_and_export() {
    let catalogue = loaded(
        r#"expires = "never"
owner = "Lab telemetry team <telemetry@example.com>"
review_links = ["https://reviews.example.com/data/42", "https://github.com/example/lab/issues/7#decision"]"#,
    );
    let point = catalogue.data_point("trial_flag").expect("declared");
    assert_eq!(
        point.owner.as_deref(),
        Some("Lab telemetry team <telemetry@example.com>")
    );
    assert_eq!(point.review_links.len(), 2);
    assert_eq!(catalogue.expiry("trial_flag"), Ok(&Expiry::Never));
    assert_eq!(catalogue.expiry("steady_count"), Ok(&Expiry::Unstated));
    // The JSON export carries the same declarations and loads back to the same catalogue.
    let json = catalogue.to_json_pretty();
    assert!(json.contains(r#""expires": "never""#), "{json}");
    let again = Catalogue::from_json_str(&json, "lab.json").expect("export loads");
    assert_eq!(again.spec(), catalogue.spec());
    let dated = loaded(r#"expires = { versions = { modern = "2.0" }}"#);
    let again = Catalogue::from_json_str(&dated.to_json_pretty(), "lab.json").expect("loads");
    assert_eq!(again.expiry("trial_flag"), dated.expiry("trial_flag"));
}

#[test]
fn malformed_expiries_are_refused_naming_the_point() {
    for (point, path, says) in [
        (
            r#"expires = { date = "2026-02-30" }"#,
            "expires.date",
            "no such day",
        ),
        (
            r#"expires = { date = "2026-9-30" }"#,
            "expires.date",
            "YYYY-MM-DD",
        ),
        (
            r#"expires = { date = "30.09.2026" }"#,
            "expires.date",
            "YYYY-MM-DD",
        ),
        (
            r#"expires = { date = "2026-09-30T00:00:00Z" }"#,
            "expires.date",
            "YYYY-MM-DD",
        ),
        (
            r#"expires = { date = "1969-12-31" }"#,
            "expires.date",
            "between 1970",
        ),
        (
            r#"expires = { versions = {} }"#,
            "expires.versions",
            "at least one",
        ),
        (
            r#"expires = { versions = { modern = "two" } }"#,
            "expires.versions.modern",
            "not a version",
        ),
        (
            r#"expires = { versions = { modern = "1.0" } }"#,
            "expires.versions.modern",
            "not later than the gate",
        ),
        (
            r#"expires = { versions = { modern = "0.9" } }"#,
            "expires.versions.modern",
            "not later than the gate",
        ),
        (
            r#"expires = { versions = { classic = "2020.8.3" } }"#,
            "expires.versions.classic",
            "not later than the gate",
        ),
        (
            r#"expires = { versions = { classic = "1999.1" } }"#,
            "expires.versions.classic",
            "year",
        ),
        (
            r#"expires = { versions = { nightly = "2.0" } }"#,
            "expires.versions.nightly",
            "not declared",
        ),
        (r#"expires = "soon""#, "expires", "unknown variant"),
        (r#"expires = "2026-09-30""#, "expires", "unknown variant"),
        (
            r#"expires = { date = "2026-09-30", versions = { modern = "2.0" } }"#,
            "expires",
            "",
        ),
        (
            r#"expires = { until = "2026-09-30" }"#,
            "expires",
            "unknown variant",
        ),
        (r#"expires = 2026"#, "expires", ""),
    ] {
        let error = refused(point);
        let message = error.to_string();
        assert_eq!(
            error.path(),
            Some(format!("data_points[1](trial_flag).{path}").as_str()),
            "{point}: {message}"
        );
        assert!(message.contains(says), "{point}: {message}");
    }
}

#[test]
fn an_undeclared_line_key_that_is_long_or_not_one_line_is_not_repeated() {
    for key in [
        "x".repeat(1 << 20),
        "core\\u000a# forged".to_owned(),
        "a\\u202eb".to_owned(),
    ] {
        let error = refused(&format!(
            "expires = {{ versions = {{ \"{key}\" = \"2.0\" }} }}"
        ));
        assert_eq!(
            error.path(),
            Some("data_points[1](trial_flag).expires.versions")
        );
        assert!(
            error.to_string().contains("declared: classic, modern"),
            "{error}"
        );
    }
}

#[test]
fn a_toml_date_literal_is_refused_with_a_clear_line() {
    // TOML has its own date type; the catalogue writes dates as strings, so that TOML and JSON
    // catalogues read alike.
    for literal in ["2026-09-30", "2026-09-30T00:00:00Z", "00:00:00"] {
        let error = refused(&format!("expires = {{ date = {literal} }}"));
        assert_eq!(
            error.path(),
            Some("data_points[1](trial_flag).expires.date")
        );
        assert!(error.to_string().contains("quoted"), "{error}");
    }
}

#[test]
fn a_point_whose_expiring_line_never_collects_it_is_refused() {
    let text = with(r#"expires = { versions = { modern = "2.0" } }"#).replace(
        "gates.classic = { after = \"2020.8.3\" }\ngates.modern = { since = \"1.0\" }\nexpires",
        "gates.classic = { after = \"2020.8.3\" }\nexpires",
    );
    let error = Catalogue::from_toml_str(&text, "lab.toml").expect_err("refused");
    assert_eq!(
        error.path(),
        Some("data_points[1](trial_flag).expires.versions.modern")
    );
    assert!(
        error.to_string().contains("never collects this point"),
        "{error}"
    );
}

#[test]
fn bad_owners_are_refused_naming_the_point() {
    for (owner, path, problem_says) in [
        ("\"\"".to_owned(), "owner", "must not be empty"),
        ("\"   \"".to_owned(), "owner", "must not be empty"),
        ("\"Team\\nInjected: line\"".to_owned(), "owner", "U+000A"),
        ("\"Team\\u001b[31m\"".to_owned(), "owner", "U+001B"),
        ("\"Team \\u202e evil\"".to_owned(), "owner", "U+202E"),
        (
            format!("\"{}\"", "o".repeat(1 << 20)),
            "owner",
            "1048576 bytes",
        ),
        (format!("\"{}\"", "é".repeat(101)), "owner", "202 bytes"),
    ] {
        let error = refused(&format!("owner = {owner}"));
        let message = error.to_string();
        assert_eq!(
            error.path(),
            Some(format!("data_points[1](trial_flag).{path}").as_str()),
            "{message}"
        );
        assert!(message.contains(problem_says), "{message}");
    }
    // The longest owner allowed loads.
    loaded(&format!(
        "owner = \"{}\"",
        "o".repeat(candor_schema::MAX_OWNER_LEN)
    ));
}

#[test]
fn hostile_review_links_are_refused_naming_the_point() {
    for link in [
        "http://reviews.example.com/42",
        "javascript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "https://reviews.example.com@evil.example/42",
        "https://reviews.example.com/42>[click](javascript:x)",
        "https://reviews.example.com/a b",
        "https://reviews.example.com/\\u0007",
        "https://reviews.example.com/\\u202e",
        "https://rеviews.example.com/42", // a Cyrillic е
        "//reviews.example.com/42",
        "",
    ] {
        let error = refused(&format!("review_links = [\"{link}\"]"));
        assert_eq!(
            error.path(),
            Some("data_points[1](trial_flag).review_links[0]"),
            "{link}: {error}"
        );
    }
    let huge = format!("https://reviews.example.com/{}", "x".repeat(1 << 20));
    let error = refused(&format!("review_links = [\"{huge}\"]"));
    assert!(error.to_string().contains("at most 2048"), "{error}");
    let error = refused(
        r#"review_links = ["https://reviews.example.com/1", "https://reviews.example.com/1"]"#,
    );
    assert!(matches!(error.problem(), Some(Problem::DuplicateId(_))));
    let many: Vec<String> = (0..17)
        .map(|i| format!("\"https://reviews.example.com/{i}\""))
        .collect();
    let error = refused(&format!("review_links = [{}]", many.join(", ")));
    assert_eq!(
        error.path(),
        Some("data_points[1](trial_flag).review_links")
    );
}

#[test]
fn every_built_in_point_says_never_because_no_vendor_states_an_end() {
    let catalogues = builtin::catalogues().expect("built-ins load");
    let mut points = 0;
    for catalogue in catalogues.iter() {
        for point in &catalogue.spec().data_points {
            assert_eq!(
                point.expires,
                Some(candor_schema::Expires::Never),
                "{}: {}",
                catalogue.product_id(),
                point.id
            );
            assert_eq!(catalogue.expiry(&point.id), Ok(&Expiry::Never));
            points += 1;
        }
        for today in ["1970-01-01", "2026-01-01", "9999-12-31"] {
            assert_eq!(catalogue.warnings(day(today)), []);
        }
    }
    assert_eq!(points, 47);
}
