//! Currency conversion from the `fx_rates` table: each pair `CCYUSD` says how many US dollars
//! one unit of CCY buys on a date, so any currency converts to any other through the dollar.
//! A date without a fixing uses the last fixing before it (weekends, holidays); a currency
//! with no fixing at all cannot be converted, and the caller must say so rather than guess.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::model::FxRate;

/// US dollars per unit of each currency, by date.
#[derive(Debug, Clone, Default)]
pub struct FxTable {
    usd_per: BTreeMap<String, BTreeMap<NaiveDate, Decimal>>,
}

impl FxTable {
    /// Index the `CCYUSD` fixings of `rates`; other pairs are ignored.
    pub fn new(rates: &[FxRate]) -> FxTable {
        let mut usd_per: BTreeMap<String, BTreeMap<NaiveDate, Decimal>> = BTreeMap::new();
        for r in rates {
            if let Some(ccy) = r.pair.strip_suffix("USD").filter(|c| c.len() == 3) {
                usd_per
                    .entry(ccy.to_string())
                    .or_default()
                    .insert(r.date, r.rate);
            }
        }
        FxTable { usd_per }
    }

    fn usd_value(&self, ccy: &str, date: NaiveDate) -> Option<Decimal> {
        if ccy == "USD" {
            return Some(Decimal::ONE);
        }
        self.usd_per
            .get(ccy)?
            .range(..=date)
            .next_back()
            .map(|(_, rate)| *rate)
    }

    /// Whether the table has any fixing for `ccy` (the dollar is always known).
    pub fn knows(&self, ccy: &str) -> bool {
        ccy == "USD" || self.usd_per.contains_key(ccy)
    }

    /// Units of `to` for one unit of `from` on `date` (the last fixing on or before it).
    pub fn rate(&self, from: &str, to: &str, date: NaiveDate) -> Option<Decimal> {
        if from == to {
            return Some(Decimal::ONE);
        }
        let (a, b) = (self.usd_value(from, date)?, self.usd_value(to, date)?);
        (!b.is_zero()).then(|| a / b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixing(pair: &str, day: u32, rate: &str) -> FxRate {
        FxRate {
            pair: pair.into(),
            date: NaiveDate::from_ymd_opt(2024, 1, day).unwrap(),
            rate: rate.parse().unwrap(),
        }
    }

    #[test]
    fn converts_through_the_dollar_with_the_last_fixing() {
        let table = FxTable::new(&[
            fixing("EURUSD", 2, "1.10"),
            fixing("EURUSD", 5, "1.20"),
            fixing("GBPUSD", 2, "1.32"),
        ]);
        let d = |day| NaiveDate::from_ymd_opt(2024, 1, day).unwrap();
        let dec = |s: &str| s.parse::<Decimal>().unwrap();
        let cases = [
            ("EUR", "USD", 3, Some(dec("1.10"))),
            ("EUR", "USD", 5, Some(dec("1.20"))),
            ("USD", "USD", 1, Some(Decimal::ONE)),
            ("GBP", "EUR", 2, Some(dec("1.2"))),
            ("EUR", "USD", 1, None),
            ("JPY", "USD", 3, None),
        ];
        for (from, to, day, want) in cases {
            assert_eq!(table.rate(from, to, d(day)), want, "{from}->{to} on {day}");
        }
    }
}
