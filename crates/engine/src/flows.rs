//! Time-weighted and money-weighted returns of a NAV history with external flows.
//!
//! Conventions (docs/kpi-conventions.md, "Time- and money-weighted returns"):
//!
//! * A window selects returns dated `from <= date <= to` (see [`crate::period`]); its
//!   *start point* is the last NAV dated before `from` (the first NAV for since inception) and
//!   its *end point* is the last NAV dated on or before `to`.
//! * TWR compounds the daily returns of [`crate::returns`] (flows at the close:
//!   `r_t = (NAV_t − flow_t) / NAV_{t−1} − 1`) from the start point to the end point; the
//!   annualised TWR is `(1 + TWR)^(365 / days) − 1` with `days` the calendar days between the
//!   two points (actual/365, the same day count as the IRR).
//! * The IRR is Excel's XIRR from the investor's side: the start NAV is paid in (−NAV_start),
//!   a subscription is paid in (−flow), a redemption is received (+|flow|), and the end NAV is
//!   received (+NAV_end); discounting is `(1 + r)^(days / 365)`. With no flows the IRR is the
//!   CAGR on actual/365: `(NAV_end / NAV_start)^(365 / days) − 1`.
//!
//! Cash flows are summed in [`Decimal`]; only the rate solve is `f64`.

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::kpi::{self, Entry, Metric, Unit};
use crate::model::NavPoint;
use crate::period::Window;
use crate::returns;

/// The NAV points a window spans: `(start index, end index)` into `history`, or why not.
fn span(
    history: &[NavPoint],
    from: Option<NaiveDate>,
    to: NaiveDate,
) -> Result<(usize, usize), &'static str> {
    if history.windows(2).any(|p| p[1].date <= p[0].date) {
        return Err("NAV dates are not strictly increasing");
    }
    let start = match from {
        None if history.is_empty() => return Err("no NAV history"),
        None => 0,
        Some(from) => history
            .iter()
            .rposition(|p| p.date < from)
            .ok_or("history starts after the window start")?,
    };
    let end = history
        .iter()
        .rposition(|p| p.date <= to)
        .ok_or("no NAV in the window")?;
    if end <= start {
        return Err("no NAV in the window");
    }
    Ok((start, end))
}

/// The compounded daily return over the window (flows at the close).
pub fn time_weighted(history: &[NavPoint], window: Window) -> Metric {
    if !window.covered {
        return Metric::unavailable("history starts after the window start");
    }
    let (start, end) = match span(history, window.from, window.to) {
        Ok(span) => span,
        Err(why) => return Metric::unavailable(why),
    };
    match returns::daily_returns(&history[start..=end]) {
        Ok(series) => Metric::from_f64(kpi::cumulative_return(&series.values), "overflow"),
        Err(err) => Metric::Unavailable(err.to_string()),
    }
}

/// The window's TWR annualised on actual/365: `(1 + TWR)^(365 / days) − 1`.
pub fn time_weighted_annualised(history: &[NavPoint], window: Window) -> Metric {
    annualised(history, window, time_weighted(history, window))
}

fn annualised(history: &[NavPoint], window: Window, twr: Metric) -> Metric {
    let twr = match twr {
        Metric::Value(v) => v,
        absent => return absent,
    };
    let Ok((start, end)) = span(history, window.from, window.to) else {
        return Metric::unavailable("no NAV in the window");
    };
    let days = (history[end].date - history[start].date).num_days() as f64;
    if 1.0 + twr < 0.0 {
        return Metric::unavailable("the portfolio lost more than everything");
    }
    Metric::from_f64((1.0 + twr).powf(365.0 / days) - 1.0, "overflow")
}

/// The investor's dated cash flows over a window, oldest first, one per date:
/// −NAV at the start point, −flow on each later date, +NAV added on the end date.
pub fn investor_cash_flows(
    history: &[NavPoint],
    from: Option<NaiveDate>,
    to: NaiveDate,
) -> Result<Vec<(NaiveDate, Decimal)>, &'static str> {
    let (start, end) = span(history, from, to)?;
    let mut flows = vec![(history[start].date, -history[start].nav)];
    for point in &history[start + 1..=end] {
        flows.push((point.date, -point.external_flow));
    }
    if let Some(last) = flows.last_mut() {
        last.1 += history[end].nav;
    }
    Ok(flows)
}

/// The money-weighted return (XIRR, actual/365) over the returns dated `from..=to`
/// (`from` `None` = since the first NAV), as in [`investor_cash_flows`].
pub fn money_weighted_irr(history: &[NavPoint], from: Option<NaiveDate>, to: NaiveDate) -> Metric {
    let flows = match investor_cash_flows(history, from, to) {
        Ok(flows) => flows,
        Err(why) => return Metric::unavailable(why),
    };
    if flows[0].1 >= Decimal::ZERO {
        return Metric::unavailable("no positive NAV at the window start");
    }
    // Days without a flow add nothing to the NPV: leave them out of the solver's loop.
    let as_f64: Vec<(NaiveDate, f64)> = flows
        .iter()
        .filter(|(_, c)| !c.is_zero())
        .map(|(d, c)| (*d, c.normalize().to_f64().unwrap_or(f64::NAN)))
        .collect();
    let has_in = as_f64.iter().any(|(_, c)| *c < 0.0);
    let has_out = as_f64.iter().any(|(_, c)| *c > 0.0);
    if !(has_in && has_out) {
        return Metric::unavailable("cash flows do not change sign");
    }
    match xirr(&as_f64) {
        Some(rate) => Metric::Value(rate),
        None => Metric::unavailable("no IRR solution"),
    }
}

/// The window's `twr`, `twr_ann` and `irr` as KPI entries.
pub fn flow_kpis(history: &[NavPoint], window: Window) -> Vec<Entry> {
    let irr = if window.covered {
        money_weighted_irr(history, window.from, window.to)
    } else {
        Metric::unavailable("history starts after the window start")
    };
    let twr = time_weighted(history, window);
    let twr_ann = annualised(history, window, twr.clone());
    vec![
        Entry::new("twr", "Time-weighted return", Unit::SignedPercent, twr),
        Entry::new(
            "twr_ann",
            "Time-weighted return (ann.)",
            Unit::SignedPercent,
            twr_ann,
        ),
        Entry::new(
            "irr",
            "Money-weighted return (IRR)",
            Unit::SignedPercent,
            irr,
        ),
    ]
}

/// The rate `r > −1` with `Σ c_i / (1 + r)^((d_i − d_0) / 365) = 0` (Excel's XIRR), `d_0` the
/// earliest date. Newton from 10% (Excel's guess); when Newton fails, a bisection on
/// `x = ln(1 + r)` over a bracket found by scanning outwards from 10%. `None` when the flows
/// do not change sign or no root exists.
pub fn xirr(flows: &[(NaiveDate, f64)]) -> Option<f64> {
    let d0 = flows.iter().map(|(d, _)| *d).min()?;
    let points: Vec<(f64, f64)> = flows
        .iter()
        .map(|(d, c)| ((*d - d0).num_days() as f64 / 365.0, *c))
        .collect();
    if points.iter().any(|(_, c)| !c.is_finite())
        || !points.iter().any(|(_, c)| *c > 0.0)
        || !points.iter().any(|(_, c)| *c < 0.0)
    {
        return None;
    }
    let scale: f64 = points.iter().map(|(_, c)| c.abs()).sum();
    newton(&points, scale).or_else(|| bisect(&points, scale))
}

fn npv(points: &[(f64, f64)], rate: f64) -> (f64, f64) {
    let base = 1.0 + rate;
    points.iter().fold((0.0, 0.0), |(v, dv), (t, c)| {
        let discount = base.powf(-t);
        (v + c * discount, dv - t * c * discount / base)
    })
}

fn newton(points: &[(f64, f64)], scale: f64) -> Option<f64> {
    let mut rate = 0.1;
    for _ in 0..100 {
        let (value, slope) = npv(points, rate);
        if !value.is_finite() || !slope.is_finite() || slope == 0.0 {
            return None;
        }
        let next = rate - value / slope;
        if !next.is_finite() || next <= -1.0 {
            return None;
        }
        if (next - rate).abs() <= 1e-12 * rate.abs().max(1.0) {
            let (residual, _) = npv(points, next);
            return (residual.abs() <= 1e-9 * scale).then_some(next);
        }
        rate = next;
    }
    None
}

/// The value at the last date for `x = ln(1 + r)`: `Σ c_i e^{x (T − t_i)}`; same roots as
/// the NPV, but finite as `r → −1`.
fn future_value(points: &[(f64, f64)], x: f64) -> f64 {
    let horizon = points.iter().fold(0.0f64, |m, (t, _)| m.max(*t));
    points
        .iter()
        .map(|(t, c)| c * (x * (horizon - t)).exp())
        .sum()
}

fn bisect(points: &[(f64, f64)], scale: f64) -> Option<f64> {
    // Scan outwards from 10% in steps of 1% of (1 + distance): fine near 10%, geometric far
    // away, up to x = ±700 (beyond that e^x overflows).
    let x0 = 1.1f64.ln();
    let sign_change = |a: f64, b: f64| {
        let (fa, fb) = (future_value(points, a), future_value(points, b));
        (fa.is_finite() && fb.is_finite() && (fa == 0.0 || fa.signum() != fb.signum()))
            .then_some((a, b, fa))
    };
    let mut bracket = None;
    let mut reach = 0.0f64;
    while reach < 700.0 && bracket.is_none() {
        let next = reach + 0.01 * (1.0 + reach);
        bracket = sign_change(x0 + reach, x0 + next).or_else(|| sign_change(x0 - next, x0 - reach));
        reach = next;
    }
    let (mut lo, mut hi, mut f_lo) = bracket?;
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let f_mid = future_value(points, mid);
        if f_mid == 0.0 {
            lo = mid;
            hi = mid;
            break;
        }
        if f_mid.signum() == f_lo.signum() {
            lo = mid;
            f_lo = f_mid;
        } else {
            hi = mid;
        }
    }
    let rate = (0.5 * (lo + hi)).exp_m1();
    let (residual, _) = npv(points, rate);
    (rate.is_finite() && residual.abs() <= 1e-6 * scale).then_some(rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn point(date: NaiveDate, nav: &str, flow: &str) -> NavPoint {
        NavPoint {
            id: date.to_string(),
            portfolio_id: "p".into(),
            date,
            nav: nav.parse().unwrap(),
            external_flow: flow.parse().unwrap(),
            gross_exposure: Decimal::ZERO,
            net_exposure: Decimal::ZERO,
        }
    }

    fn all(to: NaiveDate) -> Window {
        Window {
            from: None,
            to,
            covered: true,
        }
    }

    #[test]
    fn one_year_without_flows_by_hand() {
        // 100 -> 110 over 365 days: TWR = IRR = 10%, annualised TWR 10%.
        let h = [
            point(d(2023, 1, 1), "100", "0"),
            point(d(2024, 1, 1), "110", "0"),
        ];
        let twr = time_weighted(&h, all(d(2024, 1, 1))).value().unwrap();
        assert!((twr - 0.1).abs() < 1e-12);
        // 2023 has 365 days.
        let ann = time_weighted_annualised(&h, all(d(2024, 1, 1)))
            .value()
            .unwrap();
        assert!((ann - 0.1).abs() < 1e-12);
        let irr = money_weighted_irr(&h, None, d(2024, 1, 1)).value().unwrap();
        assert!((irr - 0.1).abs() < 1e-10, "{irr}");
        let keys: Vec<_> = flow_kpis(&h, all(d(2024, 1, 1)))
            .iter()
            .map(|e| (e.key, e.metric.value().is_some()))
            .collect();
        assert_eq!(keys, vec![("twr", true), ("twr_ann", true), ("irr", true)]);
    }

    #[test]
    fn cash_flows_from_the_investors_side() {
        // Subscription of 50 on day 2, redemption of 30 on day 3 and a flow on the end date.
        let h = [
            point(d(2024, 1, 1), "100", "0"),
            point(d(2024, 1, 2), "151.10", "50"),
            point(d(2024, 1, 3), "121.10", "-30"),
            point(d(2024, 1, 4), "131.10", "10"),
        ];
        let flows = investor_cash_flows(&h, None, d(2024, 1, 4)).unwrap();
        let want: Vec<(NaiveDate, Decimal)> = [
            (d(2024, 1, 1), "-100"),
            (d(2024, 1, 2), "-50"),
            (d(2024, 1, 3), "30"),
            (d(2024, 1, 4), "121.10"),
        ]
        .into_iter()
        .map(|(d, c)| (d, c.parse().unwrap()))
        .collect();
        assert_eq!(flows, want);
        // A window from Jan 3rd starts at the Jan 2nd close.
        let flows = investor_cash_flows(&h, Some(d(2024, 1, 3)), d(2024, 1, 3)).unwrap();
        assert_eq!(flows[0], (d(2024, 1, 2), "-151.10".parse().unwrap()));
        assert_eq!(flows[1], (d(2024, 1, 3), "151.10".parse().unwrap()));
    }

    #[test]
    fn absent_with_reasons() {
        let h = [
            point(d(2024, 1, 2), "100", "0"),
            point(d(2024, 1, 3), "0", "0"),
        ];
        // Lost everything and nothing came back: no sign change.
        assert_eq!(
            money_weighted_irr(&h, None, d(2024, 1, 3)),
            Metric::unavailable("cash flows do not change sign")
        );
        assert_eq!(
            money_weighted_irr(&h, Some(d(2024, 1, 1)), d(2024, 1, 3)),
            Metric::unavailable("history starts after the window start")
        );
        assert_eq!(
            money_weighted_irr(&h[..1], None, d(2024, 1, 3)),
            Metric::unavailable("no NAV in the window")
        );
        assert_eq!(
            time_weighted(&[], all(d(2024, 1, 3))),
            Metric::unavailable("no NAV history")
        );
        let unordered = [h[1].clone(), h[0].clone()];
        assert_eq!(
            time_weighted(&unordered, all(d(2024, 1, 3))),
            Metric::unavailable("NAV dates are not strictly increasing")
        );
        let uncovered = Window {
            from: Some(d(2024, 1, 1)),
            to: d(2024, 1, 3),
            covered: false,
        };
        assert!(matches!(
            time_weighted(&h, uncovered),
            Metric::Unavailable(_)
        ));
        assert_eq!(xirr(&[(d(2024, 1, 1), -1.0), (d(2024, 1, 2), -1.0)]), None);
    }

    #[test]
    fn bisection_finds_what_newton_misses() {
        // Newton from 10% overshoots below −100% here; the bracket search must still find
        // the root of −100 now, +1 in a year: r = −99%.
        let flows = [(d(2023, 1, 1), -100.0), (d(2024, 1, 1), 1.0)];
        let points: Vec<(f64, f64)> = vec![(0.0, -100.0), (1.0, 1.0)];
        assert_eq!(newton(&points, 101.0), None);
        let r = bisect(&points, 101.0).unwrap();
        assert!((r + 0.99).abs() < 1e-9, "{r}");
        assert!((xirr(&flows).unwrap() + 0.99).abs() < 1e-9);
        // +50% in a day: r = 1.5^365 − 1 ≈ 1.88e64, also within reach of the widening bracket.
        let jump: Vec<(f64, f64)> = vec![(0.0, -100.0), (1.0 / 365.0, 150.0)];
        let r = bisect(&jump, 250.0).unwrap();
        assert!((r / (1.5f64.powi(365) - 1.0) - 1.0).abs() < 1e-9, "{r}");
    }
}
