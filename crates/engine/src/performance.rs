//! The whole KPI catalogue of one subject — a portfolio, an account or an asset — over the
//! range the user picked, in one call: returns, risk, risk-adjusted (against the benchmark
//! when there is one), time- and money-weighted returns, trading from FIFO-matched trades,
//! exposure at the last date, the risk limits checked, and the series the charts draw.
//!
//! The caller (the workflows crate) reads the inputs from the workspace; everything here is
//! pure and fast enough to recompute on every click.

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::exposure::{self, Exposure};
use crate::flows;
use crate::fx::FxTable;
use crate::kpi::{Drawdown, Entry, KpiConfig, Metric, Unit, PERIODS_PER_YEAR};
use crate::limits::{self, LimitCheck};
use crate::model::{Allocation, Asset, NavPoint, Position, RiskLimit, Trade};
use crate::period::{self, Range, Window};
use crate::returns::{self, ReturnSeries, ReturnsError};
use crate::stats;
use crate::trading::{self, TradingTotals};

/// Windows of the rolling charts: a quarter and a year of trading days.
pub const ROLLING_WINDOWS: [usize; 2] = [63, 252];

/// Everything the catalogue reads for one subject. Slices may be empty: what they feed is then
/// absent with a reason.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The value history with external flows (a portfolio's NAV; an asset's closes), any order.
    pub history: &'a [NavPoint],
    /// The benchmark's name and daily returns, when the subject has one.
    pub benchmark: Option<(&'a str, &'a ReturnSeries)>,
    /// Every trade of the subject since inception (FIFO needs the opening trades too).
    pub trades: &'a [Trade],
    /// Holdings at the close of the last date, for exposure.
    pub positions: &'a [Position],
    pub assets: &'a [Asset],
    pub allocations: &'a [Allocation],
    pub limits: &'a [RiskLimit],
    /// For trade notionals in the base currency.
    pub fx: &'a FxTable,
    pub base_currency: &'a str,
}

/// A titled group of KPIs, as the Performance screen and the CLI show them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub key: &'static str,
    pub title: &'static str,
    pub entries: Vec<Entry>,
}

/// Dated series for the charts, each clipped to the range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChartSeries {
    pub cumulative: ReturnSeries,
    pub benchmark_cumulative: Option<ReturnSeries>,
    pub drawdown: ReturnSeries,
    /// `(window, series)` for each of [`ROLLING_WINDOWS`].
    pub rolling_volatility: Vec<(usize, ReturnSeries)>,
    pub rolling_sharpe: Vec<(usize, ReturnSeries)>,
    pub rolling_beta: Vec<(usize, ReturnSeries)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Performance {
    pub range: Range,
    pub window: Window,
    /// Daily returns inside the window.
    pub observations: usize,
    pub first: Option<NaiveDate>,
    pub last: Option<NaiveDate>,
    pub benchmark: Option<String>,
    pub groups: Vec<Group>,
    /// The five worst drawdown episodes in the window, deepest first.
    pub drawdowns: Vec<Drawdown>,
    pub exposure: Option<Exposure>,
    pub trading_totals: Vec<TradingTotals>,
    pub limits: Vec<LimitCheck>,
    /// Thousands of points: for drawing, not for the JSON a script reads.
    #[serde(skip_serializing)]
    pub charts: ChartSeries,
}

impl Performance {
    /// Every entry of every group.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.groups.iter().flat_map(|g| &g.entries)
    }

    /// The entry with this key, in any group.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries().find(|e| e.key == key)
    }
}

/// Compute the catalogue of `inputs` over `range`.
pub fn performance(
    inputs: &Inputs<'_>,
    range: Range,
    config: KpiConfig,
) -> Result<Performance, ReturnsError> {
    // Storage hands the history over sorted; copy only when it is not.
    let history: std::borrow::Cow<'_, [NavPoint]> = if inputs.history.is_sorted_by_key(|p| p.date) {
        std::borrow::Cow::Borrowed(inputs.history)
    } else {
        let mut sorted = inputs.history.to_vec();
        sorted.sort_by_key(|p| p.date);
        std::borrow::Cow::Owned(sorted)
    };
    let history = history.as_ref();
    let all = returns::daily_returns(history)?;
    let as_of = all.dates.last().copied();
    let window = match (as_of, all.dates.first()) {
        (Some(as_of), Some(first)) => range.resolve(as_of, *first),
        _ => Window {
            from: None,
            to: NaiveDate::MIN,
            covered: false,
        },
    };
    let series = window.select(&all);
    let benchmark = inputs.benchmark.map(|(name, b)| (name, window.select(b)));
    let catalogue = stats::series_kpis(&series, benchmark.as_ref().map(|(_, b)| b), config);

    let mut returns_group = catalogue.returns.clone();
    returns_group.extend(flows::flow_kpis(history, window));
    returns_group.extend(period::trailing_returns(&all));
    let mut groups = vec![
        Group {
            key: "returns",
            title: "Returns",
            entries: returns_group,
        },
        Group {
            key: "risk",
            title: "Risk",
            entries: catalogue.risk.clone(),
        },
        Group {
            key: "risk_adjusted",
            title: "Risk-adjusted",
            entries: catalogue.risk_adjusted.clone(),
        },
    ];

    let (trading_entries, trading_totals) = trading(inputs, history, window, series.len());
    groups.push(Group {
        key: "trading",
        title: "Trading",
        entries: trading_entries,
    });

    let last_nav = history.last().map(|p| p.nav);
    let exposure = match last_nav {
        Some(nav) if !inputs.positions.is_empty() => Some(exposure::exposure(
            inputs.positions,
            inputs.assets,
            nav,
            inputs.allocations,
        )),
        _ => None,
    };
    groups.push(Group {
        key: "exposure",
        title: "Exposure",
        entries: match &exposure {
            Some(e) => exposure::entries(e),
            None => vec![Entry::new(
                "leverage",
                "Leverage",
                Unit::Ratio,
                Metric::unavailable("no positions for this subject"),
            )],
        },
    });

    let all_entries: Vec<Entry> = groups.iter().flat_map(|g| g.entries.clone()).collect();
    let limits = limits::check(inputs.limits, &limits::lookup(&all_entries));
    let charts = chart_series(
        &series,
        &all,
        inputs.benchmark.map(|(_, b)| b),
        window,
        config,
    );
    Ok(Performance {
        range,
        window,
        observations: series.len(),
        first: series.dates.first().copied(),
        last: series.dates.last().copied(),
        benchmark: inputs.benchmark.map(|(name, _)| name.to_string()),
        groups,
        drawdowns: catalogue.drawdowns,
        exposure,
        trading_totals,
        limits,
        charts,
    })
}

/// Trading KPIs of the round trips closed inside the window; turnover from the window's trade
/// notionals in the base currency over its average NAV.
fn trading(
    inputs: &Inputs<'_>,
    history: &[NavPoint],
    window: Window,
    observations: usize,
) -> (Vec<Entry>, Vec<TradingTotals>) {
    let inside = |d: NaiveDate| window.from.is_none_or(|f| d >= f) && d <= window.to;
    let (round_trips, _open) = trading::match_fifo(inputs.trades);
    let closed: Vec<_> = round_trips
        .into_iter()
        .filter(|t| inside(t.close_date))
        .collect();
    let mut notional = Decimal::ZERO;
    let mut unconverted = false;
    for t in inputs.trades.iter().filter(|t| inside(t.trade_date)) {
        match inputs
            .fx
            .rate(&t.currency, inputs.base_currency, t.trade_date)
        {
            Some(rate) => notional += (t.quantity * t.price * rate).abs(),
            None => unconverted = true,
        }
    }
    let navs: Vec<Decimal> = history
        .iter()
        .filter(|p| inside(p.date))
        .map(|p| p.nav)
        .collect();
    let average_nav = (!navs.is_empty() && !unconverted)
        .then(|| navs.iter().sum::<Decimal>() / Decimal::from(navs.len()));
    let years = observations as f64 / PERIODS_PER_YEAR;
    let mut entries = trading::trading_kpis(&closed, notional, average_nav, years);
    if unconverted {
        for e in entries.iter_mut().filter(|e| e.key == "turnover") {
            e.metric = Metric::unavailable("a trade's currency has no FX rate to the base");
        }
    }
    (entries, trading::totals(&closed))
}

/// The cumulative and drawdown curves start at the range; a rolling value at a date in the
/// range looks back over its whole window, into the history before the range if need be (a
/// 252-day volatility over YTD is still a year's volatility).
fn chart_series(
    series: &ReturnSeries,
    all: &ReturnSeries,
    benchmark: Option<&ReturnSeries>,
    window: Window,
    config: KpiConfig,
) -> ChartSeries {
    let clip = |s: ReturnSeries| window.select(&s);
    ChartSeries {
        cumulative: stats::cumulative_series(series),
        benchmark_cumulative: benchmark.map(|b| stats::cumulative_series(&clip(b.clone()))),
        drawdown: stats::drawdown_series(series),
        rolling_volatility: ROLLING_WINDOWS
            .iter()
            .map(|w| (*w, clip(stats::rolling_volatility(all, *w))))
            .collect(),
        rolling_sharpe: ROLLING_WINDOWS
            .iter()
            .map(|w| (*w, clip(stats::rolling_sharpe(all, *w, config))))
            .collect(),
        rolling_beta: match benchmark {
            Some(b) => ROLLING_WINDOWS
                .iter()
                .map(|w| (*w, clip(stats::rolling_beta(all, b, *w))))
                .collect(),
            None => Vec::new(),
        },
    }
}

/// Daily returns of a price history (closes, oldest first), as the benchmark's series.
pub fn price_returns(closes: &[(NaiveDate, Decimal)]) -> ReturnSeries {
    let mut out = ReturnSeries::default();
    for pair in closes.windows(2) {
        let (prev, cur) = (pair[0], pair[1]);
        if prev.1 <= Decimal::ZERO {
            continue;
        }
        out.dates.push(cur.0);
        out.values
            .push((cur.1 / prev.1).normalize().to_f64().unwrap_or(f64::NAN) - 1.0);
    }
    out
}

/// A price history as value points (no flows), so an asset goes through the same catalogue as
/// a portfolio.
pub fn price_history(asset_id: &str, closes: &[(NaiveDate, Decimal)]) -> Vec<NavPoint> {
    closes
        .iter()
        .map(|(date, close)| NavPoint {
            id: format!("{asset_id}:{date}"),
            portfolio_id: asset_id.to_string(),
            date: *date,
            nav: *close,
            external_flow: Decimal::ZERO,
            gross_exposure: Decimal::ZERO,
            net_exposure: Decimal::ZERO,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Side;

    fn day(i: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2023, 1, 2).unwrap() + chrono::Duration::days(i)
    }

    fn nav_history(navs: &[f64]) -> Vec<NavPoint> {
        navs.iter()
            .enumerate()
            .map(|(i, v)| NavPoint {
                id: i.to_string(),
                portfolio_id: "p".into(),
                date: day(i as i64),
                nav: Decimal::try_from(*v).unwrap(),
                external_flow: Decimal::ZERO,
                gross_exposure: Decimal::ZERO,
                net_exposure: Decimal::ZERO,
            })
            .collect()
    }

    fn trade(side: Side, qty: i64, price: i64, day_index: i64) -> Trade {
        Trade {
            id: format!("t{day_index}"),
            account_id: "a".into(),
            asset_id: "x".into(),
            broker: "b".into(),
            broker_trade_id: format!("{day_index}"),
            side,
            quantity: Decimal::from(qty),
            price: Decimal::from(price),
            fees: Decimal::ZERO,
            currency: "EUR".into(),
            trade_date: day(day_index),
            settle_date: day(day_index + 2),
        }
    }

    fn limit(metric: &str, threshold: &str) -> RiskLimit {
        RiskLimit {
            id: metric.into(),
            portfolio_id: "p".into(),
            metric: metric.into(),
            threshold: threshold.parse().unwrap(),
            severity: "breach".into(),
        }
    }

    #[test]
    fn one_call_gives_every_group_the_limits_and_the_charts() {
        // NAV 100 → 110 → 99 → 104.5: a 10% fall from the peak, then part of the way back.
        let history = nav_history(&[100.0, 110.0, 99.0, 104.5]);
        let trades = [trade(Side::Buy, 10, 100, 0), trade(Side::Sell, 10, 120, 2)];
        let fx = FxTable::new(&[crate::model::FxRate {
            pair: "EURUSD".into(),
            date: day(0),
            rate: "1.5".parse().unwrap(),
        }]);
        let limits = [
            limit("max_drawdown", "-0.05"),
            limit("annual_volatility", "5"),
        ];
        let inputs = Inputs {
            history: &history,
            benchmark: None,
            trades: &trades,
            positions: &[],
            assets: &[],
            allocations: &[],
            limits: &limits,
            fx: &fx,
            base_currency: "USD",
        };
        let p = performance(&inputs, Range::SinceInception, KpiConfig::default()).unwrap();
        let keys: Vec<_> = p.groups.iter().map(|g| g.key).collect();
        assert_eq!(
            keys,
            ["returns", "risk", "risk_adjusted", "trading", "exposure"]
        );
        assert_eq!(p.observations, 3);
        let value = |key: &str| p.get(key).and_then(|e| e.metric.value());
        assert!((value("cumulative_return").unwrap() - 0.045).abs() < 1e-12);
        assert!((value("max_drawdown").unwrap() - (99.0 / 110.0 - 1.0)).abs() < 1e-12);
        // No benchmark: the benchmark KPIs are absent, not zero.
        assert_eq!(value("beta"), None);
        // One round trip of +20 per unit; turnover counts both legs in USD:
        // (1000 + 1200) × 1.5 = 3300 over the average of the NAVs dated in the window
        // (since inception: all four, 103.375), over 3 returns = 3/252 of a year.
        assert_eq!(value("round_trips"), Some(1.0));
        let turnover = 3300.0 / 103.375 / (3.0 / 252.0);
        assert!((value("turnover").unwrap() - turnover).abs() < 1e-9);
        assert_eq!(p.trading_totals[0].net_pl, Decimal::from(200));
        // The −10% drawdown breaches the −5% floor; the 5 (500%) volatility cap holds.
        let breached: Vec<_> = p
            .limits
            .iter()
            .filter(|l| l.breached)
            .map(|l| l.metric.as_str())
            .collect();
        assert_eq!(breached, ["max_drawdown"]);
        assert_eq!(p.charts.cumulative.values.len(), 3);
        assert!((p.charts.drawdown.values[1] - (99.0 / 110.0 - 1.0)).abs() < 1e-12);
        assert!(p.exposure.is_none());
    }

    #[test]
    fn the_range_clips_the_series_and_the_benchmark() {
        let navs: Vec<f64> = (0..400).map(|i| 100.0 * (1.0005f64).powi(i)).collect();
        let history = nav_history(&navs);
        let closes: Vec<(NaiveDate, Decimal)> = (0..400)
            .map(|i| (day(i), Decimal::try_from(50.0 + i as f64 * 0.1).unwrap()))
            .collect();
        let bench = price_returns(&closes);
        let fx = FxTable::default();
        let inputs = Inputs {
            history: &history,
            benchmark: Some(("Index", &bench)),
            trades: &[],
            positions: &[],
            assets: &[],
            allocations: &[],
            limits: &[],
            fx: &fx,
            base_currency: "USD",
        };
        let p = performance(&inputs, Range::Mtd, KpiConfig::default()).unwrap();
        let last = day(399);
        let month_start = period::month_start(last);
        assert_eq!(p.first, Some(month_start.max(day(1))));
        assert_eq!(p.last, Some(last));
        assert!(p.charts.benchmark_cumulative.is_some());
        // A 252-day rolling value inside a one-month range looks back a year.
        let (_, vol_252) = &p.charts.rolling_volatility[1];
        assert_eq!(vol_252.dates.first(), p.first.as_ref());
        assert_eq!(vol_252.len(), p.observations);
        let growth = p.get("cumulative_return").unwrap().metric.value().unwrap();
        let want = 1.0005f64.powi(p.observations as i32) - 1.0;
        assert!((growth - want).abs() < 1e-9, "{growth} vs {want}");
        assert_eq!(p.benchmark.as_deref(), Some("Index"));
        assert!(p.get("beta").unwrap().metric.value().is_some());
    }

    #[test]
    fn prices_become_returns_and_value_points() {
        let closes = [
            (day(0), Decimal::from(50)),
            (day(1), Decimal::from(55)),
            (day(3), Decimal::from(44)),
        ];
        let r = price_returns(&closes);
        assert_eq!(r.dates, vec![day(1), day(3)]);
        assert!((r.values[0] - 0.1).abs() < 1e-15 && (r.values[1] + 0.2).abs() < 1e-15);
        let h = price_history("x", &closes);
        assert_eq!(h.len(), 3);
        assert_eq!(
            returns::daily_returns(&h).unwrap().values,
            r.values,
            "the same returns either way"
        );
    }
}
