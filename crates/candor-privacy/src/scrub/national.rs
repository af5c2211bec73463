//! National identifiers: US social security numbers in their written forms, UK National
//! Insurance numbers, German tax identification numbers (Steuer-ID) and French social security
//! numbers (INSEE), each with the rules or check digits its issuer publishes.
//!
//! A form that numbers of other kinds rarely take (`512-84-3301`, `512 84 3301`,
//! `QQ 12 34 56 C`, `12 345 678 901` with its check digit, `1 84 12 76 451 089 46` with its
//! key) is taken alone; a run of digits alone (`512843301`, `86095742719`) only after words
//! that name it.

use super::lex::mentioned_before;

/// How far before a number the words that name it are looked for, on its line.
const CONTEXT_REACH: usize = 48;

/// Nothing before `start` that makes the number part of something longer; for a form with
/// blanks in it, no digit one blank before either (a row of numbers).
fn stands_alone(bytes: &[u8], start: usize, blanks: bool) -> bool {
    start == 0
        || !(bytes[start - 1].is_ascii_alphanumeric()
            || matches!(bytes[start - 1], b'.' | b'-' | b'/' | b'+' | b'_' | b',')
            || blanks && start > 1 && bytes[start - 1] == b' ' && bytes[start - 2].is_ascii_digit())
}

/// Nothing after `end` that carries the number on: a letter or digit, or `separator` (the
/// number's own, or any of `-./,` for a number written whole) and a digit.
fn ends_alone(bytes: &[u8], end: usize, separator: u8) -> bool {
    let carried = |b: u8| {
        if separator == 0 {
            matches!(b, b'.' | b'-' | b'/' | b',')
        } else {
            b == separator || matches!(b, b'-' | b'/')
        }
    };
    !(bytes
        .get(end)
        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        || bytes.get(end).is_some_and(|b| carried(*b))
            && bytes.get(end + 1).is_some_and(u8::is_ascii_digit))
}

/// Reads digit groups of the given lengths from `start`, separated by `separator`; returns the
/// digits (at most 16) and where they end.
fn grouped(
    bytes: &[u8],
    start: usize,
    lengths: &[usize],
    separator: u8,
) -> Option<([u8; 16], usize)> {
    let mut digits = [0u8; 16];
    let mut count = 0;
    let mut at = start;
    for (k, &length) in lengths.iter().enumerate() {
        if k > 0 {
            if bytes.get(at) != Some(&separator) {
                return None;
            }
            at += 1;
        }
        let group = bytes.get(at..at + length)?;
        if !group.iter().all(u8::is_ascii_digit) || count + length > digits.len() {
            return None;
        }
        for d in group {
            digits[count] = d - b'0';
            count += 1;
        }
        at += length;
    }
    Some((digits, at))
}

/// The rules that make a US social security number unissuable: area 000, 666 or 900–999,
/// group 00, serial 0000.
fn issuable_ssn(d: &[u8]) -> bool {
    let area = &d[..3];
    area != [0, 0, 0] && area != [6, 6, 6] && area[0] != 9 && d[3..5] != [0, 0] && d[5..9] != [0; 4]
}

/// A US social security number: `AAA-GG-SSSS`, `AAA GG SSSS`, or nine digits after words that
/// name it (`SSN: 512843301`).
pub(crate) fn ssn(bytes: &[u8], start: usize) -> Option<usize> {
    for separator in [b'-', b' '] {
        if let Some((digits, end)) = grouped(bytes, start, &[3, 2, 4], separator)
            && stands_alone(bytes, start, separator == b' ')
            && ends_alone(bytes, end, separator)
            && issuable_ssn(&digits)
        {
            return Some(end);
        }
    }
    let (digits, end) = grouped(bytes, start, &[9], 0)?;
    (stands_alone(bytes, start, false)
        && ends_alone(bytes, end, 0)
        && issuable_ssn(&digits)
        && mentioned_before(
            bytes,
            start,
            CONTEXT_REACH,
            &[
                "ssn",
                "ss#",
                "social security",
                "soc sec",
                "socsec",
                "itin",
                "taxpayer",
            ],
        ))
    .then_some(end)
}

/// The letters a National Insurance number's prefix may not use (first, second), and the
/// prefixes never issued.
const NI_NOT_FIRST: &[u8] = b"DFIQUV";
const NI_NOT_SECOND: &[u8] = b"DFIOQUV";
const NI_NEVER: &[&[u8; 2]] = &[b"BG", b"GB", b"KN", b"NK", b"NT", b"TN", b"ZZ"];

/// A UK National Insurance number at `start` (its two letters): `QQ123456C`,
/// `QQ 12 34 56 C`, upper or lower case, with a prefix that may be issued and a suffix from A
/// to D.
pub(crate) fn national_insurance(bytes: &[u8], start: usize) -> Option<usize> {
    let prefix = bytes.get(start..start + 2)?;
    let (first, second) = (
        prefix[0].to_ascii_uppercase(),
        prefix[1].to_ascii_uppercase(),
    );
    if !first.is_ascii_uppercase()
        || !second.is_ascii_uppercase()
        || NI_NOT_FIRST.contains(&first)
        || NI_NOT_SECOND.contains(&second)
        || NI_NEVER.contains(&&[first, second])
        || start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_')
    {
        return None;
    }
    let digits_start = start + 2;
    let (spaced, end) = if bytes.get(digits_start) == Some(&b' ') {
        (true, grouped(bytes, digits_start + 1, &[2, 2, 2], b' ')?.1)
    } else {
        (false, grouped(bytes, digits_start, &[6], 0)?.1)
    };
    let suffix_at = end + usize::from(spaced && bytes.get(end) == Some(&b' '));
    let suffix = bytes.get(suffix_at)?.to_ascii_uppercase();
    let end = suffix_at + 1;
    (matches!(suffix, b'A'..=b'D') && !bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric()))
        .then_some(end)
}

/// The check digit of a German tax id (ISO 7064, MOD 11,10) over its first ten digits, and the
/// rule on their repetitions: one digit twice or three times (not three in a row), the others
/// at most once.
fn valid_steuer_id(d: &[u8]) -> bool {
    if d[0] == 0 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &digit in &d[..10] {
        counts[usize::from(digit)] += 1;
    }
    let repeated = counts.iter().filter(|c| **c > 1).count();
    let tripled_in_a_row = d[..10].windows(3).any(|w| w[0] == w[1] && w[1] == w[2]);
    if repeated != 1 || counts.iter().any(|c| *c > 3) || tripled_in_a_row {
        return false;
    }
    let mut product = 10u32;
    for &digit in &d[..10] {
        let mut sum = (u32::from(digit) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    check == u32::from(d[10])
}

/// A German tax identification number: `12 345 678 901` with a valid check digit, or eleven
/// digits after words that name it (`Steuer-ID: 86095742719`).
pub(crate) fn steuer_id(bytes: &[u8], start: usize) -> Option<usize> {
    if !stands_alone(bytes, start, true) {
        return None;
    }
    if let Some((digits, end)) = grouped(bytes, start, &[2, 3, 3, 3], b' ')
        && ends_alone(bytes, end, b' ')
        && valid_steuer_id(&digits)
    {
        return Some(end);
    }
    let (digits, end) = grouped(bytes, start, &[11], 0)?;
    (ends_alone(bytes, end, 0)
        && valid_steuer_id(&digits)
        && mentioned_before(
            bytes,
            start,
            CONTEXT_REACH,
            &[
                "steuer",
                "idnr",
                "identifikationsnummer",
                "tax id",
                "taxid",
                "tin",
            ],
        ))
    .then_some(end)
}

/// A French social security number (NIR): sex, year, month, department, commune, order and a
/// key of two digits, `97 - (the first thirteen mod 97)`; Corsica's departments are `2A` and
/// `2B`. Written `1 84 12 76 451 089 46`, or fifteen digits after words that name it.
pub(crate) fn insee(bytes: &[u8], start: usize) -> Option<usize> {
    if !stands_alone(bytes, start, true)
        || !matches!(bytes[start], b'1' | b'2' | b'3' | b'4' | b'7' | b'8')
    {
        return None;
    }
    let spaced = grouped_insee(bytes, start, true);
    let (number, key, end) = match spaced {
        Some(found) => found,
        None => {
            let (number, key, end) = grouped_insee(bytes, start, false)?;
            if !mentioned_before(
                bytes,
                start,
                CONTEXT_REACH,
                &[
                    "insee",
                    "nir",
                    "sécurité sociale",
                    "securite sociale",
                    "sécu",
                    "secu",
                ],
            ) {
                return None;
            }
            (number, key, end)
        }
    };
    let separator = if spaced.is_some() { b' ' } else { 0 };
    (ends_alone(bytes, end, separator) && 97 - number % 97 == key).then_some(end)
}

/// The thirteen digits (as a number, Corsica's `2A`/`2B` counted as 19/18), the key and the
/// end of an INSEE number at `start`, spaced 1-2-2-2-3-3-2 or written whole.
fn grouped_insee(bytes: &[u8], start: usize, spaced: bool) -> Option<(u64, u64, usize)> {
    let lengths = [1usize, 2, 2, 2, 3, 3, 2];
    let mut number = 0u64;
    let mut key = 0u64;
    let mut at = start;
    let mut corsica = 0;
    for (k, &length) in lengths.iter().enumerate() {
        if k > 0 && spaced {
            if bytes.get(at) != Some(&b' ') {
                return None;
            }
            at += 1;
        }
        let group = bytes.get(at..at + length)?;
        for (j, &b) in group.iter().enumerate() {
            let digit = match b {
                b'0'..=b'9' => u64::from(b - b'0'),
                // The department's second character: `2A`, `2B`.
                b'A' | b'B' | b'a' | b'b' if k == 3 && j == 1 && group[0] == b'2' => {
                    corsica = if b.eq_ignore_ascii_case(&b'A') { 1 } else { 2 };
                    0
                }
                _ => return None,
            };
            if k == lengths.len() - 1 {
                key = key * 10 + digit;
            } else {
                number = number * 10 + digit;
            }
        }
        at += length;
    }
    // Month: 01–12, or the ranges used when the month is unknown (20–42, 50–99).
    let month = (number / 100_000_000) % 100;
    if !(matches!(month, 1..=12 | 20..=42 | 50..=99)) {
        return None;
    }
    // `2A` counts as 19 and `2B` as 18 (the department part becomes 19… or 18…).
    if corsica != 0 {
        number -= 20 * 1_000_000;
        number += if corsica == 1 { 19 } else { 18 } * 1_000_000;
    }
    Some((number, key, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_steuer_id_check_digit() {
        // Made here: ten digits with one repeated, and the check digit the rule gives.
        let digits: [u32; 10] = [8, 6, 0, 9, 5, 7, 4, 2, 7, 1];
        let mut product = 10u32;
        for &d in &digits {
            let mut sum = (d + product) % 10;
            if sum == 0 {
                sum = 10;
            }
            product = (sum * 2) % 11;
        }
        let check = ((11 - product) % 10) as u8;
        let mut full: Vec<u8> = digits.iter().map(|d| *d as u8).collect();
        full.push(check);
        assert!(valid_steuer_id(&full));
        full[10] = (check + 1) % 10;
        assert!(!valid_steuer_id(&full));
    }
}
