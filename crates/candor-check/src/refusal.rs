//! Why an event is refused: a stable code and a sentence.

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
    /// The request had already stored what its size allows (the receiving end's storage
    /// allowance): the events after that point are refused. Only the receiving end says it.
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
    /// A refusal for `reason`, its detail cut to a bounded length.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
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

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.detail, self.reason.code())
    }
}
