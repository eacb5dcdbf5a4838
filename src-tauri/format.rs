//! Display formatting for the UI: money and percentages (exact decimals, grouped digits), and
//! one line per scenario shock, so a trace can say which shock moved a position.

use ballast_engine::scenario::Shock;
use rust_decimal::Decimal;

/// `USD 1,234,567.89`: rounded half away from zero to cents, digits grouped in threes.
pub fn money(currency: &str, value: Decimal) -> String {
    let rounded =
        value.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    let text = format!("{:.2}", rounded.abs());
    let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "-"
    } else {
        ""
    };
    format!("{currency} {sign}{grouped}.{cents}")
}

/// `+1.23%` from a fraction.
pub fn percent(fraction: f64) -> String {
    format!("{:+.2}%", fraction * 100.0)
}

/// A decimal with its sign and no trailing zeros: `+200`, `-15`, `0.25`.
fn signed(value: Decimal) -> String {
    let v = value.normalize();
    if v.is_sign_negative() {
        v.to_string()
    } else {
        format!("+{v}")
    }
}

/// `parallel rate +200 bp`, `EUR -15% vs base`, `equities US -30% × beta`: what one shock of a
/// scenario does, in the units of its definition.
pub fn shock_summary(shock: &Shock) -> String {
    let filter = |parts: &[(&str, &Option<String>)]| -> String {
        let named: Vec<String> = parts
            .iter()
            .filter_map(|(label, v)| v.as_ref().map(|v| format!("{label} {v}")))
            .collect();
        if named.is_empty() {
            "all".to_string()
        } else {
            named.join(", ")
        }
    };
    match shock {
        Shock::ParallelRate { bp } => format!("parallel rate {} bp", signed(*bp)),
        Shock::CurveTwist { buckets } => {
            let mut from = Decimal::ZERO;
            let parts: Vec<String> = buckets
                .iter()
                .map(|b| {
                    let range = match b.up_to_years {
                        Some(to) => format!("{}–{}y", from.normalize(), to.normalize()),
                        None => format!(">{}y", from.normalize()),
                    };
                    if let Some(to) = b.up_to_years {
                        from = to;
                    }
                    format!("{range} {} bp", signed(b.bp))
                })
                .collect();
            format!("curve twist {}", parts.join(", "))
        }
        Shock::CreditSpread { rating, sector, bp } => format!(
            "credit spread {} bp ({})",
            signed(*bp),
            filter(&[("rating", rating), ("sector", sector)])
        ),
        Shock::Fx {
            currency,
            pct,
            against,
        } => format!(
            "FX {currency} {}% vs {}",
            signed(*pct),
            against.as_deref().unwrap_or("base")
        ),
        Shock::Equity {
            market,
            sector,
            pct,
        } => format!(
            "equities {}% × beta ({})",
            signed(*pct),
            filter(&[("market", market), ("sector", sector)])
        ),
        Shock::Commodity { sector, name, pct } => format!(
            "commodities {}% ({})",
            signed(*pct),
            filter(&[("sector", sector), ("name", name)])
        ),
        Shock::Asset { asset, pct } => format!("asset {asset} {}%", signed(*pct)),
        Shock::Macro { moves } => {
            let parts: Vec<String> = moves
                .iter()
                .map(|(factor, pp)| format!("{factor} {} pp", signed(*pp)))
                .collect();
            format!("macro {}", parts.join(", "))
        }
        Shock::HistoricalReplay { from, to } => format!("historical replay {from} to {to}"),
        Shock::Redemption { share, by } => format!(
            "redemption of {}% of NAV by {by}",
            (*share * Decimal::ONE_HUNDRED).normalize()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_shock_reads_in_its_own_units() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        let date = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        let cases = [
            (
                Shock::ParallelRate { bp: d("200") },
                "parallel rate +200 bp",
            ),
            (
                Shock::ParallelRate { bp: d("-100.0") },
                "parallel rate -100 bp",
            ),
            (
                Shock::CurveTwist {
                    buckets: vec![
                        ballast_engine::scenario::CurveBucket {
                            up_to_years: Some(d("2")),
                            bp: d("-25"),
                        },
                        ballast_engine::scenario::CurveBucket {
                            up_to_years: None,
                            bp: d("25"),
                        },
                    ],
                },
                "curve twist 0–2y -25 bp, >2y +25 bp",
            ),
            (
                Shock::CreditSpread {
                    rating: Some("BBB".into()),
                    sector: None,
                    bp: d("100"),
                },
                "credit spread +100 bp (rating BBB)",
            ),
            (
                Shock::Fx {
                    currency: "EUR".into(),
                    pct: d("-15"),
                    against: None,
                },
                "FX EUR -15% vs base",
            ),
            (
                Shock::Equity {
                    market: None,
                    sector: None,
                    pct: d("-20"),
                },
                "equities -20% × beta (all)",
            ),
            (
                Shock::Commodity {
                    sector: None,
                    name: Some("brent".into()),
                    pct: d("20"),
                },
                "commodities +20% (name brent)",
            ),
            (
                Shock::Asset {
                    asset: "AAPL".into(),
                    pct: d("-50"),
                },
                "asset AAPL -50%",
            ),
            (
                Shock::Macro {
                    moves: [("gdp_growth".to_string(), d("-2"))].into(),
                },
                "macro gdp_growth -2 pp",
            ),
            (
                Shock::HistoricalReplay {
                    from: date("2020-02-19"),
                    to: date("2020-03-23"),
                },
                "historical replay 2020-02-19 to 2020-03-23",
            ),
            (
                Shock::Redemption {
                    share: d("0.25"),
                    by: date("2024-07-31"),
                },
                "redemption of 25% of NAV by 2024-07-31",
            ),
        ];
        for (shock, want) in cases {
            assert_eq!(shock_summary(&shock), want);
        }
    }

    #[test]
    fn money_is_grouped_and_rounded_to_the_cent() {
        let cases = [
            ("512345678.125", "USD 512,345,678.13"),
            ("-1234.5", "USD -1,234.50"),
            ("0", "USD 0.00"),
            ("999.999", "USD 1,000.00"),
            ("-0.001", "USD 0.00"),
            ("100", "USD 100.00"),
        ];
        for (input, want) in cases {
            assert_eq!(money("USD", input.parse().unwrap()), want, "{input}");
        }
    }

    #[test]
    fn percent_has_a_sign() {
        assert_eq!(percent(0.01234), "+1.23%");
        assert_eq!(percent(-0.5), "-50.00%");
    }
}
