//! `ballast scenario …` and `ballast ladder` as a user runs them, on a small demo workspace:
//! the library (presets and saved scenarios), a run whose figures add up, import/export round
//! trips, refusals with clear reasons, side-by-side comparison, and the liquidity ladder in
//! the base case and under a redemption run.

use std::path::Path;
use std::process::{Command, Output};

use rust_decimal::Decimal;
use serde_json::Value;

fn ballast(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ballast"))
        .args(args)
        .env_remove("BALLAST_DB")
        .output()
        .expect("run ballast")
}

fn ok(args: &[&str]) -> String {
    let out = ballast(args);
    assert!(
        out.status.success(),
        "ballast {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let text = ok(&all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
}

/// Fails, and says why on standard error.
fn refused(args: &[&str]) -> String {
    let out = ballast(args);
    assert!(!out.status.success(), "ballast {args:?} should fail");
    String::from_utf8(out.stderr).unwrap()
}

fn dec(v: &Value) -> Decimal {
    v.as_str()
        .unwrap_or_else(|| panic!("{v} is not a decimal string"))
        .parse()
        .unwrap()
}

fn demo(dir: &Path) -> String {
    let db = dir.join("demo.duckdb").to_str().unwrap().to_string();
    ok(&["demo", "init", "--db", &db, "--small", "--json"]);
    db
}

#[test]
fn list_run_compare_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let db = db.as_str();

    let list = json(&["scenario", "list", "--db", db]);
    let keys: Vec<&str> = list["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    for preset in [
        "rates_up_100",
        "rates_down_200",
        "steepener_2s10s_50",
        "credit_up_100",
        "usd_up_10",
        "equities_down_20",
        "redemption_run_25",
    ] {
        assert!(keys.contains(&preset), "{preset} missing from {keys:?}");
    }
    let human = ok(&["scenario", "list", "--db", db]);
    assert!(
        human.contains("rates_up_200") && human.contains("preset"),
        "{human}"
    );

    // A preset on a bond portfolio: the total is the sum of the positions, the NAV after
    // follows, and every position's P/L is the sum of its contributions.
    let run = json(&[
        "scenario",
        "run",
        "--db",
        db,
        "--portfolio",
        "CRED",
        "rates_up_200",
    ]);
    assert_eq!(run["portfolio"], "CRED");
    assert_eq!(run["scenario"], "rates_up_200");
    assert_eq!(run["source"]["kind"], "preset");
    let r = &run["result"];
    let positions = r["positions"].as_array().unwrap();
    assert!(!positions.is_empty());
    let sum: Decimal = positions.iter().map(|p| dec(&p["pnl"])).sum();
    let pnl = dec(&r["pnl"]);
    assert_eq!(pnl, sum);
    assert!(pnl < Decimal::ZERO, "rates up hurts a bond book: {pnl}");
    for p in positions {
        let parts: Decimal = p["contributions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| dec(&c["pnl"]))
            .sum();
        assert_eq!(parts, dec(&p["pnl"]));
    }
    assert_eq!(
        dec(&r["nav_after"]),
        dec(&r["nav_before"]) + pnl - dec(&r["redeemed"])
    );
    let human = ok(&[
        "scenario",
        "run",
        "--db",
        db,
        "--portfolio",
        "CRED",
        "rates_up_200",
    ]);
    assert!(
        human.contains("NAV after") && human.contains("TOTAL"),
        "{human}"
    );

    // A redemption run: NAV after = NAV + P/L − redemptions, with redemptions.
    let r = &json(&[
        "scenario",
        "run",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "redemption_run_25",
    ])["result"];
    let redeemed = dec(&r["redeemed"]);
    assert!(redeemed > Decimal::ZERO);
    assert_eq!(
        dec(&r["nav_after"]),
        dec(&r["nav_before"]) + dec(&r["pnl"]) - redeemed
    );

    // Side by side: one result per scenario, in order.
    let cmp = json(&[
        "scenario",
        "compare",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "equities_down_20",
        "usd_up_10",
    ]);
    let results = cmp["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["scenario"], "equities_down_20");
    assert_eq!(results[1]["scenario"], "usd_up_10");
    let too_many = refused(&[
        "scenario",
        "compare",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "rates_up_100",
        "rates_up_200",
        "rates_down_100",
        "rates_down_200",
        "usd_up_10",
        "usd_down_10",
    ]);
    assert!(too_many.contains("5"), "{too_many}");

    // Unknown names say what exists.
    let err = refused(&[
        "scenario",
        "run",
        "--db",
        db,
        "--portfolio",
        "CRED",
        "no_such_scenario",
    ]);
    assert!(
        err.contains("no scenario named 'no_such_scenario'") && err.contains("rates_up_100"),
        "{err}"
    );
    let err = refused(&[
        "scenario",
        "run",
        "--db",
        db,
        "--portfolio",
        "NOPE",
        "rates_up_100",
    ]);
    assert!(err.contains("no portfolio with code NOPE"), "{err}");
    let err = refused(&["ladder", "--db", db, "--portfolio", "NOPE"]);
    assert!(err.contains("no portfolio with code NOPE"), "{err}");
    let err = refused(&["scenario", "show", "--db", db, "nothing"]);
    assert!(err.contains("no scenario named 'nothing'"), "{err}");
    let err = refused(&[
        "ladder",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "--scenario",
        "nothing",
    ]);
    assert!(err.contains("no scenario named 'nothing'"), "{err}");
}

#[test]
fn import_show_export_versions_and_malformed_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let db = db.as_str();
    let file = dir.path().join("stagflation.json");
    let definition = r#"{
  "name": "stagflation",
  "description": "Rates up, equities down, the dollar up.",
  "shocks": [
    {"type": "parallel_rate", "bp": "150"},
    {"type": "equity", "pct": "-15"},
    {"type": "fx", "currency": "*", "pct": "-5", "against": "USD"},
    {"type": "redemption", "share": "0.1", "by": "2026-12-31"}
  ]
}"#;
    std::fs::write(&file, definition).unwrap();
    let saved = json(&["scenario", "import", "--db", db, file.to_str().unwrap()]);
    assert_eq!(saved["name"], "stagflation");
    assert_eq!(saved["version"], 1);

    let shown = json(&["scenario", "show", "--db", db, "stagflation"]);
    assert_eq!(shown["source"]["kind"], "saved");
    assert_eq!(shown["source"]["version"], 1);
    let original: Value = serde_json::from_str(definition).unwrap();
    assert_eq!(shown["definition"], original);

    // Export, then import the export: the same definition as version 2.
    let out = dir.path().join("out.json");
    ok(&[
        "scenario",
        "export",
        "--db",
        db,
        "stagflation",
        "--out",
        out.to_str().unwrap(),
    ]);
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(exported, original);
    let again = json(&["scenario", "import", "--db", db, out.to_str().unwrap()]);
    assert_eq!(again["version"], 2);
    let v1 = json(&[
        "scenario",
        "show",
        "--db",
        db,
        "stagflation",
        "--version",
        "1",
    ]);
    assert_eq!(v1["definition"], original);
    let at2 = json(&["scenario", "show", "--db", db, "stagflation@2"]);
    assert_eq!(at2["source"]["version"], 2);
    let err = refused(&[
        "scenario",
        "show",
        "--db",
        db,
        "stagflation",
        "--version",
        "7",
    ]);
    assert!(err.contains("has no version 7 (the latest is 2)"), "{err}");

    // Saved scenarios are listed beside the presets and run like them.
    let list = json(&["scenario", "list", "--db", db]);
    let mine = list["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["key"] == "stagflation")
        .expect("saved scenario listed");
    assert_eq!(mine["kind"], "saved");
    assert_eq!(mine["version"], 2);
    let run = json(&[
        "scenario",
        "run",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "stagflation",
    ]);
    assert_eq!(run["source"]["kind"], "saved");
    let r = &run["result"];
    assert_eq!(
        dec(&r["nav_after"]),
        dec(&r["nav_before"]) + dec(&r["pnl"]) - dec(&r["redeemed"])
    );

    // A preset can be exported too, and a copy saved under a new name.
    let preset_out = dir.path().join("preset.json");
    ok(&[
        "scenario",
        "export",
        "--db",
        db,
        "rates_up_100",
        "--out",
        preset_out.to_str().unwrap(),
    ]);
    let preset: Value =
        serde_json::from_str(&std::fs::read_to_string(&preset_out).unwrap()).unwrap();
    assert_eq!(preset["shocks"][0]["type"], "parallel_rate");
    let copy = json(&["scenario", "duplicate", "--db", db, "stagflation", "stag2"]);
    assert_eq!(copy["version"], 1);

    // A malformed file: its path, line and column.
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"name\": \"bad\",\n  \"shocks\": [\n    {\"type\": \"parallel_rate\", \"bp\": 100,}\n  ]\n}\n",
    )
    .unwrap();
    let err = refused(&["scenario", "import", "--db", db, bad.to_str().unwrap()]);
    assert!(
        err.contains(&format!("{}:4:", bad.display())) && err.contains("trailing comma"),
        "path and line 4 in: {err}"
    );
    // Well-formed JSON that is not a scenario: the path, a position and the shock.
    let nan = dir.path().join("nan.json");
    std::fs::write(
        &nan,
        "{\n  \"name\": \"nan\",\n  \"shocks\": [\n    {\"type\": \"parallel_rate\", \"bp\": \"NaN\"}\n  ]\n}\n",
    )
    .unwrap();
    let err = refused(&["scenario", "import", "--db", db, nan.to_str().unwrap()]);
    assert!(
        err.contains(&format!("{}:", nan.display()))
            && err.contains("shock #1")
            && err.contains("NaN"),
        "{err}"
    );
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\n  \"name\": \"x\",\n  \"shocks\": [\n").unwrap();
    let err = refused(&["scenario", "import", "--db", db, broken.to_str().unwrap()]);
    assert!(err.contains(broken.to_str().unwrap()), "{err}");
    assert!(err.contains("not a valid scenario definition"), "{err}");
    // Absurd magnitudes are refused with the shock's number and field.
    let absurd = dir.path().join("absurd.json");
    std::fs::write(
        &absurd,
        r#"{"name": "absurd", "shocks": [{"type": "parallel_rate", "bp": "5000"}]}"#,
    )
    .unwrap();
    let err = refused(&["scenario", "import", "--db", db, absurd.to_str().unwrap()]);
    assert!(err.contains("shock #1 (parallel_rate): bp = 5000"), "{err}");
    // A preset's key cannot be taken.
    let clash = dir.path().join("clash.json");
    std::fs::write(&clash, r#"{"name": "rates_up_100", "shocks": []}"#).unwrap();
    let err = refused(&["scenario", "import", "--db", db, clash.to_str().unwrap()]);
    assert!(err.contains("built-in preset"), "{err}");
    let err = refused(&["scenario", "import", "--db", db, "/no/such/file.json"]);
    assert!(err.contains("/no/such/file.json"), "{err}");

    // Delete removes every version.
    let deleted = ok(&["scenario", "delete", "--db", db, "stagflation"]);
    assert!(deleted.contains("2 versions"), "{deleted}");
    let err = refused(&["scenario", "show", "--db", db, "stagflation"]);
    assert!(err.contains("no scenario named 'stagflation'"), "{err}");
    let err = refused(&["scenario", "delete", "--db", db, "stagflation"]);
    assert!(err.contains("no scenario named 'stagflation'"), "{err}");
}

#[test]
fn ladder_base_and_under_a_redemption_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = demo(dir.path());
    let db = db.as_str();
    for code in ["GMAC", "EQLS", "CRED"] {
        let report = json(&["ladder", "--db", db, "--portfolio", code]);
        let limits: Vec<u64> = report["config"]["buckets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_u64().unwrap())
            .collect();
        assert_eq!(limits, [1, 7, 30, 90, 365]);
        let buckets = report["base"]["buckets"].as_array().unwrap();
        // The configured buckets plus beyond.
        assert_eq!(buckets.len(), limits.len() + 1);
        let mut previous = Decimal::MIN;
        for b in buckets {
            let cum = dec(&b["cum_capacity"]);
            assert!(cum >= previous, "{code}: cumulative capacity falls at {b}");
            previous = cum;
        }
        assert!(report["stressed"].is_null());

        let stressed = json(&[
            "ladder",
            "--db",
            db,
            "--portfolio",
            code,
            "--scenario",
            "redemption_run_25",
        ]);
        assert_eq!(stressed["scenario"], "redemption_run_25");
        let base = stressed["base"]["buckets"].as_array().unwrap();
        let under = stressed["stressed"]["buckets"].as_array().unwrap();
        assert_eq!(base.len(), under.len());
        for (b, s) in base.iter().zip(under) {
            assert!(
                dec(&s["demand"]) >= dec(&b["demand"]),
                "{code}: stressed demand below base at {}",
                b["label"]
            );
            assert!(
                dec(&s["cum_demand"]) >= dec(&b["cum_demand"]),
                "{code}: stressed cumulative demand below base at {}",
                b["label"]
            );
        }
        let extra =
            dec(&under.last().unwrap()["cum_demand"]) - dec(&base.last().unwrap()["cum_demand"]);
        assert!(extra > Decimal::ZERO, "{code}: the run adds demand");
    }
    let human = ok(&[
        "ladder",
        "--db",
        db,
        "--portfolio",
        "GMAC",
        "--scenario",
        "redemption_run_25",
    ]);
    for text in [
        "T+1",
        "beyond",
        "Days to liquidate 90%",
        "Waterfall",
        "Under redemption_run_25",
    ] {
        assert!(human.contains(text), "{text} missing: {human}");
    }
}
