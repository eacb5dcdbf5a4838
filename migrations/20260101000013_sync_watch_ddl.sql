-- A superuser can put the event triggers of migration 08 in place at any time:
-- `SELECT sync_watch_ddl();`
--
-- Creating an event trigger needs a superuser. A database migrated by its owner alone (a
-- managed Postgres) has none: migration 08 only warned, and no later migration runs it again.
-- Without them, a sync trigger turned off and on again between two syncs goes unnoticed until
-- the next full verification; every sync says so (it reads `pg_event_trigger`), and names this
-- function as the remedy. It creates what is missing and enables what is off (an `ALTER EVENT
-- TRIGGER … DISABLE`, or `ENABLE REPLICA`), and says what it did. It is run here too, so a
-- superuser applying the migrations of a database its owner migrated so far puts them right;
-- run by anyone else, that call does nothing (migration 08 warned already).

CREATE FUNCTION sync_watch_ddl() RETURNS text
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    done text[] := '{}';
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'sync_table_altered') THEN
        CREATE EVENT TRIGGER sync_table_altered ON ddl_command_end
            WHEN TAG IN ('ALTER TABLE', 'CREATE TRIGGER')
            EXECUTE FUNCTION record_sync_table_altered();
        done := done || 'created sync_table_altered'::text;
    ELSIF EXISTS (SELECT 1 FROM pg_event_trigger
                  WHERE evtname = 'sync_table_altered' AND evtenabled NOT IN ('O', 'A')) THEN
        ALTER EVENT TRIGGER sync_table_altered ENABLE;
        done := done || 'enabled sync_table_altered'::text;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'sync_trigger_dropped') THEN
        CREATE EVENT TRIGGER sync_trigger_dropped ON sql_drop
            WHEN TAG IN ('DROP TRIGGER')
            EXECUTE FUNCTION record_sync_trigger_dropped();
        done := done || 'created sync_trigger_dropped'::text;
    ELSIF EXISTS (SELECT 1 FROM pg_event_trigger
                  WHERE evtname = 'sync_trigger_dropped' AND evtenabled NOT IN ('O', 'A')) THEN
        ALTER EVENT TRIGGER sync_trigger_dropped ENABLE;
        done := done || 'enabled sync_trigger_dropped'::text;
    END IF;
    IF cardinality(done) = 0 THEN
        RETURN 'both event triggers were in place already';
    END IF;
    RETURN array_to_string(done, ', ');
END
$$;

REVOKE ALL ON FUNCTION sync_watch_ddl() FROM PUBLIC;

DO $$
BEGIN
    PERFORM sync_watch_ddl();
EXCEPTION WHEN insufficient_privilege THEN
    NULL;
END
$$;
