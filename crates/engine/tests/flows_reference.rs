//! Time- and money-weighted returns against `fixtures/flows_reference.json`, which
//! `fixtures/make_flows_fixtures.py` made: the IRR with the published `pyxirr` library (XIRR,
//! actual/365), the TWR recomputed independently with numpy. Edge cases: flows larger than
//! the NAV, huge and tiny NAVs, a single day, no flows (IRR = CAGR on actual/365), a total
//! loss (no IRR), a window starting on a weekend. A `null` IRR must be absent in Ballast.

use ballast_engine::flows;
use ballast_engine::kpi::Metric;
use ballast_engine::model::NavPoint;
use ballast_engine::period::Window;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::Value;

fn date(v: &Value) -> NaiveDate {
    v.as_str().unwrap().parse().unwrap()
}

fn dec(v: &Value) -> Decimal {
    v.as_str().unwrap().parse().unwrap()
}

fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs().max(1e-3)
}

fn check(case: &str, key: &str, got: &Metric, want: &Value, tol: f64) {
    match (got, want.as_f64()) {
        (Metric::Value(g), Some(w)) => {
            assert!(close(*g, w, tol), "{case}.{key}: got {g}, want {w}")
        }
        (Metric::Unavailable(_), None) => {}
        (got, _) => panic!("{case}.{key}: got {got:?}, reference {want}"),
    }
}

fn history_of(case: &Value) -> Vec<NavPoint> {
    case["history"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, p)| NavPoint {
            id: i.to_string(),
            portfolio_id: "p".into(),
            date: date(&p["date"]),
            nav: dec(&p["nav"]),
            external_flow: dec(&p["flow"]),
            gross_exposure: Decimal::ZERO,
            net_exposure: Decimal::ZERO,
        })
        .collect()
}

#[test]
fn flows_match_the_pyxirr_reference() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/flows_reference.json")).expect("fixture");
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 12);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let history = history_of(case);
        let from = case["from"].as_str().map(|s| s.parse().unwrap());
        let to = date(&case["to"]);
        let window = Window {
            from,
            to,
            covered: true,
        };
        let expected = &case["expected"];

        // The investor's cash flows are exact decimals.
        let cash = flows::investor_cash_flows(&history, from, to).unwrap();
        let want: Vec<(NaiveDate, Decimal)> = expected["cash_flows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|pair| (date(&pair[0]), dec(&pair[1])))
            .collect();
        assert_eq!(cash, want, "{name}: cash flows");

        check(
            name,
            "twr",
            &flows::time_weighted(&history, window),
            &expected["twr"],
            1e-9,
        );
        check(
            name,
            "twr_ann",
            &flows::time_weighted_annualised(&history, window),
            &expected["twr_ann"],
            1e-9,
        );
        check(
            name,
            "irr",
            &flows::money_weighted_irr(&history, from, to),
            &expected["irr"],
            1e-8,
        );
    }
}

#[test]
fn without_flows_the_irr_is_the_actual_365_cagr() {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/flows_reference.json")).expect("fixture");
    let case = fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "no_flows_cagr")
        .unwrap();
    let h = case["history"].as_array().unwrap();
    let first: f64 = h[0]["nav"].as_str().unwrap().parse().unwrap();
    let last: f64 = h[h.len() - 1]["nav"].as_str().unwrap().parse().unwrap();
    let days = case["expected"]["days"].as_f64().unwrap();
    let cagr = (last / first).powf(365.0 / days) - 1.0;
    let irr = case["expected"]["irr"].as_f64().unwrap();
    assert!((irr - cagr).abs() < 1e-10, "pyxirr {irr} vs CAGR {cagr}");
    let history = history_of(case);
    let ours = flows::money_weighted_irr(&history, None, date(&case["to"]));
    assert!(
        (ours.value().unwrap() - cagr).abs() < 1e-10,
        "{ours:?} vs CAGR {cagr}"
    );
}
