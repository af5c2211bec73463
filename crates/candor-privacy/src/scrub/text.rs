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
    // Whole blocks are tested without an early exit so the test compiles to vector code.
    let suspect = |b: u8| (b < 0x20 && b != b'\n' && b != b'\t') || b >= 0x7f;
    let suspicious = scanned
        .as_bytes()
        .chunks(64)
        .any(|block| block.iter().fold(false, |any, &b| any | suspect(b)));
    if suspicious && scanned.chars().any(is_removed) {
        return (
            Cow::Owned(scanned.chars().filter(|c| !is_removed(*c)).collect()),
            cut,
        );
    }
    (Cow::Borrowed(scanned), cut)
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
