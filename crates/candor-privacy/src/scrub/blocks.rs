//! One pass over the text in aligned blocks of 64 bytes, each block classified once into the
//! bit masks the numeric and whole-word scans read ([`Masks`]), so that neither reads a byte
//! it has no work for, and neither computes a mask the other has already computed.
//!
//! Each class is defined once, a byte at a time ([`Class::contains`]); where SSE2 is available
//! (every x86-64) the masks are also computed sixteen bytes at a time with a few shared vector
//! comparisons, and a test holds the two to the same answer for every byte at every position.
//! The vector form goes through `safe_arch`, which wraps each intrinsic in a safe function, so
//! this crate keeps `unsafe_code = "deny"`.

use super::Span;
use super::{numeric, shape};

/// The bytes of a block: one bit each in a mask.
pub(crate) const BLOCK: usize = 64;

/// The classes of bytes the scans look for, one bit mask each over a block of [`BLOCK`] bytes: bit
/// `i` set when byte `i` of the block is in the class. Positions past the text's end are in
/// none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Masks {
    /// `0`–`9`.
    pub(crate) digit: u64,
    /// ASCII letters.
    pub(crate) letter: u64,
    /// `.` and `_`, which carry a number on (`1.2`, `v_2`).
    pub(crate) dot_or_underscore: u64,
    /// `:`.
    pub(crate) colon: u64,
    /// `-`.
    pub(crate) dash: u64,
    /// The other punctuation of a token: `+ / = ~`.
    pub(crate) token_punctuation: u64,
    /// `(` and `%`, which may open or join the groups of a number (`(415) 555-0173`,
    /// `4111%201111…`).
    pub(crate) paren_or_percent: u64,
    /// Bytes outside ASCII: whether the text needs its look-alikes folded (see `fold`).
    pub(crate) non_ascii: u64,
}

impl Masks {
    /// The bytes of a token: letters, digits and `_ - + / = . ~`.
    pub(crate) fn token(&self) -> u64 {
        self.letter | self.digit | self.dot_or_underscore | self.dash | self.token_punctuation
    }
}

/// The classes, by their definition: what the vector form is tested against, and what the
/// masks are computed from where there is no vector form.
#[cfg(any(
    test,
    not(all(
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "sse2"
    ))
))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Digit,
    Letter,
    DotOrUnderscore,
    Colon,
    Dash,
    TokenPunctuation,
    ParenOrPercent,
    NonAscii,
}

#[cfg(any(
    test,
    not(all(
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "sse2"
    ))
))]
impl Class {
    const ALL: [Class; 8] = [
        Class::Digit,
        Class::Letter,
        Class::DotOrUnderscore,
        Class::Colon,
        Class::Dash,
        Class::TokenPunctuation,
        Class::ParenOrPercent,
        Class::NonAscii,
    ];

    /// Whether `b` is in the class: the definition.
    pub(crate) fn contains(self, b: u8) -> bool {
        match self {
            Class::Digit => b.is_ascii_digit(),
            Class::Letter => b.is_ascii_alphabetic(),
            Class::DotOrUnderscore => matches!(b, b'.' | b'_'),
            Class::Colon => b == b':',
            Class::Dash => b == b'-',
            Class::TokenPunctuation => matches!(b, b'+' | b'/' | b'=' | b'~'),
            Class::ParenOrPercent => matches!(b, b'(' | b'%'),
            Class::NonAscii => !b.is_ascii(),
        }
    }

    #[cfg(test)]
    fn of(self, masks: &Masks) -> u64 {
        match self {
            Class::Digit => masks.digit,
            Class::Letter => masks.letter,
            Class::DotOrUnderscore => masks.dot_or_underscore,
            Class::Colon => masks.colon,
            Class::Dash => masks.dash,
            Class::TokenPunctuation => masks.token_punctuation,
            Class::ParenOrPercent => masks.paren_or_percent,
            Class::NonAscii => masks.non_ascii,
        }
    }
}

/// The bytes of a token: letters, digits and `_ - + / = . ~`.
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=' | b'.' | b'~')
}

impl Masks {
    /// The masks of the [`BLOCK`] bytes of `bytes` from `at`.
    #[inline(always)]
    pub(crate) fn at(bytes: &[u8], at: usize) -> Self {
        match bytes.get(at..at + BLOCK) {
            Some(block) => Self::of(block.try_into().expect("a block")),
            // The text's last, partial block, padded with zero bytes, which are in no class.
            None => {
                let rest = bytes.get(at..).unwrap_or_default();
                let mut block = [0u8; BLOCK];
                block[..rest.len()].copy_from_slice(rest);
                Self::of(&block)
            }
        }
    }

    /// The masks of one block, sixteen bytes at a time with shared vector comparisons.
    #[cfg(all(
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "sse2"
    ))]
    #[inline(always)]
    fn of(block: &[u8; BLOCK]) -> Self {
        use safe_arch::load_unaligned_m128i;
        let quarter = |k: usize| {
            lanes(load_unaligned_m128i(
                block[16 * k..16 * k + 16]
                    .try_into()
                    .expect("sixteen bytes"),
            ))
        };
        let quarters = [quarter(0), quarter(1), quarter(2), quarter(3)];
        let join = |class: usize| {
            quarters
                .iter()
                .enumerate()
                .fold(0u64, |m, (k, q)| m | u64::from(q[class] as u16) << (16 * k))
        };
        Self {
            digit: join(0),
            letter: join(1),
            dot_or_underscore: join(2),
            colon: join(3),
            dash: join(4),
            token_punctuation: join(5),
            paren_or_percent: join(6),
            non_ascii: join(7),
        }
    }

    /// The masks of one block, a byte at a time.
    #[cfg(not(all(
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "sse2"
    )))]
    #[inline(always)]
    fn of(block: &[u8; BLOCK]) -> Self {
        Self::bytewise(block)
    }

    /// The masks of up to [`BLOCK`] bytes, a byte at a time, by the classes' definitions.
    #[cfg(any(
        test,
        not(all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "sse2"
        ))
    ))]
    fn bytewise(bytes: &[u8]) -> Self {
        let mut masks = [0u64; Class::ALL.len()];
        for (i, &b) in bytes.iter().take(BLOCK).enumerate() {
            for (mask, class) in masks.iter_mut().zip(Class::ALL) {
                *mask |= u64::from(class.contains(b)) << i;
            }
        }
        let [
            digit,
            letter,
            dot_or_underscore,
            colon,
            dash,
            token_punctuation,
            paren_or_percent,
            non_ascii,
        ] = masks;
        Self {
            digit,
            letter,
            dot_or_underscore,
            colon,
            dash,
            token_punctuation,
            paren_or_percent,
            non_ascii,
        }
    }
}

/// The eight classes of sixteen bytes, as the sign bits `move_mask` gathers: in the order of
/// [`Class::ALL`].
#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
))]
#[inline(always)]
fn lanes(block: safe_arch::m128i) -> [i32; 8] {
    use safe_arch::{
        bitor_m128i as or, cmp_eq_mask_i8_m128i, cmp_lt_mask_i8_m128i,
        move_mask_i8_m128i as gather, set_splat_i8_m128i as splat, sub_i8_m128i,
    };
    // Lanes whose byte lies in `low..low + count`: the offset from `low` is moved into the
    // signed range, so that one signed comparison tests it.
    let in_range = |v, low: u8, count: u8| {
        let shifted = sub_i8_m128i(v, splat(low.wrapping_add(0x80) as i8));
        cmp_lt_mask_i8_m128i(shifted, splat(count.wrapping_add(0x80) as i8))
    };
    let equal = |byte: u8| cmp_eq_mask_i8_m128i(block, splat(byte as i8));
    let letter = in_range(or(block, splat(0x20)), b'a', 26);
    [
        gather(in_range(block, b'0', 10)),
        gather(letter),
        gather(or(equal(b'.'), equal(b'_'))),
        gather(equal(b':')),
        gather(equal(b'-')),
        gather(or(
            or(equal(b'+'), equal(b'/')),
            or(equal(b'='), equal(b'~')),
        )),
        gather(or(equal(b'('), equal(b'%'))),
        // A byte's top bit, as it is.
        gather(block),
    ]
}

/// Runs the numeric scan and the whole-word scan over `text` in one pass of blocks. Each scan
/// is called only for a block where its masks say it has work. True when the text holds a
/// byte outside ASCII.
pub(crate) fn find(text: &str, spans: &mut Vec<Span>) -> bool {
    let bytes = text.as_bytes();
    let mut numbers = numeric::Scan::default();
    let mut words = shape::Scan::default();
    let mut previous = Masks::default();
    let mut current = Masks::at(bytes, 0);
    let mut block = 0;
    let mut non_ascii = 0;
    while block < bytes.len() {
        non_ascii |= current.non_ascii;
        let next = Masks::at(bytes, block + BLOCK);
        let events = numeric::events(&previous, &current, &next);
        if events != 0 {
            numbers.block(bytes, block, events, spans);
        }
        let long = shape::long_runs(&current, &next);
        if long != 0 {
            words.block(bytes, block, &current, &next, long, spans);
        }
        previous = current;
        current = next;
        block += BLOCK;
    }
    non_ascii != 0
}

/// The numeric scan alone over `text`, visiting the bytes `events` chooses.
#[cfg(test)]
pub(crate) fn numeric_spans(text: &str, events: fn(&Masks, &Masks, &Masks) -> u64) -> Vec<Span> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut numbers = numeric::Scan::default();
    let (mut previous, mut current) = (Masks::default(), Masks::at(bytes, 0));
    let mut block = 0;
    while block < bytes.len() {
        let next = Masks::at(bytes, block + BLOCK);
        let events = events(&previous, &current, &next);
        if events != 0 {
            numbers.block(bytes, block, events, &mut spans);
        }
        (previous, current) = (current, next);
        block += BLOCK;
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_agree(block: &[u8; BLOCK]) {
        let masks = Masks::of(block);
        assert_eq!(masks, Masks::bytewise(block));
        for class in Class::ALL {
            let expected = block
                .iter()
                .enumerate()
                .fold(0u64, |m, (i, &b)| m | u64::from(class.contains(b)) << i);
            assert_eq!(class.of(&masks), expected, "{class:?} of {block:?}");
        }
    }

    #[test]
    fn the_vector_masks_are_the_definitions() {
        for b in 0..=255u8 {
            for at in 0..BLOCK {
                for fill in [b'a', b'!', b'0', 0x80] {
                    let mut block = [fill; BLOCK];
                    block[at] = b;
                    assert_agree(&block);
                }
            }
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..4000 {
            let mut block = [0u8; BLOCK];
            for byte in &mut block {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = state as u8;
            }
            assert_agree(&block);
        }
    }

    #[test]
    fn positions_past_the_end_are_in_no_class() {
        // The last block is padded with zero bytes.
        assert!(Class::ALL.iter().all(|class| !class.contains(0)));
        let text = b"12a4";
        let masks = Masks::at(text, 0);
        assert_eq!(masks.digit, 0b1011);
        assert_eq!(masks.token(), 0b1111);
        assert_eq!(Masks::at(text, 2).digit, 0b10);
        assert_eq!(Masks::at(text, 4), Masks::default());
        assert_eq!(Masks::at(text, 40), Masks::default());
        let long = [b'5'; BLOCK + 8];
        assert_eq!(Masks::at(&long, BLOCK).digit, 0xff);
    }
}
