//! Applying one sync run to the mirrors: a [`SyncWriter`] holds a single DuckDB transaction on
//! its own connection to the workspace, so the app keeps reading the last committed data while
//! a sync runs, and a killed or cancelled run leaves nothing half-written.
//!
//! Each table arrives as a CSV file (what Postgres' `COPY` wrote). A full pull replaces the
//! table's rows; a delta replaces the rows whose ids it carries and removes tombstoned ids.
//! Both are delete-by-id then insert, so applying the same file twice changes nothing.

use std::collections::BTreeMap;
use std::path::Path;

use ballast_engine::schema::{normalize_decimal, SharedTable, TableChecksum, SHARED_TABLES};
use chrono::{DateTime, Utc};
use duckdb::{params, Connection};

use crate::{Result, SourceInfo, Workspace};

/// How a table's file is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMode {
    /// The file holds every row Postgres shows: rows not in it leave the laptop.
    Full,
    /// The file holds rows written since the watermark; tombstones remove deleted ones.
    Delta,
}

/// Rows a load brought in and removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadCounts {
    pub rows_in: u64,
    pub rows_deleted: u64,
}

/// The sync bookkeeping of one mirrored table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSyncState {
    pub rows: i64,
    pub last_synced_at: DateTime<Utc>,
    pub watermark: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
}

/// One sync run's open transaction. Dropping it without [`SyncWriter::commit`] rolls back.
pub struct SyncWriter {
    conn: Connection,
    open: bool,
    /// Tables with tombstones loaded by [`SyncWriter::load_tombstones`].
    tombstoned: std::collections::BTreeSet<String>,
}

fn quote_path(path: &Path) -> String {
    path.to_string_lossy().replace('\'', "''")
}

fn read_csv(table: &SharedTable, path: &Path) -> String {
    let mut columns = vec!["'id': 'UUID'".to_string()];
    columns.extend(
        table
            .columns
            .iter()
            .map(|(name, kind)| format!("'{name}': '{}'", kind.duckdb_type())),
    );
    columns.push("'updated_at': 'TIMESTAMPTZ'".to_string());
    // Postgres' CSV: NULL is an empty unquoted field, an empty string is "" (kept as such).
    format!(
        "read_csv('{}', header = false, auto_detect = false, delim = ',', quote = '\"', \
         escape = '\"', allow_quoted_nulls = false, columns = {{{}}})",
        quote_path(path),
        columns.join(", ")
    )
}

fn checksum(conn: &Connection, table: &SharedTable) -> Result<TableChecksum> {
    let mut sql =
        String::from("SELECT count(*)::VARCHAR, coalesce(sum(epoch_us(updated_at)), 0)::VARCHAR");
    for column in table.decimal_columns() {
        sql.push_str(&format!(", coalesce(sum({column}), 0)::VARCHAR"));
    }
    sql.push_str(&format!(" FROM {}", table.name));
    let width = 2 + table.decimal_columns().count();
    let texts = conn.query_row(&sql, [], |r| {
        (0..width)
            .map(|i| r.get::<_, String>(i))
            .collect::<duckdb::Result<Vec<String>>>()
    })?;
    Ok(TableChecksum::from_texts(table, &texts))
}

impl Workspace {
    /// The committed checksum of every mirror, in [`SHARED_TABLES`] order.
    pub fn mirror_checksums(&self) -> Result<Vec<(&'static str, TableChecksum)>> {
        let conn = self.conn();
        SHARED_TABLES
            .iter()
            .map(|t| Ok((t.name, checksum(&conn, t)?)))
            .collect()
    }

    /// Rows in `table` that share an id with another row (always 0 unless a bug).
    pub fn duplicate_ids(&self, table: &SharedTable) -> Result<i64> {
        Ok(self.conn().query_row(
            &format!("SELECT count(*) - count(DISTINCT id) FROM {}", table.name),
            [],
            |r| r.get(0),
        )?)
    }

    /// Start a sync run's transaction on a connection of its own.
    pub fn sync_writer(&self) -> Result<SyncWriter> {
        let conn = self.conn().try_clone()?;
        // Row order inside a mirror carries no meaning: let DuckDB load files in parallel.
        conn.execute_batch("SET preserve_insertion_order = false; BEGIN TRANSACTION")?;
        Ok(SyncWriter {
            conn,
            open: true,
            tombstoned: Default::default(),
        })
    }

    /// The sync state of every mirrored table that has one.
    pub fn table_sync_states(&self) -> Result<BTreeMap<String, TableSyncState>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT table_name, row_count, last_synced_at, watermark, verified_at FROM sync_state",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                TableSyncState {
                    rows: r.get(1)?,
                    last_synced_at: r.get(2)?,
                    watermark: r.get(3)?,
                    verified_at: r.get(4)?,
                },
            ))
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }
}

impl SyncWriter {
    /// Load the tombstones file (`table,row_id` per line) the deltas will apply.
    pub fn load_tombstones(&mut self, path: &Path) -> Result<u64> {
        if std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0 {
            return Ok(0);
        }
        self.conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE sync_tombstones AS
             SELECT * FROM read_csv('{}', header = false, auto_detect = false,
                                    columns = {{'table_name': 'VARCHAR', 'row_id': 'UUID'}})",
            quote_path(path)
        ))?;
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT table_name FROM sync_tombstones")?;
        let tables = stmt.query_map([], |r| r.get::<_, String>(0))?;
        self.tombstoned = tables.collect::<std::result::Result<_, _>>()?;
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM sync_tombstones", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
    }

    /// Apply `table`'s file.
    pub fn load(&self, table: &SharedTable, path: &Path, mode: LoadMode) -> Result<LoadCounts> {
        let name = table.name;
        let empty_file = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0) == 0;
        let tombstoned = self.tombstoned.contains(name);
        if mode == LoadMode::Delta && empty_file && !tombstoned {
            // Nothing written since the watermark: the common case, kept cheap.
            return Ok(LoadCounts::default());
        }
        let local_rows: i64 = match mode {
            LoadMode::Full => {
                self.conn
                    .query_row(&format!("SELECT count(*) FROM {name}"), [], |r| r.get(0))?
            }
            LoadMode::Delta => -1,
        };
        if mode == LoadMode::Full && (local_rows == 0 || empty_file) {
            let rows_deleted = self.clear(table)?;
            if empty_file {
                return Ok(LoadCounts {
                    rows_in: 0,
                    rows_deleted,
                });
            }
            // The first pull of a table: straight from the file, no staging.
            let rows_in = self.conn.execute(
                &format!("INSERT INTO {name} SELECT * FROM {}", read_csv(table, path)),
                [],
            )?;
            return Ok(LoadCounts {
                rows_in: rows_in as u64,
                rows_deleted: 0,
            });
        }
        self.conn.execute_batch(&format!(
            "CREATE OR REPLACE TEMP TABLE sync_stage AS SELECT * FROM {}",
            read_csv(table, path)
        ))?;
        let rows_deleted = match mode {
            LoadMode::Full => self.conn.execute(
                &format!("DELETE FROM {name} WHERE id NOT IN (SELECT id FROM sync_stage)"),
                [],
            )?,
            LoadMode::Delta => {
                if tombstoned {
                    self.conn.execute(
                        &format!(
                            "DELETE FROM {name} WHERE id IN (SELECT row_id FROM sync_tombstones
                                                             WHERE table_name = ?)
                             AND id NOT IN (SELECT id FROM sync_stage)"
                        ),
                        params![name],
                    )?
                } else {
                    0
                }
            }
        };
        self.conn.execute(
            &format!("DELETE FROM {name} WHERE id IN (SELECT id FROM sync_stage)"),
            [],
        )?;
        let rows_in = self
            .conn
            .execute(&format!("INSERT INTO {name} SELECT * FROM sync_stage"), [])?;
        self.conn.execute_batch("DROP TABLE sync_stage")?;
        Ok(LoadCounts {
            rows_in: rows_in as u64,
            rows_deleted: rows_deleted as u64,
        })
    }

    /// Remove every row of `table` (the role may no longer read it). Returns the rows removed.
    pub fn clear(&self, table: &SharedTable) -> Result<u64> {
        Ok(self
            .conn
            .execute(&format!("DELETE FROM {}", table.name), [])? as u64)
    }

    /// The same figures [`ballast_engine::schema::TableChecksum`] holds for Postgres, of
    /// the mirror as this (uncommitted) run sees it.
    pub fn checksum(&self, table: &SharedTable) -> Result<TableChecksum> {
        checksum(&self.conn, table)
    }

    /// Sum of NAV per portfolio, as normalised decimal text.
    pub fn nav_totals(&self) -> Result<BTreeMap<String, String>> {
        let mut stmt = self.conn.prepare(
            "SELECT portfolio_id::VARCHAR, sum(nav)::VARCHAR FROM portfolio_nav GROUP BY ALL",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                normalize_decimal(&r.get::<_, String>(1)?),
            ))
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Record every table's state after this run in one statement: row count, sync time,
    /// watermark (`None`: pull in full next time) and, for the tables verified, the time.
    pub fn set_table_states(
        &self,
        states: &[(&str, Option<&str>, bool)],
        synced_at: DateTime<Utc>,
    ) -> Result<()> {
        let rows: Vec<String> = states
            .iter()
            .map(|(table, watermark, verified)| {
                let watermark = watermark.map_or("NULL".to_string(), |w| {
                    format!("'{}'", w.replace('\'', "''"))
                });
                format!("('{table}', (SELECT count(*) FROM {table}), {watermark}, {verified})")
            })
            .collect();
        self.conn.execute(
            &format!(
                "INSERT INTO sync_state (table_name, row_count, last_synced_at, watermark, verified_at)
                 SELECT t, n, ?::TIMESTAMPTZ, w, CASE WHEN v THEN ?::TIMESTAMPTZ END
                 FROM (VALUES {}) states(t, n, w, v)
                 ON CONFLICT (table_name) DO UPDATE SET row_count = excluded.row_count,
                     last_synced_at = excluded.last_synced_at, watermark = excluded.watermark,
                     verified_at = coalesce(excluded.verified_at, sync_state.verified_at)",
                rows.join(", ")
            ),
            params![synced_at, synced_at],
        )?;
        Ok(())
    }

    /// Record where the data now comes from.
    pub fn set_source(&self, source: &SourceInfo) -> Result<()> {
        self.conn.execute_batch("DELETE FROM workspace_source")?;
        self.conn.execute(
            "INSERT INTO workspace_source (kind, label, loaded_at) VALUES (?, ?, ?)",
            params![source.kind, source.label, source.loaded_at],
        )?;
        Ok(())
    }

    /// Store a setting inside the run's transaction.
    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
            params![key, value],
        )?;
        Ok(())
    }

    /// Make the whole run visible at once.
    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }
}

impl Drop for SyncWriter {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
