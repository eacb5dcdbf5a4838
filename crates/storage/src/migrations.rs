//! Versioned migrations of the local DuckDB file, applied in name order.
//!
//! Each file in `crates/storage/migrations/` is embedded here; a test checks that the list
//! and the folder agree, so a new file cannot be forgotten. Applied versions are recorded in
//! `schema_migrations`, each in its own transaction with its record.

use duckdb::{params, Connection};

use crate::{Result, StorageError};

/// `(version name, SQL)`, in the order they apply.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_workspace",
        include_str!("../migrations/0001_workspace.sql"),
    ),
    (
        "0002_incremental_sync",
        include_str!("../migrations/0002_incremental_sync.sql"),
    ),
    (
        "0003_scenario_runs",
        include_str!("../migrations/0003_scenario_runs.sql"),
    ),
    (
        "0004_verified_checksums",
        include_str!("../migrations/0004_verified_checksums.sql"),
    ),
];

/// Apply every migration the file has not seen yet.
pub fn apply(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version VARCHAR PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    // One query for what is applied: every process opens the workspace, most find nothing
    // to do.
    let done = applied(conn)?;
    for (name, sql) in MIGRATIONS {
        if done.iter().any(|d| d == name) {
            continue;
        }
        let fail = |source| StorageError::Migration {
            name: name.to_string(),
            source,
        };
        let tx = conn.transaction().map_err(fail)?;
        tx.execute_batch(sql).map_err(fail)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES (?)",
            params![name],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}

/// The versions recorded in the file, in order.
pub fn applied(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_matches_the_folder_in_name_order() {
        // The runtime value: a shared target may hold a binary built from another clone.
        let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
        let folder = std::path::Path::new(&root).join("migrations");
        let mut files: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .map(|n| n.trim_end_matches(".sql").to_string())
            .collect();
        files.sort();
        let listed: Vec<String> = MIGRATIONS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(listed, files);
    }

    #[test]
    fn applying_twice_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        apply(&mut conn).unwrap();
        apply(&mut conn).unwrap();
        let versions = applied(&conn).unwrap();
        let listed: Vec<String> = MIGRATIONS.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(versions, listed);
    }
}
