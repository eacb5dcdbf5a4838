//! Output of `ballast scenario …` and `ballast ladder`: human tables by default, JSON with
//! `--json` (the workflow's structures as they are, money as exact decimal strings).

use anyhow::Result;
use ballast_engine::ladder::Ladder;
use ballast_storage::SavedScenario;
use ballast_workflows::scenarios::{
    LadderReport, LibraryEntry, NamedScenario, ScenarioRun, ScenarioSource,
};
use rust_decimal::Decimal;
use serde_json::json;

/// Positions listed in a run's table, largest P/L (in absolute value) first.
const TOP_POSITIONS: usize = 10;
/// Waterfall steps listed by `ladder`.
const WATERFALL_ROWS: usize = 10;

/// `1234567.891` → `1,234,567.89`.
fn money(d: Decimal) -> String {
    let text = format!("{:.2}", d.round_dp(2));
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "00"));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{frac}")
}

fn pct(v: Option<f64>) -> String {
    v.map_or("n/a".into(), |v| format!("{:+.2}%", v * 100.0))
}

fn source_text(source: &ScenarioSource) -> String {
    match source {
        ScenarioSource::Preset => "built-in preset".into(),
        ScenarioSource::Saved {
            version,
            created_at,
            ..
        } => format!(
            "saved, version {version} of {}",
            created_at.format("%Y-%m-%d %H:%M UTC")
        ),
    }
}

pub fn list(entries: &[LibraryEntry], json: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "scenarios": entries }))?
        );
        return Ok(());
    }
    let width = entries
        .iter()
        .map(|e| e.key.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "{:<width$}  {:<7}  {:>7}  {:>6}  TITLE",
        "NAME", "KIND", "VERSION", "SHOCKS"
    );
    for e in entries {
        println!(
            "{:<width$}  {:<7}  {:>7}  {:>6}  {}",
            e.key,
            e.kind,
            e.version.map_or("-".into(), |v| v.to_string()),
            e.shocks,
            e.title
        );
    }
    Ok(())
}

pub fn show(scenario: &NamedScenario, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(scenario)?);
        return Ok(());
    }
    let d = &scenario.definition;
    println!(
        "{} — {} ({})",
        scenario.key,
        d.name,
        source_text(&scenario.source)
    );
    if !d.description.is_empty() {
        println!("  {}", d.description);
    }
    for (i, shock) in d.shocks.iter().enumerate() {
        println!(
            "  #{} {}",
            i + 1,
            serde_json::to_string(shock).unwrap_or_else(|_| shock.kind().into())
        );
    }
    Ok(())
}

pub fn saved(saved: &SavedScenario, verb: &str, json: bool) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "id": saved.id, "name": saved.name, "version": saved.version,
                "created_at": saved.created_at,
            }))?
        );
    } else {
        println!(
            "{verb} scenario '{}' as version {}",
            saved.name, saved.version
        );
    }
    Ok(())
}

fn print_run(run: &ScenarioRun) {
    let r = &run.result;
    let ccy = &r.base_currency;
    println!(
        "{} — {} [{}] ({}), as of {}, {ccy}",
        run.portfolio,
        r.name,
        run.scenario,
        source_text(&run.source),
        r.as_of
    );
    println!("  NAV before         {}", money(r.nav_before));
    println!(
        "  P/L                {}  ({})",
        money(r.pnl),
        pct(r.pnl_pct)
    );
    println!("  Redemptions        {}", money(r.redeemed));
    println!("  NAV after          {}", money(r.nav_after));
    let mut moved: Vec<_> = r.positions.iter().filter(|p| !p.pnl.is_zero()).collect();
    moved.sort_by_key(|p| std::cmp::Reverse(p.pnl.abs()));
    println!(
        "  Positions by P/L (top {} of {} moved, {} held):",
        moved.len().min(TOP_POSITIONS),
        moved.len(),
        r.positions.len()
    );
    if !moved.is_empty() {
        println!(
            "    {:<14} {:>18} {:>9} {:>16}",
            "SYMBOL", "MARKET VALUE", "CHANGE", "P/L"
        );
        for p in moved.iter().take(TOP_POSITIONS) {
            println!(
                "    {:<14} {:>18} {:>8.2}% {:>16}",
                &*p.symbol,
                money(p.market_value),
                p.change * Decimal::from(100),
                money(p.pnl)
            );
        }
        println!(
            "    {:<14} {:>18} {:>9} {:>16}",
            "TOTAL",
            "",
            "",
            money(r.pnl)
        );
    }
    for s in &r.by_shock {
        println!(
            "  Shock #{} {:<18} P/L {:>16} on {} positions",
            s.shock,
            s.shock_type,
            money(s.pnl),
            s.positions
        );
    }
    for red in &r.redemptions {
        println!(
            "  Redemption #{}: {} ({}% of NAV after P/L) dealing {}",
            red.shock,
            money(red.amount),
            (red.share * Decimal::from(100)).normalize(),
            red.by
        );
    }
    if !r.unpriced.is_empty() {
        println!("  Not priced ({}):", r.unpriced.len());
        for u in r.unpriced.iter().take(5) {
            println!("    shock #{} {}: {}", u.shock, u.symbol, u.reason);
        }
        if r.unpriced.len() > 5 {
            println!("    … and {} more (see --json)", r.unpriced.len() - 5);
        }
    }
    match r.newly_breached.as_slice() {
        [] => println!(
            "  Risk limits        none newly breached ({} checked)",
            r.limits_after.len()
        ),
        ids => {
            let names: Vec<String> = r
                .limits_after
                .iter()
                .filter(|l| ids.contains(&l.limit_id))
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
            println!("  Risk limits        NEWLY BREACHED: {}", names.join("; "));
        }
    }
}

pub fn run(run: &ScenarioRun, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(run)?);
    } else {
        print_run(run);
    }
    Ok(())
}

pub fn compare(runs: &[ScenarioRun], json: bool) -> Result<()> {
    if json {
        let portfolio = runs.first().map(|r| r.portfolio.clone());
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "portfolio": portfolio, "results": runs }))?
        );
        return Ok(());
    }
    let width = runs
        .iter()
        .map(|r| r.scenario.len())
        .max()
        .unwrap_or(8)
        .max(8);
    println!(
        "{:<width$} {:>18} {:>9} {:>16} {:>18} {:>8}",
        "SCENARIO", "P/L", "P/L %", "REDEMPTIONS", "NAV AFTER", "BREACHES"
    );
    for run in runs {
        let r = &run.result;
        println!(
            "{:<width$} {:>18} {:>9} {:>16} {:>18} {:>8}",
            run.scenario,
            money(r.pnl),
            pct(r.pnl_pct),
            money(r.redeemed),
            money(r.nav_after),
            r.newly_breached.len()
        );
    }
    for run in runs {
        println!();
        print_run(run);
    }
    Ok(())
}

fn print_ladder(title: &str, l: &Ladder) {
    println!("  {title} (NAV {}):", money(l.nav));
    println!(
        "    {:<8} {:>16} {:>16} {:>16} {:>16} {:>9} {:>17}",
        "BUCKET", "CAPACITY", "CUM CAPACITY", "DEMAND", "CUM DEMAND", "COVERAGE", "SURPLUS"
    );
    for b in &l.buckets {
        let line = format!(
            "    {:<8} {:>16} {:>16} {:>16} {:>16} {:>9} {:>17} {}",
            b.label,
            money(b.capacity),
            money(b.cum_capacity),
            money(b.demand),
            money(b.cum_demand),
            b.coverage.map_or("-".into(), |c| format!("{c:.2}x")),
            money(b.surplus),
            if b.breach { "BREACH" } else { "" }
        );
        println!("{}", line.trim_end());
    }
    println!(
        "    Days to liquidate 90% of NAV: {}",
        l.days_to_liquidate_90
            .map_or("not within the horizon".into(), |d| d.to_string())
    );
}

pub fn ladder(report: &LadderReport, json: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    println!(
        "{} — liquidity ladder as of {}, {}",
        report.portfolio, report.as_of, report.base_currency
    );
    print_ladder("Base", &report.base);
    if let (Some(name), Some(stressed)) = (&report.scenario, &report.stressed) {
        print_ladder(&format!("Under {name}"), stressed);
        if let Some(delta) = &report.delta {
            println!("  Stressed − base:");
            for d in delta {
                println!(
                    "    {:<8} capacity {:>16}  demand {:>16}  surplus {:>16}",
                    d.label,
                    money(d.capacity),
                    money(d.demand),
                    money(d.surplus)
                );
            }
        }
    }
    let w = &report.base.waterfall;
    println!(
        "  Waterfall (first {} of {}):",
        w.len().min(WATERFALL_ROWS),
        w.len()
    );
    println!(
        "    {:>3} {:<14} {:>16} {:>6} {:>8} {:>14} {:>16}",
        "#", "SYMBOL", "VALUE", "DAYS", "COST BP", "COST", "CUM PROCEEDS"
    );
    for s in w.iter().take(WATERFALL_ROWS) {
        println!(
            "    {:>3} {:<14} {:>16} {:>6} {:>8} {:>14} {:>16}",
            s.order,
            s.symbol,
            money(s.value),
            s.days_to_liquidate.map_or("-".into(), |d| d.to_string()),
            s.cost_bp.normalize(),
            money(s.cost),
            money(s.cum_proceeds)
        );
    }
    if !report.base.notes.is_empty() {
        println!("  Notes ({}):", report.base.notes.len());
        for n in report.base.notes.iter().take(5) {
            println!("    {}: {}", n.symbol, n.note);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_groups_thousands() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(money(d("1234567.891")), "1,234,567.89");
        assert_eq!(money(d("-1000")), "-1,000.00");
        assert_eq!(money(d("12.5")), "12.50");
        assert_eq!(money(d("0")), "0.00");
    }
}
