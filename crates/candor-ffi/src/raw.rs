//! The one place that reads or writes through a caller's pointers. Every read checks the
//! pointer (NULL, alignment) and the length against its cap *before* touching memory, and
//! borrows only for the current call: the entry points copy what they keep.

#![allow(unsafe_code)]

use std::ffi::c_char;

use candor::RawException;

use crate::code::{CandorCode, Refusal};
use crate::types::{CANDOR_MAX_ITEMS, CANDOR_MAX_STRING_BYTES, CandorException, CandorStr};

fn null(what: &str) -> Refusal {
    Refusal::new(CandorCode::Null, format!("{what} is NULL"))
}

/// `len` bytes at `ptr` as UTF-8 text, at most `cap` bytes.
///
/// # Safety
/// `ptr` is NULL or points to `len` readable bytes that no one writes during the call.
pub(crate) unsafe fn text_capped<'a>(
    ptr: *const c_char,
    len: usize,
    cap: usize,
    what: &str,
) -> Result<&'a str, Refusal> {
    if ptr.is_null() {
        return Err(null(what));
    }
    if len > cap {
        return Err(Refusal::new(
            CandorCode::TooLarge,
            format!("{what} is {len} bytes; at most {cap} are taken"),
        ));
    }
    // SAFETY: `ptr` is not NULL, the caller promises `len` readable bytes there, unchanged
    // during this call, and `len` is at most `cap`, far below `isize::MAX`; `u8` has no
    // alignment requirement.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|e| {
        Refusal::new(
            CandorCode::Utf8,
            format!(
                "{what} is not UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })
}

/// [`text_capped`] with the common cap, `CANDOR_MAX_STRING_BYTES`.
///
/// # Safety
/// As [`text_capped`].
pub(crate) unsafe fn text<'a>(
    ptr: *const c_char,
    len: usize,
    what: &str,
) -> Result<&'a str, Refusal> {
    // SAFETY: the caller's promise about `ptr` and `len` is passed on unchanged.
    unsafe { text_capped(ptr, len, CANDOR_MAX_STRING_BYTES, what) }
}

/// A string that may be absent: NULL with length 0 is `None`; NULL with a length is refused.
///
/// # Safety
/// As [`text_capped`].
pub(crate) unsafe fn optional_text<'a>(
    ptr: *const c_char,
    len: usize,
    what: &str,
) -> Result<Option<&'a str>, Refusal> {
    if ptr.is_null() {
        if len == 0 {
            return Ok(None);
        }
        return Err(Refusal::new(
            CandorCode::Null,
            format!("{what} is NULL but its length is {len}"),
        ));
    }
    // SAFETY: the caller's promise about `ptr` and `len` is passed on unchanged.
    unsafe { text(ptr, len, what) }.map(Some)
}

/// `count` items at `ptr`; NULL with `count` 0 is the empty list.
///
/// # Safety
/// `ptr` is NULL or points to `count` initialised, readable `T` that no one writes during the
/// call.
pub(crate) unsafe fn array<'a, T>(
    ptr: *const T,
    count: usize,
    what: &str,
) -> Result<&'a [T], Refusal> {
    if count > CANDOR_MAX_ITEMS {
        return Err(Refusal::new(
            CandorCode::TooLarge,
            format!("{what} has {count} items; at most {CANDOR_MAX_ITEMS} are taken"),
        ));
    }
    if ptr.is_null() {
        if count == 0 {
            return Ok(&[]);
        }
        return Err(null(what));
    }
    if !ptr.is_aligned() {
        return Err(Refusal::new(
            CandorCode::InvalidArgument,
            format!("{what} is not aligned for its item type"),
        ));
    }
    // SAFETY: `ptr` is not NULL and aligned, the caller promises `count` initialised items
    // there, unchanged during this call, and `count` is capped so the size fits `isize`.
    Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
}

/// Each string of a `CandorStr` list, borrowed for the call.
///
/// # Safety
/// `ptr` as for [`array`]; each item's `ptr`/`len` as for [`text_capped`].
pub(crate) unsafe fn strings<'a>(
    ptr: *const CandorStr,
    count: usize,
    what: &str,
) -> Result<Vec<&'a str>, Refusal> {
    // SAFETY: the caller's promise about the list is passed on unchanged.
    let items = unsafe { array(ptr, count, what) }?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        // SAFETY: the caller promises each item's `ptr` and `len` describe readable bytes.
        out.push(unsafe { text(item.ptr, item.len, &format!("{what}[{i}]")) }?);
    }
    Ok(out)
}

/// The exception at `ptr`, copied.
///
/// # Safety
/// `ptr` is NULL or points to an initialised `CandorException` whose strings are as for
/// [`text_capped`] (or NULL with length 0 where absent is allowed).
pub(crate) unsafe fn exception(ptr: *const CandorException) -> Result<RawException, Refusal> {
    if ptr.is_null() {
        return Err(null("exception"));
    }
    if !ptr.is_aligned() {
        return Err(Refusal::new(
            CandorCode::InvalidArgument,
            "exception is not aligned for CandorException",
        ));
    }
    // SAFETY: not NULL, aligned, and the caller promises an initialised struct; it is `Copy`
    // (plain pointers and lengths), so reading it copies it out.
    let e = unsafe { ptr.read() };
    // SAFETY: the caller promises the field's `ptr` and `len` describe readable bytes.
    let type_name = unsafe { text(e.type_name.ptr, e.type_name.len, "exception.type_name") }?;
    // SAFETY: as above, or NULL and 0 (absent).
    let message = unsafe { optional_text(e.message.ptr, e.message.len, "exception.message") }?;
    // SAFETY: as above, or NULL and 0 (absent).
    let stack = unsafe { optional_text(e.stack.ptr, e.stack.len, "exception.stack") }?;
    let (log_ptr, log_len) = (e.log_message.ptr, e.log_message.len);
    // SAFETY: as above, or NULL and 0 (absent).
    let log = unsafe { optional_text(log_ptr, log_len, "exception.log_message") }?;
    Ok(RawException {
        type_name: type_name.to_owned(),
        message: message.unwrap_or_default().to_owned(),
        stack: stack.unwrap_or_default().to_owned(),
        log_message: log.map(str::to_owned),
    })
}

/// An output pointer checked (not NULL, aligned) before the call acts, so that a call refused
/// for its output has done nothing. Writing through it cannot fail.
pub(crate) struct Out<T> {
    ptr: std::ptr::NonNull<T>,
}

impl<T> Out<T> {
    /// Checks a required output pointer.
    ///
    /// # Safety
    /// `ptr` is NULL or points to memory writable for one `T` for the rest of the call.
    pub(crate) unsafe fn required(ptr: *mut T, what: &str) -> Result<Self, Refusal> {
        let Some(ptr) = std::ptr::NonNull::new(ptr) else {
            return Err(null(what));
        };
        if !ptr.as_ptr().is_aligned() {
            return Err(Refusal::new(
                CandorCode::InvalidArgument,
                format!("{what} is not aligned for its type"),
            ));
        }
        Ok(Self { ptr })
    }

    /// Checks an output pointer the caller may leave NULL (then nothing will be written).
    ///
    /// # Safety
    /// As [`Out::required`].
    pub(crate) unsafe fn optional(ptr: *mut T, what: &str) -> Result<Option<Self>, Refusal> {
        if ptr.is_null() {
            return Ok(None);
        }
        // SAFETY: the caller's promise about `ptr` is passed on unchanged.
        unsafe { Self::required(ptr, what) }.map(Some)
    }

    /// Writes `value`.
    pub(crate) fn write(self, value: T) {
        // SAFETY: not NULL and aligned (checked when made), and the caller promised it
        // writable for the call, which is still under way (an `Out` is made and used inside
        // one entry point); `T` is a plain C type here (integers and `CandorStatus`), so
        // nothing is dropped by overwriting it.
        unsafe { self.ptr.as_ptr().write(value) };
    }
}

/// Copies `text` and a terminating NUL into `buf` (`cap` bytes) and its length (without the
/// NUL) to `out_len`. A buffer too small is left untouched and refused with
/// `CANDOR_CODE_BUFFER_TOO_SMALL`; `buf` may be NULL when `cap` is 0, to ask for the length.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
pub(crate) unsafe fn copy_out(
    text: &str,
    buf: *mut c_char,
    cap: usize,
    out_len: Out<usize>,
) -> Result<(), Refusal> {
    out_len.write(text.len());
    if cap <= text.len() {
        return Err(Refusal::new(
            CandorCode::BufferTooSmall,
            format!(
                "the buffer holds {cap} bytes; {} are needed (with the NUL)",
                text.len() + 1
            ),
        ));
    }
    if buf.is_null() {
        return Err(null("buf"));
    }
    // SAFETY: `buf` is not NULL and the caller promises `cap` writable bytes, of which
    // `text.len() + 1 <= cap` are written; `text` is Candor's own string, so the ranges
    // cannot overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
        buf.add(text.len()).write(0);
    }
    Ok(())
}

/// Copies as much of `text` as fits into `buf` (`cap` bytes, cut at a character boundary) and
/// a NUL; returns the whole length. `snprintf`'s contract, for the last error.
///
/// # Safety
/// `buf` is NULL or points to `cap` writable bytes.
pub(crate) unsafe fn copy_truncated(text: &str, buf: *mut c_char, cap: usize) -> usize {
    if buf.is_null() || cap == 0 {
        return text.len();
    }
    let mut take = text.len().min(cap - 1);
    while !text.is_char_boundary(take) {
        take -= 1;
    }
    // SAFETY: `buf` is not NULL and the caller promises `cap` writable bytes, of which
    // `take + 1 <= cap` are written; `text` is Candor's own string, so no overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), take);
        buf.add(take).write(0);
    }
    text.len()
}
