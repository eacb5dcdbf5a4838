//! Line charts over dates: the cumulative return (portfolio against its benchmark) and the
//! drawdown ("underwater") curve. Values are fractions drawn as percentages; the x axis is
//! calendar time, so gaps and holidays keep their true width.

use std::path::Path;

use chrono::{Datelike, NaiveDate};
use plotters::prelude::*;

use crate::{draw_error, render, ChartError, Drawing, Format};

/// One dated line to draw.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub label: &'a str,
    pub dates: &'a [NaiveDate],
    /// Fractions (0.05 = 5%), one per date.
    pub values: &'a [f64],
}

/// What the chart shows, which decides its colours and whether the area under zero is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// Growth of one unit since the start, minus one: lines in distinct colours.
    Cumulative,
    /// Fall from the running peak (always ≤ 0): a red area down from zero.
    Drawdown,
    /// A level that has no sign (a volatility): unsigned labels, lines in distinct colours.
    Level,
    /// Plain numbers (a Sharpe ratio, a beta), not percentages.
    Ratio,
}

struct Chart<'a> {
    title: &'a str,
    kind: LineKind,
    lines: &'a [Line<'a>],
}

impl Drawing for Chart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), ChartError> {
        draw(root, self.title, self.kind, self.lines)
    }
}

/// Drawn about the size the app shows it, so its text reads at the size it was set in.
const SIZE: (u32, u32) = (640, 300);
const PALETTE: [RGBColor; 3] = [
    RGBColor(31, 84, 160),
    RGBColor(120, 120, 120),
    RGBColor(200, 120, 20),
];
const DRAWDOWN_RED: RGBColor = RGBColor(178, 24, 43);

fn day_number(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

fn date_label(day: &i32) -> String {
    NaiveDate::from_num_days_from_ce_opt(*day)
        .map(|d| format!("{}-{:02}", d.year(), d.month()))
        .unwrap_or_default()
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    kind: LineKind,
    lines: &[Line<'_>],
) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(draw_error)?;
    let days = lines
        .iter()
        .flat_map(|l| l.dates.iter().copied().map(day_number));
    let (first, last) = days.fold((i32::MAX, i32::MIN), |(lo, hi), d| (lo.min(d), hi.max(d)));
    let values = lines.iter().flat_map(|l| l.values.iter().copied());
    let (low, high) = values
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let pad = ((high - low) * 0.06).max(if kind == LineKind::Ratio { 0.05 } else { 0.005 });
    let y_top = if kind == LineKind::Drawdown {
        0.0 + pad / 3.0
    } else {
        high + pad
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16).into_font())
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(52)
        .build_cartesian_2d(first..last.max(first + 1), (low - pad)..y_top)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .y_labels(6)
        .x_label_formatter(&date_label)
        .y_label_formatter(&|v| match kind {
            LineKind::Level => format!("{:.0}%", v * 100.0),
            LineKind::Ratio => format!("{v:.1}"),
            LineKind::Cumulative | LineKind::Drawdown => format!("{:+.0}%", v * 100.0),
        })
        .light_line_style(RGBColor(235, 235, 235))
        .label_style(("sans-serif", 13))
        .draw()
        .map_err(draw_error)?;
    chart
        .draw_series(LineSeries::new(
            [(first, 0.0), (last, 0.0)],
            RGBColor(60, 60, 60).stroke_width(1),
        ))
        .map_err(draw_error)?;
    for (i, line) in lines.iter().enumerate() {
        let points = line
            .dates
            .iter()
            .zip(line.values)
            .filter(|(_, v)| v.is_finite())
            .map(|(d, v)| (day_number(*d), *v));
        let colour = match kind {
            LineKind::Drawdown => DRAWDOWN_RED,
            LineKind::Cumulative | LineKind::Level | LineKind::Ratio => PALETTE[i % PALETTE.len()],
        };
        let drawn = if kind == LineKind::Drawdown {
            chart
                .draw_series(AreaSeries::new(points, 0.0, colour.mix(0.35)).border_style(colour))
                .map_err(draw_error)?
        } else {
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(draw_error)?
        };
        drawn
            .label(line.label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 4), (x + 14, y + 4)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(("sans-serif", 13))
        .draw()
        .map_err(draw_error)?;
    root.present().map_err(draw_error)?;
    Ok(())
}

/// Draw dated lines. Returns the SVG text (for `Format::Svg`, also written to `out` if given).
pub fn line_chart(
    title: &str,
    kind: LineKind,
    lines: &[Line<'_>],
    format: Format,
    out: Option<&Path>,
) -> Result<String, ChartError> {
    if lines.iter().all(|l| l.dates.is_empty()) {
        return Err(ChartError::Empty("no points in the range".into()));
    }
    if let Some(bad) = lines.iter().find(|l| l.dates.len() != l.values.len()) {
        return Err(ChartError::Draw(format!(
            "{}: {} dates but {} values",
            bad.label,
            bad.dates.len(),
            bad.values.len()
        )));
    }
    let chart = Chart { title, kind, lines };
    render(&chart, SIZE, format, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dates(n: usize) -> Vec<NaiveDate> {
        let start = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        (0..n)
            .map(|i| start + chrono::Duration::days(i as i64 * 7))
            .collect()
    }

    #[test]
    fn cumulative_chart_draws_each_line_with_its_legend() {
        let d = dates(60);
        let fund: Vec<f64> = (0..60).map(|i| i as f64 * 0.002).collect();
        let bench: Vec<f64> = (0..60).map(|i| i as f64 * -0.001).collect();
        let svg = line_chart(
            "GMAC cumulative return",
            LineKind::Cumulative,
            &[
                Line {
                    label: "GMAC",
                    dates: &d,
                    values: &fund,
                },
                Line {
                    label: "MSCI ACWI",
                    dates: &d,
                    values: &bench,
                },
            ],
            Format::Svg,
            None,
        )
        .unwrap();
        assert!(svg.contains("GMAC cumulative return"));
        // plotters writes each text on its own line.
        assert!(
            svg.contains("\nGMAC\n") && svg.contains("\nMSCI ACWI\n"),
            "legend"
        );
        assert!(svg.contains("2024-"), "date labels on the x axis");
        assert!(svg.contains('%'), "percent labels on the y axis");
        assert!(svg.matches("<polyline").count() >= 2, "one line per series");
    }

    #[test]
    fn drawdown_chart_fills_below_zero_and_png_is_written() {
        let d = dates(30);
        let underwater: Vec<f64> = (0..30).map(|i| -((i % 10) as f64) * 0.01).collect();
        let line = [Line {
            label: "drawdown",
            dates: &d,
            values: &underwater,
        }];
        let svg = line_chart("dd", LineKind::Drawdown, &line, Format::Svg, None).unwrap();
        assert!(svg.contains("<polygon"), "the underwater area is filled");
        let dir = tempfile_dir();
        let path = dir.join("dd.png");
        line_chart("dd", LineKind::Drawdown, &line, Format::Png, Some(&path)).unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..8], b"\x89PNG\r\n\x1a\n");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn empty_or_mismatched_input_is_refused() {
        let empty = [Line {
            label: "x",
            dates: &[],
            values: &[],
        }];
        assert!(matches!(
            line_chart("t", LineKind::Cumulative, &empty, Format::Svg, None),
            Err(ChartError::Empty(_))
        ));
        let d = dates(3);
        let bad = [Line {
            label: "x",
            dates: &d,
            values: &[0.1],
        }];
        let err = line_chart("t", LineKind::Cumulative, &bad, Format::Svg, None).unwrap_err();
        assert!(err.to_string().contains("3 dates but 1 values"), "{err}");
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ballast-lines-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
