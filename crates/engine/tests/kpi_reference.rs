//! Every KPI of the slice against values computed once with empyrical-reloaded
//! (`tests/fixtures/make_kpi_fixtures.py` made `kpi_reference.json`): ordinary series and the
//! edge cases (flat, one day, all losses, all gains, never recovers, tiny returns). A `null`
//! reference means the library gave NaN or infinity, which Ballast must show as absent.

use ballast_engine::kpi::{self, KpiConfig, Metric};
use ballast_engine::returns::ReturnSeries;
use chrono::{Duration, NaiveDate};
use serde_json::Value;

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1e-6)
}

fn check(case: &str, key: &str, got: &Metric, want: &Value) {
    match (got, want.as_f64()) {
        (Metric::Value(g), Some(w)) => assert!(close(*g, w), "{case}.{key}: got {g}, want {w}"),
        (Metric::Unavailable(_), None) => {}
        (got, _) => panic!("{case}.{key}: got {got:?}, reference {want}"),
    }
}

#[test]
fn kpis_match_the_empyrical_reference() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/kpi_reference.json")).expect("fixture JSON");
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 9);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let values: Vec<f64> = case["returns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let start = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let dates = (0..values.len())
            .map(|i| start + Duration::days(i as i64))
            .collect();
        let series = ReturnSeries { dates, values };
        let config = KpiConfig {
            risk_free_annual: case["rf_annual"].as_f64().unwrap(),
        };
        let report = kpi::compute(&series, config);
        let expected = &case["expected"];
        for entry in report.entries() {
            check(name, entry.key, &entry.metric, &expected[entry.key]);
        }
        let detail = report.max_drawdown_detail.expect("a drawdown");
        if detail.depth < 0.0 {
            let index = |d: Option<NaiveDate>| d.map(|d| (d - start).num_days());
            let want = |k: &str| expected[k].as_i64().filter(|i| *i >= 0);
            assert_eq!(
                index(detail.peak),
                want("max_drawdown_peak_index"),
                "{name} peak"
            );
            assert_eq!(
                index(Some(detail.trough)),
                want("max_drawdown_trough_index"),
                "{name} trough"
            );
            assert_eq!(
                index(detail.recovery),
                want("max_drawdown_recovery_index"),
                "{name} recovery"
            );
        }
    }
}
