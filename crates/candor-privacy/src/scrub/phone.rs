//! Telephone numbers: international (`+44 20 7946 0958`, `0044 20 7946 0958`), North
//! American (`(415) 555-0173`, `415-555-0173`), and the national forms of the most populous
//! countries (libphonenumber's metadata was the reference for which forms exist): with a trunk
//! prefix (`020 7946 0958`, `090-1234-5678`, `0812-3456-7890`), Russian (`8 (495) 123-45-67`),
//! Chinese and Indian mobile numbers (`138 0013 8000`, `98765 43210`), Brazilian
//! (`(11) 91234-5678`), and any number of nine to thirteen digits after a phone word
//! (`Tel: 415 555 0173`, `mobile 13800138000`).
//!
//! Numbers share their shapes with dates, times, versions, sizes and table columns, so a form
//! is taken alone only where numbers of other kinds rarely take it; elsewhere a phone word
//! must say so.

/// A North American number written `555-123-4567` or `555.123.4567`.
pub(crate) fn national_phone(bytes: &[u8], start: usize) -> Option<usize> {
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

/// `+14155552671`, `+44 20 7946 0958`, `+49 (30) 1234567`, `(415) 555-2671`,
/// `(11) 91234-5678`: a `+` and 8 to 15 digits (E.164), or a parenthesised area code of three
/// digits and seven more (North America) or of two and eight or nine more (Brazil), with
/// single spaces, hyphens, dots or parentheses between groups.
pub(crate) fn phone(bytes: &[u8], start: usize) -> Option<usize> {
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
            // `(415) 555-2671`: the area code closed after three digits, ten in all;
            // `(11) 91234-5678`: after two, ten or eleven in all.
            digits == 10 && bytes.get(start + 4) == Some(&b')')
                || (10..=11).contains(&digits) && bytes.get(start + 3) == Some(&b')')
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
/// `03-1234-5678`, Australian `02 9876 5432`, Indonesian `0812-3456-7890`, Nigerian
/// `0803 123 4567`, Pakistani `0300 1234567`, Turkish `0532 123 45 67`. `start` is the `0`, or
/// the `(` before it.
///
/// The rule, meant to leave dates, times, versions, sizes and table columns alone:
/// - a `0` then a digit from 1 to 9 (`00` starts an international call, not a trunk prefix);
/// - two to five groups of at least two digits each, ten to twelve digits in all
///   (`01.02.2024` has eight, `2024 01 15` no trunk `0`, `0 12 34` a one-digit group), twelve
///   only as `0812-3456-7890`;
/// - one kind of separator between groups, used throughout: single spaces, dots or hyphens, or
///   a slash between exactly two groups (`030/12345678`, not `01/02/2024`); a parenthesised
///   first group (`(020) 7946 0958`) is followed by one space;
/// - not part of something longer: no digit, letter, dot, hyphen, slash, `+` or `_` right
///   before it, no digit one space before it (`… 17 01 23 45 67 89` is a row of numbers), and
///   nothing after it that carries on a number (a letter or digit, or a separator and a digit:
///   `01.02.2024 12:30`);
/// - and, unless it is written in a form that numbers of other kinds rarely take (a
///   parenthesised first group, three or four groups whose first holds three to five digits,
///   or `0x-xxxx-xxxx`: the UK, Dutch and Japanese forms above), a word from [`PHONE_WORDS`] within
///   [`PHONE_WORD_REACH`] bytes before it on its line: two groups (`0170 1234567`) could be any
///   identifier, and pairs of digits (`01 23 45 67 89`) a row of a table, without one.
pub(crate) fn trunk_phone(bytes: &[u8], start: usize) -> Option<usize> {
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
        // At most thirteen digits are read: one more than a number may have settles it.
        while at < bytes.len() && bytes[at].is_ascii_digit() && digits + (at - group_start) < 13 {
            at += 1;
        }
        let length = at - group_start;
        if length < 2 || count == groups.len() {
            return None;
        }
        groups[count] = length;
        count += 1;
        digits += length;
        if digits > 12 {
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
        || !(10..=12).contains(&digits)
        || separator == Some(b'/') && count != 2
        || carries_on
    {
        return None;
    }
    let groups = &groups[..count];
    let distinctive = if digits == 12 {
        // `0812-3456-7890`: an Indonesian mobile number (`08` and a non-zero digit).
        groups == [4, 4, 4] && bytes[first + 1] == b'8' && bytes[first + 2] != b'0'
    } else {
        parenthesised
            || (3..=4).contains(&count) && (3..=5).contains(&groups[0])
            // `03-1234-5678`: a Japanese number with a two-digit area code.
            || separator == Some(b'-') && groups.len() == 3 && groups[1..] == [4, 4]
    };
    (distinctive || phone_word_before(bytes, start)).then_some(end)
}

/// True when a whole [`PHONE_WORDS`] word lies within [`PHONE_WORD_REACH`] bytes before `at`,
/// on the same line. Whole words only: `telemetry`, `callback` and `cells` say nothing about
/// telephones. A word is a run of letters (a character of another script counts as one), and
/// `mobilePhone` is two.
pub(crate) fn phone_word_before(bytes: &[u8], at: usize) -> bool {
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

/// A number's groups of digits: one kind of separator between them.
struct Groups {
    lengths: [u8; 6],
    count: usize,
    digits: usize,
    separator: Option<u8>,
    end: usize,
}

impl Groups {
    fn lengths(&self) -> &[u8] {
        &self.lengths[..self.count]
    }
}

/// The groups of digits from `start`, separated by one of `separators` (the same throughout),
/// at most six groups and fourteen digits; `None` when they carry on into something longer.
fn groups(bytes: &[u8], start: usize, separators: &[u8]) -> Option<Groups> {
    let mut g = Groups {
        lengths: [0; 6],
        count: 0,
        digits: 0,
        separator: None,
        end: start,
    };
    let mut at = start;
    loop {
        let group_start = at;
        while at < bytes.len() && bytes[at].is_ascii_digit() && g.digits + (at - group_start) < 15 {
            at += 1;
        }
        let length = at - group_start;
        if length == 0 || g.count == g.lengths.len() || g.digits + length > 14 {
            return None;
        }
        g.lengths[g.count] = length as u8;
        g.count += 1;
        g.digits += length;
        g.end = at;
        let next = bytes.get(at).copied();
        if !(next.is_some_and(|b| separators.contains(&b))
            && bytes.get(at + 1).is_some_and(u8::is_ascii_digit))
        {
            break;
        }
        if g.separator.is_some_and(|s| Some(s) != next) {
            return None;
        }
        g.separator = next;
        at += 1;
    }
    (!carries_on(bytes, g.end)).then_some(g)
}

/// Nothing before `start` that makes the number part of something longer: a letter, digit,
/// dot, hyphen, slash, `+` or `_` right before it, or a digit one blank before it (a row of
/// numbers).
fn stands_alone(bytes: &[u8], start: usize) -> bool {
    if start == 0 {
        return true;
    }
    let before = bytes[start - 1];
    !(before.is_ascii_alphanumeric()
        || matches!(before, b'.' | b'-' | b'/' | b'+' | b'_')
        || start > 1 && matches!(before, b' ' | b'\t') && bytes[start - 2].is_ascii_digit())
}

/// Something after `end` that carries a number on: a letter or digit, or a separator and a
/// digit (`01.02.2024 12:30`).
fn carries_on(bytes: &[u8], end: usize) -> bool {
    bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+'))
        || matches!(bytes.get(end), Some(b'.' | b'-' | b'/' | b':' | b','))
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
}

/// Mobile numbers written without a trunk prefix in forms other numbers rarely take: Chinese
/// `138 0013 8000` (3-4-4, starting `13` to `19`) and Indian `98765 43210` (5-5, starting 6 to
/// 9).
pub(crate) fn mobile(bytes: &[u8], start: usize) -> Option<usize> {
    if !stands_alone(bytes, start) {
        return None;
    }
    let g = groups(bytes, start, b" -")?;
    let chinese =
        g.lengths() == [3, 4, 4] && bytes[start] == b'1' && matches!(bytes[start + 1], b'3'..=b'9');
    let indian =
        g.lengths() == [5, 5] && g.separator == Some(b' ') && matches!(bytes[start], b'6'..=b'9');
    (chinese || indian).then_some(g.end)
}

/// A Russian number with its trunk `8`: `8 (495) 123-45-67`, `8 912 345-67-89`.
pub(crate) fn russian(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.get(start..start + 2) != Some(b"8 ") || !stands_alone(bytes, start) {
        return None;
    }
    let mut at = start + 2;
    let parenthesised = bytes.get(at) == Some(&b'(');
    at += usize::from(parenthesised);
    let digit = |at: usize, n: usize| {
        bytes
            .get(at..at + n)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    if !digit(at, 3) {
        return None;
    }
    at += 3;
    if parenthesised {
        if bytes.get(at) != Some(&b')') {
            return None;
        }
        at += 1;
    }
    if bytes.get(at) != Some(&b' ') || !digit(at + 1, 3) {
        return None;
    }
    at += 4;
    for _ in 0..2 {
        if bytes.get(at) != Some(&b'-') || !digit(at + 1, 2) {
            return None;
        }
        at += 3;
    }
    (!carries_on(bytes, at)).then_some(at)
}

/// An international number dialled with `00` (`0044 20 7946 0958`, `00 49 30 1234567`): eleven
/// to seventeen digits with the `00`, in three groups or more.
pub(crate) fn dialled_abroad(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes.get(start..start + 2) != Some(b"00")
        || !bytes
            .get(start + 2)
            .is_some_and(|b| b.is_ascii_digit() || *b == b' ')
        || !stands_alone(bytes, start)
    {
        return None;
    }
    let g = groups(bytes, start, b" -.")?;
    ((11..=17).contains(&g.digits) && g.count >= 3 && g.lengths()[0] <= 5).then_some(g.end)
}

/// Nine to thirteen digits, whole or in groups, after a phone word: `Tel: 415 555 0173`,
/// `mobile 13800138000`, `WhatsApp 55 1234 5678`.
pub(crate) fn worded(bytes: &[u8], start: usize) -> Option<usize> {
    // `00` dials abroad ([`dialled_abroad`] says when that makes a number).
    if !stands_alone(bytes, start) || bytes[start..].starts_with(b"00") {
        return None;
    }
    let g = groups(bytes, start, b" -.")?;
    // At most four groups, and not all pairs: `17 01 42 68 53 00` is a row of a table.
    ((9..=13).contains(&g.digits)
        && g.count <= 4
        && g.lengths().iter().all(|n| *n >= 2)
        && !g.lengths().iter().all(|n| *n == 2)
        && phone_word_before(bytes, start))
    .then_some(g.end)
}
