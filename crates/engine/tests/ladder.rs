//! The liquidity ladder against a worked example derived by hand.
//!
//! As of Thursday 2024-06-27, NAV 9,300,000, dealing monthly with a 30% gate
//! (cap 0.30 × 9,300,000 = 2,790,000 per dealing date), participation 20%.
//!
//! | position | class   | value      | how it turns into cash                                  |
//! |----------|---------|-----------:|---------------------------------------------------------|
//! | CASH     | cash    |    500,000 | at once                                                 |
//! | EQA      | equity  |  5,000,000 | 100,000 shares, ADV 5,000: 1,000 a day = 50,000 a day,   |
//! |          |         |            | 100 days to sell it all                                 |
//! | EQB      | equity  |  2,000,000 | 200,000 shares, ADV 1,000,000: 200,000 a day = all in 1 |
//! | FND      | fund    |  1,000,000 | 45 days' notice                                         |
//! | PRV      | private |    500,000 | liquidity class "quarterly": 90 days                    |
//! | LOCK     | private |    400,000 | liquidity class "locked": beyond                        |
//! | SHT      | equity  |   −100,000 | a short: raises nothing (noted)                         |
//!
//! Capacity per bucket (cumulative):
//! - T+1:   500,000 + 50,000 (EQA day 1) + 2,000,000 = 2,550,000 (2,550,000)
//! - T+7:   EQA days 2–7, 6 × 50,000 = 300,000 (2,850,000)
//! - T+30:  EQA days 8–30, 23 × 50,000 = 1,150,000 (4,000,000)
//! - T+90:  EQA days 31–90, 60 × 50,000 = 3,000,000 + FND 1,000,000 + PRV 500,000
//!   = 4,500,000 (8,500,000)
//! - T+365: EQA days 91–100, 500,000 (9,000,000)
//! - beyond: LOCK 400,000 (9,400,000)
//!
//! Flows: R1 pending 600,000 dealing 2024-06-28 (day 1 → T+1); R2 confirmed 1,500,000
//! dealing 2024-07-28 (day 31 → T+90); ignored: a settled and a cancelled redemption, a
//! subscription, and a redemption noticed only on 2024-07-01 (after the as-of date).
//!
//! Base demand: T+1 600,000, T+90 1,500,000 (both under the gate). Cumulative 600,000,
//! 600,000, 600,000, 2,100,000, 2,100,000, 2,100,000. Coverage 2,550,000/600,000 = 4.25,
//! 2,850,000/600,000 = 4.75, 4,000,000/600,000 = 6.667, 8,500,000/2,100,000 = 4.048,
//! 9,000,000/2,100,000 = 4.286, 9,400,000/2,100,000 = 4.476. Surplus 1,950,000, 2,250,000,
//! 3,400,000, 6,400,000, 6,900,000, 7,300,000. No breach.
//!
//! Stressed: 50% of NAV (4,650,000) more redeemed on 2024-06-28.
//! - 06-28: 600,000 + 4,650,000 = 5,250,000 due, 2,790,000 paid, 2,460,000 carried a month;
//! - 07-28: 1,500,000 + 2,460,000 = 3,960,000 due, 2,790,000 paid, 1,170,000 carried;
//! - 08-28 (day 62, T+90): 1,170,000 paid.
//!
//! Stressed demand: T+1 2,790,000, T+90 2,790,000 + 1,170,000 = 3,960,000 (total 6,750,000 =
//! 600,000 + 4,650,000 + 1,500,000). Cumulative 2,790,000, 2,790,000, 2,790,000, 6,750,000,
//! 6,750,000, 6,750,000. Surplus −240,000 (a breach at T+1), 60,000, 1,210,000, 1,750,000,
//! 2,250,000, 2,650,000. Delta (stressed − base) of demand +2,190,000 at T+1 and +2,460,000
//! at T+90; of surplus −2,190,000 through T+30, −4,650,000 from T+90.
//!
//! Waterfall (cost by the bucket where the position is fully sold: T+1 10 bp, T+90 100 bp,
//! T+365 200 bp, beyond 500 bp; cash 0): CASH (0 days, 0), EQB (1 day, 10 bp = 2,000), FND
//! (45 days, 100 bp = 10,000), PRV (90 days, 100 bp = 5,000), EQA (100 days, 200 bp =
//! 100,000), LOCK (beyond, 500 bp = 20,000). Cumulative proceeds 500,000, 2,498,000,
//! 3,488,000, 3,983,000, 8,883,000, 9,263,000; remaining 8,900,000, 6,900,000, 5,900,000,
//! 5,400,000, 400,000, 0.
//!
//! Days to liquidate 90% of NAV (8,370,000): by day 89 the capacity is 500,000 + 2,000,000 +
//! 1,000,000 + 89 × 50,000 = 7,950,000; on day 90 PRV and one more EQA day make 8,500,000.
//! So 90 days.

use ballast_engine::fx::FxTable;
use ballast_engine::history::PriceHistory;
use ballast_engine::ladder::{
    base_vs_stressed, compare, liquidity_ladder, Ladder, LadderConfig, LadderError, LadderInputs,
};
use ballast_engine::model::{Asset, AssetClass, FundFlow, LiquidityTerms, Position};
use ballast_engine::scenario::{ScenarioDefinition, Shock};
use ballast_engine::scenario_run::{run_scenario, ScenarioInputs};
use chrono::NaiveDate;
use rust_decimal::Decimal;

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, m, d).unwrap()
}

struct Book {
    assets: Vec<Asset>,
    positions: Vec<Position>,
    flows: Vec<FundFlow>,
    terms: LiquidityTerms,
}

fn book() -> Book {
    let mut assets = Vec::new();
    let mut positions = Vec::new();
    let mut add =
        |symbol: &str, class: AssetClass, qty: &str, value: &str, f: &dyn Fn(&mut Asset)| {
            let mut a = Asset::new(symbol, symbol, symbol, class, "USD");
            f(&mut a);
            assets.push(a);
            positions.push(Position {
                id: format!("p-{symbol}"),
                portfolio_id: "P".into(),
                asset_id: symbol.into(),
                date: date(6, 27),
                quantity: dec(qty),
                market_value: dec(value),
            });
        };
    add("CASH", AssetClass::Cash, "500000", "500000", &|_| {});
    add("EQA", AssetClass::Equity, "100000", "5000000", &|a| {
        a.avg_daily_volume = Some(dec("5000"))
    });
    add("EQB", AssetClass::Equity, "200000", "2000000", &|a| {
        a.avg_daily_volume = Some(dec("1000000"))
    });
    add("FND", AssetClass::Fund, "1000", "1000000", &|a| {
        a.redemption_notice_days = Some(45)
    });
    add("PRV", AssetClass::Private, "1", "500000", &|a| {
        a.liquidity_class = Some("quarterly".into())
    });
    add("LOCK", AssetClass::Private, "1", "400000", &|a| {
        a.liquidity_class = Some("locked".into())
    });
    add("SHT", AssetClass::Equity, "-10000", "-100000", &|a| {
        a.avg_daily_volume = Some(dec("1000000"))
    });
    let flow = |id: &str,
                kind: &str,
                amount: &str,
                notice: NaiveDate,
                dealing: NaiveDate,
                status: &str| FundFlow {
        id: id.into(),
        portfolio_id: "P".into(),
        investor_id: "I".into(),
        kind: kind.into(),
        amount: dec(amount),
        notice_date: notice,
        dealing_date: dealing,
        status: status.into(),
    };
    let flows = vec![
        flow(
            "R1",
            "redemption",
            "600000",
            date(5, 28),
            date(6, 28),
            "pending",
        ),
        flow(
            "R2",
            "redemption",
            "1500000",
            date(6, 20),
            date(7, 28),
            "confirmed",
        ),
        flow(
            "R3",
            "redemption",
            "999",
            date(5, 1),
            date(6, 28),
            "settled",
        ),
        flow(
            "R4",
            "redemption",
            "888",
            date(5, 1),
            date(6, 28),
            "cancelled",
        ),
        flow(
            "S1",
            "subscription",
            "777",
            date(6, 1),
            date(6, 28),
            "pending",
        ),
        flow(
            "R5",
            "redemption",
            "666",
            date(7, 1),
            date(7, 28),
            "pending",
        ),
    ];
    let terms = LiquidityTerms {
        id: "T".into(),
        portfolio_id: "P".into(),
        dealing_frequency: "monthly".into(),
        notice_days: 30,
        gate_pct: dec("0.30"),
        lockup_days: 365,
    };
    Book {
        assets,
        positions,
        flows,
        terms,
    }
}

impl Book {
    fn inputs(&self) -> LadderInputs<'_> {
        LadderInputs {
            as_of: date(6, 27),
            nav: dec("9300000"),
            positions: &self.positions,
            assets: &self.assets,
            fund_flows: &self.flows,
            terms: Some(&self.terms),
        }
    }
}

/// (symbol, days to liquidate, cost bp, cost, cumulative proceeds, remaining)
type Step<'a> = (&'a str, Option<u32>, Decimal, Decimal, Decimal, Decimal);

fn millions(values: &[&str]) -> Vec<Decimal> {
    values.iter().map(|v| dec(v)).collect()
}

fn column(
    ladder: &Ladder,
    f: impl Fn(&ballast_engine::ladder::LadderBucket) -> Decimal,
) -> Vec<Decimal> {
    ladder.buckets.iter().map(f).collect()
}

#[test]
fn worked_example_base_and_stressed() {
    let b = book();
    let config = LadderConfig::default();
    let base = liquidity_ladder(&b.inputs(), &config, &[]).unwrap();
    let labels: Vec<&str> = base.buckets.iter().map(|x| x.label.as_str()).collect();
    assert_eq!(labels, ["T+1", "T+7", "T+30", "T+90", "T+365", "beyond"]);
    assert_eq!(
        column(&base, |x| x.capacity),
        millions(&["2550000", "300000", "1150000", "4500000", "500000", "400000"])
    );
    assert_eq!(
        column(&base, |x| x.cum_capacity),
        millions(&["2550000", "2850000", "4000000", "8500000", "9000000", "9400000"])
    );
    assert_eq!(
        column(&base, |x| x.demand),
        millions(&["600000", "0", "0", "1500000", "0", "0"])
    );
    assert_eq!(
        column(&base, |x| x.cum_demand),
        millions(&["600000", "600000", "600000", "2100000", "2100000", "2100000"])
    );
    assert_eq!(
        column(&base, |x| x.surplus),
        millions(&["1950000", "2250000", "3400000", "6400000", "6900000", "7300000"])
    );
    let coverage: Vec<f64> = base.buckets.iter().map(|x| x.coverage.unwrap()).collect();
    let want = [4.25, 4.75, 4.0 / 0.6, 8.5 / 2.1, 9.0 / 2.1, 9.4 / 2.1];
    for (got, want) in coverage.iter().zip(want) {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    assert!(base.buckets.iter().all(|x| !x.breach));
    // Share of NAV liquidatable in one day: 2,550,000 / 9,300,000.
    assert!((base.buckets[0].cum_capacity_pct.unwrap() - 2.55 / 9.3).abs() < 1e-12);
    assert_eq!(base.days_to_liquidate_90, Some(90));
    assert_eq!(base.notes.len(), 1);
    assert_eq!(base.notes[0].symbol, "SHT");
    // Under the gate nothing is carried.
    assert!(base.dealing_dates.iter().all(|d| d.carried_out.is_zero()));

    let order: Vec<Step> = base
        .waterfall
        .iter()
        .map(|s| {
            (
                s.symbol.as_str(),
                s.days_to_liquidate,
                s.cost_bp,
                s.cost,
                s.cum_proceeds,
                s.remaining,
            )
        })
        .collect();
    assert_eq!(
        order,
        vec![
            (
                "CASH",
                Some(0),
                dec("0"),
                dec("0"),
                dec("500000"),
                dec("8900000")
            ),
            (
                "EQB",
                Some(1),
                dec("10"),
                dec("2000"),
                dec("2498000"),
                dec("6900000")
            ),
            (
                "FND",
                Some(45),
                dec("100"),
                dec("10000"),
                dec("3488000"),
                dec("5900000")
            ),
            (
                "PRV",
                Some(90),
                dec("100"),
                dec("5000"),
                dec("3983000"),
                dec("5400000")
            ),
            (
                "EQA",
                Some(100),
                dec("200"),
                dec("100000"),
                dec("8883000"),
                dec("400000")
            ),
            (
                "LOCK",
                None,
                dec("500"),
                dec("20000"),
                dec("9263000"),
                dec("0")
            ),
        ]
    );

    let stressed =
        liquidity_ladder(&b.inputs(), &config, &[(date(6, 28), dec("4650000"))]).unwrap();
    let gates: Vec<(NaiveDate, Decimal, Decimal, Decimal, Decimal)> = stressed
        .dealing_dates
        .iter()
        .map(|d| (d.date, d.requested, d.carried_in, d.paid, d.carried_out))
        .collect();
    assert_eq!(
        gates,
        vec![
            (
                date(6, 28),
                dec("5250000"),
                dec("0"),
                dec("2790000"),
                dec("2460000")
            ),
            (
                date(7, 28),
                dec("1500000"),
                dec("2460000"),
                dec("2790000"),
                dec("1170000")
            ),
            (
                date(8, 28),
                dec("0"),
                dec("1170000"),
                dec("1170000"),
                dec("0")
            ),
        ]
    );
    assert_eq!(
        column(&stressed, |x| x.demand),
        millions(&["2790000", "0", "0", "3960000", "0", "0"])
    );
    assert_eq!(
        column(&stressed, |x| x.surplus),
        millions(&["-240000", "60000", "1210000", "1750000", "2250000", "2650000"])
    );
    let breaches: Vec<bool> = stressed.buckets.iter().map(|x| x.breach).collect();
    assert_eq!(breaches, [true, false, false, false, false, false]);
    assert!((stressed.buckets[0].coverage.unwrap() - 2.55 / 2.79).abs() < 1e-12);

    let cmp = compare(base, stressed);
    let demand: Vec<Decimal> = cmp.delta.iter().map(|d| d.demand).collect();
    assert_eq!(
        demand,
        millions(&["2190000", "0", "0", "2460000", "0", "0"])
    );
    let surplus: Vec<Decimal> = cmp.delta.iter().map(|d| d.surplus).collect();
    assert_eq!(
        surplus,
        millions(&["-2190000", "-2190000", "-2190000", "-4650000", "-4650000", "-4650000"])
    );
    assert!(cmp.delta.iter().all(|d| d.capacity.is_zero()));
}

#[test]
fn without_a_gate_everything_is_due_on_its_date() {
    let mut b = book();
    b.terms.gate_pct = Decimal::ZERO;
    let l = liquidity_ladder(
        &b.inputs(),
        &LadderConfig::default(),
        &[(date(6, 28), dec("4650000"))],
    )
    .unwrap();
    // 600,000 + 4,650,000 at T+1 against 2,550,000: a 2,700,000 shortfall.
    assert_eq!(l.buckets[0].demand, dec("5250000"));
    assert_eq!(l.buckets[0].surplus, dec("-2700000"));
    assert_eq!(l.dealing_dates.len(), 2);
}

#[test]
fn stressed_by_a_scenario() {
    // Equities −20% and a 50% redemption on 2024-06-28. P/L: EQA −1,000,000, EQB −400,000,
    // SHT (short, −100,000) +20,000 → −1,380,000; shocked NAV 7,920,000, redemption 50% of
    // it = 3,960,000; gate 30% of 7,920,000 = 2,376,000.
    // Stressed T+1 capacity: 500,000 + 4,000,000 × 1% + 1,600,000 = 2,140,000.
    // T+1 demand: 600,000 + 3,960,000 = 4,560,000 capped at 2,376,000 → surplus −236,000.
    let b = book();
    let fx = FxTable::default();
    let prices = PriceHistory::default();
    let inputs = ScenarioInputs {
        as_of: date(6, 27),
        base_currency: "USD",
        nav: dec("9300000"),
        positions: &b.positions,
        assets: &b.assets,
        fx: &fx,
        prices: &prices,
        sector_coefficients: &[],
        risk_limits: &[],
        nav_history: &[],
        kpi_hook: None,
    };
    let def = ScenarioDefinition {
        name: "run".into(),
        description: String::new(),
        shocks: vec![
            Shock::Equity {
                market: None,
                sector: None,
                pct: dec("-20"),
            },
            Shock::Redemption {
                share: dec("0.5"),
                by: date(6, 28),
            },
        ],
    };
    let result = run_scenario(&inputs, &def).unwrap();
    assert_eq!(result.pnl, dec("-1380000"));
    let cmp = base_vs_stressed(&b.inputs(), &LadderConfig::default(), &result).unwrap();
    let t1 = &cmp.stressed.buckets[0];
    assert_eq!(t1.cum_capacity, dec("2140000"));
    assert_eq!(t1.demand, dec("2376000"));
    assert_eq!(t1.surplus, dec("-236000"));
    assert!(t1.breach);
    assert_eq!(cmp.delta[0].capacity, dec("-410000"));
    assert_eq!(
        cmp.base,
        liquidity_ladder(&b.inputs(), &LadderConfig::default(), &[]).unwrap()
    );
}

#[test]
fn configuration_errors() {
    let b = book();
    let bad = |f: &dyn Fn(&mut LadderConfig)| {
        let mut c = LadderConfig::default();
        f(&mut c);
        liquidity_ladder(&b.inputs(), &c, &[]).unwrap_err()
    };
    assert_eq!(
        bad(&|c| c.buckets = vec![1, 30, 7]),
        LadderError::BadBuckets(vec![1, 30, 7])
    );
    assert_eq!(
        bad(&|c| c.participation = dec("1.5")),
        LadderError::BadParticipation(dec("1.5"))
    );
    assert_eq!(
        bad(&|c| c.cost_bp.pop().map(|_| ()).unwrap_or(())),
        LadderError::BadCosts {
            expected: 6,
            got: 5
        }
    );
    let mut odd = book();
    odd.terms.dealing_frequency = "fortnightly".into();
    assert_eq!(
        liquidity_ladder(&odd.inputs(), &LadderConfig::default(), &[]).unwrap_err(),
        LadderError::UnknownDealingFrequency("fortnightly".into())
    );
    // Custom buckets: 2 and 10 days.
    let c = LadderConfig {
        buckets: vec![2, 10],
        cost_bp: millions(&["5", "20", "300"]),
        ..LadderConfig::default()
    };
    let l = liquidity_ladder(&b.inputs(), &c, &[]).unwrap();
    // T+2: 500,000 + 2 × 50,000 (EQA) + 2,000,000 = 2,600,000; T+10: 8 more EQA days,
    // 400,000 → 3,000,000; beyond: everything else, 9,400,000 in all.
    assert_eq!(
        column(&l, |x| x.cum_capacity),
        millions(&["2600000", "3000000", "9400000"])
    );
}
