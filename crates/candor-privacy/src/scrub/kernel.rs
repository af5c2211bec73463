//! Which form of the byte scans a scrubber runs: the portable one, which every target has, or
//! the AVX2 one (`simd`) where this CPU runs it. The choice is made once, when a scrubber is
//! built; the two give the same answer for every input, and tests hold them to it on every
//! machine that has both.

use super::blocks::{self, Columns, Masks, Work};
#[cfg(target_arch = "x86_64")]
use super::simd::Avx2;
use super::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// Plain Rust, for any target.
    Scalar,
    /// AVX2, on an x86-64 CPU found to run it.
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2),
}

impl Kernel {
    /// The fastest this CPU runs.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = Avx2::detect() {
            return Self::Avx2(avx2);
        }
        Self::Scalar
    }

    /// Every kernel this CPU runs, the scalar one first: what the tests compare.
    #[cfg(test)]
    pub(crate) fn all() -> Vec<Self> {
        let mut all = vec![Self::Scalar];
        if Self::detect() != Self::Scalar {
            all.push(Self::detect());
        }
        all
    }

    /// [`blocks::batch`]: the masks of the blocks from `at` into `columns`, and their work.
    pub(crate) fn batch(self, bytes: &[u8], at: usize, columns: &mut Columns, work: &mut Work) {
        match self {
            Self::Scalar => blocks::batch(bytes, at, columns, work, Masks::of),
            #[cfg(target_arch = "x86_64")]
            Self::Avx2(avx2) => avx2.batch(bytes, at, columns, work),
        }
    }

    /// The masks of one block.
    #[cfg(test)]
    pub(crate) fn block_masks(self, block: &[u8; blocks::BLOCK]) -> Masks {
        let (mut columns, mut work) = (Columns::default(), Work::default());
        self.batch(block, 0, &mut columns, &mut work);
        columns.get(1)
    }

    /// True when `bytes` holds a byte that is not printable ASCII, a newline or a tab (see
    /// `text::prepare`).
    pub(crate) fn has_suspect_byte(self, bytes: &[u8]) -> bool {
        match self {
            Self::Scalar => text::has_suspect_byte(bytes),
            #[cfg(target_arch = "x86_64")]
            Self::Avx2(avx2) => avx2.has_suspect_byte(bytes),
        }
    }
}
