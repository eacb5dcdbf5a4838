//! The return-series KPI catalogue: everything Ballast says about one series of daily returns
//! (and, optionally, a benchmark), plus the chart series derived from it.
//!
//! [`series_kpis`] groups the KPIs as the UI shows them — returns, risk, risk-adjusted — each an
//! [`Entry`] with a stable snake_case key, a [`Unit`] and a value or the reason it is absent,
//! and adds the five worst drawdown episodes. [`drawdown_series`], [`cumulative_series`] and
//! the `rolling_*` functions feed the charts; [`align`] inner-joins two series on their dates.
//!
//! Conventions are those of [`crate::kpi`] and docs/kpi-conventions.md ("The return-series
//! catalogue", every key with its formula and when it is absent): 252 periods a year; the
//! annual risk-free rate applied per period as `(1 + rf)^(1/252) − 1`; sample standard
//! deviation (n − 1); drawdowns on the compounded wealth index starting at 1. Value at risk and
//! expected shortfall are one-day figures reported as (usually negative) returns. Benchmark
//! KPIs use only the dates both series have. Every formula is in the docs table and is checked
//! against published libraries (empyrical-reloaded, quantstats, scipy) by
//! `tests/stats_reference.rs`.
//!
//! Performance: quantiles by selection (no full sort), linear passes and a handful of
//! allocations per series, so the whole catalogue for ten years of daily data (2,520 returns,
//! with a benchmark) costs on the order of 0.1 ms in an optimised build; see the ignored
//! `catalogue_is_fast_enough` test.

use chrono::NaiveDate;
use serde::Serialize;

use crate::calendar::{monthly_returns, yearly_returns};
use crate::kpi::{
    self, is_degenerate, mean, Drawdown, Entry, KpiConfig, Metric, Unit, PERIODS_PER_YEAR,
};
use crate::returns::ReturnSeries;

const NO_DATA: &str = "no returns in the range";
const TOO_FEW: &str = "needs at least two returns";
const TOO_FEW_3: &str = "needs at least three returns";
const TOO_FEW_4: &str = "needs at least four returns";
const ZERO_VARIANCE: &str = "returns do not vary";
const NO_BENCHMARK: &str = "no benchmark";
const NO_OVERLAP: &str = "fewer than two dates in common with the benchmark";
const OVERFLOW: &str = "overflow";

/// The KPI catalogue of one return series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesKpis {
    pub returns: Vec<Entry>,
    pub risk: Vec<Entry>,
    pub risk_adjusted: Vec<Entry>,
    /// The five worst drawdown episodes, deepest first; episodes never overlap.
    pub drawdowns: Vec<Drawdown>,
}

impl SeriesKpis {
    /// Every entry, in display order (returns, then risk, then risk-adjusted).
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.returns
            .iter()
            .chain(&self.risk)
            .chain(&self.risk_adjusted)
    }

    /// The entry with this key.
    pub fn get(&self, key: &str) -> Option<&Entry> {
        self.entries().find(|e| e.key == key)
    }
}

/// The catalogue of many series (the assets of a universe) against one benchmark, spread
/// over the machine's cores; results come back in the order of `many`.
pub fn series_kpis_many(
    many: &[ReturnSeries],
    benchmark: Option<&ReturnSeries>,
    config: KpiConfig,
) -> Vec<SeriesKpis> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(many.len().max(1));
    if threads <= 1 {
        return many
            .iter()
            .map(|s| series_kpis(s, benchmark, config))
            .collect();
    }
    let chunk = many.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let workers: Vec<_> = many
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|s| series_kpis(s, benchmark, config))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a KPI worker panicked"))
            .collect()
    })
}

/// Compute the whole catalogue for `series`, with the benchmark KPIs when `benchmark` is given.
pub fn series_kpis(
    series: &ReturnSeries,
    benchmark: Option<&ReturnSeries>,
    config: KpiConfig,
) -> SeriesKpis {
    let r = &series.values;
    let rf = config.risk_free_per_period();
    let n = r.len();
    let walk = DrawdownWalk::new(r);
    let cagr = kpi::cagr(r);
    let moments = Moments::of(r);
    let quantiles = Quantiles::of(r);

    // ---- returns ----
    let (month_values, year_values) = calendar_returns(series);
    let returns = vec![
        Entry::new(
            "cumulative_return",
            "Cumulative return",
            Unit::SignedPercent,
            if n == 0 {
                Metric::unavailable(NO_DATA)
            } else {
                Metric::from_f64(kpi::cumulative_return(r), OVERFLOW)
            },
        ),
        Entry::new("cagr", "CAGR", Unit::SignedPercent, cagr.clone()),
        Entry::new(
            "best_day",
            "Best day",
            Unit::SignedPercent,
            extreme(quantiles.as_ref().map(|q| q.max)),
        ),
        Entry::new(
            "worst_day",
            "Worst day",
            Unit::SignedPercent,
            extreme(quantiles.as_ref().map(|q| q.min)),
        ),
        Entry::new(
            "best_month",
            "Best month",
            Unit::SignedPercent,
            max_of(&month_values),
        ),
        Entry::new(
            "worst_month",
            "Worst month",
            Unit::SignedPercent,
            min_of(&month_values),
        ),
        Entry::new(
            "best_year",
            "Best year",
            Unit::SignedPercent,
            max_of(&year_values),
        ),
        Entry::new(
            "worst_year",
            "Worst year",
            Unit::SignedPercent,
            min_of(&year_values),
        ),
        Entry::new(
            "avg_up_month",
            "Average up month",
            Unit::SignedPercent,
            mean_where(&month_values, |v| v > 0.0, "no month with a gain"),
        ),
        Entry::new(
            "avg_down_month",
            "Average down month",
            Unit::SignedPercent,
            mean_where(&month_values, |v| v < 0.0, "no month with a loss"),
        ),
        Entry::new(
            "positive_days",
            "Positive days",
            Unit::Percent,
            positive_share(r, "no day with a non-zero return"),
        ),
        Entry::new(
            "positive_months",
            "Positive months",
            Unit::Percent,
            positive_share(&month_values, "no month with a non-zero return"),
        ),
    ];

    // ---- risk ----
    let max_dd = match walk.max_drawdown {
        Some(d) => Metric::Value(d),
        None => Metric::unavailable(NO_DATA),
    };
    let mut risk = vec![
        Entry::new(
            "annual_volatility",
            "Volatility (ann.)",
            Unit::Percent,
            kpi::annual_volatility(r),
        ),
        Entry::new(
            "downside_deviation",
            "Downside deviation (ann.)",
            Unit::Percent,
            downside_deviation(r, rf),
        ),
        Entry::new(
            "max_drawdown",
            "Max drawdown",
            Unit::SignedPercent,
            max_dd.clone(),
        ),
        Entry::new(
            "current_drawdown",
            "Current drawdown",
            Unit::SignedPercent,
            match walk.current {
                Some(d) => Metric::Value(d),
                None => Metric::unavailable(NO_DATA),
            },
        ),
        Entry::new(
            "longest_drawdown",
            "Longest drawdown (days)",
            Unit::Count,
            if n == 0 {
                Metric::unavailable(NO_DATA)
            } else {
                Metric::Value(walk.longest as f64)
            },
        ),
        Entry::new(
            "ulcer_index",
            "Ulcer index",
            Unit::Percent,
            if n == 0 {
                Metric::unavailable(NO_DATA)
            } else {
                Metric::from_f64((walk.sum_sq_drawdown / n as f64).sqrt(), OVERFLOW)
            },
        ),
    ];
    risk.extend(tail_risk(r, quantiles.as_ref(), &moments));
    risk.push(Entry::new("skew", "Skew", Unit::Ratio, moments.skew()));
    risk.push(Entry::new(
        "excess_kurtosis",
        "Excess kurtosis",
        Unit::Ratio,
        moments.excess_kurtosis(),
    ));
    risk.push(Entry::new(
        "tail_ratio",
        "Tail ratio",
        Unit::Ratio,
        tail_ratio(quantiles.as_ref()),
    ));

    // ---- risk-adjusted ----
    let mut risk_adjusted = vec![
        Entry::new("sharpe", "Sharpe", Unit::Ratio, kpi::sharpe(r, rf)),
        Entry::new("sortino", "Sortino", Unit::Ratio, kpi::sortino(r, rf)),
        Entry::new(
            "calmar",
            "Calmar",
            Unit::Ratio,
            calmar(&cagr, walk.max_drawdown),
        ),
        Entry::new("omega", "Omega", Unit::Ratio, omega(r, rf)),
        Entry::new("gain_pain", "Gain/pain", Unit::Ratio, gain_pain(r)),
    ];
    risk_adjusted.extend(benchmark_entries(series, benchmark, config));

    SeriesKpis {
        returns,
        risk,
        risk_adjusted,
        drawdowns: walk.top(series, 5),
    }
}

/// Compounded calendar-month and calendar-year returns, oldest first: the same numbers as
/// [`monthly_returns`] and [`yearly_returns`] (which the heatmap uses), computed in one linear
/// pass when the dates are sorted, as they are in every [`ReturnSeries`].
fn calendar_returns(series: &ReturnSeries) -> (Vec<f64>, Vec<f64>) {
    use chrono::Datelike;
    if !series.dates.windows(2).all(|w| w[0] <= w[1]) {
        let months = monthly_returns(series);
        let years = yearly_returns(&months).into_iter().map(|y| y.1).collect();
        return (months.into_iter().map(|m| m.value).collect(), years);
    }
    let mut months = Vec::with_capacity(series.len() / 20 + 2);
    let mut years = Vec::with_capacity(series.len() / 250 + 2);
    let mut current: Option<(i32, u32)> = None;
    // First day of the month after `current`: a date before it needs no calendar arithmetic.
    let mut next_month = NaiveDate::MIN;
    let (mut month_growth, mut year_growth) = (1.0, 1.0);
    for (date, r) in series.dates.iter().zip(&series.values) {
        if *date >= next_month {
            let key = (date.year(), date.month());
            next_month = if key.1 == 12 {
                NaiveDate::from_ymd_opt(key.0 + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(key.0, key.1 + 1, 1)
            }
            .unwrap_or(NaiveDate::MAX);
            if let Some((year, _)) = current {
                months.push(month_growth - 1.0);
                year_growth *= month_growth;
                if year != key.0 {
                    years.push(year_growth - 1.0);
                    year_growth = 1.0;
                }
            }
            current = Some(key);
            month_growth = 1.0;
        }
        month_growth *= 1.0 + r;
    }
    if current.is_some() {
        months.push(month_growth - 1.0);
        years.push(year_growth * month_growth - 1.0);
    }
    (months, years)
}

// ------------------------------------------------------------------------------------------
// Chart series
// ------------------------------------------------------------------------------------------

/// The underwater curve `W_t / max_{s≤t} W_s − 1` (the running max includes the start, 1).
pub fn drawdown_series(series: &ReturnSeries) -> ReturnSeries {
    let mut wealth = 1.0;
    let mut peak = 1.0f64;
    let values = series
        .values
        .iter()
        .map(|r| {
            wealth *= 1.0 + r;
            peak = peak.max(wealth);
            wealth / peak - 1.0
        })
        .collect();
    ReturnSeries {
        dates: series.dates.clone(),
        values,
    }
}

/// The cumulative return to each date, `W_t − 1`.
pub fn cumulative_series(series: &ReturnSeries) -> ReturnSeries {
    let mut wealth = 1.0;
    let values = series
        .values
        .iter()
        .map(|r| {
            wealth *= 1.0 + r;
            wealth - 1.0
        })
        .collect();
    ReturnSeries {
        dates: series.dates.clone(),
        values,
    }
}

/// Annualised volatility over a trailing window of `window` returns; the first point is the
/// window's last date. Windows whose returns do not vary have no point.
pub fn rolling_volatility(series: &ReturnSeries, window: usize) -> ReturnSeries {
    let mut out = ReturnSeries::default();
    sliding(&series.values, None, window, |end, m| {
        if !m.flat_x() {
            push(
                &mut out,
                series.dates[end],
                m.var_x().sqrt() * PERIODS_PER_YEAR.sqrt(),
            );
        }
    });
    out
}

/// Sharpe ratio over a trailing window (as [`kpi::sharpe`]); windows whose returns do not vary
/// have no point (the chart shows a gap rather than a fake zero).
pub fn rolling_sharpe(series: &ReturnSeries, window: usize, config: KpiConfig) -> ReturnSeries {
    let rf = config.risk_free_per_period();
    let mut out = ReturnSeries::default();
    sliding(&series.values, None, window, |end, m| {
        if !m.flat_x() {
            let sharpe = (m.mean_x() - rf) / m.var_x().sqrt() * PERIODS_PER_YEAR.sqrt();
            push(&mut out, series.dates[end], sharpe);
        }
    });
    out
}

/// Beta to the benchmark over a trailing window of date-aligned pairs (see [`align`]);
/// windows where the benchmark does not vary have no point.
pub fn rolling_beta(
    series: &ReturnSeries,
    benchmark: &ReturnSeries,
    window: usize,
) -> ReturnSeries {
    let (a, b, dates) = align(series, benchmark);
    let mut out = ReturnSeries::default();
    sliding(&a, Some(&b), window, |end, m| {
        if !m.flat_y() {
            push(&mut out, dates[end], m.cov() / m.var_y());
        }
    });
    out
}

fn push(out: &mut ReturnSeries, date: NaiveDate, value: f64) {
    if value.is_finite() {
        out.dates.push(date);
        out.values.push(value);
    }
}

/// Sums of one trailing window, kept relative to a shift (the mean of the window at the last
/// re-basing) so that the subtraction in the variance loses no precision.
#[derive(Debug, Clone, Copy, Default)]
struct WindowSums {
    n: f64,
    shift_x: f64,
    shift_y: f64,
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
    /// Every value of the window is the same (so it has no dispersion, whatever rounding says).
    flat_x: bool,
    flat_y: bool,
}

impl WindowSums {
    fn mean_x(&self) -> f64 {
        self.shift_x + self.sx / self.n
    }
    fn var_x(&self) -> f64 {
        ((self.sxx - self.sx * self.sx / self.n) / (self.n - 1.0)).max(0.0)
    }
    fn var_y(&self) -> f64 {
        ((self.syy - self.sy * self.sy / self.n) / (self.n - 1.0)).max(0.0)
    }
    fn cov(&self) -> f64 {
        (self.sxy - self.sx * self.sy / self.n) / (self.n - 1.0)
    }
    fn flat_x(&self) -> bool {
        self.flat_x || self.var_x() == 0.0
    }
    fn flat_y(&self) -> bool {
        self.flat_y || self.var_y() == 0.0
    }
    fn add(&mut self, x: f64, y: f64, sign: f64) {
        let (dx, dy) = (x - self.shift_x, y - self.shift_y);
        self.sx += sign * dx;
        self.sy += sign * dy;
        self.sxx += sign * dx * dx;
        self.syy += sign * dy * dy;
        self.sxy += sign * dx * dy;
    }
}

/// How many values up to and including each index equal the one before (a run of equal
/// values), so a window is flat when the run at its end covers it.
fn equal_runs(values: &[f64]) -> Vec<usize> {
    let mut runs = Vec::with_capacity(values.len());
    for (i, v) in values.iter().enumerate() {
        let run = if i > 0 && values[i - 1] == *v {
            runs[i - 1] + 1
        } else {
            1
        };
        runs.push(run);
    }
    runs
}

/// Call `emit(end, sums)` for every trailing window of `window` values ending at `end`, in
/// O(n): each step adds the new pair and drops the oldest, and every `window` steps the sums
/// are rebuilt around the window's own mean so rounding cannot accumulate.
fn sliding(
    xs: &[f64],
    ys: Option<&[f64]>,
    window: usize,
    mut emit: impl FnMut(usize, &WindowSums),
) {
    if window < 2 || xs.len() < window {
        return;
    }
    let y_at = |i: usize| ys.map_or(0.0, |ys| ys[i]);
    let runs_x = equal_runs(xs);
    let runs_y = ys.map(equal_runs).unwrap_or_default();
    let mut sums = WindowSums::default();
    for end in window - 1..xs.len() {
        let start = end + 1 - window;
        if start.is_multiple_of(window) {
            let range = start..=end;
            let n = window as f64;
            let shift_x = xs[range.clone()].iter().sum::<f64>() / n;
            let shift_y = range.clone().map(y_at).sum::<f64>() / n;
            sums = WindowSums {
                n,
                shift_x,
                shift_y,
                ..WindowSums::default()
            };
            for i in range {
                sums.add(xs[i], y_at(i), 1.0);
            }
        } else {
            sums.add(xs[start - 1], y_at(start - 1), -1.0);
            sums.add(xs[end], y_at(end), 1.0);
        }
        sums.flat_x = runs_x[end] >= window;
        sums.flat_y = runs_y.get(end).is_some_and(|run| *run >= window);
        emit(end, &sums);
    }
}

/// Inner join of two series on their dates: `(a values, b values, dates)`, oldest first.
/// Both inputs must be sorted by date (as every [`ReturnSeries`] is).
pub fn align(a: &ReturnSeries, b: &ReturnSeries) -> (Vec<f64>, Vec<f64>, Vec<NaiveDate>) {
    if a.dates == b.dates {
        // The common case (a benchmark on the portfolio's own dealing days): nothing to join.
        return (a.values.clone(), b.values.clone(), a.dates.clone());
    }
    let cap = a.len().min(b.len());
    let (mut xs, mut ys, mut dates) = (
        Vec::with_capacity(cap),
        Vec::with_capacity(cap),
        Vec::with_capacity(cap),
    );
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a.dates[i].cmp(&b.dates[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                xs.push(a.values[i]);
                ys.push(b.values[j]);
                dates.push(a.dates[i]);
                i += 1;
                j += 1;
            }
        }
    }
    (xs, ys, dates)
}

/// The `n` worst drawdown episodes, deepest first. An episode runs from a peak of the wealth
/// index to the first date back at that level (its recovery) or to the end of the series;
/// episodes never overlap (one may recover on the date the next one peaks).
pub fn top_drawdowns(series: &ReturnSeries, n: usize) -> Vec<Drawdown> {
    DrawdownWalk::new(&series.values).top(series, n)
}

// ------------------------------------------------------------------------------------------
// Drawdowns
// ------------------------------------------------------------------------------------------

/// One episode in return indices; `peak == None` is the start of the series (W = 1).
#[derive(Debug, Clone, Copy)]
struct Episode {
    depth: f64,
    peak: Option<usize>,
    trough: usize,
    recovery: Option<usize>,
}

/// Everything one pass over the wealth index yields.
struct DrawdownWalk {
    episodes: Vec<Episode>,
    max_drawdown: Option<f64>,
    current: Option<f64>,
    longest: usize,
    sum_sq_drawdown: f64,
    periods: usize,
}

impl DrawdownWalk {
    fn new(returns: &[f64]) -> DrawdownWalk {
        let mut episodes = Vec::new();
        let mut wealth = 1.0;
        let mut peak_wealth = 1.0f64;
        let mut peak: Option<usize> = None;
        let mut open: Option<Episode> = None;
        let mut worst = 0.0f64;
        let mut sum_sq = 0.0;
        let mut dd = 0.0;
        for (i, r) in returns.iter().enumerate() {
            wealth *= 1.0 + r;
            if wealth >= peak_wealth {
                if let Some(mut e) = open.take() {
                    // Back at the peak's level: the episode ends, and this date is the next peak.
                    e.recovery = Some(i);
                    episodes.push(e);
                    peak = Some(i);
                } else if wealth > peak_wealth {
                    peak = Some(i);
                }
                peak_wealth = wealth;
                dd = 0.0;
            } else {
                dd = wealth / peak_wealth - 1.0;
                let e = open.get_or_insert(Episode {
                    depth: 0.0,
                    peak,
                    trough: i,
                    recovery: None,
                });
                if dd < e.depth {
                    e.depth = dd;
                    e.trough = i;
                }
                worst = worst.min(dd);
            }
            sum_sq += dd * dd;
        }
        episodes.extend(open);
        let periods = returns.len();
        let mut walk = DrawdownWalk {
            episodes,
            max_drawdown: (periods > 0).then_some(worst),
            current: (periods > 0).then_some(dd),
            longest: 0,
            sum_sq_drawdown: sum_sq,
            periods,
        };
        walk.longest = walk
            .episodes
            .iter()
            .map(|e| walk.duration(e))
            .max()
            .unwrap_or(0);
        walk
    }

    /// Periods from the peak (index −1 = the start) to the recovery, or to the last period.
    fn duration(&self, e: &Episode) -> usize {
        let end = e.recovery.unwrap_or(self.periods - 1) as i64;
        let start = e.peak.map_or(-1, |p| p as i64);
        (end - start) as usize
    }

    fn top(&self, series: &ReturnSeries, n: usize) -> Vec<Drawdown> {
        let mut order: Vec<&Episode> = self.episodes.iter().collect();
        order.sort_by(|a, b| a.depth.total_cmp(&b.depth)); // stable: ties stay oldest first
        order
            .into_iter()
            .take(n)
            .map(|e| Drawdown {
                depth: e.depth,
                peak: e.peak.map(|i| series.dates[i]),
                trough: series.dates[e.trough],
                recovery: e.recovery.map(|i| series.dates[i]),
                duration_periods: self.duration(e),
            })
            .collect()
    }
}

// ------------------------------------------------------------------------------------------
// Moments, quantiles and the normal distribution
// ------------------------------------------------------------------------------------------

/// Mean and central moment sums of a sample, from two passes.
struct Moments {
    n: f64,
    mean: f64,
    /// Σ(x − mean)², Σ(x − mean)³, Σ(x − mean)⁴.
    m2: f64,
    m3: f64,
    m4: f64,
    degenerate: bool,
}

impl Moments {
    fn of(values: &[f64]) -> Moments {
        let n = values.len() as f64;
        let mean = if values.is_empty() {
            0.0
        } else {
            values.iter().sum::<f64>() / n
        };
        let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
        for v in values {
            let d = v - mean;
            let d2 = d * d;
            m2 += d2;
            m3 += d2 * d;
            m4 += d2 * d2;
        }
        let std = if values.len() > 1 {
            (m2 / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Moments {
            n,
            mean,
            m2,
            m3,
            m4,
            degenerate: is_degenerate(std, values),
        }
    }

    /// Sample standard deviation, `None` with fewer than two values.
    fn std(&self) -> Option<f64> {
        (self.n >= 2.0).then(|| (self.m2 / (self.n - 1.0)).sqrt())
    }

    /// Adjusted Fisher–Pearson skewness `G1` (scipy `skew(bias=False)`, pandas `skew`).
    fn skew(&self) -> Metric {
        if self.n < 3.0 {
            return Metric::unavailable(TOO_FEW_3);
        }
        if self.degenerate {
            return Metric::unavailable(ZERO_VARIANCE);
        }
        let n = self.n;
        let g1 = (self.m3 / n) / (self.m2 / n).powf(1.5);
        Metric::from_f64(g1 * (n * (n - 1.0)).sqrt() / (n - 2.0), OVERFLOW)
    }

    /// Bias-corrected excess kurtosis `G2` (scipy `kurtosis(bias=False)`, pandas `kurt`).
    fn excess_kurtosis(&self) -> Metric {
        if self.n < 4.0 {
            return Metric::unavailable(TOO_FEW_4);
        }
        if self.degenerate {
            return Metric::unavailable(ZERO_VARIANCE);
        }
        let n = self.n;
        let g2 = (self.m4 / n) / (self.m2 / n).powi(2) - 3.0;
        let value = ((n + 1.0) * g2 + 6.0) * (n - 1.0) / ((n - 2.0) * (n - 3.0));
        Metric::from_f64(value, OVERFLOW)
    }
}

/// The quantiles the catalogue needs, found by selection (O(n)) rather than a full sort.
struct Quantiles {
    min: f64,
    max: f64,
    q01: f64,
    q05: f64,
    q95: f64,
}

impl Quantiles {
    /// `None` for an empty series.
    fn of(values: &[f64]) -> Option<Quantiles> {
        if values.is_empty() {
            return None;
        }
        let mut scratch = values.to_vec();
        let (min, max) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        Some(Quantiles {
            min,
            max,
            q05: quantile(&mut scratch, 0.05),
            q01: quantile(&mut scratch, 0.01),
            q95: quantile(&mut scratch, 0.95),
        })
    }
}

/// The `q` quantile, linear interpolation between order statistics (numpy's default
/// `percentile`, pandas' `quantile`): position `h = (n − 1)·q`. Reorders `values`.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    let h = (values.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let t = h - lo as f64;
    let (_, a, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    let b = above.iter().copied().reduce(f64::min).unwrap_or(a);
    let diff = b - a;
    // numpy's lerp: from the nearer end, so the result stays within [a, b].
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Mean of the values at or below `threshold`; `None` when there is none.
fn mean_at_or_below(values: &[f64], threshold: f64) -> Option<f64> {
    let (sum, count) = values
        .iter()
        .filter(|v| **v <= threshold)
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    (count > 0).then(|| sum / count as f64)
}

/// The standard normal density.
pub fn normal_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Horner evaluation of `c[0] + c[1]·x + … + c[7]·x⁷`.
fn poly(c: &[f64; 8], x: f64) -> f64 {
    c.iter().rev().fold(0.0, |acc, k| acc * x + k)
}

/// The standard normal quantile (inverse CDF), Wichura's algorithm AS 241 (PPND16, Applied
/// Statistics 37(3), 1988): relative error about 1e-16 over (0, 1). NaN outside (0, 1).
#[allow(clippy::excessive_precision)]
pub fn inverse_normal_cdf(p: f64) -> f64 {
    const A: [f64; 8] = [
        3.387_132_872_796_366_608_0,
        1.331_416_678_917_843_774_5e2,
        1.971_590_950_306_551_442_7e3,
        1.373_169_376_550_946_112_5e4,
        4.592_195_393_154_987_145_7e4,
        6.726_577_092_700_870_085_3e4,
        3.343_057_558_358_812_810_5e4,
        2.509_080_928_730_122_672_7e3,
    ];
    const B: [f64; 8] = [
        1.0,
        4.231_333_070_160_091_125_2e1,
        6.871_870_074_920_579_083_0e2,
        5.394_196_021_424_751_107_7e3,
        2.121_379_430_158_659_586_7e4,
        3.930_789_580_009_271_061_0e4,
        2.872_908_573_572_194_267_4e4,
        5.226_495_278_852_854_561_0e3,
    ];
    const C: [f64; 8] = [
        1.423_437_110_749_683_577_34,
        4.630_337_846_156_545_295_90,
        5.769_497_221_460_691_405_50,
        3.647_848_324_763_204_605_04,
        1.270_458_252_452_368_382_58,
        2.417_807_251_774_506_117_70e-1,
        2.272_384_498_926_918_458_33e-2,
        7.745_450_142_783_414_076_40e-4,
    ];
    const D: [f64; 8] = [
        1.0,
        2.053_191_626_637_758_821_87,
        1.676_384_830_183_803_849_40,
        6.897_673_349_851_000_045_50e-1,
        1.481_039_764_274_800_745_90e-1,
        1.519_866_656_361_645_719_66e-2,
        5.475_938_084_995_344_946_00e-4,
        1.050_750_071_644_416_843_24e-9,
    ];
    const E: [f64; 8] = [
        6.657_904_643_501_103_777_20,
        5.463_784_911_164_114_369_90,
        1.784_826_539_917_291_335_80,
        2.965_605_718_285_048_912_30e-1,
        2.653_218_952_657_612_309_30e-2,
        1.242_660_947_388_078_438_60e-3,
        2.711_555_568_743_487_578_15e-5,
        2.010_334_399_292_288_132_65e-7,
    ];
    const F: [f64; 8] = [
        1.0,
        5.998_322_065_558_879_376_90e-1,
        1.369_298_809_227_358_053_10e-1,
        1.487_536_129_085_061_485_25e-2,
        7.868_691_311_456_132_591_00e-4,
        1.846_318_317_510_054_681_80e-5,
        1.421_511_758_316_445_888_70e-7,
        2.044_263_103_389_939_785_64e-15,
    ];
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let r = (-(if q <= 0.0 { p } else { 1.0 - p }).ln()).sqrt();
    let x = if r <= 5.0 {
        poly(&C, r - 1.6) / poly(&D, r - 1.6)
    } else {
        poly(&E, r - 5.0) / poly(&F, r - 5.0)
    };
    if q < 0.0 {
        -x
    } else {
        x
    }
}

// ------------------------------------------------------------------------------------------
// Individual KPIs
// ------------------------------------------------------------------------------------------

fn extreme(value: Option<f64>) -> Metric {
    match value {
        Some(v) => Metric::Value(v),
        None => Metric::unavailable(NO_DATA),
    }
}

fn max_of(values: &[f64]) -> Metric {
    match values.iter().copied().reduce(f64::max) {
        Some(v) => Metric::Value(v),
        None => Metric::unavailable(NO_DATA),
    }
}

fn min_of(values: &[f64]) -> Metric {
    match values.iter().copied().reduce(f64::min) {
        Some(v) => Metric::Value(v),
        None => Metric::unavailable(NO_DATA),
    }
}

fn mean_where(values: &[f64], keep: impl Fn(f64) -> bool, why_not: &str) -> Metric {
    let (sum, count) = values
        .iter()
        .filter(|v| keep(**v))
        .fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    if values.is_empty() {
        Metric::unavailable(NO_DATA)
    } else if count == 0 {
        Metric::unavailable(why_not)
    } else {
        Metric::Value(sum / count as f64)
    }
}

/// Positive periods as a share of the periods with a non-zero return (quantstats `win_rate`).
fn positive_share(values: &[f64], why_not: &str) -> Metric {
    let up = values.iter().filter(|v| **v > 0.0).count();
    let moved = values.iter().filter(|v| **v != 0.0).count();
    if values.is_empty() {
        Metric::unavailable(NO_DATA)
    } else if moved == 0 {
        Metric::unavailable(why_not)
    } else {
        Metric::Value(up as f64 / moved as f64)
    }
}

/// `√(Σ min(r − rf, 0)² / n) × √252` (empyrical `downside_risk`).
fn downside_deviation(returns: &[f64], rf: f64) -> Metric {
    if returns.is_empty() {
        return Metric::unavailable(NO_DATA);
    }
    let ss: f64 = returns.iter().map(|r| (r - rf).min(0.0).powi(2)).sum();
    Metric::from_f64(
        (ss / returns.len() as f64).sqrt() * PERIODS_PER_YEAR.sqrt(),
        OVERFLOW,
    )
}

/// The 18 value-at-risk / expected-shortfall entries, 95% then 99% within each method.
fn tail_risk(returns: &[f64], quantiles: Option<&Quantiles>, m: &Moments) -> Vec<Entry> {
    const LEVELS: [f64; 2] = [0.05, 0.01];
    let n = returns.len();
    let mut out = Vec::with_capacity(12);
    let absent = (Metric::unavailable(NO_DATA), Metric::unavailable(NO_DATA));
    let mut hist = [absent.clone(), absent];
    let mut normal = hist.clone();
    let mut cf = hist.clone();
    let skew = m.skew().value();
    let kurt = m.excess_kurtosis().value();
    for (k, alpha) in LEVELS.iter().enumerate() {
        if let Some(q) = quantiles {
            let var = if k == 0 { q.q05 } else { q.q01 };
            hist[k] = (
                Metric::Value(var),
                match mean_at_or_below(returns, var) {
                    Some(es) => Metric::Value(es),
                    None => Metric::unavailable("no return at or below the VaR"),
                },
            );
        }
        let z = inverse_normal_cdf(*alpha);
        normal[k] = match m.std() {
            None if n == 0 => (Metric::unavailable(NO_DATA), Metric::unavailable(NO_DATA)),
            None => (Metric::unavailable(TOO_FEW), Metric::unavailable(TOO_FEW)),
            Some(s) => {
                // A series that does not vary is a degenerate normal: VaR = ES = mean.
                let s = if m.degenerate { 0.0 } else { s };
                (
                    Metric::from_f64(m.mean + s * z, OVERFLOW),
                    Metric::from_f64(m.mean - s * normal_pdf(z) / alpha, OVERFLOW),
                )
            }
        };
        cf[k] = match (m.std(), skew, kurt) {
            (Some(s), Some(sk), Some(ku)) => {
                let zc = z + (z * z - 1.0) * sk / 6.0 + (z.powi(3) - 3.0 * z) * ku / 24.0
                    - (2.0 * z.powi(3) - 5.0 * z) * sk * sk / 36.0;
                let var = m.mean + s * zc;
                (
                    Metric::from_f64(var, OVERFLOW),
                    match mean_at_or_below(returns, var) {
                        Some(es) => Metric::Value(es),
                        None => Metric::unavailable("no return at or below the Cornish-Fisher VaR"),
                    },
                )
            }
            _ => {
                let why = if n < 4 { TOO_FEW_4 } else { ZERO_VARIANCE };
                (Metric::unavailable(why), Metric::unavailable(why))
            }
        };
    }
    const KEYS: [[(&str, &str); 4]; 3] = [
        [
            ("var_hist_95", "VaR 95% (historical)"),
            ("var_hist_99", "VaR 99% (historical)"),
            ("cvar_hist_95", "CVaR 95% (historical)"),
            ("cvar_hist_99", "CVaR 99% (historical)"),
        ],
        [
            ("var_normal_95", "VaR 95% (normal)"),
            ("var_normal_99", "VaR 99% (normal)"),
            ("cvar_normal_95", "CVaR 95% (normal)"),
            ("cvar_normal_99", "CVaR 99% (normal)"),
        ],
        [
            ("var_cf_95", "VaR 95% (Cornish-Fisher)"),
            ("var_cf_99", "VaR 99% (Cornish-Fisher)"),
            ("cvar_cf_95", "CVaR 95% (Cornish-Fisher)"),
            ("cvar_cf_99", "CVaR 99% (Cornish-Fisher)"),
        ],
    ];
    for (keys, [(v95, e95), (v99, e99)]) in KEYS.iter().zip([hist, normal, cf]) {
        for ((key, label), metric) in keys.iter().zip([v95, v99, e95, e99]) {
            out.push(Entry::new(key, label, Unit::SignedPercent, metric));
        }
    }
    out
}

/// `|q95| / |q5|` (empyrical `tail_ratio`).
fn tail_ratio(quantiles: Option<&Quantiles>) -> Metric {
    let Some(q) = quantiles else {
        return Metric::unavailable(NO_DATA);
    };
    if q.q05 == 0.0 {
        return Metric::unavailable("the 5th percentile return is zero");
    }
    Metric::from_f64(q.q95.abs() / q.q05.abs(), OVERFLOW)
}

/// `CAGR / |max drawdown|` (empyrical `calmar_ratio`).
fn calmar(cagr: &Metric, max_drawdown: Option<f64>) -> Metric {
    match (cagr, max_drawdown) {
        (_, None) => Metric::unavailable(NO_DATA),
        (Metric::Unavailable(why), _) => Metric::Unavailable(why.clone()),
        (_, Some(d)) if d >= 0.0 => Metric::unavailable("no drawdown"),
        (Metric::Value(c), Some(d)) => Metric::from_f64(c / d.abs(), OVERFLOW),
    }
}

/// `Σ max(r − rf, 0) / Σ max(rf − r, 0)` (empyrical `omega_ratio`, threshold rf per period).
fn omega(returns: &[f64], rf: f64) -> Metric {
    if returns.len() < 2 {
        return Metric::unavailable(TOO_FEW);
    }
    let (mut up, mut down) = (0.0, 0.0);
    for r in returns {
        let e = r - rf;
        if e > 0.0 {
            up += e;
        } else if e < 0.0 {
            down -= e;
        }
    }
    if down <= 0.0 {
        return Metric::unavailable("no return below the risk-free rate");
    }
    Metric::from_f64(up / down, OVERFLOW)
}

/// `Σ r / |Σ min(r, 0)|` (quantstats `gain_to_pain_ratio`, daily, no risk-free rate).
fn gain_pain(returns: &[f64]) -> Metric {
    if returns.is_empty() {
        return Metric::unavailable(NO_DATA);
    }
    let total: f64 = returns.iter().sum();
    let pain: f64 = returns.iter().filter(|r| **r < 0.0).sum::<f64>().abs();
    if pain == 0.0 {
        return Metric::unavailable("no losing day");
    }
    Metric::from_f64(total / pain, OVERFLOW)
}

const BENCHMARK_KEYS: [(&str, &str); 9] = [
    ("beta", "Beta"),
    ("alpha", "Alpha (ann.)"),
    ("correlation", "Correlation"),
    ("r_squared", "R²"),
    ("tracking_error", "Tracking error (ann.)"),
    ("information_ratio", "Information ratio"),
    ("treynor", "Treynor"),
    ("up_capture", "Up capture"),
    ("down_capture", "Down capture"),
];

fn benchmark_unit(key: &str) -> Unit {
    match key {
        "alpha" => Unit::SignedPercent,
        "tracking_error" => Unit::Percent,
        _ => Unit::Ratio,
    }
}

fn benchmark_entries(
    series: &ReturnSeries,
    benchmark: Option<&ReturnSeries>,
    config: KpiConfig,
) -> Vec<Entry> {
    let keys = &BENCHMARK_KEYS;
    let all_absent = |why: &str| {
        keys.iter()
            .map(|(k, l)| Entry::new(k, l, benchmark_unit(k), Metric::unavailable(why)))
            .collect()
    };
    let Some(benchmark) = benchmark else {
        return all_absent(NO_BENCHMARK);
    };
    let (a, b, _) = align(series, benchmark);
    if a.len() < 2 {
        return all_absent(NO_OVERLAP);
    }
    let rf = config.risk_free_per_period();
    let sqrt_p = PERIODS_PER_YEAR.sqrt();
    let n = a.len() as f64;

    let (ma, mb) = (mean(&a), mean(&b));
    let (mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(&b) {
        let (dx, dy) = (x - ma, y - mb);
        saa += dx * dx;
        sbb += dy * dy;
        sab += dx * dy;
    }
    let a_flat = is_degenerate((saa / (n - 1.0)).sqrt(), &a);
    let b_flat = is_degenerate((sbb / (n - 1.0)).sqrt(), &b);
    const BENCH_FLAT: &str = "benchmark returns do not vary";

    let beta = if b_flat {
        Metric::unavailable(BENCH_FLAT)
    } else {
        Metric::from_f64(sab / sbb, OVERFLOW)
    };
    let alpha = match beta.value() {
        None => beta.clone(),
        Some(beta) => {
            // empyrical alpha: (1 + mean((a − rf) − β(b − rf)))^252 − 1.
            let mean_alpha = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - rf) - beta * (y - rf))
                .sum::<f64>()
                / n;
            Metric::from_f64((1.0 + mean_alpha).powf(PERIODS_PER_YEAR) - 1.0, OVERFLOW)
        }
    };
    let correlation = if a_flat {
        Metric::unavailable(ZERO_VARIANCE)
    } else if b_flat {
        Metric::unavailable(BENCH_FLAT)
    } else {
        Metric::from_f64(sab / (saa * sbb).sqrt(), OVERFLOW)
    };
    let r_squared = match correlation.value() {
        Some(c) => Metric::Value(c * c),
        None => correlation.clone(),
    };

    // Active returns a − b, without materialising them.
    let active = || a.iter().zip(&b).map(|(x, y)| x - y);
    let active_mean = active().sum::<f64>() / n;
    let (active_ss, active_scale) = active().fold((0.0, 0.0f64), |(ss, scale), d| {
        (ss + (d - active_mean).powi(2), scale.max(d.abs()))
    });
    let active_std = (active_ss / (n - 1.0)).sqrt();
    let tracking_error = Metric::from_f64(active_std * sqrt_p, OVERFLOW);
    let information_ratio = if active_std == 0.0 || active_std <= active_scale * 1e-12 {
        Metric::unavailable("active returns do not vary")
    } else {
        Metric::from_f64(active_mean / active_std * sqrt_p, OVERFLOW)
    };

    let treynor = match (kpi::cagr(&a), beta.value()) {
        (_, None) => beta.clone(),
        (Metric::Unavailable(why), _) => Metric::Unavailable(why),
        (Metric::Value(c), Some(b)) => {
            if b == 0.0 {
                Metric::unavailable("beta is zero")
            } else {
                Metric::from_f64((c - config.risk_free_annual) / b, OVERFLOW)
            }
        }
    };

    let up_capture = capture(&a, &b, |y| y > 0.0, "no benchmark up day");
    let down_capture = capture(&a, &b, |y| y < 0.0, "no benchmark down day");

    let metrics = [
        beta,
        alpha,
        correlation,
        r_squared,
        tracking_error,
        information_ratio,
        treynor,
        up_capture,
        down_capture,
    ];
    keys.iter()
        .zip(metrics)
        .map(|((k, l), m)| Entry::new(k, l, benchmark_unit(k), m))
        .collect()
}

/// `CAGR(a on the days the filter keeps) / CAGR(b on those days)` (empyrical up/down capture).
fn capture(a: &[f64], b: &[f64], keep: impl Fn(f64) -> bool, why_not: &str) -> Metric {
    let (mut ga, mut gb, mut days) = (1.0, 1.0, 0usize);
    for (x, y) in a.iter().zip(b) {
        if keep(*y) {
            ga *= 1.0 + x;
            gb *= 1.0 + y;
            days += 1;
        }
    }
    if days == 0 {
        return Metric::unavailable(why_not);
    }
    if ga <= 0.0 || gb <= 0.0 {
        return Metric::unavailable("the series lost everything on those days");
    }
    let years = days as f64 / PERIODS_PER_YEAR;
    let ca = ga.powf(1.0 / years) - 1.0;
    let cb = gb.powf(1.0 / years) - 1.0;
    if cb == 0.0 {
        return Metric::unavailable("the benchmark's return on those days is zero");
    }
    Metric::from_f64(ca / cb, OVERFLOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_normal_matches_known_quantiles() {
        // Reference quantiles from scipy.stats.norm.ppf (scipy 1.17).
        let cases = [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.95, 1.644_853_626_951_472_2),
            (0.05, -1.644_853_626_951_472_9),
            (0.01, -2.326_347_874_040_840_8),
            (0.001, -3.090_232_306_167_813),
            (0.8, 0.841_621_233_572_914_3),
            (1e-10, -6.361_340_902_404_056),
            (1e-300, -37.047_096_299_361_2),
        ];
        for (p, want) in cases {
            let got = inverse_normal_cdf(p);
            assert!(
                (got - want).abs() <= 1e-14 * want.abs().max(1.0),
                "p={p}: got {got}, want {want}"
            );
        }
        assert!(inverse_normal_cdf(0.0).is_nan() && inverse_normal_cdf(1.0).is_nan());
        assert!((normal_pdf(0.0) - 0.398_942_280_401_432_7).abs() < 1e-16);
    }
}

#[cfg(test)]
mod hand_tests {
    use super::*;

    fn day(i: usize) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Duration::days(i as i64)
    }

    fn series(values: &[f64]) -> ReturnSeries {
        ReturnSeries {
            dates: (0..values.len()).map(day).collect(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn drawdown_episodes_by_hand() {
        // Wealth: 1.1 (peak, day 0), 0.99, 0.891 (trough, −19%), 1.11375 (recovered on day 3,
        // the next peak), 1.002375, 0.95225625 (trough, −14.5%), 0.97130138 — never back.
        let values = [0.10, -0.10, -0.10, 0.25, -0.10, -0.05, 0.02];
        let s = series(&values);
        let top = top_drawdowns(&s, 5);
        assert_eq!(top.len(), 2);
        // Deepest first: the first fall.
        let first = &top[0];
        assert!((first.depth - (0.891 / 1.1 - 1.0)).abs() < 1e-12);
        assert_eq!(
            (first.peak, first.trough, first.recovery),
            (Some(day(0)), day(2), Some(day(3)))
        );
        assert_eq!(first.duration_periods, 3);
        // Then the second fall, still open at the end of the series.
        let second = &top[1];
        assert!((second.depth - (0.9 * 0.95 - 1.0)).abs() < 1e-12);
        assert_eq!(
            (second.peak, second.trough, second.recovery),
            (Some(day(3)), day(5), None)
        );
        assert_eq!(second.duration_periods, 6 - 3);
        // Never overlapping: the first ends no later than the second's peak.
        assert!(first.recovery.unwrap() <= second.peak.unwrap());
        let kpis = series_kpis(&s, None, KpiConfig::default());
        let value = |k: &str| kpis.get(k).unwrap().metric.value().unwrap();
        assert_eq!(value("longest_drawdown"), 3.0);
        assert!(
            (value("current_drawdown")
                - (1.1 * 0.9 * 0.9 * 1.25 * 0.9 * 0.95 * 1.02 / 1.113_75 - 1.0))
                .abs()
                < 1e-12
        );
        // n limits the list; no fall, no episode.
        assert_eq!(top_drawdowns(&s, 1).len(), 1);
        assert!(top_drawdowns(&series(&[0.01, 0.0, 0.02]), 5).is_empty());
        // Falling from the very start: the peak is the start (None).
        let from_start = top_drawdowns(&series(&[-0.1, 0.05]), 5);
        assert_eq!(from_start[0].peak, None);
        assert_eq!(from_start[0].duration_periods, 2);
    }

    #[test]
    fn drawdown_and_cumulative_curves() {
        let s = series(&[0.10, -0.10, 0.25]);
        let dd = drawdown_series(&s);
        let cum = cumulative_series(&s);
        let want_dd = [0.0, -0.1, 0.0];
        let want_cum = [0.1, 0.1 * 0.0 + 1.1 * 0.9 - 1.0, 1.1 * 0.9 * 1.25 - 1.0];
        for i in 0..3 {
            assert!((dd.values[i] - want_dd[i]).abs() < 1e-12, "{i}");
            assert!((cum.values[i] - want_cum[i]).abs() < 1e-12, "{i}");
        }
        assert_eq!(dd.dates, s.dates);
        // A first-day loss is a drawdown from the starting wealth of 1.
        assert!((drawdown_series(&series(&[-0.2])).values[0] + 0.2).abs() < 1e-15);
    }

    #[test]
    fn rolling_windows_by_hand() {
        let s = series(&[0.01, -0.01, 0.01, -0.01, 0.03]);
        let vol = rolling_volatility(&s, 2);
        // Windows end on days 1..=4; std of {a, b} is |a − b| / √2.
        assert_eq!(vol.dates, vec![day(1), day(2), day(3), day(4)]);
        let want = [0.02, 0.02, 0.02, 0.04].map(|d: f64| d / 2f64.sqrt() * 252f64.sqrt());
        for (g, w) in vol.values.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
        assert!(rolling_volatility(&s, 6).is_empty());
        assert!(rolling_volatility(&s, 1).is_empty());
        // A window that does not vary has no Sharpe point.
        let flat_then_not = series(&[0.01, 0.01, 0.01, 0.02]);
        let sharpe = rolling_sharpe(&flat_then_not, 3, KpiConfig::default());
        assert_eq!(sharpe.dates, vec![day(3)]);
        let w = [0.01, 0.01, 0.02];
        let want = mean(&w) / kpi::sample_std(&w).unwrap() * 252f64.sqrt();
        assert!((sharpe.values[0] - want).abs() < 1e-9);
    }

    #[test]
    fn many_series_give_the_same_catalogues_in_order() {
        let many: Vec<ReturnSeries> = (0..9)
            .map(|k| series(&[0.01 * k as f64, -0.02, 0.015, 0.003 * k as f64, -0.01]))
            .collect();
        let one_by_one: Vec<SeriesKpis> = many
            .iter()
            .map(|s| series_kpis(s, None, KpiConfig::default()))
            .collect();
        assert_eq!(
            series_kpis_many(&many, None, KpiConfig::default()),
            one_by_one
        );
        assert!(series_kpis_many(&[], None, KpiConfig::default()).is_empty());
    }

    #[test]
    fn sliding_sums_match_a_fresh_computation_on_every_window() {
        // 3,000 returns with a level shift halfway: rounding must not build up across
        // re-basings, and a flat stretch must give no point.
        let mut state = 7u64;
        let mut values: Vec<f64> = (0..3000)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                noise * 0.02 + if i > 1500 { 0.004 } else { -0.001 }
            })
            .collect();
        for v in values.iter_mut().skip(2600).take(80) {
            *v = 0.0025;
        }
        let start = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
        let s = ReturnSeries {
            dates: (0..3000)
                .map(|i| start + chrono::Duration::days(i))
                .collect(),
            values: values.clone(),
        };
        let bench = ReturnSeries {
            dates: s.dates.clone(),
            values: values
                .iter()
                .enumerate()
                .map(|(i, v)| 0.5 * v + (i % 7) as f64 * 1e-4)
                .collect(),
        };
        for window in [63, 252] {
            let vol = rolling_volatility(&s, window);
            let beta = rolling_beta(&s, &bench, window);
            let mut vol_points = vol.dates.iter().zip(&vol.values);
            for end in window - 1..values.len() {
                let w = &values[end + 1 - window..=end];
                let std = kpi::sample_std(w).unwrap();
                if is_degenerate(std, w) {
                    assert!(
                        !vol.dates.contains(&s.dates[end]),
                        "flat window {end} has a point"
                    );
                    continue;
                }
                let (date, got) = vol_points.next().unwrap();
                assert_eq!(*date, s.dates[end]);
                let want = std * PERIODS_PER_YEAR.sqrt();
                // Near-flat windows lose relative (never absolute) precision to cancellation.
                let tolerance = 1e-10 * want + 1e-12;
                assert!(
                    (got - want).abs() <= tolerance,
                    "{window} {end}: {got} vs {want}"
                );
            }
            let b = &bench.values;
            let end = values.len() - 1;
            let (wa, wb) = (&values[end + 1 - window..], &b[end + 1 - window..]);
            let (ma, mb) = (mean(wa), mean(wb));
            let cov: f64 = wa.iter().zip(wb).map(|(x, y)| (x - ma) * (y - mb)).sum();
            let var: f64 = wb.iter().map(|y| (y - mb).powi(2)).sum();
            let got = *beta.values.last().unwrap();
            assert!((got - cov / var).abs() < 1e-9, "{got} vs {}", cov / var);
        }
    }

    #[test]
    fn calendar_pass_matches_the_heatmap_grid() {
        let start = NaiveDate::from_ymd_opt(2019, 12, 27).unwrap();
        let s = ReturnSeries {
            dates: (0..400)
                .map(|i| start + chrono::Duration::days(i * 3))
                .collect(),
            values: (0..400)
                .map(|i| ((i * 37 % 23) as f64 - 11.0) / 1000.0)
                .collect(),
        };
        let grid = monthly_returns(&s);
        let years = yearly_returns(&grid);
        let (m, y) = calendar_returns(&s);
        assert_eq!(m, grid.iter().map(|g| g.value).collect::<Vec<_>>());
        assert_eq!(y.len(), years.len());
        for (a, b) in y.iter().zip(&years) {
            assert!((a - b.1).abs() < 1e-15);
        }
        // Unsorted input falls back to the grid itself.
        let mut shuffled = s.clone();
        shuffled.dates.swap(0, 399);
        shuffled.values.swap(0, 399);
        let (m2, _) = calendar_returns(&shuffled);
        assert_eq!(m2.len(), monthly_returns(&shuffled).len());
    }

    #[test]
    fn alignment_is_an_inner_join_on_dates() {
        let a = ReturnSeries {
            dates: vec![day(0), day(1), day(3), day(4), day(6)],
            values: vec![1.0, 2.0, 3.0, 4.0, 5.0],
        };
        let b = ReturnSeries {
            dates: vec![day(1), day(2), day(3), day(6), day(7)],
            values: vec![10.0, 20.0, 30.0, 40.0, 50.0],
        };
        let (x, y, dates) = align(&a, &b);
        assert_eq!(dates, vec![day(1), day(3), day(6)]);
        assert_eq!(x, vec![2.0, 3.0, 5.0]);
        assert_eq!(y, vec![10.0, 30.0, 40.0]);
        assert!(align(&a, &ReturnSeries::default()).0.is_empty());
        // Rolling beta runs on the joined pairs: a = 2b exactly gives beta 2.
        let p = ReturnSeries {
            dates: vec![day(0), day(1), day(2), day(3), day(5)],
            values: vec![0.02, -0.04, 0.06, 0.01, 0.08],
        };
        let m = ReturnSeries {
            dates: vec![day(0), day(1), day(2), day(4), day(5)],
            values: vec![0.01, -0.02, 0.03, 0.5, 0.04],
        };
        let beta = rolling_beta(&p, &m, 3);
        assert_eq!(beta.dates, vec![day(2), day(5)]);
        assert!(beta.values.iter().all(|b| (b - 2.0).abs() < 1e-12));
    }

    #[test]
    fn absent_with_reasons_not_zeros() {
        let empty = series_kpis(&ReturnSeries::default(), None, KpiConfig::default());
        assert!(empty.entries().all(|e| e.metric.value().is_none()));
        assert!(empty.drawdowns.is_empty());
        let one = series(&[0.01]);
        let bench = ReturnSeries {
            dates: vec![day(0)],
            values: vec![0.02],
        };
        let k = series_kpis(&one, Some(&bench), KpiConfig::default());
        assert_eq!(
            k.get("beta").unwrap().metric,
            Metric::unavailable(NO_OVERLAP)
        );
        let k = series_kpis(&one, None, KpiConfig::default());
        assert_eq!(
            k.get("up_capture").unwrap().metric,
            Metric::unavailable(NO_BENCHMARK)
        );
        assert_eq!(k.get("longest_drawdown").unwrap().unit, Unit::Count);
        assert_eq!(k.get("var_hist_95").unwrap().unit, Unit::SignedPercent);
    }
}
