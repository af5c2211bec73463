//! One pass over the text in aligned blocks of 64 bytes, each block classified once into the
//! bit masks the numeric and whole-word scans read ([`Masks`]), so that neither reads a byte
//! it has no work for, and neither computes a mask the other has already computed. Blocks are
//! classified a batch at a time ([`batch`]), and what each scan has to do in each block is
//! computed from the masks for the whole batch in one loop without branches, which the
//! compiler turns into vector code (four blocks at once with AVX2); the scans are then called
//! only where there is work.
//!
//! Each class is defined once, a byte at a time ([`Class::contains`]). The scalar form of the
//! masks is computed from a table made of those definitions, eight bytes at a time; where the
//! CPU runs AVX2 (see `kernel`) they are computed thirty-two bytes at a time with a few shared
//! vector comparisons (`simd`), and a test holds every form to the definitions for every byte
//! at every position.

use super::kernel::Kernel;
use super::{Span, numeric, shape};

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

/// The masks of two blocks in a row as one 128-bit window, the first in the low half: what the
/// scans look ahead through. Kept as two words, not a `u128`, so that the compiler computes
/// the windows of several blocks at once in vector registers (see [`work`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Window {
    low: u64,
    high: u64,
}

impl Window {
    #[inline(always)]
    pub(crate) fn new(low: u64, high: u64) -> Self {
        Self { low, high }
    }

    /// The first block's bits.
    #[inline(always)]
    pub(crate) fn low(self) -> u64 {
        self.low
    }

    /// The second block's bits.
    #[inline(always)]
    pub(crate) fn high(self) -> u64 {
        self.high
    }
}

impl std::ops::Shr<u32> for Window {
    type Output = Self;

    /// The window moved towards its low end by `by` bits, 1 to 63.
    #[inline(always)]
    fn shr(self, by: u32) -> Self {
        Self {
            low: self.low >> by | self.high << (64 - by),
            high: self.high >> by,
        }
    }
}

impl std::ops::Shl<u32> for Window {
    type Output = Self;

    /// The window moved towards its high end by `by` bits, 1 to 63.
    #[inline(always)]
    fn shl(self, by: u32) -> Self {
        Self {
            low: self.low << by,
            high: self.high << by | self.low >> (64 - by),
        }
    }
}

impl std::ops::Add for Window {
    type Output = Self;

    /// The sum as 128-bit numbers (the carry out of the high end is dropped).
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        let low = self.low.wrapping_add(other.low);
        let carry = u64::from(low < self.low);
        Self {
            low,
            high: self.high.wrapping_add(other.high).wrapping_add(carry),
        }
    }
}

impl std::ops::BitAnd for Window {
    type Output = Self;

    #[inline(always)]
    fn bitand(self, other: Self) -> Self {
        Self::new(self.low & other.low, self.high & other.high)
    }
}

impl std::ops::BitOr for Window {
    type Output = Self;

    #[inline(always)]
    fn bitor(self, other: Self) -> Self {
        Self::new(self.low | other.low, self.high | other.high)
    }
}

impl std::ops::Not for Window {
    type Output = Self;

    #[inline(always)]
    fn not(self) -> Self {
        Self::new(!self.low, !self.high)
    }
}

/// The classes, by their definition: what every form of the masks is computed from or tested
/// against.
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

impl Class {
    /// In the order of [`Masks`]' fields, which the vector form follows too.
    pub(crate) const ALL: [Class; 8] = [
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
    pub(crate) const fn contains(self, b: u8) -> bool {
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

/// For each byte, its classes, each as the lowest bit of one byte of a `u64`: class `k` of
/// [`Class::ALL`] in byte `k`. Eight bytes' entries, each shifted by its place, add up to
/// each class's eight bits in its byte.
const SPREAD: [u64; 256] = {
    let mut table = [0u64; 256];
    let mut b = 0;
    while b < 256 {
        let mut k = 0;
        while k < Class::ALL.len() {
            if Class::ALL[k].contains(b as u8) {
                table[b] |= 1 << (8 * k);
            }
            k += 1;
        }
        b += 1;
    }
    table
};

/// The bytes of a token: letters, digits and `_ - + / = . ~`.
pub(crate) fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+' | b'/' | b'=' | b'.' | b'~')
}

impl Masks {
    /// The masks of the [`BLOCK`] bytes of `bytes` from `at`, each block classified by `of`.
    #[inline(always)]
    pub(crate) fn at(bytes: &[u8], at: usize, of: impl Fn(&[u8; BLOCK]) -> Self) -> Self {
        match bytes.get(at..at + BLOCK) {
            Some(block) => of(block.try_into().expect("a block")),
            // The text's last, partial block, padded with zero bytes, which are in no class.
            None => {
                let rest = bytes.get(at..).unwrap_or_default();
                let mut block = [0u8; BLOCK];
                block[..rest.len()].copy_from_slice(rest);
                of(&block)
            }
        }
    }

    /// The masks of one block, eight bytes at a time through [`SPREAD`]: the scalar form, which
    /// every target has.
    #[inline(always)]
    pub(crate) fn of(block: &[u8; BLOCK]) -> Self {
        let mut masks = [0u64; Class::ALL.len()];
        for (group, bytes) in block.chunks_exact(8).enumerate() {
            let classes = bytes
                .iter()
                .enumerate()
                .fold(0u64, |all, (i, &b)| all | SPREAD[usize::from(b)] << i);
            for (k, mask) in masks.iter_mut().enumerate() {
                *mask |= (classes >> (8 * k) & 0xff) << (8 * group);
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

/// Blocks classified at a time: a kernel fills [`Columns`] and computes their [`Work`], which
/// the scans then read, so that its loops do nothing else. Small enough that a short text
/// (one value, one line) costs little to set up.
pub(crate) const BATCH: usize = 16;

/// The masks of a batch of blocks, class by class: at 0 the block before the batch, at 1 to
/// [`BATCH`] its blocks, then the block after it. Kept by class, so that the masks of
/// neighbouring blocks lie side by side and [`work`] can read those of four blocks at once.
#[derive(Debug, Clone)]
pub(crate) struct Columns {
    digit: [u64; BATCH + 2],
    letter: [u64; BATCH + 2],
    dot_or_underscore: [u64; BATCH + 2],
    colon: [u64; BATCH + 2],
    dash: [u64; BATCH + 2],
    token_punctuation: [u64; BATCH + 2],
    paren_or_percent: [u64; BATCH + 2],
    non_ascii: [u64; BATCH + 2],
}

impl Default for Columns {
    fn default() -> Self {
        Self {
            digit: [0; BATCH + 2],
            letter: [0; BATCH + 2],
            dot_or_underscore: [0; BATCH + 2],
            colon: [0; BATCH + 2],
            dash: [0; BATCH + 2],
            token_punctuation: [0; BATCH + 2],
            paren_or_percent: [0; BATCH + 2],
            non_ascii: [0; BATCH + 2],
        }
    }
}

impl Columns {
    #[inline(always)]
    pub(crate) fn get(&self, i: usize) -> Masks {
        Masks {
            digit: self.digit[i],
            letter: self.letter[i],
            dot_or_underscore: self.dot_or_underscore[i],
            colon: self.colon[i],
            dash: self.dash[i],
            token_punctuation: self.token_punctuation[i],
            paren_or_percent: self.paren_or_percent[i],
            non_ascii: self.non_ascii[i],
        }
    }

    #[inline(always)]
    pub(crate) fn set(&mut self, i: usize, masks: Masks) {
        self.digit[i] = masks.digit;
        self.letter[i] = masks.letter;
        self.dot_or_underscore[i] = masks.dot_or_underscore;
        self.colon[i] = masks.colon;
        self.dash[i] = masks.dash;
        self.token_punctuation[i] = masks.token_punctuation;
        self.paren_or_percent[i] = masks.paren_or_percent;
        self.non_ascii[i] = masks.non_ascii;
    }
}

/// What the scans have to do in each block of a batch: where the numeric scan has events (see
/// `numeric::events`), and where runs end that the whole-word scan looks at (see
/// `shape::run_ends`).
#[derive(Debug, Clone)]
pub(crate) struct Work {
    pub(crate) events: [u64; BATCH],
    pub(crate) run_ends: [u64; BATCH],
}

impl Default for Work {
    fn default() -> Self {
        Self {
            events: [0; BATCH],
            run_ends: [0; BATCH],
        }
    }
}

/// How many blocks from `at` a batch holds: up to the one that holds the text's end (where a
/// run that ends the text ends: one past its last byte when the text fills its last block), at
/// most [`BATCH`].
#[inline(always)]
pub(crate) fn batch_len(bytes: &[u8], at: usize) -> usize {
    (bytes.len().saturating_sub(at) / BLOCK + 1).min(BATCH)
}

/// Fills `columns` from 1 with the masks of the [`batch_len`] blocks from `at` and the one after
/// them, each whole block classified by `of` (a partial one is padded and classified by
/// [`Masks::of`], one past the text's end is in no class), and computes their [`Work`]. One
/// loop without branches over the blocks, which the compiler turns into vector code where
/// the caller is compiled for a vector extension: every kernel runs this same code.
#[inline(always)]
pub(crate) fn batch(
    bytes: &[u8],
    at: usize,
    columns: &mut Columns,
    work: &mut Work,
    of: impl Fn(&[u8; BLOCK]) -> Masks,
) {
    let blocks = batch_len(bytes, at);
    for i in 0..=blocks {
        let block = at + i * BLOCK;
        let masks = match bytes.get(block..block + BLOCK) {
            Some(whole) => of(whole.try_into().expect("a block")),
            None if block < bytes.len() => Masks::at(bytes, block, &of),
            None => Masks::default(),
        };
        columns.set(i + 1, masks);
    }
    for i in 0..blocks {
        let (previous, current, next) = (columns.get(i), columns.get(i + 1), columns.get(i + 2));
        work.events[i] = numeric::events(&previous, &current, &next);
        work.run_ends[i] = shape::run_ends(&previous, &current);
    }
}

/// Runs the numeric scan and the whole-word scan over `text` in one pass of blocks, classified
/// by `kernel`. Each scan is called only for a block where its masks say it has work. True when
/// the text holds a byte outside ASCII.
pub(crate) fn find(text: &str, spans: &mut Vec<Span>, kernel: Kernel) -> bool {
    let bytes = text.as_bytes();
    let mut numbers = numeric::Scan::default();
    let mut columns = Columns::default();
    let mut work = Work::default();
    let mut non_ascii = 0;
    let mut at = 0;
    // Up to the block that holds the text's end, where a run that ends the text ends: one
    // past the last byte when the text fills its last block.
    while at <= bytes.len() {
        kernel.batch(bytes, at, &mut columns, &mut work);
        let blocks = batch_len(bytes, at);
        for i in 0..blocks {
            let block = at + i * BLOCK;
            non_ascii |= columns.non_ascii[i + 1];
            if work.events[i] != 0 {
                numbers.block(bytes, block, work.events[i], spans);
            }
            if work.run_ends[i] != 0 {
                let (previous, current) = (columns.get(i), columns.get(i + 1));
                shape::block(bytes, block, &previous, &current, work.run_ends[i], spans);
            }
        }
        // The last block of this batch is the one before the next.
        columns.set(0, columns.get(blocks));
        at += blocks * BLOCK;
    }
    non_ascii != 0
}

/// What [`find`] finds in `text` with `kernel`, as (start, end) pairs: for tests that place a
/// span at every alignment of the blocks and check each kernel finds it there.
#[cfg(test)]
pub(crate) fn found_by(text: &str, kernel: Kernel) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    find(text, &mut spans, kernel);
    spans.iter().map(|s| (s.start(), s.end())).collect()
}

/// The numeric scan alone over `text`, visiting the bytes `events` chooses.
#[cfg(test)]
pub(crate) fn numeric_spans(text: &str, events: fn(&Masks, &Masks, &Masks) -> u64) -> Vec<Span> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut numbers = numeric::Scan::default();
    let (mut previous, mut current) = (Masks::default(), Masks::at(bytes, 0, Masks::of));
    let mut block = 0;
    while block < bytes.len() {
        let next = Masks::at(bytes, block + BLOCK, Masks::of);
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
        for kernel in Kernel::all() {
            let masks = kernel.block_masks(block);
            for class in Class::ALL {
                let expected = block
                    .iter()
                    .enumerate()
                    .fold(0u64, |m, (i, &b)| m | u64::from(class.contains(b)) << i);
                assert_eq!(
                    class.of(&masks),
                    expected,
                    "{class:?} of {block:?} by {kernel:?}"
                );
            }
        }
    }

    #[test]
    fn every_kernel_s_masks_are_the_definitions() {
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
        let masks = Masks::at(text, 0, Masks::of);
        assert_eq!(masks.digit, 0b1011);
        assert_eq!(masks.token(), 0b1111);
        assert_eq!(Masks::at(text, 2, Masks::of).digit, 0b10);
        assert_eq!(Masks::at(text, 4, Masks::of), Masks::default());
        assert_eq!(Masks::at(text, 40, Masks::of), Masks::default());
        let long = [b'5'; BLOCK + 8];
        assert_eq!(Masks::at(&long, BLOCK, Masks::of).digit, 0xff);
    }
}
