//! An expired point is refused by the preparer with its own cause, on the boundary exactly:
//! from 00:00 UTC of its expiry day (by the time the value was recorded), and from its expiry
//! version itself on the line that names one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candor_collect::{Input, PreparedEvents, Preparer, ProductContext, Record, Rejected};
use candor_privacy::Scrubber;
use candor_schema::{Catalogue, Date, Expired, Expires, VersionScheme};

/// The agent catalogue with `working_set` stopping on 2026-09-30 and `agent_version` stopping
/// at .NET Core 1.8.4 (the .NET Framework line keeps collecting it).
fn catalogue() -> Arc<Catalogue> {
    let builtin = candor_schema::builtin::catalogues()
        .expect("built-ins")
        .get("contrast-dotnet-agent")
        .expect("agent");
    let mut spec = builtin.spec().clone();
    for point in &mut spec.data_points {
        match point.id.as_str() {
            "working_set" => point.expires = Some(Expires::Date("2026-09-30".into())),
            "agent_version" => {
                point.expires = Some(Expires::Versions(BTreeMap::from([(
                    "core".to_owned(),
                    "1.8.4".to_owned(),
                )])));
            }
            _ => {}
        }
    }
    Arc::new(Catalogue::from_spec(spec, "edited agent").expect("valid"))
}

fn preparer(line: &str, version: &str) -> Preparer {
    let ctx = ProductContext::new(catalogue(), Some(line), version).expect("context");
    Preparer::new(ctx, Arc::new(Scrubber::default()))
}

/// 00:00:00 UTC of `day`, plus `seconds`.
fn at(day: &str, seconds: i64) -> SystemTime {
    let days = Date::parse("1970-01-01")
        .expect("epoch")
        .days_until(Date::parse(day).expect("day"));
    let secs = days * 86_400 + seconds;
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).expect("after 1970"))
}

#[test]
fn a_dated_point_is_refused_from_midnight_utc_of_its_day() {
    let p = preparer("core", "1.8.3");
    let last_second = at("2026-09-30", -1);
    p.prepare_event("working_set", Input::Count(1), last_second)
        .expect("the day before is still collected");
    for time in [
        at("2026-09-30", 0),
        at("2026-09-30", 86_399),
        at("2031-01-01", 0),
    ] {
        let refused = p
            .prepare_event("working_set", Input::Count(1), time)
            .expect_err("expired");
        assert_eq!(
            refused,
            Rejected::Expired {
                point: "working_set".into(),
                expired: Expired::On(Date::parse("2026-09-30").expect("day")),
            }
        );
        assert_eq!(
            refused.to_string(),
            "`working_set` is no longer collected: expired on 2026-09-30 (UTC)"
        );
    }
}

#[test]
fn a_versioned_point_is_refused_at_the_expiry_version_itself() {
    let now = at("2026-01-01", 0);
    preparer("core", "1.8.3")
        .prepare_event("agent_version", Input::Word("1.8.3".into()), now)
        .expect("before the expiry version");
    preparer("core", "1.8.4-rc.1")
        .prepare_event("agent_version", Input::Word("1.8.4-rc.1".into()), now)
        .expect("a pre-release sorts before its release");
    for version in ["1.8.4", "1.8.4.0", "1.10", "2.0"] {
        let refused = preparer("core", version)
            .prepare_event("agent_version", Input::Word(version.into()), now)
            .expect_err("expired");
        assert_eq!(
            refused,
            Rejected::Expired {
                point: "agent_version".into(),
                expired: Expired::AtVersion {
                    line: "core".into(),
                    version: VersionScheme::Dotted.parse("1.8.4").expect("version"),
                },
            },
            "{version}"
        );
    }
    preparer("framework", "2099.1")
        .prepare_event("agent_version", Input::Word("2099.1".into()), now)
        .expect("a line the expiry does not name keeps collecting");
}

#[test]
fn the_gate_is_asked_before_the_expiry() {
    // 1.5.15 is below the gate (later than 1.5.15): not in effect, whatever the day.
    let refused = preparer("core", "1.5.15")
        .prepare_event("working_set", Input::Count(1), at("2030-01-01", 0))
        .expect_err("gated out");
    assert!(matches!(refused, Rejected::NotInEffect { .. }), "{refused}");
}

#[test]
fn expired_refusals_are_counted_per_point_and_other_points_still_pass() {
    let sink = PreparedEvents::new(preparer("core", "1.8.4"));
    for _ in 0..3 {
        sink.record("agent_version", Input::Word("1.8.4".into()));
    }
    sink.record("working_set", Input::Count(7)); // dated 2026-09-30: depends on today
    sink.record("in_container", Input::Flag(false));
    let (events, log) = sink.take();
    let refused: Vec<(String, u64)> = log
        .entries()
        .map(|(r, n)| (r.point().to_owned(), n))
        .collect();
    assert!(
        refused.contains(&("agent_version".to_owned(), 3)),
        "{refused:?}"
    );
    assert!(events.iter().any(|e| e.point() == "in_container"));
    // Recording reads the clock once, at recording: today's UTC day decides `working_set`.
    let today = Date::from_system_time(SystemTime::now());
    let expired_today = today >= Date::parse("2026-09-30").expect("day");
    assert_eq!(
        events.iter().any(|e| e.point() == "working_set"),
        !expired_today
    );
    // The clock-free view of the context drops the point at its expiry version.
    let p = preparer("core", "1.8.4");
    assert!(!p.context().is_in_effect("agent_version"));
    assert!(
        !p.context()
            .points_in_effect()
            .iter()
            .any(|point| point.id == "agent_version")
    );
}
