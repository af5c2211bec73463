//! The AVX2 forms of the scrubber's byte scans, for x86-64 CPUs found at run time to have
//! it: the classification of blocks into byte classes (`blocks`), the trigger search's test of
//! the three bytes at each even position (`trigger`), and the scan for bytes `text::prepare`
//! removes. Each computes exactly what its scalar form computes (tests compare the two on
//! every machine that runs both); only the speed differs.
//!
//! The one place in this crate with `unsafe` code, for two reasons only: entering an AVX2
//! function from code compiled without it (each entry is a method of [`Avx2`], which is made
//! only where the CPU was found to run AVX2), and the gather of the trigger filter, which reads
//! through a pointer (its indices are bounded by construction). Loads from slices are safe:
//! they are built from arrays, which the compiler turns into one vector load.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]

use std::arch::x86_64::{
    __m256i, _mm256_and_si256, _mm256_andnot_si256, _mm256_castsi256_ps, _mm256_cmpeq_epi8,
    _mm256_cmpgt_epi8, _mm256_i32gather_epi32, _mm256_madd_epi16, _mm256_maddubs_epi16,
    _mm256_movemask_epi8, _mm256_movemask_ps, _mm256_or_si256, _mm256_set1_epi8, _mm256_set1_epi32,
    _mm256_setr_epi64x, _mm256_shuffle_epi8, _mm256_sllv_epi32, _mm256_srli_epi32, _mm256_sub_epi8,
};

use super::blocks::{self, BLOCK, Columns, Masks, Work};
use super::trigger::{PRESENT_WORDS, TRIGRAM_READ, TRIGRAM_STEP};

/// Proof that this CPU runs AVX2: made only by [`Avx2::detect`], so each method may enter the
/// AVX2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Avx2(());

impl Avx2 {
    /// `Some` when this CPU runs AVX2.
    pub(crate) fn detect() -> Option<Self> {
        std::arch::is_x86_feature_detected!("avx2").then_some(Self(()))
    }

    /// [`blocks::batch`], each whole block classified by [`block_masks`].
    pub(crate) fn batch(self, bytes: &[u8], at: usize, columns: &mut Columns, work: &mut Work) {
        // SAFETY: `self` exists only where `detect` found that the CPU runs AVX2.
        unsafe { batch(bytes, at, columns, work) }
    }

    /// From the even position `at`, steps of [`TRIGRAM_STEP`] bytes while a step starts at or
    /// before `last` and [`TRIGRAM_READ`] bytes are left to read, as many as `hits` holds.
    /// Each step whose sixteen even positions hold three bytes that, folded by
    /// [`super::trigger::trigram_key`], have their bit set in `present` is written to `hits`
    /// as the step's number (from 0) in the high sixteen bits and those positions in the low
    /// sixteen (bit `k` for the position `2k` bytes into the step). Returns the steps taken and
    /// the entries written.
    pub(crate) fn trigram_hits(
        self,
        text: &[u8],
        at: usize,
        last: usize,
        present: &[u32; PRESENT_WORDS],
        hits: &mut [u32],
    ) -> (usize, usize) {
        // SAFETY: as in `batch`.
        unsafe { trigram_hits(text, at, last, present, hits) }
    }

    /// True when `bytes` holds a byte that `text::suspect` names.
    pub(crate) fn has_suspect_byte(self, bytes: &[u8]) -> bool {
        // SAFETY: as in `batch`.
        unsafe { has_suspect_byte(bytes) }
    }
}

#[target_feature(enable = "avx2")]
fn batch(bytes: &[u8], at: usize, columns: &mut Columns, work: &mut Work) {
    blocks::batch(bytes, at, columns, work, |block| block_masks(block));
}

/// Thirty-two bytes as a vector.
#[target_feature(enable = "avx2")]
#[inline]
fn load(bytes: &[u8; 32]) -> __m256i {
    let word = |k: usize| {
        i64::from_le_bytes(
            bytes[8 * k..8 * k + 8]
                .try_into()
                .expect("eight bytes of thirty-two"),
        )
    };
    _mm256_setr_epi64x(word(0), word(1), word(2), word(3))
}

/// For [`member_of`]: at index `i`, the member of `members` whose low four bits are `i`, else
/// `0x80`, which no byte it is compared with equals (bytes from `0x80` look up zero).
const fn nibble_table(members: &[u8]) -> [u8; 16] {
    let mut table = [0x80u8; 16];
    let mut k = 0;
    while k < members.len() {
        let member = members[k];
        assert!(member < 0x80, "ASCII members only");
        assert!(
            table[(member & 15) as usize] == 0x80,
            "one member per low nibble"
        );
        table[(member & 15) as usize] = member;
        k += 1;
    }
    table
}

const DOT_OR_UNDERSCORE: [u8; 16] = nibble_table(b"._");
const TOKEN_PUNCTUATION: [u8; 16] = nibble_table(b"+/=~");
const PAREN_OR_PERCENT: [u8; 16] = nibble_table(b"(%");

/// The lanes of `v` whose byte is one of the members of `table` (a [`nibble_table`]): the
/// table, looked up by each byte's low four bits, gives back the byte only where it is one.
#[target_feature(enable = "avx2")]
#[inline]
fn member_of(v: __m256i, table: &[u8; 16]) -> __m256i {
    let half =
        |k: usize| i64::from_le_bytes(table[8 * k..8 * k + 8].try_into().expect("eight bytes"));
    let table = _mm256_setr_epi64x(half(0), half(1), half(0), half(1));
    _mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, v), v)
}

/// The masks of one block, thirty-two bytes at a time: the classes of `blocks::Class`, each
/// one vector comparison or two (or a lookup by [`member_of`]) of each half.
#[target_feature(enable = "avx2")]
#[inline]
fn block_masks(block: &[u8; BLOCK]) -> Masks {
    let low = load(block[..32].try_into().expect("32 bytes"));
    let high = load(block[32..].try_into().expect("32 bytes"));
    let splat = |b: u8| _mm256_set1_epi8(b as i8);
    // The lanes whose byte lies in `low..low + count`: the offset from `low` is moved into the
    // signed range, so that one signed comparison tests it.
    let in_range = |v: __m256i, low: u8, count: u8| {
        let shifted = _mm256_sub_epi8(v, splat(low.wrapping_add(0x80)));
        _mm256_cmpgt_epi8(splat(count.wrapping_add(0x80)), shifted)
    };
    // One bit per byte of the block, from the lanes `class` chooses in each half.
    let mask = |class: &dyn Fn(__m256i) -> __m256i| {
        let half = |v| u64::from(_mm256_movemask_epi8(class(v)) as u32);
        half(low) | half(high) << 32
    };
    Masks {
        digit: mask(&|v| in_range(v, b'0', 10)),
        letter: mask(&|v| in_range(_mm256_or_si256(v, splat(0x20)), b'a', 26)),
        dot_or_underscore: mask(&|v| member_of(v, &DOT_OR_UNDERSCORE)),
        colon: mask(&|v| _mm256_cmpeq_epi8(v, splat(b':'))),
        dash: mask(&|v| _mm256_cmpeq_epi8(v, splat(b'-'))),
        token_punctuation: mask(&|v| member_of(v, &TOKEN_PUNCTUATION)),
        paren_or_percent: mask(&|v| member_of(v, &PAREN_OR_PERCENT)),
        // A byte's top bit, as it is.
        non_ascii: mask(&|v| v),
    }
}

#[target_feature(enable = "avx2")]
fn trigram_hits(
    text: &[u8],
    at: usize,
    last: usize,
    present: &[u32; PRESENT_WORDS],
    hits: &mut [u32],
) -> (usize, usize) {
    // The steps that start at or before `last` and can read their bytes; their number fits
    // the sixteen bits an entry gives it.
    if at > last {
        return (0, 0);
    }
    let steps = ((last - at) / TRIGRAM_STEP + 1)
        .min(text.len().saturating_sub(at + TRIGRAM_READ - TRIGRAM_STEP) / TRIGRAM_STEP)
        .min(hits.len())
        .min(1 << 16);
    let Some(read) = text.get(at..at + steps * TRIGRAM_STEP + TRIGRAM_READ - TRIGRAM_STEP) else {
        return (0, 0);
    };
    let mut written = 0;
    for step in 0..steps {
        let window = &read[TRIGRAM_STEP * step..TRIGRAM_STEP * step + TRIGRAM_READ];
        let found = trigrams_present(window.try_into().expect("a window"), present);
        // Written every time, kept when it holds a position: no branch on what was found.
        hits[written] = (step as u32) << 16 | found;
        written += usize::from(found != 0);
    }
    (steps, written)
}

/// Bit `k` set when the three bytes at `2k` of `window` (`k` below sixteen), folded by
/// [`super::trigger::trigram_key`], have their bit set in `present`.
#[target_feature(enable = "avx2")]
#[inline]
fn trigrams_present(window: &[u8; TRIGRAM_READ], present: &[u32; PRESENT_WORDS]) -> u32 {
    let word =
        |k: usize| i64::from_le_bytes(window[8 * k..8 * k + 8].try_into().expect("eight bytes"));
    // Each half of a vector makes four positions, from its sixteen bytes: bytes 0..16 and
    // 8..24, then 16..32 and 24..40.
    let eight = |from: usize| -> u32 {
        let v = _mm256_setr_epi64x(word(from), word(from + 1), word(from + 1), word(from + 2));
        present_at(v, present)
    };
    eight(0) | eight(2) << 8
}

/// Bit `k` set when the three bytes at `2k` of the half of `v` that holds position `k` (four
/// in each half), folded by [`super::trigger::trigram_key`], have their bit set in `present`.
#[target_feature(enable = "avx2")]
#[inline]
fn present_at(v: __m256i, present: &[u32; PRESENT_WORDS]) -> u32 {
    // Each 32-bit lane gets the three bytes from an even offset of its half, and a zero.
    const SPREAD: i64 = i64::from_le_bytes([0, 1, 2, 0x80, 2, 3, 4, 0x80]);
    const SPREAD_HIGH: i64 = i64::from_le_bytes([4, 5, 6, 0x80, 6, 7, 8, 0x80]);
    let three = _mm256_shuffle_epi8(
        v,
        _mm256_setr_epi64x(SPREAD, SPREAD_HIGH, SPREAD, SPREAD_HIGH),
    );
    // Six bits of each byte: its low five, and bit 6 as bit 5 (see `trigram_key`).
    let folded = _mm256_or_si256(
        _mm256_and_si256(three, _mm256_set1_epi32(0x001f_1f1f)),
        _mm256_and_si256(_mm256_srli_epi32(three, 1), _mm256_set1_epi32(0x0020_2020)),
    );
    // First + 64 × second, and third; then the two joined: first + 64 × second + 4096 × third.
    let pairs = _mm256_maddubs_epi16(folded, _mm256_set1_epi32(0x0001_4001));
    let keys = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x1000_0001));
    let index = _mm256_srli_epi32(keys, 5);
    // SAFETY: a key has eighteen bits (three bytes of six), so every index is below 2^13,
    // `PRESENT_WORDS`: each lane reads a `u32` inside `present`.
    let words = unsafe { _mm256_i32gather_epi32::<4>(present.as_ptr().cast(), index) };
    // The key's bit moved to the top of its lane, which `movemask` gathers.
    let bits = _mm256_sllv_epi32(words, _mm256_andnot_si256(keys, _mm256_set1_epi32(31)));
    _mm256_movemask_ps(_mm256_castsi256_ps(bits)) as u32
}

#[target_feature(enable = "avx2")]
fn has_suspect_byte(bytes: &[u8]) -> bool {
    let splat = |b: u8| _mm256_set1_epi8(b as i8);
    let suspect = |v: __m256i| {
        // Signed: below 0x20 is the control bytes and every byte from 0x80.
        let low_or_high = _mm256_cmpgt_epi8(splat(0x20), v);
        let allowed = _mm256_or_si256(
            _mm256_cmpeq_epi8(v, splat(b'\n')),
            _mm256_cmpeq_epi8(v, splat(b'\t')),
        );
        _mm256_or_si256(
            _mm256_andnot_si256(allowed, low_or_high),
            _mm256_cmpeq_epi8(v, splat(0x7f)),
        )
    };
    let in_block = |block: &[u8; 64]| {
        let any = _mm256_or_si256(
            suspect(load(block[..32].try_into().expect("32 bytes"))),
            suspect(load(block[32..].try_into().expect("32 bytes"))),
        );
        _mm256_movemask_epi8(any) != 0
    };
    let mut blocks = bytes.chunks_exact(64);
    let found = blocks.any(|block| in_block(block.try_into().expect("64 bytes")));
    // The rest, padded with a byte that is not suspect.
    let rest = blocks.remainder();
    let mut last = [b' '; 64];
    last[..rest.len()].copy_from_slice(rest);
    found || in_block(&last)
}
