//! Repeated measurements reduced to a median and its spread.

use serde::Serialize;

/// The runs of one measurement: median, smallest and largest.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: Vec<f64>,
}

impl Spread {
    /// Spread of `runs` (any order; NaNs are dropped).
    pub fn of(runs: impl IntoIterator<Item = f64>) -> Self {
        let runs: Vec<f64> = runs.into_iter().filter(|v| !v.is_nan()).collect();
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        let median = match sorted.len() {
            0 => 0.0,
            n if n % 2 == 1 => sorted[n / 2],
            n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
        };
        Self {
            median,
            min: sorted.first().copied().unwrap_or_default(),
            max: sorted.last().copied().unwrap_or_default(),
            runs,
        }
    }

    /// Half the range as a share of the median, in percent (`±x%`).
    pub fn plus_minus_percent(&self) -> f64 {
        if self.median == 0.0 {
            return 0.0;
        }
        (self.max - self.min) / 2.0 / self.median * 100.0
    }

    /// `1234 ±3%` with `decimals` after the point.
    pub fn show(&self, decimals: usize) -> String {
        if self.runs.len() < 2 {
            return format!("{:.decimals$}", self.median);
        }
        format!(
            "{:.decimals$} ±{:.0}%",
            self.median,
            self.plus_minus_percent()
        )
    }
}

/// `a / b`, or 0 when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 { 0.0 } else { a / b }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_range() {
        let odd = Spread::of([3.0, 1.0, 2.0]);
        assert!((odd.median - 2.0).abs() < 1e-12);
        assert!((odd.min - 1.0).abs() < 1e-12 && (odd.max - 3.0).abs() < 1e-12);
        assert_eq!(odd.runs, vec![3.0, 1.0, 2.0]);
        assert!((odd.plus_minus_percent() - 50.0).abs() < 1e-9);
        assert_eq!(odd.show(1), "2.0 ±50%");
        let even = Spread::of([4.0, 1.0, f64::NAN, 2.0, 3.0]);
        assert!((even.median - 2.5).abs() < 1e-12);
        assert_eq!(Spread::of([]).median, 0.0);
        assert_eq!(Spread::of([7.0]).show(0), "7");
        assert_eq!(ratio(1.0, 0.0), 0.0);
        assert!((ratio(3.0, 2.0) - 1.5).abs() < 1e-12);
    }
}
