//! What crosses the IPC bridge. These are not the domain types: they carry display-ready
//! text next to raw values, use camelCase, and avoid 64-bit integers (JavaScript numbers).
//! TypeScript for them is generated into `ui/src/bindings.ts`.

use ballast_engine::kpi::{KpiReport, Metric};
use ballast_engine::overview::PortfolioOverview;
use ballast_storage::{SourceInfo, SyncRun, TableFreshness};
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
}

fn kpi(key: &str, label: &str, metric: &Metric, as_percent: bool) -> KpiDto {
    match metric {
        Metric::Value(v) => KpiDto {
            key: key.into(),
            label: label.into(),
            value: Some(*v),
            display: if as_percent {
                format::percent(*v)
            } else {
                format!("{v:.2}")
            },
            unavailable_reason: None,
        },
        Metric::Unavailable(why) => KpiDto {
            key: key.into(),
            label: label.into(),
            value: None,
            display: "n/a".into(),
            unavailable_reason: Some(why.clone()),
        },
    }
}

fn kpis(report: &KpiReport) -> Vec<KpiDto> {
    report
        .entries()
        .iter()
        .map(|(key, label, metric)| kpi(key, label, metric, !matches!(*key, "sharpe" | "sortino")))
        .collect()
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
            ytd_return: kpi("ytd_return", "YTD return", &o.ytd_return, true),
            kpis: kpis(&o.kpis),
            max_drawdown: o.kpis.max_drawdown_detail.as_ref().map(|d| DrawdownDto {
                depth: format::percent(d.depth),
                peak: d.peak.map(|p| p.to_string()),
                trough: d.trough.to_string(),
                recovery: d.recovery.map(|r| r.to_string()),
                duration_days: d.duration_periods as u32,
            }),
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
    /// `connecting`, `reading` or `writing`.
    pub phase: String,
    pub table: Option<String>,
    pub percent: f64,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SyncResultDto {
    pub rows: u32,
    pub tables: u32,
    pub source: String,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TableFreshnessDto {
    pub table: String,
    pub rows: u32,
    pub last_synced_at: String,
}

impl From<&TableFreshness> for TableFreshnessDto {
    fn from(t: &TableFreshness) -> Self {
        TableFreshnessDto {
            table: t.table.clone(),
            rows: t.rows.clamp(0, u32::MAX as i64) as u32,
            last_synced_at: t.last_synced_at.to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SyncRunDto {
    pub started_at: String,
    pub finished_at: Option<String>,
    pub status: String,
    pub rows_in: u32,
    pub error: Option<String>,
}

impl From<&SyncRun> for SyncRunDto {
    fn from(r: &SyncRun) -> Self {
        SyncRunDto {
            started_at: r.started_at.to_rfc3339(),
            finished_at: r.finished_at.map(|f| f.to_rfc3339()),
            status: r.status.clone(),
            rows_in: r.rows_in.clamp(0, u32::MAX as i64) as u32,
            error: r.error.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DataStatusDto {
    pub source: Option<SourceDto>,
    pub tables: Vec<TableFreshnessDto>,
    pub runs: Vec<SyncRunDto>,
}
