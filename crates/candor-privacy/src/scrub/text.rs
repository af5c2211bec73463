//! Preparing text for scanning and cutting the result to length.

use std::borrow::Cow;

use super::kernel::Kernel;

/// The most input a scrubber reads; anything beyond is cut (with the marker) before scanning.
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;
/// Appended to text that was cut to its length limit.
pub const TRUNCATION_MARKER: &str = "…[truncated]";
/// How much more than the limit is scanned, so that a secret straddling the limit is still seen
/// whole before the result is cut.
const SCAN_MARGIN: usize = 4096;

/// How far past the place text is cut it is scanned, so that a finding straddling that place
/// (a card's groups, a quoted name, a connection string's value, a few hundred bytes at most)
/// is seen whole, and kept only as its token.
const CUT_LOOKAHEAD: usize = 1024;

/// Text ready to scan.
pub(super) struct Prepared<'a> {
    /// Without control and bidirectional-override characters, and cut when long.
    pub(super) text: Cow<'a, str>,
    /// Whether the input was cut.
    pub(super) cut: bool,
    /// When cut, where in `text` what may be kept ends: `text` runs on past it by
    /// [`CUT_LOOKAHEAD`] so that what straddles it is seen whole.
    pub(super) keep: usize,
}

/// Removes control and bidirectional-override characters and cuts very long input before it is
/// scanned.
///
/// The cut is made at the last white space before the limit and a margin (a word is not cut
/// unless it is longer than the margin), and the text is scanned on past it by
/// [`CUT_LOOKAHEAD`]: a finding that straddles the cut is then recognised whole, and the
/// scrubber keeps it as its token. Scanning only up to the cut would leave a half secret (a
/// card's first groups, an IBAN's, a quoted address's local part) unrecognised, and an earlier
/// replacement could then pull it within the limit.
pub(super) fn prepare(text: &str, max_len: usize, kernel: Kernel) -> Prepared<'_> {
    let budget = max_len.saturating_add(SCAN_MARGIN).min(MAX_INPUT_BYTES);
    let mut cut = false;
    let mut scanned = text;
    let mut keep = text.len();
    if scanned.len() > budget {
        cut = true;
        let head = &scanned[..floor_char_boundary(scanned, budget)];
        keep = head
            .rfind(char::is_whitespace)
            .filter(|at| budget - at <= SCAN_MARGIN)
            .unwrap_or(head.len());
        let end = keep.saturating_add(CUT_LOOKAHEAD).min(MAX_INPUT_BYTES);
        scanned = &scanned[..floor_char_boundary(scanned, end)];
    }
    // Most text is printable ASCII: a byte scan settles it without decoding characters.
    if kernel.has_suspect_byte(scanned.as_bytes()) && scanned.chars().any(is_removed) {
        let mut kept = String::with_capacity(scanned.len());
        let mut kept_keep = 0;
        for (at, c) in scanned.char_indices() {
            if at == keep {
                kept_keep = kept.len();
            }
            if !is_removed(c) {
                kept.push(c);
            }
        }
        if keep >= scanned.len() {
            kept_keep = kept.len();
        }
        return Prepared {
            text: Cow::Owned(kept),
            cut,
            keep: kept_keep,
        };
    }
    Prepared {
        text: Cow::Borrowed(scanned),
        cut,
        keep: keep.min(scanned.len()),
    }
}

/// A byte that is not printable ASCII, a newline or a tab: where a character [`is_removed`]
/// may be.
fn suspect(b: u8) -> bool {
    (b < 0x20 && b != b'\n' && b != b'\t') || b >= 0x7f
}

/// True when `bytes` holds a [`suspect`] byte: the scalar form (see `kernel`). Sixty-four bytes
/// are tested at a time without an early exit, which the compiler turns into vector code of
/// the target's baseline.
pub(super) fn has_suspect_byte(bytes: &[u8]) -> bool {
    let mut blocks = bytes.chunks_exact(64);
    let found = blocks.any(|block| block.iter().fold(false, |any, &b| any | suspect(b)));
    found || blocks.remainder().iter().any(|&b| suspect(b))
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

/// The smallest character boundary of `text` at or after `at`.
pub(super) fn ceil_char_boundary(text: &str, at: usize) -> usize {
    let mut end = at.min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suspect_byte_is_seen_wherever_it_lies() {
        for kernel in Kernel::all() {
            for b in 0..=255u8 {
                for at in [0, 15, 16, 31, 32, 63, 64, 100, 127, 128, 129] {
                    let mut text = vec![b'a'; 130];
                    text[at] = b;
                    assert_eq!(
                        kernel.has_suspect_byte(&text),
                        suspect(b),
                        "{b:#04x} at {at} by {kernel:?}"
                    );
                }
            }
        }
    }
}
