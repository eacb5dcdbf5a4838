-- A row whose id an UPDATE changes leaves a tombstone for its old id.
--
-- The row then reaches a laptop under its new id (the update stamps it), but nothing said the
-- old id was gone: the laptop kept both, and a table checked from its changes passed its
-- check, since the old row had left no trace to check against, until the next full
-- verification. Each table's `…_tombstone` trigger now also fires for `UPDATE OF id`, and
-- records the old id when it changed.
--
-- The triggers are replaced in this one transaction, so no write can fall between the old and
-- the new: the event triggers of migration 08, which would mark every mirrored table altered
-- (and make every laptop check every table whole once), are off meanwhile, inside this
-- transaction only. Where they are missing, or belong to another role, they are left alone.

CREATE OR REPLACE FUNCTION record_tombstone() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id IS NOT DISTINCT FROM OLD.id THEN
        RETURN NULL;
    END IF;
    INSERT INTO tombstones (table_name, row_id) VALUES (TG_TABLE_NAME, OLD.id);
    RETURN NULL;
END
$$;

DO $$
BEGIN
    ALTER EVENT TRIGGER sync_table_altered DISABLE;
    ALTER EVENT TRIGGER sync_trigger_dropped DISABLE;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
    NULL;
END
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['portfolios', 'assets', 'prices', 'fx_rates', 'sector_coefficients',
        'accounts', 'trades', 'positions', 'portfolio_nav', 'portfolio_allocations', 'investors',
        'fund_flows', 'liquidity_terms', 'risk_limits', 'scenarios', 'scenario_results',
        'fund_events', 'audit_trail', 'annotations']
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %I', t || '_tombstone', t);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE OR UPDATE OF id ON %I FOR EACH ROW EXECUTE FUNCTION record_tombstone()',
                       t || '_tombstone', t);
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', t, t || '_tombstone');
    END LOOP;
END
$$;

DO $$
BEGIN
    ALTER EVENT TRIGGER sync_table_altered ENABLE;
    ALTER EVENT TRIGGER sync_trigger_dropped ENABLE;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
    NULL;
END
$$;
