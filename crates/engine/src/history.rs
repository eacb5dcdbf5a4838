//! Price history indexed once by asset, for the scenario engine and Monte Carlo.
//!
//! Historical replays ask for the closes of one asset inside a window, Monte Carlo for the
//! closes of many assets on common dates; both would otherwise scan the flat `prices` table
//! once per position. [`PriceHistory::new`] sorts each asset's closes by date (a duplicate
//! date keeps the last row given) and remembers the whole history's first and last date,
//! which is what "a window longer than the history" is checked against. A replay looks up
//! every held asset, so the index uses the engine's fast hash ([`crate::fasthash`]).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::fasthash::FastMap;
use crate::model::Price;

/// Closes by asset id, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceHistory {
    by_asset: FastMap<String, Vec<(NaiveDate, Decimal)>>,
    range: Option<(NaiveDate, NaiveDate)>,
}

impl PriceHistory {
    pub fn new(prices: &[Price]) -> PriceHistory {
        let mut by_asset: FastMap<String, Vec<(NaiveDate, Decimal)>> = FastMap::default();
        let mut range: Option<(NaiveDate, NaiveDate)> = None;
        for p in prices {
            by_asset
                .entry(p.asset_id.clone())
                .or_default()
                .push((p.date, p.close));
            range = Some(match range {
                None => (p.date, p.date),
                Some((a, b)) => (a.min(p.date), b.max(p.date)),
            });
        }
        for closes in by_asset.values_mut() {
            // Stable sort, then keep the last of equal dates.
            closes.sort_by_key(|(d, _)| *d);
            let mut deduped: Vec<(NaiveDate, Decimal)> = Vec::with_capacity(closes.len());
            for c in closes.drain(..) {
                match deduped.last_mut() {
                    Some(last) if last.0 == c.0 => *last = c,
                    _ => deduped.push(c),
                }
            }
            *closes = deduped;
        }
        PriceHistory { by_asset, range }
    }

    /// The first and last date of any close; `None` when there are no prices.
    pub fn range(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.range
    }

    /// All closes of one asset, oldest first (empty when it has none).
    pub fn closes(&self, asset_id: &str) -> &[(NaiveDate, Decimal)] {
        self.by_asset.get(asset_id).map_or(&[], Vec::as_slice)
    }

    /// The closes of one asset dated within `[from, to]`, oldest first.
    pub fn window(
        &self,
        asset_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> &[(NaiveDate, Decimal)] {
        let closes = self.closes(asset_id);
        let start = closes.partition_point(|(d, _)| *d < from);
        let end = closes.partition_point(|(d, _)| *d <= to);
        &closes[start..end.max(start)]
    }

    /// The last close of one asset on or before `date`.
    pub fn last_close(&self, asset_id: &str, date: NaiveDate) -> Option<(NaiveDate, Decimal)> {
        let closes = self.closes(asset_id);
        let end = closes.partition_point(|(d, _)| *d <= date);
        end.checked_sub(1).map(|i| closes[i])
    }

    /// Number of assets with at least one close.
    pub fn assets(&self) -> usize {
        self.by_asset.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(asset: &str, day: u32, close: i64) -> Price {
        Price {
            asset_id: asset.into(),
            date: NaiveDate::from_ymd_opt(2024, 1, day).unwrap(),
            close: Decimal::from(close),
        }
    }

    #[test]
    fn indexes_sorts_and_windows() {
        let d = |day| NaiveDate::from_ymd_opt(2024, 1, day).unwrap();
        let h = PriceHistory::new(&[
            price("a", 5, 50),
            price("a", 2, 20),
            price("b", 9, 90),
            price("a", 3, 30),
            price("a", 3, 31), // the later row for the same date wins
        ]);
        assert_eq!(h.range(), Some((d(2), d(9))));
        assert_eq!(
            h.closes("a"),
            &[
                (d(2), Decimal::from(20)),
                (d(3), Decimal::from(31)),
                (d(5), Decimal::from(50))
            ]
        );
        assert_eq!(h.window("a", d(3), d(4)), &[(d(3), Decimal::from(31))]);
        assert!(h.window("a", d(6), d(8)).is_empty());
        assert!(h.window("zzz", d(1), d(9)).is_empty());
        assert_eq!(h.last_close("a", d(4)), Some((d(3), Decimal::from(31))));
        assert_eq!(h.last_close("a", d(1)), None);
        assert_eq!(h.assets(), 2);
    }
}
