//! What a caller reads after a refusal, and the library's identity.

#![allow(unsafe_code)]

use std::ffi::c_char;

use crate::code::{self, CandorCode};
use crate::raw;
use crate::types::CANDOR_ABI_VERSION;

/// Copies this thread's last error message (UTF-8, one line) into `buf` (`cap` bytes, cut to
/// fit at a character boundary, always NUL-terminated when `cap` > 0) and returns its whole
/// length in bytes, without the NUL: `snprintf`'s contract, so `candor_last_error(NULL, 0)`
/// asks for the length. The message is the one left by the thread's last call that did not
/// return `CANDOR_CODE_OK`; empty if there was none.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn candor_last_error(buf: *mut c_char, cap: usize) -> usize {
    let message = std::panic::catch_unwind(code::last_message).unwrap_or_default();
    // SAFETY: the caller promises `buf` is NULL or has `cap` writable bytes.
    unsafe { raw::copy_truncated(&message, buf, cap) }
}

/// The name of a code as this header spells it (`"CANDOR_CODE_NULL"`), as a static
/// NUL-terminated string the caller must not free; `"CANDOR_CODE_UNKNOWN"` for a number that
/// is no code.
#[unsafe(no_mangle)]
pub extern "C" fn candor_code_name(code: i32) -> *const c_char {
    CandorCode::from_raw(code)
        .map_or(c"CANDOR_CODE_UNKNOWN", CandorCode::c_name)
        .as_ptr()
}

/// `CANDOR_ABI_VERSION` as the loaded library has it: a host compares it with the header it
/// was compiled against.
#[unsafe(no_mangle)]
pub extern "C" fn candor_abi_version() -> u32 {
    CANDOR_ABI_VERSION
}
