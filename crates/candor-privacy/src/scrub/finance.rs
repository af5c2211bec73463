//! Card and bank account numbers: payment card numbers (Luhn-checked) written whole or in
//! groups, and IBANs of every country in the IBAN registry (mod-97 checked), in either case.

/// Separators of a card number's groups: `4111 1111 1111 1111`, `4111-1111-…`, and the forms
/// only taken in groups of four (an American Express number's 4-6-5 too): dots, a URL query's
/// `+` and `%20`, two spaces, ` - `.
const GROUPED_ONLY: &[&[u8]] = &[b" - ", b"%20", b"  ", b".", b"+"];

/// 13 to 19 digits, written whole or grouped, starting with a card network's digit (2–6) and
/// passing the Luhn check. Single spaces and hyphens may group the digits any way; the other
/// separators ([`GROUPED_ONLY`]) only in groups of four (or 4-6-5 and 4-6-4), one kind
/// throughout.
pub(crate) fn card(bytes: &[u8], start: usize) -> Option<usize> {
    if !(b'2'..=b'6').contains(&bytes[start]) {
        return None;
    }
    let mut digits = [0u8; 20];
    let mut count = 0;
    let mut groups = [0u8; 8];
    let mut group_count = 0;
    let mut separator: Option<&[u8]> = None;
    let mut at = start;
    let mut end = start;
    loop {
        let group_start = count;
        while count < digits.len() && bytes.get(at).is_some_and(u8::is_ascii_digit) {
            digits[count] = bytes[at] - b'0';
            count += 1;
            at += 1;
        }
        end = if count > group_start { at } else { end };
        if count == group_start || group_count == groups.len() || count >= digits.len() {
            break;
        }
        groups[group_count] = (count - group_start) as u8;
        group_count += 1;
        // The separator after this group, if a digit follows it.
        let next = GROUPED_ONLY
            .iter()
            .copied()
            .chain([&b" "[..], b"-"])
            .find(|s| bytes[at..].starts_with(s))
            .filter(|s| bytes.get(at + s.len()).is_some_and(u8::is_ascii_digit));
        let Some(next) = next else {
            break;
        };
        let plain = |s: &[u8]| s == b" " || s == b"-";
        match separator {
            None => separator = Some(next),
            Some(s) if s == next || plain(s) && plain(next) => {}
            Some(_) => break,
        }
        at += next.len();
    }
    let followed_by_word = bytes.get(end).is_some_and(|b| {
        b.is_ascii_alphanumeric()
            || *b == b'.' && bytes.get(end + 1).is_some_and(u8::is_ascii_digit)
    });
    if !(13..=19).contains(&count) || followed_by_word || !luhn(&digits[..count]) {
        return None;
    }
    if let Some(s) = separator
        && GROUPED_ONLY.contains(&s)
    {
        let groups = &groups[..group_count];
        let fours = groups.len() >= 4
            && groups[..groups.len() - 1].iter().all(|g| *g == 4)
            && (1..=4).contains(&groups[groups.len() - 1]);
        if !(fours || groups == [4, 6, 5] || groups == [4, 6, 4]) {
            return None;
        }
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

/// IBAN lengths by country: every country of the IBAN registry (ISO 13616, as SWIFT
/// publishes it; its territories write their account numbers with these codes).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// An IBAN at `start`, written whole or in groups of four separated by single spaces, in
/// upper or lower case, of its country's length, passing the mod-97 check. Returns its end.
pub(crate) fn iban(bytes: &[u8], start: usize) -> Option<usize> {
    let head = bytes.get(start..start + 4)?;
    if !(head[0].is_ascii_alphabetic()
        && head[1].is_ascii_alphabetic()
        && head[2].is_ascii_digit()
        && head[3].is_ascii_digit())
        || start > 0 && bytes[start - 1].is_ascii_alphanumeric()
    {
        return None;
    }
    let country = [head[0].to_ascii_uppercase(), head[1].to_ascii_uppercase()];
    let length = IBAN_LENGTHS.iter().find(|(cc, _)| **cc == country)?.1;
    let mut chars = [0u8; 34];
    let mut count = 0;
    let mut at = start;
    while count < length && at < bytes.len() {
        let b = bytes[at];
        if b.is_ascii_alphanumeric() {
            chars[count] = b.to_ascii_uppercase();
            count += 1;
            at += 1;
        } else if b == b' '
            && count % 4 == 0
            && bytes.get(at + 1).is_some_and(u8::is_ascii_alphanumeric)
        {
            at += 1;
        } else {
            return None;
        }
    }
    if count != length || bytes.get(at).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    let iban = &chars[..count];
    let mut remainder: u32 = 0;
    for b in iban[4..].iter().chain(&iban[..4]) {
        let value = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    (remainder == 1).then_some(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_has_every_country_once() {
        assert_eq!(IBAN_LENGTHS.len(), 89);
        for (i, (a, _)) in IBAN_LENGTHS.iter().enumerate() {
            assert!(IBAN_LENGTHS[i + 1..].iter().all(|(b, _)| a != b));
        }
        assert!(IBAN_LENGTHS.iter().all(|(_, n)| (15..=34).contains(n)));
    }
}
