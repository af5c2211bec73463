//! What every entry point returns: a code, and for anything but [`CandorCode::Ok`] a message the
//! caller reads with `candor_last_error` on the same thread.

use std::cell::RefCell;
use std::ffi::CStr;

/// The result of a call. Every entry point returns one; only `CANDOR_CODE_OK` means it did what it
/// says. Any other code leaves a one-line message for `candor_last_error` on the calling
/// thread (until that thread's next failing call).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CandorCode {
    /// Done.
    Ok = 0,
    /// A required pointer was NULL.
    Null = 1,
    /// A string was not UTF-8.
    Utf8 = 2,
    /// A string was longer than `CANDOR_MAX_STRING_BYTES` (the catalogue text:
    /// `CANDOR_MAX_CATALOGUE_BYTES`), or a list had more than `CANDOR_MAX_ITEMS` items.
    TooLarge = 3,
    /// An argument has a value the call cannot take (an unknown sink kind, a misaligned
    /// array, a duplicate key, a measurement that is negative, infinite or NaN).
    InvalidArgument = 4,
    /// The handle was never issued by this library, or is of the other kind (a builder where a
    /// telemetry handle is wanted, or the reverse).
    UnknownHandle = 5,
    /// The handle was issued but is gone: the telemetry was shut down, or the builder was
    /// built or freed. Nothing was done.
    Closed = 6,
    /// The builder's settings were refused (unknown product or runtime line, missing or
    /// unreadable version, an endpoint Candor will not send to, an unusable folder).
    Build = 7,
    /// The caller's buffer is too small; the length needed was written to the length
    /// out-parameter and the buffer was left as it was.
    BufferTooSmall = 8,
    /// Candor failed inside (a bug); the failure was contained and nothing crossed the
    /// boundary.
    Internal = 9,
    /// The handle or builder was made in the process this one was forked from: nothing
    /// Candor holds survives `fork()` (its threads stay in the parent, its locks may be held
    /// by threads that do not exist here). Nothing was done; build a new handle in this
    /// process.
    Forked = 10,
    /// This process already holds `CANDOR_MAX_HANDLES` running handles, or
    /// `CANDOR_MAX_BUILDERS` builders not yet built or freed. Nothing was done: shut a
    /// handle down (or free a builder) first. One handle per product per process is enough.
    Limit = 11,
    /// The catalogue does not follow the consent signal the call passes on (a host opt-out
    /// for a product whose catalogue does not honour its host's opt-out). Nothing changed:
    /// the product's own consent rules still decide, and a host that must not send stops
    /// recording and shuts its handle down itself.
    NotHonoured = 12,
    /// Candor's folder could not be read or written (the notice's marker); the message says
    /// which file and why. Nothing was recorded.
    State = 13,
}

/// Every code, in numeric order.
const ALL_CODES: [CandorCode; 14] = [
    CandorCode::Ok,
    CandorCode::Null,
    CandorCode::Utf8,
    CandorCode::TooLarge,
    CandorCode::InvalidArgument,
    CandorCode::UnknownHandle,
    CandorCode::Closed,
    CandorCode::Build,
    CandorCode::BufferTooSmall,
    CandorCode::Internal,
    CandorCode::Forked,
    CandorCode::Limit,
    CandorCode::NotHonoured,
    CandorCode::State,
];

impl CandorCode {
    /// The code with this number, if any.
    pub fn from_raw(n: i32) -> Option<Self> {
        ALL_CODES.into_iter().find(|c| *c as i32 == n)
    }

    /// The code's name as the header spells it, NUL-terminated.
    pub fn c_name(self) -> &'static CStr {
        match self {
            Self::Ok => c"CANDOR_CODE_OK",
            Self::Null => c"CANDOR_CODE_NULL",
            Self::Utf8 => c"CANDOR_CODE_UTF8",
            Self::TooLarge => c"CANDOR_CODE_TOO_LARGE",
            Self::InvalidArgument => c"CANDOR_CODE_INVALID_ARGUMENT",
            Self::UnknownHandle => c"CANDOR_CODE_UNKNOWN_HANDLE",
            Self::Closed => c"CANDOR_CODE_CLOSED",
            Self::Build => c"CANDOR_CODE_BUILD",
            Self::BufferTooSmall => c"CANDOR_CODE_BUFFER_TOO_SMALL",
            Self::Internal => c"CANDOR_CODE_INTERNAL",
            Self::Forked => c"CANDOR_CODE_FORKED",
            Self::Limit => c"CANDOR_CODE_LIMIT",
            Self::NotHonoured => c"CANDOR_CODE_NOT_HONOURED",
            Self::State => c"CANDOR_CODE_STATE",
        }
    }

    /// The code's name as the header spells it.
    pub fn name(self) -> &'static str {
        self.c_name().to_str().unwrap_or("CANDOR_CODE_UNKNOWN")
    }
}

/// A refused call: its code and the message the caller will read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// The code returned.
    pub(crate) code: CandorCode,
    /// One line saying what was wrong, naming the argument.
    pub(crate) message: String,
}

impl Refusal {
    /// A refusal with `code` and `message`.
    pub(crate) fn new(code: CandorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

thread_local! {
    /// The last refusal's message on this thread.
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
}

/// The most characters of a message a caller reads.
const MAX_MESSAGE_CHARS: usize = 1000;

/// `message` as one line a caller can print or log as it is: control characters (a NUL, a
/// newline, a carriage return, an escape sequence's ESC) and bidi overrides escaped as
/// `\u{..}`, and cut to [`MAX_MESSAGE_CHARS`] with a note of how much was left out. Messages
/// quote the caller's own text (a product id, a version, a folder), which may hold any of them.
fn one_line(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_MESSAGE_CHARS * 2));
    for (kept, (at, c)) in message.char_indices().enumerate() {
        if kept == MAX_MESSAGE_CHARS {
            out.push_str(&format!("… ({} more bytes)", message.len() - at));
            break;
        }
        let hidden = c.is_control()
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}');
        if hidden {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Keeps `refusal`'s message for this thread, made one line, and returns its code.
pub(crate) fn note(refusal: Refusal) -> CandorCode {
    let message = one_line(&refusal.message);
    // A thread being torn down has no slot left; the code still tells the caller.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = message;
        }
    });
    refusal.code
}

/// This thread's last message (empty when no call on it has failed).
pub(crate) fn last_message() -> String {
    LAST_ERROR
        .try_with(|slot| slot.try_borrow().map(|s| s.clone()).unwrap_or_default())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_one_line_whatever_the_caller_gave() {
        assert_eq!(
            one_line("product `evil\nsecond\u{1b}[31m\r\0x`"),
            "product `evil\\u{a}second\\u{1b}[31m\\u{d}\\u{0}x`"
        );
        assert_eq!(one_line("é\u{202e}abc"), "é\\u{202e}abc");
        let long = one_line(&"z".repeat(5000));
        assert!(long.ends_with("… (4000 more bytes)"), "{long}");
        for code in ALL_CODES {
            assert_eq!(CandorCode::from_raw(code as i32), Some(code));
            assert!(code.name().starts_with("CANDOR_CODE_"));
        }
    }
}
