-- Which shared tables hold a row written at or after a watermark, whoever may see the row.
--
-- A login bound by a row-level security policy (an LP) does not see a row that an update
-- moved out of its sight (an asset turned `lp_visible = false`): the row is neither in the
-- login's next delta nor deleted, so an incremental sync would keep it on the laptop, and a
-- table checked from its changes would not notice until the next full verification. This
-- function tells the sync that such a table was written at all since its watermark; the sync
-- then sums the table whole, finds the row that left and pulls the table again.
--
-- It runs as its owner (who is not bound by the policies) and answers only "was any row of
-- this shared table written since", nothing about the rows.

CREATE FUNCTION sync_tables_written_since(tables text[], since xid8[]) RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    written text[] := '{}';
    present boolean;
BEGIN
    IF coalesce(array_length(tables, 1), 0) <> coalesce(array_length(since, 1), 0) THEN
        RAISE EXCEPTION 'one watermark per table';
    END IF;
    FOR i IN 1 .. coalesce(array_length(tables, 1), 0) LOOP
        IF NOT tables[i] = ANY (ARRAY['portfolios', 'assets', 'prices', 'fx_rates',
                'sector_coefficients', 'accounts', 'trades', 'positions', 'portfolio_nav',
                'portfolio_allocations', 'investors', 'fund_flows', 'liquidity_terms',
                'risk_limits']) THEN
            RAISE EXCEPTION 'not a mirrored table: %', tables[i];
        END IF;
        -- Schema-qualified: a caller's temporary table of the same name is never read.
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM public.%I WHERE sync_xid >= $1)', tables[i])
            INTO present USING since[i];
        IF present THEN
            written := written || tables[i];
        END IF;
    END LOOP;
    RETURN written;
END
$$;

REVOKE ALL ON FUNCTION sync_tables_written_since(text[], xid8[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sync_tables_written_since(text[], xid8[])
    TO pm_role, lp_role, audit_role;
