//! What the validators share: classes of bytes, runs of them (remembered where a run could be
//! asked for again), replacement tokens met in text already scrubbed, and adding a span.
//!
//! Validators only ever stop at ASCII bytes, so every span they produce lies on character
//! boundaries.

use super::{Finding, Span};

pub(crate) fn is_alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub(crate) fn is_base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A UTF-8 continuation byte: the middle of a character.
pub(crate) fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// True when `bytes[at - 1]` does not continue a word (or `at` is the start).
pub(crate) fn boundary_before(bytes: &[u8], at: usize) -> bool {
    at == 0 || !is_word(bytes[at - 1])
}

/// Where the run of bytes of `class` from `from` ends.
pub(crate) fn run(bytes: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
    let from = from.min(bytes.len());
    bytes[from..]
        .iter()
        .position(|b| !class(*b))
        .map_or(bytes.len(), |n| from + n)
}

/// Like [`run`], looking no further than `limit` bytes from `from`.
pub(crate) fn run_within(
    bytes: &[u8],
    from: usize,
    limit: usize,
    class: impl Fn(u8) -> bool,
) -> usize {
    run(
        &bytes[..bytes.len().min(from.saturating_add(limit))],
        from,
        class,
    )
}

/// Where the run of bytes of `class` that ends at `to` starts, looking back no further than
/// `limit` bytes.
pub(crate) fn run_back(bytes: &[u8], to: usize, limit: usize, class: impl Fn(u8) -> bool) -> usize {
    let floor = to.saturating_sub(limit);
    let mut at = to;
    while at > floor && class(bytes[at - 1]) {
        at -= 1;
    }
    at
}

/// Where a run of bytes of one class ends, remembered between calls.
///
/// Triggers come in text order, and many can fall inside one long run (`eyJeyJeyJ…`); scanning
/// the run again for each would be quadratic. A query from inside the run remembered returns its
/// end at once, and a query from a little before it scans only up to it, so each call site scans
/// every byte a bounded number of times. One memo serves one class of bytes only.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RunMemo {
    known: Option<(usize, usize)>,
}

impl RunMemo {
    pub(crate) fn run(&mut self, bytes: &[u8], from: usize, class: impl Fn(u8) -> bool) -> usize {
        let from = from.min(bytes.len());
        if let Some((start, end)) = self.known {
            if (start..=end).contains(&from) {
                return end;
            }
            if from < start {
                let mut at = from;
                while at < start && class(bytes[at]) {
                    at += 1;
                }
                let end = if at == start { end } else { at };
                self.known = Some((from, end));
                return end;
            }
        }
        let end = run(bytes, from, class);
        self.known = Some((from, end));
        end
    }
}

/// True when a value starts with a replacement token: a previous pass already replaced it, and
/// scanning on past the token would swallow text the first pass kept.
pub(crate) fn starts_with_token(bytes: &[u8], at: usize) -> bool {
    bytes
        .get(at..)
        .is_some_and(|rest| super::leading_token_len(rest).is_some())
}

/// The start of the replacement token that ends just before `at`, if one does.
pub(crate) fn token_ending_at(bytes: &[u8], at: usize) -> Option<usize> {
    if at == 0 || bytes[at - 1] != b']' {
        return None;
    }
    let before = &bytes[..at];
    super::replacement_tokens()
        .find(|token| before.ends_with(token.as_bytes()))
        .map(|token| at - token.len())
}

pub(crate) fn push(spans: &mut Vec<Span>, start: usize, end: usize, finding: Finding) {
    if start < end {
        spans.push(Span::new(start, end, finding));
    }
}

/// Bytes that end a folder's name in a path.
pub(crate) fn path_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'\\'
                | b'/'
                | b'"'
                | b'\''
                | b'<'
                | b'>'
                | b'|'
                | b':'
                | b';'
                | b','
                | b'('
                | b')'
                | b'`'
                | b'*'
                | b'?'
                | b'%'
                | b'&'
        )
}

/// True when a whole word from `words` (compared ignoring ASCII case) ends within `reach` bytes
/// before `at` on the same line, with only blanks and punctuation from `between` after it. Used
/// for context: `for user CORP\jdoe`, `SSN: 123456789`.
pub(crate) fn word_before(
    bytes: &[u8],
    at: usize,
    reach: usize,
    between: &[u8],
    words: &[&str],
) -> bool {
    let floor = at.saturating_sub(reach);
    let mut end = at;
    while end > floor && (bytes[end - 1] == b' ' || between.contains(&bytes[end - 1])) {
        end -= 1;
    }
    let start = run_back(bytes, end, 32, |b| b.is_ascii_alphabetic());
    if start == end || (start > 0 && is_word(bytes[start - 1])) {
        return false;
    }
    let word = &bytes[start..end];
    words
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
}

/// True when one of `needles` (lower case) occurs, ignoring ASCII case, within `reach` bytes
/// before `at` on the same line: context such as `SSN:` or `Steuer-ID` for a number that
/// could be anything without it.
pub(crate) fn mentioned_before(bytes: &[u8], at: usize, reach: usize, needles: &[&str]) -> bool {
    let floor = at.saturating_sub(reach);
    let from = memchr::memrchr(b'\n', &bytes[floor..at]).map_or(floor, |n| floor + n + 1);
    let window = &bytes[from..at];
    needles.iter().any(|needle| {
        let needle = needle.as_bytes();
        window.len() >= needle.len()
            && window
                .windows(needle.len())
                .any(|w| w.eq_ignore_ascii_case(needle))
    })
}
