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
