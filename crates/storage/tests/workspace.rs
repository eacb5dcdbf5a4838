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

#[test]
fn a_runs_inputs_are_what_the_last_run_committed() {
    use ballast_engine::schema::SHARED_TABLES;
    use ballast_storage::TableState;

    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
    let reader = ws.mirror_reader().unwrap();
    let empty = reader.sync_inputs().unwrap();
    assert!(empty.states.is_empty() && empty.source.is_none() && empty.settings.is_empty());

    let committed = source("postgres");
    let states: Vec<TableState<'_>> = SHARED_TABLES
        .iter()
        .map(|t| TableState {
            table: t.name,
            watermark: Some("1234"),
            verified: None,
        })
        .collect();
    let writer = ws.sync_writer().unwrap();
    writer
        .set_table_states(&states, committed.loaded_at)
        .unwrap();
    writer.set_source(&committed).unwrap();
    writer.set_setting("sync.example", "42").unwrap();
    // Not committed yet: the next run would start from nothing.
    assert_eq!(reader.sync_inputs().unwrap(), empty);
    writer.commit(None).unwrap();
    ws.set_setting("user.example", "yes").unwrap();

    let inputs = reader.sync_inputs().unwrap();
    assert_eq!(inputs.states, ws.table_sync_states().unwrap());
    assert_eq!(inputs.states.len(), SHARED_TABLES.len());
    assert!(inputs
        .states
        .values()
        .all(|s| s.watermark.as_deref() == Some("1234")));
    assert_eq!(inputs.source, ws.source().unwrap());
    assert_eq!(inputs.source.unwrap().label, committed.label);
    let settings: Vec<(&str, &str)> = inputs
        .settings
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(settings, [("sync.example", "42"), ("user.example", "yes")]);
}

#[test]
fn a_run_that_did_not_commit_leaves_the_next_one_a_clean_start() {
    // The sync's connections are kept between runs: what a run left uncommitted must be gone
    // for the next one, on the same connection.
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
    let writer = ws.sync_writer().unwrap();
    writer.set_setting("sync.example", "abandoned").unwrap();
    writer.set_source(&source("postgres")).unwrap();
    drop(writer);
    assert_eq!(ws.setting("sync.example").unwrap(), None);
    assert_eq!(ws.source().unwrap(), None);

    let writer = ws.sync_writer().unwrap();
    writer.set_setting("sync.example", "kept").unwrap();
    writer.set_source(&source("postgres")).unwrap();
    writer.commit(None).unwrap();
    // A later run's source replaces the first.
    let later = SourceInfo {
        label: "postgres://u@h/other".into(),
        ..source("postgres")
    };
    let writer = ws.sync_writer().unwrap();
    writer.set_source(&later).unwrap();
    writer.commit(None).unwrap();
    assert_eq!(ws.setting("sync.example").unwrap().as_deref(), Some("kept"));
    assert_eq!(ws.source().unwrap().map(|s| s.label), Some(later.label));
}

#[test]
fn a_sync_commit_is_remembered_until_anything_else_writes_the_mirrors() {
    use ballast_engine::schema::{TableChecksum, SHARED_TABLES};
    use ballast_storage::MirrorFigures;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.duckdb");
    let ws = Workspace::open(&path).unwrap();
    let figures = MirrorFigures {
        checksums: SHARED_TABLES
            .iter()
            .map(|t| (t.name, TableChecksum::empty(t)))
            .collect(),
        nav_totals: [("P1".to_string(), "100.00".to_string())].into(),
    };
    // Cases: (what happens after a commit that remembered the figures, still remembered).
    type Step = fn(&Workspace);
    let cases: [(&str, Step, bool); 6] = [
        ("nothing", |_| {}, true),
        (
            "a setting changes",
            |ws| ws.set_setting("user.x", "1").unwrap(),
            true,
        ),
        (
            "a sync run is recorded",
            |ws| {
                ws.run_log().unwrap().begin().unwrap();
            },
            true,
        ),
        (
            "another sync starts writing",
            |ws| drop(ws.sync_writer().unwrap()),
            false,
        ),
        (
            "a sync commits without figures",
            |ws| ws.sync_writer().unwrap().commit(None).unwrap(),
            false,
        ),
        (
            "the demo replaces the mirrors",
            |ws| {
                let data = ballast_sample_data::generate(&DemoConfig::small());
                ws.replace_dataset(&data, &source("demo"), &mut |_| {})
                    .unwrap();
            },
            false,
        ),
    ];
    assert_eq!(
        ws.committed_mirror_figures(),
        None,
        "a new handle knows nothing"
    );
    for (what, step, remembered) in cases {
        ws.sync_writer()
            .unwrap()
            .commit(Some(figures.clone()))
            .unwrap();
        assert_eq!(
            ws.committed_mirror_figures().as_ref(),
            Some(&figures),
            "{what}"
        );
        step(&ws);
        assert_eq!(
            ws.committed_mirror_figures().is_some(),
            remembered,
            "after {what}"
        );
    }
    // Another handle on the file (after this one closed) must sum the mirrors itself.
    drop(ws);
    let reopened = Workspace::open(&path).unwrap();
    assert_eq!(reopened.committed_mirror_figures(), None);
}

/// A run's outcome is recorded in the run's own transaction, which must begin after the run's
/// start was committed: DuckDB's snapshot would not show the row otherwise. Recording it then
/// is an error, never an update of nothing that leaves a succeeded run marked `running`.
#[test]
fn a_run_is_recorded_only_in_a_transaction_that_sees_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
    let log = ws.run_log().unwrap();
    let succeeded = ballast_storage::RunOutcome {
        status: "succeeded".into(),
        ..Default::default()
    };

    // The writer's transaction starts (its first statement) before the run's row is there.
    let early = ws.sync_writer().unwrap();
    early.set_setting("sync.example", "1").unwrap();
    let id = log.begin().unwrap();
    match early.record_run(&id, &succeeded) {
        Err(StorageError::MissingRun {
            id: missing,
            status,
        }) => {
            assert_eq!(
                (missing.as_str(), status.as_str()),
                (id.as_str(), "succeeded")
            );
        }
        other => panic!("expected MissingRun, got {other:?}"),
    }
    drop(early);
    assert_eq!(ws.sync_runs(1).unwrap()[0].status, "running");

    // Begun after the start was committed, the same record lands with the run's data.
    let writer = ws.sync_writer().unwrap();
    writer.set_setting("sync.example", "2").unwrap();
    writer.record_run(&id, &succeeded).unwrap();
    writer.commit(None).unwrap();
    let runs = ws.sync_runs(5).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (runs[0].id.as_str(), runs[0].status.as_str()),
        (id.as_str(), "succeeded")
    );
    assert_eq!(ws.setting("sync.example").unwrap().as_deref(), Some("2"));

    // No such run at all: the same error outside a sync's transaction.
    assert!(matches!(
        ws.finish_sync_run("0190c0de-0000-7000-8000-000000000000", &succeeded),
        Err(StorageError::MissingRun { .. })
    ));
}

/// A run's table states: the first run creates them, every later run updates them in place;
/// a verified table takes its count and checksum from the verification, one not verified
/// keeps its last verification time but loses its checksum (the next run sums it whole).
#[test]
fn table_states_are_created_then_updated_run_after_run() {
    use ballast_engine::schema::{TableChecksum, SHARED_TABLES};
    use ballast_storage::TableState;
    use chrono::TimeZone;
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
    let prices = ballast_engine::schema::shared_table("prices").unwrap();
    let mut counted = TableChecksum::empty(prices);
    counted.rows = 7;
    let first = Utc.with_ymd_and_hms(2026, 12, 1, 8, 0, 0).unwrap();
    let second = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    // (run time, prices' watermark, prices verified with this checksum) and what must be read
    // back: (watermark, rows, verified at, checksum kept)
    type Case<'a> = (
        chrono::DateTime<Utc>,
        &'a str,
        Option<&'a TableChecksum>,
        (&'a str, i64, Option<chrono::DateTime<Utc>>, bool),
    );
    let cases: [Case<'_>; 3] = [
        (first, "100", Some(&counted), ("100", 7, Some(first), true)),
        // Not verified: counted in the mirror (empty here), the last verification time kept.
        (second, "200", None, ("200", 0, Some(first), false)),
        (
            second,
            "300",
            Some(&counted),
            ("300", 7, Some(second), true),
        ),
    ];
    for (at, watermark, verified, (want_mark, want_rows, want_verified, want_sum)) in cases {
        let states: Vec<TableState<'_>> = SHARED_TABLES
            .iter()
            .map(|t| TableState {
                table: t.name,
                watermark: Some(watermark),
                verified: (t.name == "prices").then_some(verified).flatten(),
            })
            .collect();
        let writer = ws.sync_writer().unwrap();
        writer.set_table_states(&states, at).unwrap();
        writer.commit(None).unwrap();
        let all = ws.table_sync_states().unwrap();
        assert_eq!(all.len(), SHARED_TABLES.len());
        let state = &all["prices"];
        assert_eq!(state.watermark.as_deref(), Some(want_mark));
        assert_eq!(state.rows, want_rows);
        assert_eq!(state.last_synced_at, at);
        assert_eq!(state.verified_at, want_verified);
        assert_eq!(state.checksum.is_some(), want_sum, "{watermark}");
        if want_sum {
            assert_eq!(state.checksum.as_ref(), Some(&counted));
        }
    }
}
