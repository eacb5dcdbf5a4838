//! The monthly-returns heatmap: years down, months across, a yearly total column; a diverging
//! red–white–green scale symmetric around zero so a loss is never drawn in a gain's colour.

use std::path::Path;

use ballast_engine::calendar::{yearly_returns, MonthlyReturn};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::{draw_error, render, ChartError, Drawing, Format};

/// A drawn cell: its label, value and box in the chart's pixel space.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapCell {
    pub year: i32,
    /// 1–12, or 13 for the year's total.
    pub month: u32,
    pub value: f64,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

const MONTHS: [&str; 13] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Year",
];
const LEFT: u32 = 64;
const TOP: u32 = 56;
const CELL_W: u32 = 62;
const CELL_H: u32 = 34;
const GAP: u32 = 2;

/// Diverging colour for a return, saturating at ±`scale`.
fn colour(value: f64, scale: f64) -> RGBColor {
    let t = (value / scale).clamp(-1.0, 1.0);
    let mix =
        |from: u8, to: u8, k: f64| (from as f64 + (to as f64 - from as f64) * k).round() as u8;
    let white = (247, 247, 247);
    let (r, g, b) = if t < 0.0 {
        (178, 24, 43)
    } else {
        (27, 120, 55)
    };
    let k = t.abs();
    RGBColor(mix(white.0, r, k), mix(white.1, g, k), mix(white.2, b, k))
}

fn layout(months: &[MonthlyReturn]) -> (Vec<i32>, Vec<HeatmapCell>, (u32, u32)) {
    let mut years: Vec<i32> = months.iter().map(|m| m.year).collect();
    years.dedup();
    let row = |year: i32| years.iter().position(|y| *y == year).unwrap_or(0) as u32;
    let cell = |year: i32, month: u32, value: f64| HeatmapCell {
        year,
        month,
        value,
        x: LEFT + (month - 1) * (CELL_W + GAP),
        y: TOP + row(year) * (CELL_H + GAP),
        width: CELL_W,
        height: CELL_H,
    };
    let mut cells: Vec<HeatmapCell> = months
        .iter()
        .map(|m| cell(m.year, m.month, m.value))
        .collect();
    cells.extend(
        yearly_returns(months)
            .into_iter()
            .map(|(y, v)| cell(y, 13, v)),
    );
    let size = (
        LEFT + 13 * (CELL_W + GAP) + 16,
        TOP + years.len() as u32 * (CELL_H + GAP) + 40,
    );
    (years, cells, size)
}

struct Chart<'a> {
    title: &'a str,
    years: &'a [i32],
    cells: &'a [HeatmapCell],
}

impl Drawing for Chart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), ChartError> {
        draw(root, self.title, self.years, self.cells)
    }
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    years: &[i32],
    cells: &[HeatmapCell],
) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(draw_error)?;
    let font = |size: f64| ("sans-serif", size).into_font();
    let centred = Pos::new(HPos::Center, VPos::Center);
    root.draw(&Text::new(
        title.to_string(),
        (LEFT as i32, 18),
        font(18.0).color(&BLACK),
    ))
    .map_err(draw_error)?;
    for (i, name) in MONTHS.iter().enumerate() {
        let x = LEFT + i as u32 * (CELL_W + GAP) + CELL_W / 2;
        root.draw(&Text::new(
            name.to_string(),
            (x as i32, TOP as i32 - 12),
            font(13.0).color(&BLACK).pos(centred),
        ))
        .map_err(draw_error)?;
    }
    for (i, year) in years.iter().enumerate() {
        let y = TOP + i as u32 * (CELL_H + GAP) + CELL_H / 2;
        root.draw(&Text::new(
            year.to_string(),
            (LEFT as i32 - 10, y as i32),
            font(13.0)
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))
        .map_err(draw_error)?;
    }
    let monthly_scale = cells
        .iter()
        .filter(|c| c.month <= 12)
        .map(|c| c.value.abs())
        .fold(0.0, f64::max)
        .clamp(0.01, 0.10);
    let yearly_scale = cells
        .iter()
        .filter(|c| c.month == 13)
        .map(|c| c.value.abs())
        .fold(0.0, f64::max)
        .clamp(0.02, 0.40);
    for c in cells {
        let scale = if c.month == 13 {
            yearly_scale
        } else {
            monthly_scale
        };
        let fill = colour(c.value, scale);
        let (x0, y0) = (c.x as i32, c.y as i32);
        root.draw(&Rectangle::new(
            [(x0, y0), (x0 + c.width as i32, y0 + c.height as i32)],
            fill.filled(),
        ))
        .map_err(draw_error)?;
        let dark = (c.value / scale).abs() > 0.6;
        let ink = if dark { WHITE } else { BLACK };
        let label = format!("{:+.1}%", c.value * 100.0);
        let centre = (x0 + c.width as i32 / 2, y0 + c.height as i32 / 2);
        root.draw(&Text::new(
            label,
            centre,
            font(12.0).color(&ink).pos(centred),
        ))
        .map_err(draw_error)?;
    }
    let note_y = TOP + years.len() as u32 * (CELL_H + GAP) + 18;
    root.draw(&Text::new(
        "Compounded daily returns net of flows; red = loss, green = gain; empty = no data"
            .to_string(),
        (LEFT as i32, note_y as i32),
        font(11.0).color(&RGBColor(90, 90, 90)),
    ))
    .map_err(draw_error)?;
    root.present().map_err(draw_error)?;
    Ok(())
}

/// Draw the heatmap. Returns the SVG text (for `Format::Svg`, also written to `out` if given)
/// and the cells with their geometry.
pub fn monthly_returns_heatmap(
    title: &str,
    months: &[MonthlyReturn],
    format: Format,
    out: Option<&Path>,
) -> Result<(String, Vec<HeatmapCell>), ChartError> {
    if months.is_empty() {
        return Err(ChartError::Empty("no monthly returns in the range".into()));
    }
    let (years, cells, size) = layout(months);
    let chart = Chart {
        title,
        years: &years,
        cells: &cells,
    };
    let svg = render(&chart, size, format, out)?;
    Ok((svg, cells))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn months() -> Vec<MonthlyReturn> {
        let mut v = Vec::new();
        for year in [2023, 2024] {
            for month in 1..=12 {
                let value = if month % 2 == 0 { 0.02 } else { -0.01 };
                v.push(MonthlyReturn {
                    year,
                    month,
                    value,
                    days: 21,
                });
            }
        }
        v
    }

    #[test]
    fn svg_has_a_cell_per_month_and_year_with_labels() {
        let (svg, cells) =
            monthly_returns_heatmap("TEST monthly returns", &months(), Format::Svg, None).unwrap();
        assert_eq!(cells.len(), 24 + 2);
        // One filled rect per cell plus the white background.
        assert!(
            svg.matches("<rect").count() >= 26,
            "{}",
            svg.matches("<rect").count()
        );
        assert!(svg.contains("TEST monthly returns"));
        assert!(svg.contains("+2.0%") && svg.contains("-1.0%"));
        // 2023 compounds to (1.02^6 × 0.99^6) − 1 = +6.0%.
        let year = cells
            .iter()
            .find(|c| c.year == 2023 && c.month == 13)
            .unwrap();
        assert!((year.value - (1.02f64.powi(6) * 0.99f64.powi(6) - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn losses_are_red_and_gains_green() {
        let loss = colour(-0.05, 0.05);
        let gain = colour(0.05, 0.05);
        assert!(loss.0 > loss.1 && gain.1 > gain.0);
        assert_eq!(colour(0.0, 0.05), RGBColor(247, 247, 247));
    }

    #[test]
    fn png_is_written_and_empty_input_is_refused() {
        let dir = std::env::temp_dir().join(format!("ballast-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("heatmap.png");
        monthly_returns_heatmap("T", &months(), Format::Png, Some(&path)).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(matches!(
            monthly_returns_heatmap("T", &[], Format::Svg, None),
            Err(ChartError::Empty(_))
        ));
        std::fs::remove_dir_all(&dir).ok();
    }
}
