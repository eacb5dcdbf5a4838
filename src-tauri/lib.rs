//! The Tauri shell: app state, the command list and window start-up. Commands are thin: each
//! one calls a workflow and maps the result to an IPC DTO ([`dto`]); errors cross the bridge
//! as one [`error::CommandError`] with a stable kind.

pub mod commands;
pub mod dto;
pub mod error;
pub mod format;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use ballast_pg::snapshot::KeptConnections;
use ballast_storage::Workspace;
use tauri::Manager;
use tokio::sync::{Mutex, OnceCell};

use crate::error::CommandError;

/// Process-wide state: the one open workspace (opened on first use, creating the demo data
/// when empty) and a lock so two syncs never run at once.
pub struct AppState {
    workspace_path: PathBuf,
    workspace: OnceCell<Arc<Workspace>>,
    pub(crate) sync_lock: Mutex<()>,
    /// Set by `cancel_sync` to stop the running sync.
    pub(crate) sync_cancel: Arc<AtomicBool>,
    /// Postgres connections kept between syncs (a new one costs the shared server a backend).
    pub(crate) sync_connections: Arc<KeptConnections>,
}

impl AppState {
    pub fn new(workspace_path: PathBuf) -> Self {
        AppState {
            workspace_path,
            workspace: OnceCell::new(),
            sync_lock: Mutex::new(()),
            sync_cancel: Arc::new(AtomicBool::new(false)),
            sync_connections: Arc::default(),
        }
    }

    /// The workspace, opened (and filled with the demo on first run) off the UI thread.
    pub async fn workspace(&self) -> Result<Arc<Workspace>, CommandError> {
        self.workspace
            .get_or_try_init(|| async {
                let path = self.workspace_path.clone();
                tokio::task::spawn_blocking(move || ballast_workflows::open_or_create_demo(&path))
                    .await
                    .map_err(CommandError::internal)?
                    .map(Arc::new)
                    .map_err(CommandError::from)
            })
            .await
            .cloned()
    }
}

/// The typed command list; also what `tests/bindings.rs` exports to `ui/src/bindings.ts`.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    // DTOs only travel backend → UI, so one type per DTO (no serialize/deserialize phases).
    tauri_specta::Builder::<tauri::Wry>::new()
        .disable_serde_phases()
        .commands(tauri_specta::collect_commands![
            commands::overview,
            commands::monthly_heatmap,
            commands::performance,
            commands::liquidity,
            commands::set_ladder_config,
            commands::scenario_compare,
            commands::check_scenario,
            commands::save_scenario,
            commands::duplicate_scenario,
            commands::delete_scenario,
            commands::monte_carlo,
            commands::settings,
            commands::save_settings,
            commands::sync_now,
            commands::cancel_sync,
            commands::data_status,
            commands::set_stale_after_hours,
            commands::annotate_position,
            commands::publish_scenario,
            commands::portfolios,
            commands::retry_outbox,
        ])
}

/// Where the workspace lives: `BALLAST_DB` if set, else `workspace.duckdb` in the OS data
/// folder for this app.
fn workspace_path(app: &tauri::App) -> PathBuf {
    if let Some(path) = std::env::var_os("BALLAST_DB") {
        return PathBuf::from(path);
    }
    app.path()
        .app_data_dir()
        .unwrap_or_else(|_| PathBuf::from("."))
        .join("workspace.duckdb")
}

pub fn run() {
    let builder = specta_builder();
    tauri::Builder::default()
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            let state = AppState::new(workspace_path(app));
            app.manage(state);
            Ok(())
        })
        .run(tauri::generate_context!("tauri.conf.json"))
        .expect("error while running the Ballast app");
}
