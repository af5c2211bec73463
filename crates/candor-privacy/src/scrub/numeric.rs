//! Findings made of digits and separators: IPv4, IPv6 and MAC addresses, payment card, social
//! security and telephone numbers.
//!
//! One pass over the bytes. At the start of each run of digits, IPv4, card, social security and
//! national phone numbers are tried; at each `+` or `(`, international and parenthesised phone
//! numbers; at each colon or hyphen between hex digits, IPv6 and MAC addresses.
//!
//! Version strings are not addresses: `1.8.4` has three parts, a four-part `8.0.0.0` ends in
//! `.0` (a network, never a host), and `Version=8.2.1.1` or `Chrome/120.0.0.1` is preceded by a
//! word that says it is a version.
//!
//! National numbers with a trunk prefix (`020 7946 0958`, `0170 1234567`, `01 23 45 67 89`)
//! share their shape with dates, columns and identifiers, so the rule in [`trunk_phone`] is
//! narrow: a `0` then a non-zero digit, ten or eleven digits in groups of two or more under one
//! kind of separator, nothing number-like touching it, and a phone word (`tel`, `phone`,
//! `mobile`, `fax`, `☎`…) within 48 bytes before it on its line unless the grouping itself is
//! one that numbers of other kinds rarely take (`020 7946 0958`, `(020) 7946 0958`).

use super::blocks::{BLOCK, Masks};
use super::{Finding, Span};

/// The numeric scan's place in the text, kept from one block to the next.
///
/// Its work is found in the blocks' masks: the first digit of a number (not one carried on from
/// a word, `v2`, or a dotted number, `1.2`: those start nothing, except after a letter, where
/// an IBAN may start), a `+` or `(` before a digit (international and parenthesised phone
/// numbers), and a `:` or `-` between hex digits (IPv6 and MAC addresses) or doubled (`::1`).
/// Most digits, colons and hyphens in log text are none of these, and are never looked at one
/// by one.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Where the next finding may start: everything before was examined.
    next: usize,
    /// Ends of runs already examined, so a long run is looked at once, not at every separator.
    hex_run_done: usize,
}

/// Where in the block whose masks are `current` the scan has work, given the
/// blocks before and after it.
#[inline(always)]
pub(crate) fn events(previous: &Masks, current: &Masks, next: &Masks) -> u64 {
    // Bit i of `before(x)` says byte i - 1 of the block is in class x, of `after(x)` byte
    // i + 1.
    let before = |now: u64, then: u64| now << 1 | then >> 63;
    let after = |now: u64, then: u64| now >> 1 | then << 63;
    let digits = current.digit
        & !before(current.digit, previous.digit)
        & (!before(current.wordish, previous.wordish) | before(current.letter, previous.letter));
    let openings = current.opening & after(current.digit, next.digit);
    let hex_before = before(current.hex, previous.hex);
    let hex_after = after(current.hex, next.hex);
    let colon_after = after(current.colon, next.colon);
    let colons = current.colon & (hex_before & (hex_after | colon_after) | colon_after);
    let dashes = current.dash & hex_before & (hex_after | after(current.dash, next.dash));
    digits | openings | colons | dashes
}

impl Scan {
    /// Visits the `events` (see [`events`]) of the block at `block` that lie past
    /// what earlier findings covered.
    pub(crate) fn block(
        &mut self,
        bytes: &[u8],
        block: usize,
        mut events: u64,
        spans: &mut Vec<Span>,
    ) {
        let block_end = block + BLOCK;
        loop {
            if self.next >= block_end {
                return;
            }
            if self.next > block {
                events &= u64::MAX << (self.next - block);
            }
            if events == 0 {
                return;
            }
            let i = block + events.trailing_zeros() as usize;
            events &= events - 1;
            self.visit(bytes, i, spans);
        }
    }

    /// The shapes that may start at `i`, an event; moves [`Scan::next`] past what was examined.
    fn visit(&mut self, bytes: &[u8], i: usize, spans: &mut Vec<Span>) {
        let b = bytes[i];
        self.next = i + 1;
        if b.is_ascii_digit() {
            // What follows the digit run decides which shapes are possible at all: most numbers
            // in text (`12 ms`, `200`) are none, and skip the validators.
            let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            // The rest of this number cannot start anything new.
            self.next = i + digits;
            let after = bytes.get(i + digits).copied();
            let plausible = (digits <= 3 && after == Some(b'.'))
                || (digits == 3 && after == Some(b'-'))
                || ((b'2'..=b'6').contains(&b)
                    && (digits >= 13 || matches!(after, Some(b' ' | b'-'))))
                || (b == b'0' && could_open_trunk_phone(digits, after));
            if plausible && (i == 0 || !continues_number(bytes[i - 1])) {
                let found = ipv4(bytes, i)
                    .map(|e| (e, Finding::Ip))
                    .or_else(|| card(bytes, i).map(|e| (e, Finding::Card)))
                    .or_else(|| ssn(bytes, i).map(|e| (e, Finding::Ssn)))
                    .or_else(|| national_phone(bytes, i).map(|e| (e, Finding::Phone)))
                    .or_else(|| trunk_phone(bytes, i).map(|e| (e, Finding::Phone)));
                if let Some((end, finding)) = found {
                    spans.push(Span::new(i, end, finding));
                    self.next = end;
                    return;
                }
            }
            // `DE89…`: the digits after a word's two capitals may be an IBAN's check digits.
            if i >= 2
                && bytes[i - 1].is_ascii_uppercase()
                && bytes[i - 2].is_ascii_uppercase()
                && let Some(end) = super::shape::iban(bytes, i - 2)
            {
                spans.push(Span::new(i - 2, end, Finding::Iban));
            }
            return;
        }
        if b == b'+' || b == b'(' {
            if let Some(end) = phone(bytes, i) {
                spans.push(Span::new(i, end, Finding::Phone));
                self.next = end;
            }
            return;
        }
        if b == b':' && is_loopback_v6(bytes, i) {
            spans.push(Span::new(i, i + 3, Finding::Ip));
            self.next = i + 3;
            return;
        }
        // An address has a hex digit on both sides of its first separator (or `::`); `trace: x`
        // and `D:\\` are not worth a look.
        if i >= self.hex_run_done
            && i > 0
            && bytes[i - 1].is_ascii_hexdigit()
            && bytes
                .get(i + 1)
                .is_some_and(|n| n.is_ascii_hexdigit() || *n == b)
        {
            let (start, end, examined) = hex_run(bytes, i, b);
            self.hex_run_done = examined;
            if let Some(finding) = classify_hex_run(&bytes[start..end]) {
                spans.push(Span::new(start, end, finding));
                // The run may end before `i` (`31::8223:` ends at the last digit); always move
                // on.
                self.next = end.max(i + 1);
            }
        }
    }
}

/// `::1`, standing alone (not the tail of `std::1` or of a longer address).
fn is_loopback_v6(bytes: &[u8], at: usize) -> bool {
    bytes[at..].starts_with(b"::1")
        && (at == 0
            || !(bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b':' | b'.')))
        && !bytes
            .get(at + 3)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.'))
}

/// A US social security number, `AAA-GG-SSSS`, with the rules that make a number unissuable:
/// area 000, 666 or 900–999, group 00, serial 0000.
fn ssn(bytes: &[u8], start: usize) -> Option<usize> {
    let s = bytes.get(start..start + 11)?;
    let shape = s.iter().enumerate().all(|(i, b)| match i {
        3 | 6 => *b == b'-',
        _ => b.is_ascii_digit(),
    });
    if !shape
        || bytes
            .get(start + 11)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-')
    {
        return None;
    }
    let area = &s[..3];
    if area == b"000"
        || area == b"666"
        || area[0] == b'9'
        || &s[4..6] == b"00"
        || &s[7..] == b"0000"
    {
        return None;
    }
    Some(start + 11)
}

/// A North American number written `555-123-4567` or `555.123.4567`.
fn national_phone(bytes: &[u8], start: usize) -> Option<usize> {
    let s = bytes.get(start..start + 12)?;
    let sep = s[3];
    let shape = (sep == b'-' || sep == b'.')
        && s.iter().enumerate().all(|(i, b)| match i {
            3 | 7 => *b == sep,
            _ => b.is_ascii_digit(),
        });
    if !shape
        || bytes
            .get(start + 12)
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
    {
        return None;
    }
    Some(start + 12)
}

/// `+14155552671`, `+44 20 7946 0958`, `+49 (30) 1234567`, `(415) 555-2671`: a `+` and 8 to 15
/// digits (E.164), or a parenthesised three-digit area code and seven digits, with single
/// spaces, hyphens, dots or parentheses between groups.
fn phone(bytes: &[u8], start: usize) -> Option<usize> {
    if start > 0
        && (bytes[start - 1].is_ascii_alphanumeric()
            || matches!(bytes[start - 1], b'.' | b'+' | b'-' | b'_' | b'/' | b'('))
    {
        return None;
    }
    let international = bytes[start] == b'+';
    if !bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if !international && bytes[start + 1] == b'0' {
        // `(020) 7946 0958`: an area code with its trunk prefix.
        return trunk_phone(bytes, start);
    }
    let limit = bytes.len().min(start + 24);
    let valid = |digits: usize| {
        if international {
            (8..=15).contains(&digits)
        } else {
            // `(415) 555-2671`: the area code closed after three digits, ten in all.
            digits == 10 && bytes.get(start + 4) == Some(&b')')
        }
    };
    let mut digits = 0;
    let mut at = start + 1;
    let mut open = !international;
    // The longest end, at a group's last digit, that makes a number: a trailing group that runs
    // into a word (`+1 415 555 0173 0password`) is not part of it.
    let mut best = None;
    while at < limit {
        let b = bytes[at];
        if b.is_ascii_digit() {
            digits += 1;
            at += 1;
            let group_ends = !bytes.get(at).is_some_and(u8::is_ascii_digit);
            if group_ends
                && !open
                && valid(digits)
                && !bytes.get(at).is_some_and(u8::is_ascii_alphanumeric)
            {
                best = Some(at);
            }
        } else if b == b')' && open {
            open = false;
            at += 1;
        } else if b == b'(' && !open && digits > 0 {
            open = true;
            at += 1;
        } else if matches!(b, b' ' | b'-' | b'.')
            && bytes
                .get(at + 1)
                .is_some_and(|n| n.is_ascii_digit() || *n == b'(')
        {
            at += 1;
        } else {
            break;
        }
    }
    best
}

/// A first group that may open a [`trunk_phone`]: `0`, then one to four more digits, then a
/// separator.
fn could_open_trunk_phone(digits: usize, after: Option<u8>) -> bool {
    (2..=5).contains(&digits) && matches!(after, Some(b' ' | b'.' | b'-' | b'/'))
}

/// Words that say a number nearby is a telephone's, matched in lower case at the start of a
/// word (`Tel.:`, `phoneNumber`, `mobilePhone`, `Telefon`, `téléphone`, `fax`, `☎`).
const PHONE_WORDS: &[&str] = &[
    "tel",
    "tél",
    "tele",
    "telf",
    "telefon",
    "telefono",
    "teléfono",
    "telephone",
    "téléphone",
    "phone",
    "phones",
    "mobile",
    "mobil",
    "mobiel",
    "móvil",
    "movil",
    "cell",
    "cellphone",
    "cellular",
    "call",
    "fax",
    "handy",
    "portable",
    "sms",
    "whatsapp",
    "tlf",
    "puh",
    "puhelin",
    "☎",
    "📞",
];

/// How far before a number a [`PHONE_WORDS`] word is looked for, on the same line.
const PHONE_WORD_REACH: usize = 48;

/// A national number written with its trunk prefix, the way most countries outside North
/// America write one for use at home: UK `020 7946 0958`, `(020) 7946 0958`, `07700 900123`,
/// `0161 496 0123`, German `030 12345678`, `0170-1234567`, `030/12345678`, French
/// `01 23 45 67 89`, `06.12.34.56.78`, Dutch `06 12345678`, Japanese `090-1234-5678`,
/// Australian `02 9876 5432`. `start` is the `0`, or the `(` before it.
///
/// The rule, meant to leave dates, times, versions, sizes and table columns alone:
/// - a `0` then a digit from 1 to 9 (`00` starts an international call, not a trunk prefix);
/// - two to five groups of at least two digits each, ten or eleven digits in all
///   (`01.02.2024` has eight, `2024 01 15` no trunk `0`, `0 12 34` a one-digit group);
/// - one kind of separator between groups, used throughout: single spaces, dots or hyphens, or
///   a slash between exactly two groups (`030/12345678`, not `01/02/2024`); a parenthesised
///   first group (`(020) 7946 0958`) is followed by one space;
/// - not part of something longer: no digit, letter, dot, hyphen, slash, `+` or `_` right
///   before it, no digit one space before it (`… 17 01 23 45 67 89` is a row of numbers), and
///   nothing after it that carries on a number (a letter or digit, or a separator and a digit:
///   `01.02.2024 12:30`);
/// - and, unless it is written in a form that numbers of other kinds rarely take (a
///   parenthesised first group, or three or four groups whose first holds three to five digits:
///   the UK, Dutch and Japanese forms above), a word from [`PHONE_WORDS`] within
///   [`PHONE_WORD_REACH`] bytes before it on its line: two groups (`0170 1234567`) could be any
///   identifier, and pairs of digits (`01 23 45 67 89`) a row of a table, without one.
fn trunk_phone(bytes: &[u8], start: usize) -> Option<usize> {
    let parenthesised = bytes[start] == b'(';
    let first = start + usize::from(parenthesised);
    if bytes.get(first) != Some(&b'0') || !matches!(bytes.get(first + 1), Some(b'1'..=b'9')) {
        return None;
    }
    if start > 0 {
        let before = bytes[start - 1];
        if before.is_ascii_alphanumeric() || matches!(before, b'.' | b'-' | b'/' | b'+' | b'_') {
            return None;
        }
        if start > 1 && matches!(before, b' ' | b'\t') && bytes[start - 2].is_ascii_digit() {
            return None;
        }
    }
    let mut groups = [0usize; 5];
    let mut count = 0;
    let mut digits = 0;
    let mut separator = None;
    let mut at = first;
    if parenthesised {
        let area_end = at
            + bytes[at..]
                .iter()
                .take(6)
                .take_while(|b| b.is_ascii_digit())
                .count();
        if !(2..=5).contains(&(area_end - at))
            || bytes.get(area_end..area_end + 2) != Some(b") ")
            || !bytes.get(area_end + 2).is_some_and(u8::is_ascii_digit)
        {
            return None;
        }
        groups[0] = area_end - at;
        count = 1;
        digits = groups[0];
        at = area_end + 2;
    }
    loop {
        let group_start = at;
        // At most twelve digits are read: one more than a number may have settles it.
        while at < bytes.len() && bytes[at].is_ascii_digit() && digits + (at - group_start) < 12 {
            at += 1;
        }
        let length = at - group_start;
        if length < 2 || count == groups.len() {
            return None;
        }
        groups[count] = length;
        count += 1;
        digits += length;
        if digits > 11 {
            return None;
        }
        let next = bytes.get(at).copied();
        if !(next.is_some_and(|b| matches!(b, b' ' | b'.' | b'-' | b'/'))
            && bytes.get(at + 1).is_some_and(u8::is_ascii_digit))
        {
            break;
        }
        if separator.is_some_and(|s| Some(s) != next) {
            // A change of separator means the digits carry on into something else.
            return None;
        }
        separator = next;
        at += 1;
    }
    let end = at;
    let carries_on = bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+'))
        || matches!(bytes.get(end), Some(b'.' | b'-' | b'/' | b':' | b','))
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit);
    if count < 2
        || !(10..=11).contains(&digits)
        || separator == Some(b'/') && count != 2
        || carries_on
    {
        return None;
    }
    let distinctive = parenthesised || (3..=4).contains(&count) && (3..=5).contains(&groups[0]);
    (distinctive || phone_word_before(bytes, start)).then_some(end)
}

/// True when a whole [`PHONE_WORDS`] word lies within [`PHONE_WORD_REACH`] bytes before `at`,
/// on the same line. Whole words only: `telemetry`, `callback` and `cells` say nothing about
/// telephones. A word is a run of letters (a character of another script counts as one), and
/// `mobilePhone` is two.
fn phone_word_before(bytes: &[u8], at: usize) -> bool {
    let floor = at.saturating_sub(PHONE_WORD_REACH);
    let from = memchr::memrchr(b'\n', &bytes[floor..at]).map_or(floor, |n| floor + n + 1);
    let letter = |b: u8| b.is_ascii_alphabetic() || b >= 0x80;
    // The first word may have started before the window: it is not looked at.
    let mut i = from;
    if from > 0 && letter(bytes[from - 1]) {
        while i < at && letter(bytes[i]) {
            i += 1;
        }
    }
    while i < at {
        if !letter(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < at
            && letter(bytes[i])
            && !(bytes[i - 1].is_ascii_lowercase() && bytes[i].is_ascii_uppercase())
        {
            i += 1;
        }
        // A word cut by `at` is the number's own neighbour, not a label.
        let word = &bytes[start..i];
        if PHONE_WORDS
            .iter()
            .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
        {
            return true;
        }
    }
    false
}

fn continues_number(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'_'
}

/// Words after which a dotted number is a version, not an address (compared in lower case,
/// ignoring one separator such as `=`, `:` or a space).
const VERSION_WORDS: &[&str] = &[
    "version",
    "ver",
    "v",
    "build",
    "release",
    "runtime",
    "sdk",
    "framework",
];

fn preceded_by_version_word(bytes: &[u8], start: usize) -> bool {
    let mut end = start;
    if end > 0 && matches!(bytes[end - 1], b'=' | b':' | b' ' | b'/' | b'"') {
        // `Chrome/120.0.0.1`: a product token's version.
        if bytes[end - 1] == b'/' && end > 1 && bytes[end - 2].is_ascii_alphabetic() {
            return true;
        }
        end -= 1;
        if end > 0 && bytes[end - 1] == b'"' {
            end -= 1;
        }
    }
    // The longest version word has 9 letters: look no further back than that.
    let floor = end.saturating_sub(10);
    let word_start = bytes[floor..end]
        .iter()
        .rposition(|b| !b.is_ascii_alphabetic())
        .map_or(floor, |p| floor + p + 1);
    let word = &bytes[word_start..end];
    // `FileVersion`, `AssemblyVersion`, `ProductVersion`: any word ending in "version".
    VERSION_WORDS
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
        || word.len() >= 7 && word[word.len() - 7..].eq_ignore_ascii_case(b"version")
}

/// Four dot-separated numbers, each 0–255, not part of a longer dotted number or a version.
fn ipv4(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    let mut last = 0;
    for part in 0..4 {
        let mut value: u16 = 0;
        let mut digits = 0;
        while let Some(b) = bytes.get(at).filter(|b| b.is_ascii_digit()) {
            digits += 1;
            if digits > 3 {
                return None;
            }
            value = value * 10 + u16::from(b - b'0');
            at += 1;
        }
        if digits == 0 || value > 255 {
            return None;
        }
        last = value;
        if part < 3 {
            if bytes.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
    }
    let longer = match bytes.get(at) {
        Some(b'.') => bytes.get(at + 1).is_some_and(u8::is_ascii_digit),
        Some(b) => b.is_ascii_alphanumeric() || *b == b'_',
        None => false,
    };
    // A quad ending in `.0` names a network, never a host; it is nearly always a .NET assembly
    // or file version (`8.0.0.0`, `4.2.1.0`), and those are everywhere in .NET telemetry.
    if longer || last == 0 || preceded_by_version_word(bytes, start) {
        return None;
    }
    Some(at)
}

/// 13 to 19 digits, optionally grouped by single spaces or hyphens, starting with a card
/// network's digit (2–6) and passing the Luhn check.
fn card(bytes: &[u8], start: usize) -> Option<usize> {
    if !(b'2'..=b'6').contains(&bytes[start]) {
        return None;
    }
    let mut digits = [0u8; 20];
    let mut count = 0;
    let mut at = start;
    let mut end = start;
    while at < bytes.len() && count < digits.len() {
        let b = bytes[at];
        if b.is_ascii_digit() {
            digits[count] = b - b'0';
            count += 1;
            at += 1;
            end = at;
        } else if (b == b' ' || b == b'-')
            && at > start
            && bytes.get(at + 1).is_some_and(u8::is_ascii_digit)
        {
            at += 1;
        } else {
            break;
        }
    }
    let followed_by_word = bytes.get(end).is_some_and(|b| {
        b.is_ascii_alphanumeric()
            || *b == b'.' && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
    });
    if !(13..=19).contains(&count) || followed_by_word || !luhn(&digits[..count]) {
        return None;
    }
    Some(end)
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The maximal run around `at` of letters and digits with `:` and `.` (an IPv6 address) or with
/// `-` (a hyphenated MAC address), as `separator` says: its start, its end without trailing
/// punctuation, and the end of everything examined.
fn hex_run(bytes: &[u8], at: usize, separator: u8) -> (usize, usize, usize) {
    let member = |b: u8| {
        b.is_ascii_alphanumeric()
            || if separator == b'-' {
                b == b'-'
            } else {
                b == b':' || b == b'.'
            }
    };
    let start = bytes[..at]
        .iter()
        .rposition(|b| !member(*b))
        .map_or(0, |p| p + 1);
    let examined = bytes[at..]
        .iter()
        .position(|b| !member(*b))
        .map_or(bytes.len(), |n| at + n);
    // A sentence may end right after an address: `at fe80::1.`
    let mut end = examined;
    while end > start
        && matches!(bytes[end - 1], b'.' | b'-' | b':')
        && !bytes[..end].ends_with(b"::")
    {
        end -= 1;
    }
    (start, end, examined)
}

fn classify_hex_run(run: &[u8]) -> Option<Finding> {
    if is_mac(run) {
        return Some(Finding::Mac);
    }
    if is_ipv6(run) {
        return Some(Finding::Ip);
    }
    None
}

/// Six pairs of hex digits separated by one kind of separator.
fn is_mac(run: &[u8]) -> bool {
    if run.len() != 17 {
        return false;
    }
    let separator = run[2];
    if separator != b':' && separator != b'-' {
        return false;
    }
    run.chunks(3).all(|chunk| {
        chunk[0].is_ascii_hexdigit()
            && chunk[1].is_ascii_hexdigit()
            && (chunk.len() == 2 || chunk[2] == separator)
    })
}

/// An IPv6 address: up to eight groups of 1–4 hex digits, at most one `::`, optionally ending
/// in a dotted IPv4 address. Clock times (`12:30:45`) and paths (`std::fmt`) are not: they have
/// fewer groups without `::`, or letters beyond `f`.
fn is_ipv6(run: &[u8]) -> bool {
    if run.iter().filter(|b| **b == b':').count() < 2 {
        return false;
    }
    let Ok(text) = std::str::from_utf8(run) else {
        return false;
    };
    if text.contains(":::") || text.matches("::").count() > 1 || text.contains('-') {
        return false;
    }
    let (head, tail) = match text.split_once("::") {
        Some((head, tail)) => (head, Some(tail)),
        None => (text, None),
    };
    let mut groups = 0;
    let parts = head
        .split(':')
        .chain(tail.into_iter().flat_map(|t| t.split(':')));
    let all_parts: Vec<&str> = parts.filter(|p| !p.is_empty()).collect();
    for (i, part) in all_parts.iter().enumerate() {
        if part.contains('.') {
            // Only the last group may be an embedded IPv4 address.
            if i + 1 != all_parts.len() || ipv4(part.as_bytes(), 0) != Some(part.len()) {
                return false;
            }
            groups += 2;
        } else if part.len() <= 4 && part.bytes().all(|b| b.is_ascii_hexdigit()) {
            groups += 1;
        } else {
            return false;
        }
    }
    let compressed = tail.is_some();
    if compressed {
        // `::1` and `::` are loopback and unspecified: not personal, and left alone.
        (2..=7).contains(&groups)
    } else {
        groups == 8
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn addresses_are_found_wherever_they_fall_in_the_blocks() {
        for offset in 0..100 {
            let mut text = "x".repeat(offset);
            text.push_str(" 10.1.2.3 and 12 ms");
            let mut spans = Vec::new();
            super::super::blocks::find(&text, &mut spans);
            let found: Vec<(usize, usize)> = spans.iter().map(|s| (s.start(), s.end())).collect();
            assert_eq!(found, vec![(offset + 1, offset + 9)], "offset {offset}");
        }
    }
}
