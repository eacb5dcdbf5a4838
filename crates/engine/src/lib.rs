//! `ballast-engine`: the pure heart of Ballast.
//!
//! The domain model ([`model`]), daily returns from NAV and flows ([`returns`]), the KPI
//! catalogue ([`kpi`]) and monthly aggregation for heatmaps ([`calendar`]). No IO lives here:
//! no database, no network, no files, no async runtime. Every edge crate (storage, Postgres,
//! charts, secrets, the app, the CLI) depends on this one, never the other way round, and
//! `Cargo.toml` keeps it that way.

pub mod calendar;
pub mod kpi;
pub mod model;
pub mod overview;
pub mod returns;

pub use model::Dataset;
