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
    t record;
BEGIN
    -- Each as migration 08 creates it.
    FOR t IN SELECT * FROM (VALUES
        ('sync_table_altered', 'ddl_command_end', '''ALTER TABLE'', ''CREATE TRIGGER''',
         'record_sync_table_altered'),
        ('sync_trigger_dropped', 'sql_drop', '''DROP TRIGGER''', 'record_sync_trigger_dropped')
    ) AS v(name, event, tags, handler)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = t.name) THEN
            EXECUTE format('CREATE EVENT TRIGGER %I ON %s WHEN TAG IN (%s) EXECUTE FUNCTION %I()',
                           t.name, t.event, t.tags, t.handler);
            done := done || ('created ' || t.name);
        ELSIF EXISTS (SELECT 1 FROM pg_event_trigger
                      WHERE evtname = t.name AND evtenabled NOT IN ('O', 'A')) THEN
            EXECUTE format('ALTER EVENT TRIGGER %I ENABLE', t.name);
            done := done || ('enabled ' || t.name);
        END IF;
    END LOOP;
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
