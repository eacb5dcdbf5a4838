//! The local workspace on a real DuckDB file: a replace is one transaction, reads return what
//! was written, the file reopens with its data, and one process cannot open it twice.

use ballast_sample_data::DemoConfig;
use ballast_storage::{SourceInfo, StorageError, Workspace};
use chrono::Utc;

fn source(kind: &str) -> SourceInfo {
    SourceInfo {
        kind: kind.into(),
        label: format!("{kind} test"),
        loaded_at: Utc::now(),
    }
}

#[test]
fn written_data_reads_back_and_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/folder/ws.duckdb");
    let data = ballast_sample_data::generate(&DemoConfig::small());
    {
        let ws = Workspace::open(&path).unwrap();
        assert!(ws.is_empty().unwrap());
        let mut reports = 0;
        ws.replace_dataset(&data, &source("demo"), &mut |_| reports += 1)
            .unwrap();
        assert!(reports >= 28, "start and end of every table: {reports}");
        assert!(matches!(
            Workspace::open(&path),
            Err(StorageError::AlreadyOpen(_))
        ));
    }
    let ws = Workspace::open(&path).unwrap();
    assert_eq!(ws.source().unwrap().unwrap().kind, "demo");
    let portfolios = ws.portfolios().unwrap();
    let mut want = data.portfolios.clone();
    want.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(portfolios, want);
    for p in &portfolios {
        assert_eq!(ws.nav_history(&p.id).unwrap(), data.nav_history(&p.id));
    }
    let mut assets = data.assets.clone();
    assets.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    assert_eq!(
        ws.assets().unwrap(),
        assets,
        "every asset field round-trips, decimals exact"
    );
    let freshness = ws.freshness().unwrap();
    assert_eq!(freshness.len(), data.row_counts().len());
}

#[test]
fn a_failed_replace_leaves_the_previous_data_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
    let good = ballast_sample_data::generate(&DemoConfig::small());
    ws.replace_dataset(&good, &source("demo"), &mut |_| {})
        .unwrap();
    let before = ws.table_counts().unwrap();
    let mut bad = good.clone();
    // Fails deep into the write, after several tables were already replaced.
    let last = bad.positions.len() - 1;
    bad.positions[last].asset_id = "not-a-uuid".into();
    let error = ws.replace_dataset(&bad, &source("postgres"), &mut |_| {});
    assert!(error.is_err());
    assert_eq!(ws.table_counts().unwrap(), before);
    assert_eq!(ws.source().unwrap().unwrap().kind, "demo");
}

#[test]
fn settings_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
    assert_eq!(ws.setting("postgres.url").unwrap(), None);
    ws.set_setting("postgres.url", "postgres://u@h/db").unwrap();
    ws.set_setting("postgres.url", "postgres://u@h/other")
        .unwrap();
    assert_eq!(
        ws.setting("postgres.url").unwrap().as_deref(),
        Some("postgres://u@h/other")
    );
}
