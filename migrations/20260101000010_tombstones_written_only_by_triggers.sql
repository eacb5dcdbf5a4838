-- Only the sync's triggers write tombstones, and always into the shared table.
--
-- `record_tombstone` and `record_truncate` run as their owner (SECURITY DEFINER) but named
-- `tombstones` unqualified with the caller's search path, in which a session's temporary
-- tables come first: a login that created a temporary table `tombstones` could delete shared
-- rows with the record of the deletes going to its own table, so no laptop would learn of
-- them until its next full verification. Both now resolve names in `public` only.
--
-- Since the triggers write as their owner, a PM's login needs no right to write tombstones
-- itself, and could otherwise forge one (a laptop would delete a row Postgres still has, until
-- its verification repaired it): it keeps reading them.

ALTER FUNCTION record_tombstone() SET search_path = public, pg_temp;
ALTER FUNCTION record_truncate() SET search_path = public, pg_temp;
REVOKE INSERT ON tombstones FROM pm_role;
