//! Running a scenario on a portfolio: P/L per position and in total, NAV after, the KPIs and
//! risk limits after the shock, and a trace of which shock moved which position by how much.
//!
//! Conventions (also in SCENARIOS_NOTES.md):
//! - Positions' `market_value` is in the base currency. Each shock gives a position a change
//!   in return space (`ΔV/V`, a [`Decimal`] fraction); several shocks on one position **add**
//!   (`r = Σ rᵢ`): cross terms (an equity fall times a currency fall, the convexity of two
//!   rate shifts together) are ignored, so that every contribution stands on its own in the
//!   trace. A historical replay is one shock and compounds its own price and currency moves.
//! - Each contribution's P/L is `round(market_value × rᵢ, 2)` (half to even); a position's
//!   P/L is the sum of its contributions and the portfolio's the sum of the positions', so
//!   the trace adds up to the totals to the cent. A short (negative value) gains on a fall.
//! - A shock that would take a price below zero (`rᵢ < −1`, or `Σ rᵢ < −1`) refuses the run.
//! - A position a shock should move but cannot price (a bond without duration, an asset
//!   without a close in the replay window, an equity whose sector has no macro coefficient)
//!   is listed in [`ScenarioResult::unpriced`] and gets no contribution from that shock: it
//!   is reported, never silently zero.
//! - Redemptions are `share × (NAV + P/L)`; `nav_after = NAV + P/L − redemptions`. Exposure
//!   KPIs after the shock are measured on the shocked positions against `NAV + P/L` (before
//!   redemptions are paid, which is the liquidity ladder's business).
//! - KPIs before and after: `leverage`, `net_exposure`, `long_exposure`, `short_exposure`
//!   (keys and formulas of [`crate::exposure`]), `max_drawdown` over the NAV history with the
//!   shock appended as one more day, `scenario_return` (after only), plus whatever the
//!   caller's KPI hook returns; risk limits are checked on both sides with [`crate::limits`].

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::fx::FxTable;
use crate::history::PriceHistory;
use crate::kpi::{self, Entry, Metric, Unit};
use crate::limits::{self, LimitCheck};
use crate::model::{Asset, AssetClass, NavPoint, Position, RiskLimit, SectorCoefficient};
use crate::returns::{self, decimal_to_f64};
use crate::scenario::{CurveBucket, ScenarioDefinition, ScenarioError, Shock};

/// Extra KPIs the caller computes for a book (positions with their market values, and the
/// NAV they are measured against): called once before and once after the shock, so any KPI
/// key a risk limit names can be checked on both sides.
pub type KpiHook<'a> = dyn Fn(&[Position], Decimal) -> Vec<Entry> + 'a;

/// Everything a scenario runs against: one portfolio at one date.
#[derive(Clone, Copy)]
pub struct ScenarioInputs<'a> {
    pub as_of: NaiveDate,
    pub base_currency: &'a str,
    pub nav: Decimal,
    /// The portfolio's positions at `as_of`, `market_value` in the base currency.
    pub positions: &'a [Position],
    /// At least the assets the positions hold; also the universe single-asset shocks name.
    pub assets: &'a [Asset],
    pub fx: &'a FxTable,
    pub prices: &'a PriceHistory,
    pub sector_coefficients: &'a [SectorCoefficient],
    pub risk_limits: &'a [RiskLimit],
    /// The portfolio's NAV history (any order; may be empty) for drawdown limits.
    pub nav_history: &'a [NavPoint],
    pub kpi_hook: Option<&'a KpiHook<'a>>,
}

/// One shock's effect on one position.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    /// 1-based number of the shock in the definition.
    pub shock: usize,
    pub shock_type: &'static str,
    /// `ΔV/V` as a fraction.
    pub change: Decimal,
    /// In the base currency, rounded to the cent.
    pub pnl: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PositionResult {
    pub position_id: String,
    pub asset_id: String,
    pub symbol: String,
    pub market_value: Decimal,
    /// `Σ` of the contributions' changes.
    pub change: Decimal,
    pub pnl: Decimal,
    pub value_after: Decimal,
    pub contributions: Vec<Contribution>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShockTotal {
    pub shock: usize,
    pub shock_type: &'static str,
    pub pnl: Decimal,
    /// Positions the shock moved.
    pub positions: usize,
}

/// A position a shock should have moved but could not price.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unpriced {
    pub shock: usize,
    pub shock_type: &'static str,
    pub asset_id: String,
    pub symbol: String,
    pub reason: String,
}

/// A macro shock turned into one sector's shock.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SectorShock {
    pub shock: usize,
    pub sector: String,
    /// Percent, `Σ elasticity × move`.
    pub pct: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StressedRedemption {
    pub shock: usize,
    pub by: NaiveDate,
    pub share: Decimal,
    pub amount: Decimal,
}

/// Money totals of a book: long, short (negative), gross and net, netted per asset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Book {
    pub nav: Decimal,
    pub long: Decimal,
    pub short: Decimal,
    pub gross: Decimal,
    pub net: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KpiChange {
    pub key: String,
    pub label: String,
    pub unit: Unit,
    pub before: Metric,
    pub after: Metric,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub as_of: NaiveDate,
    pub base_currency: String,
    pub nav_before: Decimal,
    /// Sum of every position's P/L.
    pub pnl: Decimal,
    /// `pnl / nav_before`; `None` when the NAV is not positive.
    pub pnl_pct: Option<f64>,
    pub redemptions: Vec<StressedRedemption>,
    pub redeemed: Decimal,
    /// `nav_before + pnl − redeemed`.
    pub nav_after: Decimal,
    pub before: Book,
    /// After the price shocks, against `nav_before + pnl`.
    pub after: Book,
    pub positions: Vec<PositionResult>,
    pub by_shock: Vec<ShockTotal>,
    pub unpriced: Vec<Unpriced>,
    pub sector_shocks: Vec<SectorShock>,
    pub kpis: Vec<KpiChange>,
    pub limits_before: Vec<LimitCheck>,
    pub limits_after: Vec<LimitCheck>,
    /// Ids of limits breached after the shock that were not breached before.
    pub newly_breached: Vec<String>,
}

impl ScenarioResult {
    /// Limits breached after the shock.
    pub fn breached(&self) -> impl Iterator<Item = &LimitCheck> {
        self.limits_after.iter().filter(|c| c.breached)
    }
}

fn eq_ci(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn matches(filter: &Option<String>, field: Option<&str>) -> bool {
    match filter {
        None => true,
        Some(f) => field.is_some_and(|v| eq_ci(f, v)),
    }
}

/// A rating filter without a notch ("BBB") also matches the notched ratings ("BBB+", "BBB-").
fn rating_matches(filter: &Option<String>, rating: Option<&str>) -> bool {
    match (filter, rating) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(f), Some(r)) => {
            eq_ci(f, r)
                || (!f.ends_with(['+', '-']) && eq_ci(f, r.trim().trim_end_matches(['+', '-'])))
        }
    }
}

fn pct(p: Decimal) -> Decimal {
    p / Decimal::ONE_HUNDRED
}

fn bp(b: Decimal) -> Decimal {
    b / Decimal::from(10_000)
}

/// `−D·Δy + ½·C·Δy²`.
fn rate_change(asset: &Asset, dy: Decimal) -> Option<Decimal> {
    let d = asset.modified_duration?;
    let c = asset.convexity.unwrap_or_default();
    Some(-d * dy + c * dy * dy / Decimal::TWO)
}

fn years_to_maturity(maturity: NaiveDate, as_of: NaiveDate) -> Decimal {
    Decimal::from((maturity - as_of).num_days()) / Decimal::new(36525, 2)
}

fn bucket_bp(buckets: &[CurveBucket], years: Decimal) -> Decimal {
    buckets
        .iter()
        .find(|b| b.up_to_years.is_none_or(|up| years <= up))
        .map_or(Decimal::ZERO, |b| b.bp)
}

/// The latest coefficient per (sector, factor) effective on or before `as_of`.
fn coefficients_at(
    coefficients: &[SectorCoefficient],
    as_of: NaiveDate,
) -> BTreeMap<(&str, &str), (NaiveDate, Decimal)> {
    let mut latest: BTreeMap<(&str, &str), (NaiveDate, Decimal)> = BTreeMap::new();
    for c in coefficients.iter().filter(|c| c.effective_date <= as_of) {
        let key = (c.sector.as_str(), c.macro_factor.as_str());
        match latest.get(&key) {
            Some((date, _)) if *date > c.effective_date => {}
            _ => {
                latest.insert(key, (c.effective_date, c.elasticity));
            }
        }
    }
    latest
}

/// Data-dependent checks (after [`ScenarioDefinition::validate_shape`]): every position's
/// asset exists, named assets and currencies are known, macro factors have coefficients and
/// replay windows lie inside the price history.
pub fn validate(
    inputs: &ScenarioInputs,
    definition: &ScenarioDefinition,
) -> Result<(), ScenarioError> {
    definition.validate_shape()?;
    let ids: HashSet<&str> = inputs.assets.iter().map(|a| a.id.as_str()).collect();
    for p in inputs.positions {
        if !ids.contains(p.asset_id.as_str()) {
            return Err(ScenarioError::PositionWithoutAsset {
                position: p.id.clone(),
                asset: p.asset_id.clone(),
            });
        }
    }
    let known_currency = |c: &str| {
        c == inputs.base_currency
            || inputs.fx.knows(c)
            || inputs.assets.iter().any(|a| a.currency == c)
    };
    let coefficients = coefficients_at(inputs.sector_coefficients, inputs.as_of);
    for (i, shock) in definition.shocks.iter().enumerate() {
        let n = i + 1;
        match shock {
            Shock::Asset { asset, .. }
                if !inputs
                    .assets
                    .iter()
                    .any(|a| a.id == *asset || a.symbol == *asset) =>
            {
                return Err(ScenarioError::UnknownAsset {
                    shock: n,
                    shock_type: shock.kind(),
                    asset: asset.clone(),
                });
            }
            Shock::Fx {
                currency, against, ..
            } => {
                let numeraire = against.as_deref().unwrap_or(inputs.base_currency);
                if currency != "*" && !known_currency(currency) {
                    return Err(ScenarioError::UnknownCurrency {
                        shock: n,
                        field: "currency",
                        currency: currency.clone(),
                    });
                }
                if !known_currency(numeraire) {
                    return Err(ScenarioError::UnknownCurrency {
                        shock: n,
                        field: "against",
                        currency: numeraire.to_string(),
                    });
                }
                if currency == numeraire {
                    return Err(ScenarioError::Invalid {
                        shock: n,
                        shock_type: shock.kind(),
                        field: "currency",
                        reason: format!("{currency} cannot move against itself"),
                    });
                }
            }
            Shock::Macro { moves } => {
                for factor in moves.keys() {
                    if !coefficients.keys().any(|(_, f)| f == factor) {
                        return Err(ScenarioError::UnknownMacroFactor {
                            shock: n,
                            factor: factor.clone(),
                            as_of: inputs.as_of,
                        });
                    }
                }
            }
            Shock::HistoricalReplay { from, to } => {
                let history = inputs.prices.range();
                if history.is_none_or(|(first, last)| *from < first || *to > last) {
                    return Err(ScenarioError::ReplayOutsideHistory {
                        shock: n,
                        from: *from,
                        to: *to,
                        history,
                    });
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// What one shock does to one asset.
#[derive(Clone)]
enum Effect {
    Untouched,
    Change(Decimal),
    Unpriced(String),
}

/// A shock with everything that does not depend on the position worked out once.
enum Prepared<'d> {
    Rate {
        dy: Decimal,
    },
    Twist {
        buckets: &'d [CurveBucket],
    },
    Spread {
        rating: &'d Option<String>,
        sector: &'d Option<String>,
        ds: Decimal,
    },
    Fx {
        currency: &'d str,
        numeraire: &'d str,
        m: Decimal,
        base_m: Decimal,
    },
    Equity {
        market: &'d Option<String>,
        sector: &'d Option<String>,
        r: Decimal,
    },
    Commodity {
        sector: &'d Option<String>,
        name: Option<String>,
        r: Decimal,
    },
    Asset {
        ids: HashSet<&'d str>,
        r: Decimal,
    },
    Macro {
        by_sector: HashMap<String, Result<Decimal, String>>,
    },
    Replay {
        from: NaiveDate,
        to: NaiveDate,
        cache: HashMap<String, Effect>,
    },
    NoPrice,
}

fn prepare<'d>(
    n: usize,
    shock: &'d Shock,
    inputs: &ScenarioInputs<'d>,
    coefficients: &BTreeMap<(&str, &str), (NaiveDate, Decimal)>,
    sector_shocks: &mut Vec<SectorShock>,
) -> Prepared<'d> {
    match shock {
        Shock::ParallelRate { bp: b } => Prepared::Rate { dy: bp(*b) },
        Shock::CurveTwist { buckets } => Prepared::Twist { buckets },
        Shock::CreditSpread {
            rating,
            sector,
            bp: b,
        } => Prepared::Spread {
            rating,
            sector,
            ds: bp(*b),
        },
        Shock::Fx {
            currency,
            pct: p,
            against,
        } => {
            let numeraire = against.as_deref().unwrap_or(inputs.base_currency);
            let m = Decimal::ONE + pct(*p);
            let moved = |c: &str| c != numeraire && (currency == "*" || c == currency);
            let base_m = if moved(inputs.base_currency) {
                m
            } else {
                Decimal::ONE
            };
            Prepared::Fx {
                currency,
                numeraire,
                m,
                base_m,
            }
        }
        Shock::Equity {
            market,
            sector,
            pct: p,
        } => Prepared::Equity {
            market,
            sector,
            r: pct(*p),
        },
        Shock::Commodity {
            sector,
            name,
            pct: p,
        } => Prepared::Commodity {
            sector,
            name: name.as_ref().map(|s| s.trim().to_lowercase()),
            r: pct(*p),
        },
        Shock::Asset { asset, pct: p } => Prepared::Asset {
            ids: inputs
                .assets
                .iter()
                .filter(|a| a.id == *asset || a.symbol == *asset)
                .map(|a| a.id.as_str())
                .collect(),
            r: pct(*p),
        },
        Shock::Macro { moves } => {
            let sectors: std::collections::BTreeSet<&str> =
                coefficients.keys().map(|(s, _)| *s).collect();
            let mut by_sector = HashMap::new();
            for sector in sectors {
                let mut total = Decimal::ZERO;
                let mut missing = None;
                for (factor, mv) in moves {
                    match coefficients.get(&(sector, factor.as_str())) {
                        Some((_, e)) => total += *e * *mv,
                        None => {
                            missing = Some(format!(
                                "sector '{sector}' has no '{factor}' coefficient effective on or before {}",
                                inputs.as_of
                            ));
                            break;
                        }
                    }
                }
                let value = match missing {
                    Some(why) => Err(why),
                    None => {
                        sector_shocks.push(SectorShock {
                            shock: n,
                            sector: sector.to_string(),
                            pct: total,
                        });
                        Ok(pct(total))
                    }
                };
                by_sector.insert(sector.to_string(), value);
            }
            Prepared::Macro { by_sector }
        }
        Shock::HistoricalReplay { from, to } => Prepared::Replay {
            from: *from,
            to: *to,
            cache: HashMap::new(),
        },
        Shock::Redemption { .. } => Prepared::NoPrice,
    }
}

fn equity_like(asset: &Asset) -> bool {
    asset.asset_class == AssetClass::Equity
        || (matches!(asset.asset_class, AssetClass::Fund | AssetClass::Derivative)
            && asset.beta.is_some())
}

fn replay_effect(asset: &Asset, from: NaiveDate, to: NaiveDate, inputs: &ScenarioInputs) -> Effect {
    let (price_growth, start, end) = if asset.asset_class == AssetClass::Cash {
        (Decimal::ONE, from, to)
    } else {
        let closes = inputs.prices.window(&asset.id, from, to);
        match closes {
            [] => return Effect::Unpriced(format!("no close between {from} and {to}")),
            [(d, _)] => {
                return Effect::Unpriced(format!("only one close ({d}) between {from} and {to}"))
            }
            [(d0, p0), .., (d1, p1)] => {
                if *p0 <= Decimal::ZERO {
                    return Effect::Unpriced(format!("close on {d0} is not positive"));
                }
                (*p1 / *p0, *d0, *d1)
            }
        }
    };
    let fx_growth = if asset.currency == inputs.base_currency {
        Decimal::ONE
    } else {
        let rate = |d: NaiveDate| inputs.fx.rate(&asset.currency, inputs.base_currency, d);
        match (rate(start), rate(end)) {
            (Some(f0), Some(f1)) if f0 > Decimal::ZERO => f1 / f0,
            _ => {
                return Effect::Unpriced(format!(
                    "no {}→{} FX fixing on or before {start} and {end}",
                    asset.currency, inputs.base_currency
                ))
            }
        }
    };
    Effect::Change(price_growth * fx_growth - Decimal::ONE)
}

fn effect(prepared: &mut Prepared, asset: &Asset, inputs: &ScenarioInputs) -> Effect {
    let change_or = |r: Option<Decimal>, why: &str| match r {
        Some(r) => Effect::Change(r),
        None => Effect::Unpriced(why.to_string()),
    };
    match prepared {
        Prepared::Rate { dy } => {
            if asset.modified_duration.is_some() || asset.asset_class == AssetClass::Bond {
                change_or(rate_change(asset, *dy), "bond without a modified duration")
            } else {
                Effect::Untouched
            }
        }
        Prepared::Twist { buckets } => {
            if asset.modified_duration.is_none() && asset.asset_class != AssetClass::Bond {
                return Effect::Untouched;
            }
            let Some(maturity) = asset.maturity else {
                return Effect::Unpriced("no maturity to place it on the curve".into());
            };
            let dy = bp(bucket_bp(
                buckets,
                years_to_maturity(maturity, inputs.as_of),
            ));
            change_or(rate_change(asset, dy), "bond without a modified duration")
        }
        Prepared::Spread { rating, sector, ds } => {
            let hit = rating_matches(rating, asset.rating.as_deref())
                && matches(sector, asset.sector.as_deref());
            match (hit, asset.spread_duration) {
                (false, _) => Effect::Untouched,
                (true, Some(sd)) => Effect::Change(-sd * *ds),
                (true, None) if asset.asset_class == AssetClass::Bond => {
                    Effect::Unpriced("bond without a spread duration".into())
                }
                (true, None) => Effect::Untouched,
            }
        }
        Prepared::Fx {
            currency,
            numeraire,
            m,
            base_m,
        } => {
            let c = asset.currency.as_str();
            if c == inputs.base_currency {
                return Effect::Untouched;
            }
            let moved = c != *numeraire && (*currency == "*" || c == *currency);
            let mc = if moved { *m } else { Decimal::ONE };
            if mc == *base_m {
                // Both moved alike (or neither): the cross rate does not change.
                return Effect::Untouched;
            }
            Effect::Change(mc / *base_m - Decimal::ONE)
        }
        Prepared::Equity { market, sector, r } => {
            if equity_like(asset)
                && matches(market, asset.country.as_deref())
                && matches(sector, asset.sector.as_deref())
            {
                Effect::Change(*r * asset.beta.unwrap_or(Decimal::ONE))
            } else {
                Effect::Untouched
            }
        }
        Prepared::Commodity { sector, name, r } => {
            let name_hit = match name {
                None => true,
                Some(n) => {
                    asset.symbol.eq_ignore_ascii_case(n)
                        || asset.name.to_lowercase().contains(n.as_str())
                }
            };
            if asset.asset_class == AssetClass::Commodity
                && matches(sector, asset.sector.as_deref())
                && name_hit
            {
                Effect::Change(*r)
            } else {
                Effect::Untouched
            }
        }
        Prepared::Asset { ids, r } => {
            if ids.contains(asset.id.as_str()) {
                Effect::Change(*r)
            } else {
                Effect::Untouched
            }
        }
        Prepared::Macro { by_sector } => {
            if asset.asset_class != AssetClass::Equity {
                return Effect::Untouched;
            }
            let Some(sector) = asset.sector.as_deref() else {
                return Effect::Unpriced("equity without a sector".into());
            };
            match by_sector.get(sector) {
                Some(Ok(r)) => Effect::Change(*r),
                Some(Err(why)) => Effect::Unpriced(why.clone()),
                None => Effect::Unpriced(format!("sector '{sector}' has no macro coefficients")),
            }
        }
        Prepared::Replay { from, to, cache } => {
            if let Some(e) = cache.get(&asset.id) {
                return e.clone();
            }
            let e = replay_effect(asset, *from, *to, inputs);
            cache.insert(asset.id.clone(), e.clone());
            e
        }
        Prepared::NoPrice => Effect::Untouched,
    }
}

fn book<'p>(positions: impl Iterator<Item = (&'p str, Decimal)>, nav: Decimal) -> Book {
    let mut per_asset: HashMap<&str, Decimal> = HashMap::new();
    for (asset, mv) in positions {
        *per_asset.entry(asset).or_default() += mv;
    }
    let (mut long, mut short) = (Decimal::ZERO, Decimal::ZERO);
    for mv in per_asset.values() {
        if *mv > Decimal::ZERO {
            long += *mv;
        } else {
            short += *mv;
        }
    }
    Book {
        nav,
        long,
        short,
        gross: long - short,
        net: long + short,
    }
}

fn of_nav(value: Decimal, nav: Decimal) -> Metric {
    if nav <= Decimal::ZERO {
        return Metric::unavailable("NAV is not positive");
    }
    Metric::from_f64(decimal_to_f64(value) / decimal_to_f64(nav), "overflow")
}

fn book_entries(b: &Book) -> Vec<Entry> {
    vec![
        Entry::new(
            "leverage",
            "Leverage (gross / NAV)",
            Unit::Ratio,
            of_nav(b.gross, b.nav),
        ),
        Entry::new(
            "net_exposure",
            "Net exposure",
            Unit::SignedPercent,
            of_nav(b.net, b.nav),
        ),
        Entry::new(
            "long_exposure",
            "Long exposure",
            Unit::Percent,
            of_nav(b.long, b.nav),
        ),
        Entry::new(
            "short_exposure",
            "Short exposure",
            Unit::SignedPercent,
            of_nav(b.short, b.nav),
        ),
    ]
}

/// The maximum drawdown of the NAV history's daily returns, with `extra` appended as one
/// more day when given.
fn max_drawdown(history: &[NavPoint], extra: Option<f64>) -> Metric {
    let mut sorted = history.to_vec();
    sorted.sort_by_key(|p| p.date);
    let mut values = match returns::daily_returns(&sorted) {
        Ok(series) => series.values,
        Err(e) => return Metric::Unavailable(e.to_string()),
    };
    values.extend(extra);
    match kpi::max_drawdown(&values) {
        Some(d) => Metric::from_f64(d.depth, "overflow"),
        None => Metric::unavailable("no NAV history"),
    }
}

/// Apply `definition` to the portfolio in `inputs`. Validates first ([`validate`]).
pub fn run_scenario(
    inputs: &ScenarioInputs,
    definition: &ScenarioDefinition,
) -> Result<ScenarioResult, ScenarioError> {
    validate(inputs, definition)?;
    let assets: HashMap<&str, &Asset> = inputs.assets.iter().map(|a| (a.id.as_str(), a)).collect();
    let coefficients = coefficients_at(inputs.sector_coefficients, inputs.as_of);
    let mut sector_shocks = Vec::new();
    let mut prepared: Vec<Prepared> = definition
        .shocks
        .iter()
        .enumerate()
        .map(|(i, s)| prepare(i + 1, s, inputs, &coefficients, &mut sector_shocks))
        .collect();
    let kinds: Vec<&'static str> = definition.shocks.iter().map(Shock::kind).collect();

    let mut by_shock: Vec<ShockTotal> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| ShockTotal {
            shock: i + 1,
            shock_type: k,
            pnl: Decimal::ZERO,
            positions: 0,
        })
        .collect();
    let mut unpriced = Vec::new();
    let mut unpriced_seen: HashSet<(usize, &str)> = HashSet::new();
    let mut positions = Vec::with_capacity(inputs.positions.len());
    let mut total_pnl = Decimal::ZERO;

    for p in inputs.positions {
        let asset = assets[p.asset_id.as_str()];
        let mut contributions = Vec::new();
        let mut change = Decimal::ZERO;
        for (i, shock) in prepared.iter_mut().enumerate() {
            match effect(shock, asset, inputs) {
                Effect::Untouched => {}
                Effect::Unpriced(reason) => {
                    if unpriced_seen.insert((i, asset.id.as_str())) {
                        unpriced.push(Unpriced {
                            shock: i + 1,
                            shock_type: kinds[i],
                            asset_id: asset.id.clone(),
                            symbol: asset.symbol.clone(),
                            reason,
                        });
                    }
                }
                Effect::Change(r) => {
                    if r < -Decimal::ONE {
                        return Err(ScenarioError::NegativePrice {
                            shock: Some(i + 1),
                            asset: asset.symbol.clone(),
                            change_pct: (r * Decimal::ONE_HUNDRED).round_dp(4).normalize(),
                        });
                    }
                    change += r;
                    contributions.push(Contribution {
                        shock: i + 1,
                        shock_type: kinds[i],
                        change: r,
                        pnl: (p.market_value * r).round_dp(2),
                    });
                }
            }
        }
        if change < -Decimal::ONE {
            return Err(ScenarioError::NegativePrice {
                shock: None,
                asset: asset.symbol.clone(),
                change_pct: (change * Decimal::ONE_HUNDRED).round_dp(4).normalize(),
            });
        }
        let pnl: Decimal = contributions.iter().map(|c| c.pnl).sum();
        for c in &contributions {
            let t = &mut by_shock[c.shock - 1];
            t.pnl += c.pnl;
            t.positions += 1;
        }
        total_pnl += pnl;
        positions.push(PositionResult {
            position_id: p.id.clone(),
            asset_id: p.asset_id.clone(),
            symbol: asset.symbol.clone(),
            market_value: p.market_value,
            change,
            pnl,
            value_after: p.market_value + pnl,
            contributions,
        });
    }

    let nav_shocked = inputs.nav + total_pnl;
    let redemptions: Vec<StressedRedemption> = definition
        .shocks
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Shock::Redemption { share, by } => Some(StressedRedemption {
                shock: i + 1,
                by: *by,
                share: *share,
                amount: (*share * nav_shocked.max(Decimal::ZERO)).round_dp(2),
            }),
            _ => None,
        })
        .collect();
    let redeemed: Decimal = redemptions.iter().map(|r| r.amount).sum();

    let before = book(
        inputs
            .positions
            .iter()
            .map(|p| (p.asset_id.as_str(), p.market_value)),
        inputs.nav,
    );
    let after = book(
        positions
            .iter()
            .map(|p| (p.asset_id.as_str(), p.value_after)),
        nav_shocked,
    );
    let pnl_pct = (inputs.nav > Decimal::ZERO)
        .then(|| decimal_to_f64(total_pnl) / decimal_to_f64(inputs.nav));

    let mut entries_before = book_entries(&before);
    let mut entries_after = book_entries(&after);
    entries_before.push(Entry::new(
        "max_drawdown",
        "Max drawdown",
        Unit::SignedPercent,
        max_drawdown(inputs.nav_history, None),
    ));
    entries_after.push(Entry::new(
        "max_drawdown",
        "Max drawdown",
        Unit::SignedPercent,
        match pnl_pct {
            Some(r) => max_drawdown(inputs.nav_history, Some(r)),
            None => Metric::unavailable("NAV is not positive"),
        },
    ));
    entries_before.push(Entry::new(
        "scenario_return",
        "Scenario P/L / NAV",
        Unit::SignedPercent,
        Metric::unavailable("before the scenario"),
    ));
    entries_after.push(Entry::new(
        "scenario_return",
        "Scenario P/L / NAV",
        Unit::SignedPercent,
        match pnl_pct {
            Some(r) => Metric::from_f64(r, "overflow"),
            None => Metric::unavailable("NAV is not positive"),
        },
    ));
    if let Some(hook) = inputs.kpi_hook {
        entries_before.extend(hook(inputs.positions, inputs.nav));
        let stressed: Vec<Position> = inputs
            .positions
            .iter()
            .zip(&positions)
            .map(|(p, r)| Position {
                market_value: r.value_after,
                ..p.clone()
            })
            .collect();
        entries_after.extend(hook(&stressed, nav_shocked));
    }
    let kpis = entries_after
        .iter()
        .map(|a| KpiChange {
            key: a.key.to_string(),
            label: a.label.to_string(),
            unit: a.unit,
            before: entries_before.iter().find(|b| b.key == a.key).map_or_else(
                || Metric::unavailable("not computed before"),
                |b| b.metric.clone(),
            ),
            after: a.metric.clone(),
        })
        .collect();
    let limits_before = limits::check(inputs.risk_limits, &limits::lookup(&entries_before));
    let limits_after = limits::check(inputs.risk_limits, &limits::lookup(&entries_after));
    let newly_breached = limits_after
        .iter()
        .zip(&limits_before)
        .filter(|(a, b)| a.breached && !b.breached)
        .map(|(a, _)| a.limit_id.clone())
        .collect();

    Ok(ScenarioResult {
        name: definition.name.clone(),
        as_of: inputs.as_of,
        base_currency: inputs.base_currency.to_string(),
        nav_before: inputs.nav,
        pnl: total_pnl,
        pnl_pct,
        redemptions,
        redeemed,
        nav_after: nav_shocked - redeemed,
        before,
        after,
        positions,
        by_shock,
        unpriced,
        sector_shocks,
        kpis,
        limits_before,
        limits_after,
        newly_breached,
    })
}
