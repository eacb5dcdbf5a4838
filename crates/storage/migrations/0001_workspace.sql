-- Ballast local workspace, version 1.
-- Mirrors of the shared Postgres tables (same names and columns, money and quantities as
-- DECIMAL(38,10)), then the laptop's own tables: sync state and history, settings, the
-- scenario laboratory, KPI snapshots, broker connection metadata (never secrets), import
-- batches and the outbox. Plain SQL and standard types, so the DuckDB CLI and Python read it.

CREATE TABLE portfolios (
    id UUID PRIMARY KEY,
    code VARCHAR NOT NULL UNIQUE,
    name VARCHAR NOT NULL,
    base_currency VARCHAR NOT NULL,
    strategy VARCHAR NOT NULL,
    inception DATE NOT NULL,
    benchmark VARCHAR,
    status VARCHAR NOT NULL,
    lp_visible BOOLEAN NOT NULL
);

CREATE TABLE assets (
    id UUID PRIMARY KEY,
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
    lp_visible BOOLEAN NOT NULL
);

CREATE TABLE prices (
    asset_id UUID NOT NULL,
    date DATE NOT NULL,
    close DECIMAL(38, 10) NOT NULL
);

CREATE TABLE fx_rates (
    pair VARCHAR NOT NULL,
    date DATE NOT NULL,
    rate DECIMAL(38, 10) NOT NULL
);

CREATE TABLE sector_coefficients (
    id UUID PRIMARY KEY,
    sector VARCHAR NOT NULL,
    macro_factor VARCHAR NOT NULL,
    elasticity DECIMAL(38, 10) NOT NULL,
    effective_date DATE NOT NULL
);

CREATE TABLE accounts (
    id UUID PRIMARY KEY,
    portfolio_id UUID NOT NULL,
    broker VARCHAR NOT NULL,
    broker_account_ref VARCHAR NOT NULL
);

CREATE TABLE trades (
    id UUID PRIMARY KEY,
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
    settle_date DATE NOT NULL
);

CREATE TABLE positions (
    id UUID PRIMARY KEY,
    portfolio_id UUID NOT NULL,
    asset_id UUID NOT NULL,
    date DATE NOT NULL,
    quantity DECIMAL(38, 10) NOT NULL,
    market_value DECIMAL(38, 10) NOT NULL
);

CREATE TABLE portfolio_nav (
    id UUID PRIMARY KEY,
    portfolio_id UUID NOT NULL,
    date DATE NOT NULL,
    nav DECIMAL(38, 10) NOT NULL,
    external_flow DECIMAL(38, 10) NOT NULL,
    gross_exposure DECIMAL(38, 10) NOT NULL,
    net_exposure DECIMAL(38, 10) NOT NULL
);

CREATE TABLE portfolio_allocations (
    id UUID PRIMARY KEY,
    portfolio_id UUID NOT NULL,
    bucket VARCHAR NOT NULL,
    target_weight DECIMAL(38, 10) NOT NULL,
    actual_weight DECIMAL(38, 10) NOT NULL,
    liquid BOOLEAN NOT NULL
);

CREATE TABLE investors (
    id UUID PRIMARY KEY,
    name VARCHAR NOT NULL,
    classification VARCHAR NOT NULL,
    kyc_status VARCHAR NOT NULL,
    login_role VARCHAR
);

CREATE TABLE fund_flows (
    id UUID PRIMARY KEY,
    portfolio_id UUID NOT NULL,
    investor_id UUID NOT NULL,
    kind VARCHAR NOT NULL,
    amount DECIMAL(38, 10) NOT NULL,
    notice_date DATE NOT NULL,
    dealing_date DATE NOT NULL,
    status VARCHAR NOT NULL
);

CREATE TABLE liquidity_terms (
    id UUID PRIMARY KEY,
    portfolio_id UUID NOT NULL,
    dealing_frequency VARCHAR NOT NULL,
    notice_days INTEGER NOT NULL,
    gate_pct DECIMAL(38, 10) NOT NULL,
    lockup_days INTEGER NOT NULL
);

CREATE TABLE risk_limits (
    id UUID PRIMARY KEY,
    portfolio_id UUID NOT NULL,
    metric VARCHAR NOT NULL,
    threshold DECIMAL(38, 10) NOT NULL,
    severity VARCHAR NOT NULL
);

-- Where the mirrors came from and how fresh each table is.
CREATE TABLE workspace_source (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    kind VARCHAR NOT NULL,          -- 'demo' or 'postgres'
    label VARCHAR NOT NULL,         -- 'demo seed 20260901' or the URL without its password
    loaded_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sync_state (
    table_name VARCHAR PRIMARY KEY,
    row_count BIGINT NOT NULL,
    last_synced_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE sync_runs (
    id UUID PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status VARCHAR NOT NULL,        -- 'running', 'succeeded', 'failed'
    rows_in BIGINT NOT NULL DEFAULT 0,
    error VARCHAR
);

CREATE TABLE settings (
    key VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);

CREATE TABLE local_scenarios (
    id UUID PRIMARY KEY,
    name VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    definition VARCHAR NOT NULL,    -- JSON
    created_at TIMESTAMPTZ NOT NULL,
    UNIQUE (name, version)
);

CREATE TABLE local_scenario_runs (
    id UUID PRIMARY KEY,
    scenario_id UUID NOT NULL,
    portfolio_id UUID NOT NULL,
    ran_at TIMESTAMPTZ NOT NULL,
    result VARCHAR NOT NULL         -- JSON
);

CREATE TABLE kpi_snapshots (
    portfolio_id UUID NOT NULL,
    as_of DATE NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL,
    report VARCHAR NOT NULL,        -- JSON
    PRIMARY KEY (portfolio_id, as_of)
);

-- Metadata only: the secret itself lives in the OS keychain under secret_ref.
CREATE TABLE broker_connections (
    name VARCHAR PRIMARY KEY,
    broker VARCHAR NOT NULL,
    account_ref VARCHAR,
    secret_ref VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE import_batches (
    id UUID PRIMARY KEY,
    source_file VARCHAR NOT NULL,
    broker VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    rows_imported BIGINT NOT NULL,
    rows_skipped BIGINT NOT NULL
);

CREATE TABLE outbox (
    id UUID PRIMARY KEY,
    idempotency_key VARCHAR NOT NULL UNIQUE,
    kind VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,       -- JSON
    status VARCHAR NOT NULL,        -- 'pending', 'sent', 'dead'
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    last_error VARCHAR,
    created_at TIMESTAMPTZ NOT NULL
);
