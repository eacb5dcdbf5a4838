//! Reading what the connected role may see, all tables from one snapshot
//! (`REPEATABLE READ READ ONLY`), so cross-table totals agree on the laptop. A table the role
//! has no privilege on comes back empty (Postgres decides visibility, not the app).

use ballast_engine::model::*;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Postgres, Row, Transaction};
use uuid::Uuid;

use crate::{ConnectSpec, PgError, Result};

/// Progress of a load: the table just read and how many rows it had.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadProgress {
    pub table: &'static str,
    pub rows: usize,
    pub tables_done: usize,
    pub tables: usize,
}

const TABLES: usize = 14;

struct Reader<'a, 'c> {
    tx: Transaction<'c, Postgres>,
    spec: &'a ConnectSpec,
    done: usize,
    progress: &'a mut dyn FnMut(LoadProgress),
}

impl Reader<'_, '_> {
    async fn rows(&mut self, table: &'static str, sql: &'static str) -> Result<Vec<PgRow>> {
        let allowed: bool =
            sqlx::query_scalar("SELECT has_table_privilege(current_user, $1, 'SELECT')")
                .bind(table)
                .fetch_one(&mut *self.tx)
                .await
                .map_err(|e| {
                    self.spec
                        .query_error(&format!("checking access to {table}"), e)
                })?;
        let rows = if allowed {
            sqlx::query(sql)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(|e| self.spec.query_error(&format!("reading {table}"), e))?
        } else {
            Vec::new()
        };
        self.done += 1;
        (self.progress)(LoadProgress {
            table,
            rows: rows.len(),
            tables_done: self.done,
            tables: TABLES,
        });
        Ok(rows)
    }
}

fn get<'r, T>(row: &'r PgRow, table: &'static str, column: &'static str) -> Result<T>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(column).map_err(|e| PgError::Invalid {
        table,
        column,
        value: e.to_string(),
    })
}

fn id(row: &PgRow, table: &'static str, column: &'static str) -> Result<String> {
    Ok(get::<Uuid>(row, table, column)?.to_string())
}

/// Everything the connected role may see, from one consistent snapshot.
pub async fn load_dataset(
    pool: &PgPool,
    spec: &ConnectSpec,
    progress: &mut dyn FnMut(LoadProgress),
) -> Result<Dataset> {
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| spec.query_error("starting the read", e))?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(|e| spec.query_error("opening a snapshot", e))?;
    let mut r = Reader {
        tx,
        spec,
        done: 0,
        progress,
    };
    let mut d = Dataset::default();

    for row in r.rows("portfolios", "SELECT id, code, name, base_currency::text AS base_currency, strategy, inception, benchmark, status, lp_visible FROM portfolios ORDER BY code").await? {
        let t = "portfolios";
        d.portfolios.push(Portfolio {
            id: id(&row, t, "id")?,
            code: get(&row, t, "code")?,
            name: get(&row, t, "name")?,
            base_currency: get(&row, t, "base_currency")?,
            strategy: get(&row, t, "strategy")?,
            inception: get(&row, t, "inception")?,
            benchmark: get(&row, t, "benchmark")?,
            status: get(&row, t, "status")?,
            lp_visible: get(&row, t, "lp_visible")?,
        });
    }
    for row in r.rows("assets", "SELECT id, symbol, name, asset_class, sector, country, currency::text AS currency, issuer, rating, maturity, coupon, modified_duration, convexity, spread_duration, beta, avg_daily_volume, liquidity_class, redemption_notice_days, lp_visible FROM assets ORDER BY symbol, id").await? {
        let t = "assets";
        let class: String = get(&row, t, "asset_class")?;
        d.assets.push(Asset {
            id: id(&row, t, "id")?,
            symbol: get(&row, t, "symbol")?,
            name: get(&row, t, "name")?,
            asset_class: AssetClass::parse(&class).ok_or(PgError::Invalid { table: t, column: "asset_class", value: class.clone() })?,
            sector: get(&row, t, "sector")?,
            country: get(&row, t, "country")?,
            currency: get(&row, t, "currency")?,
            issuer: get(&row, t, "issuer")?,
            rating: get(&row, t, "rating")?,
            maturity: get(&row, t, "maturity")?,
            coupon: get(&row, t, "coupon")?,
            modified_duration: get(&row, t, "modified_duration")?,
            convexity: get(&row, t, "convexity")?,
            spread_duration: get(&row, t, "spread_duration")?,
            beta: get(&row, t, "beta")?,
            avg_daily_volume: get(&row, t, "avg_daily_volume")?,
            liquidity_class: get(&row, t, "liquidity_class")?,
            redemption_notice_days: get(&row, t, "redemption_notice_days")?,
            lp_visible: get(&row, t, "lp_visible")?,
        });
    }
    for row in r
        .rows(
            "prices",
            "SELECT asset_id, date, close FROM prices ORDER BY asset_id, date",
        )
        .await?
    {
        d.prices.push(Price {
            asset_id: id(&row, "prices", "asset_id")?,
            date: get(&row, "prices", "date")?,
            close: get(&row, "prices", "close")?,
        });
    }
    for row in r
        .rows(
            "fx_rates",
            "SELECT pair::text AS pair, date, rate FROM fx_rates ORDER BY pair, date",
        )
        .await?
    {
        d.fx_rates.push(FxRate {
            pair: get(&row, "fx_rates", "pair")?,
            date: get(&row, "fx_rates", "date")?,
            rate: get(&row, "fx_rates", "rate")?,
        });
    }
    for row in r.rows("sector_coefficients", "SELECT id, sector, macro_factor, elasticity, effective_date FROM sector_coefficients ORDER BY id").await? {
        let t = "sector_coefficients";
        d.sector_coefficients.push(SectorCoefficient {
            id: id(&row, t, "id")?,
            sector: get(&row, t, "sector")?,
            macro_factor: get(&row, t, "macro_factor")?,
            elasticity: get(&row, t, "elasticity")?,
            effective_date: get(&row, t, "effective_date")?,
        });
    }
    for row in r
        .rows(
            "accounts",
            "SELECT id, portfolio_id, broker, broker_account_ref FROM accounts ORDER BY id",
        )
        .await?
    {
        let t = "accounts";
        d.accounts.push(Account {
            id: id(&row, t, "id")?,
            portfolio_id: id(&row, t, "portfolio_id")?,
            broker: get(&row, t, "broker")?,
            broker_account_ref: get(&row, t, "broker_account_ref")?,
        });
    }
    for row in r.rows("trades", "SELECT id, account_id, asset_id, broker, broker_trade_id, side, quantity, price, fees, currency::text AS currency, trade_date, settle_date FROM trades ORDER BY id").await? {
        let t = "trades";
        let side: String = get(&row, t, "side")?;
        d.trades.push(Trade {
            id: id(&row, t, "id")?,
            account_id: id(&row, t, "account_id")?,
            asset_id: id(&row, t, "asset_id")?,
            broker: get(&row, t, "broker")?,
            broker_trade_id: get(&row, t, "broker_trade_id")?,
            side: Side::parse(&side).ok_or(PgError::Invalid { table: t, column: "side", value: side.clone() })?,
            quantity: get(&row, t, "quantity")?,
            price: get(&row, t, "price")?,
            fees: get(&row, t, "fees")?,
            currency: get(&row, t, "currency")?,
            trade_date: get(&row, t, "trade_date")?,
            settle_date: get(&row, t, "settle_date")?,
        });
    }
    for row in r.rows("positions", "SELECT id, portfolio_id, asset_id, date, quantity, market_value FROM positions ORDER BY id").await? {
        let t = "positions";
        d.positions.push(Position {
            id: id(&row, t, "id")?,
            portfolio_id: id(&row, t, "portfolio_id")?,
            asset_id: id(&row, t, "asset_id")?,
            date: get::<NaiveDate>(&row, t, "date")?,
            quantity: get::<Decimal>(&row, t, "quantity")?,
            market_value: get(&row, t, "market_value")?,
        });
    }
    for row in r.rows("portfolio_nav", "SELECT id, portfolio_id, date, nav, external_flow, gross_exposure, net_exposure FROM portfolio_nav ORDER BY portfolio_id, date").await? {
        let t = "portfolio_nav";
        d.nav.push(NavPoint {
            id: id(&row, t, "id")?,
            portfolio_id: id(&row, t, "portfolio_id")?,
            date: get(&row, t, "date")?,
            nav: get(&row, t, "nav")?,
            external_flow: get(&row, t, "external_flow")?,
            gross_exposure: get(&row, t, "gross_exposure")?,
            net_exposure: get(&row, t, "net_exposure")?,
        });
    }
    for row in r.rows("portfolio_allocations", "SELECT id, portfolio_id, bucket, target_weight, actual_weight, liquid FROM portfolio_allocations ORDER BY id").await? {
        let t = "portfolio_allocations";
        d.allocations.push(Allocation {
            id: id(&row, t, "id")?,
            portfolio_id: id(&row, t, "portfolio_id")?,
            bucket: get(&row, t, "bucket")?,
            target_weight: get(&row, t, "target_weight")?,
            actual_weight: get(&row, t, "actual_weight")?,
            liquid: get(&row, t, "liquid")?,
        });
    }
    for row in r.rows("investors", "SELECT id, name, classification, kyc_status, login_role::text AS login_role FROM investors ORDER BY id").await? {
        let t = "investors";
        d.investors.push(Investor {
            id: id(&row, t, "id")?,
            name: get(&row, t, "name")?,
            classification: get(&row, t, "classification")?,
            kyc_status: get(&row, t, "kyc_status")?,
            login_role: get(&row, t, "login_role")?,
        });
    }
    for row in r.rows("fund_flows", "SELECT id, portfolio_id, investor_id, kind, amount, notice_date, dealing_date, status FROM fund_flows ORDER BY id").await? {
        let t = "fund_flows";
        d.fund_flows.push(FundFlow {
            id: id(&row, t, "id")?,
            portfolio_id: id(&row, t, "portfolio_id")?,
            investor_id: id(&row, t, "investor_id")?,
            kind: get(&row, t, "kind")?,
            amount: get(&row, t, "amount")?,
            notice_date: get(&row, t, "notice_date")?,
            dealing_date: get(&row, t, "dealing_date")?,
            status: get(&row, t, "status")?,
        });
    }
    for row in r.rows("liquidity_terms", "SELECT id, portfolio_id, dealing_frequency, notice_days, gate_pct, lockup_days FROM liquidity_terms ORDER BY id").await? {
        let t = "liquidity_terms";
        d.liquidity_terms.push(LiquidityTerms {
            id: id(&row, t, "id")?,
            portfolio_id: id(&row, t, "portfolio_id")?,
            dealing_frequency: get(&row, t, "dealing_frequency")?,
            notice_days: get(&row, t, "notice_days")?,
            gate_pct: get(&row, t, "gate_pct")?,
            lockup_days: get(&row, t, "lockup_days")?,
        });
    }
    for row in r
        .rows(
            "risk_limits",
            "SELECT id, portfolio_id, metric, threshold, severity FROM risk_limits ORDER BY id",
        )
        .await?
    {
        let t = "risk_limits";
        d.risk_limits.push(RiskLimit {
            id: id(&row, t, "id")?,
            portfolio_id: id(&row, t, "portfolio_id")?,
            metric: get(&row, t, "metric")?,
            threshold: get(&row, t, "threshold")?,
            severity: get(&row, t, "severity")?,
        });
    }
    r.tx.commit()
        .await
        .map_err(|e| spec.query_error("closing the snapshot", e))?;
    Ok(d)
}
