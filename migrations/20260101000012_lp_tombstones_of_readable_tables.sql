-- A limited partner reads only the tombstones of tables it may read.
--
-- Its policy on `tombstones` was `USING (true)`: the ids and times of deletes in trades,
-- accounts, risk limits and every other table it cannot read reached its laptop, and with
-- them how much and when the firm deleted there. Its sync never needs them (a table it cannot
-- read is empty on its laptop). The table is looked up in `public` by name, so a temporary
-- table of the same name in the LP's session cannot stand in for it; a tombstone of a table
-- that no longer exists is hidden.

ALTER POLICY lp_read ON tombstones
    USING (has_table_privilege(to_regclass('public.' || quote_ident(table_name)), 'SELECT'));
