-- A limited partner reads only the tombstones of rows it was entitled to see.
--
-- Since migration 12 it reads the tombstones of the tables it may read, but of every row in
-- them: the ids and times of deleted positions and NAV of funds hidden from it, of other
-- investors' flows, of other investors. Its sync never needs those (the rows were never on its
-- laptop), and they say when and how much the firm deleted where it may not look.
--
-- So each tombstone now records, as the delete found the row, what limited partners' policies
-- (migration 03) turn on: `lp_hidden`, whether the row belonged to a fund or an asset hidden
-- from them (`lp_visible` false; a deleted fund or asset itself by its own flag), and
-- `lp_login`, for an investor's rows (the investor, its flows), the one login that may see
-- them ('' for an investor without one). Recorded at the delete, not looked up at read time:
-- the fund of a deleted position may be gone by then too. A later change of visibility does
-- not reach a tombstone; the sync of a login whose policies read the changed table sums the
-- bound tables whole (ARCHITECTURE.md, "Sync"), which puts its laptop right either way.
-- Tombstones written before this migration, and the markers, carry neither and stay visible.
-- A new policy for limited partners on a mirrored table must be mirrored here.
--
-- The cost falls on deletes from the tables limited partners read in part: deleting the demo's
-- 163,125 positions (two lookups a row) took 3.46-3.58 s against 2.60-2.98 s before; the
-- tables without a limited-partner policy pay nothing more.
--
-- Adding the columns would make the event triggers of migration 08 mark `tombstones` altered:
-- they are off meanwhile, inside this transaction only, as in migration 11.

DO $$
BEGIN
    ALTER EVENT TRIGGER sync_table_altered DISABLE;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
    NULL;
END
$$;

ALTER TABLE tombstones ADD COLUMN lp_hidden boolean, ADD COLUMN lp_login name;

-- Each limited-partner policy of migration 03 has its branch here (a branch names the
-- columns of its own tables only: PL/pgSQL resolves `OLD.…` per table, when first run).
CREATE OR REPLACE FUNCTION record_tombstone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    hidden boolean;
    login name;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id IS NOT DISTINCT FROM OLD.id THEN
        RETURN NULL;
    END IF;
    CASE TG_TABLE_NAME
    WHEN 'portfolios', 'assets' THEN
        hidden := NOT OLD.lp_visible;
    WHEN 'prices' THEN
        hidden := EXISTS (SELECT 1 FROM assets a WHERE a.id = OLD.asset_id AND NOT a.lp_visible);
    WHEN 'positions' THEN
        hidden := EXISTS (SELECT 1 FROM portfolios p WHERE p.id = OLD.portfolio_id AND NOT p.lp_visible)
               OR EXISTS (SELECT 1 FROM assets a WHERE a.id = OLD.asset_id AND NOT a.lp_visible);
    WHEN 'portfolio_nav', 'portfolio_allocations', 'liquidity_terms' THEN
        hidden := EXISTS (SELECT 1 FROM portfolios p WHERE p.id = OLD.portfolio_id AND NOT p.lp_visible);
    WHEN 'fund_flows' THEN
        hidden := EXISTS (SELECT 1 FROM portfolios p WHERE p.id = OLD.portfolio_id AND NOT p.lp_visible);
        login := coalesce((SELECT i.login_role FROM investors i WHERE i.id = OLD.investor_id), '');
    WHEN 'investors' THEN
        login := coalesce(OLD.login_role, '');
    ELSE
        -- No limited-partner policy (fx rates and sector coefficients show every row to them;
        -- the other tables none).
        NULL;
    END CASE;
    INSERT INTO tombstones (table_name, row_id, lp_hidden, lp_login)
    VALUES (TG_TABLE_NAME, OLD.id, hidden, login);
    RETURN NULL;
END
$$;

ALTER POLICY lp_read ON tombstones
    USING (has_table_privilege(to_regclass('public.' || quote_ident(table_name)), 'SELECT')
           AND lp_hidden IS NOT TRUE
           AND (lp_login IS NULL OR lp_login = current_user));

DO $$
BEGIN
    ALTER EVENT TRIGGER sync_table_altered ENABLE;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
    NULL;
END
$$;
