-- The operational model (SPEC.md). Every table: id uuid, created_at, updated_at kept by a
-- trigger, deletes recorded in `tombstones` so a sync can see them. Money and quantities are
-- numeric, never float.

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    RETURN NEW;
END
$$;

CREATE TABLE tombstones (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    table_name text NOT NULL,
    row_id uuid NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tombstones_deleted_at ON tombstones (deleted_at);

CREATE FUNCTION record_tombstone() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO tombstones (table_name, row_id) VALUES (TG_TABLE_NAME, OLD.id);
    RETURN OLD;
END
$$;

CREATE TABLE portfolios (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code text NOT NULL UNIQUE,
    name text NOT NULL,
    base_currency char(3) NOT NULL,
    strategy text NOT NULL,
    inception date NOT NULL,
    benchmark text,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed', 'launching')),
    lp_visible boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE assets (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    symbol text NOT NULL,
    name text NOT NULL,
    asset_class text NOT NULL CHECK (asset_class IN
        ('equity', 'bond', 'fx', 'commodity', 'fund', 'crypto', 'private', 'cash', 'derivative')),
    sector text,
    country text,
    currency char(3) NOT NULL,
    issuer text,
    rating text,
    maturity date,
    coupon numeric,
    modified_duration numeric,
    convexity numeric,
    spread_duration numeric,
    beta numeric,
    avg_daily_volume numeric,
    liquidity_class text,
    redemption_notice_days integer,
    lp_visible boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE prices (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    asset_id uuid NOT NULL REFERENCES assets (id),
    date date NOT NULL,
    close numeric NOT NULL CHECK (close >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (asset_id, date)
);

CREATE TABLE fx_rates (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pair char(6) NOT NULL,
    date date NOT NULL,
    rate numeric NOT NULL CHECK (rate > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (pair, date)
);

CREATE TABLE sector_coefficients (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    sector text NOT NULL,
    macro_factor text NOT NULL,
    elasticity numeric NOT NULL,
    effective_date date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sector, macro_factor, effective_date)
);

CREATE TABLE accounts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    broker text NOT NULL,
    broker_account_ref text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE trades (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts (id),
    asset_id uuid NOT NULL REFERENCES assets (id),
    broker text NOT NULL,
    broker_trade_id text NOT NULL,
    side text NOT NULL CHECK (side IN ('buy', 'sell')),
    quantity numeric NOT NULL CHECK (quantity > 0),
    price numeric NOT NULL CHECK (price >= 0),
    fees numeric NOT NULL DEFAULT 0,
    currency char(3) NOT NULL,
    trade_date date NOT NULL,
    settle_date date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (broker, account_id, broker_trade_id)
);

CREATE TABLE positions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    asset_id uuid NOT NULL REFERENCES assets (id),
    date date NOT NULL,
    quantity numeric NOT NULL,
    market_value numeric NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (portfolio_id, asset_id, date)
);

CREATE TABLE portfolio_nav (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    date date NOT NULL,
    nav numeric NOT NULL,
    external_flow numeric NOT NULL DEFAULT 0,
    gross_exposure numeric NOT NULL DEFAULT 0,
    net_exposure numeric NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (portfolio_id, date)
);

CREATE TABLE portfolio_allocations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    bucket text NOT NULL,
    target_weight numeric NOT NULL,
    actual_weight numeric NOT NULL,
    liquid boolean NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (portfolio_id, bucket)
);

CREATE TABLE investors (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    classification text NOT NULL,
    kyc_status text NOT NULL CHECK (kyc_status IN ('verified', 'pending', 'expired', 'rejected')),
    login_role name,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fund_flows (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    investor_id uuid NOT NULL REFERENCES investors (id),
    kind text NOT NULL CHECK (kind IN ('subscription', 'redemption')),
    amount numeric NOT NULL CHECK (amount > 0),
    notice_date date NOT NULL,
    dealing_date date NOT NULL,
    status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'settled', 'cancelled')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE liquidity_terms (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL UNIQUE REFERENCES portfolios (id),
    dealing_frequency text NOT NULL,
    notice_days integer NOT NULL CHECK (notice_days >= 0),
    gate_pct numeric NOT NULL CHECK (gate_pct >= 0 AND gate_pct <= 1),
    lockup_days integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE risk_limits (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    metric text NOT NULL,
    threshold numeric NOT NULL,
    severity text NOT NULL CHECK (severity IN ('info', 'warning', 'breach')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE scenarios (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    author text NOT NULL,
    version integer NOT NULL CHECK (version > 0),
    shocks jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (name, version)
);

CREATE TABLE scenario_results (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    scenario_id uuid NOT NULL REFERENCES scenarios (id),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    published_by text NOT NULL,
    as_of date NOT NULL,
    pnl numeric NOT NULL,
    nav_after numeric NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    idempotency_key text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE fund_events (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid REFERENCES portfolios (id),
    event_type text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_trail (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    actor text NOT NULL DEFAULT session_user,
    action text NOT NULL,
    table_name text,
    row_id uuid,
    detail jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Triggers on every table: updated_at on update, a tombstone on delete.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['portfolios', 'assets', 'prices', 'fx_rates', 'sector_coefficients',
        'accounts', 'trades', 'positions', 'portfolio_nav', 'portfolio_allocations', 'investors',
        'fund_flows', 'liquidity_terms', 'risk_limits', 'scenarios', 'scenario_results',
        'fund_events', 'audit_trail', 'tombstones']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION set_updated_at()',
                       t || '_updated_at', t);
        EXECUTE format('CREATE INDEX %I ON %I (updated_at)', t || '_updated_at_idx', t);
        IF t <> 'tombstones' THEN
            EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I FOR EACH ROW EXECUTE FUNCTION record_tombstone()',
                           t || '_tombstone', t);
        END IF;
    END LOOP;
END
$$;
