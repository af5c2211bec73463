//! Which bytes of a block of 32 belong to a class, as a bit mask, so that the scans skip
//! stretches with nothing to look at without a branch per byte.
//!
//! A class is defined once, a byte at a time ([`ByteClass::contains`]); where SSE2 is
//! available (every x86-64), it is also written as a few vector comparisons on 16 bytes at a
//! time ([`ByteClass::lanes`]), and a test holds the two to the same answer for every byte at
//! every position. The vector form goes through `safe_arch`, which wraps each intrinsic in a
//! safe function, so this crate keeps `unsafe_code = "deny"`. Elsewhere the byte form is packed
//! into a mask by multiplication.

/// A set of bytes the scans look for.
pub(crate) trait ByteClass {
    /// Whether `b` is in the class: the definition.
    fn contains(b: u8) -> bool;

    /// The class tested on sixteen bytes: each lane all ones where its byte is in the class,
    /// zero elsewhere. Must agree with [`ByteClass::contains`] (tested).
    #[cfg(all(
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "sse2"
    ))]
    fn lanes(block: safe_arch::m128i) -> safe_arch::m128i;
}

/// Bit `i` set when byte `at + i` of `bytes` is in class `C`; positions past the end are not.
#[inline(always)]
pub(crate) fn mask32_at<C: ByteClass>(bytes: &[u8], at: usize) -> u32 {
    match bytes.get(at..at + 32) {
        Some(block) => mask32::<C>(block.try_into().expect("32 bytes")),
        None => {
            let rest = &bytes[at.min(bytes.len())..];
            let mut block = [0u8; 32];
            block[..rest.len()].copy_from_slice(rest);
            // `rest` is shorter than 32 bytes, so the shift is in range.
            mask32::<C>(&block) & ((1u32 << rest.len()) - 1)
        }
    }
}

/// Bit `i` set when `block[i]` is in class `C`.
#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
))]
#[inline(always)]
pub(crate) fn mask32<C: ByteClass>(block: &[u8; 32]) -> u32 {
    use safe_arch::{load_unaligned_m128i, move_mask_i8_m128i};
    let (low, high) = block.split_at(16);
    let low = load_unaligned_m128i(low.try_into().expect("sixteen bytes"));
    let high = load_unaligned_m128i(high.try_into().expect("sixteen bytes"));
    let low = move_mask_i8_m128i(C::lanes(low)) as u32;
    let high = move_mask_i8_m128i(C::lanes(high)) as u32;
    // The barrier keeps the mask a plain integer: without it, LLVM folds the bit arithmetic the
    // scans do on it back into per-lane vector code, which measured half again slower.
    std::hint::black_box(low | high << 16)
}

/// Bit `i` set when `block[i]` is in class `C`: each byte's flag is computed (vector code when
/// the class is a few comparisons joined with `|`), and each eight flags are packed into a
/// byte by one multiplication.
#[cfg(not(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
)))]
#[inline(always)]
pub(crate) fn mask32<C: ByteClass>(block: &[u8; 32]) -> u32 {
    mask32_bytewise::<C>(block)
}

#[cfg_attr(
    all(
        any(target_arch = "x86", target_arch = "x86_64"),
        target_feature = "sse2"
    ),
    cfg(test)
)]
#[inline(always)]
fn mask32_bytewise<C: ByteClass>(block: &[u8; 32]) -> u32 {
    let mut flags = [0u8; 32];
    for (flag, &b) in flags.iter_mut().zip(block) {
        *flag = u8::from(C::contains(b));
    }
    let mut mask = 0;
    for (k, eight) in flags.chunks_exact(8).enumerate() {
        let eight = u64::from_le_bytes(eight.try_into().expect("eight bytes"));
        // Flag byte j lands on bit 56 + j of the product, and no two terms collide.
        mask |= ((eight.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u32) << (8 * k);
    }
    mask
}

/// Lanes of `block` whose byte lies in `low..low + count` (unsigned): the offset from `low` is
/// moved into the signed range so that one signed comparison tests it.
#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
))]
#[inline(always)]
pub(crate) fn in_range(block: safe_arch::m128i, low: u8, count: u8) -> safe_arch::m128i {
    use safe_arch::{cmp_lt_mask_i8_m128i, set_splat_i8_m128i, sub_i8_m128i};
    let shifted = sub_i8_m128i(block, set_splat_i8_m128i(low.wrapping_add(0x80) as i8));
    cmp_lt_mask_i8_m128i(shifted, set_splat_i8_m128i(count.wrapping_add(0x80) as i8))
}

/// Lanes of `block` equal to `byte`.
#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse2"
))]
#[inline(always)]
pub(crate) fn equal(block: safe_arch::m128i, byte: u8) -> safe_arch::m128i {
    safe_arch::cmp_eq_mask_i8_m128i(block, safe_arch::set_splat_i8_m128i(byte as i8))
}

/// Checks a class's two forms against each other: every byte value at every position of a
/// block, and blocks of mixed bytes.
#[cfg(test)]
pub(crate) fn assert_forms_agree<C: ByteClass>() {
    for b in 0..=255u8 {
        for at in 0..32 {
            let mut block = [if C::contains(b'a') { b'!' } else { b'a' }; 32];
            block[at] = b;
            assert_eq!(
                mask32::<C>(&block),
                mask32_bytewise::<C>(&block),
                "byte {b:#04x} at {at}"
            );
        }
    }
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..2000 {
        let mut block = [0u8; 32];
        for byte in &mut block {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = state as u8;
        }
        assert_eq!(mask32::<C>(&block), mask32_bytewise::<C>(&block));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Digit;

    impl ByteClass for Digit {
        fn contains(b: u8) -> bool {
            b.is_ascii_digit()
        }

        #[cfg(all(
            any(target_arch = "x86", target_arch = "x86_64"),
            target_feature = "sse2"
        ))]
        fn lanes(block: safe_arch::m128i) -> safe_arch::m128i {
            in_range(block, b'0', 10)
        }
    }

    #[test]
    fn a_mask_has_the_bit_of_each_byte_in_the_class() {
        let mut block = [b'a'; 32];
        for at in [0, 5, 7, 8, 20, 31] {
            block[at] = b'7';
        }
        let expected = (1 << 0) | (1 << 5) | (1 << 7) | (1 << 8) | (1 << 20) | (1 << 31);
        assert_eq!(mask32::<Digit>(&block), expected);
        assert_eq!(mask32_bytewise::<Digit>(&block), expected);
        assert_eq!(mask32::<Digit>(&[b'9'; 32]), u32::MAX);
        assert_eq!(mask32::<Digit>(&[b' '; 32]), 0);
        assert_forms_agree::<Digit>();
    }

    #[test]
    fn positions_past_the_end_are_not_in_the_class() {
        let bytes = b"12a4";
        assert_eq!(mask32_at::<Digit>(bytes, 0), 0b1011);
        assert_eq!(mask32_at::<Digit>(bytes, 2), 0b10);
        assert_eq!(mask32_at::<Digit>(bytes, 4), 0);
        assert_eq!(mask32_at::<Digit>(bytes, 40), 0);
        let long = [b'5'; 40];
        assert_eq!(mask32_at::<Digit>(&long, 0), u32::MAX);
        assert_eq!(mask32_at::<Digit>(&long, 32), 0xff);
    }
}
