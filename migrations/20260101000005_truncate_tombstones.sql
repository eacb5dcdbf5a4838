-- A TRUNCATE fires no row trigger, so it would leave no tombstones and an incremental sync
-- would keep the emptied table's rows on the laptop. Each shared table records a TRUNCATE as
-- one tombstone with the nil id; a sync that sees it pulls that table in full.

CREATE FUNCTION record_truncate() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO tombstones (table_name, row_id)
    VALUES (TG_TABLE_NAME, '00000000-0000-0000-0000-000000000000');
    RETURN NULL;
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
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION record_truncate()',
                       t || '_truncate', t);
    END LOOP;
END
$$;
