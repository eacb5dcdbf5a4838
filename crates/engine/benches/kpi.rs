//! The KPI engine benchmark: `scripts/bench-kpi` runs it (`cargo bench -p ballast-engine
//! --bench kpi`, release profile) and BENCHMARKS.md explains every figure.
//!
//! 1. The full catalogue of one portfolio (`performance::performance`) over ten years of
//!    daily data: median and min of many repetitions.
//! 2. The return-series catalogue (`stats::series_kpis`, with a benchmark) of 2,000 assets
//!    over ten years: total time per pass, median of several passes.
//! 3. The same work in Python with quantstats on the same series: the series go to CSV files
//!    in a temp dir, `scripts/bench_kpi_quantstats.py` times them with the interpreter in
//!    `BALLAST_BENCH_PYTHON` (the venv `scripts/bench-kpi` makes) and prints JSON; the ratios
//!    quantstats / Ballast are printed here.
//! 4. The targets next to the figures, PASS or MISS. A report, not a test: it exits 0 unless
//!    something crashed.
//!
//! Data are synthetic and deterministic (splitmix64 + Box-Muller, no `rand` dependency).

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ballast_engine::fx::FxTable;
use ballast_engine::kpi::KpiConfig;
use ballast_engine::model::{
    Allocation, Asset, AssetClass, FxRate, NavPoint, Position, RiskLimit, Side, Trade,
};
use ballast_engine::performance::{performance, Inputs, ROLLING_WINDOWS};
use ballast_engine::period::{self, Range};
use ballast_engine::returns::{daily_returns, ReturnSeries};
use ballast_engine::stats::{self, series_kpis};
use ballast_engine::{exposure, flows, trading};
use chrono::{Datelike, Duration as Days, NaiveDate, Weekday};
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;
use serde_json::Value;

/// Daily returns per series: ten years of 252 business days.
const RETURNS: usize = 2_520;
const ASSETS: usize = 2_000;
const POSITIONS: usize = 100;
const ROUND_TRIPS: usize = 200;
const PORTFOLIO_REPS: usize = 200;
const ASSET_REPS: usize = 5;

const TARGET_PORTFOLIO_MS: f64 = 5.0;
const TARGET_ASSETS_MS: f64 = 500.0;
const TARGET_SPEEDUP: f64 = 100.0;

// ------------------------------------------------------------------------------------------
// Deterministic data
// ------------------------------------------------------------------------------------------

/// splitmix64 with Box-Muller normals: tiny, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A value as it is written to the CSV with `decimals` places, and read back: Rust and
/// Python then parse the same text and work on bit-identical series.
fn quantise(value: f64, decimals: usize) -> f64 {
    format!("{value:.decimals$}")
        .parse()
        .expect("a formatted f64")
}

fn dec(value: f64, dp: u32) -> Decimal {
    Decimal::from_f64(value)
        .expect("a finite value")
        .round_dp(dp)
}

/// `n` business days (Monday to Friday) from 2015-01-05.
fn business_days(n: usize) -> Vec<NaiveDate> {
    let mut out = Vec::with_capacity(n);
    let mut d = NaiveDate::from_ymd_opt(2015, 1, 5).expect("a date");
    while out.len() < n {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d);
        }
        d += Days::days(1);
    }
    out
}

struct PortfolioData {
    history: Vec<NavPoint>,
    benchmark: ReturnSeries,
    trades: Vec<Trade>,
    positions: Vec<Position>,
    assets: Vec<Asset>,
    allocations: Vec<Allocation>,
    limits: Vec<RiskLimit>,
    fx: FxTable,
    flows: usize,
}

const CURRENCIES: [&str; 3] = ["USD", "EUR", "GBP"];
const SECTORS: [&str; 8] = [
    "Technology",
    "Financials",
    "Health Care",
    "Industrials",
    "Energy",
    "Utilities",
    "Consumer",
    "Materials",
];
const COUNTRIES: [&str; 6] = ["US", "DE", "FR", "GB", "JP", "CH"];

fn portfolio_data(days: &[NaiveDate], rng: &mut Rng) -> PortfolioData {
    // Benchmark on the portfolio's dealing days; the portfolio follows it with beta ~0.8.
    let benchmark = ReturnSeries {
        dates: days[1..].to_vec(),
        values: (1..days.len())
            .map(|_| quantise(0.0003 + 0.011 * rng.normal(), 8))
            .collect(),
    };
    let mut history = Vec::with_capacity(days.len());
    let mut nav = 100_000_000.0f64;
    let mut flows = 0;
    for (i, date) in days.iter().enumerate() {
        let mut flow = 0.0;
        if i > 0 {
            let r = 0.0002 + 0.8 * benchmark.values[i - 1] + 0.004 * rng.normal();
            // A subscription or redemption about once a quarter, up to ±3% of NAV.
            if rng.below(63) == 0 {
                flow = (nav * 0.03 * (2.0 * rng.uniform() - 1.0) * 100.0).round() / 100.0;
                flows += 1;
            }
            nav = ((nav * (1.0 + r) + flow) * 100.0).round() / 100.0;
        }
        history.push(NavPoint {
            id: format!("nav-{i}"),
            portfolio_id: "p1".into(),
            date: *date,
            nav: dec(nav, 2),
            external_flow: dec(flow, 2),
            gross_exposure: dec(nav * 1.3, 2),
            net_exposure: dec(nav * 0.9, 2),
        });
    }

    let classes = [
        AssetClass::Equity,
        AssetClass::Equity,
        AssetClass::Equity,
        AssetClass::Bond,
        AssetClass::Fund,
        AssetClass::Commodity,
        AssetClass::Cash,
    ];
    let assets: Vec<Asset> = (0..POSITIONS)
        .map(|i| Asset {
            sector: (i % 11 != 0).then(|| SECTORS[i % SECTORS.len()].to_string()),
            country: Some(COUNTRIES[i % COUNTRIES.len()].to_string()),
            ..Asset::new(
                format!("asset-{i:03}"),
                format!("A{i:03}"),
                format!("Asset {i}"),
                classes[i % classes.len()],
                CURRENCIES[i % CURRENCIES.len()],
            )
        })
        .collect();

    let last = *days.last().expect("days");
    let last_nav = nav;
    let positions: Vec<Position> = assets
        .iter()
        .enumerate()
        .map(|(i, a)| {
            // Mostly longs, one in eight short; about 1.3x gross overall.
            let size = last_nav * 0.013 * (0.3 + 1.4 * rng.uniform());
            let mv = if i % 8 == 7 { -size } else { size };
            Position {
                id: format!("pos-{i}"),
                portfolio_id: "p1".into(),
                asset_id: a.id.clone(),
                date: last,
                quantity: dec(mv / 50.0, 0),
                market_value: dec(mv, 2),
            }
        })
        .collect();

    // Round trips: mostly long (buy then sell), some short, in the asset's currency.
    let mut trades = Vec::with_capacity(2 * ROUND_TRIPS);
    for k in 0..ROUND_TRIPS {
        let asset = &assets[rng.below(60)];
        let open = rng.below(days.len() - 80);
        let close = open + 1 + rng.below(70);
        let qty = dec(100.0 + rng.below(5_000) as f64, 0);
        let entry = 20.0 + 180.0 * rng.uniform();
        let exit = entry * (1.0 + 0.08 * rng.normal());
        let long = k % 5 != 0;
        let legs = [
            (if long { Side::Buy } else { Side::Sell }, open, entry),
            (if long { Side::Sell } else { Side::Buy }, close, exit),
        ];
        for (leg, (side, day, price)) in legs.into_iter().enumerate() {
            trades.push(Trade {
                id: format!("t{k}-{leg}"),
                account_id: format!("acct-{}", k % 3),
                asset_id: asset.id.clone(),
                broker: "bench".into(),
                broker_trade_id: format!("{k}-{leg}"),
                side,
                quantity: qty,
                price: dec(price, 4),
                fees: dec(1.0 + 4.0 * rng.uniform(), 2),
                currency: asset.currency.clone(),
                trade_date: days[day],
                settle_date: days[day + 2],
            });
        }
    }

    let mut rates = Vec::with_capacity(2 * days.len());
    let (mut eur, mut gbp) = (1.10f64, 1.30f64);
    for date in days {
        eur *= 1.0 + 0.005 * rng.normal();
        gbp *= 1.0 + 0.005 * rng.normal();
        rates.push(FxRate {
            pair: "EURUSD".into(),
            date: *date,
            rate: dec(eur, 6),
        });
        rates.push(FxRate {
            pair: "GBPUSD".into(),
            date: *date,
            rate: dec(gbp, 6),
        });
    }

    let allocations = [
        ("equity", 0.60),
        ("bond", 0.15),
        ("fund", 0.10),
        ("commodity", 0.10),
        ("cash", 0.05),
    ]
    .iter()
    .enumerate()
    .map(|(i, (bucket, target))| Allocation {
        id: format!("alloc-{i}"),
        portfolio_id: "p1".into(),
        bucket: (*bucket).into(),
        target_weight: dec(*target, 4),
        actual_weight: dec(*target, 4),
        liquid: *bucket != "fund",
    })
    .collect();

    let limits = [
        ("max_drawdown", -0.25),
        ("annual_volatility", 0.20),
        ("var_hist_95", -0.03),
        ("leverage", 2.0),
        ("top10_share", 0.5),
        ("beta", 1.2),
    ]
    .iter()
    .enumerate()
    .map(|(i, (metric, threshold))| RiskLimit {
        id: format!("limit-{i}"),
        portfolio_id: "p1".into(),
        metric: (*metric).into(),
        threshold: dec(*threshold, 4),
        severity: "breach".into(),
    })
    .collect();

    PortfolioData {
        history,
        benchmark,
        trades,
        positions,
        assets,
        allocations,
        limits,
        fx: FxTable::new(&rates),
        flows,
    }
}

/// `ASSETS` return series on the benchmark's dates: beta to the benchmark plus noise, with
/// betas and volatilities that differ by asset; six decimals, as written to the CSV.
fn asset_series(benchmark: &ReturnSeries, rng: &mut Rng) -> Vec<ReturnSeries> {
    (0..ASSETS)
        .map(|_| {
            let beta = 0.2 + 1.4 * rng.uniform();
            let vol = 0.005 + 0.025 * rng.uniform();
            let drift = 0.0008 * (rng.uniform() - 0.4);
            ReturnSeries {
                dates: benchmark.dates.clone(),
                values: benchmark
                    .values
                    .iter()
                    .map(|b| quantise(drift + beta * b + vol * rng.normal(), 6))
                    .collect(),
            }
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// Timing
// ------------------------------------------------------------------------------------------

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn minimum(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

/// `reps` timings (ms) of `work`, after `warmup` untimed runs.
fn time(warmup: usize, reps: usize, mut work: impl FnMut()) -> Vec<f64> {
    for _ in 0..warmup {
        work();
    }
    (0..reps)
        .map(|_| {
            let start = Instant::now();
            work();
            ms(start.elapsed())
        })
        .collect()
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}

// ------------------------------------------------------------------------------------------
// CSV for Python
// ------------------------------------------------------------------------------------------

fn write_series_csv(path: &Path, series: &ReturnSeries) -> std::io::Result<()> {
    let mut text = String::with_capacity(series.len() * 24 + 16);
    text.push_str("date,return\n");
    for (d, v) in series.dates.iter().zip(&series.values) {
        let _ = writeln!(text, "{d},{v}");
    }
    std::fs::write(path, text)
}

/// One wide file: `date,a0000,a0001,...`, one row per date (all series share the dates).
fn write_assets_csv(path: &Path, assets: &[ReturnSeries]) -> std::io::Result<()> {
    let rows = assets.first().map_or(0, ReturnSeries::len);
    let mut text = String::with_capacity(rows * (assets.len() * 10 + 12) + assets.len() * 6);
    text.push_str("date");
    for i in 0..assets.len() {
        let _ = write!(text, ",a{i:04}");
    }
    text.push('\n');
    for row in 0..rows {
        let _ = write!(text, "{}", assets[0].dates[row]);
        for a in assets {
            let _ = write!(text, ",{}", a.values[row]);
        }
        text.push('\n');
    }
    std::fs::write(path, text)
}

/// Run the quantstats script on the CSVs; its JSON, or why there is none.
fn run_quantstats(
    portfolio: &ReturnSeries,
    benchmark: &ReturnSeries,
    assets: &[ReturnSeries],
) -> Result<Value, String> {
    let python = match std::env::var("BALLAST_BENCH_PYTHON") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            return Err(std::env::var("BALLAST_BENCH_SKIP_REASON")
                .ok()
                .filter(|r| !r.is_empty())
                .unwrap_or_else(|| {
                    "BALLAST_BENCH_PYTHON is not set (scripts/bench-kpi sets it to its venv)"
                        .to_string()
                }))
        }
    };
    // The runtime value: a shared target may hold a binary built from another clone.
    let root =
        std::env::var("CARGO_MANIFEST_DIR").map_err(|e| format!("CARGO_MANIFEST_DIR: {e}"))?;
    let script = PathBuf::from(root)
        .join("../../scripts/bench_kpi_quantstats.py")
        .canonicalize()
        .map_err(|e| format!("scripts/bench_kpi_quantstats.py: {e}"))?;
    let dir = std::env::temp_dir().join(format!("ballast-bench-kpi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let result = (|| {
        let io = |e: std::io::Error| format!("writing the CSVs to {}: {e}", dir.display());
        write_series_csv(&dir.join("portfolio.csv"), portfolio).map_err(io)?;
        write_series_csv(&dir.join("benchmark.csv"), benchmark).map_err(io)?;
        write_assets_csv(&dir.join("assets.csv"), assets).map_err(io)?;
        eprintln!(
            "   (running {} with {python}: a minute or two)",
            script.display()
        );
        let mut cmd = Command::new(&python);
        cmd.arg(&script).arg(&dir);
        if let Ok(args) = std::env::var("BALLAST_BENCH_QS_ARGS") {
            cmd.args(args.split_whitespace());
        }
        let out = cmd
            .output()
            .map_err(|e| format!("could not run {python}: {e}"))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!(
                "{} exited with {}:\n      {}",
                script.display(),
                out.status,
                tail.join("\n      ")
            ));
        }
        serde_json::from_slice::<Value>(&out.stdout)
            .map_err(|e| format!("the quantstats script printed no JSON: {e}"))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn num(v: &Value, path: &[&str]) -> Option<f64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_f64()
}

// ------------------------------------------------------------------------------------------

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // and a debug-build benchmark (with a Python run) has no place in a test run.
    if !std::env::args().any(|a| a == "--bench") {
        println!("kpi benchmark: run it with scripts/bench-kpi (cargo bench); skipping");
        return;
    }
    let started = Instant::now();
    let mut rng = Rng(0x0BA1_1A57_2026_1122);
    let days = business_days(RETURNS + 1);
    let data = portfolio_data(&days, &mut rng);
    let assets = asset_series(&data.benchmark, &mut rng);
    let config = KpiConfig::default();
    let inputs = Inputs {
        history: &data.history,
        benchmark: Some(("Benchmark", &data.benchmark)),
        trades: &data.trades,
        positions: &data.positions,
        assets: &data.assets,
        allocations: &data.allocations,
        limits: &data.limits,
        fx: &data.fx,
        base_currency: "USD",
    };
    let portfolio_returns = daily_returns(&data.history).expect("a valid NAV history");
    let report = performance(&inputs, Range::SinceInception, config).expect("the catalogue");
    let kpis = report.entries().count();
    let asset_kpis = series_kpis(&assets[0], Some(&data.benchmark), config)
        .entries()
        .count();

    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!("Ballast KPI benchmark (ballast-engine, release build; the portfolio on one thread, the assets on every core)");
    println!(
        "machine: {cores} logical CPUs; data: synthetic, deterministic (splitmix64 + Box-Muller)"
    );
    println!();

    // 1. One portfolio, the whole catalogue.
    let portfolio_ms = time(10, PORTFOLIO_REPS, || {
        black_box(
            performance(black_box(&inputs), Range::SinceInception, config).expect("catalogue"),
        );
    });
    let (p_med, p_min) = (median(&portfolio_ms), minimum(&portfolio_ms));
    println!(
        "1. Portfolio, full catalogue: performance(..) since inception, {} daily returns \
         ({} to {}),",
        portfolio_returns.len(),
        days[0],
        days[RETURNS]
    );
    println!(
        "   {} NAV flows, a benchmark, {} trades ({} round trips), {} positions, {} limits: \
         {kpis} KPIs + drawdowns, exposure, limits, chart series",
        data.flows,
        data.trades.len(),
        ROUND_TRIPS,
        data.positions.len(),
        data.limits.len()
    );
    println!(
        "   {PORTFOLIO_REPS} reps: median {p_med:.3} ms, min {p_min:.3} ms   \
         target < {TARGET_PORTFOLIO_MS} ms: {}",
        verdict(p_med < TARGET_PORTFOLIO_MS)
    );
    breakdown(&data, config);
    println!();

    // 2. 2,000 assets, the return-series catalogue each.
    let asset_ms = time(1, ASSET_REPS, || {
        black_box(stats::series_kpis_many(
            black_box(&assets),
            Some(black_box(&data.benchmark)),
            config,
        ));
    });
    let (a_med, a_min) = (median(&asset_ms), minimum(&asset_ms));
    println!(
        "2. Assets: series_kpis_many(..) with a benchmark for {ASSETS} assets x {RETURNS} daily \
         returns ({asset_kpis} KPIs + 5 drawdown episodes each), on {} threads",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "   {ASSET_REPS} passes: median {a_med:.1} ms per pass ({:.1} us per asset), \
         min {a_min:.1} ms   target < {TARGET_ASSETS_MS} ms: {}",
        a_med * 1e3 / ASSETS as f64,
        verdict(a_med < TARGET_ASSETS_MS)
    );
    println!();

    // 3. quantstats on the same series.
    println!("3. quantstats on the same series (scripts/bench_kpi_quantstats.py)");
    match run_quantstats(&portfolio_returns, &data.benchmark, &assets) {
        Err(why) => {
            println!("   SKIPPED: {why}");
            targets(p_med, a_med, &[]);
        }
        Ok(qs) => {
            let ratios = report_quantstats(&qs, &report, p_med, a_med);
            targets(p_med, a_med, &ratios);
        }
    }
    println!();
    println!(
        "(whole run {:.0} s; figures are wall-clock on a shared machine, so expect noise)",
        started.elapsed().as_secs_f64()
    );
}

/// Where the portfolio's time goes: the public pieces `performance` is made of, timed alone.
fn breakdown(data: &PortfolioData, config: KpiConfig) {
    const REPS: usize = 50;
    let mut history = data.history.clone();
    history.sort_by_key(|p| p.date);
    let all = daily_returns(&history).expect("returns");
    let (first, last) = (all.dates[0], all.dates[all.len() - 1]);
    let window = Range::SinceInception.resolve(last, first);
    let b = &data.benchmark;
    let nav = history.last().expect("history").nav;
    let mut parts: Vec<(&str, f64)> = Vec::new();
    let mut part = |name, work: &mut dyn FnMut()| parts.push((name, median(&time(3, REPS, work))));
    part("NAV sort + returns", &mut || {
        let mut h = black_box(&data.history).to_vec();
        h.sort_by_key(|p| p.date);
        black_box(daily_returns(&h).expect("returns"));
    });
    part("series_kpis", &mut || {
        black_box(series_kpis(black_box(&all), Some(b), config));
    });
    part("TWR/IRR", &mut || {
        black_box(flows::flow_kpis(black_box(&history), window));
    });
    part("trailing", &mut || {
        black_box(period::trailing_returns(black_box(&all)));
    });
    part("FIFO", &mut || {
        black_box(trading::match_fifo(black_box(&data.trades)));
    });
    part("exposure", &mut || {
        black_box(exposure::exposure(
            black_box(&data.positions),
            &data.assets,
            nav,
            &data.allocations,
        ));
    });
    part("charts: cumulative + drawdown", &mut || {
        black_box(stats::cumulative_series(black_box(&all)));
        black_box(stats::cumulative_series(b));
        black_box(stats::drawdown_series(&all));
    });
    for w in ROLLING_WINDOWS {
        let name: &str = if w == 63 {
            "charts: rolling vol+Sharpe+beta 63d"
        } else {
            "charts: rolling vol+Sharpe+beta 252d"
        };
        part(name, &mut || {
            black_box(stats::rolling_volatility(black_box(&all), w));
            black_box(stats::rolling_sharpe(&all, w, config));
            black_box(stats::rolling_beta(&all, b, w));
        });
    }
    let text: Vec<String> = parts
        .iter()
        .map(|(name, ms)| format!("{name} {ms:.3}"))
        .collect();
    println!("   where the time goes (each piece alone, median of {REPS}, ms):");
    for chunk in text.chunks(3) {
        println!("     {}", chunk.join("; "));
    }
}

fn report_quantstats(
    qs: &Value,
    report: &ballast_engine::performance::Performance,
    p_med: f64,
    a_med: f64,
) -> Vec<(String, Option<f64>)> {
    let text = |k: &str| qs.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    println!(
        "   quantstats {}, pandas {}, numpy {}, scipy {}, Python {}",
        text("quantstats"),
        text("pandas"),
        text("numpy"),
        text("scipy"),
        text("python")
    );

    // The same series on both sides: a few values must agree.
    let mut checks = Vec::new();
    for key in ["annual_volatility", "sharpe", "max_drawdown", "beta"] {
        let ours = report.get(key).and_then(|e| e.metric.value());
        let theirs = num(qs, &["check", key]);
        if let (Some(a), Some(b)) = (ours, theirs) {
            let ok = (a - b).abs() <= 1e-9 * a.abs().max(1e-6);
            checks.push(format!(
                "{key} {a:.6} vs {b:.6}{}",
                if ok { "" } else { " (DIFFERS)" }
            ));
        }
    }
    if !checks.is_empty() {
        println!(
            "   same series check (ballast vs quantstats): {}",
            checks.join(", ")
        );
    }

    let mut ratios: Vec<(String, Option<f64>)> = Vec::new();
    let f_calls = num(qs, &["portfolio", "functions", "calls"]).unwrap_or(f64::NAN);
    match (
        num(qs, &["portfolio", "functions", "median_ms"]),
        num(qs, &["portfolio", "functions", "min_ms"]),
        num(qs, &["portfolio", "functions", "reps"]),
    ) {
        (Some(med), Some(min), Some(reps)) => {
            let ratio = med / p_med;
            println!(
                "   portfolio, comparable function set ({f_calls:.0} quantstats calls: the \
                 return-series KPIs + chart series):"
            );
            println!(
                "     {reps:.0} reps: median {med:.1} ms, min {min:.1} ms  ->  quantstats / \
                 ballast = {ratio:.0}x"
            );
            ratios.push(("portfolio (function set)".into(), Some(ratio)));
        }
        _ => ratios.push(("portfolio (function set)".into(), None)),
    }
    match (
        num(qs, &["portfolio", "metrics_full", "median_ms"]),
        num(qs, &["portfolio", "metrics_full", "min_ms"]),
        num(qs, &["portfolio", "metrics_full", "reps"]),
    ) {
        (Some(med), Some(min), Some(reps)) => {
            let ratio = med / p_med;
            println!(
                "   portfolio, qs.reports.metrics(returns, benchmark, mode=\"full\", \
                 display=False):"
            );
            println!(
                "     {reps:.0} reps: median {med:.1} ms, min {min:.1} ms  ->  quantstats / \
                 ballast = {ratio:.0}x"
            );
            ratios.push(("portfolio (reports.metrics full)".into(), Some(ratio)));
        }
        _ => {
            let why = qs
                .pointer("/portfolio/metrics_full/error")
                .and_then(Value::as_str)
                .unwrap_or("no figure");
            println!("   portfolio, qs.reports.metrics(mode=\"full\"): not measured: {why}");
        }
    }
    match num(qs, &["assets", "total_ms"]) {
        Some(total) => {
            let sample = num(qs, &["assets", "sample"]).unwrap_or(f64::NAN);
            let count = num(qs, &["assets", "count"]).unwrap_or(f64::NAN);
            let reps = num(qs, &["assets", "reps"]).unwrap_or(f64::NAN);
            let sample_ms = num(qs, &["assets", "sample_median_ms"]).unwrap_or(f64::NAN);
            let calls = num(qs, &["assets", "calls_per_asset"]).unwrap_or(f64::NAN);
            let ratio = total / a_med;
            println!(
                "   {count:.0} assets, comparable function set ({calls:.0} quantstats calls per \
                 asset, the return-series KPIs):"
            );
            if sample < count {
                println!(
                    "     timed a SAMPLE of {sample:.0} assets ({reps:.0} reps, median \
                     {sample_ms:.0} ms) and SCALED LINEARLY to {count:.0}: {:.1} s",
                    total / 1e3
                );
            } else {
                println!(
                    "     all {count:.0} assets, {reps:.0} reps: median {:.1} s",
                    total / 1e3
                );
            }
            println!("     ->  quantstats / ballast = {ratio:.0}x");
            ratios.push(("assets (function set)".into(), Some(ratio)));
        }
        None => ratios.push(("assets (function set)".into(), None)),
    }
    ratios
}

fn targets(p_med: f64, a_med: f64, ratios: &[(String, Option<f64>)]) {
    println!();
    println!("4. Targets");
    println!(
        "   one portfolio, full catalogue < {TARGET_PORTFOLIO_MS} ms: median {p_med:.3} ms  {}",
        verdict(p_med < TARGET_PORTFOLIO_MS)
    );
    println!(
        "   {ASSETS} assets < {TARGET_ASSETS_MS} ms: median {a_med:.1} ms  {}",
        verdict(a_med < TARGET_ASSETS_MS)
    );
    if ratios.is_empty() {
        println!("   >= {TARGET_SPEEDUP}x faster than quantstats: not measured (skipped)");
    }
    for (what, ratio) in ratios {
        match *ratio {
            Some(r) => println!(
                "   >= {TARGET_SPEEDUP}x faster than quantstats, {what}: {r:.0}x  {}",
                verdict(r >= TARGET_SPEEDUP)
            ),
            None => {
                println!("   >= {TARGET_SPEEDUP}x faster than quantstats, {what}: not measured")
            }
        }
    }
}
