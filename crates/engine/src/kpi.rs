//! The KPI catalogue of this slice: cumulative return, CAGR, annualised volatility, Sharpe,
//! Sortino and the maximum drawdown with its dates.
//!
//! Conventions (written out with each formula in docs/kpi-conventions.md): 252 periods a year;
//! the risk-free rate is an annual rate converted per period as `(1 + rf)^(1/252) − 1`; sample
//! standard deviation (n − 1); drawdowns on the compounded wealth index starting at 1. A KPI
//! that cannot be computed is [`Metric::Unavailable`] with a reason, never a zero or a NaN.

use chrono::NaiveDate;
use serde::Serialize;

use crate::returns::ReturnSeries;

/// Periods per year for daily data.
pub const PERIODS_PER_YEAR: f64 = 252.0;

/// A KPI value, or the reason it cannot be computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    Value(f64),
    Unavailable(String),
}

impl Metric {
    pub fn from_f64(value: f64, why_not: &str) -> Metric {
        if value.is_finite() {
            Metric::Value(value)
        } else {
            Metric::Unavailable(why_not.to_string())
        }
    }

    pub fn unavailable(why: &str) -> Metric {
        Metric::Unavailable(why.to_string())
    }

    pub fn value(&self) -> Option<f64> {
        match self {
            Metric::Value(v) => Some(*v),
            Metric::Unavailable(_) => None,
        }
    }
}

/// How a KPI's value reads: the UI and the CLI format by this, never by the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A fraction shown as a percentage without a sign (volatility, a share of days).
    Percent,
    /// A fraction shown as a percentage with its sign (returns, P/L, drawdowns).
    SignedPercent,
    /// A plain number with two decimals (Sharpe, beta, payoff ratio).
    Ratio,
    /// A count of trading periods (days) or of events.
    Count,
}

impl Unit {
    /// The value as this unit reads: `+1.23%`, `12.34%`, `1.25` or `17`.
    pub fn format(self, value: f64) -> String {
        match self {
            Unit::SignedPercent => format!("{:+.2}%", value * 100.0),
            Unit::Percent => format!("{:.2}%", value * 100.0),
            Unit::Ratio => format!("{value:.2}"),
            Unit::Count => format!("{value:.0}"),
        }
    }
}

/// One KPI ready for a table: a stable key (also the anchor in docs/kpi-conventions.md),
/// a human label, its unit and its value or the reason it is absent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub key: &'static str,
    pub label: &'static str,
    pub unit: Unit,
    pub metric: Metric,
}

impl Entry {
    pub fn new(key: &'static str, label: &'static str, unit: Unit, metric: Metric) -> Entry {
        Entry {
            key,
            label,
            unit,
            metric,
        }
    }
}

/// Settings every KPI is computed with.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KpiConfig {
    /// Annual risk-free rate, e.g. 0.02 for 2%.
    pub risk_free_annual: f64,
}

impl Default for KpiConfig {
    fn default() -> Self {
        KpiConfig {
            risk_free_annual: 0.0,
        }
    }
}

impl KpiConfig {
    pub fn risk_free_per_period(&self) -> f64 {
        (1.0 + self.risk_free_annual).powf(1.0 / PERIODS_PER_YEAR) - 1.0
    }
}

/// The deepest fall of the wealth index from a running peak.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drawdown {
    /// Negative fraction, e.g. −0.23 for a 23% fall.
    pub depth: f64,
    /// Date of the peak; `None` when the peak is the start of the series.
    pub peak: Option<NaiveDate>,
    pub trough: NaiveDate,
    /// First date the wealth index is back at the peak's level; `None` if not yet.
    pub recovery: Option<NaiveDate>,
    /// Trading periods from peak to recovery (or to the series' end when not recovered).
    pub duration_periods: usize,
}

/// Positions (indices into the return series) of a drawdown; index −1 is the starting point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawdownIndices {
    pub depth: f64,
    pub peak: Option<usize>,
    pub trough: usize,
    pub recovery: Option<usize>,
}

/// The KPIs of one return series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiReport {
    pub observations: usize,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub risk_free_annual: f64,
    pub cumulative_return: Metric,
    pub cagr: Metric,
    pub annual_volatility: Metric,
    pub sharpe: Metric,
    pub sortino: Metric,
    pub max_drawdown: Metric,
    pub max_drawdown_detail: Option<Drawdown>,
}

impl KpiReport {
    /// The headline KPIs in display order, with stable keys.
    pub fn entries(&self) -> [Entry; 6] {
        [
            Entry::new(
                "cumulative_return",
                "Cumulative return",
                Unit::SignedPercent,
                self.cumulative_return.clone(),
            ),
            Entry::new("cagr", "CAGR", Unit::SignedPercent, self.cagr.clone()),
            Entry::new(
                "annual_volatility",
                "Volatility (ann.)",
                Unit::Percent,
                self.annual_volatility.clone(),
            ),
            Entry::new("sharpe", "Sharpe", Unit::Ratio, self.sharpe.clone()),
            Entry::new("sortino", "Sortino", Unit::Ratio, self.sortino.clone()),
            Entry::new(
                "max_drawdown",
                "Max drawdown",
                Unit::SignedPercent,
                self.max_drawdown.clone(),
            ),
        ]
    }
}

const NO_DATA: &str = "no returns in the range";
const TOO_FEW: &str = "needs at least two returns";
const ZERO_VARIANCE: &str = "returns do not vary";
const NO_DOWNSIDE: &str = "no return below the risk-free rate";

/// Compute every KPI of this slice for `series`.
pub fn compute(series: &ReturnSeries, config: KpiConfig) -> KpiReport {
    let returns = &series.values;
    let rf = config.risk_free_per_period();
    let drawdown = max_drawdown(returns);
    KpiReport {
        observations: returns.len(),
        start: series.dates.first().copied(),
        end: series.dates.last().copied(),
        risk_free_annual: config.risk_free_annual,
        cumulative_return: if returns.is_empty() {
            Metric::unavailable(NO_DATA)
        } else {
            Metric::from_f64(cumulative_return(returns), "overflow")
        },
        cagr: cagr(returns),
        annual_volatility: annual_volatility(returns),
        sharpe: sharpe(returns, rf),
        sortino: sortino(returns, rf),
        max_drawdown: match &drawdown {
            Some(d) => Metric::Value(d.depth),
            None => Metric::unavailable(NO_DATA),
        },
        max_drawdown_detail: drawdown.map(|d| Drawdown {
            depth: d.depth,
            peak: d.peak.map(|i| series.dates[i]),
            trough: series.dates[d.trough],
            recovery: d.recovery.map(|i| series.dates[i]),
            duration_periods: drawdown_duration(&d, returns.len()),
        }),
    }
}

/// Periods from the peak (index −1 = the start) to the recovery, or to the last period when
/// not recovered; zero when there was no fall.
fn drawdown_duration(d: &DrawdownIndices, periods: usize) -> usize {
    if d.depth >= 0.0 {
        return 0;
    }
    let end = d.recovery.unwrap_or(periods - 1) as i64;
    let start = d.peak.map_or(-1, |p| p as i64);
    (end - start) as usize
}

/// `∏(1 + r) − 1`.
pub fn cumulative_return(returns: &[f64]) -> f64 {
    returns.iter().fold(1.0, |w, r| w * (1.0 + r)) - 1.0
}

/// `(1 + cumulative)^(252 / n) − 1`.
pub fn cagr(returns: &[f64]) -> Metric {
    if returns.is_empty() {
        return Metric::unavailable(NO_DATA);
    }
    let growth = 1.0 + cumulative_return(returns);
    if growth <= 0.0 {
        return Metric::unavailable("the series lost everything");
    }
    let years = returns.len() as f64 / PERIODS_PER_YEAR;
    Metric::from_f64(growth.powf(1.0 / years) - 1.0, "overflow")
}

pub(crate) fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample standard deviation (n − 1); `None` with fewer than two values.
pub(crate) fn sample_std(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let m = mean(values);
    let sum_sq: f64 = values.iter().map(|v| (v - m).powi(2)).sum();
    Some((sum_sq / (values.len() - 1) as f64).sqrt())
}

/// Whether a standard deviation is zero up to rounding noise relative to the mean's size.
pub(crate) fn is_degenerate(std: f64, values: &[f64]) -> bool {
    let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    std <= scale * 1e-12 || std == 0.0
}

/// `std(r) × √252`.
pub fn annual_volatility(returns: &[f64]) -> Metric {
    match sample_std(returns) {
        None => Metric::unavailable(TOO_FEW),
        Some(std) => Metric::from_f64(std * PERIODS_PER_YEAR.sqrt(), "overflow"),
    }
}

/// `mean(r − rf) / std(r − rf) × √252`.
pub fn sharpe(returns: &[f64], rf_per_period: f64) -> Metric {
    let excess: Vec<f64> = returns.iter().map(|r| r - rf_per_period).collect();
    match sample_std(&excess) {
        None => Metric::unavailable(TOO_FEW),
        Some(std) if is_degenerate(std, &excess) => Metric::unavailable(ZERO_VARIANCE),
        Some(std) => Metric::from_f64(mean(&excess) / std * PERIODS_PER_YEAR.sqrt(), "overflow"),
    }
}

/// `mean(r − rf) × 252 / (√mean(min(r − rf, 0)²) × √252)`.
pub fn sortino(returns: &[f64], rf_per_period: f64) -> Metric {
    if returns.len() < 2 {
        return Metric::unavailable(TOO_FEW);
    }
    let excess: Vec<f64> = returns.iter().map(|r| r - rf_per_period).collect();
    let downside_sq: f64 = excess.iter().map(|e| e.min(0.0).powi(2)).sum::<f64>();
    let downside = (downside_sq / excess.len() as f64).sqrt() * PERIODS_PER_YEAR.sqrt();
    if downside == 0.0 {
        return Metric::unavailable(NO_DOWNSIDE);
    }
    Metric::from_f64(mean(&excess) * PERIODS_PER_YEAR / downside, "overflow")
}

/// The maximum drawdown of the compounded wealth index (starting at 1 before the first return).
pub fn max_drawdown(returns: &[f64]) -> Option<DrawdownIndices> {
    if returns.is_empty() {
        return None;
    }
    let mut wealth = 1.0;
    let mut peak_wealth = 1.0;
    let mut peak: Option<usize> = None;
    let mut worst = DrawdownIndices {
        depth: 0.0,
        peak: None,
        trough: 0,
        recovery: None,
    };
    let mut worst_peak_wealth = 1.0;
    for (i, r) in returns.iter().enumerate() {
        wealth *= 1.0 + r;
        if wealth > peak_wealth {
            peak_wealth = wealth;
            peak = Some(i);
        }
        let depth = wealth / peak_wealth - 1.0;
        if depth < worst.depth {
            worst = DrawdownIndices {
                depth,
                peak,
                trough: i,
                recovery: None,
            };
            worst_peak_wealth = peak_wealth;
        }
    }
    if worst.depth < 0.0 {
        let mut wealth_after = returns[..=worst.trough]
            .iter()
            .fold(1.0, |w, r| w * (1.0 + r));
        for (i, r) in returns.iter().enumerate().skip(worst.trough + 1) {
            wealth_after *= 1.0 + r;
            if wealth_after >= worst_peak_wealth {
                worst.recovery = Some(i);
                break;
            }
        }
    } else {
        // No fall at all: the drawdown is zero at the last peak.
        worst.peak = peak;
        worst.trough = peak.unwrap_or(0);
    }
    Some(worst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unit_reads_its_own_way() {
        let cases = [
            (0.1234, Unit::SignedPercent, "+12.34%"),
            (-0.1234, Unit::SignedPercent, "-12.34%"),
            (0.1234, Unit::Percent, "12.34%"),
            (1.2345, Unit::Ratio, "1.23"),
            (-0.5, Unit::Ratio, "-0.50"),
            (17.0, Unit::Count, "17"),
        ];
        for (value, unit, want) in cases {
            assert_eq!(unit.format(value), want, "{unit:?}");
        }
    }

    #[test]
    fn drawdown_dates_and_duration_by_hand() {
        // Wealth: 1.1, 0.99, 0.891, 1.1138 (back above 1.1 on day 3), 1.2.
        let returns = [0.10, -0.10, -0.10, 0.25, 0.077_375];
        let d = max_drawdown(&returns).unwrap();
        assert!((d.depth - (0.891 / 1.1 - 1.0)).abs() < 1e-12);
        assert_eq!((d.peak, d.trough, d.recovery), (Some(0), 2, Some(3)));
        assert_eq!(drawdown_duration(&d, returns.len()), 3);
        // Falling from the start and never recovering: the peak is the start.
        let d = max_drawdown(&[-0.1, 0.05]).unwrap();
        assert_eq!((d.peak, d.trough, d.recovery), (None, 0, None));
        assert_eq!(drawdown_duration(&d, 2), 2);
        // No fall at all.
        let d = max_drawdown(&[0.01, 0.02]).unwrap();
        assert_eq!((d.depth, drawdown_duration(&d, 2)), (0.0, 0));
    }
}
