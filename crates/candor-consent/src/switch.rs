//! Reading an on/off environment variable the way people actually set them.

use std::ffi::OsStr;

/// What an on/off variable says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Switch {
    /// Not set, or set to nothing but white space.
    Unset,
    /// `1`, `true`, `yes`, `on` (any case, surrounding spaces ignored).
    True,
    /// `0`, `false`, `no`, `off`.
    False,
    /// Anything else, shown safely (control characters escaped, cut short). Candor treats it as
    /// "off" for telemetry, whichever way the variable points.
    Unrecognised(String),
}

/// The longest part of an unrecognised value repeated in a warning.
const SHOWN_VALUE_MAX: usize = 40;

/// Reads a variable's raw value.
pub fn read_switch(raw: Option<&OsStr>) -> Switch {
    let Some(raw) = raw else {
        return Switch::Unset;
    };
    let Some(text) = raw.to_str() else {
        return Switch::Unrecognised(shown(&raw.to_string_lossy()));
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Switch::Unset;
    }
    match trimmed.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Switch::True,
        "0" | "false" | "no" | "off" => Switch::False,
        _ => Switch::Unrecognised(shown(trimmed)),
    }
}

/// A value made safe to print in one line: escaped, and cut to a readable length.
pub(crate) fn shown(value: &str) -> String {
    let escaped: String = value.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() > SHOWN_VALUE_MAX {
        let cut: String = escaped.chars().take(SHOWN_VALUE_MAX).collect();
        format!("{cut}…")
    } else {
        escaped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(value: &str) -> Switch {
        read_switch(Some(OsStr::new(value)))
    }

    #[test]
    fn documented_values_and_synonyms() {
        for yes in [
            "1", "true", "TRUE", " TRUE ", "True", "yes", "On", "\ttrue\n",
        ] {
            assert_eq!(read(yes), Switch::True, "{yes:?}");
        }
        for no in ["0", "false", "FALSE", "no", "off", " Off "] {
            assert_eq!(read(no), Switch::False, "{no:?}");
        }
    }

    #[test]
    fn empty_counts_as_unset() {
        assert_eq!(read(""), Switch::Unset);
        assert_eq!(read("   "), Switch::Unset);
        assert_eq!(read_switch(None), Switch::Unset);
    }

    #[test]
    fn anything_else_is_unrecognised_and_shown_safely() {
        assert_eq!(read("maybe"), Switch::Unrecognised("maybe".into()));
        assert_eq!(read("2"), Switch::Unrecognised("2".into()));
        assert_eq!(
            read("tru\u{1b}[31m"),
            Switch::Unrecognised("tru\\u{1b}[31m".into())
        );
        let Switch::Unrecognised(long) = read(&"x".repeat(10_000)) else {
            panic!("a huge value is unrecognised");
        };
        assert!(long.chars().count() <= SHOWN_VALUE_MAX + 1);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_values_are_unrecognised() {
        use std::os::unix::ffi::OsStrExt;
        let raw = OsStr::from_bytes(&[b'1', 0xff]);
        assert!(matches!(read_switch(Some(raw)), Switch::Unrecognised(_)));
    }
}
