//! The domain model: what the shared database holds, as plain Rust values.
//!
//! Money and quantities are [`Decimal`]; identifiers are the text form of Postgres `uuid`s so
//! the engine needs no uuid crate. One [`Dataset`] is the whole operational picture that the
//! storage and Postgres edges read and write.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The instrument classes SPEC.md lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetClass {
    Equity,
    Bond,
    Fx,
    Commodity,
    Fund,
    Crypto,
    Private,
    Cash,
    Derivative,
}

impl AssetClass {
    pub const ALL: [AssetClass; 9] = [
        AssetClass::Equity,
        AssetClass::Bond,
        AssetClass::Fx,
        AssetClass::Commodity,
        AssetClass::Fund,
        AssetClass::Crypto,
        AssetClass::Private,
        AssetClass::Cash,
        AssetClass::Derivative,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AssetClass::Equity => "equity",
            AssetClass::Bond => "bond",
            AssetClass::Fx => "fx",
            AssetClass::Commodity => "commodity",
            AssetClass::Fund => "fund",
            AssetClass::Crypto => "crypto",
            AssetClass::Private => "private",
            AssetClass::Cash => "cash",
            AssetClass::Derivative => "derivative",
        }
    }

    pub fn parse(text: &str) -> Option<AssetClass> {
        AssetClass::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Portfolio {
    pub id: String,
    pub code: String,
    pub name: String,
    pub base_currency: String,
    pub strategy: String,
    pub inception: NaiveDate,
    pub benchmark: Option<String>,
    pub status: String,
    pub lp_visible: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub id: String,
    pub symbol: String,
    pub name: String,
    pub asset_class: AssetClass,
    pub sector: Option<String>,
    pub country: Option<String>,
    pub currency: String,
    pub issuer: Option<String>,
    pub rating: Option<String>,
    pub maturity: Option<NaiveDate>,
    pub coupon: Option<Decimal>,
    pub modified_duration: Option<Decimal>,
    pub convexity: Option<Decimal>,
    pub spread_duration: Option<Decimal>,
    pub beta: Option<Decimal>,
    pub avg_daily_volume: Option<Decimal>,
    pub liquidity_class: Option<String>,
    pub redemption_notice_days: Option<i32>,
    pub lp_visible: bool,
}

impl Asset {
    /// An instrument with only what every asset has; the optional reference fields (sector,
    /// rating, duration, beta, liquidity, ...) are empty, for the caller to fill.
    pub fn new(
        id: impl Into<String>,
        symbol: impl Into<String>,
        name: impl Into<String>,
        asset_class: AssetClass,
        currency: impl Into<String>,
    ) -> Asset {
        Asset {
            id: id.into(),
            symbol: symbol.into(),
            name: name.into(),
            asset_class,
            sector: None,
            country: None,
            currency: currency.into(),
            issuer: None,
            rating: None,
            maturity: None,
            coupon: None,
            modified_duration: None,
            convexity: None,
            spread_duration: None,
            beta: None,
            avg_daily_volume: None,
            liquidity_class: None,
            redemption_notice_days: None,
            lp_visible: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub asset_id: String,
    pub date: NaiveDate,
    pub close: Decimal,
}

/// `rate` is the number of quote-currency units for one base-currency unit of `pair`
/// ("EURUSD" = 1.08 means one euro buys 1.08 dollars).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FxRate {
    pub pair: String,
    pub date: NaiveDate,
    pub rate: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SectorCoefficient {
    pub id: String,
    pub sector: String,
    pub macro_factor: String,
    pub elasticity: Decimal,
    pub effective_date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub id: String,
    pub portfolio_id: String,
    pub broker: String,
    pub broker_account_ref: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
    pub fn parse(text: &str) -> Option<Side> {
        match text {
            "buy" => Some(Side::Buy),
            "sell" => Some(Side::Sell),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    pub id: String,
    pub account_id: String,
    pub asset_id: String,
    pub broker: String,
    pub broker_trade_id: String,
    pub side: Side,
    pub quantity: Decimal,
    pub price: Decimal,
    pub fees: Decimal,
    pub currency: String,
    pub trade_date: NaiveDate,
    pub settle_date: NaiveDate,
}

/// A holding at the close of `date`; `market_value` is in the portfolio's base currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub id: String,
    pub portfolio_id: String,
    pub asset_id: String,
    pub date: NaiveDate,
    pub quantity: Decimal,
    pub market_value: Decimal,
}

/// The official NAV at the close of `date`. `external_flow` is the net subscription (+) or
/// redemption (−) that entered the fund on `date`, already included in `nav`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NavPoint {
    pub id: String,
    pub portfolio_id: String,
    pub date: NaiveDate,
    pub nav: Decimal,
    pub external_flow: Decimal,
    pub gross_exposure: Decimal,
    pub net_exposure: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Allocation {
    pub id: String,
    pub portfolio_id: String,
    pub bucket: String,
    pub target_weight: Decimal,
    pub actual_weight: Decimal,
    pub liquid: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Investor {
    pub id: String,
    pub name: String,
    pub classification: String,
    pub kyc_status: String,
    /// The Postgres login role of this investor's LP users, if any; row-level security uses it.
    pub login_role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FundFlow {
    pub id: String,
    pub portfolio_id: String,
    pub investor_id: String,
    /// `subscription` or `redemption`.
    pub kind: String,
    pub amount: Decimal,
    pub notice_date: NaiveDate,
    pub dealing_date: NaiveDate,
    /// `pending`, `confirmed`, `settled` or `cancelled`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiquidityTerms {
    pub id: String,
    pub portfolio_id: String,
    pub dealing_frequency: String,
    pub notice_days: i32,
    pub gate_pct: Decimal,
    pub lockup_days: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskLimit {
    pub id: String,
    pub portfolio_id: String,
    pub metric: String,
    pub threshold: Decimal,
    pub severity: String,
}

/// The whole operational picture: what `demo init` writes, `pg seed` loads and `sync` pulls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    pub portfolios: Vec<Portfolio>,
    pub assets: Vec<Asset>,
    pub prices: Vec<Price>,
    pub fx_rates: Vec<FxRate>,
    pub sector_coefficients: Vec<SectorCoefficient>,
    pub accounts: Vec<Account>,
    pub trades: Vec<Trade>,
    pub positions: Vec<Position>,
    pub nav: Vec<NavPoint>,
    pub allocations: Vec<Allocation>,
    pub investors: Vec<Investor>,
    pub fund_flows: Vec<FundFlow>,
    pub liquidity_terms: Vec<LiquidityTerms>,
    pub risk_limits: Vec<RiskLimit>,
}

impl Dataset {
    /// Row counts per table, in the order the tables are written.
    pub fn row_counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("portfolios", self.portfolios.len()),
            ("assets", self.assets.len()),
            ("prices", self.prices.len()),
            ("fx_rates", self.fx_rates.len()),
            ("sector_coefficients", self.sector_coefficients.len()),
            ("accounts", self.accounts.len()),
            ("trades", self.trades.len()),
            ("positions", self.positions.len()),
            ("portfolio_nav", self.nav.len()),
            ("portfolio_allocations", self.allocations.len()),
            ("investors", self.investors.len()),
            ("fund_flows", self.fund_flows.len()),
            ("liquidity_terms", self.liquidity_terms.len()),
            ("risk_limits", self.risk_limits.len()),
        ]
    }

    /// The NAV history of one portfolio, oldest first.
    pub fn nav_history(&self, portfolio_id: &str) -> Vec<NavPoint> {
        let mut points: Vec<NavPoint> = self
            .nav
            .iter()
            .filter(|p| p.portfolio_id == portfolio_id)
            .cloned()
            .collect();
        points.sort_by_key(|p| p.date);
        points
    }
}
