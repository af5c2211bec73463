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

use super::blocks::{BLOCK, Masks, Window};
use super::{Finding, Span, finance, national, phone};

/// The numeric scan's place in the text, kept from one block to the next.
///
/// Its work is found in the blocks' masks: the first digit of a number (not one carried on from
/// a dotted number or another number, `1.2`, `v_2`: those start nothing; after a letter an
/// IBAN may start, after `+` or `(` a phone number) that has more digits near it or nine in a
/// row (see [`events`]), and a `:` or `-` between letters or digits (IPv6 and MAC addresses,
/// which the visit checks for hex digits) or doubled (`::1`). Most digits, colons and hyphens
/// in log text are none of these, and are never looked at one by one.
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
    candidates(previous, current, next)
        & (numbers_with_work(previous, current, next) | !current.digit)
}

/// The bytes [`events`] chooses from: every first digit of a number, and the colons and hyphens
/// an address may hold.
#[inline(always)]
pub(crate) fn candidates(previous: &Masks, current: &Masks, next: &Masks) -> u64 {
    // Bit i of `before(x)` says byte i - 1 of the block is in class x, of `after(x)` byte
    // i + 1.
    let before = |now: u64, then: u64| now << 1 | then >> 63;
    let after = |now: u64, then: u64| now >> 1 | then << 63;
    // A digit, `.` or `_` before a digit carries a number on; a letter does not (an IBAN's or
    // an insurance number's digits follow letters), nor `+` or `(` (a phone number's).
    let carried = |m: &Masks| m.digit | m.dot_or_underscore;
    let digits = current.digit & !before(carried(current), carried(previous));
    // Between letters or digits (the visit checks for hex digits), or doubled (`::1`).
    let alnum = |m: &Masks| m.digit | m.letter;
    let alnum_before = before(alnum(current), alnum(previous));
    let alnum_after = after(alnum(current), alnum(next));
    let colon_after = after(current.colon, next.colon);
    let colons = current.colon & (alnum_before & (alnum_after | colon_after) | colon_after);
    let dashes = current.dash & alnum_before & (alnum_after | after(current.dash, next.dash));
    digits | colons | dashes
}

/// The digits of the block whose masks are `current` where a number that `Scan::visit` may
/// find something in can start: after a letter (an IBAN, an insurance number), after `+ ( %`
/// or other token punctuation (a phone number), at nine digits in a row, or with a digit, `(`
/// or `%` at most three bytes after a byte that is none of these within eight bytes ahead
/// (the groups of a card, a phone or an insurance number, the dots of an address). Most numbers
/// in log text (`12 ms`, `status 200`) are none of these, and are never visited. A superset of
/// what `number` and the checks before and after it accept (`grouped` is one of the
/// conditions), so that leaving out the rest changes no finding: a test holds it to that.
#[inline(always)]
fn numbers_with_work(previous: &Masks, current: &Masks, next: &Masks) -> u64 {
    let digit = Window::new(current.digit, next.digit);
    let numeric = digit | Window::new(current.paren_or_percent, next.paren_or_percent);
    // A byte that is no digit, with a digit, `(` or `%` on it or within three bytes after it.
    let near = numeric | numeric >> 1 | numeric >> 2 | numeric >> 3;
    let gap = !digit & near;
    // Such a byte one to eight bytes ahead.
    let ahead1 = gap >> 1;
    let ahead2 = ahead1 | ahead1 >> 1;
    let ahead4 = ahead2 | ahead2 >> 2;
    let ahead8 = ahead4 | ahead4 >> 4;
    // Nine digits from here.
    let pairs = digit & digit >> 1;
    let fours = pairs & pairs >> 2;
    let nine = fours & fours >> 4 & digit >> 8;
    let opener = |m: &Masks| m.letter | m.token_punctuation | m.paren_or_percent;
    let after_opener = opener(current) << 1 | opener(previous) >> 63;
    (ahead8 | nine).low() | after_opener
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
            // `+44 20 …`, `(415) 555-0173`: the digit after a `+` or `(` may open a phone number.
            if i > 0
                && matches!(bytes[i - 1], b'+' | b'(')
                && let Some(end) = phone::phone(bytes, i - 1)
            {
                spans.push(Span::new(i - 1, end, Finding::Phone));
                self.next = end;
                return;
            }
            let digits = bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            // The rest of this number cannot start anything new.
            self.next = i + digits;
            if let Some((end, finding)) = number(bytes, i, digits) {
                spans.push(Span::new(i, end, finding));
                self.next = end;
                return;
            }
            // After two letters: an IBAN's check digits (`DE89…`, `de89…`), a National
            // Insurance number (`QQ123456C`); one blank after them, `QQ 12 34 56 C`.
            let letters_before = |at: usize| {
                at >= 2
                    && bytes[at - 1].is_ascii_alphabetic()
                    && bytes[at - 2].is_ascii_alphabetic()
            };
            if digits >= 2 && letters_before(i) {
                if let Some(end) = finance::iban(bytes, i - 2) {
                    spans.push(Span::new(i - 2, end, Finding::Iban));
                } else if digits == 6
                    && let Some(end) = national::national_insurance(bytes, i - 2)
                {
                    spans.push(Span::new(i - 2, end, Finding::NationalId));
                    self.next = end;
                }
            } else if digits == 2
                && i >= 3
                && bytes[i - 1] == b' '
                && bytes[i - 2].is_ascii_uppercase()
                && bytes[i - 3].is_ascii_uppercase()
                && let Some(end) = national::national_insurance(bytes, i - 3)
            {
                spans.push(Span::new(i - 3, end, Finding::NationalId));
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

/// The shapes a run of `digits` digits at `start` may open: an IPv4 address, a card, a social
/// security number, a tax or social security id, a telephone number. What follows the run
/// decides which are possible at all: most numbers in text (`12 ms`, `200`) are none, and
/// skip the validators.
fn number(bytes: &[u8], start: usize, digits: usize) -> Option<(usize, Finding)> {
    if start > 0 && continues_number(bytes[start - 1]) {
        return None;
    }
    let first = bytes[start];
    let after = bytes.get(start + digits).copied();
    let then = bytes.get(start + digits + 1).copied();
    let rest = &bytes[start + digits..];
    let grouped = matches!(after, Some(b' ' | b'-' | b'.' | b'+' | b'/'))
        && then.is_some_and(|b| b.is_ascii_digit() || b == b'(')
        || after == Some(b'%')
        // `4111  1111 …`, `4111 - 1111 …`: two blanks, or a spaced hyphen.
        || (rest.starts_with(b"  ") || rest.starts_with(b" - "))
            && rest.get(2 + usize::from(rest.get(1) == Some(&b'-'))).is_some_and(u8::is_ascii_digit);
    if !(grouped || digits >= 9) {
        return None;
    }
    if after == Some(b'.')
        && let Some(end) = ipv4(bytes, start)
    {
        return Some((end, Finding::Ip));
    }
    // Every shape below holds nine digits or more: a version or a date (`21.4.3`,
    // `2024-05-17`) is settled by counting.
    if digits < 9 && digits_ahead(bytes, start) < 9 {
        return None;
    }
    let found = (b'2'..=b'6')
        .contains(&first)
        .then(|| finance::card(bytes, start).map(|e| (e, Finding::Card)))
        .flatten()
        .or_else(|| {
            matches!(digits, 3 | 9)
                .then(|| national::ssn(bytes, start).map(|e| (e, Finding::Ssn)))
                .flatten()
        })
        .or_else(|| {
            matches!(digits, 2 | 11)
                .then(|| national::steuer_id(bytes, start).map(|e| (e, Finding::NationalId)))
                .flatten()
        })
        .or_else(|| {
            matches!(digits, 1 | 15)
                .then(|| national::insee(bytes, start).map(|e| (e, Finding::NationalId)))
                .flatten()
        });
    if found.is_some() {
        return found;
    }
    let phone = if first == b'0' {
        phone::trunk_phone(bytes, start).or_else(|| phone::dialled_abroad(bytes, start))
    } else {
        phone::national_phone(bytes, start)
            .or_else(|| phone::russian(bytes, start))
            .or_else(|| phone::mobile(bytes, start))
    };
    phone
        .or_else(|| phone::worded(bytes, start))
        .map(|e| (e, Finding::Phone))
}

/// How many digits the number at `start` holds, counting on across short runs of separators
/// (` - . / + ( ) %`) between groups, in the next 48 bytes: a bound, read once, that settles
/// most numbers before any validator does.
fn digits_ahead(bytes: &[u8], start: usize) -> usize {
    let limit = bytes.len().min(start + 48);
    let mut count = 0;
    let mut at = start;
    while at < limit {
        if bytes[at].is_ascii_digit() {
            count += 1;
            at += 1;
            continue;
        }
        let mut gap = 0;
        while at < limit
            && gap < 3
            && matches!(
                bytes[at],
                b' ' | b'-' | b'.' | b'/' | b'+' | b'(' | b')' | b'%'
            )
        {
            at += 1;
            gap += 1;
        }
        if gap == 0 || !bytes.get(at).is_some_and(u8::is_ascii_digit) {
            break;
        }
    }
    count
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
    if end > 0 && matches!(bytes[end - 1], b'=' | b':' | b' ' | b'/' | b'"' | b'\'') {
        // `Chrome/120.0.0.1`: a product token's version.
        if bytes[end - 1] == b'/' && end > 1 && bytes[end - 2].is_ascii_alphabetic() {
            return true;
        }
        end -= 1;
        // `AssemblyVersion("2.1.3.4")`: the argument of a version attribute.
        if end > 0 && matches!(bytes[end - 1], b'"' | b'(') {
            end -= 1;
            if end > 0 && bytes[end - 1] == b'(' {
                end -= 1;
            }
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
    if VERSION_WORDS
        .iter()
        .any(|w| word.eq_ignore_ascii_case(w.as_bytes()))
        || word.len() >= 7 && word[word.len() - 7..].eq_ignore_ascii_case(b"version")
    {
        return true;
    }
    // `Microsoft.Extensions.Logging 8.0.0.1`: a dotted name in capitals (a package's or an
    // assembly's) and its version.
    start > 1 && bytes[start - 1] == b' ' && {
        let name_start = bytes[start.saturating_sub(129)..start - 1]
            .iter()
            .rposition(|b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'(' | b','))
            .map_or(start.saturating_sub(129), |p| {
                start.saturating_sub(129) + p + 1
            });
        let name = &bytes[name_start..start - 1];
        name.contains(&b'.')
            && name.split(|b| *b == b'.').all(|part| {
                part.first().is_some_and(u8::is_ascii_uppercase)
                    && part.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
            })
    }
}

/// Four dot-separated numbers, each 0–255, not part of a longer dotted number or a version.
fn ipv4(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    let mut last = 0;
    for part in 0..4 {
        // A part with a leading zero is octal (`0300.0250.0001.0012`), as the C library reads
        // it: up to four digits, each below 8.
        let octal =
            bytes.get(at) == Some(&b'0') && bytes.get(at + 1).is_some_and(u8::is_ascii_digit);
        let (base, most) = if octal { (8, 4) } else { (10, 3) };
        let mut value: u16 = 0;
        let mut digits = 0;
        while let Some(b) = bytes.get(at).filter(|b| b.is_ascii_digit()) {
            digits += 1;
            let digit = u16::from(b - b'0');
            if digits > most || digit >= base {
                return None;
            }
            value = value * base + digit;
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
    use proptest::prelude::*;

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{1,12}",
            "[A-Za-z]{1,3}",
            "[ .:/+()%_=~-]{1,3}",
            Just("  ".to_owned()),
            Just(" - ".to_owned()),
            Just("%20".to_owned()),
            Just("\n".to_owned()),
            Just("4111 1111 1111 1111".to_owned()),
            Just("4111.1111.1111.1111".to_owned()),
            Just("DE89 3704 0044 0532 0130 00".to_owned()),
            Just("de89370400440532013000".to_owned()),
            Just("QQ 12 34 56 C".to_owned()),
            Just("AB123456C".to_owned()),
            Just("+44 20 7946 0958".to_owned()),
            Just("(415) 555-0173".to_owned()),
            Just("512-84-3301".to_owned()),
            Just("512 84 3301".to_owned()),
            Just("tel 020 7946 0958".to_owned()),
            Just("phone: 01 23 45 67 89".to_owned()),
            Just("138 0013 8000".to_owned()),
            Just("8 (495) 123-45-67".to_owned()),
            Just("12345678903".to_owned()),
            Just("1 85 05 78 006 084 36".to_owned()),
            Just("10.0.0.1".to_owned()),
            Just("::1".to_owned()),
            Just("fe80::1:2".to_owned()),
            Just("aa-bb-cc-dd-ee-ff".to_owned()),
            (1usize..70).prop_map(|n| "x".repeat(n)),
            (1usize..70).prop_map(|n| " ".repeat(n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

        /// The numbers [`super::events`] leaves unvisited are ones in which a visit finds
        /// nothing: visiting every candidate finds the same spans.
        #[test]
        fn numbers_left_unvisited_hold_no_finding(
            pieces in prop::collection::vec(piece(), 0..40)
        ) {
            let text = pieces.concat();
            let chosen = super::super::blocks::numeric_spans(&text, super::events);
            let every = super::super::blocks::numeric_spans(&text, super::candidates);
            prop_assert_eq!(chosen, every);
        }
    }

    #[test]
    fn addresses_are_found_wherever_they_fall_in_the_blocks() {
        for offset in 0..100 {
            let mut text = "x".repeat(offset);
            text.push_str(" 10.1.2.3 and 12 ms");
            for kernel in super::super::kernel::Kernel::all() {
                assert_eq!(
                    super::super::blocks::found_by(&text, kernel),
                    vec![(offset + 1, offset + 9)],
                    "offset {offset} by {kernel:?}"
                );
            }
        }
    }
}
