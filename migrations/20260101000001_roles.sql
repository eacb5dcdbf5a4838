-- The three group roles of the shared database. Login roles are granted one of them;
-- Postgres (row-level security), not the app, decides what each login sees.
-- Roles are cluster-wide: creation tolerates a role that exists already, including one
-- created concurrently by a migration of another database in the same cluster.
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['pm_role', 'lp_role', 'audit_role'] LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END LOOP;
END
$$;
