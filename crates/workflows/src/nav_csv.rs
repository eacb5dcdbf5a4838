//! An analyst's own series from a CSV file: `date,nav[,flow]` (a header row naming the
//! columns, in any order and case). A benchmark file has `date,nav` (or `close`) and no flows.
//!
//! Nothing half-read is ever used: a malformed file is refused as a whole with the file, the
//! line number (1-based, the header is line 1) and the reason.

use std::path::Path;

use ballast_engine::model::NavPoint;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use thiserror::Error;

/// Why a CSV series was refused, and where.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{file}, line {line}: {reason}")]
pub struct CsvError {
    pub file: String,
    /// 1-based; the header is line 1. Zero when the problem is the file as a whole.
    pub line: u64,
    pub reason: String,
}

/// Read and check a NAV series from `path`.
pub fn read_nav_csv(path: &Path) -> Result<Vec<NavPoint>, CsvError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| CsvError {
        file: file.clone(),
        line: 0,
        reason: format!("cannot read the file: {e}"),
    })?;
    parse_nav_csv(&text, &file)
}

/// Parse a NAV series (oldest first, one row per date) from CSV text.
pub fn parse_nav_csv(text: &str, file: &str) -> Result<Vec<NavPoint>, CsvError> {
    let fail = |line: u64, reason: String| CsvError {
        file: file.to_string(),
        line,
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| fail(1, format!("unreadable header: {e}")))?
        .clone();
    let column = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.iter().any(|n| h.eq_ignore_ascii_case(n)))
    };
    let date_col = column(&["date"]).ok_or_else(|| {
        fail(
            1,
            "the header has no `date` column (expected date,nav[,flow])".into(),
        )
    })?;
    let nav_col = column(&["nav", "close", "value"]).ok_or_else(|| {
        fail(
            1,
            "the header has no `nav` column (expected date,nav[,flow])".into(),
        )
    })?;
    let flow_col = column(&["flow", "external_flow"]);
    let mut points: Vec<NavPoint> = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            fail(line, format!("malformed row: {e}"))
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let field = |col: usize, name: &str| {
            record
                .get(col)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| fail(line, format!("`{name}` is empty")))
        };
        let date_text = field(date_col, "date")?;
        let date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d").map_err(|_| {
            fail(
                line,
                format!("`date` is {date_text:?}, not a date like 2024-01-31"),
            )
        })?;
        let nav_text = field(nav_col, "nav")?;
        let nav: Decimal = parse_number(nav_text)
            .ok_or_else(|| fail(line, format!("`nav` is {nav_text:?}, not a number")))?;
        if nav <= Decimal::ZERO {
            return Err(fail(line, format!("`nav` is {nav}: it must be positive")));
        }
        let external_flow = match flow_col
            .and_then(|c| record.get(c))
            .filter(|v| !v.is_empty())
        {
            None => Decimal::ZERO,
            Some(text) => parse_number(text)
                .ok_or_else(|| fail(line, format!("`flow` is {text:?}, not a number")))?,
        };
        if let Some(previous) = points.last() {
            if date <= previous.date {
                return Err(fail(
                    line,
                    format!(
                        "{date} does not come after the previous row's {}: rows must be in date order, one per date",
                        previous.date
                    ),
                ));
            }
        }
        points.push(NavPoint {
            id: format!("{file}:{line}"),
            portfolio_id: file.to_string(),
            date,
            nav,
            external_flow,
            gross_exposure: Decimal::ZERO,
            net_exposure: Decimal::ZERO,
        });
    }
    if points.len() < 2 {
        return Err(fail(
            0,
            format!(
                "{} data row(s): a return series needs at least two dated values",
                points.len()
            ),
        ));
    }
    Ok(points)
}

/// A plain decimal (`1234.5`, `-20`, `1e6` is refused): no thousands separators, no currency.
fn parse_number(text: &str) -> Option<Decimal> {
    text.parse::<Decimal>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_dates_navs_and_optional_flows() {
        let text = "Date, NAV, Flow\n2024-01-01,100,\n2024-01-02,110.5,5\n\n2024-01-04,99,-22\n";
        let points = parse_nav_csv(text, "fund.csv").unwrap();
        assert_eq!(points.len(), 3);
        assert_eq!(points[1].nav, "110.5".parse::<Decimal>().unwrap());
        assert_eq!(points[2].external_flow, Decimal::from(-22));
        assert_eq!(points[0].external_flow, Decimal::ZERO);
        let no_flows = parse_nav_csv("nav,date\n1,2024-01-01\n2,2024-01-02\n", "b.csv").unwrap();
        assert_eq!(no_flows[1].nav, Decimal::from(2));
    }

    #[test]
    fn a_bad_file_is_refused_with_its_line_and_reason() {
        let cases = [
            ("date,price\n2024-01-01,1\n", 1, "no `nav` column"),
            ("nav\n1\n", 1, "no `date` column"),
            (
                "date,nav\n2024-01-01,100\n2024-13-01,101\n",
                3,
                "not a date",
            ),
            (
                "date,nav\n2024-01-01,100\n2024-01-02,abc\n",
                3,
                "not a number",
            ),
            (
                "date,nav\n2024-01-01,100\n2024-01-02,0\n",
                3,
                "must be positive",
            ),
            (
                "date,nav\n2024-01-01,100\n2024-01-02,\n",
                3,
                "`nav` is empty",
            ),
            (
                "date,nav\n2024-01-02,100\n2024-01-01,101\n",
                3,
                "date order",
            ),
            (
                "date,nav\n2024-01-01,100\n2024-01-01,101\n",
                3,
                "date order",
            ),
            (
                "date,nav,flow\n2024-01-01,100,0\n2024-01-02,101,x\n",
                3,
                "`flow` is",
            ),
            (
                "date,nav\n2024-01-01,100\n2024-01-02,101,7\n",
                3,
                "malformed",
            ),
            ("date,nav\n2024-01-01,100\n", 0, "at least two"),
            ("", 1, "no `date` column"),
        ];
        for (text, line, reason) in cases {
            let err = parse_nav_csv(text, "in.csv").unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err}");
            assert!(err.reason.contains(reason), "{text:?}: {err}");
            assert!(err.to_string().starts_with("in.csv, line"), "{err}");
        }
    }
}
