//! The return-series KPI catalogue (`stats::series_kpis`) against values computed once with
//! empyrical-reloaded, quantstats, pandas and scipy (`tests/fixtures/make_stats_fixtures.py`
//! made `stats_reference.json`; its docstring says which library backs which key). Ordinary
//! series and edge cases: flat, one day, three days, all losses, all gains, never recovers,
//! tiny and huge returns, a benchmark on the same dates and one with gaps that only partly
//! overlaps. A `null` reference means "absent": the entry must be `Metric::Unavailable`.

use ballast_engine::kpi::{KpiConfig, Metric};
use ballast_engine::returns::ReturnSeries;
use ballast_engine::stats::{self, SeriesKpis};
use chrono::NaiveDate;
use serde_json::Value;

fn close(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1e-6)
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("ISO date")
}

fn series(dates: &Value, returns: &Value) -> ReturnSeries {
    ReturnSeries {
        dates: dates
            .as_array()
            .unwrap()
            .iter()
            .map(|d| date(d.as_str().unwrap()))
            .collect(),
        values: returns
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect(),
    }
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/stats_reference.json")).expect("fixture JSON")
}

struct Case {
    name: String,
    series: ReturnSeries,
    benchmark: Option<ReturnSeries>,
    config: KpiConfig,
    json: Value,
}

fn cases() -> Vec<Case> {
    let fixture = fixture();
    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 13);
    cases
        .iter()
        .map(|c| Case {
            name: c["name"].as_str().unwrap().to_string(),
            series: series(&c["dates"], &c["returns"]),
            benchmark: c["benchmark"]
                .as_object()
                .map(|b| series(&b["dates"], &b["returns"])),
            config: KpiConfig {
                risk_free_annual: c["rf_annual"].as_f64().unwrap(),
            },
            json: c.clone(),
        })
        .collect()
}

#[test]
fn every_kpi_matches_the_library_reference() {
    let mut checked = 0;
    for case in cases() {
        let kpis: SeriesKpis =
            stats::series_kpis(&case.series, case.benchmark.as_ref(), case.config);
        let expected = case.json["expected"].as_object().unwrap();
        // Every key in the fixture is produced, and every produced key is in the fixture.
        assert_eq!(
            kpis.entries().count(),
            expected.len(),
            "{}: entry count",
            case.name
        );
        for entry in kpis.entries() {
            let want = expected
                .get(entry.key)
                .unwrap_or_else(|| panic!("{}: no reference for {}", case.name, entry.key));
            match (&entry.metric, want.as_f64()) {
                (Metric::Value(g), Some(w)) => assert!(
                    close(*g, w),
                    "{}.{}: got {g}, want {w}",
                    case.name,
                    entry.key
                ),
                (Metric::Unavailable(_), None) => {}
                (got, _) => panic!("{}.{}: got {got:?}, reference {want}", case.name, entry.key),
            }
            checked += 1;
        }
    }
    assert!(checked > 500, "{checked}");
}

#[test]
fn drawdown_episodes_match_the_reference_loop() {
    for case in cases() {
        let got = stats::top_drawdowns(&case.series, 5);
        let want = case.json["drawdowns"].as_array().unwrap();
        assert_eq!(got.len(), want.len(), "{}", case.name);
        let at = |i: &Value| i.as_u64().map(|i| case.series.dates[i as usize]);
        for (g, w) in got.iter().zip(want) {
            assert!(
                close(g.depth, w["depth"].as_f64().unwrap()),
                "{}",
                case.name
            );
            assert_eq!(g.peak, at(&w["peak"]), "{} peak", case.name);
            assert_eq!(Some(g.trough), at(&w["trough"]), "{} trough", case.name);
            assert_eq!(g.recovery, at(&w["recovery"]), "{} recovery", case.name);
            assert_eq!(
                g.duration_periods as u64,
                w["duration"].as_u64().unwrap(),
                "{} duration",
                case.name
            );
        }
        // The deepest episode is the headline max drawdown.
        let kpis = stats::series_kpis(&case.series, None, case.config);
        let max = kpis.get("max_drawdown").unwrap().metric.value().unwrap();
        assert_eq!(got.first().map_or(0.0, |d| d.depth), max, "{}", case.name);
        assert_eq!(kpis.drawdowns, got, "{}", case.name);
    }
}

#[test]
fn rolling_series_match_pandas() {
    let mut checked = 0;
    for case in cases() {
        let Some(rolling) = case.json.get("rolling") else {
            continue;
        };
        let window = rolling["window"].as_u64().unwrap() as usize;
        let mut compare = |what: &str, got: ReturnSeries| {
            let want = rolling[what].as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{} {what}", case.name);
            for ((d, v), w) in got.dates.iter().zip(&got.values).zip(want) {
                assert_eq!(*d, date(w[0].as_str().unwrap()), "{} {what}", case.name);
                let w = w[1].as_f64().unwrap();
                assert!(close(*v, w), "{} {what} {d}: got {v}, want {w}", case.name);
                checked += 1;
            }
        };
        compare(
            "volatility",
            stats::rolling_volatility(&case.series, window),
        );
        compare(
            "sharpe",
            stats::rolling_sharpe(&case.series, window, case.config),
        );
        if let Some(benchmark) = &case.benchmark {
            compare("beta", stats::rolling_beta(&case.series, benchmark, window));
        }
    }
    assert!(checked > 1000, "{checked}");
}
