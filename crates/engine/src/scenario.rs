//! What-if scenarios: the definition an analyst saves, versions and publishes, and the checks
//! that refuse a scenario that would be applied wrong.
//!
//! A [`ScenarioDefinition`] is a name, a description and a list of [`Shock`]s that compose:
//! rate (parallel and by maturity bucket), credit spread, FX, equity, commodity, single-asset,
//! macro (turned into sector shocks through `sector_coefficients`), historical replay and
//! redemption shocks. It is plain serde data (`{"type": "parallel_rate", "bp": "100"}`), so
//! the same JSON is stored in the laptop's scenario lab and in the shared `scenarios` table.
//! [`crate::scenario_run::run_scenario`] applies it to a portfolio.
//!
//! Units are in the field names, so a shock cannot be read in the wrong unit: `bp` is basis
//! points (100 bp = 1 percentage point = 0.01), `pct` is percent (−20 = −20%), macro moves are
//! percentage points (`"gdp_growth": "-2"` = growth two points lower), `share` is a fraction
//! of NAV (0.25 = 25%). Magnitudes are [`Decimal`], so a NaN or an infinity cannot be
//! represented at all (a JSON `"NaN"` is refused when parsed); absurd magnitudes are refused
//! by [`ScenarioDefinition::validate_shape`] and references to data (assets, currencies,
//! macro factors, the replay window) by [`crate::scenario_run::validate`]. Every
//! [`ScenarioError`] names the shock by its 1-based number and the offending field.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest rate or spread move accepted, in basis points (either sign).
pub const MAX_BP: i64 = 2_000;
/// Largest rise accepted for a price or currency shock, in percent (a fall stops at −100%).
pub const MAX_RISE_PCT: i64 = 1_000;
/// Largest macro move accepted, in percentage points (either sign).
pub const MAX_MACRO_PP: i64 = 50;

/// A named, composable set of shocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioDefinition {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub shocks: Vec<Shock>,
}

/// One maturity bucket of a curve twist: bonds with `previous bound < years ≤ up_to_years`
/// move by `bp`. The first bucket starts at 0 years (and also takes matured bonds); the last
/// bucket must be open (`up_to_years: null`) so that no bond falls outside the curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveBucket {
    pub up_to_years: Option<Decimal>,
    pub bp: Decimal,
}

/// One shock of a scenario. See the module documentation for units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Shock {
    /// Every yield moves by `bp`; priced on assets with a modified duration:
    /// `ΔP/P = −D·Δy + ½·C·Δy²` (convexity absent → 0).
    ParallelRate { bp: Decimal },
    /// Yields move by maturity bucket (years to maturity from the as-of date, 365.25-day
    /// years): steepeners, flatteners, butterflies. Same pricing as a parallel shift.
    CurveTwist { buckets: Vec<CurveBucket> },
    /// Credit spreads of the matching assets widen by `bp`: `ΔP/P = −SD·Δs` on assets with a
    /// spread duration. No filter = every asset with a spread duration; both = both must match.
    CreditSpread {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rating: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sector: Option<String>,
        bp: Decimal,
    },
    /// The value of `currency` measured in `against` (default: the portfolio's base currency)
    /// changes by `pct`; every other currency keeps its value in `against`. `currency: "*"`
    /// moves every currency except `against`. A position in currency `c` of a portfolio in
    /// base `b` then changes by `m(c) / m(b) − 1` in base terms, `m(x) = 1 + pct/100` for a
    /// moved currency and 1 otherwise.
    Fx {
        currency: String,
        pct: Decimal,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        against: Option<String>,
    },
    /// Equities of a market (the asset's `country`) and/or sector move by `pct × beta` (beta
    /// absent → 1). Applies to the equity class, and to funds and derivatives that carry a
    /// beta (their declared equity sensitivity). No filter = every such asset.
    Equity {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        market: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sector: Option<String>,
        pct: Decimal,
    },
    /// Commodity-class assets move by `pct`; `sector` matches the asset's sector, `name` its
    /// symbol exactly or its name as a case-insensitive substring ("brent").
    Commodity {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sector: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        pct: Decimal,
    },
    /// One asset, by id or symbol, moves by `pct` whatever its class.
    Asset { asset: String, pct: Decimal },
    /// Macro factor moves in percentage points (`gdp_growth`, `policy_rate`, `inflation`, or
    /// any factor of `sector_coefficients`), turned into a shock per sector:
    /// `pct(s) = Σ_f elasticity(s, f) × move(f)`, with each coefficient the latest whose
    /// effective date is on or before the as-of date. Applies to equities by their sector.
    Macro { moves: BTreeMap<String, Decimal> },
    /// Each asset's actual base-currency return over `[from, to]`: its first and last close
    /// inside the window, times the currency's move against the base over the same dates.
    HistoricalReplay { from: NaiveDate, to: NaiveDate },
    /// `share` of NAV (after the scenario's P/L) is redeemed, dealing on `by`. Prices do not
    /// move; the NAV after falls by the amount and the stressed liquidity ladder demands it.
    Redemption { share: Decimal, by: NaiveDate },
}

impl Shock {
    /// The shock's `type` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            Shock::ParallelRate { .. } => "parallel_rate",
            Shock::CurveTwist { .. } => "curve_twist",
            Shock::CreditSpread { .. } => "credit_spread",
            Shock::Fx { .. } => "fx",
            Shock::Equity { .. } => "equity",
            Shock::Commodity { .. } => "commodity",
            Shock::Asset { .. } => "asset",
            Shock::Macro { .. } => "macro",
            Shock::HistoricalReplay { .. } => "historical_replay",
            Shock::Redemption { .. } => "redemption",
        }
    }
}

/// Why a scenario cannot be run. `shock` is the 1-based number of the shock in the list.
#[derive(Debug, Clone, PartialEq, Error, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScenarioError {
    #[error("shock #{shock} ({shock_type}): {field} = {value} is outside {allowed}")]
    OutOfRange {
        shock: usize,
        shock_type: &'static str,
        field: &'static str,
        value: String,
        allowed: String,
    },
    #[error("shock #{shock} ({shock_type}): {field} {reason}")]
    Invalid {
        shock: usize,
        shock_type: &'static str,
        field: &'static str,
        reason: String,
    },
    #[error("shock #{shock} ({shock_type}): unknown asset '{asset}' (neither an id nor a symbol)")]
    UnknownAsset {
        shock: usize,
        shock_type: &'static str,
        asset: String,
    },
    #[error("shock #{shock} (fx): {field} '{currency}' is not a known currency")]
    UnknownCurrency {
        shock: usize,
        field: &'static str,
        currency: String,
    },
    #[error("shock #{shock} (macro): moves.{factor} has no sector coefficient effective on or before {as_of}")]
    UnknownMacroFactor {
        shock: usize,
        factor: String,
        as_of: NaiveDate,
    },
    #[error("shock #{shock} (historical_replay): window {from}..{to} is not inside the price history{}", history_text(*.history))]
    ReplayOutsideHistory {
        shock: usize,
        from: NaiveDate,
        to: NaiveDate,
        history: Option<(NaiveDate, NaiveDate)>,
    },
    #[error("{} would make the price of {asset} negative: {change_pct}%", shock_text(*.shock))]
    NegativePrice {
        /// `None` when no single shock does it but their sum does.
        shock: Option<usize>,
        asset: String,
        change_pct: Decimal,
    },
    #[error("position {position} holds asset '{asset}', which is not in the asset list")]
    PositionWithoutAsset { position: String, asset: String },
}

fn history_text(history: Option<(NaiveDate, NaiveDate)>) -> String {
    match history {
        Some((a, b)) => format!(" ({a}..{b})"),
        None => " (there is no price history)".to_string(),
    }
}

fn shock_text(shock: Option<usize>) -> String {
    match shock {
        Some(n) => format!("shock #{n}"),
        None => "the shocks together".to_string(),
    }
}

impl ScenarioDefinition {
    /// Checks that need no data: magnitudes, shares, dates and bucket order.
    pub fn validate_shape(&self) -> Result<(), ScenarioError> {
        for (i, shock) in self.shocks.iter().enumerate() {
            check_shape(i + 1, shock)?;
        }
        Ok(())
    }
}

fn check_shape(n: usize, shock: &Shock) -> Result<(), ScenarioError> {
    let kind = shock.kind();
    let out = |field: &'static str, value: Decimal, allowed: String| ScenarioError::OutOfRange {
        shock: n,
        shock_type: kind,
        field,
        value: value.normalize().to_string(),
        allowed,
    };
    let bp = |field: &'static str, value: Decimal| {
        if value.abs() > Decimal::from(MAX_BP) {
            Err(out(field, value, format!("±{MAX_BP} bp")))
        } else {
            Ok(())
        }
    };
    // A price or currency can fall at most 100% (to zero) and rise at most MAX_RISE_PCT.
    let pct = |field: &'static str, value: Decimal, floor_inclusive: bool| {
        let low = Decimal::from(-100);
        let too_low = if floor_inclusive {
            value < low
        } else {
            value <= low
        };
        if too_low || value > Decimal::from(MAX_RISE_PCT) {
            let bracket = if floor_inclusive { "[" } else { "(" };
            Err(out(
                field,
                value,
                format!("{bracket}-100, {MAX_RISE_PCT}] %"),
            ))
        } else {
            Ok(())
        }
    };
    let nonempty = |field: &'static str, value: &Option<String>| match value {
        Some(v) if v.trim().is_empty() => Err(ScenarioError::Invalid {
            shock: n,
            shock_type: kind,
            field,
            reason: "is empty (leave it out to match everything)".into(),
        }),
        _ => Ok(()),
    };
    match shock {
        Shock::ParallelRate { bp: b } => bp("bp", *b),
        Shock::CurveTwist { buckets } => {
            if buckets.is_empty() {
                return Err(ScenarioError::Invalid {
                    shock: n,
                    shock_type: kind,
                    field: "buckets",
                    reason: "is empty".into(),
                });
            }
            let mut previous = Decimal::ZERO;
            for (j, bucket) in buckets.iter().enumerate() {
                bp("buckets[].bp", bucket.bp)?;
                let last = j + 1 == buckets.len();
                match (bucket.up_to_years, last) {
                    (Some(_), true) => {
                        return Err(ScenarioError::Invalid {
                            shock: n,
                            shock_type: kind,
                            field: "buckets",
                            reason: "must end with an open bucket (up_to_years: null) so no bond is left out".into(),
                        })
                    }
                    (None, false) => {
                        return Err(ScenarioError::Invalid {
                            shock: n,
                            shock_type: kind,
                            field: "buckets",
                            reason: format!("bucket {} is open but is not the last", j + 1),
                        })
                    }
                    (Some(up), false) if up <= previous => {
                        return Err(ScenarioError::Invalid {
                            shock: n,
                            shock_type: kind,
                            field: "buckets",
                            reason: format!(
                                "bounds must increase from 0: bucket {} ends at {} years after {}",
                                j + 1,
                                up.normalize(),
                                previous.normalize()
                            ),
                        })
                    }
                    (Some(up), false) => previous = up,
                    (None, true) => {}
                }
            }
            Ok(())
        }
        Shock::CreditSpread {
            rating,
            sector,
            bp: b,
        } => {
            nonempty("rating", rating)?;
            nonempty("sector", sector)?;
            bp("bp", *b)
        }
        Shock::Fx {
            currency,
            pct: p,
            against,
        } => {
            if currency.trim().is_empty() {
                return Err(ScenarioError::Invalid {
                    shock: n,
                    shock_type: kind,
                    field: "currency",
                    reason: "is empty".into(),
                });
            }
            nonempty("against", against)?;
            // A currency worth nothing would divide by zero when it is the base.
            pct("pct", *p, false)
        }
        Shock::Equity {
            market,
            sector,
            pct: p,
        } => {
            nonempty("market", market)?;
            nonempty("sector", sector)?;
            pct("pct", *p, true)
        }
        Shock::Commodity {
            sector,
            name,
            pct: p,
        } => {
            nonempty("sector", sector)?;
            nonempty("name", name)?;
            pct("pct", *p, true)
        }
        Shock::Asset { asset, pct: p } => {
            nonempty("asset", &Some(asset.clone()))?;
            pct("pct", *p, true)
        }
        Shock::Macro { moves } => {
            if moves.is_empty() {
                return Err(ScenarioError::Invalid {
                    shock: n,
                    shock_type: kind,
                    field: "moves",
                    reason: "is empty".into(),
                });
            }
            for value in moves.values() {
                if value.abs() > Decimal::from(MAX_MACRO_PP) {
                    return Err(out("moves", *value, format!("±{MAX_MACRO_PP} pp")));
                }
            }
            Ok(())
        }
        Shock::HistoricalReplay { from, to } => {
            if from >= to {
                Err(ScenarioError::Invalid {
                    shock: n,
                    shock_type: kind,
                    field: "to",
                    reason: format!("({to}) must be after from ({from})"),
                })
            } else {
                Ok(())
            }
        }
        Shock::Redemption { share, .. } => {
            if *share < Decimal::ZERO || *share > Decimal::ONE {
                Err(out("share", *share, "[0, 1]".into()))
            } else {
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn one(shock: Shock) -> ScenarioDefinition {
        ScenarioDefinition {
            name: "t".into(),
            description: String::new(),
            shocks: vec![Shock::ParallelRate { bp: dec("10") }, shock],
        }
    }

    #[test]
    fn json_round_trip_with_units_in_field_names() {
        let json = r#"{
            "name": "Stagflation",
            "shocks": [
                {"type": "parallel_rate", "bp": 150},
                {"type": "curve_twist", "buckets": [{"up_to_years": "2", "bp": "-25"}, {"up_to_years": null, "bp": "25"}]},
                {"type": "credit_spread", "rating": "BB", "bp": "200"},
                {"type": "fx", "currency": "EUR", "pct": "-10"},
                {"type": "equity", "market": "US", "pct": "-20"},
                {"type": "commodity", "name": "brent", "pct": "30"},
                {"type": "asset", "asset": "AAPL", "pct": "-50"},
                {"type": "macro", "moves": {"gdp_growth": "-2", "inflation": "3"}},
                {"type": "historical_replay", "from": "2020-02-19", "to": "2020-03-23"},
                {"type": "redemption", "share": "0.25", "by": "2024-03-31"}
            ]
        }"#;
        let def: ScenarioDefinition = serde_json::from_str(json).unwrap();
        assert_eq!(def.shocks.len(), 10);
        assert_eq!(def.shocks[0], Shock::ParallelRate { bp: dec("150") });
        assert_eq!(def.shocks[8].kind(), "historical_replay");
        def.validate_shape().unwrap();
        let back: ScenarioDefinition =
            serde_json::from_str(&serde_json::to_string(&def).unwrap()).unwrap();
        assert_eq!(back, def);
        // A NaN cannot even be parsed into a shock.
        assert!(
            serde_json::from_str::<Shock>(r#"{"type": "parallel_rate", "bp": "NaN"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<Shock>(r#"{"type": "parallel_rate", "bp": 1e400}"#).is_err()
        );
    }

    #[test]
    fn shape_errors_name_the_shock_and_field() {
        let bucket = |up: Option<&str>, bp: &str| CurveBucket {
            up_to_years: up.map(dec),
            bp: dec(bp),
        };
        // (shock, expected message); each is shock #2 after a valid one.
        let cases: Vec<(Shock, &str)> = vec![
            (
                Shock::ParallelRate { bp: dec("2001") },
                "shock #2 (parallel_rate): bp = 2001 is outside ±2000 bp",
            ),
            (
                Shock::CreditSpread {
                    rating: None,
                    sector: None,
                    bp: dec("-2500"),
                },
                "shock #2 (credit_spread): bp = -2500 is outside ±2000 bp",
            ),
            (
                Shock::Equity {
                    market: None,
                    sector: None,
                    pct: dec("-101"),
                },
                "shock #2 (equity): pct = -101 is outside [-100, 1000] %",
            ),
            (
                Shock::Equity {
                    market: None,
                    sector: None,
                    pct: dec("1000.5"),
                },
                "shock #2 (equity): pct = 1000.5 is outside [-100, 1000] %",
            ),
            (
                Shock::Fx {
                    currency: "EUR".into(),
                    pct: dec("-100"),
                    against: None,
                },
                "shock #2 (fx): pct = -100 is outside (-100, 1000] %",
            ),
            (
                Shock::Redemption {
                    share: dec("1.2"),
                    by: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
                },
                "shock #2 (redemption): share = 1.2 is outside [0, 1]",
            ),
            (
                Shock::Redemption {
                    share: dec("-0.1"),
                    by: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
                },
                "shock #2 (redemption): share = -0.1 is outside [0, 1]",
            ),
            (
                Shock::Macro {
                    moves: [("gdp_growth".to_string(), dec("-60"))].into(),
                },
                "shock #2 (macro): moves = -60 is outside ±50 pp",
            ),
            (
                Shock::HistoricalReplay {
                    from: NaiveDate::from_ymd_opt(2020, 3, 23).unwrap(),
                    to: NaiveDate::from_ymd_opt(2020, 2, 19).unwrap(),
                },
                "shock #2 (historical_replay): to (2020-02-19) must be after from (2020-03-23)",
            ),
            (
                Shock::CurveTwist {
                    buckets: vec![bucket(Some("2"), "10"), bucket(Some("10"), "20")],
                },
                "shock #2 (curve_twist): buckets must end with an open bucket (up_to_years: null) so no bond is left out",
            ),
            (
                Shock::CurveTwist {
                    buckets: vec![bucket(Some("5"), "10"), bucket(Some("2"), "20"), bucket(None, "0")],
                },
                "shock #2 (curve_twist): buckets bounds must increase from 0: bucket 2 ends at 2 years after 5",
            ),
            (
                Shock::CurveTwist {
                    buckets: vec![bucket(Some("2"), "10"), bucket(None, "2500")],
                },
                "shock #2 (curve_twist): buckets[].bp = 2500 is outside ±2000 bp",
            ),
            (
                Shock::Commodity {
                    sector: Some(" ".into()),
                    name: None,
                    pct: dec("5"),
                },
                "shock #2 (commodity): sector is empty (leave it out to match everything)",
            ),
        ];
        for (shock, want) in cases {
            let err = one(shock.clone()).validate_shape().unwrap_err();
            assert_eq!(err.to_string(), want, "{shock:?}");
        }
        // The edges themselves are accepted.
        for shock in [
            Shock::ParallelRate { bp: dec("-2000") },
            Shock::Equity {
                market: None,
                sector: None,
                pct: dec("-100"),
            },
            Shock::Redemption {
                share: Decimal::ONE,
                by: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            },
        ] {
            one(shock).validate_shape().unwrap();
        }
    }
}
