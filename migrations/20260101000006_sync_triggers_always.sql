-- The triggers incremental sync depends on fire for every writer.
--
-- Ordinary triggers are skipped in sessions with `session_replication_role = replica`: the
-- apply worker of logical replication runs that way, and so can any bulk loader or repair
-- script. Such a write would then keep the row's old `sync_xid` and leave no tombstone, so an
-- incremental sync would never bring the change; the verification of a large table, derived
-- from its changes, would not see it either until the next full verification. `ENABLE ALWAYS`
-- makes each of them fire whatever the role: every write is stamped, every delete and
-- TRUNCATE recorded. (Only `ALTER TABLE … DISABLE TRIGGER`, which needs the table's owner,
-- still stops them; the sync's full verification and repair cover that.)

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['portfolios', 'assets', 'prices', 'fx_rates', 'sector_coefficients',
        'accounts', 'trades', 'positions', 'portfolio_nav', 'portfolio_allocations', 'investors',
        'fund_flows', 'liquidity_terms', 'risk_limits', 'scenarios', 'scenario_results',
        'fund_events', 'audit_trail', 'annotations']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', t, t || '_updated_at');
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', t, t || '_tombstone');
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER %I', t, t || '_truncate');
    END LOOP;
    ALTER TABLE tombstones ENABLE ALWAYS TRIGGER tombstones_updated_at;
END
$$;
