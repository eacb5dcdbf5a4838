//! Exposure at one date: long, short, gross and net money, leverage, concentration and the
//! breakdowns by sector, country, currency and asset class, plus drift from target weights.
//!
//! Conventions (docs/kpi-conventions.md, "Exposure"): market values are in the base currency
//! and signed (shorts negative). Positions of the same asset are netted first. `long` is the
//! sum of positive values, `short` the sum of negative ones (a negative number),
//! `gross = long − short`, `net = long + short`; all money stays [`Decimal`], so every
//! breakdown adds up to the totals exactly. Weights are `f64`: `leverage = gross / NAV`,
//! concentration uses `w = |mv| / gross`. A missing sector or country (or an asset that is
//! not in the asset list) goes into the bucket "Unclassified".

use std::collections::BTreeMap;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::kpi::{Entry, Metric, Unit};
use crate::model::{Allocation, Asset, Position};

pub const UNCLASSIFIED: &str = "Unclassified";

/// One group of positions (a sector, a country, a currency or an asset class).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub name: String,
    pub long: Decimal,
    pub short: Decimal,
    pub gross: Decimal,
    pub net: Decimal,
    /// `net / NAV`; `None` when the NAV is not positive.
    pub net_weight: Option<f64>,
    /// `gross / NAV`; `None` when the NAV is not positive.
    pub gross_weight: Option<f64>,
    pub positions: usize,
}

/// How far an asset-class bucket is from its target weight.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Drift {
    pub bucket: String,
    pub target: f64,
    /// Net exposure of the asset class over NAV, from the positions (0 when none are held);
    /// `None` when the NAV is not positive.
    pub actual: Option<f64>,
    /// The actual weight stored with the allocation row, for comparison.
    pub recorded_actual: f64,
    /// `actual − target`.
    pub drift: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exposure {
    pub nav: Decimal,
    pub long: Decimal,
    pub short: Decimal,
    pub gross: Decimal,
    pub net: Decimal,
    /// Assets with a non-zero market value after netting.
    pub positions: usize,
    /// `gross / NAV`.
    pub leverage: Metric,
    /// `net / NAV`.
    pub net_pct: Metric,
    /// `long / NAV`.
    pub long_pct: Metric,
    /// `short / NAV` (negative).
    pub short_pct: Metric,
    /// The ten largest `|mv|` over gross.
    pub top10_share: Metric,
    /// Herfindahl–Hirschman index `Σ w²`, `w = |mv| / gross`.
    pub hhi: Metric,
    pub by_sector: Vec<Bucket>,
    pub by_country: Vec<Bucket>,
    pub by_currency: Vec<Bucket>,
    pub by_asset_class: Vec<Bucket>,
    pub drift: Vec<Drift>,
}

fn ratio(num: Decimal, den: Decimal) -> Option<f64> {
    if den <= Decimal::ZERO {
        return None;
    }
    (num / den).normalize().to_f64()
}

#[derive(Default)]
struct Sums {
    long: Decimal,
    short: Decimal,
    positions: usize,
}

impl Sums {
    fn add(&mut self, mv: Decimal) {
        if mv > Decimal::ZERO {
            self.long += mv;
        } else {
            self.short += mv;
        }
        self.positions += 1;
    }
}

fn buckets(groups: BTreeMap<String, Sums>, nav: Decimal) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = groups
        .into_iter()
        .map(|(name, s)| Bucket {
            name,
            long: s.long,
            short: s.short,
            gross: s.long - s.short,
            net: s.long + s.short,
            net_weight: ratio(s.long + s.short, nav),
            gross_weight: ratio(s.long - s.short, nav),
            positions: s.positions,
        })
        .collect();
    // Largest gross first; names break ties (the map gave them sorted, the sort is stable).
    out.sort_by_key(|b| std::cmp::Reverse(b.gross));
    out
}

/// The exposure of `positions` (one date, one portfolio) against `nav`.
pub fn exposure(
    positions: &[Position],
    assets: &[Asset],
    nav: Decimal,
    allocations: &[Allocation],
) -> Exposure {
    // Net per asset, in first-seen order.
    let mut per_asset: Vec<(&str, Decimal)> = Vec::new();
    for p in positions {
        match per_asset.iter_mut().find(|(id, _)| *id == p.asset_id) {
            Some(entry) => entry.1 += p.market_value,
            None => per_asset.push((p.asset_id.as_str(), p.market_value)),
        }
    }
    per_asset.retain(|(_, mv)| !mv.is_zero());

    let mut total = Sums::default();
    let mut groups: [BTreeMap<String, Sums>; 4] = Default::default();
    for (asset_id, mv) in &per_asset {
        total.add(*mv);
        let asset = assets.iter().find(|a| a.id == *asset_id);
        let name = |field: Option<&str>| field.unwrap_or(UNCLASSIFIED).to_string();
        let keys = [
            name(asset.and_then(|a| a.sector.as_deref())),
            name(asset.and_then(|a| a.country.as_deref())),
            name(asset.map(|a| a.currency.as_str())),
            name(asset.map(|a| a.asset_class.as_str())),
        ];
        for (group, key) in groups.iter_mut().zip(keys) {
            group.entry(key).or_default().add(*mv);
        }
    }
    let [sector, country, currency, class] = groups;
    let gross = total.long - total.short;
    let net = total.long + total.short;

    let of_nav = |value: Decimal| match ratio(value, nav) {
        Some(v) => Metric::Value(v),
        None => Metric::unavailable("NAV is not positive"),
    };
    let (top10_share, hhi) = if gross.is_zero() {
        (
            Metric::unavailable("no exposure"),
            Metric::unavailable("no exposure"),
        )
    } else {
        let mut sizes: Vec<Decimal> = per_asset.iter().map(|(_, mv)| mv.abs()).collect();
        sizes.sort_by_key(|s| std::cmp::Reverse(*s));
        let top: Decimal = sizes.iter().take(10).sum();
        let hhi: f64 = sizes
            .iter()
            .map(|s| ratio(*s, gross).unwrap_or(f64::NAN).powi(2))
            .sum();
        (
            Metric::from_f64(ratio(top, gross).unwrap_or(f64::NAN), "overflow"),
            Metric::from_f64(hhi, "overflow"),
        )
    };
    let by_asset_class = buckets(class, nav);
    let drift = allocations
        .iter()
        .map(|a| {
            let target = a.target_weight.normalize().to_f64().unwrap_or(f64::NAN);
            let held = by_asset_class
                .iter()
                .find(|b| b.name == a.bucket)
                .map_or(Decimal::ZERO, |b| b.net);
            let actual = ratio(held, nav);
            Drift {
                bucket: a.bucket.clone(),
                target,
                actual,
                recorded_actual: a.actual_weight.normalize().to_f64().unwrap_or(f64::NAN),
                drift: actual.map(|x| x - target),
            }
        })
        .collect();
    Exposure {
        nav,
        long: total.long,
        short: total.short,
        gross,
        net,
        positions: total.positions,
        leverage: of_nav(gross),
        net_pct: of_nav(net),
        long_pct: of_nav(total.long),
        short_pct: of_nav(total.short),
        top10_share,
        hhi,
        by_sector: buckets(sector, nav),
        by_country: buckets(country, nav),
        by_currency: buckets(currency, nav),
        by_asset_class,
        drift,
    }
}

/// The scalar exposure KPIs in display order.
pub fn entries(e: &Exposure) -> Vec<Entry> {
    let effective = match e.hhi {
        Metric::Value(h) if h > 0.0 => Metric::Value(1.0 / h),
        Metric::Value(_) => Metric::unavailable("no exposure"),
        ref absent => absent.clone(),
    };
    vec![
        Entry::new(
            "leverage",
            "Leverage (gross / NAV)",
            Unit::Ratio,
            e.leverage.clone(),
        ),
        Entry::new(
            "net_exposure",
            "Net exposure",
            Unit::SignedPercent,
            e.net_pct.clone(),
        ),
        Entry::new(
            "long_exposure",
            "Long exposure",
            Unit::Percent,
            e.long_pct.clone(),
        ),
        Entry::new(
            "short_exposure",
            "Short exposure",
            Unit::SignedPercent,
            e.short_pct.clone(),
        ),
        Entry::new(
            "top10_share",
            "Top 10 share of gross",
            Unit::Percent,
            e.top10_share.clone(),
        ),
        Entry::new("hhi", "Concentration (HHI)", Unit::Ratio, e.hhi.clone()),
        Entry::new(
            "effective_positions",
            "Effective positions (1 / HHI)",
            Unit::Ratio,
            effective,
        ),
        Entry::new(
            "position_count",
            "Positions",
            Unit::Count,
            Metric::Value(e.positions as f64),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AssetClass;
    use chrono::NaiveDate;

    fn dec(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    fn asset(
        id: &str,
        class: AssetClass,
        sector: Option<&str>,
        country: Option<&str>,
        ccy: &str,
    ) -> Asset {
        Asset {
            sector: sector.map(Into::into),
            country: country.map(Into::into),
            ..Asset::new(id, id, id, class, ccy)
        }
    }

    fn position(asset: &str, mv: &str) -> Position {
        Position {
            id: asset.into(),
            portfolio_id: "p".into(),
            asset_id: asset.into(),
            date: NaiveDate::from_ymd_opt(2024, 6, 28).unwrap(),
            quantity: Decimal::ONE,
            market_value: dec(mv),
        }
    }

    fn allocation(bucket: &str, target: &str, actual: &str) -> Allocation {
        Allocation {
            id: bucket.into(),
            portfolio_id: "p".into(),
            bucket: bucket.into(),
            target_weight: dec(target),
            actual_weight: dec(actual),
            liquid: true,
        }
    }

    fn assets() -> Vec<Asset> {
        use AssetClass::*;
        vec![
            asset("A", Equity, Some("Tech"), Some("US"), "USD"),
            asset("B", Equity, Some("Tech"), Some("US"), "USD"),
            asset("C", Bond, None, Some("DE"), "EUR"),
            asset("D", Equity, Some("Energy"), None, "GBP"),
            asset("E", Cash, None, None, "USD"),
        ]
    }

    type Row = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    );

    fn rows(buckets: &[Bucket]) -> Vec<(String, Decimal, Decimal, Decimal, Decimal)> {
        buckets
            .iter()
            .map(|b| (b.name.clone(), b.long, b.short, b.gross, b.net))
            .collect()
    }

    fn want(rows: &[Row]) -> Vec<(String, Decimal, Decimal, Decimal, Decimal)> {
        rows.iter()
            .map(|(n, l, s, g, x)| (n.to_string(), dec(l), dec(s), dec(g), dec(x)))
            .collect()
    }

    #[test]
    fn long_short_book_by_hand() {
        // A +400, B −150 (in two lots: −100 and −50), C +300, D −50, E +100; NAV 1000.
        let positions = [
            position("A", "400"),
            position("B", "-100"),
            position("C", "300"),
            position("B", "-50"),
            position("D", "-50"),
            position("E", "100"),
        ];
        let allocations = [
            allocation("equity", "0.5", "0.21"),
            allocation("bond", "0.3", "0.3"),
            allocation("private", "0.2", "0"),
        ];
        let e = exposure(&positions, &assets(), dec("1000"), &allocations);
        assert_eq!(
            (e.long, e.short, e.gross, e.net, e.positions),
            (dec("800"), dec("-200"), dec("1000"), dec("600"), 5)
        );
        assert_eq!(e.leverage, Metric::Value(1.0));
        assert_eq!(e.net_pct, Metric::Value(0.6));
        assert_eq!(e.short_pct, Metric::Value(-0.2));
        assert_eq!(e.top10_share, Metric::Value(1.0));
        // Weights 0.4, 0.15, 0.3, 0.05, 0.1: Σw² = 0.16 + 0.0225 + 0.09 + 0.0025 + 0.01.
        assert!((e.hhi.value().unwrap() - 0.285).abs() < 1e-15);
        assert_eq!(
            rows(&e.by_sector),
            want(&[
                ("Tech", "400", "-150", "550", "250"),
                ("Unclassified", "400", "0", "400", "400"),
                ("Energy", "0", "-50", "50", "-50"),
            ])
        );
        assert_eq!(
            rows(&e.by_country),
            want(&[
                ("US", "400", "-150", "550", "250"),
                ("DE", "300", "0", "300", "300"),
                // E (cash, +100) and D (energy, −50) have no country.
                ("Unclassified", "100", "-50", "150", "50"),
            ])
        );
        assert_eq!(
            rows(&e.by_currency),
            want(&[
                ("USD", "500", "-150", "650", "350"),
                ("EUR", "300", "0", "300", "300"),
                ("GBP", "0", "-50", "50", "-50"),
            ])
        );
        assert_eq!(
            rows(&e.by_asset_class),
            want(&[
                ("equity", "400", "-200", "600", "200"),
                ("bond", "300", "0", "300", "300"),
                ("cash", "100", "0", "100", "100"),
            ])
        );
        assert_eq!(e.by_asset_class[0].net_weight, Some(0.2));
        assert_eq!(e.by_sector[0].positions, 2);
        let drift: Vec<_> = e
            .drift
            .iter()
            .map(|d| (d.bucket.as_str(), d.actual.unwrap(), d.drift.unwrap()))
            .collect();
        assert_eq!(drift[0].0, "equity");
        assert!((drift[0].1 - 0.2).abs() < 1e-15 && (drift[0].2 + 0.3).abs() < 1e-15);
        assert!((drift[1].1 - 0.3).abs() < 1e-15 && drift[1].2.abs() < 1e-15);
        assert_eq!((drift[2].1, drift[2].2), (0.0, -0.2));
        assert_eq!(e.drift[0].recorded_actual, 0.21);

        let keyed: Vec<(&str, Option<f64>)> = entries(&e)
            .iter()
            .map(|x| (x.key, x.metric.value()))
            .collect();
        assert_eq!(keyed[0], ("leverage", Some(1.0)));
        assert!((keyed[6].1.unwrap() - 1.0 / 0.285).abs() < 1e-12);
        assert_eq!(keyed[7], ("position_count", Some(5.0)));
    }

    #[test]
    fn money_reconciles_to_the_cent() {
        let values = [
            "1234567.89",
            "-0.01",
            "99999999.99",
            "-31415.92",
            "0.03",
            "-2718281.83",
            "77.77",
        ];
        let ids = ["A", "B", "C", "D", "E", "X", "A"];
        let positions: Vec<Position> = ids
            .iter()
            .zip(values)
            .map(|(id, mv)| position(id, mv))
            .collect();
        let e = exposure(&positions, &assets(), dec("123456789.01"), &[]);
        let net: Decimal = values.iter().map(|v| dec(v)).sum();
        assert_eq!(e.net, net);
        for breakdown in [
            &e.by_sector,
            &e.by_country,
            &e.by_currency,
            &e.by_asset_class,
        ] {
            let sum = |f: fn(&Bucket) -> Decimal| breakdown.iter().map(f).sum::<Decimal>();
            assert_eq!(sum(|b| b.net), e.net);
            assert_eq!(sum(|b| b.long), e.long);
            assert_eq!(sum(|b| b.short), e.short);
            assert_eq!(sum(|b| b.gross), e.gross);
        }
        // The unknown asset X lands in Unclassified everywhere.
        assert!(e.by_currency.iter().any(|b| b.name == UNCLASSIFIED));
        assert!(e.by_asset_class.iter().any(|b| b.name == UNCLASSIFIED));
    }

    #[test]
    fn top_ten_of_twelve_and_empty_books() {
        // |mv| 1..=12, alternating signs: gross 78, top ten 78 − 1 − 2 = 75.
        let ids: Vec<String> = (1..=12).map(|i| format!("P{i}")).collect();
        let positions: Vec<Position> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mv = if i % 2 == 0 {
                    (i + 1) as i64
                } else {
                    -((i + 1) as i64)
                };
                let mut p = position("A", "0");
                p.asset_id = id.clone();
                p.market_value = Decimal::from(mv);
                p
            })
            .collect();
        let e = exposure(&positions, &[], dec("100"), &[]);
        assert_eq!(e.gross, dec("78"));
        assert!((e.top10_share.value().unwrap() - 75.0 / 78.0).abs() < 1e-15);
        let hhi: f64 = (1..=12).map(|i| (i as f64 / 78.0).powi(2)).sum();
        assert!((e.hhi.value().unwrap() - hhi).abs() < 1e-15);
        assert_eq!(e.by_sector.len(), 1);

        let empty = exposure(&[], &[], dec("0"), &[allocation("equity", "1", "1")]);
        assert_eq!(empty.leverage, Metric::unavailable("NAV is not positive"));
        assert_eq!(empty.hhi, Metric::unavailable("no exposure"));
        assert_eq!(empty.drift[0].drift, None);
        let e = entries(&empty);
        assert_eq!(e[6].metric, Metric::unavailable("no exposure"));
        assert_eq!(e[7].metric, Metric::Value(0.0));
    }
}
