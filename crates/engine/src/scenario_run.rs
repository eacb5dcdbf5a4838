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
//! - Speed: [`ScenarioBook`] indexes a book once (asset of each position, KPIs and limits
//!   before, NAV-history returns) for any number of scenarios; position labels are shared
//!   `Arc<str>`s, so a scenario over 10,000 positions costs about a millisecond and a
//!   historical replay about ten (`benches/scenarios.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

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
pub type KpiHook<'a> = dyn Fn(&[Position], Decimal) -> Vec<Entry> + Sync + 'a;

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
    /// Shared with the book (no copy per scenario); serialised as a string.
    #[serde(serialize_with = "as_str")]
    pub position_id: Arc<str>,
    #[serde(serialize_with = "as_str")]
    pub asset_id: Arc<str>,
    #[serde(serialize_with = "as_str")]
    pub symbol: Arc<str>,
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

fn as_str<S: serde::Serializer>(value: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value)
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
    Some(-d * dy + c * dy * dy * Decimal::new(5, 1))
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
        numeraire: String,
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
        ids: Vec<usize>,
        r: Decimal,
    },
    Macro {
        by_sector: HashMap<String, Result<Decimal, String>>,
    },
    Replay {
        from: NaiveDate,
        to: NaiveDate,
        /// FX growth by (currency, first date, last date): few currencies, few date pairs.
        fx_cache: Vec<(String, NaiveDate, NaiveDate, Option<Decimal>)>,
    },
    NoPrice,
}

fn prepare<'d>(
    n: usize,
    shock: &'d Shock,
    inputs: &ScenarioInputs<'_>,
    coefficients: &BTreeMap<(&str, &str), (NaiveDate, Decimal)>,
    asset_ids: Vec<usize>,
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
                numeraire: numeraire.to_string(),
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
        Shock::Asset { pct: p, .. } => Prepared::Asset {
            ids: asset_ids,
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
            fx_cache: Vec::new(),
        },
        Shock::Redemption { .. } => Prepared::NoPrice,
    }
}

fn equity_like(asset: &Asset) -> bool {
    asset.asset_class == AssetClass::Equity
        || (matches!(asset.asset_class, AssetClass::Fund | AssetClass::Derivative)
            && asset.beta.is_some())
}

fn replay_effect(
    asset: &Asset,
    from: NaiveDate,
    to: NaiveDate,
    inputs: &ScenarioInputs,
    fx_cache: &mut Vec<(String, NaiveDate, NaiveDate, Option<Decimal>)>,
) -> Effect {
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
        Some(Decimal::ONE)
    } else {
        let ccy = asset.currency.as_str();
        match fx_cache
            .iter()
            .find(|(c, a, b, _)| c == ccy && *a == start && *b == end)
        {
            Some((.., growth)) => *growth,
            None => {
                let rate = |d: NaiveDate| inputs.fx.rate(ccy, inputs.base_currency, d);
                let growth = match (rate(start), rate(end)) {
                    (Some(f0), Some(f1)) if f0 > Decimal::ZERO => Some(f1 / f0),
                    _ => None,
                };
                fx_cache.push((ccy.to_string(), start, end, growth));
                growth
            }
        }
    };
    match fx_growth {
        Some(fx) => Effect::Change(price_growth * fx - Decimal::ONE),
        None => Effect::Unpriced(format!(
            "no {}→{} FX fixing on or before {start} and {end}",
            asset.currency, inputs.base_currency
        )),
    }
}

fn effect(prepared: &mut Prepared, k: usize, asset: &Asset, inputs: &ScenarioInputs) -> Effect {
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
            if ids.contains(&k) {
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
        Prepared::Replay { from, to, fx_cache } => {
            replay_effect(asset, *from, *to, inputs, fx_cache)
        }
        Prepared::NoPrice => Effect::Untouched,
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

/// A portfolio indexed once for any number of scenarios: the asset of each position, the
/// book and KPIs before the shock, the limits before, the NAV history's returns. The
/// Scenarios screen runs many definitions over the same book (side by side); this does the
/// per-book work once. [`run_scenario`] is `ScenarioBook::new(inputs)?.run(definition)`.
pub struct ScenarioBook<'a> {
    inputs: ScenarioInputs<'a>,
    /// Index into `inputs.assets` of each position's asset.
    position_asset: Vec<usize>,
    /// Distinct asset indices held, for netting per asset.
    held: Vec<usize>,
    /// Labels of each position: (position id, asset id, symbol), shared by every result.
    labels: Vec<[Arc<str>; 3]>,
    currencies: HashSet<&'a str>,
    coefficients: BTreeMap<(&'a str, &'a str), (NaiveDate, Decimal)>,
    before: Book,
    entries_before: Vec<Entry>,
    limits_before: Vec<LimitCheck>,
    history_returns: Result<Vec<f64>, String>,
}

impl<'a> ScenarioBook<'a> {
    pub fn new(inputs: ScenarioInputs<'a>) -> Result<ScenarioBook<'a>, ScenarioError> {
        let mut by_id: HashMap<&str, usize> = HashMap::with_capacity(inputs.assets.len());
        let mut currencies: HashSet<&str> = HashSet::new();
        currencies.insert(inputs.base_currency);
        for (k, a) in inputs.assets.iter().enumerate() {
            by_id.insert(a.id.as_str(), k);
            currencies.insert(a.currency.as_str());
        }
        let mut position_asset = Vec::with_capacity(inputs.positions.len());
        let mut seen = vec![false; inputs.assets.len()];
        let mut held = Vec::new();
        for p in inputs.positions {
            let Some(&k) = by_id.get(p.asset_id.as_str()) else {
                return Err(ScenarioError::PositionWithoutAsset {
                    position: p.id.clone(),
                    asset: p.asset_id.clone(),
                });
            };
            position_asset.push(k);
            if !seen[k] {
                seen[k] = true;
                held.push(k);
            }
        }
        let symbols: Vec<Arc<str>> = inputs
            .assets
            .iter()
            .map(|a| Arc::from(a.symbol.as_str()))
            .collect();
        let labels = inputs
            .positions
            .iter()
            .zip(&position_asset)
            .map(|(p, k)| {
                [
                    Arc::from(p.id.as_str()),
                    Arc::from(p.asset_id.as_str()),
                    symbols[*k].clone(),
                ]
            })
            .collect();
        let mut sorted = inputs.nav_history.to_vec();
        sorted.sort_by_key(|p| p.date);
        let history_returns = returns::daily_returns(&sorted)
            .map(|s| s.values)
            .map_err(|e| e.to_string());
        let mut book = ScenarioBook {
            inputs,
            position_asset,
            held,
            labels,
            currencies,
            coefficients: coefficients_at(inputs.sector_coefficients, inputs.as_of),
            before: Book {
                nav: inputs.nav,
                long: Decimal::ZERO,
                short: Decimal::ZERO,
                gross: Decimal::ZERO,
                net: Decimal::ZERO,
            },
            entries_before: Vec::new(),
            limits_before: Vec::new(),
            history_returns,
        };
        book.before = book.book(inputs.positions.iter().map(|p| p.market_value), inputs.nav);
        let mut entries = book_entries(&book.before);
        entries.push(Entry::new(
            "max_drawdown",
            "Max drawdown",
            Unit::SignedPercent,
            book.max_drawdown(None),
        ));
        entries.push(Entry::new(
            "scenario_return",
            "Scenario P/L / NAV",
            Unit::SignedPercent,
            Metric::unavailable("before the scenario"),
        ));
        if let Some(hook) = inputs.kpi_hook {
            entries.extend(hook(inputs.positions, inputs.nav));
        }
        book.limits_before = limits::check(inputs.risk_limits, &limits::lookup(&entries));
        book.entries_before = entries;
        Ok(book)
    }

    /// Long, short, gross and net of the positions' values (in position order), netted per
    /// asset.
    fn book(&self, values: impl Iterator<Item = Decimal>, nav: Decimal) -> Book {
        let mut per_asset = vec![Decimal::ZERO; self.inputs.assets.len()];
        for (k, mv) in self.position_asset.iter().zip(values) {
            per_asset[*k] += mv;
        }
        let (mut long, mut short) = (Decimal::ZERO, Decimal::ZERO);
        for k in &self.held {
            let mv = per_asset[*k];
            if mv > Decimal::ZERO {
                long += mv;
            } else {
                short += mv;
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

    /// The maximum drawdown of the NAV history's daily returns, with `extra` appended as one
    /// more day when given.
    fn max_drawdown(&self, extra: Option<f64>) -> Metric {
        let values = match &self.history_returns {
            Ok(v) => v,
            Err(e) => return Metric::Unavailable(e.clone()),
        };
        let depth = match extra {
            None => kpi::max_drawdown(values).map(|d| d.depth),
            Some(r) => {
                let mut all = Vec::with_capacity(values.len() + 1);
                all.extend_from_slice(values);
                all.push(r);
                kpi::max_drawdown(&all).map(|d| d.depth)
            }
        };
        match depth {
            Some(d) => Metric::from_f64(d, "overflow"),
            None => Metric::unavailable("no NAV history"),
        }
    }

    /// Data-dependent checks (after [`ScenarioDefinition::validate_shape`]): named assets and
    /// currencies are known, macro factors have coefficients and replay windows lie inside
    /// the price history. (Every position's asset exists: [`ScenarioBook::new`] checked.)
    pub fn validate(&self, definition: &ScenarioDefinition) -> Result<(), ScenarioError> {
        definition.validate_shape()?;
        let inputs = &self.inputs;
        let known_currency = |c: &str| self.currencies.contains(c) || inputs.fx.knows(c);
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
                        if !self.coefficients.keys().any(|(_, f)| f == factor) {
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

    /// Apply each of `definitions` to the book, spread over the machine's cores (the book is
    /// shared read-only); results in the order given.
    pub fn run_all(
        &self,
        definitions: &[ScenarioDefinition],
    ) -> Vec<Result<ScenarioResult, ScenarioError>> {
        let workers = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(definitions.len())
            .max(1);
        if workers == 1 {
            return definitions.iter().map(|d| self.run(d)).collect();
        }
        let mut results: Vec<Option<Result<ScenarioResult, ScenarioError>>> =
            (0..definitions.len()).map(|_| None).collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    scope.spawn(move || {
                        definitions
                            .iter()
                            .enumerate()
                            .skip(w)
                            .step_by(workers)
                            .map(|(i, d)| (i, self.run(d)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for handle in handles {
                for (i, result) in handle.join().expect("a scenario worker panicked") {
                    results[i] = Some(result);
                }
            }
        });
        results
            .into_iter()
            .map(|r| r.expect("every definition ran"))
            .collect()
    }

    /// Apply `definition` to the book. Validates first ([`ScenarioBook::validate`]).
    pub fn run(&self, definition: &ScenarioDefinition) -> Result<ScenarioResult, ScenarioError> {
        self.validate(definition)?;
        let inputs = &self.inputs;
        let mut sector_shocks = Vec::new();
        let mut prepared: Vec<Prepared> = definition
            .shocks
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let ids = match s {
                    Shock::Asset { asset, .. } => inputs
                        .assets
                        .iter()
                        .enumerate()
                        .filter(|(_, a)| a.id == *asset || a.symbol == *asset)
                        .map(|(k, _)| k)
                        .collect(),
                    _ => Vec::new(),
                };
                prepare(
                    i + 1,
                    s,
                    inputs,
                    &self.coefficients,
                    ids,
                    &mut sector_shocks,
                )
            })
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
        let mut unpriced_seen: HashSet<(usize, usize)> = HashSet::new();
        let mut positions = Vec::with_capacity(inputs.positions.len());
        let mut total_pnl = Decimal::ZERO;

        for ((p, &k), labels) in inputs
            .positions
            .iter()
            .zip(&self.position_asset)
            .zip(&self.labels)
        {
            let asset = &inputs.assets[k];
            let mut contributions = Vec::new();
            let mut change = Decimal::ZERO;
            for (i, shock) in prepared.iter_mut().enumerate() {
                match effect(shock, k, asset, inputs) {
                    Effect::Untouched => {}
                    Effect::Unpriced(reason) => {
                        if unpriced_seen.insert((i, k)) {
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
            let mut pnl = Decimal::ZERO;
            for c in &contributions {
                pnl += c.pnl;
                let t = &mut by_shock[c.shock - 1];
                t.pnl += c.pnl;
                t.positions += 1;
            }
            total_pnl += pnl;
            positions.push(PositionResult {
                position_id: labels[0].clone(),
                asset_id: labels[1].clone(),
                symbol: labels[2].clone(),
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

        let after = self.book(positions.iter().map(|p| p.value_after), nav_shocked);
        let pnl_pct = (inputs.nav > Decimal::ZERO)
            .then(|| decimal_to_f64(total_pnl) / decimal_to_f64(inputs.nav));

        let mut entries_after = book_entries(&after);
        entries_after.push(Entry::new(
            "max_drawdown",
            "Max drawdown",
            Unit::SignedPercent,
            match pnl_pct {
                Some(r) => self.max_drawdown(Some(r)),
                None => Metric::unavailable("NAV is not positive"),
            },
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
        let entries_before = &self.entries_before;
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
        let limits_after = limits::check(inputs.risk_limits, &limits::lookup(&entries_after));
        let newly_breached = limits_after
            .iter()
            .zip(&self.limits_before)
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
            before: self.before.clone(),
            after,
            positions,
            by_shock,
            unpriced,
            sector_shocks,
            kpis,
            limits_before: self.limits_before.clone(),
            limits_after,
            newly_breached,
        })
    }
}

/// Data-dependent checks of `definition` against `inputs` (see [`ScenarioBook::validate`]),
/// including that every position's asset exists.
pub fn validate(
    inputs: &ScenarioInputs,
    definition: &ScenarioDefinition,
) -> Result<(), ScenarioError> {
    definition.validate_shape()?;
    ScenarioBook::new(*inputs)?.validate(definition)
}

/// Apply `definition` to the portfolio in `inputs`: validates, then runs. For several
/// scenarios over one book, [`ScenarioBook`] indexes the book once.
pub fn run_scenario(
    inputs: &ScenarioInputs,
    definition: &ScenarioDefinition,
) -> Result<ScenarioResult, ScenarioError> {
    definition.validate_shape()?;
    ScenarioBook::new(*inputs)?.run(definition)
}
