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
    /// array, a duplicate key, a negative or non-finite number).
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
}

/// Every code, in numeric order.
const ALL_CODES: [CandorCode; 10] = [
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

/// Keeps `refusal`'s message for this thread and returns its code.
pub(crate) fn note(refusal: Refusal) -> CandorCode {
    // A thread being torn down has no slot left; the code still tells the caller.
    let _ = LAST_ERROR.try_with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = refusal.message;
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
