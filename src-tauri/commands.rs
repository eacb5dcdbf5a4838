//! The IPC commands. Each is a few lines: get the workspace, call a workflow, map to a DTO.
//! Blocking work (DuckDB, the keychain) runs on the blocking pool, never on the UI thread.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ballast_charts::Format;
use ballast_engine::kpi::KpiConfig;
use ballast_engine::period::Range;
use ballast_storage::Workspace;
use ballast_workflows as workflows;
use ballast_workflows::performance::Subject;
use tauri::ipc::Channel;
use tauri::State;

use crate::dto::*;
use crate::error::{CommandError, ErrorKind};
use crate::format;
use crate::AppState;

type CommandResult<T> = Result<T, CommandError>;

/// Run blocking workspace work off the async executor.
async fn blocking<T: Send + 'static>(
    workspace: Arc<Workspace>,
    work: impl FnOnce(&Workspace) -> Result<T, workflows::WorkflowError> + Send + 'static,
) -> CommandResult<T> {
    tokio::task::spawn_blocking(move || work(&workspace))
        .await
        .map_err(CommandError::internal)?
        .map_err(CommandError::from)
}

#[tauri::command]
#[specta::specta]
pub async fn overview(state: State<'_, AppState>) -> CommandResult<OverviewDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, |ws| {
        let overviews = workflows::overviews(ws, None, KpiConfig::default())?;
        Ok(OverviewDto {
            source: ws.source()?.as_ref().map(SourceDto::from),
            portfolios: overviews.iter().map(PortfolioCardDto::from).collect(),
        })
    })
    .await
}

/// The portfolio codes, in the workspace's order: what a screen needs to offer a choice
/// without computing anything.
#[tauri::command]
#[specta::specta]
pub async fn portfolios(state: State<'_, AppState>) -> CommandResult<Vec<String>> {
    let workspace = state.workspace().await?;
    blocking(workspace, |ws| {
        Ok(ws.portfolios()?.into_iter().map(|p| p.code).collect())
    })
    .await
}

#[tauri::command]
#[specta::specta]
pub async fn monthly_heatmap(
    state: State<'_, AppState>,
    portfolio: String,
) -> CommandResult<HeatmapDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        let (svg, cells) = workflows::monthly_returns_chart(ws, &portfolio, Format::Svg, None)?;
        Ok(HeatmapDto::new(&portfolio, svg, cells))
    })
    .await
}

/// The whole KPI catalogue of one portfolio over a range (`ytd`, `1y`, …, `si`, or
/// `custom:FROM..TO`), with its charts.
#[tauri::command]
#[specta::specta]
pub async fn performance(
    state: State<'_, AppState>,
    portfolio: String,
    range: String,
) -> CommandResult<PerformanceDto> {
    let range =
        Range::parse(&range).map_err(|e| CommandError::new(ErrorKind::Invalid, e.to_string()))?;
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        let started = std::time::Instant::now();
        let subject = Subject::Portfolio(portfolio.clone());
        let report =
            workflows::performance::performance(ws, &subject, range, KpiConfig::default())?;
        let charts =
            workflows::performance::performance_charts(&report, &portfolio, Format::Svg, None)?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(PerformanceDto::new(&portfolio, &report, charts, ms))
    })
    .await
}

/// The Liquidity screen: a portfolio's ladder (the first portfolio when none is named),
/// stressed by a scenario of the library when one is named.
#[tauri::command]
#[specta::specta]
pub async fn liquidity(
    state: State<'_, AppState>,
    portfolio: Option<String>,
    scenario: Option<String>,
) -> CommandResult<LiquidityDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        let portfolios: Vec<String> = ws.portfolios()?.into_iter().map(|p| p.code).collect();
        let code = portfolio
            .or_else(|| portfolios.first().cloned())
            .ok_or(workflows::WorkflowError::EmptyWorkspace)?;
        let report = workflows::scenarios::ladder(ws, &code, scenario.as_deref())?;
        let chart = workflows::scenarios::ladder_chart(&report, Format::Svg, None)?;
        let scenarios = workflows::scenarios::list(ws)?
            .into_iter()
            .map(ScenarioChoiceDto::from)
            .collect();
        Ok(LiquidityDto::new(&report, portfolios, scenarios, chart))
    })
    .await
}

/// The Scenarios screen: up to five scenarios of the library run on one portfolio (the first
/// when none is named; the first two presets when none is chosen), side by side.
#[tauri::command]
#[specta::specta]
pub async fn scenario_compare(
    state: State<'_, AppState>,
    portfolio: Option<String>,
    scenarios: Vec<String>,
) -> CommandResult<ScenarioCompareDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        let started = std::time::Instant::now();
        let portfolios: Vec<String> = ws.portfolios()?.into_iter().map(|p| p.code).collect();
        let code = portfolio
            .or_else(|| portfolios.first().cloned())
            .ok_or(workflows::WorkflowError::EmptyWorkspace)?;
        let library: Vec<ScenarioChoiceDto> = workflows::scenarios::list(ws)?
            .into_iter()
            .map(ScenarioChoiceDto::from)
            .collect();
        let chosen = if scenarios.is_empty() {
            library.iter().take(2).map(|s| s.key.clone()).collect()
        } else {
            scenarios
        };
        let runs = workflows::scenarios::compare(ws, &code, &chosen)?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok(ScenarioCompareDto::new(
            &runs, &chosen, portfolios, library, 20, ms,
        ))
    })
    .await
}

/// Check the definition the builder holds (JSON) against a portfolio, as the analyst types.
#[tauri::command]
#[specta::specta]
pub async fn check_scenario(
    state: State<'_, AppState>,
    portfolio: String,
    definition: String,
) -> CommandResult<ScenarioCheckDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        Ok(
            match workflows::scenarios::check(ws, &portfolio, &definition) {
                Ok(r) => ScenarioCheckDto {
                    valid: true,
                    error: None,
                    preview: Some(format!(
                        "P/L {} ({} of NAV), NAV after {} on {portfolio}",
                        format::money(&r.base_currency, r.pnl),
                        r.pnl_pct.map_or("n/a".to_string(), format::percent),
                        format::money(&r.base_currency, r.nav_after)
                    )),
                },
                Err(
                    e @ (workflows::WorkflowError::Scenario { .. }
                    | workflows::WorkflowError::ScenarioFile { .. }
                    | workflows::WorkflowError::Invalid(_)),
                ) => ScenarioCheckDto {
                    valid: false,
                    error: Some(e.to_string()),
                    preview: None,
                },
                Err(e) => return Err(e),
            },
        )
    })
    .await
}

/// Save the builder's definition (JSON) as a new version of its name.
#[tauri::command]
#[specta::specta]
pub async fn save_scenario(
    state: State<'_, AppState>,
    definition: String,
) -> CommandResult<ScenarioChoiceDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        let saved = workflows::scenarios::save_text(
            ws,
            &definition,
            None,
            std::path::Path::new("the scenario"),
        )?;
        Ok(ScenarioChoiceDto {
            key: saved.name.clone(),
            title: format!("{} (v{})", saved.name, saved.version),
            kind: "saved".into(),
            version: Some(saved.version.max(0) as u32),
            versions: None,
        })
    })
    .await
}

/// Monte Carlo VaR/ES of a portfolio over `horizon_days` (`cholesky` or `bootstrap`).
#[tauri::command]
#[specta::specta]
pub async fn monte_carlo(
    state: State<'_, AppState>,
    portfolio: String,
    horizon_days: u32,
    method: String,
) -> CommandResult<MonteCarloDto> {
    use ballast_engine::montecarlo::{Method, MonteCarloConfig};
    let method = match method.as_str() {
        "cholesky" => Method::Cholesky,
        "bootstrap" => Method::Bootstrap,
        other => {
            return Err(CommandError::new(
                ErrorKind::Invalid,
                format!("unknown method {other}: use cholesky or bootstrap"),
            ))
        }
    };
    let config = MonteCarloConfig {
        horizon_days: horizon_days as usize,
        method,
        ..MonteCarloConfig::default()
    };
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        let report = workflows::scenarios::monte_carlo(ws, &portfolio, config)?;
        Ok(MonteCarloDto::new(&report))
    })
    .await
}

/// Keep a portfolio's ladder buckets (days, e.g. `1,7,30,90,365`) and participation rate
/// (share of average daily volume, e.g. `0.2`).
#[tauri::command]
#[specta::specta]
pub async fn set_ladder_config(
    state: State<'_, AppState>,
    portfolio: String,
    buckets: String,
    participation: String,
) -> CommandResult<()> {
    let invalid = |what: String| CommandError::new(ErrorKind::Invalid, what);
    let buckets = buckets
        .split(',')
        .map(|d| d.trim().parse::<u32>())
        .collect::<Result<Vec<u32>, _>>()
        .map_err(|_| {
            invalid(format!(
                "buckets '{buckets}': whole days separated by commas"
            ))
        })?;
    let participation = participation
        .trim()
        .parse::<rust_decimal::Decimal>()
        .map_err(|_| {
            invalid(format!(
                "participation '{participation}': a number such as 0.2"
            ))
        })?;
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        workflows::scenarios::set_ladder_config(
            ws,
            &portfolio,
            Some(buckets),
            Some(participation),
        )?;
        Ok(())
    })
    .await
}

/// Copy a scenario (a preset or a saved one) to a new saved name.
#[tauri::command]
#[specta::specta]
pub async fn duplicate_scenario(
    state: State<'_, AppState>,
    from: String,
    to: String,
) -> CommandResult<String> {
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        Ok(workflows::scenarios::duplicate(ws, &from, to.trim())?.name)
    })
    .await
}

/// Delete every version of a saved scenario; returns how many versions went.
#[tauri::command]
#[specta::specta]
pub async fn delete_scenario(state: State<'_, AppState>, name: String) -> CommandResult<u32> {
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        Ok(workflows::scenarios::delete(ws, &name)? as u32)
    })
    .await
}

fn settings_of(ws: &Workspace) -> Result<SettingsDto, workflows::WorkflowError> {
    let keychain_problem = ballast_secrets::keychain_status()
        .err()
        .map(|e| e.to_string());
    let password_stored =
        keychain_problem.is_none() && ballast_secrets::exists(workflows::POSTGRES_SECRET)?;
    Ok(SettingsDto {
        workspace_path: ws.path().display().to_string(),
        postgres_url: ws.setting(workflows::POSTGRES_URL_SETTING)?,
        password_stored,
        keychain_problem,
    })
}

#[tauri::command]
#[specta::specta]
pub async fn settings(state: State<'_, AppState>) -> CommandResult<SettingsDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, settings_of).await
}

/// Save the Postgres URL (a password in it, or in `password`, goes to the keychain only).
#[tauri::command]
#[specta::specta]
pub async fn save_settings(
    state: State<'_, AppState>,
    postgres_url: String,
    password: Option<String>,
) -> CommandResult<SettingsDto> {
    if !postgres_url.starts_with("postgres://") && !postgres_url.starts_with("postgresql://") {
        return Err(CommandError::new(
            ErrorKind::Invalid,
            "the URL must start with postgres:// or postgresql://",
        ));
    }
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        workflows::save_connection(ws, &postgres_url, password.as_deref())?;
        settings_of(ws)
    })
    .await
}

/// Pull what changed from the saved Postgres connection, streaming progress, then deliver
/// the outbox. [`cancel_sync`] stops it cleanly.
#[tauri::command]
#[specta::specta]
pub async fn sync_now(
    state: State<'_, AppState>,
    verify_all: bool,
    on_progress: Channel<SyncEventDto>,
) -> CommandResult<SyncResultDto> {
    let Ok(_running) = state.sync_lock.try_lock() else {
        return Err(CommandError::new(
            ErrorKind::Busy,
            "a sync is already running",
        ));
    };
    let workspace = state.workspace().await?;
    let spec = blocking(workspace.clone(), workflows::saved_connection)
        .await?
        .ok_or_else(|| {
            CommandError::new(
                ErrorKind::Invalid,
                "no Postgres connection saved: set one in Settings",
            )
        })?;
    let options = workflows::SyncOptions {
        verify_all,
        cancel: state.sync_cancel.clone(),
        connections: Some(state.sync_connections.clone()),
    };
    options.cancel.store(false, Ordering::SeqCst);
    tokio::task::spawn_blocking(move || {
        sync_runtime()?.block_on(async {
            let summary = workflows::sync(&workspace, &spec, &options, &mut |p| {
                let _ = on_progress.send(SyncEventDto::from(&p));
            })
            .await
            .map_err(CommandError::from)?;
            let outbox = match workflows::outbox::drain(
                &workspace,
                &spec,
                workflows::outbox::MAX_ATTEMPTS,
                chrono::Utc::now(),
            )
            .await
            {
                Ok(r) => format!("{} sent, {} failed, {} dead", r.sent, r.failed, r.dead),
                Err(e) => format!("not delivered: {e}"),
            };
            let count = |n: u64| n.min(u32::MAX as u64) as u32;
            Ok(SyncResultDto {
                rows_in: count(summary.rows_in),
                rows_deleted: count(summary.rows_deleted),
                tables: summary.tables as u32,
                full_tables: summary.full_tables,
                source: summary.source,
                verification: summary.verification.summary(),
                notes: summary.notes,
                outbox,
            })
        })
    })
    .await
    .map_err(CommandError::internal)?
}

/// The runtime every sync runs on, one per process and never dropped: the Postgres connections
/// a sync keeps for the next ([`AppState`]) belong to the runtime that made them. Syncs take
/// turns (`sync_lock`), each on a blocking thread of its own.
fn sync_runtime() -> CommandResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CommandError::internal)?;
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// Stop the running sync; it rolls back and the history records it as cancelled.
#[tauri::command]
#[specta::specta]
pub async fn cancel_sync(state: State<'_, AppState>) -> CommandResult<()> {
    state.sync_cancel.store(true, Ordering::SeqCst);
    Ok(())
}

/// Freshness, per-table sync state, run history and the outbox.
#[tauri::command]
#[specta::specta]
pub async fn data_status(state: State<'_, AppState>) -> CommandResult<DataStatusDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, |ws| {
        let now = chrono::Utc::now();
        let freshness = workflows::freshness(ws, now)?;
        let mut outbox = ws.outbox_items(Some("pending"))?;
        outbox.extend(ws.outbox_items(Some("dead"))?);
        Ok(DataStatusDto {
            source: ws.source()?.as_ref().map(SourceDto::from),
            tables: ws
                .freshness()?
                .iter()
                .map(|t| TableFreshnessDto {
                    table: t.table.clone(),
                    rows: t.rows.clamp(0, u32::MAX as i64) as u32,
                    last_synced_at: t.last_synced_at.to_rfc3339(),
                    age: workflows::sync::age_label(now - t.last_synced_at),
                    stale: freshness.stale_tables.contains(&t.table),
                    verified_at: t.verified_at.map(|v| v.to_rfc3339()),
                })
                .collect(),
            freshness: FreshnessDto::from(&freshness),
            runs: ws.sync_runs(20)?.iter().map(SyncRunDto::from).collect(),
            outbox: outbox.iter().map(OutboxItemDto::from).collect(),
            outbox_sent: ws.outbox_counts()?.sent.clamp(0, u32::MAX as i64) as u32,
        })
    })
    .await
}

/// Mark data older than `hours` as stale.
#[tauri::command]
#[specta::specta]
pub async fn set_stale_after_hours(state: State<'_, AppState>, hours: u32) -> CommandResult<()> {
    if hours == 0 {
        return Err(CommandError::new(
            ErrorKind::Invalid,
            "the stale age must be at least one hour",
        ));
    }
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        Ok(ws.set_setting(
            workflows::sync::STALE_AFTER_HOURS_SETTING,
            &hours.to_string(),
        )?)
    })
    .await
}

/// Queue a note on a position for the shared database (delivered by the next sync or drain).
#[tauri::command]
#[specta::specta]
pub async fn annotate_position(
    state: State<'_, AppState>,
    portfolio: String,
    symbol: String,
    body: String,
) -> CommandResult<OutboxItemDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        let item = workflows::annotate(ws, &portfolio, &symbol, &body)?;
        Ok(OutboxItemDto::from(&item))
    })
    .await
}

/// Run a scenario of the library on a portfolio and queue the definition and its results for
/// the shared database (delivered by the next sync or drain).
#[tauri::command]
#[specta::specta]
pub async fn publish_scenario(
    state: State<'_, AppState>,
    portfolio: String,
    scenario: String,
) -> CommandResult<OutboxItemDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, move |ws| {
        let item = workflows::scenarios::publish(ws, &portfolio, &scenario)?;
        Ok(OutboxItemDto::from(&item))
    })
    .await
}

/// Give the dead-letter list another round of attempts.
#[tauri::command]
#[specta::specta]
pub async fn retry_outbox(state: State<'_, AppState>) -> CommandResult<u32> {
    let workspace = state.workspace().await?;
    blocking(workspace, |ws| Ok(ws.outbox_retry_dead()? as u32)).await
}
