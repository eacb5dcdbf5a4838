//! The simulation behind [`generate`]: reference data, market paths, then each fund's life
//! (inception, monthly rebalancing trades, dealing-day flows, daily valuation).

use std::collections::BTreeMap;

use ballast_engine::model::*;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::seq::IndexedRandom;
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::Decimal;

use crate::inputs;
use crate::DemoConfig;

const CURRENCIES: [&str; 5] = ["USD", "EUR", "GBP", "JPY", "CHF"];
const RATINGS: [&str; 7] = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC"];
const MACRO_FACTORS: [&str; 3] = ["gdp_growth", "policy_rate", "inflation"];

/// Generate the demo dataset for `config`. Deterministic: same config, same dataset.
pub fn generate(config: &DemoConfig) -> Dataset {
    let mut sim = Simulation::new(config);
    sim.reference_data();
    sim.markets();
    for index in 0..sim.data.portfolios.len() {
        sim.run_fund(index);
    }
    sim.pending_redemptions();
    sim.benchmarks();
    sim.data
}

fn dec(value: f64, dp: u32) -> Decimal {
    Decimal::from_f64(value)
        .unwrap_or_else(|| panic!("{value} is not representable as a decimal"))
        .round_dp(dp)
}

fn business_days(start: NaiveDate, end: NaiveDate) -> Vec<NaiveDate> {
    start
        .iter_days()
        .take_while(|d| *d <= end)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
        .collect()
}

/// The instruments one fund holds with a target weight each (negative = short).
struct Holding {
    asset: usize,
    weight: f64,
}

struct Simulation {
    config: DemoConfig,
    rng: ChaCha8Rng,
    data: Dataset,
    days: Vec<NaiveDate>,
    /// Close of every asset on every day, same order as `data.assets` and `days`.
    closes: Vec<Vec<Decimal>>,
    /// US dollars per one unit of each currency, per day.
    usd_per: BTreeMap<&'static str, Vec<Decimal>>,
    initial_navs: Vec<f64>,
    next_trade: usize,
    /// Daily factor moves (market, rates, credit), kept to price the benchmark indices.
    factors: Factors,
}

#[derive(Default)]
struct Factors {
    market: Vec<f64>,
    rates: Vec<f64>,
    credit: Vec<f64>,
}

impl Simulation {
    fn new(config: &DemoConfig) -> Self {
        let start = config.end - Duration::days(365 * i64::from(config.years));
        Simulation {
            config: *config,
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            data: Dataset::default(),
            days: business_days(start, config.end),
            closes: Vec::new(),
            usd_per: BTreeMap::new(),
            initial_navs: Vec::new(),
            next_trade: 0,
            factors: Factors::default(),
        }
    }

    /// A UUIDv7 stamped with `date`, its random part from the seeded stream.
    fn id(&mut self, date: NaiveDate) -> String {
        let millis = date
            .and_hms_opt(12, 0, 0)
            .expect("valid time")
            .and_utc()
            .timestamp_millis() as u64;
        let mut random = [0u8; 10];
        self.rng.fill_bytes(&mut random);
        uuid::Builder::from_unix_timestamp_millis(millis, &random)
            .into_uuid()
            .to_string()
    }

    fn start(&self) -> NaiveDate {
        self.days[0]
    }

    fn count(&self, full: usize) -> usize {
        (full / self.config.asset_divisor).max(1)
    }

    fn reference_data(&mut self) {
        let start = self.start();
        for row in inputs::portfolios() {
            let id = self.id(start);
            self.data.portfolios.push(Portfolio {
                id: id.clone(),
                code: row.code.into(),
                name: row.name.into(),
                base_currency: row.base_currency.into(),
                strategy: row.strategy.into(),
                inception: start,
                benchmark: Some(row.benchmark.into()),
                status: "active".into(),
                lp_visible: row.lp_visible,
            });
            self.initial_navs.push(row.initial_nav);
            let terms_id = self.id(start);
            self.data.liquidity_terms.push(LiquidityTerms {
                id: terms_id,
                portfolio_id: id.clone(),
                dealing_frequency: row.dealing_frequency.into(),
                notice_days: row.notice_days,
                gate_pct: row.gate_pct.parse().expect("gate in portfolios.csv"),
                lockup_days: row.lockup_days,
            });
            for (metric, threshold, severity) in [
                ("max_drawdown", "-0.10", "warning"),
                ("max_drawdown", "-0.20", "breach"),
                ("annual_volatility", "0.12", "warning"),
                ("annual_volatility", "0.25", "breach"),
            ] {
                let limit_id = self.id(start);
                self.data.risk_limits.push(RiskLimit {
                    id: limit_id,
                    portfolio_id: id.clone(),
                    metric: metric.into(),
                    threshold: threshold.parse().expect("threshold literal"),
                    severity: severity.into(),
                });
            }
            let account_id = self.id(start);
            let broker = match row.code {
                "EQLS" => "Goldman Sachs Prime",
                "CRED" => "BNP Paribas",
                _ => "Interactive Brokers",
            };
            let reference = format!("U{}", self.rng.random_range(1_000_000..9_999_999));
            self.data.accounts.push(Account {
                id: account_id,
                portfolio_id: id,
                broker: broker.into(),
                broker_account_ref: reference,
            });
        }
        for row in inputs::investors() {
            let id = self.id(start);
            self.data.investors.push(Investor {
                id,
                name: row.name.into(),
                classification: row.classification.into(),
                kyc_status: row.kyc_status.into(),
                login_role: row.login_role.map(Into::into),
            });
        }
        let sectors = inputs::sectors();
        for sector in &sectors {
            for factor in MACRO_FACTORS {
                let elasticity = match factor {
                    "gdp_growth" => sector.beta * 1.8,
                    "policy_rate" => -(sector.beta - 0.3) * 2.5,
                    _ => {
                        -0.6 + (sector.sector == "Energy" || sector.sector == "Materials") as u8
                            as f64
                            * 1.4
                    }
                };
                let id = self.id(start);
                self.data.sector_coefficients.push(SectorCoefficient {
                    id,
                    sector: sector.sector.into(),
                    macro_factor: factor.into(),
                    elasticity: dec(elasticity, 4),
                    effective_date: start,
                });
            }
        }
        self.assets(&sectors);
    }

    fn assets(&mut self, sectors: &[inputs::SectorRow]) {
        let countries = inputs::countries();
        let words = inputs::words();
        let country_bag: Vec<&inputs::CountryRow> = countries
            .iter()
            .flat_map(|c| std::iter::repeat_n(c, c.weight as usize))
            .collect();
        let start = self.start();
        let add = |sim: &mut Simulation, asset: Asset| {
            let id = sim.id(start);
            sim.data.assets.push(Asset { id, ..asset });
        };
        let blank = |symbol: String, name: String, class: AssetClass, currency: &str| {
            Asset::new(String::new(), symbol, name, class, currency)
        };
        for i in 0..self.count(150) {
            let sector = &sectors[i % sectors.len()];
            let country = *country_bag.choose(&mut self.rng).expect("countries");
            let word = &words[(i * 7 + i / words.len()) % words.len()];
            let beta = sector.beta + self.rng.random_range(-0.25..0.25);
            let adv = self.rng.random_range(150_000.0..6_000_000.0);
            let mut a = blank(
                format!("{}{:03}", &word.prefix[..3].to_uppercase(), i),
                format!("{} {} {}", word.prefix, sector.sector, word.suffix),
                AssetClass::Equity,
                country.currency,
            );
            a.sector = Some(sector.sector.into());
            a.country = Some(country.country.into());
            a.issuer = Some(format!("{} {}", word.prefix, word.suffix));
            a.beta = Some(dec(beta, 3));
            a.avg_daily_volume = Some(dec(adv, 0));
            a.liquidity_class = Some("L1".into());
            add(self, a);
        }
        for i in 0..self.count(60) {
            let word = &words[(i * 3) % words.len()];
            let currency = ["USD", "EUR", "EUR", "GBP"][i % 4];
            let rating = RATINGS[(i * 5 + i / 7) % RATINGS.len()];
            let years = self.rng.random_range(1.0..25.0f64);
            let duration = (years * 0.85).min(16.0);
            let convexity = duration * duration / 1.6 + self.rng.random_range(0.0..5.0);
            let coupon = self.rng.random_range(1.0..7.5f64);
            let sector = &sectors[(i * 3) % sectors.len()];
            let mut a = blank(
                format!("BD{:03}", i),
                format!(
                    "{} {:.3}% {}",
                    word.prefix,
                    coupon,
                    2026 + years.ceil() as i32
                ),
                AssetClass::Bond,
                currency,
            );
            a.sector = Some(sector.sector.into());
            a.country = Some(["US", "DE", "FR", "GB"][i % 4].into());
            a.issuer = Some(format!("{} {}", word.prefix, word.suffix));
            a.rating = Some(rating.into());
            a.maturity = Some(self.config.end + Duration::days((years * 365.0) as i64));
            a.coupon = Some(dec(coupon, 3));
            a.modified_duration = Some(dec(duration, 3));
            a.convexity = Some(dec(convexity, 3));
            a.spread_duration = Some(dec(duration * 0.97, 3));
            a.avg_daily_volume = Some(dec(self.rng.random_range(20_000.0..400_000.0), 0));
            a.liquidity_class = Some(
                if rating.starts_with('B') || rating == "CCC" {
                    "L3"
                } else {
                    "L2"
                }
                .into(),
            );
            add(self, a);
        }
        for i in 0..self.count(10) {
            let ccy = CURRENCIES[1 + i % 4];
            let tenor = ["1M", "3M", "6M"][i / 4 % 3];
            let mut a = blank(
                format!("{ccy}USD-{tenor}"),
                format!("{ccy}/USD forward {tenor}"),
                AssetClass::Fx,
                "USD",
            );
            a.avg_daily_volume = Some(dec(50_000_000.0, 0));
            a.liquidity_class = Some("L1".into());
            add(self, a);
        }
        let commodities = [
            "Gold",
            "Silver",
            "Brent Crude",
            "WTI Crude",
            "Copper",
            "Natural Gas",
            "Wheat",
            "Corn",
            "Platinum",
            "Soybeans",
            "Aluminium",
            "Nickel",
            "Coffee",
            "Sugar",
            "Cotton",
        ];
        for i in 0..self.count(15) {
            let name = commodities[i % commodities.len()];
            let mut a = blank(
                format!("CMD{:02}", i),
                format!("{name} futures"),
                AssetClass::Commodity,
                "USD",
            );
            a.sector = Some("Commodities".into());
            a.avg_daily_volume = Some(dec(self.rng.random_range(10_000.0..200_000.0), 0));
            a.liquidity_class = Some("L1".into());
            add(self, a);
        }
        for i in 0..self.count(20) {
            let word = &words[(i * 11 + 3) % words.len()];
            let notice = [30, 60, 90, 180][i % 4];
            let mut a = blank(
                format!("FND{:02}", i),
                format!(
                    "{} {} Fund",
                    word.prefix,
                    ["Macro", "Credit", "Equity", "Multi-Strategy"][i % 4]
                ),
                AssetClass::Fund,
                ["USD", "EUR"][i % 2],
            );
            a.redemption_notice_days = Some(notice);
            a.liquidity_class = Some("fund".into());
            a.beta = Some(dec(0.4, 2));
            add(self, a);
        }
        let coins = [
            "BTC", "ETH", "SOL", "ADA", "XRP", "DOT", "AVAX", "LINK", "MATIC", "ATOM",
        ];
        for i in 0..self.count(10) {
            let coin = coins[i % coins.len()];
            let mut a = blank(
                format!("{coin}-USD"),
                format!("{coin} spot"),
                AssetClass::Crypto,
                "USD",
            );
            a.avg_daily_volume = Some(dec(self.rng.random_range(5_000.0..500_000.0), 0));
            a.liquidity_class = Some("L2".into());
            add(self, a);
        }
        for i in 0..self.count(10) {
            let word = &words[(i * 13 + 5) % words.len()];
            let mut a = blank(
                format!("PRV{:02}", i),
                format!(
                    "{} private {}",
                    word.prefix,
                    ["equity", "credit", "infrastructure"][i % 3]
                ),
                AssetClass::Private,
                ["USD", "EUR"][i % 2],
            );
            a.liquidity_class = Some(["L4", "L5"][i % 2].into());
            a.lp_visible = false;
            add(self, a);
        }
        for ccy in CURRENCIES {
            let mut a = blank(
                format!("CASH-{ccy}"),
                format!("{ccy} cash"),
                AssetClass::Cash,
                ccy,
            );
            a.liquidity_class = Some("cash".into());
            add(self, a);
        }
        let futures = [
            ("ES", "USD"),
            ("NQ", "USD"),
            ("FESX", "EUR"),
            ("Z", "GBP"),
            ("NKD", "JPY"),
        ];
        for i in 0..self.count(20) {
            let (root, ccy) = futures[i % futures.len()];
            let mut a = blank(
                format!("{root}{}", ["Z6", "H7", "M7", "U7"][i / futures.len() % 4]),
                format!("{root} index future"),
                AssetClass::Derivative,
                ccy,
            );
            a.beta = Some(dec(1.0, 2));
            a.avg_daily_volume = Some(dec(self.rng.random_range(50_000.0..1_500_000.0), 0));
            a.liquidity_class = Some("L1".into());
            add(self, a);
        }
    }

    /// Market paths: factors, FX, then every asset's close.
    fn markets(&mut self) {
        let n = self.days.len();
        let normal = |mean: f64, sd: f64| Normal::new(mean, sd).expect("valid normal");
        let bear = |d: &NaiveDate| d.year() == 2022;
        let mut market = Vec::with_capacity(n);
        let mut rates = Vec::with_capacity(n);
        let mut credit = Vec::with_capacity(n);
        let mut commodity = Vec::with_capacity(n);
        let mut crypto = Vec::with_capacity(n);
        for d in &self.days {
            let b = bear(d);
            market.push(
                normal(
                    if b { -0.0010 } else { 0.0006 },
                    if b { 0.016 } else { 0.009 },
                )
                .sample(&mut self.rng),
            );
            rates.push(normal(if b { 0.00012 } else { -0.00001 }, 0.0006).sample(&mut self.rng));
            credit.push(normal(if b { 0.00003 } else { -0.00001 }, 0.0003).sample(&mut self.rng));
            commodity.push(normal(if b { 0.0008 } else { 0.0001 }, 0.014).sample(&mut self.rng));
            crypto.push(normal(if b { -0.003 } else { 0.0015 }, 0.035).sample(&mut self.rng));
        }
        self.factors = Factors {
            market: market.clone(),
            rates: rates.clone(),
            credit: credit.clone(),
        };
        let sectors: Vec<String> = inputs::sectors()
            .iter()
            .map(|s| s.sector.to_string())
            .collect();
        let sector_moves: BTreeMap<String, Vec<f64>> = sectors
            .iter()
            .map(|s| {
                (
                    s.clone(),
                    (0..n)
                        .map(|_| normal(0.0, 0.006).sample(&mut self.rng))
                        .collect(),
                )
            })
            .collect();
        let start_levels = [
            ("USD", 1.0),
            ("EUR", 1.17),
            ("GBP", 1.36),
            ("JPY", 0.0090),
            ("CHF", 1.09),
        ];
        for (ccy, level) in start_levels {
            let mut value = level;
            let mut path = Vec::with_capacity(n);
            for d in &self.days {
                if ccy != "USD" {
                    let drift = if bear(d) { -0.0004 } else { 0.00005 };
                    value *= 1.0 + normal(drift, 0.005).sample(&mut self.rng);
                }
                path.push(dec(value, 6));
            }
            self.usd_per.insert(ccy, path);
        }
        for ccy in &CURRENCIES[1..] {
            for (day, rate) in self.days.iter().zip(&self.usd_per[ccy]) {
                self.data.fx_rates.push(FxRate {
                    pair: format!("{ccy}USD"),
                    date: *day,
                    rate: *rate,
                });
            }
        }
        let assets = self.data.assets.clone();
        for asset in &assets {
            let mut price = match asset.asset_class {
                AssetClass::Bond => 100.0 + self.rng.random_range(-8.0..8.0),
                AssetClass::Cash => 1.0,
                AssetClass::Derivative => self.rng.random_range(3_000.0..20_000.0),
                AssetClass::Crypto => self.rng.random_range(1.0..40_000.0),
                AssetClass::Fx => 0.0,
                _ => self.rng.random_range(15.0..400.0),
            };
            let beta = asset.beta.and_then(|b| b.to_f64()).unwrap_or(1.0);
            let idio = inputs::sectors()
                .iter()
                .find(|s| Some(s.sector) == asset.sector.as_deref())
                .map_or(0.012, |s| s.idio_vol);
            let duration = asset
                .modified_duration
                .and_then(|d| d.to_f64())
                .unwrap_or(0.0);
            let convexity = asset.convexity.and_then(|d| d.to_f64()).unwrap_or(0.0);
            let coupon = asset.coupon.and_then(|d| d.to_f64()).unwrap_or(0.0) / 100.0;
            let fx_ccy = asset.symbol.get(..3).unwrap_or("USD").to_string();
            let mut closes = Vec::with_capacity(n);
            for t in 0..n {
                let r = match asset.asset_class {
                    AssetClass::Equity => {
                        let sector = asset.sector.as_deref().map_or(0.0, |s| sector_moves[s][t]);
                        beta * market[t] + sector + normal(0.0, idio).sample(&mut self.rng)
                    }
                    AssetClass::Bond => {
                        let dy = rates[t] + credit[t];
                        -duration * dy + 0.5 * convexity * dy * dy + coupon / 252.0
                    }
                    AssetClass::Commodity => {
                        0.8 * commodity[t] + normal(0.0, 0.01).sample(&mut self.rng)
                    }
                    AssetClass::Fund => {
                        0.4 * market[t] + normal(0.0002, 0.004).sample(&mut self.rng)
                    }
                    AssetClass::Crypto => crypto[t] + normal(0.0, 0.02).sample(&mut self.rng),
                    AssetClass::Private => {
                        let month_end =
                            t + 1 == n || self.days[t + 1].month() != self.days[t].month();
                        if month_end {
                            normal(0.007, 0.03).sample(&mut self.rng)
                        } else {
                            0.0
                        }
                    }
                    AssetClass::Derivative => {
                        beta * market[t] + normal(0.0, 0.002).sample(&mut self.rng)
                    }
                    AssetClass::Cash | AssetClass::Fx => 0.0,
                };
                if t > 0 {
                    price *= 1.0 + r.max(-0.5);
                }
                let close = match asset.asset_class {
                    AssetClass::Fx => self
                        .usd_per
                        .get(fx_ccy.as_str())
                        .map_or(Decimal::ONE, |p| p[t]),
                    _ => dec(price.max(0.0001), 4),
                };
                closes.push(close);
            }
            for (day, close) in self.days.iter().zip(&closes) {
                self.data.prices.push(Price {
                    asset_id: asset.id.clone(),
                    date: *day,
                    close: *close,
                });
            }
            self.closes.push(closes);
        }
    }

    /// Units of `base` for one unit of `ccy` on day `t`.
    fn to_base(&self, ccy: &str, base: &str, t: usize) -> Decimal {
        (self.usd_per[ccy][t] / self.usd_per[base][t]).round_dp(10)
    }

    fn pick(&mut self, class: AssetClass, count: usize) -> Vec<usize> {
        let candidates: Vec<usize> = (0..self.data.assets.len())
            .filter(|&i| self.data.assets[i].asset_class == class)
            .collect();
        let take = count.min(candidates.len());
        candidates
            .choose_multiple(&mut self.rng, take)
            .copied()
            .collect()
    }

    fn holdings_for(&mut self, code: &str) -> Vec<Holding> {
        use AssetClass::*;
        let plan: &[(AssetClass, usize, f64)] = match code {
            "EQLS" => &[
                (Equity, 30, 0.90),
                (Equity, 10, -0.30),
                (Derivative, 3, -0.10),
            ],
            "CRED" => &[(Bond, 30, 0.75), (Fund, 4, 0.10), (Private, 4, 0.08)],
            _ => &[
                (Equity, 15, 0.30),
                (Bond, 10, 0.25),
                (Fx, 3, 0.04),
                (Commodity, 5, 0.10),
                (Fund, 3, 0.08),
                (Crypto, 2, 0.02),
                (Private, 2, 0.04),
                (Derivative, 2, 0.05),
            ],
        };
        let mut holdings: Vec<Holding> = Vec::new();
        for &(class, count, weight) in plan {
            let picked: Vec<usize> = self
                .pick(class, count)
                .into_iter()
                .filter(|a| holdings.iter().all(|h| h.asset != *a))
                .collect();
            let each = weight / picked.len().max(1) as f64;
            for asset in picked {
                let tilt = self.rng.random_range(0.6..1.4);
                holdings.push(Holding {
                    asset,
                    weight: each * tilt,
                });
            }
        }
        holdings
    }

    fn trade(&mut self, portfolio: usize, asset: usize, t: usize, quantity: Decimal) -> Trade {
        let account = &self.data.accounts[portfolio];
        let a = &self.data.assets[asset];
        let price = self.closes[asset][t];
        self.next_trade += 1;
        let date = self.days[t];
        let fees = (quantity.abs() * price * Decimal::new(5, 4)).round_dp(2);
        let settle = business_days(date + Duration::days(1), date + Duration::days(7))[1];
        let (account_id, broker, currency, code) = (
            account.id.clone(),
            account.broker.clone(),
            a.currency.clone(),
            self.data.portfolios[portfolio].code.clone(),
        );
        Trade {
            id: self.id(date),
            account_id,
            asset_id: self.data.assets[asset].id.clone(),
            broker,
            broker_trade_id: format!("{code}-{:06}", self.next_trade),
            side: if quantity >= Decimal::ZERO {
                Side::Buy
            } else {
                Side::Sell
            },
            quantity: quantity.abs(),
            price,
            fees,
            currency,
            trade_date: date,
            settle_date: settle,
        }
    }

    fn is_dealing_day(&self, t: usize, frequency: &str) -> bool {
        let Some(next) = self.days.get(t + 1) else {
            return false;
        };
        let month_end = next.month() != self.days[t].month();
        match frequency {
            "quarterly" => month_end && self.days[t].month().is_multiple_of(3),
            _ => month_end,
        }
    }

    /// Inception, daily valuation, monthly rebalancing and dealing-day flows of one fund.
    fn run_fund(&mut self, p: usize) {
        let portfolio = self.data.portfolios[p].clone();
        let base = portfolio.base_currency.clone();
        let terms = self.data.liquidity_terms[p].clone();
        let initial = dec(self.initial_navs[p], 2);
        let holdings = self.holdings_for(&portfolio.code);
        let cash_asset = (0..self.data.assets.len())
            .find(|&i| self.data.assets[i].symbol == format!("CASH-{base}"))
            .expect("a cash instrument in the base currency");
        let mut quantities: Vec<Decimal> = Vec::with_capacity(holdings.len());
        let mut cash = initial;
        let mut trades = Vec::new();
        for h in &holdings {
            let a = &self.data.assets[h.asset];
            let unit_value = self.closes[h.asset][0] * self.to_base(&a.currency, &base, 0);
            let quantity = dec(self.initial_navs[p] * h.weight, 2) / unit_value;
            let quantity = quantity.round_dp(0);
            let trade = self.trade(p, h.asset, 0, quantity);
            cash -= (quantity * unit_value).round_dp(2)
                + (trade.fees * self.to_base(&trade.currency, &base, 0)).round_dp(2);
            trades.push(trade);
            quantities.push(quantity);
        }
        self.seed_flow(p, 0, initial, "subscription");
        let mut flow_today = initial;
        for t in 0..self.days.len() {
            if t > 0
                && self.days[t].month() != self.days[t - 1].month()
                && self.rng.random_bool(0.8)
            {
                for _ in 0..2 {
                    let k = self.rng.random_range(0..holdings.len());
                    let change =
                        (quantities[k] * dec(self.rng.random_range(-0.15..0.15), 4)).round_dp(0);
                    if change.is_zero() {
                        continue;
                    }
                    let asset = holdings[k].asset;
                    let ccy = self.data.assets[asset].currency.clone();
                    let fx = self.to_base(&ccy, &base, t);
                    let trade = self.trade(p, asset, t, change);
                    cash -= (change * self.closes[asset][t] * fx).round_dp(2)
                        + (trade.fees * fx).round_dp(2);
                    quantities[k] += change;
                    trades.push(trade);
                }
            }
            let mut nav = Decimal::ZERO;
            let mut gross = Decimal::ZERO;
            let mut net = Decimal::ZERO;
            for (h, quantity) in holdings.iter().zip(&quantities) {
                let a = &self.data.assets[h.asset];
                let value =
                    (*quantity * self.closes[h.asset][t] * self.to_base(&a.currency, &base, t))
                        .round_dp(2);
                let asset_id = a.id.clone();
                nav += value;
                gross += value.abs();
                net += value;
                let id = self.id(self.days[t]);
                self.data.positions.push(Position {
                    id,
                    portfolio_id: portfolio.id.clone(),
                    asset_id,
                    date: self.days[t],
                    quantity: *quantity,
                    market_value: value,
                });
            }
            if t > 0 && self.is_dealing_day(t, &terms.dealing_frequency) {
                let before = (nav + cash).to_f64().unwrap_or(0.0);
                for _ in 0..self.rng.random_range(0..=2) {
                    let redeem = self.rng.random_bool(0.45);
                    let amount = dec(before * self.rng.random_range(0.004..0.02), 2);
                    let kind = if redeem { "redemption" } else { "subscription" };
                    self.seed_flow(p, t, amount, kind);
                    let signed = if redeem { -amount } else { amount };
                    cash += signed;
                    flow_today += signed;
                }
            }
            let id = self.id(self.days[t]);
            self.data.positions.push(Position {
                id,
                portfolio_id: portfolio.id.clone(),
                asset_id: self.data.assets[cash_asset].id.clone(),
                date: self.days[t],
                quantity: cash,
                market_value: cash,
            });
            nav += cash;
            let id = self.id(self.days[t]);
            self.data.nav.push(NavPoint {
                id,
                portfolio_id: portfolio.id.clone(),
                date: self.days[t],
                nav,
                external_flow: flow_today,
                gross_exposure: gross,
                net_exposure: net,
            });
            flow_today = Decimal::ZERO;
        }
        self.allocations(p, &holdings, &quantities);
        self.data.trades.extend(trades);
    }

    fn seed_flow(&mut self, p: usize, t: usize, amount: Decimal, kind: &str) {
        let date = self.days[t];
        let investor = self.rng.random_range(0..self.data.investors.len());
        let notice_days = i64::from(self.data.liquidity_terms[p].notice_days);
        let id = self.id(date);
        self.data.fund_flows.push(FundFlow {
            id,
            portfolio_id: self.data.portfolios[p].id.clone(),
            investor_id: self.data.investors[investor].id.clone(),
            kind: kind.into(),
            amount,
            notice_date: date - Duration::days(notice_days),
            dealing_date: date,
            status: "settled".into(),
        });
    }

    /// Redemptions and subscriptions noticed but not yet dealt, for the liquidity ladder.
    fn pending_redemptions(&mut self) {
        let end = self.config.end;
        for p in 0..self.data.portfolios.len() {
            let nav = self
                .data
                .nav
                .iter()
                .rev()
                .find(|n| n.portfolio_id == self.data.portfolios[p].id)
                .map_or(0.0, |n| n.nav.to_f64().unwrap_or(0.0));
            let notice = i64::from(self.data.liquidity_terms[p].notice_days);
            for k in 0..4 {
                let dealing = last_day_of_month(end + Duration::days(20 + 31 * k));
                let investor = self.rng.random_range(0..self.data.investors.len());
                let id = self.id(end);
                self.data.fund_flows.push(FundFlow {
                    id,
                    portfolio_id: self.data.portfolios[p].id.clone(),
                    investor_id: self.data.investors[investor].id.clone(),
                    kind: "redemption".into(),
                    amount: dec(nav * self.rng.random_range(0.01..0.06), 2),
                    notice_date: dealing - Duration::days(notice),
                    dealing_date: dealing,
                    status: if k == 0 { "confirmed" } else { "pending" }.into(),
                });
            }
        }
    }

    fn allocations(&mut self, p: usize, holdings: &[Holding], quantities: &[Decimal]) {
        let last = self.days.len() - 1;
        let portfolio_id = self.data.portfolios[p].id.clone();
        let nav = self.data.nav.last().map_or(Decimal::ONE, |n| n.nav);
        let mut by_class: BTreeMap<AssetClass, (f64, Decimal)> = BTreeMap::new();
        let base = self.data.portfolios[p].base_currency.clone();
        for (h, q) in holdings.iter().zip(quantities) {
            let a = &self.data.assets[h.asset];
            let value = *q * self.closes[h.asset][last] * self.to_base(&a.currency, &base, last);
            let entry = by_class
                .entry(a.asset_class)
                .or_insert((0.0, Decimal::ZERO));
            entry.0 += h.weight;
            entry.1 += value;
        }
        for (class, (target, value)) in by_class {
            let id = self.id(self.days[last]);
            self.data.allocations.push(Allocation {
                id,
                portfolio_id: portfolio_id.clone(),
                bucket: class.as_str().into(),
                target_weight: dec(target, 4),
                actual_weight: (value / nav).round_dp(4),
                liquid: !matches!(class, AssetClass::Fund | AssetClass::Private),
            });
        }
    }
}

impl Simulation {
    /// One index per distinct portfolio benchmark, priced from the factor paths alone (no
    /// random draws but the ids, taken last) so adding them leaves the rest of the dataset
    /// as it was. The index's symbol is the benchmark's name, which is how KPIs find it.
    fn benchmarks(&mut self) {
        let names: std::collections::BTreeSet<String> = self
            .data
            .portfolios
            .iter()
            .filter_map(|p| p.benchmark.clone())
            .collect();
        let start = self.start();
        for name in names {
            let credit_index = name.contains("iBoxx") || name.contains("Corporate");
            let (class, currency) = if credit_index {
                (AssetClass::Bond, "EUR")
            } else {
                (AssetClass::Equity, "USD")
            };
            let id = self.id(start);
            let mut level = 1000.0;
            for t in 0..self.days.len() {
                if t > 0 {
                    level *= 1.0
                        + if credit_index {
                            let dy = self.factors.rates[t] + self.factors.credit[t];
                            -5.0 * dy + 0.035 / 252.0
                        } else {
                            self.factors.market[t] + 0.00005
                        };
                }
                self.data.prices.push(Price {
                    asset_id: id.clone(),
                    date: self.days[t],
                    close: dec(level, 4),
                });
            }
            self.data.assets.push(Asset {
                modified_duration: credit_index.then(|| dec(5.0, 2)),
                convexity: credit_index.then(|| dec(35.0, 2)),
                spread_duration: credit_index.then(|| dec(5.0, 2)),
                beta: (!credit_index).then(|| dec(1.0, 2)),
                liquidity_class: Some("index".into()),
                ..Asset::new(
                    id,
                    name.clone(),
                    format!("{name} (benchmark index)"),
                    class,
                    currency,
                )
            });
        }
    }
}

fn last_day_of_month(date: NaiveDate) -> NaiveDate {
    let first_next = if date.month() == 12 {
        NaiveDate::from_ymd_opt(date.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
    }
    .expect("valid date");
    let mut d = first_next - Duration::days(1);
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        d -= Duration::days(1);
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_dataset_and_another_seed_differs() {
        let config = DemoConfig::small();
        let a = generate(&config);
        assert_eq!(a, generate(&config));
        let b = generate(&DemoConfig { seed: 7, ..config });
        assert_ne!(a.prices, b.prices);
    }

    #[test]
    fn nav_is_the_sum_of_positions_to_the_cent() {
        let data = generate(&DemoConfig::small());
        let mut sums: BTreeMap<(String, NaiveDate), Decimal> = BTreeMap::new();
        for p in &data.positions {
            *sums.entry((p.portfolio_id.clone(), p.date)).or_default() += p.market_value;
        }
        assert_eq!(sums.len(), data.nav.len());
        for n in &data.nav {
            assert_eq!(
                sums[&(n.portfolio_id.clone(), n.date)],
                n.nav,
                "{} {}",
                n.portfolio_id,
                n.date
            );
        }
    }

    #[test]
    fn nav_flows_match_settled_fund_flows() {
        let data = generate(&DemoConfig::small());
        for p in &data.portfolios {
            let from_nav: Decimal = data
                .nav
                .iter()
                .filter(|n| n.portfolio_id == p.id)
                .map(|n| n.external_flow)
                .sum();
            let from_flows: Decimal = data
                .fund_flows
                .iter()
                .filter(|f| f.portfolio_id == p.id && f.status == "settled")
                .map(|f| {
                    if f.kind == "redemption" {
                        -f.amount
                    } else {
                        f.amount
                    }
                })
                .sum();
            assert_eq!(from_nav, from_flows, "{}", p.code);
        }
    }

    #[test]
    fn the_full_demo_has_the_promised_shape() {
        let data = generate(&DemoConfig::default());
        assert!(data.portfolios.len() >= 3);
        assert!(data.assets.len() >= 300, "{} assets", data.assets.len());
        for class in AssetClass::ALL {
            assert!(
                data.assets.iter().any(|a| a.asset_class == class),
                "no {class:?}"
            );
        }
        let bonds_priced = data
            .assets
            .iter()
            .filter(|a| a.asset_class == AssetClass::Bond)
            .all(|a| a.modified_duration.is_some() && a.convexity.is_some());
        assert!(bonds_priced);
        assert!(data
            .assets
            .iter()
            .filter(|a| a.asset_class == AssetClass::Fund)
            .all(|a| a.redemption_notice_days.is_some()));
        let days: std::collections::BTreeSet<_> = data.prices.iter().map(|p| p.date).collect();
        assert!(days.len() >= 5 * 250, "{} price days", days.len());
        assert!(data
            .fund_flows
            .iter()
            .any(|f| f.status == "pending" && f.kind == "redemption"));
        assert!(
            !data.trades.is_empty()
                && !data.risk_limits.is_empty()
                && !data.liquidity_terms.is_empty()
        );
        assert!(data.nav.iter().all(|n| n.nav > Decimal::ZERO));
        for p in &data.portfolios {
            let benchmark = p
                .benchmark
                .as_deref()
                .expect("every demo fund has a benchmark");
            let index = data.assets.iter().find(|a| a.symbol == benchmark);
            let index = index.unwrap_or_else(|| panic!("no index asset for {benchmark}"));
            let closes = data
                .prices
                .iter()
                .filter(|x| x.asset_id == index.id)
                .count();
            assert_eq!(closes, days.len(), "{benchmark} is priced every day");
        }
        let ids: std::collections::BTreeSet<_> = data.positions.iter().map(|p| &p.id).collect();
        assert_eq!(ids.len(), data.positions.len(), "position ids are unique");
    }
}
