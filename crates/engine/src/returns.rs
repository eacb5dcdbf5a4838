//! Daily returns from NAV net of external flows.
//!
//! Convention (docs/kpi-conventions.md): a flow on day *t* enters at the close, so it is
//! already inside `NAV_t` but earned nothing that day:
//! `r_t = (NAV_t − flow_t) / NAV_{t−1} − 1`. The first NAV point has no return.

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use thiserror::Error;

use crate::model::NavPoint;

/// A dated series of simple periodic returns, oldest first.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ReturnSeries {
    pub dates: Vec<NaiveDate>,
    pub values: Vec<f64>,
}

impl ReturnSeries {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The part of the series with `from <= date <= to`.
    pub fn between(&self, from: Option<NaiveDate>, to: Option<NaiveDate>) -> ReturnSeries {
        let keep = |d: &NaiveDate| from.is_none_or(|f| *d >= f) && to.is_none_or(|t| *d <= t);
        let (dates, values) = self
            .dates
            .iter()
            .zip(&self.values)
            .filter(|(d, _)| keep(d))
            .map(|(d, v)| (*d, *v))
            .unzip();
        ReturnSeries { dates, values }
    }
}

#[derive(Debug, Clone, PartialEq, Error)]
pub enum ReturnsError {
    #[error("NAV on {date} is {nav}: a return needs a positive NAV the day before")]
    NonPositiveNav { date: NaiveDate, nav: Decimal },
    #[error("NAV dates are not strictly increasing at {date}")]
    UnorderedDates { date: NaiveDate },
}

/// A decimal as the nearest `f64`, the same for every scale the value is stored at (1.5 and
/// 1.5000000000, as a `DECIMAL(38,10)` column gives it back, must give the same bits; plain
/// `Decimal::to_f64` does not). Trailing zeros are stripped from the mantissa, then it is
/// divided by an exact power of ten: cheap enough for every NAV of a long history.
pub fn decimal_to_f64(d: Decimal) -> f64 {
    let (mut mantissa, mut scale) = (d.mantissa(), d.scale());
    while scale > 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    // 10^0 … 10^22 are exact in f64; rust_decimal's scale never exceeds 28.
    if scale <= 22 {
        mantissa as f64 / 10f64.powi(scale as i32)
    } else {
        d.normalize().to_f64().unwrap_or(f64::NAN)
    }
}

/// Daily returns from a NAV history (sorted by date, one point per dealing day).
pub fn daily_returns(history: &[NavPoint]) -> Result<ReturnSeries, ReturnsError> {
    let n = history.len().saturating_sub(1);
    let mut series = ReturnSeries {
        dates: Vec::with_capacity(n),
        values: Vec::with_capacity(n),
    };
    let as_f64 = decimal_to_f64;
    let mut prev_nav = history.first().map(|p| as_f64(p.nav));
    for pair in history.windows(2) {
        let (prev, cur) = (&pair[0], &pair[1]);
        if cur.date <= prev.date {
            return Err(ReturnsError::UnorderedDates { date: cur.date });
        }
        if prev.nav <= Decimal::ZERO {
            return Err(ReturnsError::NonPositiveNav {
                date: prev.date,
                nav: prev.nav,
            });
        }
        // The flow is netted exactly in decimals; the ratio is a statistic, so it is taken
        // in f64 (a decimal division costs ten times more and the result is f64 anyway).
        let end = as_f64(cur.nav - cur.external_flow);
        let nav = as_f64(cur.nav);
        let value = end / prev_nav.unwrap_or(f64::NAN) - 1.0;
        prev_nav = Some(nav);
        series.dates.push(cur.date);
        series.values.push(value);
    }
    Ok(series)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(text: &str) -> Decimal {
        text.parse().expect("decimal literal")
    }

    fn point(day: u32, nav: &str, flow: &str) -> NavPoint {
        NavPoint {
            id: format!("n{day}"),
            portfolio_id: "p".into(),
            date: NaiveDate::from_ymd_opt(2024, 1, day).unwrap(),
            nav: dec(nav),
            external_flow: dec(flow),
            gross_exposure: Decimal::ZERO,
            net_exposure: Decimal::ZERO,
        }
    }

    #[test]
    fn flows_are_removed_from_the_days_growth() {
        // Hand-derived: 100 -> 110 with a 5 subscription is (110-5)/100-1 = 5%;
        // 110 -> 99 with a 22 redemption is (99+22)/110-1 = 10%; 99 -> 99 flat is 0%.
        let history = [
            point(1, "100", "0"),
            point(2, "110", "5"),
            point(3, "99", "-22"),
            point(4, "99", "0"),
        ];
        let series = daily_returns(&history).unwrap();
        let expected = [0.05, 0.10, 0.0];
        assert_eq!(series.len(), 3);
        for (got, want) in series.values.iter().zip(expected) {
            assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        }
        assert_eq!(
            series.dates[0],
            NaiveDate::from_ymd_opt(2024, 1, 2).unwrap()
        );
    }

    #[test]
    fn the_scale_of_a_decimal_does_not_change_a_return() {
        // 535728598.05 read back from a DECIMAL(38,10) column is 535728598.0500000000, and
        // rust_decimal converts the two to different f64s unless normalised.
        let short = [
            point(1, "535728598.05", "0"),
            point(2, "540000000.5", "12.5"),
        ];
        let long = [
            point(1, "535728598.0500000000", "0.0000000000"),
            point(2, "540000000.5000000000", "12.5000000000"),
        ];
        let (a, b) = (
            daily_returns(&short).unwrap(),
            daily_returns(&long).unwrap(),
        );
        assert_eq!(a.values[0].to_bits(), b.values[0].to_bits());
    }

    #[test]
    fn refuses_bad_histories() {
        let zero = [point(1, "0", "0"), point(2, "10", "10")];
        assert!(matches!(
            daily_returns(&zero),
            Err(ReturnsError::NonPositiveNav { .. })
        ));
        let unordered = [point(2, "100", "0"), point(1, "100", "0")];
        assert!(matches!(
            daily_returns(&unordered),
            Err(ReturnsError::UnorderedDates { .. })
        ));
        assert!(daily_returns(&[point(1, "100", "0")]).unwrap().is_empty());
    }

    #[test]
    fn between_keeps_inclusive_bounds() {
        let history: Vec<NavPoint> = (1..=5).map(|d| point(d, "100", "0")).collect();
        let series = daily_returns(&history).unwrap();
        let d = |day| NaiveDate::from_ymd_opt(2024, 1, day).unwrap();
        assert_eq!(
            series.between(Some(d(3)), Some(d(4))).dates,
            vec![d(3), d(4)]
        );
        assert_eq!(series.between(None, None).len(), 4);
    }
}
