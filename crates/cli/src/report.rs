//! Output of the CLI: progress on standard error, results on standard output, human tables by
//! default and JSON with `--json` (stable keys, money as exact decimal strings).

use anyhow::Result;
use ballast_engine::kpi::Metric;
use ballast_engine::overview::PortfolioOverview;
use ballast_storage::{SourceInfo, Workspace};
use ballast_workflows::{SyncProgress, SyncSummary, WriteProgress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

/// A progress bar on standard error (hidden with `--json` so scripts get clean output).
pub struct ProgressLine {
    bar: ProgressBar,
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
        ProgressLine { bar }
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

    pub fn sync(&mut self, p: &SyncProgress) {
        match p {
            SyncProgress::Connecting => self.bar.set_message("connecting"),
            SyncProgress::Reading(r) => {
                self.bar.set_prefix("reading");
                self.bar.set_length(r.tables as u64);
                self.bar.set_position(r.tables_done as u64);
                self.bar
                    .set_message(format!("{} ({} rows)", r.table, r.rows));
            }
            SyncProgress::Writing(w) => self.write(w),
        }
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
    if json {
        println!(
            "{}",
            json!({ "source": summary.source, "tables": summary.tables, "rows": summary.rows })
        );
    } else {
        println!(
            "synced {} rows in {} tables from {}",
            summary.rows, summary.tables, summary.source
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

fn ratio(m: &Metric) -> String {
    match m {
        Metric::Value(v) => format!("{v:.2}"),
        Metric::Unavailable(why) => format!("n/a ({why})"),
    }
}

pub fn kpis(
    overviews: &[PortfolioOverview],
    source: Option<&SourceInfo>,
    json: bool,
) -> Result<()> {
    if json {
        let source =
            source.map(|s| json!({ "kind": s.kind, "label": s.label, "loaded_at": s.loaded_at }));
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "source": source, "portfolios": overviews }))?
        );
        return Ok(());
    }
    if let Some(s) = source {
        println!(
            "data: {} — loaded {}",
            s.label,
            s.loaded_at.format("%Y-%m-%d %H:%M UTC")
        );
    }
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
        println!("  Cumulative return  {}", percent(&k.cumulative_return));
        println!("  CAGR               {}", percent(&k.cagr));
        println!("  Volatility (ann.)  {}", percent(&k.annual_volatility));
        println!("  Sharpe             {}", ratio(&k.sharpe));
        println!("  Sortino            {}", ratio(&k.sortino));
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
    }
    Ok(())
}
