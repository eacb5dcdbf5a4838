-- Tombstones can be pruned without a laptop missing a delete.
--
-- `tombstones` gains a row for every delete from a mirrored table and nothing ever removed
-- one: a firm that rebuilds its positions daily would add hundreds of thousands a day. A
-- laptop needs only those written since its watermark, so old ones can go, but a laptop that
-- last synced before them would then keep rows Postgres deleted: if the table is checked from
-- its changes, until its next full verification.
--
-- So whatever removes or rewrites tombstones (`sync_prune_tombstones` below, an owner's
-- `DELETE`, `UPDATE` or `TRUNCATE`) leaves in the same transaction one tombstone per mirrored
-- table that lost any, with the uuid just below the largest (`…fffe`; never a row's:
-- gen_random_uuid() sets version bits). A sync whose watermark is at or below it (its last run
-- came before the pruning) checks that table whole against Postgres instead of from its
-- changes, and pulls it again if it differs. Later prunes remove older markers and leave new
-- ones, so there is at most one per table and prune. A laptop that synced after a prune does
-- not see its markers; one that synced between the pruned deletes and the prune checks whole
-- once more than it strictly needed.

CREATE FUNCTION record_tombstones_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO public.tombstones (table_name, row_id)
        SELECT t, 'ffffffff-ffff-ffff-ffff-fffffffffffe'::uuid FROM unnest(sync_mirrored_tables()) t;
    ELSE
        INSERT INTO public.tombstones (table_name, row_id)
        SELECT DISTINCT table_name, 'ffffffff-ffff-ffff-ffff-fffffffffffe'::uuid
        FROM removed_tombstones
        WHERE table_name = ANY (sync_mirrored_tables());
    END IF;
    RETURN NULL;
END
$$;

-- Transition tables allow one event per trigger.
CREATE TRIGGER tombstones_deleted AFTER DELETE ON tombstones
    REFERENCING OLD TABLE AS removed_tombstones
    FOR EACH STATEMENT EXECUTE FUNCTION record_tombstones_removed();
CREATE TRIGGER tombstones_rewritten AFTER UPDATE ON tombstones
    REFERENCING OLD TABLE AS removed_tombstones
    FOR EACH STATEMENT EXECUTE FUNCTION record_tombstones_removed();
CREATE TRIGGER tombstones_truncated AFTER TRUNCATE ON tombstones
    FOR EACH STATEMENT EXECUTE FUNCTION record_tombstones_removed();
ALTER TABLE tombstones ENABLE ALWAYS TRIGGER tombstones_deleted;
ALTER TABLE tombstones ENABLE ALWAYS TRIGGER tombstones_rewritten;
ALTER TABLE tombstones ENABLE ALWAYS TRIGGER tombstones_truncated;

-- Tombstones are written by the delete triggers; nobody but their owner rewrites them.
REVOKE UPDATE, DELETE ON tombstones FROM pm_role;

-- Remove the tombstones recorded more than `keep` ago (at least a day), as their owner, for
-- example daily from cron: `SELECT sync_prune_tombstones('30 days')`. Returns how many went.
-- A laptop that synced within `keep` loses nothing and checks the tables that lost
-- tombstones whole once; one that last synced longer ago finds the rows deleted meanwhile
-- by that whole check and pulls those tables again.
CREATE FUNCTION sync_prune_tombstones(keep interval) RETURNS bigint
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE
    pruned bigint;
BEGIN
    IF keep IS NULL OR keep < interval '1 day' THEN
        RAISE EXCEPTION 'sync_prune_tombstones keeps at least a day of tombstones (asked to keep %)', keep
            USING HINT = 'a laptop syncing within the kept time misses no delete; try ''30 days''';
    END IF;
    DELETE FROM tombstones WHERE deleted_at < clock_timestamp() - keep;
    GET DIAGNOSTICS pruned = ROW_COUNT;
    RETURN pruned;
END
$$;

REVOKE ALL ON FUNCTION sync_prune_tombstones(interval) FROM PUBLIC;

-- The triggers above fire for every writer, but the table's owner can still switch them off
-- (`ALTER TABLE tombstones DISABLE TRIGGER …`) or drop them. With the event triggers of
-- migration `…08_sync_ddl_markers.sql` installed, such a statement on `tombstones` now leaves
-- the altered marker for `tombstones` itself, and a sync that finds it checks every table
-- whole, as it does for a table altered. (While one of them is off, the sync sees it in the
-- catalog.) Their functions belong to whoever ran migration 08: run by another role, this
-- part warns and leaves them as they were.
DO $migration$
BEGIN
    CREATE OR REPLACE FUNCTION record_sync_table_altered() RETURNS event_trigger
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
          AND c.relname = ANY (sync_mirrored_tables() || 'tombstones'::text);
    END
    $$;

    CREATE OR REPLACE FUNCTION record_sync_trigger_dropped() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
    BEGIN
        -- A trigger's address is its schema, its table and its name.
        INSERT INTO public.tombstones (table_name, row_id)
        SELECT DISTINCT o.address_names[2], 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid
        FROM pg_event_trigger_dropped_objects() o
        WHERE o.object_type = 'trigger'
          AND o.address_names[1] = 'public'
          AND o.address_names[2] = ANY (sync_mirrored_tables() || 'tombstones'::text);
    END
    $$;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'the event triggers still mark only the mirrored tables, not tombstones: their functions belong to the role that ran migration 08 (a superuser). Run the migrations as that role to update them; until then a trigger on tombstones turned off and on again between two syncs is found only by the daily full verification';
END
$migration$;
