//! Writing a whole [`Dataset`] into the mirrors (demo init and the full sync) and reading back
//! what the engine needs.
//!
//! A replace is one transaction: the old mirrors, the new rows, the per-table freshness and
//! the source record commit together or not at all, so a killed process leaves the previous
//! workspace intact.

use ballast_engine::model::*;
use ballast_engine::schema::SHARED_TABLES;
use chrono::{DateTime, NaiveDate, Utc};
use duckdb::{params, Appender, Connection};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::{Result, SourceInfo, StorageError, Workspace};

/// Progress of a long write: `table`, rows written so far of `total` for that table.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub table: &'static str,
    pub rows: usize,
    pub total: usize,
    /// Tables finished so far, of `tables`.
    pub tables_done: usize,
    pub tables: usize,
}

/// Rows between progress reports.
const PROGRESS_EVERY: usize = 20_000;

fn append_all<T>(
    conn: &Connection,
    table: &'static str,
    rows: &[T],
    done: usize,
    progress: &mut dyn FnMut(Progress),
    mut write: impl FnMut(&mut Appender<'_>, &T) -> duckdb::Result<()>,
) -> Result<()> {
    let mut appender = conn.appender(table)?;
    let report = |rows_done| Progress {
        table,
        rows: rows_done,
        total: rows.len(),
        tables_done: done,
        tables: SHARED_TABLES.len(),
    };
    progress(report(0));
    for (i, row) in rows.iter().enumerate() {
        write(&mut appender, row)?;
        if (i + 1) % PROGRESS_EVERY == 0 {
            progress(report(i + 1));
        }
    }
    appender.flush()?;
    progress(report(rows.len()));
    Ok(())
}

impl Workspace {
    /// Replace every mirror with `data` and record `source`, in one transaction.
    pub fn replace_dataset(
        &self,
        data: &Dataset,
        source: &SourceInfo,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<()> {
        self.forget_mirror_figures();
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for table in SHARED_TABLES {
            tx.execute_batch(&format!("DELETE FROM {}", table.name))?;
        }
        write_mirrors(&tx, data, source.loaded_at, progress)?;
        tx.execute_batch("DELETE FROM workspace_source; DELETE FROM sync_state;")?;
        tx.execute(
            "INSERT INTO workspace_source (kind, label, loaded_at) VALUES (?, ?, ?)",
            params![source.kind, source.label, source.loaded_at],
        )?;
        for (table, rows) in data.row_counts() {
            tx.execute(
                "INSERT INTO sync_state (table_name, row_count, last_synced_at) VALUES (?, ?, ?)",
                params![table, rows as i64, source.loaded_at],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    pub fn portfolios(&self) -> Result<Vec<Portfolio>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, code, name, base_currency, strategy, inception, benchmark, status,
                    lp_visible
             FROM portfolios ORDER BY code",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Portfolio {
                id: r.get(0)?,
                code: r.get(1)?,
                name: r.get(2)?,
                base_currency: r.get(3)?,
                strategy: r.get(4)?,
                inception: r.get(5)?,
                benchmark: r.get(6)?,
                status: r.get(7)?,
                lp_visible: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The NAV history of one portfolio, oldest first.
    pub fn nav_history(&self, portfolio_id: &str) -> Result<Vec<NavPoint>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, portfolio_id::VARCHAR, date, nav, external_flow, gross_exposure,
                    net_exposure
             FROM portfolio_nav WHERE portfolio_id = ?::UUID ORDER BY date",
        )?;
        let rows = stmt.query_map(params![portfolio_id], |r| {
            Ok(NavPoint {
                id: r.get(0)?,
                portfolio_id: r.get(1)?,
                date: r.get(2)?,
                nav: r.get(3)?,
                external_flow: r.get(4)?,
                gross_exposure: r.get(5)?,
                net_exposure: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Sum of position market values per date for one portfolio (for reconciliation).
    pub fn position_totals(&self, portfolio_id: &str) -> Result<Vec<(NaiveDate, Decimal)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT date, sum(market_value) FROM positions WHERE portfolio_id = ?::UUID
             GROUP BY date ORDER BY date",
        )?;
        let rows = stmt.query_map(params![portfolio_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// All assets, by symbol.
    pub fn assets(&self) -> Result<Vec<Asset>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, symbol, name, asset_class, sector, country, currency, issuer,
                    rating, maturity, coupon, modified_duration, convexity, spread_duration, beta,
                    avg_daily_volume, liquidity_class, redemption_notice_days, lp_visible
             FROM assets ORDER BY symbol",
        )?;
        let mut rows = stmt.query([])?;
        let mut assets = Vec::new();
        while let Some(r) = rows.next()? {
            let class: String = r.get(3)?;
            let asset_class = AssetClass::parse(&class).ok_or(StorageError::Invalid {
                table: "assets",
                column: "asset_class",
                value: class,
            })?;
            assets.push(Asset {
                id: r.get(0)?,
                symbol: r.get(1)?,
                name: r.get(2)?,
                asset_class,
                sector: r.get(4)?,
                country: r.get(5)?,
                currency: r.get(6)?,
                issuer: r.get(7)?,
                rating: r.get(8)?,
                maturity: r.get(9)?,
                coupon: r.get(10)?,
                modified_duration: r.get(11)?,
                convexity: r.get(12)?,
                spread_duration: r.get(13)?,
                beta: r.get(14)?,
                avg_daily_volume: r.get(15)?,
                liquidity_class: r.get(16)?,
                redemption_notice_days: r.get(17)?,
                lp_visible: r.get(18)?,
            });
        }
        Ok(assets)
    }
}

/// What one portfolio's performance page reads, besides its NAV history.
impl Workspace {
    /// Closes of one asset, oldest first.
    pub fn prices_of(&self, asset_id: &str) -> Result<Vec<Price>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT asset_id::VARCHAR, date, close FROM prices WHERE asset_id = ?::UUID
             ORDER BY date",
        )?;
        let rows = stmt.query_map(params![asset_id], |r| {
            Ok(Price {
                asset_id: r.get(0)?,
                date: r.get(1)?,
                close: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Every close of the assets a portfolio holds on `date`, grouped by asset (in `asset_id`
    /// order), each oldest first: what a scenario or a simulation of that book can use, and a
    /// fraction of the whole price table.
    pub fn prices_held(&self, portfolio_id: &str, date: NaiveDate) -> Result<Vec<Price>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT asset_id::VARCHAR, date, close FROM prices
             WHERE asset_id IN (SELECT asset_id FROM positions
                                WHERE portfolio_id = ?::UUID AND date = ?)
             ORDER BY asset_id, date",
        )?;
        let rows = stmt.query_map(params![portfolio_id, date], |r| {
            Ok(Price {
                asset_id: r.get(0)?,
                date: r.get(1)?,
                close: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Every FX fixing, by pair and date.
    pub fn fx_rates(&self) -> Result<Vec<FxRate>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT pair, date, rate FROM fx_rates ORDER BY pair, date")?;
        let rows = stmt.query_map([], |r| {
            Ok(FxRate {
                pair: r.get(0)?,
                date: r.get(1)?,
                rate: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn accounts(&self) -> Result<Vec<Account>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, portfolio_id::VARCHAR, broker, broker_account_ref FROM accounts
             ORDER BY broker, broker_account_ref",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Account {
                id: r.get(0)?,
                portfolio_id: r.get(1)?,
                broker: r.get(2)?,
                broker_account_ref: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The trades of every account of one portfolio, in trade-date order (then as stored).
    pub fn trades_of_portfolio(&self, portfolio_id: &str) -> Result<Vec<Trade>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT t.id::VARCHAR, t.account_id::VARCHAR, t.asset_id::VARCHAR, t.broker,
                    t.broker_trade_id, t.side, t.quantity, t.price, t.fees, t.currency,
                    t.trade_date, t.settle_date
             FROM trades t JOIN accounts a ON a.id = t.account_id
             WHERE a.portfolio_id = ?::UUID
             ORDER BY t.trade_date, t.broker_trade_id",
        )?;
        let mut rows = stmt.query(params![portfolio_id])?;
        let mut trades = Vec::new();
        while let Some(r) = rows.next()? {
            let side: String = r.get(5)?;
            trades.push(Trade {
                id: r.get(0)?,
                account_id: r.get(1)?,
                asset_id: r.get(2)?,
                broker: r.get(3)?,
                broker_trade_id: r.get(4)?,
                side: Side::parse(&side).ok_or(StorageError::Invalid {
                    table: "trades",
                    column: "side",
                    value: side,
                })?,
                quantity: r.get(6)?,
                price: r.get(7)?,
                fees: r.get(8)?,
                currency: r.get(9)?,
                trade_date: r.get(10)?,
                settle_date: r.get(11)?,
            });
        }
        Ok(trades)
    }

    /// One portfolio's positions at the close of `date`.
    pub fn positions_on(&self, portfolio_id: &str, date: NaiveDate) -> Result<Vec<Position>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, portfolio_id::VARCHAR, asset_id::VARCHAR, date, quantity,
                    market_value
             FROM positions WHERE portfolio_id = ?::UUID AND date = ? ORDER BY asset_id",
        )?;
        let rows = stmt.query_map(params![portfolio_id, date], |r| {
            Ok(Position {
                id: r.get(0)?,
                portfolio_id: r.get(1)?,
                asset_id: r.get(2)?,
                date: r.get(3)?,
                quantity: r.get(4)?,
                market_value: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn allocations(&self, portfolio_id: &str) -> Result<Vec<Allocation>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, portfolio_id::VARCHAR, bucket, target_weight, actual_weight,
                    liquid
             FROM portfolio_allocations WHERE portfolio_id = ?::UUID ORDER BY bucket",
        )?;
        let rows = stmt.query_map(params![portfolio_id], |r| {
            Ok(Allocation {
                id: r.get(0)?,
                portfolio_id: r.get(1)?,
                bucket: r.get(2)?,
                target_weight: r.get(3)?,
                actual_weight: r.get(4)?,
                liquid: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    pub fn risk_limits(&self, portfolio_id: &str) -> Result<Vec<RiskLimit>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, portfolio_id::VARCHAR, metric, threshold, severity
             FROM risk_limits WHERE portfolio_id = ?::UUID ORDER BY metric, threshold",
        )?;
        let rows = stmt.query_map(params![portfolio_id], |r| {
            Ok(RiskLimit {
                id: r.get(0)?,
                portfolio_id: r.get(1)?,
                metric: r.get(2)?,
                threshold: r.get(3)?,
                severity: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}

/// What the scenario engine and the liquidity ladder read besides the above.
impl Workspace {
    /// Every sector coefficient (sector × macro factor elasticity), by effective date.
    pub fn sector_coefficients(&self) -> Result<Vec<SectorCoefficient>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, sector, macro_factor, elasticity, effective_date
             FROM sector_coefficients ORDER BY effective_date, sector, macro_factor",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(SectorCoefficient {
                id: r.get(0)?,
                sector: r.get(1)?,
                macro_factor: r.get(2)?,
                elasticity: r.get(3)?,
                effective_date: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// One portfolio's subscriptions and redemptions (every status), by dealing date.
    pub fn fund_flows(&self, portfolio_id: &str) -> Result<Vec<FundFlow>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, portfolio_id::VARCHAR, investor_id::VARCHAR, kind, amount,
                    notice_date, dealing_date, status
             FROM fund_flows WHERE portfolio_id = ?::UUID ORDER BY dealing_date, notice_date, id",
        )?;
        let rows = stmt.query_map(params![portfolio_id], |r| {
            Ok(FundFlow {
                id: r.get(0)?,
                portfolio_id: r.get(1)?,
                investor_id: r.get(2)?,
                kind: r.get(3)?,
                amount: r.get(4)?,
                notice_date: r.get(5)?,
                dealing_date: r.get(6)?,
                status: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// One portfolio's dealing terms (`None` when it has none).
    pub fn liquidity_terms(&self, portfolio_id: &str) -> Result<Option<LiquidityTerms>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, portfolio_id::VARCHAR, dealing_frequency, notice_days, gate_pct,
                    lockup_days
             FROM liquidity_terms WHERE portfolio_id = ?::UUID ORDER BY id LIMIT 1",
        )?;
        let mut rows = stmt.query_map(params![portfolio_id], |r| {
            Ok(LiquidityTerms {
                id: r.get(0)?,
                portfolio_id: r.get(1)?,
                dealing_frequency: r.get(2)?,
                notice_days: r.get(3)?,
                gate_pct: r.get(4)?,
                lockup_days: r.get(5)?,
            })
        })?;
        Ok(rows.next().transpose()?)
    }
}

/// Write every row of `d` with `updated_at` = `stamp` (the demo has no shared database, so its
/// rows are as of the moment they were generated). Prices and FX fixings get fresh ids.
fn write_mirrors(
    conn: &Connection,
    d: &Dataset,
    stamp: DateTime<Utc>,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    append_all(conn, "portfolios", &d.portfolios, 0, progress, |a, p| {
        a.append_row(params![
            p.id,
            p.code,
            p.name,
            p.base_currency,
            p.strategy,
            p.inception,
            p.benchmark,
            p.status,
            p.lp_visible,
            stamp
        ])
    })?;
    append_all(conn, "assets", &d.assets, 1, progress, |a, x| {
        a.append_row(params![
            x.id,
            x.symbol,
            x.name,
            x.asset_class.as_str(),
            x.sector,
            x.country,
            x.currency,
            x.issuer,
            x.rating,
            x.maturity,
            x.coupon,
            x.modified_duration,
            x.convexity,
            x.spread_duration,
            x.beta,
            x.avg_daily_volume,
            x.liquidity_class,
            x.redemption_notice_days,
            x.lp_visible,
            stamp
        ])
    })?;
    append_all(conn, "prices", &d.prices, 2, progress, |a, p| {
        a.append_row(params![
            Uuid::now_v7().to_string(),
            p.asset_id,
            p.date,
            p.close,
            stamp
        ])
    })?;
    append_all(conn, "fx_rates", &d.fx_rates, 3, progress, |a, f| {
        a.append_row(params![
            Uuid::now_v7().to_string(),
            f.pair,
            f.date,
            f.rate,
            stamp
        ])
    })?;
    append_all(
        conn,
        "sector_coefficients",
        &d.sector_coefficients,
        4,
        progress,
        |a, s| {
            a.append_row(params![
                s.id,
                s.sector,
                s.macro_factor,
                s.elasticity,
                s.effective_date,
                stamp
            ])
        },
    )?;
    append_all(conn, "accounts", &d.accounts, 5, progress, |a, x| {
        a.append_row(params![
            x.id,
            x.portfolio_id,
            x.broker,
            x.broker_account_ref,
            stamp
        ])
    })?;
    append_all(conn, "trades", &d.trades, 6, progress, |a, t| {
        a.append_row(params![
            t.id,
            t.account_id,
            t.asset_id,
            t.broker,
            t.broker_trade_id,
            t.side.as_str(),
            t.quantity,
            t.price,
            t.fees,
            t.currency,
            t.trade_date,
            t.settle_date,
            stamp
        ])
    })?;
    append_all(conn, "positions", &d.positions, 7, progress, |a, p| {
        a.append_row(params![
            p.id,
            p.portfolio_id,
            p.asset_id,
            p.date,
            p.quantity,
            p.market_value,
            stamp
        ])
    })?;
    append_all(conn, "portfolio_nav", &d.nav, 8, progress, |a, n| {
        a.append_row(params![
            n.id,
            n.portfolio_id,
            n.date,
            n.nav,
            n.external_flow,
            n.gross_exposure,
            n.net_exposure,
            stamp
        ])
    })?;
    append_all(
        conn,
        "portfolio_allocations",
        &d.allocations,
        9,
        progress,
        |a, x| {
            a.append_row(params![
                x.id,
                x.portfolio_id,
                x.bucket,
                x.target_weight,
                x.actual_weight,
                x.liquid,
                stamp
            ])
        },
    )?;
    append_all(conn, "investors", &d.investors, 10, progress, |a, i| {
        a.append_row(params![
            i.id,
            i.name,
            i.classification,
            i.kyc_status,
            i.login_role,
            stamp
        ])
    })?;
    append_all(conn, "fund_flows", &d.fund_flows, 11, progress, |a, f| {
        a.append_row(params![
            f.id,
            f.portfolio_id,
            f.investor_id,
            f.kind,
            f.amount,
            f.notice_date,
            f.dealing_date,
            f.status,
            stamp
        ])
    })?;
    append_all(
        conn,
        "liquidity_terms",
        &d.liquidity_terms,
        12,
        progress,
        |a, t| {
            a.append_row(params![
                t.id,
                t.portfolio_id,
                t.dealing_frequency,
                t.notice_days,
                t.gate_pct,
                t.lockup_days,
                stamp
            ])
        },
    )?;
    append_all(conn, "risk_limits", &d.risk_limits, 13, progress, |a, l| {
        a.append_row(params![
            l.id,
            l.portfolio_id,
            l.metric,
            l.threshold,
            l.severity,
            stamp
        ])
    })?;
    Ok(())
}
