//! Tauri build step: embeds tauri.conf.json and declares the app's own commands, so the
//! capability in tauri.conf.json can grant exactly those (and nothing else) to the UI.

fn main() {
    let commands = &[
        "overview",
        "monthly_heatmap",
        "performance",
        "liquidity",
        "set_ladder_config",
        "scenario_compare",
        "check_scenario",
        "save_scenario",
        "duplicate_scenario",
        "delete_scenario",
        "monte_carlo",
        "settings",
        "save_settings",
        "sync_now",
        "cancel_sync",
        "data_status",
        "set_stale_after_hours",
        "annotate_position",
        "publish_scenario",
        "portfolios",
        "retry_outbox",
    ];
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(commands)),
    )
    .expect("tauri build step");
}
