-- A table whose sync triggers were switched off for a while leaves no trace of the writes made
-- meanwhile.
--
-- `ALTER TABLE … DISABLE TRIGGER` (a bulk load, a repair script), `DROP TRIGGER`, or an owner's
-- `ENABLE TRIGGER` that turns one from ALWAYS back to firing only outside replica mode: the
-- updates made then keep the row's old `sync_xid` and the deletes leave no tombstone, so an
-- incremental sync never brings them, and once the trigger is back nothing in the table says
-- they happened. (While a trigger is off, the sync sees it in the catalog; this covers the
-- time between two syncs.)
--
-- So every `ALTER TABLE`, `CREATE TRIGGER` and `DROP TRIGGER` on a mirrored table leaves one
-- tombstone with the largest uuid (never a row's: gen_random_uuid() sets version bits) in the
-- statement's transaction. A sync that finds it checks that table whole against Postgres
-- instead of from its changes, and pulls it again if it differs. An `ALTER TABLE` that only
-- adds a column costs one such whole check.
--
-- Event triggers need a superuser (on managed services, their admin role). Run by another
-- role, this migration installs the functions only and warns: the sync's daily full
-- verification is then what finds such writes.

CREATE FUNCTION sync_mirrored_tables() RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['portfolios', 'assets', 'prices', 'fx_rates', 'sector_coefficients', 'accounts',
        'trades', 'positions', 'portfolio_nav', 'portfolio_allocations', 'investors', 'fund_flows',
        'liquidity_terms', 'risk_limits']
$$;

CREATE FUNCTION record_sync_table_altered() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO public.tombstones (table_name, row_id)
    SELECT DISTINCT c.relname, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid
    FROM pg_event_trigger_ddl_commands() d
    JOIN pg_class c ON c.oid = CASE
        WHEN d.classid = 'pg_trigger'::regclass THEN (SELECT tgrelid FROM pg_trigger WHERE oid = d.objid)
        ELSE d.objid END
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE d.classid IN ('pg_class'::regclass, 'pg_trigger'::regclass)
      AND n.nspname = 'public'
      AND c.relname = ANY (sync_mirrored_tables());
END
$$;

CREATE FUNCTION record_sync_trigger_dropped() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    -- A trigger's address is its schema, its table and its name.
    INSERT INTO public.tombstones (table_name, row_id)
    SELECT DISTINCT o.address_names[2], 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid
    FROM pg_event_trigger_dropped_objects() o
    WHERE o.object_type = 'trigger'
      AND o.address_names[1] = 'public'
      AND o.address_names[2] = ANY (sync_mirrored_tables());
END
$$;

DO $$
BEGIN
    CREATE EVENT TRIGGER sync_table_altered ON ddl_command_end
        WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER')
        EXECUTE FUNCTION record_sync_table_altered();
    CREATE EVENT TRIGGER sync_trigger_dropped ON sql_drop
        WHEN TAG IN ('DROP TRIGGER')
        EXECUTE FUNCTION record_sync_trigger_dropped();
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'the event triggers that tell the sync a mirrored table was altered (ALTER TABLE, CREATE or DROP TRIGGER) are not installed: creating them needs a superuser. Run the migrations as one to install them; until then a sync trigger turned off and on again between two syncs is found only by the daily full verification';
END
$$;
