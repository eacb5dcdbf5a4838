//! Loading a [`Dataset`] into the shared database (`ballast pg seed`): one transaction, bulk
//! inserts through `UNNEST` of arrays, chunked so no statement grows unbounded.

use ballast_engine::model::*;
use sqlx::{PgPool, Postgres, QueryBuilder, Transaction};
use uuid::Uuid;

use crate::{ConnectSpec, PgError, Result};

const CHUNK: usize = 5_000;

fn uuid(table: &'static str, column: &'static str, text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|_| PgError::Invalid {
        table,
        column,
        value: text.to_string(),
    })
}

fn uuids<T>(
    rows: &[T],
    table: &'static str,
    column: &'static str,
    f: impl Fn(&T) -> &str,
) -> Result<Vec<Uuid>> {
    rows.iter().map(|r| uuid(table, column, f(r))).collect()
}

/// Insert every row of `data`; refuses (and writes nothing) if any row is already present.
pub async fn seed(pool: &PgPool, spec: &ConnectSpec, data: &Dataset) -> Result<()> {
    let err = |ctx: &'static str| move |e| spec.query_error(ctx, e);
    let mut tx = pool.begin().await.map_err(err("starting the seed"))?;
    for chunk in data.portfolios.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO portfolios (id, code, name, base_currency, strategy, inception, benchmark, status, lp_visible)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::date[], $7::text[], $8::text[], $9::bool[])",
        )
        .bind(uuids(chunk, "portfolios", "id", |r| &r.id)?)
        .bind(chunk.iter().map(|r| r.code.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.base_currency.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.strategy.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.inception).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.benchmark.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.status.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.lp_visible).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(err("seeding portfolios"))?;
    }
    for chunk in data.assets.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO assets (id, symbol, name, asset_class, sector, country, currency, issuer, rating, maturity,
                                 coupon, modified_duration, convexity, spread_duration, beta, avg_daily_volume,
                                 liquidity_class, redemption_notice_days, lp_visible)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                  $8::text[], $9::text[], $10::date[], $11::numeric[], $12::numeric[], $13::numeric[],
                                  $14::numeric[], $15::numeric[], $16::numeric[], $17::text[], $18::int4[], $19::bool[])",
        )
        .bind(uuids(chunk, "assets", "id", |r| &r.id)?)
        .bind(chunk.iter().map(|r| r.symbol.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.name.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.asset_class.as_str().to_string()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.sector.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.country.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.currency.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.issuer.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.rating.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.maturity).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.coupon).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.modified_duration).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.convexity).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.spread_duration).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.beta).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.avg_daily_volume).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.liquidity_class.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.redemption_notice_days).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.lp_visible).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(err("seeding assets"))?;
    }
    for chunk in data.prices.chunks(CHUNK) {
        sqlx::query("INSERT INTO prices (asset_id, date, close) SELECT * FROM UNNEST($1::uuid[], $2::date[], $3::numeric[])")
            .bind(uuids(chunk, "prices", "asset_id", |r| &r.asset_id)?)
            .bind(chunk.iter().map(|r| r.date).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.close).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .map_err(err("seeding prices"))?;
    }
    for chunk in data.fx_rates.chunks(CHUNK) {
        sqlx::query("INSERT INTO fx_rates (pair, date, rate) SELECT * FROM UNNEST($1::text[], $2::date[], $3::numeric[])")
            .bind(chunk.iter().map(|r| r.pair.clone()).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.date).collect::<Vec<_>>())
            .bind(chunk.iter().map(|r| r.rate).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .map_err(err("seeding fx_rates"))?;
    }
    for chunk in data.sector_coefficients.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO sector_coefficients (id, sector, macro_factor, elasticity, effective_date)
             SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::numeric[], $5::date[])",
        )
        .bind(uuids(chunk, "sector_coefficients", "id", |r| &r.id)?)
        .bind(chunk.iter().map(|r| r.sector.clone()).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|r| r.macro_factor.clone())
                .collect::<Vec<_>>(),
        )
        .bind(chunk.iter().map(|r| r.elasticity).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.effective_date).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(err("seeding sector_coefficients"))?;
    }
    for chunk in data.accounts.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO accounts (id, portfolio_id, broker, broker_account_ref)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[])",
        )
        .bind(uuids(chunk, "accounts", "id", |r| &r.id)?)
        .bind(uuids(chunk, "accounts", "portfolio_id", |r| {
            &r.portfolio_id
        })?)
        .bind(chunk.iter().map(|r| r.broker.clone()).collect::<Vec<_>>())
        .bind(
            chunk
                .iter()
                .map(|r| r.broker_account_ref.clone())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await
        .map_err(err("seeding accounts"))?;
    }
    for chunk in data.trades.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO trades (id, account_id, asset_id, broker, broker_trade_id, side, quantity, price, fees,
                                 currency, trade_date, settle_date)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[],
                                  $7::numeric[], $8::numeric[], $9::numeric[], $10::text[], $11::date[], $12::date[])",
        )
        .bind(uuids(chunk, "trades", "id", |r| &r.id)?)
        .bind(uuids(chunk, "trades", "account_id", |r| &r.account_id)?)
        .bind(uuids(chunk, "trades", "asset_id", |r| &r.asset_id)?)
        .bind(chunk.iter().map(|r| r.broker.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.broker_trade_id.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.side.as_str().to_string()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.quantity).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.fees).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.currency.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.trade_date).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.settle_date).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(err("seeding trades"))?;
    }
    for chunk in data.positions.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO positions (id, portfolio_id, asset_id, date, quantity, market_value)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::date[], $5::numeric[], $6::numeric[])",
        )
        .bind(uuids(chunk, "positions", "id", |r| &r.id)?)
        .bind(uuids(chunk, "positions", "portfolio_id", |r| &r.portfolio_id)?)
        .bind(uuids(chunk, "positions", "asset_id", |r| &r.asset_id)?)
        .bind(chunk.iter().map(|r| r.date).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.quantity).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.market_value).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(err("seeding positions"))?;
    }
    for chunk in data.nav.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO portfolio_nav (id, portfolio_id, date, nav, external_flow, gross_exposure, net_exposure)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::date[], $4::numeric[], $5::numeric[], $6::numeric[], $7::numeric[])",
        )
        .bind(uuids(chunk, "portfolio_nav", "id", |r| &r.id)?)
        .bind(uuids(chunk, "portfolio_nav", "portfolio_id", |r| &r.portfolio_id)?)
        .bind(chunk.iter().map(|r| r.date).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.nav).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.external_flow).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.gross_exposure).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.net_exposure).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(err("seeding portfolio_nav"))?;
    }
    seed_small_tables(&mut tx, spec, data).await?;
    tx.commit().await.map_err(err("committing the seed"))?;
    Ok(())
}

async fn seed_small_tables(
    tx: &mut Transaction<'_, Postgres>,
    spec: &ConnectSpec,
    data: &Dataset,
) -> Result<()> {
    let err = |ctx: &'static str| move |e| spec.query_error(ctx, e);
    // Small tables: one multi-row INSERT each.
    if !data.allocations.is_empty() {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO portfolio_allocations (id, portfolio_id, bucket, target_weight, actual_weight, liquid) ",
        );
        let rows: Vec<(Uuid, Uuid, &Allocation)> = data
            .allocations
            .iter()
            .map(|a| {
                Ok((
                    uuid("portfolio_allocations", "id", &a.id)?,
                    uuid("portfolio_allocations", "portfolio_id", &a.portfolio_id)?,
                    a,
                ))
            })
            .collect::<Result<_>>()?;
        q.push_values(rows, |mut b, (id, pid, a)| {
            b.push_bind(id)
                .push_bind(pid)
                .push_bind(a.bucket.clone())
                .push_bind(a.target_weight)
                .push_bind(a.actual_weight)
                .push_bind(a.liquid);
        });
        q.build()
            .execute(&mut **tx)
            .await
            .map_err(err("seeding portfolio_allocations"))?;
    }
    if !data.investors.is_empty() {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO investors (id, name, classification, kyc_status, login_role) ",
        );
        let rows: Vec<(Uuid, &Investor)> = data
            .investors
            .iter()
            .map(|i| Ok((uuid("investors", "id", &i.id)?, i)))
            .collect::<Result<_>>()?;
        q.push_values(rows, |mut b, (id, i)| {
            b.push_bind(id)
                .push_bind(i.name.clone())
                .push_bind(i.classification.clone())
                .push_bind(i.kyc_status.clone())
                .push_bind(i.login_role.clone());
        });
        q.build()
            .execute(&mut **tx)
            .await
            .map_err(err("seeding investors"))?;
    }
    for chunk in data.fund_flows.chunks(CHUNK) {
        sqlx::query(
            "INSERT INTO fund_flows (id, portfolio_id, investor_id, kind, amount, notice_date, dealing_date, status)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::numeric[], $6::date[], $7::date[], $8::text[])",
        )
        .bind(uuids(chunk, "fund_flows", "id", |r| &r.id)?)
        .bind(uuids(chunk, "fund_flows", "portfolio_id", |r| &r.portfolio_id)?)
        .bind(uuids(chunk, "fund_flows", "investor_id", |r| &r.investor_id)?)
        .bind(chunk.iter().map(|r| r.kind.clone()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.amount).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.notice_date).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.dealing_date).collect::<Vec<_>>())
        .bind(chunk.iter().map(|r| r.status.clone()).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await
        .map_err(err("seeding fund_flows"))?;
    }
    if !data.liquidity_terms.is_empty() {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO liquidity_terms (id, portfolio_id, dealing_frequency, notice_days, gate_pct, lockup_days) ",
        );
        let rows: Vec<(Uuid, Uuid, &LiquidityTerms)> = data
            .liquidity_terms
            .iter()
            .map(|t| {
                Ok((
                    uuid("liquidity_terms", "id", &t.id)?,
                    uuid("liquidity_terms", "portfolio_id", &t.portfolio_id)?,
                    t,
                ))
            })
            .collect::<Result<_>>()?;
        q.push_values(rows, |mut b, (id, pid, t)| {
            b.push_bind(id)
                .push_bind(pid)
                .push_bind(t.dealing_frequency.clone())
                .push_bind(t.notice_days)
                .push_bind(t.gate_pct)
                .push_bind(t.lockup_days);
        });
        q.build()
            .execute(&mut **tx)
            .await
            .map_err(err("seeding liquidity_terms"))?;
    }
    if !data.risk_limits.is_empty() {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO risk_limits (id, portfolio_id, metric, threshold, severity) ",
        );
        let rows: Vec<(Uuid, Uuid, &RiskLimit)> = data
            .risk_limits
            .iter()
            .map(|l| {
                Ok((
                    uuid("risk_limits", "id", &l.id)?,
                    uuid("risk_limits", "portfolio_id", &l.portfolio_id)?,
                    l,
                ))
            })
            .collect::<Result<_>>()?;
        q.push_values(rows, |mut b, (id, pid, l)| {
            b.push_bind(id)
                .push_bind(pid)
                .push_bind(l.metric.clone())
                .push_bind(l.threshold)
                .push_bind(l.severity.clone());
        });
        q.build()
            .execute(&mut **tx)
            .await
            .map_err(err("seeding risk_limits"))?;
    }
    Ok(())
}
