//! Summaries of many measurements: only the declared statistics leave, never the measurements.

use std::collections::BTreeMap;

use candor_schema::Statistic;

/// Computes `statistics` over `samples`. Samples that are not finite are ignored. With no
/// samples only `count` (zero) is given, when it is declared: a minimum of nothing is not zero.
///
/// The median of an even number of samples is the mean of the two middle ones; the 95th
/// percentile is the nearest-rank percentile (the smallest sample with at least 95 % of the
/// samples at or below it).
pub fn summarise(samples: &[f64], statistics: &[Statistic]) -> BTreeMap<Statistic, f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|s| s.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    let mut out = BTreeMap::new();
    for &statistic in statistics {
        let value = match statistic {
            Statistic::Count => Some(sorted.len() as f64),
            _ if sorted.is_empty() => None,
            Statistic::Min => sorted.first().copied(),
            Statistic::Max => sorted.last().copied(),
            Statistic::Median => Some(median(&sorted)),
            Statistic::P95 => Some(nearest_rank(&sorted, 95)),
        };
        if let Some(value) = value {
            out.insert(statistic, value);
        }
    }
    out
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn nearest_rank(sorted: &[f64], percent: usize) -> f64 {
    // rank = ceil(p/100 * n), 1-based.
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use Statistic::*;

    const ALL: &[Statistic] = &[Count, Min, Max, Median, P95];

    #[test]
    fn median_of_an_even_count_is_the_mean_of_the_middle_two() {
        let s = summarise(&[4.0, 1.0, 3.0, 2.0], ALL);
        assert_eq!(s[&Median], 2.5);
        assert_eq!(s[&Min], 1.0);
        assert_eq!(s[&Max], 4.0);
        assert_eq!(s[&Count], 4.0);
    }

    #[test]
    fn median_of_an_odd_count_is_the_middle() {
        assert_eq!(summarise(&[9.0, 1.0, 5.0], &[Median])[&Median], 5.0);
    }

    #[test]
    fn empty_input_gives_only_a_zero_count() {
        let s = summarise(&[], ALL);
        assert_eq!(s.len(), 1);
        assert_eq!(s[&Count], 0.0);
        assert!(summarise(&[], &[Min, Max, Median]).is_empty());
    }

    #[test]
    fn p95_is_nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(summarise(&samples, &[P95])[&P95], 95.0);
        let samples: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(summarise(&samples, &[P95])[&P95], 10.0);
        assert_eq!(summarise(&[7.0], &[P95])[&P95], 7.0);
    }

    #[test]
    fn only_declared_statistics_and_no_nan() {
        let s = summarise(&[f64::NAN, 2.0, f64::INFINITY], &[Min, Max]);
        assert_eq!(s.keys().copied().collect::<Vec<_>>(), vec![Min, Max]);
        assert_eq!(s[&Max], 2.0);
    }
}
