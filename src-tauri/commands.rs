//! The IPC commands. Each is a few lines: get the workspace, call a workflow, map to a DTO.
//! Blocking work (DuckDB, the keychain) runs on the blocking pool, never on the UI thread.

use std::sync::Arc;

use ballast_charts::Format;
use ballast_engine::kpi::KpiConfig;
use ballast_engine::period::Range;
use ballast_storage::Workspace;
use ballast_workflows::performance::Subject;
use ballast_workflows::{self as workflows, SyncProgress};
use tauri::ipc::Channel;
use tauri::State;

use crate::dto::*;
use crate::error::{CommandError, ErrorKind};
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

fn progress_event(p: &SyncProgress) -> SyncEventDto {
    match p {
        SyncProgress::Connecting => SyncEventDto {
            phase: "connecting".into(),
            table: None,
            percent: 0.0,
            message: "Connecting to Postgres".into(),
        },
        SyncProgress::Reading(r) => SyncEventDto {
            phase: "reading".into(),
            table: Some(r.table.into()),
            percent: 50.0 * r.tables_done as f64 / r.tables.max(1) as f64,
            message: format!("Read {} ({} rows)", r.table, r.rows),
        },
        SyncProgress::Writing(w) => {
            let within = if w.total == 0 {
                1.0
            } else {
                w.rows as f64 / w.total as f64
            };
            SyncEventDto {
                phase: "writing".into(),
                table: Some(w.table.into()),
                percent: 50.0 + 50.0 * (w.tables_done as f64 + within) / w.tables.max(1) as f64,
                message: format!("Writing {}: {} of {} rows", w.table, w.rows, w.total),
            }
        }
    }
}

/// Pull from the saved Postgres connection into the workspace, streaming progress.
#[tauri::command]
#[specta::specta]
pub async fn sync_now(
    state: State<'_, AppState>,
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
    let summary = tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(CommandError::internal)?;
        runtime
            .block_on(workflows::sync(&workspace, &spec, &mut |p| {
                let _ = on_progress.send(progress_event(&p));
            }))
            .map_err(CommandError::from)
    })
    .await
    .map_err(CommandError::internal)??;
    Ok(SyncResultDto {
        rows: summary.rows as u32,
        tables: summary.tables as u32,
        source: summary.source,
    })
}

#[tauri::command]
#[specta::specta]
pub async fn data_status(state: State<'_, AppState>) -> CommandResult<DataStatusDto> {
    let workspace = state.workspace().await?;
    blocking(workspace, |ws| {
        Ok(DataStatusDto {
            source: ws.source()?.as_ref().map(SourceDto::from),
            tables: ws
                .freshness()?
                .iter()
                .map(TableFreshnessDto::from)
                .collect(),
            runs: ws.sync_runs(20)?.iter().map(SyncRunDto::from).collect(),
        })
    })
    .await
}
