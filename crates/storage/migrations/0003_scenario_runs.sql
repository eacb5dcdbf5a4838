-- Ballast local workspace, version 3: scenario runs name what was run.
--
-- A run of a built-in preset has no row in `local_scenarios`, so `scenario_id` becomes
-- optional and every run records the scenario's name (a preset's key or a saved name) and,
-- for a saved scenario, the version that ran.

ALTER TABLE local_scenario_runs ALTER COLUMN scenario_id DROP NOT NULL;
ALTER TABLE local_scenario_runs ADD COLUMN scenario_name VARCHAR;
ALTER TABLE local_scenario_runs ADD COLUMN scenario_version INTEGER;
