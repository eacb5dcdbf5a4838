-- A pruning marker says how far the removed tombstones reached, so only a laptop that had not
-- read them all checks the table whole.
--
-- Migration 09's marker (uuid `…fffe`) said only that a table lost tombstones: every laptop
-- whose last sync came before the pruning checked that table whole once. With a daily
-- `sync_prune_tombstones('30 days')` that was every laptop, every day, although one that
-- syncs daily had read each of those tombstones a month before.
--
-- The marker now carries `removed_through`: the newest `sync_xid` among the tombstones of
-- its table that the statement removed or rewrote (NULL after a `TRUNCATE`, which does not
-- say). A laptop has applied every tombstone below its watermark (ARCHITECTURE.md, "Sync"),
-- so it checks the table whole only if `removed_through` is at or above its watermark, or
-- unknown. Earlier Ballast versions ignore the column and keep checking whole, as before.
--
-- A marker is now also left for `tombstones` itself when the marker saying it was altered
-- (its triggers possibly off) is removed: a laptop that had not read that one checks every
-- table whole, as it would have.
--
-- Adding the column would make the event triggers of migration 08 mark `tombstones` altered,
-- and every laptop check every table whole once: they are off meanwhile, inside this
-- transaction only, as in migration 11. Where they are missing, or belong to another role,
-- they are left alone.

DO $$
BEGIN
    ALTER EVENT TRIGGER sync_table_altered DISABLE;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
    NULL;
END
$$;

ALTER TABLE tombstones ADD COLUMN removed_through xid8;

CREATE OR REPLACE FUNCTION record_tombstones_removed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO public.tombstones (table_name, row_id)
        SELECT t, 'ffffffff-ffff-ffff-ffff-fffffffffffe'::uuid FROM unnest(sync_mirrored_tables()) t;
    ELSE
        INSERT INTO public.tombstones (table_name, row_id, removed_through)
        SELECT table_name, 'ffffffff-ffff-ffff-ffff-fffffffffffe'::uuid, max(sync_xid)
        FROM removed_tombstones
        WHERE table_name = ANY (sync_mirrored_tables() || 'tombstones'::text)
        GROUP BY table_name;
    END IF;
    RETURN NULL;
END
$$;

DO $$
BEGIN
    ALTER EVENT TRIGGER sync_table_altered ENABLE;
EXCEPTION WHEN undefined_object OR insufficient_privilege THEN
    NULL;
END
$$;
