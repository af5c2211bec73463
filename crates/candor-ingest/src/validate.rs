//! The check on arrival: every event against the catalogue revision it names.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candor_privacy::{
    IdentifierError, Scrubber, check_identifier, check_language_tag, check_version,
};
use candor_schema::{Catalogue, HashAlgorithm, PrivacyClass, ValueType};

use crate::received::{ReceivedEvent, ReceivedValue};
use crate::store::StoredEvent;

/// How far ahead of the server's clock an event's time may be (clocks drift).
pub const MAX_CLOCK_AHEAD: Duration = Duration::from_secs(24 * 3600);
/// The oldest event accepted for a product that promises no retention limit: older times are
/// refused rather than kept under a date nobody can check.
pub const MAX_AGE_WITHOUT_RETENTION_DAYS: u32 = 3660;

/// Why an event was refused. Each has a stable code ([`Reason::code`]) that replies and
/// counters use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Not an event of the published schema.
    Malformed,
    /// The event id is not 32 lower-case hex digits.
    BadEventId,
    /// The time is not RFC 3339.
    BadTime,
    /// The time lies beyond the product's retention (or too far back when it has none).
    TooOld,
    /// The time lies more than a day in the future.
    InFuture,
    /// No catalogue for this product.
    UnknownProduct,
    /// The product is known but this catalogue revision is not accepted.
    UnknownRevision,
    /// The catalogue has no such runtime line.
    UnknownRuntimeLine,
    /// The product version cannot be read under the line's scheme.
    BadVersion,
    /// The catalogue does not declare the point.
    UndeclaredPoint,
    /// The point is declared but not collected by that version on that line.
    NotInEffect,
    /// The value is not of the declared kind.
    WrongKind,
    /// The value is of the declared kind but outside what the point declares.
    OutOfBounds,
    /// Scrubbed text still holds a personal datum Candor's scrubber detects.
    PersonalData,
    /// A hashed value does not have the declared hash's form.
    BadHash,
    /// An install id on a product that declares none, or one of the wrong form.
    UndeclaredInstallId,
    /// More names, labels or modes than the point's `max_items` (or the default cap).
    TooManyItems,
    /// Text holding NUL, another control character (newline and tab aside) or a bidirectional
    /// control: no Candor sender keeps them (`candor_schema::is_unsendable_char`).
    ControlCharacter,
    /// A histogram bucket with a negative count.
    NegativeCount,
    /// A histogram bucket whose key is not on the point's declared layout.
    OffLayout,
    /// A histogram with more buckets than its point's layout declares.
    TooManyBuckets,
    /// The request had already stored what its size allows ([`crate::IngestConfig`]'s
    /// storage allowance): the events after that point are refused.
    OverStorageAllowance,
}

impl Reason {
    /// Every reason, for counters and documentation.
    pub const ALL: &'static [Reason] = &[
        Self::Malformed,
        Self::BadEventId,
        Self::BadTime,
        Self::TooOld,
        Self::InFuture,
        Self::UnknownProduct,
        Self::UnknownRevision,
        Self::UnknownRuntimeLine,
        Self::BadVersion,
        Self::UndeclaredPoint,
        Self::NotInEffect,
        Self::WrongKind,
        Self::OutOfBounds,
        Self::PersonalData,
        Self::BadHash,
        Self::UndeclaredInstallId,
        Self::TooManyItems,
        Self::ControlCharacter,
        Self::NegativeCount,
        Self::OffLayout,
        Self::TooManyBuckets,
        Self::OverStorageAllowance,
    ];

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::BadEventId => "bad_event_id",
            Self::BadTime => "bad_time",
            Self::TooOld => "too_old",
            Self::InFuture => "in_future",
            Self::UnknownProduct => "unknown_product",
            Self::UnknownRevision => "unknown_revision",
            Self::UnknownRuntimeLine => "unknown_runtime_line",
            Self::BadVersion => "bad_version",
            Self::UndeclaredPoint => "undeclared_point",
            Self::NotInEffect => "not_in_effect",
            Self::WrongKind => "wrong_kind",
            Self::OutOfBounds => "out_of_bounds",
            Self::PersonalData => "personal_data",
            Self::BadHash => "bad_hash",
            Self::UndeclaredInstallId => "undeclared_install_id",
            Self::TooManyItems => "too_many_items",
            Self::ControlCharacter => "control_character",
            Self::NegativeCount => "negative_count",
            Self::OffLayout => "off_layout",
            Self::TooManyBuckets => "too_many_buckets",
            Self::OverStorageAllowance => "over_storage_allowance",
        }
    }
}

/// One refused event: why, in a code and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The reason.
    pub reason: Reason,
    /// Details for the sender.
    pub detail: String,
    /// The product, when the catalogue knows it (refusal counts are kept per known product).
    pub product: Option<String>,
}

/// The longest detail a refusal carries: messages quote the client's text, and a reply must
/// not grow with a hostile payload.
const MAX_DETAIL_CHARS: usize = 200;

impl Refusal {
    pub(crate) fn new(reason: Reason, detail: impl Into<String>) -> Self {
        let mut detail: String = detail.into();
        if let Some((cut, _)) = detail.char_indices().nth(MAX_DETAIL_CHARS) {
            detail.truncate(cut);
            detail.push('…');
        }
        Self {
            reason,
            detail,
            product: None,
        }
    }
}

/// The catalogues a server accepts: for each product, every revision it holds.
#[derive(Debug, Clone)]
pub struct Accepted {
    products: BTreeMap<String, Vec<Catalogue>>,
    scrubber: Scrubber,
}

impl Accepted {
    /// From catalogues; several revisions of one product may be given, each is accepted.
    pub fn new(catalogues: impl IntoIterator<Item = Catalogue>) -> Self {
        let mut products: BTreeMap<String, Vec<Catalogue>> = BTreeMap::new();
        for catalogue in catalogues {
            let revisions = products
                .entry(catalogue.product_id().to_owned())
                .or_default();
            if !revisions
                .iter()
                .any(|c| c.spec().revision == catalogue.spec().revision)
            {
                revisions.push(catalogue);
            }
        }
        Self {
            products,
            // The server's own user and host names are no evidence of anything in a client's
            // text: the detector runs without machine literals.
            scrubber: Scrubber::default(),
        }
    }

    /// The built-in catalogues: every earlier revision Candor shipped, then the current one (the
    /// newest, which reports use for names and kinds).
    pub fn builtin() -> Result<Self, String> {
        let set = candor_schema::builtin::catalogues().map_err(ToString::to_string)?;
        let previous = candor_schema::builtin::previous_revisions().map_err(ToString::to_string)?;
        Ok(Self::new(previous.iter().chain(set.iter()).cloned()))
    }

    /// The products, in order.
    pub fn products(&self) -> impl Iterator<Item = &str> {
        self.products.keys().map(String::as_str)
    }

    /// A product's newest loaded revision (the last given), for names and kinds in reports.
    pub fn catalogue(&self, product: &str) -> Option<&Catalogue> {
        self.products.get(product).and_then(|r| r.last())
    }

    /// The retention a product promises, in days: the shortest any accepted revision declares,
    /// so that no revision's promise is broken.
    pub fn retention_days(&self, product: &str) -> Option<u32> {
        self.products
            .get(product)?
            .iter()
            .filter_map(|c| c.spec().retention.days)
            .min()
    }

    /// Checks one event; on success, the row to store.
    pub fn check(&self, event: ReceivedEvent, now: SystemTime) -> Result<StoredEvent, Refusal> {
        let revisions = self.products.get(&event.product).ok_or_else(|| {
            Refusal::new(
                Reason::UnknownProduct,
                format!("no catalogue for product `{}`", shown(&event.product)),
            )
        })?;
        let with_product = |mut r: Refusal| {
            r.product = Some(event.product.clone());
            r
        };
        let catalogue = revisions
            .iter()
            .find(|c| c.spec().revision == event.catalogue_revision)
            .ok_or_else(|| {
                with_product(Refusal::new(
                    Reason::UnknownRevision,
                    format!(
                        "catalogue revision `{}` is not accepted",
                        shown(&event.catalogue_revision)
                    ),
                ))
            })?;
        self.check_in(catalogue, &event, now)
            .map_err(with_product)?;
        let time_us = parse_time_us(&event.time).map_err(with_product)?;
        Ok(StoredEvent {
            kind: event.value.kind_name(),
            value: event.value.data_json(),
            event_id: event.event_id,
            time_us,
            product: event.product,
            product_version: event.product_version,
            runtime_line: event.runtime_line,
            catalogue_revision: event.catalogue_revision,
            install_id: event.install_id,
            point: event.point,
        })
    }

    fn check_in(
        &self,
        catalogue: &Catalogue,
        event: &ReceivedEvent,
        now: SystemTime,
    ) -> Result<(), Refusal> {
        if !is_lower_hex(&event.event_id, 32) {
            return Err(Refusal::new(
                Reason::BadEventId,
                "the event id must be 32 lower-case hex digits",
            ));
        }
        let time_us = parse_time_us(&event.time)?;
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
        match (&event.install_id, catalogue.spec().collection.install_id) {
            (Some(_), false) => {
                return Err(Refusal::new(
                    Reason::UndeclaredInstallId,
                    "the catalogue declares no install id",
                ));
            }
            (Some(id), true) if !is_lower_hex(id, 32) => {
                return Err(Refusal::new(
                    Reason::UndeclaredInstallId,
                    "an install id is 32 lower-case hex digits",
                ));
            }
            _ => {}
        }
        catalogue
            .runtime_line(&event.runtime_line)
            .map_err(|e| Refusal::new(Reason::UnknownRuntimeLine, e.to_string()))?;
        // The sender's envelope holds version text only (`Event::declared` checks it); the
        // line's scheme alone would let build metadata carry any text.
        if !candor_schema::is_version_text(&event.product_version) {
            return Err(Refusal::new(
                Reason::BadVersion,
                format!(
                    "`{}` is not a version number",
                    shown(&event.product_version)
                ),
            ));
        }
        let version = catalogue
            .parse_version(&event.runtime_line, &event.product_version)
            .map_err(|e| Refusal::new(Reason::BadVersion, e.to_string()))?;
        let point = catalogue
            .data_point(&event.point)
            .map_err(|e| Refusal::new(Reason::UndeclaredPoint, e.to_string()))?;
        let in_effect = catalogue
            .is_in_effect(&event.point, &event.runtime_line, &version)
            .map_err(|e| Refusal::new(Reason::UndeclaredPoint, e.to_string()))?;
        if !in_effect {
            return Err(Refusal::new(
                Reason::NotInEffect,
                format!(
                    "`{}` is not collected by {} {}",
                    point.id,
                    shown(&event.runtime_line),
                    shown(&event.product_version)
                ),
            ));
        }
        if point.value.kind_name() != event.value.kind_name() {
            return Err(Refusal::new(
                Reason::WrongKind,
                format!(
                    "`{}` is declared as {} but the value is {}",
                    point.id,
                    point.value.kind_name(),
                    event.value.kind_name()
                ),
            ));
        }
        let privacy = |(reason, what)| Refusal::new(reason, format!("`{}`: {what}", point.id));
        // Cheap checks first: a hash's form, then the declared shape and bounds (the same check
        // the sending side makes last, so the two ends cannot disagree about what a point
        // admits), and only then the scrubber's scan, over text already known to be bounded.
        check_hash(&point.value, &event.value).map_err(privacy)?;
        let value = event
            .value
            .to_schema_value()
            .map_err(|e| Refusal::new(Reason::OutOfBounds, format!("`{}`: {e}", point.id)))?;
        candor_schema::check_value(point, &value).map_err(|e| {
            let reason = match e.kind {
                candor_schema::MismatchKind::TooManyItems => Reason::TooManyItems,
                candor_schema::MismatchKind::UnsendableCharacter => Reason::ControlCharacter,
                candor_schema::MismatchKind::NegativeCount => Reason::NegativeCount,
                candor_schema::MismatchKind::OffLayout => Reason::OffLayout,
                candor_schema::MismatchKind::TooManyBuckets => Reason::TooManyBuckets,
                _ => Reason::OutOfBounds,
            };
            Refusal::new(reason, e.to_string())
        })?;
        self.check_clean(&event.value).map_err(privacy)?;
        self.check_verbatim(point.privacy, &event.value)
            .map_err(privacy)
    }

    /// Names, labels, modes, versions and language tags are sent as they are, so the sender
    /// checks them instead of scrubbing (`candor_privacy::check_identifier` and its siblings,
    /// or the scrubber's findings where the point is scrubbed); the same check runs here, so
    /// a client that skips it cannot store what the sender would have refused.
    fn check_verbatim(
        &self,
        privacy: PrivacyClass,
        value: &ReceivedValue,
    ) -> Result<(), (Reason, String)> {
        let check = |text: &str, grammar: fn(&Scrubber, &str) -> Result<(), IdentifierError>| {
            if privacy == PrivacyClass::Scrubbed {
                return match self.scrubber.findings(text).first() {
                    None => Ok(()),
                    Some((finding, _)) => Err((
                        Reason::PersonalData,
                        format!("a verbatim value holds a personal datum ({finding:?})"),
                    )),
                };
            }
            grammar(&self.scrubber, text).map_err(|e| match e {
                IdentifierError::Personal(_) | IdentifierError::HostInMetadata => {
                    (Reason::PersonalData, e.to_string())
                }
                _ => (Reason::OutOfBounds, e.to_string()),
            })
        };
        let language_tag = |_: &Scrubber, tag: &str| check_language_tag(tag);
        match value {
            ReceivedValue::Names(names) => {
                names.iter().try_for_each(|n| check(n, check_identifier))
            }
            ReceivedValue::LabelCounts(map) => {
                map.keys().try_for_each(|k| check(k, check_identifier))
            }
            ReceivedValue::ModeByName(map) => map.iter().try_for_each(|(name, mode)| {
                check(name, check_identifier)?;
                check(mode, check_identifier)
            }),
            ReceivedValue::Version(v) => check(v, check_version),
            ReceivedValue::LanguageTag(t) => check(t, language_tag),
            _ => Ok(()),
        }
    }

    /// Scrubbed and coarsened text holds no personal datum the client's own scrubber would
    /// have removed: the same detector, run without this server's machine literals.
    fn check_clean(&self, value: &ReceivedValue) -> Result<(), (Reason, String)> {
        let clean = |text: &str| -> Result<(), (Reason, String)> {
            match self.scrubber.findings(text).first() {
                None => Ok(()),
                Some((finding, _)) => Err((
                    Reason::PersonalData,
                    format!("the text still holds a personal datum ({finding:?})"),
                )),
            }
        };
        match value {
            ReceivedValue::Text(t) | ReceivedValue::UserAgent(t) => clean(t),
            ReceivedValue::Properties(map) => map.values().try_for_each(|v| clean(v)),
            ReceivedValue::Exception(e) => {
                clean(&e.message)?;
                if let Some(m) = &e.log_message {
                    clean(m)?;
                }
                e.frames.iter().try_for_each(|f| clean(f))
            }
            _ => Ok(()),
        }
    }
}

/// A hashed value has the form its declared algorithm gives: 64 hex digits for plain SHA-256,
/// `key-id:hex` for the keyed hash.
fn check_hash(declared: &ValueType, value: &ReceivedValue) -> Result<(), (Reason, String)> {
    let (ValueType::Hashed { algorithm }, ReceivedValue::Hashed(h)) = (declared, value) else {
        return Ok(());
    };
    let ok = match algorithm {
        HashAlgorithm::Sha256 => is_lower_hex(h, 64),
        HashAlgorithm::HmacSha256 => h.split_once(':').is_some_and(|(id, hex)| {
            (1..=32).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && (16..=64).contains(&hex.len())
                && is_lower_hex(hex, hex.len())
        }),
    };
    if ok {
        Ok(())
    } else {
        Err((
            Reason::BadHash,
            format!(
                "not a {} hash as Candor sends it",
                algorithm_name(*algorithm)
            ),
        ))
    }
}

fn algorithm_name(algorithm: HashAlgorithm) -> &'static str {
    match algorithm {
        HashAlgorithm::Sha256 => "SHA-256",
        HashAlgorithm::HmacSha256 => "keyed HMAC-SHA256",
    }
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Microseconds since the Unix epoch (negative before it).
pub(crate) fn micros(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => micros_of(d),
        Err(e) => -micros_of(e.duration()),
    }
}

fn micros_of(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// Reads an RFC 3339 time into microseconds since the epoch.
pub(crate) fn parse_time_us(text: &str) -> Result<i64, Refusal> {
    if text.len() > 40 {
        return Err(Refusal::new(Reason::BadTime, "the time is not RFC 3339"));
    }
    humantime::parse_rfc3339_weak(text)
        .map(micros)
        .map_err(|_| {
            Refusal::new(
                Reason::BadTime,
                format!("`{}` is not RFC 3339", shown(text)),
            )
        })
}

/// A client's text in a message: at most 40 characters, control characters escaped.
pub(crate) fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(40).flat_map(char::escape_debug).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}
