//! The check itself: an event's envelope against its catalogue, then its value against the
//! point's declaration and its privacy class.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candor_privacy::{IdentifierError, Scrubber, check_identifier, check_version};
use candor_schema::{Catalogue, DataPointSpec, Event, Grammar, StringRole, Value, Version};

use crate::refusal::{Reason, Refusal};

/// How far ahead of the checking clock an event's time may be (clocks drift).
pub const MAX_CLOCK_AHEAD: Duration = Duration::from_secs(24 * 3600);
/// The oldest event accepted for a product that promises no retention limit: older times are
/// refused rather than kept under a date nobody can check.
pub const MAX_AGE_WITHOUT_RETENTION_DAYS: u32 = 3660;

/// What the envelope check found: the point's declaration and the version read under its
/// line's scheme, for the checks that follow.
#[derive(Debug, Clone)]
pub struct Admitted<'c> {
    /// The data point as the catalogue declares it.
    pub point: &'c DataPointSpec,
    /// The product version.
    pub version: Version,
}

/// Checks an event's envelope against `catalogue` (the revision it names): the id's form, the
/// time neither more than a day ahead of `now` nor past the product's retention, the install
/// id only where declared, a known runtime line, a version its scheme reads, a declared point
/// that this version collects.
pub fn check_envelope<'c>(
    catalogue: &'c Catalogue,
    event: &Event,
    now: SystemTime,
) -> Result<Admitted<'c>, Refusal> {
    if !is_lower_hex(event.event_id(), 32) {
        return Err(Refusal::new(
            Reason::BadEventId,
            "the event id must be 32 lower-case hex digits",
        ));
    }
    let time_us = event.time().unix_micros();
    let now_us = micros(now);
    if time_us > now_us.saturating_add(micros_of(MAX_CLOCK_AHEAD)) {
        return Err(Refusal::new(
            Reason::InFuture,
            "the event's time is more than a day ahead of the server's clock",
        ));
    }
    let days = catalogue
        .spec()
        .retention
        .days
        .unwrap_or(MAX_AGE_WITHOUT_RETENTION_DAYS);
    if time_us < now_us.saturating_sub(i64::from(days) * 86_400_000_000) {
        return Err(Refusal::new(
            Reason::TooOld,
            format!("the event is older than the {days} days the product keeps data"),
        ));
    }
    let collection = &catalogue.spec().collection;
    match (event.install_id(), collection.carries_install_id()) {
        (Some(_), false) => {
            return Err(Refusal::new(
                Reason::UndeclaredInstallId,
                "the catalogue declares no install id",
            ));
        }
        // A point's value (a SHA-256 identifier) carried as the install id is 64 digits; the
        // random id that stands in for it where the machine has none is 32.
        (Some(id), true)
            if !(is_lower_hex(id, 32) || (!collection.install_id && is_lower_hex(id, 64))) =>
        {
            return Err(Refusal::new(
                Reason::UndeclaredInstallId,
                "an install id is 32 lower-case hex digits (64 for a hashed deletion key)",
            ));
        }
        _ => {}
    }
    catalogue
        .runtime_line(event.runtime_line())
        .map_err(|e| Refusal::new(Reason::UnknownRuntimeLine, e.to_string()))?;
    // The sender's envelope holds version text only (`Event::declared` checks it); the line's
    // scheme alone would let build metadata carry any text.
    if !candor_schema::is_version_text(event.product_version()) {
        return Err(Refusal::new(
            Reason::BadVersion,
            format!(
                "`{}` is not a version number",
                shown(event.product_version())
            ),
        ));
    }
    let version = catalogue
        .parse_version(event.runtime_line(), event.product_version())
        .map_err(|e| Refusal::new(Reason::BadVersion, e.to_string()))?;
    let point = catalogue
        .data_point(event.point())
        .map_err(|e| Refusal::new(Reason::UndeclaredPoint, e.to_string()))?;
    let in_effect = catalogue
        .is_in_effect(event.point(), event.runtime_line(), &version)
        .map_err(|e| Refusal::new(Reason::UndeclaredPoint, e.to_string()))?;
    if !in_effect {
        return Err(Refusal::new(
            Reason::NotInEffect,
            format!(
                "`{}` is not collected by {} {}",
                point.id,
                shown(event.runtime_line()),
                shown(event.product_version())
            ),
        ));
    }
    Ok(Admitted { point, version })
}

/// Checks a value against its point: the declared kind, the declared shape and bounds and a
/// hash's form (`candor_schema::check_value`, the same check the sender makes last), then
/// privacy, string by string in the roles `candor_schema`'s one walk gives them: scrubbed and
/// coarsened text shows no finding of `scrubber`, and values sent as they are (names, labels,
/// modes, versions, language tags) match their grammar with nothing personal in them (or, for
/// a scrubbed point, show no finding).
pub fn check_value(
    point: &DataPointSpec,
    value: &Value,
    scrubber: &Scrubber,
) -> Result<(), Refusal> {
    if point.value.kind_name() != value.kind_name() {
        return Err(Refusal::new(
            Reason::WrongKind,
            format!(
                "`{}` is declared as {} but the value is {}",
                point.id,
                point.value.kind_name(),
                value.kind_name()
            ),
        ));
    }
    // Cheap checks first: the declared shape and bounds and a hash's form, and only then the
    // scrubber's scan, over text already known to be bounded.
    candor_schema::check_value(point, value).map_err(|e| {
        let reason = match e.kind {
            candor_schema::MismatchKind::TooManyItems => Reason::TooManyItems,
            candor_schema::MismatchKind::UnsendableCharacter => Reason::ControlCharacter,
            candor_schema::MismatchKind::NegativeCount => Reason::NegativeCount,
            candor_schema::MismatchKind::OffLayout => Reason::OffLayout,
            candor_schema::MismatchKind::TooManyBuckets => Reason::TooManyBuckets,
            candor_schema::MismatchKind::BadHash => Reason::BadHash,
            _ => Reason::OutOfBounds,
        };
        Refusal::new(reason, e.to_string())
    })?;
    value
        .walk_strings(point, |role, text| check_string(scrubber, role, text))
        .map_err(|(reason, what)| Refusal::new(reason, format!("`{}`: {what}", point.id)))
}

/// The whole check of one of Candor's own events against the one catalogue it must belong to:
/// that catalogue's product and revision, then [`check_envelope`] and [`check_value`].
pub fn check_event<'c>(
    catalogue: &'c Catalogue,
    event: &Event,
    now: SystemTime,
    scrubber: &Scrubber,
) -> Result<Admitted<'c>, Refusal> {
    if event.product() != catalogue.product_id() {
        return Err(Refusal::new(
            Reason::UnknownProduct,
            format!(
                "an event of `{}`, not of `{}`",
                shown(event.product()),
                catalogue.product_id()
            ),
        ));
    }
    if event.catalogue_revision() != catalogue.spec().revision {
        return Err(Refusal::new(
            Reason::UnknownRevision,
            format!(
                "catalogue revision `{}` is not the one in effect (`{}`)",
                shown(event.catalogue_revision()),
                catalogue.spec().revision
            ),
        ));
    }
    let admitted = check_envelope(catalogue, event, now)?;
    check_value(admitted.point, event.value(), scrubber)?;
    Ok(admitted)
}

/// One string against its role ([`candor_schema::Value::walk_strings`], the walk the
/// preparer applies the same roles with): scrubbed and coarsened text holds no personal datum
/// the scrubber would have removed; names, labels, modes and versions sent as they are match
/// their grammar with nothing personal in them (`candor_privacy`'s checks), and language tags
/// theirs (`candor_schema::is_language_tag`), so a client that skips them cannot pass what the
/// sender would have refused. Declared words, type names and hashes were checked with the
/// value's shape.
fn check_string(scrubber: &Scrubber, role: StringRole, text: &str) -> Result<(), (Reason, String)> {
    let grammar = match role {
        StringRole::Scrubbed { .. } | StringRole::Coarsened => {
            return match scrubber.findings(text).first() {
                None => Ok(()),
                Some((finding, _)) => Err((
                    Reason::PersonalData,
                    format!("the text still holds a personal datum ({finding:?})"),
                )),
            };
        }
        StringRole::Verbatim(Grammar::Identifier) => check_identifier(scrubber, text),
        StringRole::Verbatim(Grammar::Version) => check_version(scrubber, text),
        StringRole::Verbatim(Grammar::LanguageTag) if !candor_schema::is_language_tag(text) => {
            Err(IdentifierError::Shape("language tag"))
        }
        _ => Ok(()),
    };
    grammar.map_err(|e| match e {
        IdentifierError::Personal(_) | IdentifierError::HostInMetadata => {
            (Reason::PersonalData, e.to_string())
        }
        _ => (Reason::OutOfBounds, e.to_string()),
    })
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Microseconds since the Unix epoch (negative before it).
pub fn micros(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => micros_of(d),
        Err(e) => -micros_of(e.duration()),
    }
}

fn micros_of(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// An event's text in a message: at most 40 characters, control characters escaped.
pub fn shown(text: &str) -> String {
    shown_up_to(text, 40)
}

/// A client's text in a one-line message: at most `chars` characters, control characters
/// (a decoded newline) escaped.
pub fn shown_up_to(text: &str, chars: usize) -> String {
    let mut out: String = text
        .chars()
        .take(chars)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().count() > chars {
        out.push('…');
    }
    out
}
