//! `ballast-engine`: the pure heart of Ballast.
//!
//! The domain model ([`model`]), daily returns from NAV and flows ([`returns`]), the KPI
//! catalogue ([`kpi`] for its vocabulary and the headline figures, [`stats`], [`period`],
//! [`flows`], [`trading`], [`exposure`], [`limits`]) put together for one subject and range by
//! [`performance`], monthly aggregation for heatmaps ([`calendar`]), and the shape of the mirrored
//! shared tables ([`schema`]). No IO lives here:
//! no database, no network, no files, no async runtime. Every edge crate (storage, Postgres,
//! charts, secrets, the app, the CLI) depends on this one, never the other way round, and
//! `Cargo.toml` keeps it that way.
//!
//! What-if analysis: scenario definitions and their validation ([`scenario`]), running them
//! with a per-position trace ([`scenario_run`]) over an indexed price history ([`history`]),
//! the built-in library ([`presets`]), Monte Carlo VaR/ES ([`montecarlo`]) and the liquidity
//! ladder, base against stressed ([`ladder`]).

pub mod calendar;
pub mod exposure;
mod fasthash;
pub mod flows;
pub mod fx;
pub mod history;
pub mod kpi;
pub mod ladder;
pub mod limits;
pub mod model;
pub mod montecarlo;
pub mod overview;
pub mod performance;
pub mod period;
pub mod presets;
pub mod returns;
pub mod scenario;
pub mod scenario_run;
pub mod schema;
pub mod stats;
pub mod trading;

pub use model::Dataset;
