//! The Overview of a portfolio: latest NAV, day and year-to-date P/L in money, and the
//! headline KPIs since inception. Money stays [`Decimal`]; only statistics are `f64`.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::kpi::{self, KpiConfig, KpiReport, Metric};
use crate::limits::LimitCheck;
use crate::model::{NavPoint, Portfolio};
use crate::returns::{self, ReturnsError};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortfolioOverview {
    pub code: String,
    pub name: String,
    pub base_currency: String,
    pub strategy: String,
    pub as_of: Option<NaiveDate>,
    pub nav: Option<Decimal>,
    /// NAV change on the last day, net of that day's flows.
    pub day_pl: Option<Decimal>,
    /// NAV change since the last close of the previous year, net of flows since.
    pub ytd_pl: Option<Decimal>,
    pub ytd_return: Metric,
    pub kpis: KpiReport,
    /// The portfolio's risk limits checked against its KPIs; filled by the caller that has
    /// the limits and the whole catalogue (empty here).
    pub limits: Vec<LimitCheck>,
}

/// Summarise one portfolio from its NAV history (any order).
pub fn portfolio_overview(
    portfolio: &Portfolio,
    history: &[NavPoint],
    config: KpiConfig,
) -> Result<PortfolioOverview, ReturnsError> {
    let mut history = history.to_vec();
    history.sort_by_key(|p| p.date);
    let series = returns::daily_returns(&history)?;
    let last = history.last();
    let day_pl = match history.as_slice() {
        [.., prev, cur] => Some(cur.nav - cur.external_flow - prev.nav),
        _ => None,
    };
    let (ytd_pl, ytd_return) = match last {
        Some(last) => year_to_date(&history, last, &series),
        None => (None, Metric::Unavailable("no NAV history".into())),
    };
    Ok(PortfolioOverview {
        code: portfolio.code.clone(),
        name: portfolio.name.clone(),
        base_currency: portfolio.base_currency.clone(),
        strategy: portfolio.strategy.clone(),
        as_of: last.map(|p| p.date),
        nav: last.map(|p| p.nav),
        day_pl,
        ytd_pl,
        ytd_return,
        kpis: kpi::compute(&series, config),
        limits: Vec::new(),
    })
}

fn year_to_date(
    history: &[NavPoint],
    last: &NavPoint,
    series: &returns::ReturnSeries,
) -> (Option<Decimal>, Metric) {
    let year_start = NaiveDate::from_ymd_opt(last.date.year(), 1, 1).expect("valid date");
    let Some(base) = history.iter().rev().find(|p| p.date < year_start) else {
        return (
            None,
            Metric::Unavailable("no close before this year in the history".into()),
        );
    };
    let flows: Decimal = history
        .iter()
        .filter(|p| p.date > base.date)
        .map(|p| p.external_flow)
        .sum();
    let ytd = series.between(Some(year_start), None);
    (
        Some(last.nav - base.nav - flows),
        Metric::Value(kpi::cumulative_return(&ytd.values)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(y: i32, m: u32, d: u32, nav: &str, flow: &str) -> NavPoint {
        NavPoint {
            id: String::new(),
            portfolio_id: "p".into(),
            date: NaiveDate::from_ymd_opt(y, m, d).unwrap(),
            nav: nav.parse().unwrap(),
            external_flow: flow.parse().unwrap(),
            gross_exposure: Decimal::ZERO,
            net_exposure: Decimal::ZERO,
        }
    }

    fn portfolio() -> Portfolio {
        Portfolio {
            id: "p".into(),
            code: "TEST".into(),
            name: "Test".into(),
            base_currency: "USD".into(),
            strategy: "macro".into(),
            inception: NaiveDate::from_ymd_opt(2023, 1, 1).unwrap(),
            benchmark: None,
            status: "active".into(),
            lp_visible: true,
        }
    }

    #[test]
    fn day_and_ytd_pl_are_net_of_flows_to_the_cent() {
        // Year-end 1000.00; Jan 2: 1100.10 with a 50.00 subscription; Jan 3: 1080.05 with a
        // 30.00 redemption. Day P/L = 1080.05 + 30 − 1100.10 = 9.95;
        // YTD P/L = 1080.05 − 1000 − (50 − 30) = 60.05.
        let history = [
            point(2023, 12, 29, "1000.00", "0"),
            point(2024, 1, 2, "1100.10", "50.00"),
            point(2024, 1, 3, "1080.05", "-30.00"),
        ];
        let o = portfolio_overview(&portfolio(), &history, KpiConfig::default()).unwrap();
        assert_eq!(o.nav, Some("1080.05".parse().unwrap()));
        assert_eq!(o.day_pl, Some("9.95".parse().unwrap()));
        assert_eq!(o.ytd_pl, Some("60.05".parse().unwrap()));
        // YTD return compounds (1050.10/1000) × (1110.05/1100.10).
        let want = (1050.10 / 1000.0) * (1110.05 / 1100.10) - 1.0;
        assert!((o.ytd_return.value().unwrap() - want).abs() < 1e-12);
        assert_eq!(o.as_of, Some(NaiveDate::from_ymd_opt(2024, 1, 3).unwrap()));
    }

    #[test]
    fn missing_history_is_absent_not_zero() {
        let o = portfolio_overview(&portfolio(), &[], KpiConfig::default()).unwrap();
        assert_eq!((o.nav, o.day_pl, o.ytd_pl), (None, None, None));
        assert!(o.ytd_return.value().is_none());
        assert!(o.kpis.sharpe.value().is_none());
    }
}
