//! The liquidity ladder: how much cash the portfolio can raise by each horizon against how
//! much investors can take out by then, in the base case and under a scenario.
//!
//! Conventions (also in SCENARIOS_NOTES.md):
//!
//! - **Buckets** are day limits after the as-of date (default T+1, T+7, T+30, T+90, T+365)
//!   plus "beyond". Bucket T+d holds what becomes available after the previous limit and
//!   within `d` days; cumulative figures run from day 0.
//! - **Capacity**, per long position (market value in base currency; shorts raise no cash and
//!   are listed in `notes`):
//!   - cash (`asset_class` cash): all of it at once (day 0);
//!   - funds: all of it after `redemption_notice_days` (else by liquidity class);
//!   - anything with an `avg_daily_volume` and a quantity: `ADV × participation` units a day
//!     (default 20%), i.e. `value × min(1, d × ADV × participation / |quantity|)` by day `d`;
//!     the price never enters, the value per unit is `market_value / quantity`;
//!   - otherwise by `liquidity_class` ([`LadderConfig::class_days`]): `cash` 0, `daily` 1,
//!     `weekly` 7, `monthly` 30, `quarterly` 90, `semiannual` 180, `annual` 365, `illiquid`
//!     and `locked` never (beyond); and the demo's scale `L1` 1, `L2` 7, `L3` 30, `L4` 365,
//!     `L5` never. An asset with none of these is "beyond" and listed in `notes`.
//! - **Demand**: redemptions (`kind` redemption, `status` pending or confirmed) already
//!   noticed (`notice_date ≤ as_of`), by dealing date (an overdue one is due at once), plus
//!   the stressed redemptions of a scenario. Per dealing date, payments are capped by the
//!   gate at `gate_pct × NAV` (a zero gate means no gate); the excess is carried to the date
//!   one dealing period later (`dealing_frequency`), where the gate applies again, until paid.
//! - Per bucket: coverage = cumulative capacity / cumulative demand (`None` without demand),
//!   surplus = cumulative capacity − cumulative demand, breach when the surplus is negative.
//! - **Waterfall**: the order positions would be sold in: cash first, then by days to
//!   liquidate the whole position, then by cost; the cost is a spread/impact in bp by the
//!   bucket in which the position is fully sold ([`LadderConfig::cost_bp`], default 10, 25,
//!   50, 100, 200 and 500 bp beyond; cash 0).
//! - **Days to liquidate 90%**: the first whole day by which cumulative capacity reaches 90%
//!   of NAV (`None` if not within [`LadderConfig::max_days`]).

use std::collections::{BTreeMap, HashMap};

use chrono::{Months, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::model::{Asset, AssetClass, FundFlow, LiquidityTerms, Position};
use crate::returns::decimal_to_f64;
use crate::scenario_run::ScenarioResult;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LadderConfig {
    /// Bucket limits in days, strictly increasing, each ≥ 1.
    pub buckets: Vec<u32>,
    /// Share of the average daily volume the portfolio may trade, in (0, 1].
    pub participation: Decimal,
    /// Days to cash by liquidity class; `None` = never within the ladder (beyond).
    pub class_days: Vec<(String, Option<u32>)>,
    /// Cost of selling, in bp, by the bucket where a position is fully sold: one per bucket
    /// plus one for beyond.
    pub cost_bp: Vec<Decimal>,
    /// Longest horizon searched for the days to liquidate 90% of NAV.
    pub max_days: u32,
}

impl Default for LadderConfig {
    fn default() -> Self {
        let class = |c: &str, d: Option<u32>| (c.to_string(), d);
        LadderConfig {
            buckets: vec![1, 7, 30, 90, 365],
            participation: Decimal::new(20, 2),
            class_days: vec![
                class("cash", Some(0)),
                class("daily", Some(1)),
                class("weekly", Some(7)),
                class("monthly", Some(30)),
                class("quarterly", Some(90)),
                class("semiannual", Some(180)),
                class("annual", Some(365)),
                class("illiquid", None),
                class("locked", None),
                class("L1", Some(1)),
                class("L2", Some(7)),
                class("L3", Some(30)),
                class("L4", Some(365)),
                class("L5", None),
            ],
            cost_bp: [10, 25, 50, 100, 200, 500].map(Decimal::from).to_vec(),
            max_days: 3_650,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LadderError {
    #[error("bucket limits must be at least 1 day and strictly increasing: {0:?}")]
    BadBuckets(Vec<u32>),
    #[error("participation must be in (0, 1], got {0}")]
    BadParticipation(Decimal),
    #[error("cost_bp needs one figure per bucket plus beyond ({expected}), got {got}")]
    BadCosts { expected: usize, got: usize },
    #[error(
        "unknown dealing frequency '{0}' (daily, weekly, monthly, quarterly, semiannual, annual)"
    )]
    UnknownDealingFrequency(String),
    #[error("position {position} holds asset '{asset}', which is not in the asset list")]
    PositionWithoutAsset { position: String, asset: String },
}

/// One portfolio at one date.
#[derive(Debug, Clone, Copy)]
pub struct LadderInputs<'a> {
    pub as_of: NaiveDate,
    pub nav: Decimal,
    pub positions: &'a [Position],
    pub assets: &'a [Asset],
    /// The portfolio's flows (any status; the ladder picks noticed, open redemptions).
    pub fund_flows: &'a [FundFlow],
    pub terms: Option<&'a LiquidityTerms>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LadderBucket {
    /// "T+1" … or "beyond".
    pub label: String,
    /// `None` for beyond.
    pub max_days: Option<u32>,
    pub capacity: Decimal,
    pub cum_capacity: Decimal,
    /// `cum_capacity / NAV` (the share of NAV liquidatable by then); `None` if NAV ≤ 0.
    pub cum_capacity_pct: Option<f64>,
    pub demand: Decimal,
    pub cum_demand: Decimal,
    /// `cum_capacity / cum_demand`; `None` when nothing is demanded by then.
    pub coverage: Option<f64>,
    /// `cum_capacity − cum_demand` (negative: a shortfall).
    pub surplus: Decimal,
    pub breach: bool,
}

/// Redemptions due on one dealing date and what the gate let through.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DealingDate {
    pub date: NaiveDate,
    /// Redemptions dealing on this date (not counting what an earlier gate carried here).
    pub requested: Decimal,
    pub carried_in: Decimal,
    pub paid: Decimal,
    /// Held back by the gate, due one dealing period later.
    pub carried_out: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WaterfallStep {
    pub order: usize,
    pub position_id: String,
    pub symbol: String,
    pub value: Decimal,
    /// Days to sell the whole position; `None` = beyond the ladder.
    pub days_to_liquidate: Option<u32>,
    pub cost_bp: Decimal,
    pub cost: Decimal,
    /// Cumulative proceeds net of costs after this step.
    pub cum_proceeds: Decimal,
    /// Long value not yet sold after this step.
    pub remaining: Decimal,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LadderNote {
    pub position_id: String,
    pub symbol: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ladder {
    pub as_of: NaiveDate,
    pub nav: Decimal,
    pub buckets: Vec<LadderBucket>,
    pub dealing_dates: Vec<DealingDate>,
    pub waterfall: Vec<WaterfallStep>,
    pub days_to_liquidate_90: Option<u32>,
    pub notes: Vec<LadderNote>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BucketDelta {
    pub label: String,
    pub capacity: Decimal,
    pub demand: Decimal,
    pub surplus: Decimal,
    /// Stressed minus base coverage, when both exist.
    pub coverage: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LadderComparison {
    pub base: Ladder,
    pub stressed: Ladder,
    /// Stressed minus base, bucket by bucket.
    pub delta: Vec<BucketDelta>,
}

/// How a position turns into cash.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Profile {
    /// All of it on day 0.
    Immediate,
    /// A share of the value per day (`ADV × participation / |quantity|`).
    Linear {
        per_day: Decimal,
    },
    /// All of it after this many days.
    After(u32),
    Never,
}

impl Profile {
    fn available(self, value: Decimal, day: u32) -> Decimal {
        match self {
            Profile::Immediate => value,
            Profile::Linear { per_day } => value * (per_day * Decimal::from(day)).min(Decimal::ONE),
            Profile::After(n) if day >= n => value,
            Profile::After(_) | Profile::Never => Decimal::ZERO,
        }
    }

    fn days_to_full(self) -> Option<u32> {
        match self {
            Profile::Immediate => Some(0),
            Profile::Linear { per_day } => (Decimal::ONE / per_day).ceil().to_u32(),
            Profile::After(n) => Some(n),
            Profile::Never => None,
        }
    }
}

enum Step {
    Days(u64),
    Months(u32),
}

fn dealing_step(frequency: &str) -> Option<Step> {
    match frequency
        .trim()
        .to_ascii_lowercase()
        .replace(['-', '_', ' '], "")
        .as_str()
    {
        "daily" => Some(Step::Days(1)),
        "weekly" => Some(Step::Days(7)),
        "monthly" => Some(Step::Months(1)),
        "quarterly" => Some(Step::Months(3)),
        "semiannual" | "semiannually" => Some(Step::Months(6)),
        "annual" | "annually" | "yearly" => Some(Step::Months(12)),
        _ => None,
    }
}

fn check(config: &LadderConfig) -> Result<(), LadderError> {
    let b = &config.buckets;
    if b.is_empty() || b[0] == 0 || b.windows(2).any(|w| w[1] <= w[0]) {
        return Err(LadderError::BadBuckets(b.clone()));
    }
    if config.participation <= Decimal::ZERO || config.participation > Decimal::ONE {
        return Err(LadderError::BadParticipation(config.participation));
    }
    if config.cost_bp.len() != b.len() + 1 {
        return Err(LadderError::BadCosts {
            expected: b.len() + 1,
            got: config.cost_bp.len(),
        });
    }
    Ok(())
}

fn profile(position: &Position, asset: &Asset, config: &LadderConfig) -> Result<Profile, String> {
    let by_class = || {
        let class = asset.liquidity_class.as_deref().map(str::trim);
        match class.and_then(|c| {
            config
                .class_days
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(c))
        }) {
            Some((_, Some(0))) => Ok(Profile::Immediate),
            Some((_, Some(d))) => Ok(Profile::After(*d)),
            Some((_, None)) => Ok(Profile::Never),
            None => Err(match class {
                Some(c) => format!("unknown liquidity class '{c}': counted beyond the ladder"),
                None => {
                    "no volume, notice or liquidity class: counted beyond the ladder".to_string()
                }
            }),
        }
    };
    match asset.asset_class {
        AssetClass::Cash => Ok(Profile::Immediate),
        AssetClass::Fund => match asset.redemption_notice_days {
            Some(n) => Ok(Profile::After(n.max(0) as u32)),
            None => by_class(),
        },
        _ => match asset.avg_daily_volume {
            Some(adv) if adv > Decimal::ZERO && !position.quantity.is_zero() => {
                Ok(Profile::Linear {
                    per_day: adv * config.participation / position.quantity.abs(),
                })
            }
            _ => by_class(),
        },
    }
}

fn bucket_index(limits: &[u32], days: Option<u32>) -> usize {
    match days {
        Some(d) => limits.iter().position(|l| d <= *l).unwrap_or(limits.len()),
        None => limits.len(),
    }
}

/// The ladder of `inputs`, with `extra_redemptions` (date, amount) added to the demand (the
/// stressed redemptions of a scenario; empty for the base case).
pub fn liquidity_ladder(
    inputs: &LadderInputs,
    config: &LadderConfig,
    extra_redemptions: &[(NaiveDate, Decimal)],
) -> Result<Ladder, LadderError> {
    check(config)?;
    let limits = &config.buckets;
    let mut notes = Vec::new();
    let by_id: HashMap<&str, &Asset> = inputs.assets.iter().map(|a| (a.id.as_str(), a)).collect();
    let mut held: Vec<(&Position, &Asset, Profile)> = Vec::new();
    for p in inputs.positions {
        let asset = by_id.get(p.asset_id.as_str()).copied().ok_or_else(|| {
            LadderError::PositionWithoutAsset {
                position: p.id.clone(),
                asset: p.asset_id.clone(),
            }
        })?;
        let note = |text: String| LadderNote {
            position_id: p.id.clone(),
            symbol: asset.symbol.clone(),
            note: text,
        };
        if p.market_value <= Decimal::ZERO {
            if p.market_value < Decimal::ZERO {
                notes.push(note(
                    "short position: covering it uses cash, it raises none".into(),
                ));
            }
            continue;
        }
        let prof = match profile(p, asset, config) {
            Ok(prof) => prof,
            Err(why) => {
                notes.push(note(why));
                Profile::Never
            }
        };
        held.push((p, asset, prof));
    }

    // Capacity: cumulative at each limit, then the differences.
    let cum_at = |day: u32| -> Decimal {
        held.iter()
            .map(|(p, _, prof)| prof.available(p.market_value, day))
            .sum()
    };
    let total: Decimal = held.iter().map(|(p, ..)| p.market_value).sum();
    let mut cum_capacity: Vec<Decimal> = limits.iter().map(|d| cum_at(*d)).collect();
    cum_capacity.push(total);

    // Demand by dealing date, through the gate.
    let mut requested: BTreeMap<NaiveDate, Decimal> = BTreeMap::new();
    for f in inputs.fund_flows {
        let open = matches!(f.status.as_str(), "pending" | "confirmed");
        if f.kind == "redemption" && open && f.notice_date <= inputs.as_of {
            *requested
                .entry(f.dealing_date.max(inputs.as_of))
                .or_default() += f.amount.abs();
        }
    }
    for (date, amount) in extra_redemptions {
        *requested.entry((*date).max(inputs.as_of)).or_default() += amount.abs();
    }
    let gate = inputs
        .terms
        .filter(|t| t.gate_pct > Decimal::ZERO)
        .map(|t| {
            (
                t.gate_pct * inputs.nav.max(Decimal::ZERO),
                t.dealing_frequency.as_str(),
            )
        });
    let step = match gate {
        Some((_, freq)) => Some(
            dealing_step(freq)
                .ok_or_else(|| LadderError::UnknownDealingFrequency(freq.to_string()))?,
        ),
        None => None,
    };
    let mut dealing_dates = Vec::new();
    let mut carry = Decimal::ZERO;
    let mut queue = requested;
    while let Some((date, asked)) = queue.pop_first() {
        let due = asked + carry;
        let paid = match gate {
            Some((cap, _)) if cap > Decimal::ZERO => due.min(cap),
            _ => due,
        };
        let carried_out = due - paid;
        dealing_dates.push(DealingDate {
            date,
            requested: asked,
            carried_in: carry,
            paid,
            carried_out,
        });
        carry = carried_out;
        if carry > Decimal::ZERO {
            let next = match step {
                Some(Step::Days(d)) => date + chrono::Days::new(d),
                Some(Step::Months(m)) => date.checked_add_months(Months::new(m)).unwrap_or(date),
                None => date,
            };
            queue.entry(next).or_default();
        }
    }
    let mut demand = vec![Decimal::ZERO; limits.len() + 1];
    for d in &dealing_dates {
        let days = (d.date - inputs.as_of).num_days().max(0);
        let days = u32::try_from(days).unwrap_or(u32::MAX);
        demand[bucket_index(limits, Some(days))] += d.paid;
    }

    let ratio =
        |a: Decimal, b: Decimal| (b > Decimal::ZERO).then(|| decimal_to_f64(a) / decimal_to_f64(b));
    let mut buckets = Vec::with_capacity(limits.len() + 1);
    let mut cum_demand = Decimal::ZERO;
    let mut previous = Decimal::ZERO;
    for (k, cum_cap) in cum_capacity.iter().enumerate() {
        cum_demand += demand[k];
        let surplus = *cum_cap - cum_demand;
        buckets.push(LadderBucket {
            label: limits
                .get(k)
                .map_or_else(|| "beyond".to_string(), |d| format!("T+{d}")),
            max_days: limits.get(k).copied(),
            capacity: *cum_cap - previous,
            cum_capacity: *cum_cap,
            cum_capacity_pct: ratio(*cum_cap, inputs.nav),
            demand: demand[k],
            cum_demand,
            coverage: ratio(*cum_cap, cum_demand),
            surplus,
            breach: surplus < Decimal::ZERO,
        });
        previous = *cum_cap;
    }

    // Waterfall.
    let mut order: Vec<(&Position, &Asset, Profile)> = held.clone();
    let cost_of = |asset: &Asset, prof: Profile| {
        if asset.asset_class == AssetClass::Cash {
            Decimal::ZERO
        } else {
            config.cost_bp[bucket_index(limits, prof.days_to_full())]
        }
    };
    order.sort_by(|a, b| {
        let key = |(_, asset, prof): &(&Position, &Asset, Profile)| {
            (
                asset.asset_class != AssetClass::Cash,
                prof.days_to_full().map_or(u64::MAX, u64::from),
                cost_of(asset, *prof),
            )
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| a.1.symbol.cmp(&b.1.symbol))
    });
    let mut waterfall = Vec::with_capacity(order.len());
    let (mut proceeds, mut remaining) = (Decimal::ZERO, total);
    for (i, (p, asset, prof)) in order.iter().enumerate() {
        let cost_bp = cost_of(asset, *prof);
        let cost = (p.market_value * cost_bp / Decimal::from(10_000)).round_dp(2);
        proceeds += p.market_value - cost;
        remaining -= p.market_value;
        waterfall.push(WaterfallStep {
            order: i + 1,
            position_id: p.id.clone(),
            symbol: asset.symbol.clone(),
            value: p.market_value,
            days_to_liquidate: prof.days_to_full(),
            cost_bp,
            cost,
            cum_proceeds: proceeds,
            remaining,
        });
    }

    // Days to 90% of NAV: cumulative capacity only grows with the day, so bisect.
    let target = inputs.nav * Decimal::new(9, 1);
    let days_to_liquidate_90 = if inputs.nav <= Decimal::ZERO || cum_at(config.max_days) < target {
        None
    } else {
        let (mut lo, mut hi) = (0u32, config.max_days);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if cum_at(mid) >= target {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Some(lo)
    };

    Ok(Ladder {
        as_of: inputs.as_of,
        nav: inputs.nav,
        buckets,
        dealing_dates,
        waterfall,
        days_to_liquidate_90,
        notes,
    })
}

/// Base and stressed ladders side by side, stressed minus base per bucket.
pub fn compare(base: Ladder, stressed: Ladder) -> LadderComparison {
    let delta = base
        .buckets
        .iter()
        .zip(&stressed.buckets)
        .map(|(b, s)| BucketDelta {
            label: b.label.clone(),
            capacity: s.capacity - b.capacity,
            demand: s.demand - b.demand,
            surplus: s.surplus - b.surplus,
            coverage: match (b.coverage, s.coverage) {
                (Some(b), Some(s)) => Some(s - b),
                _ => None,
            },
        })
        .collect();
    LadderComparison {
        base,
        stressed,
        delta,
    }
}

/// The base ladder and the ladder after `scenario` (run on the same positions): positions at
/// their shocked values, the gate on the shocked NAV, and the scenario's redemptions added.
pub fn base_vs_stressed(
    inputs: &LadderInputs,
    config: &LadderConfig,
    scenario: &ScenarioResult,
) -> Result<LadderComparison, LadderError> {
    let base = liquidity_ladder(inputs, config, &[])?;
    let after: HashMap<&str, Decimal> = scenario
        .positions
        .iter()
        .map(|r| (&*r.position_id, r.value_after))
        .collect();
    let shocked: Vec<Position> = inputs
        .positions
        .iter()
        .map(|p| {
            let after = after.get(p.id.as_str()).copied().unwrap_or(p.market_value);
            Position {
                market_value: after,
                ..p.clone()
            }
        })
        .collect();
    let redemptions: Vec<(NaiveDate, Decimal)> = scenario
        .redemptions
        .iter()
        .map(|r| (r.by, r.amount))
        .collect();
    let stressed_inputs = LadderInputs {
        positions: &shocked,
        nav: scenario.nav_before + scenario.pnl,
        ..*inputs
    };
    let stressed = liquidity_ladder(&stressed_inputs, config, &redemptions)?;
    Ok(compare(base, stressed))
}
