//! Calendar aggregation of daily returns: the monthly-returns grid (years × months) that the
//! heatmap draws, compounding the days of each month.

use std::collections::BTreeMap;

use chrono::Datelike;
use serde::Serialize;

use crate::returns::ReturnSeries;

/// The compounded return of one calendar month; `days` is how many returns it covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthlyReturn {
    pub year: i32,
    /// 1 = January.
    pub month: u32,
    pub value: f64,
    pub days: usize,
}

/// Monthly returns, oldest first; months with no data are absent (never a misleading zero).
pub fn monthly_returns(series: &ReturnSeries) -> Vec<MonthlyReturn> {
    let mut months: BTreeMap<(i32, u32), (f64, usize)> = BTreeMap::new();
    for (date, r) in series.dates.iter().zip(&series.values) {
        let entry = months
            .entry((date.year(), date.month()))
            .or_insert((1.0, 0));
        entry.0 *= 1.0 + r;
        entry.1 += 1;
    }
    months
        .into_iter()
        .map(|((year, month), (growth, days))| MonthlyReturn {
            year,
            month,
            value: growth - 1.0,
            days,
        })
        .collect()
}

/// Compounded return per calendar year, from the monthly grid.
pub fn yearly_returns(months: &[MonthlyReturn]) -> Vec<(i32, f64)> {
    let mut years: BTreeMap<i32, f64> = BTreeMap::new();
    for m in months {
        *years.entry(m.year).or_insert(1.0) *= 1.0 + m.value;
    }
    years.into_iter().map(|(y, g)| (y, g - 1.0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn compounds_days_within_each_month() {
        let d = |m, day| NaiveDate::from_ymd_opt(2023, m, day).unwrap();
        let series = ReturnSeries {
            dates: vec![d(1, 30), d(1, 31), d(2, 1), d(3, 1)],
            values: vec![0.10, 0.10, -0.5, 0.0],
        };
        let months = monthly_returns(&series);
        // January: 1.1 × 1.1 − 1 = 21%; February −50%; March flat.
        let expected = [(1, 0.21, 2), (2, -0.5, 1), (3, 0.0, 1)];
        assert_eq!(months.len(), expected.len());
        for (got, (month, value, days)) in months.iter().zip(expected) {
            assert_eq!((got.year, got.month, got.days), (2023, month, days));
            assert!((got.value - value).abs() < 1e-12, "{got:?}");
        }
        let years = yearly_returns(&months);
        // 1.21 × 0.5 × 1 − 1 = −39.5%.
        assert_eq!(years.len(), 1);
        assert!((years[0].1 + 0.395).abs() < 1e-12);
    }
}
