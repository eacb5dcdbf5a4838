//! Scenario engine against hand-computed figures: one small USD portfolio, every shock type
//! in a table with its arithmetic, validation errors, the trace adding up, limits and KPIs.

use ballast_engine::fx::FxTable;
use ballast_engine::history::PriceHistory;
use ballast_engine::kpi::{Entry, Metric, Unit};
use ballast_engine::model::{
    Asset, AssetClass, FxRate, NavPoint, Position, Price, RiskLimit, SectorCoefficient,
};
use ballast_engine::scenario::{CurveBucket, ScenarioDefinition, ScenarioError, Shock};
use ballast_engine::scenario_run::{run_scenario, KpiHook, ScenarioInputs, ScenarioResult};
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;

fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn as_of() -> NaiveDate {
    date(2024, 6, 28)
}

struct Fixture {
    assets: Vec<Asset>,
    positions: Vec<Position>,
    fx: FxTable,
    prices: PriceHistory,
    coefficients: Vec<SectorCoefficient>,
    limits: Vec<RiskLimit>,
    nav_history: Vec<NavPoint>,
    nav: Decimal,
}

/// The portfolio (base USD, NAV 6,500,000 = the sum of the market values):
///
/// | symbol   | class     | ccy | market value | details                                          |
/// |----------|-----------|-----|-------------:|--------------------------------------------------|
/// | BOND1    | bond      | USD |    1,000,000 | D 7, C 60, SD 6.5, BBB, Financials, 8.0 years    |
/// | BOND2    | bond      | EUR |      500,000 | D 2, C 5, SD 1.9, AA, Utilities, 1.5 years       |
/// | BOND3    | bond      | USD |      100,000 | BB, no duration, no maturity                     |
/// | EQ1      | equity    | USD |    2,000,000 | US, Technology, beta 1.3                         |
/// | EQ2      | equity    | EUR |    1,000,000 | DE, Financials, no beta                          |
/// | EQ3      | equity    | USD |     −500,000 | US, Energy, beta 0.8 (a short)                   |
/// | CMD1     | commodity | USD |      300,000 | "Brent Crude futures"                            |
/// | CMD2     | commodity | USD |      200,000 | "Gold futures"                                   |
/// | FND1     | fund      | USD |      400,000 | beta 0.4                                         |
/// | CASH-USD | cash      | USD |    1,000,000 |                                                  |
/// | CASH-EUR | cash      | EUR |      500,000 |                                                  |
fn fixture() -> Fixture {
    let mut assets = Vec::new();
    let mut add = |symbol: &str, class: AssetClass, ccy: &str, f: &dyn Fn(&mut Asset)| {
        let mut a = Asset::new(
            format!("id-{symbol}"),
            symbol,
            format!("{symbol} name"),
            class,
            ccy,
        );
        f(&mut a);
        assets.push(a);
    };
    add("BOND1", AssetClass::Bond, "USD", &|a| {
        a.modified_duration = Some(dec("7"));
        a.convexity = Some(dec("60"));
        a.spread_duration = Some(dec("6.5"));
        a.rating = Some("BBB".into());
        a.sector = Some("Financials".into());
        // 8 × 365.25 = 2922 days: exactly 8.0 years.
        a.maturity = Some(as_of() + Duration::days(2922));
    });
    add("BOND2", AssetClass::Bond, "EUR", &|a| {
        a.modified_duration = Some(dec("2"));
        a.convexity = Some(dec("5"));
        a.spread_duration = Some(dec("1.9"));
        a.rating = Some("AA".into());
        a.sector = Some("Utilities".into());
        a.maturity = Some(as_of() + Duration::days(548)); // 1.5003 years
    });
    add("BOND3", AssetClass::Bond, "USD", &|a| {
        a.rating = Some("BB".into())
    });
    add("EQ1", AssetClass::Equity, "USD", &|a| {
        a.country = Some("US".into());
        a.sector = Some("Technology".into());
        a.beta = Some(dec("1.3"));
    });
    add("EQ2", AssetClass::Equity, "EUR", &|a| {
        a.country = Some("DE".into());
        a.sector = Some("Financials".into());
    });
    add("EQ3", AssetClass::Equity, "USD", &|a| {
        a.country = Some("US".into());
        a.sector = Some("Energy".into());
        a.beta = Some(dec("0.8"));
    });
    add("CMD1", AssetClass::Commodity, "USD", &|a| {
        a.name = "Brent Crude futures".into();
        a.sector = Some("Commodities".into());
    });
    add("CMD2", AssetClass::Commodity, "USD", &|a| {
        a.name = "Gold futures".into();
        a.sector = Some("Commodities".into());
    });
    add("FND1", AssetClass::Fund, "USD", &|a| {
        a.beta = Some(dec("0.4"))
    });
    add("CASH-USD", AssetClass::Cash, "USD", &|_| {});
    add("CASH-EUR", AssetClass::Cash, "EUR", &|_| {});
    add("NOTHELD", AssetClass::Equity, "JPY", &|_| {});
    let values = [
        ("BOND1", "1000000"),
        ("BOND2", "500000"),
        ("BOND3", "100000"),
        ("EQ1", "2000000"),
        ("EQ2", "1000000"),
        ("EQ3", "-500000"),
        ("CMD1", "300000"),
        ("CMD2", "200000"),
        ("FND1", "400000"),
        ("CASH-USD", "1000000"),
        ("CASH-EUR", "500000"),
    ];
    let positions = values
        .iter()
        .map(|(s, mv)| Position {
            id: format!("pos-{s}"),
            portfolio_id: "P".into(),
            asset_id: format!("id-{s}"),
            date: as_of(),
            quantity: Decimal::ONE,
            market_value: dec(mv),
        })
        .collect();
    let fx = FxTable::new(&[
        FxRate {
            pair: "EURUSD".into(),
            date: date(2020, 2, 19),
            rate: dec("1.08"),
        },
        FxRate {
            pair: "EURUSD".into(),
            date: date(2020, 3, 23),
            rate: dec("1.07"),
        },
        FxRate {
            pair: "GBPUSD".into(),
            date: date(2024, 6, 28),
            rate: dec("1.26"),
        },
    ]);
    let price = |s: &str, d: NaiveDate, c: &str| Price {
        asset_id: format!("id-{s}"),
        date: d,
        close: dec(c),
    };
    let prices = PriceHistory::new(&[
        price("EQ1", date(2020, 1, 2), "120"),
        price("EQ1", date(2020, 2, 19), "100"),
        price("EQ1", date(2020, 3, 2), "85"),
        price("EQ1", date(2020, 3, 23), "70"),
        price("EQ1", date(2024, 6, 28), "150"),
        price("EQ2", date(2020, 2, 19), "50"),
        price("EQ2", date(2020, 3, 23), "40"),
        price("CMD1", date(2020, 3, 1), "30"), // one close in the window
        price("CMD2", date(2019, 12, 31), "1500"),
    ]);
    let coef = |sector: &str, factor: &str, e: &str, d: NaiveDate| SectorCoefficient {
        id: format!("{sector}-{factor}-{d}"),
        sector: sector.into(),
        macro_factor: factor.into(),
        elasticity: dec(e),
        effective_date: d,
    };
    let start = date(2023, 1, 1);
    let coefficients = vec![
        coef("Technology", "gdp_growth", "1.0", date(2020, 1, 1)), // superseded
        coef("Technology", "gdp_growth", "2.34", start),
        coef("Technology", "gdp_growth", "9.99", date(2025, 1, 1)), // not yet effective
        coef("Technology", "policy_rate", "-2.5", start),
        coef("Technology", "inflation", "-0.6", start),
        coef("Financials", "gdp_growth", "2.07", start),
        coef("Financials", "policy_rate", "-2.125", start),
        coef("Energy", "gdp_growth", "1.98", start),
        coef("Energy", "policy_rate", "-2.0", start),
        coef("Energy", "inflation", "0.8", start),
    ];
    let limit = |id: &str, metric: &str, threshold: &str| RiskLimit {
        id: id.into(),
        portfolio_id: "P".into(),
        metric: metric.into(),
        threshold: dec(threshold),
        severity: "breach".into(),
    };
    let limits = vec![
        limit("L-dd", "max_drawdown", "-0.10"),
        limit("L-stress", "scenario_return", "-0.05"),
        limit("L-lev", "leverage", "1.2"),
        limit("L-eq1", "eq1_weight", "0.3"),
    ];
    let nav_point = |d: NaiveDate, nav: &str| NavPoint {
        id: d.to_string(),
        portfolio_id: "P".into(),
        date: d,
        nav: dec(nav),
        external_flow: Decimal::ZERO,
        gross_exposure: Decimal::ZERO,
        net_exposure: Decimal::ZERO,
    };
    let nav_history = vec![
        nav_point(date(2024, 6, 26), "6000000"),
        nav_point(date(2024, 6, 27), "6600000"),
        nav_point(date(2024, 6, 28), "6500000"),
    ];
    Fixture {
        assets,
        positions,
        fx,
        prices,
        coefficients,
        limits,
        nav_history,
        nav: dec("6500000"),
    }
}

impl Fixture {
    fn inputs<'a>(&'a self, hook: Option<&'a KpiHook<'a>>) -> ScenarioInputs<'a> {
        ScenarioInputs {
            as_of: as_of(),
            base_currency: "USD",
            nav: self.nav,
            positions: &self.positions,
            assets: &self.assets,
            fx: &self.fx,
            prices: &self.prices,
            sector_coefficients: &self.coefficients,
            risk_limits: &self.limits,
            nav_history: &self.nav_history,
            kpi_hook: hook,
        }
    }

    fn run(&self, shocks: Vec<Shock>) -> Result<ScenarioResult, ScenarioError> {
        let def = ScenarioDefinition {
            name: "test".into(),
            description: String::new(),
            shocks,
        };
        run_scenario(&self.inputs(None), &def)
    }
}

fn equity(market: Option<&str>, sector: Option<&str>, pct: &str) -> Shock {
    Shock::Equity {
        market: market.map(Into::into),
        sector: sector.map(Into::into),
        pct: dec(pct),
    }
}

fn bucket(up: Option<&str>, bp: &str) -> CurveBucket {
    CurveBucket {
        up_to_years: up.map(dec),
        bp: dec(bp),
    }
}

/// The positions a result moved: (symbol, change, P/L), in portfolio order.
fn moved(result: &ScenarioResult) -> Vec<(String, Decimal, Decimal)> {
    result
        .positions
        .iter()
        .filter(|p| !p.contributions.is_empty())
        .map(|p| {
            (
                p.symbol.to_string(),
                p.change.normalize(),
                p.pnl.normalize(),
            )
        })
        .collect()
}

type Case = (
    &'static str,
    Shock,
    Vec<(&'static str, &'static str, &'static str)>,
    &'static str,
);

#[test]
fn every_shock_type_against_hand_computed_figures() {
    let f = fixture();
    let cases: Vec<Case> = vec![
        (
            // BOND1: −7·0.02 + ½·60·0.02² = −0.14 + 0.012 = −0.128 → −128,000
            // BOND2: −2·0.02 + ½·5·0.02² = −0.04 + 0.001 = −0.039 → −19,500 (EUR bond, same
            // formula: rate shocks move local prices, the base value follows)
            "parallel +200bp",
            Shock::ParallelRate { bp: dec("200") },
            vec![
                ("BOND1", "-0.128", "-128000"),
                ("BOND2", "-0.039", "-19500"),
            ],
            "-147500",
        ),
        (
            // BOND1: +0.07 + ½·60·0.0001 = 0.073 → 73,000; BOND2: 0.02 + ½·5·0.0001 = 0.02025
            "parallel -100bp",
            Shock::ParallelRate { bp: dec("-100") },
            vec![("BOND1", "0.073", "73000"), ("BOND2", "0.02025", "10125")],
            "83125",
        ),
        (
            // Steepener: BOND1 (8.0y, 5–10y bucket) +25bp: −7·0.0025 + ½·60·0.0025²
            //   = −0.0175 + 0.0001875 = −0.0173125 → −17,312.50
            // BOND2 (1.5y, 0–2y bucket) −25bp: +0.005 + ½·5·0.0025² = 0.005015625
            //   → 2,507.8125, rounded half-even to 2,507.81
            "2s10s steepener",
            Shock::CurveTwist {
                buckets: vec![
                    bucket(Some("2"), "-25"),
                    bucket(Some("5"), "0"),
                    bucket(Some("10"), "25"),
                    bucket(None, "25"),
                ],
            },
            vec![
                ("BOND1", "-0.0173125", "-17312.5"),
                ("BOND2", "0.005015625", "2507.81"),
            ],
            "-14804.69",
        ),
        (
            // Butterfly: wings (≤2y, >10y) −20bp, body (2–10y) +30bp.
            // BOND1 +30bp: −7·0.003 + ½·60·0.003² = −0.021 + 0.00027 = −0.02073 → −20,730
            // BOND2 −20bp: +0.004 + ½·5·0.002² = 0.004 + 0.00001 = 0.00401 → 2,005
            "butterfly",
            Shock::CurveTwist {
                buckets: vec![
                    bucket(Some("2"), "-20"),
                    bucket(Some("10"), "30"),
                    bucket(None, "-20"),
                ],
            },
            vec![
                ("BOND1", "-0.02073", "-20730"),
                ("BOND2", "0.00401", "2005"),
            ],
            "-18725",
        ),
        (
            // −SD·Δs: BOND1 −6.5·0.01 = −0.065; BOND2 −1.9·0.01 = −0.019
            "credit +100bp",
            Shock::CreditSpread {
                rating: None,
                sector: None,
                bp: dec("100"),
            },
            vec![("BOND1", "-0.065", "-65000"), ("BOND2", "-0.019", "-9500")],
            "-74500",
        ),
        (
            // Only BBB: BOND1 −6.5·0.02 = −0.13
            "credit BBB +200bp",
            Shock::CreditSpread {
                rating: Some("BBB".into()),
                sector: None,
                bp: dec("200"),
            },
            vec![("BOND1", "-0.13", "-130000")],
            "-130000",
        ),
        (
            // Only Utilities: BOND2 −1.9·0.005 = −0.0095 (EQ2 is Financials, and not a bond)
            "credit Utilities +50bp",
            Shock::CreditSpread {
                rating: None,
                sector: Some("utilities".into()),
                bp: dec("50"),
            },
            vec![("BOND2", "-0.0095", "-4750")],
            "-4750",
        ),
        (
            // Every EUR position loses 10% of its USD value: 500k, 1M, 500k.
            "EUR -10%",
            Shock::Fx {
                currency: "EUR".into(),
                pct: dec("-10"),
                against: None,
            },
            vec![
                ("BOND2", "-0.1", "-50000"),
                ("EQ2", "-0.1", "-100000"),
                ("CASH-EUR", "-0.1", "-50000"),
            ],
            "-200000",
        ),
        (
            // Every currency but USD −10% vs USD: in a USD book the same as EUR −10% here.
            "all vs USD -10%",
            Shock::Fx {
                currency: "*".into(),
                pct: dec("-10"),
                against: Some("USD".into()),
            },
            vec![
                ("BOND2", "-0.1", "-50000"),
                ("EQ2", "-0.1", "-100000"),
                ("CASH-EUR", "-0.1", "-50000"),
            ],
            "-200000",
        ),
        (
            // pct × beta: EQ1 −0.2·1.3 = −0.26; EQ2 −0.2·1 (no beta); EQ3 −0.2·0.8 = −0.16 on
            // a short of −500k = +80,000; FND1 −0.2·0.4 = −0.08 → −32,000.
            // Total −520,000 − 200,000 + 80,000 − 32,000 = −672,000.
            "equities -20%",
            equity(None, None, "-20"),
            vec![
                ("EQ1", "-0.26", "-520000"),
                ("EQ2", "-0.2", "-200000"),
                ("EQ3", "-0.16", "80000"),
                ("FND1", "-0.08", "-32000"),
            ],
            "-672000",
        ),
        (
            // US only: EQ1 −0.13 → −260,000; EQ3 −0.08 on −500k → +40,000 (FND1 has no country)
            "US equities -10%",
            equity(Some("US"), None, "-10"),
            vec![("EQ1", "-0.13", "-260000"), ("EQ3", "-0.08", "40000")],
            "-220000",
        ),
        (
            // Financials equities only: EQ2 −0.3 (BOND1 is Financials but not equity-like)
            "Financials -30%",
            equity(None, Some("Financials"), "-30"),
            vec![("EQ2", "-0.3", "-300000")],
            "-300000",
        ),
        (
            "commodities +10%",
            Shock::Commodity {
                sector: None,
                name: None,
                pct: dec("10"),
            },
            vec![("CMD1", "0.1", "30000"), ("CMD2", "0.1", "20000")],
            "50000",
        ),
        (
            // Name matches "Brent Crude futures" case-insensitively.
            "brent -50%",
            Shock::Commodity {
                sector: Some("Commodities".into()),
                name: Some("brent".into()),
                pct: dec("-50"),
            },
            vec![("CMD1", "-0.5", "-150000")],
            "-150000",
        ),
        (
            "EQ1 -50% by symbol",
            Shock::Asset {
                asset: "EQ1".into(),
                pct: dec("-50"),
            },
            vec![("EQ1", "-0.5", "-1000000")],
            "-1000000",
        ),
        (
            "CMD2 +5% by id",
            Shock::Asset {
                asset: "id-CMD2".into(),
                pct: dec("5"),
            },
            vec![("CMD2", "0.05", "10000")],
            "10000",
        ),
        (
            // GDP −2pp, policy rate +1pp, latest coefficients effective by 2024-06-28:
            // Technology 2.34·(−2) − 2.5·1 = −7.18% → EQ1 −143,600
            // Financials 2.07·(−2) − 2.125·1 = −6.265% → EQ2 −62,650
            // Energy 1.98·(−2) − 2.0·1 = −5.96% → EQ3 (−500k) +29,800
            "macro: growth down, rates up",
            Shock::Macro {
                moves: [
                    ("gdp_growth".to_string(), dec("-2")),
                    ("policy_rate".to_string(), dec("1")),
                ]
                .into(),
            },
            vec![
                ("EQ1", "-0.0718", "-143600"),
                ("EQ2", "-0.06265", "-62650"),
                ("EQ3", "-0.0596", "29800"),
            ],
            "-176450",
        ),
        (
            // Prices do not move.
            "redemption",
            Shock::Redemption {
                share: dec("0.25"),
                by: date(2024, 7, 31),
            },
            vec![],
            "0",
        ),
    ];
    let mut composite = Vec::new();
    let mut composite_total = Decimal::ZERO;
    for (name, shock, want, total) in cases {
        let result = f
            .run(vec![shock.clone()])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let want: Vec<(String, Decimal, Decimal)> = want
            .iter()
            .map(|(s, c, p)| (s.to_string(), dec(c).normalize(), dec(p).normalize()))
            .collect();
        assert_eq!(moved(&result), want, "{name}");
        assert_eq!(result.pnl, dec(total), "{name}");
        if !matches!(shock, Shock::Redemption { .. }) {
            composite.push(shock);
            composite_total += dec(total);
        }
    }
    // All the shocks at once add up in return space: the total is the sum of the totals.
    let all = f.run(composite).unwrap();
    assert_eq!(all.pnl, composite_total);
}

#[test]
fn unpriced_positions_are_reported_not_zeroed() {
    let f = fixture();
    let r = f
        .run(vec![
            Shock::ParallelRate { bp: dec("100") },
            Shock::CurveTwist {
                buckets: vec![bucket(None, "10")],
            },
            Shock::CreditSpread {
                rating: None,
                sector: None,
                bp: dec("10"),
            },
            Shock::Macro {
                moves: [("inflation".to_string(), dec("3"))].into(),
            },
        ])
        .unwrap();
    let reasons: Vec<(usize, &str, &str)> = r
        .unpriced
        .iter()
        .map(|u| (u.shock, u.symbol.as_str(), u.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (1, "BOND3", "bond without a modified duration"),
            (2, "BOND3", "no maturity to place it on the curve"),
            (3, "BOND3", "bond without a spread duration"),
            (
                4,
                "EQ2",
                "sector 'Financials' has no 'inflation' coefficient effective on or before 2024-06-28"
            ),
        ]
    );
    let bond3 = r.positions.iter().find(|p| *p.symbol == *"BOND3").unwrap();
    assert!(bond3.contributions.is_empty());
    // Inflation +3pp: Technology −0.6·3 = −1.8%, Energy 0.8·3 = +2.4%; Financials has none.
    let sectors: Vec<(&str, Decimal)> = r
        .sector_shocks
        .iter()
        .map(|s| (s.sector.as_str(), s.pct.normalize()))
        .collect();
    assert_eq!(
        sectors,
        vec![("Energy", dec("2.4")), ("Technology", dec("-1.8"))]
    );
}

#[test]
fn historical_replay_uses_closes_in_the_window_and_the_currency() {
    let f = fixture();
    let r = f
        .run(vec![Shock::HistoricalReplay {
            from: date(2020, 2, 19),
            to: date(2020, 3, 23),
        }])
        .unwrap();
    let change = |s: &str| {
        r.positions
            .iter()
            .find(|p| *p.symbol == *s)
            .map(|p| (p.change, p.pnl))
            .unwrap()
    };
    // EQ1 (USD): 100 → 70 = −30% → −600,000 (the close of 2020-01-02 is outside the window).
    assert_eq!(change("EQ1"), (dec("-0.3"), dec("-600000")));
    // EQ2 (EUR): 50 → 40 and EURUSD 1.08 → 1.07: 0.8 × 1.07 / 1.08 − 1 = −0.20740740…
    // → 1,000,000 × −0.2074074074 = −207,407.41
    let (c, p) = change("EQ2");
    assert_eq!(p, dec("-207407.41"));
    assert!((c - dec("-0.2074074074074074")).abs() < dec("1e-15"), "{c}");
    // EUR cash: only the currency, 1.07 / 1.08 − 1 → 500,000 × −0.00925925… = −4,629.63
    assert_eq!(change("CASH-EUR").1, dec("-4629.63"));
    // USD cash: no move, a genuine zero.
    assert_eq!(change("CASH-USD"), (Decimal::ZERO, Decimal::ZERO));
    // Everything else is reported with its reason.
    let unpriced: Vec<(&str, &str)> = r
        .unpriced
        .iter()
        .map(|u| (u.symbol.as_str(), u.reason.as_str()))
        .collect();
    assert!(unpriced.contains(&(
        "CMD1",
        "only one close (2020-03-01) between 2020-02-19 and 2020-03-23"
    )));
    assert!(unpriced.contains(&("CMD2", "no close between 2020-02-19 and 2020-03-23")));
    assert!(unpriced.contains(&("BOND1", "no close between 2020-02-19 and 2020-03-23")));
    assert_eq!(unpriced.len(), 7); // BOND1-3, CMD1-2, EQ3, FND1
    assert_eq!(r.pnl, dec("-600000") + dec("-207407.41") + dec("-4629.63"));
}

#[test]
fn fx_against_another_numeraire_in_a_eur_book() {
    // The preset "USD +10%": every currency but USD −10% against USD. In a EUR book, a USD
    // position gains 1 / 0.9 − 1 = +11.11…%; a GBP position does not move (GBP and EUR
    // both fell 10% against USD); EUR positions are the base.
    let mut f = fixture();
    f.positions.push(Position {
        id: "pos-GBP".into(),
        portfolio_id: "P".into(),
        asset_id: "id-GBPCASH".into(),
        date: as_of(),
        quantity: Decimal::ONE,
        market_value: dec("100"),
    });
    f.assets.push(Asset::new(
        "id-GBPCASH",
        "CASH-GBP",
        "GBP cash",
        AssetClass::Cash,
        "GBP",
    ));
    let def = ScenarioDefinition {
        name: "usd up".into(),
        description: String::new(),
        shocks: vec![Shock::Fx {
            currency: "*".into(),
            pct: dec("-10"),
            against: Some("USD".into()),
        }],
    };
    let mut inputs = f.inputs(None);
    inputs.base_currency = "EUR";
    let r = run_scenario(&inputs, &def).unwrap();
    let pnl = |s: &str| r.positions.iter().find(|p| *p.symbol == *s).unwrap().pnl;
    assert_eq!(pnl("CASH-USD"), dec("111111.11")); // 1,000,000 × 0.1111…
    assert_eq!(pnl("EQ3"), dec("-55555.56")); // −500,000 × 0.1111…
    assert_eq!(pnl("CASH-EUR"), Decimal::ZERO);
    assert_eq!(pnl("CASH-GBP"), Decimal::ZERO);
    assert!(r
        .positions
        .iter()
        .find(|p| *p.symbol == *"CASH-GBP")
        .unwrap()
        .contributions
        .is_empty());
}

#[test]
fn validation_errors_say_which_shock_and_field() {
    let f = fixture();
    let cases: Vec<(Vec<Shock>, &str)> = vec![
        (
            vec![Shock::Asset {
                asset: "NOPE".into(),
                pct: dec("-5"),
            }],
            "shock #1 (asset): unknown asset 'NOPE' (neither an id nor a symbol)",
        ),
        (
            vec![
                Shock::ParallelRate { bp: dec("10") },
                Shock::Fx {
                    currency: "XYZ".into(),
                    pct: dec("5"),
                    against: None,
                },
            ],
            "shock #2 (fx): currency 'XYZ' is not a known currency",
        ),
        (
            vec![Shock::Fx {
                currency: "EUR".into(),
                pct: dec("5"),
                against: Some("ABC".into()),
            }],
            "shock #1 (fx): against 'ABC' is not a known currency",
        ),
        (
            vec![Shock::Fx {
                currency: "USD".into(),
                pct: dec("5"),
                against: None,
            }],
            "shock #1 (fx): currency USD cannot move against itself",
        ),
        (
            vec![Shock::Macro {
                moves: [("unemployment".to_string(), dec("2"))].into(),
            }],
            "shock #1 (macro): moves.unemployment has no sector coefficient effective on or before 2024-06-28",
        ),
        (
            vec![Shock::HistoricalReplay {
                from: date(2008, 9, 1),
                to: date(2009, 3, 9),
            }],
            "shock #1 (historical_replay): window 2008-09-01..2009-03-09 is not inside the price history (2019-12-31..2024-06-28)",
        ),
        (
            vec![Shock::HistoricalReplay {
                from: date(2020, 1, 1),
                to: date(2024, 12, 31),
            }],
            "shock #1 (historical_replay): window 2020-01-01..2024-12-31 is not inside the price history (2019-12-31..2024-06-28)",
        ),
        (
            // EQ1: −90% × beta 1.3 = −117%.
            vec![equity(None, None, "-90")],
            "shock #1 would make the price of EQ1 negative: -117%",
        ),
        (
            // EQ1: −60% × 1.3 = −78% plus −30% = −108%: no single shock, but the sum.
            vec![
                equity(None, None, "-60"),
                Shock::Asset {
                    asset: "EQ1".into(),
                    pct: dec("-30"),
                },
            ],
            "the shocks together would make the price of EQ1 negative: -108%",
        ),
        (
            vec![Shock::ParallelRate { bp: dec("2500") }],
            "shock #1 (parallel_rate): bp = 2500 is outside ±2000 bp",
        ),
    ];
    for (shocks, want) in cases {
        assert_eq!(f.run(shocks).unwrap_err().to_string(), want);
    }
    // A long bond without convexity under +2000bp: −16·0.2 = −3.2, below zero.
    let mut long_bond = fixture();
    let a = long_bond
        .assets
        .iter_mut()
        .find(|a| a.symbol == "BOND1")
        .unwrap();
    a.modified_duration = Some(dec("16"));
    a.convexity = None;
    assert_eq!(
        long_bond
            .run(vec![Shock::ParallelRate { bp: dec("2000") }])
            .unwrap_err()
            .to_string(),
        "shock #1 would make the price of BOND1 negative: -320%"
    );
    // A position whose asset is missing.
    let mut g = fixture();
    g.assets.retain(|a| a.symbol != "CMD2");
    assert_eq!(
        g.run(vec![]).unwrap_err(),
        ScenarioError::PositionWithoutAsset {
            position: "pos-CMD2".into(),
            asset: "id-CMD2".into()
        }
    );
    // No price history at all.
    let mut h = fixture();
    h.prices = PriceHistory::default();
    assert_eq!(
        h.run(vec![Shock::HistoricalReplay {
            from: date(2020, 2, 19),
            to: date(2020, 3, 23)
        }])
        .unwrap_err()
        .to_string(),
        "shock #1 (historical_replay): window 2020-02-19..2020-03-23 is not inside the price history (there is no price history)"
    );
}

#[test]
fn the_trace_adds_up_to_the_totals() {
    let f = fixture();
    let r = f
        .run(vec![
            Shock::ParallelRate { bp: dec("137") },
            Shock::CreditSpread {
                rating: None,
                sector: None,
                bp: dec("-33"),
            },
            Shock::Fx {
                currency: "EUR".into(),
                pct: dec("7.7"),
                against: None,
            },
            equity(None, None, "-13.3"),
            Shock::Commodity {
                sector: None,
                name: None,
                pct: dec("3.1"),
            },
            Shock::Asset {
                asset: "FND1".into(),
                pct: dec("-9"),
            },
            Shock::Macro {
                moves: [("gdp_growth".to_string(), dec("-1.3"))].into(),
            },
            Shock::HistoricalReplay {
                from: date(2020, 2, 19),
                to: date(2020, 3, 23),
            },
            Shock::Redemption {
                share: dec("0.25"),
                by: date(2024, 7, 31),
            },
        ])
        .unwrap();
    for p in &r.positions {
        let sum: Decimal = p.contributions.iter().map(|c| c.pnl).sum();
        assert_eq!(sum, p.pnl, "{}", p.symbol);
        let change: Decimal = p.contributions.iter().map(|c| c.change).sum();
        assert_eq!(change, p.change, "{}", p.symbol);
        assert_eq!(p.value_after, p.market_value + p.pnl);
    }
    let by_position: Decimal = r.positions.iter().map(|p| p.pnl).sum();
    let by_shock: Decimal = r.by_shock.iter().map(|s| s.pnl).sum();
    assert_eq!(by_position, r.pnl);
    assert_eq!(by_shock, r.pnl);
    assert!(r.pnl < Decimal::ZERO);
    // 25% of the NAV after P/L is redeemed; NAV after = NAV + P/L − redemption.
    assert_eq!(
        r.redeemed,
        ((dec("6500000") + r.pnl) * dec("0.25")).round_dp(2)
    );
    assert_eq!(r.nav_after, dec("6500000") + r.pnl - r.redeemed);
    assert_eq!(r.by_shock[8].pnl, Decimal::ZERO);
    assert_eq!(r.by_shock[8].positions, 0);
    // Every shock but the redemption moved something.
    assert!(r.by_shock[..8].iter().all(|s| s.positions > 0));
}

#[test]
fn kpis_and_limits_before_and_after() {
    let f = fixture();
    // The hook: EQ1's weight in the book.
    let hook = |positions: &[Position], nav: Decimal| -> Vec<Entry> {
        let eq1: Decimal = positions
            .iter()
            .filter(|p| p.asset_id == "id-EQ1")
            .map(|p| p.market_value)
            .sum();
        let w = (eq1 / nav).to_string().parse::<f64>().unwrap();
        vec![Entry::new(
            "eq1_weight",
            "EQ1 weight",
            Unit::Percent,
            Metric::Value(w),
        )]
    };
    let def = ScenarioDefinition {
        name: "equities down".into(),
        description: String::new(),
        shocks: vec![equity(None, None, "-20")],
    };
    let r = run_scenario(&f.inputs(Some(&hook)), &def).unwrap();
    // Equities −20%: P/L −672,000 (see the table); NAV 6,500,000 → 5,828,000.
    assert_eq!(r.nav_after, dec("5828000"));
    // Before: long 7,000,000, short −500,000, gross 7,500,000, net 6,500,000.
    assert_eq!(
        (r.before.long, r.before.short, r.before.gross, r.before.net),
        (
            dec("7000000"),
            dec("-500000"),
            dec("7500000"),
            dec("6500000")
        )
    );
    // After: long 7,000,000 − 520,000 − 200,000 − 32,000 = 6,248,000; short −420,000.
    assert_eq!(
        (r.after.long, r.after.short, r.after.gross, r.after.net),
        (
            dec("6248000"),
            dec("-420000"),
            dec("6668000"),
            dec("5828000")
        )
    );
    let kpi = |key: &str| r.kpis.iter().find(|k| k.key == key).unwrap();
    let close = |m: &Metric, want: f64| {
        let v = m.value().unwrap();
        assert!((v - want).abs() < 1e-12, "{v} vs {want}");
    };
    close(&kpi("leverage").before, 7_500_000.0 / 6_500_000.0);
    close(&kpi("leverage").after, 6_668_000.0 / 5_828_000.0);
    close(&kpi("scenario_return").after, -672_000.0 / 6_500_000.0);
    // History 6.0M → 6.6M → 6.5M: worst fall 6.5/6.6 − 1. After: one more day at
    // r = −672,000 / 6,500,000, so the trough is 6.5/6.6 · (1 + r) − 1 below the 6.6M peak.
    close(&kpi("max_drawdown").before, 6.5 / 6.6 - 1.0);
    let r_day = -672_000.0 / 6_500_000.0;
    close(&kpi("max_drawdown").after, 6.5 / 6.6 * (1.0 + r_day) - 1.0);
    close(&kpi("eq1_weight").before, 2_000_000.0 / 6_500_000.0);
    close(&kpi("eq1_weight").after, 1_480_000.0 / 5_828_000.0);
    // Limits: drawdown −10% (−1.5% → −11.7%: newly breached), stress −5% (not evaluable
    // before, −10.3% after), leverage 1.2 (1.154 → 1.144: fine), EQ1 weight 30% (30.8% →
    // 25.4%: no longer breached).
    let state = |checks: &[ballast_engine::limits::LimitCheck]| {
        checks
            .iter()
            .map(|c| (c.limit_id.clone(), c.breached, c.evaluated()))
            .collect::<Vec<_>>()
    };
    let s = |id: &str, b: bool, e: bool| (id.to_string(), b, e);
    assert_eq!(
        state(&r.limits_before),
        vec![
            s("L-dd", false, true),
            s("L-stress", false, false),
            s("L-lev", false, true),
            s("L-eq1", true, true)
        ]
    );
    assert_eq!(
        state(&r.limits_after),
        vec![
            s("L-dd", true, true),
            s("L-stress", true, true),
            s("L-lev", false, true),
            s("L-eq1", false, true)
        ]
    );
    assert_eq!(
        r.newly_breached,
        vec!["L-dd".to_string(), "L-stress".to_string()]
    );
    assert_eq!(r.breached().count(), 2);
}

#[test]
fn every_preset_runs_on_the_fixture() {
    use ballast_engine::presets::builtin_scenarios;
    let f = fixture();
    let presets = builtin_scenarios(as_of(), f.prices.range());
    // The history starts 2019-12-31: the 2020 replay is offered, the 2008 one is not.
    assert!(presets.iter().any(|p| p.key == "replay_2020"));
    assert!(!presets.iter().any(|p| p.key == "replay_2008"));
    let inputs = f.inputs(None);
    let pnl = |key: &str| {
        let p = presets.iter().find(|p| p.key == key).unwrap();
        run_scenario(&inputs, &p.definition).unwrap().pnl
    };
    for p in &presets {
        run_scenario(&inputs, &p.definition).unwrap_or_else(|e| panic!("{}: {e}", p.key));
    }
    // Hand figures from the table above.
    assert_eq!(pnl("rates_up_200"), dec("-147500"));
    assert_eq!(pnl("credit_up_100"), dec("-74500"));
    assert_eq!(pnl("usd_up_10"), dec("-200000"));
    assert_eq!(pnl("usd_down_10"), dec("200000"));
    assert_eq!(pnl("equities_down_20"), dec("-672000"));
    assert_eq!(pnl("steepener_2s10s_50"), dec("-14804.69"));
    assert_eq!(pnl("redemption_run_25"), Decimal::ZERO);
}

#[test]
fn run_all_gives_each_definition_its_own_result_in_order() {
    use ballast_engine::presets::builtin_scenarios;
    use ballast_engine::scenario_run::ScenarioBook;
    let f = fixture();
    let presets = builtin_scenarios(as_of(), f.prices.range());
    let mut definitions: Vec<ScenarioDefinition> =
        presets.iter().map(|p| p.definition.clone()).collect();
    // One that fails validation: its error comes back in its place, the others still run.
    definitions.insert(
        3,
        ScenarioDefinition {
            name: "bad".into(),
            description: String::new(),
            shocks: vec![Shock::ParallelRate { bp: dec("5000") }],
        },
    );
    let book = ScenarioBook::new(f.inputs(None)).unwrap();
    let together = book.run_all(&definitions);
    assert_eq!(together.len(), definitions.len());
    for (def, result) in definitions.iter().zip(&together) {
        match (book.run(def), result) {
            (Ok(one), Ok(all)) => assert_eq!(&one, all, "{}", def.name),
            (Err(one), Err(all)) => assert_eq!(&one, all, "{}", def.name),
            (one, all) => panic!("{}: {one:?} vs {all:?}", def.name),
        }
    }
    assert!(together[3].is_err());
}
