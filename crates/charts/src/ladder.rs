//! The liquidity ladder: per bucket (T+1 … beyond), the cumulative cash the positions can
//! raise against the cumulative redemptions due, as shares of NAV, base and stressed side by
//! side. A demand bar taller than its capacity bar is a shortfall.

use std::path::Path;

use plotters::prelude::*;

use crate::{draw_error, render, ChartError, Drawing, Format};

/// One bucket's bars; every value a fraction of NAV (cumulative to the bucket's end).
#[derive(Debug, Clone, PartialEq)]
pub struct LadderBar<'a> {
    pub label: &'a str,
    pub capacity: f64,
    pub demand: f64,
    /// Under the scenario, when there is one.
    pub stressed: Option<(f64, f64)>,
}

/// What one series draws for a bucket (`None`: no bar).
type BarValue = fn(&LadderBar<'_>) -> Option<f64>;

const SIZE: (u32, u32) = (640, 300);
const CAPACITY: RGBColor = RGBColor(31, 84, 160);
const CAPACITY_STRESSED: RGBColor = RGBColor(120, 160, 215);
const DEMAND: RGBColor = RGBColor(178, 24, 43);
const DEMAND_STRESSED: RGBColor = RGBColor(235, 140, 120);

struct Chart<'a> {
    title: &'a str,
    bars: &'a [LadderBar<'a>],
}

impl Drawing for Chart<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), ChartError> {
        draw(root, self.title, self.bars)
    }
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    bars: &[LadderBar<'_>],
) -> Result<(), ChartError> {
    root.fill(&WHITE).map_err(draw_error)?;
    let stressed = bars.iter().any(|b| b.stressed.is_some());
    let top = bars
        .iter()
        .flat_map(|b| {
            let (sc, sd) = b.stressed.unwrap_or((0.0, 0.0));
            [b.capacity, b.demand, sc, sd]
        })
        .fold(0.0_f64, f64::max)
        .max(0.01)
        * 1.1;
    let n = bars.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(28)
        .y_label_area_size(52)
        .build_cartesian_2d(0.0..n, 0.0..top)
        .map_err(draw_error)?;
    let labels: Vec<String> = bars.iter().map(|b| b.label.to_string()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - x.floor() - 0.5).abs() < 0.26 {
                labels.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{:.0}%", y * 100.0))
        .y_desc("cumulative, % of NAV")
        .draw()
        .map_err(draw_error)?;
    let all: [(&str, RGBColor, BarValue); 4] = [
        ("capacity", CAPACITY, |b| Some(b.capacity)),
        ("capacity, stressed", CAPACITY_STRESSED, |b| {
            b.stressed.map(|s| s.0)
        }),
        ("redemptions", DEMAND, |b| Some(b.demand)),
        ("redemptions, stressed", DEMAND_STRESSED, |b| {
            b.stressed.map(|s| s.1)
        }),
    ];
    let series: Vec<_> = all
        .into_iter()
        .filter(|(label, _, _)| stressed || !label.ends_with("stressed"))
        .collect();
    let width = 0.8 / series.len() as f64;
    for (k, (label, color, value)) in series.iter().enumerate() {
        let rects: Vec<Rectangle<(f64, f64)>> = bars
            .iter()
            .enumerate()
            .filter_map(|(i, b)| {
                let v = value(b)?;
                let x0 = i as f64 + 0.1 + k as f64 * width;
                Some(Rectangle::new(
                    [(x0, 0.0), (x0 + width * 0.92, v)],
                    color.filled(),
                ))
            })
            .collect();
        let color = *color;
        chart
            .draw_series(rects)
            .map_err(draw_error)?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
        .map_err(draw_error)?;
    root.present().map_err(draw_error)?;
    Ok(())
}

/// Draw the ladder; SVG text is returned (and written to `out` if given), a PNG needs `out`.
pub fn ladder_chart(
    title: &str,
    bars: &[LadderBar<'_>],
    format: Format,
    out: Option<&Path>,
) -> Result<String, ChartError> {
    if bars.is_empty() {
        return Err(ChartError::Empty("no buckets".into()));
    }
    if let Some(bad) = bars.iter().find(|b| {
        let (sc, sd) = b.stressed.unwrap_or((0.0, 0.0));
        ![b.capacity, b.demand, sc, sd].iter().all(|v| v.is_finite())
    }) {
        return Err(ChartError::Draw(format!(
            "{}: a value is not finite",
            bad.label
        )));
    }
    render(&Chart { title, bars }, SIZE, format, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(stressed: bool) -> Vec<LadderBar<'static>> {
        ["T+1", "T+7", "T+30", "beyond"]
            .iter()
            .enumerate()
            .map(|(i, label)| LadderBar {
                label,
                capacity: 0.2 * (i + 1) as f64,
                demand: 0.05 * (i + 1) as f64,
                stressed: stressed.then(|| (0.18 * (i + 1) as f64, 0.3)),
            })
            .collect()
    }

    #[test]
    fn one_bar_per_series_and_bucket_with_legends_and_labels() {
        for (stressed, series) in [(false, 2), (true, 4)] {
            let svg = ladder_chart("GMAC ladder", &bars(stressed), Format::Svg, None).unwrap();
            // Bars are filled rects; the legend adds one small rect per series, the
            // background and the legend box one each.
            let rects = svg.matches("<rect").count();
            assert!(rects >= 4 * series + series, "{stressed}: {rects} rects");
            for label in ["T+1", "T+30", "beyond", "redemptions", "capacity"] {
                assert!(svg.contains(label), "{label} missing");
            }
            assert_eq!(svg.contains("stressed"), stressed);
        }
    }

    #[test]
    fn empty_and_non_finite_input_is_refused() {
        assert!(ladder_chart("x", &[], Format::Svg, None).is_err());
        let mut bad = bars(false);
        bad[1].demand = f64::NAN;
        let error = ladder_chart("x", &bad, Format::Svg, None).unwrap_err();
        assert!(error.to_string().contains("T+7"), "{error}");
    }
}
