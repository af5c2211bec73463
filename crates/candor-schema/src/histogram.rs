//! Functional (log-linear) buckets: the layout a `histogram` point declares, how measurements
//! fold into it, how a value is checked against it, and how a percentile is read from merged
//! counts.
//!
//! A layout with `n` buckets per power of two gives every positive number `x` the key
//! `floor(n · log2 x)`; key `k` counts the measurements in `[2^(k/n), 2^((k+1)/n))`, so each
//! bucket is `2^(1/n) − 1` (about 9% for 8) wider than its lower bound and the relative error
//! of a percentile read from buckets is bounded whatever the scale. The keys depend on `n`
//! alone, not on where the range starts, so the counts of any number of installations on one
//! layout add up exactly, bucket by bucket. The declared range only says which keys exist:
//! a measurement below `min` counts in `min`'s bucket and one above `max` in `max`'s.

use crate::event::{HistogramValue, MismatchKind};
use crate::model::ValueType;

/// The most buckets one histogram layout may declare: keeps a value, and what a receiver
/// merges per point, small.
pub const MAX_HISTOGRAM_BUCKETS: u32 = 1024;
/// The most buckets per power of two a layout may declare.
pub const MAX_BUCKETS_PER_OCTAVE: u32 = 64;

/// A histogram point's declared buckets: keys `first..=last` on `per_octave` buckets per power
/// of two. Built only from a layout the loader accepts ([`BucketLayout::new`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketLayout {
    min: f64,
    max: f64,
    per_octave: u32,
    first: i64,
    last: i64,
}

/// Why a declared layout is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// `min` is not a finite number above zero, or `max` not a finite number above `min`.
    #[error("min must be a finite number above 0 and max a finite number above min")]
    Range,
    /// `buckets_per_octave` is 0 or above [`MAX_BUCKETS_PER_OCTAVE`].
    #[error("buckets_per_octave must be between 1 and {MAX_BUCKETS_PER_OCTAVE}")]
    PerOctave,
    /// The range holds more than [`MAX_HISTOGRAM_BUCKETS`] buckets.
    #[error(
        "the range holds {0} buckets, more than the {MAX_HISTOGRAM_BUCKETS} a histogram may have"
    )]
    TooWide(i64),
}

impl BucketLayout {
    /// The layout of `min..=max` on `per_octave` buckets per power of two.
    pub fn new(min: f64, max: f64, per_octave: u32) -> Result<Self, LayoutError> {
        if !(min.is_finite() && max.is_finite() && min > 0.0 && max > min) {
            return Err(LayoutError::Range);
        }
        if per_octave == 0 || per_octave > MAX_BUCKETS_PER_OCTAVE {
            return Err(LayoutError::PerOctave);
        }
        let key = |x: f64| (x.log2() * f64::from(per_octave)).floor() as i64;
        let (first, last) = (key(min), key(max));
        let len = last - first + 1;
        if len > i64::from(MAX_HISTOGRAM_BUCKETS) {
            return Err(LayoutError::TooWide(len));
        }
        Ok(Self {
            min,
            max,
            per_octave,
            first,
            last,
        })
    }

    /// The layout a value type declares: `None` for every kind but a valid histogram.
    pub fn of(value: &ValueType) -> Option<Self> {
        match value {
            ValueType::Histogram {
                min,
                max,
                buckets_per_octave,
            } => Self::new(*min, *max, *buckets_per_octave).ok(),
            _ => None,
        }
    }

    /// The smallest measurement told apart.
    pub fn min(&self) -> f64 {
        self.min
    }

    /// The largest measurement told apart.
    pub fn max(&self) -> f64 {
        self.max
    }

    /// Buckets per power of two.
    pub fn per_octave(&self) -> u32 {
        self.per_octave
    }

    /// The first and last key of the layout.
    pub fn keys(&self) -> std::ops::RangeInclusive<i64> {
        self.first..=self.last
    }

    /// How many buckets the layout declares.
    pub fn len(&self) -> usize {
        (self.last - self.first + 1) as usize
    }

    /// Never: a layout declares at least one bucket.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The key of the bucket that counts `x`, after clamping it to the range (a measurement
    /// that is not a number counts as `min`).
    pub fn key(&self, x: f64) -> i64 {
        let x = self.clamp(x);
        ((x.log2() * f64::from(self.per_octave)).floor() as i64).clamp(self.first, self.last)
    }

    /// `x` clamped to `min..=max`; not-a-number becomes `min`.
    pub fn clamp(&self, x: f64) -> f64 {
        if x.is_nan() {
            self.min
        } else {
            x.clamp(self.min, self.max)
        }
    }

    /// The measurements bucket `key` can hold: its nominal bounds `[2^(k/n), 2^((k+1)/n))`
    /// narrowed to the declared range, which every counted measurement was clamped to.
    pub fn bounds(&self, key: i64) -> (f64, f64) {
        let at = |k: i64| (k as f64 / f64::from(self.per_octave)).exp2();
        (at(key).max(self.min), at(key + 1).min(self.max))
    }

    /// One reporting period's measurements folded into a histogram value: each finite
    /// measurement clamped to the range and counted in its bucket; measurements that are not
    /// finite are left out, as a distribution leaves them out. The measurements themselves are
    /// not kept.
    pub fn fold(&self, measurements: &[f64]) -> HistogramValue {
        let mut counts = vec![0i64; self.len()];
        let (mut count, mut sum) = (0u64, 0.0f64);
        for &x in measurements.iter().filter(|x| x.is_finite()) {
            let x = self.clamp(x);
            counts[(self.key(x) - self.first) as usize] += 1;
            count += 1;
            sum += x;
        }
        let buckets = counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| (self.first + i as i64, *c))
            .collect();
        HistogramValue {
            count,
            sum,
            buckets,
        }
    }

    /// The `q` quantile (`0.5` for the median, `0.99` for p99) of the measurements counted in
    /// `buckets` (`[key, count]` pairs in ascending key order, merged from any number of
    /// values on this layout): the geometric middle of the bucket holding the measurement of
    /// rank `⌈q·N⌉`, so within one bucket's width of that measurement. `None` without
    /// measurements or for a `q` outside `0..=1`.
    pub fn quantile(&self, buckets: &[(i64, u64)], q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        let total: u64 = buckets.iter().map(|(_, c)| *c).fold(0, u64::saturating_add);
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let mut seen = 0u64;
        for &(key, count) in buckets {
            seen = seen.saturating_add(count);
            if seen >= rank {
                let (low, high) = self.bounds(key);
                return Some((low * high).sqrt());
            }
        }
        None
    }
}

/// Checks a histogram value against the layout `declared` gives: no more buckets than the
/// layout has, each key on it, in ascending order, each once, no count negative or zero, the
/// counts adding up to `count`, and a sum the clamped measurements could have.
pub(crate) fn check(
    declared: &ValueType,
    value: &HistogramValue,
) -> Result<(), (MismatchKind, String)> {
    let Some(layout) = BucketLayout::of(declared) else {
        return Err((
            MismatchKind::Shape,
            "the point declares no valid bucket layout".to_owned(),
        ));
    };
    if value.buckets.len() > layout.len() {
        return Err((
            MismatchKind::TooManyBuckets,
            format!(
                "{} buckets, more than the {} the layout declares",
                value.buckets.len(),
                layout.len()
            ),
        ));
    }
    let mut total = 0u64;
    let mut previous: Option<i64> = None;
    for &(key, count) in &value.buckets {
        if count < 0 {
            return Err((
                MismatchKind::NegativeCount,
                format!("bucket {key} has a negative count ({count})"),
            ));
        }
        if !layout.keys().contains(&key) {
            return Err((
                MismatchKind::OffLayout,
                format!(
                    "bucket {key} is off the declared layout (keys {} to {})",
                    layout.first, layout.last
                ),
            ));
        }
        if previous.is_some_and(|p| p >= key) {
            return Err((
                MismatchKind::Shape,
                "buckets must be in ascending key order, each once".to_owned(),
            ));
        }
        if count == 0 {
            return Err((
                MismatchKind::Shape,
                format!("bucket {key} is empty; only buckets with measurements are sent"),
            ));
        }
        previous = Some(key);
        // Counts past what a receiver can add up are refused, not clamped: a clamped total
        // could be made to match a stated count and skew every merged percentile.
        total = match total.checked_add(count as u64) {
            Some(t) if t <= crate::MAX_COUNT => t,
            _ => {
                return Err((
                    MismatchKind::Shape,
                    format!(
                        "the buckets count more than {} measurements",
                        crate::MAX_COUNT
                    ),
                ));
            }
        };
    }
    if total != value.count {
        return Err((
            MismatchKind::Shape,
            format!(
                "the buckets count {total} measurements, not the {} stated",
                value.count
            ),
        ));
    }
    let n = value.count as f64;
    let slack = 1.0 + 1e-9;
    if !value.sum.is_finite()
        || value.sum < n * layout.min / slack
        || value.sum > n * layout.max * slack
    {
        return Err((
            MismatchKind::Shape,
            "the sum is not one the counted measurements can have".to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_powers_of_two() {
        let layout = BucketLayout::new(1.0, 1024.0, 8).unwrap();
        assert_eq!(layout.keys(), 0..=80);
        assert_eq!(layout.key(1.0), 0);
        assert_eq!(layout.key(2.0), 8);
        assert_eq!(layout.key(3.0), 12); // 8·log2(3) = 12.68
        assert_eq!(layout.key(0.0), 0);
        assert_eq!(layout.key(-5.0), 0);
        assert_eq!(layout.key(1e9), 80);
        assert_eq!(layout.key(f64::NAN), 0);
        let (low, high) = layout.bounds(12);
        assert!(low <= 3.0 && 3.0 < high, "{low} {high}");
    }

    #[test]
    fn layouts_refused() {
        assert_eq!(BucketLayout::new(0.0, 10.0, 8), Err(LayoutError::Range));
        assert_eq!(BucketLayout::new(10.0, 10.0, 8), Err(LayoutError::Range));
        assert_eq!(
            BucketLayout::new(1.0, f64::INFINITY, 8),
            Err(LayoutError::Range)
        );
        assert_eq!(BucketLayout::new(1.0, 10.0, 0), Err(LayoutError::PerOctave));
        assert!(matches!(
            BucketLayout::new(1e-300, 1e300, 64),
            Err(LayoutError::TooWide(_))
        ));
    }

    #[test]
    fn fold_then_quantile() {
        let layout = BucketLayout::new(1.0, 1000.0, 8).unwrap();
        let folded = layout.fold(&[5.0, 5.0, 100.0, f64::NAN, 5000.0]);
        assert_eq!(folded.count, 4);
        assert_eq!(folded.sum, 1110.0);
        assert_eq!(folded.buckets.len(), 3);
        let counts: Vec<(i64, u64)> = folded
            .buckets
            .iter()
            .map(|(k, c)| (*k, *c as u64))
            .collect();
        let median = layout.quantile(&counts, 0.5).unwrap();
        assert!((median - 5.0).abs() < 5.0 * 0.1, "{median}");
        let top = layout.quantile(&counts, 1.0).unwrap();
        assert!(top <= 1000.0 && top > 900.0, "{top}");
        assert_eq!(layout.quantile(&[], 0.5), None);
    }
}
