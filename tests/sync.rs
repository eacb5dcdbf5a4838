//! Incremental sync against a real Postgres (a fresh database per test) into real DuckDB
//! files: only changes travel, stragglers, deletes (pruned ones and changed ids included) and
//! truncates arrive, one snapshot per run, every table is verified on every run (large ones
//! from their changes) and tampered mirrors are repaired, a full verification reclaims the
//! space deletes left, a login allowed one connection syncs on it, a hot standby and a
//! subscriber of logical replication sync like their primary, row-level security changes
//! are followed, schema drift is reported, cancel and failures leave the workspace as it was,
//! and the outbox delivers exactly once.
//!
//! Transaction ids are cluster-wide, so a test's exact "rows in" counts would shift if another
//! test's transaction were open during its snapshot: the tests of this file run one at a time.

use std::sync::atomic::Ordering;

use ballast_engine::schema::{shared_table, TableChecksum, SHARED_TABLES};
use ballast_pg::{testing, ConnectSpec};
use ballast_sample_data::DemoConfig;
use ballast_storage::Workspace;
use ballast_workflows::{self as workflows, SyncOptions, SyncProgress, SyncSummary, WorkflowError};
use chrono::{Duration, Utc};

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn seeded(label: &str) -> Option<(String, ConnectSpec, ballast_engine::Dataset)> {
    let admin = testing::admin_url()?;
    let url = testing::fresh_database(&admin, label).await;
    let spec = ConnectSpec::new(&url, None);
    let pool = spec.connect().await.unwrap();
    ballast_pg::migrate(&pool).await.unwrap();
    let data = ballast_sample_data::generate(&DemoConfig::small());
    ballast_pg::seed(&pool, &spec, &data).await.unwrap();
    pool.close().await;
    Some((url, spec, data))
}

async fn sync(ws: &Workspace, spec: &ConnectSpec) -> SyncSummary {
    workflows::sync(ws, spec, &SyncOptions::default(), &mut |_| {})
        .await
        .unwrap()
}

/// A sync, and the tables Postgres streamed rows of (a table with nothing written since its
/// watermark is not copied at all).
async fn sync_copying(
    ws: &Workspace,
    spec: &ConnectSpec,
) -> (SyncSummary, std::collections::BTreeSet<&'static str>) {
    let mut copied = std::collections::BTreeSet::new();
    let summary = workflows::sync(ws, spec, &SyncOptions::default(), &mut |step| {
        if let SyncProgress::Copying { table, .. } = step {
            copied.insert(table);
        }
    })
    .await
    .unwrap();
    (summary, copied)
}

/// The laptop holds exactly what Postgres shows `spec`: same counts, versions and sums in
/// every table, and no id twice.
async fn assert_mirrors_equal(ws: &Workspace, spec: &ConnectSpec) {
    let postgres: Vec<(&str, TableChecksum)> = testing::checksums(spec).await;
    let local = ws.mirror_checksums().unwrap();
    for ((table, pg), (_, laptop)) in postgres.iter().zip(&local) {
        assert_eq!(pg.difference(laptop), None, "{table}");
        let duplicates = ws.duplicate_ids(shared_table(table).unwrap()).unwrap();
        assert_eq!(duplicates, 0, "{table} has an id twice");
    }
}

async fn sql(url: &str, statements: &str) {
    testing::execute(url, statements).await;
}

fn workspace(dir: &tempfile::TempDir, name: &str) -> Workspace {
    Workspace::open(&dir.path().join(name)).unwrap()
}

/// A fresh seeded database (`label`) and the same database read from the test cluster's hot
/// standby, once the standby has replayed the seed: the primary's URL and connection, the
/// standby's admin URL and connection, and the seeded data. `None` when standby tests skip.
async fn seeded_with_standby(
    label: &str,
) -> Option<(
    String,
    ConnectSpec,
    String,
    ConnectSpec,
    ballast_engine::Dataset,
)> {
    let standby_admin = testing::standby_cluster()?;
    let (url, primary, data) = seeded(label).await?;
    let database = url.rsplit('/').next().unwrap().split('?').next().unwrap();
    let standby = ConnectSpec::new(&testing::with_database(&standby_admin, database), None);
    testing::wait_for_replay(&url, &standby_admin).await;
    Some((url, primary, standby_admin, standby, data))
}

/// A workspace synced from a fresh seeded database (`label`) in which every table counts as
/// large, so each later run checks every table from its changes (none summed whole): a
/// change the triggers missed would go unseen.
async fn synced_checking_every_table_from_its_changes(
    label: &str,
) -> Option<(
    String,
    ConnectSpec,
    ballast_engine::Dataset,
    tempfile::TempDir,
    Workspace,
)> {
    let (url, spec, data) = seeded(label).await?;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "ws.duckdb");
    ws.set_setting(workflows::sync::SMALL_TABLE_ROWS_SETTING, "0")
        .unwrap();
    sync(&ws, &spec).await;
    Some((url, spec, data, dir, ws))
}

/// A workspace file synced in full from a fresh seeded database (`label`), then changed
/// behind the app's back by `tamper` (DuckDB SQL, run while no app handle is open). Returns
/// the connection, the folder holding the file, and the file.
async fn synced_then_tampered(
    label: &str,
    tamper: &str,
) -> Option<(ConnectSpec, tempfile::TempDir, std::path::PathBuf)> {
    let (_url, spec, _data) = seeded(label).await?;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.duckdb");
    {
        let ws = Workspace::open(&path).unwrap();
        sync(&ws, &spec).await;
    }
    duckdb::Connection::open(&path)
        .unwrap()
        .execute_batch(tamper)
        .unwrap();
    Some((spec, dir, path))
}

/// Writes of every kind a run must bring, made on the shared database at `url`: two prices
/// updated, a position deleted, an fx rate given a new id (its old id leaves), a risk limit
/// added and `fund_flows` truncated. Two rows leave besides every flow.
async fn write_every_kind(url: &str, data: &ballast_engine::Dataset) {
    sql(
        url,
        &format!(
            "UPDATE prices SET close = close + 1
               WHERE id IN (SELECT id FROM prices WHERE asset_id = '{asset}' ORDER BY date LIMIT 2);
             DELETE FROM positions WHERE id = (SELECT id FROM positions ORDER BY id LIMIT 1);
             UPDATE fx_rates SET id = gen_random_uuid()
               WHERE id = (SELECT id FROM fx_rates ORDER BY id LIMIT 1);
             INSERT INTO risk_limits (portfolio_id, metric, threshold, severity)
               VALUES ('{portfolio}', 'volatility', 0.5, 'info');
             TRUNCATE fund_flows;",
            asset = data.prices[0].asset_id,
            portfolio = data.portfolios[0].id
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn only_changes_travel_deletes_arrive_and_a_second_run_changes_nothing() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, data)) = seeded("incremental").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "ws.duckdb");
    let first = sync(&ws, &spec).await;
    assert_eq!(first.full_tables.len(), SHARED_TABLES.len());
    assert_mirrors_equal(&ws, &spec).await;

    let prices = vec![data.prices[0].asset_id.clone(); 3];
    let (kept, deleted) = (&data.risk_limits[0], &data.risk_limits[1]);
    let portfolio = &data.portfolios[0].id;
    sql(
        &url,
        &format!(
            "UPDATE prices SET close = close + 1
               WHERE id IN (SELECT id FROM prices WHERE asset_id IN ('{}', '{}', '{}')
                            ORDER BY asset_id, date LIMIT 3);
             INSERT INTO risk_limits (portfolio_id, metric, threshold, severity)
               VALUES ('{portfolio}', 'volatility', 0.5, 'info');
             DELETE FROM risk_limits WHERE id = '{}';
             -- inserted and deleted between two syncs: must never reach the laptop
             INSERT INTO risk_limits (id, portfolio_id, metric, threshold, severity)
               VALUES ('00000000-0000-0000-0000-00000000abcd', '{portfolio}', 'var_95', 0.1, 'info');
             DELETE FROM risk_limits WHERE id = '00000000-0000-0000-0000-00000000abcd';
             DELETE FROM positions WHERE id = (SELECT id FROM positions ORDER BY id LIMIT 1);",
            prices[0], prices[1], prices[2], deleted.id
        ),
    )
    .await;
    let (second, copied) = sync_copying(&ws, &spec).await;
    assert_eq!(second.full_tables, Vec::<String>::new(), "incremental");
    // Only tables with rows written since travel; positions' delete arrives as a tombstone.
    assert_eq!(copied, ["prices", "risk_limits"].into(), "{second:?}");
    assert_eq!((second.rows_in, second.rows_deleted), (4, 2), "{second:?}");
    assert_mirrors_equal(&ws, &spec).await;
    let limits = ws.risk_limits(portfolio).unwrap();
    assert!(limits.iter().any(|l| l.id == kept.id));
    assert!(limits.iter().all(|l| l.id != deleted.id));
    assert!(limits.iter().any(|l| l.metric == "volatility"));

    let before = ws.mirror_checksums().unwrap();
    let (third, copied) = sync_copying(&ws, &spec).await;
    assert_eq!((third.rows_in, third.rows_deleted), (0, 0));
    assert!(
        copied.is_empty(),
        "nothing changed, nothing copied: {copied:?}"
    );
    assert_eq!(ws.mirror_checksums().unwrap(), before, "idempotent");
    let runs = ws.sync_runs(10).unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(
        (
            runs[1].rows_in,
            runs[1].rows_deleted,
            runs[1].status.as_str()
        ),
        (4, 2, "succeeded")
    );
    assert!(runs[0]
        .verification
        .as_deref()
        .unwrap()
        .starts_with("passed"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_straggler_that_commits_after_a_sync_arrives_on_the_next_exactly_once() {
    let _serial = SERIAL.lock().await;
    let Some((_url, spec, data)) = seeded("straggler").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "ws.duckdb");
    sync(&ws, &spec).await;

    // Transaction A writes before the sync and commits after it: its rows carry a version
    // older than the sync's own start. Transaction B begins before the sync but first writes
    // after it.
    let pool = spec.connect().await.unwrap();
    let mut a = pool.begin().await.unwrap();
    let portfolio = &data.portfolios[1].id;
    sqlx::query(
        "INSERT INTO risk_limits (id, portfolio_id, metric, threshold, severity)
         VALUES ('00000000-0000-0000-0000-0000000000a1', $1::uuid, 'max_drawdown', 0.3, 'warning')",
    )
    .bind(portfolio)
    .execute(&mut *a)
    .await
    .unwrap();
    sqlx::query("UPDATE portfolio_nav SET external_flow = external_flow + 1 WHERE id = $1::uuid")
        .bind(&data.nav[5].id)
        .execute(&mut *a)
        .await
        .unwrap();
    let mut b = pool.begin().await.unwrap();
    sqlx::query("SELECT 1").execute(&mut *b).await.unwrap();

    let during = sync(&ws, &spec).await;
    assert_eq!(during.rows_in, 0, "A and B are invisible to this snapshot");

    sqlx::query(
        "INSERT INTO risk_limits (id, portfolio_id, metric, threshold, severity)
         VALUES ('00000000-0000-0000-0000-0000000000b2', $1::uuid, 'volatility', 0.4, 'info')",
    )
    .bind(portfolio)
    .execute(&mut *b)
    .await
    .unwrap();
    a.commit().await.unwrap();
    b.commit().await.unwrap();
    pool.close().await;

    let after = sync(&ws, &spec).await;
    assert_eq!(after.rows_in, 3, "two limits and one NAV row: {after:?}");
    assert_mirrors_equal(&ws, &spec).await;
    let ids: Vec<String> = ws
        .risk_limits(portfolio)
        .unwrap()
        .into_iter()
        .map(|l| l.id)
        .collect();
    for id in [
        "00000000-0000-0000-0000-0000000000a1",
        "00000000-0000-0000-0000-0000000000b2",
    ] {
        assert_eq!(ids.iter().filter(|i| *i == id).count(), 1, "{id}");
    }
    // The overlap is re-read but never duplicated.
    let again = sync(&ws, &spec).await;
    assert_eq!(again.rows_deleted, 0);
    assert_mirrors_equal(&ws, &spec).await;
}

/// Postgres sends rows in its binary format and the run decodes them into the CSV the laptop
/// loads: for every mirrored table that CSV must be, byte for byte, what Postgres writes
/// itself with `FORMAT csv`, awkward values included (quotes, commas, line breaks, empty
/// strings and NULLs, BC and infinite dates, fractions of a second, the smallest and largest
/// numbers a DECIMAL(38,10) holds; what it cannot hold is refused, see
/// `a_value_the_laptop_cannot_hold_fails_the_run_naming_where_it_is`).
#[tokio::test(flavor = "multi_thread")]
async fn every_table_arrives_exactly_as_postgres_writes_it_as_csv_with_its_checksum() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, _)) = seeded("binary-copy").await else {
        return;
    };
    // A delta of every row (written since transaction 1) arrives as an Arrow batch holding
    // the same rows as the whole table's file (DuckDB reads both, and neither has a row the
    // other lacks), with Postgres' checksum of those rows, computed in the copy's statement,
    // equal to the one it computes on its own.
    let dir = tempfile::tempdir().unwrap();
    let mut snapshot = ballast_pg::snapshot::Snapshot::open(&spec).await.unwrap();
    let cancel = std::sync::atomic::AtomicBool::new(false);
    for table in SHARED_TABLES {
        let whole = dir.path().join("whole.csv");
        snapshot
            .copy_table(table, &whole, &cancel, &mut |_| {})
            .await
            .unwrap();
        let (copied, delta) = snapshot
            .copy_delta(table, "1", &cancel, &mut |_| {})
            .await
            .unwrap();
        let delta = delta.unwrap_or_else(|| panic!("{} has rows", table.name));
        assert_eq!(
            same_rows_in_duckdb(table, &whole, &delta),
            (delta.num_rows(), 0, 0),
            "{}: rows, rows only in the file, rows only in the batch",
            table.name
        );
        let checksum = snapshot.checksum(table).await.unwrap();
        // With a watermark the sums go as a simple query (text results): the same figures.
        let since_first = snapshot
            .checksums(&[(table, Some("1"))])
            .await
            .unwrap()
            .remove(0);
        assert_eq!(since_first, checksum, "{}", table.name);
        assert_eq!(copied.checksum, Some(checksum), "{}", table.name);
    }
    snapshot.close(false).await;

    // The trigger that stamps `updated_at` fires for every writer (replica mode included), so
    // the test turns it off to choose the values, then turns it back on as it was.
    sql(
        &url,
        r#"ALTER TABLE assets DISABLE TRIGGER assets_updated_at;
        ALTER TABLE prices DISABLE TRIGGER prices_updated_at;
        INSERT INTO assets (symbol, name, asset_class, sector, country, currency, issuer,
                            maturity, coupon, modified_duration, convexity, beta,
                            avg_daily_volume, redemption_notice_days, lp_visible, updated_at)
        VALUES ('A,B', E'He said "hi"\nthen left', 'bond', '', NULL, 'USD', E'tab\there',
                '0044-03-15 BC', 0.000000012, 0.5, 1200034500.0, -12.34, 10000, -5, false,
                '1999-12-31 23:59:59.999999+00'),
               ('Zürich', 'x', 'bond', 'Rates', 'CH', 'CHF', NULL, 'infinity',
                123456789012345678901234567.1234567890, 0, 0.00, 1e-10, NULL, 0, true,
                '2000-01-01 00:00:01.5+00'),
               ('CR', E'carriage\rreturn', 'equity', NULL, NULL, 'EUR', NULL, '-infinity',
                NULL, NULL, NULL, NULL, NULL, NULL, true, 'infinity');
        INSERT INTO prices (asset_id, date, close, updated_at)
        SELECT id, '1999-12-31', 0, '2026-11-15 00:27:33.123124+00' FROM assets
        WHERE symbol = 'A,B';
        ALTER TABLE assets ENABLE ALWAYS TRIGGER assets_updated_at;
        ALTER TABLE prices ENABLE ALWAYS TRIGGER prices_updated_at;"#,
    )
    .await;
    let mut snapshot = ballast_pg::snapshot::Snapshot::open(&spec).await.unwrap();
    for table in SHARED_TABLES {
        let path = dir.path().join(format!("{}.csv", table.name));
        let whole = snapshot
            .copy_table(table, &path, &cancel, &mut |_| {})
            .await
            .unwrap();
        assert_eq!(whole.checksum, None, "a whole table brings no checksum");
        // The select list the sync sent as CSV before it read binary: text and booleans as
        // text, the rest as Postgres writes them.
        let mut columns = vec!["id".to_string()];
        columns.extend(table.columns.iter().map(|(name, kind)| match kind {
            ballast_engine::schema::ColumnKind::Text
            | ballast_engine::schema::ColumnKind::Boolean => format!("{name}::text"),
            _ => name.to_string(),
        }));
        columns.push("updated_at".into());
        let reference = testing::postgres_csv(
            &url,
            &format!("SELECT {} FROM {}", columns.join(", "), table.name),
        )
        .await;
        let decoded = std::fs::read(&path).unwrap();
        assert!(!reference.is_empty(), "{} has rows", table.name);
        assert_eq!(
            String::from_utf8_lossy(&decoded),
            String::from_utf8_lossy(&reference),
            "{}",
            table.name
        );
        if table.name == "assets" {
            let text = String::from_utf8_lossy(&reference);
            for awkward in [
                "\"A,B\"",
                "\"He said \"\"hi\"\"\nthen left\"",
                ",\"\",,USD,",
                "0044-03-15 BC",
                ",infinity,",
                ",-infinity,",
                "1999-12-31 23:59:59.999999+00",
                "2000-01-01 00:00:01.5+00",
                "0.0000000001",
                "123456789012345678901234567.1234567890",
                "carriage\rreturn",
            ] {
                assert!(text.contains(awkward), "the edge rows hold {awkward:?}");
            }
        }
    }
    snapshot.close(false).await;

    // The edge rows sync and verify: an infinite `updated_at` counts as no version on both
    // sides (DuckDB's `epoch_us` of it is NULL) instead of failing Postgres' checksum.
    let ws = workspace(&dir, "edges.duckdb");
    let summary = sync(&ws, &spec).await;
    assert!(
        summary.verification.summary().starts_with("passed"),
        "{summary:?}"
    );
    assert_mirrors_equal(&ws, &spec).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_connection_reads_exactly_the_runs_snapshot() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, _)) = seeded("attach").await else {
        return;
    };
    let nav = shared_table("portfolio_nav").unwrap();
    let mut first = ballast_pg::snapshot::Snapshot::open(&spec).await.unwrap();
    let at_start = first.checksum(nav).await.unwrap();
    // Another session commits a change after the run's snapshot was taken.
    sql(&url, "UPDATE portfolio_nav SET nav = nav + 1").await;
    let mut second =
        ballast_pg::snapshot::Snapshot::attach(&spec, None, first.exported(), first.xmin())
            .await
            .unwrap();
    assert_eq!(second.checksum(nav).await.unwrap(), at_start);
    assert_eq!(second.xmin(), first.xmin());
    // A connection of its own sees the change: the equality above is the shared snapshot's.
    let mut fresh = ballast_pg::snapshot::Snapshot::open(&spec).await.unwrap();
    assert_ne!(fresh.checksum(nav).await.unwrap(), at_start);
    for snapshot in [first, second, fresh] {
        snapshot.close(false).await;
    }
    // An id that is not an exported snapshot's is refused before it reaches SQL.
    assert!(
        ballast_pg::snapshot::Snapshot::attach(&spec, None, "x'; DROP TABLE prices; --", "1")
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_login_allowed_one_connection_syncs_on_that_one() {
    let _serial = SERIAL.lock().await;
    let Some((url, _, data)) = seeded("one_connection").await else {
        return;
    };
    // A run copies on two connections when it can: a server at its connection limit for the
    // login (or a standby, which cannot share its snapshot) leaves it one.
    let login = format!("pm_one_{}", uuid::Uuid::now_v7().simple());
    sql(
        &url,
        &format!("CREATE ROLE {login} LOGIN PASSWORD 'pm-pass' CONNECTION LIMIT 1 IN ROLE pm_role"),
    )
    .await;
    let spec = ConnectSpec::new(
        &url.replacen("postgres@", &format!("{login}@"), 1),
        Some("pm-pass".into()),
    );
    let first = ballast_pg::snapshot::Snapshot::open(&spec).await.unwrap();
    let second =
        ballast_pg::snapshot::Snapshot::attach(&spec, None, first.exported(), first.xmin()).await;
    let refused = second.err().expect("the limit refuses a second connection");
    assert!(
        refused.to_string().contains("too many connections"),
        "{refused}"
    );
    first.close(false).await;

    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "one.duckdb");
    let full = sync(&ws, &spec).await;
    assert_eq!(full.full_tables.len(), SHARED_TABLES.len());
    assert!(full.verification.full);
    assert_mirrors_equal(&ws, &spec).await;
    sql(
        &url,
        &format!(
            "UPDATE prices SET close = close + 1 WHERE asset_id = '{}';
             DELETE FROM fund_flows WHERE id = (SELECT id FROM fund_flows ORDER BY id LIMIT 1);",
            data.prices[0].asset_id
        ),
    )
    .await;
    let delta = sync(&ws, &spec).await;
    assert!(delta.full_tables.is_empty(), "{delta:?}");
    assert!(delta.rows_in > 0 && delta.rows_deleted == 1, "{delta:?}");
    assert!(
        delta
            .verification
            .checked
            .iter()
            .all(|c| c.repaired.is_none()),
        "{:?}",
        delta.verification
    );
    assert_mirrors_equal(&ws, &spec).await;
    sql(&url, &format!("DROP OWNED BY {login}; DROP ROLE {login};")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hot_standby_syncs_exactly_like_its_primary() {
    let _serial = SERIAL.lock().await;
    // The same database, read from the standby: it cannot share its snapshot with a second
    // connection, so each run copies on one.
    let Some((url, primary, standby_admin, standby, data)) = seeded_with_standby("standby").await
    else {
        return;
    };

    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "standby.duckdb");
    // Every table counts as large, so the next run checks them from their changes.
    ws.set_setting(workflows::sync::SMALL_TABLE_ROWS_SETTING, "0")
        .unwrap();
    let full = sync(&ws, &standby).await;
    assert_eq!(full.full_tables.len(), SHARED_TABLES.len(), "{full:?}");
    assert!(full.verification.full, "{full:?}");
    assert_mirrors_equal(&ws, &primary).await;
    // It says where the data came from, and as of when: the seed was just replayed.
    assert!(
        full.notes.iter().any(|n| n.starts_with(
            "read from a hot standby (a read-only replica): the newest change it had replayed \
             was committed just now"
        )),
        "{:?}",
        full.notes
    );

    // Written on the primary, read from the standby once replayed: an update, a delete and an
    // insert arrive as changes, checked from them.
    sql(
        &url,
        &format!(
            "UPDATE prices SET close = close + 1 WHERE asset_id = '{asset}';
             DELETE FROM fund_flows WHERE id = (SELECT id FROM fund_flows ORDER BY id LIMIT 1);
             INSERT INTO prices (asset_id, date, close)
               SELECT asset_id, max(date) + 1, 100 FROM prices WHERE asset_id = '{asset}'
               GROUP BY asset_id;",
            asset = data.prices[0].asset_id
        ),
    )
    .await;
    testing::wait_for_replay(&url, &standby_admin).await;
    let delta = sync(&ws, &standby).await;
    assert!(delta.full_tables.is_empty(), "{delta:?}");
    assert!(delta.rows_in > 1 && delta.rows_deleted == 1, "{delta:?}");
    let checks = &delta.verification.checked;
    assert!(
        checks
            .iter()
            .all(|c| c.from_changes && c.repaired.is_none()),
        "{:?}",
        delta.verification
    );
    assert!(delta.verification.nav_totals_match);
    assert_mirrors_equal(&ws, &primary).await;
    let again = sync(&ws, &standby).await;
    assert_eq!((again.rows_in, again.rows_deleted), (0, 0), "{again:?}");
    // The primary itself is not a standby.
    let from_primary = sync(&workspace(&dir, "primary.duckdb"), &primary).await;
    assert!(
        from_primary.notes.iter().all(|n| !n.contains("standby")),
        "{:?}",
        from_primary.notes
    );
}

/// A hot standby that replays a cleanup its primary made of rows a sync's snapshot still
/// reads cancels that read ("conflict with recovery"): the run fails saying what happened and
/// what to do, nothing is applied, and the next run succeeds.
#[tokio::test(flavor = "multi_thread")]
async fn a_standby_cancelling_a_syncs_read_fails_the_run_cleanly_and_the_next_succeeds() {
    let _serial = SERIAL.lock().await;
    let Some((url, primary, standby_admin, standby, data)) =
        seeded_with_standby("standby_conflict").await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "standby.duckdb");
    sync(&ws, &standby).await;
    let before = ws.mirror_checksums().unwrap();

    // Something for the next run to copy, replayed on the standby.
    let asset = &data.prices[0].asset_id;
    sql(
        &url,
        &format!("UPDATE prices SET close = close + 1 WHERE asset_id = '{asset}'"),
    )
    .await;
    testing::wait_for_replay(&url, &standby_admin).await;
    // The standby cancels a conflicting read at once rather than after its default 30 s.
    let set_delay = |delay: &'static str| {
        let standby_admin = standby_admin.clone();
        async move {
            sql(
                &standby_admin,
                &format!("ALTER SYSTEM SET max_standby_streaming_delay = '{delay}'"),
            )
            .await;
            sql(&standby_admin, "SELECT pg_reload_conf()").await;
        }
    };
    set_delay("10ms").await;

    // While the run copies, the primary deletes rows its snapshot sees and vacuums them away;
    // the run waits until the standby has replayed that.
    let mut provoked = false;
    let (primary_url, replica) = (url.clone(), standby_admin.clone());
    let failed = workflows::sync(&ws, &standby, &SyncOptions::default(), &mut |step| {
        if provoked || !matches!(step, SyncProgress::Copying { .. }) {
            return;
        }
        provoked = true;
        let (primary_url, replica) = (primary_url.clone(), replica.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                sql(
                    &primary_url,
                    "DELETE FROM prices WHERE id IN (SELECT id FROM prices LIMIT 100)",
                )
                .await;
                sql(&primary_url, "VACUUM prices").await;
                testing::wait_for_replay(&primary_url, &replica).await;
            });
        })
        .join()
        .unwrap();
    })
    .await;
    set_delay("30s").await;
    assert!(provoked, "the run copied nothing");
    let error = failed
        .expect_err("the standby cancels the run's read")
        .to_string();
    // Postgres' words and detail (not the line of its C source the driver would add), then
    // what to do.
    assert!(error.contains("due to conflict with recovery"), "{error}");
    assert!(
        error.contains("(User query might have needed to see row versions that must be removed"),
        "{error}"
    );
    assert!(!error.contains(" at line "), "{error}");
    assert!(error.contains("nothing was applied: sync again"), "{error}");
    assert_eq!(ws.mirror_checksums().unwrap(), before, "nothing applied");
    let run = &ws.sync_runs(1).unwrap()[0];
    assert_eq!(run.status, "failed");
    assert!(
        run.error
            .as_deref()
            .unwrap()
            .contains("conflict with recovery"),
        "{run:?}"
    );

    testing::wait_for_replay(&url, &standby_admin).await;
    let again = sync(&ws, &standby).await;
    assert!(again.rows_in > 0 && again.rows_deleted == 100, "{again:?}");
    assert_mirrors_equal(&ws, &primary).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn one_run_reads_every_table_from_one_snapshot() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, data)) = seeded("snapshot").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "ws.duckdb");
    let portfolio = data.portfolios[0].id.clone();
    let last = data.nav_history(&portfolio).last().unwrap().date;
    // As the first table starts copying, another session moves NAV and one position together
    // (as the shared database's writers do). The run must show neither, whichever of its two
    // connections copies those tables.
    let mut written = false;
    let writer_url = url.clone();
    let p = portfolio.clone();
    workflows::sync(&ws, &spec, &SyncOptions::default(), &mut |step| {
        if matches!(step, SyncProgress::Copying { .. }) && !written {
            written = true;
            let (url, p) = (writer_url.clone(), p.clone());
            std::thread::spawn(move || {
                tokio::runtime::Runtime::new().unwrap().block_on(sql(
                    &url,
                    &format!(
                        "BEGIN;
                         UPDATE portfolio_nav SET nav = nav + 1000
                           WHERE portfolio_id = '{p}' AND date = '{last}';
                         UPDATE positions SET market_value = market_value + 1000
                           WHERE id = (SELECT id FROM positions WHERE portfolio_id = '{p}'
                                       AND date = '{last}' ORDER BY id LIMIT 1);
                         COMMIT;"
                    ),
                ))
            })
            .join()
            .unwrap();
        }
    })
    .await
    .unwrap();
    assert!(written);
    let reconcile = |ws: &Workspace| {
        let nav = ws.nav_history(&portfolio).unwrap();
        let totals = ws.position_totals(&portfolio).unwrap();
        let (point, (date, total)) = (nav.last().unwrap(), totals.last().unwrap());
        assert_eq!(
            (point.date, point.nav),
            (*date, *total),
            "NAV = Σ positions"
        );
        point.nav
    };
    let before = reconcile(&ws);
    assert_eq!(before, data.nav_history(&portfolio).last().unwrap().nav);
    assert!(
        ws.sync_runs(1).unwrap()[0]
            .verification
            .as_deref()
            .is_some_and(|v| !v.contains("repaired")),
        "nothing to repair: both connections read the same snapshot"
    );
    sync(&ws, &spec).await;
    assert_eq!(reconcile(&ws), before + rust_decimal::Decimal::from(1000));
    assert_mirrors_equal(&ws, &spec).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn verification_finds_and_repairs_a_tampered_mirror() {
    let _serial = SERIAL.lock().await;
    // Damage the file behind the app's back: lost rows, a wrong amount, a stale version.
    let Some((spec, _dir, path)) = synced_then_tampered(
        "repair",
        "DELETE FROM positions WHERE id IN (SELECT id FROM positions ORDER BY id LIMIT 5);
         UPDATE portfolio_nav SET nav = nav + 0.01
           WHERE id = (SELECT id FROM portfolio_nav ORDER BY id LIMIT 1);
         UPDATE risk_limits SET updated_at = to_timestamp(epoch_us(updated_at) / 1e6 - 86400)
           WHERE id = (SELECT id FROM risk_limits ORDER BY id LIMIT 1);",
    )
    .await
    else {
        return;
    };
    let ws = Workspace::open(&path).unwrap();
    let summary = workflows::sync(
        &ws,
        &spec,
        &SyncOptions {
            verify_all: true,
            ..Default::default()
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    let repaired: Vec<&str> = summary
        .verification
        .checked
        .iter()
        .filter(|c| c.repaired.is_some())
        .map(|c| c.table.as_str())
        .collect();
    assert_eq!(repaired, ["positions", "portfolio_nav", "risk_limits"]);
    assert!(summary.verification.nav_totals_match);
    assert_mirrors_equal(&ws, &spec).await;
    let history = ws.sync_runs(1).unwrap();
    let recorded = history[0].verification.as_deref().unwrap();
    assert!(recorded.contains("3 repaired"), "{recorded}");
    assert!(recorded.contains("positions: "), "{recorded}");
}

#[tokio::test(flavor = "multi_thread")]
async fn nav_moved_between_portfolios_is_caught_by_the_nav_totals_alone() {
    let _serial = SERIAL.lock().await;
    // One NAV row moved to another portfolio behind the app's back: the table's count,
    // versions and column sums stay the same, so its checksum cannot tell; the per-portfolio
    // NAV totals can.
    let Some((spec, _dir, path)) = synced_then_tampered(
        "nav_totals",
        "UPDATE portfolio_nav
           SET portfolio_id = (SELECT max(portfolio_id) FROM portfolio_nav)
         WHERE id = (SELECT id FROM portfolio_nav
                     WHERE portfolio_id <> (SELECT max(portfolio_id) FROM portfolio_nav)
                     ORDER BY id LIMIT 1);",
    )
    .await
    else {
        return;
    };
    let ws = Workspace::open(&path).unwrap();
    let summary = sync(&ws, &spec).await;
    let repaired: Vec<(&str, &str)> = summary
        .verification
        .checked
        .iter()
        .filter_map(|c| c.repaired.as_deref().map(|r| (c.table.as_str(), r)))
        .collect();
    assert_eq!(repaired, [("portfolio_nav", "NAV totals differed")]);
    assert!(summary.verification.nav_totals_match);
    assert_mirrors_equal(&ws, &spec).await;
    let again = sync(&ws, &spec).await;
    assert!(
        again
            .verification
            .checked
            .iter()
            .all(|c| c.repaired.is_none()),
        "{:?}",
        again.verification
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_run_checks_every_table_from_its_changes_truncates_included() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, data)) = seeded("from_changes").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.duckdb");
    let ws = Workspace::open(&path).unwrap();
    // Every table counts as large here, so none is summed whole in Postgres after the first run.
    ws.set_setting(workflows::sync::SMALL_TABLE_ROWS_SETTING, "0")
        .unwrap();
    let first = sync(&ws, &spec).await;
    assert!(first.verification.full);

    write_every_kind(&url, &data).await;
    let second = sync(&ws, &spec).await;
    assert_eq!(
        second.full_tables,
        ["fund_flows"],
        "a TRUNCATE pulls that table whole"
    );
    assert_mirrors_equal(&ws, &spec).await;
    let checks = &second.verification.checked;
    assert_eq!(checks.len(), SHARED_TABLES.len(), "every table, every run");
    let from_changes = |table: &str| {
        checks
            .iter()
            .find(|c| c.table == table)
            .unwrap()
            .from_changes
    };
    for table in ["prices", "positions", "risk_limits", "trades", "assets"] {
        assert!(from_changes(table), "{table}: {:?}", second.verification);
    }
    assert!(!from_changes("fund_flows"), "pulled whole, so summed whole");
    // The derivation itself must hold: a wrong one would show here as a repair.
    assert!(
        checks.iter().all(|c| c.repaired.is_none()),
        "{:?}",
        second.verification
    );
    assert!(second.verification.summary().contains("from their changes"));
    let fund_flows = ws
        .mirror_checksums()
        .unwrap()
        .into_iter()
        .find(|(t, _)| *t == "fund_flows")
        .unwrap()
        .1;
    assert_eq!(fund_flows.rows, 0);
    drop(ws);

    // Damage the laptop's copy of a large table behind the app's back, with nothing changed in
    // Postgres: the next ordinary run (no --verify) finds it from the agreed checksum.
    duckdb::Connection::open(&path)
        .unwrap()
        .execute_batch(
            "UPDATE prices SET close = close + 0.01 WHERE id = (SELECT id FROM prices ORDER BY id LIMIT 1)",
        )
        .unwrap();
    let ws = Workspace::open(&path).unwrap();
    let third = sync(&ws, &spec).await;
    assert!(!third.verification.full);
    let repaired: Vec<(&str, &str)> = third
        .verification
        .checked
        .iter()
        .filter_map(|c| c.repaired.as_deref().map(|r| (c.table.as_str(), r)))
        .collect();
    assert_eq!(repaired.len(), 1, "{repaired:?}");
    assert_eq!(repaired[0].0, "prices");
    assert!(repaired[0].1.contains("sum of close"), "{repaired:?}");
    assert_mirrors_equal(&ws, &spec).await;
    let fourth = sync(&ws, &spec).await;
    assert!(fourth
        .verification
        .checked
        .iter()
        .all(|c| c.repaired.is_none()));
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_in_replica_mode_are_versioned_and_tombstoned_like_any_other() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, data, _dir, ws)) =
        synced_checking_every_table_from_its_changes("replica_role").await
    else {
        return;
    };

    // The role logical replication's apply worker writes with, which skips ordinary triggers.
    let asset = &data.prices[0].asset_id;
    sql(
        &url,
        &format!(
            "SET session_replication_role = replica;
             UPDATE prices SET close = close + 1
               WHERE id IN (SELECT id FROM prices WHERE asset_id = '{asset}' ORDER BY date LIMIT 2);
             DELETE FROM positions WHERE id = (SELECT id FROM positions ORDER BY id LIMIT 1);
             TRUNCATE fund_flows;"
        ),
    )
    .await;
    let (second, copied) = sync_copying(&ws, &spec).await;
    assert_eq!(second.full_tables, ["fund_flows"], "{second:?}");
    assert!(copied.contains("prices"), "the update travels: {copied:?}");
    assert_eq!(
        second.rows_deleted,
        1 + data.fund_flows.len() as u64,
        "the delete left a tombstone, the TRUNCATE its marker: {second:?}"
    );
    assert_mirrors_equal(&ws, &spec).await;
    assert!(
        second
            .verification
            .checked
            .iter()
            .all(|c| c.repaired.is_none()),
        "found by the sync itself, not by a repair: {:?}",
        second.verification
    );
}

/// A subscriber of logical replication (a reporting copy of the firm's database, say) is a
/// source like any other. Its apply worker is the real thing the replica-mode test above
/// imitates, with more to it: it writes with `session_replication_role = replica`, with an
/// empty `search_path` (a trigger function naming a table without its schema would stop the
/// replication), and fires row triggers and `TRUNCATE`'s statement triggers but no other
/// statement trigger. Updates, deletes, a changed id and a `TRUNCATE` made on the publisher
/// reach a laptop synced from the subscriber, checked from their changes with nothing to
/// repair, and the laptop holds the publisher's rows. The `tombstones` table is published
/// too, so the subscriber also receives the publisher's tombstones, stamped with its own
/// transaction ids as they arrive: a delete then deletes twice on the laptop, which changes
/// nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_subscriber_of_logical_replication_syncs_like_its_publisher() {
    let _serial = SERIAL.lock().await;
    let Some(admin) = testing::logical_replication_cluster().await else {
        return;
    };
    let (publisher_url, publisher, data) = seeded("logical_pub").await.unwrap();
    let subscriber_url = testing::fresh_database(&admin, "logical_sub").await;
    let subscriber = ConnectSpec::new(&subscriber_url, None);
    let pool = subscriber.connect().await.unwrap();
    ballast_pg::migrate(&pool).await.unwrap();
    pool.close().await;
    // Every table of the schema but the migrations' own record, which each side keeps.
    let tables = testing::postgres_csv(
        &publisher_url,
        "SELECT tablename FROM pg_tables
         WHERE schemaname = 'public' AND tablename <> '_sqlx_migrations' ORDER BY 1",
    )
    .await;
    let tables: Vec<&str> = std::str::from_utf8(&tables).unwrap().lines().collect();
    assert!(tables.contains(&"tombstones"), "{tables:?}");
    let subscription = testing::subscribe(&publisher_url, &subscriber_url, &tables).await;
    testing::wait_for_subscriber(&publisher_url, &subscriber_url, &subscription).await;
    // The laptop's rows and the publisher's, compared by what the rows hold: the subscriber
    // stamps `updated_at` itself when it applies a row, as it stamps `sync_xid`.
    let holds_the_publishers_rows = |ws: &Workspace| {
        let ws = ws.mirror_checksums().unwrap();
        let publisher = publisher.clone();
        async move {
            for ((table, expected), (_, laptop)) in
                testing::checksums(&publisher).await.iter().zip(&ws)
            {
                assert_eq!(
                    (expected.rows, &expected.sums),
                    (laptop.rows, &laptop.sums),
                    "{table}"
                );
            }
        }
    };

    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "subscriber.duckdb");
    // Every table counts as large, so the second run checks each from its changes.
    ws.set_setting(workflows::sync::SMALL_TABLE_ROWS_SETTING, "0")
        .unwrap();
    let first = sync(&ws, &subscriber).await;
    assert_eq!(first.full_tables.len(), SHARED_TABLES.len(), "{first:?}");
    assert_mirrors_equal(&ws, &subscriber).await;
    holds_the_publishers_rows(&ws).await;
    // It says where the data came from, and that its subscription is keeping up.
    let heard = format!(
        "read from a subscriber of logical replication: subscription {subscription} last heard \
         from its publisher "
    );
    assert!(
        first.notes.iter().any(|n| n.starts_with(&heard)),
        "{:?}",
        first.notes
    );

    write_every_kind(&publisher_url, &data).await;
    testing::wait_for_subscriber(&publisher_url, &subscriber_url, &subscription).await;
    let (second, copied) = sync_copying(&ws, &subscriber).await;
    assert_eq!(second.full_tables, ["fund_flows"], "{second:?}");
    for table in ["prices", "fx_rates", "risk_limits"] {
        assert!(copied.contains(table), "{table} travels: {copied:?}");
    }
    // The position, the fx rate's old id and every flow (each delete recorded twice: once by
    // the subscriber's trigger, once in the publisher's tombstones it received).
    assert_eq!(
        second.rows_deleted,
        2 + data.fund_flows.len() as u64,
        "{second:?}"
    );
    for check in &second.verification.checked {
        assert_eq!(check.from_changes, check.table != "fund_flows", "{check:?}");
        assert!(check.repaired.is_none(), "{check:?}");
    }
    assert!(second.verification.nav_totals_match);
    assert_mirrors_equal(&ws, &subscriber).await;
    holds_the_publishers_rows(&ws).await;
    let again = sync(&ws, &subscriber).await;
    assert_eq!((again.rows_in, again.rows_deleted), (0, 0), "{again:?}");

    // The publisher empties its tombstones. The TRUNCATE empties the subscriber's too, its
    // own among them, and the subscriber's statement trigger marks every table: the next run
    // checks each whole and finds nothing to repair. (The price changed after it is applied
    // after it, so once the subscriber shows the price, it has applied the TRUNCATE.)
    sql(&publisher_url, "TRUNCATE tombstones").await;
    sql(
        &publisher_url,
        &format!(
            "UPDATE prices SET close = close + 1
               WHERE id = (SELECT id FROM prices WHERE asset_id = '{}' ORDER BY date LIMIT 1)",
            data.prices[0].asset_id
        ),
    )
    .await;
    testing::wait_for_subscriber(&publisher_url, &subscriber_url, &subscription).await;
    let after_truncate = sync(&ws, &subscriber).await;
    assert_eq!(after_truncate.rows_deleted, 0, "{after_truncate:?}");
    for check in &after_truncate.verification.checked {
        assert!(!check.from_changes, "checked whole: {check:?}");
        assert!(check.repaired.is_none(), "{check:?}");
    }
    assert_mirrors_equal(&ws, &subscriber).await;
    holds_the_publishers_rows(&ws).await;

    // A subscription turned off: the subscriber's data stops, and the runs say so.
    sql(
        &subscriber_url,
        &format!("ALTER SUBSCRIPTION {subscription} DISABLE"),
    )
    .await;
    let disabled = sync(&ws, &subscriber).await;
    assert!(
        disabled.notes.contains(&format!(
            "read from a subscriber of logical replication whose subscription {subscription} is \
             disabled: anything its publisher committed since is not in this sync"
        )),
        "{:?}",
        disabled.notes
    );
    // The publisher itself subscribes to nothing.
    let from_publisher = sync(&workspace(&dir, "publisher.duckdb"), &publisher).await;
    assert!(
        from_publisher.notes.iter().all(|n| !n.contains("subscri")),
        "{:?}",
        from_publisher.notes
    );

    // Dropping the subscription drops its slot on the publisher, which would otherwise keep
    // the publisher's WAL for ever.
    sql(
        &subscriber_url,
        &format!("DROP SUBSCRIPTION {subscription}"),
    )
    .await;
}

/// Writes made while a sync trigger was off (a bulk load with `DISABLE TRIGGER`, a dropped
/// and re-created trigger) leave no version and no tombstone. Whether the trigger is still off
/// at the next run (the catalog says so) or was back on by then (the `ALTER TABLE` left a
/// marker), the table is checked whole instead of from its changes, the laptop is repaired,
/// and the run says why.
#[tokio::test(flavor = "multi_thread")]
async fn writes_made_while_a_sync_trigger_was_off_are_found_and_repaired() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, _data, _dir, ws)) =
        synced_checking_every_table_from_its_changes("triggers_off").await
    else {
        return;
    };

    // (what the owner does between two runs, the table it hides a write in, what the run says)
    let episodes = [
        (
            "ALTER TABLE prices DISABLE TRIGGER prices_updated_at;
             UPDATE prices SET close = close + 1 WHERE id = (SELECT id FROM prices ORDER BY id LIMIT 1);",
            "prices",
            "prices: prices_updated_at is disabled, so some writes to it may leave no trace",
        ),
        (
            "ALTER TABLE positions DISABLE TRIGGER ALL;
             DELETE FROM positions WHERE id = (SELECT id FROM positions ORDER BY id LIMIT 1);",
            "positions",
            "positions: positions_updated_at is disabled, positions_tombstone is disabled, \
             positions_truncate is disabled",
        ),
        (
            "ALTER TABLE trades ENABLE TRIGGER trades_updated_at;
             SET session_replication_role = replica;
             UPDATE trades SET fees = fees + 1 WHERE id = (SELECT id FROM trades ORDER BY id LIMIT 1);",
            "trades",
            "trades: trades_updated_at does not fire for writers in replica mode",
        ),
        // Off and on again in one transaction: the catalog shows nothing amiss.
        (
            "BEGIN;
             ALTER TABLE fx_rates DISABLE TRIGGER fx_rates_updated_at;
             UPDATE fx_rates SET rate = rate * 2 WHERE id = (SELECT id FROM fx_rates ORDER BY id LIMIT 1);
             ALTER TABLE fx_rates ENABLE ALWAYS TRIGGER fx_rates_updated_at;
             COMMIT;",
            "fx_rates",
            "fx_rates was altered since the last sync",
        ),
        (
            "DROP TRIGGER portfolio_nav_tombstone ON portfolio_nav;
             DELETE FROM portfolio_nav WHERE id = (SELECT id FROM portfolio_nav ORDER BY id LIMIT 1);
             CREATE TRIGGER portfolio_nav_tombstone AFTER DELETE ON portfolio_nav
               FOR EACH ROW EXECUTE FUNCTION record_tombstone();
             ALTER TABLE portfolio_nav ENABLE ALWAYS TRIGGER portfolio_nav_tombstone;",
            "portfolio_nav",
            "portfolio_nav was altered since the last sync",
        ),
        // The tombstones' own trigger off while one is removed: the delete it recorded would
        // reach no laptop.
        (
            "DELETE FROM fund_flows WHERE id = (SELECT id FROM fund_flows ORDER BY id LIMIT 1);
             ALTER TABLE tombstones DISABLE TRIGGER tombstones_deleted;
             DELETE FROM tombstones WHERE table_name = 'fund_flows';
             ALTER TABLE tombstones ENABLE ALWAYS TRIGGER tombstones_deleted;",
            "fund_flows",
            "tombstones (Postgres' record of deleted rows) were pruned, or their table altered, \
             since the last sync",
        ),
        // The same, left off.
        (
            "DELETE FROM fund_flows WHERE id = (SELECT id FROM fund_flows ORDER BY id LIMIT 1);
             ALTER TABLE tombstones DISABLE TRIGGER tombstones_deleted;
             DELETE FROM tombstones WHERE table_name = 'fund_flows';",
            "fund_flows",
            "tombstones: tombstones_deleted is disabled, so a tombstone removed meanwhile may \
             leave no trace for the sync",
        ),
    ];
    for (statements, table, note) in episodes {
        sql(&url, statements).await;
        let summary = sync(&ws, &spec).await;
        let notes = summary.notes.join("\n");
        assert!(notes.contains(note), "{table}: {notes}");
        let check = summary
            .verification
            .checked
            .iter()
            .find(|c| c.table == table)
            .unwrap();
        assert!(!check.from_changes, "{table} is summed whole");
        assert!(
            check.repaired.is_some(),
            "{table}: {:?}",
            summary.verification
        );
        assert_mirrors_equal(&ws, &spec).await;
    }

    // Still off: every run checks those tables whole and says why, with nothing to repair.
    let summary = sync(&ws, &spec).await;
    let notes = summary.notes.join("\n");
    for table in ["prices", "positions", "trades"] {
        assert!(notes.contains(&format!("{table}: {table}_")), "{notes}");
    }
    assert!(
        notes.contains("tombstones: tombstones_deleted is disabled"),
        "{notes}"
    );
    assert!(summary.verification.checked.iter().all(|c| !c.from_changes));
    assert!(!notes.contains("was altered"), "{notes}");
    assert!(summary
        .verification
        .checked
        .iter()
        .all(|c| c.repaired.is_none()));

    // Back on as the migrations leave them: one more whole check (the ALTER left its marker),
    // then from their changes again, with nothing to say.
    sql(
        &url,
        "ALTER TABLE prices ENABLE ALWAYS TRIGGER prices_updated_at;
         ALTER TABLE positions ENABLE TRIGGER ALL;
         ALTER TABLE positions ENABLE ALWAYS TRIGGER positions_updated_at;
         ALTER TABLE positions ENABLE ALWAYS TRIGGER positions_tombstone;
         ALTER TABLE positions ENABLE ALWAYS TRIGGER positions_truncate;
         ALTER TABLE trades ENABLE ALWAYS TRIGGER trades_updated_at;
         ALTER TABLE tombstones ENABLE ALWAYS TRIGGER tombstones_deleted;",
    )
    .await;
    let summary = sync(&ws, &spec).await;
    let notes = summary.notes.join("\n");
    for table in ["prices", "positions", "trades"] {
        assert!(
            notes.contains(&format!("{table} was altered since the last sync")),
            "{notes}"
        );
    }
    assert!(
        notes.contains(
            "tombstones (Postgres' record of deleted rows) were pruned, or their table altered"
        ),
        "{notes}"
    );
    let summary = sync(&ws, &spec).await;
    assert!(summary.notes.is_empty(), "{:?}", summary.notes);
    assert!(summary.verification.checked.iter().all(|c| c.from_changes));
    assert_mirrors_equal(&ws, &spec).await;
}

/// A row whose id an `UPDATE` changes leaves its old id behind as surely as a delete: the
/// laptop drops the old id and takes the new one, in a table checked from its changes too.
#[tokio::test(flavor = "multi_thread")]
async fn a_row_given_a_new_id_leaves_its_old_id_on_no_laptop() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, _data, _dir, ws)) =
        synced_checking_every_table_from_its_changes("rekeyed").await
    else {
        return;
    };
    sql(
        &url,
        "UPDATE fx_rates SET id = gen_random_uuid()
         WHERE id = (SELECT id FROM fx_rates ORDER BY id LIMIT 1);
         UPDATE positions SET id = gen_random_uuid(), quantity = quantity + 1
         WHERE id IN (SELECT id FROM positions ORDER BY id LIMIT 2);",
    )
    .await;
    let summary = sync(&ws, &spec).await;
    assert!(summary.notes.is_empty(), "{:?}", summary.notes);
    for check in &summary.verification.checked {
        assert!(check.from_changes, "{}", check.table);
        assert!(
            check.repaired.is_none(),
            "{}: {:?}",
            check.table,
            check.repaired
        );
    }
    assert_eq!(summary.rows_deleted, 3);
    assert_mirrors_equal(&ws, &spec).await;
}

/// Tombstones pruned from the shared database (`sync_prune_tombstones`) leave a marker per
/// table that lost some, saying how far they reached: a laptop whose last run came before
/// some of them checks those tables whole, so the deletes it never got still leave it; a
/// laptop that had the deletes but not every removed tombstone (here, their rewritten
/// versions) checks whole and repairs nothing; one that had read every tombstone removed
/// checks from changes as usual. The run after goes back to checking from changes.
#[tokio::test(flavor = "multi_thread")]
async fn deletes_whose_tombstones_were_pruned_still_leave_a_laptop_behind() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, _data, dir, behind)) =
        synced_checking_every_table_from_its_changes("pruned").await
    else {
        return;
    };
    sql(
        &url,
        "DELETE FROM positions WHERE id IN (SELECT id FROM positions ORDER BY id LIMIT 2);
         DELETE FROM portfolio_nav WHERE id = (SELECT id FROM portfolio_nav ORDER BY id LIMIT 1);",
    )
    .await;
    let laptop = |name: &str| {
        let ws = workspace(&dir, name);
        ws.set_setting(workflows::sync::SMALL_TABLE_ROWS_SETTING, "0")
            .unwrap();
        ws
    };
    // This laptop gets the deletes, then sleeps through what follows.
    let between = laptop("between.duckdb");
    sync(&between, &spec).await;
    sync(&between, &spec).await;
    // Forty days on (the tombstones backdated: an owner's rewrite, itself marked, with how
    // far the rewritten ones reached).
    sql(
        &url,
        "UPDATE tombstones SET deleted_at = now() - interval '40 days'",
    )
    .await;
    // This one syncs daily: it has read every tombstone, rewritten ones included.
    let current = laptop("current.duckdb");
    sync(&current, &spec).await;
    sync(&current, &spec).await;
    // The owner prunes what is older than thirty days.
    sql(&url, "SELECT sync_prune_tombstones('30 days')").await;
    let gone: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tombstones WHERE row_id <> 'ffffffff-ffff-ffff-ffff-fffffffffffe'",
    )
    .fetch_one(&mut spec.connect_one().await.unwrap())
    .await
    .unwrap();
    assert_eq!(gone, 0, "every tombstone was pruned");

    let want_note = "tombstones (Postgres' record of deleted rows) were pruned, or their table \
                     altered, since the last sync, so a delete might not have reached this \
                     laptop: positions, portfolio_nav were checked whole against Postgres";
    // (laptop, whether it checks the two tables whole, whether it must pull them again)
    for (ws, checked_whole, repaired) in [
        (&behind, true, true),
        (&between, true, false),
        (&current, false, false),
    ] {
        let summary = sync(ws, &spec).await;
        let want_notes: Vec<String> = if checked_whole {
            vec![want_note.to_string()]
        } else {
            Vec::new()
        };
        assert_eq!(summary.notes, want_notes);
        for check in &summary.verification.checked {
            let pruned = ["positions", "portfolio_nav"].contains(&check.table.as_str());
            assert_eq!(
                check.from_changes,
                !(pruned && checked_whole),
                "{}",
                check.table
            );
            assert_eq!(
                check.repaired.is_some(),
                pruned && repaired,
                "{}: {:?}",
                check.table,
                check.repaired
            );
        }
        assert_mirrors_equal(ws, &spec).await;
        let summary = sync(ws, &spec).await;
        assert!(summary.notes.is_empty(), "{:?}", summary.notes);
        assert!(summary.verification.checked.iter().all(|c| c.from_changes));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_verification_reclaims_what_deletes_left_an_ordinary_run_does_not() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, data)) = seeded("compaction").await else {
        return;
    };
    // Enough prices for several of DuckDB's row groups (122,880 rows each).
    sql(
        &url,
        &format!(
            "INSERT INTO prices (asset_id, date, close)
             SELECT '{}', date '0001-01-01' + d, 100 FROM generate_series(0, 399999) d",
            data.assets[0].id
        ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ws.duckdb");
    // Counted on the closed file, as the next start of the app finds it.
    let row_groups = || -> i64 {
        duckdb::Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('prices')",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let run = |verify_all: bool| {
        let (path, spec) = (path.clone(), spec.clone());
        async move {
            let ws = Workspace::open(&path).unwrap();
            let options = SyncOptions {
                verify_all,
                ..SyncOptions::default()
            };
            let summary = workflows::sync(&ws, &spec, &options, &mut |_| {})
                .await
                .unwrap();
            assert_mirrors_equal(&ws, &spec).await;
            summary
        }
    };
    run(false).await;
    let loaded = row_groups();
    assert!(loaded >= 4, "{loaded} row groups");

    // Three quarters of the added prices go, every row group thinned alike: an ordinary run
    // applies the deletes and keeps the row groups (merging them at every checkpoint cost more
    // than the delta). Spread, not a contiguous range: the load is parallel, so which row
    // group holds a row is chance, and DuckDB leaves a table's last row groups unmerged unless
    // the merge at least doubles the first of them (so that small appends do not rewrite the
    // table's end over and over). With every group thinned to about a quarter, what is left
    // merges whatever the layout.
    sql(
        &url,
        "DELETE FROM prices
         WHERE date < date '0001-01-01' + 400000 AND (date - date '0001-01-01') % 4 <> 0",
    )
    .await;
    let ordinary = run(false).await;
    assert!(!ordinary.verification.full);
    assert_eq!(ordinary.rows_deleted, 300_000);
    let thinned = row_groups();
    assert_eq!(thinned, loaded, "no row group emptied, none merged");

    // A full verification (daily, or asked for) then compacts the workspace: what is left
    // fits one row group.
    let full = run(true).await;
    assert!(full.verification.full && full.rows_in == 0, "{full:?}");
    let compacted = row_groups();
    assert_eq!(compacted, 1, "{thinned} row groups before, {loaded} loaded");
}

#[tokio::test(flavor = "multi_thread")]
async fn row_level_security_changes_are_followed_both_ways() {
    let _serial = SERIAL.lock().await;
    let Some((url, _spec, data)) = seeded("rlschange").await else {
        return;
    };
    let (login, lp) = testing::lp_login(&url, &data.investors[3].id).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "lp.duckdb");
    sync(&ws, &lp).await;
    assert_mirrors_equal(&ws, &lp).await;
    let codes = |ws: &Workspace| -> Vec<String> {
        ws.portfolios()
            .unwrap()
            .into_iter()
            .map(|p| p.code)
            .collect()
    };
    let visible = codes(&ws);
    let hidden = data
        .portfolios
        .iter()
        .find(|p| !p.lp_visible)
        .expect("the demo hides a portfolio");
    let shown = data
        .portfolios
        .iter()
        .find(|p| p.lp_visible)
        .expect("the demo shows a portfolio");

    // Narrowing: a visible fund is hidden. Its rows do not change, yet they must leave.
    sql(
        &url,
        &format!(
            "UPDATE portfolios SET lp_visible = false WHERE id = '{}'",
            shown.id
        ),
    )
    .await;
    let narrowed = sync(&ws, &lp).await;
    assert!(!codes(&ws).contains(&shown.code), "{narrowed:?}");
    assert!(ws.nav_history(&shown.id).unwrap().is_empty());
    assert!(narrowed.rows_deleted > 0);
    assert_mirrors_equal(&ws, &lp).await;

    // Widening: a hidden fund is shown; its old rows arrive.
    sql(
        &url,
        &format!(
            "UPDATE portfolios SET lp_visible = true WHERE id = '{}'",
            hidden.id
        ),
    )
    .await;
    sync(&ws, &lp).await;
    assert!(codes(&ws).contains(&hidden.code));
    assert_eq!(
        ws.nav_history(&hidden.id).unwrap().len(),
        data.nav_history(&hidden.id).len()
    );
    assert_mirrors_equal(&ws, &lp).await;
    assert_ne!(codes(&ws), visible);

    // A revoked grant empties the table on the laptop; granting it back refills it.
    sql(&url, "REVOKE SELECT ON fund_flows FROM lp_role").await;
    let revoked = sync(&ws, &lp).await;
    let counts = |ws: &Workspace, table: &str| {
        ws.table_counts()
            .unwrap()
            .into_iter()
            .find(|(t, _)| t == table)
            .unwrap()
            .1
    };
    assert_eq!(counts(&ws, "fund_flows"), 0);
    assert!(
        revoked.notes.iter().any(|n| n.contains("fund_flows")),
        "{:?}",
        revoked.notes
    );
    sql(&url, "GRANT SELECT ON fund_flows TO lp_role").await;
    sync(&ws, &lp).await;
    assert!(counts(&ws, "fund_flows") > 0);
    assert_mirrors_equal(&ws, &lp).await;
    sql(&url, &format!("DROP OWNED BY {login}; DROP ROLE {login};")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_row_updated_out_of_sight_leaves_the_laptop_of_a_table_checked_from_its_changes() {
    let _serial = SERIAL.lock().await;
    let Some((url, _spec, data)) = seeded("outofsight").await else {
        return;
    };
    let (login, lp) = testing::lp_login(&url, &data.investors[3].id).await;
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "lp.duckdb");
    ws.set_setting(workflows::sync::SMALL_TABLE_ROWS_SETTING, "0")
        .unwrap();
    sync(&ws, &lp).await;
    let shown = data.assets.iter().find(|a| a.lp_visible).unwrap();
    sql(
        &url,
        &format!(
            "UPDATE assets SET lp_visible = false WHERE id = '{}'",
            shown.id
        ),
    )
    .await;
    let second = sync(&ws, &lp).await;
    assert_mirrors_equal(&ws, &lp).await;
    let check = |summary: &SyncSummary, table: &str| {
        summary
            .verification
            .checked
            .iter()
            .find(|c| c.table == table)
            .unwrap()
            .clone()
    };
    // The asset is gone, and with it its prices and positions, whose visibility follows it.
    let assets = check(&second, "assets");
    assert!(!assets.from_changes, "{second:?}");
    let visible = data.assets.iter().filter(|a| a.lp_visible).count();
    assert_eq!(
        assets.repaired,
        Some(format!("{} rows vs {visible}", visible - 1)),
        "Postgres' count, then the laptop's: {second:?}"
    );
    for table in ["prices", "positions"] {
        assert!(
            check(&second, table).repaired.is_some(),
            "{table}: {second:?}"
        );
    }
    // Tables the LP sees whole, and tables no one wrote to, are still checked from changes.
    assert!(check(&second, "fx_rates").from_changes, "{second:?}");
    assert!(check(&second, "portfolios").from_changes, "{second:?}");

    let third = sync(&ws, &lp).await;
    assert!(
        third
            .verification
            .checked
            .iter()
            .all(|c| c.from_changes && c.repaired.is_none()),
        "nothing written since, so nothing summed whole: {third:?}"
    );
    assert_mirrors_equal(&ws, &lp).await;

    // A shared schema from before migration …07 cannot say who wrote what: every table the
    // LP sees only in part is summed whole, every run.
    sql(
        &url,
        "DROP FUNCTION sync_tables_written_since(text[], xid8[])",
    )
    .await;
    let fourth = sync(&ws, &lp).await;
    for table in ["assets", "prices", "positions", "portfolios"] {
        assert!(!check(&fourth, table).from_changes, "{table}: {fourth:?}");
    }
    assert!(check(&fourth, "fx_rates").from_changes, "{fourth:?}");
    assert_mirrors_equal(&ws, &lp).await;
    sql(&url, &format!("DROP OWNED BY {login}; DROP ROLE {login};")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn schema_drift_is_reported_never_a_crash() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, _data)) = seeded("drift").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "ws.duckdb");
    sync(&ws, &spec).await;
    sql(
        &url,
        "ALTER TABLE prices ADD COLUMN volume numeric;
         UPDATE prices SET volume = 1 WHERE id = (SELECT id FROM prices LIMIT 1);
         CREATE TABLE broker_fees (id uuid PRIMARY KEY, fee numeric);",
    )
    .await;
    let summary = sync(&ws, &spec).await;
    assert_eq!(summary.rows_in, 1, "the touched price still arrives");
    let notes = summary.notes.join("\n");
    assert!(
        notes.contains("prices has new column(s) not mirrored yet: volume"),
        "{notes}"
    );
    assert!(
        notes.contains("new table(s) not mirrored yet: broker_fees"),
        "{notes}"
    );
    assert_mirrors_equal(&ws, &spec).await;

    // A column Ballast needs disappears: a clear error, and the laptop keeps its data.
    let before = ws.mirror_checksums().unwrap();
    sql(&url, "ALTER TABLE risk_limits DROP COLUMN severity").await;
    let error = workflows::sync(&ws, &spec, &SyncOptions::default(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the shared table risk_limits does not match what Ballast mirrors: column severity is missing from Postgres"
    );
    assert_eq!(ws.mirror_checksums().unwrap(), before);
    let run = &ws.sync_runs(1).unwrap()[0];
    assert_eq!(run.status, "failed");
    assert!(run.error.as_deref().unwrap().contains("severity"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_sync_applies_nothing_and_says_so() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, _data)) = seeded("cancel").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "ws.duckdb");
    sync(&ws, &spec).await;
    sql(&url, "UPDATE prices SET close = close * 2").await;
    let before = ws.mirror_checksums().unwrap();
    let options = SyncOptions::default();
    let cancel = options.cancel.clone();
    let error = workflows::sync(&ws, &spec, &options, &mut |step| {
        if matches!(
            step,
            SyncProgress::Applied {
                table: "prices",
                ..
            }
        ) {
            cancel.store(true, Ordering::SeqCst);
        }
    })
    .await
    .unwrap_err();
    assert!(matches!(error, WorkflowError::Cancelled), "{error}");
    assert_eq!(ws.mirror_checksums().unwrap(), before, "nothing applied");
    assert_eq!(ws.sync_runs(1).unwrap()[0].status, "cancelled");
    // The next run picks the change up.
    sync(&ws, &spec).await;
    assert_mirrors_equal(&ws, &spec).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_wrong_password_and_tls_required_fail_clearly_and_keep_the_data() {
    let _serial = SERIAL.lock().await;
    let Some((_url, spec, _data)) = seeded("offline").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "ws.duckdb");
    sync(&ws, &spec).await;
    let before = ws.mirror_checksums().unwrap();
    let mut cases = vec![(
        ConnectSpec::new("postgres://nobody@127.0.0.1:1/db", Some("s3cret-pw".into())),
        "cannot reach",
    )];
    if let (Ok(scram), Ok(_)) = (
        std::env::var("BALLAST_PG_SCRAM_URL"),
        std::env::var("BALLAST_PG_SCRAM_PASSWORD"),
    ) {
        cases.push((
            ConnectSpec::new(&scram, Some("wrong-pw-123".into())),
            "password authentication failed",
        ));
    }
    if let Some((tls_url, _ca)) = testing::tls_cluster() {
        let plain = format!("{tls_url}?sslmode=disable");
        cases.push((ConnectSpec::new(&plain, None), "requires TLS"));
    }
    for (bad, expected) in cases {
        let error = workflows::sync(&ws, &bad, &SyncOptions::default(), &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{expected}: {error}");
        for secret in ["s3cret-pw", "wrong-pw-123"] {
            assert!(!error.contains(secret), "{error}");
        }
        assert_eq!(ws.mirror_checksums().unwrap(), before, "offline data kept");
        let run = &ws.sync_runs(1).unwrap()[0];
        assert_eq!(run.status, "failed");
        assert!(run.error.as_deref().unwrap().contains(expected));
    }
    // Still usable offline: the overview computes from the last synced data.
    let cards = workflows::overviews(&ws, None, ballast_engine::kpi::KpiConfig::default()).unwrap();
    assert_eq!(cards.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_outbox_delivers_once_backs_off_and_dead_letters() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, data)) = seeded("outbox").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "ws.duckdb");
    sync(&ws, &spec).await;
    let portfolio = &data.portfolios[0];
    let asset = &data.assets[0];
    let item =
        workflows::annotate(&ws, &portfolio.code, &asset.symbol, "trim into strength").unwrap();
    assert_eq!(item.status, "pending");
    // Offline: no attempt is spent.
    let offline = ConnectSpec::new("postgres://nobody@127.0.0.1:1/db", None);
    let now = Utc::now();
    assert!(workflows::outbox::drain(&ws, &offline, 3, now)
        .await
        .is_err());
    assert_eq!(ws.outbox_items(None).unwrap()[0].attempts, 0);

    let report = workflows::outbox::drain(&ws, &spec, 3, now).await.unwrap();
    assert_eq!((report.sent, report.failed), (1, 0));
    let pool = spec.connect().await.unwrap();
    let count = |key: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM annotations WHERE idempotency_key = $1",
            )
            .bind(key)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(count(item.idempotency_key.clone()).await, 1);
    // The acknowledgement was lost: the same entry is delivered again and writes nothing.
    let again = ballast_pg::outbox::deliver(
        &pool,
        &spec,
        &item.kind,
        &item.idempotency_key,
        &item.payload,
    )
    .await
    .unwrap();
    assert_eq!(again, ballast_pg::outbox::Delivery::AlreadyPresent);
    assert_eq!(count(item.idempotency_key.clone()).await, 1);

    // The server refuses a write (the asset is unknown to it): back off, then dead-letter.
    let stray = ws
        .add_annotation(
            &portfolio.id,
            &uuid::Uuid::now_v7().to_string(),
            "pm",
            "orphan",
        )
        .unwrap();
    let mut at = now;
    for expected in ["pending", "pending", "dead"] {
        let report = workflows::outbox::drain(&ws, &spec, 3, at).await.unwrap();
        let entry = ws
            .outbox_items(None)
            .unwrap()
            .into_iter()
            .find(|i| i.id == stray.id)
            .unwrap();
        assert_eq!(entry.status, expected, "{report:?}");
        assert!(entry.last_error.as_deref().unwrap().contains("annotation"));
        // Not due again before its backoff.
        let early = workflows::outbox::drain(&ws, &spec, 3, at).await.unwrap();
        assert_eq!(early.failed + early.dead, 0);
        at += Duration::hours(2);
    }
    assert_eq!(ws.outbox_counts().unwrap().dead, 1);
    assert_eq!(ws.outbox_retry_dead().unwrap(), 1);
    assert_eq!(ws.outbox_counts().unwrap().pending, 1);
    pool.close().await;
    let _ = url;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_published_scenario_is_written_once_however_often_it_is_delivered() {
    let _serial = SERIAL.lock().await;
    let Some((_url, spec, data)) = seeded("publish").await else {
        return;
    };
    let payload = serde_json::json!({
        "scenario": {
            "name": "rates +200bp", "author": "analyst", "version": 2,
            "shocks": [{"type": "parallel_rate", "bp": "200"}],
        },
        "results": data.portfolios.iter().map(|p| serde_json::json!({
            "portfolio_id": p.id, "as_of": "2026-10-30", "pnl": "-1234.56",
            "nav_after": "98765.43", "detail": {"positions": 12},
        })).collect::<Vec<_>>(),
    })
    .to_string();
    let pool = spec.connect().await.unwrap();
    let key = "scenario.publish:0199a0b1-0000-7000-8000-000000000001";
    let mut deliveries = Vec::new();
    for _ in 0..3 {
        deliveries.push(
            ballast_pg::outbox::deliver(&pool, &spec, "scenario.publish", key, &payload)
                .await
                .unwrap(),
        );
    }
    use ballast_pg::outbox::Delivery::{AlreadyPresent, Written};
    assert_eq!(deliveries, [Written, AlreadyPresent, AlreadyPresent]);
    let (scenarios, results, pnl): (i64, i64, rust_decimal::Decimal) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM scenarios WHERE name = 'rates +200bp' AND version = 2),
                (SELECT count(*) FROM scenario_results),
                (SELECT sum(pnl) FROM scenario_results)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((scenarios, results), (1, data.portfolios.len() as i64));
    assert_eq!(
        pnl,
        rust_decimal::Decimal::new(-123456, 2) * rust_decimal::Decimal::from(3)
    );
    // An unknown kind is refused, not guessed at.
    let error = ballast_pg::outbox::deliver(&pool, &spec, "mystery", "k", "{}")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("mystery"), "{error}");
    pool.close().await;
}

/// `(rows in the file, rows only in the file, rows only in the batch)`: the CSV of a whole
/// table and a delta's Arrow batch, both read by DuckDB as the sync loads them.
fn same_rows_in_duckdb(
    table: &ballast_engine::schema::SharedTable,
    csv: &std::path::Path,
    batch: &ballast_pg::snapshot::RecordBatch,
) -> (usize, i64, i64) {
    use duckdb::vtab::arrow::{ArrowBatchRegistration, ArrowVTab};
    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.register_table_function::<ArrowVTab>("arrow").unwrap();
    let file = ballast_storage::read_csv(table, csv);
    let registration = ArrowBatchRegistration::new(batch.clone());
    conn.query_row(
        &format!(
            "SELECT (SELECT count(*) FROM {file}),
                    (SELECT count(*) FROM (SELECT * FROM {file} EXCEPT ALL SELECT * FROM arrow(?))),
                    (SELECT count(*) FROM (SELECT * FROM arrow(?) EXCEPT ALL SELECT * FROM {file}))"
        ),
        [&registration, &registration],
        |r| Ok((r.get::<_, i64>(0)? as usize, r.get(1)?, r.get(2)?)),
    )
    .unwrap()
}

/// The app keeps the run's two Postgres connections for the next run: the same server
/// backends serve it (handed back after the run returns, and waited for by the next, even
/// back to back over a slow network, but not for ever when the network goes quiet). One that died meanwhile (a server restart, an idle timeout) is replaced
/// without the run noticing; a run given no [`KeptConnections`] keeps none.
#[tokio::test(flavor = "multi_thread")]
async fn kept_connections_serve_the_next_run_and_a_dead_one_is_replaced() {
    use ballast_pg::snapshot::KeptConnections;
    use sqlx::Connection;
    let _serial = SERIAL.lock().await;
    let Some((url, spec, _)) = seeded("kept-connections").await else {
        return;
    };
    // The server backends connected to the test database, other than the one asking. A
    // backend whose client just left (the seed's, an earlier question's, a terminated one)
    // stays listed for a moment while it exits: asked until two answers 100 ms apart agree.
    let backends = || async {
        let ask = || async {
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let pids: Vec<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY pid",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            conn.close().await.ok();
            pids
        };
        let mut last = ask().await;
        for _ in 0..50 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let now = ask().await;
            if now == last {
                break;
            }
            last = now;
        }
        last
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "kept.duckdb");
    let kept = std::sync::Arc::new(KeptConnections::default());
    let options = SyncOptions {
        connections: Some(kept.clone()),
        ..Default::default()
    };
    workflows::sync(&ws, &spec, &options, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        kept.idle().await,
        2,
        "both of the run's connections are kept"
    );
    let first = backends().await;
    assert_eq!(first.len(), 2, "{first:?}");
    workflows::sync(&ws, &spec, &options, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(
        backends().await,
        first,
        "the next run used the same backends"
    );

    sql(
        &url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await;
    let summary = workflows::sync(&ws, &spec, &options, &mut |_| {})
        .await
        .unwrap();
    assert!(summary
        .verification
        .checked
        .iter()
        .all(|c| c.repaired.is_none()));
    let replaced = backends().await;
    assert_eq!(replaced.len(), 2, "{replaced:?}");
    assert!(
        replaced.iter().all(|pid| !first.contains(pid)),
        "{replaced:?} vs {first:?}"
    );
    assert_mirrors_equal(&ws, &spec).await;

    // Over a network (25 ms each way), back to back: a run returns before its connections
    // have ended their read transactions, and the next waits for them to come back rather
    // than making new ones. (Another address is another source: the first run pulls whole.)
    let proxy = testing::delayed(&url, std::time::Duration::from_millis(25)).await;
    let far = ConnectSpec::new(&proxy.url, None);
    workflows::sync(&ws, &far, &options, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(kept.idle().await, 2);
    let far_backends = backends().await;
    assert_eq!(far_backends.len(), 2, "{far_backends:?}");
    for _ in 0..3 {
        workflows::sync(&ws, &far, &options, &mut |_| {})
            .await
            .unwrap();
    }
    assert_eq!(
        backends().await,
        far_backends,
        "back to back, the same backends"
    );

    // The network goes quiet as a run returns: its connections' COMMITs are never answered.
    // The next run waits for them only so long (the hand-back limit, shortened here), then
    // connects anew and goes through.
    let quick = std::sync::Arc::new(KeptConnections::with_hand_back_limit(
        std::time::Duration::from_millis(200),
    ));
    let quick_options = SyncOptions {
        connections: Some(quick.clone()),
        ..Default::default()
    };
    workflows::sync(&ws, &far, &quick_options, &mut |_| {})
        .await
        .unwrap();
    proxy.go_quiet();
    let after_quiet = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        workflows::sync(&ws, &far, &quick_options, &mut |_| {}),
    )
    .await
    .expect("the run does not wait for ever for connections that never come back")
    .unwrap();
    assert!(after_quiet
        .verification
        .checked
        .iter()
        .all(|c| c.repaired.is_none()));
    assert_eq!(quick.idle().await, 2, "the new connections are kept");
    drop(quick_options);
    drop(quick);

    // Without kept connections a run leaves none open.
    drop(options);
    drop(kept);
    sql(
        &url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .await;
    sync(&ws, &spec).await;
    assert_eq!(backends().await, Vec::<i32>::new());
}

/// A value the laptop's `DECIMAL(38,10)` cannot hold (`NaN`, an 11th decimal place) stops the
/// run with an error that names the table, the row and the column, and the laptop keeps the
/// data it had, whether the value comes in a delta or in a whole table.
#[tokio::test(flavor = "multi_thread")]
async fn a_value_the_laptop_cannot_hold_fails_the_run_naming_where_it_is() {
    let _serial = SERIAL.lock().await;
    let Some((url, spec, _)) = seeded("unholdable").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ws = workspace(&dir, "ws.duckdb");
    sync(&ws, &spec).await;
    let before = ws.mirror_checksums().unwrap();
    // (the statement, what the error must say)
    let cases = [
        (
            "UPDATE assets SET modified_duration = 'NaN'
             WHERE id = (SELECT id FROM assets ORDER BY id LIMIT 1)",
            "column modified_duration: NaN, which a DECIMAL(38,10) cannot hold",
        ),
        (
            "UPDATE fund_flows SET amount = 1.00000000001
             WHERE id = (SELECT id FROM fund_flows ORDER BY id LIMIT 1)",
            "column amount: 1.00000000001 has more than 10 decimal places",
        ),
    ];
    for (statement, want) in cases {
        sql(&url, statement).await;
        let error = workflows::sync(&ws, &spec, &SyncOptions::default(), &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(want), "{error}");
        assert!(error.contains("row 1,"), "{error}");
        assert_eq!(ws.mirror_checksums().unwrap(), before, "{want}");
        let last = ws.sync_runs(1).unwrap();
        assert_eq!(last[0].status, "failed");
        // A new laptop pulls the table whole: refused just as clearly.
        let fresh = workspace(&dir, "fresh.duckdb");
        let error = workflows::sync(&fresh, &spec, &SyncOptions::default(), &mut |_| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains(want), "{error}");
        drop(fresh);
        std::fs::remove_file(dir.path().join("fresh.duckdb")).ok();
        // Put the value right again, for the next case.
        sql(
            &url,
            &statement
                .replace("'NaN'", "1")
                .replace("1.00000000001", "1"),
        )
        .await;
    }
}
