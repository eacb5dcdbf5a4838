//! Date ranges the user picks (MTD, QTD, YTD, 1Y, 3Y, 5Y, since inception, custom) and the
//! trailing-return table built from them.
//!
//! Convention (docs/kpi-conventions.md, "Periods"): a window is the set of *returns dated*
//! `from <= date <= to`. A return dated *t* is the move from the previous close to the close
//! of *t*, so the window's performance starts at the last close before `from`:
//!
//! * MTD / QTD / YTD: `from` is the first calendar day of the month / quarter / year of
//!   `as_of`, i.e. the window starts at the last close of the previous month / quarter / year.
//! * 1M, 3M, 6M, 1Y, 3Y, 5Y: `from` is the day after `as_of` minus N calendar months or years
//!   (chrono's month arithmetic: a day that does not exist in the target month becomes that
//!   month's last day, so 2024-02-29 minus one year is 2023-02-28; there is no end-of-month
//!   rolling, so 2023-02-28 minus one month is 2023-01-28).
//! * Since inception: every return (`from` is `None`).
//! * Custom: the user's `from` and `to`, both inclusive.
//!
//! A window is *covered* when the return history starts on or before `from`; a trailing
//! figure over a window the history does not cover is absent, never a shorter period's figure.

use std::fmt;

use chrono::{Datelike, Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::kpi::{self, Entry, Metric, Unit};
use crate::returns::ReturnSeries;

/// A period the user picks in the UI or on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Range {
    #[serde(rename = "mtd")]
    Mtd,
    #[serde(rename = "qtd")]
    Qtd,
    #[serde(rename = "ytd")]
    Ytd,
    #[serde(rename = "1y")]
    OneYear,
    #[serde(rename = "3y")]
    ThreeYears,
    #[serde(rename = "5y")]
    FiveYears,
    #[serde(rename = "si")]
    SinceInception,
    #[serde(rename = "custom")]
    Custom { from: NaiveDate, to: NaiveDate },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RangeError {
    #[error("unknown period '{0}': use mtd, qtd, ytd, 1y, 3y, 5y, si or custom:FROM..TO")]
    Unknown(String),
    #[error("a custom period needs dates: custom:YYYY-MM-DD..YYYY-MM-DD")]
    NeedsDates,
    #[error("bad date '{0}' in a custom period (expected YYYY-MM-DD)")]
    BadDate(String),
    #[error("a custom period must not end ({to}) before it starts ({from})")]
    Reversed { from: NaiveDate, to: NaiveDate },
}

impl Range {
    /// The fixed ranges, in the order a picker shows them.
    pub const PRESETS: [Range; 7] = [
        Range::Mtd,
        Range::Qtd,
        Range::Ytd,
        Range::OneYear,
        Range::ThreeYears,
        Range::FiveYears,
        Range::SinceInception,
    ];

    /// A custom range; refuses one that ends before it starts.
    pub fn custom(from: NaiveDate, to: NaiveDate) -> Result<Range, RangeError> {
        if to < from {
            return Err(RangeError::Reversed { from, to });
        }
        Ok(Range::Custom { from, to })
    }

    /// `mtd`, `qtd`, `ytd`, `1y`, `3y`, `5y`, `si` (case-insensitive), or
    /// `custom:2024-01-01..2024-06-30`. Plain `custom` is refused: it needs dates.
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        let lower = text.trim().to_ascii_lowercase();
        if let Some(preset) = Range::PRESETS.into_iter().find(|r| r.as_str() == lower) {
            return Ok(preset);
        }
        if lower == "custom" {
            return Err(RangeError::NeedsDates);
        }
        let Some(dates) = lower.strip_prefix("custom:") else {
            return Err(RangeError::Unknown(text.to_string()));
        };
        let (from, to) = dates.split_once("..").ok_or(RangeError::NeedsDates)?;
        let date = |s: &str| {
            NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .map_err(|_| RangeError::BadDate(s.trim().to_string()))
        };
        Range::custom(date(from)?, date(to)?)
    }

    /// The short code: `mtd`, …, `si`, or `custom` (without its dates; `Display` has them).
    pub fn as_str(self) -> &'static str {
        match self {
            Range::Mtd => "mtd",
            Range::Qtd => "qtd",
            Range::Ytd => "ytd",
            Range::OneYear => "1y",
            Range::ThreeYears => "3y",
            Range::FiveYears => "5y",
            Range::SinceInception => "si",
            Range::Custom { .. } => "custom",
        }
    }

    /// The returns this range selects, given the last data date `as_of` and the date of the
    /// first return in the data `first`.
    pub fn resolve(self, as_of: NaiveDate, first: NaiveDate) -> Window {
        let (from, to) = match self {
            Range::Mtd => (Some(month_start(as_of)), as_of),
            Range::Qtd => (Some(quarter_start(as_of)), as_of),
            Range::Ytd => (Some(year_start(as_of)), as_of),
            Range::OneYear => (Some(after_months_back(as_of, 12)), as_of),
            Range::ThreeYears => (Some(after_months_back(as_of, 36)), as_of),
            Range::FiveYears => (Some(after_months_back(as_of, 60)), as_of),
            Range::SinceInception => (None, as_of),
            Range::Custom { from, to } => (Some(from), to),
        };
        Window {
            from,
            to,
            covered: from.is_none_or(|f| first <= f),
        }
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Range::Custom { from, to } => write!(f, "custom:{from}..{to}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The returns a range selects: those dated `from <= date <= to` (`from` `None` = all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    /// The first return date included; `None` for since inception.
    pub from: Option<NaiveDate>,
    /// The last return date included.
    pub to: NaiveDate,
    /// Whether the history starts on or before `from` (always true for since inception).
    pub covered: bool,
}

impl Window {
    /// The part of `series` inside the window.
    pub fn select(&self, series: &ReturnSeries) -> ReturnSeries {
        series.between(self.from, Some(self.to))
    }
}

/// The first day of `date`'s month.
pub fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).expect("day 1 exists")
}

/// The first day of `date`'s calendar quarter (January, April, July or October 1st).
pub fn quarter_start(date: NaiveDate) -> NaiveDate {
    let month = (date.month0() / 3) * 3 + 1;
    NaiveDate::from_ymd_opt(date.year(), month, 1).expect("quarter start exists")
}

/// January 1st of `date`'s year.
pub fn year_start(date: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(date.year(), 1, 1).expect("January 1st exists")
}

/// The day after `date` minus `months` calendar months (clamped to the month's last day).
fn after_months_back(date: NaiveDate, months: u32) -> NaiveDate {
    let back = date
        .checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN);
    back.checked_add_days(Days::new(1)).unwrap_or(back)
}

const NO_RETURNS: &str = "no returns";

/// The trailing-return table as of the series' last date: `mtd`, `qtd`, `ytd`,
/// `trailing_1m`, `trailing_3m`, `trailing_6m`, `trailing_1y` (cumulative, not annualised),
/// `trailing_3y_ann`, `trailing_5y_ann` (`(1 + cumulative)^(1/N) − 1` over exactly N calendar
/// years) and `since_inception_ann` (the CAGR of the whole series on 252 periods a year,
/// absent below one year of history: periods shorter than a year are never annualised).
pub fn trailing_returns(series: &ReturnSeries) -> Vec<Entry> {
    let (Some(&first), Some(&as_of)) = (series.dates.first(), series.dates.last()) else {
        return TRAILING
            .iter()
            .map(|t| {
                Entry::new(
                    t.key,
                    t.label,
                    Unit::SignedPercent,
                    Metric::unavailable(NO_RETURNS),
                )
            })
            .collect();
    };
    TRAILING
        .iter()
        .map(|t| {
            let metric = match t.span {
                Span::Range(range) => window_return(series, range.resolve(as_of, first), t.short),
                Span::Months(m) => {
                    let window = Window {
                        from: Some(after_months_back(as_of, m)),
                        to: as_of,
                        covered: first <= after_months_back(as_of, m),
                    };
                    let cumulative = window_return(series, window, t.short);
                    if m >= 36 {
                        annualise(cumulative, f64::from(m) / 12.0)
                    } else {
                        cumulative
                    }
                }
                Span::Inception => {
                    if first <= after_months_back(as_of, 12) {
                        kpi::cagr(&series.values)
                    } else {
                        Metric::unavailable(t.short)
                    }
                }
            };
            Entry::new(t.key, t.label, Unit::SignedPercent, metric)
        })
        .collect()
}

/// The compounded return of the window, or absent when the history does not cover it.
pub fn window_return(series: &ReturnSeries, window: Window, why_short: &str) -> Metric {
    if !window.covered {
        return Metric::unavailable(why_short);
    }
    let selected = window.select(series);
    if selected.is_empty() {
        return Metric::unavailable("no returns in the range");
    }
    Metric::from_f64(kpi::cumulative_return(&selected.values), "overflow")
}

fn annualise(cumulative: Metric, years: f64) -> Metric {
    match cumulative {
        Metric::Value(c) if 1.0 + c <= 0.0 => Metric::unavailable("the series lost everything"),
        Metric::Value(c) => Metric::from_f64((1.0 + c).powf(1.0 / years) - 1.0, "overflow"),
        absent => absent,
    }
}

enum Span {
    Range(Range),
    Months(u32),
    Inception,
}

struct Trailing {
    key: &'static str,
    label: &'static str,
    span: Span,
    short: &'static str,
}

const TRAILING: [Trailing; 10] = [
    Trailing {
        key: "mtd",
        label: "MTD",
        span: Span::Range(Range::Mtd),
        short: "history starts after the month began",
    },
    Trailing {
        key: "qtd",
        label: "QTD",
        span: Span::Range(Range::Qtd),
        short: "history starts after the quarter began",
    },
    Trailing {
        key: "ytd",
        label: "YTD",
        span: Span::Range(Range::Ytd),
        short: "history starts after the year began",
    },
    Trailing {
        key: "trailing_1m",
        label: "1M",
        span: Span::Months(1),
        short: "history shorter than 1 month",
    },
    Trailing {
        key: "trailing_3m",
        label: "3M",
        span: Span::Months(3),
        short: "history shorter than 3 months",
    },
    Trailing {
        key: "trailing_6m",
        label: "6M",
        span: Span::Months(6),
        short: "history shorter than 6 months",
    },
    Trailing {
        key: "trailing_1y",
        label: "1Y",
        span: Span::Months(12),
        short: "history shorter than 1 year",
    },
    Trailing {
        key: "trailing_3y_ann",
        label: "3Y (ann.)",
        span: Span::Months(36),
        short: "history shorter than 3 years",
    },
    Trailing {
        key: "trailing_5y_ann",
        label: "5Y (ann.)",
        span: Span::Months(60),
        short: "history shorter than 5 years",
    },
    Trailing {
        key: "since_inception_ann",
        label: "Since inception (ann.)",
        span: Span::Inception,
        short: "history shorter than 1 year",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn parse_and_as_str_round_trip() {
        for range in Range::PRESETS {
            assert_eq!(Range::parse(range.as_str()), Ok(range));
            assert_eq!(Range::parse(&range.as_str().to_uppercase()), Ok(range));
        }
        assert_eq!(
            Range::parse("custom:2024-01-01..2024-06-30"),
            Ok(Range::Custom {
                from: d(2024, 1, 1),
                to: d(2024, 6, 30)
            })
        );
        let custom = Range::custom(d(2024, 1, 1), d(2024, 6, 30)).unwrap();
        assert_eq!(Range::parse(&custom.to_string()), Ok(custom));
        assert_eq!(custom.as_str(), "custom");
        assert_eq!(Range::parse("custom"), Err(RangeError::NeedsDates));
        assert_eq!(
            Range::parse("custom:2024-01-01"),
            Err(RangeError::NeedsDates)
        );
        assert!(matches!(
            Range::parse("custom:2024-13-01..2024-12-31"),
            Err(RangeError::BadDate(_))
        ));
        assert!(matches!(
            Range::parse("custom:2024-02-01..2024-01-31"),
            Err(RangeError::Reversed { .. })
        ));
        assert!(matches!(Range::parse("2y"), Err(RangeError::Unknown(_))));
    }

    #[test]
    fn serde_uses_the_short_codes() {
        assert_eq!(serde_json::to_string(&Range::OneYear).unwrap(), "\"1y\"");
        assert_eq!(
            serde_json::from_str::<Range>("\"si\"").unwrap(),
            Range::SinceInception
        );
        let custom = Range::custom(d(2024, 1, 1), d(2024, 2, 1)).unwrap();
        let json = serde_json::to_string(&custom).unwrap();
        assert_eq!(
            json,
            r#"{"custom":{"from":"2024-01-01","to":"2024-02-01"}}"#
        );
        assert_eq!(serde_json::from_str::<Range>(&json).unwrap(), custom);
    }

    #[test]
    fn windows_by_hand() {
        let first = d(2015, 1, 2);
        // (range, as_of, expected from). Hand-derived from the convention in the module header.
        let cases = [
            (Range::Mtd, d(2024, 3, 15), Some(d(2024, 3, 1))),
            (Range::Mtd, d(2024, 3, 1), Some(d(2024, 3, 1))),
            (Range::Mtd, d(2024, 2, 29), Some(d(2024, 2, 1))),
            (Range::Qtd, d(2024, 3, 31), Some(d(2024, 1, 1))),
            (Range::Qtd, d(2024, 4, 1), Some(d(2024, 4, 1))),
            (Range::Qtd, d(2024, 9, 30), Some(d(2024, 7, 1))),
            (Range::Qtd, d(2024, 12, 31), Some(d(2024, 10, 1))),
            (Range::Ytd, d(2024, 12, 31), Some(d(2024, 1, 1))),
            (Range::Ytd, d(2025, 1, 2), Some(d(2025, 1, 1))),
            // One calendar year back, then the day after.
            (Range::OneYear, d(2024, 6, 28), Some(d(2023, 6, 29))),
            (Range::OneYear, d(2024, 12, 31), Some(d(2024, 1, 1))),
            // Leap day: 2024-02-29 minus one year is 2023-02-28 (clamped).
            (Range::OneYear, d(2024, 2, 29), Some(d(2023, 3, 1))),
            // 2025-02-28 minus one year is 2024-02-28: the leap day is inside the window.
            (Range::OneYear, d(2025, 2, 28), Some(d(2024, 2, 29))),
            (Range::ThreeYears, d(2024, 2, 29), Some(d(2021, 3, 1))),
            (Range::FiveYears, d(2024, 6, 30), Some(d(2019, 7, 1))),
            (Range::SinceInception, d(2024, 6, 30), None),
        ];
        for (range, as_of, from) in cases {
            let w = range.resolve(as_of, first);
            assert_eq!(
                (w.from, w.to, w.covered),
                (from, as_of, true),
                "{range} at {as_of}"
            );
        }
        let custom = Range::custom(d(2020, 1, 1), d(2020, 12, 31)).unwrap();
        let w = custom.resolve(d(2024, 6, 30), first);
        assert_eq!((w.from, w.to), (Some(d(2020, 1, 1)), d(2020, 12, 31)));
        // Coverage: the history must start on or before the window's first day.
        assert!(Range::Ytd.resolve(d(2024, 6, 3), d(2024, 1, 1)).covered);
        assert!(!Range::Ytd.resolve(d(2024, 6, 3), d(2024, 1, 2)).covered);
        assert!(
            Range::SinceInception
                .resolve(d(2024, 6, 3), d(2024, 6, 3))
                .covered
        );
    }

    /// One return per calendar day from `start` to `end`, each `r`.
    fn daily(start: NaiveDate, end: NaiveDate, r: f64) -> ReturnSeries {
        let mut series = ReturnSeries::default();
        let mut day = start;
        while day <= end {
            series.dates.push(day);
            series.values.push(r);
            day = day.succ_opt().unwrap();
        }
        series
    }

    fn table(series: &ReturnSeries) -> Vec<(&'static str, Metric)> {
        trailing_returns(series)
            .into_iter()
            .map(|e| (e.key, e.metric))
            .collect()
    }

    fn assert_close(got: &Metric, want: f64, key: &str) {
        let g = got.value().unwrap_or_else(|| panic!("{key}: {got:?}"));
        assert!((g - want).abs() < 1e-10, "{key}: got {g}, want {want}");
    }

    #[test]
    fn trailing_returns_count_calendar_days_by_hand() {
        // 0.1% every calendar day from 2021-03-01 to 2024-03-31 (a leap year's March 31st).
        let r: f64 = 0.001;
        let series = daily(d(2021, 3, 1), d(2024, 3, 31), r);
        let growth = |days: i32| (1.0 + r).powi(days) - 1.0;
        let rows = table(&series);
        let get = |k: &str| &rows.iter().find(|(key, _)| *key == k).unwrap().1;
        // MTD: March 1..31 = 31 days; QTD = YTD: Jan 1..Mar 31 = 31+29+31 = 91 days.
        assert_close(get("mtd"), growth(31), "mtd");
        assert_close(get("qtd"), growth(91), "qtd");
        assert_close(get("ytd"), growth(91), "ytd");
        // 1M: after 2024-02-29 -> March 1..31 = 31 days. 3M: after 2023-12-31 -> 91 days.
        assert_close(get("trailing_1m"), growth(31), "trailing_1m");
        assert_close(get("trailing_3m"), growth(91), "trailing_3m");
        // 6M: after 2023-09-30 -> Oct..Mar = 31+30+31+31+29+31 = 183 days.
        assert_close(get("trailing_6m"), growth(183), "trailing_6m");
        // 1Y: after 2023-03-31 -> 2023-04-01..2024-03-31 = 366 days (leap year).
        assert_close(get("trailing_1y"), growth(366), "trailing_1y");
        // 3Y: after 2021-03-31 -> 2021-04-01..2024-03-31 = 365+365+366 = 1096 days, ann. 1/3.
        let three = (1.0 + growth(1096)).powf(1.0 / 3.0) - 1.0;
        assert_close(get("trailing_3y_ann"), three, "trailing_3y_ann");
        assert_eq!(
            get("trailing_5y_ann"),
            &Metric::unavailable("history shorter than 5 years")
        );
        // Since inception: 1127 returns on 252 a year.
        let n = series.len() as f64;
        let si = (1.0 + growth(series.len() as i32)).powf(252.0 / n) - 1.0;
        assert!((get("since_inception_ann").value().unwrap() - si).abs() < 1e-9);
    }

    #[test]
    fn short_histories_are_absent_not_shortened() {
        // History starting on 2024-03-02: March began before it, the quarter too.
        let series = daily(d(2024, 3, 2), d(2024, 3, 31), 0.001);
        let rows = table(&series);
        for (key, metric) in &rows {
            assert!(
                matches!(metric, Metric::Unavailable(_)),
                "{key} should be absent: {metric:?}"
            );
        }
        assert_eq!(
            rows[0].1,
            Metric::unavailable("history starts after the month began")
        );
        assert_eq!(
            rows[7].1,
            Metric::unavailable("history shorter than 3 years")
        );
        assert_eq!(
            rows[9].1,
            Metric::unavailable("history shorter than 1 year")
        );
        // Starting exactly on the month's first day: MTD counts (the prior close exists).
        let series = daily(d(2024, 3, 1), d(2024, 3, 31), 0.0);
        let rows = table(&series);
        assert_eq!(rows[0].1, Metric::Value(0.0));
        // Exactly one year of history: trailing_1y and since inception both count.
        let series = daily(d(2023, 4, 1), d(2024, 3, 31), 0.0);
        let rows = table(&series);
        assert_eq!(rows[6].1, Metric::Value(0.0));
        assert_eq!(rows[9].1, Metric::Value(0.0));
        // Nothing at all.
        let rows = table(&ReturnSeries::default());
        assert_eq!(rows.len(), 10);
        assert!(rows
            .iter()
            .all(|(_, m)| *m == Metric::unavailable(NO_RETURNS)));
    }

    #[test]
    fn month_end_and_quarter_start_edges() {
        // as_of on the first day of a quarter: QTD is that one day's return only.
        let mut series = daily(d(2023, 1, 1), d(2024, 4, 1), 0.0);
        *series.values.last_mut().unwrap() = 0.02;
        let rows = table(&series);
        assert_close(&rows[1].1, 0.02, "qtd");
        assert_close(&rows[0].1, 0.02, "mtd");
        assert_close(&rows[2].1, 0.02, "ytd");
        // 1M from 2024-04-01: after 2024-03-01 -> 2024-03-02..04-01, includes the 2%.
        assert_close(&rows[3].1, 0.02, "trailing_1m");
        // A return on 2024-03-01 is outside that 1M window.
        let mut series = daily(d(2023, 1, 1), d(2024, 4, 1), 0.0);
        let i = series
            .dates
            .iter()
            .position(|x| *x == d(2024, 3, 1))
            .unwrap();
        series.values[i] = 0.5;
        let rows = table(&series);
        assert_eq!(rows[3].1, Metric::Value(0.0));
        assert_close(&rows[4].1, 0.5, "trailing_3m");
    }
}
