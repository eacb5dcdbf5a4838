//! Output of the CLI: progress on standard error, results on standard output, human tables by
//! default and JSON with `--json` (stable keys, money as exact decimal strings).

use std::io::IsTerminal;

use anyhow::Result;
use ballast_engine::kpi::{Entry, KpiConfig, Metric};
use ballast_engine::overview::PortfolioOverview;
use ballast_storage::{SourceInfo, Workspace};
use ballast_workflows::performance::PerformanceReport;
use ballast_workflows::{SyncProgress, SyncSummary, WriteProgress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

/// A progress bar on standard error (hidden with `--json` so scripts get clean output).
pub struct ProgressLine {
    bar: ProgressBar,
    /// Standard error is not a terminal and output is not JSON: print steps as lines.
    lines: bool,
}

impl ProgressLine {
    pub fn new(json: bool) -> Self {
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if json {
                ProgressDrawTarget::hidden()
            } else {
                ProgressDrawTarget::stderr()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{prefix:>8} {wide_bar} {pos}/{len} {msg}")
                .expect("valid template"),
        );
        ProgressLine {
            bar,
            lines: !json && !std::io::stderr().is_terminal(),
        }
    }

    pub fn write(&mut self, p: &WriteProgress) {
        self.bar.set_prefix("writing");
        self.bar.set_length(p.total as u64);
        self.bar.set_position(p.rows as u64);
        self.bar.set_message(format!(
            "{} (table {}/{})",
            p.table,
            p.tables_done + 1,
            p.tables
        ));
    }

    /// A bar on a terminal; one line per step otherwise (logs and scripts can follow it).
    pub fn sync(&mut self, p: &SyncProgress) {
        if self.lines {
            eprintln!("sync {:>3.0}% {}", p.percent(), p.describe());
            return;
        }
        self.bar.set_prefix("sync");
        self.bar.set_length(100);
        self.bar.set_position(p.percent() as u64);
        self.bar.set_message(p.describe());
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

pub fn table_counts(workspace: &Workspace, json: bool) -> Result<()> {
    let counts = workspace.table_counts()?;
    if json {
        let map: serde_json::Map<String, serde_json::Value> =
            counts.iter().map(|(t, n)| (t.clone(), json!(n))).collect();
        println!(
            "{}",
            json!({ "workspace": workspace.path(), "tables": map })
        );
    } else {
        println!("workspace {}", workspace.path().display());
        for (table, rows) in counts.iter().filter(|(_, n)| *n > 0) {
            println!("  {table:<24} {rows:>10} rows");
        }
    }
    Ok(())
}

pub fn sync_summary(summary: &SyncSummary, json: bool) -> Result<()> {
    let v = &summary.verification;
    if json {
        println!(
            "{}",
            json!({
                "source": summary.source,
                "tables": summary.tables,
                "rows_in": summary.rows_in,
                "rows_deleted": summary.rows_deleted,
                "full_tables": summary.full_tables,
                "verification": {
                    "summary": v.summary(),
                    "full": v.full,
                    "checked": v.checked.iter().map(|c| json!({"table": c.table, "from_changes": c.from_changes, "repaired": c.repaired})).collect::<Vec<_>>(),
                    "nav_totals_match": v.nav_totals_match,
                },
                "notes": summary.notes,
            })
        );
    } else {
        println!(
            "synced from {}: {} rows in, {} deleted, {} tables ({} pulled in full)",
            summary.source,
            summary.rows_in,
            summary.rows_deleted,
            summary.tables,
            summary.full_tables.len()
        );
        println!("verification {}", v.summary());
        for note in &summary.notes {
            println!("note: {note}");
        }
    }
    Ok(())
}

/// `ballast status`: where the data came from, how fresh each table is, recent runs, outbox.
pub fn status(workspace: &Workspace, json: bool) -> Result<()> {
    let now = chrono::Utc::now();
    let freshness = ballast_workflows::freshness(workspace, now)?;
    let tables = workspace.freshness()?;
    let runs = workspace.sync_runs(10)?;
    let outbox = workspace.outbox_counts()?;
    if json {
        println!(
            "{}",
            json!({
                "freshness": {
                    "label": freshness.label,
                    "as_of": freshness.as_of.map(|t| t.to_rfc3339()),
                    "stale": freshness.stale,
                    "stale_after_hours": freshness.stale_after_hours,
                    "stale_tables": freshness.stale_tables,
                },
                "tables": tables.iter().map(|t| json!({
                    "table": t.table, "rows": t.rows,
                    "last_synced_at": t.last_synced_at.to_rfc3339(),
                    "verified_at": t.verified_at.map(|v| v.to_rfc3339()),
                })).collect::<Vec<_>>(),
                "runs": runs.iter().map(|r| json!({
                    "started_at": r.started_at.to_rfc3339(),
                    "finished_at": r.finished_at.map(|f| f.to_rfc3339()),
                    "status": r.status, "rows_in": r.rows_in, "rows_deleted": r.rows_deleted,
                    "verification": r.verification, "notes": r.notes, "error": r.error,
                })).collect::<Vec<_>>(),
                "outbox": {"pending": outbox.pending, "sent": outbox.sent, "dead": outbox.dead},
            })
        );
        return Ok(());
    }
    println!(
        "data: {}{}",
        freshness.label,
        if freshness.stale {
            format!(" — STALE (older than {} h)", freshness.stale_after_hours)
        } else {
            String::new()
        }
    );
    for t in &tables {
        println!(
            "  {:<24} {:>10} rows  synced {}  verified {}",
            t.table,
            t.rows,
            ballast_workflows::sync::age_label(now - t.last_synced_at),
            t.verified_at
                .map(|v| ballast_workflows::sync::age_label(now - v))
                .unwrap_or_else(|| "never".into())
        );
    }
    println!("recent syncs:");
    for r in &runs {
        println!(
            "  {} {:<11} {:>9} in {:>7} deleted  {}{}",
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.status,
            r.rows_in,
            r.rows_deleted,
            r.verification.as_deref().unwrap_or(""),
            r.error
                .as_deref()
                .map(|e| format!(" error: {e}"))
                .unwrap_or_default()
        );
    }
    println!(
        "outbox: {} pending, {} dead, {} sent",
        outbox.pending, outbox.dead, outbox.sent
    );
    Ok(())
}

/// `ballast outbox status`.
pub fn outbox(workspace: &Workspace, json: bool) -> Result<()> {
    let items = workspace.outbox_items(None)?;
    if json {
        println!(
            "{}",
            json!(items
                .iter()
                .map(|i| json!({
                    "kind": i.kind, "idempotency_key": i.idempotency_key, "status": i.status,
                    "attempts": i.attempts,
                    "next_attempt_at": i.next_attempt_at.map(|t| t.to_rfc3339()),
                    "last_error": i.last_error, "created_at": i.created_at.to_rfc3339(),
                    "sent_at": i.sent_at.map(|t| t.to_rfc3339()),
                }))
                .collect::<Vec<_>>())
        );
        return Ok(());
    }
    let counts = workspace.outbox_counts()?;
    println!(
        "outbox: {} pending, {} dead, {} sent",
        counts.pending, counts.dead, counts.sent
    );
    for i in items.iter().filter(|i| i.status != "sent") {
        println!(
            "  {:<8} {:<17} attempts {}  {}{}",
            i.status,
            i.kind,
            i.attempts,
            i.idempotency_key,
            i.last_error
                .as_deref()
                .map(|e| format!("  last error: {e}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn percent(m: &Metric) -> String {
    match m {
        Metric::Value(v) => format!("{:+.2}%", v * 100.0),
        Metric::Unavailable(why) => format!("n/a ({why})"),
    }
}

/// Where the numbers came from and when, first line of every human report.
fn print_source(source: Option<&SourceInfo>) {
    if let Some(s) = source {
        println!(
            "data: {} — loaded {}",
            s.label,
            s.loaded_at.format("%Y-%m-%d %H:%M UTC")
        );
    }
}

fn source_json(source: Option<&SourceInfo>) -> Option<serde_json::Value> {
    source.map(|s| json!({ "kind": s.kind, "label": s.label, "loaded_at": s.loaded_at }))
}

/// A KPI as its unit reads, or why it is absent.
fn shown(entry: &Entry) -> String {
    match &entry.metric {
        Metric::Value(v) => entry.unit.format(*v),
        Metric::Unavailable(why) => format!("n/a ({why})"),
    }
}

pub fn kpis(
    overviews: &[PortfolioOverview],
    source: Option<&SourceInfo>,
    json: bool,
) -> Result<()> {
    if json {
        let source = source_json(source);
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "source": source, "portfolios": overviews }))?
        );
        return Ok(());
    }
    print_source(source);
    for o in overviews {
        let money = |v: Option<rust_decimal::Decimal>| {
            v.map_or("n/a".to_string(), |d| {
                format!("{} {}", o.base_currency, d.round_dp(2))
            })
        };
        println!();
        println!(
            "{} — {} (as of {})",
            o.code,
            o.name,
            o.as_of.map_or("n/a".into(), |d| d.to_string())
        );
        println!("  NAV                {}", money(o.nav));
        println!("  Day P/L            {}", money(o.day_pl));
        println!(
            "  YTD P/L            {}  ({})",
            money(o.ytd_pl),
            percent(&o.ytd_return)
        );
        let k = &o.kpis;
        for entry in k.entries().iter().filter(|e| e.key != "max_drawdown") {
            println!("  {:<18} {}", entry.label, shown(entry));
        }
        match &k.max_drawdown_detail {
            Some(d) => println!(
                "  Max drawdown       {:+.2}% (peak {}, trough {}, recovered {})",
                d.depth * 100.0,
                d.peak.map_or("start".into(), |p| p.to_string()),
                d.trough,
                d.recovery.map_or("not yet".into(), |r| r.to_string())
            ),
            None => println!("  Max drawdown       {}", percent(&k.max_drawdown)),
        }
        let breaches: Vec<String> = o
            .limits
            .iter()
            .filter(|l| l.breached)
            .map(|l| {
                format!(
                    "{} {:.4} vs {} ({})",
                    l.metric,
                    l.value.unwrap_or(f64::NAN),
                    l.threshold,
                    l.severity
                )
            })
            .collect();
        match breaches.as_slice() {
            [] => println!(
                "  Risk limits        none breached ({} checked)",
                o.limits.len()
            ),
            list => println!("  Risk limits        BREACHED: {}", list.join("; ")),
        }
    }
    Ok(())
}

/// The whole catalogue of one subject: every group, the worst drawdowns, exposure by
/// dimension, trading totals and the risk limits.
pub fn catalogue(
    report: &PerformanceReport,
    source: Option<&SourceInfo>,
    config: KpiConfig,
    json: bool,
) -> Result<()> {
    let p = &report.performance;
    if json {
        let source = source_json(source);
        let groups: Vec<_> = p
            .groups
            .iter()
            .map(|g| {
                let kpis: serde_json::Map<String, serde_json::Value> = g
                    .entries
                    .iter()
                    .map(|e| {
                        let body = match &e.metric {
                            Metric::Value(v) => json!({ "label": e.label, "unit": e.unit, "value": v }),
                            Metric::Unavailable(why) => {
                                json!({ "label": e.label, "unit": e.unit, "value": null, "unavailable": why })
                            }
                        };
                        (e.key.to_string(), body)
                    })
                    .collect();
                json!({ "key": g.key, "title": g.title, "kpis": kpis })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "subject": report.label,
                "currency": report.currency,
                "note": report.note,
                "source": source,
                "risk_free_annual": config.risk_free_annual,
                "range": p.range.to_string(),
                "from": p.first,
                "to": p.last,
                "observations": p.observations,
                "benchmark": p.benchmark,
                "groups": groups,
                "drawdowns": p.drawdowns,
                "exposure": p.exposure,
                "trading_totals": p.trading_totals,
                "limits": p.limits,
            }))?
        );
        return Ok(());
    }
    print_source(source);
    let dates = match (p.first, p.last) {
        (Some(a), Some(b)) => format!("{a} to {b}, {} daily returns", p.observations),
        _ => "no returns in the range".into(),
    };
    println!("{} — {} ({dates})", report.label, p.range);
    if let Some(b) = &p.benchmark {
        println!("benchmark: {b}");
    }
    if let Some(note) = &report.note {
        println!("note: {note}");
    }
    for g in &p.groups {
        println!();
        println!("{}", g.title);
        for e in &g.entries {
            println!("  {:<28} {}", e.label, shown(e));
        }
    }
    if !p.drawdowns.is_empty() {
        println!();
        println!("Worst drawdowns");
        for d in &p.drawdowns {
            println!(
                "  {:>+8.2}%  peak {}  trough {}  recovered {}  ({} days)",
                d.depth * 100.0,
                d.peak.map_or("start".into(), |x| x.to_string()),
                d.trough,
                d.recovery.map_or("not yet".into(), |x| x.to_string()),
                d.duration_periods
            );
        }
    }
    if let Some(x) = &p.exposure {
        let money = |d: rust_decimal::Decimal| format!("{} {}", report.currency, d.round_dp(2));
        println!();
        println!(
            "Exposure: gross {}, net {}, long {}, short {}",
            money(x.gross),
            money(x.net),
            money(x.long),
            money(x.short)
        );
        for (title, buckets) in [
            ("asset class", &x.by_asset_class),
            ("sector", &x.by_sector),
            ("country", &x.by_country),
            ("currency", &x.by_currency),
        ] {
            let top: Vec<String> = buckets
                .iter()
                .take(6)
                .map(|b| {
                    let w = b
                        .net_weight
                        .map_or("n/a".into(), |w| format!("{:+.1}%", w * 100.0));
                    format!("{} {w}", b.name)
                })
                .collect();
            println!("  by {title:<12} {}", top.join(", "));
        }
    }
    for t in &p.trading_totals {
        println!(
            "Trading P/L ({}): net {} from {} round trips (profit {}, loss {}, fees {})",
            t.currency,
            t.net_pl.round_dp(2),
            t.round_trips,
            t.gross_profit.round_dp(2),
            t.gross_loss.round_dp(2),
            t.fees.round_dp(2)
        );
    }
    if !p.limits.is_empty() {
        println!();
        println!("Risk limits");
        for l in &p.limits {
            let state = match (&l.not_evaluable, l.breached) {
                (Some(why), _) => format!("not evaluable: {why}"),
                (None, true) => format!("BREACHED ({})", l.severity),
                (None, false) => "ok".into(),
            };
            let value = l.value.map_or("n/a".into(), |v| format!("{v:.4}"));
            println!(
                "  {:<20} threshold {:<8} value {:<10} {state}",
                l.metric, l.threshold, value
            );
        }
    }
    Ok(())
}
