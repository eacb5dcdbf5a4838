//! `ballast-charts`: charts drawn with plotters, as SVG (for the app and export) or PNG.
//!
//! Each chart is drawn once against plotters' generic backend, so SVG and PNG show the same
//! picture. Text uses the bundled DejaVu Sans (`fonts/`, with its licence) so PNGs render the
//! same on every machine without system fonts. Charts also return their cell geometry, which
//! the UI uses to show a cell's value on hover and to drill down on click.

mod heatmap;
mod ladder;
mod lines;

pub use heatmap::{monthly_returns_heatmap, HeatmapCell};
pub use ladder::{ladder_chart, LadderBar};
pub use lines::{line_chart, Line, LineKind};

use std::path::Path;
use std::sync::Once;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum ChartError {
    #[error("nothing to draw: {0}")]
    Empty(String),
    #[error("drawing failed: {0}")]
    Draw(String),
    #[error("unsupported chart file {0}: use .svg or .png")]
    Format(String),
}

/// Output format of a rendered chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    /// From a file name's extension.
    pub fn for_path(path: &Path) -> Result<Format, ChartError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(ChartError::Format(path.display().to_string())),
        }
    }
}

/// A chart drawn once against plotters' generic backend, so SVG and PNG show one picture.
pub(crate) trait Drawing {
    fn draw<DB: plotters::prelude::DrawingBackend>(
        &self,
        root: plotters::prelude::DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<(), ChartError>;
}

/// Render `drawing` at `size`: SVG text is returned (and written to `out` if given); a PNG
/// needs `out` and returns an empty string.
pub(crate) fn render(
    drawing: &impl Drawing,
    size: (u32, u32),
    format: Format,
    out: Option<&Path>,
) -> Result<String, ChartError> {
    use plotters::prelude::{BitMapBackend, IntoDrawingArea, SVGBackend};
    register_fonts();
    let mut svg = String::new();
    match format {
        Format::Svg => {
            drawing.draw(SVGBackend::with_string(&mut svg, size).into_drawing_area())?;
            if let Some(path) = out {
                std::fs::write(path, &svg)
                    .map_err(|e| ChartError::Draw(format!("{}: {e}", path.display())))?;
            }
        }
        Format::Png => {
            let path = out.ok_or_else(|| ChartError::Draw("a PNG needs an output file".into()))?;
            drawing.draw(BitMapBackend::new(path, size).into_drawing_area())?;
        }
    }
    Ok(svg)
}

pub(crate) fn register_fonts() {
    static FONTS: Once = Once::new();
    FONTS.call_once(|| {
        plotters::style::register_font(
            "sans-serif",
            plotters::style::FontStyle::Normal,
            include_bytes!("../fonts/DejaVuSans.ttf"),
        )
        .map_err(|_| ())
        .expect("the bundled font parses");
    });
}

pub(crate) fn draw_error<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError::Draw(format!("{e:?}"))
}
