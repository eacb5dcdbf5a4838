//! The Performance use case: read one subject's inputs from the workspace (a portfolio, an
//! account or an asset), or take a series the analyst brings as CSV, and compute the whole KPI
//! catalogue over a range; draw its charts.

use std::path::Path;

use ballast_charts::{Format, Line, LineKind};
use ballast_engine::fx::FxTable;
use ballast_engine::kpi::KpiConfig;
use ballast_engine::model::{Asset, NavPoint, Portfolio};
use ballast_engine::performance::{self as engine, Inputs, Performance};
use ballast_engine::period::Range;
use ballast_engine::returns::{self, ReturnSeries};
use ballast_storage::Workspace;
use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::{Result, WorkflowError};

/// What the catalogue is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A portfolio by code (`GMAC`).
    Portfolio(String),
    /// An account by its broker account reference.
    Account(String),
    /// An asset by symbol.
    Asset(String),
}

/// The catalogue of one subject, with what it is and in which currency its money is.
#[derive(Debug, Clone)]
pub struct PerformanceReport {
    /// `GMAC — Ballast Global Macro`, `account U1234567 (GMAC)`, `AAPL — Apple`.
    pub label: String,
    pub currency: String,
    /// What the user should know about how the subject was measured, if anything.
    pub note: Option<String>,
    pub performance: Performance,
}

fn closes(prices: &[ballast_engine::model::Price]) -> Vec<(NaiveDate, Decimal)> {
    prices.iter().map(|p| (p.date, p.close)).collect()
}

/// The daily returns of the asset whose symbol is `name`, the way portfolios name benchmarks.
fn benchmark_series(
    workspace: &Workspace,
    assets: &[Asset],
    name: Option<&str>,
) -> Result<Option<(String, ReturnSeries)>> {
    let Some(name) = name else { return Ok(None) };
    let Some(asset) = assets.iter().find(|a| a.symbol == name) else {
        return Ok(None);
    };
    let prices = workspace.prices_of(&asset.id)?;
    Ok(Some((
        name.to_string(),
        engine::price_returns(&closes(&prices)),
    )))
}

/// The portfolio's holdings at the close of its last NAV date (none without a history).
fn positions_at_last(
    workspace: &Workspace,
    portfolio_id: &str,
    history: &[NavPoint],
) -> Result<Vec<ballast_engine::model::Position>> {
    Ok(match history.last() {
        Some(last) => workspace.positions_on(portfolio_id, last.date)?,
        None => Vec::new(),
    })
}

fn find_portfolio(workspace: &Workspace, code: &str) -> Result<Portfolio> {
    workspace
        .portfolios()?
        .into_iter()
        .find(|p| p.code == code)
        .ok_or_else(|| WorkflowError::UnknownPortfolio(code.to_string()))
}

/// The catalogue of `subject` over `range`, from the workspace.
pub fn performance(
    workspace: &Workspace,
    subject: &Subject,
    range: Range,
    config: KpiConfig,
) -> Result<PerformanceReport> {
    if workspace.is_empty()? {
        return Err(WorkflowError::EmptyWorkspace);
    }
    let assets = workspace.assets()?;
    let fx = FxTable::new(&workspace.fx_rates()?);
    let returns_error = |code: &str| {
        let code = code.to_string();
        move |source| WorkflowError::Returns { code, source }
    };
    match subject {
        Subject::Portfolio(code) => {
            let portfolio = find_portfolio(workspace, code)?;
            let history = workspace.nav_history(&portfolio.id)?;
            let benchmark = benchmark_series(workspace, &assets, portfolio.benchmark.as_deref())?;
            let positions = positions_at_last(workspace, &portfolio.id, &history)?;
            let trades = workspace.trades_of_portfolio(&portfolio.id)?;
            let allocations = workspace.allocations(&portfolio.id)?;
            let limits = workspace.risk_limits(&portfolio.id)?;
            let inputs = Inputs {
                history: &history,
                benchmark: benchmark.as_ref().map(|(n, s)| (n.as_str(), s)),
                trades: &trades,
                positions: &positions,
                assets: &assets,
                allocations: &allocations,
                limits: &limits,
                fx: &fx,
                base_currency: &portfolio.base_currency,
            };
            let note = match (&portfolio.benchmark, &benchmark) {
                (Some(name), None) => Some(format!(
                    "the benchmark {name} has no price history in the workspace"
                )),
                _ => None,
            };
            Ok(PerformanceReport {
                label: format!("{} — {}", portfolio.code, portfolio.name),
                currency: portfolio.base_currency.clone(),
                note,
                performance: engine::performance(&inputs, range, config)
                    .map_err(returns_error(&portfolio.code))?,
            })
        }
        Subject::Account(reference) => {
            let accounts = workspace.accounts()?;
            let account = accounts
                .iter()
                .find(|a| a.broker_account_ref == *reference)
                .ok_or_else(|| WorkflowError::UnknownSubject(format!("account {reference}")))?;
            let portfolio = workspace
                .portfolios()?
                .into_iter()
                .find(|p| p.id == account.portfolio_id)
                .ok_or_else(|| WorkflowError::UnknownSubject(format!("account {reference}")))?;
            let trades: Vec<_> = workspace
                .trades_of_portfolio(&portfolio.id)?
                .into_iter()
                .filter(|t| t.account_id == account.id)
                .collect();
            // An account has no NAV of its own; when it is the portfolio's only account, the
            // portfolio's NAV is the account's. Otherwise only its trades can be measured.
            let sole = accounts
                .iter()
                .filter(|a| a.portfolio_id == portfolio.id)
                .count()
                == 1;
            let (history, positions, note) = if sole {
                let history = workspace.nav_history(&portfolio.id)?;
                let positions = positions_at_last(workspace, &portfolio.id, &history)?;
                let note = format!(
                    "the only account of {}: its NAV and positions are the portfolio's",
                    portfolio.code
                );
                (history, positions, Some(note))
            } else {
                let note = format!(
                    "{} has several accounts and NAV is kept per portfolio: only this account's trades are measured",
                    portfolio.code
                );
                (Vec::new(), Vec::new(), Some(note))
            };
            let benchmark = benchmark_series(workspace, &assets, portfolio.benchmark.as_deref())?;
            let inputs = Inputs {
                history: &history,
                benchmark: benchmark.as_ref().map(|(n, s)| (n.as_str(), s)),
                trades: &trades,
                positions: &positions,
                assets: &assets,
                allocations: &[],
                limits: &[],
                fx: &fx,
                base_currency: &portfolio.base_currency,
            };
            Ok(PerformanceReport {
                label: format!(
                    "account {} at {} ({})",
                    account.broker_account_ref, account.broker, portfolio.code
                ),
                currency: portfolio.base_currency.clone(),
                note,
                performance: engine::performance(&inputs, range, config)
                    .map_err(returns_error(reference))?,
            })
        }
        Subject::Asset(symbol) => {
            let asset = assets
                .iter()
                .find(|a| a.symbol == *symbol)
                .ok_or_else(|| WorkflowError::UnknownSubject(format!("asset {symbol}")))?;
            let history =
                engine::price_history(&asset.id, &closes(&workspace.prices_of(&asset.id)?));
            let trades: Vec<_> = workspace
                .portfolios()?
                .iter()
                .map(|p| workspace.trades_of_portfolio(&p.id))
                .collect::<std::result::Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .filter(|t| t.asset_id == asset.id)
                .collect();
            let inputs = Inputs {
                history: &history,
                benchmark: None,
                trades: &trades,
                positions: &[],
                assets: &assets,
                allocations: &[],
                limits: &[],
                fx: &fx,
                base_currency: &asset.currency,
            };
            Ok(PerformanceReport {
                label: format!("{} — {}", asset.symbol, asset.name),
                currency: asset.currency.clone(),
                note: Some(
                    "returns from the asset's closing prices; trades from every portfolio".into(),
                ),
                performance: engine::performance(&inputs, range, config)
                    .map_err(returns_error(symbol))?,
            })
        }
    }
}

/// The catalogue of a series the analyst brings (and optionally a benchmark series).
pub fn series_performance(
    label: &str,
    history: &[NavPoint],
    benchmark: Option<(&str, &[NavPoint])>,
    range: Range,
    config: KpiConfig,
) -> Result<PerformanceReport> {
    let benchmark = match benchmark {
        Some((name, points)) => Some((
            name,
            returns::daily_returns(points).map_err(|source| WorkflowError::Returns {
                code: name.to_string(),
                source,
            })?,
        )),
        None => None,
    };
    let fx = FxTable::default();
    let inputs = Inputs {
        history,
        benchmark: benchmark.as_ref().map(|(n, s)| (*n, s)),
        trades: &[],
        positions: &[],
        assets: &[],
        allocations: &[],
        limits: &[],
        fx: &fx,
        base_currency: "",
    };
    Ok(PerformanceReport {
        label: label.to_string(),
        currency: String::new(),
        note: None,
        performance: engine::performance(&inputs, range, config).map_err(|source| {
            WorkflowError::Returns {
                code: label.to_string(),
                source,
            }
        })?,
    })
}

/// The Performance charts as SVG text; a rolling chart is empty when the history is shorter
/// than its windows.
#[derive(Debug, Clone)]
pub struct PerformanceCharts {
    pub cumulative: String,
    pub drawdown: String,
    pub rolling_volatility: String,
    /// Rolling Sharpe (63 and 252 days) and, with a benchmark, rolling 252-day beta.
    pub rolling_risk_adjusted: String,
}

/// Draw the cumulative return (against the benchmark), the drawdown and the rolling
/// volatility charts of a report. With `out_dir`, also write `cumulative`, `drawdown` and
/// `rolling-volatility` and `rolling-sharpe-and-beta` files in `format` there.
pub fn performance_charts(
    report: &PerformanceReport,
    short_name: &str,
    format: Format,
    out_dir: Option<&Path>,
) -> Result<PerformanceCharts> {
    let p = &report.performance;
    let file = |name: &str| {
        out_dir.map(|d| {
            d.join(format!(
                "{name}.{}",
                if format == Format::Png { "png" } else { "svg" }
            ))
        })
    };
    let mut lines = vec![Line {
        label: short_name,
        dates: &p.charts.cumulative.dates,
        values: &p.charts.cumulative.values,
    }];
    if let (Some(name), Some(b)) = (&p.benchmark, &p.charts.benchmark_cumulative) {
        lines.push(Line {
            label: name,
            dates: &b.dates,
            values: &b.values,
        });
    }
    let range = p.range.to_string();
    let cumulative = ballast_charts::line_chart(
        &format!("{short_name} — cumulative return ({range})"),
        LineKind::Cumulative,
        &lines,
        format,
        file("cumulative").as_deref(),
    )?;
    let drawdown = ballast_charts::line_chart(
        &format!("{short_name} — drawdown from peak ({range})"),
        LineKind::Drawdown,
        &[Line {
            label: "drawdown",
            dates: &p.charts.drawdown.dates,
            values: &p.charts.drawdown.values,
        }],
        format,
        file("drawdown").as_deref(),
    )?;
    let rolling_chart = |name: &str, kind: LineKind, series: &[(String, &ReturnSeries)]| {
        let lines: Vec<Line> = series
            .iter()
            .filter(|(_, s)| !s.is_empty())
            .map(|(label, s)| Line {
                label,
                dates: &s.dates,
                values: &s.values,
            })
            .collect();
        if lines.is_empty() {
            return Ok(String::new());
        }
        ballast_charts::line_chart(
            &format!("{short_name} — {name} ({range})"),
            kind,
            &lines,
            format,
            file(&name.to_lowercase().replace(' ', "-")).as_deref(),
        )
    };
    let volatility: Vec<(String, &ReturnSeries)> = p
        .charts
        .rolling_volatility
        .iter()
        .map(|(w, s)| (format!("{w}-day volatility (ann.)"), s))
        .collect();
    let rolling_volatility = rolling_chart("rolling volatility", LineKind::Level, &volatility)?;
    let mut risk_adjusted: Vec<(String, &ReturnSeries)> = p
        .charts
        .rolling_sharpe
        .iter()
        .map(|(w, s)| (format!("{w}-day Sharpe"), s))
        .collect();
    risk_adjusted.extend(
        p.charts
            .rolling_beta
            .iter()
            .filter(|(w, _)| *w == 252)
            .map(|(w, s)| (format!("{w}-day beta"), s)),
    );
    let rolling_risk_adjusted =
        rolling_chart("rolling Sharpe and beta", LineKind::Ratio, &risk_adjusted)?;
    Ok(PerformanceCharts {
        cumulative,
        drawdown,
        rolling_volatility,
        rolling_risk_adjusted,
    })
}
