//! The built-in scenario library every analyst starts from, so that "rates +100 bp" means the
//! same thing on every laptop and in every published comparison.
//!
//! Definitions (each preset's description says the same in words):
//! - `rates_up_100`, `rates_down_100`, `rates_up_200`, `rates_down_200`: parallel shifts.
//! - `steepener_2s10s_50`: the 2-year point −25 bp and the 10-year point +25 bp, so the 2s10s
//!   spread widens by 50 bp; by bucket ≤2y −25, 2–5y 0, 5–10y +25, >10y +25.
//!   `flattener_2s10s_50` is the mirror image.
//! - `credit_up_100`: every asset's credit spread +100 bp.
//! - `usd_up_10`: the dollar +10%, defined as every other currency −10% against USD (cross
//!   rates between non-USD currencies unchanged). In a USD book a foreign position loses 10%
//!   of its value; in a EUR book a USD position gains 1/0.9 − 1 = 11.1% and a GBP one does not
//!   move. `usd_down_10`: every other currency +10% against USD.
//! - `equities_down_20`: every equity −20% × beta.
//! - `replay_2008` (2008-09-01 to 2009-03-09) and `replay_2020` (2020-02-19 to 2020-03-23):
//!   offered only when the price history covers the whole window.
//! - `redemption_run_25`: 25% of NAV redeemed, dealing 30 days after the as-of date.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::scenario::{CurveBucket, ScenarioDefinition, Shock};

/// A built-in scenario with its stable key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    pub key: String,
    pub definition: ScenarioDefinition,
}

/// The 2008 crisis window replayed by `replay_2008`.
pub const WINDOW_2008: (u32, u32, u32, u32, u32, u32) = (2008, 9, 1, 2009, 3, 9);
/// The 2020 crash window replayed by `replay_2020`.
pub const WINDOW_2020: (u32, u32, u32, u32, u32, u32) = (2020, 2, 19, 2020, 3, 23);

fn window(w: (u32, u32, u32, u32, u32, u32)) -> (NaiveDate, NaiveDate) {
    let d = |y: u32, m, day| NaiveDate::from_ymd_opt(y as i32, m, day).expect("valid window date");
    (d(w.0, w.1, w.2), d(w.3, w.4, w.5))
}

fn preset(key: &str, name: &str, description: &str, shocks: Vec<Shock>) -> Preset {
    Preset {
        key: key.into(),
        definition: ScenarioDefinition {
            name: name.into(),
            description: description.into(),
            shocks,
        },
    }
}

fn twist(short: i64, long: i64) -> Shock {
    let b = |up: Option<i64>, bp: i64| CurveBucket {
        up_to_years: up.map(Decimal::from),
        bp: Decimal::from(bp),
    };
    Shock::CurveTwist {
        buckets: vec![
            b(Some(2), short),
            b(Some(5), 0),
            b(Some(10), long),
            b(None, long),
        ],
    }
}

/// The library for a portfolio as of `as_of` whose price history spans `history` (first and
/// last date; `None` without history): replays appear only when the history covers them.
pub fn builtin_scenarios(as_of: NaiveDate, history: Option<(NaiveDate, NaiveDate)>) -> Vec<Preset> {
    let parallel = |bp: i64| {
        vec![Shock::ParallelRate {
            bp: Decimal::from(bp),
        }]
    };
    let usd = |pct: i64| {
        vec![Shock::Fx {
            currency: "*".into(),
            pct: Decimal::from(pct),
            against: Some("USD".into()),
        }]
    };
    let mut out = vec![
        preset("rates_up_100", "Rates +100 bp", "Every yield +100 bp (parallel).", parallel(100)),
        preset("rates_down_100", "Rates −100 bp", "Every yield −100 bp (parallel).", parallel(-100)),
        preset("rates_up_200", "Rates +200 bp", "Every yield +200 bp (parallel).", parallel(200)),
        preset("rates_down_200", "Rates −200 bp", "Every yield −200 bp (parallel).", parallel(-200)),
        preset(
            "steepener_2s10s_50",
            "2s10s steepener +50 bp",
            "Maturities up to 2 years −25 bp, 2–5 years unchanged, beyond 5 years +25 bp: the 2s10s spread widens by 50 bp.",
            vec![twist(-25, 25)],
        ),
        preset(
            "flattener_2s10s_50",
            "2s10s flattener −50 bp",
            "Maturities up to 2 years +25 bp, 2–5 years unchanged, beyond 5 years −25 bp: the 2s10s spread narrows by 50 bp.",
            vec![twist(25, -25)],
        ),
        preset(
            "credit_up_100",
            "Credit spreads +100 bp",
            "Every credit spread +100 bp, priced through spread duration.",
            vec![Shock::CreditSpread {
                rating: None,
                sector: None,
                bp: Decimal::from(100),
            }],
        ),
        preset(
            "usd_up_10",
            "USD +10%",
            "Every other currency −10% against the US dollar; cross rates between other currencies unchanged.",
            usd(-10),
        ),
        preset(
            "usd_down_10",
            "USD −10%",
            "Every other currency +10% against the US dollar; cross rates between other currencies unchanged.",
            usd(10),
        ),
        preset(
            "equities_down_20",
            "Equities −20%",
            "Every equity −20% scaled by its beta (beta absent: 1).",
            vec![Shock::Equity {
                market: None,
                sector: None,
                pct: Decimal::from(-20),
            }],
        ),
    ];
    for (key, name, w) in [
        ("replay_2008", "2008 crisis replay", WINDOW_2008),
        ("replay_2020", "2020 crash replay", WINDOW_2020),
    ] {
        let (from, to) = window(w);
        if history.is_some_and(|(first, last)| first <= from && to <= last) {
            out.push(preset(
                key,
                name,
                &format!("Each asset's actual return in the base currency from {from} to {to}."),
                vec![Shock::HistoricalReplay { from, to }],
            ));
        }
    }
    out.push(preset(
        "redemption_run_25",
        "Redemption run 25%",
        "25% of NAV redeemed, dealing 30 days after the as-of date.",
        vec![Shock::Redemption {
            share: Decimal::new(25, 2),
            by: as_of + Days::new(30),
        }],
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn replays_only_where_the_history_covers_them() {
        let as_of = d(2024, 6, 28);
        let keys = |h| -> Vec<String> {
            builtin_scenarios(as_of, h)
                .into_iter()
                .map(|p| p.key)
                .collect()
        };
        let base = keys(None);
        assert_eq!(base.len(), 11);
        assert!(!base.iter().any(|k| k.starts_with("replay")));
        let k = keys(Some((d(2019, 1, 2), as_of)));
        assert!(k.contains(&"replay_2020".to_string()) && !k.contains(&"replay_2008".to_string()));
        let k = keys(Some((d(2008, 9, 1), as_of)));
        assert!(k.contains(&"replay_2020".to_string()) && k.contains(&"replay_2008".to_string()));
        // One day short at either end is not enough.
        let k = keys(Some((d(2008, 9, 2), d(2020, 3, 22))));
        assert!(!k.iter().any(|k| k.starts_with("replay")));
    }

    #[test]
    fn every_preset_is_valid_and_keys_are_unique() {
        let all = builtin_scenarios(d(2024, 6, 28), Some((d(2000, 1, 3), d(2024, 6, 28))));
        assert_eq!(all.len(), 13);
        let mut keys: Vec<&str> = all.iter().map(|p| p.key.as_str()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 13);
        for p in &all {
            p.definition
                .validate_shape()
                .unwrap_or_else(|e| panic!("{}: {e}", p.key));
            assert!(!p.definition.description.is_empty());
        }
        let run = all.iter().find(|p| p.key == "redemption_run_25").unwrap();
        assert_eq!(
            run.definition.shocks,
            vec![Shock::Redemption {
                share: Decimal::new(25, 2),
                by: d(2024, 7, 28)
            }]
        );
    }
}
