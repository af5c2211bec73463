//! Calendar days in UTC, for data points that stop on a date.
//!
//! A catalogue writes a day as `YYYY-MM-DD` and nothing else: no time, no zone, no week dates,
//! so one text is one day everywhere. This crate reads no clock: a caller that wants "today"
//! reads its own and converts it with [`Date::from_system_time`], which is arithmetic only.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// The first year a catalogue may name: the Unix epoch, before which no clock Candor reads can be.
const FIRST_YEAR: u32 = 1970;
/// The last year a catalogue may name: four digits, as the written form requires.
const LAST_YEAR: u32 = 9999;
const SECONDS_PER_DAY: u64 = 86_400;

/// A day of the Gregorian calendar in UTC, between 1970-01-01 and 9999-12-31. Ordered by time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Days since 1970-01-01.
    days: u32,
}

/// Why a text is not a date a catalogue may name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// Not of the form `YYYY-MM-DD` with ASCII digits.
    #[error("a date is written YYYY-MM-DD (for example 2026-09-30)")]
    Malformed,
    /// Of the right form, but no such day (`2026-02-30`, month 13).
    #[error("there is no such day in the calendar")]
    NoSuchDay,
    /// Before 1970 (the clock cannot be there) or after 9999.
    #[error("the year must be between {FIRST_YEAR} and {LAST_YEAR}")]
    OutOfRange,
}

impl Date {
    /// The day a `YYYY-MM-DD` text names. Exactly ten ASCII characters: no surrounding space,
    /// no time of day, no zone.
    pub fn parse(text: &str) -> Result<Self, DateError> {
        let bytes = text.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes
                .iter()
                .enumerate()
                .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return Err(DateError::Malformed);
        }
        let number = |range: std::ops::Range<usize>| {
            bytes[range]
                .iter()
                .fold(0u32, |n, b| n * 10 + u32::from(b - b'0'))
        };
        Self::from_ymd(number(0..4), number(5..7), number(8..10))
    }

    /// The day with this year, month (1–12) and day of the month.
    pub fn from_ymd(year: u32, month: u32, day: u32) -> Result<Self, DateError> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(DateError::NoSuchDay);
        }
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return Err(DateError::OutOfRange);
        }
        let days = days_before_year(year) + days_before_month(year, month) + (day - 1);
        Ok(Self { days })
    }

    /// The UTC day `time` falls on. A time before 1970 counts as 1970-01-01 and one after 9999
    /// as 9999-12-31: a clock that far off decides nothing a catalogue could name differently.
    pub fn from_system_time(time: SystemTime) -> Self {
        let days = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs() / SECONDS_PER_DAY);
        Self {
            days: u32::try_from(days).unwrap_or(u32::MAX).min(Self::MAX.days),
        }
    }

    /// The last day a catalogue may name.
    pub const MAX: Self = Self {
        days: 2_932_896, // 9999-12-31, checked by a test.
    };

    /// The day `days` after this one (at most [`Date::MAX`]).
    pub fn plus_days(self, days: u32) -> Self {
        Self {
            days: self.days.saturating_add(days).min(Self::MAX.days),
        }
    }

    /// How many days from `self` to `later`; negative when `later` is earlier.
    pub fn days_until(self, later: Self) -> i64 {
        i64::from(later.days) - i64::from(self.days)
    }

    /// Year, month (1–12) and day of the month.
    pub fn ymd(self) -> (u32, u32, u32) {
        // No year has more than 366 days, so this estimate is never too late; stepping
        // forward a year at a time (a few dozen steps at most) finds the right one.
        let mut year = FIRST_YEAR + self.days / 366;
        while year < LAST_YEAR && days_before_year(year + 1) <= self.days {
            year += 1;
        }
        let mut rest = self.days - days_before_year(year);
        let mut month = 1;
        while rest >= days_in_month(year, month) {
            rest -= days_in_month(year, month);
            month += 1;
        }
        (year, month, rest + 1)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = self.ymd();
        write!(f, "{year:04}-{month:02}-{day:02}")
    }
}

fn is_leap(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to January 1st of `year` (at least 1970).
fn days_before_year(year: u32) -> u32 {
    // Leap years among 1..year, minus those among 1..1970.
    let leaps = |y: u32| (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400;
    365 * (year - FIRST_YEAR) + leaps(year) - leaps(FIRST_YEAR)
}

fn days_before_month(year: u32, month: u32) -> u32 {
    (1..month).map(|m| days_in_month(year, m)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn known_days() {
        assert_eq!(Date::parse("1970-01-01").map(|d| d.days), Ok(0));
        assert_eq!(Date::parse("2000-03-01").map(|d| d.days), Ok(11_017));
        assert_eq!(Date::parse("9999-12-31"), Ok(Date::MAX));
        assert_eq!(Date::MAX.to_string(), "9999-12-31");
    }

    #[test]
    fn leap_days_exist_only_in_leap_years() {
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Date::parse("2000-02-29").is_ok());
        assert_eq!(Date::parse("2100-02-29"), Err(DateError::NoSuchDay));
        assert_eq!(Date::parse("2026-02-29"), Err(DateError::NoSuchDay));
    }

    #[test]
    fn only_the_written_form_is_a_date() {
        for bad in [
            "",
            "2026-9-30",
            "26-09-30",
            " 2026-09-30",
            "2026-09-30 ",
            "2026/09/30",
            "2026-09-30T00:00:00Z",
            "+2026-09-30",
            "２０２６-09-30",
            "2026-0a-30",
        ] {
            assert_eq!(Date::parse(bad), Err(DateError::Malformed), "{bad:?}");
        }
        for bad in ["2026-00-10", "2026-13-01", "2026-04-31", "2026-01-00"] {
            assert_eq!(Date::parse(bad), Err(DateError::NoSuchDay), "{bad:?}");
        }
        assert_eq!(Date::parse("1969-12-31"), Err(DateError::OutOfRange));
        assert_eq!(Date::parse("0000-01-01"), Err(DateError::OutOfRange));
    }

    #[test]
    fn every_day_round_trips_and_agrees_with_an_independent_calendar() {
        let mut previous: Option<Date> = None;
        // Every day to 2243, and the last thousand the format allows.
        let days = (0..100_000).chain(Date::MAX.days - 1000..=Date::MAX.days);
        for days in days {
            let date = Date { days };
            let text = date.to_string();
            let oracle =
                humantime::format_rfc3339(at(u64::from(days) * SECONDS_PER_DAY)).to_string();
            assert_eq!(text, oracle[..10], "day {days}");
            assert_eq!(Date::parse(&text), Ok(date), "{text}");
            if let Some(previous) = previous
                && previous.days + 1 == days
            {
                assert_eq!(previous.plus_days(1), date);
                assert_eq!(previous.days_until(date), 1);
                assert!(previous < date);
            }
            previous = Some(date);
        }
    }

    #[test]
    fn the_utc_day_changes_at_midnight_utc() {
        let day = Date::parse("2026-09-30").expect("date");
        let midnight = u64::from(day.days) * SECONDS_PER_DAY;
        assert_eq!(Date::from_system_time(at(midnight)), day);
        assert_eq!(Date::from_system_time(at(midnight + 86_399)), day);
        assert_eq!(Date::from_system_time(at(midnight - 1)).plus_days(1), day);
    }

    #[test]
    fn a_clock_out_of_range_is_clamped() {
        assert_eq!(
            Date::from_system_time(UNIX_EPOCH - Duration::from_secs(5)),
            Date { days: 0 }
        );
        assert_eq!(Date::from_system_time(at(1_000_000_000_000_000)), Date::MAX);
        assert_eq!(Date::MAX.plus_days(10), Date::MAX);
    }
}
