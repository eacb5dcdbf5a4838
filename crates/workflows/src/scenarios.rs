//! The scenario lab and the liquidity ladder over the workspace: the built-in presets and the
//! analyst's own scenarios (saved and versioned in the workspace file, imported from and
//! exported to JSON files), a scenario run on a portfolio or several side by side, and the
//! ladder of a portfolio in the base case and under a scenario.
//!
//! A portfolio's book is read as of its last NAV date: the positions on that date (market
//! values in the base currency), every asset, FX fixing and close, the sector coefficients,
//! its risk limits and NAV history, its fund flows and dealing terms.
//!
//! A scenario is named by a preset's key (`rates_up_200`) or a saved name, optionally with a
//! version (`my-stress@2`); a saved scenario may not take a preset's key as its name, so a
//! name always means one thing. Every run is recorded in `local_scenario_runs`.

use std::path::Path;

use ballast_engine::fx::FxTable;
use ballast_engine::history::PriceHistory;
use ballast_engine::ladder::{self, BucketDelta, Ladder, LadderConfig, LadderError, LadderInputs};
use ballast_engine::model::{
    Asset, FundFlow, LiquidityTerms, NavPoint, Portfolio, Position, RiskLimit, SectorCoefficient,
};
use ballast_engine::presets::{builtin_scenarios, Preset};
use ballast_engine::scenario::{ScenarioDefinition, ScenarioError, Shock};
use ballast_engine::scenario_run::{ScenarioBook, ScenarioInputs, ScenarioResult};
use ballast_storage::{SavedScenario, Workspace};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::{Result, WorkflowError};

/// Most scenarios compared side by side.
pub const MAX_COMPARE: usize = 5;

/// Where a scenario comes from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ScenarioSource {
    /// A built-in preset (`presets::builtin_scenarios`).
    Preset,
    /// The analyst's own, saved in the workspace.
    Saved {
        id: String,
        version: i32,
        created_at: DateTime<Utc>,
    },
}

/// A scenario found by name: what it is called, where it comes from, its definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NamedScenario {
    /// The preset's key or the saved name.
    pub key: String,
    pub source: ScenarioSource,
    pub definition: ScenarioDefinition,
}

/// One line of the library: a preset or a saved name (its latest version).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LibraryEntry {
    pub key: String,
    /// `preset` or `saved`.
    pub kind: &'static str,
    pub title: String,
    pub description: String,
    pub shocks: usize,
    /// Saved only: the latest version and how many there are.
    pub version: Option<i32>,
    pub versions: Option<i64>,
    pub created_at: Option<DateTime<Utc>>,
}

/// One scenario run on one portfolio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioRun {
    pub portfolio: String,
    pub scenario: String,
    pub source: ScenarioSource,
    /// The shocks that ran, in order (a trace's `shock` number indexes them from 1).
    pub shocks: Vec<Shock>,
    pub result: ScenarioResult,
}

/// A portfolio's liquidity ladder, and under a scenario when one is given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LadderReport {
    pub portfolio: String,
    pub base_currency: String,
    pub as_of: NaiveDate,
    pub nav: Decimal,
    pub config: LadderConfig,
    pub base: Ladder,
    pub scenario: Option<String>,
    pub stressed: Option<Ladder>,
    /// Stressed minus base per bucket.
    pub delta: Option<Vec<BucketDelta>>,
}

/// One portfolio's book as of its last NAV date, owned; borrowed by the engine's inputs.
struct Book {
    portfolio: Portfolio,
    as_of: NaiveDate,
    nav: Decimal,
    positions: Vec<Position>,
    assets: Vec<Asset>,
    fx: FxTable,
    prices: PriceHistory,
    coefficients: Vec<SectorCoefficient>,
    limits: Vec<RiskLimit>,
    history: Vec<NavPoint>,
}

impl Book {
    fn load(workspace: &Workspace, code: &str) -> Result<Book> {
        let portfolio = find_portfolio(workspace, code)?;
        let history = workspace.nav_history(&portfolio.id)?;
        let Some(last) = history.last() else {
            return Err(WorkflowError::Invalid(format!(
                "portfolio {code} has no NAV history: a scenario needs a NAV and positions"
            )));
        };
        let (as_of, nav) = (last.date, last.nav);
        Ok(Book {
            positions: workspace.positions_on(&portfolio.id, as_of)?,
            assets: workspace.assets()?,
            fx: FxTable::new(&workspace.fx_rates()?),
            // The held assets' history is all a scenario can move (and its range is the one a
            // replay must fall inside); reading every asset's would be most of the load.
            prices: PriceHistory::new(&workspace.prices_held(&portfolio.id, as_of)?),
            coefficients: workspace.sector_coefficients()?,
            limits: workspace.risk_limits(&portfolio.id)?,
            portfolio,
            as_of,
            nav,
            history,
        })
    }

    fn inputs(&self) -> ScenarioInputs<'_> {
        ScenarioInputs {
            as_of: self.as_of,
            base_currency: &self.portfolio.base_currency,
            nav: self.nav,
            positions: &self.positions,
            assets: &self.assets,
            fx: &self.fx,
            prices: &self.prices,
            sector_coefficients: &self.coefficients,
            risk_limits: &self.limits,
            nav_history: &self.history,
            kpi_hook: None,
        }
    }

    fn presets(&self) -> Vec<Preset> {
        builtin_scenarios(self.as_of, self.prices.range())
    }
}

fn find_portfolio(workspace: &Workspace, code: &str) -> Result<Portfolio> {
    let portfolios = workspace.portfolios()?;
    if portfolios.is_empty() {
        return Err(WorkflowError::EmptyWorkspace);
    }
    portfolios
        .into_iter()
        .find(|p| p.code == code)
        .ok_or_else(|| WorkflowError::UnknownPortfolio(code.to_string()))
}

/// The presets as of the workspace's last NAV date (today without data) over its price
/// history: what `list` and `show` offer when no portfolio is named.
fn workspace_presets(workspace: &Workspace) -> Result<Vec<Preset>> {
    let as_of = workspace
        .last_nav_date()?
        .unwrap_or_else(|| Utc::now().date_naive());
    Ok(builtin_scenarios(as_of, workspace.price_range()?))
}

/// `name@3` → (`name`, 3); anything else is a plain name.
fn split_version(name: &str) -> (&str, Option<i32>) {
    match name.rsplit_once('@') {
        Some((base, v)) if !base.is_empty() => match v.parse::<i32>() {
            Ok(v) if v > 0 => (base, Some(v)),
            _ => (name, None),
        },
        _ => (name, None),
    }
}

fn parse_saved(saved: &SavedScenario) -> Result<ScenarioDefinition> {
    serde_json::from_str(&saved.definition).map_err(|e| {
        WorkflowError::Invalid(format!(
            "saved scenario '{}' version {} cannot be read: {e}",
            saved.name, saved.version
        ))
    })
}

fn unknown(workspace: &Workspace, presets: &[Preset], name: &str) -> Result<WorkflowError> {
    let saved: Vec<String> = workspace.scenarios()?.into_iter().map(|s| s.name).collect();
    let keys: Vec<&str> = presets.iter().map(|p| p.key.as_str()).collect();
    Ok(WorkflowError::UnknownScenario {
        name: name.to_string(),
        presets: keys.join(", "),
        saved: if saved.is_empty() {
            "none".into()
        } else {
            saved.join(", ")
        },
    })
}

/// Find a scenario by preset key or saved name (`name@N`, or `version`, for a given version).
fn resolve(
    workspace: &Workspace,
    presets: &[Preset],
    name: &str,
    version: Option<i32>,
) -> Result<NamedScenario> {
    let (base, at) = match version {
        Some(v) => (name, Some(v)),
        None => split_version(name),
    };
    if at.is_none() {
        if let Some(p) = presets.iter().find(|p| p.key == base) {
            return Ok(NamedScenario {
                key: p.key.clone(),
                source: ScenarioSource::Preset,
                definition: p.definition.clone(),
            });
        }
    }
    match workspace.scenario(base, at)? {
        Some(saved) => Ok(NamedScenario {
            key: saved.name.clone(),
            definition: parse_saved(&saved)?,
            source: ScenarioSource::Saved {
                id: saved.id,
                version: saved.version,
                created_at: saved.created_at,
            },
        }),
        None => match (at, workspace.scenario(base, None)?) {
            (Some(v), Some(latest)) => Err(WorkflowError::UnknownScenarioVersion {
                name: base.to_string(),
                version: v,
                latest: latest.version,
            }),
            _ => Err(unknown(workspace, presets, name)?),
        },
    }
}

/// The library: every preset (as of the workspace's last NAV date), then every saved name.
pub fn list(workspace: &Workspace) -> Result<Vec<LibraryEntry>> {
    let mut out: Vec<LibraryEntry> = workspace_presets(workspace)?
        .into_iter()
        .map(|p| LibraryEntry {
            key: p.key,
            kind: "preset",
            title: p.definition.name,
            description: p.definition.description,
            shocks: p.definition.shocks.len(),
            version: None,
            versions: None,
            created_at: None,
        })
        .collect();
    for summary in workspace.scenarios()? {
        let saved = workspace
            .scenario(&summary.name, Some(summary.latest_version))?
            .ok_or_else(|| WorkflowError::Invalid(format!("scenario {} vanished", summary.name)))?;
        let definition = parse_saved(&saved)?;
        out.push(LibraryEntry {
            key: summary.name,
            kind: "saved",
            title: definition.name,
            description: definition.description,
            shocks: definition.shocks.len(),
            version: Some(summary.latest_version),
            versions: Some(summary.versions),
            created_at: Some(summary.created_at),
        });
    }
    Ok(out)
}

/// One scenario's definition: a preset, or a saved name's latest version (or `version`).
pub fn show(workspace: &Workspace, name: &str, version: Option<i32>) -> Result<NamedScenario> {
    resolve(workspace, &workspace_presets(workspace)?, name, version)
}

/// Read a definition from a JSON file, check its shape and save it as a new version of its
/// name (or of `name`, which then replaces the file's).
pub fn import(workspace: &Workspace, path: &Path, name: Option<&str>) -> Result<SavedScenario> {
    let text = std::fs::read_to_string(path).map_err(|source| WorkflowError::Io {
        context: format!("reading {}", path.display()),
        source,
    })?;
    save_text(workspace, &text, name, path)
}

/// Parse a definition from JSON `text`; errors name `origin` (a file, or the app's builder)
/// with the line and column.
fn parse_definition(text: &str, origin: &Path) -> Result<ScenarioDefinition> {
    serde_json::from_str(text).map_err(|e| WorkflowError::ScenarioFile {
        path: origin.to_path_buf(),
        line: e.line(),
        column: e.column(),
        message: explain(text, &e),
    })
}

/// Check a definition given as JSON `text` and save it as a new version of its name (or of
/// `name`, which then replaces the text's).
pub fn save_text(
    workspace: &Workspace,
    text: &str,
    name: Option<&str>,
    origin: &Path,
) -> Result<SavedScenario> {
    let mut definition = parse_definition(text, origin)?;
    if let Some(name) = name {
        definition.name = name.to_string();
    }
    definition.name = definition.name.trim().to_string();
    if definition.name.is_empty() {
        return Err(WorkflowError::Invalid(format!(
            "{}: the scenario has no name (give it one in the file or with --name)",
            origin.display()
        )));
    }
    if split_version(&definition.name).1.is_some() {
        return Err(WorkflowError::Invalid(format!(
            "{}: the name '{}' ends in @<number>, which reads as a version; choose another name",
            origin.display(),
            definition.name
        )));
    }
    if workspace_presets(workspace)?
        .iter()
        .any(|p| p.key == definition.name)
    {
        return Err(WorkflowError::Invalid(format!(
            "{}: '{}' is the key of a built-in preset; choose another name",
            origin.display(),
            definition.name
        )));
    }
    definition
        .validate_shape()
        .map_err(|source| WorkflowError::Scenario {
            name: format!("{} ({})", definition.name, origin.display()),
            source,
        })?;
    let json = serde_json::to_string(&definition).expect("a definition serialises");
    Ok(workspace.save_scenario(&definition.name, &json)?)
}

/// Check a definition while the analyst builds it: its shape, then against portfolio `code`'s
/// book (unknown assets and currencies, replay windows, prices pushed below zero), returning
/// what it would do. Nothing is recorded.
pub fn check(workspace: &Workspace, code: &str, text: &str) -> Result<ScenarioResult> {
    let definition = parse_definition(text, Path::new("the scenario"))?;
    let label = if definition.name.trim().is_empty() {
        "the scenario".to_string()
    } else {
        definition.name.clone()
    };
    definition
        .validate_shape()
        .map_err(|source| WorkflowError::Scenario {
            name: label.clone(),
            source,
        })?;
    let book = Book::load(workspace, code)?;
    let engine = ScenarioBook::new(book.inputs()).map_err(book_error(code))?;
    engine
        .run(&definition)
        .map_err(|source| WorkflowError::Scenario {
            name: label,
            source,
        })
}

/// The serde error without its location (the caller prints it), naming the shock when one
/// shock of a well-formed file is the problem (serde reports those at the end of the list).
fn explain(text: &str, e: &serde_json::Error) -> String {
    let message = strip_location(e);
    if e.is_syntax() || e.is_eof() {
        return message;
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return message;
    };
    let shocks = value.get("shocks").and_then(|s| s.as_array());
    for (i, shock) in shocks.into_iter().flatten().enumerate() {
        if let Err(e) = serde_json::from_value::<ballast_engine::scenario::Shock>(shock.clone()) {
            return format!("shock #{}: {e}", i + 1);
        }
    }
    message
}

fn strip_location(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

/// Write a scenario's definition (a preset, or a saved name's latest version or `version`)
/// to `out` as pretty JSON.
pub fn export(
    workspace: &Workspace,
    name: &str,
    version: Option<i32>,
    out: &Path,
) -> Result<NamedScenario> {
    let scenario = show(workspace, name, version)?;
    let mut json = serde_json::to_string_pretty(&scenario.definition).expect("serialises");
    json.push('\n');
    std::fs::write(out, json).map_err(|source| WorkflowError::Io {
        context: format!("writing {}", out.display()),
        source,
    })?;
    Ok(scenario)
}

/// Delete every version of a saved scenario; the number of versions deleted.
pub fn delete(workspace: &Workspace, name: &str) -> Result<usize> {
    match workspace.delete_scenario(name)? {
        0 => Err(unknown(workspace, &workspace_presets(workspace)?, name)?),
        n => Ok(n),
    }
}

/// Copy a scenario (a preset or a saved one's latest version) to a new saved name.
pub fn duplicate(workspace: &Workspace, from: &str, to: &str) -> Result<SavedScenario> {
    let presets = workspace_presets(workspace)?;
    let source = resolve(workspace, &presets, from, None)?;
    if presets.iter().any(|p| p.key == to) || split_version(to).1.is_some() || to.trim().is_empty()
    {
        return Err(WorkflowError::Invalid(format!(
            "'{to}' cannot name a saved scenario (empty, a preset's key, or ending in @<number>)"
        )));
    }
    if workspace.scenario(to, None)?.is_some() {
        return Err(WorkflowError::Invalid(format!(
            "a scenario named '{to}' already exists"
        )));
    }
    let definition = ScenarioDefinition {
        name: to.to_string(),
        ..source.definition
    };
    let json = serde_json::to_string(&definition).expect("serialises");
    Ok(workspace.save_scenario(to, &json)?)
}

fn run_on(
    workspace: &Workspace,
    book: &Book,
    engine: &ScenarioBook<'_>,
    scenario: NamedScenario,
) -> Result<ScenarioRun> {
    let result = engine
        .run(&scenario.definition)
        .map_err(|source| WorkflowError::Scenario {
            name: scenario.key.clone(),
            source,
        })?;
    record(workspace, book, scenario, result)
}

/// Record a run in the workspace's history.
fn record(
    workspace: &Workspace,
    book: &Book,
    scenario: NamedScenario,
    result: ScenarioResult,
) -> Result<ScenarioRun> {
    let (id, version) = match &scenario.source {
        ScenarioSource::Saved { id, version, .. } => (Some(id.as_str()), Some(*version)),
        ScenarioSource::Preset => (None, None),
    };
    let json = serde_json::to_string(&result).expect("a result serialises");
    workspace.record_scenario_run(id, &scenario.key, version, &book.portfolio.id, &json)?;
    Ok(ScenarioRun {
        portfolio: book.portfolio.code.clone(),
        scenario: scenario.key,
        source: scenario.source,
        shocks: scenario.definition.shocks,
        result,
    })
}

fn book_error(code: &str) -> impl Fn(ScenarioError) -> WorkflowError + '_ {
    move |source| WorkflowError::Scenario {
        name: format!("portfolio {code}"),
        source,
    }
}

/// Run a scenario on a portfolio and queue its publication to the shared database: the run is
/// recorded and the outbox entry written in one transaction; `ballast outbox drain` (or the
/// app after a sync) delivers it. Saved scenarios are published under `author/name`.
pub fn publish(
    workspace: &Workspace,
    code: &str,
    name: &str,
) -> Result<ballast_storage::OutboxItem> {
    let book = Book::load(workspace, code)?;
    let scenario = resolve(workspace, &book.presets(), name, None)?;
    let engine = ScenarioBook::new(book.inputs()).map_err(book_error(code))?;
    let result = engine
        .run(&scenario.definition)
        .map_err(|source| WorkflowError::Scenario {
            name: scenario.key.clone(),
            source,
        })?;
    let author = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "laptop".to_string());
    let (published_name, version) = match &scenario.source {
        ScenarioSource::Saved { version, .. } => (format!("{author}/{}", scenario.key), *version),
        ScenarioSource::Preset => (scenario.key.clone(), 1),
    };
    let json = serde_json::to_string(&result).expect("a result serialises");
    let payload = |_run: &str| {
        serde_json::json!({
            "scenario": {
                "name": published_name,
                "author": author,
                "version": version,
                "shocks": scenario.definition.shocks,
            },
            "results": [{
                "portfolio_id": book.portfolio.id,
                "as_of": result.as_of.to_string(),
                "pnl": result.pnl.to_string(),
                "nav_after": result.nav_after.to_string(),
                "detail": {
                    "pnl_pct": result.pnl_pct,
                    "redeemed": result.redeemed.to_string(),
                    "newly_breached": result.newly_breached,
                    "positions": result.positions.len(),
                },
            }],
        })
        .to_string()
    };
    let version = match &scenario.source {
        ScenarioSource::Saved { version, .. } => Some(*version),
        ScenarioSource::Preset => None,
    };
    Ok(workspace.publish_scenario_run(
        &scenario.key,
        version,
        &book.portfolio.id,
        &json,
        payload,
    )?)
}

/// Monte Carlo VaR and expected shortfall of a portfolio's positions as of its last NAV date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonteCarloReport {
    pub portfolio: String,
    pub base_currency: String,
    pub as_of: NaiveDate,
    pub nav: Decimal,
    pub result: ballast_engine::montecarlo::MonteCarloResult,
    /// Positions left out because their asset has no price history (cash, most often),
    /// treated as riskless: `symbol (value)`.
    pub riskless: Vec<String>,
}

/// Simulate the portfolio's P/L over `config.horizon_days` from the covariance of its assets'
/// daily log returns (or by bootstrapping whole days), with `config.seed` so a run repeats.
pub fn monte_carlo(
    workspace: &Workspace,
    code: &str,
    config: ballast_engine::montecarlo::MonteCarloConfig,
) -> Result<MonteCarloReport> {
    use ballast_engine::montecarlo::{monte_carlo_var, ReturnMatrix};
    let book = Book::load(workspace, code)?;
    let mc_error = |source| WorkflowError::MonteCarlo {
        code: code.to_string(),
        source,
    };
    let mut exposure: std::collections::BTreeMap<&str, Decimal> = Default::default();
    let mut riskless = Vec::new();
    for p in &book.positions {
        if book.prices.closes(&p.asset_id).is_empty() {
            let symbol = book
                .assets
                .iter()
                .find(|a| a.id == p.asset_id)
                .map_or(p.asset_id.as_str(), |a| a.symbol.as_str());
            riskless.push(format!("{symbol} ({})", p.market_value));
        } else {
            *exposure.entry(p.asset_id.as_str()).or_default() += p.market_value;
        }
    }
    let ids: Vec<String> = exposure.keys().map(|k| k.to_string()).collect();
    let values: Vec<Decimal> = exposure.values().copied().collect();
    let returns = ReturnMatrix::from_history(&book.prices, &ids).map_err(mc_error)?;
    let result = monte_carlo_var(&returns, &values, book.nav, config).map_err(mc_error)?;
    Ok(MonteCarloReport {
        portfolio: book.portfolio.code.clone(),
        base_currency: book.portfolio.base_currency.clone(),
        as_of: book.as_of,
        nav: book.nav,
        result,
        riskless,
    })
}

/// Run one scenario on a portfolio as of its last NAV date, and record the run.
pub fn run(workspace: &Workspace, code: &str, name: &str) -> Result<ScenarioRun> {
    let book = Book::load(workspace, code)?;
    let scenario = resolve(workspace, &book.presets(), name, None)?;
    let engine = ScenarioBook::new(book.inputs()).map_err(book_error(code))?;
    run_on(workspace, &book, &engine, scenario)
}

/// Run up to [`MAX_COMPARE`] scenarios on one portfolio side by side (the book is indexed
/// once), in the order given.
pub fn compare(workspace: &Workspace, code: &str, names: &[String]) -> Result<Vec<ScenarioRun>> {
    if names.is_empty() || names.len() > MAX_COMPARE {
        return Err(WorkflowError::Invalid(format!(
            "compare takes 1 to {MAX_COMPARE} scenarios, got {}",
            names.len()
        )));
    }
    let book = Book::load(workspace, code)?;
    let presets = book.presets();
    // Resolve them all first, so a typo in the last name runs (and records) nothing.
    let scenarios = names
        .iter()
        .map(|n| resolve(workspace, &presets, n, None))
        .collect::<Result<Vec<_>>>()?;
    let engine = ScenarioBook::new(book.inputs()).map_err(book_error(code))?;
    let definitions: Vec<ScenarioDefinition> =
        scenarios.iter().map(|s| s.definition.clone()).collect();
    let results = engine.run_all(&definitions);
    scenarios
        .into_iter()
        .zip(results)
        .map(|(s, result)| {
            let result = result.map_err(|source| WorkflowError::Scenario {
                name: s.key.clone(),
                source,
            })?;
            record(workspace, &book, s, result)
        })
        .collect()
}

fn ladder_error(code: &str) -> impl Fn(LadderError) -> WorkflowError + '_ {
    move |source| WorkflowError::Ladder {
        code: code.to_string(),
        source,
    }
}

fn ladder_setting(code: &str) -> String {
    format!("ladder.{code}")
}

/// A portfolio's ladder configuration: its saved buckets and participation rate over the
/// defaults (T+1, 7, 30, 90, 365; 20% of average daily volume).
pub fn ladder_config(workspace: &Workspace, code: &str) -> Result<LadderConfig> {
    let mut config = LadderConfig::default();
    if let Some(text) = workspace.setting(&ladder_setting(code))? {
        let saved: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        if let Some(buckets) = saved
            .get("buckets")
            .and_then(|b| serde_json::from_value(b.clone()).ok())
        {
            config.buckets = buckets;
            // One cost per bucket plus beyond: stretch or cut the defaults to fit.
            let last = *config.cost_bp.last().expect("default costs");
            config.cost_bp.resize(config.buckets.len() + 1, last);
        }
        if let Some(p) = saved
            .get("participation")
            .and_then(|p| serde_json::from_value(p.clone()).ok())
        {
            config.participation = p;
        }
    }
    Ok(config)
}

/// Save a portfolio's ladder buckets (days, strictly increasing, each ≥ 1) and/or participation
/// rate (a share of average daily volume, in (0, 1]); refuses anything else with the reason.
pub fn set_ladder_config(
    workspace: &Workspace,
    code: &str,
    buckets: Option<Vec<u32>>,
    participation: Option<Decimal>,
) -> Result<LadderConfig> {
    let portfolio = find_portfolio(workspace, code)?;
    let current = ladder_config(workspace, &portfolio.code)?;
    let buckets = buckets.unwrap_or(current.buckets);
    let participation = participation.unwrap_or(current.participation);
    if buckets.is_empty() || buckets[0] < 1 || buckets.windows(2).any(|w| w[0] >= w[1]) {
        return Err(WorkflowError::Invalid(format!(
            "ladder buckets {buckets:?}: give days, each at least 1, strictly increasing (e.g. 1,7,30,90,365)"
        )));
    }
    if participation <= Decimal::ZERO || participation > Decimal::ONE {
        return Err(WorkflowError::Invalid(format!(
            "participation {participation}: a share of average daily volume above 0 and at most 1 (e.g. 0.2)"
        )));
    }
    workspace.set_setting(
        &ladder_setting(&portfolio.code),
        &serde_json::json!({"buckets": buckets, "participation": participation}).to_string(),
    )?;
    ladder_config(workspace, &portfolio.code)
}

/// A portfolio's liquidity ladder as of its last NAV date with the default configuration;
/// with a scenario, also the ladder after it (shocked values, its redemptions) and the
/// difference per bucket. A scenario run here is recorded like any other.
pub fn ladder(workspace: &Workspace, code: &str, scenario: Option<&str>) -> Result<LadderReport> {
    let book = Book::load(workspace, code)?;
    let flows: Vec<FundFlow> = workspace.fund_flows(&book.portfolio.id)?;
    let terms: Option<LiquidityTerms> = workspace.liquidity_terms(&book.portfolio.id)?;
    let inputs = LadderInputs {
        as_of: book.as_of,
        nav: book.nav,
        positions: &book.positions,
        assets: &book.assets,
        fund_flows: &flows,
        terms: terms.as_ref(),
    };
    let config = ladder_config(workspace, &book.portfolio.code)?;
    let (base, key, stressed, delta) = match scenario {
        None => (
            ladder::liquidity_ladder(&inputs, &config, &[]).map_err(ladder_error(code))?,
            None,
            None,
            None,
        ),
        Some(name) => {
            let named = resolve(workspace, &book.presets(), name, None)?;
            let engine = ScenarioBook::new(book.inputs()).map_err(book_error(code))?;
            let run = run_on(workspace, &book, &engine, named)?;
            let cmp = ladder::base_vs_stressed(&inputs, &config, &run.result)
                .map_err(ladder_error(code))?;
            (
                cmp.base,
                Some(run.scenario),
                Some(cmp.stressed),
                Some(cmp.delta),
            )
        }
    };
    Ok(LadderReport {
        portfolio: book.portfolio.code.clone(),
        base_currency: book.portfolio.base_currency.clone(),
        as_of: book.as_of,
        nav: book.nav,
        config,
        base,
        scenario: key,
        stressed,
        delta,
    })
}

/// The ladder drawn: cumulative capacity against cumulative redemptions per bucket, as shares
/// of NAV, base and (with a scenario) stressed.
pub fn ladder_chart(
    report: &LadderReport,
    format: ballast_charts::Format,
    out: Option<&Path>,
) -> Result<String> {
    use ballast_engine::returns::decimal_to_f64;
    let share = |value: Decimal, nav: Decimal| {
        if nav > Decimal::ZERO {
            decimal_to_f64(value) / decimal_to_f64(nav)
        } else {
            0.0
        }
    };
    let bars: Vec<ballast_charts::LadderBar<'_>> = report
        .base
        .buckets
        .iter()
        .enumerate()
        .map(|(i, b)| ballast_charts::LadderBar {
            label: &b.label,
            capacity: share(b.cum_capacity, report.base.nav),
            demand: share(b.cum_demand, report.base.nav),
            stressed: report.stressed.as_ref().and_then(|s| {
                s.buckets
                    .get(i)
                    .map(|sb| (share(sb.cum_capacity, s.nav), share(sb.cum_demand, s.nav)))
            }),
        })
        .collect();
    let title = match &report.scenario {
        Some(name) => format!("{} — liquidity ladder, base vs {name}", report.portfolio),
        None => format!("{} — liquidity ladder", report.portfolio),
    };
    Ok(ballast_charts::ladder_chart(&title, &bars, format, out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_versions() {
        assert_eq!(split_version("a@2"), ("a", Some(2)));
        assert_eq!(split_version("a@x"), ("a@x", None));
        assert_eq!(split_version("a@0"), ("a@0", None));
        assert_eq!(split_version("@2"), ("@2", None));
        assert_eq!(split_version("rates_up_100"), ("rates_up_100", None));
    }
}
