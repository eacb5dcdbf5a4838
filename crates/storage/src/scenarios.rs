//! The analyst's own scenarios (`local_scenarios`): every save of a name is a new version,
//! nothing is overwritten; and the record of each run (`local_scenario_runs`). Definitions
//! are stored as the JSON text the engine's `ScenarioDefinition` serialises to; this module
//! does not interpret them beyond renaming a copy.

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use duckdb::{params, OptionalExt};
use uuid::Uuid;

use crate::{Result, Workspace};

/// One stored version of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedScenario {
    pub id: String,
    pub name: String,
    pub version: i32,
    /// JSON text of the definition.
    pub definition: String,
    pub created_at: DateTime<Utc>,
}

/// A scenario name with its latest version.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSummary {
    pub name: String,
    pub latest_version: i32,
    pub versions: i64,
    /// When the latest version was saved.
    pub created_at: DateTime<Utc>,
}

/// One recorded run of a scenario on a portfolio.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRun {
    pub id: String,
    /// The saved version that ran; `None` for a built-in preset.
    pub scenario_id: Option<String>,
    /// A preset's key or a saved scenario's name.
    pub scenario_name: String,
    pub scenario_version: Option<i32>,
    pub portfolio_id: String,
    pub ran_at: DateTime<Utc>,
    /// JSON text of the result.
    pub result: String,
}

fn saved(r: &duckdb::Row<'_>) -> duckdb::Result<SavedScenario> {
    Ok(SavedScenario {
        id: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        definition: r.get(3)?,
        created_at: r.get(4)?,
    })
}

const SAVED_COLUMNS: &str = "id::VARCHAR, name, version, definition, created_at";

impl Workspace {
    /// Save `definition` (JSON text) under `name` as a new version: one more than the
    /// highest stored for that name, 1 for a new name.
    pub fn save_scenario(&self, name: &str, definition: &str) -> Result<SavedScenario> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let version: i32 = tx.query_row(
            "SELECT coalesce(max(version), 0) + 1 FROM local_scenarios WHERE name = ?",
            params![name],
            |r| r.get(0),
        )?;
        let id = Uuid::now_v7().to_string();
        // DuckDB keeps microseconds: what is returned is what a later read gives.
        let created_at = Utc::now().trunc_subsecs(6);
        tx.execute(
            "INSERT INTO local_scenarios (id, name, version, definition, created_at)
             VALUES (?::UUID, ?, ?, ?, ?)",
            params![id, name, version, definition, created_at],
        )?;
        tx.commit()?;
        Ok(SavedScenario {
            id,
            name: name.to_string(),
            version,
            definition: definition.to_string(),
            created_at,
        })
    }

    /// Every saved name with its latest version, by name.
    pub fn scenarios(&self) -> Result<Vec<ScenarioSummary>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT name, max(version), count(*), arg_max(created_at, version)
             FROM local_scenarios GROUP BY name ORDER BY name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(ScenarioSummary {
                name: r.get(0)?,
                latest_version: r.get(1)?,
                versions: r.get(2)?,
                created_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// A saved scenario: its latest version, or `version`. `None` when there is no such
    /// name or version.
    pub fn scenario(&self, name: &str, version: Option<i32>) -> Result<Option<SavedScenario>> {
        let conn = self.conn();
        let found = match version {
            Some(v) => conn
                .query_row(
                    &format!(
                        "SELECT {SAVED_COLUMNS} FROM local_scenarios WHERE name = ? AND version = ?"
                    ),
                    params![name, v],
                    saved,
                )
                .optional()?,
            None => conn
                .query_row(
                    &format!(
                        "SELECT {SAVED_COLUMNS} FROM local_scenarios WHERE name = ?
                         ORDER BY version DESC LIMIT 1"
                    ),
                    params![name],
                    saved,
                )
                .optional()?,
        };
        Ok(found)
    }

    /// Every version of `name`, oldest first.
    pub fn scenario_versions(&self, name: &str) -> Result<Vec<SavedScenario>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {SAVED_COLUMNS} FROM local_scenarios WHERE name = ? ORDER BY version"
        ))?;
        let rows = stmt.query_map(params![name], saved)?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Delete every version of `name` and the record of their runs; the number of versions
    /// deleted (0 when there was no such name).
    pub fn delete_scenario(&self, name: &str) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM local_scenario_runs WHERE scenario_id IN
                 (SELECT id FROM local_scenarios WHERE name = ?)",
            params![name],
        )?;
        let n = tx.execute("DELETE FROM local_scenarios WHERE name = ?", params![name])?;
        tx.commit()?;
        Ok(n)
    }

    /// Copy the latest version of `from` to `to` as a new version (version 1 for a new name),
    /// with the definition's `name` field set to `to`. `None` when `from` does not exist.
    pub fn duplicate_scenario(&self, from: &str, to: &str) -> Result<Option<SavedScenario>> {
        let Some(source) = self.scenario(from, None)? else {
            return Ok(None);
        };
        let definition = match serde_json::from_str::<serde_json::Value>(&source.definition) {
            Ok(serde_json::Value::Object(mut map)) => {
                map.insert("name".into(), serde_json::Value::String(to.to_string()));
                serde_json::Value::Object(map).to_string()
            }
            _ => source.definition,
        };
        self.save_scenario(to, &definition).map(Some)
    }

    /// Record a run: `scenario_id` of the saved version (`None` for a preset), the name or
    /// preset key that ran, and the result as JSON text.
    pub fn record_scenario_run(
        &self,
        scenario_id: Option<&str>,
        scenario_name: &str,
        scenario_version: Option<i32>,
        portfolio_id: &str,
        result: &str,
    ) -> Result<String> {
        let id = Uuid::now_v7().to_string();
        self.conn().execute(
            "INSERT INTO local_scenario_runs
                 (id, scenario_id, scenario_name, scenario_version, portfolio_id, ran_at, result)
             VALUES (?::UUID, ?::UUID, ?, ?, ?::UUID, ?, ?)",
            params![
                id,
                scenario_id,
                scenario_name,
                scenario_version,
                portfolio_id,
                Utc::now(),
                result
            ],
        )?;
        Ok(id)
    }

    /// The most recent runs, newest first.
    pub fn scenario_runs(&self, limit: usize) -> Result<Vec<ScenarioRun>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT id::VARCHAR, scenario_id::VARCHAR, scenario_name, scenario_version,
                    portfolio_id::VARCHAR, ran_at, result
             FROM local_scenario_runs ORDER BY ran_at DESC, id DESC LIMIT ?",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok(ScenarioRun {
                id: r.get(0)?,
                scenario_id: r.get(1)?,
                scenario_name: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                scenario_version: r.get(3)?,
                portfolio_id: r.get(4)?,
                ran_at: r.get(5)?,
                result: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The latest NAV date of any portfolio (the as-of date of the workspace as a whole).
    pub fn last_nav_date(&self) -> Result<Option<NaiveDate>> {
        Ok(self
            .conn()
            .query_row("SELECT max(date) FROM portfolio_nav", [], |r| r.get(0))?)
    }

    /// First and last date of the price history.
    pub fn price_range(&self) -> Result<Option<(NaiveDate, NaiveDate)>> {
        let (a, b): (Option<NaiveDate>, Option<NaiveDate>) =
            self.conn()
                .query_row("SELECT min(date), max(date) FROM prices", [], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?;
        Ok(a.zip(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_list_get_duplicate_delete_and_runs() {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::open(&dir.path().join("w.duckdb")).unwrap();
        assert!(ws.scenarios().unwrap().is_empty());
        let a1 = ws
            .save_scenario("a", r#"{"name":"a","shocks":[]}"#)
            .unwrap();
        assert_eq!(a1.version, 1);
        let a2 = ws
            .save_scenario("a", r#"{"name":"a","description":"2","shocks":[]}"#)
            .unwrap();
        assert_eq!(a2.version, 2);
        ws.save_scenario("b", r#"{"name":"b","shocks":[]}"#)
            .unwrap();
        let list = ws.scenarios().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!((list[0].name.as_str(), list[0].latest_version), ("a", 2));
        assert_eq!(list[0].versions, 2);
        assert_eq!(ws.scenario("a", None).unwrap().unwrap(), a2);
        assert_eq!(ws.scenario("a", Some(1)).unwrap().unwrap(), a1);
        assert!(ws.scenario("a", Some(3)).unwrap().is_none());
        assert!(ws.scenario("zz", None).unwrap().is_none());
        assert_eq!(ws.scenario_versions("a").unwrap().len(), 2);

        let c = ws.duplicate_scenario("a", "c").unwrap().unwrap();
        assert_eq!(c.version, 1);
        let v: serde_json::Value = serde_json::from_str(&c.definition).unwrap();
        assert_eq!(v["name"], "c");
        assert_eq!(v["description"], "2");
        assert!(ws.duplicate_scenario("zz", "y").unwrap().is_none());

        let pid = Uuid::now_v7().to_string();
        ws.record_scenario_run(Some(&a2.id), "a", Some(2), &pid, "{}")
            .unwrap();
        ws.record_scenario_run(None, "rates_up_100", None, &pid, "{}")
            .unwrap();
        assert_eq!(ws.scenario_runs(10).unwrap().len(), 2);
        assert_eq!(ws.delete_scenario("a").unwrap(), 2);
        assert_eq!(ws.delete_scenario("a").unwrap(), 0);
        let runs = ws.scenario_runs(10).unwrap();
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].scenario_name, "rates_up_100");
        assert_eq!(runs[0].scenario_id, None);
        assert_eq!(ws.scenarios().unwrap().len(), 2);
    }
}
