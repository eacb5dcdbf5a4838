//! The Performance use case on a real DuckDB workspace holding the demo data: every range of
//! every portfolio computes, every KPI it shows is documented with a formula, money reconciles
//! to the cent with the positions, and accounts and assets are subjects too.

use ballast_engine::kpi::{KpiConfig, Metric};
use ballast_engine::period::Range;
use ballast_sample_data::DemoConfig;
use ballast_storage::Workspace;
use ballast_workflows::performance::{performance, performance_charts, Subject};
use ballast_workflows::{conventions, demo_init};
use rust_decimal::Decimal;

fn demo_workspace() -> (tempfile::TempDir, Workspace) {
    let dir = tempfile::tempdir().unwrap();
    let workspace = Workspace::open(&dir.path().join("w.duckdb")).unwrap();
    demo_init(&workspace, &DemoConfig::small(), &mut |_| {}).unwrap();
    (dir, workspace)
}

#[test]
fn every_range_of_every_portfolio_is_computed_documented_and_reconciled() {
    let (_dir, ws) = demo_workspace();
    let config = KpiConfig::default();
    for portfolio in ws.portfolios().unwrap() {
        let subject = Subject::Portfolio(portfolio.code.clone());
        for range in Range::PRESETS {
            let report = performance(&ws, &subject, range, config).unwrap();
            let p = &report.performance;
            for entry in p.entries() {
                assert!(
                    conventions::formula(entry.key).is_some(),
                    "{} is shown but not documented in {}",
                    entry.key,
                    conventions::DOC_PATH
                );
                if let Metric::Value(v) = entry.metric {
                    assert!(
                        v.is_finite(),
                        "{} {range}: {} = {v}",
                        portfolio.code,
                        entry.key
                    );
                }
            }
            assert!(
                p.benchmark.is_some(),
                "{} has its benchmark",
                portfolio.code
            );
        }
        // Since inception, with the benchmark, every headline KPI has a value.
        let report = performance(&ws, &subject, Range::SinceInception, config).unwrap();
        let p = &report.performance;
        for key in [
            "cagr",
            "sharpe",
            "beta",
            "var_hist_99",
            "irr",
            "twr",
            "leverage",
        ] {
            let entry = p.get(key).unwrap_or_else(|| panic!("{key} missing"));
            assert!(entry.metric.value().is_some(), "{key}: {:?}", entry.metric);
        }
        // Exposure reconciles: the demo's NAV is the sum of its positions, to the cent, and
        // every breakdown adds back to the totals.
        let exposure = p.exposure.as_ref().expect("positions at the last date");
        let last = ws.nav_history(&portfolio.id).unwrap().pop().unwrap();
        assert_eq!(exposure.net, last.nav, "{} net = NAV", portfolio.code);
        for buckets in [
            &exposure.by_sector,
            &exposure.by_country,
            &exposure.by_currency,
            &exposure.by_asset_class,
        ] {
            let net: Decimal = buckets.iter().map(|b| b.net).sum();
            let gross: Decimal = buckets.iter().map(|b| b.gross).sum();
            assert_eq!((net, gross), (exposure.net, exposure.gross));
        }
        assert_eq!(p.limits.len(), 4, "the demo's four limits are checked");
        let charts =
            performance_charts(&report, &portfolio.code, ballast_charts::Format::Svg, None)
                .unwrap();
        assert!(charts.cumulative.contains(&portfolio.code));
        assert!(charts.drawdown.starts_with("<svg"));
        assert!(charts.rolling_volatility.starts_with("<svg"));
        assert!(charts.rolling_risk_adjusted.contains("252-day beta"));
    }
}

#[test]
fn accounts_and_assets_are_subjects_and_unknown_ones_are_refused() {
    let (_dir, ws) = demo_workspace();
    let config = KpiConfig::default();
    let account = ws.accounts().unwrap().remove(0);
    let report = performance(
        &ws,
        &Subject::Account(account.broker_account_ref.clone()),
        Range::SinceInception,
        config,
    )
    .unwrap();
    assert!(report.label.contains(&account.broker_account_ref));
    assert!(
        report
            .performance
            .get("round_trips")
            .unwrap()
            .metric
            .value()
            .unwrap()
            > 0.0
    );
    let asset = ws
        .assets()
        .unwrap()
        .into_iter()
        .find(|a| a.asset_class == ballast_engine::model::AssetClass::Equity)
        .unwrap();
    let report = performance(
        &ws,
        &Subject::Asset(asset.symbol.clone()),
        Range::OneYear,
        config,
    )
    .unwrap();
    assert!(report
        .performance
        .get("annual_volatility")
        .unwrap()
        .metric
        .value()
        .is_some());
    assert_eq!(report.currency, asset.currency);
    for subject in [
        Subject::Portfolio("NOPE".into()),
        Subject::Account("NOPE".into()),
        Subject::Asset("NOPE".into()),
    ] {
        let err = performance(&ws, &subject, Range::Ytd, config).unwrap_err();
        assert!(err.to_string().contains("NOPE"), "{err}");
    }
}
