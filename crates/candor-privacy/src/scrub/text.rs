//! Preparing text for scanning and cutting the result to length.

use std::borrow::Cow;

/// The most input a scrubber reads; anything beyond is cut (with the marker) before scanning.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Appended to text that was cut to its length limit.
pub const TRUNCATION_MARKER: &str = "…[truncated]";
/// How much more than the limit is scanned, so that a secret straddling the limit is still seen
/// whole before the result is cut.
const SCAN_MARGIN: usize = 4096;

/// Removes control and bidirectional-override characters and cuts very long input before it is
/// scanned. Returns the text and whether it was cut.
///
/// The cut backs off to the last white space, so a secret is never scanned half: a half secret
/// might not be recognised, and its visible half would then be sent.
pub(super) fn prepare(text: &str, max_len: usize) -> (Cow<'_, str>, bool) {
    let budget = max_len.saturating_add(SCAN_MARGIN).min(MAX_INPUT_BYTES);
    let mut cut = false;
    let mut scanned = text;
    if scanned.len() > budget {
        cut = true;
        let head = &scanned[..floor_char_boundary(scanned, budget)];
        let end = head.rfind(char::is_whitespace).unwrap_or(0);
        scanned = &head[..end];
    }
    // Most text is printable ASCII: a byte scan settles it without decoding characters.
    if has_suspect_byte(scanned.as_bytes()) && scanned.chars().any(is_removed) {
        return (
            Cow::Owned(scanned.chars().filter(|c| !is_removed(*c)).collect()),
            cut,
        );
    }
    (Cow::Borrowed(scanned), cut)
}

/// A byte that is not printable ASCII, a newline or a tab: where a character [`is_removed`]
/// may be.
fn suspect(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') || b >= 0x7f
}

/// True when `bytes` holds a [`suspect`] byte. Sixty-four bytes are tested at a time without
/// an early exit, with vector comparisons where SSE2 is available.
fn has_suspect_byte(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(64);
    let found = blocks.any(|block| suspect_in_block(block.try_into().expect("64 bytes")));
    found || blocks.remainder().iter().any(|&b| suspect(b))
}

#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
))]
#[inline(always)]
fn suspect_in_block(block: &[u8; 64]) -> bool {
    use safe_arch::{
        bitandnot_m128i, bitor_m128i as or, cmp_eq_mask_i8_m128i as equal,
        cmp_lt_mask_i8_m128i as less, load_unaligned_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i as splat,
    };
    let mut any = splat(0);
    for k in 0..4 {
        let v = load_unaligned_m128i(block[16 * k..16 * k + 16].try_into().expect("16 bytes"));
        // Signed: below 0x20 is the control bytes and every byte from 0x80.
        let low_or_high = less(v, splat(0x20));
        let allowed = or(equal(v, splat(b'\n' as i8)), equal(v, splat(b'\t' as i8)));
        any = or(
            any,
            or(bitandnot_m128i(allowed, low_or_high), equal(v, splat(0x7f))),
        );
    }
    move_mask_i8_m128i(any) != 0
}

#[cfg(not(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
)))]
#[inline(always)]
fn suspect_in_block(block: &[u8; 64]) -> bool {
    block.iter().fold(false, |any, &b| any | suspect(b))
}

fn is_removed(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Cuts the scrubbed text to `max_len` bytes (marker included) on a character boundary.
pub(super) fn finish(mut text: String, max_len: usize, already_cut: bool) -> String {
    if text.len() <= max_len && !already_cut {
        return text;
    }
    if max_len < TRUNCATION_MARKER.len() {
        text.truncate(floor_char_boundary(&text, max_len));
        return text;
    }
    text.truncate(floor_char_boundary(
        &text,
        max_len - TRUNCATION_MARKER.len(),
    ));
    text.push_str(TRUNCATION_MARKER);
    text
}

/// The largest character boundary of `text` at or before `at`.
pub(super) fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suspect_byte_is_seen_wherever_it_lies() {
        for b in 0..=255u8 {
            for at in [0, 15, 16, 31, 63, 64, 100] {
                let mut text = vec![b'a'; 130];
                text[at] = b;
                assert_eq!(has_suspect_byte(&text), suspect(b), "{b:#04x} at {at}");
            }
        }
    }
}
