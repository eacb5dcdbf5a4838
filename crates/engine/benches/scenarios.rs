//! The scenario engine's speed: `cargo bench -p ballast-engine --bench scenarios`.
//!
//! 1. Twenty scenarios (the built-in library with the 2020 replay, plus eight custom ones
//!    covering every shock type, one of them all at once) over a book of 10,000 positions:
//!    total time for the twenty, median of several passes. Target: < 50 ms.
//! 2. Monte Carlo VaR/ES with 10,000 paths over 500 assets (750 days of history, 10-day
//!    horizon): covariance, Cholesky and simulation, median of several runs; the bootstrap
//!    alongside. Target: < 1 s.
//!
//! A report, not a test: it prints the figures and PASS or MISS next to each target. Data are
//! synthetic and deterministic (ChaCha8 from a fixed seed).

use std::hint::black_box;
use std::time::{Duration, Instant};

use ballast_engine::fx::FxTable;
use ballast_engine::history::PriceHistory;
use ballast_engine::model::{
    Asset, AssetClass, FxRate, NavPoint, Position, Price, RiskLimit, SectorCoefficient,
};
use ballast_engine::montecarlo::{monte_carlo_var, Method, MonteCarloConfig, ReturnMatrix};
use ballast_engine::presets::builtin_scenarios;
use ballast_engine::scenario::{ScenarioDefinition, Shock};
use ballast_engine::scenario_run::{run_scenario, ScenarioBook, ScenarioInputs};
use chrono::{Datelike, Duration as Days, NaiveDate, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rust_decimal::prelude::FromPrimitive;
use rust_decimal::Decimal;

const POSITIONS: usize = 10_000;
const SCENARIO_PASSES: usize = 9;
const MC_ASSETS: usize = 500;
const MC_DAYS: usize = 750;
const MC_PATHS: usize = 10_000;
const MC_RUNS: usize = 5;
const TARGET_SCENARIOS_MS: f64 = 50.0;
const TARGET_MC_MS: f64 = 1_000.0;

const SECTORS: [&str; 6] = [
    "Technology",
    "Financials",
    "Healthcare",
    "Energy",
    "Industrials",
    "Utilities",
];
const COUNTRIES: [(&str, &str); 4] = [("US", "USD"), ("DE", "EUR"), ("GB", "GBP"), ("JP", "JPY")];
const RATINGS: [&str; 5] = ["AAA", "AA", "A", "BBB", "BB"];

fn dec(x: f64, dp: u32) -> Decimal {
    Decimal::from_f64(x).unwrap().round_dp(dp)
}

fn business_days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    let mut d = from;
    while d <= to {
        if !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d);
        }
        d += Days::days(1);
    }
    out
}

struct Book {
    as_of: NaiveDate,
    assets: Vec<Asset>,
    positions: Vec<Position>,
    fx: FxTable,
    prices: PriceHistory,
    coefficients: Vec<SectorCoefficient>,
    limits: Vec<RiskLimit>,
    nav_history: Vec<NavPoint>,
    nav: Decimal,
}

fn book() -> Book {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let as_of = NaiveDate::from_ymd_opt(2024, 6, 28).unwrap();
    let window = business_days(
        NaiveDate::from_ymd_opt(2020, 2, 19).unwrap(),
        NaiveDate::from_ymd_opt(2020, 3, 23).unwrap(),
    );
    let mut assets = Vec::with_capacity(POSITIONS);
    let mut positions = Vec::with_capacity(POSITIONS);
    let mut prices = Vec::new();
    for i in 0..POSITIONS {
        let (country, ccy) = COUNTRIES[i % COUNTRIES.len()];
        let sector = SECTORS[i % SECTORS.len()];
        let kind = i % 20;
        let class = match kind {
            0..=11 => AssetClass::Equity,
            12..=16 => AssetClass::Bond,
            17 => AssetClass::Commodity,
            18 => AssetClass::Fund,
            _ => AssetClass::Cash,
        };
        let mut a = Asset::new(
            format!("A{i:05}"),
            format!("S{i:05}"),
            format!("Asset {i}"),
            class,
            ccy,
        );
        a.country = Some(country.into());
        a.sector = Some(sector.into());
        match class {
            AssetClass::Equity => a.beta = Some(dec(rng.random_range(0.5..1.6), 3)),
            AssetClass::Bond => {
                let years: f64 = rng.random_range(0.5..25.0);
                let d = (years * 0.85).min(16.0);
                a.modified_duration = Some(dec(d, 3));
                a.convexity = Some(dec(d * d / 1.6, 3));
                a.spread_duration = Some(dec(d * 0.97, 3));
                a.rating = Some(RATINGS[i % RATINGS.len()].into());
                a.maturity = Some(as_of + Days::days((years * 365.25) as i64));
            }
            AssetClass::Commodity => a.name = "Brent Crude futures".into(),
            AssetClass::Fund => a.beta = Some(dec(0.4, 2)),
            _ => {}
        }
        let value = rng.random_range(10_000.0..2_000_000.0) * if i % 17 == 3 { -1.0 } else { 1.0 };
        positions.push(Position {
            id: format!("P{i:05}"),
            portfolio_id: "P".into(),
            asset_id: a.id.clone(),
            date: as_of,
            quantity: dec(value / 50.0, 0),
            market_value: dec(value, 2),
        });
        if class != AssetClass::Cash {
            let mut close = 100.0;
            for d in &window {
                close *= 1.0 + 0.02 * rng.sample::<f64, _>(StandardNormal) - 0.005;
                prices.push(Price {
                    asset_id: a.id.clone(),
                    date: *d,
                    close: dec(close, 4),
                });
            }
        }
        assets.push(a);
    }
    let nav: Decimal = positions.iter().map(|p| p.market_value).sum();
    let mut rates = Vec::new();
    for (ccy, level) in [("EUR", 1.1), ("GBP", 1.28), ("JPY", 0.0092)] {
        for d in window.iter().chain([&as_of]) {
            rates.push(FxRate {
                pair: format!("{ccy}USD"),
                date: *d,
                rate: dec(
                    level * (1.0 + 0.01 * rng.sample::<f64, _>(StandardNormal)),
                    6,
                ),
            });
        }
    }
    let mut coefficients = Vec::new();
    for (k, sector) in SECTORS.iter().enumerate() {
        for (factor, e) in [
            ("gdp_growth", 1.5 + k as f64 * 0.1),
            ("policy_rate", -1.2),
            ("inflation", -0.4),
        ] {
            coefficients.push(SectorCoefficient {
                id: format!("{sector}-{factor}"),
                sector: (*sector).into(),
                macro_factor: factor.into(),
                elasticity: dec(e, 3),
                effective_date: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap(),
            });
        }
    }
    let limit = |id: &str, metric: &str, t: f64| RiskLimit {
        id: id.into(),
        portfolio_id: "P".into(),
        metric: metric.into(),
        threshold: dec(t, 3),
        severity: "breach".into(),
    };
    let limits = vec![
        limit("dd", "max_drawdown", -0.2),
        limit("lev", "leverage", 1.5),
        limit("stress", "scenario_return", -0.1),
    ];
    let mut nav_history = Vec::new();
    let mut level = 1.0;
    for (k, d) in business_days(as_of - Days::days(3 * 365), as_of)
        .into_iter()
        .enumerate()
    {
        level *= 1.0 + 0.0003 + 0.008 * rng.sample::<f64, _>(StandardNormal);
        nav_history.push(NavPoint {
            id: k.to_string(),
            portfolio_id: "P".into(),
            date: d,
            nav: dec(level * 1e9, 2),
            external_flow: Decimal::ZERO,
            gross_exposure: Decimal::ZERO,
            net_exposure: Decimal::ZERO,
        });
    }
    Book {
        as_of,
        assets,
        positions,
        fx: FxTable::new(&rates),
        prices: PriceHistory::new(&prices),
        coefficients,
        limits,
        nav_history,
        nav,
    }
}

fn scenarios(b: &Book) -> Vec<ScenarioDefinition> {
    let mut out: Vec<ScenarioDefinition> = builtin_scenarios(b.as_of, b.prices.range())
        .into_iter()
        .map(|p| p.definition)
        .collect();
    let d = |s: &str| s.parse::<Decimal>().unwrap();
    let custom: Vec<Shock> = vec![
        Shock::ParallelRate { bp: d("300") },
        Shock::CreditSpread {
            rating: Some("BBB".into()),
            sector: None,
            bp: d("150"),
        },
        Shock::Fx {
            currency: "EUR".into(),
            pct: d("-15"),
            against: None,
        },
        Shock::Equity {
            market: Some("US".into()),
            sector: None,
            pct: d("-30"),
        },
        Shock::Equity {
            market: None,
            sector: Some("Technology".into()),
            pct: d("-25"),
        },
        Shock::Commodity {
            sector: None,
            name: Some("brent".into()),
            pct: d("20"),
        },
        Shock::Macro {
            moves: [
                ("gdp_growth".to_string(), d("-2")),
                ("policy_rate".to_string(), d("1")),
                ("inflation".to_string(), d("3")),
            ]
            .into(),
        },
    ];
    for (k, s) in custom.iter().enumerate() {
        out.push(ScenarioDefinition {
            name: format!("custom {k}"),
            description: String::new(),
            shocks: vec![s.clone()],
        });
    }
    let mut all = custom;
    all.push(Shock::Asset {
        asset: "S00042".into(),
        pct: d("-50"),
    });
    all.push(Shock::Redemption {
        share: d("0.25"),
        by: b.as_of + Days::days(30),
    });
    out.push(ScenarioDefinition {
        name: "everything at once".into(),
        description: String::new(),
        shocks: all,
    });
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn verdict(ms: f64, target: f64) -> &'static str {
    if ms < target {
        "PASS"
    } else {
        "MISS"
    }
}

fn main() {
    let t = Instant::now();
    let b = book();
    println!(
        "data: {POSITIONS} positions built in {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let defs = scenarios(&b);
    assert_eq!(defs.len(), 20, "twenty scenarios");
    let inputs = ScenarioInputs {
        as_of: b.as_of,
        base_currency: "USD",
        nav: b.nav,
        positions: &b.positions,
        assets: &b.assets,
        fx: &b.fx,
        prices: &b.prices,
        sector_coefficients: &b.coefficients,
        risk_limits: &b.limits,
        nav_history: &b.nav_history,
        kpi_hook: None,
    };
    // The Scenarios screen's case: one book indexed once, twenty definitions over it. The
    // total includes the indexing.
    let mut passes = Vec::new();
    let mut indexing = Vec::new();
    let mut per_scenario = vec![Vec::new(); defs.len()];
    for _ in 0..SCENARIO_PASSES {
        let start = Instant::now();
        let scenario_book = ScenarioBook::new(inputs).expect("book indexes");
        indexing.push(start.elapsed());
        for (k, def) in defs.iter().enumerate() {
            let s = Instant::now();
            let r = scenario_book.run(def).expect("scenario runs");
            per_scenario[k].push(s.elapsed());
            black_box(r);
        }
        passes.push(start.elapsed());
    }
    // The same twenty as the app and `compare` run them: spread over the cores.
    let mut parallel = Vec::new();
    for _ in 0..SCENARIO_PASSES {
        let start = Instant::now();
        let scenario_book = ScenarioBook::new(inputs).expect("book indexes");
        let results = scenario_book.run_all(&defs);
        assert!(results.iter().all(Result::is_ok), "scenarios run");
        parallel.push(start.elapsed());
        black_box(results);
    }
    let total = median(passes).as_secs_f64() * 1e3;
    let parallel_total = median(parallel).as_secs_f64() * 1e3;
    println!("\n20 scenarios × {POSITIONS} positions (median of {SCENARIO_PASSES} passes):");
    println!(
        "  {:<28} {:>7.2} ms",
        "index the book (once)",
        median(indexing).as_secs_f64() * 1e3
    );
    for (def, times) in defs.iter().zip(per_scenario) {
        println!(
            "  {:<28} {:>7.2} ms",
            def.name,
            median(times).as_secs_f64() * 1e3
        );
    }
    println!("  total, one after the other {total:>8.1} ms");
    println!(
        "  total, run_all on {} threads {:>6.1} ms   target < {TARGET_SCENARIOS_MS} ms   {}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        parallel_total,
        verdict(parallel_total, TARGET_SCENARIOS_MS)
    );
    // The same twenty through `run_scenario`, which indexes the book every time.
    let mut standalone = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        for def in &defs {
            black_box(run_scenario(&inputs, def).expect("scenario runs"));
        }
        standalone.push(start.elapsed());
    }
    println!(
        "  (20 × run_scenario, indexing each time: {:.1} ms)",
        median(standalone).as_secs_f64() * 1e3
    );

    // Monte Carlo: a one-factor market plus noise, 750 days × 500 assets.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut values = Vec::with_capacity(MC_DAYS * MC_ASSETS);
    let betas: Vec<f64> = (0..MC_ASSETS).map(|_| rng.random_range(0.5..1.5)).collect();
    for _ in 0..MC_DAYS {
        let market: f64 = 0.01 * rng.sample::<f64, _>(StandardNormal);
        for beta in &betas {
            values.push(beta * market + 0.015 * rng.sample::<f64, _>(StandardNormal));
        }
    }
    let dates = business_days(
        NaiveDate::from_ymd_opt(2021, 1, 1).unwrap(),
        NaiveDate::from_ymd_opt(2024, 12, 31).unwrap(),
    )
    .into_iter()
    .take(MC_DAYS)
    .collect();
    let matrix = ReturnMatrix::new(
        (0..MC_ASSETS).map(|i| format!("M{i}")).collect(),
        dates,
        values,
    )
    .unwrap();
    let exposures: Vec<Decimal> = (0..MC_ASSETS)
        .map(|i| Decimal::from(1_000_000 + 1_000 * i as i64))
        .collect();
    let nav: Decimal = exposures.iter().sum();
    println!(
        "\nMonte Carlo, {MC_PATHS} paths × {MC_ASSETS} assets, {MC_DAYS} days of history, 10-day horizon (median of {MC_RUNS}; {} threads):",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for method in [Method::Cholesky, Method::Bootstrap] {
        let config = MonteCarloConfig {
            paths: MC_PATHS,
            horizon_days: 10,
            method,
            ..MonteCarloConfig::default()
        };
        let mut times = Vec::new();
        let mut last = None;
        for _ in 0..MC_RUNS {
            let s = Instant::now();
            let r = monte_carlo_var(&matrix, &exposures, nav, config).expect("simulation runs");
            times.push(s.elapsed());
            last = Some(r);
        }
        let ms = median(times).as_secs_f64() * 1e3;
        let r = last.unwrap();
        println!(
            "  {:<10} {:>8.1} ms   target < {TARGET_MC_MS} ms   {}   VaR95 {:+.3}%  ES95 {:+.3}%  VaR99 {:+.3}%  ES99 {:+.3}%",
            format!("{method:?}"),
            ms,
            verdict(ms, TARGET_MC_MS),
            r.levels[0].var * 100.0,
            r.levels[0].es * 100.0,
            r.levels[1].var * 100.0,
            r.levels[1].es * 100.0,
        );
    }
}
