//! `ballast-workflows`: each thing Ballast does, written once and called by both the desktop
//! app and the `ballast` CLI: create the demo workspace, sync from Postgres, summarise
//! portfolios, draw charts. It wires the pure engine to the edges (storage, Postgres, charts,
//! secrets) and owns no state of its own.

pub mod conventions;
pub mod nav_csv;
pub mod outbox;
pub mod performance;
pub mod scenarios;
pub mod sync;

use std::path::Path;

use ballast_charts::{ChartError, Format, HeatmapCell};
use ballast_engine::calendar;
use ballast_engine::kpi::KpiConfig;
use ballast_engine::overview::{portfolio_overview, PortfolioOverview};
use ballast_engine::period::Range;
use ballast_engine::returns::{self, ReturnsError};
use ballast_pg::{ConnectSpec, PgError};
use ballast_sample_data::DemoConfig;
use ballast_secrets::SecretError;
use ballast_storage::{SourceInfo, StorageError, Workspace};
use chrono::Utc;
use thiserror::Error;

pub use ballast_storage::Progress as WriteProgress;
pub use outbox::annotate;
pub use sync::{freshness, sync, Freshness, SyncOptions, SyncProgress, SyncSummary};

#[derive(Debug, Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Postgres(#[from] PgError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Chart(#[from] ChartError),
    #[error("portfolio {code}: {source}")]
    Returns {
        code: String,
        #[source]
        source: ReturnsError,
    },
    #[error("no portfolio with code {0} in the workspace")]
    UnknownPortfolio(String),
    #[error("no {0} in the workspace")]
    UnknownSubject(String),
    #[error(transparent)]
    Csv(#[from] nav_csv::CsvError),
    #[error(transparent)]
    Range(#[from] ballast_engine::period::RangeError),
    #[error("the workspace has no data yet: run a sync or create the demo")]
    EmptyWorkspace,
    #[error("{0}")]
    Invalid(String),
    #[error("the sync was cancelled; the workspace keeps its previous data")]
    Cancelled,
    #[error("the shared table {table} does not match what Ballast mirrors: {problem}")]
    SchemaDrift { table: String, problem: String },
    #[error("verification failed for {table}: {detail}")]
    Verification { table: String, detail: String },
    #[error("no scenario named '{name}' (built-in presets: {presets}; saved: {saved})")]
    UnknownScenario {
        name: String,
        presets: String,
        saved: String,
    },
    #[error("scenario '{name}' has no version {version} (the latest is {latest})")]
    UnknownScenarioVersion {
        name: String,
        version: i32,
        latest: i32,
    },
    #[error("scenario {name}: {source}")]
    Scenario {
        name: String,
        #[source]
        source: ballast_engine::scenario::ScenarioError,
    },
    #[error("{}:{line}:{column}: not a valid scenario definition: {message}", path.display())]
    ScenarioFile {
        path: std::path::PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("Monte Carlo of {code}: {source}")]
    MonteCarlo {
        code: String,
        #[source]
        source: ballast_engine::montecarlo::MonteCarloError,
    },
    #[error("liquidity ladder of {code}: {source}")]
    Ladder {
        code: String,
        #[source]
        source: ballast_engine::ladder::LadderError,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, WorkflowError>;

/// The keychain name of the Postgres password for the app's connection.
pub const POSTGRES_SECRET: &str = "postgres:default";
/// The settings key of the Postgres URL (never with a password).
pub const POSTGRES_URL_SETTING: &str = "postgres.url";

/// Replace the workspace's data with the generated demo dataset.
pub fn demo_init(
    workspace: &Workspace,
    config: &DemoConfig,
    progress: &mut dyn FnMut(WriteProgress),
) -> Result<()> {
    let data = ballast_sample_data::generate(config);
    let source = SourceInfo {
        kind: "demo".into(),
        label: format!("demo dataset (seed {})", config.seed),
        loaded_at: Utc::now(),
    };
    workspace.replace_dataset(&data, &source, progress)?;
    Ok(())
}

/// Open the workspace at `path`, creating the demo dataset when it has no data yet.
pub fn open_or_create_demo(path: &Path) -> Result<Workspace> {
    let workspace = Workspace::open(path)?;
    if workspace.is_empty()? {
        demo_init(&workspace, &DemoConfig::default(), &mut |_| {})?;
    }
    Ok(workspace)
}

/// The connection the app's Settings describe: the stored URL and the keychain password.
pub fn saved_connection(workspace: &Workspace) -> Result<Option<ConnectSpec>> {
    let Some(url) = workspace.setting(POSTGRES_URL_SETTING)? else {
        return Ok(None);
    };
    let password = match ballast_secrets::get(POSTGRES_SECRET) {
        Ok(pw) => Some(pw),
        Err(SecretError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    Ok(Some(ConnectSpec::new(&url, password)))
}

/// Save the app's connection: the URL (password stripped) in the workspace, the password in
/// the keychain. An empty password removes the stored one.
pub fn save_connection(
    workspace: &Workspace,
    url: &str,
    password: Option<&str>,
) -> Result<ConnectSpec> {
    let spec = ConnectSpec::new(url, password.filter(|p| !p.is_empty()).map(str::to_string));
    match spec.password() {
        Some(pw) => ballast_secrets::set(POSTGRES_SECRET, pw)?,
        None => match ballast_secrets::delete(POSTGRES_SECRET) {
            Ok(()) | Err(SecretError::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        },
    }
    workspace.set_setting(POSTGRES_URL_SETTING, spec.display_url())?;
    Ok(spec)
}

/// Overview of every portfolio (or the one with `code`).
pub fn overviews(
    workspace: &Workspace,
    code: Option<&str>,
    config: KpiConfig,
) -> Result<Vec<PortfolioOverview>> {
    let portfolios = workspace.portfolios()?;
    if portfolios.is_empty() {
        return Err(WorkflowError::EmptyWorkspace);
    }
    let selected: Vec<_> = portfolios
        .iter()
        .filter(|p| code.is_none_or(|c| p.code == c))
        .collect();
    if let (Some(code), true) = (code, selected.is_empty()) {
        return Err(WorkflowError::UnknownPortfolio(code.to_string()));
    }
    selected
        .into_iter()
        .map(|p| {
            let history = workspace.nav_history(&p.id)?;
            let mut overview = portfolio_overview(p, &history, config).map_err(|source| {
                WorkflowError::Returns {
                    code: p.code.clone(),
                    source,
                }
            })?;
            // Limits are checked on the whole catalogue since inception, like the card's KPIs.
            let subject = performance::Subject::Portfolio(p.code.clone());
            overview.limits =
                performance::performance(workspace, &subject, Range::SinceInception, config)?
                    .performance
                    .limits;
            Ok(overview)
        })
        .collect()
}

/// Draw a portfolio's monthly-returns heatmap; SVG text is returned, files are written to `out`.
pub fn monthly_returns_chart(
    workspace: &Workspace,
    code: &str,
    format: Format,
    out: Option<&Path>,
) -> Result<(String, Vec<HeatmapCell>)> {
    let portfolio = workspace
        .portfolios()?
        .into_iter()
        .find(|p| p.code == code)
        .ok_or_else(|| WorkflowError::UnknownPortfolio(code.to_string()))?;
    let history = workspace.nav_history(&portfolio.id)?;
    let series = returns::daily_returns(&history).map_err(|source| WorkflowError::Returns {
        code: code.to_string(),
        source,
    })?;
    let months = calendar::monthly_returns(&series);
    let title = format!(
        "{} — monthly returns ({})",
        portfolio.code, portfolio.base_currency
    );
    Ok(ballast_charts::monthly_returns_heatmap(
        &title, &months, format, out,
    )?)
}
