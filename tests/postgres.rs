//! Against a real Postgres (a fresh database per test in the cluster `DATABASE_URL` names):
//! the shared schema (its triggers, the markers DDL and pruned tombstones leave for the sync),
//! migrations by an owner who is not a superuser or into a database not in UTF8, the demo seed, a full sync into a real
//! DuckDB file, row-level security for limited partners, and clear, secret-free errors when
//! Postgres cannot be reached.

use std::collections::BTreeMap;

use ballast_engine::kpi::KpiConfig;
use ballast_engine::schema::SHARED_TABLES;
use ballast_pg::snapshot::TriggerProblem;
use ballast_pg::{testing, ConnectSpec};
use ballast_sample_data::DemoConfig;
use ballast_storage::Workspace;
use ballast_workflows::{self as workflows, SyncOptions};
use rust_decimal::Decimal;
use sqlx::{Connection, Row};

async fn seeded(label: &str) -> Option<(String, ConnectSpec, ballast_engine::Dataset)> {
    let admin = testing::admin_url()?;
    let url = testing::fresh_database(&admin, label).await;
    let spec = ConnectSpec::new(&url, None);
    let pool = spec.connect().await.unwrap();
    ballast_pg::migrate(&pool).await.unwrap();
    ballast_pg::migrate(&pool)
        .await
        .expect("migrating twice is a no-op");
    let data = ballast_sample_data::generate(&DemoConfig::small());
    ballast_pg::seed(&pool, &spec, &data).await.unwrap();
    pool.close().await;
    Some((url, spec, data))
}

#[tokio::test(flavor = "multi_thread")]
async fn leftovers_of_earlier_test_runs_are_dropped_and_recent_ones_kept() {
    let Some(admin) = testing::admin_url() else {
        return;
    };
    // Names as tests make them, dated three hours ago (left over) and now (in use).
    let now = std::time::SystemTime::now();
    let dated = |ago: std::time::Duration| {
        let (seconds, nanos) = {
            let t = (now - ago)
                .duration_since(std::time::SystemTime::UNIX_EPOCH)
                .unwrap();
            (t.as_secs(), t.subsec_nanos())
        };
        uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, seconds, nanos))
            .simple()
            .to_string()
    };
    let old = dated(testing::LEFTOVER_AGE + std::time::Duration::from_secs(3600));
    let recent = dated(std::time::Duration::from_secs(60));
    let (old_db, recent_db) = (
        format!("ballast_test_leftover_{old}"),
        format!("ballast_test_leftover_{recent}"),
    );
    let (old_login, recent_login) = (format!("lp_test_{old}"), format!("pm_one_{recent}"));
    for statement in [
        format!("CREATE DATABASE {old_db}"),
        format!("CREATE DATABASE {recent_db}"),
        format!("CREATE ROLE {old_login} LOGIN"),
        format!("CREATE ROLE {recent_login} LOGIN"),
    ] {
        testing::execute(&admin, &statement).await;
    }
    // A left-over login's grants in its left-over database go with it.
    testing::execute(
        &testing::with_database(&admin, &old_db),
        &format!(
            "CREATE TABLE kept_by_login (x int); GRANT SELECT ON kept_by_login TO {old_login}"
        ),
    )
    .await;

    // Where logical replication runs, the logical replication test's subscription (in a
    // database of its own) and slot are left-overs too: dropped first, so that the database
    // can go, and the slot no longer keeps the cluster's WAL.
    let logical = testing::logical_replication_cluster().await.is_some();
    let old_subscription = format!("ballast_test_{old}");
    let old_subscriber_db = format!("ballast_test_leftoversub_{old}");
    if logical {
        testing::execute(&admin, &format!("CREATE DATABASE {old_subscriber_db}")).await;
        let old_url = testing::with_database(&admin, &old_db);
        testing::execute(
            &old_url,
            "CREATE PUBLICATION leftover FOR TABLE kept_by_login",
        )
        .await;
        testing::execute(
            &old_url,
            &format!("SELECT pg_create_logical_replication_slot('{old_subscription}', 'pgoutput')"),
        )
        .await;
        testing::execute(
            &testing::with_database(&admin, &old_subscriber_db),
            &format!(
                "CREATE TABLE kept_by_login (x int);
                 CREATE SUBSCRIPTION {old_subscription} CONNECTION '{old_url}'
                   PUBLICATION leftover WITH (connect = false)"
            ),
        )
        .await;
    }

    let dropped = testing::drop_leftovers(&admin, now).await;
    for name in [&old_db, &old_login] {
        assert!(dropped.contains(name), "{name} not in {dropped:?}");
    }
    if logical {
        assert!(dropped.contains(&old_subscriber_db), "{dropped:?}");
        assert_eq!(
            dropped.iter().filter(|d| **d == old_subscription).count(),
            2,
            "the subscription and the slot: {dropped:?}"
        );
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
            .await
            .unwrap();
        let left: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1)
                  + (SELECT count(*) FROM pg_subscription WHERE subname = $1)",
        )
        .bind(&old_subscription)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(left, 0);
    }
    for name in [&recent_db, &recent_login] {
        assert!(!dropped.contains(name), "{name} in {dropped:?}");
    }
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .unwrap();
    let databases: Vec<String> = sqlx::query_scalar("SELECT datname::text FROM pg_database")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    let logins: Vec<String> = sqlx::query_scalar("SELECT rolname::text FROM pg_roles")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert!(!databases.contains(&old_db) && databases.contains(&recent_db));
    assert!(!logins.contains(&old_login) && logins.contains(&recent_login));
    testing::execute(&admin, &format!("DROP DATABASE {recent_db}")).await;
    testing::execute(&admin, &format!("DROP ROLE {recent_login}")).await;
}

/// A firm whose database owner is not a superuser (a managed Postgres) can still apply the
/// migrations: everything but the event triggers that mark a mirrored table altered (creating
/// those needs a superuser; the migration warns instead of failing), and the replacement of
/// those triggers' functions when a superuser made them (migration 09 warns instead). A sync
/// works as before, still sees a sync trigger that is off now, and says every time that the
/// event triggers are missing (or off) until a superuser runs `SELECT sync_watch_ddl()`.
#[tokio::test(flavor = "multi_thread")]
async fn an_owner_who_is_not_a_superuser_migrates_all_but_the_event_triggers() {
    let Some(admin) = testing::admin_url() else {
        return;
    };
    let url = testing::fresh_database(&admin, "owner").await;
    let owner = format!("owner_test_{}", uuid::Uuid::now_v7().simple());
    let database: String = {
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    };
    // Roles are the cluster's: creating one that exists needs CREATEROLE, as the first
    // migration does.
    testing::execute(
        &admin,
        &format!(
            "CREATE ROLE {owner} LOGIN PASSWORD 'owner-pass' CREATEROLE NOSUPERUSER;
             ALTER DATABASE {database} OWNER TO {owner};"
        ),
    )
    .await;
    let owner_url = url.replacen("postgres@", &format!("{owner}@"), 1);
    assert_ne!(
        owner_url, url,
        "the test cluster URL names the postgres user"
    );
    let spec = ConnectSpec::new(&owner_url, Some("owner-pass".into()));
    let pool = spec.connect().await.unwrap();
    // Up to migration 08; then its event trigger functions pass to a superuser, as when a
    // superuser ran that one: migration 09, which would replace them, leaves them and warns.
    ballast_pg::MIGRATOR
        .run_to(20260101000008, &pool)
        .await
        .expect("the owner migrates up to 08");
    testing::execute(
        &url,
        "ALTER FUNCTION record_sync_table_altered() OWNER TO postgres;
         ALTER FUNCTION record_sync_trigger_dropped() OWNER TO postgres;",
    )
    .await;
    ballast_pg::migrate(&pool)
        .await
        .expect("the owner migrates");
    let (pruning, altered_marks_tombstones): (bool, bool) = sqlx::query_as(
        "SELECT to_regprocedure('sync_prune_tombstones(interval)') IS NOT NULL,
                prosrc LIKE '%tombstones''::text%'
         FROM pg_proc WHERE proname = 'record_sync_table_altered'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(pruning, "the rest of migration 09 is applied");
    assert!(
        !altered_marks_tombstones,
        "a superuser's function is left as it was"
    );
    let data = ballast_sample_data::generate(&DemoConfig::small());
    ballast_pg::seed(&pool, &spec, &data).await.unwrap();
    let event_triggers: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_event_trigger")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(event_triggers, 0, "only a superuser creates event triggers");
    sqlx::query("ALTER TABLE prices DISABLE TRIGGER prices_updated_at")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
    let sync_now = || async {
        workflows::sync(&ws, &spec, &SyncOptions::default(), &mut |_| {})
            .await
            .unwrap()
    };
    let summary = sync_now().await;
    assert!(summary.verification.nav_totals_match);
    assert_eq!(
        ws.mirror_checksums().unwrap(),
        testing::checksums(&spec).await
    );
    assert!(
        summary
            .notes
            .iter()
            .any(|n| n.starts_with("prices: prices_updated_at is disabled")),
        "{:?}",
        summary.notes
    );
    // Every sync says the event triggers are missing, and what puts them right.
    let unwatched_note = |notes: &[String]| -> Option<String> {
        notes
            .iter()
            .find(|n| n.starts_with("Postgres' event triggers that mark a mirrored table altered"))
            .cloned()
    };
    let note = unwatched_note(&summary.notes).expect("the missing event triggers are noted");
    assert!(
        note.contains("(sync_table_altered is missing, sync_trigger_dropped is missing)")
            && note.contains("SELECT sync_watch_ddl()")
            && note.contains("once the last is 24 hours old"),
        "{note}"
    );
    // The owner cannot put them in place; a superuser can, at any time.
    let owner_pool = spec.connect().await.unwrap();
    assert_eq!(
        ballast_pg::unwatched_ddl(&owner_pool, &spec).await.unwrap(),
        vec![
            ("sync_table_altered".to_string(), TriggerProblem::Missing),
            ("sync_trigger_dropped".to_string(), TriggerProblem::Missing)
        ]
    );
    let refused = sqlx::query("SELECT sync_watch_ddl()")
        .execute(&owner_pool)
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("permission denied"), "{refused}");
    let superuser = ConnectSpec::new(&url, None).connect().await.unwrap();
    let watch = || async {
        sqlx::query_scalar::<_, String>("SELECT sync_watch_ddl()")
            .fetch_one(&superuser)
            .await
            .unwrap()
    };
    assert_eq!(
        watch().await,
        "created sync_table_altered, created sync_trigger_dropped"
    );
    // As migration 08 makes them.
    let made: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT evtname::text, evtevent::text, evttags::text, evtfoid::regproc::text
         FROM pg_event_trigger ORDER BY evtname",
    )
    .fetch_all(&superuser)
    .await
    .unwrap();
    let made: Vec<(&str, &str, &str, &str)> = made
        .iter()
        .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
        .collect();
    assert_eq!(
        made,
        [
            (
                "sync_table_altered",
                "ddl_command_end",
                "{\"ALTER TABLE\",\"CREATE TRIGGER\"}",
                "record_sync_table_altered"
            ),
            (
                "sync_trigger_dropped",
                "sql_drop",
                "{\"DROP TRIGGER\"}",
                "record_sync_trigger_dropped"
            ),
        ]
    );
    sqlx::query("ALTER EVENT TRIGGER sync_table_altered DISABLE")
        .execute(&superuser)
        .await
        .unwrap();
    let summary = sync_now().await;
    let note = unwatched_note(&summary.notes).expect("a disabled event trigger is noted");
    assert!(note.contains("(sync_table_altered is disabled)"), "{note}");
    assert_eq!(watch().await, "enabled sync_table_altered");
    assert_eq!(watch().await, "both event triggers were in place already");
    assert!(ballast_pg::unwatched_ddl(&owner_pool, &spec)
        .await
        .unwrap()
        .is_empty());
    // In place, they mark the table the owner alters: it is checked whole once, with no note
    // about the event triggers.
    sqlx::query("ALTER TABLE prices ENABLE ALWAYS TRIGGER prices_updated_at")
        .execute(&owner_pool)
        .await
        .unwrap();
    let summary = sync_now().await;
    assert_eq!(unwatched_note(&summary.notes), None, "{:?}", summary.notes);
    assert!(
        summary
            .notes
            .iter()
            .any(|n| n.starts_with("prices was altered since the last sync")),
        "{:?}",
        summary.notes
    );
    owner_pool.close().await;
    superuser.close().await;
    drop(ws);
    testing::execute(&admin, &format!("DROP DATABASE {database} WITH (FORCE)")).await;
    testing::execute(&admin, &format!("DROP ROLE {owner}")).await;
}

/// A database in another encoding than UTF8 (LATIN1 here) is refused with a clear error
/// before any migration is applied: Postgres could not store the migrations' text, and a
/// half-migrated database would be left otherwise.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_not_in_utf8_is_refused_before_any_migration() {
    let Some(admin) = testing::admin_url() else {
        return;
    };
    let url = testing::fresh_database(&admin, "latin1").await;
    let name = url
        .rsplit('/')
        .next()
        .and_then(|tail| tail.split('?').next())
        .unwrap()
        .to_string();
    testing::execute(&admin, &format!("DROP DATABASE {name}")).await;
    testing::execute(
        &admin,
        &format!(
            "CREATE DATABASE {name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' \
             TEMPLATE template0"
        ),
    )
    .await;
    let pool = ConnectSpec::new(&url, None).connect().await.unwrap();
    let error = ballast_pg::migrate(&pool).await.unwrap_err().to_string();
    assert!(
        error.contains("the database's encoding is LATIN1, and Ballast's shared schema needs UTF8")
            && error.ends_with("Nothing was applied"),
        "{error}"
    );
    let applied: (bool, bool) = sqlx::query_as(
        "SELECT to_regclass('_sqlx_migrations') IS NOT NULL, to_regclass('tombstones') IS NOT NULL",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(applied, (false, false));
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_sync_copies_every_row_and_reconciles_to_the_cent() {
    let Some((_url, spec, data)) = seeded("roundtrip").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let workspace = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
    let mut steps = Vec::new();
    let summary = workflows::sync(&workspace, &spec, &SyncOptions::default(), &mut |p| {
        steps.push(p)
    })
    .await
    .unwrap();
    assert_eq!(
        summary.rows_in as usize,
        data.row_counts().iter().map(|(_, n)| n).sum::<usize>()
    );
    assert_eq!(summary.rows_deleted, 0);
    assert!(
        summary.verification.full,
        "a first sync verifies every table"
    );
    assert_eq!(summary.verification.checked.len(), 14);
    assert!(summary.verification.nav_totals_match);
    assert!(
        steps.len() > 14,
        "progress was reported: {} steps",
        steps.len()
    );

    let counts: BTreeMap<String, i64> = workspace.table_counts().unwrap().into_iter().collect();
    for (table, rows) in data.row_counts() {
        assert_eq!(counts[table], rows as i64, "{table}");
    }
    for portfolio in workspace.portfolios().unwrap() {
        let nav = workspace.nav_history(&portfolio.id).unwrap();
        let totals = workspace.position_totals(&portfolio.id).unwrap();
        assert_eq!(nav.len(), totals.len());
        for (point, (date, total)) in nav.iter().zip(&totals) {
            assert_eq!(
                (point.date, point.nav),
                (*date, *total),
                "{} NAV = Σ positions",
                portfolio.code
            );
        }
    }
    // The laptop's KPIs equal those computed straight from the generated data.
    let synced = workflows::overviews(&workspace, None, KpiConfig::default()).unwrap();
    for o in &synced {
        let p = data.portfolios.iter().find(|p| p.code == o.code).unwrap();
        let direct = ballast_engine::overview::portfolio_overview(
            p,
            &data.nav_history(&p.id),
            KpiConfig::default(),
        )
        .unwrap();
        // The workflow adds the portfolio's risk limits, checked on its whole catalogue.
        assert_eq!(
            o.limits.len(),
            4,
            "{}: the demo's limits are checked",
            o.code
        );
        let without_limits = ballast_engine::overview::PortfolioOverview {
            limits: Vec::new(),
            ..o.clone()
        };
        assert_eq!(without_limits, direct, "{}", o.code);
    }
    let source = workspace.source().unwrap().unwrap();
    assert_eq!(source.kind, "postgres");
    assert!(!source.label.is_empty());
    let runs = workspace.sync_runs(5).unwrap();
    assert_eq!(runs[0].status, "succeeded");
    assert_eq!(runs[0].rows_in as u64, summary.rows_in);
}

/// Deletes one position an LP sees (of a visible fund and asset), returning its id.
const DELETE_VISIBLE_POSITION: &str = "DELETE FROM positions WHERE id = (
    SELECT x.id FROM positions x JOIN portfolios p ON p.id = x.portfolio_id
    JOIN assets a ON a.id = x.asset_id
    WHERE p.lp_visible AND a.lp_visible ORDER BY x.id LIMIT 1) RETURNING id";

/// Deletes one position of a fund hidden from LPs, returning its id.
const DELETE_HIDDEN_POSITION: &str = "DELETE FROM positions WHERE id = (
    SELECT x.id FROM positions x JOIN portfolios p ON p.id = x.portfolio_id
    WHERE NOT p.lp_visible ORDER BY x.id LIMIT 1) RETURNING id";

#[tokio::test(flavor = "multi_thread")]
async fn an_lp_login_sees_only_lp_visible_data_and_its_own_flows() {
    let Some((url, _, data)) = seeded("rls").await else {
        return;
    };
    let investor = &data.investors[3];
    let (login, lp) = testing::lp_login(&url, &investor.id).await;
    // Writes are refused.
    let pool = lp.connect().await.unwrap();
    let write = sqlx::query("UPDATE portfolios SET name = 'x'")
        .execute(&pool)
        .await;
    assert!(write.is_err(), "lp_role is read-only");
    // The function that tells the sync which tables anyone wrote to runs as its owner: it
    // answers for mirrored tables only, and a temporary table of the same name cannot stand
    // in for one.
    let mut conn = pool.acquire().await.unwrap();
    let probe = "SELECT sync_tables_written_since($1, ARRAY['1'::xid8])";
    let refused = sqlx::query_scalar::<_, Vec<String>>(probe)
        .bind(vec!["audit_trail".to_string()])
        .fetch_one(&mut *conn)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("not a mirrored table: audit_trail"),
        "{refused}"
    );
    // Written since transaction 1, unseen by the LP; then with an empty temporary table of
    // the same name in the way: still the shared table.
    for temporary_trades in [false, true] {
        if temporary_trades {
            sqlx::query("CREATE TEMP TABLE trades (sync_xid xid8)")
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        let written: Vec<String> = sqlx::query_scalar(probe)
            .bind(vec!["trades".to_string()])
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(written, ["trades"], "temporary trades: {temporary_trades}");
    }
    // Deletes in a table it reads leave tombstones it sees; in one it does not (trades), none
    // it sees, the temporary `trades` above notwithstanding (migration 12).
    testing::execute(
        &url,
        "DELETE FROM fx_rates WHERE id = (SELECT id FROM fx_rates ORDER BY id LIMIT 1);
         DELETE FROM trades WHERE id = (SELECT id FROM trades ORDER BY id LIMIT 1);",
    )
    .await;
    let tombstones: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT table_name FROM public.tombstones ORDER BY 1")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(tombstones, ["fx_rates"]);
    // Within a table it reads, only the tombstones of rows it was entitled to see (migration
    // 15): a position of a visible fund and asset, its own flow; not a position of a hidden
    // fund, another investor's flow, or another investor.
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut delete = async |sql: &str| -> uuid::Uuid {
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut admin)
            .await
            .unwrap()
    };
    let visible_position = delete(DELETE_VISIBLE_POSITION).await;
    let hidden_position = delete(DELETE_HIDDEN_POSITION).await;
    let own_flow = delete(&format!(
        "DELETE FROM fund_flows WHERE id = (
             SELECT f.id FROM fund_flows f JOIN portfolios p ON p.id = f.portfolio_id
             WHERE f.investor_id = '{}' AND p.lp_visible ORDER BY f.id LIMIT 1) RETURNING id",
        investor.id
    ))
    .await;
    // Another investor with a flow into a fund the LP sees.
    let visible_funds: Vec<&str> = data
        .portfolios
        .iter()
        .filter(|p| p.lp_visible)
        .map(|p| p.id.as_str())
        .collect();
    let other = &data
        .fund_flows
        .iter()
        .find(|f| f.investor_id != investor.id && visible_funds.contains(&f.portfolio_id.as_str()))
        .expect("another investor has flows in a visible fund")
        .investor_id;
    let other_flow = delete(&format!(
        "DELETE FROM fund_flows WHERE id = (
             SELECT f.id FROM fund_flows f JOIN portfolios p ON p.id = f.portfolio_id
             WHERE f.investor_id = '{other}' AND p.lp_visible ORDER BY f.id LIMIT 1) RETURNING id"
    ))
    .await;
    testing::execute(
        &url,
        &format!("DELETE FROM fund_flows WHERE investor_id = '{other}'"),
    )
    .await;
    let other_investor = delete(&format!(
        "DELETE FROM investors WHERE id = '{other}' RETURNING id"
    ))
    .await;
    let mut seen: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT row_id FROM public.tombstones WHERE row_id = ANY($1) ORDER BY row_id",
    )
    .bind(vec![
        visible_position,
        hidden_position,
        own_flow,
        other_flow,
        other_investor,
    ])
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    let mut want = vec![visible_position, own_flow];
    want.sort();
    seen.sort();
    assert_eq!(seen, want);
    drop(conn);
    pool.close().await;

    // Synced as the LP, the laptop holds only that share.
    let dir = tempfile::tempdir().unwrap();
    let workspace = Workspace::open(&dir.path().join("lp.duckdb")).unwrap();
    workflows::sync(&workspace, &lp, &SyncOptions::default(), &mut |_| {})
        .await
        .unwrap();
    let mut visible: Vec<&str> = data
        .portfolios
        .iter()
        .filter(|p| p.lp_visible)
        .map(|p| p.code.as_str())
        .collect();
    visible.sort();
    let seen = workspace.portfolios().unwrap();
    let codes: Vec<&str> = seen.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(codes, visible, "only lp_visible portfolios");
    assert!(
        visible.len() < data.portfolios.len(),
        "the demo hides at least one portfolio"
    );
    let assets = workspace.assets().unwrap();
    assert!(assets.iter().all(|a| a.lp_visible));
    assert_eq!(
        assets.len(),
        data.assets.iter().filter(|a| a.lp_visible).count()
    );
    let counts: BTreeMap<String, i64> = workspace.table_counts().unwrap().into_iter().collect();
    let nav_rows: usize = seen
        .iter()
        .map(|p| workspace.nav_history(&p.id).unwrap().len())
        .sum();
    assert_eq!(
        counts["portfolio_nav"] as usize, nav_rows,
        "NAV of visible funds only"
    );
    let visible_ids: Vec<&str> = seen.iter().map(|p| p.id.as_str()).collect();
    let own_flows = data
        .fund_flows
        .iter()
        .filter(|f| f.investor_id == investor.id && visible_ids.contains(&f.portfolio_id.as_str()))
        .count();
    assert!(own_flows > 0, "the investor has flows in visible funds");
    assert_eq!(
        counts["fund_flows"] as usize,
        own_flows - 1,
        "only its own flows"
    );
    assert_eq!(counts["investors"], 1);
    for table in ["trades", "accounts", "risk_limits"] {
        assert_eq!(counts[table], 0, "no grant on {table}, no rows");
    }
    // The next sync deletes the one row of the two that was on the laptop, by its tombstone
    // (no table pulled again), and the laptop holds exactly the LP's share.
    delete(DELETE_VISIBLE_POSITION).await;
    delete(DELETE_HIDDEN_POSITION).await;
    let summary = workflows::sync(&workspace, &lp, &SyncOptions::default(), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(summary.rows_deleted, 1);
    assert!(
        summary
            .verification
            .checked
            .iter()
            .all(|c| c.repaired.is_none()),
        "{:?}",
        summary.verification
    );
    assert_eq!(
        workspace.mirror_checksums().unwrap(),
        testing::checksums(&lp).await
    );
    testing::execute(&url, &format!("DROP OWNED BY {login}; DROP ROLE {login};")).await;
}

/// Writes stamp `updated_at` and deletes leave a tombstone in the shared table, whoever
/// deletes and whatever their session holds (migration 10); money is never a float.
#[tokio::test(flavor = "multi_thread")]
async fn updates_stamp_updated_at_and_deletes_leave_tombstones() {
    let Some((url, spec, data)) = seeded("triggers").await else {
        return;
    };
    let pool = spec.connect().await.unwrap();
    let risk_limit = &data.risk_limits[0].id;
    let before: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT updated_at FROM risk_limits WHERE id = $1::uuid")
            .bind(risk_limit)
            .fetch_one(&pool)
            .await
            .unwrap();
    sqlx::query("UPDATE risk_limits SET threshold = threshold * 2 WHERE id = $1::uuid")
        .bind(risk_limit)
        .execute(&pool)
        .await
        .unwrap();
    let after: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT updated_at FROM risk_limits WHERE id = $1::uuid")
            .bind(risk_limit)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(after > before);
    // A PM deletes, in a session that has a temporary table named like the shared one (which
    // comes first in its search path): the tombstone still lands in the shared table.
    let mut pm = spec.connect_one().await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "SET ROLE pm_role;
         CREATE TEMPORARY TABLE tombstones (table_name text, row_id uuid);
         DELETE FROM risk_limits WHERE id = '{risk_limit}';"
    )))
    .execute(&mut pm)
    .await
    .unwrap();
    let diverted: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_temp.tombstones")
        .fetch_one(&mut pm)
        .await
        .unwrap();
    assert_eq!(diverted, 0);
    pm.close().await.unwrap();
    let row = sqlx::query("SELECT table_name, row_id::text AS row_id FROM public.tombstones")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("table_name"), "risk_limits");
    assert_eq!(&row.get::<String, _>("row_id"), risk_limit);
    // Money is numeric, never float, in every table.
    let floats: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND data_type IN ('real', 'double precision')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(floats, 0);
    let nav_total: Decimal = sqlx::query_scalar("SELECT sum(nav) FROM portfolio_nav")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(nav_total, data.nav.iter().map(|n| n.nav).sum::<Decimal>());
    pool.close().await;
    let _ = url;
}

/// The event triggers of migration 08 mark a mirrored table altered (one tombstone with the
/// largest uuid, in the DDL's own transaction) for exactly the statements that can switch its
/// sync triggers off or on, and for no other table.
#[tokio::test(flavor = "multi_thread")]
async fn altering_a_mirrored_table_or_its_triggers_leaves_a_marker_for_the_sync() {
    let Some((_url, spec, _data)) = seeded("ddl_markers").await else {
        return;
    };
    let pool = spec.connect().await.unwrap();
    // (statements, whether they succeed, the tables they should mark)
    let cases: [(&str, bool, &[&str]); 11] = [
        (
            "ALTER TABLE prices DISABLE TRIGGER prices_updated_at",
            true,
            &["prices"],
        ),
        (
            "ALTER TABLE prices ENABLE ALWAYS TRIGGER prices_updated_at",
            true,
            &["prices"],
        ),
        (
            "ALTER TABLE positions ADD COLUMN note text",
            true,
            &["positions"],
        ),
        (
            "DROP TRIGGER fx_rates_tombstone ON fx_rates",
            true,
            &["fx_rates"],
        ),
        (
            "CREATE TRIGGER fx_rates_tombstone AFTER DELETE ON fx_rates
               FOR EACH ROW EXECUTE FUNCTION record_tombstone()",
            true,
            &["fx_rates"],
        ),
        // Not mirrored, or not the shared schema's: no marker.
        ("ALTER TABLE audit_trail DISABLE TRIGGER ALL", true, &[]),
        (
            "CREATE SCHEMA scratch; CREATE TABLE scratch.prices (id uuid);
             ALTER TABLE scratch.prices ADD COLUMN close numeric",
            true,
            &[],
        ),
        // A statement that fails leaves nothing: the marker is in its transaction.
        ("ALTER TABLE trades ADD COLUMN fees numeric", false, &[]),
        // The tombstones' own triggers (migration 09) are marked on the tombstones table,
        // which makes a sync check every mirrored table whole.
        (
            "ALTER TABLE tombstones DISABLE TRIGGER tombstones_deleted",
            true,
            &["tombstones"],
        ),
        (
            "ALTER TABLE tombstones ENABLE ALWAYS TRIGGER tombstones_deleted",
            true,
            &["tombstones"],
        ),
        (
            "DROP TRIGGER tombstones_truncated ON tombstones",
            true,
            &["tombstones"],
        ),
    ];
    for (statements, succeeds, marked) in cases {
        let ran = sqlx::raw_sql(sqlx::AssertSqlSafe(statements))
            .execute(&pool)
            .await;
        assert_eq!(ran.is_ok(), succeeds, "{statements}: {ran:?}");
        // (Clearing them below leaves the markers of pruned tombstones, `…fffe`: not these.)
        let tombstones: Vec<(String, String)> = sqlx::query_as(
            "SELECT table_name, row_id::text FROM tombstones
             WHERE row_id <> 'ffffffff-ffff-ffff-ffff-fffffffffffe' ORDER BY table_name",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let want: Vec<(String, String)> = marked
            .iter()
            .map(|t| (t.to_string(), "ffffffff-ffff-ffff-ffff-ffffffffffff".into()))
            .collect();
        assert_eq!(tombstones, want, "{statements}");
        sqlx::query("DELETE FROM tombstones")
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

/// Migration 09: tombstones may be pruned (`sync_prune_tombstones`, by their owner), and
/// whatever removes or rewrites any leaves, in the same transaction, one marker (uuid `…fffe`)
/// per mirrored table that lost some, which a sync behind it reads as "check this table
/// whole". Since migration 14 each says how far the ones its table lost reached (the newest
/// `sync_xid` among them; unknown after a `TRUNCATE`), so a laptop that had read them all
/// need not. A PM's login may not remove them at all.
#[tokio::test(flavor = "multi_thread")]
async fn removing_tombstones_leaves_a_marker_for_each_table_that_lost_some() {
    let Some((_url, spec, _data)) = seeded("tombstone_markers").await else {
        return;
    };
    let pool = spec.connect().await.unwrap();
    sqlx::raw_sql(
        "DELETE FROM prices WHERE id IN (SELECT id FROM prices ORDER BY id LIMIT 3);
         DELETE FROM fx_rates WHERE id IN (SELECT id FROM fx_rates ORDER BY id LIMIT 2);",
    )
    .execute(&pool)
    .await
    .unwrap();
    let recorded = |table: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "SELECT count(*) FROM tombstones
                 WHERE table_name = $1 AND row_id <> 'ffffffff-ffff-ffff-ffff-fffffffffffe'",
            )
            .bind(table)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    assert_eq!(
        (recorded("prices").await, recorded("fx_rates").await),
        (3, 2)
    );

    let every_table: Vec<&str> = SHARED_TABLES.iter().map(|t| t.name).collect();
    // What a statement returns (`None`: no value) or a part of the error it gives.
    type Outcome = Result<Option<i64>, &'static str>;
    // (statement, its outcome, the tables it marks)
    let cases: [(&str, Outcome, Vec<&str>); 10] = [
        (
            "SELECT sync_prune_tombstones('1 hour')",
            Err("keeps at least a day of tombstones"),
            vec![],
        ),
        // Nothing is old enough yet.
        (
            "SELECT sync_prune_tombstones('30 days')",
            Ok(Some(0)),
            vec![],
        ),
        // Rewriting a tombstone could hide the delete it recorded.
        (
            "UPDATE tombstones SET deleted_at = now() - interval '40 days'
             WHERE table_name = 'prices'",
            Ok(None),
            vec!["prices"],
        ),
        (
            "SELECT sync_prune_tombstones('30 days')",
            Ok(Some(3)),
            vec!["prices"],
        ),
        (
            "SET ROLE pm_role; DELETE FROM tombstones",
            Err("permission denied for table tombstones"),
            vec![],
        ),
        // Nor may it forge one.
        (
            "SET ROLE pm_role;
             INSERT INTO tombstones (table_name, row_id) VALUES ('prices', gen_random_uuid())",
            Err("permission denied for table tombstones"),
            vec![],
        ),
        (
            "DELETE FROM tombstones WHERE table_name = 'fx_rates'",
            Ok(None),
            vec!["fx_rates"],
        ),
        // Altering tombstones leaves the altered marker for it (migration 08's event
        // triggers); removing that marker leaves a pruning one for it.
        (
            "ALTER TABLE tombstones ALTER COLUMN deleted_at SET DEFAULT clock_timestamp()",
            Ok(None),
            vec![],
        ),
        (
            "DELETE FROM tombstones WHERE table_name = 'tombstones'",
            Ok(None),
            vec!["tombstones"],
        ),
        ("TRUNCATE tombstones", Ok(None), every_table.clone()),
    ];
    // Every tombstone as (id, table, sync_xid): what a statement removed or rewrote is what
    // is gone from this afterwards.
    let every_tombstone = || {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (uuid::Uuid, String, String)>(
                "SELECT id, table_name, sync_xid::text FROM tombstones",
            )
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };
    for (statement, outcome, marked) in cases {
        let existing = every_tombstone().await;
        let before: String =
            sqlx::query_scalar("SELECT pg_snapshot_xmax(pg_current_snapshot())::text")
                .fetch_one(&pool)
                .await
                .unwrap();
        // A connection of its own: a `SET ROLE` ends with it.
        let mut conn = spec.connect_one().await.unwrap();
        let ran = if statement.starts_with("SELECT") {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(statement))
                .fetch_one(&mut conn)
                .await
                .map(Some)
        } else {
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                .execute(&mut conn)
                .await
                .map(|_| None)
        };
        conn.close().await.ok();
        match (ran, outcome) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{statement}"),
            (Err(e), Err(want)) => assert!(e.to_string().contains(want), "{statement}: {e}"),
            (ran, want) => panic!("{statement}: got {ran:?}, want {want:?}"),
        }
        let markers: Vec<(String, Option<String>)> = sqlx::query_as(
            "SELECT table_name, removed_through::text FROM tombstones
             WHERE row_id = 'ffffffff-ffff-ffff-ffff-fffffffffffe' AND sync_xid >= $1::xid8
             ORDER BY table_name",
        )
        .bind(&before)
        .fetch_all(&pool)
        .await
        .unwrap();
        let after = every_tombstone().await;
        let mut want: Vec<(String, Option<String>)> = marked
            .iter()
            .map(|table| {
                let reach = existing
                    .iter()
                    .filter(|t| t.1 == *table && !after.contains(t))
                    .map(|t| t.2.parse::<u64>().unwrap())
                    .max()
                    .filter(|_| !statement.starts_with("TRUNCATE"));
                (table.to_string(), reach.map(|x| x.to_string()))
            })
            .collect();
        want.sort();
        assert_eq!(markers, want, "{statement}");
    }
    // The pruning took prices' three and kept what was recent.
    assert_eq!(recorded("prices").await, 0);
    let left: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM tombstones WHERE row_id <> 'ffffffff-ffff-ffff-ffff-fffffffffffe'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, 0, "TRUNCATE leaves only its markers");
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_server_is_a_clear_error_and_the_workspace_keeps_its_data() {
    if testing::admin_url().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let workspace = Workspace::open(&dir.path().join("ws.duckdb")).unwrap();
    workflows::demo_init(&workspace, &DemoConfig::small(), &mut |_| {}).unwrap();
    let spec = ConnectSpec::new(
        "postgres://pm:Sup3rS3cret@127.0.0.1:1/ballast?connect_timeout=2",
        None,
    );
    let error = workflows::sync(&workspace, &spec, &SyncOptions::default(), &mut |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("cannot connect to Postgres at postgres://pm@127.0.0.1:1/ballast"),
        "{error}"
    );
    assert!(!error.contains("Sup3rS3cret"), "{error}");
    assert_eq!(
        workspace.source().unwrap().unwrap().kind,
        "demo",
        "the last good data stays"
    );
    let run = &workspace.sync_runs(1).unwrap()[0];
    assert_eq!(run.status, "failed");
    assert!(!run.error.as_deref().unwrap_or("").contains("Sup3rS3cret"));
}
