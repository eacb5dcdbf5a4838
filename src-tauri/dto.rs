//! What crosses the IPC bridge. These are not the domain types: they carry display-ready
//! text next to raw values, use camelCase, and avoid 64-bit integers (JavaScript numbers).
//! TypeScript for them is generated into `ui/src/bindings.ts`.

use ballast_engine::exposure::{Bucket, Exposure};
use ballast_engine::kpi::Drawdown;
use ballast_engine::kpi::{Entry, KpiReport, Metric, Unit};
use ballast_engine::limits::LimitCheck;
use ballast_engine::overview::PortfolioOverview;
use ballast_engine::trading::TradingTotals;
use ballast_storage::{OutboxItem, SourceInfo, SyncRun};
use ballast_workflows::conventions;
use ballast_workflows::performance::{PerformanceCharts, PerformanceReport};
use ballast_workflows::scenarios::{LadderReport, ScenarioSource};
use ballast_workflows::{Freshness, SyncProgress};
use rust_decimal::Decimal;
use serde::Serialize;
use specta::Type;

use crate::format;

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SourceDto {
    /// `demo` or `postgres`.
    pub kind: String,
    pub label: String,
    /// RFC 3339, UTC.
    pub loaded_at: String,
}

impl From<&SourceInfo> for SourceDto {
    fn from(s: &SourceInfo) -> Self {
        SourceDto {
            kind: s.kind.clone(),
            label: s.label.clone(),
            loaded_at: s.loaded_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct KpiDto {
    pub key: String,
    pub label: String,
    pub value: Option<f64>,
    /// Formatted value, or "n/a".
    pub display: String,
    /// Why the value is absent.
    pub unavailable_reason: Option<String>,
    /// The formula, from docs/kpi-conventions.md.
    pub formula: Option<String>,
}

fn kpi(key: &str, label: &str, metric: &Metric, unit: Unit) -> KpiDto {
    match metric {
        Metric::Value(v) => KpiDto {
            key: key.into(),
            label: label.into(),
            value: Some(*v),
            display: unit.format(*v),
            unavailable_reason: None,
            formula: conventions::formula(key).map(str::to_string),
        },
        Metric::Unavailable(why) => KpiDto {
            key: key.into(),
            label: label.into(),
            value: None,
            display: "n/a".into(),
            unavailable_reason: Some(why.clone()),
            formula: conventions::formula(key).map(str::to_string),
        },
    }
}

impl From<&Entry> for KpiDto {
    fn from(e: &Entry) -> Self {
        kpi(e.key, e.label, &e.metric, e.unit)
    }
}

fn kpis(report: &KpiReport) -> Vec<KpiDto> {
    report.entries().iter().map(KpiDto::from).collect()
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DrawdownDto {
    pub depth: String,
    pub peak: Option<String>,
    pub trough: String,
    pub recovery: Option<String>,
    pub duration_days: u32,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PortfolioCardDto {
    pub code: String,
    pub name: String,
    pub base_currency: String,
    pub strategy: String,
    pub as_of: Option<String>,
    /// `USD 512,345,678.12`, or absent with no history.
    pub nav: Option<String>,
    pub day_pl: Option<String>,
    /// −1, 0 or 1, for colouring.
    pub day_pl_sign: i32,
    pub ytd_pl: Option<String>,
    pub ytd_pl_sign: i32,
    pub ytd_return: KpiDto,
    pub kpis: Vec<KpiDto>,
    pub max_drawdown: Option<DrawdownDto>,
    /// Every risk limit of the portfolio, checked since inception; breaches first.
    pub limits: Vec<LimitDto>,
}

impl From<&Drawdown> for DrawdownDto {
    fn from(d: &Drawdown) -> Self {
        DrawdownDto {
            depth: format::percent(d.depth),
            peak: d.peak.map(|p| p.to_string()),
            trough: d.trough.to_string(),
            recovery: d.recovery.map(|r| r.to_string()),
            duration_days: d.duration_periods as u32,
        }
    }
}

/// A risk limit and how the portfolio stands against it.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LimitDto {
    pub metric: String,
    /// `info`, `warning` or `breach`.
    pub severity: String,
    pub threshold: String,
    pub value: String,
    pub breached: bool,
    /// Why the limit could not be checked (an unknown or absent metric).
    pub not_evaluable: Option<String>,
}

fn limit_number(metric: &str, value: f64) -> String {
    if matches!(metric, "leverage" | "beta" | "sharpe" | "sortino" | "hhi") {
        format!("{value:.2}")
    } else {
        format!("{:.2}%", value * 100.0)
    }
}

/// Breaches first (most severe first), then the rest.
fn limits(checks: &[LimitCheck]) -> Vec<LimitDto> {
    let rank = |c: &LimitCheck| {
        let severity = match c.severity.as_str() {
            "breach" => 0,
            "warning" => 1,
            _ => 2,
        };
        (!c.breached, c.not_evaluable.is_some(), severity)
    };
    let mut sorted: Vec<&LimitCheck> = checks.iter().collect();
    sorted.sort_by_key(|c| rank(c));
    sorted
        .into_iter()
        .map(|c| LimitDto {
            metric: c.metric.clone(),
            severity: c.severity.clone(),
            threshold: limit_number(&c.metric, c.threshold),
            value: c.value.map_or("n/a".into(), |v| limit_number(&c.metric, v)),
            breached: c.breached,
            not_evaluable: c.not_evaluable.clone(),
        })
        .collect()
}

fn sign(value: Option<rust_decimal::Decimal>) -> i32 {
    value.map_or(0, |v| {
        if v.is_zero() {
            0
        } else if v.is_sign_negative() {
            -1
        } else {
            1
        }
    })
}

impl From<&PortfolioOverview> for PortfolioCardDto {
    fn from(o: &PortfolioOverview) -> Self {
        let money =
            |v: Option<rust_decimal::Decimal>| v.map(|d| format::money(&o.base_currency, d));
        PortfolioCardDto {
            code: o.code.clone(),
            name: o.name.clone(),
            base_currency: o.base_currency.clone(),
            strategy: o.strategy.clone(),
            as_of: o.as_of.map(|d| d.to_string()),
            nav: money(o.nav),
            day_pl: money(o.day_pl),
            day_pl_sign: sign(o.day_pl),
            ytd_pl: money(o.ytd_pl),
            ytd_pl_sign: sign(o.ytd_pl),
            ytd_return: kpi(
                "ytd_return",
                "YTD return",
                &o.ytd_return,
                Unit::SignedPercent,
            ),
            kpis: kpis(&o.kpis),
            max_drawdown: o.kpis.max_drawdown_detail.as_ref().map(DrawdownDto::from),
            limits: limits(&o.limits),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OverviewDto {
    pub source: Option<SourceDto>,
    pub portfolios: Vec<PortfolioCardDto>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapCellDto {
    pub year: i32,
    /// 1–12, or 13 for the year's total.
    pub month: u32,
    pub value: f64,
    pub display: String,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct HeatmapDto {
    pub portfolio: String,
    pub svg: String,
    pub cells: Vec<HeatmapCellDto>,
}

impl HeatmapDto {
    pub fn new(portfolio: &str, svg: String, cells: Vec<ballast_charts::HeatmapCell>) -> Self {
        HeatmapDto {
            portfolio: portfolio.into(),
            svg,
            cells: cells
                .into_iter()
                .map(|c| HeatmapCellDto {
                    year: c.year,
                    month: c.month,
                    value: c.value,
                    display: format::percent(c.value),
                    x: c.x,
                    y: c.y,
                    width: c.width,
                    height: c.height,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SettingsDto {
    pub workspace_path: String,
    /// The Postgres URL, never with a password.
    pub postgres_url: Option<String>,
    /// Whether a Postgres password is in the keychain (the password itself never leaves it).
    pub password_stored: bool,
    /// Why the keychain cannot be used, if it cannot.
    pub keychain_problem: Option<String>,
}

/// One progress step of a sync.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SyncEventDto {
    /// `connecting`, `copying`, `applied`, `verifying`, `repairing` or `committing`.
    pub phase: String,
    pub table: Option<String>,
    pub percent: f64,
    pub message: String,
}

impl From<&SyncProgress> for SyncEventDto {
    fn from(p: &SyncProgress) -> Self {
        let phase = match p {
            SyncProgress::Connecting => "connecting",
            SyncProgress::Copying { .. } => "copying",
            SyncProgress::Applied { .. } => "applied",
            SyncProgress::Verifying { .. } => "verifying",
            SyncProgress::Repairing { .. } => "repairing",
            SyncProgress::Committing => "committing",
        };
        SyncEventDto {
            phase: phase.into(),
            table: p.table().map(str::to_string),
            percent: p.percent(),
            message: p.describe(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SyncResultDto {
    pub rows_in: u32,
    pub rows_deleted: u32,
    pub tables: u32,
    /// Tables pulled in full this run; the others came incrementally.
    pub full_tables: Vec<String>,
    pub source: String,
    pub verification: String,
    pub notes: Vec<String>,
    /// What the outbox delivery after the sync did, or why it could not run.
    pub outbox: String,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TableFreshnessDto {
    pub table: String,
    pub rows: u32,
    pub last_synced_at: String,
    /// `synced 3 h ago`.
    pub age: String,
    pub stale: bool,
    pub verified_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SyncRunDto {
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `running`, `succeeded`, `failed`, `cancelled` or `interrupted`.
    pub status: String,
    pub rows_in: u32,
    pub rows_deleted: u32,
    pub verification: Option<String>,
    pub notes: Option<String>,
    pub error: Option<String>,
}

impl From<&SyncRun> for SyncRunDto {
    fn from(r: &SyncRun) -> Self {
        let count = |n: i64| n.clamp(0, u32::MAX as i64) as u32;
        SyncRunDto {
            started_at: r.started_at.to_rfc3339(),
            finished_at: r.finished_at.map(|f| f.to_rfc3339()),
            status: r.status.clone(),
            rows_in: count(r.rows_in),
            rows_deleted: count(r.rows_deleted),
            verification: r.verification.clone(),
            notes: r.notes.clone(),
            error: r.error.clone(),
        }
    }
}

/// The banner every screen shows: how fresh the data is.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct FreshnessDto {
    /// `demo` or `postgres`.
    pub kind: Option<String>,
    pub as_of: Option<String>,
    /// `synced 3 h ago`.
    pub label: String,
    pub stale: bool,
    pub stale_after_hours: u32,
    pub stale_tables: Vec<String>,
}

impl From<&Freshness> for FreshnessDto {
    fn from(f: &Freshness) -> Self {
        FreshnessDto {
            kind: f.kind.clone(),
            as_of: f.as_of.map(|t| t.to_rfc3339()),
            label: f.label.clone(),
            stale: f.stale,
            stale_after_hours: f.stale_after_hours.clamp(0, u32::MAX as i64) as u32,
            stale_tables: f.stale_tables.clone(),
        }
    }
}

/// One write waiting for (or delivered to) the shared database.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OutboxItemDto {
    pub kind: String,
    /// A short description of what will be written.
    pub summary: String,
    /// `pending`, `sent` or `dead`.
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: Option<String>,
    pub last_error: Option<String>,
    pub created_at: String,
}

impl From<&OutboxItem> for OutboxItemDto {
    fn from(i: &OutboxItem) -> Self {
        let payload: serde_json::Value = serde_json::from_str(&i.payload).unwrap_or_default();
        let summary = match i.kind.as_str() {
            "annotation" => format!(
                "note: {}",
                payload.get("body").and_then(|b| b.as_str()).unwrap_or("")
            ),
            "scenario.publish" => format!(
                "scenario {}",
                payload
                    .pointer("/scenario/name")
                    .and_then(|b| b.as_str())
                    .unwrap_or("")
            ),
            other => other.to_string(),
        };
        OutboxItemDto {
            kind: i.kind.clone(),
            summary,
            status: i.status.clone(),
            attempts: i.attempts.max(0) as u32,
            next_attempt_at: i.next_attempt_at.map(|t| t.to_rfc3339()),
            last_error: i.last_error.clone(),
            created_at: i.created_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DataStatusDto {
    pub source: Option<SourceDto>,
    pub freshness: FreshnessDto,
    pub tables: Vec<TableFreshnessDto>,
    pub runs: Vec<SyncRunDto>,
    /// Entries not yet delivered (pending and dead), newest first.
    pub outbox: Vec<OutboxItemDto>,
    pub outbox_sent: u32,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct KpiGroupDto {
    pub key: String,
    pub title: String,
    pub kpis: Vec<KpiDto>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BucketDto {
    pub name: String,
    pub net: String,
    pub gross: String,
    /// Net over NAV, `+12.34%`, or "n/a".
    pub net_weight: String,
    pub positions: u32,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BreakdownDto {
    /// `asset class`, `sector`, `country` or `currency`.
    pub dimension: String,
    pub buckets: Vec<BucketDto>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DriftDto {
    pub bucket: String,
    pub target: String,
    pub actual: String,
    pub drift: String,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ExposureDto {
    pub nav: String,
    pub gross: String,
    pub net: String,
    pub long: String,
    pub short: String,
    pub breakdowns: Vec<BreakdownDto>,
    pub drift: Vec<DriftDto>,
}

fn weight(w: Option<f64>) -> String {
    w.map_or("n/a".into(), format::percent)
}

impl ExposureDto {
    fn new(e: &Exposure, currency: &str) -> Self {
        let money = |d: Decimal| format::money(currency, d);
        let buckets = |list: &[Bucket]| {
            list.iter()
                .map(|b| BucketDto {
                    name: b.name.clone(),
                    net: money(b.net),
                    gross: money(b.gross),
                    net_weight: weight(b.net_weight),
                    positions: b.positions as u32,
                })
                .collect()
        };
        ExposureDto {
            nav: money(e.nav),
            gross: money(e.gross),
            net: money(e.net),
            long: money(e.long),
            short: money(e.short),
            breakdowns: [
                ("asset class", &e.by_asset_class),
                ("sector", &e.by_sector),
                ("country", &e.by_country),
                ("currency", &e.by_currency),
            ]
            .into_iter()
            .map(|(dimension, list)| BreakdownDto {
                dimension: dimension.into(),
                buckets: buckets(list),
            })
            .collect(),
            drift: e
                .drift
                .iter()
                .map(|d| DriftDto {
                    bucket: d.bucket.clone(),
                    target: format!("{:.2}%", d.target * 100.0),
                    actual: d
                        .actual
                        .map_or("n/a".into(), |a| format!("{:.2}%", a * 100.0)),
                    drift: weight(d.drift),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TradingTotalsDto {
    pub currency: String,
    pub round_trips: u32,
    pub net_pl: String,
    pub gross_profit: String,
    pub gross_loss: String,
    pub fees: String,
}

impl From<&TradingTotals> for TradingTotalsDto {
    fn from(t: &TradingTotals) -> Self {
        let money = |d: Decimal| format::money(&t.currency, d);
        TradingTotalsDto {
            currency: t.currency.clone(),
            round_trips: t.round_trips as u32,
            net_pl: money(t.net_pl),
            gross_profit: money(t.gross_profit),
            gross_loss: money(t.gross_loss),
            fees: money(t.fees),
        }
    }
}

/// The Performance screen: the whole catalogue of one portfolio over one range, its charts.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PerformanceDto {
    pub portfolio: String,
    pub label: String,
    pub note: Option<String>,
    /// `ytd`, `1y`, …, or `custom:2024-01-01..2024-06-30`.
    pub range: String,
    /// First and last return dates in the range.
    pub from: Option<String>,
    pub to: Option<String>,
    pub observations: u32,
    pub benchmark: Option<String>,
    pub groups: Vec<KpiGroupDto>,
    pub drawdowns: Vec<DrawdownDto>,
    pub exposure: Option<ExposureDto>,
    pub trading_totals: Vec<TradingTotalsDto>,
    pub limits: Vec<LimitDto>,
    pub cumulative_svg: String,
    pub drawdown_svg: String,
    pub rolling_volatility_svg: String,
    /// Empty when the history is shorter than the rolling windows.
    pub rolling_risk_adjusted_svg: String,
    /// How long the backend took to read, compute and draw: `12.3 ms`.
    pub compute_time: String,
}

impl PerformanceDto {
    pub fn new(
        portfolio: &str,
        report: &PerformanceReport,
        charts: PerformanceCharts,
        compute_ms: f64,
    ) -> Self {
        let p = &report.performance;
        PerformanceDto {
            portfolio: portfolio.into(),
            label: report.label.clone(),
            note: report.note.clone(),
            range: p.range.to_string(),
            from: p.first.map(|d| d.to_string()),
            to: p.last.map(|d| d.to_string()),
            observations: p.observations as u32,
            benchmark: p.benchmark.clone(),
            groups: p
                .groups
                .iter()
                .map(|g| KpiGroupDto {
                    key: g.key.into(),
                    title: g.title.into(),
                    kpis: g.entries.iter().map(KpiDto::from).collect(),
                })
                .collect(),
            drawdowns: p.drawdowns.iter().map(DrawdownDto::from).collect(),
            exposure: p
                .exposure
                .as_ref()
                .map(|e| ExposureDto::new(e, &report.currency)),
            trading_totals: p
                .trading_totals
                .iter()
                .map(TradingTotalsDto::from)
                .collect(),
            limits: limits(&p.limits),
            cumulative_svg: charts.cumulative,
            drawdown_svg: charts.drawdown,
            rolling_volatility_svg: charts.rolling_volatility,
            rolling_risk_adjusted_svg: charts.rolling_risk_adjusted,
            compute_time: format!("{compute_ms:.1} ms"),
        }
    }
}

/// One bucket of the liquidity ladder, base and (with a scenario) stressed; money formatted.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LadderRowDto {
    pub label: String,
    pub capacity: String,
    pub cum_capacity: String,
    /// Cumulative capacity as a share of NAV: `+42.10%`.
    pub cum_capacity_pct: Option<String>,
    pub demand: String,
    pub cum_demand: String,
    /// Cumulative capacity over cumulative demand: `3.20×`; `None` without demand.
    pub coverage: Option<String>,
    pub surplus: String,
    pub breach: bool,
    pub stressed: Option<Box<LadderRowDto>>,
}

impl LadderRowDto {
    fn new(currency: &str, b: &ballast_engine::ladder::LadderBucket) -> Self {
        LadderRowDto {
            label: b.label.clone(),
            capacity: format::money(currency, b.capacity),
            cum_capacity: format::money(currency, b.cum_capacity),
            cum_capacity_pct: b.cum_capacity_pct.map(|p| format!("{:.1}%", p * 100.0)),
            demand: format::money(currency, b.demand),
            cum_demand: format::money(currency, b.cum_demand),
            coverage: b.coverage.map(|c| format!("{c:.2}×")),
            surplus: format::money(currency, b.surplus),
            breach: b.breach,
            stressed: None,
        }
    }
}

/// One step of the liquidation waterfall.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WaterfallRowDto {
    pub order: u32,
    pub symbol: String,
    pub value: String,
    /// `3 days`, or `beyond` the ladder.
    pub days: String,
    pub cost: String,
    pub cum_proceeds: String,
    pub remaining: String,
}

/// A scenario the Liquidity screen can stress the ladder with.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioChoiceDto {
    pub key: String,
    pub title: String,
    /// `preset` or `saved`.
    pub kind: String,
    /// Saved only: the latest version and how many versions there are.
    pub version: Option<u32>,
    pub versions: Option<u32>,
}

impl From<ballast_workflows::scenarios::LibraryEntry> for ScenarioChoiceDto {
    fn from(e: ballast_workflows::scenarios::LibraryEntry) -> Self {
        ScenarioChoiceDto {
            key: e.key,
            title: e.title,
            kind: e.kind.to_string(),
            version: e.version.map(|v| v.max(0) as u32),
            versions: e.versions.map(|v| v.clamp(0, u32::MAX as i64) as u32),
        }
    }
}

/// The Liquidity screen: a portfolio's ladder, base against a scenario, and its waterfall.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LiquidityDto {
    pub portfolio: String,
    pub portfolios: Vec<String>,
    pub as_of: String,
    pub nav: String,
    pub participation: String,
    /// The portfolio's configuration as the inputs show it: `1,7,30,90,365` and `0.2`.
    pub bucket_days: String,
    pub participation_rate: String,
    pub scenario: Option<String>,
    pub scenarios: Vec<ScenarioChoiceDto>,
    pub rows: Vec<LadderRowDto>,
    /// `12 days`, or why it cannot be said.
    pub days_to_liquidate_90: String,
    pub stressed_days_to_liquidate_90: Option<String>,
    /// The stressed waterfall when a scenario is chosen, else the base one.
    pub waterfall: Vec<WaterfallRowDto>,
    pub notes: Vec<String>,
    pub chart_svg: String,
}

fn days_text(days: Option<u32>) -> String {
    match days {
        Some(1) => "1 day".into(),
        Some(d) => format!("{d} days"),
        None => "beyond the ladder".into(),
    }
}

impl LiquidityDto {
    pub fn new(
        report: &LadderReport,
        portfolios: Vec<String>,
        scenarios: Vec<ScenarioChoiceDto>,
        chart_svg: String,
    ) -> Self {
        let currency = report.base_currency.as_str();
        let rows = report
            .base
            .buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let mut row = LadderRowDto::new(currency, b);
                row.stressed = report
                    .stressed
                    .as_ref()
                    .and_then(|s| s.buckets.get(i))
                    .map(|sb| Box::new(LadderRowDto::new(currency, sb)));
                row
            })
            .collect();
        let shown = report.stressed.as_ref().unwrap_or(&report.base);
        LiquidityDto {
            portfolio: report.portfolio.clone(),
            portfolios,
            as_of: report.as_of.to_string(),
            nav: format::money(currency, report.nav),
            participation: format!(
                "{}%",
                (report.config.participation * rust_decimal::Decimal::from(100)).normalize()
            ),
            bucket_days: report
                .config
                .buckets
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            participation_rate: report.config.participation.normalize().to_string(),
            scenario: report.scenario.clone(),
            scenarios,
            rows,
            days_to_liquidate_90: days_text(report.base.days_to_liquidate_90),
            stressed_days_to_liquidate_90: report
                .stressed
                .as_ref()
                .map(|s| days_text(s.days_to_liquidate_90)),
            waterfall: shown
                .waterfall
                .iter()
                .map(|w| WaterfallRowDto {
                    order: w.order as u32,
                    symbol: w.symbol.clone(),
                    value: format::money(currency, w.value),
                    days: days_text(w.days_to_liquidate),
                    cost: format::money(currency, w.cost),
                    cum_proceeds: format::money(currency, w.cum_proceeds),
                    remaining: format::money(currency, w.remaining),
                })
                .collect(),
            notes: shown
                .notes
                .iter()
                .map(|n| format!("{}: {}", n.symbol, n.note))
                .collect(),
            chart_svg,
        }
    }
}

/// One scenario's outcome on the portfolio, for the Scenarios screen's side-by-side table.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioOutcomeDto {
    /// The library key as asked for (`name@2` for an older version of a saved scenario).
    pub key: String,
    /// The definition's name, with ` v2` for a saved scenario's version.
    pub title: String,
    /// One line per shock, numbered as the trace numbers them: `#1 parallel rate +200 bp`.
    pub shocks: Vec<String>,
    pub pnl: String,
    /// `-12.80%` of NAV.
    pub pnl_pct: Option<String>,
    pub redeemed: String,
    pub nav_after: String,
    /// KPIs that change: `label: before → after`.
    pub kpis: Vec<String>,
    /// Limits breached only after the shock: `metric (severity)`.
    pub newly_breached: Vec<String>,
    /// Positions a shock should have moved but could not price, with the reason.
    pub unpriced: Vec<String>,
}

/// One row of the scenario × position P/L heatmap: a position's P/L under each scenario.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PositionPnlRowDto {
    pub symbol: String,
    pub market_value: String,
    /// Formatted P/L per scenario, in the scenarios' order.
    pub pnl: Vec<String>,
    /// P/L as a share of the position's value per scenario, for the cell colour.
    pub pnl_pct: Vec<f64>,
    /// Per scenario, which shocks moved the position and by how much:
    /// `#1 parallel rate +200 bp: -12.80% = USD -1,280.00`.
    pub trace: Vec<Vec<String>>,
}

/// The Scenarios screen: up to five scenarios run on one portfolio, side by side.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioCompareDto {
    pub portfolio: String,
    pub portfolios: Vec<String>,
    pub as_of: String,
    pub nav: String,
    pub library: Vec<ScenarioChoiceDto>,
    pub outcomes: Vec<ScenarioOutcomeDto>,
    /// The positions that move most under any of the scenarios, largest first.
    pub positions: Vec<PositionPnlRowDto>,
    pub compute_time: String,
}

fn metric_text(unit: Unit, m: &Metric) -> String {
    match m {
        Metric::Value(v) => unit.format(*v),
        Metric::Unavailable(why) => format!("n/a ({why})"),
    }
}

impl ScenarioCompareDto {
    /// Heatmap rows: the `top` positions by their largest absolute P/L under any scenario.
    /// `keys` are the library keys the runs were asked for, in the same order.
    pub fn new(
        runs: &[ballast_workflows::scenarios::ScenarioRun],
        keys: &[String],
        portfolios: Vec<String>,
        library: Vec<ScenarioChoiceDto>,
        top: usize,
        compute_ms: f64,
    ) -> Self {
        use ballast_engine::returns::decimal_to_f64;
        let first = runs.first().map(|r| &r.result);
        let currency = first.map(|r| r.base_currency.clone()).unwrap_or_default();
        let shock_line = |run: &ballast_workflows::scenarios::ScenarioRun, n: usize| {
            run.shocks.get(n - 1).map_or_else(
                || format!("#{n}"),
                |s| format!("#{n} {}", format::shock_summary(s)),
            )
        };
        let outcomes = runs
            .iter()
            .zip(keys)
            .map(|(run, key)| {
                let r = &run.result;
                let title = match &run.source {
                    ScenarioSource::Saved { version, .. } => format!("{} v{version}", r.name),
                    ScenarioSource::Preset => r.name.clone(),
                };
                ScenarioOutcomeDto {
                    key: key.clone(),
                    title,
                    shocks: (1..=run.shocks.len()).map(|n| shock_line(run, n)).collect(),
                    pnl: format::money(&currency, r.pnl),
                    pnl_pct: r.pnl_pct.map(format::percent),
                    redeemed: format::money(&currency, r.redeemed),
                    nav_after: format::money(&currency, r.nav_after),
                    kpis: r
                        .kpis
                        .iter()
                        .filter(|k| k.before != k.after)
                        .map(|k| {
                            format!(
                                "{}: {} → {}",
                                k.label,
                                metric_text(k.unit, &k.before),
                                metric_text(k.unit, &k.after)
                            )
                        })
                        .collect(),
                    newly_breached: r
                        .limits_after
                        .iter()
                        .filter(|l| r.newly_breached.contains(&l.limit_id))
                        .map(|l| format!("{} ({})", l.metric, l.severity))
                        .collect(),
                    unpriced: r
                        .unpriced
                        .iter()
                        .map(|u| format!("{}: {}", u.symbol, u.reason))
                        .collect(),
                }
            })
            .collect();
        // Positions are in the same order in every run (one book).
        let mut rows: Vec<(f64, PositionPnlRowDto)> = first
            .map(|r| r.positions.as_slice())
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let pnls: Vec<rust_decimal::Decimal> = runs
                    .iter()
                    .map(|run| {
                        run.result
                            .positions
                            .get(i)
                            .map_or_else(Default::default, |q| q.pnl)
                    })
                    .collect();
                let value = decimal_to_f64(p.market_value);
                let size = pnls
                    .iter()
                    .map(|v| decimal_to_f64(*v).abs())
                    .fold(0.0, f64::max);
                let trace = runs
                    .iter()
                    .map(|run| {
                        run.result.positions.get(i).map_or_else(Vec::new, |q| {
                            q.contributions
                                .iter()
                                .map(|c| {
                                    format!(
                                        "{}: {} = {}",
                                        shock_line(run, c.shock),
                                        format::percent(decimal_to_f64(c.change)),
                                        format::money(&currency, c.pnl)
                                    )
                                })
                                .collect()
                        })
                    })
                    .collect();
                let row = PositionPnlRowDto {
                    trace,
                    symbol: p.symbol.to_string(),
                    market_value: format::money(&currency, p.market_value),
                    pnl: pnls.iter().map(|v| format::money(&currency, *v)).collect(),
                    pnl_pct: pnls
                        .iter()
                        .map(|v| {
                            if value != 0.0 {
                                decimal_to_f64(*v) / value.abs()
                            } else {
                                0.0
                            }
                        })
                        .collect(),
                };
                (size, row)
            })
            .collect();
        rows.sort_by(|a, b| b.0.total_cmp(&a.0));
        ScenarioCompareDto {
            portfolio: runs
                .first()
                .map(|r| r.portfolio.clone())
                .unwrap_or_default(),
            portfolios,
            as_of: first.map(|r| r.as_of.to_string()).unwrap_or_default(),
            nav: first
                .map(|r| format::money(&currency, r.nav_before))
                .unwrap_or_default(),
            library,
            outcomes,
            positions: rows.into_iter().take(top).map(|(_, row)| row).collect(),
            compute_time: format!("{compute_ms:.1} ms"),
        }
    }
}

/// What the builder's definition would do, or why it cannot be run.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ScenarioCheckDto {
    pub valid: bool,
    /// Why not, naming the shock and the field.
    pub error: Option<String>,
    /// `P/L EUR -1,234.56 (-0.52% of NAV), NAV after EUR …` on the chosen portfolio.
    pub preview: Option<String>,
}

/// One confidence level of a Monte Carlo run.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TailRiskDto {
    /// `95%`.
    pub confidence: String,
    /// `-2.25%` of NAV.
    pub var: String,
    pub var_amount: String,
    pub es: String,
    pub es_amount: String,
}

/// Monte Carlo VaR and expected shortfall of a portfolio over a horizon.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct MonteCarloDto {
    /// What was simulated: paths, horizon, method, seed, observations, shrinkage.
    pub summary: String,
    pub levels: Vec<TailRiskDto>,
    pub riskless: Vec<String>,
}

impl MonteCarloDto {
    pub fn new(report: &ballast_workflows::scenarios::MonteCarloReport) -> Self {
        let r = &report.result;
        let currency = report.base_currency.as_str();
        let shrinkage = r
            .shrinkage_intensity
            .map(|s| format!(", Ledoit–Wolf shrinkage {s:.2}"))
            .unwrap_or_default();
        MonteCarloDto {
            summary: format!(
                "{} · NAV {} as of {} · {} paths over {} trading days, {:?}, seed {} · {} assets, {} daily observations{shrinkage}",
                report.portfolio,
                format::money(currency, report.nav),
                report.as_of,
                r.config.paths,
                r.config.horizon_days,
                r.config.method,
                r.config.seed,
                r.assets,
                r.observations
            ),
            levels: r
                .levels
                .iter()
                .map(|l| TailRiskDto {
                    confidence: format!("{:.0}%", l.confidence * 100.0),
                    var: format::percent(l.var),
                    var_amount: format::money(currency, l.var_amount),
                    es: format::percent(l.es),
                    es_amount: format::money(currency, l.es_amount),
                })
                .collect(),
            riskless: report.riskless.clone(),
        }
    }
}
