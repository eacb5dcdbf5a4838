-- Ballast local workspace, version 2: mirrors an incremental sync can keep exact.
--
-- Every mirror now carries the shared row's `id` and `updated_at` (prices and fx_rates had no
-- id before), so a sync can apply changed rows by id and compare content checksums. Mirrors
-- have no key constraints: the sync applies each table as delete-by-id then insert, which
-- keeps ids unique, and DuckDB checks constraints too eagerly for a delete and re-insert of
-- the same key in one transaction. The column lists equal `ballast_engine::schema` (a test
-- checks it).
--
-- The mirrors were a cache of the shared database: they are rebuilt empty, and the next sync
-- (or the demo) fills them again. Sync state gains each table's watermark; the run history
-- gains deletions, verification and notes.

DROP TABLE portfolios;
CREATE TABLE portfolios (
    id UUID NOT NULL,
    code VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    base_currency VARCHAR NOT NULL,
    strategy VARCHAR NOT NULL,
    inception DATE NOT NULL,
    benchmark VARCHAR,
    status VARCHAR NOT NULL,
    lp_visible BOOLEAN NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE assets;
CREATE TABLE assets (
    id UUID NOT NULL,
    symbol VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    asset_class VARCHAR NOT NULL,
    sector VARCHAR,
    country VARCHAR,
    currency VARCHAR NOT NULL,
    issuer VARCHAR,
    rating VARCHAR,
    maturity DATE,
    coupon DECIMAL(38, 10),
    modified_duration DECIMAL(38, 10),
    convexity DECIMAL(38, 10),
    spread_duration DECIMAL(38, 10),
    beta DECIMAL(38, 10),
    avg_daily_volume DECIMAL(38, 10),
    liquidity_class VARCHAR,
    redemption_notice_days INTEGER,
    lp_visible BOOLEAN NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE prices;
CREATE TABLE prices (
    id UUID NOT NULL,
    asset_id UUID NOT NULL,
    date DATE NOT NULL,
    close DECIMAL(38, 10) NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE fx_rates;
CREATE TABLE fx_rates (
    id UUID NOT NULL,
    pair VARCHAR NOT NULL,
    date DATE NOT NULL,
    rate DECIMAL(38, 10) NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE sector_coefficients;
CREATE TABLE sector_coefficients (
    id UUID NOT NULL,
    sector VARCHAR,
    macro_factor VARCHAR NOT NULL,
    elasticity DECIMAL(38, 10) NOT NULL,
    effective_date DATE NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE accounts;
CREATE TABLE accounts (
    id UUID NOT NULL,
    portfolio_id UUID NOT NULL,
    broker VARCHAR NOT NULL,
    broker_account_ref VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE trades;
CREATE TABLE trades (
    id UUID NOT NULL,
    account_id UUID NOT NULL,
    asset_id UUID NOT NULL,
    broker VARCHAR NOT NULL,
    broker_trade_id VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    quantity DECIMAL(38, 10) NOT NULL,
    price DECIMAL(38, 10) NOT NULL,
    fees DECIMAL(38, 10) NOT NULL,
    currency VARCHAR NOT NULL,
    trade_date DATE NOT NULL,
    settle_date DATE NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE positions;
CREATE TABLE positions (
    id UUID NOT NULL,
    portfolio_id UUID NOT NULL,
    asset_id UUID NOT NULL,
    date DATE NOT NULL,
    quantity DECIMAL(38, 10) NOT NULL,
    market_value DECIMAL(38, 10) NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE portfolio_nav;
CREATE TABLE portfolio_nav (
    id UUID NOT NULL,
    portfolio_id UUID NOT NULL,
    date DATE NOT NULL,
    nav DECIMAL(38, 10) NOT NULL,
    external_flow DECIMAL(38, 10) NOT NULL,
    gross_exposure DECIMAL(38, 10) NOT NULL,
    net_exposure DECIMAL(38, 10) NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE portfolio_allocations;
CREATE TABLE portfolio_allocations (
    id UUID NOT NULL,
    portfolio_id UUID NOT NULL,
    bucket VARCHAR NOT NULL,
    target_weight DECIMAL(38, 10) NOT NULL,
    actual_weight DECIMAL(38, 10) NOT NULL,
    liquid BOOLEAN NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE investors;
CREATE TABLE investors (
    id UUID NOT NULL,
    name VARCHAR NOT NULL,
    classification VARCHAR NOT NULL,
    kyc_status VARCHAR NOT NULL,
    login_role VARCHAR,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE fund_flows;
CREATE TABLE fund_flows (
    id UUID NOT NULL,
    portfolio_id UUID NOT NULL,
    investor_id UUID NOT NULL,
    kind VARCHAR NOT NULL,
    amount DECIMAL(38, 10) NOT NULL,
    notice_date DATE NOT NULL,
    dealing_date DATE NOT NULL,
    status VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE liquidity_terms;
CREATE TABLE liquidity_terms (
    id UUID NOT NULL,
    portfolio_id UUID NOT NULL,
    dealing_frequency VARCHAR NOT NULL,
    notice_days INTEGER NOT NULL,
    gate_pct DECIMAL(38, 10) NOT NULL,
    lockup_days INTEGER NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DROP TABLE risk_limits;
CREATE TABLE risk_limits (
    id UUID NOT NULL,
    portfolio_id UUID NOT NULL,
    metric VARCHAR NOT NULL,
    threshold DECIMAL(38, 10) NOT NULL,
    severity VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

DELETE FROM workspace_source;

DROP TABLE sync_state;
CREATE TABLE sync_state (
    table_name VARCHAR PRIMARY KEY,
    row_count BIGINT NOT NULL,
    last_synced_at TIMESTAMPTZ NOT NULL,
    watermark VARCHAR,              -- xid8 of the snapshot's oldest running transaction; NULL: pull in full
    verified_at TIMESTAMPTZ         -- last time counts and checksums matched Postgres
);

DROP TABLE sync_runs;
CREATE TABLE sync_runs (
    id UUID PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status VARCHAR NOT NULL,        -- 'running', 'succeeded', 'failed', 'cancelled' (or 'interrupted')
    rows_in BIGINT NOT NULL DEFAULT 0,
    rows_deleted BIGINT NOT NULL DEFAULT 0,
    verification VARCHAR,           -- summary, e.g. 'passed: 14 tables (1 repaired)'
    notes VARCHAR,                  -- schema drift and other things the user should know
    error VARCHAR
);

-- A note on a position written on the laptop; delivered to Postgres through the outbox.
CREATE TABLE local_annotations (
    id UUID PRIMARY KEY,
    portfolio_id UUID NOT NULL,
    asset_id UUID NOT NULL,
    author VARCHAR NOT NULL,
    body VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE outbox ADD COLUMN sent_at TIMESTAMPTZ;
