//! Grammars for values that leave the machine as they are: names, labels, modes and versions.
//! (A language tag, also sent as it is, has one grammar, `candor_schema::is_language_tag`,
//! which the catalogue's own value check applies; this crate does not depend on that one.)
//!
//! A catalogue point whose privacy class is not "scrubbed" promises that its value is not
//! personal. Such a value is sent verbatim, so it is checked instead of scrubbed: it must match
//! the grammar of its kind, and the scrubber must find nothing in it. A value that fails is
//! refused whole (fail-closed); nothing of it is repeated in the error, since the value is what
//! must not leak.

use thiserror::Error;

use crate::Scrubber;

/// The longest identifier (name, label, mode) accepted.
pub const MAX_IDENTIFIER_LEN: usize = 128;
/// The longest version accepted.
pub const MAX_VERSION_LEN: usize = 64;

/// Why a value was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IdentifierError {
    /// Nothing was given.
    #[error("an empty value identifies nothing")]
    Empty,
    /// Longer than the grammar allows.
    #[error("a value of {len} bytes is longer than the {max} allowed")]
    TooLong {
        /// The value's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character outside the grammar (shown only when it is printable ASCII punctuation).
    #[error("the value contains a character its grammar does not allow{}", shown_char(*.0))]
    Character(char),
    /// Not shaped like its kind (a version without a number first, an empty component).
    #[error("the value is not a {0}")]
    Shape(&'static str),
    /// The scrubber found personal data or a secret in it.
    #[error("the value holds personal data or a secret ({0})")]
    Personal(&'static str),
    /// Version build metadata that names a host (`4.0.0+alice.example.com`).
    #[error("the version's build metadata names a host")]
    HostInMetadata,
}

fn shown_char(c: char) -> String {
    if c.is_ascii_punctuation() || c == ' ' {
        format!(" ({c:?})")
    } else {
        String::new()
    }
}

/// An identifier: ASCII letters, digits and `. _ - : / [ ] +`, starting with a letter, digit or
/// `_`, at most [`MAX_IDENTIFIER_LEN`] bytes, in which the scrubber finds nothing, and which is
/// none of what a name is not: a host name (`jsmith-laptop.corp.example.com`), a user and a
/// password (`alice:hunter2`), a URL, a UUID, or a token of 16 hex digits or more.
///
/// `System.Net.Http`, `rule:sql-injection`, `503`, `ConnectionStrings:Default`,
/// `agent.logger.level` pass; `C:\Users\jdoe`, `a b`, `Password=x`, `aa:bb:cc:dd:ee:ff`,
/// `ghp_…`, `api.example.com`, `https://x`, `alice:hunter2` do not.
pub fn check_identifier(scrubber: &Scrubber, value: &str) -> Result<(), IdentifierError> {
    check_len(value, MAX_IDENTIFIER_LEN)?;
    let first = value.as_bytes()[0];
    if !(first.is_ascii_alphanumeric() || first == b'_') {
        return Err(IdentifierError::Shape("identifier"));
    }
    if let Some(c) = value.chars().find(|c| {
        !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/' | '[' | ']' | '+'))
    }) {
        return Err(IdentifierError::Character(c));
    }
    if let Some(what) = not_a_name(value) {
        return Err(IdentifierError::Shape(what));
    }
    nothing_found(scrubber, value)
}

/// Top-level domains and the suffixes of private networks that end host names: a dotted name
/// ending in one of these (written in one case) is a host, not an identifier.
const HOST_SUFFIXES: &[&str] = &[
    "com",
    "net",
    "org",
    "edu",
    "gov",
    "mil",
    "int",
    "io",
    "co",
    "info",
    "biz",
    "local",
    "lan",
    "corp",
    "internal",
    "intranet",
    "localdomain",
    "home",
    "example",
    "test",
    "invalid",
    "arpa",
    "cloud",
    "online",
    "site",
    "dev",
    "ai",
    "uk",
    "de",
    "fr",
    "nl",
    "se",
    "no",
    "fi",
    "dk",
    "ch",
    "at",
    "be",
    "it",
    "es",
    "pt",
    "pl",
    "cz",
    "ru",
    "cn",
    "jp",
    "kr",
    "in",
    "br",
    "au",
    "ca",
    "us",
    "eu",
];

/// What a value that a name must not be is, if it is one.
fn not_a_name(value: &str) -> Option<&'static str> {
    if value.contains("://") || value.contains("//") {
        return Some("name (a URL)");
    }
    let hex_run = value.split(|c: char| !c.is_ascii_hexdigit()).any(|run| {
        run.len() >= 16
            && run.bytes().any(|b| b.is_ascii_alphabetic())
            && run.bytes().any(|b| b.is_ascii_digit())
    });
    if hex_run || is_uuid(value) {
        return Some("name (a token)");
    }
    if names_a_host_fully(value) {
        return Some("name (a host name)");
    }
    if is_user_and_password(value) {
        return Some("name (credentials)");
    }
    None
}

fn is_uuid(value: &str) -> bool {
    value
        .split(|c: char| !(c.is_ascii_hexdigit() || c == '-'))
        .any(|part| {
            part.len() == 36
                && part.bytes().enumerate().all(|(i, b)| match i {
                    8 | 13 | 18 | 23 => b == b'-',
                    _ => b.is_ascii_hexdigit(),
                })
        })
}

/// A dotted name whose labels are a host's (letters, digits and hyphens) and whose last label is
/// a top-level domain written as hosts are (all lower case or all upper case: `System.Net` is a
/// namespace, `api.example.net` a host).
fn names_a_host_fully(value: &str) -> bool {
    let labels: Vec<&str> = value.split('.').collect();
    let Some(last) = labels.last() else {
        return false;
    };
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        && (last.bytes().all(|b| b.is_ascii_lowercase())
            || last.bytes().all(|b| b.is_ascii_uppercase()))
        && HOST_SUFFIXES.iter().any(|t| last.eq_ignore_ascii_case(t))
}

/// `alice:hunter2`: one colon between a name and a word of letters and digits both (what a
/// password is and a rule or setting's part is not: `rule:sql-injection`,
/// `ConnectionStrings:Default`, `http:8080`).
fn is_user_and_password(value: &str) -> bool {
    let Some((user, secret)) = value.split_once(':') else {
        return false;
    };
    !user.is_empty()
        && !secret.contains(':')
        && secret.len() >= 4
        && secret.bytes().all(|b| b.is_ascii_alphanumeric())
        && secret.bytes().any(|b| b.is_ascii_digit())
        && secret.bytes().any(|b| b.is_ascii_alphabetic())
}

/// A version: an optional `v`, one to four dot-separated numbers, then optionally `-` and a
/// pre-release and `+` and build metadata, each made of dot-separated runs of ASCII letters,
/// digits and `-` (semantic versioning's grammar, widened to .NET's four parts).
///
/// Build metadata is free text in practice, so it is held to more: no component longer than 40
/// bytes, nothing the scrubber finds, and not a host name (`+alice.smith.example.com`).
pub fn check_version(scrubber: &Scrubber, value: &str) -> Result<(), IdentifierError> {
    check_len(value, MAX_VERSION_LEN)?;
    let body = value.strip_prefix(['v', 'V']).unwrap_or(value);
    let (rest, build) = match body.split_once('+') {
        Some((rest, build)) => (rest, Some(build)),
        None => (body, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (rest, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    if numbers.len() > 4
        || numbers
            .iter()
            .any(|n| n.is_empty() || n.len() > 10 || !n.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(IdentifierError::Shape("version"));
    }
    for part in pre.into_iter().chain(build) {
        for component in part.split('.') {
            if component.is_empty() || component.len() > 40 {
                return Err(IdentifierError::Shape("version"));
            }
            if let Some(c) = component
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Err(IdentifierError::Character(c));
            }
        }
    }
    if build.is_some_and(names_a_host) {
        return Err(IdentifierError::HostInMetadata);
    }
    nothing_found(scrubber, value)
}

fn check_len(value: &str, max: usize) -> Result<(), IdentifierError> {
    if value.is_empty() {
        return Err(IdentifierError::Empty);
    }
    if value.len() > max {
        return Err(IdentifierError::TooLong {
            len: value.len(),
            max,
        });
    }
    Ok(())
}

fn nothing_found(scrubber: &Scrubber, value: &str) -> Result<(), IdentifierError> {
    match scrubber.findings(value).first() {
        Some((finding, _)) => Err(IdentifierError::Personal(finding.token())),
        None => Ok(()),
    }
}

/// Build metadata that ends like a host name: two or more components, the last all letters
/// (a top-level domain, or `xn--` punycode), and another one with letters in it. Commit hashes,
/// dates and build numbers (`sha.5114f85`, `20240101.3`) do not.
fn names_a_host(build: &str) -> bool {
    let components: Vec<&str> = build.split('.').collect();
    let Some((last, others)) = components.split_last() else {
        return false;
    };
    let tld = (2..=24).contains(&last.len()) && last.bytes().all(|b| b.is_ascii_alphabetic())
        || last.to_ascii_lowercase().starts_with("xn--");
    tld && others
        .iter()
        .any(|c| c.bytes().any(|b| b.is_ascii_alphabetic()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        let s = Scrubber::default();
        for ok in [
            "System.Net.Http",
            "rule:sql-injection",
            "503",
            "ConnectionStrings:Default",
            "aspnetcore-8.0",
            "_private",
            "System.Net",
            "Microsoft.Extensions.Logging",
            "agent.logger.level",
            "http:8080",
            "net:v4",
            "assess.enable_scan",
        ] {
            assert_eq!(check_identifier(&s, ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "C:\\Users\\jdoe",
            "Password=x",
            "jane@example.com",
            "aa:bb:cc:dd:ee:ff",
            "10.1.2.3",
            "/home/jdoe/x",
            "4111111111111111",
            "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
            "AKIAIOSFODNN7EXAMPLE",
            "-flag",
            "jsmith-laptop.corp.example.com",
            "api.example.com",
            "BUILD01.CORP.LOCAL",
            "alice:hunter2",
            "https://example.com/x",
            "ftp//x",
            "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            "d41d8cd98f00b204e9800998ecf8427e",
            "token:9f86d081884c7d65",
        ] {
            assert!(check_identifier(&s, bad).is_err(), "{bad}");
        }
        assert!(check_identifier(&s, &"a".repeat(129)).is_err());
    }

    #[test]
    fn versions() {
        let s = Scrubber::default();
        for ok in [
            "21.4.3",
            "8.0.0.0",
            "v1.2.3",
            "9.3.0-preview.1.24172.9",
            "1.0.0+sha.5114f85",
            "4.0.0+20240101.3",
        ] {
            assert_eq!(check_version(&s, ok), Ok(()), "{ok}");
        }
        for bad in [
            "4.0.0+alice.smith.example.com",
            "4.0.0+host.xn--p1ai",
            "4.0.0+10.0.0.1",
            "v1; rm",
            "1.2.3.4.5",
            "1..2",
            "latest",
            "1.0.0+",
            "1.0.0+a b",
        ] {
            assert!(check_version(&s, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_do_not_repeat_the_value() {
        let s = Scrubber::default();
        let err = check_identifier(&s, "jane@example.com").unwrap_err();
        assert!(!err.to_string().contains("jane"), "{err}");
        let err = check_version(&s, "4.0.0+alice.smith.example.com").unwrap_err();
        assert!(!err.to_string().contains("alice"), "{err}");
    }
}
