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
//! - Speed: [`ScenarioBook`] indexes a book once (the held assets' attributes in compact
//!   arrays with text as small integers, KPIs and limits before, NAV-history returns) for any
//!   number of scenarios, and a shock's filters become tables over the distinct values, so a
//!   position costs no string comparison or hash lookup. A position's result holds its labels
//!   inline ([`Label`]) and none or one contribution without an allocation ([`Trace`]); a
//!   contribution's P/L is rounded in integer arithmetic when the product fits
//!   (`money_change`); a replay's per-asset changes are worked out once per window and book.
//!   [`ScenarioBook::run_all`] hands the slowest definitions out first (`benches/scenarios.rs`).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::fasthash::{FastMap, FastSet};
use crate::fx::FxTable;
use crate::history::{Cursor, PriceHistory};
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
    pub position_id: Label,
    pub asset_id: Label,
    pub symbol: Label,
    pub market_value: Decimal,
    /// `Σ` of the contributions' changes.
    pub change: Decimal,
    pub pnl: Decimal,
    pub value_after: Decimal,
    pub contributions: Trace,
}

/// A position's id, asset id or symbol in a result; reads as a `str`, prints and serialises
/// as a string. Up to [`Label::INLINE`] bytes (a UUID's 36 included) it is kept inline: a run
/// copies one per position, which costs less than sharing a string between the results (an
/// atomic count on the way in, and again when the result is dropped). A longer one is shared.
#[derive(Clone)]
pub struct Label(LabelRepr);

#[derive(Clone)]
enum LabelRepr {
    Inline(InlineText),
    Shared(Arc<str>),
}

/// The text's bytes, then its length in the last byte: one aligned `Copy` block, which the
/// compiler moves in whole words (at an odd offset, its copies stalled on each other).
#[derive(Clone, Copy)]
#[repr(align(8))]
struct InlineText([u8; Label::INLINE + 1]);

impl Label {
    /// The longest label kept inline, in bytes.
    pub const INLINE: usize = 39;
}

impl From<&str> for Label {
    fn from(text: &str) -> Label {
        Label(match u8::try_from(text.len()) {
            Ok(len) if text.len() <= Label::INLINE => {
                let mut bytes = [0; Label::INLINE + 1];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                bytes[Label::INLINE] = len;
                LabelRepr::Inline(InlineText(bytes))
            }
            _ => LabelRepr::Shared(Arc::from(text)),
        })
    }
}

impl std::ops::Deref for Label {
    type Target = str;

    fn deref(&self) -> &str {
        match &self.0 {
            LabelRepr::Inline(InlineText(bytes)) => {
                let len = usize::from(bytes[Label::INLINE]);
                std::str::from_utf8(&bytes[..len]).expect("an inline label is a whole str")
            }
            LabelRepr::Shared(text) => text,
        }
    }
}

impl PartialEq for Label {
    fn eq(&self, other: &Label) -> bool {
        **self == **other
    }
}

impl Eq for Label {}

impl std::fmt::Debug for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl std::fmt::Display for Label {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self)
    }
}

impl Serialize for Label {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self)
    }
}

/// The contributions to one position, in shock order. Most positions have none or one, kept
/// without a heap allocation of their own (a run moves thousands of positions); reads as a
/// slice of [`Contribution`]s and serialises (and prints) as a list.
#[derive(Clone, Default)]
pub struct Trace(TraceRepr);

#[derive(Clone, Default)]
enum TraceRepr {
    #[default]
    None,
    One(Contribution),
    Many(Vec<Contribution>),
}

impl Trace {
    fn push(&mut self, c: Contribution) {
        self.0 = match std::mem::take(&mut self.0) {
            TraceRepr::None => TraceRepr::One(c),
            TraceRepr::One(first) => TraceRepr::Many(vec![first, c]),
            TraceRepr::Many(mut all) => {
                all.push(c);
                TraceRepr::Many(all)
            }
        };
    }
}

impl From<Vec<Contribution>> for Trace {
    fn from(contributions: Vec<Contribution>) -> Trace {
        let mut trace = Trace::default();
        match contributions.len() {
            0 | 1 => contributions.into_iter().for_each(|c| trace.push(c)),
            _ => trace.0 = TraceRepr::Many(contributions),
        }
        trace
    }
}

impl std::ops::Deref for Trace {
    type Target = [Contribution];

    fn deref(&self) -> &[Contribution] {
        match &self.0 {
            TraceRepr::None => &[],
            TraceRepr::One(c) => std::slice::from_ref(c),
            TraceRepr::Many(v) => v,
        }
    }
}

impl<'t> IntoIterator for &'t Trace {
    type Item = &'t Contribution;
    type IntoIter = std::slice::Iter<'t, Contribution>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Trace {
    fn eq(&self, other: &Trace) -> bool {
        **self == **other
    }
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Serialize for Trace {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
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
fn rate_change(numbers: &Numbers, dy: Decimal) -> Option<Decimal> {
    let d = numbers.modified_duration?;
    let c = numbers.convexity.unwrap_or_default();
    let half = Decimal::new(5, 1);
    Some(times(-d, dy) + times(times(times(c, dy), dy), half))
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

/// What one shock does to one asset. The reason a position is unpriced is usually the same
/// for many positions, so it is borrowed from the prepared shock and only copied when the
/// position is listed.
#[derive(Debug, Clone)]
enum Effect<'r> {
    Untouched,
    Change(Decimal),
    Unpriced(Cow<'r, str>),
}

impl Effect<'_> {
    fn borrowed(&self) -> Effect<'_> {
        match self {
            Effect::Untouched => Effect::Untouched,
            Effect::Change(r) => Effect::Change(*r),
            Effect::Unpriced(why) => Effect::Unpriced(Cow::Borrowed(why)),
        }
    }
}

fn change_or(r: Option<Decimal>, why: &'static str) -> Effect<'static> {
    match r {
        Some(r) => Effect::Change(r),
        None => Effect::Unpriced(Cow::Borrowed(why)),
    }
}

/// The distinct values of one text attribute (sector, country, rating, currency) of the held
/// assets. Each held asset keeps the index of its value, `0` for none, so a shock's filter is
/// matched once per distinct value, by the same rules, instead of once per position.
struct Interned<'a> {
    /// `values[0]` stands for "no value".
    values: Vec<&'a str>,
    ids: FastMap<&'a str, u32>,
}

impl<'a> Interned<'a> {
    fn new() -> Interned<'a> {
        Interned {
            values: vec![""],
            ids: FastMap::default(),
        }
    }

    fn id(&mut self, value: Option<&'a str>) -> u32 {
        let Some(v) = value else { return 0 };
        let values = &mut self.values;
        *self.ids.entry(v).or_insert_with(|| {
            values.push(v);
            (values.len() - 1) as u32
        })
    }
}

/// `f` of "no value" and of each distinct value, by index.
fn table<T>(values: &[&str], f: impl Fn(Option<&str>) -> T) -> Vec<T> {
    std::iter::once(f(None))
        .chain(values[1..].iter().map(|v| f(Some(v))))
        .collect()
}

/// What a shock looks at for every position, a few bytes per held asset.
#[derive(Clone, Copy)]
struct Facts {
    class: AssetClass,
    has_duration: bool,
    has_beta: bool,
    currency: u32,
    sector: u32,
    country: u32,
    rating: u32,
}

impl Facts {
    fn equity_like(&self) -> bool {
        self.class == AssetClass::Equity
            || (matches!(self.class, AssetClass::Fund | AssetClass::Derivative) && self.has_beta)
    }

    fn rate_sensitive(&self) -> bool {
        self.has_duration || self.class == AssetClass::Bond
    }
}

/// The figures a shock reads only for the positions it moves.
#[derive(Clone, Copy)]
struct Numbers {
    modified_duration: Option<Decimal>,
    convexity: Option<Decimal>,
    spread_duration: Option<Decimal>,
    beta: Option<Decimal>,
    maturity: Option<NaiveDate>,
}

/// A shock with everything that does not depend on the position worked out once; filters on
/// text are tables over the interned values (see [`Interned`]).
enum Prepared<'d> {
    Rate {
        dy: Decimal,
    },
    Twist {
        buckets: &'d [CurveBucket],
    },
    Spread {
        rating: Vec<bool>,
        sector: Vec<bool>,
        ds: Decimal,
    },
    Fx {
        /// The change of each currency (by id); `None` where the shock does not move it
        /// against the base currency.
        by_currency: Vec<Option<Decimal>>,
    },
    Equity {
        country: Vec<bool>,
        sector: Vec<bool>,
        r: Decimal,
    },
    Commodity {
        sector: Vec<bool>,
        name: Option<String>,
        r: Decimal,
    },
    Asset {
        ids: Vec<usize>,
        r: Decimal,
    },
    Macro {
        /// By sector id; id 0 (no sector) is unpriced.
        by_sector: Vec<Result<Decimal, String>>,
    },
    Replay {
        /// By held asset, shared by every scenario replaying the same window.
        effects: Arc<[Effect<'static>]>,
    },
    NoPrice,
}

/// A replay window being worked out over the held assets: each one's change is its price
/// growth times its currency's growth against the base, minus one; cash only moves with its
/// currency.
struct Replay<'i, 'a> {
    inputs: &'i ScenarioInputs<'a>,
    from: NaiveDate,
    to: NaiveDate,
    /// Id of the base currency among the held assets' currencies.
    base_currency: Option<u32>,
    /// FX growth by (currency id, first date, last date): few currencies, few date pairs.
    fx_cache: Vec<(u32, NaiveDate, NaiveDate, Option<Decimal>)>,
    /// The held assets are looked up in turn, usually in the price history's own order.
    cursor: Cursor,
}

impl Replay<'_, '_> {
    fn effect(&mut self, asset: &Asset, currency: u32) -> Effect<'static> {
        let (inputs, from, to) = (self.inputs, self.from, self.to);
        let unpriced = |why: String| Effect::Unpriced(Cow::Owned(why));
        let (price_growth, start, end) = if asset.asset_class == AssetClass::Cash {
            (Decimal::ONE, from, to)
        } else {
            match inputs
                .prices
                .window_after(&mut self.cursor, &asset.id, from, to)
            {
                [] => return unpriced(format!("no close between {from} and {to}")),
                [(d, _)] => {
                    return unpriced(format!("only one close ({d}) between {from} and {to}"))
                }
                [(d0, p0), .., (d1, p1)] => {
                    if *p0 <= Decimal::ZERO {
                        return unpriced(format!("close on {d0} is not positive"));
                    }
                    (*p1 / *p0, *d0, *d1)
                }
            }
        };
        let fx_growth = if Some(currency) == self.base_currency {
            Some(Decimal::ONE)
        } else {
            match self
                .fx_cache
                .iter()
                .find(|(c, a, b, _)| *c == currency && *a == start && *b == end)
            {
                Some((.., growth)) => *growth,
                None => {
                    let rate =
                        |d: NaiveDate| inputs.fx.rate(&asset.currency, inputs.base_currency, d);
                    let growth = match (rate(start), rate(end)) {
                        (Some(f0), Some(f1)) if f0 > Decimal::ZERO => Some(f1 / f0),
                        _ => None,
                    };
                    self.fx_cache.push((currency, start, end, growth));
                    growth
                }
            }
        };
        match fx_growth {
            Some(fx) => Effect::Change(price_growth * fx - Decimal::ONE),
            None => unpriced(format!(
                "no {}→{} FX fixing on or before {start} and {end}",
                asset.currency, inputs.base_currency
            )),
        }
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

/// The product of two non-zero decimals as (magnitude, scale, negative) when it is exact and
/// `Decimal` keeps it as it is: within 96 bits at a scale of at most 28 (a money value or a
/// sensitivity times a change of a few digits, nearly always). The mantissas are multiplied
/// as integers, several times faster than `Decimal`'s general routines.
fn exact_product(a: Decimal, b: Decimal) -> Option<(u128, u32, bool)> {
    let x = u64::try_from(a.mantissa().unsigned_abs()).ok()?;
    let y = u64::try_from(b.mantissa().unsigned_abs()).ok()?;
    let product = u128::from(x) * u128::from(y);
    let scale = a.scale() + b.scale();
    (product < 1 << 96 && scale <= Decimal::MAX_SCALE).then_some((
        product,
        scale,
        a.is_sign_negative() != b.is_sign_negative(),
    ))
}

fn signed(magnitude: u128, negative: bool) -> i128 {
    // Below 2^96: the conversion cannot wrap.
    let m = magnitude as i128;
    if negative {
        -m
    } else {
        m
    }
}

/// `a × b`, bit for bit: [`exact_product`] when it applies (`Decimal` gives a plain 0 for a
/// product with a zero, whatever the scales), `Decimal` otherwise.
fn times(a: Decimal, b: Decimal) -> Decimal {
    if a.is_zero() || b.is_zero() {
        return Decimal::ZERO;
    }
    match exact_product(a, b) {
        Some((product, scale, negative)) => {
            Decimal::from_i128_with_scale(signed(product, negative), scale)
        }
        None => a * b,
    }
}

/// `(value × r).round_dp(2)`, bit for bit: a contribution's P/L, the engine's commonest
/// `Decimal` work. On an [`exact_product`], `Decimal` rounds half to even from the exact
/// digits, as is done here on the integers; anything else (a replay's 28-digit change) goes
/// through `Decimal`.
fn money_change(value: Decimal, r: Decimal) -> Decimal {
    if value.is_zero() || r.is_zero() {
        // A plain 0 from the product, which rounding leaves as it is.
        return Decimal::ZERO;
    }
    let Some((product, scale, negative)) = exact_product(value, r) else {
        return (value * r).round_dp(2);
    };
    if scale <= 2 {
        return Decimal::from_i128_with_scale(signed(product, negative), scale);
    }
    let unit = 10u128.pow(scale - 2);
    let (mut q, rest) = (product / unit, product % unit);
    let half = unit / 2;
    if rest > half || (rest == half && q % 2 == 1) {
        q += 1;
    }
    // A result rounded to zero comes out a positive zero, as in `Decimal`.
    Decimal::from_i128_with_scale(signed(q, negative), 2)
}

/// `x + 0` as `Decimal` computes it, without the call: `x` itself, but a zero of any scale
/// or sign comes back as a plain `0` (pinned by a test against `+`).
fn plus_zero(x: Decimal) -> Decimal {
    if x.is_zero() {
        Decimal::ZERO
    } else {
        x
    }
}

/// `d > 0` without the call into `Decimal`'s comparison (a zero may carry either sign).
fn is_positive(d: Decimal) -> bool {
    d.is_sign_positive() && !d.is_zero()
}

/// `d < −1` without the call into `Decimal`'s comparison: a negative sign and a mantissa
/// above `10^scale`.
fn below_minus_one(d: Decimal) -> bool {
    d.is_sign_negative() && d.mantissa().unsigned_abs() > 10u128.pow(d.scale())
}

/// Long and short totals of a book, one asset's net value at a time.
#[derive(Default)]
struct BookSums {
    long: Decimal,
    short: Decimal,
}

impl BookSums {
    fn add(&mut self, mv: Decimal) {
        if is_positive(mv) {
            self.long += mv;
        } else {
            self.short += mv;
        }
    }

    fn book(self, nav: Decimal) -> Book {
        let BookSums { long, short } = self;
        Book {
            nav,
            long,
            short,
            gross: long - short,
            net: long + short,
        }
    }
}

/// A rough cost of running `definition`, for handing out the slow ones first: a pass over
/// the positions, a little per price shock, more for a replay (a price-history lookup and a
/// division per held asset, unless another scenario already replayed the window).
fn weight(definition: &ScenarioDefinition) -> usize {
    4 + definition
        .shocks
        .iter()
        .map(|s| match s {
            Shock::HistoricalReplay { .. } => 8,
            Shock::Redemption { .. } => 0,
            _ => 1,
        })
        .sum::<usize>()
}

/// A portfolio indexed once for any number of scenarios: the asset of each position, the
/// book and KPIs before the shock, the limits before, the NAV history's returns. The
/// Scenarios screen runs many definitions over the same book (side by side); this does the
/// per-book work once. [`run_scenario`] is `ScenarioBook::new(inputs)?.run(definition)`.
///
/// Held assets are numbered ("slots", in order of first appearance among the positions) and
/// what the shocks look at is copied out of the wide [`Asset`] rows into small arrays by slot,
/// with text attributes as integers, so a scenario walks a few hundred kilobytes instead of
/// chasing every asset's strings.
pub struct ScenarioBook<'a> {
    inputs: ScenarioInputs<'a>,
    /// Index into `inputs.assets` of each slot's asset.
    held: Vec<usize>,
    /// Slot of each position.
    position_slot: Vec<u32>,
    /// Whether some asset is held by more than one position (see [`ScenarioBook::book`]).
    shared_slots: bool,
    /// Market value of each position.
    values: Vec<Decimal>,
    /// Labels of each position: (position id, asset id, symbol), shared by every result.
    labels: Vec<[Label; 3]>,
    facts: Vec<Facts>,
    numbers: Vec<Numbers>,
    /// Interned values ([`Interned`]), for turning a shock's filters into tables.
    currencies: Vec<&'a str>,
    /// Id of the base currency among `currencies`, when a held asset is in it.
    base_currency: Option<u32>,
    sectors: Vec<&'a str>,
    countries: Vec<&'a str>,
    ratings: Vec<&'a str>,
    coefficients: BTreeMap<(&'a str, &'a str), (NaiveDate, Decimal)>,
    /// Years to maturity by slot, worked out on the first curve twist.
    years: OnceLock<Vec<Option<Decimal>>>,
    /// Replay effects by window: every scenario replaying the same window shares them.
    replays: Mutex<Vec<ReplayEntry>>,
    before: Book,
    entries_before: Vec<Entry>,
    limits_before: Vec<LimitCheck>,
    history_returns: Result<Vec<f64>, String>,
}

type ReplayEntry = ((NaiveDate, NaiveDate), Arc<[Effect<'static>]>);

impl<'a> ScenarioBook<'a> {
    pub fn new(inputs: ScenarioInputs<'a>) -> Result<ScenarioBook<'a>, ScenarioError> {
        let mut by_id: FastMap<&str, usize> =
            FastMap::with_capacity_and_hasher(inputs.assets.len(), Default::default());
        for (k, a) in inputs.assets.iter().enumerate() {
            by_id.insert(a.id.as_str(), k);
        }
        let mut slot_of = vec![u32::MAX; inputs.assets.len()];
        let mut held = Vec::new();
        let mut position_slot = Vec::with_capacity(inputs.positions.len());
        for p in inputs.positions {
            let Some(&k) = by_id.get(p.asset_id.as_str()) else {
                return Err(ScenarioError::PositionWithoutAsset {
                    position: p.id.clone(),
                    asset: p.asset_id.clone(),
                });
            };
            if slot_of[k] == u32::MAX {
                slot_of[k] = held.len() as u32;
                held.push(k);
            }
            position_slot.push(slot_of[k]);
        }

        let (mut currencies, mut sectors, mut countries, mut ratings) = (
            Interned::new(),
            Interned::new(),
            Interned::new(),
            Interned::new(),
        );
        let mut facts = Vec::with_capacity(held.len());
        let mut numbers = Vec::with_capacity(held.len());
        let mut symbols: Vec<Label> = Vec::with_capacity(held.len());
        for &k in &held {
            let a = &inputs.assets[k];
            facts.push(Facts {
                class: a.asset_class,
                has_duration: a.modified_duration.is_some(),
                has_beta: a.beta.is_some(),
                currency: currencies.id(Some(a.currency.as_str())),
                sector: sectors.id(a.sector.as_deref()),
                country: countries.id(a.country.as_deref()),
                rating: ratings.id(a.rating.as_deref()),
            });
            numbers.push(Numbers {
                modified_duration: a.modified_duration,
                convexity: a.convexity,
                spread_duration: a.spread_duration,
                beta: a.beta,
                maturity: a.maturity,
            });
            symbols.push(Label::from(a.symbol.as_str()));
        }
        let labels = inputs
            .positions
            .iter()
            .zip(&position_slot)
            .map(|(p, s)| {
                [
                    Label::from(p.id.as_str()),
                    Label::from(p.asset_id.as_str()),
                    symbols[*s as usize].clone(),
                ]
            })
            .collect();
        let values = inputs.positions.iter().map(|p| p.market_value).collect();

        // A stable sort leaves a history already in date order as it is: skip the copy then.
        let history_returns = if inputs.nav_history.is_sorted_by_key(|p| p.date) {
            returns::daily_returns(inputs.nav_history)
        } else {
            let mut sorted = inputs.nav_history.to_vec();
            sorted.sort_by_key(|p| p.date);
            returns::daily_returns(&sorted)
        }
        .map(|s| s.values)
        .map_err(|e| e.to_string());
        let mut book = ScenarioBook {
            inputs,
            shared_slots: held.len() < position_slot.len(),
            held,
            position_slot,
            values,
            labels,
            facts,
            numbers,
            base_currency: currencies.ids.get(inputs.base_currency).copied(),
            currencies: currencies.values,
            sectors: sectors.values,
            countries: countries.values,
            ratings: ratings.values,
            coefficients: coefficients_at(inputs.sector_coefficients, inputs.as_of),
            years: OnceLock::new(),
            replays: Mutex::new(Vec::new()),
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
        book.before = book.book(book.values.iter().copied(), inputs.nav);
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
    ///
    /// When no asset is held twice, each asset's net is `0 + value`, which `Decimal` gives
    /// back unchanged, and slots are numbered in position order: [`BookSums`] then adds the
    /// values up as they come, in the same order, with no netting array.
    fn book(&self, values: impl Iterator<Item = Decimal>, nav: Decimal) -> Book {
        let mut sums = BookSums::default();
        if self.shared_slots {
            let mut per_slot = vec![Decimal::ZERO; self.held.len()];
            for (s, mv) in self.position_slot.iter().zip(values) {
                per_slot[*s as usize] += mv;
            }
            // Slots are numbered in order of first appearance: the same order of summation
            // as netting by asset in that order.
            per_slot.into_iter().for_each(|mv| sums.add(mv));
        } else {
            values.for_each(|mv| sums.add(mv));
        }
        sums.book(nav)
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

    /// Indices into `inputs.assets` of the assets an asset shock names (by id or symbol).
    fn named_assets(&self, asset: &str) -> Vec<usize> {
        self.inputs
            .assets
            .iter()
            .enumerate()
            .filter(|(_, a)| a.id == asset || a.symbol == asset)
            .map(|(k, _)| k)
            .collect()
    }

    /// Data-dependent checks (after [`ScenarioDefinition::validate_shape`]): named assets and
    /// currencies are known, macro factors have coefficients and replay windows lie inside
    /// the price history. (Every position's asset exists: [`ScenarioBook::new`] checked.)
    pub fn validate(&self, definition: &ScenarioDefinition) -> Result<(), ScenarioError> {
        let named = self.named_by(definition);
        self.check(definition, &named)
    }

    /// For each shock of `definition`, the assets it names (empty but for asset shocks).
    fn named_by(&self, definition: &ScenarioDefinition) -> Vec<Vec<usize>> {
        definition
            .shocks
            .iter()
            .map(|s| match s {
                Shock::Asset { asset, .. } => self.named_assets(asset),
                _ => Vec::new(),
            })
            .collect()
    }

    /// [`ScenarioBook::validate`] with the assets each shock names already looked up.
    fn check(
        &self,
        definition: &ScenarioDefinition,
        named: &[Vec<usize>],
    ) -> Result<(), ScenarioError> {
        definition.validate_shape()?;
        let inputs = &self.inputs;
        // The fixings first: a currency they know needs no walk over the assets.
        let known_currency = |c: &str| {
            c == inputs.base_currency
                || inputs.fx.knows(c)
                || inputs.assets.iter().any(|a| a.currency == c)
        };
        for (i, shock) in definition.shocks.iter().enumerate() {
            let n = i + 1;
            match shock {
                Shock::Asset { asset, .. } if named[i].is_empty() => {
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

    /// Years to maturity of each slot's asset (`None` without a maturity).
    fn years(&self) -> &[Option<Decimal>] {
        self.years.get_or_init(|| {
            self.numbers
                .iter()
                .map(|n| n.maturity.map(|m| years_to_maturity(m, self.inputs.as_of)))
                .collect()
        })
    }

    /// Every held asset's change over a replay window, worked out once per window.
    fn replay(&self, from: NaiveDate, to: NaiveDate) -> Arc<[Effect<'static>]> {
        let cached = |replays: &[ReplayEntry]| {
            replays
                .iter()
                .find(|(w, _)| *w == (from, to))
                .map(|(_, e)| e.clone())
        };
        if let Some(e) = cached(&self.replays.lock().expect("replay cache")) {
            return e;
        }
        // Worked out without the lock, so another window's replay need not wait; if two
        // threads race on the same window, the first to finish is kept.
        let mut replay = Replay {
            inputs: &self.inputs,
            from,
            to,
            base_currency: self.base_currency,
            fx_cache: Vec::new(),
            cursor: Cursor::default(),
        };
        let effects: Arc<[Effect<'static>]> = self
            .held
            .iter()
            .zip(&self.facts)
            .map(|(&k, f)| replay.effect(&self.inputs.assets[k], f.currency))
            .collect();
        let mut replays = self.replays.lock().expect("replay cache");
        if let Some(e) = cached(&replays) {
            return e;
        }
        replays.push(((from, to), effects.clone()));
        effects
    }

    fn prepare<'d>(
        &self,
        n: usize,
        shock: &'d Shock,
        named: Vec<usize>,
        sector_shocks: &mut Vec<SectorShock>,
    ) -> Prepared<'d> {
        let inputs = &self.inputs;
        match shock {
            Shock::ParallelRate { bp: b } => Prepared::Rate { dy: bp(*b) },
            Shock::CurveTwist { buckets } => Prepared::Twist { buckets },
            Shock::CreditSpread {
                rating,
                sector,
                bp: b,
            } => Prepared::Spread {
                rating: table(&self.ratings, |r| rating_matches(rating, r)),
                sector: table(&self.sectors, |s| matches(sector, s)),
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
                let by_currency = table(&self.currencies, |c| {
                    let c = c?;
                    if c == inputs.base_currency {
                        return None;
                    }
                    let mc = if moved(c) { m } else { Decimal::ONE };
                    // Both moved alike (or neither): the cross rate does not change.
                    (mc != base_m).then(|| mc / base_m - Decimal::ONE)
                });
                Prepared::Fx { by_currency }
            }
            Shock::Equity {
                market,
                sector,
                pct: p,
            } => Prepared::Equity {
                country: table(&self.countries, |c| matches(market, c)),
                sector: table(&self.sectors, |s| matches(sector, s)),
                r: pct(*p),
            },
            Shock::Commodity {
                sector,
                name,
                pct: p,
            } => Prepared::Commodity {
                sector: table(&self.sectors, |s| matches(sector, s)),
                name: name.as_ref().map(|s| s.trim().to_lowercase()),
                r: pct(*p),
            },
            Shock::Asset { pct: p, .. } => Prepared::Asset {
                ids: named,
                r: pct(*p),
            },
            Shock::Macro { moves } => {
                let coefficients = &self.coefficients;
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
                    by_sector.insert(sector, value);
                }
                let by_sector = table(&self.sectors, |s| match s {
                    None => Err("equity without a sector".to_string()),
                    Some(s) => by_sector
                        .get(s)
                        .cloned()
                        .unwrap_or_else(|| Err(format!("sector '{s}' has no macro coefficients"))),
                });
                Prepared::Macro { by_sector }
            }
            Shock::HistoricalReplay { from, to } => Prepared::Replay {
                effects: self.replay(*from, *to),
            },
            Shock::Redemption { .. } => Prepared::NoPrice,
        }
    }

    /// What `prepared` does to the asset in slot `s`.
    fn effect<'p>(&'p self, prepared: &'p Prepared, s: usize, f: &Facts) -> Effect<'p> {
        match prepared {
            Prepared::Rate { dy } => {
                if f.rate_sensitive() {
                    change_or(
                        rate_change(&self.numbers[s], *dy),
                        "bond without a modified duration",
                    )
                } else {
                    Effect::Untouched
                }
            }
            Prepared::Twist { buckets } => {
                if !f.rate_sensitive() {
                    return Effect::Untouched;
                }
                let Some(years) = self.years()[s] else {
                    return Effect::Unpriced(Cow::Borrowed("no maturity to place it on the curve"));
                };
                let dy = bp(bucket_bp(buckets, years));
                change_or(
                    rate_change(&self.numbers[s], dy),
                    "bond without a modified duration",
                )
            }
            Prepared::Spread { rating, sector, ds } => {
                let hit = rating[f.rating as usize] && sector[f.sector as usize];
                match (hit, self.numbers[s].spread_duration) {
                    (false, _) => Effect::Untouched,
                    (true, Some(sd)) => Effect::Change(times(-sd, *ds)),
                    (true, None) if f.class == AssetClass::Bond => {
                        Effect::Unpriced(Cow::Borrowed("bond without a spread duration"))
                    }
                    (true, None) => Effect::Untouched,
                }
            }
            Prepared::Fx { by_currency } => match by_currency[f.currency as usize] {
                Some(r) => Effect::Change(r),
                None => Effect::Untouched,
            },
            Prepared::Equity { country, sector, r } => {
                if f.equity_like() && country[f.country as usize] && sector[f.sector as usize] {
                    Effect::Change(times(*r, self.numbers[s].beta.unwrap_or(Decimal::ONE)))
                } else {
                    Effect::Untouched
                }
            }
            Prepared::Commodity { sector, name, r } => {
                if f.class != AssetClass::Commodity || !sector[f.sector as usize] {
                    return Effect::Untouched;
                }
                let name_hit = match name {
                    None => true,
                    Some(n) => {
                        let asset = &self.inputs.assets[self.held[s]];
                        asset.symbol.eq_ignore_ascii_case(n)
                            || asset.name.to_lowercase().contains(n.as_str())
                    }
                };
                if name_hit {
                    Effect::Change(*r)
                } else {
                    Effect::Untouched
                }
            }
            Prepared::Asset { ids, r } => {
                if ids.contains(&self.held[s]) {
                    Effect::Change(*r)
                } else {
                    Effect::Untouched
                }
            }
            Prepared::Macro { by_sector } => {
                if f.class != AssetClass::Equity {
                    return Effect::Untouched;
                }
                match &by_sector[f.sector as usize] {
                    Ok(r) => Effect::Change(*r),
                    Err(why) => Effect::Unpriced(Cow::Borrowed(why)),
                }
            }
            Prepared::Replay { effects } => effects[s].borrowed(),
            Prepared::NoPrice => Effect::Untouched,
        }
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
        // Longest first, each worker taking the next definition when it is free: a fixed
        // split leaves a core idle while the other finishes a slow one (a replay).
        let mut order: Vec<usize> = (0..definitions.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(weight(&definitions[i])));
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                done.push((i, self.run(&definitions[i])));
            }
            done
        };
        let mut results: Vec<Option<Result<ScenarioResult, ScenarioError>>> =
            (0..definitions.len()).map(|_| None).collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (1..workers).map(|_| scope.spawn(work)).collect();
            // The calling thread is one of the workers.
            let mut all = work();
            for handle in handles {
                all.extend(handle.join().expect("a scenario worker panicked"));
            }
            for (i, result) in all {
                results[i] = Some(result);
            }
        });
        results
            .into_iter()
            .map(|r| r.expect("every definition ran"))
            .collect()
    }

    /// Apply `definition` to the book. Validates first ([`ScenarioBook::validate`]).
    pub fn run(&self, definition: &ScenarioDefinition) -> Result<ScenarioResult, ScenarioError> {
        let named = self.named_by(definition);
        self.check(definition, &named)?;
        let inputs = &self.inputs;
        let mut sector_shocks = Vec::new();
        let prepared: Vec<Prepared> = definition
            .shocks
            .iter()
            .zip(named)
            .enumerate()
            .map(|(i, (s, ids))| self.prepare(i + 1, s, ids, &mut sector_shocks))
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
        let mut unpriced_seen: FastSet<(usize, u32)> = FastSet::default();
        let mut positions = Vec::with_capacity(inputs.positions.len());
        let mut total_pnl = Decimal::ZERO;
        // The book after, summed on the way when no asset is held twice ([`ScenarioBook::book`]).
        let mut after_sums = BookSums::default();

        for ((&s, &mv), labels) in self
            .position_slot
            .iter()
            .zip(&self.values)
            .zip(&self.labels)
        {
            let f = &self.facts[s as usize];
            let mut trace = Trace::default();
            let mut change = Decimal::ZERO;
            for (i, shock) in prepared.iter().enumerate() {
                match self.effect(shock, s as usize, f) {
                    Effect::Untouched => {}
                    Effect::Unpriced(reason) => {
                        if unpriced_seen.insert((i, s)) {
                            let asset = &inputs.assets[self.held[s as usize]];
                            unpriced.push(Unpriced {
                                shock: i + 1,
                                shock_type: kinds[i],
                                asset_id: asset.id.clone(),
                                symbol: asset.symbol.clone(),
                                reason: reason.into_owned(),
                            });
                        }
                    }
                    Effect::Change(r) => {
                        if below_minus_one(r) {
                            return Err(ScenarioError::NegativePrice {
                                shock: Some(i + 1),
                                asset: inputs.assets[self.held[s as usize]].symbol.clone(),
                                change_pct: (r * Decimal::ONE_HUNDRED).round_dp(4).normalize(),
                            });
                        }
                        // `0 + r` is `r` exactly: the first change needs no addition.
                        change = if trace.is_empty() { r } else { change + r };
                        trace.push(Contribution {
                            shock: i + 1,
                            shock_type: kinds[i],
                            change: r,
                            pnl: money_change(mv, r),
                        });
                    }
                }
            }
            if below_minus_one(change) {
                return Err(ScenarioError::NegativePrice {
                    shock: None,
                    asset: inputs.assets[self.held[s as usize]].symbol.clone(),
                    change_pct: (change * Decimal::ONE_HUNDRED).round_dp(4).normalize(),
                });
            }
            for c in &trace {
                let t = &mut by_shock[c.shock - 1];
                t.pnl += c.pnl;
                t.positions += 1;
            }
            // Most positions in most scenarios are untouched: their P/L is 0, and the sums
            // take the shortcuts of `Decimal`'s own addition of a zero ([`plus_zero`]).
            let pnl = match &*trace {
                [] => Decimal::ZERO,
                [first, rest @ ..] => rest.iter().fold(first.pnl, |sum, c| sum + c.pnl),
            };
            let value_after = if trace.is_empty() {
                total_pnl = plus_zero(total_pnl);
                plus_zero(mv)
            } else {
                total_pnl += pnl;
                mv + pnl
            };
            if !self.shared_slots {
                after_sums.add(value_after);
            }
            positions.push(PositionResult {
                position_id: labels[0].clone(),
                asset_id: labels[1].clone(),
                symbol: labels[2].clone(),
                market_value: mv,
                change,
                pnl,
                value_after,
                contributions: trace,
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

        let after = if self.shared_slots {
            self.book(positions.iter().map(|p| p.value_after), nav_shocked)
        } else {
            after_sums.book(nav_shocked)
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Zeros of several scales and both signs, small and large values, the extreme scale.
    fn samples() -> Vec<Decimal> {
        let mut out: Vec<Decimal> = [
            "0",
            "0.00",
            "-0",
            "-0.00",
            "0.0000000000000000000000000000",
            "1",
            "-1",
            "-1.00",
            "-1.0000000001",
            "-0.9999999999",
            "0.01",
            "-0.01",
            "123456.78",
            "-987654321.12",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "0.0000000000000000000000000001",
            "-7.9228162514264337593543950335",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        out.push(Decimal::from_parts(0, 0, 0, true, 2)); // a negative zero
        out
    }

    #[test]
    fn products_and_rounding_match_decimal_bit_for_bit() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let random = |rng: &mut rand_chacha::ChaCha8Rng| {
            let bits = rng.random_range(0..=96u32);
            let m = if bits == 0 {
                0
            } else {
                rng.random::<u128>() >> (128 - bits)
            };
            let negative = rng.random_bool(0.5);
            Decimal::from_i128_with_scale(
                if negative { -(m as i128) } else { m as i128 },
                rng.random_range(0..=28),
            )
        };
        let check = |v: Decimal, r: Decimal| {
            // Products too large for `Decimal` overflow (and panic) either way.
            if let Some(product) = v.checked_mul(r) {
                assert_eq!(
                    money_change(v, r).serialize(),
                    product.round_dp(2).serialize(),
                    "{v} × {r}"
                );
            }
        };
        for _ in 0..300_000 {
            let (v, r) = (random(&mut rng), random(&mut rng));
            check(v, r);
        }
        // Money values times short changes, and exact midpoints of the rounding.
        for _ in 0..300_000 {
            let v = Decimal::new(rng.random_range(-10_000_000_000i64..10_000_000_000), 2);
            let r = Decimal::new(
                rng.random_range(-100_000i64..100_000),
                rng.random_range(0..8),
            );
            check(v, r);
            let odd = Decimal::new(rng.random_range(-1_000_000i64..1_000_000) * 10 + 5, 3);
            check(odd, Decimal::ONE);
            check(odd, Decimal::new(-1, 0));
            check(
                Decimal::new(rng.random_range(-1_000i64..1_000) * 2 + 1, 0),
                Decimal::new(5, 3),
            );
        }
        for v in samples() {
            for r in samples() {
                check(v, r);
            }
        }
        // Products as such, against `*`.
        for _ in 0..300_000 {
            let (a, b) = (random(&mut rng), random(&mut rng));
            if let Some(product) = a.checked_mul(b) {
                assert_eq!(times(a, b).serialize(), product.serialize(), "{a} × {b}");
            }
            let d = Decimal::new(rng.random_range(-20_000i64..20_000), 3);
            let dy = Decimal::new(rng.random_range(-2_000i64..2_000), rng.random_range(2..6));
            assert_eq!(times(d, dy).serialize(), (d * dy).serialize(), "{d} × {dy}");
        }
        for a in samples() {
            for b in samples() {
                if let Some(product) = a.checked_mul(b) {
                    assert_eq!(times(a, b).serialize(), product.serialize(), "{a} × {b}");
                }
            }
        }
        for _ in 0..100_000 {
            let d = random(&mut rng);
            assert_eq!(below_minus_one(d), d < -Decimal::ONE, "{d} < -1");
            assert_eq!(is_positive(d), d > Decimal::ZERO, "{d} > 0");
        }
    }

    #[test]
    fn a_label_reads_prints_and_serialises_as_its_text() {
        let uuid = "0b6f3c1e-4a55-4d2b-9a8e-3f1c2d4e5f60";
        let long = "x".repeat(Label::INLINE + 1);
        for text in ["", "P00042", "BRK.B", "Zürich Ré", uuid, &long[1..], &long] {
            let label = Label::from(text);
            let inline = matches!(label.0, LabelRepr::Inline(_));
            assert_eq!(inline, text.len() <= Label::INLINE, "{text}");
            assert_eq!(&*label, text);
            assert_eq!(label.clone(), label);
            assert_eq!(label.to_string(), text);
            assert_eq!(
                format!("{label:?}"),
                format!("{:?}", Arc::<str>::from(text))
            );
            assert_eq!(
                serde_json::to_string(&label).unwrap(),
                serde_json::to_string(text).unwrap()
            );
        }
    }

    #[test]
    fn a_trace_reads_prints_and_serialises_as_a_list() {
        let c = |shock: usize| Contribution {
            shock,
            shock_type: "equity",
            change: Decimal::new(-2, 1),
            pnl: Decimal::new(-12_345, 2),
        };
        for list in [vec![], vec![c(1)], vec![c(1), c(3)]] {
            let mut trace = Trace::default();
            list.iter().for_each(|c| trace.push(c.clone()));
            assert_eq!(&*trace, list.as_slice());
            assert_eq!(trace, Trace::from(list.clone()));
            assert_eq!(trace.iter().count(), (&trace).into_iter().count());
            assert_eq!(format!("{trace:?}"), format!("{list:?}"));
            assert_eq!(
                serde_json::to_string(&trace).unwrap(),
                serde_json::to_string(&list).unwrap()
            );
        }
    }

    #[test]
    fn shortcuts_match_decimal_bit_for_bit() {
        for x in samples() {
            assert_eq!(
                plus_zero(x).serialize(),
                (x + Decimal::ZERO).serialize(),
                "{x} + 0"
            );
            assert_eq!(x.serialize(), (Decimal::ZERO + x).serialize(), "0 + {x}");
            assert_eq!(is_positive(x), x > Decimal::ZERO, "{x} > 0");
            assert_eq!(below_minus_one(x), x < -Decimal::ONE, "{x} < -1");
        }
    }
}
