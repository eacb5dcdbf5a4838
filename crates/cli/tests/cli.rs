//! The `ballast` binary as a user runs it: demo init, KPIs as JSON, charts, the DuckDB file
//! read by the official DuckDB Python client, Postgres migrate/seed/sync, and credentials
//! through the real keychain (never landing in a file Ballast writes).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn ballast(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(args)
        .env_remove("BALLAST_DB")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ballast");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = ballast(args, None);
    assert!(
        out.status.success(),
        "ballast {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn require_services() -> bool {
    std::env::var("BALLAST_REQUIRE_SERVICES").as_deref() == Ok("1")
}

#[test]
fn demo_init_kpi_and_charts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.duckdb");
    let db = db.to_str().unwrap();
    let init: Value =
        serde_json::from_str(&ok(&["demo", "init", "--db", db, "--small", "--json"])).unwrap();
    assert!(init["tables"]["prices"].as_i64().unwrap() > 1000);
    assert_eq!(init["tables"]["portfolios"], 3);

    let kpi: Value = serde_json::from_str(&ok(&["kpi", "--db", db, "--json"])).unwrap();
    let portfolios = kpi["portfolios"].as_array().unwrap();
    assert_eq!(portfolios.len(), 3);
    for p in portfolios {
        assert!(
            p["nav"].as_str().unwrap().parse::<f64>().unwrap() > 0.0,
            "NAV is an exact decimal string"
        );
        let sharpe = &p["kpis"]["sharpe"];
        assert!(
            sharpe["value"].is_f64() || sharpe["unavailable"].is_string(),
            "{sharpe}"
        );
        assert!(p["kpis"]["max_drawdown_detail"]["trough"].is_string());
    }
    assert_eq!(kpi["source"]["kind"], "demo");
    let headline = ok(&["kpi", "--db", db]);
    assert!(headline.contains("Risk limits"), "{headline}");
    // One portfolio: the whole catalogue over a range, grouped, with the risk limits.
    let one: Value = serde_json::from_str(&ok(&[
        "kpi",
        "--db",
        db,
        "--portfolio",
        "EQLS",
        "--range",
        "1y",
        "--rf",
        "0.02",
        "--json",
    ]))
    .unwrap();
    assert_eq!(one["risk_free_annual"], 0.02);
    assert_eq!(one["range"], "1y");
    assert_eq!(one["benchmark"], "S&P 500");
    let groups: Vec<&str> = one["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        groups,
        ["returns", "risk", "risk_adjusted", "trading", "exposure"]
    );
    let kpi = |group: usize, key: &str| one["groups"][group]["kpis"][key].clone();
    for (group, key) in [
        (0, "cagr"),
        (0, "irr"),
        (1, "var_cf_99"),
        (2, "beta"),
        (2, "information_ratio"),
        (4, "leverage"),
    ] {
        assert!(
            kpi(group, key)["value"].is_f64(),
            "{key}: {}",
            kpi(group, key)
        );
    }
    assert!(one["observations"].as_u64().unwrap() > 240);
    assert!(
        one["exposure"]["gross"].is_string(),
        "money is an exact decimal string"
    );
    assert_eq!(one["limits"].as_array().unwrap().len(), 4);
    let human = ok(&["kpi", "--db", db, "--portfolio", "GMAC", "--range", "ytd"]);
    for text in [
        "GMAC",
        "Sharpe",
        "Risk-adjusted",
        "Worst drawdowns",
        "Risk limits",
    ] {
        assert!(human.contains(text), "{text} missing from:\n{human}");
    }
    let custom: Value = serde_json::from_str(&ok(&[
        "kpi",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "--from",
        "2025-01-01",
        "--to",
        "2025-06-30",
        "--json",
    ]))
    .unwrap();
    assert_eq!(custom["range"], "custom:2025-01-01..2025-06-30");
    assert_eq!(custom["from"], "2025-01-01");
    assert_eq!(custom["to"], "2025-06-30");

    let missing = ballast(&["kpi", "--db", db, "--portfolio", "NOPE"], None);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no portfolio with code NOPE"));
    let bad_range = ballast(
        &["kpi", "--db", db, "--portfolio", "GMAC", "--range", "2w"],
        None,
    );
    assert!(String::from_utf8_lossy(&bad_range.stderr).contains("unknown period '2w'"));

    let svg = dir.path().join("gmac.svg");
    let png = dir.path().join("gmac.png");
    for out in [&svg, &png] {
        ok(&[
            "chart",
            "monthly-returns",
            "--db",
            db,
            "--portfolio",
            "GMAC",
            "--out",
            out.to_str().unwrap(),
        ]);
    }
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(svg_text.starts_with("<svg") && svg_text.matches("<rect").count() > 24);
    assert_eq!(&std::fs::read(&png).unwrap()[..4], b"\x89PNG");
    let bad = ballast(
        &[
            "chart",
            "monthly-returns",
            "--db",
            db,
            "--portfolio",
            "GMAC",
            "--out",
            "x.gif",
        ],
        None,
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("use .svg or .png"));
}

/// An analyst's own series from CSV: the catalogue against a benchmark file, and a malformed
/// file refused with its line and reason.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.duckdb");
    let db = db.to_str().unwrap();
    ok(&["demo", "init", "--db", db, "--small"]);
    // `ballast … | head` once head has gone: the read end is closed before the first write.
    for args in [
        vec!["scenario", "list", "--db", db],
        vec!["kpi", "--db", db, "--json"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_ballast"))
            .args(&args)
            .env_remove("BALLAST_DB")
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn kpi_of_a_nav_csv_and_a_malformed_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut fund = String::from("date,nav,flow\n");
    let mut bench = String::from("date,close\n");
    let start = chrono::NaiveDate::from_ymd_opt(2023, 1, 2).unwrap();
    let (mut nav, mut level) = (1000.0f64, 100.0f64);
    for i in 0..400 {
        let date = start + chrono::Duration::days(i);
        let market = ((i * 7919) % 200) as f64 / 10_000.0 - 0.0099;
        level *= 1.0 + market;
        nav *= 1.0 + 0.8 * market + 0.0003;
        let flow = if i == 200 { 50.0 } else { 0.0 };
        nav += flow;
        fund.push_str(&format!("{date},{nav:.4},{flow}\n"));
        bench.push_str(&format!("{date},{level:.4}\n"));
    }
    let fund_path = dir.path().join("fund.csv");
    let bench_path = dir.path().join("index.csv");
    std::fs::write(&fund_path, fund).unwrap();
    std::fs::write(&bench_path, bench).unwrap();
    let report: Value = serde_json::from_str(&ok(&[
        "kpi",
        "--nav-csv",
        fund_path.to_str().unwrap(),
        "--benchmark-csv",
        bench_path.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(report["subject"], "fund");
    assert_eq!(report["benchmark"], "index");
    assert_eq!(report["observations"], 399);
    let beta = report["groups"][2]["kpis"]["beta"]["value"]
        .as_f64()
        .unwrap();
    assert!(
        (beta - 0.8).abs() < 0.05,
        "the fund moves 0.8 × the index: beta {beta}"
    );
    // A day's 50 subscription is not performance: TWR compounds the flow-free returns.
    assert!(report["groups"][0]["kpis"]["twr"]["value"].is_f64());

    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "date,nav\n2024-01-01,100\n2024-01-02,oops\n").unwrap();
    let out = ballast(&["kpi", "--nav-csv", bad.to_str().unwrap()], None);
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("bad.csv, line 3") && message.contains("not a number"),
        "{message}"
    );
}

/// The file opens in the official DuckDB Python client with the tables SPEC.md names.
#[test]
fn the_workspace_file_opens_in_the_duckdb_python_client() {
    let python = std::env::var("BALLAST_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python).args(["-c", "import duckdb"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            !require_services(),
            "{python} cannot import duckdb (scripts/setup installs it)"
        );
        eprintln!("skipped: no duckdb Python module");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.duckdb");
    ok(&["demo", "init", "--db", db.to_str().unwrap(), "--small"]);
    let script = r#"
import duckdb, sys
con = duckdb.connect(sys.argv[1], read_only=True)
tables = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
need = {"portfolios", "assets", "prices", "fx_rates", "sector_coefficients", "accounts", "trades",
        "positions", "portfolio_nav", "portfolio_allocations", "investors", "fund_flows",
        "liquidity_terms", "risk_limits", "sync_state", "sync_runs", "outbox"}
missing = need - tables
assert not missing, missing
n = con.execute("select count(*) from portfolio_nav").fetchone()[0]
total = con.execute("select sum(nav) from portfolio_nav where date = (select max(date) from portfolio_nav)").fetchone()[0]
print(n, total)
"#;
    let out = Command::new(&python)
        .args(["-c", script, db.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: i64 = text.split_whitespace().next().unwrap().parse().unwrap();
    assert!(rows > 1000, "{text}");
}

#[test]
fn pg_migrate_seed_and_sync_from_the_command_line() {
    let Some(admin) = ballast_pg::testing::admin_url() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = runtime.block_on(ballast_pg::testing::fresh_database(&admin, "cli"));
    ok(&["pg", "migrate", "--url", &url]);
    ok(&["pg", "seed", "--url", &url, "--small"]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("synced.duckdb");
    let sync = || -> Value {
        serde_json::from_str(&ok(&[
            "sync",
            "--url",
            &url,
            "--db",
            db.to_str().unwrap(),
            "--json",
        ]))
        .unwrap()
    };
    let summary = sync();
    assert!(summary["rows_in"].as_i64().unwrap() > 1000);
    assert_eq!(summary["tables"], 14);
    assert_eq!(summary["verification"]["full"], true);
    assert_eq!(summary["verification"]["nav_totals_match"], true);
    // Nothing changed: the second run brings nothing and deletes nothing.
    let again = sync();
    assert_eq!(
        (again["rows_in"].as_i64(), again["rows_deleted"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(again["full_tables"].as_array().unwrap().len(), 0);
    // Each command checkpoints as it closes: the file alone holds everything (no write-ahead
    // log left beside it), and a checkpoint after a sync is cheap (no row-group merging).
    assert!(!db.with_extension("duckdb.wal").exists());
    let status: Value =
        serde_json::from_str(&ok(&["status", "--db", db.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(status["runs"].as_array().unwrap().len(), 2);
    assert_eq!(status["runs"][0]["status"], "succeeded");
    assert_eq!(status["freshness"]["stale"], false);
    assert!(status["freshness"]["label"]
        .as_str()
        .unwrap()
        .starts_with("synced "));
    let kpi: Value =
        serde_json::from_str(&ok(&["kpi", "--db", db.to_str().unwrap(), "--json"])).unwrap();
    assert_eq!(kpi["source"]["kind"], "postgres");
    assert_eq!(kpi["portfolios"].as_array().unwrap().len(), 3);
    // Seeding twice is refused by the unique keys and changes nothing.
    let again = ballast(&["pg", "seed", "--url", &url, "--small"], None);
    assert!(!again.status.success());

    // The owner prunes the record of deletes older than 30 days (one, dated 40 days back);
    // the laptop, which never got that delete, still loses the row at its next sync.
    runtime.block_on(ballast_pg::testing::execute(
        &url,
        "DELETE FROM fund_flows WHERE id = (SELECT id FROM fund_flows ORDER BY id LIMIT 1);
         UPDATE tombstones SET deleted_at = now() - interval '40 days';",
    ));
    let pruned = ok(&["pg", "prune-tombstones", "--url", &url]);
    assert!(
        pruned.starts_with("pruned 1 tombstone older than 30 days from postgres://"),
        "{pruned}"
    );
    let refused = ballast(
        &["pg", "prune-tombstones", "--url", &url, "--keep-days", "0"],
        None,
    );
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("0 is not in 1.."),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let fund_flows_rows = || -> i64 {
        let status: Value =
            serde_json::from_str(&ok(&["status", "--db", db.to_str().unwrap(), "--json"])).unwrap();
        status["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "fund_flows")
            .unwrap()["rows"]
            .as_i64()
            .unwrap()
    };
    let before = fund_flows_rows();
    let after_pruning = sync();
    let fund_flows = after_pruning["verification"]["checked"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["table"] == "fund_flows")
        .unwrap();
    assert!(fund_flows["repaired"].is_string(), "{after_pruning}");
    assert_eq!(fund_flows_rows(), before - 1);
}

fn keychain_available() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        return true;
    }
    assert!(
        !require_services(),
        "no D-Bus session: scripts/test runs tests under dbus-run-session"
    );
    eprintln!("skipped: no D-Bus session for the Secret Service");
    false
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn secrets_round_trip_through_the_keychain_and_nowhere_else() {
    if !keychain_available() {
        return;
    }
    let name = format!("broker:cli-test-{}", std::process::id());
    let secret = format!("tok-{}-Zq9", std::process::id());
    let set = ballast(&["secret", "set", &name], Some(&format!("{secret}\n")));
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert!(!String::from_utf8_lossy(&set.stdout).contains(&secret));
    assert_eq!(ok(&["secret", "get", &name]).trim_end(), secret);

    // Use the app's workflows with the secret around, then look for it in every file written.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.duckdb");
    ok(&["demo", "init", "--db", db.to_str().unwrap(), "--small"]);
    ok(&["kpi", "--db", db.to_str().unwrap(), "--json"]);
    for file in files_under(dir.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "secret found in {}",
            file.display()
        );
    }

    ok(&["secret", "delete", &name]);
    let gone = ballast(&["secret", "get", &name], None);
    assert!(!gone.status.success());
    let message = String::from_utf8_lossy(&gone.stderr);
    assert!(message.contains("no credential named"), "{message}");
    let empty = ballast(&["secret", "set", &name], Some(""));
    assert!(!empty.status.success(), "an empty secret is refused");
}

/// Without a keychain there is a clear error, never a silent fallback to a file.
#[test]
fn without_a_keychain_secret_commands_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(["secret", "set", "broker:nokeychain"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            format!("unix:path={}/no-bus", dir.path().display()),
        )
        .env("HOME", dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"value-that-must-not-land-anywhere\n")?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(!out.status.success());
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(message.contains("keychain"), "{message}");
    assert!(!message.contains("value-that-must-not-land-anywhere"));
    let written: Vec<_> = files_under(dir.path());
    assert!(
        written.is_empty(),
        "nothing may be written as a fallback: {written:?}"
    );
}

/// `kill -9` at several points of a large sync (copying, applied but uncommitted, verifying,
/// committing), with Postgres changing in between: every next run resumes from the last
/// commit, and the last one ends with exactly Postgres' rows.
#[test]
fn a_sync_killed_at_any_point_resumes_to_exactly_postgres_rows() {
    use std::io::BufRead;
    let Some(admin) = ballast_pg::testing::admin_url() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = runtime.block_on(ballast_pg::testing::fresh_database(&admin, "kill"));
    ok(&["pg", "migrate", "--url", &url]);
    ok(&["pg", "seed", "--url", &url, "--small"]);
    // Make it large: 400k more prices (history before the demo's, one row per asset-day).
    runtime.block_on(ballast_pg::testing::execute(
        &url,
        "INSERT INTO prices (asset_id, date, close)
         SELECT a.id, date '1990-01-01' + d, 100 + d % 17
         FROM (SELECT id FROM assets ORDER BY id LIMIT 200) a, generate_series(0, 1999) d",
    ));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("killed.duckdb");
    let args = ["sync", "--url", url.as_str(), "--db", db.to_str().unwrap()];
    let kill_points = [
        "copying prices",
        "applied prices",
        "verifying positions",
        "committing",
        "copying positions",
    ];
    for (round, point) in kill_points.iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ballast"))
            .args(args)
            .env_remove("BALLAST_DB")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut seen = Vec::new();
        for line in stderr.lines() {
            let line = line.unwrap();
            seen.push(line.clone());
            if line.contains(point) {
                child.kill().unwrap(); // SIGKILL
                break;
            }
        }
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the sync finished before reaching {point:?}: {seen:#?}"
        );
        // Postgres moves on between the attempts.
        runtime.block_on(ballast_pg::testing::execute(
            &url,
            &format!(
                "UPDATE prices SET close = close + 1
                   WHERE id IN (SELECT id FROM prices ORDER BY id LIMIT {});
                 DELETE FROM positions WHERE id = (SELECT id FROM positions ORDER BY id LIMIT 1);",
                1000 * (round + 1)
            ),
        ));
    }
    let summary: Value = serde_json::from_str(&ok(&[
        "sync",
        "--url",
        &url,
        "--db",
        db.to_str().unwrap(),
        "--verify",
        "--json",
    ]))
    .unwrap();
    assert_eq!(summary["verification"]["full"], true);
    let spec = ballast_pg::ConnectSpec::new(&url, None);
    let postgres = runtime.block_on(ballast_pg::testing::checksums(&spec));
    let workspace = ballast_storage::Workspace::open(&db).unwrap();
    for ((table, pg), (_, local)) in postgres.iter().zip(workspace.mirror_checksums().unwrap()) {
        assert_eq!(pg.difference(&local), None, "{table}");
    }
    let runs = workspace.sync_runs(20).unwrap();
    assert_eq!(runs[0].status, "succeeded");
    let interrupted = runs.iter().filter(|r| r.status == "interrupted").count();
    assert!(
        interrupted >= kill_points.len() - 1,
        "killed runs are marked interrupted: {runs:#?}"
    );
}

/// A scenario published on the laptop reaches the shared database through the outbox, once.
#[test]
fn a_published_scenario_reaches_postgres_through_the_outbox_once() {
    let Some(admin) = ballast_pg::testing::admin_url() else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let url = runtime.block_on(ballast_pg::testing::fresh_database(&admin, "publish"));
    ok(&["pg", "migrate", "--url", &url]);
    ok(&["pg", "seed", "--url", &url, "--small"]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.duckdb");
    let db = db.to_str().unwrap();
    // The demo and the seeded database are the same generated data: same portfolio ids.
    ok(&["demo", "init", "--small", "--db", db]);
    let queued = ok(&[
        "scenario",
        "publish",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "rates_up_200",
    ]);
    assert!(queued.contains("queued scenario.publish:"), "{queued}");
    let status: Value =
        serde_json::from_str(&ok(&["outbox", "status", "--db", db, "--json"])).unwrap();
    assert_eq!(status[0]["kind"], "scenario.publish");
    assert_eq!(status[0]["status"], "pending");
    let drained: Value = serde_json::from_str(&ok(&[
        "outbox", "drain", "--db", db, "--url", &url, "--json",
    ]))
    .unwrap();
    assert_eq!(
        (drained["sent"].as_i64(), drained["failed"].as_i64()),
        (Some(1), Some(0))
    );
    let again: Value = serde_json::from_str(&ok(&[
        "outbox", "drain", "--db", db, "--url", &url, "--json",
    ]))
    .unwrap();
    assert_eq!(again["sent"], 0, "nothing left to send");
    let spec = ballast_pg::ConnectSpec::new(&url, None);
    let (scenarios, results): (i64, i64) = runtime.block_on(async {
        let pool = spec.connect().await.unwrap();
        sqlx::query_as(
            "SELECT (SELECT count(*) FROM scenarios WHERE name = 'rates_up_200'),
                    (SELECT count(*) FROM scenario_results r JOIN portfolios p ON p.id = r.portfolio_id
                     WHERE p.code = 'GMAC' AND r.pnl <> 0)",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    });
    assert_eq!((scenarios, results), (1, 1));
}

/// Monte Carlo VaR/ES from the command line: ordered tails, reproducible with a seed, a clear
/// refusal of a horizon longer than the history.
#[test]
fn monte_carlo_var_is_ordered_reproducible_and_refuses_a_long_horizon() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.duckdb");
    let db = db.to_str().unwrap();
    ok(&["demo", "init", "--small", "--db", db]);
    let run = |method: &str, seed: &str| -> Value {
        serde_json::from_str(&ok(&[
            "scenario",
            "montecarlo",
            "--db",
            db,
            "--portfolio",
            "GMAC",
            "--horizon",
            "10",
            "--paths",
            "4000",
            "--method",
            method,
            "--seed",
            seed,
            "--json",
        ]))
        .unwrap()
    };
    for method in ["cholesky", "bootstrap"] {
        let first = run(method, "7");
        let levels = first["result"]["levels"].as_array().unwrap();
        let (p95, p99) = (&levels[0], &levels[1]);
        assert_eq!(
            (p95["confidence"].as_f64(), p99["confidence"].as_f64()),
            (Some(0.95), Some(0.99))
        );
        let f = |v: &Value, k: &str| v[k].as_f64().unwrap();
        assert!(f(p95, "var") < 0.0, "{method}: a loss at 95%: {p95}");
        assert!(
            f(p99, "var") <= f(p95, "var"),
            "{method}: 99% VaR is the deeper loss"
        );
        assert!(
            f(p95, "es") <= f(p95, "var") && f(p99, "es") <= f(p99, "var"),
            "{method}: ES beyond VaR"
        );
        assert_eq!(
            run(method, "7")["result"],
            first["result"],
            "{method}: same seed, same figures"
        );
        assert_ne!(
            run(method, "8")["result"]["levels"],
            first["result"]["levels"],
            "{method}: another seed"
        );
    }
    let long = ballast(
        &[
            "scenario",
            "montecarlo",
            "--db",
            db,
            "--portfolio",
            "GMAC",
            "--horizon",
            "100000",
        ],
        None,
    );
    assert!(!long.status.success());
    let message = String::from_utf8_lossy(&long.stderr);
    assert!(message.contains("horizon is longer than the"), "{message}");
}

/// A portfolio's ladder buckets and participation are set once and kept; bad ones are refused.
#[test]
fn ladder_buckets_and_participation_are_kept_per_portfolio() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ws.duckdb");
    let db = db.to_str().unwrap();
    ok(&["demo", "init", "--small", "--db", db]);
    let labels = |v: &Value| -> Vec<String> {
        v["base"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["label"].as_str().unwrap().to_string())
            .collect()
    };
    let set: Value = serde_json::from_str(&ok(&[
        "ladder",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "--buckets",
        "1,5,20",
        "--participation",
        "0.1",
        "--json",
    ]))
    .unwrap();
    assert_eq!(labels(&set), ["T+1", "T+5", "T+20", "beyond"]);
    assert_eq!(set["config"]["participation"], "0.1");
    let kept: Value = serde_json::from_str(&ok(&[
        "ladder",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "--json",
    ]))
    .unwrap();
    assert_eq!(labels(&kept), labels(&set), "kept for GMAC");
    let other: Value = serde_json::from_str(&ok(&[
        "ladder",
        "--db",
        db,
        "--portfolio",
        "CRED",
        "--json",
    ]))
    .unwrap();
    assert_eq!(
        labels(&other).len(),
        6,
        "other portfolios keep the defaults"
    );
    // Less participation raises less by T+1.
    let t1 = |v: &Value| {
        v["base"]["buckets"][0]["cum_capacity"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    let default: Value = serde_json::from_str(&ok(&[
        "ladder",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "--participation",
        "0.2",
        "--json",
    ]))
    .unwrap();
    assert!(
        t1(&kept) <= t1(&default),
        "10% of ADV raises no more than 20%"
    );
    for bad in [["--buckets", "5,1"], ["--participation", "1.5"]] {
        let out = ballast(
            &["ladder", "--db", db, "--portfolio", "GMAC", bad[0], bad[1]],
            None,
        );
        assert!(!out.status.success(), "{bad:?} accepted");
        let message = String::from_utf8_lossy(&out.stderr);
        assert!(
            message.contains(if bad[0] == "--buckets" {
                "strictly increasing"
            } else {
                "at most 1"
            }),
            "{message}"
        );
    }
}
