//! Price history indexed once by asset, for the scenario engine and Monte Carlo.
//!
//! Historical replays ask for the closes of one asset inside a window, Monte Carlo for the
//! closes of many assets on common dates; both would otherwise scan the flat `prices` table
//! once per position. [`PriceHistory::new`] sorts each asset's closes by date (a duplicate
//! date keeps the last row given) and remembers the whole history's first and last date,
//! which is what "a window longer than the history" is checked against.
//!
//! A replay looks up every held asset, usually in the order the prices came in (both sorted
//! by asset): the closes are kept in one array, asset after asset in order of first
//! appearance, and [`PriceHistory::window_after`] tries the asset after the previous one
//! before it hashes, so such a walk reads memory in order instead of probing a table at
//! random. The index uses the engine's fast hash (`fasthash`).

use std::ops::Range;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::fasthash::FastMap;
use crate::model::Price;

/// Closes by asset id, oldest first.
#[derive(Debug, Clone, Default)]
pub struct PriceHistory {
    /// Asset ids in order of first appearance, and where each one's closes lie in `closes`.
    assets: Vec<(String, Range<usize>)>,
    /// Index into `assets` by asset id.
    index: FastMap<String, usize>,
    closes: Vec<(NaiveDate, Decimal)>,
    range: Option<(NaiveDate, NaiveDate)>,
}

/// Where the last lookup of a walk over many assets found its asset (see
/// [`PriceHistory::window_after`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cursor(usize);

impl PriceHistory {
    pub fn new(prices: &[Price]) -> PriceHistory {
        let mut index: FastMap<String, usize> = FastMap::default();
        let mut grouped: Vec<(&str, Vec<(NaiveDate, Decimal)>)> = Vec::new();
        let mut range: Option<(NaiveDate, NaiveDate)> = None;
        for p in prices {
            let k = *index.entry(p.asset_id.clone()).or_insert_with(|| {
                grouped.push((p.asset_id.as_str(), Vec::new()));
                grouped.len() - 1
            });
            grouped[k].1.push((p.date, p.close));
            range = Some(match range {
                None => (p.date, p.date),
                Some((a, b)) => (a.min(p.date), b.max(p.date)),
            });
        }
        let mut closes: Vec<(NaiveDate, Decimal)> = Vec::with_capacity(prices.len());
        let mut assets = Vec::with_capacity(grouped.len());
        for (id, mut rows) in grouped {
            // Stable sort, then keep the last of equal dates.
            rows.sort_by_key(|(d, _)| *d);
            let start = closes.len();
            for c in rows {
                match closes[start..].last_mut() {
                    Some(last) if last.0 == c.0 => *last = c,
                    _ => closes.push(c),
                }
            }
            assets.push((id.to_string(), start..closes.len()));
        }
        PriceHistory {
            assets,
            index,
            closes,
            range,
        }
    }

    /// The first and last date of any close; `None` when there are no prices.
    pub fn range(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.range
    }

    /// All closes of one asset, oldest first (empty when it has none).
    pub fn closes(&self, asset_id: &str) -> &[(NaiveDate, Decimal)] {
        self.index
            .get(asset_id)
            .map_or(&[], |&k| &self.closes[self.assets[k].1.clone()])
    }

    /// The closes of one asset dated within `[from, to]`, oldest first.
    pub fn window(
        &self,
        asset_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> &[(NaiveDate, Decimal)] {
        within(self.closes(asset_id), from, to)
    }

    /// [`PriceHistory::window`] for one of many assets looked up in turn: tries the asset
    /// after the one `cursor` last found before the index, and moves the cursor on.
    pub fn window_after(
        &self,
        cursor: &mut Cursor,
        asset_id: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> &[(NaiveDate, Decimal)] {
        let k = match self.assets.get(cursor.0) {
            Some((id, _)) if id == asset_id => Some(cursor.0),
            _ => self.index.get(asset_id).copied(),
        };
        match k {
            Some(k) => {
                *cursor = Cursor(k + 1);
                within(&self.closes[self.assets[k].1.clone()], from, to)
            }
            None => &[],
        }
    }

    /// The last close of one asset on or before `date`.
    pub fn last_close(&self, asset_id: &str, date: NaiveDate) -> Option<(NaiveDate, Decimal)> {
        let closes = self.closes(asset_id);
        let end = closes.partition_point(|(d, _)| *d <= date);
        end.checked_sub(1).map(|i| closes[i])
    }

    /// Number of assets with at least one close.
    pub fn assets(&self) -> usize {
        self.assets.len()
    }
}

/// Two histories are equal when they hold the same closes for the same assets, whatever
/// order the prices came in.
impl PartialEq for PriceHistory {
    fn eq(&self, other: &PriceHistory) -> bool {
        self.range == other.range
            && self.assets.len() == other.assets.len()
            && self
                .assets
                .iter()
                .all(|(id, span)| other.closes(id) == &self.closes[span.clone()])
    }
}

fn within(
    closes: &[(NaiveDate, Decimal)],
    from: NaiveDate,
    to: NaiveDate,
) -> &[(NaiveDate, Decimal)] {
    let start = closes.partition_point(|(d, _)| *d < from);
    let end = closes.partition_point(|(d, _)| *d <= to);
    &closes[start..end.max(start)]
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
        // A walk in the order the prices came in, out of order, and past an unknown asset.
        let mut cursor = Cursor::default();
        assert_eq!(h.window_after(&mut cursor, "a", d(1), d(9)), h.closes("a"));
        assert_eq!(h.window_after(&mut cursor, "b", d(1), d(9)), h.closes("b"));
        assert_eq!(
            h.window_after(&mut cursor, "a", d(3), d(4)),
            h.window("a", d(3), d(4))
        );
        assert!(h.window_after(&mut cursor, "zzz", d(1), d(9)).is_empty());
        assert_eq!(h.window_after(&mut cursor, "b", d(9), d(9)), h.closes("b"));
        assert_eq!(
            h,
            PriceHistory::new(&[
                price("b", 9, 90),
                price("a", 3, 31),
                price("a", 5, 50),
                price("a", 2, 20)
            ])
        );
        assert_ne!(
            h,
            PriceHistory::new(&[
                price("b", 9, 90),
                price("a", 3, 30),
                price("a", 5, 50),
                price("a", 2, 20)
            ])
        );
    }
}
