//! The deterministic demo dataset: three funds, 300 instruments of every asset class, five
//! years of daily prices, positions, NAV with flows, trades, investors, pending redemptions,
//! liquidity terms and risk limits.
//!
//! The same seed and [`DemoConfig`] always give the same [`Dataset`], byte for byte: every
//! random draw comes from one ChaCha stream (stable across platforms and crate versions), and
//! identifiers are UUIDv7 built from that stream. Names and reference lists come from the small
//! CSV files in `sample-data/inputs/`. Prices follow a factor model (market, sector, rates,
//! idiosyncratic) with a bear market in 2022, so heatmaps and drawdowns have something to show.

mod inputs;
mod simulate;

use chrono::NaiveDate;

pub use simulate::generate;

/// What to generate. [`DemoConfig::default`] is the demo workspace; [`DemoConfig::small`] is a
/// quick one for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoConfig {
    pub seed: u64,
    /// Years of daily history ending at `end`.
    pub years: u32,
    /// Last business day of the history.
    pub end: NaiveDate,
    /// Instruments per asset class are the full counts divided by this (at least one each).
    pub asset_divisor: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            seed: 20_260_901,
            years: 5,
            end: NaiveDate::from_ymd_opt(2026, 10, 30).expect("valid date"),
            asset_divisor: 1,
        }
    }
}

impl DemoConfig {
    /// Two years and a tenth of the instruments: the same shape, fast enough for many tests.
    pub fn small() -> Self {
        DemoConfig {
            years: 2,
            asset_divisor: 10,
            ..DemoConfig::default()
        }
    }
}
