//! The one time type of an event, from the clock reading that stamped it to the row that
//! stores it.
//!
//! A [`Timestamp`] is nanoseconds since the Unix epoch, as OTLP's `time_unix_nano` holds it.
//! JSON writes it as RFC 3339 text in UTC, which the event's JSON Schema publishes; that text
//! is read once, where JSON is decoded, and written once, where JSON is encoded. Everything in
//! between (the OTLP mapping, the check's bounds, the store's microseconds, an expiry's UTC
//! day) reads the number, never the text.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest RFC 3339 text read as a time: longer text is no time Candor writes, and is
/// refused before it is parsed.
pub const MAX_TIME_TEXT_LEN: usize = 40;

/// A point in time, in nanoseconds since the Unix epoch (UTC). Times before the epoch are not
/// represented: a clock set before 1970 stamps the epoch itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    nanos: u64,
}

/// Why a text is not a time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{shown}` is not an RFC 3339 time")]
pub struct TimeError {
    shown: String,
}

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Self = Self { nanos: 0 };

    /// From nanoseconds since the Unix epoch (OTLP's `time_unix_nano`).
    pub const fn from_unix_nanos(nanos: u64) -> Self {
        Self { nanos }
    }

    /// From a clock reading; a reading before the epoch is the epoch, and one past the year
    /// 2554 (where `u64` nanoseconds end) is the last representable time.
    pub fn from_system_time(time: SystemTime) -> Self {
        let nanos = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        Self { nanos }
    }

    /// The same time cut to the millisecond, the precision Candor's preparer stamps events
    /// with (finer would tell a receiver nothing it needs, and say more about the machine's
    /// timing than a usage event should).
    pub const fn to_millis(self) -> Self {
        Self {
            nanos: self.nanos - self.nanos % 1_000_000,
        }
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn unix_nanos(self) -> u64 {
        self.nanos
    }

    /// Microseconds since the Unix epoch, as the receiving end stores times.
    pub fn unix_micros(self) -> i64 {
        // u64::MAX / 1000 fits an i64.
        i64::try_from(self.nanos / 1000).unwrap_or(i64::MAX)
    }

    /// The same time as a `SystemTime`.
    pub fn to_system_time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.nanos)
    }

    /// Reads RFC 3339 text (`2026-11-21T09:30:00.123Z`; a space for the `T` and any number of
    /// fraction digits are accepted), at most [`MAX_TIME_TEXT_LEN`] bytes.
    pub fn parse(text: &str) -> Result<Self, TimeError> {
        let refuse = || TimeError {
            shown: crate::event::shown(text),
        };
        if text.len() > MAX_TIME_TEXT_LEN {
            return Err(refuse());
        }
        humantime::parse_rfc3339_weak(text)
            .map(Self::from_system_time)
            .map_err(|_| refuse())
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with as many fraction digits as the time needs, and at least three:
    /// a time stamped to the millisecond (as Candor's preparer stamps it) is written exactly as
    /// it always was, and a finer one read from the wire is written back without loss.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = self.to_system_time();
        if self.nanos.is_multiple_of(1_000_000) {
            humantime::format_rfc3339_millis(time).fmt(f)
        } else if self.nanos.is_multiple_of(1000) {
            humantime::format_rfc3339_micros(time).fmt(f)
        } else {
            humantime::format_rfc3339_nanos(time).fmt(f)
        }
    }
}

/// RFC 3339 text in a human-readable form (JSON, the one the schema publishes); nanoseconds
/// since the epoch in any other (the OTLP mapping reads a record's `time_unix_nano` so).
impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.collect_str(self)
        } else {
            serializer.serialize_u64(self.nanos)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let text = Cow::<'de, str>::deserialize(deserializer)?;
            Self::parse(&text).map_err(serde::de::Error::custom)
        } else {
            u64::deserialize(deserializer).map(Self::from_unix_nanos)
        }
    }
}

impl JsonSchema for Timestamp {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        String::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_at_the_precision_it_needs() {
        for text in [
            "2026-11-21T09:30:00.123Z",
            "2026-11-21T09:30:00.000Z",
            "2026-11-21T09:30:00.123456Z",
            "2026-11-21T09:30:00.123456789Z",
        ] {
            let time = Timestamp::parse(text).expect(text);
            assert_eq!(time.to_string(), text);
        }
        // A time without a fraction is written with milliseconds, as the preparer writes.
        let time = Timestamp::parse("2026-11-21T09:30:00Z").expect("time");
        assert_eq!(time.to_string(), "2026-11-21T09:30:00.000Z");
        assert_eq!(
            Timestamp::from_unix_nanos(time.unix_nanos()),
            time,
            "nanoseconds are the time itself"
        );
    }

    #[test]
    fn what_is_not_a_time_is_refused() {
        for text in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-21T09:30:00.000000000000000000000000000001Z",
        ] {
            assert!(Timestamp::parse(text).is_err(), "{text}");
        }
        assert!(serde_json::from_str::<Timestamp>("12").is_err());
    }

    #[test]
    fn clock_readings_before_the_epoch_are_the_epoch() {
        let before = UNIX_EPOCH - Duration::from_secs(5);
        assert_eq!(Timestamp::from_system_time(before), Timestamp::EPOCH);
        assert_eq!(Timestamp::EPOCH.unix_micros(), 0);
    }
}
