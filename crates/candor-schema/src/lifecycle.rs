//! Each data point's lifecycle: when it stops being collected, who answers for it, and where its
//! review is.
//!
//! A point may declare `expires`: `"never"` (the vendor states no end), a UTC day
//! (`{ date = "2026-09-30" }`) or, per runtime line, a product version
//! (`{ versions = { core = "2.0" } }`). Both name the first day or version that no longer
//! collects the point: on 2026-09-30 (UTC) itself, or by version 2.0 itself, nothing is
//! collected. Versions are compared under their line's scheme, never as text; a pre-release of
//! the expiry version (`2.0.0-preview.1`) sorts before it and still collects. A line the map does
//! not name keeps collecting.
//!
//! The version expiry needs no clock, so [`crate::Catalogue::is_in_effect`] applies it like an
//! upper gate. The date needs "today", which this crate never reads: callers pass it
//! ([`crate::Catalogue::expired`], [`crate::Catalogue::warnings`]), converting their own clock
//! reading with [`Date::from_system_time`].

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::error::{CatalogueError, Problem};
use crate::model::{CatalogueSpec, DataPointSpec};
use crate::version::Version;

/// How many days ahead of a point's expiry date [`crate::Catalogue::warnings`] warns.
pub const EXPIRY_WARNING_DAYS: u32 = 30;
/// The longest owner a point may name, in bytes: a team's or a person's name and address.
pub const MAX_OWNER_LEN: usize = 200;
/// The longest review link, in bytes.
pub const MAX_LINK_LEN: usize = 2048;
/// The most review links one point may list.
pub const MAX_REVIEW_LINKS: usize = 16;

/// When a data point stops being collected, as a catalogue writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expires {
    /// The vendor states no end (`expires = "never"`).
    Never,
    /// The first UTC day, written `YYYY-MM-DD`, on which the point is no longer collected
    /// (`{ date = "2026-09-30" }`): the last day it is collected is the day before.
    Date(#[schemars(pattern(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))] String),
    /// Per runtime line, the first product version that no longer collects the point
    /// (`{ versions = { core = "2.0" } }`), read under the line's version scheme. Lines not
    /// named keep collecting it.
    Versions(BTreeMap<String, String>),
}

/// When a data point stops being collected, parsed and checked against its gates.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// The catalogue does not say.
    Unstated,
    /// The vendor states no end.
    Never,
    /// Not collected from this UTC day on.
    On(Date),
    /// Not collected from these versions on, by runtime line id, in the order the catalogue
    /// declares its lines. Lines not listed keep collecting.
    AtVersions(Vec<(String, Version)>),
}

impl Expiry {
    /// Whether the point has stopped for `line` at `version` on `today`, and why.
    pub fn expired(&self, line: &str, version: &Version, today: Date) -> Option<Expired> {
        match self {
            Self::On(day) if today >= *day => Some(Expired::On(*day)),
            _ => self.expired_by_version(line, version),
        }
    }

    /// Whether `version` of `line` has reached its expiry version: the part of the expiry that
    /// needs no clock.
    pub fn expired_by_version(&self, line: &str, version: &Version) -> Option<Expired> {
        let Self::AtVersions(versions) = self else {
            return None;
        };
        versions
            .iter()
            .find(|(id, last)| id == line && version >= last)
            .map(|(id, last)| Expired::AtVersion {
                line: id.clone(),
                version: last.clone(),
            })
    }
}

/// Why a data point is no longer collected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expired {
    /// Its expiry day has come (the first day it is not collected).
    On(Date),
    /// The running version has reached this line's expiry version.
    AtVersion {
        /// The runtime line.
        line: String,
        /// The first version of that line that no longer collects the point.
        version: Version,
    },
}

impl fmt::Display for Expired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::On(day) => write!(f, "expired on {day} (UTC)"),
            Self::AtVersion { line, version } => write!(f, "expired at {line} {version}"),
        }
    }
}

/// Something about a catalogue worth telling the person who maintains or runs it, though it
/// loads. The library never prints: `cargo xtask docs` and `candor` print these.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CatalogueWarning {
    /// A point's expiry date is at most [`EXPIRY_WARNING_DAYS`] days away.
    ExpiresSoon {
        /// The product.
        product: String,
        /// The data point.
        point: String,
        /// The first day it is not collected.
        on: Date,
        /// Days from today until then (1 at least: on the day itself it has expired).
        days_left: u32,
    },
    /// A point's expiry date has come: it is no longer collected.
    Expired {
        /// The product.
        product: String,
        /// The data point.
        point: String,
        /// The first day it was not collected.
        on: Date,
    },
}

impl fmt::Display for CatalogueWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ExpiresSoon {
                product,
                point,
                on,
                days_left,
            } => write!(
                f,
                "{product}: data point `{point}` expires on {on} (UTC), in {days_left} day{}; \
                 from then on it is not collected",
                if *days_left == 1 { "" } else { "s" }
            ),
            Self::Expired { product, point, on } => write!(
                f,
                "{product}: data point `{point}` expired on {on} (UTC) and is no longer collected"
            ),
        }
    }
}

/// The warnings for a catalogue's points on `today`, in catalogue order.
pub(crate) fn warnings(
    spec: &CatalogueSpec,
    expiries: &[Expiry],
    today: Date,
) -> Vec<CatalogueWarning> {
    spec.data_points
        .iter()
        .zip(expiries)
        .filter_map(|(point, expiry)| {
            let Expiry::On(on) = expiry else {
                return None;
            };
            let product = spec.product.id.clone();
            let point = point.id.clone();
            let days_left = today.days_until(*on);
            if days_left <= 0 {
                Some(CatalogueWarning::Expired {
                    product,
                    point,
                    on: *on,
                })
            } else if days_left <= i64::from(EXPIRY_WARNING_DAYS) {
                Some(CatalogueWarning::ExpiresSoon {
                    product,
                    point,
                    on: *on,
                    days_left: u32::try_from(days_left).unwrap_or(EXPIRY_WARNING_DAYS),
                })
            } else {
                None
            }
        })
        .collect()
}

/// Checks one point's lifecycle fields and parses its expiry. `gates` are the point's parsed
/// gates, by runtime line index; `at` builds the error path of a field.
pub(crate) fn check_point(
    spec: &CatalogueSpec,
    point: &DataPointSpec,
    gates: &[(usize, crate::Bound)],
    at: &dyn Fn(&str) -> String,
    source_name: &str,
) -> Result<Expiry, CatalogueError> {
    let fail = |path: String, problem: Problem| CatalogueError::Invalid {
        source_name: source_name.to_owned(),
        path,
        problem,
    };
    let rule = |path: String, message: String| fail(path, Problem::Rule(message));
    if let Some(owner) = &point.owner {
        if owner.trim().is_empty() {
            return Err(fail(at("owner"), Problem::Empty));
        }
        if owner.len() > MAX_OWNER_LEN {
            return Err(rule(
                at("owner"),
                format!(
                    "is {} bytes long; an owner is at most {MAX_OWNER_LEN}",
                    owner.len()
                ),
            ));
        }
    }
    if point.review_links.len() > MAX_REVIEW_LINKS {
        return Err(rule(
            at("review_links"),
            format!(
                "lists {} links; at most {MAX_REVIEW_LINKS}",
                point.review_links.len()
            ),
        ));
    }
    for (i, link) in point.review_links.iter().enumerate() {
        let path = at(&format!("review_links[{i}]"));
        check_link(link).map_err(|message| rule(path.clone(), message))?;
        if point.review_links[..i].contains(link) {
            return Err(fail(path, Problem::DuplicateId(link.clone())));
        }
    }
    let Some(expires) = &point.expires else {
        return Ok(Expiry::Unstated);
    };
    match expires {
        Expires::Never => Ok(Expiry::Never),
        Expires::Date(text) => Date::parse(text)
            .map(Expiry::On)
            .map_err(|e| rule(at("expires.date"), e.to_string())),
        Expires::Versions(versions) => {
            if versions.is_empty() {
                return Err(rule(
                    at("expires.versions"),
                    "name at least one runtime line and the version that stops the point".into(),
                ));
            }
            let lines = &spec.runtime_lines;
            let mut parsed = Vec::with_capacity(versions.len());
            for (index, line) in lines.iter().enumerate() {
                let Some(text) = versions.get(&line.id) else {
                    continue;
                };
                let path = at(&format!("expires.versions.{}", line.id));
                let version = Version::parse(text, line.versioning)
                    .map_err(|e| fail(path.clone(), Problem::BadVersion(e)))?;
                let Some((_, gate)) = gates.iter().find(|(l, _)| *l == index) else {
                    return Err(rule(
                        path,
                        format!(
                            "`{}` never collects this point, so it cannot stop collecting it",
                            line.id
                        ),
                    ));
                };
                if version <= *gate.version() {
                    return Err(rule(
                        path,
                        format!(
                            "{version} is not later than the gate ({gate}): no version would \
                             collect the point"
                        ),
                    ));
                }
                parsed.push((line.id.clone(), version));
            }
            if let Some(undeclared) = versions
                .keys()
                .find(|id| !lines.iter().any(|l| &&l.id == id))
            {
                // A key is the file's text, never checked for control characters or length:
                // it is repeated only when it is one short clean line.
                let shown = undeclared.len() <= 64
                    && !undeclared
                        .chars()
                        .any(|ch| crate::load::forbidden_char(ch, false));
                let declared = lines.iter().map(|l| l.id.clone()).collect();
                return Err(if shown {
                    fail(
                        at(&format!("expires.versions.{undeclared}")),
                        Problem::UndeclaredRuntimeLine {
                            line: undeclared.clone(),
                            declared,
                        },
                    )
                } else {
                    rule(
                        at("expires.versions"),
                        format!(
                            "names a runtime line that is not declared (declared: {})",
                            declared.join(", ")
                        ),
                    )
                });
            }
            Ok(Expiry::AtVersions(parsed))
        }
    }
}

/// A review link is shown on the disclosure page as a link a reader may follow, so it must be
/// plainly what it looks like: `https://`, a host name and nothing a page could act on. The
/// messages never repeat the link (it may be long or hostile).
fn check_link(link: &str) -> Result<(), String> {
    if link.len() > MAX_LINK_LEN {
        return Err(format!(
            "is {} bytes long; a link is at most {MAX_LINK_LEN}",
            link.len()
        ));
    }
    let Some(rest) = link.strip_prefix("https://") else {
        return Err("a review link must start with `https://`".to_owned());
    };
    if let Some(bad) = link.chars().find(|c| {
        !c.is_ascii_graphic() || matches!(c, '<' | '>' | '"' | '`' | '{' | '}' | '|' | '\\' | '^')
    }) {
        return Err(format!(
            "a review link holds only printable ASCII without spaces, quotes, `<`, `>`, `{{`, \
             `}}`, `|`, `\\`, `^` or backquotes (percent-encode the rest); found U+{:04X}",
            u32::from(bad)
        ));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.contains('@') {
        return Err(
            "a review link names no user before its host (`user@`): the host would not be the \
             one it appears to be"
                .to_owned(),
        );
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) => {
            let port_ok = !port.is_empty()
                && port.len() <= 5
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u32>().is_ok_and(|p| (1..=65_535).contains(&p));
            if !port_ok {
                return Err("the port after the host must be a number from 1 to 65535".to_owned());
            }
            host
        }
        None => authority,
    };
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if host.is_empty() || host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(
            "the host must be a domain name: letters, digits and hyphens in dot-separated labels"
                .to_owned(),
        );
    }
    let bytes = link.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !hex(i + 1) || !hex(i + 2) {
                return Err("a `%` must start a percent-encoded byte (`%2F`)".to_owned());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_link;

    #[test]
    fn plain_https_links_pass() {
        for good in [
            "https://github.com/dotnet/aspire/issues/1234",
            "https://reviews.example.com:8443/data/42?tab=summary#decision",
            "https://example.com",
            "https://example.com/a%20b/(c)",
        ] {
            assert_eq!(check_link(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn hostile_links_are_refused() {
        for bad in [
            "http://example.com/review",
            "HTTPS://example.com/",
            "javascript:alert(1)",
            "https://",
            "https:///path",
            "https://example.com@evil.test/",
            "https://user:secret@example.com/",
            "https://exa mple.com/",
            "https://example.com/<script>",
            "https://example.com/a\"onmouseover=x",
            "https://example.com/a|b",
            "https://example.com/\u{0}",
            "https://exämple.com/",
            "https://-example.com/",
            "https://example..com/",
            "https://[::1]/",
            "https://example.com:0/",
            "https://example.com:99999/",
            "https://example.com:/",
            "https://example.com/%zz",
            "https://example.com/%2",
            " https://example.com/",
        ] {
            assert!(check_link(bad).is_err(), "{bad:?} should be refused");
        }
        let long = format!("https://example.com/{}", "a".repeat(1 << 20));
        let message = check_link(&long).expect_err("too long");
        assert!(message.len() < 100, "{message}");
    }
}
