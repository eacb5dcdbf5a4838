-- Incremental sync support (ARCHITECTURE.md, "Sync").
--
-- Every shared table gets `sync_xid`: the 64-bit id of the transaction that last wrote the row,
-- stamped by a trigger (whatever the writer sends) and indexed. A sync run records the oldest
-- transaction still running in its snapshot (`pg_snapshot_xmin`); every transaction below that
-- had finished, so its rows were either in the snapshot or never committed. The next run pulls
-- rows with `sync_xid >= that xmin`: a straggler (a transaction that began before the previous
-- run and committed after it) has an xid at or above the old xmin, so it is never skipped, and
-- the overlap is harmless because rows are applied by id. xid8 never wraps around.
--
-- `updated_at` is stamped from the server clock on insert too, so a client cannot backdate it.

CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := clock_timestamp();
    NEW.sync_xid := pg_current_xact_id();
    RETURN NEW;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['portfolios', 'assets', 'prices', 'fx_rates', 'sector_coefficients',
        'accounts', 'trades', 'positions', 'portfolio_nav', 'portfolio_allocations', 'investors',
        'fund_flows', 'liquidity_terms', 'risk_limits', 'scenarios', 'scenario_results',
        'fund_events', 'audit_trail', 'tombstones']
    LOOP
        EXECUTE format('ALTER TABLE %I ADD COLUMN sync_xid xid8 NOT NULL DEFAULT pg_current_xact_id()', t);
        EXECUTE format('CREATE INDEX %I ON %I (sync_xid)', t || '_sync_xid_idx', t);
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_updated_at', t);
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION set_updated_at()',
                       t || '_updated_at', t);
    END LOOP;
END
$$;

-- Notes a PM attaches to a position from the laptop, delivered through the outbox. The
-- idempotency key is the laptop's outbox key: a retried delivery can never write twice.
CREATE TABLE annotations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    portfolio_id uuid NOT NULL REFERENCES portfolios (id),
    asset_id uuid NOT NULL REFERENCES assets (id),
    author text NOT NULL,
    body text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    idempotency_key text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    sync_xid xid8 NOT NULL DEFAULT pg_current_xact_id()
);
CREATE INDEX annotations_sync_xid_idx ON annotations (sync_xid);
CREATE TRIGGER annotations_updated_at BEFORE INSERT OR UPDATE ON annotations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER annotations_tombstone AFTER DELETE ON annotations
    FOR EACH ROW EXECUTE FUNCTION record_tombstone();
ALTER TABLE annotations ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON annotations TO pm_role;
GRANT SELECT ON annotations TO audit_role;
CREATE POLICY pm_all ON annotations TO pm_role USING (true) WITH CHECK (true);
CREATE POLICY audit_read ON annotations FOR SELECT TO audit_role USING (true);

-- A scenario definition published twice (a retried outbox delivery) is the same row.
ALTER TABLE scenarios ADD COLUMN idempotency_key text UNIQUE;
