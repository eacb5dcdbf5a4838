//! Risk-limit checks: each limit's metric against its threshold.
//!
//! Convention (docs/kpi-conventions.md, "Risk limits"): the sign of the threshold says which
//! side breaches. A negative threshold is a floor, breached when `value < threshold`
//! (drawdowns, VaR written as a negative return); a positive threshold is a cap, breached
//! when `value > threshold` (volatility, leverage). Touching the threshold is not a breach.
//! A limit whose metric is unknown or absent, or whose threshold is zero (no side), is
//! reported as *not evaluable* with the reason — never silently passed.

use rust_decimal::prelude::ToPrimitive;
use serde::Serialize;

use crate::kpi::{Entry, Metric};
use crate::model::RiskLimit;

/// Which side of the threshold breaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Negative threshold: breached below it.
    Floor,
    /// Positive threshold: breached above it.
    Cap,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LimitCheck {
    pub limit_id: String,
    pub metric: String,
    pub threshold: f64,
    pub severity: String,
    /// `None` when the threshold is zero (no side to breach).
    pub direction: Option<Direction>,
    /// The metric's current value; `None` when it is unknown or absent.
    pub value: Option<f64>,
    pub breached: bool,
    /// Why the limit could not be evaluated; `None` when it was.
    pub not_evaluable: Option<String>,
}

impl LimitCheck {
    pub fn evaluated(&self) -> bool {
        self.not_evaluable.is_none()
    }
}

/// Check every limit; `values` gives a metric's current value by name (`None` when the
/// metric is unknown or cannot be computed).
pub fn check(limits: &[RiskLimit], values: &dyn Fn(&str) -> Option<f64>) -> Vec<LimitCheck> {
    limits
        .iter()
        .map(|limit| {
            let threshold = limit.threshold.normalize().to_f64().unwrap_or(f64::NAN);
            let direction = if threshold < 0.0 {
                Some(Direction::Floor)
            } else if threshold > 0.0 {
                Some(Direction::Cap)
            } else {
                None
            };
            let value = values(&limit.metric).filter(|v| v.is_finite());
            let (breached, not_evaluable) = match (direction, value) {
                (None, _) => (
                    false,
                    Some("a zero threshold has no side to breach".to_string()),
                ),
                (_, None) => (
                    false,
                    Some(format!("no value for metric '{}'", limit.metric)),
                ),
                (Some(Direction::Floor), Some(v)) => (v < threshold, None),
                (Some(Direction::Cap), Some(v)) => (v > threshold, None),
            };
            LimitCheck {
                limit_id: limit.id.clone(),
                metric: limit.metric.clone(),
                threshold,
                severity: limit.severity.clone(),
                direction,
                value,
                breached,
                not_evaluable,
            }
        })
        .collect()
}

/// A lookup for [`check`] over KPI entries by key (absent KPIs give `None`).
pub fn lookup(entries: &[Entry]) -> impl Fn(&str) -> Option<f64> + '_ {
    move |key| {
        entries
            .iter()
            .find(|e| e.key == key)
            .and_then(|e| match e.metric {
                Metric::Value(v) => Some(v),
                Metric::Unavailable(_) => None,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kpi::Unit;

    fn limit(id: &str, metric: &str, threshold: &str, severity: &str) -> RiskLimit {
        RiskLimit {
            id: id.into(),
            portfolio_id: "p".into(),
            metric: metric.into(),
            threshold: threshold.parse().unwrap(),
            severity: severity.into(),
        }
    }

    #[test]
    fn table_of_limits() {
        let values = |metric: &str| match metric {
            "max_drawdown" => Some(-0.15),
            "annual_volatility" => Some(0.12),
            "leverage" => Some(2.5),
            "var_95" => Some(-0.031),
            "sharpe" => Some(f64::NAN),
            _ => None,
        };
        // (metric, threshold, expected value, breached, evaluable)
        let table: [(&str, &str, Option<f64>, bool, bool); 10] = [
            ("max_drawdown", "-0.10", Some(-0.15), true, true),
            ("max_drawdown", "-0.20", Some(-0.15), false, true),
            ("max_drawdown", "-0.15", Some(-0.15), false, true), // touching is not breaching
            ("annual_volatility", "0.12", Some(0.12), false, true),
            ("annual_volatility", "0.10", Some(0.12), true, true),
            ("leverage", "3", Some(2.5), false, true),
            ("var_95", "-0.03", Some(-0.031), true, true),
            ("beta", "1.2", None, false, false), // unknown metric
            ("sharpe", "0.5", None, false, false), // absent (NaN) value
            ("leverage", "0", Some(2.5), false, false), // zero threshold: no side
        ];
        let limits: Vec<RiskLimit> = table
            .iter()
            .enumerate()
            .map(|(i, (m, t, ..))| limit(&format!("L{i}"), m, t, "breach"))
            .collect();
        let checks = check(&limits, &values);
        assert_eq!(checks.len(), table.len());
        for (c, (metric, threshold, value, breached, evaluable)) in checks.iter().zip(table) {
            let why = format!("{metric} {threshold}");
            assert_eq!(c.metric, metric, "{why}");
            assert_eq!(c.value, value, "{why}");
            assert_eq!(c.breached, breached, "{why}");
            assert_eq!(c.evaluated(), evaluable, "{why}: {:?}", c.not_evaluable);
        }
        assert_eq!(checks[0].direction, Some(Direction::Floor));
        assert_eq!(checks[3].direction, Some(Direction::Cap));
        assert_eq!(
            checks[7].not_evaluable.as_deref(),
            Some("no value for metric 'beta'")
        );
        assert_eq!(checks[9].direction, None);
        assert_eq!(
            (checks[0].limit_id.as_str(), checks[0].severity.as_str()),
            ("L0", "breach")
        );
    }

    #[test]
    fn lookup_reads_kpi_entries() {
        let entries = [
            Entry::new(
                "max_drawdown",
                "Max DD",
                Unit::SignedPercent,
                Metric::Value(-0.25),
            ),
            Entry::new(
                "sharpe",
                "Sharpe",
                Unit::Ratio,
                Metric::unavailable("too few"),
            ),
        ];
        let limits = [
            limit("a", "max_drawdown", "-0.2", "breach"),
            limit("b", "sharpe", "0.5", "warning"),
        ];
        let checks = check(&limits, &lookup(&entries));
        assert!(checks[0].breached);
        assert_eq!((checks[1].value, checks[1].evaluated()), (None, false));
    }
}
