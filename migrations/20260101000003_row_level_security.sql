-- Who sees what. pm_role: everything; audit_role: read-only, including the audit trail;
-- lp_role: only lp_visible portfolios and assets (and their prices, positions, NAV), and only
-- the flows of the investor whose login_role is the connected user.

GRANT USAGE ON SCHEMA public TO pm_role, lp_role, audit_role;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['portfolios', 'assets', 'prices', 'fx_rates', 'sector_coefficients',
        'accounts', 'trades', 'positions', 'portfolio_nav', 'portfolio_allocations', 'investors',
        'fund_flows', 'liquidity_terms', 'risk_limits', 'scenarios', 'scenario_results',
        'fund_events', 'audit_trail', 'tombstones']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO pm_role', t);
        EXECUTE format('GRANT SELECT ON %I TO audit_role', t);
        EXECUTE format('CREATE POLICY pm_all ON %I TO pm_role USING (true) WITH CHECK (true)', t);
        EXECUTE format('CREATE POLICY audit_read ON %I FOR SELECT TO audit_role USING (true)', t);
    END LOOP;
END
$$;

-- Limited partners: read-only, narrowed row by row.
GRANT SELECT ON portfolios, assets, prices, fx_rates, sector_coefficients, positions,
    portfolio_nav, portfolio_allocations, liquidity_terms, investors, fund_flows, tombstones
    TO lp_role;

CREATE POLICY lp_read ON portfolios FOR SELECT TO lp_role USING (lp_visible);
CREATE POLICY lp_read ON assets FOR SELECT TO lp_role USING (lp_visible);
CREATE POLICY lp_read ON prices FOR SELECT TO lp_role
    USING (EXISTS (SELECT 1 FROM assets a WHERE a.id = asset_id AND a.lp_visible));
CREATE POLICY lp_read ON fx_rates FOR SELECT TO lp_role USING (true);
CREATE POLICY lp_read ON sector_coefficients FOR SELECT TO lp_role USING (true);
CREATE POLICY lp_read ON positions FOR SELECT TO lp_role
    USING (EXISTS (SELECT 1 FROM portfolios p WHERE p.id = portfolio_id AND p.lp_visible)
       AND EXISTS (SELECT 1 FROM assets a WHERE a.id = asset_id AND a.lp_visible));
CREATE POLICY lp_read ON portfolio_nav FOR SELECT TO lp_role
    USING (EXISTS (SELECT 1 FROM portfolios p WHERE p.id = portfolio_id AND p.lp_visible));
CREATE POLICY lp_read ON portfolio_allocations FOR SELECT TO lp_role
    USING (EXISTS (SELECT 1 FROM portfolios p WHERE p.id = portfolio_id AND p.lp_visible));
CREATE POLICY lp_read ON liquidity_terms FOR SELECT TO lp_role
    USING (EXISTS (SELECT 1 FROM portfolios p WHERE p.id = portfolio_id AND p.lp_visible));
CREATE POLICY lp_read ON investors FOR SELECT TO lp_role USING (login_role = current_user);
CREATE POLICY lp_read ON fund_flows FOR SELECT TO lp_role
    USING (EXISTS (SELECT 1 FROM investors i WHERE i.id = investor_id AND i.login_role = current_user)
       AND EXISTS (SELECT 1 FROM portfolios p WHERE p.id = portfolio_id AND p.lp_visible));
CREATE POLICY lp_read ON tombstones FOR SELECT TO lp_role USING (true);
