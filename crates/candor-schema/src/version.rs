//! Product and host version numbers, compared the way their vendors mean them.
//!
//! Two schemes cover the catalogues Candor knows:
//!
//! * [`VersionScheme::Dotted`]: numbers separated by dots, compared one component at a time
//!   (`9.2 < 9.10`, `17.9 < 17.14`), missing components counting as zero (`9.2 == 9.2.0`).
//! * [`VersionScheme::CalendarYear`]: the same, except that the first component is a year that a
//!   vendor may write with four digits or with two. The .NET agent's catalogue lists
//!   `2020.8.3` before `20.9.1`; read naively, 2020 would sort after 20 and every gate after the
//!   first would be wrong.
//!
//! A pre-release suffix (`9.3.0-preview.1`) sorts before its release, as in SemVer; build
//! metadata after `+` is ignored.

use std::cmp::Ordering;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The longest version text Candor accepts; anything longer is not a version.
const MAX_VERSION_LEN: usize = 64;
/// The most numeric components a version may have (`1.2.3.4` has four).
const MAX_COMPONENTS: usize = 8;

/// How a runtime line or host numbers its releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VersionScheme {
    /// Dot-separated numbers, compared component by component.
    Dotted,
    /// Dot-separated numbers whose first component is a year of this century, written with four
    /// digits or two: `2020.8.3` and `20.8.3` are the same version.
    CalendarYear,
}

impl VersionScheme {
    /// Parses `text` under this scheme.
    pub fn parse(self, text: &str) -> Result<Version, VersionError> {
        Version::parse(text, self)
    }
}

/// Why a version string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// Nothing but white space.
    #[error("the version is empty")]
    Empty,
    /// Longer than any real version.
    #[error("the version is longer than {MAX_VERSION_LEN} characters")]
    TooLong,
    /// A component is not a whole number.
    #[error("`{text}` is not a version: expected numbers separated by dots, like 1.2.3")]
    Malformed {
        /// The text as given (already known to be short).
        text: String,
    },
    /// More components than any real version has.
    #[error("`{text}` has more than {MAX_COMPONENTS} components")]
    TooManyComponents {
        /// The text as given.
        text: String,
    },
    /// A calendar version whose first component is not a year.
    #[error("`{text}` does not start with a year (expected two digits like 21 or four like 2021)")]
    NotAYear {
        /// The text as given.
        text: String,
    },
}

/// A parsed version. Equality and ordering follow the scheme it was parsed with, so
/// `2020.8.3` equals `20.8.3` under [`VersionScheme::CalendarYear`].
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    /// Numeric components with trailing zeros removed, so that `9.2` and `9.2.0` compare equal.
    numbers: Vec<u64>,
    /// Dot-separated pre-release identifiers; empty for a release.
    pre_release: Vec<PreReleaseId>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PreReleaseId {
    // Declared first: SemVer orders numeric identifiers before alphanumeric ones.
    Number(u64),
    Text(String),
}

impl Version {
    /// Parses `text` under `scheme`. Surrounding white space is ignored.
    pub fn parse(text: &str, scheme: VersionScheme) -> Result<Self, VersionError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(VersionError::Empty);
        }
        if trimmed.len() > MAX_VERSION_LEN {
            return Err(VersionError::TooLong);
        }
        let malformed = || VersionError::Malformed {
            text: trimmed.to_owned(),
        };
        let without_build = trimmed.split_once('+').map_or(trimmed, |(head, _)| head);
        let (core, pre) = match without_build.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (without_build, None),
        };
        let mut numbers = Vec::new();
        for component in core.split('.') {
            if numbers.len() == MAX_COMPONENTS {
                return Err(VersionError::TooManyComponents {
                    text: trimmed.to_owned(),
                });
            }
            numbers.push(parse_number(component).ok_or_else(malformed)?);
        }
        if scheme == VersionScheme::CalendarYear {
            numbers[0] = normalise_year(numbers[0]).ok_or_else(|| VersionError::NotAYear {
                text: trimmed.to_owned(),
            })?;
        }
        while numbers.len() > 1 && numbers.last() == Some(&0) {
            numbers.pop();
        }
        let pre_release = match pre {
            None => Vec::new(),
            Some(pre) => pre
                .split('.')
                .map(|id| {
                    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    {
                        None
                    } else if let Some(n) = parse_number(id) {
                        Some(PreReleaseId::Number(n))
                    } else {
                        Some(PreReleaseId::Text(id.to_owned()))
                    }
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(malformed)?,
        };
        Ok(Self {
            text: trimmed.to_owned(),
            numbers,
            pre_release,
        })
    }

    /// The version as it was written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is a pre-release (`9.3.0-preview.1`).
    pub fn is_pre_release(&self) -> bool {
        !self.pre_release.is_empty()
    }
}

fn parse_number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Maps a year written as `2021` or `21` to `21`; anything else is not a year of this century.
fn normalise_year(first: u64) -> Option<u64> {
    match first {
        0..=99 => Some(first),
        2000..=2099 => Some(first - 2000),
        _ => None,
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.numbers.cmp(&other.numbers).then_with(|| {
            match (self.pre_release.is_empty(), other.pre_release.is_empty()) {
                (true, true) => Ordering::Equal,
                // A release sorts after every pre-release of the same numbers.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => self.pre_release.cmp(&other.pre_release),
            }
        })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dotted(text: &str) -> Version {
        Version::parse(text, VersionScheme::Dotted).expect("valid dotted version")
    }

    fn calendar(text: &str) -> Version {
        Version::parse(text, VersionScheme::CalendarYear).expect("valid calendar version")
    }

    #[test]
    fn components_compare_as_numbers_not_text() {
        assert!(dotted("17.9") < dotted("17.14"));
        assert!(dotted("1.5.9") < dotted("1.5.15"));
        assert!(dotted("9.2") < dotted("9.10"));
    }

    #[test]
    fn missing_components_count_as_zero() {
        assert_eq!(dotted("9.2"), dotted("9.2.0"));
        assert_eq!(dotted("17.14"), dotted("17.14.0.0"));
        assert!(dotted("9.2") < dotted("9.2.1"));
    }

    #[test]
    fn four_digit_and_two_digit_years_are_the_same_release() {
        assert_eq!(calendar("2020.8.3"), calendar("20.8.3"));
        assert!(calendar("2020.8.3") < calendar("20.9.1"));
        assert!(calendar("2021.1.1") > calendar("20.12.2"));
    }

    #[test]
    fn the_agent_seed_prints_framework_versions_in_ascending_order() {
        let printed = [
            "2020.8.3", "20.9.1", "20.9.3", "20.10.1", "20.10.2", "20.12.2", "21.1.1", "21.1.2",
            "21.4.2",
        ];
        for pair in printed.windows(2) {
            assert!(
                calendar(pair[0]) < calendar(pair[1]),
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn the_agent_seed_prints_core_versions_in_ascending_order() {
        let printed = [
            "1.5.15", "1.5.17", "1.5.19", "1.5.20", "1.5.21", "1.7.2", "1.7.5", "1.8.4",
        ];
        for pair in printed.windows(2) {
            assert!(
                dotted(pair[0]) < dotted(pair[1]),
                "{} < {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn the_dashboard_and_host_versions_order() {
        assert!(dotted("9.2") < dotted("9.3"));
        assert!(dotted("17.13.9") < dotted("17.14"));
    }

    #[test]
    fn a_pre_release_sorts_before_its_release() {
        assert!(dotted("9.3.0-preview.1") < dotted("9.3.0"));
        assert!(dotted("9.3.0-preview.1") > dotted("9.2.9"));
        assert!(dotted("9.3.0-preview.2") < dotted("9.3.0-preview.10"));
        assert!(dotted("9.3.0-1") < dotted("9.3.0-alpha"));
        assert!(dotted("9.3.0-rc") > dotted("9.3.0-preview"));
    }

    #[test]
    fn build_metadata_and_white_space_are_ignored() {
        assert_eq!(dotted(" 9.3.0+abc123 "), dotted("9.3"));
    }

    #[test]
    fn malformed_versions_are_errors() {
        for bad in [
            "", "  ", "9.", ".9", "9..2", "v9.2", "nine", "9.2-", "9.2-a..b", "1.2.x",
        ] {
            assert!(
                Version::parse(bad, VersionScheme::Dotted).is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert_eq!(
            Version::parse(&"1.".repeat(40), VersionScheme::Dotted),
            Err(VersionError::TooLong)
        );
        assert!(matches!(
            Version::parse("1.2.3.4.5.6.7.8.9", VersionScheme::Dotted),
            Err(VersionError::TooManyComponents { .. })
        ));
        assert!(matches!(
            Version::parse("99999999999999999999999.1", VersionScheme::Dotted),
            Err(VersionError::Malformed { .. })
        ));
    }

    #[test]
    fn calendar_versions_must_start_with_a_year() {
        assert!(matches!(
            Version::parse("1999.1.1", VersionScheme::CalendarYear),
            Err(VersionError::NotAYear { .. })
        ));
        assert!(matches!(
            Version::parse("300.1", VersionScheme::CalendarYear),
            Err(VersionError::NotAYear { .. })
        ));
    }

    #[test]
    fn display_keeps_the_written_form() {
        assert_eq!(calendar("2020.8.3").to_string(), "2020.8.3");
    }
}
